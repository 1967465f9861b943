//! `berth simulate`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file.
    pub scenario: std::path::PathBuf,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`berth simulate` is not built yet")
}
