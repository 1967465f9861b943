//! The vocabulary of the engine: ids, ECS statuses and stop codes, and the three message kinds
//! that cross its boundary (commands and reports in; events and effects out).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::placement::{ConstraintSpec, FailureReason, HostId, StrategyRule};
use crate::taskdef::fargate::FargateSize;
use crate::taskdef::model::TaskDefinition;
use crate::time::SimDuration;

/// A task, unique for the whole run (never reused, so late reports about a task that is gone
/// are recognised and ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

/// A registered task definition revision (index into the engine's registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DefId(pub u32);

/// A service (index into the engine's service table; never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceId(pub u32);

/// A container image name, interned: effects carry the id, [`super::Engine::image`] gives the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageId(pub u32);

/// Which runtime model the engine schedules for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// ECS on EC2: a fixed pool of hosts, ECS placement, tasks wait for room.
    Ecs,
    /// Fargate: one slot per task, sized to a valid Fargate size.
    Fargate,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Ecs => "ecs",
            Mode::Fargate => "fargate",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ECS's task `lastStatus` values, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ECS's task `desiredStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DesiredStatus {
    Running,
    Stopped,
}

impl DesiredStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DesiredStatus::Running => "RUNNING",
            DesiredStatus::Stopped => "STOPPED",
        }
    }
}

/// ECS's `stopCode` values berth produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

impl StopCode {
    pub fn as_str(self) -> &'static str {
        match self {
            StopCode::TaskFailedToStart => "TaskFailedToStart",
            StopCode::EssentialContainerExited => "EssentialContainerExited",
            StopCode::UserInitiated => "UserInitiated",
            StopCode::ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
        }
    }
}

impl fmt::Display for StopCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a task stopped. Kept structured (no string per task on the hot path) and rendered in
/// ECS's words by `Display` (`Essential container in task exited`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoppedReason {
    /// `Essential container in task exited`.
    EssentialContainerExited,
    /// StopTask: the caller's reason, or ECS's default words.
    User { reason: Option<String> },
    /// Service scale-in or deployment: `Scaling activity initiated by (deployment ecs-svc/...)`.
    Scaling { deployment: String },
    /// Placement can never succeed in this cluster: `TaskFailedToStart: RESOURCE:MEMORY`, ...
    Placement { reason: FailureReason, explanation: String },
    /// Fargate cannot run this task at all.
    FargateRefused { message: String },
    /// An image could not be pulled: `CannotPullContainerError: ...`.
    CannotPull { image: String, error: String },
    /// A container could not be started: `CannotStartContainerError: ...`.
    CannotStart { container: String, error: String },
    /// A `dependsOn` condition can no longer be met, or timed out (`startTimeout`).
    DependencyNotResolved { container: String, dependency: String, detail: String },
    /// The task's network sandbox (`~internal~ecs~pause`) exited: `Essential container in
    /// task exited (~internal~ecs~pause: ...)`.
    SandboxExited { detail: String },
}

impl fmt::Display for StoppedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoppedReason::EssentialContainerExited => {
                f.write_str("Essential container in task exited")
            }
            StoppedReason::User { reason: Some(r) } => f.write_str(r),
            StoppedReason::User { reason: None } => f.write_str("Task stopped by user"),
            StoppedReason::Scaling { deployment } => {
                write!(f, "Scaling activity initiated by (deployment {deployment})")
            }
            StoppedReason::Placement { reason, explanation } => {
                write!(f, "TaskFailedToStart: {}", reason.as_ecs_str())?;
                if !explanation.is_empty() {
                    write!(f, " ({explanation})")?;
                }
                Ok(())
            }
            StoppedReason::FargateRefused { message } => {
                write!(f, "TaskFailedToStart: Fargate cannot run this task: {message}")
            }
            StoppedReason::CannotPull { image, error } => write!(
                f,
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): \
                 failed to resolve ref {image}: {error}"
            ),
            StoppedReason::CannotStart { container, error } => {
                write!(f, "CannotStartContainerError: container {container}: {error}")
            }
            StoppedReason::SandboxExited { detail } => {
                write!(f, "Essential container in task exited (~internal~ecs~pause: {detail})")
            }
            StoppedReason::DependencyNotResolved { container, dependency, detail } => write!(
                f,
                "DependencyNotResolvedError: container {container} did not start: dependency \
                 {dependency} {detail}"
            ),
        }
    }
}

/// A container's state inside a task. ECS shows PENDING, RUNNING and STOPPED; `Starting` and
/// `Stopping` are the moments an effect is out and its report has not come back yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContainerStatus {
    Pending,
    Starting,
    Running,
    Stopping,
    Stopped,
}

impl ContainerStatus {
    /// The word ECS shows in `containers[].lastStatus`.
    pub fn ecs_str(self) -> &'static str {
        match self {
            ContainerStatus::Pending | ContainerStatus::Starting => "PENDING",
            ContainerStatus::Running | ContainerStatus::Stopping => "RUNNING",
            ContainerStatus::Stopped => "STOPPED",
        }
    }

    /// Started at some point and not stopped yet.
    pub fn is_up(self) -> bool {
        matches!(self, ContainerStatus::Running | ContainerStatus::Stopping)
    }
}

/// Container `healthStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    Unknown,
    Healthy,
    Unhealthy,
}

/// berth's own per-task knobs (beyond ECS's overrides): how long the job's container runs and
/// with which exit code. The simulator uses them directly; the Docker runtime passes them to the
/// workload image. `runtime: None` means "until stopped" (services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskOverrides {
    pub runtime: Option<SimDuration>,
    pub exit_code: Option<i32>,
    /// The container the job runs in (its index in the task definition); `None`: the
    /// definition's main container ([`DefEntry::main`]). It must be essential, so that its exit
    /// ends the task; the scenario loader checks that.
    #[serde(default)]
    pub container: Option<u16>,
}

/// Which task definition a command means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskDefRef {
    /// `family` (latest active revision) or `family:revision`, as ECS takes it.
    Name(String),
    /// Already resolved (what a script uses in a hot loop).
    Id(DefId),
}

impl From<&str> for TaskDefRef {
    fn from(s: &str) -> Self {
        TaskDefRef::Name(s.to_string())
    }
}

impl From<DefId> for TaskDefRef {
    fn from(d: DefId) -> Self {
        TaskDefRef::Id(d)
    }
}

/// `RunTask`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTask {
    pub task_def: TaskDefRef,
    pub count: u32,
    /// Task group; default `family:<family>`.
    pub group: Option<String>,
    pub started_by: Option<String>,
    /// Placement strategy for this call; empty means the cluster default (random if none).
    pub strategy: Vec<StrategyRule>,
    /// Added to the task definition's own constraints.
    pub constraints: Vec<ConstraintSpec>,
    pub overrides: TaskOverrides,
}

impl RunTask {
    /// A plain RunTask of `count` tasks of `task_def`, with no overrides.
    pub fn new(task_def: impl Into<TaskDefRef>, count: u32) -> Self {
        RunTask {
            task_def: task_def.into(),
            count,
            group: None,
            started_by: None,
            strategy: Vec::new(),
            constraints: Vec::new(),
            overrides: TaskOverrides::default(),
        }
    }
}

/// `CreateService` (REPLICA scheduling, rolling deployments with minimumHealthyPercent 100 and
/// maximumPercent 200, ECS's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateService {
    pub name: String,
    pub task_def: TaskDefRef,
    pub desired: u32,
    /// Empty: ECS's service default, spread over `attribute:ecs.availability-zone` then over
    /// instances.
    pub strategy: Vec<StrategyRule>,
    pub constraints: Vec<ConstraintSpec>,
}

/// Everything a runtime or a user can tell the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    RegisterTaskDefinition(Box<TaskDefinition>),
    RunTask(RunTask),
    StopTask {
        task: TaskId,
        reason: Option<String>,
    },
    CreateService(CreateService),
    UpdateService {
        name: String,
        desired: Option<u32>,
        task_def: Option<TaskDefRef>,
    },
    /// Scales the service to zero and removes it once its tasks are gone.
    DeleteService {
        name: String,
    },
    /// The host's agent (for berth: its Docker engine) lost or regained its connection. A
    /// disconnected host takes no new tasks (placement fails with `AGENT` there); its tasks
    /// keep their last known state, as on ECS. On reconnection, waiting tasks are placed again.
    SetAgentConnected {
        host: crate::placement::HostId,
        connected: bool,
    },
    /// The engine's own timers are due (see [`super::Engine::next_wakeup`]).
    Tick,
    /// What the runtime did with an effect.
    Report(Report),
}

/// Reports from the runtime: what really happened to what the engine asked for. Reports about
/// tasks or containers that have moved on are ignored, so a runtime never has to cancel work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Report {
    /// Fargate: the task's slot exists (after `ProvisionSlot`).
    SlotProvisioned {
        task: TaskId,
    },
    /// An image pull finished (after `PullImage`). `host` echoes the effect's host.
    ImagePulled {
        task: TaskId,
        host: Option<HostId>,
        image: ImageId,
        error: Option<String>,
    },
    ContainerStarted {
        task: TaskId,
        container: u16,
    },
    /// The runtime could not create or start the container.
    ContainerStartFailed {
        task: TaskId,
        container: u16,
        error: String,
    },
    ContainerHealth {
        task: TaskId,
        container: u16,
        healthy: bool,
    },
    ContainerExited {
        task: TaskId,
        container: u16,
        exit_code: i32,
        oom: bool,
    },
    /// Fargate: the slot is gone (after `ReleaseSlot`); the task becomes STOPPED.
    TaskCleanedUp {
        task: TaskId,
    },
    /// The container that owns the task's network namespace (the agent's
    /// `~internal~ecs~pause`, berth's sandbox) stopped while the task was meant to run: it was
    /// killed or removed from outside. The agent marks that container essential, so the task
    /// stops as when an essential container exits; `detail` says what was seen.
    SandboxExited {
        task: TaskId,
        detail: String,
    },
    /// The runtime lost sight of a container for good: the Docker engine it ran on stopped
    /// answering and did not come back before the run ended. Its exit is unknown, so the
    /// container becomes STOPPED with no exit code (never a made-up one) and `detail`, what was
    /// seen, as its reason.
    ContainerLost {
        task: TaskId,
        container: u16,
        detail: String,
    },
}

/// How the main container of a task should behave, for runtimes that play a workload (the
/// simulator; the Docker runtime's workload image).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPlan {
    /// Exit on its own after this long (from its start); `None` = run until stopped.
    pub run_for: Option<SimDuration>,
    pub exit_code: i32,
    /// Whether the container has a health check whose result the engine waits for.
    pub has_health_check: bool,
}

/// What the runtime must do. Every effect is answered by at most one [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Fargate: create the task's sandbox of `size`; answer `SlotProvisioned`.
    ProvisionSlot { task: TaskId, size: FargateSize },
    /// Pull `image` onto `host` (ECS mode; once per host and image) or into the task's slot
    /// (Fargate, `host: None`); answer `ImagePulled`.
    PullImage { task: TaskId, host: Option<HostId>, image: ImageId },
    /// Create and start container `container` (index in the task definition); answer
    /// `ContainerStarted` (or `ContainerStartFailed`), later `ContainerExited`.
    StartContainer { task: TaskId, container: u16, plan: ContainerPlan },
    /// `docker stop`: SIGTERM, SIGKILL after `timeout`; answer `ContainerExited`.
    StopContainer { task: TaskId, container: u16, timeout: SimDuration },
    /// The stop timeout passed: SIGKILL now; answer `ContainerExited` (137).
    KillContainer { task: TaskId, container: u16 },
    /// Fargate: tear down the slot; answer `TaskCleanedUp`.
    ReleaseSlot { task: TaskId },
}

/// Observable facts, in order, all at the `at` of the [`super::Output`] they come in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// `lastStatus` or `desiredStatus` changed. On STOPPED the task's `stop_code` and
    /// `stopped_reason` are set.
    TaskStateChanged {
        task: TaskId,
        last: TaskStatus,
        desired: DesiredStatus,
    },
    ContainerStateChanged {
        task: TaskId,
        container: u16,
        status: ContainerStatus,
    },
    TaskPlaced {
        task: TaskId,
        host: HostId,
    },
    /// The task did not fit now and waits in PROVISIONING (ECS mode).
    PlacementFailed {
        task: TaskId,
        reason: FailureReason,
        explanation: String,
    },
    /// ECS mode: the task's cpu/memory/ports are free again on its host.
    ResourcesReleased {
        task: TaskId,
        host: HostId,
    },
    /// Fargate meter starts (image pull starts).
    BillingStarted {
        task: TaskId,
    },
    /// Fargate meter stops (the last container stopped).
    BillingStopped {
        task: TaskId,
    },
    /// ECS's service event messages, word for word.
    ServiceEvent {
        service: ServiceId,
        message: String,
    },
}

/// What one call to [`super::Engine::handle`] produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub at: crate::time::SimTime,
    pub events: Vec<Event>,
    pub effects: Vec<Effect>,
    /// Tasks created by this command (RunTask's `tasks[]`).
    pub created: Vec<TaskId>,
}

impl Output {
    pub fn clear(&mut self) {
        self.events.clear();
        self.effects.clear();
        self.created.clear();
    }
}

/// A command the engine refused; its state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CommandError {
    #[error("Unable to describe task definition: {0}")]
    UnknownTaskDefinition(String),
    #[error("ServiceNotFoundException: Service not found: {0}")]
    ServiceNotFound(String),
    #[error("InvalidParameterException: Creation of service was not idempotent: service {0} already exists")]
    ServiceExists(String),
    #[error("InvalidParameterException: {0}")]
    InvalidParameter(String),
    #[error("InvalidParameterException: The referenced task was not found: {0}")]
    TaskNotFound(String),
}
