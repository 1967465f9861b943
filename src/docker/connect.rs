//! Connecting to a Docker engine: which endpoint, and a clear error when it is not there.
//!
//! Endpoints are written as Docker writes them: `unix:///path/docker.sock`, `tcp://HOST:PORT`
//! (`http://` too), `ssh://user@host`. With no endpoint berth uses `DOCKER_HOST`, then the
//! default socket `unix:///var/run/docker.sock`, like the `docker` CLI.
//!
//! TLS works as with the `docker` CLI: an `https://` endpoint, or a `tcp://` one while
//! `DOCKER_TLS_VERIFY` (anything but empty or `0`) or `DOCKER_CERT_PATH` is set, is reached over
//! TLS with mutual authentication: `ca.pem` (the CA that signed the engine's certificate),
//! `cert.pem` and `key.pem` (berth's client certificate) from `DOCKER_CERT_PATH`, else
//! `~/.docker`. The files are checked before connecting, because bollard reads the client
//! certificate lazily during the handshake and silently sends none when it is missing, which the
//! engine then reports as a bare "bad certificate".
//!
//! `ssh://USER@HOST` goes through bollard's `ssh` feature: the `ssh` binary, and
//! `docker system dial-stdio` on the remote host, as with the `docker` CLI.

use std::path::{Path, PathBuf};
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
    /// The TLS files for an endpoint are missing or unreadable (checked before connecting).
    #[error("cannot connect to the Docker engine at {endpoint} over TLS: {why}\n  hint: {hint}")]
    Tls { endpoint: String, why: String, hint: String },
}

/// Where the TLS files of an endpoint are, as the `docker` CLI finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA certificate that signed the engine's server certificate.
    pub ca: PathBuf,
    /// berth's client certificate, signed by a CA the engine trusts (`--tlscacert`).
    pub cert: PathBuf,
    /// The client certificate's private key.
    pub key: PathBuf,
}

impl TlsFiles {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`.
    pub fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") }
    }

    /// The directory the `docker` CLI uses: `DOCKER_CERT_PATH`, else `~/.docker`.
    pub fn from_env() -> TlsFiles {
        let dir = match std::env::var_os("DOCKER_CERT_PATH") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".docker"),
        };
        TlsFiles::in_dir(&dir)
    }

    /// Each file must exist and hold PEM data; the error names the first one that does not.
    fn check(&self, endpoint: &str) -> Result<(), ConnectError> {
        for (path, what) in [
            (&self.ca, "the CA certificate (ca.pem)"),
            (&self.cert, "the client certificate (cert.pem)"),
            (&self.key, "the client key (key.pem)"),
        ] {
            let why = match std::fs::read(path) {
                Ok(bytes) if bytes.windows(11).any(|w| w == b"-----BEGIN ") => continue,
                Ok(_) => format!("{} is not a PEM file ({what})", path.display()),
                Err(e) => format!("cannot read {what} {}: {e}", path.display()),
            };
            return Err(ConnectError::Tls {
                endpoint: endpoint.to_string(),
                why,
                hint: "put ca.pem, cert.pem and key.pem in the directory DOCKER_CERT_PATH names (default ~/.docker), as for `docker --tlsverify`".into(),
            });
        }
        Ok(())
    }
}

/// Whether the environment asks for TLS on `tcp://` endpoints, as the `docker` CLI reads it.
fn tls_from_env() -> bool {
    std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0")
        || std::env::var_os("DOCKER_CERT_PATH").is_some_and(|v| !v.is_empty())
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
    } else if endpoint.starts_with("https://") || (endpoint.starts_with("tcp://") && tls_from_env())
    {
        client_with_tls(endpoint, &TlsFiles::from_env())
    } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
        Docker::connect_with_http(endpoint, REQUEST_TIMEOUT_SECS, version).map_err(|e| {
            ConnectError::Unreachable { endpoint: endpoint.into(), cause: e.to_string() }
        })
    } else if endpoint.starts_with("ssh://") {
        client_with_ssh(endpoint)
    } else if endpoint.starts_with('/') {
        client_for(&format!("unix://{endpoint}"))
    } else {
        Err(unsupported(
            "expected unix:///path, tcp://HOST:PORT, http://HOST:PORT, https://HOST:PORT or ssh://USER@HOST",
        ))
    }
}

/// Builds an SSH client for `ssh://USER@HOST` without talking to it yet.
///
/// bollard runs the `ssh` binary (through the `openssh` crate) and, on the remote host,
/// `docker system dial-stdio`, as the `docker` CLI does: the remote user needs the `docker` CLI
/// and access to the engine there. Authentication is ssh's own (agent, `~/.ssh/config`, default
/// identities); `BERTH_SSH_KEY` names an identity file instead. A port cannot be given in the
/// endpoint (bollard passes only `USER@HOST` to ssh): set it with a `Host` entry in
/// `~/.ssh/config`.
pub fn client_with_ssh(endpoint: &str) -> Result<Docker, ConnectError> {
    // The same rule the cluster file's `docker` key is checked with (no path, no port).
    crate::cluster::check_docker_endpoint(endpoint)
        .map_err(|why| ConnectError::Unsupported { endpoint: endpoint.into(), why })?;
    let key = std::env::var("BERTH_SSH_KEY").ok().filter(|k| !k.is_empty());
    Docker::connect_with_ssh(endpoint, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION, key)
        .map_err(|e| ConnectError::Unreachable { endpoint: endpoint.into(), cause: e.to_string() })
}

/// Builds a TLS client for `endpoint` (`tcp://` or `https://`) with `files`, without talking to
/// it yet. The engine's certificate must be signed by `files.ca` (or a CA the system trusts:
/// bollard adds the system roots) and name the host of `endpoint`.
pub fn client_with_tls(endpoint: &str, files: &TlsFiles) -> Result<Docker, ConnectError> {
    files.check(endpoint)?;
    Docker::connect_with_ssl(
        endpoint,
        &files.key,
        &files.cert,
        &files.ca,
        REQUEST_TIMEOUT_SECS,
        bollard::API_DEFAULT_VERSION,
    )
    .map_err(|e| ConnectError::Tls {
        endpoint: endpoint.to_string(),
        why: e.to_string(),
        hint: format!(
            "check the PEM files {}, {} and {}",
            files.ca.display(),
            files.cert.display(),
            files.key.display()
        ),
    })
}

/// Connects to `endpoint` (or the default) and checks that the engine answers.
pub async fn connect(endpoint: Option<&str>) -> Result<super::DockerClient, ConnectError> {
    let endpoint = endpoint.map(str::to_string).unwrap_or_else(default_endpoint);
    let docker = client_for(&endpoint)?;
    ping(docker, endpoint).await
}

/// Connects to a TLS engine with explicit `files` (not the environment's) and checks that it
/// answers.
pub async fn connect_tls(
    endpoint: &str,
    files: &TlsFiles,
) -> Result<super::DockerClient, ConnectError> {
    let docker = client_with_tls(endpoint, files)?;
    ping(docker, endpoint.to_string()).await
}

/// Whether an engine berth is connected to still answers `/_ping` (within the connect
/// timeout): at the end of a run, to tell an engine that went away from one that refused.
pub async fn ping_client(client: &super::DockerClient) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, client.raw().ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(error_chain(&e)),
        Err(_) => Err(format!("no answer within {PING_TIMEOUT:?}")),
    }
}

/// Checks that the engine answers `/_ping`; a TLS handshake failure is reported as such.
async fn ping(docker: Docker, endpoint: String) -> Result<super::DockerClient, ConnectError> {
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(super::DockerClient::new(docker, endpoint)),
        Ok(Err(e)) => {
            let cause = error_chain(&e);
            if is_tls_failure(&cause) {
                return Err(ConnectError::Tls {
                    endpoint,
                    why: format!("the TLS handshake failed: {cause}"),
                    hint: "the engine's certificate must be signed by ca.pem and name the host you connect to (subjectAltName); berth's cert.pem must be signed by the CA the engine was started with (--tlscacert)".into(),
                });
            }
            Err(ConnectError::Unreachable { endpoint, cause })
        }
        Err(_) => Err(ConnectError::Unreachable {
            endpoint,
            cause: format!("no answer to /_ping within {}s", PING_TIMEOUT.as_secs()),
        }),
    }
}

/// An error and its sources, joined: bollard's own message often hides the part that says why
/// (e.g. "invalid peer certificate: UnknownIssuer").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

fn is_tls_failure(cause: &str) -> bool {
    ["certificate", "handshake", "InvalidCertificate", "tls", "TLS", "AlertReceived"]
        .iter()
        .any(|w| cause.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert!(client_for("unix:///var/run/docker.sock").is_ok());
        assert!(client_for("/var/run/docker.sock").is_ok());
        assert!(client_for("ssh://me@box").is_ok());
        let e = client_for("ssh://me@box:2222").unwrap_err().to_string();
        assert!(e.contains("ssh://me@box:2222") && e.contains("~/.ssh/config"), "{e}");
        let e = client_for("ftp://x").unwrap_err().to_string();
        assert!(e.contains("ftp://x") && e.contains("unix:///path"), "{e}");
    }

    #[test]
    fn tls_names_the_endpoint_and_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::in_dir(dir.path());
        let e = client_with_tls("tcp://10.0.0.9:2376", &files).unwrap_err().to_string();
        assert!(e.contains("tcp://10.0.0.9:2376") && e.contains("ca.pem"), "{e}");
        assert!(e.contains("DOCKER_CERT_PATH"), "{e}");
        // The CA is there, the client certificate is not: the error moves on to cert.pem.
        std::fs::write(&files.ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let e = client_with_tls("https://box:2376", &files).unwrap_err().to_string();
        assert!(e.contains("https://box:2376") && e.contains("cert.pem"), "{e}");
        std::fs::write(&files.cert, "not pem").unwrap();
        let e = client_with_tls("https://box:2376", &files).unwrap_err().to_string();
        assert!(e.contains("is not a PEM file") && e.contains("cert.pem"), "{e}");
    }

    #[test]
    fn cert_dir_defaults_like_the_docker_cli() {
        let f = TlsFiles::in_dir(Path::new("/certs"));
        assert_eq!(f.ca, Path::new("/certs/ca.pem"));
        assert_eq!(f.cert, Path::new("/certs/cert.pem"));
        assert_eq!(f.key, Path::new("/certs/key.pem"));
    }

    #[tokio::test]
    async fn unreachable_names_the_endpoint_and_hints() {
        let err =
            connect(Some("unix:///nonexistent/berth-test.sock")).await.unwrap_err().to_string();
        assert!(err.contains("unix:///nonexistent/berth-test.sock"), "{err}");
        assert!(err.contains("DOCKER_HOST"), "{err}");
    }
}
