//! `berth run` as a user runs it: the real binary, Ctrl-C (SIGINT) stopping gracefully and
//! leaving nothing behind, and the JSON report's extra sections.

mod docker_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docker_support::*;

#[tokio::test]
async fn sigint_stops_gracefully_and_removes_everything() {
    let Some(c) = docker_or_skip("sigint_stops_gracefully_and_removes_everything").await else {
        return;
    };
    ensure_image(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let cluster = format!("sigint-{}", std::process::id());
    let scenario = write_scenario(dir.path(), &cluster, "1h", "30m");
    let child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--time-scale",
            "10",
            "--stand-in",
            "--mode",
            "both",
        ])
        .env("BERTH_WORKLOAD_BIN", env!("CARGO_BIN_EXE_berth-workload"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Clean up even if an assertion fails below: stop the child first (SIGINT, then SIGKILL),
    // so it cannot create more after the sweep, then remove by label as `berth cleanup` would.
    struct Sweep(String, u32);
    impl Drop for Sweep {
        fn drop(&mut self) {
            let pid = self.1.to_string();
            let alive =
                || Command::new("kill").args(["-0", &pid]).status().is_ok_and(|s| s.success());
            if alive() {
                let _ = Command::new("kill").args(["-INT", &pid]).status();
                let t0 = Instant::now();
                while alive() && t0.elapsed() < Duration::from_secs(30) {
                    std::thread::sleep(Duration::from_millis(200));
                }
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
            remove_cluster_objects(&self.0);
        }
    }
    let _sweep = Sweep(cluster.clone(), child.id());
    // Wait until both modes run their tasks: 2 web + 2 batch per mode, plus Fargate sandboxes.
    let t0 = Instant::now();
    while labelled(&cluster).0 < 8 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(250));
    }
    let (containers, networks) = labelled(&cluster);
    assert!(
        containers >= 8 && networks >= 1,
        "the run did not get going: {containers} containers, {networks} networks"
    );
    // `berth ps` shows what the run placed where, grouped by host and task, with ports.
    let ps = || {
        let out = Command::new(env!("CARGO_BIN_EXE_berth")).args(["ps", "--all"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut listing = ps();
    while !listing.contains("->8080/tcp") && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(250));
        listing = ps();
    }
    let ps = listing;
    assert!(ps.contains("ecs host i-0000000000000001"), "{ps}");
    assert!(ps.contains("fargate host fargate"), "{ps}");
    assert!(ps.contains("->8080/tcp"), "web's port is not shown: {ps}");
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(stdout.contains("STOPPED"), "tasks did not go through STOPPED:\n{stdout}");
    assert!(stdout.contains("interrupted (SIGINT (Ctrl-C))"), "{stdout}");
    assert_eq!(labelled(&cluster), (0, 0), "containers or networks left behind");
}

#[tokio::test]
async fn json_report_has_simulate_shape_plus_measured() {
    let Some(c) = docker_or_skip("json_report_has_simulate_shape_plus_measured").await else {
        return;
    };
    ensure_image(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let cluster = format!("json-{}", std::process::id());
    let scenario = write_scenario(dir.path(), &cluster, "2m", "40s");
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--time-scale",
            "20",
            "--stand-in",
            "--mode",
            "fargate",
            "--format",
            "json",
        ])
        .env("BERTH_WORKLOAD_BIN", env!("CARGO_BIN_EXE_berth-workload"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["schema"], berth::report::SCHEMA);
    assert!(v["modes"]["fargate"]["total_usd"].is_string());
    assert_eq!(v["modes"]["fargate"]["tasks"]["launched"], 4);
    assert_eq!(v["stood_in"]["example.invalid/etl:2.1"][0], "batch");
    let fams = v["measured"]["fargate"]["families"].as_array().unwrap();
    let web = fams.iter().find(|f| f["family"] == "web").expect("web measured");
    assert!(web["peak_memory_mib"].as_f64().unwrap() > 0.0, "{web}");
    assert_eq!(web["reserved_memory_mib"], 512);
    assert!(web["fargate_size_hint"].is_string());
    assert_eq!(labelled(&cluster), (0, 0));
}

/// No Docker: a clear error naming the endpoint, a hint, exit code 2, nothing created.
#[test]
fn unreachable_engine_is_exit_2_with_hint() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "unreachable", "1m", "10s");
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["run", scenario.to_str().unwrap(), "--docker", "unix:///nonexistent/berth.sock"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unix:///nonexistent/berth.sock"), "{stderr}");
    assert!(stderr.contains("hint: start Docker") && stderr.contains("DOCKER_HOST"), "{stderr}");
}
