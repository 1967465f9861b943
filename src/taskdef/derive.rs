//! Facts derived from a task definition that the engine, placement and the Docker runtime need.
//! All pure functions of the normalised model.
//!
//! - [`start_order`]: the order containers start in, from `dependsOn`.
//! - [`host_demand`]: what the task reserves on an ECS host (ecs-semantics §3.2).
//! - [`fargate_size`]: the Fargate size the task runs at (its own, or the smallest that fits).
//! - [`docker_create`]: the Docker create settings for a container, as the ECS agent maps them
//!   (ecs-semantics §1.3, §1.5), as bollard data types.

use std::collections::{BTreeSet, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceRequest, HealthConfig, HostConfig, PortBinding, ResourcesUlimits,
};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::placement::Demand;

use super::fargate::{self, FargateSize};
use super::model::*;

/// Containers in the order they start: every container after the containers it depends on,
/// ties kept in file order (Kahn's algorithm over the `dependsOn` graph). Returns indices into
/// `def.containers`. Dependencies naming unknown containers are ignored (validation reports
/// them); a cycle is an error naming the containers on it.
pub fn start_order(def: &TaskDefinition) -> Result<Vec<usize>, DependencyCycle> {
    let (graph, nodes) = dependency_graph(def);
    let mut indegree: Vec<usize> =
        nodes.iter().map(|n| graph.neighbors_directed(*n, Direction::Incoming).count()).collect();
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for next in graph.neighbors_directed(nodes[i], Direction::Outgoing) {
            let j = graph[next];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert(j);
            }
        }
    }
    if order.len() == nodes.len() {
        return Ok(order);
    }
    // Edges point dependency -> dependent here; the cycle finder wants dependent -> dependency
    // only for wording, so reverse the path it finds.
    let cycle = super::validate::find_cycle(&graph)
        .map(|c| c.into_iter().rev().map(|n| def.containers[graph[n]].name.clone()).collect())
        .unwrap_or_default();
    Err(DependencyCycle { containers: cycle })
}

/// The `dependsOn` graph with edges from each dependency to the container waiting on it.
pub fn dependency_graph(
    def: &TaskDefinition,
) -> (DiGraph<usize, DependencyCondition>, Vec<NodeIndex>) {
    let mut graph = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..def.containers.len()).map(|i| graph.add_node(i)).collect();
    let by_name: HashMap<&str, usize> =
        def.containers.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
    for (i, c) in def.containers.iter().enumerate() {
        for d in &c.depends_on {
            if let Some(&t) = by_name.get(d.container_name.as_str()) {
                graph.add_edge(nodes[t], nodes[i], d.condition);
            }
        }
    }
    (graph, nodes)
}

/// A `dependsOn` cycle: the containers on it, the first repeated at the end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("container dependencies form a cycle: {}", containers.join(" -> "))]
pub struct DependencyCycle {
    pub containers: Vec<String>,
}

/// What the task takes from an ECS host while placed there, by ECS's own accounting
/// (`ToHostResources` in the agent): task `cpu`/`memory` when set, else the sums over the
/// containers (cpu; `memoryReservation` if set, else `memory`); the static host ports of bridge
/// and host mode tasks by protocol (awsvpc tasks have their own network interface, and dynamic
/// ports come from the ephemeral range); GPUs.
pub fn host_demand(def: &TaskDefinition) -> Demand {
    let (sum_cpu, _) = container_sums(def);
    let sum_reserved: u32 = def
        .containers
        .iter()
        .map(|c| c.memory_reservation_mib.or(c.memory_mib).unwrap_or(0))
        .fold(0u32, u32::saturating_add);
    let (mut tcp, mut udp) = (BTreeSet::new(), BTreeSet::new());
    if def.network_mode != NetworkMode::Awsvpc {
        for pm in def.containers.iter().flat_map(|c| &c.port_mappings) {
            if let Some(h) = pm.host_port.filter(|h| *h != 0) {
                match pm.protocol {
                    Protocol::Tcp => tcp.insert(h),
                    Protocol::Udp => udp.insert(h),
                };
            }
        }
    }
    Demand {
        cpu_units: def.cpu_units.unwrap_or(sum_cpu),
        memory_mib: def.memory_mib.unwrap_or(sum_reserved),
        tcp_ports: tcp.into_iter().collect(),
        udp_ports: udp.into_iter().collect(),
        gpus: def.containers.iter().map(|c| c.gpu_count).sum(),
    }
}

/// What a Fargate size must hold when the task has no size of its own, as Fargate sizes it:
/// the sum of container `cpu`, and for memory the larger of the sum of the containers'
/// reservations (`memoryReservation`, else `memory`) and the largest single hard limit
/// (`memory`), which that container may reach on its own. Summing the hard limits instead
/// would ask for more than Fargate does.
pub fn container_sums(def: &TaskDefinition) -> (u32, u32) {
    let cpu = def.containers.iter().map(|c| c.cpu_units).fold(0u32, u32::saturating_add);
    let reserved = def
        .containers
        .iter()
        .map(|c| c.memory_reservation_mib.or(c.memory_mib).unwrap_or(0))
        .fold(0u32, u32::saturating_add);
    let largest_hard = def.containers.iter().filter_map(|c| c.memory_mib).max().unwrap_or(0);
    (cpu, reserved.max(largest_hard))
}

/// The Fargate size the task runs at: its own `cpu`/`memory` when both are set and form a valid
/// pair; otherwise the smallest valid size holding the task-level values where set and the
/// container sums elsewhere (AWS's sizing advice: add up the containers and round up). `None`
/// when nothing is big enough.
pub fn fargate_size(def: &TaskDefinition) -> Option<FargateSize> {
    let os = def.runtime_platform.os;
    if let (Some(c), Some(m)) = (def.cpu_units, def.memory_mib) {
        if fargate::is_valid_size(os, c, m) {
            return Some(FargateSize { cpu_units: c, memory_mib: m });
        }
    }
    let (sum_cpu, sum_mem) = container_sums(def);
    fargate::smallest_fitting(
        os,
        def.cpu_units.unwrap_or(0).max(sum_cpu),
        def.memory_mib.unwrap_or(0).max(sum_mem),
    )
}

/// Docker's CPU shares for a container's `cpu`, as the agent sends them: 0 and 1 become 2 (the
/// Linux minimum), and values are capped at 262144.
pub fn cpu_shares(cpu_units: u32) -> i64 {
    (cpu_units as i64).clamp(2, 262_144)
}

const MIB: i64 = 1024 * 1024;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// The Docker create settings for container `index` of `def`, as the ECS agent maps a container
/// definition: `Cmd`, `Entrypoint`, `Env` (`NAME=value`), `Labels` (dockerLabels plus the
/// agent's `com.amazonaws.ecs.*` labels known before run time), `User`, `WorkingDir`,
/// `Healthcheck` (seconds to nanoseconds; a start period only when set), `StopTimeout`, exposed
/// ports, and in `HostConfig`: `CpuShares`, `Memory`/`MemoryReservation` in bytes (the agent
/// raises a hard limit under 4 MiB to 4 MiB), `Privileged`, `ReadonlyRootfs`, `Ulimits`, GPUs as
/// a device request, and for bridge mode the port bindings (an empty host port asks Docker for
/// a dynamic one). Networking, volumes and the container name are the runtime's business.
pub fn docker_create(def: &TaskDefinition, index: usize) -> Option<ContainerCreateBody> {
    let c = def.containers.get(index)?;
    let mut labels: HashMap<String, String> =
        c.docker_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    labels.insert("com.amazonaws.ecs.task-definition-family".into(), def.family.clone());
    if let Some(r) = def.revision {
        labels.insert("com.amazonaws.ecs.task-definition-version".into(), r.to_string());
    }
    labels.insert("com.amazonaws.ecs.container-name".into(), c.name.clone());

    let healthcheck = c.health_check.as_ref().map(|h| HealthConfig {
        test: Some(h.command.clone()),
        interval: Some(h.interval_s as i64 * NANOS_PER_SECOND),
        timeout: Some(h.timeout_s as i64 * NANOS_PER_SECOND),
        retries: Some(h.retries as i64),
        start_period: (h.start_period_s > 0).then(|| h.start_period_s as i64 * NANOS_PER_SECOND),
        start_interval: None,
    });

    let proto = |p: Protocol| match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    };
    let exposed: Vec<String> = c
        .port_mappings
        .iter()
        .map(|p| format!("{}/{}", p.container_port, proto(p.protocol)))
        .collect();
    let bridge = matches!(def.network_mode, NetworkMode::Bridge | NetworkMode::Default);
    let port_bindings = (bridge && !c.port_mappings.is_empty()).then(|| {
        c.port_mappings
            .iter()
            .map(|p| {
                let host =
                    p.host_port.filter(|h| *h != 0).map(|h| h.to_string()).unwrap_or_default();
                (
                    format!("{}/{}", p.container_port, proto(p.protocol)),
                    Some(vec![PortBinding { host_ip: None, host_port: Some(host) }]),
                )
            })
            .collect()
    });

    let host_config = HostConfig {
        cpu_shares: Some(cpu_shares(c.cpu_units)),
        memory: c.memory_mib.map(|m| (m as i64).max(4) * MIB),
        memory_reservation: c.memory_reservation_mib.map(|m| m as i64 * MIB),
        privileged: Some(c.privileged),
        readonly_rootfs: Some(c.readonly_root_filesystem),
        ulimits: (!c.ulimits.is_empty()).then(|| {
            c.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft_limit),
                    hard: Some(u.hard_limit),
                })
                .collect()
        }),
        device_requests: (c.gpu_count > 0).then(|| {
            vec![DeviceRequest {
                driver: Some("nvidia".into()),
                count: Some(c.gpu_count as i64),
                capabilities: Some(vec![vec!["gpu".into()]]),
                ..Default::default()
            }]
        }),
        port_bindings,
        ..Default::default()
    };

    Some(ContainerCreateBody {
        image: Some(c.image.clone()),
        cmd: c.command.clone(),
        entrypoint: c.entry_point.clone(),
        env: Some(c.environment.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        user: c.user.clone(),
        working_dir: c.working_directory.clone(),
        healthcheck,
        stop_timeout: c.stop_timeout_s.map(i64::from),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(host_config),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::parse::parse_str;

    fn def(json: &str) -> TaskDefinition {
        parse_str("t", json).map_err(|e| e.to_string()).unwrap().0
    }

    fn with(containers: &str, task: &str) -> TaskDefinition {
        def(&format!(r#"{{"family": "f", {task} "containerDefinitions": [{containers}]}}"#))
    }

    #[test]
    fn start_order_follows_depends_on() {
        // web waits for db and cache; migrate (non-essential, run to completion) waits for db.
        let d = with(
            r#"{"name": "web", "image": "i", "memory": 8, "dependsOn": [
                 {"containerName": "migrate", "condition": "SUCCESS"},
                 {"containerName": "cache", "condition": "START"}]},
               {"name": "cache", "image": "i", "memory": 8},
               {"name": "migrate", "image": "i", "memory": 8, "essential": false,
                "dependsOn": [{"containerName": "db", "condition": "START"}]},
               {"name": "db", "image": "i", "memory": 8}"#,
            "",
        );
        let order: Vec<&str> =
            start_order(&d).unwrap().iter().map(|i| d.containers[*i].name.as_str()).collect();
        assert_eq!(order, ["cache", "db", "migrate", "web"]);
    }

    #[test]
    fn start_order_without_dependencies_is_file_order() {
        let d = with(
            r#"{"name": "b", "image": "i", "memory": 8}, {"name": "a", "image": "i", "memory": 8}"#,
            "",
        );
        assert_eq!(start_order(&d).unwrap(), vec![0, 1]);
    }

    #[test]
    fn start_order_reports_cycles() {
        let mut d = with(
            r#"{"name": "a", "image": "i", "memory": 8}, {"name": "b", "image": "i", "memory": 8}"#,
            "",
        );
        d.containers[0].depends_on.push(ContainerDependency {
            container_name: "b".into(),
            condition: DependencyCondition::Start,
        });
        d.containers[1].depends_on.push(ContainerDependency {
            container_name: "a".into(),
            condition: DependencyCondition::Start,
        });
        let e = start_order(&d).unwrap_err();
        assert_eq!(e.containers.len(), 3);
        assert_eq!(e.containers.first(), e.containers.last());
    }

    #[test]
    fn demand_uses_task_size_when_set() {
        let d = with(
            r#"{"name": "a", "image": "i", "memory": 300, "cpu": 100}"#,
            r#""cpu": "512", "memory": "1024","#,
        );
        let dm = host_demand(&d);
        assert_eq!((dm.cpu_units, dm.memory_mib), (512, 1024));
    }

    #[test]
    fn demand_sums_reservation_before_memory() {
        let d = with(
            r#"{"name": "a", "image": "i", "memory": 512, "memoryReservation": 128, "cpu": 256},
               {"name": "b", "image": "i", "memory": 64, "cpu": 0}"#,
            "",
        );
        let dm = host_demand(&d);
        assert_eq!((dm.cpu_units, dm.memory_mib), (256, 192));
    }

    #[test]
    fn demand_ports_by_mode() {
        let c = r#"{"name": "a", "image": "i", "memory": 8, "portMappings": [
            {"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 53, "protocol": "udp"},
            {"containerPort": 9000}, {"containerPort": 9001, "hostPort": 0}]}"#;
        let bridge = host_demand(&with(c, ""));
        assert_eq!(bridge.tcp_ports, vec![8080]);
        assert_eq!(bridge.udp_ports, vec![53]);
        let host = host_demand(&with(
            &c.replace("8080", "80").replace(", {\"containerPort\": 9001, \"hostPort\": 0}", ""),
            r#""networkMode": "host","#,
        ));
        assert_eq!(host.tcp_ports, vec![80, 9000]);
        let awsvpc = host_demand(&with(
            &c.replace("8080", "80").replace(", {\"containerPort\": 9001, \"hostPort\": 0}", ""),
            r#""networkMode": "awsvpc","#,
        ));
        assert!(awsvpc.tcp_ports.is_empty() && awsvpc.udp_ports.is_empty());
    }

    #[test]
    fn demand_counts_gpus() {
        let d = with(
            r#"{"name": "a", "image": "i", "memory": 8, "resourceRequirements": [{"type": "GPU", "value": "2"}]}"#,
            "",
        );
        assert_eq!(host_demand(&d).gpus, 2);
    }

    #[test]
    fn fargate_size_rounds_up_container_sums() {
        // 300 + 100 units; reservations 600 + 100 = 700 MiB, largest hard limit 600 MiB:
        // 0.5 vCPU, 1 GB (summing the hard limits, 1100 MiB, would ask for 2 GB).
        let d = with(
            r#"{"name": "a", "image": "i", "memory": 600, "cpu": 300},
               {"name": "b", "image": "i", "memory": 500, "memoryReservation": 100, "cpu": 100}"#,
            "",
        );
        assert_eq!(fargate_size(&d), Some(FargateSize { cpu_units: 512, memory_mib: 1024 }));
        // A large hard limit on one container with small reservations: the limit decides.
        let burst = with(
            r#"{"name": "a", "image": "i", "memory": 3000, "memoryReservation": 128},
               {"name": "b", "image": "i", "memoryReservation": 128}"#,
            "",
        );
        assert_eq!(container_sums(&burst), (0, 3000));
        let own = with(r#"{"name": "a", "image": "i"}"#, r#""cpu": "1024", "memory": "3072","#);
        assert_eq!(fargate_size(&own), Some(FargateSize { cpu_units: 1024, memory_mib: 3072 }));
        // EC2-style size that is not a Fargate pair: rounded up.
        let odd = with(r#"{"name": "a", "image": "i"}"#, r#""cpu": "128", "memory": "64","#);
        assert_eq!(fargate_size(&odd), Some(FargateSize { cpu_units: 256, memory_mib: 512 }));
        let huge = with(r#"{"name": "a", "image": "i", "memory": 200000}"#, "");
        assert_eq!(fargate_size(&huge), None);
    }

    #[test]
    fn cpu_shares_floor_and_cap() {
        assert_eq!(cpu_shares(0), 2);
        assert_eq!(cpu_shares(1), 2);
        assert_eq!(cpu_shares(2), 2);
        assert_eq!(cpu_shares(512), 512);
        assert_eq!(cpu_shares(300_000), 262_144);
    }

    #[test]
    fn docker_settings_as_the_agent_maps_them() {
        let d = with(
            r#"{"name": "web", "image": "berth/workload:latest", "cpu": 0, "memory": 256,
                "memoryReservation": 128, "command": ["serve", "--port", "8080"],
                "entryPoint": ["/berth-workload"], "user": "1000", "workingDirectory": "/srv",
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": ""}],
                "dockerLabels": {"team": "web"}, "readonlyRootFilesystem": true,
                "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
                "portMappings": [{"containerPort": 8080}], "stopTimeout": 10,
                "healthCheck": {"command": ["CMD", "/berth-workload", "health", "--port", "8080"],
                                "interval": 10, "startPeriod": 5}}"#,
            "",
        );
        let b = docker_create(&d, 0).unwrap();
        let h = b.host_config.as_ref().unwrap();
        assert_eq!(h.cpu_shares, Some(2));
        assert_eq!(h.memory, Some(256 * 1024 * 1024));
        assert_eq!(h.memory_reservation, Some(128 * 1024 * 1024));
        assert_eq!(h.readonly_rootfs, Some(true));
        assert_eq!(h.ulimits.as_ref().unwrap()[0].soft, Some(1024));
        let pb = h.port_bindings.as_ref().unwrap();
        assert_eq!(pb["8080/tcp"].as_ref().unwrap()[0].host_port.as_deref(), Some(""));
        assert_eq!(b.env.as_ref().unwrap(), &vec!["A=1".to_string(), "B=".to_string()]);
        assert_eq!(b.cmd.as_ref().unwrap()[0], "serve");
        assert_eq!(b.entrypoint.as_ref().unwrap(), &vec!["/berth-workload".to_string()]);
        assert_eq!(b.user.as_deref(), Some("1000"));
        assert_eq!(b.working_dir.as_deref(), Some("/srv"));
        let labels = b.labels.as_ref().unwrap();
        assert_eq!(labels["team"], "web");
        assert_eq!(labels["com.amazonaws.ecs.container-name"], "web");
        assert_eq!(labels["com.amazonaws.ecs.task-definition-family"], "f");
        let hc = b.healthcheck.as_ref().unwrap();
        assert_eq!(hc.interval, Some(10_000_000_000));
        assert_eq!(hc.timeout, Some(5_000_000_000));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(hc.start_period, Some(5_000_000_000));
        assert_eq!(hc.test.as_ref().unwrap()[0], "CMD");
        assert_eq!(b.stop_timeout, Some(10));
        assert_eq!(b.exposed_ports.as_ref().unwrap(), &vec!["8080/tcp".to_string()]);
        assert!(docker_create(&d, 1).is_none());
    }

    #[test]
    fn docker_settings_small_memory_and_awsvpc() {
        let d = with(
            r#"{"name": "a", "image": "i", "memory": 2, "portMappings": [{"containerPort": 80}]}"#,
            r#""networkMode": "awsvpc","#,
        );
        let b = docker_create(&d, 0).unwrap();
        let h = b.host_config.unwrap();
        assert_eq!(h.memory, Some(4 * 1024 * 1024), "raised to the agent's 4 MiB floor");
        assert!(h.port_bindings.is_none(), "awsvpc ports are not bound on the host");
        assert!(b.healthcheck.is_none());
    }
}
