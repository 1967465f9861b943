//! Break-even: the same workload scaled from a quarter to four times its size, simulated in both
//! modes on the same cluster, to show where the cost lines cross.
//!
//! The cluster stays as it is: ECS mode keeps paying for the same hosts while Fargate's bill
//! grows with the work. That is the question a person with a fleet asks ("how much work before
//! my hosts pay off?"). Past the fleet's capacity ECS mode makes tasks wait; each point records
//! that, so the chart can say the ECS line is cheap only because work is queued.
//!
//! Scaling multiplies every job's `count` and every service's `desired` (and its scale steps),
//! rounded to the nearest whole task, and never below one task where the original had one: a
//! quarter of one task is still one task. Arrival times and runtimes stay the same.

use std::sync::Arc;

use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::engine::Mode;
use crate::money::{format_usd, Usd};
use crate::scenario::Scenario;
use crate::sim::{simulate, SimSetup};

/// The scales simulated by default.
pub const SCALES: &[f64] = &[0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0];

/// One scale's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub scale: f64,
    pub ecs_usd: Usd,
    pub fargate_usd: Usd,
    /// ECS mode: p95 of the time tasks waited for a host, in seconds.
    pub ecs_wait_p95_s: f64,
    /// ECS mode: tasks still waiting for a host when the scenario ended.
    pub ecs_waiting_at_end: u64,
}

/// The curve and where it crosses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    pub points: Vec<Point>,
    /// The workload scale at which both modes cost the same, if the lines cross in range.
    pub crossing_scale: Option<f64>,
    /// The cost at the crossing (interpolated).
    pub crossing_usd: Option<f64>,
    /// The finding in one sentence.
    pub text: String,
}

fn scale_count(n: u32, f: f64) -> u32 {
    if n == 0 {
        return 0;
    }
    ((n as f64 * f).round() as u32).max(1)
}

/// The scenario with every task count and desired count multiplied by `factor`.
pub fn scale_scenario(sc: &Scenario, factor: f64) -> Scenario {
    let mut s = sc.clone();
    for j in &mut s.jobs {
        j.count = scale_count(j.count, factor);
    }
    for svc in &mut s.services {
        svc.desired = scale_count(svc.desired, factor);
        for step in &mut svc.scale {
            step.1 = if step.1 == 0 { 0 } else { scale_count(step.1, factor) };
        }
    }
    s
}

/// Simulates every scale in both modes. `base` is the setup of the unscaled run (its mode is
/// ignored). Runs use two threads, one per mode, as the machine this targets has two cores.
pub fn compute(base: &SimSetup, scales: &[f64]) -> BreakEven {
    let run = |mode: Mode| -> Vec<(Usd, f64, u64)> {
        scales
            .iter()
            .map(|f| {
                let mut setup = base.clone();
                setup.mode = mode;
                setup.scenario = Arc::new(scale_scenario(&base.scenario, *f));
                let (r, _) = simulate(setup, &mut |_| {});
                (r.total_usd, r.wait.p95_s, r.tasks.waiting_at_end)
            })
            .collect()
    };
    let (ecs, fargate) = std::thread::scope(|s| {
        let e = s.spawn(|| run(Mode::Ecs));
        let f = run(Mode::Fargate);
        (e.join().expect("ECS break-even thread"), f)
    });
    let points: Vec<Point> = scales
        .iter()
        .zip(ecs.iter().zip(fargate.iter()))
        .map(|(s, (e, f))| Point {
            scale: *s,
            ecs_usd: e.0,
            fargate_usd: f.0,
            ecs_wait_p95_s: e.1,
            ecs_waiting_at_end: e.2,
        })
        .collect();
    summarise(points)
}

/// Finds the crossing by linear interpolation between neighbouring points and words it.
pub fn summarise(points: Vec<Point>) -> BreakEven {
    let diff = |p: &Point| (p.ecs_usd - p.fargate_usd).to_f64().unwrap_or(0.0);
    let mut crossing = None;
    for w in points.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (da, db) = (diff(a), diff(b));
        if da == 0.0 {
            crossing = Some((a.scale, a.ecs_usd.to_f64().unwrap_or(0.0)));
            break;
        }
        if da.signum() != db.signum() && db != 0.0 || db == 0.0 && da != 0.0 {
            let t = da / (da - db);
            let scale = a.scale + t * (b.scale - a.scale);
            let (ea, eb) = (a.ecs_usd.to_f64().unwrap_or(0.0), b.ecs_usd.to_f64().unwrap_or(0.0));
            crossing = Some((scale, ea + t * (eb - ea)));
            break;
        }
    }
    let (lo, hi) = (
        points.first().map(|p| p.scale).unwrap_or(0.0),
        points.last().map(|p| p.scale).unwrap_or(0.0),
    );
    let text = match (crossing, points.first()) {
        (Some((s, usd)), Some(first)) => {
            let below = if diff(first) > 0.0 { "Fargate" } else { "ECS" };
            let above = if below == "Fargate" { "ECS" } else { "Fargate" };
            format!(
                "On this cluster the lines cross at about {s:.2}× today's workload (about {}): \
                 below it {below} is cheaper, above it {above}.",
                format_usd(Usd::try_from(usd).unwrap_or_default())
            )
        }
        (None, Some(first)) => {
            let cheaper = if diff(first) > 0.0 { "Fargate" } else { "ECS" };
            format!(
                "{cheaper} is cheaper across the whole range from {lo}× to {hi}× today's workload \
                 on this cluster; the lines do not cross."
            )
        }
        _ => "No break-even points were computed.".to_string(),
    };
    let saturated: Vec<String> = points
        .iter()
        .filter(|p| p.ecs_waiting_at_end > 0 || p.ecs_wait_p95_s > 60.0)
        .map(|p| format!("{}×", p.scale))
        .collect();
    let text = if saturated.is_empty() {
        text
    } else {
        format!(
            "{text} At {} the ECS hosts could not keep up and tasks waited for capacity, so the \
             ECS line there is cheap only because work was queued.",
            saturated.join(", ")
        )
    };
    BreakEven {
        points,
        crossing_scale: crossing.map(|c| c.0),
        crossing_usd: crossing.map(|c| c.1),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn p(scale: f64, e: Usd, f: Usd) -> Point {
        Point { scale, ecs_usd: e, fargate_usd: f, ecs_wait_p95_s: 0.0, ecs_waiting_at_end: 0 }
    }

    #[test]
    fn crossing_is_interpolated() {
        // ECS flat at 10; Fargate 5 at 1x and 15 at 2x: equal at 1.5x, $10.
        let b = summarise(vec![p(1.0, dec!(10), dec!(5)), p(2.0, dec!(10), dec!(15))]);
        assert_eq!(b.crossing_scale, Some(1.5));
        assert_eq!(b.crossing_usd, Some(10.0));
        assert!(b.text.contains("below it Fargate is cheaper, above it ECS"), "{}", b.text);
    }

    #[test]
    fn no_crossing_says_which_wins() {
        let b = summarise(vec![p(0.5, dec!(1), dec!(2)), p(4.0, dec!(1), dec!(9))]);
        assert_eq!(b.crossing_scale, None);
        assert!(b.text.starts_with("ECS is cheaper across the whole range"), "{}", b.text);
    }

    #[test]
    fn counts_scale_but_never_vanish() {
        assert_eq!(scale_count(1, 0.25), 1);
        assert_eq!(scale_count(4, 0.25), 1);
        assert_eq!(scale_count(10, 1.5), 15);
        assert_eq!(scale_count(0, 4.0), 0);
    }
}
