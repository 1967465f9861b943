//! Placement: which ECS host a task goes to, as ECS decides it.
//!
//! Pure code: no I/O, no clock; randomness comes in as a seeded RNG. The simulator and the
//! Docker runtime share it. The pipeline follows ECS's order: resources and ports, then
//! constraints, then the strategies chained in order, then pick.
//!
//! Data types of the placement contract live here; the `Placer` (indexes, strategies,
//! constraint language) is built in the submodules.

pub mod fargate;
mod fasthash;
pub mod placer;
mod pool;
pub mod query;

use serde::{Deserialize, Serialize};

use crate::taskdef::model::{CpuArch, OsFamily};

pub use fargate::{fargate_fit, FargateFit, FargateRefusal};
pub use placer::{HostUsage, Placer, Unplaced, DEFAULT_RESERVED_TCP_PORTS};
pub use query::{Expr, QueryError};

/// Checks a cluster query language expression (for `memberOf`) without a cluster, e.g. when a
/// task definition is validated. The error names the column.
pub fn validate_expression(expr: &str) -> Result<(), QueryError> {
    Expr::parse(expr).map(|_| ())
}

/// Index of a host in its cluster (`Cluster::hosts`), stable for the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostId(pub u32);

/// What a task takes from a host while it holds its place, in ECS's accounting: task-level
/// cpu/memory if set, else the sums over containers (memoryReservation before memory), and the
/// static host ports of bridge and host mode tasks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Demand {
    pub cpu_units: u32,
    pub memory_mib: u32,
    pub tcp_ports: Vec<u16>,
    pub udp_ports: Vec<u16>,
    pub gpus: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BinpackField {
    Cpu,
    Memory,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpreadField {
    /// `instanceId` or `host`.
    InstanceId,
    /// `attribute:<name>`, e.g. `attribute:ecs.availability-zone`.
    Attribute(String),
}

/// One rule of a placement strategy, as ECS writes it (`{"type": "binpack", "field": "memory"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StrategyRule {
    Binpack(BinpackField),
    Spread(SpreadField),
    Random,
}

/// A placement constraint, from the task definition or given at run time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConstraintSpec {
    DistinctInstance,
    /// A cluster query language expression.
    MemberOf(String),
}

/// Everything placement needs to know about one task.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlacementRequest {
    pub demand: Demand,
    /// The task group: `family:<family>` for standalone tasks, `service:<name>` for services.
    pub group: String,
    pub os: OsFamily,
    pub arch: CpuArch,
    pub constraints: Vec<ConstraintSpec>,
    /// Chained in order; empty means ECS's default for the caller.
    pub strategy: Vec<StrategyRule>,
}

/// ECS's placement failure reasons (`failures[].reason` of RunTask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureReason {
    #[serde(rename = "RESOURCE:CPU")]
    Cpu,
    #[serde(rename = "RESOURCE:MEMORY")]
    Memory,
    #[serde(rename = "RESOURCE:PORTS")]
    Ports,
    #[serde(rename = "RESOURCE:GPU")]
    Gpu,
    /// No host of the task's OS and CPU architecture.
    #[serde(rename = "ATTRIBUTE")]
    Attribute,
    /// The only hosts that would fit have their agent disconnected.
    #[serde(rename = "AGENT")]
    Agent,
    #[serde(rename = "MemberOf")]
    MemberOf,
    #[serde(rename = "DistinctInstance")]
    DistinctInstance,
    /// The cluster has no hosts at all.
    #[serde(rename = "NO_INSTANCES")]
    NoInstances,
}

impl FailureReason {
    /// The word ECS uses: `RESOURCE:MEMORY`, `MemberOf`, ...
    pub fn as_ecs_str(self) -> &'static str {
        match self {
            FailureReason::Cpu => "RESOURCE:CPU",
            FailureReason::Memory => "RESOURCE:MEMORY",
            FailureReason::Ports => "RESOURCE:PORTS",
            FailureReason::Gpu => "RESOURCE:GPU",
            FailureReason::Attribute => "ATTRIBUTE",
            FailureReason::Agent => "AGENT",
            FailureReason::MemberOf => "MemberOf",
            FailureReason::DistinctInstance => "DistinctInstance",
            FailureReason::NoInstances => "NO_INSTANCES",
        }
    }
}

/// Why a task could not be placed, with an explanation a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementFailure {
    pub reason: FailureReason,
    /// The host that came closest, if any was considered.
    pub closest_host: Option<HostId>,
    /// e.g. "considered 4 hosts: 1 removed by memberOf, 3 lacked memory; closest i-0002 has
    /// 512 MiB free of the 1024 MiB needed".
    pub explanation: String,
}
