//! A Docker engine reached over `ssh://`. The test starts a private sshd (Debian's
//! openssh-server) on 127.0.0.2:22 with its own host key and an authorized key made for the
//! test, and checks that berth connects through it (`docker system dial-stdio` on the "remote"
//! side, which is the system engine here), loads its image and runs a labelled task there.
//!
//! Side effect outside the test's directories: ssh records the fresh host key of 127.0.0.2 in
//! the user's `~/.ssh/known_hosts` (bollard's ssh connector accepts new keys); the test removes
//! that entry before and after (`ssh-keygen -R 127.0.0.2`).

mod docker_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::time::Duration;

use berth::docker::image::{self, WORKLOAD_IMAGE};
use berth::docker::runtime::Engines;
use berth::engine::TaskStatus;
use docker_support::model::*;
use docker_support::*;

const SSH_HOST: &str = "127.0.0.2";

/// The private sshd; killed and its known_hosts entry removed on drop (also on panic).
struct Sshd {
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        forget_host_key();
    }
}

fn forget_host_key() {
    let _ = Proc::new("ssh-keygen").args(["-R", SSH_HOST]).output();
}

fn keygen(path: &Path) {
    let out = Proc::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
}

fn skip(test: &str, why: &str) {
    assert!(!require_docker(), "BERTH_REQUIRE_DOCKER=1 but {why}");
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPING {test}: {why} !!!!!\n");
}

#[tokio::test]
async fn ssh_engine_runs_a_task() {
    let test = "ssh_engine_runs_a_task";
    let Some(c) = docker_or_skip(test).await else { return };
    let sshd = PathBuf::from("/usr/sbin/sshd");
    if !sshd.exists() {
        return skip(test, "no sshd (Debian: apt-get install openssh-server)");
    }
    let user = String::from_utf8(Proc::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let user = user.trim().to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(&d.join("host_key"));
    keygen(&d.join("client_key"));
    std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
    std::fs::write(
        d.join("sshd_config"),
        format!(
            "ListenAddress {SSH_HOST}:22\nHostKey {dir}/host_key\nPidFile {dir}/sshd.pid\nAuthorizedKeysFile {dir}/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
            dir = d.display()
        ),
    )
    .unwrap();
    // sshd's privilege separation directory (Debian's service creates it at boot).
    let _ = std::fs::create_dir_all("/run/sshd");
    forget_host_key();
    let child = Proc::new(&sshd)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
        .spawn()
        .expect("start sshd");
    let _sshd = Sshd { child };

    // This test binary has this one test: no other thread reads the environment meanwhile.
    std::env::set_var("BERTH_SSH_KEY", d.join("client_key"));
    let endpoint = format!("ssh://{user}@{SSH_HOST}");
    let mut remote = None;
    let mut last = String::new();
    for _ in 0..50 {
        match berth::docker::connect(Some(&endpoint)).await {
            Ok(s) => {
                remote = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let Some(remote) = remote else {
        let log = std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default();
        return skip(test, &format!("no Docker over {endpoint}: {last}\nsshd log:\n{log}"));
    };

    let ep = endpoint.clone();
    let cluster = cluster(1, move |_| Some(ep.clone()));
    let engines = Engines::connect(Some(c.endpoint()), &cluster).await.unwrap();
    assert_eq!(engines.all().len(), 2);
    let fs = rootfs();
    for e in engines.all() {
        image::ensure_workload_image(&e, &fs).await.unwrap();
    }
    assert!(remote.image_present(WORKLOAD_IMAGE).await.unwrap());

    let guard = RunGuard::new(&c, "ssh");
    let r = run_exiting_task(cluster.clone(), engines, &guard.run, "viassh", 4).await;
    let tasks: Vec<_> = r
        .engine
        .tasks()
        .map(|t| (t.last_status, t.stopped_reason.clone(), t.containers[0].exit_code))
        .collect();
    assert_eq!(tasks.len(), 1, "{tasks:?}; errors {:?}", r.errors);
    assert_eq!(tasks[0].0, TaskStatus::Stopped, "{tasks:?}; errors {:?}", r.errors);
    assert_eq!(tasks[0].2, Some(4), "{tasks:?}; errors {:?}", r.errors);
    let left = berth::docker::cleanup::find(&remote, Some(&guard.run), false).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    // It really went through our sshd, with the test's key.
    let log = std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default();
    assert!(log.contains("Accepted publickey for"), "sshd log:\n{log}");
}
