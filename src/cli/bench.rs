//! `berth bench ...`: benchmarks that print figures (and JSON with `--format json`). Each
//! compares against a baseline measured in the same run where the issue asks for a ratio.

use std::process::ExitCode;

pub mod docker;
pub mod placement;
pub mod simulate;

#[derive(clap::Subcommand, Debug)]
pub enum Bench {
    /// Place many tasks on many hosts in one process.
    Placement(placement::Args),
    /// Simulate a generated month-long workload in both modes.
    Simulate(simulate::Args),
    /// Start, wait for and remove short containers through berth and through raw bollard.
    Docker(docker::Args),
}

pub fn run(b: Bench) -> anyhow::Result<ExitCode> {
    match b {
        Bench::Placement(a) => placement::run(a),
        Bench::Simulate(a) => simulate::run(a),
        Bench::Docker(a) => docker::run(a),
    }
}
