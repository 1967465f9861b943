//! The example clusters in clusters/ load, and their hosts are what the comments say.

use std::path::Path;

use berth::cluster::load;
use berth::placement::placer::request;
use berth::placement::{FailureReason, Placer, StrategyRule};
use berth::taskdef::model::CpuArch;
use rand::SeedableRng;
use rust_decimal_macros::dec;

fn example(name: &str) -> berth::cluster::Cluster {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("clusters").join(name);
    load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_cluster_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("clusters");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 3);
}

#[test]
fn laptop() {
    let c = example("laptop.toml");
    assert_eq!(c.hosts.len(), 2);
    assert!(c
        .hosts
        .iter()
        .all(|h| h.instance_type == "t3.medium" && h.usd_per_hour == dec!(0.0416)));
    let total_mib: u32 = c.hosts.iter().map(|h| h.memory_mib).sum();
    assert!(total_mib <= 8192, "fits a 24 GiB laptop with room to spare");
}

#[test]
fn mixed_az_spreads_then_binpacks() {
    let c = example("mixed-az.toml");
    assert_eq!(c.hosts.len(), 6);
    let zones: std::collections::BTreeSet<&str> = c.hosts.iter().map(|h| h.zone.as_str()).collect();
    assert_eq!(zones.len(), 3);
    assert_eq!(c.ecs.reserved_memory_mib, 256);
    // Three tasks of a group land in three zones. 1) All zones have 0 tasks, so binpack(memory)
    // decides among all hosts: the c5.large h2 has the least (4096 − 256 = 3840 MiB) → 1b.
    // 2) 1a and 1c tie at 0: the m5.large h0 (7936) beats the r5.large / m6i.xlarge (16128).
    // 3) 1c: h4 and h5 both have 16128 MiB; the lower id, h4, wins.
    let mut p = Placer::new(&c);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let r = request(256, 512, "service:web", vec![], vec![]);
    let hosts: Vec<u32> = (0..3).map(|_| p.place(&r, &mut rng).unwrap().0).collect();
    assert_eq!(hosts, vec![2, 0, 4]);
    assert!(matches!(c.ecs.placement_strategy[0], StrategyRule::Spread(_)));
}

#[test]
fn arm_fleet_refuses_x86_tasks() {
    let c = example("arm.toml");
    assert!(c.hosts.iter().all(|h| h.arch == CpuArch::Arm64));
    let mut p = Placer::new(&c);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let x86 = request(256, 512, "family:app", vec![], vec![]);
    assert_eq!(p.place_explained(&x86, &mut rng).unwrap_err().reason, FailureReason::Attribute);
    let mut arm = x86.clone();
    arm.arch = CpuArch::Arm64;
    assert!(p.place(&arm, &mut rng).is_ok());
}
