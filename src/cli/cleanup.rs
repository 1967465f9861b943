//! `berth cleanup`: removes what a crashed or killed `berth run` left behind.
//!
//! Only objects labelled `io.berth.managed=true` are touched (see `docker::cleanup`), and of
//! those only a dead run's: a run that is still alive (`docker::liveness`) keeps its
//! containers unless `--force`.

use std::process::ExitCode;

use crate::docker::{self, cleanup};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove berth's images (the workload image `berth/workload`).
    #[arg(long)]
    pub images: bool,
    /// Only this run's containers and networks (the `io.berth.run` label).
    #[arg(long)]
    pub run: Option<String>,
    /// Also remove runs that are still running (or that berth cannot check: started on
    /// another machine).
    #[arg(long)]
    pub force: bool,
    /// Docker engine endpoint(s) to clean (repeatable); default: DOCKER_HOST or the local socket.
    #[arg(long = "docker", value_name = "ENDPOINT")]
    pub endpoints: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let endpoints = if args.endpoints.is_empty() {
        vec![docker::connect::default_endpoint()]
    } else {
        args.endpoints.clone()
    };
    let mut failed = false;
    for ep in &endpoints {
        let client = docker::connect(Some(ep)).await?;
        let found = cleanup::find(&client, args.run.as_deref(), args.images).await?;
        let found = if args.force {
            found
        } else {
            let (dead, live) = found.split_live();
            for (run, state) in &live {
                println!(
                    "{ep}: leaving run {run} alone ({}); stop it first, or pass --force",
                    state.describe()
                );
            }
            // Asked for one run by name and it is alive: that is a refusal, not a success.
            failed |= args.run.is_some() && !live.is_empty();
            dead
        };
        if found.is_empty() {
            println!("{ep}: nothing of berth's found");
            continue;
        }
        let verb = if args.dry_run { "would remove" } else { "removing" };
        println!(
            "{ep}: {verb} {} container(s), {} network(s), {} image(s) (runs: {})",
            found.containers.len(),
            found.networks.len(),
            found.images.len(),
            found.runs().join(", ")
        );
        for c in &found.containers {
            println!("  container {} ({})", c.name, short(&c.id));
        }
        for n in &found.networks {
            println!("  network   {}", n.name);
        }
        for i in &found.images {
            println!("  image     {}", i.name);
        }
        if !args.dry_run {
            let errors = cleanup::remove(&client, &found).await;
            for e in &errors {
                eprintln!("  could not remove {e}");
            }
            failed |= !errors.is_empty();
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}
