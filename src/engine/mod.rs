//! The control plane: one owner of all state of one run in one mode.
//!
//! The engine is pure and synchronous. It never waits, sleeps, reads a clock or does I/O; every
//! call says what time it is. That is what lets the same engine run under the simulator (a
//! virtual clock, a month in seconds) and under the Docker runtime (the wall clock, real
//! containers), and later behind `berth serve` (an ECS-compatible API).
//!
//! # The runtime interface
//!
//! A runtime (the simulator in [`crate::sim`], the Docker runtime in `crate::docker`) drives the
//! engine with three calls and one rule:
//!
//! 1. [`Engine::handle`]`(now, command)` applies a [`Command`]: a user command (RunTask,
//!    StopTask, CreateService, UpdateService, DeleteService, RegisterTaskDefinition), a
//!    [`Report`] of what the runtime did (`Command::Report(..)`), or `Command::Tick`. `now` must
//!    never go backwards.
//! 2. The returned [`Output`] holds **events** (observable facts for reports, the live view,
//!    `berth run` output) and **effects** (work for the runtime: provision a slot, pull an image,
//!    start or stop a container, release a slot). The runtime carries out every effect and
//!    answers it with the matching report when it is done: `ProvisionSlot` → `SlotProvisioned`,
//!    `PullImage` → `ImagePulled`, `StartContainer` → `ContainerStarted` (or
//!    `ContainerStartFailed`) and, when the container ends, `ContainerExited`;
//!    `StopContainer`/`KillContainer` → `ContainerExited`; `ReleaseSlot` → `TaskCleanedUp`.
//!    Containers with a health check are answered with `ContainerHealth` as results come in.
//! 3. [`Engine::next_wakeup`] says when the engine's own timers are due (SIGKILL after
//!    `stopTimeout`, `startTimeout` of a dependency, a throttled service retry). The runtime
//!    calls `handle(t, Command::Tick)` at that time (or later).
//!
//! The rule: the runtime never decides anything. Reports about tasks that have moved on are
//! simply ignored, so a runtime never needs to cancel work it already scheduled.
//!
//! State can be saved at any point with [`Engine::snapshot`] (serde) and restored with
//! [`Engine::restore`]; configuration that is not state (the cluster) is passed in again, and
//! the placer's indexes are rebuilt from which task holds which host.
//!
//! Prices are not the engine's business: it emits `BillingStarted`/`BillingStopped` and
//! placement events, and [`crate::report::Accounting`] prices them. (The lead's contract had a
//! prices argument in `Engine::new`; nothing in the engine needed it.)
//!
//! A minimal driver, answering every effect at once:
//!
//! ```
//! # use std::sync::Arc;
//! # use berth::engine::*;
//! # use berth::taskdef::model::{ContainerDefinition, TaskDefinition};
//! # let cluster = berth::cluster::parse_str("c.toml",
//! #     "name = \"c\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"m5.large\"\n",
//! #     &berth::pricing::Catalog::builtin()).unwrap();
//! let mut engine = Engine::new(Arc::new(cluster), Mode::Ecs, 1);
//! let mut td = TaskDefinition::new("web", vec![ContainerDefinition::new("app", "nginx")]);
//! td.cpu_units = Some(256);
//! td.memory_mib = Some(512);
//! engine.register(td);
//! let now = berth::time::SimTime(0);
//! let mut out = engine.handle(now, Command::RunTask(RunTask::new("web", 1))).unwrap();
//! while let Some(effect) = out.effects.pop() {
//!     let report = match effect {
//!         Effect::PullImage { task, host, image } => Report::ImagePulled { task, host, image, error: None },
//!         Effect::StartContainer { task, container, .. } => Report::ContainerStarted { task, container },
//!         _ => continue,
//!     };
//!     let more = engine.handle(now, Command::Report(report)).unwrap();
//!     out.effects.extend(more.effects);
//! }
//! assert_eq!(engine.tasks().next().unwrap().last_status, TaskStatus::Running);
//! ```
//!
//! # What it models
//! - ECS's task lifecycle (PROVISIONING → PENDING → RUNNING → STOPPING → [DEPROVISIONING] →
//!   STOPPED; ACTIVATING and DEACTIVATING exist in [`TaskStatus`] but berth has no activation
//!   steps, no load balancers or service discovery, so tasks pass straight through), desired status, stop codes and stopped reasons in ECS's words, container
//!   states and exit codes, essential containers (an essential exit stops the task: the others
//!   get SIGTERM, SIGKILL after their `stopTimeout`, in reverse `dependsOn` order), `dependsOn`
//!   (START, COMPLETE, SUCCESS, HEALTHY, with `startTimeout`).
//! - ECS mode: placement through [`crate::placement`]; a task that fits nowhere waits in
//!   PROVISIONING in arrival order (FIFO, retried whenever resources are released); images are
//!   pulled once per host and then cached.
//! - Fargate mode: one slot per task, provisioned, pulled (the meter starts), run, released.
//! - The REPLICA service scheduler: desired count, replacements, scale-out/in with AZ balance,
//!   rolling deployments (100 % / 200 %), ECS's throttle for tasks that keep failing to start,
//!   and ECS's service event messages.

mod defs;
mod lifecycle;
pub mod rng;
mod service;
pub(crate) mod table;
mod task;
mod types;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use defs::{ContainerFacts, DefEntry, FargateSlot, Profile, DEFAULT_STOP_TIMEOUT};
pub use service::Service;
pub use task::{ContainerState, Task, TaskTimes};
pub use types::*;

use crate::cluster::{Cluster, HostSpec};
use crate::placement::PlacementRequest;
use crate::placement::Placer;
use crate::time::{SimDuration, SimTime};
use rng::{splitmix64, SeededRng};

/// Knobs that are not part of the cluster file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// How long STOPPED tasks stay visible (ECS keeps them at least an hour). Memory stays
    /// O(live tasks + tasks stopped within this window).
    pub stopped_retention: SimDuration,
    /// Emit `ContainerStateChanged` events (the live view wants them; cost accounting does not).
    pub container_events: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { stopped_retention: SimDuration::from_secs(3600), container_events: true }
    }
}

/// An engine timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Timer {
    Kill { task: TaskId, container: u16 },
    StartTimeout { task: TaskId, container: u16 },
    ServiceRetry { service: ServiceId },
}

/// An image on a host (ECS mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum HostImage {
    Pulling { waiters: Vec<TaskId> },
    Cached,
}

/// Everything that changes during a run (serde).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    mode: Mode,
    seed: u64,
    config: EngineConfig,
    rng: SeededRng,
    defs: Vec<DefEntry>,
    families: BTreeMap<String, Vec<DefId>>,
    images: Vec<String>,
    image_ids: BTreeMap<String, ImageId>,
    profiles: Vec<Profile>,
    tasks: table::TaskTable,
    next_task: u64,
    waiting: VecDeque<TaskId>,
    #[serde(with = "pairs")]
    host_images: BTreeMap<(crate::placement::HostId, ImageId), HostImage>,
    timers: BTreeSet<(SimTime, Timer)>,
    services: Vec<Option<Service>>,
    service_names: BTreeMap<String, ServiceId>,
    dirty_services: BTreeSet<ServiceId>,
    stopped: VecDeque<(SimTime, TaskId)>,
    now: SimTime,
}

/// A saved engine: restore it with [`Engine::restore`] and the same cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    state: State,
}

/// The control plane of one run in one mode.
#[derive(Debug)]
pub struct Engine {
    cluster: Arc<Cluster>,
    /// Placement state. Not saved in snapshots: it is derived from which task holds which
    /// host, and rebuilt from that on restore.
    placer: Placer,
    s: State,
    /// Scratch list of containers to start, reused by every `start_ready` call so the hot path
    /// does not allocate per task. Always empty between calls; not state.
    starts: Vec<(u16, ContainerPlan)>,
}

impl Engine {
    /// A new engine for `cluster` in `mode`. `seed` drives random placement and the task ids.
    pub fn new(cluster: Arc<Cluster>, mode: Mode, seed: u64) -> Engine {
        Engine::with_config(cluster, mode, seed, EngineConfig::default())
    }

    pub fn with_config(
        cluster: Arc<Cluster>,
        mode: Mode,
        seed: u64,
        config: EngineConfig,
    ) -> Engine {
        let placer = Placer::new(&cluster);
        Engine {
            s: State {
                mode,
                seed,
                config,
                rng: SeededRng::new(seed, 0xEC5),
                defs: Vec::new(),
                families: BTreeMap::new(),
                images: Vec::new(),
                image_ids: BTreeMap::new(),
                profiles: Vec::new(),
                tasks: table::TaskTable::default(),
                next_task: 0,
                waiting: VecDeque::new(),
                host_images: BTreeMap::new(),
                timers: BTreeSet::new(),
                services: Vec::new(),
                service_names: BTreeMap::new(),
                dirty_services: BTreeSet::new(),
                stopped: VecDeque::new(),
                now: SimTime::ZERO,
            },
            placer,
            cluster,
            starts: Vec::new(),
        }
    }

    /// Saves the whole state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { state: self.s.clone() }
    }

    /// Restores a saved state; `cluster` must be the cluster the snapshot was taken with.
    pub fn restore(snapshot: Snapshot, cluster: Arc<Cluster>) -> Engine {
        let mut placer = Placer::new(&cluster);
        let s = snapshot.state;
        // Tasks that hold a host (placed, not released yet) take their place again.
        for t in s.tasks.iter() {
            if let (Some(h), false) = (t.host, t.last_status == TaskStatus::Stopped) {
                let req = &s.profiles[t.profile as usize].request;
                if let Err(f) = placer.place_on(h, req) {
                    tracing::warn!(
                        "restore: task {} no longer fits its host: {}",
                        t.id.0,
                        f.explanation
                    );
                }
            }
        }
        Engine { s, placer, cluster, starts: Vec::new() }
    }

    pub fn mode(&self) -> Mode {
        self.s.mode
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Applies one command at `now` and returns what happened.
    pub fn handle(&mut self, now: SimTime, cmd: Command) -> Result<Output, CommandError> {
        let mut out = Output::default();
        self.handle_into(now, cmd, &mut out)?;
        Ok(out)
    }

    /// [`Engine::handle`] into a reused buffer (cleared first): no allocation per call on the
    /// simulator's hot path. On error `out` holds nothing and the state is unchanged.
    pub fn handle_into(
        &mut self,
        now: SimTime,
        cmd: Command,
        out: &mut Output,
    ) -> Result<(), CommandError> {
        out.clear();
        let now = now.max(self.s.now);
        self.s.now = now;
        out.at = now;
        self.purge_stopped(now);
        match cmd {
            Command::RegisterTaskDefinition(def) => {
                self.register(*def);
            }
            Command::RunTask(rt) => self.run_task(now, rt, out)?,
            Command::StopTask { task, reason } => {
                if !self.s.tasks.contains(task) {
                    return Err(CommandError::TaskNotFound(self.task_arn(task)));
                }
                self.stop_task(
                    now,
                    task,
                    StopCode::UserInitiated,
                    StoppedReason::User { reason },
                    out,
                );
            }
            Command::CreateService(cs) => self.create_service(now, cs, out)?,
            Command::UpdateService { name, desired, task_def } => {
                self.update_service(now, &name, desired, task_def, out)?
            }
            Command::DeleteService { name } => self.delete_service(now, &name, out)?,
            Command::SetAgentConnected { host, connected } => {
                self.placer.set_agent_connected(host, connected);
                if connected {
                    self.place_waiting(now, out);
                }
            }
            Command::Tick => self.tick(now, out),
            Command::Report(r) => self.report(now, r, out),
        }
        self.reconcile_dirty_services(now, out);
        Ok(())
    }

    /// When the engine next needs `Command::Tick`, if ever.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        self.s.timers.first().map(|(t, _)| *t)
    }

    /// Registers a task definition and returns its id; the revision is the family's next one
    /// (ECS's RegisterTaskDefinition).
    pub fn register(&mut self, mut def: crate::taskdef::model::TaskDefinition) -> DefId {
        let id = DefId(self.s.defs.len() as u32);
        let revs = self.s.families.entry(def.family.clone()).or_default();
        def.revision = Some(revs.len() as u32 + 1);
        revs.push(id);
        let images = &mut self.s.images;
        let image_ids = &mut self.s.image_ids;
        let containers = defs::container_facts(&def, |name| {
            *image_ids.entry(name.to_string()).or_insert_with(|| {
                images.push(name.to_string());
                ImageId(images.len() as u32 - 1)
            })
        });
        let mut distinct: Vec<ImageId> = Vec::new();
        for c in &containers {
            if !distinct.contains(&c.image) {
                distinct.push(c.image);
            }
        }
        let demand = crate::taskdef::derive::host_demand(&def);
        let fargate = match crate::placement::fargate_fit(&def) {
            Ok(fit) => Ok(FargateSlot {
                size: fit.size,
                asked: Some(fit.asked),
                ephemeral_gib: fit.ephemeral_gib,
                adaptations: fit.adaptations,
            }),
            Err(refusal) => Err(refusal.reasons.join("; ")),
        };
        let main = defs::main_container(&def, &containers);
        let family = def.family.clone();
        self.s.defs.push(DefEntry {
            def,
            containers,
            images: distinct,
            main,
            demand,
            fargate,
            default_profile: 0,
        });
        let p = self.profile_for(
            id,
            format!("family:{family}"),
            self.cluster.ecs.placement_strategy.clone(),
            Vec::new(),
        );
        self.s.defs[id.0 as usize].default_profile = p;
        id
    }

    /// The placement profile for a definition, group, strategy and extra constraints (made once
    /// and reused).
    fn profile_for(
        &mut self,
        def: DefId,
        group: String,
        strategy: Vec<crate::placement::StrategyRule>,
        extra: Vec<crate::placement::ConstraintSpec>,
    ) -> u32 {
        let entry = &self.s.defs[def.0 as usize];
        let mut constraints = defs::def_constraints(&entry.def);
        constraints.extend(extra);
        let request = PlacementRequest {
            demand: entry.demand.clone(),
            group,
            os: entry.def.runtime_platform.os,
            arch: entry.def.runtime_platform.arch,
            constraints,
            strategy,
        };
        if let Some(i) = self.s.profiles.iter().position(|p| p.def == def && p.request == request) {
            return i as u32;
        }
        let never_fits = defs::never_fits(&self.cluster, &request);
        self.s.profiles.push(Profile { def, request, never_fits });
        self.s.profiles.len() as u32 - 1
    }

    /// Resolves `family`, `family:rev` or an id.
    pub fn resolve(&self, r: &TaskDefRef) -> Result<DefId, CommandError> {
        match r {
            TaskDefRef::Id(id) if (id.0 as usize) < self.s.defs.len() => Ok(*id),
            TaskDefRef::Id(id) => Err(CommandError::UnknownTaskDefinition(format!("#{}", id.0))),
            TaskDefRef::Name(name) => {
                let name = name.rsplit('/').next().unwrap_or(name);
                let (family, rev) = match name.split_once(':') {
                    Some((f, r)) => (f, r.parse::<u32>().ok()),
                    None => (name, None),
                };
                let revs = self
                    .s
                    .families
                    .get(family)
                    .ok_or_else(|| CommandError::UnknownTaskDefinition(name.to_string()))?;
                match rev {
                    None => Ok(*revs.last().expect("families have at least one revision")),
                    Some(r) if r >= 1 && (r as usize) <= revs.len() => Ok(revs[r as usize - 1]),
                    Some(_) => Err(CommandError::UnknownTaskDefinition(name.to_string())),
                }
            }
        }
    }

    // ----- read-only views -----

    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.s.tasks.get(id)
    }

    /// A hint that `id` is about to be worked on: starts loading its state into the CPU cache.
    /// Changes nothing.
    pub fn prefetch_task(&self, id: TaskId) {
        self.s.tasks.prefetch(id);
    }

    /// Live tasks and tasks stopped within the retention window, in creation order.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.s.tasks.in_order().into_iter()
    }

    /// Tasks in the table (live, plus stopped ones within the retention window).
    pub fn task_count(&self) -> usize {
        self.s.tasks.len()
    }

    pub fn hosts(&self) -> &[HostSpec] {
        &self.cluster.hosts
    }

    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.s.services.iter().flatten()
    }

    pub fn service(&self, id: ServiceId) -> Option<&Service> {
        self.s.services.get(id.0 as usize).and_then(|s| s.as_ref())
    }

    pub fn service_by_name(&self, name: &str) -> Option<&Service> {
        self.s.service_names.get(name).and_then(|id| self.service(*id))
    }

    pub fn def(&self, id: DefId) -> &DefEntry {
        &self.s.defs[id.0 as usize]
    }

    pub fn defs(&self) -> &[DefEntry] {
        &self.s.defs
    }

    pub fn image(&self, id: ImageId) -> &str {
        &self.s.images[id.0 as usize]
    }

    /// The task group (`family:x` or `service:x`).
    pub fn group_of(&self, task: &Task) -> &str {
        &self.s.profiles[task.profile as usize].request.group
    }

    /// The placement request of a task.
    pub fn placement_request(&self, task: &Task) -> &PlacementRequest {
        &self.s.profiles[task.profile as usize].request
    }

    /// Tasks waiting for capacity (ECS mode), oldest first.
    pub fn waiting(&self) -> usize {
        self.s.waiting.iter().filter(|t| self.s.tasks.contains(**t)).count()
    }

    /// The 32-hex task id ECS shows (derived from the seed and a counter, so stable per run).
    pub fn task_hex(&self, id: TaskId) -> String {
        let a = splitmix64(self.s.seed ^ id.0.wrapping_mul(0x9E37_79B9));
        let b = splitmix64(a ^ id.0);
        format!("{a:016x}{b:016x}")
    }

    /// `arn:aws:ecs:<region>:000000000000:task/<cluster>/<id>`.
    pub fn task_arn(&self, id: TaskId) -> String {
        format!(
            "arn:aws:ecs:{}:000000000000:task/{}/{}",
            self.cluster.region,
            self.cluster.name,
            self.task_hex(id)
        )
    }

    /// `startedBy`: RunTask's value, or the service deployment id for service tasks.
    pub fn started_by(&self, task: &Task) -> Option<String> {
        match task.service.and_then(|s| self.service(s)) {
            Some(s) => Some(s.deployment_id.clone()),
            None => task.started_by.clone(),
        }
    }

    fn purge_stopped(&mut self, now: SimTime) {
        let keep = self.s.config.stopped_retention;
        while let Some(&(at, id)) = self.s.stopped.front() {
            if at + keep > now {
                break;
            }
            self.s.stopped.pop_front();
            self.s.tasks.discard(id);
        }
    }
}

#[cfg(test)]
mod tests;

/// Serialises maps with non-string keys as lists of pairs (JSON object keys must be strings).
pub(crate) mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<
        'de,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    >(
        d: D,
    ) -> Result<BTreeMap<K, V>, D::Error> {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
