//! `berth bench docker`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`berth bench docker` is not built yet")
}
