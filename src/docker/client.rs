//! [`DockerClient`]: the few Docker operations berth needs, with ECS-agent error words.
//!
//! Each method is one or two Engine API calls and adds nothing but error mapping, so a
//! container's lifecycle through berth costs what it costs through bollard (`berth bench
//! docker` measures that). Failures come back as [`AgentError`]s named like the ECS agent's
//! (`CannotPullContainerError: ...`), which is what ends up in a task's `stoppedReason`.
//! A non-zero exit is not a failure: bollard reports it as `DockerContainerWaitError`, and
//! [`DockerClient::wait_exit`] turns it back into an exit code.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HealthStatusEnum, NetworkCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListNetworksOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

/// The reason ECS gives for an OOM-killed container.
pub const OOM_REASON: &str = "OutOfMemoryError: Container killed due to memory usage";

/// An error in the ECS agent's words: `<name>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct AgentError {
    /// `CannotPullContainerError`, `CannotCreateContainerError`, `CannotStartContainerError`,
    /// `CannotStopContainerError`, `CannotInspectContainerError`, ...
    pub name: &'static str,
    pub message: String,
}

impl AgentError {
    fn new(name: &'static str, message: impl Into<String>) -> Self {
        AgentError { name, message: message.into() }
    }
}

/// How a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: i64,
    /// The kernel OOM-killed it (`State.OOMKilled`).
    pub oom: bool,
}

impl Exit {
    /// The container-level reason ECS would show, if any.
    pub fn reason(&self) -> Option<&'static str> {
        self.oom.then_some(OOM_REASON)
    }
}

/// Docker's health status of a container with a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// A connected Docker engine. Cheap to clone (bollard's client is an `Arc`).
#[derive(Clone)]
pub struct DockerClient {
    docker: Docker,
    endpoint: Arc<str>,
}

impl std::fmt::Debug for DockerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerClient").field("endpoint", &self.endpoint).finish()
    }
}

fn status_of(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The server's message without bollard's wrapping, for error texts people read.
fn message_of(e: &BollardError) -> String {
    match e {
        BollardError::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl DockerClient {
    pub fn new(docker: Docker, endpoint: String) -> Self {
        DockerClient { docker, endpoint: endpoint.into() }
    }

    /// The bollard client, for callers that need an operation this layer does not wrap.
    pub fn raw(&self) -> &Docker {
        &self.docker
    }

    /// The endpoint as given (`unix:///var/run/docker.sock`, ...), for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether `image` exists in this engine (berth never pulls).
    pub async fn image_present(&self, image: &str) -> Result<bool, AgentError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(AgentError::new("CannotInspectContainerError", message_of(&e))),
        }
    }

    /// The "pull": succeeds if the image is present locally, else the ECS pull error.
    pub async fn require_image(&self, image: &str) -> Result<(), AgentError> {
        if self.image_present(image).await? {
            return Ok(());
        }
        Err(AgentError::new(
            "CannotPullContainerError",
            format!(
                "pull image manifest has been retried 0 time(s): image {image:?} is not present on the Docker engine at {} and berth never pulls (no registry); load it with `docker load`/`docker build`, or run with --stand-in",
                self.endpoint
            ),
        ))
    }

    /// Creates a container; returns its id.
    pub async fn create(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<String, AgentError> {
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        match self.docker.create_container(Some(opts), body).await {
            Ok(r) => Ok(r.id),
            Err(e) if status_of(&e) == Some(404) => {
                Err(AgentError::new("CannotPullContainerError", message_of(&e)))
            }
            Err(e) => Err(AgentError::new("CannotCreateContainerError", message_of(&e))),
        }
    }

    pub async fn start(&self, id: &str) -> Result<(), AgentError> {
        self.docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .map_err(|e| AgentError::new("CannotStartContainerError", message_of(&e)))
    }

    /// Waits until the container is not running and returns its exit code and whether it was
    /// OOM-killed (`State.OOMKilled`, looked up for every non-zero exit). Call after
    /// [`start`](Self::start): `not-running` returns at once for a container that has already
    /// exited, so no exit is missed.
    pub async fn wait_exit(&self, id: &str) -> Result<Exit, AgentError> {
        let opts = WaitContainerOptionsBuilder::default().condition("not-running").build();
        let mut stream = self.docker.wait_container(id, Some(opts));
        let code = match stream.next().await {
            Some(Ok(r)) => Some(r.status_code),
            // bollard reports a non-zero exit as an error; it is an exit code.
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Some(code),
            Some(Err(e)) => {
                return Err(AgentError::new("CannotInspectContainerError", message_of(&e)));
            }
            None => None,
        };
        // A clean exit (0) was not OOM-killed: the kernel's OOM kill is a SIGKILL (137 for the
        // main process; a killed child usually makes it exit non-zero). So the common exit costs
        // no extra API call, and any other exit is checked.
        if code == Some(0) {
            return Ok(Exit { code: 0, oom: false });
        }
        let state = self.inspect(id).await?.state.unwrap_or_default();
        let oom = state.oom_killed.unwrap_or(false);
        let code = code.or(state.exit_code).unwrap_or(if oom { 137 } else { -1 });
        Ok(Exit { code, oom })
    }

    pub async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, AgentError> {
        self.docker
            .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .map_err(|e| AgentError::new("CannotInspectContainerError", message_of(&e)))
    }

    /// The container's health, `None` when it has no health check.
    pub async fn health(&self, id: &str) -> Result<Option<Health>, AgentError> {
        let state = self.inspect(id).await?.state.unwrap_or_default();
        Ok(state.health.and_then(|h| h.status).and_then(|s| match s {
            HealthStatusEnum::STARTING => Some(Health::Starting),
            HealthStatusEnum::HEALTHY => Some(Health::Healthy),
            HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
            HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
        }))
    }

    /// `docker stop`: SIGTERM (or the image's STOPSIGNAL), SIGKILL after `timeout`.
    pub async fn stop(&self, id: &str, timeout: Duration) -> Result<(), AgentError> {
        let opts = StopContainerOptionsBuilder::default().t(timeout.as_secs() as i32).build();
        match self.docker.stop_container(id, Some(opts)).await {
            // 304: already stopped; 404: already gone. Both mean "stopped".
            Ok(()) => Ok(()),
            Err(e) if matches!(status_of(&e), Some(304) | Some(404)) => Ok(()),
            Err(e) => Err(AgentError::new("CannotStopContainerError", message_of(&e))),
        }
    }

    /// Sends SIGKILL at once.
    pub async fn kill(&self, id: &str) -> Result<(), AgentError> {
        let opts = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
        match self.docker.kill_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if matches!(status_of(&e), Some(404) | Some(409)) => Ok(()),
            Err(e) => Err(AgentError::new("CannotStopContainerError", message_of(&e))),
        }
    }

    /// Removes the container (forcefully, with its anonymous volumes). Gone already is fine.
    pub async fn remove(&self, id: &str) -> Result<(), AgentError> {
        let opts = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            // 409 "removal already in progress" means someone else is removing it.
            Err(e) if status_of(&e) == Some(409) => Ok(()),
            Err(e) => Err(AgentError::new("CannotRemoveContainerError", message_of(&e))),
        }
    }

    /// The published ports of a running container: `(container port/proto, host port)`.
    pub async fn published_ports(&self, id: &str) -> Result<Vec<(String, u16)>, AgentError> {
        let info = self.inspect(id).await?;
        let mut out = Vec::new();
        if let Some(ports) = info.network_settings.and_then(|n| n.ports) {
            for (cport, bindings) in ports {
                for b in bindings.unwrap_or_default() {
                    if let Some(hp) = b.host_port.and_then(|p| p.parse::<u16>().ok()) {
                        if !out.iter().any(|(c, h)| c == &cport && *h == hp) {
                            out.push((cport.clone(), hp));
                        }
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Creates a bridge network with these labels unless one with the name exists already.
    /// Returns the network's name.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<String, AgentError> {
        let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
        let existing = self
            .docker
            .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| AgentError::new("CannotCreateContainerError", message_of(&e)))?;
        if existing.iter().any(|n| n.name.as_deref() == Some(name)) {
            return Ok(name.to_string());
        }
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        match self.docker.create_network(req).await {
            Ok(_) => Ok(name.to_string()),
            // Created concurrently by another task of the same run.
            Err(e) if status_of(&e) == Some(409) => Ok(name.to_string()),
            Err(e) => Err(AgentError::new(
                "CannotCreateContainerError",
                format!("creating network {name}: {}", message_of(&e)),
            )),
        }
    }

    pub async fn remove_network(&self, name: &str) -> Result<(), AgentError> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(AgentError::new("CannotRemoveNetworkError", message_of(&e))),
        }
    }
}
