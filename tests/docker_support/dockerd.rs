//! A private dockerd for tests that need a second engine: its own socket, data and exec
//! directories, no bridge and no iptables rules, so it does not touch the system engine.

use std::path::PathBuf;
use std::process::{Child, Command as Proc, Stdio};
use std::time::Duration;

/// A private dockerd, stopped and its directory removed on drop (also when the test panics).
pub struct PrivateDaemon {
    child: Child,
    /// Its directory: socket, data root, exec root, pid file and `dockerd.log`.
    pub dir: PathBuf,
    /// Its unix socket, `unix:///tmp/berth-test-dockerd-.../docker.sock`.
    pub endpoint: String,
    /// The extra arguments it was started with (for [`PrivateDaemon::restart`]).
    extra: Vec<String>,
}

impl PrivateDaemon {
    /// Starts dockerd named `name` (for its directory) with `extra` arguments (more `-H`, TLS).
    pub fn start(name: &str, extra: &[String]) -> Result<PrivateDaemon, String> {
        let dir = PathBuf::from(format!("/tmp/berth-test-dockerd-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // An empty config file: the system's /etc/docker/daemon.json may set data-root and the
        // storage driver, which would clash with our flags.
        std::fs::write(dir.join("daemon.json"), "{}").map_err(|e| e.to_string())?;
        let sock = dir.join("docker.sock");
        let child = spawn(&dir, extra)?;
        Ok(PrivateDaemon {
            child,
            endpoint: format!("unix://{}", sock.display()),
            dir,
            extra: extra.to_vec(),
        })
    }

    /// Stops it (SIGTERM: it stops its containers) but keeps its directory, so
    /// [`PrivateDaemon::restart`] brings the same engine back, containers and all.
    pub fn stop(&mut self) {
        let _ = Proc::new("kill").arg(self.child.id().to_string()).status();
        for _ in 0..150 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same directory after [`PrivateDaemon::stop`].
    pub fn restart(&mut self) -> Result<(), String> {
        self.child = spawn(&self.dir, &self.extra)?;
        Ok(())
    }
}

/// dockerd on `dir` (socket, data, exec root, pid file; its log appended to `dockerd.log`).
fn spawn(dir: &std::path::Path, extra: &[String]) -> Result<Child, String> {
    let sock = dir.join("docker.sock");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("dockerd.log"))
        .map_err(|e| e.to_string())?;
    Proc::new("dockerd")
        .arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("dockerd.pid"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
        .args(["--storage-driver", "vfs"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start dockerd: {e}"))
}

impl PrivateDaemon {
    /// Starts one, or returns `None` after a loud skip message when that is not possible and
    /// `BERTH_REQUIRE_DOCKER` is not 1 (then it panics).
    pub fn start_or_skip(test: &str, name: &str, extra: &[String]) -> Option<PrivateDaemon> {
        match PrivateDaemon::start(name, extra) {
            Ok(d) => Some(d),
            Err(e) if !super::require_docker() => {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPING {test}: {e} !!!!!\n");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// The tail of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for PrivateDaemon {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containers and unmount; then wait for it.
        let _ = Proc::new("kill").arg(self.child.id().to_string()).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
