//! From a task definition's container to Docker's create body, as the ECS agent does it.
//!
//! Resource mapping (ecs-semantics §1.5): container `cpu` → `CpuShares` (clamped to [2, 262144]),
//! `memory` → `Memory` (hard limit), `memoryReservation` → `MemoryReservation`. A task-level
//! size (Fargate always, EC2 when the task definition sets `cpu`/`memory`) holds the whole task:
//! the agent does that with a per-task parent cgroup; berth instead splits the task size over
//! its containers in proportion to what each reserves and sets `NanoCpus`/`Memory` on each
//! (see [`split_task_limits`]). Why: it works on any engine (remote ones included) without
//! berth writing cgroup files on the engine's machine, and no container can exceed the task
//! size. The price is that one container cannot borrow another's idle share, which is
//! stricter than Fargate; for a demonstration workload that is the safe side.
//!
//! The per-container mapping itself (command, env, health check, CpuShares, Memory, ...) is the
//! taskdef module's [`crate::taskdef::derive::docker_create`]; this module adds what only the
//! runtime knows.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};

use super::image::{WORKLOAD_IMAGE, WORKLOAD_PATH};
use super::labels::{self, TaskPlacement, PAUSE_CONTAINER};
use crate::taskdef::model::{ContainerDefinition, Protocol, TaskDefinition};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const MIB: i64 = 1024 * 1024;

/// How a container is attached to the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attach {
    /// A Docker network (the ECS host's network); container ports are published to free
    /// local ports.
    Network(String),
    /// Joins another container's network namespace (the task's sandbox): `container:<id>`.
    Container(String),
    /// No network (`networkMode: none`).
    None,
}

/// Makes the workload image stand in for an image that is not present locally.
#[derive(Debug, Clone, PartialEq)]
pub struct StandIn {
    /// How long the stand-in runs (wall seconds); `None` = until stopped.
    pub seconds: Option<f64>,
    pub exit_code: i32,
}

/// A task-level limit share for one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub nano_cpus: Option<i64>,
    pub memory_bytes: Option<i64>,
}

/// Splits a task-level size over the task's containers: CPU in proportion to container `cpu`
/// (equally when none sets it), memory in proportion to `memoryReservation` or `memory`
/// (equally when none sets either). A container's own hard `memory` stays if it is smaller.
pub fn split_task_limits(td: &TaskDefinition) -> Vec<Limits> {
    let n = td.containers.len().max(1) as i64;
    let cpu_w: Vec<i64> = td.containers.iter().map(|c| i64::from(c.cpu_units)).collect();
    let cpu_total: i64 = cpu_w.iter().sum();
    let mem_w: Vec<i64> = td
        .containers
        .iter()
        .map(|c| i64::from(c.memory_reservation_mib.or(c.memory_mib).unwrap_or(0)))
        .collect();
    let mem_total: i64 = mem_w.iter().sum();
    td.containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let nano_cpus = td.cpu_units.map(|units| {
                let task_nanos = i64::from(units) * NANOS_PER_SEC / 1024;
                let share =
                    if cpu_total > 0 { task_nanos * cpu_w[i] / cpu_total } else { task_nanos / n };
                // Docker rejects NanoCpus below 0.01 CPU.
                share.max(NANOS_PER_SEC / 100)
            });
            let memory_bytes = td.memory_mib.map(|mib| {
                let task_bytes = i64::from(mib) * MIB;
                let share =
                    if mem_total > 0 { task_bytes * mem_w[i] / mem_total } else { task_bytes / n };
                let share = match c.memory_mib {
                    Some(own) => share.min(i64::from(own) * MIB),
                    None => share,
                };
                // Docker's minimum memory limit is 6 MiB.
                share.max(6 * MIB)
            });
            Limits { nano_cpus, memory_bytes }
        })
        .collect()
}

/// `cpu` → `CpuShares` as the agent clamps it.
pub fn cpu_shares(cpu_units: u32) -> i64 {
    i64::from(cpu_units).clamp(2, 262_144)
}

/// The port a stand-in serves its health endpoint on: the first container port, else a port
/// unique within the task (its containers may share one network namespace).
pub fn stand_in_port(cd: &ContainerDefinition, index_in_task: usize) -> u16 {
    cd.port_mappings.first().map(|p| p.container_port).unwrap_or(20_000 + index_in_task as u16)
}

/// Everything about one container's placement that is not in the task definition.
#[derive(Debug, Clone)]
pub struct ContainerContext<'a> {
    pub placement: TaskPlacement<'a>,
    pub attach: Attach,
    /// This container's share of a task-level size, if any.
    pub limits: Option<Limits>,
    pub stand_in: Option<StandIn>,
    /// Position of the container in the task definition (for stand-in ports).
    pub index: usize,
}

/// The create body for container `index` of `td`: the taskdef module's agent mapping
/// ([`crate::taskdef::derive::docker_create`]: command, env, health check, CpuShares, Memory,
/// ...) plus what only the runtime knows: berth's and the agent's run-time labels, the network
/// (host network, sandbox, none), ports published to free local ports (several simulated hosts
/// share this machine, so a fixed host port would collide), the task-level limit share and
/// the stand-in.
pub fn container_body(
    td: &TaskDefinition,
    index: usize,
    ctx: &ContainerContext<'_>,
) -> ContainerCreateBody {
    let cd = &td.containers[index];
    let mut body = crate::taskdef::derive::docker_create(td, index).unwrap_or_default();
    let mut labels = body.labels.take().unwrap_or_default();
    labels.extend(ctx.placement.labels(&cd.name, "task"));
    let mut host = body.host_config.take().unwrap_or_default();
    if let Some(l) = ctx.limits {
        host.nano_cpus = l.nano_cpus;
        if let Some(m) = l.memory_bytes {
            host.memory = Some(host.memory.map_or(m, |own| own.min(m)));
        }
    }
    // A reservation above the hard limit is rejected by Docker.
    if let (Some(r), Some(m)) = (host.memory_reservation, host.memory) {
        if r > m {
            host.memory_reservation = Some(m);
        }
    }
    host.port_bindings = None;
    match &ctx.attach {
        Attach::Network(net) => {
            host.network_mode = Some(net.clone());
            let bindings: HashMap<String, Option<Vec<PortBinding>>> = cd
                .port_mappings
                .iter()
                .map(|p| {
                    let free = PortBinding { host_ip: None, host_port: Some(String::new()) };
                    (port_key(p.container_port, p.protocol), Some(vec![free]))
                })
                .collect();
            host.port_bindings = (!bindings.is_empty()).then_some(bindings);
        }
        Attach::Container(id) => {
            host.network_mode = Some(format!("container:{id}"));
            // A container in another's namespace may not expose ports of its own.
            body.exposed_ports = None;
        }
        Attach::None => {
            host.network_mode = Some("none".to_string());
            body.exposed_ports = None;
        }
    }

    if let Some(si) = &ctx.stand_in {
        labels.insert(labels::STANDS_IN_FOR.to_string(), cd.image.clone());
        let port = stand_in_port(cd, ctx.index);
        let cpu = match ctx.limits.and_then(|l| l.nano_cpus) {
            Some(n) if cd.cpu_units == 0 => n as f64 / NANOS_PER_SEC as f64,
            _ => f64::from(cd.cpu_units) / 1024.0,
        };
        // Hold what the container reserves, but stay under any hard limit (the process itself
        // needs a little memory too, and a stand-in must not be OOM-killed by design).
        let hard = host.memory.map(|b| b / MIB);
        let want = cd.memory_reservation_mib.or(cd.memory_mib).map(i64::from).or(hard).unwrap_or(0);
        let mib = match hard {
            Some(h) => want.min(h * 8 / 10),
            None => want,
        };
        let mut cmd = vec!["run".to_string()];
        if let Some(s) = si.seconds {
            cmd.extend(["--seconds".to_string(), format!("{s:.3}")]);
        }
        cmd.extend([
            "--cpu".to_string(),
            format!("{cpu:.3}"),
            "--mib".to_string(),
            mib.to_string(),
        ]);
        if ctx.attach != Attach::None {
            cmd.extend(["--port".to_string(), port.to_string()]);
        }
        cmd.extend(["--exit".to_string(), si.exit_code.clamp(0, 255).to_string()]);
        body.image = Some(WORKLOAD_IMAGE.to_string());
        body.entrypoint = Some(vec![WORKLOAD_PATH.to_string()]);
        body.cmd = Some(cmd);
        body.user = None;
        body.working_dir = None;
        if let Some(hc) = body.healthcheck.as_mut() {
            hc.test = Some(vec![
                "CMD".to_string(),
                WORKLOAD_PATH.to_string(),
                "health".to_string(),
                "--port".to_string(),
                port.to_string(),
            ]);
        }
    }
    body.labels = Some(labels);
    body.host_config = Some(host);
    body
}

fn port_key(port: u16, proto: Protocol) -> String {
    match proto {
        Protocol::Tcp => format!("{port}/tcp"),
        Protocol::Udp => format!("{port}/udp"),
    }
}

/// The sandbox (the agent's `~internal~ecs~pause`): a workload-image container that sleeps
/// and owns the task's network namespace. It publishes every port of every container, since
/// containers that join a namespace cannot publish ports themselves.
pub fn sandbox_body(
    td: &TaskDefinition,
    placement: &TaskPlacement<'_>,
    network: &str,
) -> ContainerCreateBody {
    let mut exposed = Vec::new();
    let mut bindings = HashMap::new();
    for p in td.containers.iter().flat_map(|c| c.port_mappings.iter()) {
        let key = port_key(p.container_port, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
            bindings.insert(
                key,
                Some(vec![PortBinding { host_ip: None, host_port: Some(String::new()) }]),
            );
        }
    }
    ContainerCreateBody {
        image: Some(WORKLOAD_IMAGE.to_string()),
        entrypoint: Some(vec![WORKLOAD_PATH.to_string()]),
        cmd: Some(vec!["run".to_string()]),
        labels: Some(placement.labels(PAUSE_CONTAINER, "sandbox")),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            network_mode: Some(network.to_string()),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            memory: Some(16 * MIB),
            cpu_shares: Some(2),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::model::*;
    use std::collections::BTreeMap;

    fn container(name: &str, cpu: u32, mem: Option<u32>, res: Option<u32>) -> ContainerDefinition {
        ContainerDefinition {
            cpu_units: cpu,
            memory_mib: mem,
            memory_reservation_mib: res,
            environment: vec![("A".into(), "1".into())],
            port_mappings: vec![PortMapping {
                container_port: 80,
                host_port: Some(80),
                protocol: Protocol::Tcp,
                name: None,
            }],
            health_check: Some(HealthCheck::new(vec![
                "CMD-SHELL".into(),
                "curl -f localhost".into(),
            ])),
            stop_timeout_s: Some(10),
            docker_labels: BTreeMap::from([("team".into(), "a".into())]),
            ..ContainerDefinition::new(name, "nginx:1.25")
        }
    }

    fn taskdef(cpu: Option<u32>, mem: Option<u32>, cs: Vec<ContainerDefinition>) -> TaskDefinition {
        TaskDefinition {
            family: "web".into(),
            revision: Some(2),
            task_role_arn: None,
            execution_role_arn: None,
            network_mode: NetworkMode::Bridge,
            requires_compatibilities: vec![],
            cpu_units: cpu,
            memory_mib: mem,
            runtime_platform: RuntimePlatform::default(),
            ephemeral_storage_gib: None,
            placement_constraints: vec![],
            pid_mode: None,
            ipc_mode: None,
            containers: cs,
            volumes: vec![],
            tags: vec![],
        }
    }

    fn placement() -> TaskPlacement<'static> {
        TaskPlacement {
            run: "r",
            cluster: "c",
            host: "i-1",
            mode: "ecs",
            task_arn: "arn:t",
            family: "web",
            revision: 2,
        }
    }

    #[test]
    fn splits_by_reservation() {
        // 1 vCPU / 2 GiB over cpu 768+256 and reservations 1536+512 MiB.
        let td = taskdef(
            Some(1024),
            Some(2048),
            vec![container("a", 768, None, Some(1536)), container("b", 256, None, Some(512))],
        );
        let l = split_task_limits(&td);
        assert_eq!(l[0].nano_cpus, Some(750_000_000));
        assert_eq!(l[1].nano_cpus, Some(250_000_000));
        assert_eq!(l[0].memory_bytes, Some(1536 * MIB));
        assert_eq!(l[1].memory_bytes, Some(512 * MIB));
    }

    #[test]
    fn splits_equally_without_weights_and_keeps_smaller_own_limit() {
        let td = taskdef(
            Some(512),
            Some(1024),
            vec![container("a", 0, Some(100), None), container("b", 0, None, None)],
        );
        let l = split_task_limits(&td);
        // cpu: equal halves of 0.5 vCPU; memory weights 100 vs 0: a gets all 1024 but keeps its own 100.
        assert_eq!(l[0].nano_cpus, Some(250_000_000));
        assert_eq!(l[0].memory_bytes, Some(100 * MIB));
        assert_eq!(l[1].memory_bytes, Some(6 * MIB), "no weight: Docker's minimum");
        assert_eq!(
            split_task_limits(&taskdef(None, None, vec![container("a", 0, None, None)]))[0],
            Limits { nano_cpus: None, memory_bytes: None }
        );
    }

    #[test]
    fn agent_resource_mapping() {
        assert_eq!(cpu_shares(0), 2);
        assert_eq!(cpu_shares(1), 2);
        assert_eq!(cpu_shares(512), 512);
        assert_eq!(cpu_shares(1_000_000), 262_144);
        let td = taskdef(None, None, vec![container("web", 256, Some(512), Some(256))]);
        let ctx = ContainerContext {
            placement: placement(),
            attach: Attach::Network("net".into()),
            limits: None,
            stand_in: None,
            index: 0,
        };
        let b = container_body(&td, 0, &ctx);
        let h = b.host_config.as_ref().unwrap();
        assert_eq!(h.cpu_shares, Some(256));
        assert_eq!(h.memory, Some(512 * MIB));
        assert_eq!(h.memory_reservation, Some(256 * MIB));
        assert_eq!(h.network_mode.as_deref(), Some("net"));
        assert!(h.port_bindings.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(b.image.as_deref(), Some("nginx:1.25"));
        assert_eq!(b.stop_timeout, Some(10));
        let hc = b.healthcheck.as_ref().unwrap();
        assert_eq!(hc.interval, Some(30 * NANOS_PER_SEC));
        assert_eq!(hc.test.as_ref().unwrap()[0], "CMD-SHELL");
        let l = b.labels.as_ref().unwrap();
        assert_eq!(l["team"], "a");
        assert_eq!(l[labels::MANAGED], "true");
    }

    #[test]
    fn stand_in_runs_the_workload_with_reserved_resources() {
        let td = taskdef(None, None, vec![container("web", 512, Some(512), Some(256))]);
        let ctx = ContainerContext {
            placement: placement(),
            attach: Attach::Container("sbx".into()),
            limits: None,
            stand_in: Some(StandIn { seconds: Some(2.5), exit_code: 3 }),
            index: 0,
        };
        let b = container_body(&td, 0, &ctx);
        assert_eq!(b.image.as_deref(), Some(WORKLOAD_IMAGE));
        assert_eq!(
            b.cmd.unwrap(),
            [
                "run",
                "--seconds",
                "2.500",
                "--cpu",
                "0.500",
                "--mib",
                "256",
                "--port",
                "80",
                "--exit",
                "3"
            ]
        );
        assert_eq!(
            b.healthcheck.unwrap().test.unwrap(),
            ["CMD", WORKLOAD_PATH, "health", "--port", "80"]
        );
        assert_eq!(b.labels.unwrap()[labels::STANDS_IN_FOR], "nginx:1.25");
        let h = b.host_config.unwrap();
        assert_eq!(h.network_mode.as_deref(), Some("container:sbx"));
        assert!(h.port_bindings.is_none(), "ports are published by the sandbox");
    }
}
