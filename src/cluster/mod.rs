//! Cluster files (`clusters/*.toml`): the ECS hosts, their prices, and the latencies that shape
//! a run in either mode. See `docs/cluster-files.md` for the format, key by key.

mod parse;
pub(crate) mod tomlerr;

pub use parse::{
    check_docker_endpoint, load, load_with, parse_str, parse_strategy_arg, Defaults, MAX_HOSTS,
};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::money::Usd;
use crate::placement::{HostId, StrategyRule};
use crate::taskdef::model::{CpuArch, OsFamily};
use crate::time::SimDuration;

/// A loaded, validated cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub name: String,
    pub region: String,
    /// One entry per container instance (host groups are expanded by `count`).
    pub hosts: Vec<HostSpec>,
    pub ecs: EcsSettings,
    pub fargate: FargateSettings,
    /// Opt-in cost lines beyond instance hours (EBS, load balancers, ...).
    pub extra_costs: Vec<ExtraCost>,
}

/// One container instance.
#[derive(Debug, Clone, Serialize)]
pub struct HostSpec {
    pub id: HostId,
    /// ECS-style instance id, e.g. `i-0000000000000001`, stable across runs.
    pub instance_id: String,
    /// Index of the `[[hosts]]` group it came from.
    pub group: usize,
    pub instance_type: String,
    pub vcpu: u32,
    /// Memory as the instance has it (before `reserved_memory_mib`).
    pub memory_mib: u32,
    pub arch: CpuArch,
    pub os: OsFamily,
    pub zone: String,
    /// Custom attributes (usable in memberOf and spread).
    pub attributes: BTreeMap<String, String>,
    pub usd_per_hour: Usd,
    /// Docker engine endpoint for the real runtime; `None` means the default local engine.
    pub docker: Option<String>,
    /// GPUs the host registers (0 for the catalog's types).
    pub gpus: u32,
}

impl HostSpec {
    /// CPU units the host registers with ECS: vCPU × 1024.
    pub fn registered_cpu_units(&self) -> u32 {
        self.vcpu * 1024
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EcsSettings {
    /// `ECS_RESERVED_MEMORY`: MiB subtracted from each host's registered memory.
    pub reserved_memory_mib: u32,
    pub placement_strategy: Vec<StrategyRule>,
    /// First pull of an image on a host; later starts use the cache.
    pub image_pull: SimDuration,
    pub container_start: SimDuration,
}

#[derive(Debug, Clone, Serialize)]
pub struct FargateSettings {
    /// RunTask until the image pull starts (not billed).
    pub provisioning: SimDuration,
    /// Billed: Fargate bills from the start of the pull.
    pub image_pull: SimDuration,
    pub container_start: SimDuration,
    /// Use Fargate Spot rates.
    pub spot: bool,
}

/// A fixed cost line the user opted into, e.g. `{ name = "ALB", usd_per_hour = 0.0225 }`.
#[derive(Debug, Clone, Serialize)]
pub struct ExtraCost {
    pub name: String,
    pub usd_per_hour: Usd,
    /// Which modes it applies to.
    pub applies_to_ecs: bool,
    pub applies_to_fargate: bool,
}
