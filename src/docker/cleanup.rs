//! Finding and removing what berth left in an engine, by label only.
//!
//! Everything berth creates carries `io.berth.managed=true` ([`super::labels::MANAGED`]); this
//! module lists and removes exactly those containers and networks, plus with `--images` the
//! images labelled `io.berth.image` (see [`labels::IMAGE`] for why images differ), and nothing else (no prune calls: prune would
//! touch other people's stopped containers and unused networks).

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    RemoveImageOptionsBuilder,
};

use std::collections::BTreeMap;

use super::labels::{self, managed_filter};
use super::liveness::{self, RunState};
use super::DockerClient;

/// A berth object found in an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub name: String,
    /// The run it belongs to (`io.berth.run`), if labelled.
    pub run: Option<String>,
    /// The process that made it (`io.berth.owner`), if labelled.
    pub owner: Option<String>,
}

/// What berth has in one engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    pub containers: Vec<Found>,
    pub networks: Vec<Found>,
    pub images: Vec<Found>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.images.is_empty()
    }

    /// Splits off the objects of runs that may still be alive ([`liveness::state`]): returns
    /// what is safe to remove (dead runs, unlabelled objects, images) and the other runs with
    /// their state.
    pub fn split_live(self) -> (Leftovers, Vec<(String, RunState)>) {
        // One owner per run (all objects of a run are made by one process).
        let mut owners: BTreeMap<String, Option<String>> = BTreeMap::new();
        for f in self.containers.iter().chain(&self.networks) {
            if let Some(run) = &f.run {
                let o = owners.entry(run.clone()).or_default();
                if o.is_none() {
                    o.clone_from(&f.owner);
                }
            }
        }
        let states: BTreeMap<String, RunState> = owners
            .into_iter()
            .map(|(run, owner)| {
                let st = liveness::state(&run, owner.as_deref());
                (run, st)
            })
            .collect();
        let dead = |f: &Found| f.run.as_ref().is_none_or(|r| states[r].is_dead());
        let (containers, _): (Vec<Found>, Vec<Found>) =
            self.containers.into_iter().partition(|f| dead(f));
        let (networks, _): (Vec<Found>, Vec<Found>) =
            self.networks.into_iter().partition(|f| dead(f));
        let live = states.into_iter().filter(|(_, s)| !s.is_dead()).collect();
        (Leftovers { containers, networks, images: self.images }, live)
    }

    /// The distinct runs the containers and networks belong to.
    pub fn runs(&self) -> Vec<String> {
        let mut runs: Vec<String> =
            self.containers.iter().chain(&self.networks).filter_map(|f| f.run.clone()).collect();
        runs.sort();
        runs.dedup();
        runs
    }
}

/// Lists berth's containers (all states) and networks, and its images if `images` is set;
/// only `run`'s when given.
pub async fn find(
    client: &DockerClient,
    run: Option<&str>,
    images: bool,
) -> anyhow::Result<Leftovers> {
    let filters = managed_filter(run);
    let docker = client.raw();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default().all(true).filters(&filters).build(),
        ))
        .await?
        .into_iter()
        .map(|c| Found {
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.first().cloned())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            run: c.labels.as_ref().and_then(|l| l.get(labels::RUN).cloned()),
            owner: c.labels.as_ref().and_then(|l| l.get(labels::OWNER).cloned()),
        })
        .collect();
    let networks = docker
        .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
        .await?
        .into_iter()
        .map(|n| Found {
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            run: n.labels.as_ref().and_then(|l| l.get(labels::RUN).cloned()),
            owner: n.labels.as_ref().and_then(|l| l.get(labels::OWNER).cloned()),
        })
        .collect();
    let image_filter = HashMap::from([("label".to_string(), vec![labels::IMAGE.to_string()])]);
    let images = if images && run.is_none() {
        docker
            .list_images(Some(ListImagesOptionsBuilder::default().filters(&image_filter).build()))
            .await?
            .into_iter()
            .map(|i| Found {
                name: i.repo_tags.first().cloned().unwrap_or_else(|| i.id.clone()),
                id: i.id,
                run: None,
                owner: None,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Leftovers { containers, networks, images })
}

/// Removes what [`find`] found: containers first (they hold the networks), then networks, then
/// images. Returns the errors it met (it keeps going past them).
pub async fn remove(client: &DockerClient, found: &Leftovers) -> Vec<String> {
    let mut errors = Vec::new();
    let removals = found.containers.iter().map(|c| async move { (c, client.remove(&c.id).await) });
    for (c, r) in futures_util::future::join_all(removals).await {
        if let Err(e) = r {
            errors.push(format!("container {}: {e}", c.name));
        }
    }
    for n in &found.networks {
        if let Err(e) = client.remove_network(&n.id).await {
            errors.push(format!("network {}: {e}", n.name));
        }
    }
    for i in &found.images {
        let opts = RemoveImageOptionsBuilder::default().force(true).build();
        if let Err(e) = client.raw().remove_image(&i.id, Some(opts), None).await {
            errors.push(format!("image {}: {e}", i.name));
        }
    }
    errors
}
