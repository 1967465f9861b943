//! `berth bench placement`: places many tasks on many hosts in one process and reports the wall
//! time, placements per second and the latency of one placement, against a naive full scan of
//! every host with the same semantics measured in the same run.
//!
//! The workload follows Nomad's C1M shape: jobs of equal tasks submitted one after another
//! (1,000 tasks per job by default), each job with its own task size (64–512 CPU units, 128–1024
//! MiB, as in performance.md §1.7) and, unless `--constraint` or `--no-constraint` says
//! otherwise, a memberOf constraint on a custom attribute matching a quarter of the hosts
//! (`attribute:tier == a|b|c|d`, one tier per job in turn). Hosts are a mix of large EC2 types
//! across three zones.
//!
//! `--case filling-pool` is the hard case for failures: the same jobs with one memberOf
//! expression, `attribute:ecs.instance-type =~ m5.*`, that matches two of the five host types
//! (40% of the hosts). That pool runs out of CPU after about three quarters of a million tasks,
//! and every later task is unplaceable; failures are counted and timed apart from successes.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::cluster::{parse_strategy_arg, Cluster, EcsSettings, FargateSettings, HostSpec};
use crate::money::Usd;
use crate::placement::{ConstraintSpec, Demand, HostId, PlacementRequest, Placer, StrategyRule};
use crate::taskdef::model::{CpuArch, OsFamily};
use crate::time::SimDuration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of hosts (container instances).
    #[arg(long, default_value_t = 10_000)]
    pub hosts: u32,
    /// Number of tasks to place.
    #[arg(long, default_value_t = 1_000_000)]
    pub tasks: u32,
    /// Strategy rules, chained in order (repeat the flag or separate with commas):
    /// binpack:memory, binpack:cpu, spread:instanceId, spread:attribute:NAME, random.
    #[arg(long, value_delimiter = ',', default_value = "binpack:memory")]
    pub strategy: Vec<String>,
    /// One memberOf expression for every task (default: one `attribute:tier == X` per job,
    /// matching a quarter of the hosts).
    #[arg(long, conflicts_with = "no_constraint")]
    pub constraint: Option<String>,
    /// Place without any constraint.
    #[arg(long)]
    pub no_constraint: bool,
    /// Which workload: `c1m` (one tier per job, every task fits) or `filling-pool` (one
    /// `attribute:ecs.instance-type =~ m5.*` pool that fills, so about a quarter of the tasks
    /// are unplaceable). `--constraint` / `--no-constraint` override the case's constraint.
    #[arg(long, value_enum, default_value = "c1m")]
    pub case: Case,
    /// Tasks per job (task group).
    #[arg(long, default_value_t = 1_000)]
    pub tasks_per_job: u32,
    /// Tasks the naive full-scan baseline places (it is extrapolated to --tasks).
    #[arg(long, default_value_t = 10_000)]
    pub baseline_tasks: u32,
    /// Skip the naive baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// Seed of the workload and of the `random` strategy.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    C1m,
    FillingPool,
}

/// The filling-pool case's expression: two of the five bench types, 40% of the hosts.
pub const FILLING_POOL_EXPR: &str = "attribute:ecs.instance-type =~ m5.*";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// What the benchmark places; the CLI arguments without the output details.
#[derive(Debug, Clone)]
pub struct Config {
    pub hosts: u32,
    pub tasks: u32,
    pub strategy: Vec<StrategyRule>,
    pub constraint: ConstraintMode,
    pub tasks_per_job: u32,
    /// 0 means no baseline.
    pub baseline_tasks: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintMode {
    None,
    /// `attribute:tier == <a|b|c|d>`, one tier per job in turn.
    TierPerJob,
    Fixed(String),
}

/// Figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub hosts: u32,
    pub tasks: u32,
    pub strategy: String,
    pub constraint: String,
    pub seconds: f64,
    pub placements_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub placed: u64,
    pub failed: u64,
    /// Time spent in `place` calls that succeeded, and their latency.
    pub placed_seconds: f64,
    pub placed_p99_us: f64,
    /// Time spent in `place` calls that found no host (the whole failure, without an
    /// explanation: see `first_failure`), and their latency.
    pub failed_seconds: f64,
    pub failed_p50_us: f64,
    pub failed_p99_us: f64,
    pub failed_max_us: f64,
    /// The first failure, explained when it happened (ECS's reason and the per-check counts,
    /// from a look at every host); the only failure the benchmark shows, so the only one it
    /// explains. Its cost is in `seconds` but not in the per-failure figures.
    pub first_failure: Option<String>,
    /// Hosts running at least one task at the end.
    pub hosts_used: u32,
    /// Largest minus smallest task count over hosts (for spread).
    pub tasks_per_host_spread: u32,
    pub baseline: Option<Baseline>,
}

/// The naive scan, measured on the first `tasks` of the same workload.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub label: String,
    pub tasks: u32,
    pub seconds: f64,
    pub placements_per_second: f64,
    /// The indexed placer's time for the same first `tasks`.
    pub indexed_seconds_same_tasks: f64,
    /// baseline time / indexed time on the same tasks.
    pub speedup_same_tasks: f64,
    /// The full run at the baseline's rate (an extrapolation, not a measurement).
    pub extrapolated_seconds: f64,
    /// extrapolated_seconds / seconds.
    pub speedup_extrapolated: f64,
    /// Whether both placed the sample's tasks on the same hosts.
    pub same_decisions: bool,
}

/// Large EC2 types (vCPU, GiB; AWS EC2 User Guide hardware tables) that a 1M-task fleet
/// would use. Prices do not matter here.
const BENCH_TYPES: [(&str, u32, u32); 5] = [
    ("m5.12xlarge", 48, 192),
    ("m5.16xlarge", 64, 256),
    ("c5.12xlarge", 48, 96),
    ("c5.18xlarge", 72, 144),
    ("r5.16xlarge", 64, 512),
];
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const TIERS: [&str; 4] = ["a", "b", "c", "d"];

/// The benchmark's cluster: `n` hosts cycling through types, zones and tiers.
pub fn bench_cluster(n: u32) -> Cluster {
    let hosts = (0..n)
        .map(|i| {
            let (ty, vcpu, gib) = BENCH_TYPES[(i as usize / 12) % BENCH_TYPES.len()];
            HostSpec {
                id: HostId(i),
                instance_id: format!("i-{:016x}", i as u64 + 1),
                group: 0,
                instance_type: ty.to_string(),
                vcpu,
                memory_mib: gib * 1024,
                arch: CpuArch::X86_64,
                os: OsFamily::Linux,
                zone: ZONES[i as usize % ZONES.len()].to_string(),
                attributes: BTreeMap::from([(
                    "tier".to_string(),
                    TIERS[i as usize % TIERS.len()].to_string(),
                )]),
                usd_per_hour: Usd::ZERO,
                docker: None,
                gpus: 0,
            }
        })
        .collect();
    Cluster {
        name: "bench".into(),
        region: "us-east-1".into(),
        hosts,
        ecs: EcsSettings {
            reserved_memory_mib: 0,
            placement_strategy: Vec::new(),
            image_pull: SimDuration::ZERO,
            container_start: SimDuration::ZERO,
        },
        fargate: FargateSettings {
            provisioning: SimDuration::ZERO,
            image_pull: SimDuration::ZERO,
            container_start: SimDuration::ZERO,
            spot: false,
        },
        extra_costs: Vec::new(),
    }
}

/// One request per job; the task size is drawn per job.
fn jobs(cfg: &Config) -> Vec<PlacementRequest> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let n_jobs = cfg.tasks.div_ceil(cfg.tasks_per_job.max(1)).max(1);
    (0..n_jobs)
        .map(|j| PlacementRequest {
            demand: Demand {
                cpu_units: rng.random_range(1..=8) * 64,
                memory_mib: rng.random_range(1..=8) * 128,
                ..Demand::default()
            },
            group: format!("family:job{j}"),
            os: OsFamily::Linux,
            arch: CpuArch::X86_64,
            constraints: match &cfg.constraint {
                ConstraintMode::None => vec![],
                ConstraintMode::TierPerJob => vec![ConstraintSpec::MemberOf(format!(
                    "attribute:tier == {}",
                    TIERS[j as usize % TIERS.len()]
                ))],
                ConstraintMode::Fixed(e) => vec![ConstraintSpec::MemberOf(e.clone())],
            },
            strategy: cfg.strategy.clone(),
        })
        .collect()
}

struct Pass {
    seconds: f64,
    latencies_ns: Vec<u32>,
    /// Latencies of the failed placements alone.
    failed_ns: Vec<u32>,
    decisions: Vec<Option<u32>>,
    failed: u64,
    first_failure: Option<String>,
    placer: Placer,
}

fn run_pass(
    cfg: &Config,
    cluster: &Cluster,
    tasks: u32,
    naive: bool,
    keep_decisions: bool,
) -> Pass {
    let jobs = jobs(cfg);
    let mut placer = Placer::new(cluster);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut latencies_ns = Vec::with_capacity(tasks as usize);
    let mut failed_ns = Vec::new();
    let mut decisions = Vec::new();
    let mut failed = 0;
    let mut first_failure = None;
    let per_job = cfg.tasks_per_job.max(1);
    let start = Instant::now();
    for t in 0..tasks {
        let req = &jobs[(t / per_job) as usize];
        let t0 = Instant::now();
        let r = if naive {
            placer.place_scan(req, &mut rng).map_err(|_| ())
        } else {
            placer.place(req, &mut rng).map_err(|_| ())
        };
        let ns = t0.elapsed().as_nanos().min(u32::MAX as u128) as u32;
        latencies_ns.push(ns);
        if r.is_err() {
            failed += 1;
            failed_ns.push(ns);
            if first_failure.is_none() {
                // Shown in the report, so explained (once, outside the latency figures).
                first_failure = Some(format!("task {t}: {}", failure_text(placer.explain(req))));
            }
        }
        if keep_decisions {
            decisions.push(r.ok().map(|h| h.0));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Pass { seconds, latencies_ns, failed_ns, decisions, failed, first_failure, placer }
}

fn failure_text(f: crate::placement::PlacementFailure) -> String {
    format!("{} ({})", f.reason.as_ecs_str(), f.explanation)
}

fn sum_seconds(ns: &[u32]) -> f64 {
    ns.iter().map(|&n| n as u64).sum::<u64>() as f64 / 1e9
}

fn percentile_us(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Runs the benchmark (the indexed placer on every task, then the naive scan on a sample).
pub fn run_bench(cfg: &Config) -> Report {
    let cluster = bench_cluster(cfg.hosts);
    let main = run_pass(cfg, &cluster, cfg.tasks, false, false);
    let mut lat = main.latencies_ns.clone();
    lat.sort_unstable();
    let mut failed_lat = main.failed_ns.clone();
    failed_lat.sort_unstable();
    let failed_seconds = sum_seconds(&failed_lat);
    let placed_seconds = sum_seconds(&main.latencies_ns) - failed_seconds;
    // The successes' latencies: every latency but the failures', by sorted difference.
    let placed_lat = sorted_difference(&lat, &failed_lat);
    let counts: Vec<u32> = main.placer.usages().map(|u| u.running_tasks).collect();
    let hosts_used = counts.iter().filter(|&&c| c > 0).count() as u32;
    let spread = counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0);
    let placed = cfg.tasks as u64 - main.failed;
    let baseline = (cfg.baseline_tasks > 0).then(|| {
        let k = cfg.baseline_tasks.min(cfg.tasks);
        let naive = run_pass(cfg, &cluster, k, true, true);
        let indexed = run_pass(cfg, &cluster, k, false, true);
        let rate = k as f64 / naive.seconds.max(1e-9);
        let extrapolated = cfg.tasks as f64 / rate;
        let random = cfg.strategy.is_empty() || cfg.strategy.contains(&StrategyRule::Random);
        Baseline {
            label: format!(
                "naive scan of all {} hosts per task (same checks and strategies), measured on \
                 the first {k} tasks{}",
                cfg.hosts,
                if k < cfg.tasks { " and extrapolated to the full run" } else { "" }
            ),
            tasks: k,
            seconds: naive.seconds,
            placements_per_second: rate,
            indexed_seconds_same_tasks: indexed.seconds,
            speedup_same_tasks: naive.seconds / indexed.seconds.max(1e-9),
            extrapolated_seconds: extrapolated,
            speedup_extrapolated: extrapolated / main.seconds.max(1e-9),
            // Random draws differ between the two paths by design; the rest must agree.
            same_decisions: !random && naive.decisions == indexed.decisions,
        }
    });
    Report {
        hosts: cfg.hosts,
        tasks: cfg.tasks,
        strategy: cfg.strategy.iter().map(rule_label).collect::<Vec<_>>().join(","),
        constraint: match &cfg.constraint {
            ConstraintMode::None => "none".into(),
            ConstraintMode::TierPerJob => {
                "memberOf(attribute:tier == a|b|c|d), one tier per job (25% of hosts)".into()
            }
            ConstraintMode::Fixed(e) => format!("memberOf({e})"),
        },
        seconds: main.seconds,
        placements_per_second: cfg.tasks as f64 / main.seconds.max(1e-9),
        p50_us: percentile_us(&lat, 0.50),
        p99_us: percentile_us(&lat, 0.99),
        max_us: percentile_us(&lat, 1.0),
        placed,
        failed: main.failed,
        placed_seconds,
        placed_p99_us: percentile_us(&placed_lat, 0.99),
        failed_seconds,
        failed_p50_us: percentile_us(&failed_lat, 0.50),
        failed_p99_us: percentile_us(&failed_lat, 0.99),
        failed_max_us: percentile_us(&failed_lat, 1.0),
        first_failure: main.first_failure,
        hosts_used,
        tasks_per_host_spread: spread,
        baseline,
    }
}

/// `all` without one occurrence of each element of `some` (both sorted; `some` ⊆ `all`).
fn sorted_difference(all: &[u32], some: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(all.len() - some.len().min(all.len()));
    let mut j = 0;
    for &x in all {
        if j < some.len() && some[j] == x {
            j += 1;
        } else {
            out.push(x);
        }
    }
    out
}

fn rule_label(r: &StrategyRule) -> String {
    use crate::placement::{BinpackField, SpreadField};
    match r {
        StrategyRule::Binpack(BinpackField::Memory) => "binpack:memory".into(),
        StrategyRule::Binpack(BinpackField::Cpu) => "binpack:cpu".into(),
        StrategyRule::Spread(SpreadField::InstanceId) => "spread:instanceId".into(),
        StrategyRule::Spread(SpreadField::Attribute(a)) => format!("spread:attribute:{a}"),
        StrategyRule::Random => "random".into(),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let strategy = args
        .strategy
        .iter()
        .map(|s| parse_strategy_arg(s.trim()).map_err(|e| anyhow::anyhow!("--strategy {s}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let constraint = match (&args.constraint, args.no_constraint) {
        (_, true) => ConstraintMode::None,
        (Some(e), _) => {
            crate::placement::validate_expression(e)
                .map_err(|err| anyhow::anyhow!("--constraint {e:?}: {err}"))?;
            ConstraintMode::Fixed(e.clone())
        }
        (None, false) => match args.case {
            Case::C1m => ConstraintMode::TierPerJob,
            Case::FillingPool => ConstraintMode::Fixed(FILLING_POOL_EXPR.into()),
        },
    };
    let cfg = Config {
        hosts: args.hosts,
        tasks: args.tasks,
        strategy,
        constraint,
        tasks_per_job: args.tasks_per_job,
        baseline_tasks: if args.no_baseline { 0 } else { args.baseline_tasks },
        seed: args.seed,
    };
    let r = run_bench(&cfg);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&r)?),
        Format::Text => print!("{}", render_text(&r)),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn render_text(r: &Report) -> String {
    let mut s = format!(
        "placement benchmark: {} tasks on {} hosts ({} types, 3 zones)\n  strategy:   {}\n  constraint: {}\n",
        r.tasks,
        r.hosts,
        BENCH_TYPES.len(),
        if r.strategy.is_empty() { "(none: random)".into() } else { r.strategy.clone() },
        r.constraint
    );
    s += &format!(
        "  indexed:    {:.3} s, {:.0} placements/s, latency p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs\n",
        r.seconds, r.placements_per_second, r.p50_us, r.p99_us, r.max_us
    );
    s += &format!(
        "  placed {} (failed {}), hosts used {}, tasks per host max−min {}\n",
        r.placed, r.failed, r.hosts_used, r.tasks_per_host_spread
    );
    s += &format!(
        "  successes:  {:.3} s in total, p99 {:.2} µs\n",
        r.placed_seconds, r.placed_p99_us
    );
    if r.failed > 0 {
        s += &format!(
            "  failures:   {} in {:.3} s in total ({:.0}/s), latency p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs\n",
            r.failed,
            r.failed_seconds,
            r.failed as f64 / r.failed_seconds.max(1e-9),
            r.failed_p50_us,
            r.failed_p99_us,
            r.failed_max_us
        );
    }
    if let Some(f) = &r.first_failure {
        s += &format!("  first failure (explained): {f}\n");
    }
    if let Some(b) = &r.baseline {
        s += &format!(
            "  baseline:   {}\n              {:.3} s for {} tasks ({:.0}/s) vs indexed {:.3} s: {:.1}x faster; \
             same decisions: {}\n              extrapolated full run {:.1} s: indexed is ~{:.0}x faster (extrapolated)\n",
            b.label,
            b.seconds,
            b.tasks,
            b.placements_per_second,
            b.indexed_seconds_same_tasks,
            b.speedup_same_tasks,
            if b.same_decisions { "yes" } else { "no (random strategy, or a bug)" },
            b.extrapolated_seconds,
            b.speedup_extrapolated
        );
    }
    s
}
