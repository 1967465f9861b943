//! `berth cleanup` removes berth's labelled containers and networks and nothing else.

mod docker_support;

use std::collections::HashMap;

use berth::docker::cleanup;
use berth::docker::image::{WORKLOAD_IMAGE, WORKLOAD_PATH};
use berth::docker::labels;
use bollard::models::{ContainerCreateBody, HostConfig};
use docker_support::*;

#[tokio::test]
async fn cleanup_removes_only_labelled_things() {
    let Some(c) = docker_or_skip("cleanup_removes_only_labelled_things").await else { return };
    ensure_image(&c).await;
    let guard = RunGuard::new(&c, "cleanup");
    let _foreign = ForeignGuard {
        containers: vec![format!("{}-foreign1", guard.run), format!("{}-foreign2", guard.run)],
        networks: vec![format!("{}-foreign-net", guard.run)],
    };
    let net = format!("berth-{}-net", guard.run);
    c.ensure_network(&net, labels::base(&guard.run, "network")).await.unwrap();
    let mk = |labels: HashMap<String, String>, network: String| ContainerCreateBody {
        image: Some(WORKLOAD_IMAGE.to_string()),
        entrypoint: Some(vec![WORKLOAD_PATH.to_string()]),
        cmd: Some(vec!["sleep".into(), "60".into()]),
        labels: Some(labels),
        host_config: Some(HostConfig { network_mode: Some(network), ..Default::default() }),
        ..Default::default()
    };
    let ours = c
        .create(&format!("{}-ours", guard.run), mk(labels::base(&guard.run, "test"), net.clone()))
        .await
        .unwrap();
    c.start(&ours).await.unwrap();
    // Not berth's: same run label but no managed label, and no labels at all.
    let not_managed = HashMap::from([(labels::RUN.to_string(), guard.run.clone())]);
    let foreign1 =
        c.create(&format!("{}-foreign1", guard.run), mk(not_managed, "none".into())).await.unwrap();
    let foreign2 = c
        .create(&format!("{}-foreign2", guard.run), mk(HashMap::new(), "none".into()))
        .await
        .unwrap();
    let foreign_net = format!("{}-foreign-net", guard.run);
    c.ensure_network(&foreign_net, HashMap::new()).await.unwrap();

    // The CLI, limited to this run so parallel tests keep their containers. This test process
    // made the objects and is alive, so they belong to a live run: without --force cleanup
    // leaves them alone (tests/docker_faults.rs checks that side).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["cleanup", "--run", &guard.run, "--docker", c.endpoint()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("leaving run {} alone (running, pid", guard.run)), "{text}");
    assert!(c.inspect(&ours).await.is_ok(), "cleanup removed a live run's container");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["cleanup", "--dry-run", "--force", "--run", &guard.run, "--docker", c.endpoint()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("would remove 1 container(s), 1 network(s)"), "{text}");
    assert!(c.inspect(&ours).await.is_ok(), "--dry-run removed something");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["cleanup", "--force", "--run", &guard.run, "--docker", c.endpoint()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let left = cleanup::find(&c, Some(&guard.run), false).await.unwrap();
    assert!(left.is_empty(), "labelled leftovers: {left:?}");
    assert!(c.inspect(&ours).await.is_err(), "berth's container survived");
    assert!(c
        .raw()
        .inspect_network(&net, None::<bollard::query_parameters::InspectNetworkOptions>)
        .await
        .is_err());
    // The foreign objects are untouched; remove them ourselves.
    for id in [&foreign1, &foreign2] {
        assert!(c.inspect(id).await.is_ok(), "cleanup removed a container that is not berth's");
        c.remove(id).await.unwrap();
    }
    assert!(c
        .raw()
        .inspect_network(&foreign_net, None::<bollard::query_parameters::InspectNetworkOptions>)
        .await
        .is_ok());
    c.remove_network(&foreign_net).await.unwrap();
}
