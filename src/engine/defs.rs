//! Registered task definitions, with everything the state machine needs worked out once at
//! registration (images, dependency edges, demand, Fargate size, whether the task can ever fit
//! this cluster) so that running a task does no per-task analysis.

use serde::{Deserialize, Serialize};

use super::types::*;
use crate::cluster::Cluster;
use crate::placement::{
    ConstraintSpec, Demand, FailureReason, PlacementRequest, SpreadField, StrategyRule,
};
use crate::taskdef::fargate::FargateSize;
use crate::taskdef::model::{DependencyCondition, TaskDefinition};
use crate::time::SimDuration;

/// ECS agent default between SIGTERM and SIGKILL (`ECS_CONTAINER_STOP_TIMEOUT`).
pub const DEFAULT_STOP_TIMEOUT: SimDuration = SimDuration(30_000);

/// One container's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerFacts {
    pub image: ImageId,
    pub essential: bool,
    /// `dependsOn` plus the START ordering implied by `links` and `volumesFrom`.
    pub depends_on: Vec<(u16, DependencyCondition)>,
    /// Containers that depend on this one (reverse edges, for shutdown order).
    pub dependents: Vec<u16>,
    pub stop_timeout: SimDuration,
    pub start_timeout: Option<SimDuration>,
    pub has_health_check: bool,
    /// Non-essential and something waits for it to COMPLETE or succeed: an init container.
    pub init: bool,
}

/// A registered revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefEntry {
    pub def: TaskDefinition,
    pub containers: Vec<ContainerFacts>,
    /// Distinct images, in container order.
    pub images: Vec<ImageId>,
    /// The container whose run time is the task's run time unless a job names another: the
    /// first essential container that is not a log router ([`main_container`]).
    pub main: u16,
    pub demand: Demand,
    /// Fargate mode: the slot, or why Fargate cannot run it (from `placement::fargate_fit`).
    pub fargate: Result<FargateSlot, String>,
    /// Placement profile for standalone tasks with no overrides.
    pub default_profile: u32,
}

impl DefEntry {
    pub fn family(&self) -> &str {
        &self.def.family
    }
}

/// How a task definition runs on Fargate (a serde copy of `placement::FargateFit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FargateSlot {
    pub size: FargateSize,
    /// What the task asks for before rounding up to `size` (`placement::FargateFit::asked`).
    #[serde(default)]
    pub asked: Option<FargateSize>,
    pub ephemeral_gib: u32,
    /// What was changed to run an EC2-style task on Fargate, one sentence each.
    pub adaptations: Vec<String>,
}

/// A placement request and whether it can ever be met in this cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub def: DefId,
    pub request: PlacementRequest,
    /// Set when no host of the cluster could hold the task even if it were empty: such a task
    /// is stopped at once (TaskFailedToStart) instead of blocking the waiting queue forever.
    pub never_fits: Option<(FailureReason, String)>,
}

/// ECS's service default: spread over availability zones, then over instances.
pub fn service_default_strategy() -> Vec<StrategyRule> {
    vec![
        StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
        StrategyRule::Spread(SpreadField::InstanceId),
    ]
}

/// Works out the container facts of `def`, interning images with `intern`.
pub fn container_facts(
    def: &TaskDefinition,
    mut intern: impl FnMut(&str) -> ImageId,
) -> Vec<ContainerFacts> {
    let index = |name: &str| def.containers.iter().position(|c| c.name == name);
    let mut facts: Vec<ContainerFacts> = def
        .containers
        .iter()
        .map(|c| {
            let mut deps: Vec<(u16, DependencyCondition)> = Vec::new();
            for d in &c.depends_on {
                if let Some(i) = index(&d.container_name) {
                    deps.push((i as u16, d.condition));
                }
            }
            // links ("name:alias") and volumesFrom imply START ordering.
            for l in c.links.iter().map(|l| l.split(':').next().unwrap_or(l)) {
                if let Some(i) = index(l) {
                    if !deps.iter().any(|(j, _)| *j == i as u16) {
                        deps.push((i as u16, DependencyCondition::Start));
                    }
                }
            }
            for v in &c.volumes_from {
                if let Some(i) = index(v) {
                    if !deps.iter().any(|(j, _)| *j == i as u16) {
                        deps.push((i as u16, DependencyCondition::Start));
                    }
                }
            }
            ContainerFacts {
                image: intern(&c.image),
                essential: c.essential,
                depends_on: deps,
                dependents: Vec::new(),
                stop_timeout: c
                    .stop_timeout_s
                    .map(|s| SimDuration::from_secs(s as u64))
                    .unwrap_or(DEFAULT_STOP_TIMEOUT),
                start_timeout: c.start_timeout_s.map(|s| SimDuration::from_secs(s as u64)),
                has_health_check: c.health_check.is_some(),
                init: false,
            }
        })
        .collect();
    for i in 0..facts.len() {
        for (dep, cond) in facts[i].depends_on.clone() {
            facts[dep as usize].dependents.push(i as u16);
            if matches!(cond, DependencyCondition::Complete | DependencyCondition::Success)
                && !facts[dep as usize].essential
            {
                facts[dep as usize].init = true;
            }
        }
    }
    facts
}

/// The container a job runs in unless the scenario names one: the first essential container
/// that is not a log router (`firelensConfiguration`); a FireLens sidecar is listed first in
/// many real definitions but never does the work. If every essential container is a log router,
/// the first essential one (ECS requires at least one).
pub fn main_container(def: &TaskDefinition, facts: &[ContainerFacts]) -> u16 {
    let essential = |i: &usize| facts[*i].essential;
    (0..facts.len())
        .filter(essential)
        .find(|&i| !def.containers.get(i).is_some_and(|c| c.log_router))
        .or_else(|| (0..facts.len()).find(essential))
        .unwrap_or(0) as u16
}

/// Whether a task with `request` could be placed on at least one host of `cluster` if that
/// host were empty. Only capacity, OS and architecture are checked: constraints depend on what
/// runs where and are left to the placer.
pub fn never_fits(
    cluster: &Cluster,
    request: &PlacementRequest,
) -> Option<(FailureReason, String)> {
    if cluster.hosts.is_empty() {
        return Some((FailureReason::NoInstances, "the cluster has no container instances".into()));
    }
    let d = &request.demand;
    let platform: Vec<_> =
        cluster.hosts.iter().filter(|h| h.os == request.os && h.arch == request.arch).collect();
    if platform.is_empty() {
        return Some((
            FailureReason::Attribute,
            format!(
                "no container instance runs {:?}/{:?}; add hosts of that platform to the cluster",
                request.os, request.arch
            )
            .to_lowercase(),
        ));
    }
    let reserved = cluster.ecs.reserved_memory_mib;
    let mem_ok: Vec<_> =
        platform.iter().filter(|h| h.memory_mib.saturating_sub(reserved) >= d.memory_mib).collect();
    if mem_ok.is_empty() {
        let best = platform.iter().map(|h| h.memory_mib.saturating_sub(reserved)).max();
        return Some((
            FailureReason::Memory,
            format!(
                "the task needs {} MiB but the largest container instance registers {} MiB",
                d.memory_mib,
                best.unwrap_or(0)
            ),
        ));
    }
    if !mem_ok.iter().any(|h| h.registered_cpu_units() >= d.cpu_units) {
        let best = mem_ok.iter().map(|h| h.registered_cpu_units()).max();
        return Some((
            FailureReason::Cpu,
            format!(
                "the task needs {} CPU units but the largest container instance registers {}",
                d.cpu_units,
                best.unwrap_or(0)
            ),
        ));
    }
    None
}

/// The constraints a task definition carries (`placementConstraints` memberOf expressions).
pub fn def_constraints(def: &TaskDefinition) -> Vec<ConstraintSpec> {
    def.placement_constraints.iter().map(|e| ConstraintSpec::MemberOf(e.clone())).collect()
}
