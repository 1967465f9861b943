//! Smoke test of `berth bench placement` at a small size: the library function runs, places
//! every task and agrees with its naive baseline. No timing assertion (speed is measured by
//! hand with the release build; see docs/performance.md).

use berth::cli::bench::placement::{render_text, run_bench, Config, ConstraintMode};
use berth::cluster::parse_strategy_arg;

fn config(strategy: &str, constraint: ConstraintMode) -> Config {
    Config {
        hosts: 60,
        tasks: 3_000,
        strategy: strategy.split(',').map(|s| parse_strategy_arg(s).unwrap()).collect(),
        constraint,
        tasks_per_job: 100,
        baseline_tasks: 500,
        seed: 3,
    }
}

#[test]
fn binpack_with_a_constraint_per_job() {
    let r = run_bench(&config("binpack:memory", ConstraintMode::TierPerJob));
    assert_eq!(r.placed + r.failed, 3_000);
    assert_eq!(r.failed, 0, "the bench cluster holds the workload");
    assert!(r.hosts_used > 0 && r.hosts_used <= 60);
    assert!(r.p99_us >= r.p50_us);
    let b = r.baseline.as_ref().unwrap();
    assert_eq!(b.tasks, 500);
    assert!(b.same_decisions, "indexed and naive placers decide alike");
    let text = render_text(&r);
    assert!(text.contains("placements/s") && text.contains("baseline"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    for field in ["seconds", "placements_per_second", "p99_us", "p50_us"] {
        assert!(json[field].is_number(), "{field} in {json}");
    }
}

#[test]
fn every_strategy_runs() {
    for s in [
        "binpack:cpu",
        "spread:instanceId",
        "spread:attribute:ecs.availability-zone",
        "spread:attribute:ecs.availability-zone,binpack:memory",
        "random",
    ] {
        let r = run_bench(&config(s, ConstraintMode::None));
        assert_eq!(r.placed, 3_000, "{s}");
        let b = r.baseline.unwrap();
        assert_eq!(b.same_decisions, s != "random", "{s}");
    }
    let r =
        run_bench(&config("binpack:memory", ConstraintMode::Fixed("attribute:tier == a".into())));
    // One tier (15 hosts) cannot hold everything: failures are counted, not hidden.
    assert_eq!(r.placed + r.failed, 3_000);
}
