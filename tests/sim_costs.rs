//! Costs worked out by hand, through the whole pipeline: scenario file → simulator → report.
//!
//! Latencies are set in the cluster file so the billed times are easy to follow: Fargate bills
//! from the start of the image pull (5 s) through the container start (1 s) and the run time to
//! the moment the container stops. us-east-1 per-second rates (pricing.md §1.2):
//! Linux x86 vCPU 0.000011244, GB 0.000001235; ARM vCPU 0.0000089944, GB 0.0000009889;
//! Windows vCPU 0.0000254167, GB 0.0000027778, OS licence 0.0000127778; storage above 20 GB
//! 0.0000000308 per GB-second. EC2 m5.large $0.096 per hour.

mod sim_common;

use berth::engine::Mode;
use sim_common::{dec, run, CLUSTER};

fn task_def(extra: &str) -> String {
    format!(
        r#"{{"family": "t", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "containerDefinitions": [{{"name": "app", "image": "app:1", "essential": true}}]{extra}}}"#
    )
}

fn scenario(runtime: &str, duration: &str) -> String {
    format!(
        "duration = \"{duration}\"\ncluster = \"cluster.toml\"\n[[tasks]]\ntask_def = \"t.json\"\nruntime = \"{runtime}\"\n"
    )
}

#[test]
fn a_task_shorter_than_a_minute_is_billed_a_minute() {
    let td = task_def("");
    let r = run(
        &scenario("10s", "1h"),
        &[("cluster.toml", CLUSTER), ("t.json", &td)],
        &[Mode::Fargate],
    );
    let f = &r.modes[&Mode::Fargate];
    let c = f.fargate.as_ref().unwrap();
    // 5 s pull + 1 s start + 10 s = 16 s, billed as 60 s.
    assert_eq!(c.sizes[0].billed_seconds, 60);
    assert_eq!(c.vcpu_usd, dec("0.00016866")); // 0.25 vCPU × 60 s × 0.000011244
    assert_eq!(c.memory_usd, dec("0.00003705")); // 0.5 GB × 60 s × 0.000001235
    assert_eq!(f.total_usd, dec("0.00020571"));
    assert_eq!(c.ephemeral_storage_usd, dec("0"));
    assert_eq!(f.tasks.completed, 1);
}

#[test]
fn hosts_are_billed_while_idle() {
    let td = task_def("");
    let r =
        run(&scenario("10s", "1d"), &[("cluster.toml", CLUSTER), ("t.json", &td)], &[Mode::Ecs]);
    let e = &r.modes[&Mode::Ecs];
    let c = e.ecs.as_ref().unwrap();
    // Two m5.large for 24 h whatever runs on them: 2 × 24 × 0.096.
    assert_eq!(e.total_usd, dec("4.608"));
    assert_eq!(c.hosts_usd, dec("4.608"));
    assert_eq!(c.host_hours, dec("48"));
    assert_eq!(c.reserved_usd + c.idle_usd, c.hosts_usd);
    // The one task held 256 of 2048 CPU units and 512 of 8192 MiB on one host for 16 s.
    // Reserved share = mean(256×16/(2048×86400), 512×16/(8192×86400)) of that host's $2.304.
    let share = (dec("256") * dec("16") / (dec("2048") * dec("86400"))
        + dec("512") * dec("16") / (dec("8192") * dec("86400")))
        / dec("2");
    assert_eq!(c.reserved_usd, (dec("2.304") * share).round_dp(10));
    assert!(c.idle_usd > dec("4.6"));
    assert_eq!(c.instance_types[0].hosts, 2);
}

#[test]
fn an_ec2_style_task_is_rounded_up_to_a_fargate_size() {
    // Bridge mode, no task-level size, one container with 300 CPU units and 600 MiB.
    let td = r#"{"family": "legacy", "networkMode": "bridge",
        "containerDefinitions": [{"name": "app", "image": "app:1", "cpu": 300, "memory": 600,
          "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]}"#;
    let sc = "duration = \"2h\"\ncluster = \"cluster.toml\"\n[[tasks]]\ntask_def = \"t.json\"\nruntime = \"1h\"\n";
    let r = run(sc, &[("cluster.toml", CLUSTER), ("t.json", td)], &[Mode::Fargate]);
    let f = &r.modes[&Mode::Fargate];
    let c = f.fargate.as_ref().unwrap();
    let size = &c.sizes[0];
    assert_eq!((size.cpu_units, size.memory_mib), (512, 1024));
    assert_eq!(size.size, "0.5 vCPU / 1 GB");
    assert_eq!((size.requested_cpu_units, size.requested_memory_mib), (300, 600));
    // 3606 s billed: 0.5 × 3606 × 0.000011244 + 1 × 3606 × 0.000001235.
    assert_eq!(f.total_usd, dec("0.024726342"));
    // What the rounding cost: the unrequested 212 units and 424 MiB for 3606 s.
    assert_eq!(c.rounding_usd, dec("0.010238250984375"));
    assert!(f.notes.iter().any(|n| n.contains("awsvpc")), "{:?}", f.notes);
}

#[test]
fn ephemeral_storage_above_20_gib_is_billed() {
    let td = task_def(r#", "ephemeralStorage": {"sizeInGiB": 50}"#);
    let r =
        run(&scenario("1h", "2h"), &[("cluster.toml", CLUSTER), ("t.json", &td)], &[Mode::Fargate]);
    let c = r.modes[&Mode::Fargate].fargate.clone().unwrap();
    // 30 GB above the free 20 × 3606 s × 0.0000000308.
    assert_eq!(c.ephemeral_storage_usd, dec("0.003331944"));
    assert_eq!(c.storage_gb_hours, dec("30.05")); // 30 GB × 3606 s
}

#[test]
fn arm_and_windows_rates() {
    let arm = r#"{"family": "a", "networkMode": "awsvpc", "cpu": "1024", "memory": "2048",
        "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
        "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;
    let r =
        run(&scenario("1h", "2h"), &[("cluster.toml", CLUSTER), ("t.json", arm)], &[Mode::Fargate]);
    let c = r.modes[&Mode::Fargate].fargate.clone().unwrap();
    assert_eq!(c.vcpu_usd, dec("0.0324338064")); // 1 × 3606 × 0.0000089944
    assert_eq!(c.memory_usd, dec("0.0071319468")); // 2 × 3606 × 0.0000009889
    assert_eq!(c.os_license_usd, dec("0"));

    let win = r#"{"family": "w", "networkMode": "awsvpc", "cpu": "1024", "memory": "2048",
        "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"},
        "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;
    let r =
        run(&scenario("1m", "1h"), &[("cluster.toml", CLUSTER), ("t.json", win)], &[Mode::Fargate]);
    let c = r.modes[&Mode::Fargate].fargate.clone().unwrap();
    // 66 s of work, billed at Windows' 5-minute minimum: 300 s.
    assert_eq!(c.vcpu_usd, dec("0.00762501"));
    assert_eq!(c.memory_usd, dec("0.00166668"));
    assert_eq!(c.os_license_usd, dec("0.00383334"));
}

#[test]
fn pricing_per_family_sum_equals_per_task_charges() {
    // Many tasks with different run times: the aggregate (billed seconds summed per family and
    // size, priced once) must equal the sum of each task's own charge.
    let td = task_def("");
    let sc = "duration = \"1d\"\ncluster = \"cluster.toml\"\n[[tasks]]\ntask_def = \"t.json\"\n\
              arrivals = { every = \"exp(7m)\" }\nruntime = \"exp(3m)\"\n";
    let r = run(sc, &[("cluster.toml", CLUSTER), ("t.json", &td)], &[Mode::Fargate]);
    let f = &r.modes[&Mode::Fargate];
    let c = f.fargate.as_ref().unwrap();
    let per_second = dec("0.25") * dec("0.000011244") + dec("0.5") * dec("0.000001235");
    let secs = rust_decimal::Decimal::from(c.sizes[0].billed_seconds);
    assert_eq!(f.total_usd, (secs * per_second).normalize());
    assert!(c.sizes[0].tasks > 100);
}
