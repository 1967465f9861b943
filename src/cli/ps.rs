//! `berth ps`: what berth's runs have placed where, read from Docker labels.
//!
//! Grouped by run, then ECS host (or Fargate), then task, with each container's state and
//! published ports. Sandboxes are shown on their task's line (they publish the task's ports).

use std::collections::BTreeMap;
use std::process::ExitCode;

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptionsBuilder;

use crate::docker::{self, labels};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show every run, not only the latest.
    #[arg(long)]
    pub all: bool,
    /// Docker engine endpoint(s) to list (repeatable); default: DOCKER_HOST or the local socket.
    #[arg(long = "docker", value_name = "ENDPOINT")]
    pub endpoints: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run_async(args))
}

/// One row of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub run: String,
    pub host: String,
    pub mode: String,
    pub task: String,
    pub container: String,
    pub name: String,
    pub state: String,
    pub ports: Vec<String>,
    pub created: i64,
    pub endpoint: String,
    /// `io.berth.owner`: the process that made it.
    pub owner: Option<String>,
}

fn row(c: ContainerSummary, endpoint: &str) -> Row {
    let l = c.labels.unwrap_or_default();
    let get = |k: &str| l.get(k).cloned().unwrap_or_else(|| "-".to_string());
    let mut ports: Vec<String> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let proto = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
            p.public_port.map(|pp| format!("localhost:{pp}->{}/{proto}", p.private_port))
        })
        .collect();
    ports.sort();
    ports.dedup();
    let arn = get(labels::TASK_ARN);
    Row {
        run: get(labels::RUN),
        host: get(labels::HOST),
        mode: get(labels::MODE),
        task: arn.rsplit('/').next().unwrap_or(&arn).to_string(),
        container: get(labels::CONTAINER_NAME),
        name: c
            .names
            .and_then(|n| n.first().cloned())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        ports,
        created: c.created.unwrap_or(0),
        endpoint: endpoint.to_string(),
        owner: l.get(labels::OWNER).cloned(),
    }
}

/// Renders rows grouped by run → host → task; `state` describes a run (running, left
/// behind, ...). Pure, for tests.
pub fn render(rows: &[Row], state: impl Fn(&str) -> String) -> String {
    let mut by_run: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_run.entry(&r.run).or_default().push(r);
    }
    let mut out = String::new();
    for (run, rs) in by_run {
        out.push_str(&format!("run {run} ({} containers; {})\n", rs.len(), state(run)));
        let mut by_host: BTreeMap<(&str, &str, &str), Vec<&Row>> = BTreeMap::new();
        for r in rs {
            by_host.entry((&r.mode, &r.host, &r.endpoint)).or_default().push(r);
        }
        for ((mode, host, ep), rs) in by_host {
            out.push_str(&format!("  {mode} host {host}  [{ep}]\n"));
            let mut by_task: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
            for r in rs {
                by_task.entry(&r.task).or_default().push(r);
            }
            for (task, rs) in by_task {
                out.push_str(&format!("    task {task}\n"));
                for r in rs {
                    let ports = if r.ports.is_empty() {
                        String::new()
                    } else {
                        format!("  {}", r.ports.join(", "))
                    };
                    out.push_str(&format!(
                        "      {:<22} {:<10} {}{ports}\n",
                        r.container, r.state, r.name
                    ));
                }
            }
        }
    }
    out
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let endpoints = if args.endpoints.is_empty() {
        vec![docker::connect::default_endpoint()]
    } else {
        args.endpoints.clone()
    };
    let mut rows = Vec::new();
    for ep in &endpoints {
        let client = docker::connect(Some(ep)).await?;
        let filters = labels::managed_filter(None);
        let list = client
            .raw()
            .list_containers(Some(
                ListContainersOptionsBuilder::default().all(true).filters(&filters).build(),
            ))
            .await?;
        rows.extend(list.into_iter().map(|c| row(c, ep)).filter(|r| r.task != "-"));
    }
    if rows.is_empty() {
        println!("no berth tasks are running");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.all {
        let latest =
            rows.iter().max_by_key(|r| r.created).map(|r| r.run.clone()).unwrap_or_default();
        rows.retain(|r| r.run == latest);
    }
    let mut states: BTreeMap<String, String> = BTreeMap::new();
    for r in &rows {
        states.entry(r.run.clone()).or_insert_with(|| {
            let st = docker::liveness::state(&r.run, r.owner.as_deref());
            match st {
                docker::liveness::RunState::Dead => {
                    format!("{}; `berth cleanup --run {}` removes it", st.describe(), r.run)
                }
                st => st.describe(),
            }
        });
    }
    print!("{}", render(&rows, |run| states.get(run).cloned().unwrap_or_default()));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(run: &str, host: &str, task: &str, container: &str, ports: &[&str]) -> Row {
        Row {
            run: run.into(),
            host: host.into(),
            mode: "ecs".into(),
            task: task.into(),
            container: container.into(),
            name: format!("ecs-web-1-{container}-x"),
            state: "running".into(),
            ports: ports.iter().map(|s| s.to_string()).collect(),
            created: 0,
            endpoint: "unix:///var/run/docker.sock".into(),
            owner: None,
        }
    }

    #[test]
    fn groups_by_run_host_task() {
        let out = render(
            &[
                r("r1", "i-2", "t2", "web", &[]),
                r("r1", "i-1", "t1", "web", &["localhost:49153->80/tcp"]),
                r("r1", "i-1", "t1", "sidecar", &[]),
            ],
            |_| "running, pid 7".into(),
        );
        let expected = "run r1 (3 containers; running, pid 7)\n  ecs host i-1  [unix:///var/run/docker.sock]\n    task t1\n";
        assert!(out.starts_with(expected), "{out}");
        assert!(out.contains("localhost:49153->80/tcp"));
        assert!(out.find("host i-1").unwrap() < out.find("host i-2").unwrap());
    }
}
