//! `berth cleanup`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`berth cleanup` is not built yet")
}
