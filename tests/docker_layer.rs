//! The Docker layer against a real engine: image build, start/wait/exit code, OOM, stop,
//! health, missing image. Skips loudly without Docker unless `BERTH_REQUIRE_DOCKER=1`.

mod docker_support;

use std::time::Duration;

use berth::docker::image::{self, WORKLOAD_IMAGE, WORKLOAD_PATH};
use berth::docker::labels;
use berth::docker::{DockerClient, Health, OOM_REASON};
use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig};
use docker_support::*;

fn body(guard: &RunGuard, cmd: &[&str], host: HostConfig) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(WORKLOAD_IMAGE.to_string()),
        entrypoint: Some(vec![WORKLOAD_PATH.to_string()]),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        labels: Some(labels::base(&guard.run, "test")),
        host_config: Some(HostConfig { network_mode: Some("none".into()), ..host }),
        ..Default::default()
    }
}

async fn run_to_exit(
    c: &DockerClient,
    guard: &RunGuard,
    name: &str,
    b: ContainerCreateBody,
) -> berth::docker::Exit {
    let id = c.create(&format!("{}-{name}", guard.run), b).await.unwrap();
    c.start(&id).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), c.wait_exit(&id))
        .await
        .expect("container did not exit")
        .unwrap()
}

#[tokio::test]
async fn image_builds_once_and_runs_offline() {
    let Some(c) = docker_or_skip("image_builds_once_and_runs_offline").await else { return };
    let guard = RunGuard::new(&c, "image");
    let fs = rootfs();
    assert!(fs.files.contains_key("berth-workload"));
    image::ensure_workload_image(&c, &fs).await.unwrap();
    // Same content: the second call finds the image by its hash label and builds nothing.
    let again = image::ensure_workload_image(&c, &fs).await.unwrap();
    assert!(!again.built, "an unchanged image must not be rebuilt");
    let img = c.raw().inspect_image(WORKLOAD_IMAGE).await.unwrap();
    let l = img.config.unwrap().labels.unwrap();
    assert_eq!(l[labels::IMAGE], "workload");
    assert!(
        !l.contains_key(labels::MANAGED),
        "containers inherit image labels; the image must not mark them managed"
    );
    assert_eq!(l[labels::CONTENT_HASH], again.hash);
    // The FROM-scratch image really runs the binary with its shipped libraries.
    let exit =
        run_to_exit(&c, &guard, "exit0", body(&guard, &["exit", "0"], HostConfig::default())).await;
    assert_eq!(exit.code, 0);
}

#[tokio::test]
async fn exit_codes_are_outcomes_not_errors() {
    let Some(c) = docker_or_skip("exit_codes_are_outcomes_not_errors").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "exit");
    let exit =
        run_to_exit(&c, &guard, "exit3", body(&guard, &["exit", "3"], HostConfig::default())).await;
    assert_eq!((exit.code, exit.oom, exit.reason()), (3, false, None));
}

#[tokio::test]
async fn oom_kill_is_reported_like_ecs() {
    let Some(c) = docker_or_skip("oom_kill_is_reported_like_ecs").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "oom");
    let host = HostConfig {
        memory: Some(16 * 1024 * 1024),
        memory_swap: Some(16 * 1024 * 1024),
        ..Default::default()
    };
    let exit = run_to_exit(
        &c,
        &guard,
        "hog",
        body(&guard, &["hold", "--mib", "64", "--seconds", "5"], host),
    )
    .await;
    assert!(exit.oom, "expected an OOM kill, got {exit:?}");
    assert_eq!(exit.code, 137);
    assert_eq!(exit.reason(), Some(OOM_REASON));
}

#[tokio::test]
async fn stop_sends_sigterm_that_pid1_honours() {
    let Some(c) = docker_or_skip("stop_sends_sigterm_that_pid1_honours").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "stop");
    let id = c
        .create(
            &format!("{}-sleeper", guard.run),
            body(&guard, &["sleep", "120"], HostConfig::default()),
        )
        .await
        .unwrap();
    c.start(&id).await.unwrap();
    // `start` returns once the process exists, which can be before the program has reached
    // `main` and installed its SIGTERM handler (PID 1 ignores SIGTERM until then). Stop it
    // only once the kernel shows the handler (SigCgt bit 15), so the test measures the
    // handler, not that start-up window.
    let inspect = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{.State.Pid}}", &id])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&inspect.stdout).trim().to_string();
    let catches_sigterm = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|m| m & (1 << 14) != 0)
    };
    let waited = std::time::Instant::now();
    while !catches_sigterm() && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(catches_sigterm(), "the workload never installed its SIGTERM handler (pid {pid})");
    let t0 = std::time::Instant::now();
    c.stop(&id, Duration::from_secs(20)).await.unwrap();
    // Without the SIGTERM handler PID 1 would ignore the signal and take the full 20 s.
    assert!(t0.elapsed() < Duration::from_secs(5), "stop took {:?}", t0.elapsed());
    assert_eq!(c.wait_exit(&id).await.unwrap().code, 143);
    c.remove(&id).await.unwrap();
    c.remove(&id).await.unwrap(); // removing twice is fine
}

#[tokio::test]
async fn health_check_turns_healthy() {
    let Some(c) = docker_or_skip("health_check_turns_healthy").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "health");
    let mut b = body(&guard, &["serve", "--port", "8080"], HostConfig::default());
    b.healthcheck = Some(HealthConfig {
        test: Some(vec![
            "CMD".into(),
            WORKLOAD_PATH.into(),
            "health".into(),
            "--port".into(),
            "8080".into(),
        ]),
        interval: Some(300_000_000),
        timeout: Some(2_000_000_000),
        retries: Some(3),
        ..Default::default()
    });
    let id = c.create(&format!("{}-web", guard.run), b).await.unwrap();
    c.start(&id).await.unwrap();
    let mut last = None;
    for _ in 0..50 {
        last = c.health(&id).await.unwrap();
        if last == Some(Health::Healthy) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last, Some(Health::Healthy));
}

#[tokio::test]
async fn missing_image_is_cannot_pull() {
    let Some(c) = docker_or_skip("missing_image_is_cannot_pull").await else { return };
    let guard = RunGuard::new(&c, "pull");
    let image = "berth-test/definitely-not-here:0.0.0";
    let err = c.require_image(image).await.unwrap_err();
    assert_eq!(err.name, "CannotPullContainerError");
    assert!(err.to_string().starts_with("CannotPullContainerError: "), "{err}");
    assert!(err.message.contains(image) && err.message.contains("--stand-in"), "{err}");
    // Creating a container from it is the same error (never a pull).
    let mut b = body(&guard, &["exit", "0"], HostConfig::default());
    b.image = Some(image.into());
    let err = c.create(&format!("{}-nope", guard.run), b).await.unwrap_err();
    assert_eq!(err.name, "CannotPullContainerError");
}

#[tokio::test]
async fn cgroup_sampling_sees_cpu_and_memory() {
    let Some(c) = docker_or_skip("cgroup_sampling_sees_cpu_and_memory").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "usage");
    let id = c
        .create(
            &format!("{}-busy", guard.run),
            body(
                &guard,
                &["run", "--cpu", "0.5", "--mib", "32", "--seconds", "30"],
                HostConfig::default(),
            ),
        )
        .await
        .unwrap();
    c.start(&id).await.unwrap();
    let pid = c.inspect(&id).await.unwrap().state.unwrap().pid.unwrap();
    let probe = match berth::docker::usage::CgroupProbe::for_container(pid, &id) {
        Some(p) => p,
        None => {
            eprintln!(
                "cgroup files not readable here; checking the one-shot stats fallback instead"
            );
            let s = berth::docker::usage::one_shot(c.raw(), &id).await.expect("one-shot stats");
            assert!(s.memory_bytes > 16 << 20);
            return;
        }
    };
    let mut stats = berth::docker::usage::UsageStats::default();
    let t0 = std::time::Instant::now();
    for _ in 0..5 {
        stats.add(t0.elapsed().as_secs_f64(), probe.read().unwrap());
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let cpu = stats.mean_vcpu().unwrap();
    assert!((0.2..0.9).contains(&cpu), "burning half a CPU measured as {cpu}");
    assert!(
        stats.peak_memory_bytes > 30 << 20,
        "holding 32 MiB measured as {}",
        stats.peak_memory_bytes
    );
}
