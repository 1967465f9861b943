//! Bills and reports that tell the truth (issue 10 §3), end to end through the simulator: jobs
//! with sidecars, modes that could not run the workload, waiting statistics, Windows hosts.

mod sim_common;

use berth::engine::Mode;
use sim_common::{run, write, CLUSTER};

/// A job with a FireLens log router listed first, the app, and an envoy sidecar: all essential.
const WITH_SIDECARS: &str = r#"{"family": "etl", "networkMode": "awsvpc", "cpu": "512", "memory": "1024",
  "containerDefinitions": [
    {"name": "log_router", "image": "fluent-bit:2", "essential": true,
     "firelensConfiguration": {"type": "fluentbit"}},
    {"name": "app", "image": "app:1", "essential": true},
    {"name": "envoy", "image": "envoy:1", "essential": true}
  ]}"#;

fn job(extra: &str) -> String {
    format!(
        "duration = \"2h\"\ncluster = \"c.toml\"\n[[tasks]]\nname = \"etl\"\ntask_def = \"t.json\"\n\
         count = 3\nruntime = \"10m\"\n{extra}"
    )
}

#[test]
fn a_job_with_sidecars_succeeds_when_its_container_exits_0() {
    let r = run(
        &job(""),
        &[("c.toml", CLUSTER), ("t.json", WITH_SIDECARS)],
        &[Mode::Ecs, Mode::Fargate],
    );
    for m in r.modes.values() {
        // The app (not the log router listed first) runs the job; when it exits 0 the sidecars
        // are stopped with SIGTERM, which is no failure.
        assert_eq!(m.tasks.completed, 3, "{:?}: {:?}", m.mode, m.tasks);
        assert_eq!(m.tasks.failed, 0, "{:?}: {:?}", m.mode, m.tasks);
    }
}

#[test]
fn a_job_with_sidecars_fails_when_its_container_exits_non_zero() {
    let r = run(
        &job("exit_code = 2\n"),
        &[("c.toml", CLUSTER), ("t.json", WITH_SIDECARS)],
        &[Mode::Ecs, Mode::Fargate],
    );
    for m in r.modes.values() {
        assert_eq!(m.tasks.failed, 3, "{:?}: {:?}", m.mode, m.tasks);
        assert_eq!(m.tasks.completed, 0, "{:?}: {:?}", m.mode, m.tasks);
    }
}

#[test]
fn the_scenario_names_the_jobs_container() {
    // The runtime applies to envoy: it exits after 10 minutes and ends the task.
    let r = run(
        &job("container = \"envoy\"\nexit_code = 3\n"),
        &[("c.toml", CLUSTER), ("t.json", WITH_SIDECARS)],
        &[Mode::Ecs],
    );
    let m = &r.modes[&Mode::Ecs];
    assert_eq!(m.tasks.failed, 3, "{:?}", m.tasks);
    let f = &m.families[0];
    // About 10 minutes of RUNNING per task (start latencies aside), not the whole scenario.
    assert!(f.task_hours > 0.45 && f.task_hours < 0.55, "{}", f.task_hours);
}

#[test]
fn a_job_container_that_does_not_exist_or_is_not_essential_is_refused_with_its_place() {
    let td = WITH_SIDECARS.replace(
        r#"{"name": "envoy", "image": "envoy:1", "essential": true}"#,
        r#"{"name": "envoy", "image": "envoy:1", "essential": false}"#,
    );
    for (name, want) in [("nope", "has no container named \"nope\""), ("envoy", "not essential")] {
        let sc = job(&format!("container = \"{name}\"\n"));
        let (_dir, path) = write(&sc, &[("c.toml", CLUSTER), ("t.json", &td)]);
        let e = berth::cli::simulate::load(&path, None, None).err().expect("refused").to_string();
        assert!(e.contains("scenario.toml:8:13"), "{e}");
        assert!(e.contains("tasks[0].container"), "{e}");
        assert!(e.contains(want), "{e}");
    }
}
