//! The Docker runtime's scenario clock: real Docker latency is measured, not billed.
//!
//! The simulator answers each engine effect after the cluster file's modelled latency
//! (`image_pull`, `container_start`, `provisioning`; a stop is honoured at once; a health check
//! passes after its first interval; a main container exits after its scenario runtime). The
//! Docker runtime used to answer when Docker really had, on a clock of wall time × time scale,
//! so that 0.3 s of container start-up at `--time-scale 120` became 36 s of billed scenario time,
//! and at high scales jobs did not finish inside the scenario at all.
//!
//! Here every effect becomes a [`Pending`] answer due at *its modelled scenario time*, and the
//! report Docker sends is handed to the engine at that time, not when it arrived:
//!
//! - a report that arrives early waits for its due time;
//! - the clock never passes the due time of an answer that has not arrived: it stands still
//!   (scenario time "held") until Docker answers, and the wall time it stood still is measured
//!   as real overhead, apart from the bill (`report::overhead`).
//!
//! So scenario time, and everything billed in it, is the same as the simulator's at any time
//! scale; what a high scale costs is wall time (the run takes longer than `duration / scale`),
//! and the report says how much, and which time scale the machine really held.
//!
//! A main container's exit is due at its start + the scenario's runtime. A stand-in exits by
//! itself (`--seconds`, wall time); an exit with the scenario's code, not OOM, after at least
//! half its planned wall time, is that planned exit and waits for its due time. Any other exit
//! (a crash, an OOM kill, a real image that ends on its own) is taken when it happens. When the
//! due time comes and the container still runs (a real image, or a stand-in that is late), berth
//! stops it and reports the scenario's exit code: the scenario ended it, not a failure.
//!
//! The clock waits at most [`HOLD_LIMIT`] (plus a stop's timeout) for one answer; after that it
//! moves on, the operation counts as overdue, and its report is taken when it comes.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::engine::{ImageId, Report, TaskId};
use crate::report::overhead::{ClockTotals, OpKind, OverheadSample};
use crate::time::{SimDuration, SimTime};

/// The longest the scenario clock waits for one Docker answer (wall time). Generous: on a
/// loaded 2-core machine a container start has been seen to take over 20 s.
pub const HOLD_LIMIT: Duration = Duration::from_secs(60);

/// Scenario time from wall time × scale, except that it stands still at a cap.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start: Instant,
    scale: f64,
    /// Wall time of the last advance, and scenario milliseconds then (fractional, so that
    /// frequent advances do not lose time to rounding).
    mark: Instant,
    at_ms: f64,
    held: Duration,
}

impl Clock {
    pub fn new(scale: f64) -> Clock {
        let now = Instant::now();
        Clock { start: now, scale, mark: now, at_ms: 0.0, held: Duration::ZERO }
    }

    /// Scenario time now (as of the last [`Clock::advance`]).
    pub fn now(&self) -> SimTime {
        SimTime(self.at_ms as u64)
    }

    /// Moves scenario time on by the wall time since the last call × scale, but not past
    /// `cap`; the wall time it could not move counts as held.
    pub fn advance(&mut self, cap: Option<SimTime>) -> SimTime {
        let w = Instant::now();
        let target = self.at_ms + (w - self.mark).as_secs_f64() * self.scale * 1000.0;
        self.mark = w;
        match cap.map(|c| (c.0 as f64).max(self.at_ms)) {
            Some(c) if c < target => {
                self.held += Duration::from_secs_f64((target - c) / 1000.0 / self.scale);
                self.at_ms = c;
            }
            _ => self.at_ms = target,
        }
        self.now()
    }

    /// The wall instant at which the clock, left to run, reaches `t`. Saturates instead of
    /// panicking: a deadline past what `Instant` holds (a tiny scale) is a day from now, and
    /// the loop looks again (`--time-scale 1e-20` used to panic here).
    pub fn wall_at(&self, t: SimTime) -> Instant {
        let ahead = (t.0 as f64 - self.at_ms).max(0.0);
        Duration::try_from_secs_f64(ahead / 1000.0 / self.scale)
            .ok()
            .and_then(|d| self.mark.checked_add(d))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
    }

    pub fn held(&self) -> Duration {
        self.held
    }
}

/// What an answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Provision(TaskId),
    Pull(TaskId, ImageId),
    Start(TaskId, u16),
    Healthy(TaskId, u16),
    Exit(TaskId, u16),
    Cleanup(TaskId),
}

impl Key {
    /// The answer a report is, if the runtime expects one like it.
    fn of(r: &Report) -> Key {
        match *r {
            Report::SlotProvisioned { task } => Key::Provision(task),
            Report::ImagePulled { task, image, .. } => Key::Pull(task, image),
            Report::ContainerStarted { task, container }
            | Report::ContainerStartFailed { task, container, .. } => Key::Start(task, container),
            Report::ContainerHealth { task, container, .. } => Key::Healthy(task, container),
            Report::ContainerExited { task, container, .. } => Key::Exit(task, container),
            Report::TaskCleanedUp { task } => Key::Cleanup(task),
            // Not an answer to an effect: the loop hands it to the engine at once (a sandbox
            // killed from outside), never through the timing queue.
            Report::SandboxExited { task, .. } => Key::Cleanup(task),
            // Likewise handed over at once (its engine is gone; nothing more will come).
            Report::ContainerLost { task, container, .. } => Key::Exit(task, container),
        }
    }

    fn container(self) -> Option<(TaskId, u16)> {
        match self {
            Key::Start(t, c) | Key::Healthy(t, c) | Key::Exit(t, c) => Some((t, c)),
            _ => None,
        }
    }
}

/// A main container's planned end: the scenario's runtime is up at the answer's due time.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    pub exit_code: i32,
    /// A stand-in, which ends itself after `wall_s` seconds of wall time.
    pub stand_in: bool,
    pub wall_s: f64,
    /// When Docker reported it running.
    pub running_since: Instant,
    /// Berth stopped it because the runtime was up (its exit is the planned one).
    pub ending: bool,
}

/// An answer the engine expects at a scenario time.
#[derive(Debug, Clone)]
pub struct Pending {
    pub due: SimTime,
    kind: OpKind,
    /// When the real operation began (wall).
    issued: Instant,
    modelled: SimDuration,
    report: Option<Report>,
    held_since: Option<Instant>,
    limit: Duration,
    planned: Option<Planned>,
    /// For a stop: the exit code a container that had already ended (planned, waiting for its
    /// due time) is reported with, as the simulator would (SIGTERM 143, SIGKILL 137).
    stop_code: Option<i32>,
}

/// What the loop must do at the current scenario time.
#[derive(Debug, Default)]
pub struct Due {
    /// Reports to hand to the engine now, in order.
    pub reports: Vec<Report>,
    /// Containers whose scenario runtime is up but which still run: berth stops them.
    pub end: Vec<(TaskId, u16)>,
}

/// The answers the engine waits for, and what was measured about them.
#[derive(Debug)]
pub struct Timing {
    pub clock: Clock,
    pending: BTreeMap<Key, Pending>,
    /// Reports about a container whose start is not handed over yet: they follow it.
    after_start: HashMap<(TaskId, u16), Vec<Report>>,
    /// Planned exits the clock stopped waiting for: a late exit still gets the planned code.
    late_planned: HashMap<(TaskId, u16), i32>,
    pub samples: Vec<OverheadSample>,
    pub overdue: u64,
}

impl Timing {
    pub fn new(scale: f64) -> Timing {
        Timing {
            clock: Clock::new(scale),
            pending: BTreeMap::new(),
            after_start: HashMap::new(),
            late_planned: HashMap::new(),
            samples: Vec::new(),
            overdue: 0,
        }
    }

    /// The engine will hear about `key` after `modelled` of scenario time from now.
    pub fn expect(&mut self, key: Key, kind: OpKind, modelled: SimDuration) {
        self.expect_at(key, kind, modelled, self.clock.now() + modelled, None, HOLD_LIMIT);
    }

    fn expect_at(
        &mut self,
        key: Key,
        kind: OpKind,
        modelled: SimDuration,
        mut due: SimTime,
        planned: Option<Planned>,
        limit: Duration,
    ) {
        // A container's answers keep their order: an exit never overtakes its start.
        if let Key::Exit(t, c) | Key::Healthy(t, c) = key {
            if let Some(s) = self.pending.get(&Key::Start(t, c)) {
                due = due.max(s.due);
            }
        }
        self.pending.insert(
            key,
            Pending {
                due,
                kind,
                issued: Instant::now(),
                modelled,
                report: None,
                held_since: None,
                limit,
                planned,
                stop_code: None,
            },
        );
    }

    /// The container started (handed to the engine): its first passing health check is due
    /// after `health_interval`, its planned exit (if any) after the scenario's runtime.
    pub fn started(
        &mut self,
        task: TaskId,
        container: u16,
        health_interval: Option<SimDuration>,
        planned: Option<(SimDuration, Planned)>,
    ) -> Vec<Report> {
        let now = self.clock.now();
        if let Some(i) = health_interval {
            self.expect_at(
                Key::Healthy(task, container),
                OpKind::Healthy,
                i,
                now + i,
                None,
                HOLD_LIMIT,
            );
        }
        if let Some((run_for, p)) = planned {
            let key = Key::Exit(task, container);
            self.expect_at(
                key,
                OpKind::Stop,
                SimDuration::ZERO,
                now + run_for,
                Some(p),
                HOLD_LIMIT,
            );
        }
        self.after_start.remove(&(task, container)).unwrap_or_default()
    }

    /// The engine asked to stop (or kill) a container. Returns true when it has already
    /// ended (its planned exit is waiting for its due time): that exit answers the stop now.
    pub fn stop_asked(&mut self, task: TaskId, container: u16, code: i32, limit: Duration) -> bool {
        let key = Key::Exit(task, container);
        self.pending.remove(&Key::Healthy(task, container));
        let waiting = self.pending.remove(&key).and_then(|p| p.report);
        if let Some(Report::ContainerExited { task, container, oom, .. }) = waiting {
            // Ended on its own before the scenario said so, but the scenario stops it first.
            let report = Report::ContainerExited { task, container, exit_code: code, oom };
            self.expect_at(key, OpKind::Stop, SimDuration::ZERO, self.clock.now(), None, limit);
            if let Some(p) = self.pending.get_mut(&key) {
                p.report = Some(report);
            }
            return true;
        }
        self.expect_at(key, OpKind::Stop, SimDuration::ZERO, self.clock.now(), None, limit);
        if let Some(p) = self.pending.get_mut(&key) {
            p.stop_code = Some(code);
        }
        false
    }

    /// A report from Docker. Returns the report if the engine should have it now; `None`
    /// when it waits for its due time (or for its container's start).
    pub fn arrived(&mut self, r: Report) -> Option<Report> {
        let key = Key::of(&r);
        let Some(p) = self.pending.get_mut(&key) else {
            return self.unexpected(key, r);
        };
        let r = match (&r, p.planned) {
            // A health check that fails is news now, and the pass it expected will not come.
            (Report::ContainerHealth { healthy: false, .. }, _) => {
                self.pending.remove(&key);
                return self.unexpected(key, r);
            }
            (Report::ContainerExited { task, container, exit_code, oom }, Some(pl)) => {
                let planned = pl.ending
                    || (pl.stand_in
                        && *exit_code == pl.exit_code
                        && !oom
                        && pl.running_since.elapsed().as_secs_f64() >= pl.wall_s / 2.0 - 0.25);
                if !planned {
                    // A crash, an OOM kill, a real image ending on its own: taken as it happens.
                    self.pending.remove(&key);
                    self.pending.remove(&Key::Healthy(*task, *container));
                    return Some(r);
                }
                if pl.ending {
                    self.samples.push(OverheadSample {
                        task: *task,
                        kind: OpKind::Stop,
                        real_s: p.issued.elapsed().as_secs_f64(),
                        modelled_s: 0.0,
                    });
                }
                Report::ContainerExited {
                    task: *task,
                    container: *container,
                    exit_code: pl.exit_code,
                    oom: false,
                }
            }
            _ => {
                let task = match key {
                    Key::Provision(t) | Key::Pull(t, _) | Key::Cleanup(t) => t,
                    Key::Start(t, _) | Key::Healthy(t, _) | Key::Exit(t, _) => t,
                };
                self.samples.push(OverheadSample {
                    task,
                    kind: p.kind,
                    real_s: p.issued.elapsed().as_secs_f64(),
                    modelled_s: p.modelled.as_secs_f64(),
                });
                r
            }
        };
        p.report = Some(r);
        None
    }

    /// A report nothing waits for: now, unless its container's start is still to be handed
    /// over (then right after it).
    fn unexpected(&mut self, key: Key, r: Report) -> Option<Report> {
        if let Some((t, c)) = key.container() {
            if !matches!(key, Key::Start(..)) && self.pending.contains_key(&Key::Start(t, c)) {
                self.after_start.entry((t, c)).or_default().push(r);
                return None;
            }
            if let Report::ContainerExited { task, container, oom, .. } = r {
                if let Some(code) = self.late_planned.remove(&(t, c)) {
                    return Some(Report::ContainerExited { task, container, exit_code: code, oom });
                }
            }
        }
        Some(r)
    }

    /// The earliest due time: the clock may not pass it.
    pub fn cap(&self) -> Option<SimTime> {
        self.pending.values().map(|p| p.due).min()
    }

    /// What is due at the current scenario time: answers that arrived, in due order, and
    /// containers to end. Gives up on answers held longer than their limit.
    pub fn due(&mut self) -> Due {
        let now = self.clock.now();
        let mut out = Due::default();
        let mut ready: Vec<(SimTime, Key)> = Vec::new();
        let mut give_up = Vec::new();
        for (k, p) in self.pending.iter_mut().filter(|(_, p)| p.due <= now) {
            if p.report.is_some() {
                ready.push((p.due, *k));
                continue;
            }
            let since = *p.held_since.get_or_insert_with(Instant::now);
            if let Some(pl) = p.planned.as_mut().filter(|pl| !pl.ending) {
                pl.ending = true;
                p.issued = Instant::now();
                p.held_since = Some(p.issued);
                if let Some(c) = k.container() {
                    out.end.push(c);
                }
            } else if since.elapsed() > p.limit {
                give_up.push(*k);
            }
        }
        ready.sort();
        for (_, k) in ready {
            if let Some(r) = self.pending.remove(&k).and_then(|p| p.report) {
                out.reports.push(r);
            }
        }
        for k in give_up {
            if let Some(p) = self.pending.remove(&k) {
                self.overdue += 1;
                tracing::warn!(?k, waited = ?p.held_since.map(|s| s.elapsed()), "Docker answer overdue; the scenario clock moves on");
                if let (Some(pl), Some(c)) = (p.planned, k.container()) {
                    self.late_planned.insert(c, pl.exit_code);
                }
            }
        }
        out
    }

    /// A report was handed to the engine: answers that depended on it go.
    pub fn delivered(&mut self, r: &Report) {
        match *r {
            Report::ContainerStartFailed { task, container, .. }
            | Report::ContainerLost { task, container, .. } => {
                self.pending.remove(&Key::Start(task, container));
                self.pending.remove(&Key::Exit(task, container));
                self.pending.remove(&Key::Healthy(task, container));
                self.after_start.remove(&(task, container));
            }
            Report::ContainerExited { task, container, .. } => {
                self.pending.remove(&Key::Healthy(task, container));
            }
            _ => {}
        }
    }

    /// When the loop must look again, at the latest: the next due time that has not come, or
    /// the end of the longest wait for an answer that is late.
    pub fn next_wake(&self) -> Option<Instant> {
        let now = self.clock.now();
        self.pending
            .values()
            .map(|p| {
                if p.due > now {
                    self.clock.wall_at(p.due)
                } else {
                    p.held_since.unwrap_or_else(Instant::now) + p.limit
                }
            })
            .min()
    }

    pub fn totals(&self, wall: Duration) -> ClockTotals {
        ClockTotals {
            time_scale: self.clock.scale,
            wall_seconds: wall.as_secs_f64(),
            held_wall_seconds: self.clock.held().as_secs_f64(),
            scenario_seconds: self.clock.now().as_secs_f64(),
            overdue: self.overdue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> Report {
        Report::ContainerExited { task: TaskId(1), container: 0, exit_code: code, oom: false }
    }

    #[test]
    fn the_clock_stands_still_at_its_cap_and_counts_the_wait() {
        let mut c = Clock::new(1000.0);
        std::thread::sleep(Duration::from_millis(30));
        let t = c.advance(Some(SimTime(5_000)));
        assert_eq!(t, SimTime(5_000), "30 ms × 1000 = 30 s, capped at 5 s");
        assert!(c.held() >= Duration::from_millis(20), "{:?}", c.held());
        std::thread::sleep(Duration::from_millis(10));
        assert!(c.advance(None) >= SimTime(5_000 + 9_000));
    }

    #[test]
    fn an_early_answer_waits_for_its_modelled_time_and_a_late_one_holds_the_clock() {
        let mut t = Timing::new(1000.0);
        let start = Report::ContainerStarted { task: TaskId(1), container: 0 };
        t.expect(Key::Start(TaskId(1), 0), OpKind::Start, SimDuration::from_secs(2));
        // Docker answers at once: the engine hears of it only at 2 s.
        assert_eq!(t.arrived(start.clone()), None);
        assert!(t.due().reports.is_empty());
        std::thread::sleep(Duration::from_millis(10)); // 10 s of scenario time at 1000×
        assert_eq!(t.clock.advance(t.cap()), SimTime(2_000));
        assert_eq!(t.due().reports, vec![start]);
        // A start nobody has answered yet holds the clock at its due time.
        t.expect(Key::Start(TaskId(2), 0), OpKind::Start, SimDuration::from_secs(1));
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(t.clock.advance(t.cap()), SimTime(3_000));
        assert!(t.due().reports.is_empty());
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(t.clock.advance(t.cap()), SimTime(3_000), "still held");
        assert_eq!(t.samples.len(), 1);
    }

    #[test]
    fn a_planned_exit_waits_for_the_runtime_and_a_crash_does_not() {
        let mut t = Timing::new(1000.0);
        let planned = |stand_in| Planned {
            exit_code: 0,
            stand_in,
            wall_s: 0.0,
            running_since: Instant::now(),
            ending: false,
        };
        t.started(TaskId(1), 0, None, Some((SimDuration::from_secs(60), planned(true))));
        assert_eq!(t.arrived(exited(0)), None, "the stand-in's own exit waits for 60 s");
        assert_eq!(t.cap(), Some(SimTime(60_000)));
        t.started(TaskId(1), 0, None, Some((SimDuration::from_secs(60), planned(true))));
        assert_eq!(t.arrived(exited(3)), Some(exited(3)), "another code is a crash: now");
        // A real image still running when the runtime is up is ended by berth, with the
        // scenario's code.
        t.started(TaskId(1), 0, None, Some((SimDuration::ZERO, planned(false))));
        let due = t.due();
        assert_eq!(due.end, vec![(TaskId(1), 0)]);
        assert_eq!(t.arrived(exited(143)), None);
        assert_eq!(t.due().reports, vec![exited(0)]);
    }

    #[test]
    fn an_exit_never_overtakes_its_start() {
        let mut t = Timing::new(1000.0);
        t.expect(Key::Start(TaskId(1), 0), OpKind::Start, SimDuration::from_secs(2));
        assert_eq!(t.arrived(exited(3)), None, "held until the start is handed over");
        let start = Report::ContainerStarted { task: TaskId(1), container: 0 };
        assert_eq!(t.arrived(start), None);
        std::thread::sleep(Duration::from_millis(5));
        t.clock.advance(t.cap());
        assert_eq!(t.due().reports.len(), 1);
        assert_eq!(t.started(TaskId(1), 0, None, None), vec![exited(3)]);
    }
}
