//! Bad input is refused, located, before any work: the binary on cluster and scenario files that
//! name missing files, a malformed Docker endpoint, or absurd sizes (issue 11 §2).
//!
//! Each test writes its files into a temporary directory, with a task definition copied from the
//! repository's `task-defs/`, and checks the exit code and the `FILE:LINE:COL: error: PATH:`
//! line. None needs Docker: `berth run` is pointed at a socket that does not exist, so a check
//! that happened after connecting would show up as a connection error instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Runs berth in `dir` with no Docker engine reachable. It must finish within `limit`: a check
/// that expanded the schedule instead of counting it would run (or allocate) for a long time, and
/// is killed then.
fn berth_in(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", "unix:///nonexistent/berth-input-checks.sock")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run berth");
    while child.try_wait().expect("wait for berth").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("berth {args:?} still ran after {limit:?}: a limit must be checked by counting");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("berth's output")
}

fn berth(dir: &Path, args: &[&str]) -> Output {
    berth_in(dir, args, Duration::from_secs(60))
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A directory with `web.json` (a task definition) and `laptop.toml` (a valid cluster).
fn workdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(repo("task-defs/web.json"), d.path().join("web.json")).unwrap();
    std::fs::write(
        d.path().join("laptop.toml"),
        "name = \"laptop\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.medium\"\ncount = 2\n",
    )
    .unwrap();
    d
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

#[test]
fn missing_files_are_reported_at_the_scenario_line_that_names_them() {
    let d = workdir();
    write(
        d.path(),
        "s.toml",
        "duration = \"1d\"\ncluster = \"nothere.toml\"\n[[tasks]]\ntask_def = \"wbe.json\"\n",
    );
    let out = berth(d.path(), &["simulate", "s.toml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("s.toml:2:11: error: cluster: cannot read nothere.toml: no such file"),
        "{t}"
    );
    assert!(
        t.contains("s.toml:4:12: error: tasks[0].task_def: cannot read wbe.json: no such file"),
        "{t}"
    );
    assert!(t.contains("hint: did you mean \"web.json\"?"), "{t}");

    // validate says the same, as an invalid scenario (exit 1).
    let out = berth(d.path(), &["validate", "s.toml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("s.toml:2:11: error: cluster: cannot read nothere.toml"), "{t}");
    assert!(t.contains("s.toml: invalid: 2 errors"), "{t}");
}

#[test]
fn a_malformed_docker_endpoint_is_refused_by_validate_simulate_and_run() {
    let d = workdir();
    write(
        d.path(),
        "ftp.toml",
        "name = \"ftp\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.medium\"\ndocker = \"ftp://x\"\n",
    );
    write(d.path(), "s.toml", "duration = \"1h\"\ncluster = \"ftp.toml\"\n[[tasks]]\ntask_def = \"web.json\"\nruntime = \"1m\"\n");
    let located = "ftp.toml:5:10: error: hosts[0].docker: unsupported Docker endpoint \"ftp://x\"";

    let out = berth(d.path(), &["validate", "ftp.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(located), "{}", text(&out));

    // A scenario: the cluster's error, and a line at the scenario's `cluster`.
    let out = berth(d.path(), &["validate", "s.toml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains(located), "{t}");
    assert!(t.contains("s.toml:2:11: error: cluster: ftp.toml is invalid (1 error)"), "{t}");

    let out = berth(d.path(), &["simulate", "s.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(located), "{}", text(&out));

    // `run` refuses it before it contacts Docker (none is reachable here).
    let out = berth(d.path(), &["run", "s.toml", "--stand-in"]);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(t.contains(located), "{t}");
    assert!(!t.contains("cannot reach the Docker engine"), "{t}");
}

#[test]
fn absurd_sizes_are_refused_at_once_with_the_limit() {
    let d = workdir();
    let fast = Duration::from_secs(20);
    write(
        d.path(),
        "huge.toml",
        "name = \"huge\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.medium\"\ncount = 10000000\n",
    );
    let out = berth_in(d.path(), &["validate", "huge.toml"], fast);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("huge.toml:5:9: error: hosts[0].count: 10,000,000 hosts; the limit is 100,000 per cluster"),
        "{t}"
    );

    write(
        d.path(),
        "every.toml",
        "duration = \"30d\"\ncluster = \"laptop.toml\"\n[[tasks]]\ntask_def = \"web.json\"\nevery = \"1ms\"\n",
    );
    write(
        d.path(),
        "scale.toml",
        "duration = \"30d\"\ncluster = \"laptop.toml\"\n[[services]]\nname = \"web\"\ntask_def = \"web.json\"\ndesired = 1\nscale = [{ at = \"0s\", desired = 2 }]\nscale_every = \"1ms\"\n",
    );
    for (file, needle) in [
        ("every.toml", "every.toml:5:9: error: tasks[0].every: would launch 2,592,000,000 tasks"),
        ("scale.toml", "scale.toml:8:15: error: services[0].scale_every: would make 2,592,000,000 UpdateService calls"),
    ] {
        for cmd in [&["simulate", file][..], &["validate", file], &["run", file, "--stand-in"]] {
            let out = berth_in(d.path(), cmd, fast);
            let t = text(&out);
            assert_ne!(out.status.code(), Some(0), "{cmd:?}: {t}");
            assert!(t.contains(needle), "{cmd:?}: {t}");
            assert!(t.contains("per scenario"), "{cmd:?}: {t}");
            assert!(!t.contains("cannot reach the Docker engine"), "{cmd:?}: {t}");
        }
    }

    // A huge cluster named by a scenario is refused as quickly.
    write(
        d.path(),
        "big.toml",
        "duration = \"1h\"\ncluster = \"huge.toml\"\n[[tasks]]\ntask_def = \"web.json\"\n",
    );
    let out = berth_in(d.path(), &["simulate", "big.toml"], fast);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("hosts[0].count: 10,000,000 hosts"), "{}", text(&out));
}

#[test]
fn every_shipped_cluster_and_scenario_validates() {
    let mut files = Vec::new();
    for dir in ["clusters", "scenarios"] {
        for e in std::fs::read_dir(repo(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    let args: Vec<&str> =
        ["validate"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let out = berth(&repo(""), &args);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_eq!(t.lines().filter(|l| l.contains(": ok (cluster ")).count(), 3, "{t}");
    assert_eq!(t.lines().filter(|l| l.contains(": ok (scenario ")).count(), files.len() - 3, "{t}");
}

#[test]
fn validate_tells_price_files_from_cluster_files() {
    let d = workdir();
    let good = "[[fargate]]\nregion = \"eu-west-3\"\nos = \"linux\"\narch = \"x86_64\"\nusd_per_vcpu_hour = \"0.0486\"\nusd_per_gb_hour = \"0.0053\"\n";
    write(d.path(), "prices.toml", good);
    write(d.path(), "bad-prices.toml", &good.replace("usd_per_gb_hour", "usd_per_gib_hour"));
    let out = berth(d.path(), &["validate", "prices.toml", "bad-prices.toml", "laptop.toml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("prices.toml: ok (price file)"), "{t}");
    assert!(
        t.contains("bad-prices.toml:6:1: error: fargate[0].usd_per_gib_hour: unknown key"),
        "{t}"
    );
    assert!(t.contains("laptop.toml: ok (cluster laptop, 2 hosts in us-east-1)"), "{t}");
}

#[test]
fn run_checks_the_limits_at_its_own_duration_before_docker() {
    let d = workdir();
    // 3.6 million launches in the file's hour; a month of them is far past the limit.
    write(d.path(), "s.toml", "duration = \"1h\"\ncluster = \"laptop.toml\"\n[[tasks]]\ntask_def = \"web.json\"\nevery = \"1ms\"\nruntime = \"1ms\"\n");
    let out = berth_in(
        d.path(),
        &["run", "s.toml", "--stand-in", "--duration", "30d"],
        Duration::from_secs(20),
    );
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("--duration: over 30d the scenario would launch 2,592,000,000 tasks"),
        "{t}"
    );
    assert!(!t.contains("cannot reach the Docker engine"), "{t}");
    let out = berth_in(
        d.path(),
        &["run", "s.toml", "--stand-in", "--duration", "100000d"],
        Duration::from_secs(20),
    );
    assert!(
        text(&out).contains("--duration <DURATION>': 100000d is longer than the limit of 36500d"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_simulation_benchmark_stays_within_the_host_limit() {
    // 2 million tasks would need 200,000 hosts: refused as a usage error, not a panic.
    let d = workdir();
    let out =
        berth_in(d.path(), &["bench", "simulate", "--tasks", "2000000"], Duration::from_secs(20));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("--tasks") && t.contains("1..=1000000"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    let out =
        berth_in(d.path(), &["bench", "simulate", "--days", "300000"], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("1..=36500"), "{}", text(&out));
}
