//! `berth report`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run saved with `--save RUN.json`.
    pub run_file: std::path::PathBuf,
    /// Where to write the HTML report.
    #[arg(long)]
    pub html: std::path::PathBuf,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`berth report` is not built yet")
}
