//! The real overhead a Docker run measured, kept apart from the scenario's bill.
//!
//! `berth run` bills scenario time exactly as `berth simulate` does: every Docker operation
//! (provisioning a sandbox, checking an image, creating and starting a container, a health
//! check passing, stopping, removing) takes the cluster file's modelled latency in scenario
//! time, and the scenario clock waits for the real operation when it is slower (see
//! `docs/docker-runtime.md`, "Time"). What the real operations cost in wall time is measured
//! here instead: per kind of operation, how long Docker really took, against the modelled
//! latency at the run's time scale, how long the scenario clock had to wait, and what that
//! latency would have added to the bill had it been billed as scenario time (the behaviour this
//! replaced: start-up latency times the time scale, billed to every Fargate task).
//!
//! Pure: the runtime fills [`OverheadSample`]s; [`Overhead::build`] summarises and prices them.

use std::collections::BTreeMap;

use rust_decimal::prelude::FromPrimitive;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Mode, TaskId};
use crate::money::Usd;
use crate::taskdef::fargate::FargateSize;

use super::PriceContext;

/// A kind of Docker operation the scenario clock accounts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// A Fargate slot: the sandbox container that owns the task's network namespace.
    Provision,
    /// Checking that the image is present (berth never pulls).
    Pull,
    /// Create + start of a container, until Docker reports it running.
    Start,
    /// The first passing health check.
    Healthy,
    /// From the stop (or the end of the scenario's runtime) to Docker reporting the exit.
    Stop,
    /// Removing a task's containers and sandbox.
    Cleanup,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Provision => "provision",
            OpKind::Pull => "pull",
            OpKind::Start => "start",
            OpKind::Healthy => "healthy",
            OpKind::Stop => "stop",
            OpKind::Cleanup => "cleanup",
        }
    }

    /// Whether the operation lies on a task's billed interval (Fargate bills from the pull's
    /// start to the task's stop; a health check passing does not change when billing ends).
    fn billed(self) -> bool {
        !matches!(self, OpKind::Healthy)
    }
}

/// One measured operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverheadSample {
    pub task: TaskId,
    pub kind: OpKind,
    /// How long Docker really took (wall seconds).
    pub real_s: f64,
    /// The latency the cluster file models for it (scenario seconds).
    pub modelled_s: f64,
}

/// Real latency of one kind of operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpLine {
    pub kind: OpKind,
    pub count: u64,
    /// Wall milliseconds Docker took: mean and maximum.
    pub mean_ms: f64,
    pub max_ms: f64,
    /// The modelled latency in wall milliseconds at the run's time scale (mean).
    pub modelled_ms: f64,
    /// Operations that took longer than modelled (the scenario clock waited for them).
    pub slower_than_modelled: u64,
}

/// The `overhead` section of one mode of a Docker run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overhead {
    pub time_scale: f64,
    /// Wall seconds from the start of the scenario clock to the end of the run.
    pub wall_seconds: f64,
    /// Wall seconds the scenario clock stood still, waiting for Docker.
    pub held_wall_seconds: f64,
    /// Scenario seconds played per wall second: the time scale the machine really held.
    pub effective_time_scale: f64,
    pub operations: Vec<OpLine>,
    /// Operations the clock stopped waiting for after the bound (their reports came late and
    /// were taken at the scenario time they arrived).
    pub overdue: u64,
    /// Scenario seconds that real latency beyond the modelled one would have added to billed
    /// task time, had it been billed as scenario time (it is not).
    pub unbilled_task_seconds: f64,
    /// What those seconds would have cost: Fargate tasks at their size's rate; zero in ECS
    /// mode, whose hosts are billed for the whole scenario either way.
    pub unbilled_usd: Usd,
}

/// Wall-clock totals of a run, as the runtime measured them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClockTotals {
    pub time_scale: f64,
    pub wall_seconds: f64,
    pub held_wall_seconds: f64,
    /// Scenario seconds the clock advanced.
    pub scenario_seconds: f64,
    pub overdue: u64,
}

impl Overhead {
    /// Summarises the samples and prices the unbilled latency (`engine` is the run's, after
    /// the run: it still knows each task's Fargate size).
    pub fn build(
        clock: ClockTotals,
        samples: &[OverheadSample],
        engine: &Engine,
        px: &PriceContext,
    ) -> Overhead {
        let scale = clock.time_scale.max(f64::MIN_POSITIVE);
        let mut by_kind: BTreeMap<OpKind, Vec<&OverheadSample>> = BTreeMap::new();
        for s in samples {
            by_kind.entry(s.kind).or_default().push(s);
        }
        let operations = by_kind
            .into_iter()
            .map(|(kind, v)| {
                let n = v.len() as f64;
                OpLine {
                    kind,
                    count: v.len() as u64,
                    mean_ms: round1(v.iter().map(|s| s.real_s).sum::<f64>() / n * 1000.0),
                    max_ms: round1(v.iter().map(|s| s.real_s).fold(0.0, f64::max) * 1000.0),
                    modelled_ms: round1(
                        v.iter().map(|s| s.modelled_s).sum::<f64>() / n / scale * 1000.0,
                    ),
                    slower_than_modelled: v
                        .iter()
                        .filter(|s| s.real_s * scale > s.modelled_s)
                        .count() as u64,
                }
            })
            .collect();
        let mut excess: BTreeMap<TaskId, f64> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.kind.billed()) {
            *excess.entry(s.task).or_default() += (s.real_s * scale - s.modelled_s).max(0.0);
        }
        let unbilled_task_seconds: f64 = excess.values().sum();
        let unbilled_usd = match engine.mode() {
            Mode::Ecs => Usd::ZERO,
            Mode::Fargate => excess
                .iter()
                .filter_map(|(t, secs)| Some(fargate_per_second(engine, *t, px)? * usd(*secs)))
                .sum(),
        };
        Overhead {
            time_scale: clock.time_scale,
            wall_seconds: round3(clock.wall_seconds),
            held_wall_seconds: round3(clock.held_wall_seconds),
            effective_time_scale: if clock.wall_seconds > 0.0 {
                round3(clock.scenario_seconds / clock.wall_seconds)
            } else {
                clock.time_scale
            },
            operations,
            overdue: clock.overdue,
            unbilled_task_seconds: round1(unbilled_task_seconds),
            unbilled_usd: unbilled_usd.round_dp(6),
        }
    }

    /// True when the clock waited for Docker for more than a quarter of the run: the time scale
    /// asked for was more than this machine could hold.
    pub fn scale_not_held(&self) -> bool {
        self.wall_seconds > 0.0 && self.held_wall_seconds > self.wall_seconds / 4.0
    }

    /// The text section (after the report, with the measured usage).
    pub fn render_text(&self, mode_name: &str) -> String {
        let mut s = format!(
            "  {mode_name}: {:.1} s of wall time, the scenario clock waited {:.1} s for Docker; effective time scale {} (asked {})\n",
            self.wall_seconds, self.held_wall_seconds, self.effective_time_scale, self.time_scale
        );
        for op in &self.operations {
            s.push_str(&format!(
                "    {:<9} {:>4} × mean {:>7.1} ms, max {:>7.1} ms (modelled {:.1} ms at this scale; {} slower)\n",
                op.kind.as_str(),
                op.count,
                op.mean_ms,
                op.max_ms,
                op.modelled_ms,
                op.slower_than_modelled
            ));
        }
        if self.overdue > 0 {
            s.push_str(&format!(
                "    {} operation(s) took longer than the clock waits for; their reports were taken late\n",
                self.overdue
            ));
        }
        s.push_str(&format!(
            "    not billed: {:.1} task-seconds of real latency beyond the modelled one (would have cost {})\n",
            self.unbilled_task_seconds,
            crate::money::format_usd(self.unbilled_usd)
        ));
        if self.scale_not_held() {
            s.push_str(&format!(
                "    note: Docker could not keep up with --time-scale {}; this machine held about {}\n",
                self.time_scale, self.effective_time_scale
            ));
        }
        s
    }
}

/// A Fargate task's price per second of its size.
fn fargate_per_second(engine: &Engine, task: TaskId, px: &PriceContext) -> Option<Usd> {
    let t = engine.task(task)?;
    let size: FargateSize = t.fargate_size?;
    let p = &engine.def(t.def).def.runtime_platform;
    let rate =
        px.catalog.fargate_rate(&px.cluster.region, p.os, p.arch, px.cluster.fargate.spot).ok()?;
    Some(rate.hourly(size) / crate::money::seconds_per_hour())
}

fn usd(x: f64) -> Usd {
    Usd::from_f64(x).unwrap_or(Usd::ZERO)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use crate::engine::{Command, Effect, RunTask};
    use crate::pricing::Catalog;
    use crate::taskdef::model::{ContainerDefinition, NetworkMode, TaskDefinition};
    use crate::time::SimTime;

    /// A Fargate engine with one 1 vCPU / 2 GB task, and its price context.
    fn fargate_task() -> (Engine, TaskId, PriceContext) {
        let catalog = Arc::new(Catalog::builtin());
        let text = "name = \"t\"\nregion = \"us-east-1\"\n\n[[hosts]]\ninstance_type = \"t3.medium\"\ncount = 1\n";
        let cluster = Arc::new(crate::cluster::parse_str("c.toml", text, &catalog).unwrap());
        let mut td = TaskDefinition::new("job", vec![ContainerDefinition::new("job", "img")]);
        td.network_mode = NetworkMode::Awsvpc;
        td.cpu_units = Some(1024);
        td.memory_mib = Some(2048);
        let mut e = Engine::new(cluster.clone(), Mode::Fargate, 1);
        let def = e.register(td);
        let out = e.handle(SimTime::ZERO, Command::RunTask(RunTask::new(def, 1))).unwrap();
        let task = out
            .effects
            .iter()
            .find_map(|f| match f {
                Effect::ProvisionSlot { task, .. } => Some(*task),
                _ => None,
            })
            .unwrap();
        (e, task, PriceContext { cluster, catalog })
    }

    fn sample(task: TaskId, kind: OpKind, real_s: f64, modelled_s: f64) -> OverheadSample {
        OverheadSample { task, kind, real_s, modelled_s }
    }

    #[test]
    fn latency_beyond_the_modelled_is_priced_but_not_billed() {
        let (engine, task, px) = fargate_task();
        let clock = ClockTotals {
            time_scale: 100.0,
            wall_seconds: 20.0,
            held_wall_seconds: 8.0,
            scenario_seconds: 1200.0,
            overdue: 0,
        };
        let samples = [
            // 2 s of start at scale 100 is 200 scenario s; 2 s of it were modelled.
            sample(task, OpKind::Start, 2.0, 2.0),
            // Faster than modelled: no excess.
            sample(task, OpKind::Pull, 0.01, 20.0),
            // A health check is not on the billed interval.
            sample(task, OpKind::Healthy, 5.0, 10.0),
        ];
        let o = Overhead::build(clock, &samples, &engine, &px);
        assert_eq!(o.unbilled_task_seconds, 198.0);
        assert_eq!(o.effective_time_scale, 60.0);
        assert!(o.scale_not_held(), "8 of 20 s held");
        let start = o.operations.iter().find(|l| l.kind == OpKind::Start).unwrap();
        assert_eq!((start.count, start.mean_ms, start.modelled_ms), (1, 2000.0, 20.0));
        assert_eq!(start.slower_than_modelled, 1);
        // 198 s of 1 vCPU / 2 GB at the built-in us-east-1 Linux/x86 rates.
        let rate = px
            .catalog
            .fargate_rate(
                "us-east-1",
                crate::taskdef::model::OsFamily::Linux,
                crate::taskdef::model::CpuArch::X86_64,
                false,
            )
            .unwrap();
        let want = rate.hourly(FargateSize { cpu_units: 1024, memory_mib: 2048 })
            / crate::money::seconds_per_hour()
            * Usd::from(198);
        assert_eq!(o.unbilled_usd, want.round_dp(6));
        assert!(o.unbilled_usd > Usd::ZERO);
        assert!(o.render_text("Fargate").contains("could not keep up"));
    }

    #[test]
    fn kinds_serialise_in_snake_case() {
        assert_eq!(serde_json::to_string(&OpKind::Healthy).unwrap(), "\"healthy\"");
        assert!(!OpKind::Healthy.billed());
        assert!(OpKind::Start.billed());
    }
}
