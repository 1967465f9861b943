//! `berth bench simulate`: a generated month-long workload with `--tasks` concurrently running
//! tasks (10,000 by default), simulated in both modes, against a bare `BinaryHeap` event loop
//! over the same number of events measured in the same run.
//!
//! The workload: `--tasks` tasks start at once, then tasks arrive as a Poisson process whose rate
//! keeps that many running (Little's law: rate = tasks / mean run time); run times are
//! exponential with a mean of one hour, so a month is ~`tasks` × 720 task runs. Each task is
//! 0.5 vCPU / 1 GB; ECS mode runs on m5.2xlarge hosts (16 such tasks each) with 60 % headroom,
//! binpack on memory.

use std::collections::BinaryHeap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::engine::Mode;
use crate::pricing::Catalog;
use crate::scenario::{Dist, Expect, Job, Repeat, Scenario};
use crate::sim::{Sim, SimSetup};
use crate::taskdef::model::{ContainerDefinition, NetworkMode, TaskDefinition};
use crate::time::SimDuration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tasks running at the same time (at most 1,000,000: their hosts must stay within a
    /// cluster's 100,000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub tasks: u32,
    /// Simulated days (at most 36,500, a scenario's longest duration).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,
    /// Seed of the generated workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

#[derive(Serialize)]
struct ModeResult {
    mode: Mode,
    seconds: f64,
    events: u64,
    events_per_second: f64,
    tasks_launched: u64,
    peak_pending: usize,
    total_usd: String,
}

#[derive(Serialize)]
struct Baseline {
    description: String,
    seconds: f64,
    events: u64,
    pending: usize,
    events_per_second: f64,
}

#[derive(Serialize)]
struct Output {
    tasks: u32,
    days: u32,
    hosts: usize,
    /// Wall time for both modes, simulated in parallel (one thread each).
    seconds: f64,
    events: u64,
    events_per_second: f64,
    modes: Vec<ModeResult>,
    baseline: Baseline,
    /// berth's events per second over the bare loop's (per mode, averaged).
    ratio_to_baseline: f64,
}

/// The generated setup for one mode.
pub fn workload(tasks: u32, days: u32, seed: u64, mode: Mode) -> SimSetup {
    let catalog = Catalog::builtin();
    let hosts = (tasks as u64 * 16 / 10).div_ceil(16).max(1);
    let half = hosts / 2;
    let text = format!(
        "name = \"bench\"\nregion = \"us-east-1\"\n\
         [[hosts]]\ninstance_type = \"m5.2xlarge\"\ncount = {}\nzone = \"us-east-1a\"\n\
         [[hosts]]\ninstance_type = \"m5.2xlarge\"\ncount = {}\nzone = \"us-east-1b\"\n\
         [ecs]\nplacement_strategy = [{{ type = \"binpack\", field = \"memory\" }}]\n",
        hosts - half,
        half.max(1)
    );
    let cluster = crate::cluster::parse_str(Path::new("<bench>"), &text, &catalog)
        .expect("the generated cluster is valid");
    let mut def = TaskDefinition::new("bench", vec![ContainerDefinition::new("app", "bench:1")]);
    def.network_mode = NetworkMode::Awsvpc;
    def.cpu_units = Some(512);
    def.memory_mib = Some(1024);
    let hour = SimDuration::from_secs(3600);
    let runtime = Some(Dist::Exp { mean: hour });
    let duration = SimDuration::from_secs(days as u64 * 86_400);
    let job = |name: &str, count, repeat| Job {
        name: name.into(),
        task_def: 0,
        count,
        at: SimDuration::ZERO,
        repeat,
        until: None,
        runtime,
        exit_code: None,
        container: None,
        after: vec![],
    };
    let scenario = Scenario {
        name: format!("bench: {tasks} concurrent tasks for {days} days"),
        description: None,
        file: "<bench>".into(),
        duration,
        cluster: None,
        seed: Some(seed),
        task_defs: vec!["<bench>".into()],
        jobs: vec![
            job("warm-start", tasks, Repeat::Once),
            job(
                "arrivals",
                1,
                Repeat::Random {
                    gap: Dist::Exp { mean: SimDuration(hour.0 / tasks.max(1) as u64) },
                },
            ),
        ],
        services: vec![],
        expect: Expect::default(),
        job_order: vec![0, 1],
    };
    SimSetup {
        scenario: Arc::new(scenario),
        task_defs: Arc::new(vec![def]),
        cluster: Arc::new(cluster),
        catalog: Arc::new(catalog),
        mode,
        seed,
    }
}

/// Runs one mode and measures it.
fn run_mode(setup: SimSetup) -> ModeResult {
    let mode = setup.mode;
    let started = Instant::now();
    let mut sim = Sim::new(setup);
    let mut peak = 0usize;
    let end = sim.engine().cluster().hosts.len(); // keep the borrow checker honest below
    let _ = end;
    // Run in slices of a simulated hour to sample the queue size.
    let hour = SimDuration::from_secs(3600);
    let mut t = crate::time::SimTime::ZERO;
    loop {
        t = t + hour;
        sim.run_until(t, &mut |_| {});
        peak = peak.max(sim.pending());
        if sim.now() < t {
            break;
        }
        if t.0 >= u64::MAX / 2 {
            break;
        }
        if sim.pending() == 0 && sim.engine().next_wakeup().is_none() {
            break;
        }
    }
    let events = sim.events();
    let report = sim.finish();
    let seconds = started.elapsed().as_secs_f64();
    ModeResult {
        mode,
        seconds,
        events,
        events_per_second: events as f64 / seconds,
        tasks_launched: report.tasks.launched,
        peak_pending: peak,
        total_usd: report.total_usd.round_dp(2).to_string(),
    }
}

/// The bare floor: a hold-model loop over a `BinaryHeap` of (time, id) with `pending` items,
/// popping and pushing `events` times (what any DES must at least do).
fn baseline(events: u64, pending: usize, seed: u64) -> Baseline {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let started = Instant::now();
    let mut heap: BinaryHeap<std::cmp::Reverse<(u64, u32)>> = BinaryHeap::with_capacity(pending);
    for i in 0..pending {
        heap.push(std::cmp::Reverse((next() % 3_600_000, i as u32)));
    }
    let mut checksum = 0u64;
    for _ in 0..events {
        let std::cmp::Reverse((t, id)) = heap.pop().expect("non-empty");
        checksum = checksum.wrapping_add(t ^ id as u64);
        heap.push(std::cmp::Reverse((t + next() % 7_200_000, id)));
    }
    let seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    Baseline {
        description: "bare BinaryHeap<(time, id)> hold model, one pop and one push per event"
            .into(),
        seconds,
        events,
        pending,
        events_per_second: events as f64 / seconds,
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.format != "text" && args.format != "json" {
        anyhow::bail!("--format must be text or json, not {:?}", args.format);
    }
    let (tasks, days, seed) = (args.tasks.max(1), args.days.max(1), args.seed);
    let hosts = workload(tasks, days, seed, Mode::Ecs).cluster.hosts.len();
    let started = Instant::now();
    let modes: Vec<ModeResult> = std::thread::scope(|s| {
        let h: Vec<_> = [Mode::Ecs, Mode::Fargate]
            .into_iter()
            .map(|m| s.spawn(move || run_mode(workload(tasks, days, seed, m))))
            .collect();
        h.into_iter().map(|h| h.join().expect("bench thread")).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let events: u64 = modes.iter().map(|m| m.events).sum();
    let per_mode = events / modes.len() as u64;
    let pending = modes.iter().map(|m| m.peak_pending).max().unwrap_or(1).max(1);
    let base = baseline(per_mode, pending, seed);
    let mean_eps = modes.iter().map(|m| m.events_per_second).sum::<f64>() / modes.len() as f64;
    let out = Output {
        tasks,
        days,
        hosts,
        seconds,
        events,
        events_per_second: events as f64 / seconds,
        ratio_to_baseline: mean_eps / base.events_per_second,
        modes,
        baseline: base,
    };
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "berth bench simulate: {} concurrent tasks, {} days, {} hosts (m5.2xlarge) in ECS mode",
        tasks, days, hosts
    );
    println!(
        "{:<8} {:>12} {:>12} {:>9} {:>14} {:>12} {:>12}",
        "mode", "tasks", "events", "seconds", "events/s", "peak queue", "total"
    );
    for m in &out.modes {
        println!(
            "{:<8} {:>12} {:>12} {:>9.2} {:>14.0} {:>12} {:>12}",
            m.mode.as_str(),
            m.tasks_launched,
            m.events,
            m.seconds,
            m.events_per_second,
            m.peak_pending,
            format!("${}", m.total_usd)
        );
    }
    println!(
        "both modes in parallel: {:.2} s wall, {:.0} events/s",
        out.seconds, out.events_per_second
    );
    println!(
        "baseline ({}), {} events, {} pending: {:.2} s, {:.0} events/s",
        out.baseline.description,
        out.baseline.events,
        out.baseline.pending,
        out.baseline.seconds,
        out.baseline.events_per_second
    );
    println!("berth per mode / baseline: {:.2}× the bare loop's event rate", out.ratio_to_baseline);
    Ok(ExitCode::SUCCESS)
}
