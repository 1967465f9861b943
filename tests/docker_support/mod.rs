//! Shared helpers for the Docker integration tests (`tests/docker_*.rs`).
//!
//! - [`docker_or_skip`]: connects, or skips loudly; with `BERTH_REQUIRE_DOCKER=1` a missing
//!   engine fails the test instead.
//! - [`RunGuard`]: a unique run id whose labelled containers and networks are removed when the
//!   guard drops, also when the test panics.
//! - [`dockerd::PrivateDaemon`]: a second dockerd on its own socket and data directory.
#![allow(dead_code)]

pub mod dockerd;

use berth::docker::{cleanup, image, DockerClient};

/// How many containers and networks carry `io.berth.cluster=<cluster>` (unique per test).
pub fn labelled(cluster: &str) -> (usize, usize) {
    use std::process::Command;
    let filter = format!("label={}={cluster}", berth::docker::labels::CLUSTER);
    let count = |args: &[&str]| {
        let out = Command::new("docker").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
    };
    (
        count(&["ps", "-aq", "--filter", &filter]),
        count(&["network", "ls", "-q", "--filter", &filter]),
    )
}

/// Removes every container and network that carries `cluster` as its berth cluster label, with
/// the docker CLI (so it also works from a `Drop` outside any runtime). Tests give each run a
/// unique cluster name, so only that test's objects carry it.
pub fn remove_cluster_objects(cluster: &str) {
    use std::process::Command;
    let filter = format!("label={}={}", berth::docker::labels::CLUSTER, cluster);
    let list = |args: &[&str]| {
        let out = Command::new("docker").args(args).arg("--filter").arg(&filter).output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
    };
    for id in list(&["ps", "-aq"]).split_whitespace() {
        let _ = Command::new("docker").args(["rm", "-f", id]).output();
    }
    for id in list(&["network", "ls", "-q"]).split_whitespace() {
        let _ = Command::new("docker").args(["network", "rm", id]).output();
    }
}

pub fn require_docker() -> bool {
    std::env::var("BERTH_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// The engine, or `None` (with a loud message) when it is unreachable and not required.
pub async fn docker_or_skip(test: &str) -> Option<DockerClient> {
    match berth::docker::connect(None).await {
        Ok(c) => Some(c),
        Err(e) if !require_docker() => {
            // Straight to stderr, not `eprintln!`: the test harness captures that for passing
            // tests, and a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!! SKIPPING {test}: no Docker engine ({e}); set BERTH_REQUIRE_DOCKER=1 to make this a failure !!!!!\n"
            );
            None
        }
        Err(e) => panic!("BERTH_REQUIRE_DOCKER=1 but Docker is unreachable: {e}"),
    }
}

/// The workload image's files, from the binary cargo built for this test run.
///
/// Checks first that the binary is a real build of `src/bin/berth-workload.rs` (`exit 7` exits
/// with 7): with a target directory shared between worktrees, another checkout's build can
/// replace it, and an image of the wrong binary makes every later assertion misleading.
pub fn rootfs() -> image::Rootfs {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_berth-workload"));
    let status = std::process::Command::new(bin).args(["exit", "7"]).status().unwrap();
    assert_eq!(
        status.code(),
        Some(7),
        "{} is not this tree's berth-workload (was the shared target dir rebuilt from another checkout?); run `cargo build --bins` and retry",
        bin.display()
    );
    image::Rootfs::for_binary(bin).unwrap()
}

/// Builds (or finds) the workload image in `client`'s engine.
pub async fn ensure_image(client: &DockerClient) {
    image::ensure_workload_image(client, &rootfs()).await.unwrap();
}

/// A unique run id; everything labelled with it is removed on drop.
pub struct RunGuard {
    pub run: String,
    endpoint: String,
}

impl RunGuard {
    pub fn new(client: &DockerClient, test: &str) -> RunGuard {
        RunGuard {
            run: format!("test-{test}-{}", berth::docker::new_run_id()),
            endpoint: client.endpoint().to_string(),
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let run = self.run.clone();
        let endpoint = self.endpoint.clone();
        // A fresh runtime on a fresh thread: Drop may run inside (or after) the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(c) = berth::docker::connect(Some(&endpoint)).await {
                    if let Ok(found) = cleanup::find(&c, Some(&run), false).await {
                        for e in cleanup::remove(&c, &found).await {
                            eprintln!("cleanup of {run}: {e}");
                        }
                    }
                }
            })
        })
        .join();
    }
}

/// Removes unlabelled test objects (by name) on drop, also when the test panics.
pub struct ForeignGuard {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

impl Drop for ForeignGuard {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = std::process::Command::new("docker").args(["rm", "-f", c]).output();
        }
        for n in &self.networks {
            let _ = std::process::Command::new("docker").args(["network", "rm", n]).output();
        }
    }
}

/// Runs one task of `family`, whose only container exits with `code`, on `engines` in ECS mode
/// (a static script, time scale 10, at most 90 s): the engine-endpoint tests (TLS, ssh) need
/// exactly this to show that work really ran on the remote engine.
pub async fn run_exiting_task(
    cluster: std::sync::Arc<berth::cluster::Cluster>,
    engines: berth::docker::runtime::Engines,
    run: &str,
    family: &str,
    code: i32,
) -> berth::docker::runtime::RunResult {
    use berth::docker::runtime::{self, RuntimeConfig, Script};
    use berth::docker::script::StaticScript;
    use berth::engine::{Command, Engine, Mode, RunTask};
    use berth::time::SimTime;
    let td = model::taskdef(
        family,
        berth::taskdef::model::NetworkMode::Bridge,
        vec![model::container("app", image::WORKLOAD_IMAGE, &["exit", &code.to_string()])],
    );
    let script: Script = vec![
        (SimTime::ZERO, Command::RegisterTaskDefinition(Box::new(td))),
        (SimTime::ZERO, Command::RunTask(RunTask::new(family, 1))),
    ];
    let cfg = RuntimeConfig::new(run.to_string(), 10.0);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let engine = Engine::new(cluster, Mode::Ecs, 3);
    tokio::time::timeout(
        std::time::Duration::from_secs(90),
        runtime::run(engine, &mut StaticScript::new(script), engines, cfg, rx, |_, _| {}),
    )
    .await
    .unwrap_or_else(|_| panic!("the run of {family} took more than 90 s"))
    .unwrap()
}

pub mod model {
    //! Small builders for clusters and task definitions (the file parsers are other modules').
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use berth::cluster::{Cluster, EcsSettings, FargateSettings, HostSpec};
    use berth::placement::HostId;
    use berth::taskdef::model::*;
    use berth::time::SimDuration;
    use rust_decimal_macros::dec;

    pub fn container(name: &str, image: &str, command: &[&str]) -> ContainerDefinition {
        ContainerDefinition {
            cpu_units: 128,
            memory_reservation_mib: Some(64),
            command: (!command.is_empty()).then(|| command.iter().map(|s| s.to_string()).collect()),
            stop_timeout_s: Some(2),
            ..ContainerDefinition::new(name, image)
        }
    }

    pub fn taskdef(
        family: &str,
        network: NetworkMode,
        containers: Vec<ContainerDefinition>,
    ) -> TaskDefinition {
        TaskDefinition {
            family: family.into(),
            revision: None,
            task_role_arn: None,
            execution_role_arn: None,
            network_mode: network,
            requires_compatibilities: vec![],
            cpu_units: Some(256),
            memory_mib: Some(512),
            runtime_platform: RuntimePlatform::default(),
            ephemeral_storage_gib: None,
            placement_constraints: vec![],
            pid_mode: None,
            ipc_mode: None,
            containers,
            volumes: vec![],
            tags: vec![],
        }
    }

    /// `hosts` m5.large-like hosts; `docker` names each host's engine (None = default).
    pub fn cluster(hosts: u32, docker: impl Fn(u32) -> Option<String>) -> Arc<Cluster> {
        Arc::new(Cluster {
            name: "demo".into(),
            region: "us-east-1".into(),
            hosts: (0..hosts)
                .map(|i| HostSpec {
                    id: HostId(i),
                    instance_id: format!("i-{:016x}", i + 1),
                    group: 0,
                    instance_type: "m5.large".into(),
                    vcpu: 2,
                    memory_mib: 8192,
                    arch: CpuArch::X86_64,
                    os: OsFamily::Linux,
                    zone: if i % 2 == 0 { "us-east-1a".into() } else { "us-east-1b".into() },
                    attributes: BTreeMap::new(),
                    usd_per_hour: dec!(0.096),
                    docker: docker(i),
                    gpus: 0,
                })
                .collect(),
            ecs: EcsSettings {
                reserved_memory_mib: 0,
                placement_strategy: vec![],
                image_pull: SimDuration::from_secs(10),
                container_start: SimDuration::from_secs(1),
            },
            fargate: FargateSettings {
                provisioning: SimDuration::from_secs(20),
                image_pull: SimDuration::from_secs(10),
                container_start: SimDuration::from_secs(1),
                spot: false,
            },
            extra_costs: vec![],
        })
    }
}

/// A scenario on disk: a 2-host cluster named `cluster`, a `web` service (2 tasks, workload
/// image serving a health endpoint) and a `batch` job of 2 tasks running `runtime`, over
/// `duration`. Returns the scenario path.
pub fn write_scenario(
    dir: &std::path::Path,
    cluster: &str,
    duration: &str,
    runtime: &str,
) -> std::path::PathBuf {
    let w = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
    w(
        "cluster.toml",
        format!(
            "name = \"{cluster}\"\nregion = \"us-east-1\"\n\n[[hosts]]\ninstance_type = \"m5.large\"\ncount = 2\n\n[ecs]\nimage_pull = \"5s\"\ncontainer_start = \"1s\"\n\n[fargate]\nprovisioning = \"10s\"\nimage_pull = \"5s\"\ncontainer_start = \"1s\"\n"
        ),
    );
    w(
        "web.json",
        r#"{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["EC2", "FARGATE"], "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "web", "image": "berth/workload:latest", "essential": true,
   "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080}]}]}"#
            .to_string(),
    );
    w(
        "batch.json",
        r#"{"family": "batch", "networkMode": "awsvpc", "requiresCompatibilities": ["EC2", "FARGATE"], "cpu": "512", "memory": "1024",
 "containerDefinitions": [{"name": "job", "image": "example.invalid/etl:2.1", "essential": true, "memoryReservation": 128}]}"#
            .to_string(),
    );
    w(
        "scenario.toml",
        format!(
            "name = \"conformance\"\nduration = \"{duration}\"\ncluster = \"cluster.toml\"\nseed = 11\n\n[[services]]\nname = \"web\"\ntask_def = \"web.json\"\ndesired = 2\n\n[[tasks]]\nname = \"etl\"\ntask_def = \"batch.json\"\ncount = 2\nruntime = \"{runtime}\"\n"
        ),
    );
    dir.join("scenario.toml")
}
