//! Shared helpers for the Docker integration tests (`tests/docker_*.rs`).
//!
//! - [`docker_or_skip`]: connects, or skips loudly; with `BERTH_REQUIRE_DOCKER=1` a missing
//!   engine fails the test instead.
//! - [`RunGuard`]: a unique run id whose labelled containers and networks are removed when the
//!   guard drops, also when the test panics.
#![allow(dead_code)]

use berth::docker::{cleanup, image, DockerClient};

pub fn require_docker() -> bool {
    std::env::var("BERTH_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// The engine, or `None` (with a loud message) when it is unreachable and not required.
pub async fn docker_or_skip(test: &str) -> Option<DockerClient> {
    match berth::docker::connect(None).await {
        Ok(c) => Some(c),
        Err(e) if !require_docker() => {
            eprintln!("\n!!!!! SKIPPING {test}: no Docker engine ({e}); set BERTH_REQUIRE_DOCKER=1 to make this a failure !!!!!\n");
            None
        }
        Err(e) => panic!("BERTH_REQUIRE_DOCKER=1 but Docker is unreachable: {e}"),
    }
}

/// The workload image's files, from the binary cargo built for this test run.
pub fn rootfs() -> image::Rootfs {
    image::Rootfs::for_binary(std::path::Path::new(env!("CARGO_BIN_EXE_berth-workload"))).unwrap()
}

/// Builds (or finds) the workload image in `client`'s engine.
pub async fn ensure_image(client: &DockerClient) {
    image::ensure_workload_image(client, &rootfs()).await.unwrap();
}

/// A unique run id; everything labelled with it is removed on drop.
pub struct RunGuard {
    pub run: String,
    endpoint: String,
}

impl RunGuard {
    pub fn new(client: &DockerClient, test: &str) -> RunGuard {
        RunGuard {
            run: format!("test-{test}-{}", berth::docker::new_run_id()),
            endpoint: client.endpoint().to_string(),
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let run = self.run.clone();
        let endpoint = self.endpoint.clone();
        // A fresh runtime on a fresh thread: Drop may run inside (or after) the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(c) = berth::docker::connect(Some(&endpoint)).await {
                    if let Ok(found) = cleanup::find(&c, Some(&run), false).await {
                        for e in cleanup::remove(&c, &found).await {
                            eprintln!("cleanup of {run}: {e}");
                        }
                    }
                }
            })
        })
        .join();
    }
}

/// Removes unlabelled test objects (by name) on drop, also when the test panics.
pub struct ForeignGuard {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

impl Drop for ForeignGuard {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = std::process::Command::new("docker").args(["rm", "-f", c]).output();
        }
        for n in &self.networks {
            let _ = std::process::Command::new("docker").args(["network", "rm", n]).output();
        }
    }
}
