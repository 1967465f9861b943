//! Costs worked out by hand, through the whole pipeline: scenario file → simulator → report.
//!
//! Latencies are set in the cluster file so the billed times are easy to follow: Fargate bills
//! from the start of the image pull (5 s) through the container start (1 s) and the run time to
//! the moment the container stops. us-east-1 hourly list prices (pricing.md §1.2), billed per
//! second at 1/3600 of them: Linux x86 vCPU 0.04048, GB 0.004445; ARM vCPU 0.03238, GB 0.00356;
//! Windows vCPU 0.09148, GB 0.01005, OS licence 0.046; storage above 20 GB 0.000111 per
//! GB-hour. EC2 m5.large $0.096 per hour.

mod sim_common;

use berth::engine::Mode;
use rust_decimal::Decimal;
use sim_common::{dec, run, CLUSTER};

/// quantity × seconds × hourly rate / 3600.
fn per_sec(quantity: &str, secs: u64, per_hour: &str) -> Decimal {
    dec(quantity) * Decimal::from(secs) * dec(per_hour) / dec("3600")
}

/// To 20 decimals: the 28th digit of a division is noise that the order of additions moves.
fn r20(v: Decimal) -> Decimal {
    v.round_dp(20)
}

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
    assert_eq!(r20(c.vcpu_usd), r20(per_sec("0.25", 60, "0.04048"))); // 0.25 vCPU × 60 s
    assert_eq!(r20(c.memory_usd), r20(per_sec("0.5", 60, "0.004445"))); // 0.5 GB × 60 s
    assert_eq!(
        r20(f.total_usd),
        r20(per_sec("0.25", 60, "0.04048") + per_sec("0.5", 60, "0.004445"))
    );
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
    // 3606 s billed: 0.5 vCPU and 1 GB.
    assert_eq!(
        r20(f.total_usd),
        r20(per_sec("0.5", 3606, "0.04048") + per_sec("1", 3606, "0.004445"))
    );
    // What the rounding cost: the unrequested 212 units and 424 MiB for 3606 s.
    let unasked = per_sec("0.20703125", 3606, "0.04048") + per_sec("0.4140625", 3606, "0.004445");
    assert!((c.rounding_usd - unasked).abs() < dec("0.00000000000000000001"), "{}", c.rounding_usd);
    assert!(f.notes.iter().any(|n| n.contains("awsvpc")), "{:?}", f.notes);
}

#[test]
fn ephemeral_storage_above_20_gib_is_billed() {
    let td = task_def(r#", "ephemeralStorage": {"sizeInGiB": 50}"#);
    let r =
        run(&scenario("1h", "2h"), &[("cluster.toml", CLUSTER), ("t.json", &td)], &[Mode::Fargate]);
    let c = r.modes[&Mode::Fargate].fargate.clone().unwrap();
    // 30 GB above the free 20 × 3606 s at 0.000111 per GB-hour.
    assert_eq!(r20(c.ephemeral_storage_usd), r20(per_sec("30", 3606, "0.000111")));
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
    assert_eq!(r20(c.vcpu_usd), r20(per_sec("1", 3606, "0.03238")));
    assert_eq!(r20(c.memory_usd), r20(per_sec("2", 3606, "0.00356")));
    assert_eq!(c.os_license_usd, dec("0"));

    let win = r#"{"family": "w", "networkMode": "awsvpc", "cpu": "1024", "memory": "2048",
        "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"},
        "containerDefinitions": [{"name": "app", "image": "app:1"}]}"#;
    let r =
        run(&scenario("1m", "1h"), &[("cluster.toml", CLUSTER), ("t.json", win)], &[Mode::Fargate]);
    let c = r.modes[&Mode::Fargate].fargate.clone().unwrap();
    // 66 s of work, billed at Windows' 5-minute minimum: 300 s.
    assert_eq!(r20(c.vcpu_usd), r20(per_sec("1", 300, "0.09148")));
    assert_eq!(r20(c.memory_usd), r20(per_sec("2", 300, "0.01005")));
    assert_eq!(r20(c.os_license_usd), r20(per_sec("1", 300, "0.046")));
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
    let secs = c.sizes[0].billed_seconds;
    assert_eq!(
        r20(f.total_usd),
        r20(per_sec("0.25", secs, "0.04048") + per_sec("0.5", secs, "0.004445"))
    );
    assert!(c.sizes[0].tasks > 100);
}
