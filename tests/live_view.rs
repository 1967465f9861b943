//! The live view, driven for real in a tmux pseudo-terminal of 80×24: it shows hosts, slots and
//! cost meters, pauses on space, and quitting restores the terminal and ends the process.
//!
//! Without tmux the test skips loudly, unless `BERTH_REQUIRE_TMUX=1` or `BERTH_REQUIRE_DOCKER=1`
//! (CI) is set.

/// Straight to stderr: the test harness captures `eprintln!` of passing tests, and a skip
/// must be seen.
fn skip(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n!!!!! {msg} !!!!!\n");
}

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).to_string()
}

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).output();
    }
}

/// Starts `cmd` in a detached 80×24 tmux session; the session dies with the guard.
fn start_session(name: &str, cmd: &str) -> Session {
    let out = Command::new("tmux")
        .args(["new-session", "-d", "-s", name, "-x", "80", "-y", "24"])
        .arg(cmd)
        .output()
        .expect("tmux runs");
    assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
    Session(name.to_string())
}

fn wait_for(session: &str, what: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(what) {
            return screen;
        }
        if start.elapsed() > timeout {
            panic!("{what:?} did not appear within {timeout:?}; the screen shows:\n{screen}");
        }
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn live_view_in_80x24() {
    let have = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    if !have {
        let required = ["BERTH_REQUIRE_TMUX", "BERTH_REQUIRE_DOCKER"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| x == "1"));
        assert!(!required, "tmux is required but not installed");
        skip("SKIPPED live_view_in_80x24: tmux not installed (apt-get install tmux)");
        return;
    }
    let name = format!("berth-live-{}", std::process::id());
    let cmd = format!(
        "cd {} && {} simulate scenarios/web-and-batch.toml --watch --speed 4000; echo BERTH-EXIT=$?; sleep 60",
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_BIN_EXE_berth")
    );
    let _guard = start_session(&name, &cmd);

    let screen = wait_for(&name, "ECS hosts", Duration::from_secs(20));
    for what in ["Fargate slots", "cost so far", "q quit", "events"] {
        assert!(screen.contains(what), "{what:?} missing from:\n{screen}");
    }
    // Time moves and tasks land on hosts: the clock and some task glyph show up.
    let screen = wait_for(&name, "RUNNING", Duration::from_secs(20));
    assert!(screen.lines().count() <= 24);

    tmux(&["send-keys", "-t", &name, " "]);
    let paused = wait_for(&name, "PAUSED", Duration::from_secs(5));
    let clock = |s: &str| s.lines().next().unwrap_or("").to_string();
    sleep(Duration::from_millis(600));
    let later = tmux(&["capture-pane", "-p", "-t", &name]);
    assert_eq!(clock(&paused), clock(&later), "the clock moved while paused");

    tmux(&["send-keys", "-t", &name, "q"]);
    let after = wait_for(&name, "BERTH-EXIT=", Duration::from_secs(10));
    assert!(after.contains("BERTH-EXIT=0"), "berth did not exit cleanly:\n{after}");
    assert!(!after.contains("Fargate slots:"), "the view was not torn down:\n{after}");
}

/// The ids of every berth-labelled container and network on the engine. The test compares
/// against the set taken before its run, so objects of other runs (a concurrent test, or one an
/// engine cannot remove) neither hide nor fake what this run leaves.
fn labelled_objects() -> std::collections::BTreeSet<String> {
    let list = |args: &[&str]| {
        let out = Command::new("docker").args(args).output().expect("docker CLI");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let mut ids = list(&["ps", "-aq", "--no-trunc", "--filter", "label=io.berth.managed=true"]);
    ids.extend(list(&[
        "network",
        "ls",
        "-q",
        "--no-trunc",
        "--filter",
        "label=io.berth.managed=true",
    ]));
    ids.into_iter().collect()
}

/// Quitting the live view of a real run stops it cleanly, as Ctrl-C does: tasks are stopped,
/// every labelled container and network is removed, and the report is printed afterwards.
#[test]
fn quitting_the_view_of_a_real_run_cleans_up() {
    let tmux_ok = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    let docker_ok = Command::new("docker").arg("info").output().is_ok_and(|o| o.status.success());
    let required = std::env::var_os("BERTH_REQUIRE_DOCKER").is_some_and(|x| x == "1");
    if !(tmux_ok && docker_ok) {
        assert!(!required, "BERTH_REQUIRE_DOCKER=1 but tmux or Docker is missing");
        skip("SKIPPED quitting_the_view_of_a_real_run_cleans_up: needs tmux and a Docker engine");
        return;
    }
    let before = labelled_objects();
    let name = format!("berth-run-live-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("run.html");
    let cmd = format!(
        "cd {} && BERTH_WORKLOAD_BIN={} {} run scenarios/web-and-batch.toml --time-scale 600 --duration 6h --watch --html {}; echo BERTH-EXIT=$?; sleep 60",
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_BIN_EXE_berth-workload"),
        env!("CARGO_BIN_EXE_berth"),
        html.display()
    );
    let _guard = start_session(&name, &cmd);
    wait_for(&name, "ECS hosts: 2", Duration::from_secs(60));
    // Wait until real containers run, then quit.
    wait_for(&name, "RUNNING", Duration::from_secs(60));
    assert!(
        labelled_objects().difference(&before).count() > 0,
        "no labelled containers while the run is live"
    );
    // Let the sampler (1 Hz) measure the running containers a few times.
    sleep(Duration::from_secs(3));
    tmux(&["send-keys", "-t", &name, "q"]);
    wait_for(&name, "BERTH-EXIT=", Duration::from_secs(90));
    // The report is longer than the 24-line pane: read the pane's whole history.
    let after = tmux(&["capture-pane", "-p", "-S", "-", "-t", &name]);
    assert!(after.contains("BERTH-EXIT=130"), "a stopped run exits 130:\n{after}");
    assert!(after.contains("Measured (real containers"), "no report after the view:\n{after}");
    let left: Vec<String> = labelled_objects().difference(&before).cloned().collect();
    assert!(left.is_empty(), "labelled containers or networks left behind: {left:?}");
    // The HTML report of a real run shows measured use next to what was reserved.
    let page = std::fs::read_to_string(&html).expect("--html wrote the report");
    assert!(page.contains("data-chart=\"utilisation\""), "no reserved utilisation chart");
    assert!(page.contains("data-chart=\"utilisation-used\""), "no measured utilisation chart");
    assert!(page.contains("Measured: reserved against used"), "no measured table");
}
