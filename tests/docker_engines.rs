//! Several Docker engines: a host group may name its own engine. This test starts a second
//! dockerd on its own socket and data directory, lets berth load its workload image into it,
//! and checks that tasks placed on that host run there (and are cleaned up there).

mod docker_support;

use std::time::Duration;

use berth::docker::image::{self, WORKLOAD_IMAGE};
use berth::docker::runtime::{self, Engines, RuntimeConfig, Script};
use berth::docker::script::StaticScript;
use berth::docker::{cleanup, labels};
use berth::engine::{Command, Engine, Mode, RunTask, TaskStatus};
use berth::placement::{SpreadField, StrategyRule};
use berth::taskdef::model::NetworkMode;
use berth::time::SimTime;
use docker_support::model::*;
use docker_support::*;
use tokio::sync::watch;

#[tokio::test]
async fn second_engine_runs_its_hosts_tasks() {
    let Some(c) = docker_or_skip("second_engine_runs_its_hosts_tasks").await else { return };
    let Some(daemon) =
        dockerd::PrivateDaemon::start_or_skip("second_engine_runs_its_hosts_tasks", "engines", &[])
    else {
        return;
    };
    let mut second = None;
    for _ in 0..100 {
        if let Ok(s) = berth::docker::connect(Some(&daemon.endpoint)).await {
            second = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second = second.unwrap_or_else(|| {
        panic!("the second dockerd did not come up; see {}/dockerd.log", daemon.dir.display())
    });
    // Host 0 on the default engine, host 1 on the second one.
    let endpoint = daemon.endpoint.clone();
    let mut small = (*cluster(2, move |i| (i == 1).then(|| endpoint.clone()))).clone();
    // Room for one 512 MiB task per host, so the two tasks land on both hosts whatever the
    // placement strategy.
    for h in &mut small.hosts {
        h.memory_mib = 768;
    }
    let cluster = std::sync::Arc::new(small);
    let engines = Engines::connect(Some(c.endpoint()), &cluster).await.unwrap();
    assert_eq!(engines.all().len(), 2);
    // berth loads its image into every engine itself (the second one starts empty).
    assert!(!second.image_present(WORKLOAD_IMAGE).await.unwrap());
    let fs = rootfs();
    for e in engines.all() {
        image::ensure_workload_image(&e, &fs).await.unwrap();
    }
    assert!(second.image_present(WORKLOAD_IMAGE).await.unwrap());

    let guard = RunGuard::new(&c, "engines");
    let _guard2 = RunGuard::new(&second, "engines-second");
    let td = taskdef(
        "spread",
        NetworkMode::Bridge,
        vec![container("app", WORKLOAD_IMAGE, &["sleep", "1"])],
    );
    let mut rt = RunTask::new("spread", 2);
    rt.strategy = vec![StrategyRule::Spread(SpreadField::InstanceId)];
    let script: Script = vec![
        (SimTime::ZERO, Command::RegisterTaskDefinition(Box::new(td))),
        (SimTime::ZERO, Command::RunTask(rt)),
    ];
    let cfg = RuntimeConfig::new(guard.run.clone(), 10.0);
    let (_tx, rx) = watch::channel(false);
    // Watch the second engine while the run goes: a container of this run must appear there.
    let run_id = guard.run.clone();
    let watcher = {
        let second = second.clone();
        tokio::spawn(async move {
            for _ in 0..100 {
                let found = cleanup::find(&second, Some(&run_id), false).await.unwrap();
                if let Some(name) = found.containers.first() {
                    return Some(name.name.clone());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None
        })
    };
    let engine = Engine::new(cluster.clone(), Mode::Ecs, 3);
    let r = tokio::time::timeout(
        Duration::from_secs(90),
        runtime::run(engine, &mut StaticScript::new(script), engines, cfg, rx, |_, _| {}),
    )
    .await
    .unwrap()
    .unwrap();
    let seen = watcher.await.unwrap();
    let tasks: Vec<_> = r
        .engine
        .tasks()
        .map(|t| (t.host, t.last_status, t.stopped_reason.clone(), t.containers[0].exit_code))
        .collect();
    let seen = seen.unwrap_or_else(|| {
        panic!(
            "no container of the run appeared on the second engine; tasks {tasks:?}, errors {:?}",
            r.errors
        )
    });
    assert!(seen.starts_with("ecs-spread-1-app-"), "{seen}");
    let hosts: Vec<_> = r.engine.tasks().map(|t| t.host.unwrap().0).collect();
    assert!(hosts.contains(&0) && hosts.contains(&1), "{hosts:?}");
    assert!(r
        .engine
        .tasks()
        .all(|t| t.last_status == TaskStatus::Stopped && t.containers[0].exit_code == Some(0)));
    for e in [&c, &second] {
        let left = cleanup::find(e, Some(&guard.run), false).await.unwrap();
        assert!(left.is_empty(), "{}: {left:?}", e.endpoint());
    }
    // Keep the labels module in use for the reader: the second engine's objects carry the run id.
    let _ = labels::RUN;
}
