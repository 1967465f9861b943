//! A task as the engine tracks it: ECS's status fields, timestamps and containers.

use serde::{Deserialize, Serialize};

use super::types::*;
use crate::placement::HostId;
use crate::taskdef::fargate::FargateSize;
use crate::time::SimTime;

/// One container of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: ContainerStatus,
    /// Set when the container exited; absent if it never ran (as in ECS).
    pub exit_code: Option<i32>,
    pub health: HealthStatus,
    pub started_at: Option<SimTime>,
    /// When SIGKILL is due (while `Stopping`).
    pub kill_at: Option<SimTime>,
    /// Its `startTimeout` passed before its dependents' conditions were met.
    pub start_timed_out: bool,
    /// Why it stopped, if not a plain exit (`CannotStartContainerError: ...`).
    pub reason: Option<String>,
}

impl ContainerState {
    pub(crate) fn new() -> Self {
        ContainerState {
            status: ContainerStatus::Pending,
            exit_code: None,
            health: HealthStatus::Unknown,
            started_at: None,
            kill_at: None,
            start_timed_out: false,
            reason: None,
        }
    }
}

/// ECS's per-task timestamps (`createdAt`, `pullStartedAt`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskTimes {
    pub created_at: SimTime,
    pub pull_started_at: Option<SimTime>,
    pub pull_stopped_at: Option<SimTime>,
    pub started_at: Option<SimTime>,
    pub stopping_at: Option<SimTime>,
    pub execution_stopped_at: Option<SimTime>,
    pub stopped_at: Option<SimTime>,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    /// Creation order (ids are slab positions and do not sort by age).
    pub seq: u64,
    pub def: DefId,
    /// Placement profile (task group, strategy, constraints); see `Engine::group_of`.
    pub(crate) profile: u32,
    pub service: Option<ServiceId>,
    /// Service deployment sequence number the task belongs to.
    pub deployment: u32,
    /// RunTask's `startedBy` (service tasks: see `Engine::started_by`).
    pub started_by: Option<String>,
    pub last_status: TaskStatus,
    pub desired_status: DesiredStatus,
    pub stop_code: Option<StopCode>,
    pub stopped_reason: Option<StoppedReason>,
    /// ECS mode: the container instance.
    pub host: Option<HostId>,
    /// Fargate mode: the size the slot was provisioned with.
    pub fargate_size: Option<FargateSize>,
    pub containers: Vec<ContainerState>,
    pub overrides: TaskOverrides,
    pub times: TaskTimes,
    /// Images still being pulled for this task.
    pub(crate) images_missing: u16,
    /// The Fargate meter is running.
    pub billing: bool,
    /// Incremented on every state change, as ECS's `version`.
    pub version: u32,
    /// The essential container whose own exit stopped the task (`EssentialContainerExited`).
    #[serde(default)]
    pub stopped_by: Option<u16>,
}

impl Task {
    /// Whether the task has reached RUNNING at some point.
    pub fn ever_ran(&self) -> bool {
        self.times.started_at.is_some()
    }

    /// The task failed: it never started, or the essential container whose exit stopped it
    /// exited non-zero. A job with sidecars (log router, envoy) succeeds when its container
    /// exits 0: the sidecars are then stopped because the task is stopping and exit 143
    /// (SIGTERM) or 137 (SIGKILL), which is not a failure. Tasks stopped by a user or the
    /// service scheduler did not fail.
    pub fn failed(&self, essential: impl Fn(usize) -> bool) -> bool {
        let bad = |c: &ContainerState| c.exit_code.is_some_and(|e| e != 0);
        match self.stop_code {
            Some(StopCode::TaskFailedToStart) => true,
            Some(StopCode::EssentialContainerExited) => match self.stopped_by {
                // Its container must have exited 0; one whose exit is unknown (its host was
                // lost) did not succeed.
                Some(i) => self.containers.get(i as usize).is_some_and(|c| c.exit_code != Some(0)),
                // Every container ended on its own (or an old snapshot): any essential one
                // that exited non-zero makes it a failure.
                None => self.containers.iter().enumerate().any(|(i, c)| essential(i) && bad(c)),
            },
            _ => false,
        }
    }
}
