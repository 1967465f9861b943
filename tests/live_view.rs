//! The live view, driven for real in a tmux pseudo-terminal of 80×24: it shows hosts, slots and
//! cost meters, pauses on space, and quitting restores the terminal and ends the process.
//!
//! Without tmux the test skips loudly, unless `BERTH_REQUIRE_TMUX=1` or `BERTH_REQUIRE_DOCKER=1`
//! (CI) is set.

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
        eprintln!("SKIPPED live_view_in_80x24: tmux not installed (apt-get install tmux)");
        return;
    }
    let name = format!("berth-live-{}", std::process::id());
    let cmd = format!(
        "cd {} && {} simulate scenarios/web-and-batch.toml --watch --speed 4000; echo BERTH-EXIT=$?; sleep 60",
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_BIN_EXE_berth")
    );
    let out = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "80", "-y", "24"])
        .arg(&cmd)
        .output()
        .unwrap();
    assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
    let _guard = Session(name.clone());

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
