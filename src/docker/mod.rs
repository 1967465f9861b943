//! The Docker edge: berth's containers through the Docker Engine API (bollard).
//!
//! - [`connect`]: which engine, and a clear error when it is unreachable.
//! - [`client`]: [`DockerClient`], the handful of container/network operations berth needs,
//!   with ECS-agent error words (`CannotPullContainerError: ...`).
//! - [`labels`]: the `io.berth.*` and `com.amazonaws.ecs.*` labels and agent-style names.
//! - [`image`]: the workload image `berth/workload:latest`, built locally from the
//!   `berth-workload` binary (no registry).
//! - [`spec`]: a task definition's container → Docker create body (limits as the ECS agent
//!   sets them, Fargate sandboxes, stand-ins).
//! - [`usage`]: measured CPU/memory from cgroup files.
//! - [`timing`]: the scenario clock of a run: modelled latencies in scenario time, real ones
//!   measured apart.
//! - [`cleanup`]: finding and removing berth's objects by label.
//!
//! Nothing here decides anything about tasks: the engine does; this module carries out its
//! effects. See `docs/docker-runtime.md`.

pub mod cleanup;
pub mod client;
pub mod connect;
pub mod image;
pub mod labels;
pub mod liveness;
pub mod runtime;
pub mod script;
pub mod spec;
pub mod timing;
pub mod usage;

pub use client::{AgentError, DockerClient, Exit, Health, OOM_REASON};
pub use connect::{connect, ConnectError};

/// A run id for labels: short, unique enough across runs on one machine (time and pid).
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = labels::fnv1a(&[&nanos.to_string(), &std::process::id().to_string()]);
    format!("{:010x}", h & 0xff_ffff_ffff)
}
