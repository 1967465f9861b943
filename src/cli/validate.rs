//! `berth validate`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::cli::validate::Format,
    /// Task definition files (register-task-definition input or describe-task-definition output).
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`berth validate` is not built yet")
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}
