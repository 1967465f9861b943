//! The Docker runtime under faults (issue 11 §1): SIGTERM and SIGHUP stop a run like Ctrl-C
//! and bill it to the interrupt, a second signal kills instead of abandoning the cleanup, a
//! sandbox killed from outside stops its task. Every case ends with nothing of the run left.
//!
//! The signal cases spawn the real `berth run` binary and signal it with `kill`, as a user's
//! shell or a service manager would.

mod docker_support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth::docker::image::WORKLOAD_IMAGE;
use berth::docker::labels;
use berth::docker::runtime::{self, Engines, RuntimeConfig, Script};
use berth::docker::script::StaticScript;
use berth::engine::{Command as EngineCommand, Engine, Mode, RunTask, StopCode, TaskStatus};
use berth::taskdef::model::NetworkMode;
use berth::time::SimTime;
use docker_support::model::*;
use docker_support::*;

fn alive(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn signal(pid: u32, sig: &str) {
    Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).status().unwrap();
}

/// Ends the child (SIGKILL after 60 s) and removes what carries the test's cluster label, also
/// when an assertion fails; only this test's objects carry it.
struct Sweep {
    cluster: String,
    pid: u32,
}

impl Drop for Sweep {
    fn drop(&mut self) {
        let t0 = Instant::now();
        while alive(self.pid) && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(200));
        }
        if alive(self.pid) {
            signal(self.pid, "KILL");
        }
        remove_cluster_objects(&self.cluster);
    }
}

/// `berth run SCENARIO ARGS...` with the workload binary of this build.
fn spawn_run(scenario: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("run")
        .arg(scenario)
        .args(args)
        .env("BERTH_WORKLOAD_BIN", env!("CARGO_BIN_EXE_berth-workload"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 90 s) until `cluster` has at least `n` containers.
fn wait_for_containers(cluster: &str, n: usize) {
    let t0 = Instant::now();
    while labelled(cluster).0 < n && t0.elapsed() < Duration::from_secs(90) {
        std::thread::sleep(Duration::from_millis(250));
    }
    let (c, _) = labelled(cluster);
    assert!(c >= n, "the run did not get going: {c} of {n} containers");
}

/// Waits for the child, at most `limit`; kills it and fails when it takes longer.
fn wait_output(child: Child, limit: Duration) -> (Output, Duration) {
    let pid = child.id();
    let t0 = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => (out.unwrap(), t0.elapsed()),
        Err(_) => {
            signal(pid, "KILL");
            panic!("berth run did not end within {limit:?} of the signal");
        }
    }
}

fn num(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::String(s) => s.parse().unwrap(),
        v => v.as_f64().unwrap(),
    }
}

/// SIGTERM or SIGHUP: the run stops like Ctrl-C (tasks through STOPPED, everything removed),
/// writes the report marked interrupted by that signal, exits 128 + the signal's number, and
/// bills exactly the scenario time that ran: ECS hosts to the interrupt, not the scenario's end.
fn signal_stops_like_ctrl_c(sig: &str, code: i32, test: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = format!("{}-{}", test.replace('_', "-"), std::process::id());
    let scenario = write_scenario(dir.path(), &cluster, "1h", "30m");
    let save = dir.path().join("run.json");
    let child = spawn_run(
        &scenario,
        &[
            "--time-scale",
            "10",
            "--stand-in",
            "--mode",
            "both",
            "--format",
            "json",
            "--save",
            save.to_str().unwrap(),
        ],
    );
    let _sweep = Sweep { cluster: cluster.clone(), pid: child.id() };
    // Both modes running: 2 web + 2 batch per mode, plus the awsvpc/Fargate sandboxes.
    wait_for_containers(&cluster, 8);
    signal(child.id(), sig);
    let (out, _) = wait_output(child, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains(&format!("SIG{sig}: stopping")), "{stderr}");
    assert_eq!(labelled(&cluster), (0, 0), "containers or networks left behind");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report on stdout");
    assert_eq!(v["interrupted"], true);
    let name = format!("SIG{sig}");
    assert!(v["interrupted_by"].as_str().unwrap().starts_with(&name), "{}", v["interrupted_by"]);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&save).unwrap()).unwrap();
    assert_eq!(saved["interrupted"], true, "the saved report is the same report");
    // Billed to the interrupt: two m5.large hosts for T seconds, not for the scenario's hour.
    // Each mode's scenario clock has its own interrupt time (it waits for Docker separately).
    let t = num(&v["interrupted_at_seconds_by_mode"]["ecs"]);
    assert!(t <= num(&v["interrupted_at_seconds"]));
    assert!(t > 0.0 && t < 600.0, "interrupted at {t} s");
    let host_seconds = num(&v["modes"]["ecs"]["host_hours"]) * 3600.0;
    let expected = 2.0 * t;
    assert!(
        (host_seconds - expected).abs() <= 2.0,
        "ECS hosts billed {host_seconds} s, expected {expected} s (2 hosts to the interrupt at {t} s)"
    );
    let ecs = num(&v["modes"]["ecs"]["total_usd"]);
    assert!(ecs < 2.0 * 0.096 / 4.0, "ECS billed ${ecs}, about the whole scenario hour");
    let notes = v["modes"]["ecs"]["notes"].to_string();
    assert!(notes.contains(&format!("interrupted ({name}")), "{notes}");
}

#[tokio::test]
async fn sigterm_stops_like_ctrl_c_and_bills_to_the_interrupt() {
    let Some(c) = docker_or_skip("sigterm_stops_like_ctrl_c_and_bills_to_the_interrupt").await
    else {
        return;
    };
    ensure_image(&c).await;
    tokio::task::spawn_blocking(|| signal_stops_like_ctrl_c("TERM", 143, "sigterm_faults"))
        .await
        .unwrap();
}

#[tokio::test]
async fn sighup_stops_like_ctrl_c_and_bills_to_the_interrupt() {
    let Some(c) = docker_or_skip("sighup_stops_like_ctrl_c_and_bills_to_the_interrupt").await
    else {
        return;
    };
    ensure_image(&c).await;
    tokio::task::spawn_blocking(|| signal_stops_like_ctrl_c("HUP", 129, "sighup_faults"))
        .await
        .unwrap();
}

/// An image whose stop signal (SIGUSR1) berth-workload does not handle, so as PID 1 it
/// ignores `docker stop` until the SIGKILL after the stop timeout. Removed on drop.
struct DeafImage(String);

impl DeafImage {
    fn build() -> DeafImage {
        let tag = format!("berth-test/deaf:{}", std::process::id());
        let mut child = Command::new("docker")
            .args(["build", "-q", "-t", &tag, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("FROM {WORKLOAD_IMAGE}\nSTOPSIGNAL SIGUSR1\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "docker build: {}", String::from_utf8_lossy(&out.stderr));
        DeafImage(tag)
    }
}

impl Drop for DeafImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

/// A second signal during the graceful stop kills the containers (SIGKILL) and still removes
/// everything, instead of exiting and leaving them running (what a second Ctrl-C used to do).
/// The containers ignore SIGTERM and have a 120 s stopTimeout at time scale 1, so a graceful
/// stop alone would take berth's whole 20 s grace.
#[tokio::test]
async fn second_signal_kills_and_still_cleans_up() {
    let Some(c) = docker_or_skip("second_signal_kills_and_still_cleans_up").await else {
        return;
    };
    ensure_image(&c).await;
    let image = DeafImage::build();
    let dir = tempfile::tempdir().unwrap();
    let cluster = format!("second-signal-{}", std::process::id());
    let w = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    w(
        "cluster.toml",
        format!("name = \"{cluster}\"\nregion = \"us-east-1\"\n\n[[hosts]]\ninstance_type = \"m5.large\"\ncount = 1\n"),
    );
    w(
        "deaf.json",
        format!(
            r#"{{"family": "deaf", "networkMode": "bridge", "cpu": "256", "memory": "512",
 "containerDefinitions": [{{"name": "app", "image": "{}", "essential": true, "stopTimeout": 120,
   "command": ["sleep", "3600"]}}]}}"#,
            image.0
        ),
    );
    w(
        "scenario.toml",
        "name = \"deaf\"\nduration = \"1h\"\ncluster = \"cluster.toml\"\n\n[[tasks]]\nname = \"deaf\"\ntask_def = \"deaf.json\"\ncount = 2\n".into(),
    );
    let scenario = dir.path().join("scenario.toml");
    let cluster2 = cluster.clone();
    tokio::task::spawn_blocking(move || {
        let child = spawn_run(&scenario, &["--time-scale", "1", "--mode", "ecs"]);
        let _sweep = Sweep { cluster: cluster2.clone(), pid: child.id() };
        wait_for_containers(&cluster2, 2);
        signal(child.id(), "INT");
        std::thread::sleep(Duration::from_secs(2));
        assert!(alive(child.id()), "berth ended before the containers stopped");
        signal(child.id(), "INT");
        let (out, took) = wait_output(child, Duration::from_secs(60));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stderr.contains("SIGINT again: killing"), "{stderr}");
        assert_eq!(labelled(&cluster2), (0, 0), "the second signal abandoned the cleanup");
        assert!(took < Duration::from_secs(15), "the forced stop took {took:?}");
        assert!(stdout.contains("exited 137"), "the containers were not killed:\n{stdout}");
        assert!(stdout.contains("interrupted (SIGINT"), "{stdout}");
    })
    .await
    .unwrap();
}

/// A Fargate task's sandbox (the `~internal~ecs~pause` network owner) killed from outside is
/// noticed: the task stops (desired STOPPED, then STOPPED) with a reason naming the sandbox,
/// instead of staying RUNNING and billed; the run then ends with nothing left.
#[tokio::test]
async fn killed_sandbox_stops_its_task() {
    let Some(c) = docker_or_skip("killed_sandbox_stops_its_task").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "sandbox");
    let td = taskdef(
        "held",
        NetworkMode::Awsvpc,
        vec![container("app", WORKLOAD_IMAGE, &["sleep", "3600"])],
    );
    let script: Script = vec![
        (SimTime::ZERO, EngineCommand::RegisterTaskDefinition(Box::new(td))),
        (SimTime::ZERO, EngineCommand::RunTask(RunTask::new("held", 1))),
    ];
    let engine = Engine::new(cluster(1, |_| None), Mode::Fargate, 5);
    let engines = Engines { default: c.clone(), by_endpoint: Default::default() };
    let cfg = RuntimeConfig::new(guard.run.clone(), 10.0);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    // RUNNING as the engine sees it: the scenario clock hands Docker's start over at its
    // modelled time, so a container Docker runs may not have started for the engine yet (a
    // sandbox killed before then is a task that failed to start, not one whose essential
    // container exited).
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = running.clone();
    let run = tokio::spawn(async move {
        runtime::run(engine, &mut StaticScript::new(script), engines, cfg, rx, move |_, e| {
            if e.tasks().any(|t| t.last_status == TaskStatus::Running) {
                seen.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .await
    });
    // Wait for the task's container (it joins the sandbox, so the sandbox exists by then).
    let role = |r: &str| -> Vec<String> {
        let out = Command::new("docker")
            .args(["ps", "-q", "--filter", &format!("label={}={}", labels::RUN, guard.run)])
            .args(["--filter", &format!("label={}={r}", labels::ROLE)])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect()
    };
    let mut sandbox: Vec<String> = Vec::new();
    for _ in 0..150 {
        if running.load(std::sync::atomic::Ordering::SeqCst) && !role("task").is_empty() {
            sandbox = role("sandbox");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sandbox.len(), 1, "no running task with a sandbox");
    let killed = Command::new("docker").args(["kill", &sandbox[0]]).output().unwrap();
    assert!(killed.status.success(), "{}", String::from_utf8_lossy(&killed.stderr));
    let r = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the task did not stop after its sandbox was killed")
        .unwrap()
        .unwrap();
    let task = r.engine.tasks().next().unwrap();
    assert_eq!(task.last_status, TaskStatus::Stopped);
    assert_eq!(task.stop_code, Some(StopCode::EssentialContainerExited));
    let reason = task.stopped_reason.as_ref().unwrap().to_string();
    assert!(
        reason.starts_with("Essential container in task exited (~internal~ecs~pause: ")
            && reason.contains("exited with code 137"),
        "{reason}"
    );
    assert!(!r.interrupted);
    let left = berth::docker::cleanup::find(&c, Some(&guard.run), false).await.unwrap();
    assert!(left.is_empty(), "the run left {left:?}");
}

/// A private dockerd that stops its containers within 2 s when it is stopped (its default is
/// 15 s, longer than the test helper waits before SIGKILL, which would orphan the containers'
/// shims).
fn quick_shutdown() -> Vec<String> {
    vec!["--shutdown-timeout".into(), "2".into()]
}

/// Collects a child's stderr as it comes (a thread), so the test can read it while it runs.
fn tee_stderr(child: &mut Child) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::BufRead;
    let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (b, err) = (buf.clone(), child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let mut b = b.lock().unwrap();
            b.push_str(&line);
            b.push('\n');
        }
    });
    buf
}

/// The run id `berth run` announces (`berth run NAME: run <id>, ...`), waited for (60 s).
fn run_id_of(stderr: &std::sync::Mutex<String>) -> String {
    let t0 = Instant::now();
    loop {
        let text = stderr.lock().unwrap().clone();
        if let Some(rest) = text.split(": run ").nth(1) {
            if let Some(id) = rest.split(',').next() {
                return id.to_string();
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no run id announced:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn berth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth")).args(args).output().unwrap()
}

/// Two runs at once on one engine: each is seen to be alive (its lock), so the second run's
/// note about leftovers does not name the first, `berth ps` shows the first as running, and
/// `berth cleanup --run FIRST` refuses to touch it. Once the first is killed (-9), its
/// containers are leftovers: `berth ps` says so and `berth cleanup --run FIRST` removes them.
#[tokio::test]
async fn two_runs_at_once_leave_each_other_alone() {
    let Some(c) = docker_or_skip("two_runs_at_once_leave_each_other_alone").await else {
        return;
    };
    ensure_image(&c).await;
    tokio::task::spawn_blocking(|| {
        let dir_a = tempfile::tempdir().unwrap();
        let dir_b = tempfile::tempdir().unwrap();
        let (ca, cb) = (
            format!("two-runs-a-{}", std::process::id()),
            format!("two-runs-b-{}", std::process::id()),
        );
        let args = ["--time-scale", "10", "--stand-in", "--mode", "ecs"];
        let mut a = spawn_run(&write_scenario(dir_a.path(), &ca, "1h", "30m"), &args);
        let _sweep_a = Sweep { cluster: ca.clone(), pid: a.id() };
        let a_err = tee_stderr(&mut a);
        let run_a = run_id_of(&a_err);
        wait_for_containers(&ca, 4);

        let mut b = spawn_run(&write_scenario(dir_b.path(), &cb, "1h", "30m"), &args);
        let _sweep_b = Sweep { cluster: cb.clone(), pid: b.id() };
        let b_err = tee_stderr(&mut b);
        let run_b = run_id_of(&b_err);
        let b_said = b_err.lock().unwrap().clone();
        assert!(
            !b_said.contains(&run_a),
            "the leftovers note names the live run {run_a}:\n{b_said}"
        );

        let ps = berth(&["ps", "--all"]);
        let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
        let line = ps.lines().find(|l| l.starts_with(&format!("run {run_a} "))).unwrap_or("");
        assert!(line.contains(&format!("running, pid {}", a.id())), "{ps}");

        let refused = berth(&["cleanup", "--run", &run_a]);
        let said = String::from_utf8_lossy(&refused.stdout);
        assert_eq!(refused.status.code(), Some(1), "{said}");
        assert!(said.contains(&format!("leaving run {run_a} alone (running, pid")), "{said}");
        let (left, _) = labelled(&ca);
        assert!(left >= 4, "cleanup touched the live run: {left} containers left");

        // kill -9: no cleanup of its own; now its objects are leftovers.
        signal(a.id(), "KILL");
        let _ = a.wait();
        // A create the killed process had sent may still land in the engine after it died:
        // let its objects settle (the same count for a second, 15 s at most) before cleaning.
        let settled = Instant::now();
        let mut last = labelled(&ca);
        let mut since = Instant::now();
        while since.elapsed() < Duration::from_secs(1)
            && settled.elapsed() < Duration::from_secs(15)
        {
            std::thread::sleep(Duration::from_millis(100));
            let now = labelled(&ca);
            if now != last {
                (last, since) = (now, Instant::now());
            }
        }
        let ps = berth(&["ps", "--all"]);
        let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
        let line = ps.lines().find(|l| l.starts_with(&format!("run {run_a} "))).unwrap_or("");
        assert!(line.contains("not running: left behind"), "{ps}");
        let removed = berth(&["cleanup", "--run", &run_a]);
        assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stdout));
        assert_eq!(labelled(&ca), (0, 0), "the dead run's objects were not removed");
        // The second run was not disturbed by any of it.
        assert!(alive(b.id()) && labelled(&cb).0 >= 4, "run {run_b} was disturbed");
        signal(b.id(), "INT");
        let (out, _) = wait_output(b, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(130));
        assert_eq!(labelled(&cb), (0, 0));
    })
    .await
    .unwrap();
}

/// A Docker engine that goes away during the run and does not come back: berth notices it
/// while the run goes on (its host's agent is disconnected, so a task launched later waits
/// with `AGENT` instead of being placed there), makes up no exit code for the container it
/// lost, still ends (within its shutdown grace) and prints the report, and exits 2 saying what
/// may be left on that engine and the exact `berth cleanup` command that removes it. The
/// engine is a private dockerd (the shared system engine is never stopped).
#[tokio::test]
async fn engine_gone_for_good_is_exit_2_with_the_cleanup_command() {
    let test = "engine_gone_for_good_is_exit_2_with_the_cleanup_command";
    let Some(c) = docker_or_skip(test).await else { return };
    ensure_image(&c).await;
    let Some(daemon) = dockerd::PrivateDaemon::start_or_skip(test, "gone", &quick_shutdown())
    else {
        return;
    };
    let mut up = false;
    for _ in 0..100 {
        if berth::docker::connect(Some(&daemon.endpoint)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(up, "the private dockerd did not come up:\n{}", daemon.log_tail());
    let dir = tempfile::tempdir().unwrap();
    let cluster = format!("engine-gone-{}", std::process::id());
    let w = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    w(
        "cluster.toml",
        format!(
            "name = \"{cluster}\"\nregion = \"us-east-1\"\n\n[[hosts]]\ninstance_type = \"m5.large\"\ndocker = \"{}\"\n",
            daemon.endpoint
        ),
    );
    w(
        "long.json",
        format!(
            r#"{{"family": "long", "networkMode": "bridge", "cpu": "256", "memory": "512",
 "containerDefinitions": [{{"name": "app", "image": "{WORKLOAD_IMAGE}", "essential": true,
   "command": ["sleep", "3600"]}}]}}"#
        ),
    );
    w(
        "scenario.toml",
        "name = \"gone\"\nduration = \"3m\"\ncluster = \"cluster.toml\"\n\n[[tasks]]\nname = \"long\"\ntask_def = \"long.json\"\ncount = 1\n\n[[tasks]]\nname = \"later\"\ntask_def = \"long.json\"\ncount = 1\nat = \"100s\"\n".into(),
    );
    let scenario = dir.path().join("scenario.toml");
    let endpoint = daemon.endpoint.clone();
    let sock = daemon.endpoint.trim_start_matches("unix://").to_string();
    let daemon = std::sync::Mutex::new(Some(daemon));
    tokio::task::spawn_blocking(move || {
        let mut child = spawn_run(&scenario, &["--time-scale", "4", "--mode", "ecs"]);
        let pid = child.id();
        let stderr = tee_stderr(&mut child);
        let run = run_id_of(&stderr);
        // The task's container runs on the private engine.
        let t0 = Instant::now();
        let on_private = || {
            let out = Command::new("docker")
                .args(["-H", &format!("unix://{sock}"), "ps", "-q", "--filter"])
                .arg(format!("label={}={run}", labels::RUN))
                .output();
            out.is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
        };
        while !on_private() && t0.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(250));
        }
        assert!(
            on_private(),
            "the task never ran on the private engine:\n{}",
            stderr.lock().unwrap()
        );
        // The engine goes away for good (dockerd stopped, its directory removed).
        drop(daemon.lock().unwrap().take());
        let (out, _) = wait_output(child, Duration::from_secs(120));
        let said = stderr.lock().unwrap().clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "stdout:\n{stdout}\nstderr:\n{said}");
        assert!(
            said.contains(&format!("the Docker engine at {endpoint} went away"))
                && said.contains(&format!("berth cleanup --run {run} --docker {endpoint}")),
            "{said}"
        );
        assert!(stdout.contains("ECS"), "the report is still printed:\n{stdout}");
        assert!(
            said.contains(&format!("the Docker engine at {endpoint} stopped answering"))
                && said.contains("disconnected: no new tasks are placed there"),
            "{said}"
        );
        assert!(
            stdout.contains("waits for capacity: AGENT"),
            "the later task was placed on the lost host:\n{stdout}"
        );
        assert!(!stdout.contains("exited 137"), "an exit code was made up:\n{stdout}");
        // The task on the lost engine ends with what was seen as its reason, at once (not
        // after the shutdown grace, waiting for an exit that cannot be reported).
        assert!(
            stdout.lines().any(|l| l.contains("STOPPED")
                && l.contains(&format!(
                    "Host lost: the Docker engine at {endpoint} stopped answering"
                ))),
            "the lost task did not end with a truthful reason:\n{stdout}"
        );
        assert!(!said.contains("graceful shutdown took too long"), "{said}");
        assert!(!alive(pid));
    })
    .await
    .unwrap();
}

/// A Docker engine that goes away and comes back: berth disconnects the host's agent while it
/// is gone, reconnects it when it answers again, and reconciles the container it lost: the
/// restarted engine stopped it (SIGTERM, exit 143), and that real exit code is what the task
/// reports, not a made-up one. The run then ends normally (exit 0) with nothing left there.
#[tokio::test]
async fn engine_that_comes_back_is_reconnected_and_reconciled() {
    let test = "engine_that_comes_back_is_reconnected_and_reconciled";
    let Some(c) = docker_or_skip(test).await else { return };
    ensure_image(&c).await;
    let Some(daemon) = dockerd::PrivateDaemon::start_or_skip(test, "back", &quick_shutdown())
    else {
        return;
    };
    let up = |ep: String| async move {
        for _ in 0..150 {
            if berth::docker::connect(Some(&ep)).await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    };
    assert!(up(daemon.endpoint.clone()).await, "no private dockerd:\n{}", daemon.log_tail());
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    w(
        "cluster.toml",
        format!(
            "name = \"engine-back-{}\"\nregion = \"us-east-1\"\n\n[[hosts]]\ninstance_type = \"m5.large\"\ndocker = \"{}\"\n",
            std::process::id(),
            daemon.endpoint
        ),
    );
    w(
        "long.json",
        format!(
            r#"{{"family": "long", "networkMode": "bridge", "cpu": "256", "memory": "512",
 "containerDefinitions": [{{"name": "app", "image": "{WORKLOAD_IMAGE}", "essential": true,
   "command": ["sleep", "3600"]}}]}}"#
        ),
    );
    w(
        "scenario.toml",
        "name = \"back\"\nduration = \"4m\"\ncluster = \"cluster.toml\"\n\n[[tasks]]\nname = \"long\"\ntask_def = \"long.json\"\ncount = 1\n".into(),
    );
    let scenario = dir.path().join("scenario.toml");
    let endpoint = daemon.endpoint.clone();
    let sock = daemon.endpoint.clone();
    let mut daemon = daemon;
    tokio::task::spawn_blocking(move || {
        let mut child = spawn_run(&scenario, &["--time-scale", "4", "--mode", "ecs"]);
        let stderr = tee_stderr(&mut child);
        let run = run_id_of(&stderr);
        let on_private = |all: bool| {
            let mut cmd = Command::new("docker");
            cmd.args(["-H", &sock, "ps", "-q", "--filter"])
                .arg(format!("label={}={run}", labels::RUN));
            if all {
                cmd.arg("-a");
            }
            cmd.output().is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
        };
        let wait_for = |what: &str| {
            let t0 = Instant::now();
            while !stderr.lock().unwrap().contains(what) && t0.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(200));
            }
            let said = stderr.lock().unwrap().clone();
            assert!(said.contains(what), "never said `{what}`:\n{said}");
        };
        let t0 = Instant::now();
        while !on_private(false) && t0.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(250));
        }
        assert!(on_private(false), "the task never ran on the private engine");
        daemon.stop();
        wait_for("stopped answering");
        daemon.restart().unwrap();
        wait_for("answers again");
        let (out, _) = wait_output(child, Duration::from_secs(120));
        let said = stderr.lock().unwrap().clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{said}");
        // The exit comes from the engine that came back (`docker inspect` of the container
        // it stopped while shutting down: 143 or 137, as its shutdown went), not from the
        // waiter that lost it, which would have left a "waiting for <id>" warning and a
        // made-up 137.
        assert!(
            stdout.contains("container app exited "),
            "the real exit was not reconciled:\n{stdout}"
        );
        assert!(!said.contains("waiting for "), "the lost waiter made up an exit:\n{said}");
        assert!(!on_private(true), "the run left containers on the engine that came back");
        drop(daemon);
        let _ = endpoint;
    })
    .await
    .unwrap();
}
