//! The deterministic discrete-event runtime: drives the [`Engine`] on a virtual clock.
//!
//! A priority queue holds what will happen next, keyed by `(time, sequence number)` so that
//! equal times keep their insertion order and every run with the same scenario and seed is
//! identical. The queue holds only pending work: the scenario's next launch per job, service
//! scale steps, and the runtime's answers to the engine's effects (one per outstanding effect),
//! so its size is O(live tasks), not O(all tasks). Effects become future reports after the
//! cluster's latencies (provisioning, image pull, container start) and each task's scenario run
//! time. The engine's own timers are read from [`Engine::next_wakeup`].
//!
//! The simulator plays containers that behave: they exit on SIGTERM at once (code 143), init
//! containers (others wait for them to COMPLETE or succeed) exit with 0 as soon as they start,
//! health checks pass at their first interval, images always pull.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::engine::rng::SeededRng;
use crate::engine::{
    Command, CreateService, DefId, Effect, Engine, EngineConfig, Event, ImageId, Mode, Output,
    Report, RunTask, Snapshot, TaskId, TaskOverrides, TaskStatus,
};
use crate::placement::HostId;
use crate::pricing::Catalog;
use crate::report::{Accounting, ModeReport, PriceContext};
use crate::scenario::{Repeat, Scenario};
use crate::taskdef::model::TaskDefinition;
use crate::time::{SimDuration, SimTime};

mod queue;

type Det = BuildHasherDefault<DefaultHasher>;

/// Exit code of a container stopped with SIGTERM (128 + 15).
pub const SIGTERM_EXIT: i32 = 143;
/// Exit code of a container killed with SIGKILL (128 + 9).
pub const SIGKILL_EXIT: i32 = 137;

/// Something that will happen. Reports are kept compact (no strings: the simulator's images
/// always pull) so that queue items stay small and cheap to move.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum What {
    Provisioned(TaskId),
    Pulled(TaskId, Option<HostId>, ImageId),
    Started(TaskId, u16),
    Healthy(TaskId, u16),
    Exited(TaskId, u16, i32),
    CleanedUp(TaskId),
    Launch { job: u32 },
    CreateService { service: u32 },
    Scale { service: u32, step: u32 },
}

impl What {
    /// The task a report is about.
    fn task(self) -> Option<TaskId> {
        match self {
            What::Provisioned(t)
            | What::Pulled(t, ..)
            | What::Started(t, _)
            | What::Healthy(t, _)
            | What::Exited(t, ..)
            | What::CleanedUp(t) => Some(t),
            _ => None,
        }
    }

    fn report(self) -> Option<Report> {
        Some(match self {
            What::Provisioned(task) => Report::SlotProvisioned { task },
            What::Pulled(task, host, image) => {
                Report::ImagePulled { task, host, image, error: None }
            }
            What::Started(task, container) => Report::ContainerStarted { task, container },
            What::Healthy(task, container) => {
                Report::ContainerHealth { task, container, healthy: true }
            }
            What::Exited(task, container, exit_code) => {
                Report::ContainerExited { task, container, exit_code, oom: false }
            }
            What::CleanedUp(task) => Report::TaskCleanedUp { task },
            _ => return None,
        })
    }
}

/// Queue keys: the time in milliseconds and a sequence number, `time << SEQ_BITS | seq`, so
/// that items at the same time come out in the order they were scheduled.
const SEQ_BITS: u32 = 20;

fn key(at: SimTime, seq: u64) -> u64 {
    (at.0 << SEQ_BITS) | (seq & ((1 << SEQ_BITS) - 1))
}

fn key_time(key: u64) -> SimTime {
    SimTime(key >> SEQ_BITS)
}

/// A queue entry (32 bytes), ordered by its key alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Item {
    key: u64,
    what: What,
}

impl queue::Keyed for Item {
    fn key(&self) -> u64 {
        self.key
    }
}

/// Per-job state: its random streams and, for jobs others wait for, the outcome of each run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobState {
    arrivals: SeededRng,
    runtimes: SeededRng,
    runs: u32,
    /// Run → (tasks not stopped yet, any failed); only for jobs that others wait for.
    open: HashMap<u32, (u32, bool), Det>,
    /// Outcome per run index (true = every task succeeded); only for jobs others wait for.
    outcomes: Vec<Option<bool>>,
    /// Runs skipped because a job they wait for failed.
    skipped: u32,
}

/// What does not change during a run (not saved in snapshots).
#[derive(Debug, Clone)]
pub struct SimSetup {
    pub scenario: Arc<Scenario>,
    /// The scenario's task definitions, in `scenario.task_defs` order.
    pub task_defs: Arc<Vec<TaskDefinition>>,
    pub cluster: Arc<Cluster>,
    pub catalog: Arc<Catalog>,
    pub mode: Mode,
    pub seed: u64,
}

/// The state of a run (serde, via [`Sim::snapshot`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SimState {
    queue: queue::Queue<Item>,
    /// Answers due at the current time (a SIGTERM honoured at once, a slot released): handled
    /// right after the output that caused them, in order, without a trip through the heap.
    immediate: std::collections::VecDeque<What>,
    seq: u64,
    jobs: Vec<JobState>,
    defs: Vec<DefId>,
    task_job: HashMap<TaskId, (u32, u32), Det>,
    events: u64,
    acc: Accounting,
    now: SimTime,
    problems: Vec<String>,
}

/// A saved run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimSnapshot {
    engine: Snapshot,
    state: SimState,
}

/// One run of one scenario in one mode.
pub struct Sim {
    setup: SimSetup,
    engine: Engine,
    s: SimState,
    out: Output,
    /// Sees every engine output as it happens (the live view); not part of snapshots.
    observer: Option<Observer>,
    /// Children of each job (jobs whose `after` names it).
    children: Vec<Vec<u32>>,
    end: SimTime,
    px: PriceContext,
    /// This run's own copy of the scenario. `launch` holds an `Arc` to it while it calls back
    /// into `self`; with the `Arc` of `setup`, shared by both modes' threads, each launch's
    /// reference-count increment and decrement bounced one cache line between the two cores.
    scenario: Arc<Scenario>,
}

/// A callback that sees every engine output with the engine state right after it.
pub type Observer = Box<dyn FnMut(&Engine, &Output) + Send>;

impl Sim {
    /// Lets `f` watch every engine output from now on (the live view uses this); it cannot
    /// change the run.
    pub fn set_observer(&mut self, f: Observer) {
        self.observer = Some(f);
    }

    /// The scenario's end.
    pub fn end(&self) -> SimTime {
        self.end
    }

    pub fn new(setup: SimSetup) -> Sim {
        let sc = setup.scenario.clone();
        let config = EngineConfig { stopped_retention: SimDuration::ZERO, container_events: false };
        let mut engine = Engine::with_config(setup.cluster.clone(), setup.mode, setup.seed, config);
        let defs: Vec<DefId> = setup.task_defs.iter().map(|d| engine.register(d.clone())).collect();
        let children = children_of(&sc);
        let jobs = (0..sc.jobs.len())
            .map(|j| JobState {
                arrivals: SeededRng::new(setup.seed, 2 * j as u64 + 1),
                runtimes: SeededRng::new(setup.seed, 2 * j as u64 + 2),
                runs: 0,
                open: HashMap::default(),
                outcomes: Vec::new(),
                skipped: 0,
            })
            .collect();
        let end = SimTime(sc.duration.0);
        let mut sim = Sim {
            px: PriceContext { cluster: setup.cluster.clone(), catalog: setup.catalog.clone() },
            s: SimState {
                queue: queue::Queue::default(),
                immediate: std::collections::VecDeque::new(),
                seq: 0,
                jobs,
                defs,
                task_job: HashMap::default(),
                events: 0,
                acc: Accounting::new(setup.mode, &setup.cluster, sc.duration),
                now: SimTime::ZERO,
                problems: Vec::new(),
            },
            engine,
            out: Output::default(),
            observer: None,
            children,
            end,
            scenario: Arc::new(Scenario::clone(&sc)),
            setup,
        };
        for (j, job) in sc.jobs.iter().enumerate() {
            if job.after.is_empty() {
                sim.push(SimTime::ZERO + job.at, What::Launch { job: j as u32 });
            }
        }
        for (i, s) in sc.services.iter().enumerate() {
            sim.push(SimTime::ZERO + s.at, What::CreateService { service: i as u32 });
            for k in 0..s.scale.len() {
                let at = SimTime::ZERO + s.scale[k].0;
                sim.push(at, What::Scale { service: i as u32, step: k as u32 });
            }
        }
        sim
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Events processed so far (queue items and engine wake-ups).
    pub fn events(&self) -> u64 {
        self.s.events
    }

    pub fn now(&self) -> SimTime {
        self.s.now
    }

    /// Pending items in the queue (stays O(live tasks)).
    pub fn pending(&self) -> usize {
        self.s.queue.len()
    }

    fn push(&mut self, at: SimTime, what: What) {
        if at >= self.end {
            return;
        }
        if at == self.s.now && what.report().is_some() {
            self.s.immediate.push_back(what);
            return;
        }
        self.s.seq += 1;
        self.s.queue.push(Item { key: key(at, self.s.seq), what });
    }

    /// Runs to the end of the scenario.
    pub fn run(&mut self, progress: &mut dyn FnMut(f64)) {
        self.run_until(self.end, progress);
    }

    /// Runs everything before `limit` (a later call continues from there).
    pub fn run_until(&mut self, limit: SimTime, progress: &mut dyn FnMut(f64)) {
        let limit = limit.min(self.end);
        let end = self.end.0.max(1) as f64;
        loop {
            if let Some(what) = self.s.immediate.pop_front() {
                self.s.events += 1;
                let now = self.s.now;
                self.dispatch(now, what);
                continue;
            }
            let q = self.s.queue.peek_key().map(key_time);
            let w = self.engine.next_wakeup();
            let (at, from_queue) = match (q, w) {
                (None, None) => break,
                (Some(q), None) => (q, true),
                (None, Some(w)) => (w, false),
                (Some(q), Some(w)) => {
                    if w < q {
                        (w, false)
                    } else {
                        (q, true)
                    }
                }
            };
            if at >= limit {
                break;
            }
            self.s.now = at;
            self.s.events += 1;
            if self.s.events & 0xFFFF == 0 {
                progress(at.0 as f64 / end);
            }
            if from_queue {
                let item = self.s.queue.pop().expect("peeked");
                // The next item's task is most likely the next one touched, and was last
                // touched long ago: start loading it now, so that the miss overlaps with
                // handling this item instead of stalling the next one.
                if let Some(t) = self.s.queue.peek().and_then(|i| i.what.task()) {
                    self.engine.prefetch_task(t);
                    self.s.acc.prefetch(t);
                }
                self.dispatch(at, item.what);
            } else {
                self.apply(at, Command::Tick);
            }
        }
        self.s.now = limit;
    }

    fn dispatch(&mut self, at: SimTime, what: What) {
        if let Some(r) = what.report() {
            self.apply(at, Command::Report(r));
            return;
        }
        match what {
            What::Launch { job } => self.launch(at, job),
            What::CreateService { service } => {
                let spec = &self.setup.scenario.services[service as usize];
                let cmd = Command::CreateService(CreateService {
                    name: spec.name.clone(),
                    task_def: self.s.defs[spec.task_def].into(),
                    desired: spec.desired,
                    strategy: Vec::new(),
                    constraints: Vec::new(),
                });
                self.apply(at, cmd);
            }
            What::Scale { service, step } => {
                let spec = &self.setup.scenario.services[service as usize];
                let cmd = Command::UpdateService {
                    name: spec.name.clone(),
                    desired: Some(spec.scale[step as usize].1),
                    task_def: None,
                };
                if let Some(period) = spec.scale_every {
                    self.push(at + period, What::Scale { service, step });
                }
                self.apply(at, cmd);
            }
            _ => unreachable!("reports are handled above"),
        }
    }

    /// Launches one run of a job, and schedules its next one.
    fn launch(&mut self, at: SimTime, job: u32) {
        let sc = Arc::clone(&self.scenario);
        let spec = &sc.jobs[job as usize];
        let run = self.s.jobs[job as usize].runs;
        self.s.jobs[job as usize].runs += 1;
        let tracked = !self.children[job as usize].is_empty();
        if tracked {
            // A guard count of one keeps the run open until every task is launched, even if
            // some stop at once (refused by Fargate, never fit).
            self.s.jobs[job as usize].open.insert(run, (1, false));
        }
        let mut left = spec.count;
        while left > 0 {
            let n = left.min(10);
            left -= n;
            for _ in 0..n {
                let runtime = spec
                    .runtime
                    .map(|d| d.sample(&mut self.s.jobs[job as usize].runtimes))
                    .or_else(|| Some(SimDuration(self.end.0.saturating_sub(at.0))));
                let mut rt = RunTask::new(self.s.defs[spec.task_def], 1);
                rt.overrides = TaskOverrides {
                    runtime,
                    exit_code: spec.exit_code,
                    container: spec.container_index(),
                };
                let mut out = std::mem::take(&mut self.out);
                match self.engine.handle_into(at, Command::RunTask(rt), &mut out) {
                    Ok(()) => {
                        if tracked {
                            for &t in &out.created {
                                self.s.task_job.insert(t, (job, run));
                            }
                            let e = self.s.jobs[job as usize].open.entry(run).or_insert((0, false));
                            e.0 += out.created.len() as u32;
                        }
                        self.after_output(&out);
                    }
                    Err(e) => self.problem(format!("job {}: {e}", spec.name)),
                }
                self.out = out;
            }
        }
        if tracked {
            let js = &mut self.s.jobs[job as usize];
            let e = js.open.entry(run).or_insert((1, false));
            e.0 -= 1;
            if e.0 == 0 {
                let failed = e.1;
                js.open.remove(&run);
                self.run_done(job, run, failed);
            }
        }
        let next = match spec.repeat {
            Repeat::Once => None,
            Repeat::Every { period } => Some(at + period),
            Repeat::Random { gap } => {
                let g = gap.sample(&mut self.s.jobs[job as usize].arrivals).max(SimDuration(1));
                Some(at + g)
            }
        };
        if let Some(next) = next {
            if spec.until.is_none_or(|u| next.0 < u.0) {
                self.push(next, What::Launch { job });
            }
        }
    }

    fn apply(&mut self, at: SimTime, cmd: Command) {
        let mut out = std::mem::take(&mut self.out);
        if let Err(e) = self.engine.handle_into(at, cmd, &mut out) {
            self.problem(e.to_string());
        }
        self.after_output(&out);
        self.out = out;
    }

    fn problem(&mut self, p: String) {
        if self.s.problems.len() < 20 && !self.s.problems.contains(&p) {
            self.s.problems.push(p);
        }
    }

    /// Accounts for the events and turns effects into future reports.
    fn after_output(&mut self, out: &Output) {
        self.s.acc.observe(&self.engine, out, &self.px);
        if let Some(f) = &mut self.observer {
            f(&self.engine, out);
        }
        let at = out.at;
        let dag = !self.s.task_job.is_empty();
        for ev in out.events.iter().filter(|_| dag) {
            if let Event::TaskStateChanged { task, last: TaskStatus::Stopped, .. } = ev {
                if let Some((job, run)) = self.s.task_job.remove(task) {
                    let failed = self.engine.task(*task).is_some_and(|t| {
                        t.failed(|i| self.engine.def(t.def).containers[i].essential)
                    });
                    let js = &mut self.s.jobs[job as usize];
                    let entry = js.open.entry(run).or_insert((1, false));
                    entry.0 = entry.0.saturating_sub(1);
                    entry.1 |= failed;
                    if entry.0 == 0 {
                        let f = entry.1;
                        js.open.remove(&run);
                        self.run_done(job, run, f);
                    }
                }
            }
        }
        let c = &self.setup.cluster;
        let (pull, start, provision) = match self.setup.mode {
            Mode::Ecs => (c.ecs.image_pull, c.ecs.container_start, SimDuration::ZERO),
            Mode::Fargate => {
                (c.fargate.image_pull, c.fargate.container_start, c.fargate.provisioning)
            }
        };
        for eff in &out.effects {
            match *eff {
                Effect::ProvisionSlot { task, .. } => {
                    self.push(at + provision, What::Provisioned(task))
                }
                Effect::PullImage { task, host, image } => {
                    self.push(at + pull, What::Pulled(task, host, image))
                }
                Effect::StartContainer { task, container, plan } => {
                    let started = at + start;
                    self.push(started, What::Started(task, container));
                    if plan.has_health_check {
                        let interval = self
                            .engine
                            .task(task)
                            .and_then(|t| {
                                self.engine.def(t.def).def.containers[container as usize]
                                    .health_check
                                    .as_ref()
                                    .map(|h| SimDuration::from_secs(h.interval_s as u64))
                            })
                            .unwrap_or(SimDuration::ZERO);
                        self.push(started + interval, What::Healthy(task, container));
                    }
                    if let Some(run_for) = plan.run_for {
                        self.push(started + run_for, What::Exited(task, container, plan.exit_code));
                    }
                }
                Effect::StopContainer { task, container, .. } => {
                    self.push(at, What::Exited(task, container, SIGTERM_EXIT))
                }
                Effect::KillContainer { task, container } => {
                    self.push(at, What::Exited(task, container, SIGKILL_EXIT))
                }
                Effect::ReleaseSlot { task } => self.push(at, What::CleanedUp(task)),
            }
        }
    }

    /// A run of a job others wait for has finished: launch (or skip) the runs waiting for it.
    fn run_done(&mut self, job: u32, run: u32, failed: bool) {
        let js = &mut self.s.jobs[job as usize];
        if js.outcomes.len() <= run as usize {
            js.outcomes.resize(run as usize + 1, None);
        }
        js.outcomes[run as usize] = Some(!failed);
        let sc = Arc::clone(&self.scenario);
        for &child in &self.children[job as usize].clone() {
            loop {
                let next = self.s.jobs[child as usize].runs;
                let parents = &sc.jobs[child as usize].after;
                let states: Vec<Option<bool>> = parents
                    .iter()
                    .map(|&p| self.s.jobs[p].outcomes.get(next as usize).copied().flatten())
                    .collect();
                if states.iter().any(|s| s.is_none()) {
                    break;
                }
                if states.iter().all(|s| *s == Some(true)) {
                    self.launch(self.s.now, child);
                } else {
                    let cs = &mut self.s.jobs[child as usize];
                    cs.runs += 1;
                    cs.skipped += 1;
                    if !self.children[child as usize].is_empty() {
                        self.run_done(child, next, true);
                    }
                }
            }
        }
    }

    /// Ends the run and prices it.
    pub fn finish(self) -> ModeReport {
        let mut report = self.s.acc.finish(&self.engine, &self.px);
        for (j, js) in self.s.jobs.iter().enumerate() {
            if js.skipped > 0 {
                report.notes.push(format!(
                    "job {}: {} run(s) skipped because a job it waits for failed",
                    self.setup.scenario.jobs[j].name, js.skipped
                ));
            }
        }
        report.notes.extend(self.s.problems);
        report
    }

    pub fn snapshot(&self) -> SimSnapshot {
        SimSnapshot { engine: self.engine.snapshot(), state: self.s.clone() }
    }

    /// Continues a saved run; `setup` must be the one it was started with.
    pub fn restore(snapshot: SimSnapshot, setup: SimSetup) -> Sim {
        let engine = Engine::restore(snapshot.engine, setup.cluster.clone());
        Sim {
            px: PriceContext { cluster: setup.cluster.clone(), catalog: setup.catalog.clone() },
            children: children_of(&setup.scenario),
            end: SimTime(setup.scenario.duration.0),
            engine,
            s: snapshot.state,
            out: Output::default(),
            observer: None,
            scenario: Arc::new(Scenario::clone(&setup.scenario)),
            setup,
        }
    }
}

fn children_of(sc: &Scenario) -> Vec<Vec<u32>> {
    let mut children = vec![Vec::new(); sc.jobs.len()];
    for (i, j) in sc.jobs.iter().enumerate() {
        for &a in &j.after {
            children[a].push(i as u32);
        }
    }
    children
}

/// Simulates one mode to the end.
pub fn simulate(setup: SimSetup, progress: &mut dyn FnMut(f64)) -> (ModeReport, u64) {
    let mut sim = Sim::new(setup);
    sim.run(progress);
    let events = sim.events();
    (sim.finish(), events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_items_stay_small() {
        assert!(std::mem::size_of::<Item>() <= 32, "{}", std::mem::size_of::<Item>());
    }
}
