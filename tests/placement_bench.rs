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

/// The filling-pool case: one `=~ m5.*` pool (two of the five bench types) that runs out, so
/// that many tasks are unplaceable. Failures are counted, timed apart, and the first one is
/// explained in ECS's words.
#[test]
fn a_filling_pool_counts_and_times_its_failures() {
    use berth::cli::bench::placement::FILLING_POOL_EXPR;
    let mut cfg = config("binpack:memory", ConstraintMode::Fixed(FILLING_POOL_EXPR.into()));
    cfg.tasks = 20_000;
    let r = run_bench(&cfg);
    assert_eq!(r.placed + r.failed, 20_000);
    assert!(r.failed > 2_000 && r.placed > 2_000, "placed {} failed {}", r.placed, r.failed);
    assert!(r.failed_seconds > 0.0 && r.failed_seconds <= r.seconds, "{r:?}");
    assert!(r.failed_p99_us >= r.failed_p50_us && r.failed_max_us >= r.failed_p99_us);
    let first = r.first_failure.as_deref().expect("the first failure is explained");
    assert!(first.contains("RESOURCE:CPU") || first.contains("MemberOf"), "{first}");
    assert!(first.contains("considered 60 hosts"), "{first}");
    let text = render_text(&r);
    assert!(text.contains("failures:") && text.contains("first failure"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    for field in ["failed_seconds", "failed_p50_us", "failed_p99_us", "placed_seconds"] {
        assert!(json[field].is_number(), "{field} in {json}");
    }
}
