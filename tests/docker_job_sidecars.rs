//! A job whose task has several essential containers (a FireLens log router, the app, envoy),
//! run with real containers: the app's exit 0 is a success, and the sidecars that the stopping
//! task sends SIGTERM (exit 143) are no failure. The simulator's side is `tests/sim_bills.rs`.

mod docker_support;

use std::time::Duration;

use berth::docker::image::WORKLOAD_IMAGE;
use berth::docker::runtime::{self, Engines, RuntimeConfig, Script};
use berth::docker::script::StaticScript;
use berth::engine::{Command, Engine, Mode, RunTask, TaskStatus};
use berth::taskdef::model::NetworkMode;
use berth::time::{SimDuration, SimTime};
use docker_support::model::*;
use docker_support::*;
use tokio::sync::watch;

async fn run_job(
    c: &berth::docker::DockerClient,
    guard: &RunGuard,
    exit: i32,
) -> runtime::RunResult {
    let mut log_router = container("log_router", WORKLOAD_IMAGE, &["sleep", "60"]);
    log_router.log_router = true;
    // The app is a real image here (no stand-in): berth stops it when the job's runtime is up
    // and reports the scenario's exit code for it.
    let app = container("app", WORKLOAD_IMAGE, &["sleep", "60"]);
    let envoy = container("envoy", WORKLOAD_IMAGE, &["sleep", "60"]);
    let td = taskdef("etl", NetworkMode::Bridge, vec![log_router, app, envoy]);
    let mut rt = RunTask::new("etl", 1);
    rt.overrides.runtime = Some(SimDuration::from_secs(10));
    rt.overrides.exit_code = Some(exit);
    let script: Script = vec![
        (SimTime::ZERO, Command::RegisterTaskDefinition(Box::new(td))),
        (SimTime::ZERO, Command::RunTask(rt)),
    ];
    let engines = Engines { default: c.clone(), by_endpoint: Default::default() };
    let cfg = RuntimeConfig::new(guard.run.clone(), 10.0);
    let (_tx, rx) = watch::channel(false);
    let engine = Engine::new(cluster(1, |_| None), Mode::Ecs, 5);
    let mut script = StaticScript::new(script);
    let fut = runtime::run(engine, &mut script, engines, cfg, rx, |_, _| {});
    tokio::time::timeout(Duration::from_secs(90), fut).await.expect("run did not finish").unwrap()
}

#[tokio::test]
async fn a_job_with_sidecars_succeeds_or_fails_by_its_own_container() {
    let test = "a_job_with_sidecars_succeeds_or_fails_by_its_own_container";
    let Some(c) = docker_or_skip(test).await else { return };
    ensure_image(&c).await;
    for (exit, failed) in [(0, false), (4, true)] {
        let guard = RunGuard::new(&c, "job-sidecars");
        let r = run_job(&c, &guard, exit).await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let t = r.engine.tasks().next().expect("one task");
        assert_eq!(t.last_status, TaskStatus::Stopped);
        let codes: Vec<_> = t.containers.iter().map(|c| c.exit_code).collect();
        // The app ran the job; the log router and envoy were stopped with SIGTERM.
        assert_eq!(codes, [Some(143), Some(exit), Some(143)], "exit {exit}");
        let essential = |i: usize| r.engine.def(t.def).containers[i].essential;
        assert_eq!(t.failed(essential), failed, "exit {exit}: {codes:?}");
    }
}
