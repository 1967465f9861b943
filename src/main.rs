//! The `berth` command. Parsing and dispatch only: each subcommand lives in `berth::cli::*`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use berth::cli;

/// Run ECS task definitions on ECS hosts or Fargate slots, simulated or with Docker, and see
/// what each mode costs.
#[derive(Parser)]
#[command(name = "berth", version, about, long_about = None)]
struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check task definition files the way ECS's RegisterTaskDefinition does.
    Validate(cli::validate::Args),
    /// Simulate a scenario in ECS and Fargate mode and report what each costs.
    Simulate(cli::simulate::Args),
    /// Run a scenario for real through Docker, in ECS and/or Fargate mode.
    Run(cli::run::Args),
    /// List what a running `berth run` has placed where.
    Ps(cli::ps::Args),
    /// Remove containers, networks and images left behind by a crashed run.
    Cleanup(cli::cleanup::Args),
    /// Render a run saved with `--save` as an HTML report.
    Report(cli::report::Args),
    /// Measure berth's speed.
    #[command(subcommand)]
    Bench(cli::bench::Bench),
}

fn main() -> ExitCode {
    let args = Cli::parse();
    cli::init_tracing(args.verbose);
    let result = match args.command {
        Command::Validate(a) => cli::validate::run(a),
        Command::Simulate(a) => cli::simulate::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::Ps(a) => cli::ps::run(a),
        Command::Cleanup(a) => cli::cleanup::run(a),
        Command::Report(a) => cli::report::run(a),
        Command::Bench(b) => cli::bench::run(b),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}", cli::render_error(&err));
            ExitCode::from(2)
        }
    }
}
