//! A scenario as a list of timed engine commands, for the Docker runtime.
//!
//! The launches are computed exactly as the simulator computes them (`src/sim/mod.rs`
//! `Sim::launch`): the same per-job random streams (`SeededRng::new(seed, 2j+1)` for arrival
//! gaps, `2j+2` for runtimes), one RunTask per task with the sampled runtime (or "until the end
//! of the scenario") and the job's exit code, services created and scaled at their times, and
//! nothing at or after the scenario's end. That is what makes a Docker run comparable with a
//! simulation of the same scenario and seed.
//!
//! Jobs that wait for other jobs (`after`) depend on how earlier runs ended, which only the
//! simulator's event loop tracks today; `berth run` refuses them with a clear message instead of
//! a second implementation of the job DAG.

use crate::engine::rng::SeededRng;
use crate::engine::{Command, CreateService, DefId, RunTask, TaskOverrides};
use crate::scenario::{Repeat, Scenario};
use crate::time::{SimDuration, SimTime};

use super::runtime::Script;

/// The commands of `sc` with task definitions registered as `defs` (in `sc.task_defs` order).
pub fn compile(sc: &Scenario, defs: &[DefId], seed: u64) -> Result<Script, String> {
    let end = SimTime(sc.duration.0);
    let mut script: Script = Vec::new();
    for (j, job) in sc.jobs.iter().enumerate() {
        if !job.after.is_empty() {
            return Err(format!(
                "job {:?} waits for other jobs (`after`); `berth run` cannot play job chains yet, use `berth simulate` for this scenario",
                job.name
            ));
        }
        let mut arrivals = SeededRng::new(seed, 2 * j as u64 + 1);
        let mut runtimes = SeededRng::new(seed, 2 * j as u64 + 2);
        let mut at = SimTime::ZERO + job.at;
        while at < end {
            for _ in 0..job.count {
                let runtime = job
                    .runtime
                    .map(|d| d.sample(&mut runtimes))
                    .or_else(|| Some(SimDuration(end.0.saturating_sub(at.0))));
                let mut rt = RunTask::new(defs[job.task_def], 1);
                rt.overrides = TaskOverrides { runtime, exit_code: job.exit_code };
                script.push((at, Command::RunTask(rt)));
            }
            let next = match job.repeat {
                Repeat::Once => break,
                Repeat::Every { period } => at + period,
                Repeat::Random { gap } => at + gap.sample(&mut arrivals).max(SimDuration(1)),
            };
            if job.until.is_some_and(|u| next.0 >= u.0) {
                break;
            }
            at = next;
        }
    }
    for s in &sc.services {
        let at = SimTime::ZERO + s.at;
        if at < end {
            script.push((
                at,
                Command::CreateService(CreateService {
                    name: s.name.clone(),
                    task_def: defs[s.task_def].into(),
                    desired: s.desired,
                    strategy: Vec::new(),
                    constraints: Vec::new(),
                }),
            ));
        }
        for (t, desired) in &s.scale {
            let at = SimTime::ZERO + *t;
            if at < end {
                script.push((
                    at,
                    Command::UpdateService {
                        name: s.name.clone(),
                        desired: Some(*desired),
                        task_def: None,
                    },
                ));
            }
        }
    }
    // Stable: equal times keep job order, as the simulator's sequence numbers do.
    script.sort_by_key(|(t, _)| *t);
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(text: &str) -> Scenario {
        crate::scenario::parse(Path::new("s.toml"), text).unwrap()
    }

    #[test]
    fn repeats_until_the_end_with_runtimes() {
        let sc = scenario(
            "duration = \"1h\"\n[[tasks]]\ntask_def = \"a.json\"\ncount = 2\nevery = \"20m\"\nruntime = \"5m\"\n",
        );
        let s = compile(&sc, &[DefId(0)], 1).unwrap();
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
    fn no_runtime_means_until_the_end_and_services_scale() {
        let sc = scenario(
            "duration = \"10m\"\n[[tasks]]\ntask_def = \"a.json\"\nat = \"4m\"\n[[services]]\nname = \"web\"\ntask_def = \"a.json\"\ndesired = 2\nscale = [{ at = \"5m\", desired = 3 }, { at = \"11m\", desired = 1 }]\n",
        );
        let s = compile(&sc, &[DefId(0)], 1).unwrap();
        assert_eq!(s.len(), 3, "{s:?}");
        match &s[1].1 {
            Command::RunTask(rt) => {
                assert_eq!(rt.overrides.runtime, Some(SimDuration::from_secs(360)))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&s[2].1, Command::UpdateService { desired: Some(3), .. }));
    }
}
