//! The Docker runtime: drives the same [`Engine`] the simulator drives, with real containers.
//!
//! The engine decides everything (placement, the task state machine, services); this loop only
//! carries out its [`Effect`]s through [`DockerClient`] and feeds back [`Report`]s of what really
//! happened, exactly as the engine contract asks (see `src/engine/mod.rs`). Time is the wall
//! clock scaled: scenario time = elapsed wall time × `time_scale`, so a task that runs for ten
//! scenario minutes runs for ten seconds at `--time-scale 60`.
//!
//! One loop per mode. Each loop owns its engine and a table of Docker ids; effects run as
//! spawned tokio tasks (Docker calls take 5–250 ms and many can be in flight) that answer over
//! one channel. Nothing in a spawned task touches the engine.
//!
//! Effects, for real:
//! - `PullImage`: berth never pulls. The image must be present in the engine that runs the task;
//!   if it is not, the report carries the error and the engine stops the task with
//!   `CannotPullContainerError`. With `stand_in`, the workload image stands in: it runs for the
//!   task's runtime and uses the CPU and memory the container reserves.
//! - `ProvisionSlot` (Fargate), and the first container of an `awsvpc` task in ECS mode: a
//!   sandbox container (the agent's `~internal~ecs~pause`) that owns the task's network
//!   namespace and publishes its ports; the task's containers join it.
//! - `StartContainer`: create + start with labels, agent-style name and limits
//!   ([`super::spec`]); a waiter reports the exit (exit code, OOM), a poller reports health.
//! - `StopContainer`/`KillContainer`: `docker stop` with the (scaled) timeout / SIGKILL; the
//!   waiter reports the exit.
//! - `ReleaseSlot`: removes the task's containers and sandbox, then `TaskCleanedUp`.
//!
//! When a task reaches STOPPED its containers are removed (the ECS agent keeps them for three
//! hours; a demo wants `docker ps` to show what runs). At the end, or on Ctrl-C, the loop stops
//! every task through the engine (so the state sequence stays ECS's), waits a bounded time,
//! then removes everything labelled with the run id: containers, sandboxes, networks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, OnceCell};

use super::labels::{self, TaskPlacement};
use super::script::Director;
use super::spec::{self, Attach, ContainerContext, StandIn};
use super::timing::{Key, Planned, Timing};
use super::usage::{CgroupProbe, Sample, UsageStats};
use super::{cleanup, DockerClient};
use crate::engine::{
    Command, ContainerPlan, DesiredStatus, Effect, Engine, Event, Mode, Output, Report, TaskId,
    TaskStatus,
};
use crate::placement::HostId;
use crate::report::overhead::{ClockTotals, OpKind, OverheadSample};
use crate::taskdef::model::{NetworkMode, TaskDefinition};
use crate::time::{SimDuration, SimTime};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Labels every object: `io.berth.run`.
    pub run_id: String,
    /// Scenario seconds per wall second.
    pub time_scale: f64,
    /// Use the workload image for images that are not present locally.
    pub stand_in: bool,
    /// Stop everything at this scenario time; `None`: when the script is done and every task
    /// has stopped.
    pub until: Option<SimTime>,
    /// How often running containers are sampled (wall time).
    pub sample_every: Duration,
    /// How long (wall) a graceful shutdown may take before containers are removed by force.
    pub shutdown_grace: Duration,
    /// Turns true when the user asks a shutdown to hurry (a second Ctrl-C, SIGTERM or
    /// SIGHUP): every container still running is killed (SIGKILL) instead of waiting for its
    /// `stopTimeout`. The cleanup itself is never skipped.
    pub force: Option<watch::Receiver<bool>>,
}

impl RuntimeConfig {
    pub fn new(run_id: impl Into<String>, time_scale: f64) -> Self {
        RuntimeConfig {
            run_id: run_id.into(),
            time_scale,
            stand_in: false,
            until: None,
            sample_every: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(20),
            force: None,
        }
    }

    /// Wall time for scenario duration `d`; saturates (at about 136 years) instead of
    /// panicking on a tiny scale.
    fn wall(&self, d: SimDuration) -> Duration {
        Duration::try_from_secs_f64(d.as_secs_f64() / self.time_scale)
            .unwrap_or(Duration::from_secs(u64::from(u32::MAX)))
    }
}

/// The Docker engines of a run: the default one (Fargate slots, hosts without `docker = ...`)
/// and one per endpoint a host group names.
#[derive(Debug, Clone)]
pub struct Engines {
    pub default: DockerClient,
    pub by_endpoint: BTreeMap<String, DockerClient>,
}

impl Engines {
    /// Connects to the default engine and every endpoint the cluster's hosts name.
    pub async fn connect(
        default: Option<&str>,
        cluster: &crate::cluster::Cluster,
    ) -> Result<Engines, super::ConnectError> {
        let default = super::connect(default).await?;
        let mut by_endpoint = BTreeMap::new();
        for ep in cluster.hosts.iter().filter_map(|h| h.docker.as_deref()) {
            if ep != default.endpoint() && !by_endpoint.contains_key(ep) {
                by_endpoint.insert(ep.to_string(), super::connect(Some(ep)).await?);
            }
        }
        Ok(Engines { default, by_endpoint })
    }

    /// Every distinct engine, default first.
    pub fn all(&self) -> Vec<DockerClient> {
        std::iter::once(self.default.clone()).chain(self.by_endpoint.values().cloned()).collect()
    }

    fn for_endpoint(&self, ep: Option<&str>) -> DockerClient {
        ep.and_then(|e| self.by_endpoint.get(e)).cloned().unwrap_or_else(|| self.default.clone())
    }
}

/// One scenario command at its scenario time (see [`super::script::StaticScript`]).
pub type Script = Vec<(SimTime, Command)>;

/// Measured usage of one container.
#[derive(Debug, Clone)]
pub struct MeasuredContainer {
    pub task: TaskId,
    pub container: u16,
    pub family: String,
    pub host: Option<HostId>,
    pub stats: UsageStats,
}

/// What the runtime shows its observer (live output, accounting).
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// Everything one engine call produced.
    Output(&'a Output),
    /// A container's ports, published to free local ports: `("80/tcp", 49153)`.
    Ports { task: TaskId, container: u16, ports: &'a [(String, u16)] },
    /// The run was interrupted (the shutdown signal) at scenario time `at`, before the
    /// scenario's end: what follows is berth stopping everything, not part of the scenario,
    /// and the bill ends at `at`.
    Interrupted { at: SimTime },
}

/// The highest concurrent use seen in one sampling round: the whole run, and per ECS host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Peaks {
    pub total_vcpu: f64,
    pub total_memory_bytes: u64,
    pub per_host: BTreeMap<HostId, (f64, u64)>,
    /// Sampling rounds that saw at least one running container.
    pub rounds: u64,
    /// Use over scenario time, for the utilisation chart: per host, per time bucket (the
    /// report's [`crate::report::series::BUCKETS`]), the sums of vCPU and memory bytes over
    /// the bucket's rounds; averages are `sum / rounds_per_bucket`.
    pub used: BTreeMap<HostId, Vec<(f64, f64)>>,
    pub rounds_per_bucket: Vec<u32>,
    /// Scenario milliseconds per bucket (0: no series kept, the run has no end).
    pub bucket_ms: u64,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    pub engine: Engine,
    /// Every event with its scenario time, in order.
    pub events: Vec<(SimTime, Event)>,
    /// Images the workload image stood in for: image → families.
    pub stood_in: BTreeMap<String, BTreeSet<String>>,
    pub measured: Vec<MeasuredContainer>,
    pub peaks: Peaks,
    /// Ctrl-C ended the run early.
    pub interrupted: bool,
    /// When the interrupt came, in scenario time, if it came before the scenario's end.
    pub interrupted_at: Option<SimTime>,
    /// Scenario time when the run ended.
    pub ended_at: SimTime,
    /// Commands of the script the engine refused, and Docker errors worth showing.
    pub errors: Vec<String>,
    /// Real Docker latency, measured per operation (not billed: see [`super::timing`]).
    pub overhead: Vec<OverheadSample>,
    /// The scenario clock's wall time, and how long it waited for Docker.
    pub clock: ClockTotals,
    /// Engines that did not answer when the run removed its objects at the end: what the run
    /// created there may still exist.
    pub unreachable: Vec<String>,
}

/// Messages from effect tasks to the loop.
enum Msg {
    Report(Report),
    /// A container exists (for stop/kill/removal), with its main process id (for sampling).
    Created {
        task: TaskId,
        container: u16,
        id: String,
        client: DockerClient,
    },
    Running {
        task: TaskId,
        container: u16,
        pid: Option<i64>,
    },
    Sample {
        task: TaskId,
        container: u16,
        at_s: f64,
        sample: Sample,
    },
    Ports {
        task: TaskId,
        container: u16,
        ports: Vec<(String, u16)>,
    },
    /// A task's sandbox stopped (its waiter returned): `id` is the sandbox, `what` how it
    /// ended, in words.
    SandboxExited {
        task: TaskId,
        id: String,
        what: String,
    },
    /// Whether an engine answered `/_ping` (the periodic check, or a waiter that lost its
    /// container).
    Ping {
        endpoint: String,
        error: Option<String>,
    },
    /// A container's waiter lost its engine; its exit is unknown for now.
    Lost {
        task: TaskId,
        container: u16,
    },
    Error(String),
    Done,
}

/// State shared with effect tasks.
struct Shared {
    cfg: RuntimeConfig,
    engines: Engines,
    mode: Mode,
    cluster: String,
    /// (endpoint, image) pairs that are stood in for.
    stood_in: Mutex<BTreeSet<(String, String)>>,
    /// The network each ECS host's bridge-mode tasks use, per host; the Fargate network.
    networks: Mutex<HashMap<Option<HostId>, Arc<OnceCell<String>>>>,
    tx: mpsc::UnboundedSender<Msg>,
}

/// Everything an effect task needs to know about its task (copied out of the engine).
#[derive(Clone)]
struct TaskInfo {
    id: TaskId,
    arn: String,
    def: Arc<TaskDefinition>,
    host: Option<HostId>,
    host_name: String,
    client: DockerClient,
    /// Fargate size applied as the task-level limit.
    size: Option<(u32, u32)>,
    sandbox: Arc<OnceCell<String>>,
}

impl TaskInfo {
    fn placement<'a>(&'a self, shared: &'a Shared) -> TaskPlacement<'a> {
        TaskPlacement {
            run: &shared.cfg.run_id,
            cluster: &shared.cluster,
            host: &self.host_name,
            mode: shared.mode.as_str(),
            task_arn: &self.arn,
            family: &self.def.family,
            revision: self.def.revision.unwrap_or(1),
        }
    }
}

/// Per-container bookkeeping of the loop.
struct Live {
    id: String,
    client: DockerClient,
    probe: Option<CgroupProbe>,
    sampling_via_api: bool,
    running: bool,
    /// When Docker reported it running (wall).
    running_since: Option<Instant>,
    /// Its waiter lost the engine: the exit is unknown until the engine answers again.
    lost: bool,
}

/// Runs `script` on `engine` with real containers until it is done, `cfg.until`, or
/// `shutdown` turns true (Ctrl-C). `on_output` sees every engine output as it happens (live
/// output, cost accounting).
pub async fn run(
    mut engine: Engine,
    director: &mut impl Director,
    engines: Engines,
    cfg: RuntimeConfig,
    mut shutdown: watch::Receiver<bool>,
    mut on_output: impl FnMut(Seen<'_>, &Engine),
) -> anyhow::Result<RunResult> {
    anyhow::ensure!(
        cfg.time_scale > 0.0 && cfg.time_scale.is_finite(),
        "--time-scale must be a positive number"
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        engines,
        mode: engine.mode(),
        cluster: engine.cluster().name.clone(),
        stood_in: Mutex::new(BTreeSet::new()),
        networks: Mutex::new(HashMap::new()),
        tx,
    });
    let mut lp = Loop {
        shared: shared.clone(),
        forced: false,
        down: BTreeSet::new(),
        stopping: false,
        pinging: BTreeSet::new(),
        live: HashMap::new(),
        pending_stop: HashMap::new(),
        sandboxes: HashMap::new(),
        events: Vec::new(),
        errors: Vec::new(),
        measured: BTreeMap::new(),
        peaks: Peaks {
            bucket_ms: cfg
                .until
                .map(|u| u.0.div_ceil(crate::report::series::BUCKETS as u64).max(1))
                .unwrap_or(0),
            ..Peaks::default()
        },
        hosts: HashMap::new(),
        inflight: 0,
        timing: Timing::new(cfg.time_scale),
        plans: HashMap::new(),
    };
    let mut interrupted = *shutdown.borrow();
    let mut interrupted_at: Option<SimTime> = None;
    let mut stopping_since: Option<Instant> = None;
    let mut scenario_totals = None;
    let mut force = cfg.force.clone();
    let mut sampler = tokio::time::interval(cfg.sample_every);
    sampler.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    loop {
        // Scenario time moves with wall time, but never past the next command, timer or
        // answer the engine is due (see `super::timing`).
        let now = lp.advance(director, &engine, cfg.until);
        lp.hand_over_due(&mut engine, director, &mut on_output);
        // Due scenario commands (not after a shutdown began).
        while stopping_since.is_none() {
            let Some((tag, cmd)) = director.next_due(now) else { break };
            match engine.handle(now, cmd) {
                Ok(out) => {
                    director.on_output(Some(tag), &out, &engine);
                    lp.apply(&mut engine, out, &mut on_output);
                }
                Err(e) => lp.errors.push(format!("at {now}: {e}")),
            }
        }
        if engine.next_wakeup().is_some_and(|w| w <= now) {
            if let Ok(out) = engine.handle(now, Command::Tick) {
                director.on_output(None, &out, &engine);
                lp.apply(&mut engine, out, &mut on_output);
            }
        }
        let until_reached = cfg.until.is_some_and(|u| now >= u);
        if stopping_since.is_none() && (interrupted || until_reached) {
            stopping_since = Some(Instant::now());
            // The overhead figures describe the scenario, not berth's shutdown after it.
            scenario_totals = Some(lp.timing.totals(lp.timing.clock.start.elapsed()));
            if interrupted && !until_reached {
                interrupted_at = Some(now);
                on_output(Seen::Interrupted { at: now }, &engine);
            }
            director.clear();
            lp.stopping = true;
            // What runs on an engine that no longer answers can be neither stopped nor seen.
            lp.give_up_on_down_engines(&mut engine, director, &mut on_output);
            lp.stop_everything(&mut engine, &mut on_output);
        }
        let all_stopped = engine.tasks().all(|t| t.last_status == TaskStatus::Stopped);
        let services_idle = engine.services().all(|s| s.desired == 0);
        if director.next_at().is_none()
            && all_stopped
            && lp.inflight == 0
            && (services_idle || stopping_since.is_some())
        {
            break;
        }
        // Once forced, give the kills a moment to be reported, then remove by label.
        let grace =
            if lp.forced { cfg.shutdown_grace.min(FORCED_GRACE) } else { cfg.shutdown_grace };
        if stopping_since.is_some_and(|s| s.elapsed() > grace) {
            lp.errors
                .push("graceful shutdown took too long; removing the remaining containers".into());
            break;
        }
        // Services run until stopped: without `until` only Ctrl-C ends such a run.

        let mut next: Option<SimTime> = director.next_at();
        for w in [engine.next_wakeup(), cfg.until].into_iter().flatten() {
            next = Some(next.map_or(w, |n| n.min(w)));
        }
        let deadline = next
            .map(|t| lp.timing.clock.wall_at(t))
            .into_iter()
            .chain(lp.timing.next_wake())
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            msg = rx.recv() => {
                if let Some(msg) = msg {
                    lp.advance(director, &engine, cfg.until);
                    lp.on_msg(&mut engine, msg, director, &mut on_output);
                    // Drain what else is ready, so bursts of reports cost one loop turn.
                    while let Ok(msg) = rx.try_recv() {
                        lp.on_msg(&mut engine, msg, director, &mut on_output);
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {}
            _ = sampler.tick() => {
                lp.sample();
                lp.ping_engines();
            }
            changed = shutdown.changed(), if !interrupted => {
                if changed.is_err() || *shutdown.borrow() {
                    interrupted = true;
                }
            }
            changed = async { force.as_mut().expect("guarded").changed().await }, if force.is_some() && !lp.forced => {
                match changed {
                    Ok(()) if *force.as_ref().expect("guarded").borrow() => {
                        interrupted = true;
                        lp.hurry();
                    }
                    Ok(()) => {}
                    Err(_) => force = None,
                }
            }
        }
    }

    let ended_at = lp.now();
    let clock_totals =
        scenario_totals.unwrap_or_else(|| lp.timing.totals(lp.timing.clock.start.elapsed()));
    let mut unreachable = Vec::new();
    // Remove everything of this run in every engine (containers first, then networks).
    for client in shared.engines.all() {
        if super::connect::ping_client(&client).await.is_err() {
            tracing::warn!(endpoint = client.endpoint(), "engine gone at the end of the run");
            unreachable.push(client.endpoint().to_string());
            continue;
        }
        match cleanup::find(&client, Some(&cfg.run_id), false).await {
            Ok(found) => {
                // Only this mode's containers: the other mode of `--mode both` may still run.
                let found = cleanup::Leftovers {
                    containers: found.containers,
                    networks: found
                        .networks
                        .into_iter()
                        .filter(|n| n.name.contains(&format!("-{}", shared.mode.as_str())))
                        .collect(),
                    images: Vec::new(),
                };
                let mine = mode_containers(&client, &cfg.run_id, shared.mode).await;
                let found = cleanup::Leftovers {
                    containers: found
                        .containers
                        .into_iter()
                        .filter(|c| mine.contains(&c.id))
                        .collect(),
                    ..found
                };
                for e in cleanup::remove(&client, &found).await {
                    lp.errors.push(format!("cleanup: {e}"));
                }
            }
            Err(e) => lp.errors.push(format!("cleanup on {}: {e}", client.endpoint())),
        }
    }
    let stood_in = {
        let set = shared.stood_in.lock().expect("stand-in lock");
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (_, image) in set.iter() {
            let families = engine
                .defs()
                .iter()
                .filter(|d| d.def.containers.iter().any(|c| &c.image == image))
                .map(|d| d.def.family.clone())
                .collect();
            out.insert(image.clone(), families);
        }
        out
    };
    let measured = lp
        .measured
        .into_iter()
        .filter(|(_, s)| s.samples > 0)
        .map(|((task, container), stats)| {
            let t = engine.task(task);
            MeasuredContainer {
                task,
                container,
                family: t.map(|t| engine.def(t.def).def.family.clone()).unwrap_or_default(),
                host: t.and_then(|t| t.host),
                stats,
            }
        })
        .collect();
    Ok(RunResult {
        engine,
        events: lp.events,
        stood_in,
        measured,
        peaks: lp.peaks,
        interrupted,
        interrupted_at,
        ended_at,
        errors: lp.errors,
        overhead: lp.timing.samples,
        clock: clock_totals,
        unreachable,
    })
}

/// Ids of the run's containers that belong to `mode`.
async fn mode_containers(client: &DockerClient, run: &str, mode: Mode) -> BTreeSet<String> {
    let mut filters = labels::managed_filter(Some(run));
    filters.get_mut("label").expect("label filter").push(format!(
        "{}={}",
        labels::MODE,
        mode.as_str()
    ));
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    client
        .raw()
        .list_containers(Some(opts))
        .await
        .map(|v| v.into_iter().filter_map(|c| c.id).collect())
        .unwrap_or_default()
}

/// How long a forced shutdown waits for the kills to be reported before it removes the
/// remaining containers by label.
const FORCED_GRACE: Duration = Duration::from_secs(5);

struct Loop {
    shared: Arc<Shared>,
    /// Engines that stopped answering (their hosts' agents are disconnected).
    down: BTreeSet<String>,
    /// The run is ending (berth stops everything): an engine that goes away now is not
    /// waited for.
    stopping: bool,
    /// Engines with a ping in flight.
    pinging: BTreeSet<String>,
    /// A forced shutdown: stops are kills from now on.
    forced: bool,
    live: HashMap<(TaskId, u16), Live>,
    /// Stops asked for before the container existed: (timeout, kill).
    pending_stop: HashMap<(TaskId, u16), (Duration, bool)>,
    sandboxes: HashMap<TaskId, Arc<OnceCell<String>>>,
    events: Vec<(SimTime, Event)>,
    errors: Vec<String>,
    measured: BTreeMap<(TaskId, u16), UsageStats>,
    peaks: Peaks,
    /// Each live container's ECS host (for per-host peaks).
    hosts: HashMap<TaskId, HostId>,
    inflight: usize,
    /// The scenario clock and the answers the engine is due (modelled latencies).
    timing: Timing,
    /// Each started container's plan (runtime, exit code), for its planned exit.
    plans: HashMap<(TaskId, u16), ContainerPlan>,
}

impl Loop {
    /// Scenario time now (monotonic, as the engine requires).
    fn now(&self) -> SimTime {
        self.timing.clock.now()
    }

    /// Moves the scenario clock on, up to the next thing due: a script command, an engine
    /// timer, the end, or an answer of Docker's (which it waits for if Docker is late).
    fn advance(
        &mut self,
        director: &impl Director,
        engine: &Engine,
        until: Option<SimTime>,
    ) -> SimTime {
        // The end is a cap until it is reached; after it (berth stopping everything) the clock
        // runs on, held only by the stops' answers.
        let until = until.filter(|u| *u > self.now());
        let cap = [director.next_at(), engine.next_wakeup(), until, self.timing.cap()]
            .into_iter()
            .flatten()
            .min();
        self.timing.clock.advance(cap)
    }

    /// Hands the engine every answer due now, and ends containers whose runtime is up.
    fn hand_over_due(
        &mut self,
        engine: &mut Engine,
        director: &mut impl Director,
        on_output: &mut impl FnMut(Seen<'_>, &Engine),
    ) {
        loop {
            let due = self.timing.due();
            for (task, container) in due.end {
                // The scenario's runtime is up: stop it; its exit is reported with the
                // scenario's exit code.
                let timeout = self.stop_timeout(engine, task, container);
                self.stop(task, container, timeout, false);
            }
            if due.reports.is_empty() {
                return;
            }
            for r in due.reports {
                self.hand_over(engine, r, director, on_output);
            }
        }
    }

    /// One report to the engine, now; a start brings its container's next answers.
    fn hand_over(
        &mut self,
        engine: &mut Engine,
        r: Report,
        director: &mut impl Director,
        on_output: &mut impl FnMut(Seen<'_>, &Engine),
    ) {
        self.timing.delivered(&r);
        let started = match r {
            Report::ContainerStarted { task, container } => Some((task, container)),
            _ => None,
        };
        let now = self.now();
        match engine.handle(now, Command::Report(r)) {
            Ok(out) => {
                director.on_output(None, &out, engine);
                self.apply(engine, out, on_output)
            }
            Err(e) => self.errors.push(format!("engine refused a report: {e}")),
        }
        if let Some((task, container)) = started {
            for r in self.container_started(engine, task, container) {
                if let Some(r) = self.timing.arrived(r) {
                    self.hand_over(engine, r, director, on_output);
                }
            }
        }
    }

    /// A container's start was handed over: when its health check passes and when its
    /// scenario runtime ends, as the simulator has them.
    fn container_started(&mut self, engine: &Engine, task: TaskId, container: u16) -> Vec<Report> {
        let Some(plan) = self.plans.remove(&(task, container)) else { return Vec::new() };
        let cd = engine
            .task(task)
            .and_then(|t| engine.def(t.def).def.containers.get(usize::from(container)).cloned());
        // The first passing health check is awaited only where a container waits for it
        // (`dependsOn` HEALTHY): Docker runs checks in wall time (an `interval` of 10 s is 10
        // real seconds), and nothing else in the engine depends on a pass.
        let awaited = engine.task(task).is_some_and(|t| {
            let def = &engine.def(t.def).def;
            let name = &def.containers[usize::from(container)].name;
            def.containers.iter().flat_map(|c| c.depends_on.iter()).any(|d| {
                &d.container_name == name
                    && d.condition == crate::taskdef::model::DependencyCondition::Healthy
            })
        });
        let health = cd
            .as_ref()
            .filter(|_| plan.has_health_check && awaited)
            .and_then(|c| c.health_check.as_ref())
            .map(|h| SimDuration::from_secs(u64::from(h.interval_s)));
        let live = self.live.get(&(task, container));
        let stand_in = match (&cd, live) {
            (Some(cd), Some(l)) => self
                .shared
                .stood_in
                .lock()
                .expect("stand-in lock")
                .contains(&(l.client.endpoint().to_string(), cd.image.clone())),
            _ => false,
        };
        let planned = plan.run_for.filter(|d| *d > SimDuration::ZERO).map(|run_for| {
            let p = Planned {
                exit_code: plan.exit_code,
                stand_in,
                wall_s: self.shared.cfg.wall(run_for).as_secs_f64(),
                running_since: live.and_then(|l| l.running_since).unwrap_or_else(Instant::now),
                ending: false,
            };
            (run_for, p)
        });
        self.timing.started(task, container, health, planned)
    }

    /// The container's `stopTimeout` (ECS's default 30 s), in wall time, at least 1 s.
    fn stop_timeout(&self, engine: &Engine, task: TaskId, container: u16) -> Duration {
        let secs = engine
            .task(task)
            .and_then(|t| engine.def(t.def).def.containers.get(usize::from(container)))
            .and_then(|c| c.stop_timeout_s)
            .unwrap_or(30);
        self.shared.cfg.wall(SimDuration::from_secs(u64::from(secs))).max(Duration::from_secs(1))
    }

    fn apply(
        &mut self,
        engine: &mut Engine,
        out: Output,
        on_output: &mut impl FnMut(Seen<'_>, &Engine),
    ) {
        on_output(Seen::Output(&out), engine);
        for ev in &out.events {
            if let Event::TaskStateChanged { task, last: TaskStatus::Stopped, .. } = ev {
                self.remove_task(*task);
            }
        }
        self.events.extend(out.events.into_iter().map(|e| (out.at, e)));
        for eff in out.effects {
            self.effect(engine, eff);
        }
    }

    fn on_msg(
        &mut self,
        engine: &mut Engine,
        msg: Msg,
        director: &mut impl Director,
        on_output: &mut impl FnMut(Seen<'_>, &Engine),
    ) {
        match msg {
            Msg::Report(r) => {
                if let Report::ContainerExited { task, container, .. } = &r {
                    if let Some(l) = self.live.get_mut(&(*task, *container)) {
                        l.running = false;
                    }
                }
                // Answers wait for their modelled time; anything else is news now.
                if let Some(r) = self.timing.arrived(r) {
                    self.hand_over(engine, r, director, on_output);
                }
            }
            Msg::Created { task, container, id, client } => {
                let key = (task, container);
                if let Some((timeout, kill)) = self.pending_stop.remove(&key) {
                    spawn_stop(&self.shared, client.clone(), id.clone(), timeout, kill);
                }
                self.live.insert(
                    key,
                    Live {
                        id,
                        client,
                        probe: None,
                        sampling_via_api: false,
                        running: false,
                        running_since: None,
                        lost: false,
                    },
                );
            }
            Msg::Running { task, container, pid } => {
                if let Some(l) = self.live.get_mut(&(task, container)) {
                    l.running = true;
                    l.running_since = Some(Instant::now());
                    l.probe = pid.and_then(|p| CgroupProbe::for_container(p, &l.id));
                    // Sample at once, so even a short container has a first reading.
                    if let Some(s) = l.probe.as_ref().and_then(|p| p.read().ok()) {
                        let at = self.timing.clock.start.elapsed().as_secs_f64();
                        self.measured.entry((task, container)).or_default().add(at, s);
                    }
                }
            }
            Msg::Sample { task, container, at_s, sample } => {
                if let Some(l) = self.live.get_mut(&(task, container)) {
                    l.sampling_via_api = false;
                }
                self.measured.entry((task, container)).or_default().add(at_s, sample);
            }
            Msg::Ports { task, container, ports } => {
                on_output(Seen::Ports { task, container, ports: &ports }, engine);
            }
            Msg::SandboxExited { task, id, what } => {
                let still_ours = self
                    .sandboxes
                    .get(&task)
                    .and_then(|c| c.get())
                    .is_some_and(|known| *known == id);
                if !still_ours {
                    return;
                }
                let name = engine.task_arn(task);
                tracing::warn!(task = %name, sandbox = %id, "sandbox {what}");
                let detail = format!(
                    "the task's network sandbox {} {what}; it was stopped or removed outside berth",
                    &id[..id.len().min(12)]
                );
                let now = self.now();
                match engine.handle(now, Command::Report(Report::SandboxExited { task, detail })) {
                    Ok(out) => {
                        director.on_output(None, &out, engine);
                        self.apply(engine, out, on_output)
                    }
                    Err(e) => self.errors.push(format!("engine refused a report: {e}")),
                }
            }
            Msg::Lost { task, container } => {
                if let Some(l) = self.live.get_mut(&(task, container)) {
                    l.lost = true;
                }
            }
            Msg::Ping { endpoint, error } => {
                self.pinging.remove(&endpoint);
                self.engine_answered(engine, &endpoint, error, director, on_output);
            }
            Msg::Error(e) => self.errors.push(e),
            Msg::Done => self.inflight -= 1,
        }
    }

    /// Reads every running container's counters (cgroup files; the stats API where the files
    /// are not readable, at most one call in flight per container).
    fn sample(&mut self) {
        let at = self.timing.clock.start.elapsed().as_secs_f64();
        let now = self.now();
        let mut round: Vec<(TaskId, f64, u64)> = Vec::new();
        for (key, l) in self.live.iter_mut().filter(|(_, l)| l.running) {
            match &l.probe {
                Some(p) => {
                    if let Ok(s) = p.read() {
                        let stats = self.measured.entry(*key).or_default();
                        stats.add(at, s);
                        round.push((key.0, stats.last_vcpu, s.memory_bytes));
                    }
                }
                None if !l.sampling_via_api => {
                    l.sampling_via_api = true;
                    let (client, id, tx, key) =
                        (l.client.clone(), l.id.clone(), self.shared.tx.clone(), *key);
                    let start = self.timing.clock.start;
                    tokio::spawn(async move {
                        if let Some(sample) = super::usage::one_shot(client.raw(), &id).await {
                            let at_s = start.elapsed().as_secs_f64();
                            let _ = tx.send(Msg::Sample {
                                task: key.0,
                                container: key.1,
                                at_s,
                                sample,
                            });
                        }
                    });
                }
                None => {}
            }
        }
        if round.is_empty() {
            return;
        }
        // Concurrent use in this round: the whole run and each ECS host.
        let p = &mut self.peaks;
        p.rounds += 1;
        let cpu: f64 = round.iter().map(|r| r.1).sum();
        let mem: u64 = round.iter().map(|r| r.2).sum();
        p.total_vcpu = p.total_vcpu.max(cpu);
        p.total_memory_bytes = p.total_memory_bytes.max(mem);
        let mut per_host: BTreeMap<HostId, (f64, u64)> = BTreeMap::new();
        for (task, c, m) in round {
            if let Some(h) = self.hosts.get(&task) {
                let e = per_host.entry(*h).or_default();
                e.0 += c;
                e.1 += m;
            }
        }
        let buckets = crate::report::series::BUCKETS;
        let bucket = (p.bucket_ms > 0).then(|| ((now.0 / p.bucket_ms) as usize).min(buckets - 1));
        if let Some(b) = bucket {
            p.rounds_per_bucket.resize(buckets, 0);
            p.rounds_per_bucket[b] += 1;
        }
        for (h, (c, m)) in per_host {
            let e = p.per_host.entry(h).or_default();
            e.0 = e.0.max(c);
            e.1 = e.1.max(m);
            if let Some(b) = bucket {
                let series = p.used.entry(h).or_insert_with(|| vec![(0.0, 0.0); buckets]);
                series[b].0 += c;
                series[b].1 += m as f64;
            }
        }
    }

    /// Ctrl-C or the end of the scenario: scale services to zero and stop every task, through
    /// the engine, so the tasks go through STOPPING to STOPPED as in ECS.
    fn stop_everything(
        &mut self,
        engine: &mut Engine,
        on_output: &mut impl FnMut(Seen<'_>, &Engine),
    ) {
        let services: Vec<String> = engine.services().map(|s| s.name.clone()).collect();
        for name in services {
            let now = self.now();
            if let Ok(out) = engine.handle(now, Command::DeleteService { name }) {
                self.apply(engine, out, on_output);
            }
        }
        let live: Vec<TaskId> = engine
            .tasks()
            .filter(|t| {
                t.desired_status == DesiredStatus::Running && t.last_status != TaskStatus::Stopped
            })
            .map(|t| t.id)
            .collect();
        for task in live {
            let now = self.now();
            let reason = Some("Task stopped by berth (end of run)".to_string());
            if let Ok(out) = engine.handle(now, Command::StopTask { task, reason }) {
                self.apply(engine, out, on_output);
            }
        }
    }

    fn task_info(&mut self, engine: &Engine, task: TaskId) -> Option<TaskInfo> {
        let t = engine.task(task)?;
        let def = Arc::new(engine.def(t.def).def.clone());
        let host_spec = t.host.and_then(|h| engine.hosts().iter().find(|s| s.id == h));
        let client = self.shared.engines.for_endpoint(host_spec.and_then(|h| h.docker.as_deref()));
        let host_name = match (host_spec, engine.mode()) {
            (Some(h), _) => h.instance_id.clone(),
            (None, Mode::Fargate) => "fargate".to_string(),
            (None, Mode::Ecs) => "unplaced".to_string(),
        };
        let sandbox = self.sandboxes.entry(task).or_default().clone();
        if let Some(h) = t.host {
            self.hosts.insert(task, h);
        }
        Some(TaskInfo {
            id: task,
            arn: engine.task_arn(task),
            def,
            host: t.host,
            host_name,
            client,
            size: t.fargate_size.map(|s| (s.cpu_units, s.memory_mib)),
            sandbox,
        })
    }

    fn spawn(&mut self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        self.inflight += 1;
        let tx = self.shared.tx.clone();
        tokio::spawn(async move {
            fut.await;
            let _ = tx.send(Msg::Done);
        });
    }

    /// The cluster file's latencies for this mode: (image pull, container start, provisioning),
    /// as the simulator uses them.
    fn modelled(engine: &Engine) -> (SimDuration, SimDuration, SimDuration) {
        let c = engine.cluster();
        match engine.mode() {
            Mode::Ecs => (c.ecs.image_pull, c.ecs.container_start, SimDuration::ZERO),
            Mode::Fargate => {
                (c.fargate.image_pull, c.fargate.container_start, c.fargate.provisioning)
            }
        }
    }

    /// Registers the answer the engine is due for an effect (see `super::timing`).
    fn expect(&mut self, engine: &Engine, eff: &Effect) -> bool {
        let (pull, start, provision) = Self::modelled(engine);
        match *eff {
            Effect::ProvisionSlot { task, .. } => {
                self.timing.expect(Key::Provision(task), OpKind::Provision, provision)
            }
            Effect::PullImage { task, image, .. } => {
                self.timing.expect(Key::Pull(task, image), OpKind::Pull, pull)
            }
            Effect::StartContainer { task, container, plan } => {
                self.plans.insert((task, container), plan);
                self.timing.expect(Key::Start(task, container), OpKind::Start, start)
            }
            Effect::StopContainer { task, container, timeout } => {
                let limit = super::timing::HOLD_LIMIT + self.shared.cfg.wall(timeout);
                let code = crate::sim::SIGTERM_EXIT;
                return self.timing.stop_asked(task, container, code, limit);
            }
            Effect::KillContainer { task, container } => {
                let code = crate::sim::SIGKILL_EXIT;
                let limit = super::timing::HOLD_LIMIT;
                return self.timing.stop_asked(task, container, code, limit);
            }
            Effect::ReleaseSlot { task } => {
                self.timing.expect(Key::Cleanup(task), OpKind::Cleanup, SimDuration::ZERO)
            }
        }
        false
    }

    fn effect(&mut self, engine: &Engine, eff: Effect) {
        let shared = self.shared.clone();
        // A stop of a container that has already ended (its planned exit waits for its due
        // time): that exit answers the stop; there is nothing left to stop.
        if self.expect(engine, &eff) {
            return;
        }
        match eff {
            Effect::ProvisionSlot { task, .. } => {
                let Some(info) = self.task_info(engine, task) else { return };
                self.spawn(async move {
                    let report = match ensure_sandbox(&shared, &info).await {
                        Ok(_) => Report::SlotProvisioned { task },
                        // A slot that cannot be made: the container start will fail and say why.
                        Err(e) => {
                            let _ = shared
                                .tx
                                .send(Msg::Error(format!("sandbox for {}: {e}", info.arn)));
                            Report::SlotProvisioned { task }
                        }
                    };
                    let _ = shared.tx.send(Msg::Report(report));
                });
            }
            Effect::PullImage { task, host, image } => {
                let image_name = engine.image(image).to_string();
                let Some(info) = self.task_info(engine, task) else { return };
                self.spawn(async move {
                    let client = &info.client;
                    let error = match client.require_image(&image_name).await {
                        Ok(()) => None,
                        Err(e) if e.name == "CannotPullContainerError" && shared.cfg.stand_in => {
                            shared
                                .stood_in
                                .lock()
                                .expect("stand-in lock")
                                .insert((client.endpoint().to_string(), image_name.clone()));
                            None
                        }
                        Err(e) if e.name == "CannotPullContainerError" => Some(format!(
                            "not found: the image is not present on the Docker engine at {} and berth never pulls (no registry); load it with `docker load`, or run with --stand-in",
                            client.endpoint()
                        )),
                        Err(e) => Some(e.to_string()),
                    };
                    let _ = shared.tx.send(Msg::Report(Report::ImagePulled { task, host, image, error }));
                });
            }
            Effect::StartContainer { task, container, plan } => {
                let Some(info) = self.task_info(engine, task) else { return };
                self.spawn(start_container(shared, info, container, plan));
            }
            Effect::StopContainer { task, container, timeout } => {
                let wall = self.shared.cfg.wall(timeout).max(Duration::from_secs(1));
                let kill = self.forced;
                self.stop(task, container, wall, kill);
            }
            Effect::KillContainer { task, container } => {
                self.stop(task, container, Duration::ZERO, true)
            }
            Effect::ReleaseSlot { task } => {
                let ids = self.take_task_containers(task);
                let sandbox = self.sandboxes.remove(&task).and_then(|c| c.get().cloned());
                let client = self
                    .task_info(engine, task)
                    .map(|i| i.client)
                    .unwrap_or_else(|| self.shared.engines.default.clone());
                self.spawn(async move {
                    for (c, id) in ids {
                        let _ = c.remove(&id).await;
                    }
                    if let Some(id) = sandbox {
                        let _ = client.remove(&id).await;
                    }
                    let _ = shared.tx.send(Msg::Report(Report::TaskCleanedUp { task }));
                });
            }
        }
    }

    /// Asks every engine of the run whether it still answers (at most one ping in flight per
    /// engine), so an engine that goes away is noticed while the run goes on.
    fn ping_engines(&mut self) {
        for client in self.shared.engines.all() {
            let endpoint = client.endpoint().to_string();
            if !self.pinging.insert(endpoint.clone()) {
                continue;
            }
            let tx = self.shared.tx.clone();
            tokio::spawn(async move {
                let error = super::connect::ping_client(&client).await.err();
                let _ = tx.send(Msg::Ping { endpoint, error });
            });
        }
    }

    /// An engine went away (`error`) or came back: in ECS mode its hosts' agents are marked
    /// disconnected (no new tasks are placed there) or connected again (waiting tasks are
    /// placed). Tasks already there keep their last known state, as ECS shows them while an
    /// agent is disconnected; berth does not make up exit codes for containers it cannot see.
    fn engine_answered(
        &mut self,
        engine: &mut Engine,
        endpoint: &str,
        error: Option<String>,
        director: &mut impl Director,
        on_output: &mut impl FnMut(Seen<'_>, &Engine),
    ) {
        let was_down = self.down.contains(endpoint);
        let connected = match (&error, was_down) {
            (Some(_), false) => false,
            (None, true) => true,
            _ => return,
        };
        let now = self.now();
        let default = self.shared.engines.default.endpoint().to_string();
        let hosts: Vec<(crate::placement::HostId, String)> = engine
            .hosts()
            .iter()
            .filter(|h| h.docker.as_deref().unwrap_or(&default) == endpoint)
            .map(|h| (h.id, h.instance_id.clone()))
            .collect();
        let names: Vec<&str> = hosts.iter().map(|(_, n)| n.as_str()).collect();
        let msg = if connected {
            self.down.remove(endpoint);
            self.reconcile(endpoint);
            format!(
                "at {now}: the Docker engine at {endpoint} answers again; agents of {} reconnected (containers lost meanwhile are not reconciled)",
                names.join(", ")
            )
        } else {
            self.down.insert(endpoint.to_string());
            if self.stopping {
                self.give_up_on_down_engines(engine, director, on_output);
            }
            format!(
                "at {now}: the Docker engine at {endpoint} stopped answering ({}); agents of {} disconnected: no new tasks are placed there",
                error.unwrap_or_default(),
                names.join(", ")
            )
        };
        tracing::warn!("{msg}");
        self.errors.push(msg);
        if engine.mode() != Mode::Ecs {
            return;
        }
        for (host, _) in hosts {
            if let Ok(out) = engine.handle(now, Command::SetAgentConnected { host, connected }) {
                director.on_output(None, &out, engine);
                self.apply(engine, out, on_output);
            }
        }
    }

    /// The run is ending and an engine of it no longer answers: its containers can be neither
    /// stopped nor seen, so each is reported lost (STOPPED, exit unknown, with what was seen
    /// as the reason) instead of waiting out the shutdown grace for exits that will not be
    /// reported, and instead of making up an exit code. What may still run there is named at
    /// the end of the run, with the `berth cleanup` command that removes it.
    fn give_up_on_down_engines(
        &mut self,
        engine: &mut Engine,
        director: &mut impl Director,
        on_output: &mut impl FnMut(Seen<'_>, &Engine),
    ) {
        if self.down.is_empty() {
            return;
        }
        let mut lost: Vec<((TaskId, u16), String)> = self
            .live
            .iter()
            .filter(|(_, l)| self.down.contains(l.client.endpoint()))
            .map(|(&k, l)| (k, l.client.endpoint().to_string()))
            .collect();
        lost.sort();
        // Out of `live` first: the stops the engine asks for meanwhile are not sent to an
        // engine that cannot answer them.
        for (k, _) in &lost {
            self.live.remove(k);
        }
        for ((task, container), endpoint) in lost {
            let detail = format!(
                "the Docker engine at {endpoint} stopped answering; the container's exit is unknown (it may still run there)"
            );
            self.hand_over(
                engine,
                Report::ContainerLost { task, container, detail },
                director,
                on_output,
            );
        }
    }

    /// The engine at `endpoint` answers again: every container whose waiter lost it is waited
    /// for once more. One that ended meanwhile (a restarted engine stops its containers)
    /// reports its real exit code at once; one still running is watched again; one that is
    /// gone is an error, and its task keeps its last known state.
    fn reconcile(&mut self, endpoint: &str) {
        for (&(task, container), l) in self.live.iter_mut() {
            if !l.lost || l.client.endpoint() != endpoint {
                continue;
            }
            l.lost = false;
            let (client, id, tx) = (l.client.clone(), l.id.clone(), self.shared.tx.clone());
            tokio::spawn(async move {
                let msg = match client.wait_exit(&id).await {
                    Ok(e) => Msg::Report(Report::ContainerExited {
                        task,
                        container,
                        exit_code: e.code as i32,
                        oom: e.oom,
                    }),
                    Err(e) => Msg::Error(format!(
                        "container {id} is gone from {}: {e}; its exit is unknown",
                        client.endpoint()
                    )),
                };
                let _ = tx.send(msg);
            });
        }
    }

    /// A forced shutdown: every container of the run that still runs (or is about to) is
    /// killed now; the waiters report the exits, so the engine still sees each task stop.
    fn hurry(&mut self) {
        self.forced = true;
        for l in self.live.values().filter(|l| l.running) {
            spawn_stop(&self.shared, l.client.clone(), l.id.clone(), Duration::ZERO, true);
        }
        for v in self.pending_stop.values_mut() {
            v.1 = true;
        }
    }

    fn stop(&mut self, task: TaskId, container: u16, timeout: Duration, kill: bool) {
        match self.live.get(&(task, container)) {
            Some(l) => spawn_stop(&self.shared, l.client.clone(), l.id.clone(), timeout, kill),
            None => {
                self.pending_stop.insert((task, container), (timeout, kill));
            }
        }
    }

    fn take_task_containers(&mut self, task: TaskId) -> Vec<(DockerClient, String)> {
        let keys: Vec<(TaskId, u16)> =
            self.live.keys().filter(|(t, _)| *t == task).copied().collect();
        keys.into_iter().filter_map(|k| self.live.remove(&k)).map(|l| (l.client, l.id)).collect()
    }

    /// A STOPPED task's containers and sandbox are removed (not awaited by the engine).
    fn remove_task(&mut self, task: TaskId) {
        let ids = self.take_task_containers(task);
        self.pending_stop.retain(|(t, _), _| *t != task);
        let sandbox = self.sandboxes.remove(&task).and_then(|c| c.get().cloned());
        let client = ids
            .first()
            .map(|(c, _)| c.clone())
            .unwrap_or_else(|| self.shared.engines.default.clone());
        if ids.is_empty() && sandbox.is_none() {
            return;
        }
        self.spawn(async move {
            for (c, id) in ids {
                let _ = c.remove(&id).await;
            }
            if let Some(id) = sandbox {
                let _ = client.remove(&id).await;
            }
        });
    }
}

fn spawn_stop(
    shared: &Arc<Shared>,
    client: DockerClient,
    id: String,
    timeout: Duration,
    kill: bool,
) {
    let tx = shared.tx.clone();
    tokio::spawn(async move {
        let r = if kill { client.kill(&id).await } else { client.stop(&id, timeout).await };
        if let Err(e) = r {
            let _ = tx.send(Msg::Error(format!("stopping {id}: {e}")));
        }
    });
}

/// The network a task's sandbox or bridge-mode containers use: one per ECS host (so each host
/// is its own network, as on separate instances), one for all Fargate slots of the run.
async fn network_for(shared: &Shared, info: &TaskInfo) -> Result<String, super::AgentError> {
    let key = if shared.mode == Mode::Fargate { None } else { info.host };
    let cell = shared.networks.lock().expect("network lock").entry(key).or_default().clone();
    let name = match shared.mode {
        Mode::Fargate => format!("berth-{}-fargate", shared.cfg.run_id),
        Mode::Ecs => format!("berth-{}-ecs-{}", shared.cfg.run_id, info.host_name),
    };
    let mut net_labels = labels::base(&shared.cfg.run_id, "network");
    net_labels.insert(labels::MODE.to_string(), shared.mode.as_str().to_string());
    net_labels.insert(labels::CLUSTER.to_string(), shared.cluster.clone());
    net_labels.insert(labels::HOST.to_string(), info.host_name.clone());
    cell.get_or_try_init(|| info.client.ensure_network(&name, net_labels)).await.cloned()
}

/// Creates (once per task) the sandbox that owns the task's network namespace.
async fn ensure_sandbox(shared: &Shared, info: &TaskInfo) -> Result<String, super::AgentError> {
    info.sandbox
        .get_or_try_init(|| async {
            let net = network_for(shared, info).await?;
            let placement = info.placement(shared);
            let body = spec::sandbox_body(&info.def, &placement, &net);
            let id = info
                .client
                .create(&placement.container_name(labels::PAUSE_CONTAINER), body)
                .await?;
            info.client.start(&id).await?;
            watch_sandbox(shared, info, &id);
            Ok(id)
        })
        .await
        .cloned()
}

/// Waits for a sandbox to stop and tells the loop. berth removes a sandbox only after the
/// task's stop (the loop forgets it first), so an exit the loop still knows of came from
/// outside: `docker kill`, `docker rm -f`, a crash.
fn watch_sandbox(shared: &Shared, info: &TaskInfo, id: &str) {
    let (client, id, tx, task) = (info.client.clone(), id.to_string(), shared.tx.clone(), info.id);
    tokio::spawn(async move {
        let what = match client.wait_exit(&id).await {
            Ok(e) => format!("exited with code {}", e.code),
            Err(e) => format!("is gone ({e})"),
        };
        let _ = tx.send(Msg::SandboxExited { task, id, what });
    });
}

async fn start_container(shared: Arc<Shared>, info: TaskInfo, index: u16, plan: ContainerPlan) {
    let task = info.id;
    let fail = |error: String| {
        let _ = shared.tx.send(Msg::Report(Report::ContainerStartFailed {
            task,
            container: index,
            error,
        }));
    };
    let Some(cd) = info.def.containers.get(usize::from(index)) else {
        return fail(format!("container index {index} out of range"));
    };
    let attach = match (shared.mode, info.def.network_mode) {
        (Mode::Fargate, _) | (Mode::Ecs, NetworkMode::Awsvpc) => {
            match ensure_sandbox(&shared, &info).await {
                Ok(id) => Attach::Container(id),
                Err(e) => return fail(e.to_string()),
            }
        }
        (Mode::Ecs, NetworkMode::None) => Attach::None,
        (Mode::Ecs, _) => match network_for(&shared, &info).await {
            Ok(n) => Attach::Network(n),
            Err(e) => return fail(e.to_string()),
        },
    };
    // The task-level size: Fargate's slot size, or the task definition's cpu/memory in ECS mode.
    let limits = {
        let mut td = (*info.def).clone();
        if let Some((cpu, mem)) = info.size {
            td.cpu_units = Some(cpu);
            td.memory_mib = Some(mem);
        }
        spec::split_task_limits(&td)
            .get(usize::from(index))
            .copied()
            .filter(|l| l.nano_cpus.is_some() || l.memory_bytes.is_some())
    };
    let stood_in = shared
        .stood_in
        .lock()
        .expect("stand-in lock")
        .contains(&(info.client.endpoint().to_string(), cd.image.clone()));
    // The main container plays the scenario's runtime and exit code; other stand-ins run until
    // stopped (exit 0 when they end on their own).
    let stand_in = stood_in.then(|| StandIn {
        seconds: plan.run_for.map(|d| shared.cfg.wall(d).as_secs_f64()),
        exit_code: plan.exit_code,
    });
    let ctx_attach_sandbox = match &attach {
        Attach::Container(id) => Some(id.clone()),
        _ => None,
    };
    let placement = info.placement(&shared);
    let ctx = ContainerContext {
        placement: placement.clone(),
        attach,
        limits,
        stand_in,
        index: usize::from(index),
    };
    let body = spec::container_body(&info.def, usize::from(index), &ctx);
    let client = info.client.clone();
    let id = match client.create(&placement.container_name(&cd.name), body).await {
        Ok(id) => id,
        Err(e) => return fail(e.to_string()),
    };
    let _ = shared.tx.send(Msg::Created {
        task,
        container: index,
        id: id.clone(),
        client: client.clone(),
    });
    if let Err(e) = client.start(&id).await {
        return fail(e.to_string());
    }
    let pid =
        client.inspect(&id).await.ok().and_then(|i| i.state).and_then(|s| s.pid).filter(|p| *p > 0);
    let _ = shared.tx.send(Msg::Running { task, container: index, pid });
    let _ = shared.tx.send(Msg::Report(Report::ContainerStarted { task, container: index }));
    // Where to reach it: the container's own ports, or its sandbox's for a shared namespace.
    if !cd.port_mappings.is_empty() {
        let holder = match &ctx_attach_sandbox {
            Some(sb) => sb.clone(),
            None => id.clone(),
        };
        if let Ok(ports) = client.published_ports(&holder).await {
            let wanted: Vec<String> = cd
                .port_mappings
                .iter()
                .map(|p| {
                    format!(
                        "{}/{}",
                        p.container_port,
                        match p.protocol {
                            crate::taskdef::model::Protocol::Tcp => "tcp",
                            crate::taskdef::model::Protocol::Udp => "udp",
                        }
                    )
                })
                .collect();
            let ports: Vec<(String, u16)> =
                ports.into_iter().filter(|(c, _)| wanted.contains(c)).collect();
            if !ports.is_empty() {
                let _ = shared.tx.send(Msg::Ports { task, container: index, ports });
            }
        }
    }

    // A real image with a scenario runtime is stopped by the loop when the scenario clock
    // reaches its end (`super::timing`), not on a wall timer that knows nothing of the clock.
    let (done_tx, done_rx) = watch::channel(false);
    if plan.has_health_check {
        tokio::spawn(poll_health(shared.clone(), client.clone(), id.clone(), task, index, done_rx));
    }
    let exit = client.wait_exit(&id).await;
    let _ = done_tx.send(true);
    let report = match exit {
        Ok(e) => {
            Report::ContainerExited { task, container: index, exit_code: e.code as i32, oom: e.oom }
        }
        Err(e) => {
            // The engine itself is gone: the exit is unknown, so none is made up; the task
            // keeps its last known state (the ping tells the loop the agent is disconnected).
            if let Err(why) = super::connect::ping_client(&client).await {
                let _ = shared.tx.send(Msg::Lost { task, container: index });
                let _ = shared
                    .tx
                    .send(Msg::Ping { endpoint: client.endpoint().to_string(), error: Some(why) });
                return;
            }
            let _ = shared.tx.send(Msg::Error(format!("waiting for {id}: {e}")));
            Report::ContainerExited { task, container: index, exit_code: 137, oom: false }
        }
    };
    let _ = shared.tx.send(Msg::Report(report));
}

/// Reports Docker health changes (healthy / unhealthy) until the container exits.
async fn poll_health(
    shared: Arc<Shared>,
    client: DockerClient,
    id: String,
    task: TaskId,
    container: u16,
    mut done: watch::Receiver<bool>,
) {
    let mut last = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = done.changed() => return,
        }
        let healthy = match client.health(&id).await {
            Ok(Some(super::Health::Healthy)) => Some(true),
            Ok(Some(super::Health::Unhealthy)) => Some(false),
            Ok(_) => None,
            Err(_) => return,
        };
        if healthy.is_some() && healthy != last {
            last = healthy;
            let _ = shared.tx.send(Msg::Report(Report::ContainerHealth {
                task,
                container,
                healthy: healthy.unwrap_or(false),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--time-scale 1e-20` used to panic here ("overflow when adding duration to instant").
    #[test]
    fn clock_saturates_instead_of_panicking() {
        let clock = super::super::timing::Clock::new(1e-20);
        let at = clock.wall_at(SimTime(3_600_000));
        assert!(at > Instant::now() + Duration::from_secs(3600));
        let cfg = RuntimeConfig::new("r", 1e-20);
        assert!(cfg.wall(SimDuration::from_secs(30)) >= Duration::from_secs(1 << 31));
        // An ordinary scale is unchanged.
        let clock = super::super::timing::Clock::new(2.0);
        assert!(clock.wall_at(SimTime(4000)) <= Instant::now() + Duration::from_secs(2));
    }
}
