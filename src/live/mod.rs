//! The live terminal view: hosts filling with tasks, Fargate slots coming and going, cost
//! meters and an event log.

pub mod model;
pub mod sim_source;
pub mod term;
pub mod view;

use crate::cluster::Cluster;
use crate::time::SimTime;

/// A model with the cluster's ECS hosts (when ECS mode is shown), before anything runs.
pub fn initial_model(
    cluster: &Cluster,
    with_ecs: bool,
    title: &str,
    end: SimTime,
    speed: f64,
) -> model::LiveModel {
    let mut m = model::LiveModel::new(title, end, speed);
    if with_ecs {
        for (i, h) in cluster.hosts.iter().enumerate() {
            m.apply(
                SimTime::ZERO,
                model::LiveEvent::Host {
                    index: i,
                    label: h.instance_id.clone(),
                    instance_type: h.instance_type.clone(),
                    cpu_units: h.registered_cpu_units(),
                    memory_mib: h.memory_mib.saturating_sub(cluster.ecs.reserved_memory_mib),
                },
            );
        }
    }
    m
}
