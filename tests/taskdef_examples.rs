//! The example task definitions in `task-defs/` and the facts derived from them, worked out by
//! hand: the demos and the other modules' tests lean on these numbers.

use std::path::Path;

use berth::taskdef::derive::{docker_create, fargate_size, host_demand, start_order};
use berth::taskdef::fargate::FargateSize;
use berth::taskdef::model::TaskDefinition;

fn example(name: &str) -> TaskDefinition {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("task-defs").join(name);
    let (def, warnings) = berth::taskdef::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{name}: {warnings:?}");
    def
}

fn names(def: &TaskDefinition, order: &[usize]) -> Vec<String> {
    order.iter().map(|i| def.containers[*i].name.clone()).collect()
}

#[test]
fn sidecar_example_starts_migration_and_sidecar_first() {
    let def = example("api-with-sidecar.json");
    let order = start_order(&def).unwrap();
    assert_eq!(names(&def, &order), ["migrate", "metrics", "api"]);
    // awsvpc: no host ports; the task-level size is what an ECS host gives up.
    let d = host_demand(&def);
    assert_eq!((d.cpu_units, d.memory_mib), (512, 1024));
    assert!(d.tcp_ports.is_empty());
    assert_eq!(fargate_size(&def), Some(FargateSize { cpu_units: 512, memory_mib: 1024 }));
}

#[test]
fn web_example_sizes() {
    let def = example("web.json");
    assert_eq!(fargate_size(&def), Some(FargateSize { cpu_units: 256, memory_mib: 512 }));
    let body = docker_create(&def, 0).unwrap();
    assert_eq!(body.cmd.as_deref().unwrap(), ["serve", "--port", "8080"]);
    let hc = body.healthcheck.unwrap();
    assert_eq!(hc.test.as_deref().unwrap(), ["CMD", "/berth-workload", "health", "--port", "8080"]);
    assert_eq!(hc.interval, Some(10_000_000_000));
    assert_eq!(hc.start_period, Some(5_000_000_000));
    assert_eq!(body.host_config.unwrap().memory_reservation, Some(256 * 1024 * 1024));
}

#[test]
fn ec2_worker_reserves_container_sums() {
    let def = example("worker-ec2.json");
    // No task-level size: cpu 512 + 0; memory: reservations 256 + 64 (not the 512 hard limit).
    let d = host_demand(&def);
    assert_eq!((d.cpu_units, d.memory_mib), (512, 320));
    assert!(d.tcp_ports.is_empty(), "hostPort 0 is dynamic");
    // On Fargate it needs 512 units and the hard limit 512 + reservation 64 = 576 MiB.
    assert_eq!(fargate_size(&def), Some(FargateSize { cpu_units: 512, memory_mib: 1024 }));
    let status = docker_create(&def, 1).unwrap();
    let binding = &status.host_config.unwrap().port_bindings.unwrap()["8080/tcp"];
    assert_eq!(binding.as_ref().unwrap()[0].host_port.as_deref(), Some(""));
}

#[test]
fn vcpu_and_gb_strings_in_examples() {
    let etl = example("etl.json");
    assert_eq!((etl.cpu_units, etl.memory_mib), (Some(1024), Some(2048)));
    let worker = example("worker-fargate.json");
    assert_eq!((worker.cpu_units, worker.memory_mib), (Some(512), Some(1024)));
    let arm = example("web-arm.json");
    assert_eq!(arm.runtime_platform.arch, berth::taskdef::model::CpuArch::Arm64);
}

#[test]
fn registering_examples_counts_revisions() {
    let mut reg = berth::taskdef::Registry::new();
    assert_eq!(reg.register(example("web.json")).revision, Some(1));
    assert_eq!(reg.register(example("web.json")).revision, Some(2));
    assert_eq!(reg.register(example("etl.json")).revision, Some(1));
    assert_eq!(reg.lookup("web").unwrap().family_revision(), "web:2");
}
