//! Helpers for the simulator tests: write a scenario and its files into a temp dir and run it.
#![allow(dead_code)]

use std::path::PathBuf;

use berth::engine::Mode;
use berth::report::Report;
use rust_decimal::Decimal;

/// Two m5.large hosts in two zones, short fixed latencies.
pub const CLUSTER: &str = r#"
name = "test"
region = "us-east-1"
[[hosts]]
instance_type = "m5.large"
zone = "us-east-1a"
[[hosts]]
instance_type = "m5.large"
zone = "us-east-1b"
[ecs]
image_pull = "5s"
container_start = "1s"
[fargate]
provisioning = "30s"
image_pull = "5s"
container_start = "1s"
"#;

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Writes `scenario.toml` and `files` into a fresh temp dir.
pub fn write(scenario: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, scenario).unwrap();
    (dir, path)
}

pub fn run_seeded(scenario: &str, files: &[(&str, &str)], modes: &[Mode], seed: u64) -> Report {
    let (_dir, path) = write(scenario, files);
    let loaded = berth::cli::simulate::load(&path, None, None).unwrap_or_else(|e| panic!("{e}"));
    berth::cli::simulate::run_modes(&loaded, modes, seed, &|_| {}).0
}

pub fn run(scenario: &str, files: &[(&str, &str)], modes: &[Mode]) -> Report {
    run_seeded(scenario, files, modes, 1)
}
