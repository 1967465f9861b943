//! A Docker engine reached over TLS (`tcp://` with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, as the
//! `docker` CLI uses them). The test makes its own CA, server and client certificates with the
//! `openssl` CLI, starts a private dockerd with `--tlsverify` on a free local port, and checks
//! that berth connects, loads its workload image into that engine itself and runs a task there;
//! and that a client trusting the wrong CA fails with an error that says so.

mod docker_support;

use std::path::Path;
use std::process::Command as Proc;
use std::time::Duration;

use berth::docker::connect::{ConnectError, TlsFiles};
use berth::docker::image::{self, WORKLOAD_IMAGE};
use berth::docker::runtime::Engines;
use berth::docker::{cleanup, labels};
use berth::engine::TaskStatus;
use docker_support::dockerd::PrivateDaemon;
use docker_support::model::*;
use docker_support::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Proc::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>-ca.pem`, `<name>-ca-key.pem`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    let (key, cert) = (format!("{name}-ca-key.pem"), format!("{name}-ca.pem"));
    openssl(dir, &["genrsa", "-out", &key, "2048"]);
    let subj = format!("/CN=berth test {name} CA");
    openssl(
        dir,
        &["req", "-x509", "-new", "-key", &key, "-days", "1", "-subj", &subj, "-out", &cert],
    );
}

/// A certificate `<out>-cert.pem` with key `<out>-key.pem`, signed by CA `ca`, with extensions
/// `ext` (an openssl extension file's text).
fn make_cert(dir: &Path, ca: &str, out: &str, cn: &str, ext: &str) {
    let (key, csr, cert, extf) = (
        format!("{out}-key.pem"),
        format!("{out}.csr"),
        format!("{out}-cert.pem"),
        format!("{out}.ext"),
    );
    std::fs::write(dir.join(&extf), ext).unwrap();
    openssl(dir, &["genrsa", "-out", &key, "2048"]);
    openssl(dir, &["req", "-new", "-key", &key, "-subj", &format!("/CN={cn}"), "-out", &csr]);
    let (ca_cert, ca_key) = (format!("{ca}-ca.pem"), format!("{ca}-ca-key.pem"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_cert,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &extf,
            "-out",
            &cert,
        ],
    );
}

/// A free local TCP port (bound and released; dockerd takes it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn tls_engine_runs_a_task_and_a_wrong_ca_is_refused() {
    let test = "tls_engine_runs_a_task_and_a_wrong_ca_is_refused";
    let Some(c) = docker_or_skip(test).await else { return };
    if Proc::new("openssl").arg("version").output().is_err() {
        assert!(!require_docker(), "BERTH_REQUIRE_DOCKER=1 but the openssl CLI is missing");
        eprintln!("\n!!!!! SKIPPING {test}: no openssl CLI to make certificates !!!!!\n");
        return;
    }
    // Removed on drop, also on panic.
    let certs = tempfile::tempdir().unwrap();
    let d = certs.path();
    make_ca(d, "good");
    make_ca(d, "other");
    make_cert(
        d,
        "good",
        "server",
        "localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    make_cert(d, "good", "client", "berth", "extendedKeyUsage=clientAuth\n");
    // The client side, laid out as DOCKER_CERT_PATH wants it.
    let client_dir = d.join("client");
    std::fs::create_dir(&client_dir).unwrap();
    for (from, to) in
        [("good-ca.pem", "ca.pem"), ("client-cert.pem", "cert.pem"), ("client-key.pem", "key.pem")]
    {
        std::fs::copy(d.join(from), client_dir.join(to)).unwrap();
    }

    let port = free_port();
    let tls_endpoint = format!("tcp://127.0.0.1:{port}");
    let p = |f: &str| d.join(f).display().to_string();
    let extra = vec![
        "--tlsverify".to_string(),
        "--tlscacert".into(),
        p("good-ca.pem"),
        "--tlscert".into(),
        p("server-cert.pem"),
        "--tlskey".into(),
        p("server-key.pem"),
        "-H".into(),
        tls_endpoint.clone(),
    ];
    let Some(daemon) = PrivateDaemon::start_or_skip(test, "tls", &extra) else { return };

    // The docker CLI's convention. This test binary has this one test, so no other thread reads
    // the environment meanwhile; the system engine (unix://) ignores these variables.
    std::env::set_var("DOCKER_TLS_VERIFY", "1");
    std::env::set_var("DOCKER_CERT_PATH", &client_dir);
    let mut tls = None;
    let mut last = String::new();
    for _ in 0..150 {
        match berth::docker::connect(Some(&tls_endpoint)).await {
            Ok(s) => {
                tls = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let tls = tls.unwrap_or_else(|| {
        panic!("no TLS connection to {tls_endpoint}: {last}\ndockerd log:\n{}", daemon.log_tail())
    });
    // The same engine is on its unix socket too: the TLS one really is that daemon.
    let plain = berth::docker::connect(Some(&daemon.endpoint)).await.unwrap();

    // A client that trusts another CA: refused, and the error says it is about TLS.
    let wrong = TlsFiles { ca: d.join("other-ca.pem"), ..TlsFiles::in_dir(&client_dir) };
    let err = berth::docker::connect::connect_tls(&tls_endpoint, &wrong).await.unwrap_err();
    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&tls_endpoint) && msg.contains("TLS handshake failed"), "{msg}");
    assert!(msg.contains("certificate") && msg.contains("ca.pem"), "{msg}");
    // A missing client key: named before anything is sent.
    let missing = TlsFiles { key: d.join("nope/key.pem"), ..TlsFiles::in_dir(&client_dir) };
    let msg =
        berth::docker::connect::connect_tls(&tls_endpoint, &missing).await.unwrap_err().to_string();
    assert!(msg.contains(&tls_endpoint) && msg.contains("nope/key.pem"), "{msg}");

    // One host whose engine is the TLS one; berth loads its image there itself.
    let endpoint = tls_endpoint.clone();
    let cluster = cluster(1, move |_| Some(endpoint.clone()));
    let engines = Engines::connect(Some(c.endpoint()), &cluster).await.unwrap();
    assert_eq!(engines.all().len(), 2);
    assert!(!tls.image_present(WORKLOAD_IMAGE).await.unwrap());
    let fs = rootfs();
    for e in engines.all() {
        image::ensure_workload_image(&e, &fs).await.unwrap();
    }
    assert!(tls.image_present(WORKLOAD_IMAGE).await.unwrap());
    assert!(plain.image_present(WORKLOAD_IMAGE).await.unwrap());

    let guard = RunGuard::new(&tls, "tls");
    let r = run_exiting_task(cluster.clone(), engines, &guard.run, "secure", 3).await;
    let tasks: Vec<_> = r
        .engine
        .tasks()
        .map(|t| (t.host, t.last_status, t.stopped_reason.clone(), t.containers[0].exit_code))
        .collect();
    assert_eq!(tasks.len(), 1, "{tasks:?}; errors {:?}", r.errors);
    // The workload's exit code came back from the TLS engine.
    assert_eq!(tasks[0].1, TaskStatus::Stopped, "{tasks:?}; errors {:?}", r.errors);
    assert_eq!(tasks[0].3, Some(3), "{tasks:?}; errors {:?}", r.errors);
    // The container ran in the private engine: its events are there, not on the system one.
    // (The docker CLI must not inherit the TLS settings meant for berth: this asks the same
    // daemon over its plain unix socket. Events can lag a moment behind, hence the retries.)
    let events = || {
        let out = Proc::new("docker")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env_remove("DOCKER_HOST")
            .args(["-H", &daemon.endpoint, "events", "--since", "5m", "--until", "1s"])
            .args(["--filter", &format!("label={}={}", labels::RUN, guard.run)])
            .args(["--filter", "event=start", "--format", "{{.Actor.Attributes.name}}"])
            .output()
            .unwrap();
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let mut started = events();
    for _ in 0..10 {
        if started.contains("ecs-secure-1-app-") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        started = events();
    }
    assert!(started.contains("ecs-secure-1-app-"), "no start event on the TLS engine: {started:?}");
    for e in [&c, &tls] {
        let left = cleanup::find(e, Some(&guard.run), false).await.unwrap();
        assert!(left.is_empty(), "{}: {left:?}", e.endpoint());
    }
    drop(guard);
    drop(daemon);
}
