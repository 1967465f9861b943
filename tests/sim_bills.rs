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

const NO_HOSTS: &str = "name = \"empty\"\nregion = \"us-east-1\"\n";

const SMALL: &str = r#"{"family": "small", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
  "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;

const WHOLE_HOST: &str = r#"{"family": "big", "networkMode": "awsvpc", "cpu": "2048", "memory": "4096",
  "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;

#[test]
fn a_cluster_with_no_hosts_does_not_win_the_verdict() {
    let sc =
        "duration = \"1d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\ncount = 4\n\
              every = \"1h\"\nruntime = \"10m\"\n[expect]\ncheaper = \"ecs\"\n";
    let (_dir, path) = write(sc, &[("c.toml", NO_HOSTS), ("t.json", SMALL)]);
    let loaded = berth::cli::simulate::load(&path, None, None).unwrap_or_else(|e| panic!("{e}"));
    let r = berth::cli::simulate::run_modes(&loaded, &[Mode::Ecs, Mode::Fargate], 1, &|_| {}).0;
    let v = r.verdict.as_ref().expect("both modes ran");
    assert_eq!(v.could_not_run, [Mode::Ecs], "{v:?}");
    assert_eq!(v.cheaper, Mode::Fargate, "{v:?}");
    assert!(v.difference_usd.is_zero(), "{v:?}");
    assert!(v.text.contains("ECS on EC2 could not run it"), "{}", v.text);
    assert!(v.text.contains("the cluster has no hosts"), "{}", v.text);
    assert!(!v.text.contains("cheaper by"), "{}", v.text);
    let cheaper = r.expectations.iter().find(|e| e.name.starts_with("cheaper")).unwrap();
    assert!(!cheaper.ok, "{cheaper:?}");
    assert!(cheaper.detail.contains("could not run"), "{cheaper:?}");
    // The JSON says so too.
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["verdict"]["could_not_run"], serde_json::json!(["ecs"]));
}

#[test]
fn tasks_still_waiting_at_the_end_count_in_the_wait_statistics_and_per_family() {
    // Two hosts, each holding one whole-host task: of 4 tasks that run all day, 2 wait for ever.
    let sc =
        "duration = \"1d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\ncount = 4\n";
    let r = run(sc, &[("c.toml", CLUSTER), ("t.json", WHOLE_HOST)], &[Mode::Ecs, Mode::Fargate]);
    let e = &r.modes[&Mode::Ecs];
    assert_eq!(e.tasks.waiting_at_end, 2, "{:?}", e.tasks);
    assert_eq!(e.tasks.running_at_end, 2, "{:?}", e.tasks);
    assert_eq!(e.wait.tasks, 4, "{:?}", e.wait);
    assert_eq!(e.wait.still_waiting, 2, "{:?}", e.wait);
    assert_eq!(e.wait.max_s, 86_400.0, "{:?}", e.wait);
    let fam = &e.families[0];
    assert_eq!((fam.tasks.running_at_end, fam.tasks.waiting_at_end), (2, 2), "{:?}", fam.tasks);
    let f = &r.modes[&Mode::Fargate];
    assert_eq!(f.families[0].tasks.running_at_end, 4, "{:?}", f.families[0].tasks);
    let v = r.verdict.as_ref().unwrap();
    assert_eq!(v.could_not_run, [Mode::Ecs], "{v:?}");
    let text = berth::report::render_text(&r);
    assert!(text.contains("2 still waiting"), "{text}");
}

const WINDOWS_HOSTS: &str = "name = \"win\"\nregion = \"us-east-1\"\n[[hosts]]\n\
    instance_type = \"m5.large\"\nos = \"windows\"\ncount = 2\n";

#[test]
fn a_windows_host_without_a_windows_price_is_refused_with_exit_2() {
    let sc = "duration = \"1d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\n";
    let (dir, path) = write(sc, &[("c.toml", WINDOWS_HOSTS), ("t.json", SMALL)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("simulate")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("c.toml:5:6"), "{err}");
    assert!(err.contains("hosts[0].usd_per_hour"), "{err}");
    assert!(err.contains("no Windows price for m5.large in us-east-1"), "{err}");
    assert!(err.contains("set usd_per_hour in this [[hosts]] group"), "{err}");
    // With the price given, the hosts are billed at it.
    let priced = format!("{WINDOWS_HOSTS}usd_per_hour = \"0.5\"\n");
    std::fs::write(dir.path().join("c.toml"), priced).unwrap();
    let loaded = berth::cli::simulate::load(&path, None, None).unwrap_or_else(|e| panic!("{e}"));
    let r = berth::cli::simulate::run_modes(&loaded, &[Mode::Ecs], 1, &|_| {}).0;
    assert_eq!(r.modes[&Mode::Ecs].ecs.as_ref().unwrap().hosts_usd, sim_common::dec("24"));
}

#[test]
fn the_rate_table_names_each_rates_source_and_date() {
    let sc = "duration = \"1d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\nruntime = \"1h\"\n";
    let cluster =
        format!("{CLUSTER}[[hosts]]\ninstance_type = \"m5.large\"\nusd_per_hour = \"0.1\"\n");
    let r = run(sc, &[("c.toml", &cluster), ("t.json", SMALL)], &[Mode::Ecs, Mode::Fargate]);
    let ecs = &r.modes[&Mode::Ecs].rates;
    let catalog = ecs.iter().find(|x| x.usd_per_hour == sim_common::dec("0.096")).unwrap();
    assert_eq!(catalog.item, "EC2 m5.large (linux)");
    assert_eq!(catalog.as_of, "2026-01-19");
    assert!(catalog.source.contains("karpenter"), "{catalog:?}");
    let own = ecs.iter().find(|x| x.usd_per_hour == sim_common::dec("0.1")).unwrap();
    assert!(own.source.contains("cluster file"), "{own:?}");
    let f = &r.modes[&Mode::Fargate].rates;
    let vcpu = f.iter().find(|x| x.item == "Fargate vCPU (linux/x86_64)").unwrap();
    assert_eq!(vcpu.usd_per_hour, sim_common::dec("0.04048"));
    assert_eq!(vcpu.as_of, "2022-11-21");
    // Billed per second from the hourly price: a one-hour 0.25 vCPU / 0.5 GB task.
    let fc = r.modes[&Mode::Fargate].fargate.as_ref().unwrap();
    let secs = sim_common::dec(&fc.sizes[0].billed_seconds.to_string());
    assert_eq!(
        fc.vcpu_usd,
        sim_common::dec("0.25") * secs * sim_common::dec("0.04048") / sim_common::dec("3600")
    );
    let text = berth::report::render_text(&r);
    assert!(text.contains("Rates (hourly list prices"), "{text}");
    assert!(text.contains("$0.04048/vCPU-hour"), "{text}");
    let html = berth::html::report::render(&r);
    assert!(html.contains("Rates (hourly list prices"), "the HTML report has the rate table");
    assert!(html.contains("2022-11-21"));
}

#[test]
fn an_ec2_definition_on_fargate_is_sized_as_fargate_does_and_shows_what_it_asked() {
    // No task size. The app may burst to its 3000 MiB hard limit; its reservation and the
    // sidecar's are 128 MiB each. Fargate needs max(128 + 128, 3000) = 3000 MiB: 3 GB, not the
    // 4 GB that summing the hard limits (3000 + 128) would give, and the "asked" column shows
    // 3000 MiB, not the 256 MiB of soft limits.
    let td = r#"{"family": "legacy", "networkMode": "bridge",
      "containerDefinitions": [
        {"name": "app", "image": "app:1", "cpu": 256, "memory": 3000, "memoryReservation": 128},
        {"name": "side", "image": "side:1", "memoryReservation": 128}
      ]}"#;
    let sc = "duration = \"2h\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\nruntime = \"1h\"\n";
    let r = run(sc, &[("c.toml", CLUSTER), ("t.json", td)], &[Mode::Fargate]);
    let size = &r.modes[&Mode::Fargate].fargate.as_ref().unwrap().sizes[0];
    assert_eq!((size.cpu_units, size.memory_mib), (512, 3072), "{size:?}");
    assert_eq!((size.requested_cpu_units, size.requested_memory_mib), (256, 3000), "{size:?}");
    let text = berth::report::render_text(&r);
    assert!(text.contains("0.5 vCPU / 3 GB (256 CPU, 3000 MiB)"), "{text}");
}

#[test]
fn money_never_panics_and_floats_are_read_exactly_or_refused() {
    let sc = "duration = \"30d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\n";
    let host = |price: &str| {
        format!("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"m5.large\"\nusd_per_hour = {price}\n")
    };
    for (price, want) in [
        // Used to panic with "Multiplication overflowed" while billing.
        ("\"79228162514264337593543950335\"", "more than berth accepts"),
        // A TOML float keeps about 17 digits; this one used to be billed as 0.12345678901234568.
        ("0.123456789012345678901", "cannot be read exactly"),
    ] {
        let (_dir, path) = write(sc, &[("c.toml", &host(price)), ("t.json", SMALL)]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("simulate")
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{price}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("c.toml:5:16: error: hosts[0].usd_per_hour"), "{err}");
        assert!(err.contains(want), "{err}");
    }
    // Quoted, the same digits are exact.
    let (_dir, path) =
        write(sc, &[("c.toml", &host("\"0.123456789012345678901\"")), ("t.json", SMALL)]);
    let loaded = berth::cli::simulate::load(&path, None, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.cluster.hosts[0].usd_per_hour, sim_common::dec("0.123456789012345678901"));
}

#[test]
fn when_neither_mode_can_run_the_workload_the_verdict_says_so() {
    // No hosts for ECS, and Fargate refuses privileged containers.
    let td = r#"{"family": "priv", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
      "containerDefinitions": [{"name": "app", "image": "app:1", "privileged": true}]}"#;
    let sc = "duration = \"1h\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"t.json\"\nruntime = \"10m\"\n";
    let r = run(sc, &[("c.toml", NO_HOSTS), ("t.json", td)], &[Mode::Ecs, Mode::Fargate]);
    let v = r.verdict.as_ref().unwrap();
    assert_eq!(v.could_not_run, [Mode::Ecs, Mode::Fargate], "{v:?}");
    assert!(v.text.starts_with("No verdict: neither mode ran the whole workload"), "{}", v.text);
    assert!(v.text.contains("never got a Fargate slot"), "{}", v.text);
}
