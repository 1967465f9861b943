//! Several Docker engines: a host group may name its own engine. This test starts a second
//! dockerd on its own socket and data directory, lets berth load its workload image into it,
//! and checks that tasks placed on that host run there (and are cleaned up there).

mod docker_support;

use std::path::PathBuf;
use std::process::{Child, Command as Proc, Stdio};
use std::time::Duration;

use berth::docker::image::{self, WORKLOAD_IMAGE};
use berth::docker::runtime::{self, Engines, RuntimeConfig, Script};
use berth::docker::script::StaticScript;
use berth::docker::{cleanup, labels};
use berth::engine::{Command, Engine, Mode, RunTask, TaskStatus};
use berth::placement::{SpreadField, StrategyRule};
use berth::taskdef::model::NetworkMode;
use berth::time::SimTime;
use docker_support::model::*;
use docker_support::*;
use tokio::sync::watch;

/// A private dockerd, stopped and its directory removed on drop.
struct SecondDaemon {
    child: Child,
    dir: PathBuf,
    endpoint: String,
}

impl SecondDaemon {
    fn start() -> Result<SecondDaemon, String> {
        let dir = PathBuf::from(format!("/tmp/berth-test-dockerd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // An empty config file: the system's /etc/docker/daemon.json may set data-root and the
        // storage driver, which would clash with our flags.
        std::fs::write(dir.join("daemon.json"), "{}").map_err(|e| e.to_string())?;
        let sock = dir.join("docker.sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).map_err(|e| e.to_string())?;
        let child = Proc::new("dockerd")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args(["--bridge", "none", "--iptables=false", "--storage-driver", "vfs"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start dockerd: {e}"))?;
        Ok(SecondDaemon { child, endpoint: format!("unix://{}", sock.display()), dir })
    }
}

impl Drop for SecondDaemon {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containers and unmount; then wait for it.
        let _ = Proc::new("kill").arg(self.child.id().to_string()).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn second_engine_runs_its_hosts_tasks() {
    let Some(c) = docker_or_skip("second_engine_runs_its_hosts_tasks").await else { return };
    let daemon = match SecondDaemon::start() {
        Ok(d) => d,
        Err(e) if !require_docker() => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!! SKIPPING second_engine_runs_its_hosts_tasks: {e} !!!!!\n"
            );
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let mut second = None;
    for _ in 0..100 {
        if let Ok(s) = berth::docker::connect(Some(&daemon.endpoint)).await {
            second = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second = second.unwrap_or_else(|| {
        panic!("the second dockerd did not come up; see {}/dockerd.log", daemon.dir.display())
    });
    // Host 0 on the default engine, host 1 on the second one.
    let endpoint = daemon.endpoint.clone();
    let mut small = (*cluster(2, move |i| (i == 1).then(|| endpoint.clone()))).clone();
    // Room for one 512 MiB task per host, so the two tasks land on both hosts whatever the
    // placement strategy.
    for h in &mut small.hosts {
        h.memory_mib = 768;
    }
    let cluster = std::sync::Arc::new(small);
    let engines = Engines::connect(Some(c.endpoint()), &cluster).await.unwrap();
    assert_eq!(engines.all().len(), 2);
    // berth loads its image into every engine itself (the second one starts empty).
    assert!(!second.image_present(WORKLOAD_IMAGE).await.unwrap());
    let fs = rootfs();
    for e in engines.all() {
        image::ensure_workload_image(&e, &fs).await.unwrap();
    }
    assert!(second.image_present(WORKLOAD_IMAGE).await.unwrap());

    let guard = RunGuard::new(&c, "engines");
    let _guard2 = RunGuard::new(&second, "engines-second");
    let td = taskdef(
        "spread",
        NetworkMode::Bridge,
        vec![container("app", WORKLOAD_IMAGE, &["sleep", "1"])],
    );
    let mut rt = RunTask::new("spread", 2);
    rt.strategy = vec![StrategyRule::Spread(SpreadField::InstanceId)];
    let script: Script = vec![
        (SimTime::ZERO, Command::RegisterTaskDefinition(Box::new(td))),
        (SimTime::ZERO, Command::RunTask(rt)),
    ];
    let cfg = RuntimeConfig::new(guard.run.clone(), 10.0);
    let (_tx, rx) = watch::channel(false);
    // Watch the second engine while the run goes: a container of this run must appear there.
    let run_id = guard.run.clone();
    let watcher = {
        let second = second.clone();
        tokio::spawn(async move {
            for _ in 0..100 {
                let found = cleanup::find(&second, Some(&run_id), false).await.unwrap();
                if let Some(name) = found.containers.first() {
                    return Some(name.name.clone());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None
        })
    };
    let engine = Engine::new(cluster.clone(), Mode::Ecs, 3);
    let r = tokio::time::timeout(
        Duration::from_secs(90),
        runtime::run(engine, &mut StaticScript::new(script), engines, cfg, rx, |_, _| {}),
    )
    .await
    .unwrap()
    .unwrap();
    let seen = watcher.await.unwrap();
    let tasks: Vec<_> = r
        .engine
        .tasks()
        .map(|t| (t.host, t.last_status, t.stopped_reason.clone(), t.containers[0].exit_code))
        .collect();
    let seen = seen.unwrap_or_else(|| {
        panic!(
            "no container of the run appeared on the second engine; tasks {tasks:?}, errors {:?}",
            r.errors
        )
    });
    assert!(seen.starts_with("ecs-spread-1-app-"), "{seen}");
    let hosts: Vec<_> = r.engine.tasks().map(|t| t.host.unwrap().0).collect();
    assert!(hosts.contains(&0) && hosts.contains(&1), "{hosts:?}");
    assert!(r
        .engine
        .tasks()
        .all(|t| t.last_status == TaskStatus::Stopped && t.containers[0].exit_code == Some(0)));
    for e in [&c, &second] {
        let left = cleanup::find(e, Some(&guard.run), false).await.unwrap();
        assert!(left.is_empty(), "{}: {left:?}", e.endpoint());
    }
    // Keep the labels module in use for the reader: the second engine's objects carry the run id.
    let _ = labels::RUN;
}
