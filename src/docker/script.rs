//! What a scenario tells the engine, and when: the [`Director`] the Docker runtime plays.
//!
//! [`Player`] issues a scenario's commands exactly as the simulator does (`src/sim/mod.rs`,
//! `Sim::launch`, `Sim::run_done`): the same queue order (time, then insertion sequence), the
//! same per-job random streams (`SeededRng::new(seed, 2j+1)` for arrival gaps, `2j+2` for
//! runtimes), one RunTask per task with the sampled runtime (or "until the end") and the job's
//! exit code, services created and scaled (with `scale_every`), nothing at or after the end,
//! and job chains (`after`): a run of a job starts when the same run of every job it waits for
//! has finished with all tasks successful, and is skipped when one failed. That is what makes a
//! Docker run comparable with a simulation of the same scenario and seed.
//!
//! The simulator keeps this logic inside its event loop, so it is mirrored here rather than
//! shared; if the simulator's scenario semantics change, change [`Player`] with them (the
//! conformance test `tests/docker_conformance.rs` compares both).

use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use crate::engine::rng::SeededRng;
use crate::engine::{
    Command, CreateService, DefId, Engine, Event, Output, RunTask, TaskId, TaskOverrides,
    TaskStatus,
};
use crate::scenario::{Repeat, Scenario};
use crate::time::{SimDuration, SimTime};

/// Identifies a command a director issued, so it can see what that command created.
pub type Tag = u64;

/// Decides which commands the runtime gives the engine, and when.
pub trait Director: Send {
    /// The scenario time of the next command, if any.
    fn next_at(&self) -> Option<SimTime>;
    /// The next command due at or before `now`.
    fn next_due(&mut self, now: SimTime) -> Option<(Tag, Command)>;
    /// Every engine output, with the tag of the command that produced it (`None` for reports
    /// and ticks).
    fn on_output(&mut self, tag: Option<Tag>, out: &Output, engine: &Engine);
    /// No more commands (the run is ending).
    fn clear(&mut self);
}

/// A fixed list of timed commands (tests, and callers that build their own script).
#[derive(Debug, Default)]
pub struct StaticScript {
    items: VecDeque<(SimTime, Command)>,
}

impl StaticScript {
    pub fn new(mut items: Vec<(SimTime, Command)>) -> Self {
        items.sort_by_key(|(t, _)| *t);
        StaticScript { items: items.into() }
    }
}

impl Director for StaticScript {
    fn next_at(&self) -> Option<SimTime> {
        self.items.front().map(|(t, _)| *t)
    }
    fn next_due(&mut self, now: SimTime) -> Option<(Tag, Command)> {
        if self.items.front().is_some_and(|(t, _)| *t <= now) {
            return self.items.pop_front().map(|(_, c)| (0, c));
        }
        None
    }
    fn on_output(&mut self, _: Option<Tag>, _: &Output, _: &Engine) {}
    fn clear(&mut self) {
        self.items.clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Launch { job: usize },
    CreateService { service: usize },
    Scale { service: usize, step: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    at: SimTime,
    seq: u64,
    what: What,
}

impl Ord for Item {
    /// Reversed: the earliest (then the first inserted) comes out of the max-heap first.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

struct JobState {
    arrivals: SeededRng,
    runtimes: SeededRng,
    runs: u32,
    /// Run → (tasks not stopped yet, any failed); only for jobs others wait for.
    open: HashMap<u32, (u32, bool)>,
    outcomes: Vec<Option<bool>>,
}

/// A RunTask the player issued: which job run it belongs to, and whether it is the run's last.
#[derive(Debug, Clone, Copy)]
struct Launched {
    job: usize,
    run: u32,
    last: bool,
}

/// Plays a scenario's jobs and services (see the module docs).
pub struct Player {
    sc: Scenario,
    defs: Vec<DefId>,
    end: SimTime,
    queue: BinaryHeap<Item>,
    seq: u64,
    /// Commands of launches in progress, issued before anything from the queue.
    pending: VecDeque<(SimTime, Tag, Command)>,
    jobs: Vec<JobState>,
    children: Vec<Vec<usize>>,
    tags: BTreeMap<Tag, Launched>,
    next_tag: Tag,
    task_job: HashMap<TaskId, (usize, u32)>,
    now: SimTime,
    /// Set by [`Director::clear`]: the run is ending, nothing more is launched.
    cleared: bool,
    /// Runs skipped because a job they wait for failed, per job.
    pub skipped: Vec<u32>,
}

impl Player {
    /// `defs`: the scenario's task definitions as registered, in `sc.task_defs` order.
    pub fn new(sc: &Scenario, defs: &[DefId], seed: u64) -> Player {
        let mut children = vec![Vec::new(); sc.jobs.len()];
        for (i, j) in sc.jobs.iter().enumerate() {
            for &a in &j.after {
                children[a].push(i);
            }
        }
        let jobs = (0..sc.jobs.len())
            .map(|j| JobState {
                arrivals: SeededRng::new(seed, 2 * j as u64 + 1),
                runtimes: SeededRng::new(seed, 2 * j as u64 + 2),
                runs: 0,
                open: HashMap::new(),
                outcomes: Vec::new(),
            })
            .collect();
        let mut p = Player {
            end: SimTime(sc.duration.0),
            sc: sc.clone(),
            defs: defs.to_vec(),
            queue: BinaryHeap::new(),
            seq: 0,
            pending: VecDeque::new(),
            jobs,
            children,
            tags: BTreeMap::new(),
            next_tag: 1,
            task_job: HashMap::new(),
            now: SimTime::ZERO,
            cleared: false,
            skipped: vec![0; sc.jobs.len()],
        };
        for (j, job) in sc.jobs.iter().enumerate() {
            if job.after.is_empty() {
                p.push(SimTime::ZERO + job.at, What::Launch { job: j });
            }
        }
        for (i, s) in sc.services.iter().enumerate() {
            p.push(SimTime::ZERO + s.at, What::CreateService { service: i });
            for k in 0..s.scale.len() {
                p.push(SimTime::ZERO + s.scale[k].0, What::Scale { service: i, step: k });
            }
        }
        p
    }

    fn push(&mut self, at: SimTime, what: What) {
        if at >= self.end {
            return;
        }
        self.seq += 1;
        self.queue.push(Item { at, seq: self.seq, what });
    }

    /// Queues the RunTasks of one run of `job` at `at`, and schedules its next run.
    fn launch(&mut self, at: SimTime, job: usize) {
        let spec = self.sc.jobs[job].clone();
        let run = self.jobs[job].runs;
        self.jobs[job].runs += 1;
        let tracked = !self.children[job].is_empty();
        if tracked {
            // Guard count of one: the run stays open until its last RunTask has been issued.
            self.jobs[job].open.insert(run, (1, false));
        }
        for i in 0..spec.count {
            let runtime = spec
                .runtime
                .map(|d| d.sample(&mut self.jobs[job].runtimes))
                .or_else(|| Some(SimDuration(self.end.0.saturating_sub(at.0))));
            let mut rt = RunTask::new(self.defs[spec.task_def], 1);
            rt.overrides = TaskOverrides {
                runtime,
                exit_code: spec.exit_code,
                container: spec.container_index(),
            };
            let tag = self.next_tag;
            self.next_tag += 1;
            self.tags.insert(tag, Launched { job, run, last: i + 1 == spec.count });
            self.pending.push_back((at, tag, Command::RunTask(rt)));
        }
        if spec.count == 0 && tracked {
            self.release(job, run);
        }
        let next = match spec.repeat {
            Repeat::Once => None,
            Repeat::Every { period } => Some(at + period),
            Repeat::Random { gap } => {
                Some(at + gap.sample(&mut self.jobs[job].arrivals).max(SimDuration(1)))
            }
        };
        if let Some(next) = next {
            if spec.until.is_none_or(|u| next.0 < u.0) {
                self.push(next, What::Launch { job });
            }
        }
    }

    /// Drops the launch guard of a run.
    fn release(&mut self, job: usize, run: u32) {
        let e = self.jobs[job].open.entry(run).or_insert((1, false));
        e.0 = e.0.saturating_sub(1);
        if e.0 == 0 {
            let failed = e.1;
            self.jobs[job].open.remove(&run);
            self.run_done(job, run, failed);
        }
    }

    /// A run of a job others wait for finished: launch (or skip) the runs waiting for it.
    fn run_done(&mut self, job: usize, run: u32, failed: bool) {
        let js = &mut self.jobs[job];
        if js.outcomes.len() <= run as usize {
            js.outcomes.resize(run as usize + 1, None);
        }
        js.outcomes[run as usize] = Some(!failed);
        for child in self.children[job].clone() {
            loop {
                let next = self.jobs[child].runs;
                let states: Vec<Option<bool>> = self.sc.jobs[child]
                    .after
                    .iter()
                    .map(|&p| self.jobs[p].outcomes.get(next as usize).copied().flatten())
                    .collect();
                if states.iter().any(|s| s.is_none()) {
                    break;
                }
                if states.iter().all(|s| *s == Some(true)) {
                    self.launch(self.now, child);
                } else {
                    self.jobs[child].runs += 1;
                    self.skipped[child] += 1;
                    if !self.children[child].is_empty() {
                        self.run_done(child, next, true);
                    }
                }
            }
        }
    }
}

impl Director for Player {
    fn next_at(&self) -> Option<SimTime> {
        match self.pending.front() {
            Some((t, _, _)) => Some(*t),
            None => self.queue.peek().map(|i| i.at),
        }
    }

    fn next_due(&mut self, now: SimTime) -> Option<(Tag, Command)> {
        self.now = self.now.max(now);
        loop {
            if let Some((_, tag, cmd)) = self.pending.pop_front() {
                return Some((tag, cmd));
            }
            let item = *self.queue.peek().filter(|i| i.at <= now)?;
            self.queue.pop();
            match item.what {
                What::Launch { job } => self.launch(item.at, job),
                What::CreateService { service } => {
                    let s = &self.sc.services[service];
                    let cmd = Command::CreateService(CreateService {
                        name: s.name.clone(),
                        task_def: self.defs[s.task_def].into(),
                        desired: s.desired,
                        strategy: Vec::new(),
                        constraints: Vec::new(),
                    });
                    return Some((0, cmd));
                }
                What::Scale { service, step } => {
                    let s = &self.sc.services[service];
                    let cmd = Command::UpdateService {
                        name: s.name.clone(),
                        desired: Some(s.scale[step].1),
                        task_def: None,
                    };
                    if let Some(period) = s.scale_every {
                        self.push(item.at + period, What::Scale { service, step });
                    }
                    return Some((0, cmd));
                }
            }
        }
    }

    fn on_output(&mut self, tag: Option<Tag>, out: &Output, engine: &Engine) {
        if self.cleared {
            return;
        }
        self.now = self.now.max(out.at);
        let launched = tag.and_then(|t| self.tags.remove(&t));
        if let Some(l) = launched {
            if !self.children[l.job].is_empty() {
                for &t in &out.created {
                    self.task_job.insert(t, (l.job, l.run));
                }
                let e = self.jobs[l.job].open.entry(l.run).or_insert((0, false));
                e.0 += out.created.len() as u32;
            }
        }
        if !self.task_job.is_empty() {
            for ev in &out.events {
                if let Event::TaskStateChanged { task, last: TaskStatus::Stopped, .. } = ev {
                    if let Some((job, run)) = self.task_job.remove(task) {
                        let failed = engine.task(*task).is_some_and(|t| {
                            t.failed(|i| engine.def(t.def).containers[i].essential)
                        });
                        let e = self.jobs[job].open.entry(run).or_insert((1, false));
                        e.0 = e.0.saturating_sub(1);
                        e.1 |= failed;
                        if e.0 == 0 {
                            let f = e.1;
                            self.jobs[job].open.remove(&run);
                            self.run_done(job, run, f);
                        }
                    }
                }
            }
        }
        if let Some(l) = launched.filter(|l| l.last && !self.children[l.job].is_empty()) {
            self.release(l.job, l.run);
        }
    }

    fn clear(&mut self) {
        self.cleared = true;
        self.queue.clear();
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(text: &str) -> Scenario {
        crate::scenario::parse(Path::new("s.toml"), text).unwrap()
    }

    /// Drains everything due up to `until`, without an engine (no job chains).
    fn drain(p: &mut Player, until: SimTime) -> Vec<(SimTime, Command)> {
        let mut out = Vec::new();
        while let Some(t) = p.next_at().filter(|t| *t <= until) {
            while let Some((_, c)) = p.next_due(t) {
                out.push((t, c));
            }
        }
        out
    }

    #[test]
    fn repeats_until_the_end_with_runtimes() {
        let sc = scenario(
            "duration = \"1h\"\n[[tasks]]\ntask_def = \"a.json\"\ncount = 2\nevery = \"20m\"\nruntime = \"5m\"\n",
        );
        let s = drain(&mut Player::new(&sc, &[DefId(0)], 1), SimTime(u64::MAX));
        let times: Vec<u64> = s.iter().map(|(t, _)| t.0 / 60_000).collect();
        assert_eq!(times, [0, 0, 20, 20, 40, 40]);
        match &s[0].1 {
            Command::RunTask(rt) => {
                assert_eq!(rt.overrides.runtime, Some(SimDuration::from_secs(300)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_runtime_means_until_the_end_and_services_scale_daily() {
        let sc = scenario(
            "duration = \"2d\"\n[[tasks]]\ntask_def = \"a.json\"\nat = \"4m\"\n[[services]]\nname = \"web\"\ntask_def = \"a.json\"\ndesired = 2\nscale = [{ at = \"8h\", desired = 3 }, { at = \"20h\", desired = 1 }]\nscale_every = \"1d\"\n",
        );
        let s = drain(&mut Player::new(&sc, &[DefId(0)], 1), SimTime(u64::MAX));
        // create, run task at 4m, then 8h/20h on both days.
        let hours: Vec<u64> = s.iter().map(|(t, _)| t.0 / 3_600_000).collect();
        assert_eq!(hours, [0, 0, 8, 20, 32, 44], "{s:?}");
        match &s[1].1 {
            Command::RunTask(rt) => {
                assert_eq!(rt.overrides.runtime, Some(SimDuration(2 * 86_400_000 - 240_000)))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&s[2].1, Command::UpdateService { desired: Some(3), .. }));
    }

    #[test]
    fn chained_jobs_wait_for_their_parents() {
        let sc = scenario(
            "duration = \"1d\"\n[[tasks]]\nname = \"a\"\ntask_def = \"a.json\"\ncount = 2\nruntime = \"1m\"\n[[tasks]]\nname = \"b\"\ntask_def = \"a.json\"\nafter = [\"a\"]\nruntime = \"1m\"\n",
        );
        let mut p = Player::new(&sc, &[DefId(0)], 1);
        // Only a's two tasks are due; b waits for them to stop.
        let s = drain(&mut p, SimTime(u64::MAX));
        assert_eq!(s.len(), 2);
        assert_eq!(p.next_at(), None);
    }
}
