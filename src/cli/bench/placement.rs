//! `berth bench placement`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`berth bench placement` is not built yet")
}
