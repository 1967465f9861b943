//! Limits on how much work one scenario may ask for, counted from the file before anything runs.
//!
//! The simulator schedules launches lazily, so a runaway schedule (`every = "1ms"` over a month,
//! `scale_every = "1ms"`) does not fail when it is parsed: it fails hours later, when memory runs
//! out or the run never ends. These limits turn that into an error at parse time that names the
//! key, the count it would lead to and the limit. The counts are computed in closed form (or by
//! walking at most [`MAX_SCALE_CALLS`] steps), never by expanding the schedule.
//!
//! The figures behind the limits (docs/scenario-files.md, "Limits"): a task that has not stopped
//! costs the simulator about 800 bytes (measured: a million tasks waiting for room took 800 MB),
//! and the simulator plays 2–7 million events a second; the benchmark month
//! (`berth bench simulate`, 10,000 tasks running at once for 30 days) launches 7.2 million tasks.

use super::{Job, Repeat, ServiceSpec};
pub use crate::diag::grouped;
use crate::time::SimDuration;

/// The longest scenario: 100 years. The simulator's queue packs an event's time in milliseconds
/// into the top 44 bits of its key (`sim::key`), which holds about 557 years; past that, times
/// wrap and a run neither ends nor stays in memory (measured with a daily job: 200,000 days,
/// just below 2^44 ms, ran in 5 s and 18 MB; 210,000 days grew to 4.3 GB in 30 s). A hundred years stays well inside, and is
/// already far beyond what dated prices can say.
pub const MAX_DURATION: SimDuration = SimDuration(36_500 * 86_400_000);

/// Why the duration limit is what it is, for the error's hint.
pub const DURATION_WHY: &str = "the simulator keeps scenario time in milliseconds in 44 bits of \
    its event keys (about 557 years), and the prices are a dated snapshot; simulate a \
    representative stretch (a month, a year) instead";

/// Tasks a scenario may launch per mode, summed over jobs and services (expected counts for
/// random arrivals). Allows the benchmark month (7.2 million) with room to spare, and bounds the
/// memory of a run whose tasks all wait for capacity at about 8 GB.
pub const MAX_TASK_LAUNCHES: u64 = 10_000_000;

/// UpdateService calls a scenario may make (scale steps times their repeats). A daily pattern of
/// a few steps over a year is a few thousand; a million is a scale step every 2.6 s for a month.
pub const MAX_SCALE_CALLS: u64 = 1_000_000;

/// Why the task limit is what it is, for the error's hint.
pub const TASK_LIMIT_WHY: &str = "berth keeps every task that has not stopped in memory (about \
    800 bytes each) and plays every launch as events; the limit allows the benchmark's month of \
    10,000 tasks running at once (7.2 million launches). Launch less often (every, arrivals), \
    fewer at a time (count) or for less time (until, duration)";

/// Why the scale-call limit is what it is, for the error's hint.
pub const SCALE_LIMIT_WHY: &str = "every UpdateService call is an event the simulator plays and \
    may start or stop tasks; a daily pattern over a year is 365 calls per step. Use a longer \
    scale_every or fewer steps";

/// How many times a job is launched (RunTask rounds) in a scenario of `duration`; random arrivals
/// give the expected number. `parent_runs` is, for a job with `after`, the fewest runs of the jobs
/// it waits for (it runs once per run of them, at most).
pub fn job_runs(job: &Job, duration: SimDuration, parent_runs: Option<f64>) -> f64 {
    if let Some(p) = parent_runs {
        return p;
    }
    let end = job.until.map_or(duration, |u| u.min(duration));
    if job.at >= end {
        return 0.0;
    }
    let span = (end.0 - job.at.0) as f64;
    match job.repeat {
        Repeat::Once => 1.0,
        Repeat::Every { period } => ((end.0 - 1 - job.at.0) / period.0.max(1)) as f64 + 1.0,
        Repeat::Random { gap } => 1.0 + span / gap.mean().max(1.0),
    }
}

/// Tasks each job launches (runs × `count`, expected for random arrivals), indexed like `jobs`;
/// `order` lists every job after the jobs it waits for.
pub fn job_tasks(jobs: &[Job], order: &[usize], duration: SimDuration) -> Vec<f64> {
    let mut runs = vec![0.0f64; jobs.len()];
    let mut tasks = vec![0.0f64; jobs.len()];
    for &j in order {
        let job = &jobs[j];
        let parents = (!job.after.is_empty())
            .then(|| job.after.iter().map(|&a| runs[a]).fold(f64::INFINITY, f64::min));
        runs[j] = job_runs(job, duration, parents);
        tasks[j] = runs[j] * job.count as f64;
    }
    tasks
}

/// A service's UpdateService calls and an upper bound on the tasks it starts (the desired count
/// at creation plus every increase a scale step asks for), in a scenario of `duration`.
/// Replacements of tasks that stop on their own are not counted: they depend on the run.
///
/// The calls are counted in closed form first; only when they are within [`MAX_SCALE_CALLS`]
/// are they walked to add up the increases.
pub fn service_load(s: &ServiceSpec, duration: SimDuration) -> (u64, u64) {
    let end = duration.0;
    let occurrences = |t: u64| -> u64 {
        match s.scale_every {
            _ if t >= end => 0,
            Some(p) => (end - 1 - t) / p.0.max(1) + 1,
            None => 1,
        }
    };
    let calls = s.scale.iter().fold(0u64, |acc, (t, _)| acc.saturating_add(occurrences(t.0)));
    let mut launches = if s.at < duration { s.desired as u64 } else { 0 };
    if calls > MAX_SCALE_CALLS {
        return (calls, launches);
    }
    let mut prev = s.desired as u64;
    let mut k = 0u64;
    'cycles: loop {
        for &(t, d) in &s.scale {
            let at = match s.scale_every {
                Some(p) => t.0.saturating_add(k.saturating_mul(p.0)),
                None => t.0,
            };
            if at >= end {
                break 'cycles;
            }
            launches = launches.saturating_add((d as u64).saturating_sub(prev));
            prev = d as u64;
        }
        k += 1;
        if s.scale_every.is_none() || s.scale.is_empty() {
            break;
        }
    }
    (calls, launches)
}

/// Checks a parsed scenario against the limits at another `duration` (`berth run --duration`
/// replaces the file's): the parser checked the file's own duration, at the keys; this says what
/// the new one would lead to, in one line.
pub fn check_duration(sc: &super::Scenario, duration: SimDuration) -> Result<(), String> {
    if duration > MAX_DURATION {
        return Err(format!(
            "{duration} is longer than the limit of {MAX_DURATION} (100 years): {DURATION_WHY}"
        ));
    }
    let mut tasks: f64 = job_tasks(&sc.jobs, &sc.job_order, duration).iter().sum();
    let mut calls = 0u64;
    for s in &sc.services {
        let (c, launched) = service_load(s, duration);
        calls = calls.saturating_add(c);
        tasks += launched as f64;
    }
    if calls > MAX_SCALE_CALLS {
        return Err(format!(
            "over {duration} the services would make {} UpdateService calls; the limit is {} per \
             scenario: {SCALE_LIMIT_WHY}",
            grouped(calls),
            grouped(MAX_SCALE_CALLS)
        ));
    }
    if tasks > MAX_TASK_LAUNCHES as f64 {
        return Err(format!(
            "over {duration} the scenario would launch {} tasks; the limit is {} task launches \
             per scenario: {TASK_LIMIT_WHY}",
            grouped(tasks.min(u64::MAX as f64) as u64),
            grouped(MAX_TASK_LAUNCHES)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Dist;

    fn job(repeat: Repeat, at: u64, until: Option<u64>) -> Job {
        Job {
            name: "j".into(),
            task_def: 0,
            count: 1,
            at: SimDuration(at),
            repeat,
            until: until.map(SimDuration),
            runtime: None,
            exit_code: None,
            container: None,
            after: vec![],
        }
    }

    #[test]
    fn runs_of_a_fixed_period_match_the_simulator() {
        // Launches at 0, 10, 20, ..., 90: ten, none at the end itself.
        let every = Repeat::Every { period: SimDuration(10) };
        assert_eq!(job_runs(&job(every, 0, None), SimDuration(100), None), 10.0);
        assert_eq!(job_runs(&job(every, 5, None), SimDuration(100), None), 10.0);
        assert_eq!(job_runs(&job(every, 0, Some(50)), SimDuration(100), None), 5.0);
        assert_eq!(job_runs(&job(every, 100, None), SimDuration(100), None), 0.0);
        assert_eq!(job_runs(&job(Repeat::Once, 0, None), SimDuration(100), None), 1.0);
        let month = SimDuration::from_secs(30 * 86_400);
        let ms = Repeat::Every { period: SimDuration(1) };
        assert_eq!(job_runs(&job(ms, 0, None), month, None), 2_592_000_000.0);
    }

    #[test]
    fn random_arrivals_count_their_expectation() {
        let gap = Repeat::Random { gap: Dist::Exp { mean: SimDuration(360) } };
        let month = SimDuration::from_secs(30 * 86_400);
        let n = job_runs(&job(gap, 0, None), month, None);
        assert!((n - 7_200_001.0).abs() < 1.0, "{n}");
        assert_eq!(job_runs(&job(gap, 0, None), month, Some(3.0)), 3.0);
    }

    #[test]
    fn another_duration_is_checked_too() {
        let text = "duration = \"1h\"\n[[tasks]]\ntask_def = \"a.json\"\nevery = \"1ms\"\n";
        let sc = crate::scenario::parse(std::path::Path::new("s.toml"), text).unwrap();
        assert!(check_duration(&sc, SimDuration::from_secs(60)).is_ok());
        let e = check_duration(&sc, SimDuration::from_secs(30 * 86_400)).unwrap_err();
        assert!(e.starts_with("over 30d the scenario would launch 2,592,000,000 tasks"), "{e}");
        let e = check_duration(&sc, SimDuration(MAX_DURATION.0 + 1)).unwrap_err();
        assert!(e.contains("is longer than the limit of 36500d"), "{e}");
    }

    #[test]
    fn service_calls_and_launches() {
        let s = ServiceSpec {
            name: "web".into(),
            task_def: 0,
            desired: 4,
            at: SimDuration::ZERO,
            scale: vec![(SimDuration(8), 10), (SimDuration(20), 4)],
            scale_every: Some(SimDuration(24)),
        };
        // Cycles start at 0, 24, 48, 72: four each of the two steps, within 96.
        assert_eq!(service_load(&s, SimDuration(96)), (8, 4 + 6 * 4));
        let once = ServiceSpec { scale_every: None, ..s.clone() };
        assert_eq!(service_load(&once, SimDuration(96)), (2, 10));
        let fast = ServiceSpec {
            scale_every: Some(SimDuration(1)),
            scale: vec![(SimDuration::ZERO, 5)],
            ..s
        };
        let month = SimDuration::from_secs(30 * 86_400);
        assert_eq!(service_load(&fast, month).0, 2_592_000_000);
    }
}
