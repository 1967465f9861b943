//! Connecting to a Docker engine: which endpoint, and a clear error when it is not there.
//!
//! Endpoints are written as Docker writes them: `unix:///path/docker.sock`, `tcp://HOST:PORT`
//! (`http://` too), `ssh://user@host`. With no endpoint berth uses `DOCKER_HOST`, then the
//! default socket `unix:///var/run/docker.sock`, like the `docker` CLI.
//!
//! TLS (`tcp://` with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, or `https://`) and `ssh://` need
//! bollard's `ssl`/`ssh` features, which pull in rustls/ring and openssh. berth is built without
//! them to keep the build small, so those endpoints get an error that says so instead of a
//! silent plain-text connection.

use std::time::Duration;

use bollard::Docker;

/// The socket the Docker CLI uses when `DOCKER_HOST` is unset.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// How long berth waits for the engine to answer `/_ping` before calling it unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// bollard's per-request timeout (until response headers). Long enough for a slow `create` on
/// a busy 2-core machine; streams (wait, events) are not cut by it.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Why berth could not talk to a Docker engine. Every variant names the endpoint it tried.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "cannot reach the Docker engine at {endpoint}: {cause}\n  hint: start Docker (e.g. `sudo systemctl start docker`), or point berth at a running engine with DOCKER_HOST=unix:///path/docker.sock or tcp://HOST:PORT"
    )]
    Unreachable { endpoint: String, cause: String },
    #[error("unsupported Docker endpoint {endpoint}: {why}")]
    Unsupported { endpoint: String, why: String },
}

/// The endpoint berth uses when none is given: `DOCKER_HOST`, else the default socket.
pub fn default_endpoint() -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if !h.trim().is_empty() => h.trim().to_string(),
        _ => DEFAULT_ENDPOINT.to_string(),
    }
}

/// Builds a client for `endpoint` without talking to it yet (no I/O).
pub fn client_for(endpoint: &str) -> Result<Docker, ConnectError> {
    let unsupported = |why: &str| ConnectError::Unsupported {
        endpoint: endpoint.to_string(),
        why: why.to_string(),
    };
    let version = bollard::API_DEFAULT_VERSION;
    if endpoint.starts_with("unix://") {
        Docker::connect_with_unix(endpoint, REQUEST_TIMEOUT_SECS, version).map_err(|e| {
            ConnectError::Unreachable { endpoint: endpoint.into(), cause: e.to_string() }
        })
    } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
        if std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0")
            || std::env::var_os("DOCKER_CERT_PATH").is_some()
        {
            return Err(unsupported(
                "TLS (DOCKER_TLS_VERIFY/DOCKER_CERT_PATH is set) needs bollard's `ssl` feature, which this berth was built without; \
                 unset them for a plain tcp:// engine, or reach the engine over an SSH tunnel to its unix socket",
            ));
        }
        Docker::connect_with_http(endpoint, REQUEST_TIMEOUT_SECS, version).map_err(|e| {
            ConnectError::Unreachable { endpoint: endpoint.into(), cause: e.to_string() }
        })
    } else if endpoint.starts_with("https://") {
        Err(unsupported(
            "https:// needs bollard's `ssl` feature, which this berth was built without",
        ))
    } else if endpoint.starts_with("ssh://") {
        Err(unsupported(
            "ssh:// needs bollard's `ssh` feature, which this berth was built without; \
             forward the remote socket instead: `ssh -NL /tmp/remote.sock:/var/run/docker.sock HOST` and use unix:///tmp/remote.sock",
        ))
    } else if endpoint.starts_with('/') {
        client_for(&format!("unix://{endpoint}"))
    } else {
        Err(unsupported(
            "expected unix:///path, tcp://HOST:PORT, http://HOST:PORT or ssh://USER@HOST",
        ))
    }
}

/// Connects to `endpoint` (or the default) and checks that the engine answers.
pub async fn connect(endpoint: Option<&str>) -> Result<super::DockerClient, ConnectError> {
    let endpoint = endpoint.map(str::to_string).unwrap_or_else(default_endpoint);
    let docker = client_for(&endpoint)?;
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(super::DockerClient::new(docker, endpoint)),
        Ok(Err(e)) => Err(ConnectError::Unreachable { endpoint, cause: e.to_string() }),
        Err(_) => Err(ConnectError::Unreachable {
            endpoint,
            cause: format!("no answer to /_ping within {}s", PING_TIMEOUT.as_secs()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert!(client_for("unix:///var/run/docker.sock").is_ok());
        assert!(client_for("/var/run/docker.sock").is_ok());
        let e = client_for("ssh://me@box").unwrap_err().to_string();
        assert!(e.contains("ssh://me@box") && e.contains("ssh -NL"), "{e}");
        let e = client_for("ftp://x").unwrap_err().to_string();
        assert!(e.contains("ftp://x") && e.contains("unix:///path"), "{e}");
    }

    #[tokio::test]
    async fn unreachable_names_the_endpoint_and_hints() {
        let err =
            connect(Some("unix:///nonexistent/berth-test.sock")).await.unwrap_err().to_string();
        assert!(err.contains("unix:///nonexistent/berth-test.sock"), "{err}");
        assert!(err.contains("DOCKER_HOST"), "{err}");
    }
}
