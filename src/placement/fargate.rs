//! Fargate mode: the slot a task gets, and how a task written for EC2 is ported to it.
//!
//! A task runs on Fargate at a valid task size (ecs-semantics.md §2.1), with awsvpc networking
//! and without host-level features (§2.2). berth ports an EC2 task the way a person would, and
//! lists every change as a sentence for the report; it refuses only what Fargate cannot do at
//! all (privileged containers, GPUs, Docker volumes, host paths, host PID/IPC namespaces,
//! Windows on ARM, a size beyond the largest), with the reason.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::taskdef::derive::container_sums;
use crate::taskdef::fargate::{is_valid_size, smallest_fitting, FargateSize};
use crate::taskdef::model::{CpuArch, NetworkMode, OsFamily, Protocol, TaskDefinition};

/// Fargate's default and maximum ephemeral storage (GiB).
pub const FARGATE_DEFAULT_EPHEMERAL_GIB: u32 = 20;
pub const FARGATE_MAX_EPHEMERAL_GIB: u32 = 200;

/// How a task runs on Fargate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FargateFit {
    /// The size billed: the task-level size if it is valid, else the smallest that holds it.
    pub size: FargateSize,
    /// What the task asks Fargate for before rounding up to a valid size: the task-level
    /// cpu/memory where given, else the containers' needs ([`container_sums`]).
    pub asked: FargateSize,
    pub os: OsFamily,
    pub arch: CpuArch,
    /// What was changed to run it on Fargate, one sentence each (empty for a Fargate task).
    pub adaptations: Vec<String>,
    /// Configured ephemeral storage (20 GiB unless the task asks for more).
    pub ephemeral_gib: u32,
}

/// Why a task cannot run on Fargate at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FargateRefusal {
    pub reasons: Vec<String>,
}

impl fmt::Display for FargateRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot run on Fargate: {}", self.reasons.join("; "))
    }
}

impl std::error::Error for FargateRefusal {}

/// The Fargate slot for `td`, with the adaptations made, or why Fargate cannot run it.
pub fn fargate_fit(td: &TaskDefinition) -> Result<FargateFit, FargateRefusal> {
    let os = td.runtime_platform.os;
    let arch = td.runtime_platform.arch;
    let mut refuse = Vec::new();
    let mut adapt = Vec::new();

    if os == OsFamily::Windows && arch == CpuArch::Arm64 {
        refuse.push("Fargate runs Windows tasks on x86_64 only, not on ARM64".to_string());
    }
    for c in &td.containers {
        if c.privileged {
            refuse.push(format!(
                "container {:?} is privileged, which Fargate does not allow",
                c.name
            ));
        }
        if c.gpu_count > 0 {
            refuse.push(format!(
                "container {:?} asks for {} GPU(s); Fargate has no GPUs",
                c.name, c.gpu_count
            ));
        }
    }
    for v in &td.volumes {
        if v.docker_volume {
            refuse.push(format!(
                "volume {:?} is a Docker volume (dockerVolumeConfiguration); Fargate supports only \
                 bind mounts without a host path and EFS",
                v.name
            ));
        } else if let Some(p) = &v.host_source_path {
            refuse.push(format!(
                "volume {:?} mounts the host path {p:?}; Fargate tasks cannot see a host",
                v.name
            ));
        }
    }
    if td.pid_mode.as_deref() == Some("host") {
        refuse.push(
            "pidMode \"host\" shares the host's process namespace; Fargate has no host".into(),
        );
    }
    if td.ipc_mode.as_deref() == Some("host") {
        refuse.push("ipcMode \"host\" shares the host's IPC namespace; Fargate has no host".into());
    } else if let Some(m) = &td.ipc_mode {
        adapt.push(format!("ipcMode {m:?} dropped: Fargate does not support ipcMode"));
    }

    // Networking: awsvpc, one ENI per task, ports are container ports.
    if td.network_mode != NetworkMode::Awsvpc {
        adapt.push(format!(
            "network mode {} changed to awsvpc: every Fargate task gets its own network interface",
            match td.network_mode {
                NetworkMode::Bridge => "bridge",
                NetworkMode::Host => "host",
                NetworkMode::None => "none",
                NetworkMode::Default => "default (bridge)",
                NetworkMode::Awsvpc => "awsvpc",
            }
        ));
    }
    let mut seen: BTreeMap<(u16, Protocol), &str> = BTreeMap::new();
    for c in &td.containers {
        for pm in &c.port_mappings {
            let proto = match pm.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            };
            match pm.host_port {
                None | Some(0) if td.network_mode != NetworkMode::Awsvpc => adapt.push(format!(
                    "container {:?}: dynamic host port for {}/{proto} dropped; awsvpc exposes the \
                     container port itself",
                    c.name, pm.container_port
                )),
                Some(h) if h != 0 && h != pm.container_port => adapt.push(format!(
                    "container {:?}: host port {h} mapped to {}/{proto} becomes {} (awsvpc needs \
                     hostPort equal to containerPort)",
                    c.name, pm.container_port, pm.container_port
                )),
                _ => {}
            }
            if let Some(other) = seen.insert((pm.container_port, pm.protocol), &c.name) {
                refuse.push(format!(
                    "containers {other:?} and {:?} both listen on {}/{proto}; in an awsvpc task \
                     they share one network interface",
                    c.name, pm.container_port
                ));
            }
        }
        if !c.links.is_empty() {
            adapt.push(format!(
                "container {:?}: links to {} dropped; containers of an awsvpc task reach each \
                 other on localhost",
                c.name,
                c.links.join(", ")
            ));
        }
        if let Some(d) = &c.log_driver {
            if !["awslogs", "splunk", "awsfirelens"].contains(&d.as_str()) {
                adapt.push(format!(
                    "container {:?}: log driver {d} replaced by awslogs (Fargate supports awslogs, \
                     splunk and awsfirelens)",
                    c.name
                ));
            }
        }
    }
    if !td.placement_constraints.is_empty() {
        adapt.push(format!(
            "placement constraints dropped ({}): Fargate places tasks itself",
            td.placement_constraints.join("; ")
        ));
    }

    // Size.
    let (sum_cpu, sum_mem) = container_sums(td);
    let asked = FargateSize {
        cpu_units: td.cpu_units.unwrap_or(0).max(sum_cpu),
        memory_mib: td.memory_mib.unwrap_or(0).max(sum_mem),
    };
    let size = match (td.cpu_units, td.memory_mib) {
        (Some(cpu), Some(mem))
            if is_valid_size(os, cpu, mem) && sum_cpu <= cpu && sum_mem <= mem =>
        {
            Some(FargateSize { cpu_units: cpu, memory_mib: mem })
        }
        (cpu, mem) => {
            let need_cpu = cpu.unwrap_or(0).max(sum_cpu);
            let need_mem = mem.unwrap_or(0).max(sum_mem);
            match smallest_fitting(os, need_cpu, need_mem) {
                Some(s) => {
                    let what = match (cpu, mem) {
                        (Some(c), Some(m)) => format!("task size {c} CPU units / {m} MiB is not a Fargate size"),
                        (None, None) => format!(
                            "no task size given; its containers need {sum_cpu} CPU units and {sum_mem} MiB \
                             (memory: the larger of their reservations' sum and the largest hard limit)"
                        ),
                        _ => format!("task size incomplete ({need_cpu} CPU units / {need_mem} MiB needed)"),
                    };
                    adapt.push(format!(
                        "{what}: sized up to {} ({} CPU units / {} MiB)",
                        s.label(),
                        s.cpu_units,
                        s.memory_mib
                    ));
                    Some(s)
                }
                None => {
                    refuse.push(format!(
                        "it needs {need_cpu} CPU units and {need_mem} MiB, more than the largest \
                         Fargate size for {} (16 vCPU / 120 GB on Linux, 4 vCPU / 30 GB on Windows)",
                        match os {
                            OsFamily::Linux => "Linux",
                            OsFamily::Windows => "Windows",
                        }
                    ));
                    None
                }
            }
        }
    };
    let ephemeral_gib = td.ephemeral_storage_gib.unwrap_or(FARGATE_DEFAULT_EPHEMERAL_GIB);
    if ephemeral_gib > FARGATE_MAX_EPHEMERAL_GIB {
        refuse.push(format!(
            "it asks for {ephemeral_gib} GiB of ephemeral storage; Fargate allows at most {FARGATE_MAX_EPHEMERAL_GIB}"
        ));
    }
    match size {
        Some(size) if refuse.is_empty() => Ok(FargateFit {
            size,
            asked,
            os,
            arch,
            adaptations: adapt,
            ephemeral_gib: ephemeral_gib.max(FARGATE_DEFAULT_EPHEMERAL_GIB),
        }),
        _ => Err(FargateRefusal { reasons: refuse }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::model::*;

    fn container(name: &str, cpu: u32, mem: Option<u32>, res: Option<u32>) -> ContainerDefinition {
        ContainerDefinition {
            cpu_units: cpu,
            memory_mib: mem,
            memory_reservation_mib: res,
            ..ContainerDefinition::new(name, "nginx")
        }
    }

    fn td(
        network_mode: NetworkMode,
        cpu: Option<u32>,
        mem: Option<u32>,
        containers: Vec<ContainerDefinition>,
    ) -> TaskDefinition {
        TaskDefinition {
            family: "web".into(),
            revision: None,
            task_role_arn: None,
            execution_role_arn: None,
            network_mode,
            requires_compatibilities: vec![],
            cpu_units: cpu,
            memory_mib: mem,
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

    #[test]
    fn a_fargate_task_keeps_its_size() {
        let t = td(
            NetworkMode::Awsvpc,
            Some(512),
            Some(1024),
            vec![container("app", 256, Some(512), None)],
        );
        let fit = fargate_fit(&t).unwrap();
        assert_eq!(fit.size, FargateSize { cpu_units: 512, memory_mib: 1024 });
        assert!(fit.adaptations.is_empty(), "{:?}", fit.adaptations);
        assert_eq!(fit.ephemeral_gib, 20);
    }

    #[test]
    fn an_ec2_task_is_ported() {
        // Bridge, no task size, containers 300 + 100 units and 512 (hard) + 256 (soft) MiB:
        // 400 units / 768 MiB rounds up to 0.5 vCPU / 1 GB.
        let mut web = container("web", 300, Some(512), Some(256));
        web.port_mappings.push(PortMapping {
            container_port: 80,
            host_port: None,
            protocol: Protocol::Tcp,
            name: None,
        });
        web.links.push("cache".into());
        web.log_driver = Some("json-file".into());
        let mut cache = container("cache", 100, None, Some(256));
        cache.port_mappings.push(PortMapping {
            container_port: 6379,
            host_port: Some(16379),
            protocol: Protocol::Tcp,
            name: None,
        });
        let mut t = td(NetworkMode::Bridge, None, None, vec![web, cache]);
        t.placement_constraints.push("attribute:stack == prod".into());
        let fit = fargate_fit(&t).unwrap();
        assert_eq!(fit.size, FargateSize { cpu_units: 512, memory_mib: 1024 });
        let all = fit.adaptations.join("\n");
        assert!(all.contains("network mode bridge changed to awsvpc"), "{all}");
        assert!(all.contains("dynamic host port for 80/tcp dropped"), "{all}");
        assert!(all.contains("host port 16379 mapped to 6379/tcp becomes 6379"), "{all}");
        assert!(all.contains("links to cache dropped"), "{all}");
        assert!(all.contains("log driver json-file replaced by awslogs"), "{all}");
        assert!(all.contains("placement constraints dropped"), "{all}");
        assert!(all.contains("sized up to 0.5 vCPU / 1 GB"), "{all}");
        assert_eq!(fit.adaptations.len(), 7);
    }

    #[test]
    fn an_invalid_task_size_rounds_up() {
        // 128 units / 300 MiB (valid on EC2) becomes 0.25 vCPU / 0.5 GB.
        let t = td(NetworkMode::Awsvpc, Some(128), Some(300), vec![container("a", 0, None, None)]);
        let fit = fargate_fit(&t).unwrap();
        assert_eq!(fit.size, FargateSize { cpu_units: 256, memory_mib: 512 });
        assert!(
            fit.adaptations[0].contains("task size 128 CPU units / 300 MiB is not a Fargate size")
        );
        // Windows needs at least 1 vCPU: 256 units / 512 MiB becomes 1 vCPU / 2 GB.
        let mut w =
            td(NetworkMode::Awsvpc, Some(256), Some(512), vec![container("a", 0, None, None)]);
        w.runtime_platform.os = OsFamily::Windows;
        assert_eq!(
            fargate_fit(&w).unwrap().size,
            FargateSize { cpu_units: 1024, memory_mib: 2048 }
        );
    }

    #[test]
    fn refusals_give_every_reason() {
        let mut a = container("a", 0, Some(512), None);
        a.privileged = true;
        a.gpu_count = 1;
        let mut t = td(NetworkMode::Bridge, None, None, vec![a]);
        t.volumes.push(Volume {
            name: "docker".into(),
            host_source_path: None,
            docker_volume: true,
            efs: false,
        });
        t.volumes.push(Volume {
            name: "logs".into(),
            host_source_path: Some("/var/log".into()),
            docker_volume: false,
            efs: false,
        });
        t.volumes.push(Volume {
            name: "scratch".into(),
            host_source_path: None,
            docker_volume: false,
            efs: false,
        });
        t.pid_mode = Some("host".into());
        t.runtime_platform = RuntimePlatform { os: OsFamily::Windows, arch: CpuArch::Arm64 };
        let r = fargate_fit(&t).unwrap_err();
        assert_eq!(r.reasons.len(), 6, "{r}");
        let s = r.to_string();
        for word in ["privileged", "GPU", "Docker volume", "/var/log", "pidMode", "ARM64"] {
            assert!(s.contains(word), "{word}: {s}");
        }
    }

    #[test]
    fn too_big_and_port_clashes_are_refused() {
        let t = td(NetworkMode::Awsvpc, None, None, vec![container("a", 20_000, Some(1024), None)]);
        assert!(fargate_fit(&t).unwrap_err().to_string().contains("more than the largest"));
        let mut a = container("a", 0, Some(256), None);
        let mut b = container("b", 0, Some(256), None);
        for c in [&mut a, &mut b] {
            c.port_mappings.push(PortMapping {
                container_port: 80,
                host_port: None,
                protocol: Protocol::Tcp,
                name: None,
            });
        }
        let t = td(NetworkMode::Bridge, None, None, vec![a, b]);
        assert!(fargate_fit(&t).unwrap_err().to_string().contains("both listen on 80/tcp"));
    }
}
