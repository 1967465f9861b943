//! Pools: the indexes of the hosts that pass a request's *static* checks.
//!
//! A request's OS, architecture and attribute-only `memberOf` expressions decide, once and for
//! all, which hosts it could ever use. Hosts that pass them form a pool, and every index a
//! strategy walks lives inside the pool, so a walk never steps over hosts ruled out by a
//! constraint (with a `memberOf` matching a quarter of the hosts, three quarters of a global
//! index would be skipped on every placement). Requests with the same static checks share a
//! pool; there are only as many pools as distinct (OS, architecture, expressions) seen.
//!
//! Inside a pool only *eligible* hosts are indexed: agent connected and able to fit the smallest
//! demand seen so far (see `Placer`'s floor). Exhausted hosts leave every index, so a walk never
//! wades through hosts whose CPU is gone but whose memory is not (performance.md §1.7).

use std::collections::BTreeSet;

use super::fasthash::FastMap;
use super::Demand;

/// The values one attribute takes, by host class (hosts with equal attributes).
#[derive(Debug)]
pub(super) struct AttrValues {
    /// Index into `values` for each class.
    pub value_of_class: Vec<u32>,
    /// `None` is the value of hosts without the attribute.
    pub values: Vec<Option<String>>,
}

/// What a pool needs to know about a host to (un)index it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Keys {
    pub host: u32,
    pub cpu: u32,
    pub mem: u32,
    pub class: u32,
}

/// The eligible hosts of each value of one attribute, for spread(attribute:X).
#[derive(Debug)]
pub(super) struct PoolPart {
    pub mem: Vec<BTreeSet<(u32, u32)>>,
    pub cpu: Vec<BTreeSet<(u32, u32)>>,
    pub ids: Vec<BTreeSet<u32>>,
}

/// A demand no eligible host of a pool could fit, remembered until a host of the pool gets
/// something back. Placing only takes from hosts (resources, ports, GPUs, a group's hosts for
/// distinctInstance), so until then every demand at least as strict fails too.
#[derive(Debug, Clone)]
pub(super) struct FullDemand {
    pub cpu: u32,
    pub mem: u32,
    pub gpus: u32,
    pub tcp: Vec<u16>,
    pub udp: Vec<u16>,
    /// The group of a distinctInstance request.
    pub distinct: Option<u32>,
}

impl FullDemand {
    /// Whether a request for `d` (distinct within `distinct`) is at least as strict as this.
    pub fn covers(&self, d: &Demand, distinct: Option<u32>) -> bool {
        d.cpu_units >= self.cpu
            && d.memory_mib >= self.mem
            && d.gpus >= self.gpus
            && self.tcp.iter().all(|p| d.tcp_ports.contains(p))
            && self.udp.iter().all(|p| d.udp_ports.contains(p))
            && (self.distinct.is_none() || self.distinct == distinct)
    }

    /// Whether every request `other` covers is covered by `self` too (so `other` is redundant).
    pub fn covers_entry(&self, other: &FullDemand) -> bool {
        other.cpu >= self.cpu
            && other.mem >= self.mem
            && other.gpus >= self.gpus
            && self.tcp.iter().all(|p| other.tcp.contains(p))
            && self.udp.iter().all(|p| other.udp.contains(p))
            && (self.distinct.is_none() || self.distinct == other.distinct)
    }
}

#[derive(Debug, Default)]
pub(super) struct Pool {
    /// Every host that passes the static checks, eligible or not, by id.
    pub members: Vec<u32>,
    /// Eligible members by (remaining memory, id) and (remaining CPU, id), for binpack.
    pub mem: BTreeSet<(u32, u32)>,
    pub cpu: BTreeSet<(u32, u32)>,
    /// Whether `mem` / `cpu` are kept: each is built the first time a request of this pool
    /// leads with binpack on that resource (`Placer::ensure_binpack`). An index nobody reads
    /// would still cost a remove and an insert on every placement and release.
    pub by_mem: bool,
    pub by_cpu: bool,
    /// Eligible members by id, and as a vector for uniform sampling.
    pub sample: Vec<u32>,
    sample_pos: FastMap<u32, u32>,
    /// Per spread attribute.
    pub parts: FastMap<String, PoolPart>,
    /// Per task group using spread(instanceId): eligible members by (tasks of the group, id).
    pub spread: FastMap<u32, BTreeSet<(u32, u32)>>,
    /// Demands known to fit no eligible member (see [`FullDemand`]); cleared whenever a member
    /// gets resources back, reconnects, or the eligibility floor moves.
    pub full: Vec<FullDemand>,
}

impl Pool {
    pub fn new(members: Vec<u32>) -> Pool {
        Pool { members, ..Pool::default() }
    }

    /// Takes out the resource-keyed entries of an eligible host (before its resources change).
    pub fn detach_resources(&mut self, k: Keys, attrs: &FastMap<String, AttrValues>) {
        if self.by_mem {
            self.mem.remove(&(k.mem, k.host));
        }
        if self.by_cpu {
            self.cpu.remove(&(k.cpu, k.host));
        }
        for (a, part) in self.parts.iter_mut() {
            let v = attrs[a].value_of_class[k.class as usize] as usize;
            part.mem[v].remove(&(k.mem, k.host));
            part.cpu[v].remove(&(k.cpu, k.host));
        }
    }

    /// Puts back the resource-keyed entries of an eligible host.
    pub fn attach_resources(&mut self, k: Keys, attrs: &FastMap<String, AttrValues>) {
        if self.by_mem {
            self.mem.insert((k.mem, k.host));
        }
        if self.by_cpu {
            self.cpu.insert((k.cpu, k.host));
        }
        for (a, part) in self.parts.iter_mut() {
            let v = attrs[a].value_of_class[k.class as usize] as usize;
            part.mem[v].insert((k.mem, k.host));
            part.cpu[v].insert((k.cpu, k.host));
        }
    }

    /// A host becomes eligible: it joins the id-keyed and group-keyed indexes.
    pub fn enter(
        &mut self,
        k: Keys,
        attrs: &FastMap<String, AttrValues>,
        group_count: impl Fn(u32) -> u32,
    ) {
        self.sample_pos.insert(k.host, self.sample.len() as u32);
        self.sample.push(k.host);
        for (a, part) in self.parts.iter_mut() {
            let v = attrs[a].value_of_class[k.class as usize] as usize;
            part.ids[v].insert(k.host);
        }
        for (g, set) in self.spread.iter_mut() {
            set.insert((group_count(*g), k.host));
        }
    }

    /// A host stops being eligible.
    pub fn leave(
        &mut self,
        k: Keys,
        attrs: &FastMap<String, AttrValues>,
        group_count: impl Fn(u32) -> u32,
    ) {
        if let Some(pos) = self.sample_pos.remove(&k.host) {
            let last = *self.sample.last().expect("sampled host is in the vector");
            self.sample.swap_remove(pos as usize);
            if last != k.host {
                self.sample_pos.insert(last, pos);
            }
        }
        for (a, part) in self.parts.iter_mut() {
            let v = attrs[a].value_of_class[k.class as usize] as usize;
            part.ids[v].remove(&k.host);
        }
        for (g, set) in self.spread.iter_mut() {
            set.remove(&(group_count(*g), k.host));
        }
    }

    /// An eligible host's count of group `g` changed.
    pub fn bump_group(&mut self, g: u32, host: u32, old: u32, new: u32) {
        if let Some(set) = self.spread.get_mut(&g) {
            set.remove(&(old, host));
            set.insert((new, host));
        }
    }
}
