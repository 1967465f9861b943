//! `berth ps`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show every run, not only the latest.
    #[arg(long)]
    pub all: bool,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`berth ps` is not built yet")
}
