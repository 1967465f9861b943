//! The Docker runtime drives the engine with real containers: both modes, essential exit,
//! dependsOn HEALTHY, OOM, stand-in, missing image, shutdown cleanup.

mod docker_support;

use std::time::Duration;

use berth::docker::cleanup;
use berth::docker::image::WORKLOAD_IMAGE;
use berth::docker::runtime::{self, Engines, RunResult, RuntimeConfig, Script};
use berth::docker::script::StaticScript;
use berth::engine::{Command, Engine, Event, Mode, RunTask, TaskStatus};
use berth::taskdef::model::{
    ContainerDependency, DependencyCondition, HealthCheck, NetworkMode, PortMapping, Protocol,
    TaskDefinition,
};
use berth::time::{SimDuration, SimTime};
use docker_support::model::*;
use docker_support::*;
use tokio::sync::watch;

const SCALE: f64 = 10.0;

async fn run_script(
    c: &berth::docker::DockerClient,
    guard: &RunGuard,
    mode: Mode,
    defs: Vec<TaskDefinition>,
    cmds: Vec<(u64, Command)>,
    stand_in: bool,
) -> RunResult {
    let cluster = cluster(2, |_| None);
    let engine = Engine::new(cluster.clone(), mode, 7);
    let mut script: Script = defs
        .into_iter()
        .map(|d| (SimTime::ZERO, Command::RegisterTaskDefinition(Box::new(d))))
        .collect();
    script.extend(cmds.into_iter().map(|(s, c)| (SimTime(s * 1000), c)));
    let engines = Engines { default: c.clone(), by_endpoint: Default::default() };
    let mut cfg = RuntimeConfig::new(guard.run.clone(), SCALE);
    cfg.stand_in = stand_in;
    cfg.sample_every = Duration::from_millis(200);
    let (_tx, rx) = watch::channel(false);
    let mut script = StaticScript::new(script);
    let fut = runtime::run(engine, &mut script, engines, cfg, rx, |_, _| {});
    tokio::time::timeout(Duration::from_secs(90), fut).await.expect("run did not finish").unwrap()
}

/// The sequence of `lastStatus` values of the run's first task.
fn states(r: &RunResult) -> Vec<TaskStatus> {
    let first = r.engine.tasks().next().map(|t| t.id);
    let mut v: Vec<TaskStatus> = r
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::TaskStateChanged { task, last, .. } if Some(*task) == first => Some(*last),
            _ => None,
        })
        .collect();
    v.dedup();
    v
}

async fn assert_nothing_left(c: &berth::docker::DockerClient, guard: &RunGuard) {
    let left = cleanup::find(c, Some(&guard.run), false).await.unwrap();
    assert!(left.is_empty(), "the run left {left:?}");
}

#[tokio::test]
async fn ecs_task_runs_and_essential_exit_stops_it() {
    let Some(c) = docker_or_skip("ecs_task_runs_and_essential_exit_stops_it").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "ecs");
    let mut app = container("app", WORKLOAD_IMAGE, &["sleep", "0.5"]);
    app.port_mappings = vec![PortMapping {
        container_port: 8080,
        host_port: Some(8080),
        protocol: Protocol::Tcp,
        name: None,
    }];
    let side = {
        let mut s = container("side", WORKLOAD_IMAGE, &["sleep", "60"]);
        s.essential = false;
        s
    };
    let td = taskdef("web", NetworkMode::Bridge, vec![app, side]);
    let r = run_script(
        &c,
        &guard,
        Mode::Ecs,
        vec![td],
        vec![(0, Command::RunTask(RunTask::new("web", 2)))],
        false,
    )
    .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let tasks: Vec<_> = r.engine.tasks().collect();
    assert_eq!(tasks.len(), 2);
    for t in &tasks {
        assert_eq!(t.last_status, TaskStatus::Stopped);
        assert_eq!(
            t.stopped_reason.as_ref().unwrap().to_string(),
            "Essential container in task exited"
        );
        assert_eq!(t.containers[0].exit_code, Some(0));
        // The non-essential sidecar got SIGTERM and our workload honoured it.
        assert_eq!(t.containers[1].exit_code, Some(143));
        assert!(t.host.is_some());
    }
    let s = states(&r);
    assert!(
        s.starts_with(&[TaskStatus::Provisioning, TaskStatus::Pending, TaskStatus::Running]),
        "{s:?}"
    );
    assert_eq!(s.last(), Some(&TaskStatus::Stopped));
    assert!(!r.measured.is_empty(), "no usage samples were taken");
    assert_nothing_left(&c, &guard).await;
}

#[tokio::test]
async fn fargate_stand_in_plays_runtime_and_exit_code() {
    let Some(c) = docker_or_skip("fargate_stand_in_plays_runtime_and_exit_code").await else {
        return;
    };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "fargate");
    let td = taskdef(
        "batch",
        NetworkMode::Awsvpc,
        vec![container("job", "example.invalid/batch:1.0", &[])],
    );
    let mut rt = RunTask::new("batch", 1);
    rt.overrides.runtime = Some(SimDuration::from_secs(20));
    rt.overrides.exit_code = Some(3);
    let r = run_script(&c, &guard, Mode::Fargate, vec![td], vec![(0, Command::RunTask(rt))], true)
        .await;
    let t = r.engine.tasks().next().unwrap();
    assert_eq!(t.last_status, TaskStatus::Stopped);
    assert_eq!(t.containers[0].exit_code, Some(3), "{t:?}");
    assert!(r.stood_in.contains_key("example.invalid/batch:1.0"), "{:?}", r.stood_in);
    let s = states(&r);
    assert!(s.contains(&TaskStatus::Running) && s.last() == Some(&TaskStatus::Stopped), "{s:?}");
    // Ran about 20 scenario seconds (2 s wall at scale 10), give or take Docker's start latency.
    let started = t.times.started_at.unwrap();
    let stopped = t.times.execution_stopped_at.or(t.times.stopped_at).unwrap();
    let ran = stopped.since(started).as_secs_f64();
    assert!((15.0..40.0).contains(&ran), "ran {ran} scenario seconds");
    assert_nothing_left(&c, &guard).await;
}

#[tokio::test]
async fn missing_image_without_stand_in_is_cannot_pull() {
    let Some(c) = docker_or_skip("missing_image_without_stand_in_is_cannot_pull").await else {
        return;
    };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "pull");
    let td =
        taskdef("gone", NetworkMode::Awsvpc, vec![container("x", "example.invalid/gone:1", &[])]);
    let r = run_script(
        &c,
        &guard,
        Mode::Fargate,
        vec![td],
        vec![(0, Command::RunTask(RunTask::new("gone", 1)))],
        false,
    )
    .await;
    let t = r.engine.tasks().next().unwrap();
    assert_eq!(t.last_status, TaskStatus::Stopped);
    let reason = t.stopped_reason.as_ref().unwrap().to_string();
    assert!(reason.starts_with("CannotPullContainerError"), "{reason}");
    assert!(r.stood_in.is_empty());
    assert_nothing_left(&c, &guard).await;
}

#[tokio::test]
async fn oom_and_depends_on_healthy() {
    let Some(c) = docker_or_skip("oom_and_depends_on_healthy").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "deps");
    // db must be HEALTHY before app starts; app then holds more memory than its hard limit.
    let mut db = container("db", WORKLOAD_IMAGE, &["serve", "--port", "5432"]);
    db.essential = false;
    db.health_check = Some(HealthCheck {
        command: vec![
            "CMD".into(),
            "/berth-workload".into(),
            "health".into(),
            "--port".into(),
            "5432".into(),
        ],
        interval_s: 1,
        timeout_s: 2,
        retries: 3,
        start_period_s: 0,
    });
    let mut app = container("app", WORKLOAD_IMAGE, &["hold", "--mib", "96", "--seconds", "5"]);
    app.memory_mib = Some(32);
    app.memory_reservation_mib = None;
    app.depends_on = vec![ContainerDependency {
        container_name: "db".into(),
        condition: DependencyCondition::Healthy,
    }];
    let td = taskdef("stack", NetworkMode::Awsvpc, vec![db, app]);
    let r = run_script(
        &c,
        &guard,
        Mode::Ecs,
        vec![td],
        vec![(0, Command::RunTask(RunTask::new("stack", 1)))],
        false,
    )
    .await;
    let t = r.engine.tasks().next().unwrap();
    assert_eq!(t.last_status, TaskStatus::Stopped);
    let db_started = t.containers[0].started_at.unwrap();
    let app_started =
        t.containers[1].started_at.expect("app never started: HEALTHY dependency not met");
    assert!(app_started > db_started);
    assert_eq!(t.containers[1].exit_code, Some(137));
    assert_eq!(t.containers[1].reason.as_deref(), Some(berth::docker::OOM_REASON));
    assert_eq!(
        t.stopped_reason.as_ref().unwrap().to_string(),
        "Essential container in task exited"
    );
    assert_nothing_left(&c, &guard).await;
}

#[tokio::test]
async fn shutdown_stops_services_and_removes_everything() {
    let Some(c) = docker_or_skip("shutdown_stops_services_and_removes_everything").await else {
        return;
    };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "shutdown");
    let td = taskdef(
        "svc",
        NetworkMode::Bridge,
        vec![container("web", WORKLOAD_IMAGE, &["serve", "--port", "80"])],
    );
    let cluster = cluster(2, |_| None);
    let engine = Engine::new(cluster, Mode::Ecs, 1);
    let script: Script = vec![
        (SimTime::ZERO, Command::RegisterTaskDefinition(Box::new(td))),
        (
            SimTime::ZERO,
            Command::CreateService(berth::engine::CreateService {
                name: "web".into(),
                task_def: "svc".into(),
                desired: 3,
                strategy: vec![],
                constraints: vec![],
            }),
        ),
    ];
    let engines = Engines { default: c.clone(), by_endpoint: Default::default() };
    let cfg = RuntimeConfig::new(guard.run.clone(), SCALE);
    let (tx, rx) = watch::channel(false);
    let handle = tokio::spawn(async move {
        let mut script = StaticScript::new(script);
        runtime::run(engine, &mut script, engines, cfg, rx, |_, _| {}).await
    });
    // Wait until the three service tasks run as containers.
    let mut running = 0;
    for _ in 0..100 {
        running = cleanup::find(&c, Some(&guard.run), false).await.unwrap().containers.len();
        if running >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(running >= 3, "service tasks did not start");
    tx.send(true).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(60), handle).await.unwrap().unwrap().unwrap();
    assert!(r.interrupted);
    assert!(r.engine.tasks().all(|t| t.last_status == TaskStatus::Stopped));
    assert_nothing_left(&c, &guard).await;
}

#[tokio::test]
async fn service_replaces_a_task_whose_container_exits() {
    let Some(c) = docker_or_skip("service_replaces_a_task_whose_container_exits").await else {
        return;
    };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "replace");
    // The container ends after half a second (5 scenario seconds): ECS stops the task and the
    // service scheduler starts a replacement.
    let td = taskdef(
        "flaky",
        NetworkMode::Bridge,
        vec![container("app", WORKLOAD_IMAGE, &["sleep", "0.5"])],
    );
    let engine = Engine::new(cluster(1, |_| None), Mode::Ecs, 2);
    let script: Script = vec![
        (SimTime::ZERO, Command::RegisterTaskDefinition(Box::new(td))),
        (
            SimTime::ZERO,
            Command::CreateService(berth::engine::CreateService {
                name: "flaky".into(),
                task_def: "flaky".into(),
                desired: 1,
                strategy: vec![],
                constraints: vec![],
            }),
        ),
    ];
    let engines = Engines { default: c.clone(), by_endpoint: Default::default() };
    let mut cfg = RuntimeConfig::new(guard.run.clone(), SCALE);
    cfg.until = Some(SimTime(40_000));
    let (_tx, rx) = watch::channel(false);
    let mut script = StaticScript::new(script);
    let r = tokio::time::timeout(
        Duration::from_secs(90),
        runtime::run(engine, &mut script, engines, cfg, rx, |_, _| {}),
    )
    .await
    .unwrap()
    .unwrap();
    let replaced = r
        .engine
        .tasks()
        .filter(|t| {
            t.stopped_reason
                .as_ref()
                .is_some_and(|s| s.to_string() == "Essential container in task exited")
        })
        .count();
    assert!(replaced >= 1, "no task stopped on its essential container's exit");
    assert!(r.engine.tasks().count() >= 2, "the service did not start a replacement");
    let messages: Vec<&String> = r
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::ServiceEvent { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        messages.iter().filter(|m| m.contains("has started 1 tasks")).count() >= 2,
        "{messages:?}"
    );
    assert_nothing_left(&c, &guard).await;
}
