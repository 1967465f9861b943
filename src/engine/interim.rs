//! INTERIM: stand-ins for the taskdef and placement branches until they are merged.
//! Removed at merge time; nothing here is meant to ship.

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::placement::{Demand, FailureReason, HostId, PlacementFailure, PlacementRequest};
use crate::taskdef::fargate::{smallest_fitting, FargateSize};
use crate::taskdef::model::{NetworkMode, TaskDefinition};

pub fn demand_of(def: &TaskDefinition) -> Demand {
    let cpu = def.cpu_units.unwrap_or_else(|| def.containers.iter().map(|c| c.cpu_units).sum());
    let mem = def.memory_mib.unwrap_or_else(|| {
        def.containers.iter().map(|c| c.memory_reservation_mib.or(c.memory_mib).unwrap_or(0)).sum()
    });
    let mut tcp = Vec::new();
    if def.network_mode != NetworkMode::Awsvpc {
        for c in &def.containers {
            for p in &c.port_mappings {
                if let Some(h) = p.host_port.filter(|h| *h != 0) {
                    tcp.push(h);
                }
            }
        }
    }
    Demand { cpu_units: cpu, memory_mib: mem, tcp_ports: tcp, udp_ports: vec![], gpus: 0 }
}

pub fn fargate_fit(def: &TaskDefinition) -> Result<FargateSize, String> {
    let d = demand_of(def);
    smallest_fitting(def.runtime_platform.os, d.cpu_units, d.memory_mib)
        .ok_or_else(|| "too big for any Fargate size".to_string())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Placer {
    free: Vec<(u32, u32)>,
}

impl Placer {
    pub fn new(cluster: &Cluster) -> Self {
        Placer {
            free: cluster
                .hosts
                .iter()
                .map(|h| (h.registered_cpu_units(), h.memory_mib - cluster.ecs.reserved_memory_mib))
                .collect(),
        }
    }
    pub fn place(
        &mut self,
        req: &PlacementRequest,
        _rng: &mut impl rand::Rng,
    ) -> Result<HostId, PlacementFailure> {
        for (i, f) in self.free.iter_mut().enumerate() {
            if f.0 >= req.demand.cpu_units && f.1 >= req.demand.memory_mib {
                f.0 -= req.demand.cpu_units;
                f.1 -= req.demand.memory_mib;
                return Ok(HostId(i as u32));
            }
        }
        Err(PlacementFailure {
            reason: FailureReason::Memory,
            closest_host: None,
            explanation: "no room".into(),
        })
    }
    pub fn release(&mut self, host: HostId, req: &PlacementRequest) {
        let f = &mut self.free[host.0 as usize];
        f.0 += req.demand.cpu_units;
        f.1 += req.demand.memory_mib;
    }
}
