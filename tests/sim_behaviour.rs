//! The simulator end to end: determinism, waiting for capacity, snapshots, services, job DAGs,
//! and the `berth simulate` exit codes.

mod sim_common;

use std::process::Command;

use berth::engine::Mode;
use berth::sim::{Sim, SimSetup};
use sim_common::{run, run_seeded, write, CLUSTER};

const SMALL: &str = r#"{"family": "small", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
  "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;

const WHOLE_HOST: &str = r#"{"family": "big", "networkMode": "awsvpc", "cpu": "2048", "memory": "2048",
  "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn simulate_repo(scenario: &str, seed: u64) -> String {
    let loaded = berth::cli::simulate::load(&repo(scenario), None, None).unwrap();
    berth::cli::simulate::run_modes(&loaded, &[Mode::Ecs, Mode::Fargate], seed, &|_| {}).0.to_json()
}

#[test]
fn same_scenario_and_seed_give_byte_identical_reports() {
    let a = simulate_repo("scenarios/web-and-batch.toml", 7);
    let b = simulate_repo("scenarios/web-and-batch.toml", 7);
    assert_eq!(a, b);
    // The ad-hoc jobs arrive at random: another seed gives another month.
    let c = simulate_repo("scenarios/web-and-batch.toml", 8);
    assert_ne!(a, c);
}

#[test]
fn waiting_tasks_are_placed_when_capacity_frees() {
    // One m5.large (2048 CPU units). Three tasks that each need the whole host arrive at 0.
    let cluster =
        "name = \"one\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"m5.large\"\n\
                   [ecs]\nimage_pull = \"5s\"\ncontainer_start = \"1s\"\n";
    let sc = "duration = \"1h\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\ncount = 3\nruntime = \"10m\"\n";
    let r = run(sc, &[("c.toml", cluster), ("t.json", WHOLE_HOST)], &[Mode::Ecs]);
    let e = &r.modes[&Mode::Ecs];
    // Task 1: placed at 0, pulls 5 s, starts 1 s, runs 600 s: frees the host at 606 s.
    // Task 2: placed at 606 s (image cached), starts 1 s, runs 600 s: frees it at 1207 s.
    // Task 3: placed at 1207 s.
    assert_eq!(e.tasks.completed, 3);
    assert_eq!(e.tasks.waiting_at_end, 0);
    assert_eq!(e.wait.max_s, 1207.0);
    assert!((606.0..=606.0 * 1.033).contains(&e.wait.p50_s), "{:?}", e.wait);
    assert_eq!(e.wait.tasks, 3);
    // Task-hours: three times 600 s.
    assert!((e.families[0].task_hours - 0.5).abs() < 1e-9);
}

#[test]
fn a_task_that_cannot_fit_anywhere_fails_instead_of_blocking_the_queue() {
    let huge = r#"{"family": "huge", "networkMode": "awsvpc", "cpu": "4096", "memory": "30720",
      "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;
    let sc = "duration = \"1h\"\ncluster = \"c.toml\"\n\
              [[tasks]]\nname = \"huge\"\ntask_def = \"h.json\"\nruntime = \"1m\"\n\
              [[tasks]]\nname = \"small\"\ntask_def = \"s.json\"\nat = \"1m\"\nruntime = \"1m\"\n";
    let r = run(sc, &[("c.toml", CLUSTER), ("h.json", huge), ("s.json", SMALL)], &[Mode::Ecs]);
    let e = &r.modes[&Mode::Ecs];
    let huge = e.families.iter().find(|f| f.family == "huge").unwrap();
    assert_eq!(huge.tasks.failed_to_start, 1);
    let small = e.families.iter().find(|f| f.family == "small").unwrap();
    assert_eq!(small.tasks.completed, 1);
}

#[test]
fn snapshot_and_restore_mid_run_give_the_same_report() {
    let loaded =
        berth::cli::simulate::load(&repo("scenarios/web-and-batch.toml"), None, None).unwrap();
    for mode in [Mode::Ecs, Mode::Fargate] {
        let setup = SimSetup {
            scenario: loaded.scenario.clone(),
            task_defs: loaded.task_defs.clone(),
            cluster: loaded.cluster.clone(),
            catalog: loaded.catalog.clone(),
            mode,
            seed: 3,
        };
        let mut straight = Sim::new(setup.clone());
        straight.run(&mut |_| {});
        let expected = serde_json::to_string(&straight.finish()).unwrap();

        let mut first = Sim::new(setup.clone());
        let half = berth::time::SimTime(loaded.scenario.duration.0 / 2 + 12_345);
        first.run_until(half, &mut |_| {});
        let saved = serde_json::to_string(&first.snapshot()).unwrap();
        drop(first);
        let mut second = Sim::restore(serde_json::from_str(&saved).unwrap(), setup);
        second.run(&mut |_| {});
        let got = serde_json::to_string(&second.finish()).unwrap();
        assert_eq!(got, expected, "{mode}");
    }
}

#[test]
fn services_are_replaced_and_scaled() {
    let sc = r#"duration = "1d"
cluster = "c.toml"
[[services]]
name = "api"
task_def = "s.json"
desired = 2
scale = [{ at = "9h", desired = 10 }, { at = "12h", desired = 16 }, { at = "14h", desired = 6 }, { at = "18h", desired = 2 }]
"#;
    let r = run(sc, &[("c.toml", CLUSTER), ("s.json", SMALL)], &[Mode::Fargate]);
    let f = &r.modes[&Mode::Fargate];
    // 2 at first, +8 at 9h, +6 at 12h; 10 stopped at 14h, 4 more at 18h.
    assert_eq!(f.tasks.launched, 16);
    assert_eq!(f.tasks.stopped, 14);
    assert_eq!(f.tasks.running_at_end, 2);
    // The series shows the peak of 16 running tasks.
    let peak = f.series.running.iter().cloned().fold(0.0, f64::max);
    assert!((15.0..=16.0).contains(&peak), "{peak}");
}

#[test]
fn service_tasks_run_until_stopped() {
    // Service tasks have no run time: they run until the scenario ends (replacement after a
    // crash is covered by the engine's unit tests).
    let crash = r#"{"family": "crash", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
      "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;
    let sc = "duration = \"1h\"\ncluster = \"c.toml\"\n[[services]]\nname = \"s\"\ntask_def = \"t.json\"\ndesired = 1\n";
    let r = run(sc, &[("c.toml", CLUSTER), ("t.json", crash)], &[Mode::Ecs, Mode::Fargate]);
    for m in r.modes.values() {
        assert_eq!(m.tasks.launched, 1);
        assert_eq!(m.tasks.running_at_end, 1);
    }
}

#[test]
fn depends_on_and_health_checks_in_a_real_definition() {
    // api-with-sidecar: "migrate" (non-essential) must succeed and "metrics" must be HEALTHY
    // before "api" starts.
    let td = std::fs::read_to_string(repo("task-defs/api-with-sidecar.json")).unwrap();
    let sc = "duration = \"2h\"\ncluster = \"c.toml\"\n[[services]]\nname = \"api\"\ntask_def = \"t.json\"\ndesired = 2\n";
    let r = run(sc, &[("c.toml", CLUSTER), ("t.json", &td)], &[Mode::Ecs, Mode::Fargate]);
    for m in r.modes.values() {
        assert_eq!(m.tasks.failed, 0, "{:?}", m.tasks);
        assert_eq!(m.tasks.running_at_end, 2, "{:?}", m.tasks);
    }
}

#[test]
fn jobs_wait_for_jobs_and_skip_after_a_failure() {
    let sc = |exit: i32| {
        format!(
            "duration = \"3d\"\ncluster = \"c.toml\"\n\
             [[tasks]]\nname = \"extract\"\ntask_def = \"s.json\"\ncount = 3\nevery = \"1d\"\nruntime = \"uniform(10m, 20m)\"\nexit_code = {exit}\n\
             [[tasks]]\nname = \"load\"\ntask_def = \"b.json\"\nafter = [\"extract\"]\nruntime = \"5m\"\n"
        )
    };
    let files = [("c.toml", CLUSTER), ("s.json", SMALL), ("b.json", WHOLE_HOST)];
    let ok = run(&sc(0), &files, &[Mode::Fargate]);
    let f = &ok.modes[&Mode::Fargate];
    let load = f.families.iter().find(|x| x.family == "big").unwrap();
    assert_eq!(load.tasks.completed, 3, "one load per nightly extract");
    let bad = run(&sc(1), &files, &[Mode::Fargate]);
    let f = &bad.modes[&Mode::Fargate];
    assert!(f.families.iter().all(|x| x.family != "big"), "load never runs");
    assert!(f.notes.iter().any(|n| n.contains("job load: 3 run(s) skipped")), "{:?}", f.notes);
    assert_eq!(f.tasks.failed, 9);
}

#[test]
fn different_seeds_move_random_runtimes_but_not_fixed_ones() {
    let sc = "duration = \"1d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"s.json\"\nevery = \"1h\"\nruntime = \"30m\"\n";
    let a = run_seeded(sc, &[("c.toml", CLUSTER), ("s.json", SMALL)], &[Mode::Fargate], 1);
    let b = run_seeded(sc, &[("c.toml", CLUSTER), ("s.json", SMALL)], &[Mode::Fargate], 2);
    assert_eq!(a.modes[&Mode::Fargate].total_usd, b.modes[&Mode::Fargate].total_usd);
}

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth")).args(args).output().unwrap()
}

#[test]
fn exit_codes() {
    // A scenario error: exit 2, with file, line, column and key.
    let (dir, path) = write(
        "duration = \"30d\"\n[[tasks]]\ntask_def = \"s.json\"\nruntime = \"ten minutes\"\n",
        &[],
    );
    let out = berth(&["simulate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scenario.toml:4:11: error: tasks[0].runtime:"), "{err}");
    drop(dir);

    // A missing task definition file: exit 2, naming it.
    let (dir, path) = write(
        "duration = \"1h\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"missing.json\"\n",
        &[("c.toml", CLUSTER)],
    );
    let out = berth(&["simulate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
    drop(dir);

    // An expectation that fails: exit 1, saying which and by how much.
    let (dir, path) = write(
        "duration = \"1d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"s.json\"\nruntime = \"1h\"\n\
         [expect]\ncheaper = \"ecs\"\nmax_total_usd = { ecs = 1 }\n",
        &[("c.toml", CLUSTER), ("s.json", SMALL)],
    );
    let out = berth(&["simulate", path.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expectation failed: cheaper = \"ecs\": Fargate is cheaper, by $"),
        "{err}"
    );
    // Two m5.large for a day: $4.608, $3.61 over the limit.
    assert!(err.contains("ECS on EC2 costs $4.61, $3.61 over the limit of $1.00"), "{err}");

    // JSON has the documented money fields as decimal strings.
    let out = berth(&["simulate", path.to_str().unwrap(), "--format", "json", "-q"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in [
        "/modes/ecs/total_usd",
        "/modes/ecs/idle_usd",
        "/modes/fargate/total_usd",
        "/modes/fargate/vcpu_usd",
        "/modes/fargate/memory_usd",
        "/modes/fargate/ephemeral_storage_usd",
        "/modes/fargate/os_license_usd",
    ] {
        assert!(v.pointer(p).and_then(|x| x.as_str()).is_some(), "{p}");
    }
    assert_eq!(v.pointer("/modes/ecs/total_usd").unwrap(), "4.608");
    drop(dir);
}

#[test]
fn fargate_refuses_what_it_cannot_run_with_the_reason() {
    let privileged = r#"{"family": "priv", "networkMode": "bridge",
      "containerDefinitions": [{"name": "app", "image": "app:1", "cpu": 256, "memory": 512,
        "privileged": true}]}"#;
    let sc = "duration = \"1h\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\nruntime = \"5m\"\n";
    let r = run(sc, &[("c.toml", CLUSTER), ("t.json", privileged)], &[Mode::Ecs, Mode::Fargate]);
    let f = &r.modes[&Mode::Fargate];
    assert_eq!(f.tasks.failed_to_start, 1);
    assert_eq!(f.total_usd, sim_common::dec("0"));
    assert!(f.notes.iter().any(|n| n.contains("privileged")), "{:?}", f.notes);
    // ECS runs it.
    assert_eq!(r.modes[&Mode::Ecs].tasks.completed, 1);
}
