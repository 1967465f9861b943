//! Conformance: one scenario through the simulator and through Docker (time-scaled) agrees on
//! placements, on each task's sequence of states, on task outcomes, and on cost (within 5 %);
//! so does every shipped scenario, and the issue-11 case at high time scales. Docker's own
//! latency is measured apart (`report::overhead`), not billed.

mod docker_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::docker::runtime::{self, Engines, RuntimeConfig, Seen};
use berth::docker::script;
use berth::engine::{Engine, EngineConfig, Event, Mode, TaskId, TaskStatus};
use berth::placement::HostId;
use berth::pricing::Catalog;
use berth::report::{Accounting, ModeReport, PriceContext};
use berth::sim::{Sim, SimSetup};
use berth::time::{SimDuration, SimTime};
use docker_support::*;
use rust_decimal::prelude::ToPrimitive;
use tokio::sync::watch;

/// Scenario seconds per wall second. The scenario clock waits for Docker where it is slower than
/// the cluster's latencies, so any scale gives the same result; a low one keeps the sampled
/// state sequences (every 100 ms of scenario time) meaningful.
const SCALE: f64 = 5.0;

/// One side's view, keyed by the order in which tasks were created (`TaskId`s and ARNs depend
/// on when the engine reuses the slots of stopped tasks, which differs between a virtual and a
/// wall clock; creation order does not).
struct Side {
    report: ModeReport,
    /// The Docker run's real overhead (the simulator's side has none).
    overhead: Option<berth::report::overhead::Overhead>,
    hosts: BTreeMap<usize, HostId>,
    states: BTreeMap<usize, Vec<TaskStatus>>,
}

/// Numbers tasks by first appearance.
#[derive(Default)]
struct Ordinals(BTreeMap<TaskId, usize>);

impl Ordinals {
    fn of(&mut self, t: TaskId) -> usize {
        let n = self.0.len();
        *self.0.entry(t).or_insert(n)
    }
}

fn push_state(v: &mut Vec<TaskStatus>, s: TaskStatus) {
    if v.last() != Some(&s) {
        v.push(s);
    }
}

/// The simulator, sampled every 100 ms of scenario time (stopped tasks leave its engine at
/// once, so a task that disappears has reached STOPPED).
fn simulate(setup: SimSetup) -> Side {
    let end = setup.scenario.duration;
    let mut sim = Sim::new(setup);
    let mut hosts = BTreeMap::new();
    let mut states: BTreeMap<usize, Vec<TaskStatus>> = BTreeMap::new();
    let mut ord = Ordinals::default();
    let mut t = 0;
    while t <= end.0 {
        sim.run_until(SimTime(t), &mut |_| {});
        let e = sim.engine();
        let alive: BTreeSet<usize> = e.tasks().map(|t| ord.of(t.id)).collect();
        for task in e.tasks() {
            let k = ord.of(task.id);
            push_state(states.entry(k).or_default(), task.last_status);
            if let Some(h) = task.host {
                hosts.insert(k, h);
            }
        }
        for (id, v) in states.iter_mut() {
            if !alive.contains(id) {
                push_state(v, TaskStatus::Stopped);
            }
        }
        t += 100;
    }
    sim.run(&mut |_| {});
    Side { report: sim.finish(), overhead: None, hosts, states }
}

async fn through_docker(c: &berth::docker::DockerClient, run: &str, setup: &SimSetup) -> Side {
    through_docker_at(c, run, setup, SCALE, Duration::from_secs(120)).await
}

async fn through_docker_at(
    c: &berth::docker::DockerClient,
    run: &str,
    setup: &SimSetup,
    scale: f64,
    limit: Duration,
) -> Side {
    let end = SimTime(setup.scenario.duration.0);
    let config =
        EngineConfig { stopped_retention: SimDuration::from_secs(1 << 40), container_events: true };
    let mut engine = Engine::with_config(setup.cluster.clone(), setup.mode, setup.seed, config);
    let ids: Vec<_> = setup.task_defs.iter().map(|d| engine.register(d.clone())).collect();
    let mut player = script::Player::new(&setup.scenario, &ids, setup.seed);
    let mut cfg = RuntimeConfig::new(run, scale);
    cfg.stand_in = true;
    cfg.until = Some(end);
    let px = PriceContext { cluster: setup.cluster.clone(), catalog: setup.catalog.clone() };
    let acc =
        Arc::new(Mutex::new(Accounting::new(setup.mode, &setup.cluster, setup.scenario.duration)));
    let acc2 = acc.clone();
    let px2 = px.clone();
    let (_tx, rx) = watch::channel(false);
    let engines = Engines { default: c.clone(), by_endpoint: Default::default() };
    let fut = runtime::run(engine, &mut player, engines, cfg, rx, move |seen, engine| {
        if let Seen::Output(out) = seen {
            if out.at < end {
                acc2.lock().unwrap().observe(engine, out, &px2);
            }
        }
    });
    let r = tokio::time::timeout(limit, fut).await.expect("docker run hung").unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let mut hosts = BTreeMap::new();
    let mut states: BTreeMap<usize, Vec<TaskStatus>> = BTreeMap::new();
    let mut ord = Ordinals::default();
    for (at, e) in &r.events {
        if *at >= end {
            continue; // berth stopping everything after the end is not part of the scenario
        }
        match e {
            Event::TaskStateChanged { task, last, .. } => {
                push_state(states.entry(ord.of(*task)).or_default(), *last)
            }
            Event::TaskPlaced { task, host } => {
                hosts.insert(ord.of(*task), *host);
            }
            _ => {}
        }
    }
    let acc = acc.lock().unwrap().clone();
    let overhead = berth::report::overhead::Overhead::build(r.clock, &r.overhead, &r.engine, &px);
    Side { report: acc.finish(&r.engine, &px), overhead: Some(overhead), hosts, states }
}

fn is_subsequence(short: &[TaskStatus], long: &[TaskStatus]) -> bool {
    let mut it = long.iter();
    short.iter().all(|s| it.any(|l| l == s))
}

#[tokio::test]
async fn simulator_and_docker_agree() {
    let Some(c) = docker_or_skip("simulator_and_docker_agree").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), &format!("conf-{}", std::process::id()), "2m", "40s");
    agree(&c, &path, "conformance").await;
}

/// A job chain (`after`): the report job starts when both extract tasks have finished.
#[tokio::test]
async fn simulator_and_docker_agree_on_job_chains() {
    let Some(c) = docker_or_skip("simulator_and_docker_agree_on_job_chains").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), &format!("chain-{}", std::process::id()), "2m", "40s");
    std::fs::write(
        &path,
        "name = \"chain\"\nduration = \"2m\"\ncluster = \"cluster.toml\"\nseed = 5\n\n[[tasks]]\nname = \"extract\"\ntask_def = \"batch.json\"\ncount = 2\nruntime = \"20s\"\n\n[[tasks]]\nname = \"report\"\ntask_def = \"batch.json\"\nafter = [\"extract\"]\nruntime = \"20s\"\n",
    )
    .unwrap();
    agree(&c, &path, "chain").await;
}

async fn agree(c: &berth::docker::DockerClient, path: &std::path::Path, name: &str) {
    let c = c.clone();
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, name);
    let sc = Arc::new(berth::scenario::load(path).unwrap());
    let catalog = Arc::new(Catalog::builtin());
    let cluster =
        Arc::new(berth::cluster::load_with(sc.cluster.as_ref().unwrap(), &catalog).unwrap());
    let defs = Arc::new(
        sc.task_defs.iter().map(|p| berth::taskdef::load(p).unwrap().0).collect::<Vec<_>>(),
    );
    let seed = sc.seed.unwrap_or(1);
    let setup = |mode| SimSetup {
        scenario: sc.clone(),
        task_defs: defs.clone(),
        cluster: cluster.clone(),
        catalog: catalog.clone(),
        mode,
        seed,
    };

    let (ecs_setup, fargate_setup) = (setup(Mode::Ecs), setup(Mode::Fargate));
    let (ecs, fargate) = tokio::join!(
        through_docker(&c, &guard.run, &ecs_setup),
        through_docker(&c, &guard.run, &fargate_setup)
    );
    for (mode, docker) in [(Mode::Ecs, ecs), (Mode::Fargate, fargate)] {
        let sim = simulate(setup(mode));
        // Placements: the same tasks (same ids, from the same seed) on the same hosts.
        assert_eq!(
            sim.hosts, docker.hosts,
            "{mode}: placements differ; states sim {:?} docker {:?}",
            sim.states, docker.states
        );
        // States: every state the sampled simulator saw, in the same order, and the same final
        // state at the end of the scenario.
        assert_eq!(
            sim.states.keys().collect::<Vec<_>>(),
            docker.states.keys().collect::<Vec<_>>(),
            "{mode}: tasks differ"
        );
        for (id, s) in &sim.states {
            let d = &docker.states[id];
            assert!(is_subsequence(s, d), "{mode} task {id:?}: simulator {s:?} vs docker {d:?}");
            assert_eq!(s.last(), d.last(), "{mode} task {id:?}: simulator {s:?} vs docker {d:?}");
        }
        // Outcomes.
        assert_eq!(sim.report.tasks, docker.report.tasks, "{mode}: task outcomes differ");
        // Cost. ECS bills hosts for the whole scenario: exactly equal. Fargate bills each task
        // from pull start to stop, in scenario time, where the Docker runtime uses the cluster's
        // latencies as the simulator does (the clock waits for Docker when it is slower:
        // `docker::timing`): within 5 %, whatever the load of the machine.
        let (s, d) = (sim.report.total_usd, docker.report.total_usd);
        match mode {
            Mode::Ecs => assert_eq!(s, d, "ECS cost"),
            Mode::Fargate => {
                let tolerance = s * rust_decimal::Decimal::new(5, 2);
                let diff = (s - d).abs();
                assert!(
                    diff <= tolerance,
                    "Fargate cost: simulator {s} vs docker {d} (tolerance {tolerance})"
                );
                assert!(d.to_f64().unwrap() > 0.0);
            }
        }
    }
}

/// Every shipped scenario (`scenarios/*.toml`), its first part (`--duration`), simulated and run
/// for real with stand-ins, in both modes: the same task outcomes, and bills within 5 %.
///
/// Each scenario gets a duration long enough for its first work to happen and finish, and a time
/// scale that plays it in 10 to 20 s of wall time; the scenario clock waits for Docker where
/// Docker is slower than the cluster's modelled latencies (`docker::timing`), so the result must
/// not depend on how loaded the machine is, only the wall time does.
#[tokio::test]
async fn shipped_scenarios_agree() {
    let Some(c) = docker_or_skip("shipped_scenarios_agree").await else { return };
    ensure_image(&c).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    // (file, duration, time scale)
    let plan: &[(&str, &str, f64)] = &[
        ("steady-web.toml", "10m", 60.0),
        ("spiky-api.toml", "10m", 60.0),
        ("nightly-batch.toml", "1h45m", 600.0),
        ("web-and-batch.toml", "2h30m", 600.0),
    ];
    let mut shipped: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    shipped.sort();
    let mut planned: Vec<String> = plan.iter().map(|p| p.0.to_string()).collect();
    planned.sort();
    assert_eq!(shipped, planned, "every shipped scenario needs a line in this test's plan");

    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for &(file, duration, scale) in plan {
        let t0 = std::time::Instant::now();
        // Again for each scenario: other checkouts sharing this engine rebuild the image with
        // their own binary (another content hash), which can leave the tag missing for a moment.
        ensure_image(&c).await;
        let guard = RunGuard::new(&c, "shipped");
        let mut sc = berth::scenario::load(&dir.join(file)).unwrap();
        sc.duration = berth::time::parse_duration(duration).unwrap();
        let sc = Arc::new(sc);
        let catalog = Arc::new(Catalog::builtin());
        let cluster =
            Arc::new(berth::cluster::load_with(sc.cluster.as_ref().unwrap(), &catalog).unwrap());
        let defs = Arc::new(
            sc.task_defs.iter().map(|p| berth::taskdef::load(p).unwrap().0).collect::<Vec<_>>(),
        );
        let seed = sc.seed.unwrap_or(1);
        let setup = |mode| SimSetup {
            scenario: sc.clone(),
            task_defs: defs.clone(),
            cluster: cluster.clone(),
            catalog: catalog.clone(),
            mode,
            seed,
        };
        let (ecs_setup, fargate_setup) = (setup(Mode::Ecs), setup(Mode::Fargate));
        let limit = Duration::from_secs(240);
        let (ecs, fargate) = tokio::join!(
            through_docker_at(&c, &guard.run, &ecs_setup, scale, limit),
            through_docker_at(&c, &guard.run, &fargate_setup, scale, limit)
        );
        for (mode, docker) in [(Mode::Ecs, ecs), (Mode::Fargate, fargate)] {
            let (sim, _) = berth::sim::simulate(setup(mode), &mut |_| {});
            let (s, d) = (sim.total_usd, docker.report.total_usd);
            let off = if s.is_zero() { d.abs() } else { ((d - s) / s).abs() };
            eprintln!(
                "{file} {mode}: simulator {s} docker {d} ({:.2} % apart), outcomes sim {:?} docker {:?}",
                off.to_f64().unwrap() * 100.0,
                sim.tasks,
                docker.report.tasks
            );
            if sim.tasks != docker.report.tasks {
                failures.push(format!(
                    "{file} {mode}: task outcomes differ: simulator {:?}, docker {:?}",
                    sim.tasks, docker.report.tasks
                ));
            }
            if off > rust_decimal::Decimal::new(5, 2) {
                failures.push(format!(
                    "{file} {mode}: bill simulator {s} vs docker {d}, more than 5 % apart"
                ));
            }
        }
        eprintln!("{file}: {:.1} s of wall time", t0.elapsed().as_secs_f64());
        drop(guard);
    }
    eprintln!("shipped scenarios: {:.1} s in all", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The case of issue 11: a service of 2 tasks and three 3-minute jobs (an image that is not
/// present, so stand-ins run) on two t3.medium hosts for 10 minutes. At `--time-scale 30` the
/// Fargate bill was 16 % above the simulator's, and at 60 and 120 the jobs did not finish: real
/// start-up latency times the scale was billed as scenario time. Now the outcomes and the bills
/// are the simulator's at any scale, and the latency shows up as overhead instead.
#[tokio::test]
async fn high_time_scales_keep_outcomes_and_bills() {
    let Some(c) = docker_or_skip("high_time_scales_keep_outcomes_and_bills").await else { return };
    ensure_image(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    w(
        "cluster.toml",
        "name = \"laptop\"\nregion = \"us-east-1\"\n\n[[hosts]]\ninstance_type = \"t3.medium\"\ncount = 2\n\n[ecs]\nimage_pull = \"20s\"\ncontainer_start = \"2s\"\n\n[fargate]\nprovisioning = \"30s\"\nimage_pull = \"20s\"\ncontainer_start = \"2s\"\n",
    );
    w(
        "web.json",
        r#"{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["EC2", "FARGATE"], "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "web", "image": "berth/workload:latest", "essential": true,
   "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080}]}]}"#,
    );
    w(
        "job.json",
        r#"{"family": "job", "networkMode": "awsvpc", "requiresCompatibilities": ["EC2", "FARGATE"], "cpu": "512", "memory": "1024",
 "containerDefinitions": [{"name": "job", "image": "example.invalid/etl:1", "essential": true, "memoryReservation": 128}]}"#,
    );
    w(
        "scenario.toml",
        "name = \"ten minutes\"\nduration = \"10m\"\ncluster = \"cluster.toml\"\n\n[[services]]\nname = \"web\"\ntask_def = \"web.json\"\ndesired = 2\n\n[[tasks]]\nname = \"job\"\ntask_def = \"job.json\"\ncount = 3\nruntime = \"3m\"\n",
    );
    let sc = Arc::new(berth::scenario::load(&dir.path().join("scenario.toml")).unwrap());
    let catalog = Arc::new(Catalog::builtin());
    let cluster =
        Arc::new(berth::cluster::load_with(sc.cluster.as_ref().unwrap(), &catalog).unwrap());
    let defs = Arc::new(
        sc.task_defs.iter().map(|p| berth::taskdef::load(p).unwrap().0).collect::<Vec<_>>(),
    );
    let setup = |mode| SimSetup {
        scenario: sc.clone(),
        task_defs: defs.clone(),
        cluster: cluster.clone(),
        catalog: catalog.clone(),
        mode,
        seed: 1,
    };
    for scale in [30.0, 120.0] {
        let guard = RunGuard::new(&c, "scales");
        let (ecs_setup, fargate_setup) = (setup(Mode::Ecs), setup(Mode::Fargate));
        let limit = Duration::from_secs(180);
        let (ecs, fargate) = tokio::join!(
            through_docker_at(&c, &guard.run, &ecs_setup, scale, limit),
            through_docker_at(&c, &guard.run, &fargate_setup, scale, limit)
        );
        for (mode, docker) in [(Mode::Ecs, ecs), (Mode::Fargate, fargate)] {
            let (sim, _) = berth::sim::simulate(setup(mode), &mut |_| {});
            assert_eq!(sim.tasks.completed, 3, "{mode}: the simulator completes the three jobs");
            assert_eq!(sim.tasks, docker.report.tasks, "{mode} at scale {scale}: outcomes");
            let (s, d) = (sim.total_usd, docker.report.total_usd);
            assert!(
                ((d - s) / s).abs() <= rust_decimal::Decimal::new(5, 2),
                "{mode} at scale {scale}: bill simulator {s} vs docker {d}"
            );
            let o = docker.overhead.unwrap();
            eprintln!(
                "scale {scale} {mode}: sim {s} docker {d}; wall {} s, held {} s, effective scale {}, unbilled {} task-s ({})",
                o.wall_seconds, o.held_wall_seconds, o.effective_time_scale, o.unbilled_task_seconds, o.unbilled_usd
            );
            // The overhead is measured, and kept out of the bill.
            let start =
                o.operations.iter().find(|l| l.kind == berth::report::overhead::OpKind::Start);
            assert_eq!(start.map(|l| l.count), Some(5), "{mode}: five container starts measured");
            assert!(o.wall_seconds > 600.0 / scale * 0.9, "{o:?}");
            assert!(o.effective_time_scale <= scale * 1.05, "{o:?}");
            if mode == Mode::Fargate && scale >= 120.0 {
                // 5 tasks × (provision + pull + start + stop + cleanup) beyond the modelled
                // latencies: even at 100 ms each that is minutes of task time at scale 120.
                assert!(o.unbilled_task_seconds > 60.0, "{o:?}");
                assert!(o.unbilled_usd > rust_decimal::Decimal::ZERO, "{o:?}");
            }
        }
        drop(guard);
    }
}
