//! Cost accounting from the engine's event stream, one mode at a time.
//!
//! Incremental and bounded: per live task a few numbers, per host a few counters, per task
//! family an aggregate; nothing per finished task. Costs are integrated over intervals: during
//! the run only integers are summed (reserved CPU-milliseconds per family and host group,
//! billed Fargate seconds per family and size); exact decimal money is computed once at the end
//! with the pricing module's billing functions. Because every charge is linear in the billed
//! seconds, pricing the per-family sum equals summing per-task charges (tested).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::series::{Bar, Histogram, Integral, Level, BUCKETS, MAX_BARS, MAX_HOST_LANES};
use super::*;
use crate::cluster::Cluster;
use crate::engine::{DesiredStatus, Engine, Event, Mode, Output, StopCode, TaskId, TaskStatus};
use crate::pricing::Catalog;
use crate::taskdef::fargate::FargateSize;
use crate::taskdef::model::{CpuArch, OsFamily};
use crate::time::{SimDuration, SimTime};

/// Live tasks by slab slot (the low half of a [`TaskId`]): O(1) lookups, O(live) memory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LiveTable {
    slots: Vec<Option<(TaskId, Live)>>,
}

impl LiveTable {
    fn slot(id: TaskId) -> usize {
        (id.0 & 0xFFFF_FFFF) as usize
    }
    fn get_mut(&mut self, id: &TaskId) -> Option<&mut Live> {
        match self.slots.get_mut(Self::slot(*id)) {
            Some(Some((t, l))) if t == id => Some(l),
            _ => None,
        }
    }
    fn prefetch(&self, id: TaskId) {
        if let Some(e) = self.slots.get(Self::slot(id)) {
            crate::engine::table::prefetch_bytes(
                e as *const Option<(TaskId, Live)> as *const u8,
                std::mem::size_of::<Option<(TaskId, Live)>>(),
            );
        }
    }
    fn contains_key(&self, id: &TaskId) -> bool {
        matches!(self.slots.get(Self::slot(*id)), Some(Some((t, _))) if t == id)
    }
    fn insert(&mut self, id: TaskId, l: Live) {
        let s = Self::slot(id);
        if s >= self.slots.len() {
            self.slots.resize(s + 1, None);
        }
        self.slots[s] = Some((id, l));
    }
    fn remove(&mut self, id: &TaskId) -> Option<Live> {
        let s = Self::slot(*id);
        match self.slots.get(s) {
            Some(Some((t, _))) if t == id => self.slots[s].take().map(|(_, l)| l),
            _ => None,
        }
    }
    /// Takes every entry out, in id order.
    fn drain_sorted(&mut self) -> Vec<(TaskId, Live)> {
        let mut v: Vec<(TaskId, Live)> = self.slots.iter_mut().filter_map(Option::take).collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }
}

/// What the accounting remembers about a live task.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Live {
    family: u32,
    created: u64,
    /// ECS: host and when it was placed; Fargate: slot lane and meter start.
    lane: Option<u32>,
    group: u32,
    since: Option<u64>,
    cpu: u32,
    mem: u32,
    waiting: bool,
    running_since: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FamilyAcc {
    name: String,
    counts: TaskCounts,
    running_ms: u128,
    /// ECS: requested cpu/memory (as in the task definition), for the report.
    cpu_units: u32,
    memory_mib: u32,
}

/// Fargate aggregate key: family, size, platform, ephemeral storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct FargateKey {
    family: u32,
    cpu: u32,
    mem: u32,
    os: OsFamily,
    arch: CpuArch,
    storage_gib: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FargateAcc {
    tasks: u64,
    billed_secs: u64,
    /// The task definition's own cpu/memory (before rounding up to a Fargate size).
    requested_cpu: u32,
    requested_mem: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HostAcc {
    cpu: u32,
    mem: u32,
    cpu_ms: u128,
    mem_ms: u128,
    since: u64,
}

/// Prices and platform data that are configuration, not state (not saved in snapshots).
#[derive(Debug, Clone)]
pub struct PriceContext {
    pub cluster: Arc<Cluster>,
    pub catalog: Arc<Catalog>,
}

/// The running totals of one mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accounting {
    mode: Mode,
    duration_ms: u64,
    bucket_ms: u64,
    families: Vec<FamilyAcc>,
    family_index: BTreeMap<String, u32>,
    def_family: Vec<u32>,
    live: LiveTable,
    hosts: Vec<HostAcc>,
    /// (family, host group) → (cpu-ms, memory-ms) reserved.
    #[serde(with = "crate::engine::pairs")]
    alloc: BTreeMap<(u32, u32), (u128, u128)>,
    /// Per-lane CPU reservation level (hosts, or host groups on large clusters).
    lane_cpu: Vec<Level>,
    lane_mem: Vec<Level>,
    /// Reserved cpu/memory per host group, and hosts per group (for group lanes).
    group_cpu: Vec<u64>,
    group_mem: Vec<u64>,
    group_hosts: Vec<u64>,
    #[serde(with = "crate::engine::pairs")]
    fargate: BTreeMap<FargateKey, FargateAcc>,
    /// Fargate cost spread over each task's billed interval, for the cumulative cost chart.
    fargate_cost: Integral,
    free_lanes: BinaryHeap<Reverse<u32>>,
    next_lane: u32,
    running: Level,
    waiting: Level,
    wait: Histogram,
    counts: TaskCounts,
    bars: Vec<Bar>,
    bars_dropped: u64,
    /// Tasks still waiting at the end (set by `finish`).
    #[serde(default)]
    still_waiting: u64,
    #[serde(skip)]
    rates: BTreeMap<(OsFamily, CpuArch), Option<RateCache>>,
}

#[derive(Debug, Clone)]
struct RateCache {
    min_secs: u64,
    vcpu_hour: f64,
    gb_hour: f64,
}

impl Accounting {
    pub fn new(mode: Mode, cluster: &Cluster, duration: SimDuration) -> Self {
        let duration_ms = duration.0.max(1);
        let bucket_ms = duration_ms.div_ceil(BUCKETS as u64).max(1);
        let lanes = if cluster.hosts.len() <= MAX_HOST_LANES {
            cluster.hosts.len()
        } else {
            cluster.hosts.iter().map(|h| h.group + 1).max().unwrap_or(0)
        };
        let groups = cluster.hosts.iter().map(|h| h.group + 1).max().unwrap_or(0);
        let mut group_hosts = vec![0u64; groups];
        for h in &cluster.hosts {
            group_hosts[h.group] += 1;
        }
        Accounting {
            group_cpu: vec![0; groups],
            group_mem: vec![0; groups],
            group_hosts,
            mode,
            duration_ms,
            bucket_ms,
            families: Vec::new(),
            family_index: BTreeMap::new(),
            def_family: Vec::new(),
            live: LiveTable::default(),
            hosts: cluster
                .hosts
                .iter()
                .map(|_| HostAcc { cpu: 0, mem: 0, cpu_ms: 0, mem_ms: 0, since: 0 })
                .collect(),
            alloc: BTreeMap::new(),
            lane_cpu: if mode == Mode::Ecs { vec![Level::default(); lanes] } else { Vec::new() },
            lane_mem: if mode == Mode::Ecs { vec![Level::default(); lanes] } else { Vec::new() },
            fargate: BTreeMap::new(),
            fargate_cost: Integral::new(),
            free_lanes: BinaryHeap::new(),
            next_lane: 0,
            running: Level::default(),
            waiting: Level::default(),
            wait: Histogram::default(),
            counts: TaskCounts::default(),
            bars: Vec::new(),
            bars_dropped: 0,
            still_waiting: 0,
            rates: BTreeMap::new(),
        }
    }

    fn family_of(&mut self, engine: &Engine, def: crate::engine::DefId) -> u32 {
        let d = def.0 as usize;
        if d < self.def_family.len() {
            return self.def_family[d];
        }
        while self.def_family.len() <= d {
            let entry = engine.def(crate::engine::DefId(self.def_family.len() as u32));
            let name = entry.family().to_string();
            let next = self.families.len() as u32;
            let idx = *self.family_index.entry(name.clone()).or_insert(next);
            if idx == next {
                self.families.push(FamilyAcc {
                    name,
                    cpu_units: entry.demand.cpu_units,
                    memory_mib: entry.demand.memory_mib,
                    ..FamilyAcc::default()
                });
            }
            self.def_family.push(idx);
        }
        self.def_family[d]
    }

    fn lane_of_host(&self, engine: &Engine, host: u32) -> usize {
        if engine.hosts().len() <= MAX_HOST_LANES {
            host as usize
        } else {
            engine.hosts()[host as usize].group
        }
    }

    fn rate(&mut self, px: &PriceContext, os: OsFamily, arch: CpuArch) -> Option<&RateCache> {
        self.rates
            .entry((os, arch))
            .or_insert_with(|| {
                let rate = px
                    .catalog
                    .fargate_rate(&px.cluster.region, os, arch, px.cluster.fargate.spot)
                    .ok()?;
                let min_secs = rate
                    .charge(FargateSize { cpu_units: 1024, memory_mib: 1024 }, SimDuration::ZERO, 0)
                    .billed_seconds;
                let vcpu_hour = (rate.usd_per_vcpu_hour + rate.os_license_usd_per_vcpu_hour)
                    .to_f64()
                    .unwrap_or(0.0);
                let gb_hour = rate.usd_per_gb_hour.to_f64().unwrap_or(0.0);
                Some(RateCache { min_secs, vcpu_hour, gb_hour })
            })
            .as_ref()
    }

    /// A hint that events about `task` are coming: starts loading its entry into the CPU
    /// cache. Changes nothing.
    pub fn prefetch(&self, task: TaskId) {
        self.live.prefetch(task);
    }

    /// Takes in the events of one engine call.
    pub fn observe(&mut self, engine: &Engine, out: &Output, px: &PriceContext) {
        let now = out.at.0.min(self.duration_ms);
        let bm = self.bucket_ms;
        for ev in &out.events {
            match *ev {
                Event::TaskStateChanged { task, last, desired } => {
                    self.state_changed(engine, now, task, last, desired)
                }
                Event::TaskPlaced { task, host } => {
                    let Some(l) = self.live.get_mut(&task) else { continue };
                    let Some(t) = engine.task(task) else { continue };
                    let d = &engine.placement_request(t).demand;
                    l.cpu = d.cpu_units;
                    l.mem = d.memory_mib;
                    l.lane = Some(host.0);
                    l.group = engine.hosts()[host.0 as usize].group as u32;
                    l.since = Some(now);
                    if l.waiting {
                        l.waiting = false;
                        self.waiting.add(bm, now, -1.0);
                        self.wait.record(now - l.created);
                    }
                    let (cpu, mem) = (l.cpu, l.mem);
                    let h = &mut self.hosts[host.0 as usize];
                    h.cpu_ms += h.cpu as u128 * (now - h.since) as u128;
                    h.mem_ms += h.mem as u128 * (now - h.since) as u128;
                    h.since = now;
                    h.cpu += cpu;
                    h.mem += mem;
                    let g = engine.hosts()[host.0 as usize].group;
                    self.group_cpu[g] += cpu as u64;
                    self.group_mem[g] += mem as u64;
                    self.lane_levels(engine, host.0, now);
                }
                Event::ResourcesReleased { task, host } => {
                    let Some(l) = self.live.get_mut(&task) else { continue };
                    let Some(since) = l.since.take() else { continue };
                    let (cpu, mem) = (l.cpu, l.mem);
                    let key = (l.family, l.group);
                    let ms = (now - since) as u128;
                    let a = self.alloc.entry(key).or_default();
                    a.0 += cpu as u128 * ms;
                    a.1 += mem as u128 * ms;
                    let h = &mut self.hosts[host.0 as usize];
                    h.cpu_ms += h.cpu as u128 * (now - h.since) as u128;
                    h.mem_ms += h.mem as u128 * (now - h.since) as u128;
                    h.since = now;
                    h.cpu -= cpu;
                    h.mem -= mem;
                    let g = engine.hosts()[host.0 as usize].group;
                    self.group_cpu[g] -= cpu as u64;
                    self.group_mem[g] -= mem as u64;
                    self.lane_levels(engine, host.0, now);
                    let outcome = outcome_of(engine, task);
                    self.bar(host.0, key.0, since, now, outcome);
                }
                Event::BillingStarted { task } => {
                    let lane = match self.free_lanes.pop() {
                        Some(Reverse(l)) => l,
                        None => {
                            self.next_lane += 1;
                            self.next_lane - 1
                        }
                    };
                    if let Some(l) = self.live.get_mut(&task) {
                        l.since = Some(now);
                        l.lane = Some(lane);
                    }
                }
                Event::BillingStopped { task } => self.bill(engine, px, now, task),
                Event::ContainerStateChanged { .. }
                | Event::PlacementFailed { .. }
                | Event::ServiceEvent { .. } => {}
            }
        }
    }

    fn lane_levels(&mut self, engine: &Engine, host: u32, now: u64) {
        let lane = self.lane_of_host(engine, host);
        let bm = self.bucket_ms;
        let h = &engine.hosts()[host as usize];
        let reserved = engine.cluster().ecs.reserved_memory_mib;
        let (cpu, mem, members) = if engine.hosts().len() <= MAX_HOST_LANES {
            let a = &self.hosts[host as usize];
            (a.cpu as u64, a.mem as u64, 1)
        } else {
            (self.group_cpu[h.group], self.group_mem[h.group], self.group_hosts[h.group])
        };
        let cap_cpu = h.registered_cpu_units() as u64 * members;
        let cap_mem = h.memory_mib.saturating_sub(reserved) as u64 * members;
        let fc = if cap_cpu == 0 { 0.0 } else { cpu as f64 / cap_cpu as f64 };
        let fm = if cap_mem == 0 { 0.0 } else { mem as f64 / cap_mem as f64 };
        self.lane_cpu[lane].set(bm, now, fc);
        self.lane_mem[lane].set(bm, now, fm);
    }

    fn state_changed(
        &mut self,
        engine: &Engine,
        now: u64,
        id: TaskId,
        last: TaskStatus,
        desired: DesiredStatus,
    ) {
        let bm = self.bucket_ms;
        match last {
            TaskStatus::Provisioning if desired == DesiredStatus::Running => {
                if self.live.contains_key(&id) {
                    return;
                }
                let Some(t) = engine.task(id) else { return };
                let family = self.family_of(engine, t.def);
                self.counts.launched += 1;
                self.families[family as usize].counts.launched += 1;
                self.live.insert(
                    id,
                    Live {
                        family,
                        created: now,
                        lane: None,
                        group: 0,
                        since: None,
                        cpu: 0,
                        mem: 0,
                        waiting: true,
                        running_since: None,
                    },
                );
                self.waiting.add(bm, now, 1.0);
            }
            TaskStatus::Pending => {
                // Fargate: the slot is ready; ECS: already counted at placement.
                if let Some(l) = self.live.get_mut(&id) {
                    if l.waiting {
                        l.waiting = false;
                        self.waiting.add(bm, now, -1.0);
                        self.wait.record(now - l.created);
                    }
                }
            }
            TaskStatus::Running => {
                if let Some(l) = self.live.get_mut(&id) {
                    if l.running_since.is_none() {
                        l.running_since = Some(now);
                        self.running.add(bm, now, 1.0);
                    }
                }
            }
            TaskStatus::Stopping | TaskStatus::Deprovisioning | TaskStatus::Stopped => {
                let Some(l) = self.live.get_mut(&id) else { return };
                if let Some(rs) = l.running_since.take() {
                    self.running.add(bm, now, -1.0);
                    self.families[l.family as usize].running_ms += (now - rs) as u128;
                }
                if last == TaskStatus::Stopped {
                    let l = self.live.remove(&id).expect("present");
                    if l.waiting {
                        // Stopped before it ever got capacity (scale-in, StopTask): it waited
                        // all its life, which the wait statistics must show.
                        self.waiting.add(bm, now, -1.0);
                        self.wait.record(now - l.created);
                        self.counts.stopped_while_waiting += 1;
                    }
                    let outcome = outcome_of(engine, id);
                    let fc = &mut self.families[l.family as usize].counts;
                    for c in [&mut self.counts, fc] {
                        match outcome {
                            "completed" => c.completed += 1,
                            "failed" => {
                                c.failed += 1;
                                if engine.task(id).is_some_and(|t| !t.ever_ran()) {
                                    c.failed_to_start += 1;
                                }
                            }
                            _ => c.stopped += 1,
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn bill(&mut self, engine: &Engine, px: &PriceContext, now: u64, task: TaskId) {
        let Some(l) = self.live.get_mut(&task) else { return };
        let Some(since) = l.since.take() else { return };
        let lane = l.lane.take();
        let family = l.family;
        let Some(t) = engine.task(task) else { return };
        let Some(size) = t.fargate_size else { return };
        let entry = engine.def(t.def);
        let (os, arch) = (entry.def.runtime_platform.os, entry.def.runtime_platform.arch);
        let storage_gib = match &entry.fargate {
            Ok(slot) => slot.ephemeral_gib,
            Err(_) => entry.def.ephemeral_storage_gib.unwrap_or(20),
        };
        // What the task asks Fargate for (not its EC2 placement demand, which counts soft
        // limits): the rounding cost and the report's "asked" column use it.
        let (req_cpu, req_mem) = match &entry.fargate {
            Ok(crate::engine::FargateSlot { asked: Some(a), .. }) => (a.cpu_units, a.memory_mib),
            _ => (entry.demand.cpu_units, entry.demand.memory_mib),
        };
        let outcome = outcome_of(engine, task);
        let bm = self.bucket_ms;
        let ran = SimDuration(now - since);
        let (min_secs, vcpu_hour, gb_hour) = match self.rate(px, os, arch) {
            Some(r) => (r.min_secs, r.vcpu_hour, r.gb_hour),
            None => (0, 0.0, 0.0),
        };
        let billed = ran.as_secs_ceil().max(min_secs);
        let acc = self
            .fargate
            .entry(FargateKey {
                family,
                cpu: size.cpu_units,
                mem: size.memory_mib,
                os,
                arch,
                storage_gib,
            })
            .or_insert_with(|| FargateAcc {
                requested_cpu: req_cpu,
                requested_mem: req_mem,
                ..FargateAcc::default()
            });
        acc.tasks += 1;
        acc.billed_secs += billed;
        let usd_f = (size.cpu_units as f64 / 1024.0 * vcpu_hour
            + size.memory_mib as f64 / 1024.0 * gb_hour)
            * billed as f64
            / 3600.0;
        self.fargate_cost.spread(bm, since, (since + billed * 1000).min(self.duration_ms), usd_f);
        if let Some(lane) = lane {
            self.free_lanes.push(Reverse(lane));
            self.bar(lane, family, since, now, outcome);
        }
    }

    fn bar(&mut self, lane: u32, family: u32, start: u64, end: u64, outcome: &str) {
        if self.bars.len() < MAX_BARS {
            self.bars.push(Bar {
                lane,
                family,
                start_ms: start,
                end_ms: end,
                outcome: outcome.into(),
            });
        } else {
            self.bars_dropped += 1;
        }
    }

    /// Ends the scenario early, at `at` (an interrupted `berth run`): later events count as
    /// happening at `at`, and [`Accounting::finish`] closes what is open there, so ECS hosts
    /// and Fargate tasks are both billed to `at`. Never extends the scenario.
    pub fn end_at(&mut self, at: SimTime) {
        self.duration_ms = self.duration_ms.min(at.0.max(1));
    }

    /// Closes every open interval at the end of the scenario and prices the run.
    pub fn finish(mut self, engine: &Engine, px: &PriceContext) -> ModeReport {
        let end = self.duration_ms;
        let bm = self.bucket_ms;
        // Tasks still running at the end: their intervals end with the scenario.
        let open = self.live.drain_sorted();
        for (id, l) in &open {
            if let Some(rs) = l.running_since {
                self.families[l.family as usize].running_ms += (end - rs) as u128;
            }
            let fc = &mut self.families[l.family as usize].counts;
            if l.waiting {
                // It waited until the end (and would have waited longer): the wait statistics
                // count it with that time, and say how many such tasks there are.
                self.counts.waiting_at_end += 1;
                fc.waiting_at_end += 1;
                self.wait.record(end - l.created);
                self.still_waiting += 1;
            } else {
                self.counts.running_at_end += 1;
                fc.running_at_end += 1;
            }
            if let Some(since) = l.since {
                match self.mode {
                    Mode::Ecs => {
                        let a = self.alloc.entry((l.family, l.group)).or_default();
                        a.0 += l.cpu as u128 * (end - since) as u128;
                        a.1 += l.mem as u128 * (end - since) as u128;
                        if let Some(h) = l.lane {
                            self.bar(h, l.family, since, end, "running");
                        }
                    }
                    Mode::Fargate => {
                        self.live.insert(*id, l.clone());
                        let out = Output {
                            at: SimTime(end),
                            events: vec![Event::BillingStopped { task: *id }],
                            ..Output::default()
                        };
                        self.observe(engine, &out, px);
                        self.live.remove(id);
                    }
                }
            }
        }
        for h in &mut self.hosts {
            h.cpu_ms += h.cpu as u128 * (end - h.since) as u128;
            h.mem_ms += h.mem as u128 * (end - h.since) as u128;
            h.since = end;
        }
        self.running.close(bm, end);
        self.waiting.close(bm, end);
        for l in self.lane_cpu.iter_mut().chain(self.lane_mem.iter_mut()) {
            l.close(bm, end);
        }
        super::build::build(self.into_parts(), engine, px)
    }

    fn into_parts(self) -> Parts {
        Parts {
            mode: self.mode,
            duration_ms: self.duration_ms,
            bucket_ms: self.bucket_ms,
            families: self
                .families
                .into_iter()
                .map(|f| FamilyParts {
                    name: f.name,
                    counts: f.counts,
                    running_ms: f.running_ms,
                    cpu_units: f.cpu_units,
                    memory_mib: f.memory_mib,
                })
                .collect(),
            hosts: self.hosts.iter().map(|h| (h.cpu_ms, h.mem_ms)).collect(),
            alloc: self.alloc,
            lane_cpu: self.lane_cpu.into_iter().map(|l| l.integral).collect(),
            lane_mem: self.lane_mem.into_iter().map(|l| l.integral).collect(),
            fargate: self
                .fargate
                .into_iter()
                .map(|(k, a)| FargateParts {
                    family: k.family,
                    size: FargateSize { cpu_units: k.cpu, memory_mib: k.mem },
                    os: k.os,
                    arch: k.arch,
                    storage_gib: k.storage_gib,
                    tasks: a.tasks,
                    billed_secs: a.billed_secs,
                    requested_cpu: a.requested_cpu,
                    requested_mem: a.requested_mem,
                })
                .collect(),
            fargate_cost: self.fargate_cost,
            running: self.running.integral,
            waiting: self.waiting.integral,
            wait: self.wait,
            counts: self.counts,
            bars: self.bars,
            bars_dropped: self.bars_dropped,
            still_waiting: self.still_waiting,
        }
    }
}

/// `completed`, `failed` or `stopped`, from the task's stop code and exit codes.
fn outcome_of(engine: &Engine, id: TaskId) -> &'static str {
    let Some(t) = engine.task(id) else { return "stopped" };
    let entry = engine.def(t.def);
    if t.failed(|i| entry.containers[i].essential) {
        "failed"
    } else if t.stop_code == Some(StopCode::EssentialContainerExited) {
        "completed"
    } else if t.desired_status == DesiredStatus::Running {
        "running"
    } else {
        "stopped"
    }
}

/// Everything [`super::build`] needs to price a finished mode.
pub(super) struct Parts {
    pub mode: Mode,
    pub duration_ms: u64,
    pub bucket_ms: u64,
    pub families: Vec<FamilyParts>,
    pub hosts: Vec<(u128, u128)>,
    pub alloc: BTreeMap<(u32, u32), (u128, u128)>,
    pub lane_cpu: Vec<Integral>,
    pub lane_mem: Vec<Integral>,
    pub fargate: Vec<FargateParts>,
    pub fargate_cost: Integral,
    pub running: Integral,
    pub waiting: Integral,
    pub wait: Histogram,
    pub counts: TaskCounts,
    pub bars: Vec<Bar>,
    pub bars_dropped: u64,
    pub still_waiting: u64,
}

pub(super) struct FamilyParts {
    pub name: String,
    pub counts: TaskCounts,
    pub running_ms: u128,
    pub cpu_units: u32,
    pub memory_mib: u32,
}

pub(super) struct FargateParts {
    pub family: u32,
    pub size: FargateSize,
    pub os: OsFamily,
    pub arch: CpuArch,
    pub storage_gib: u32,
    pub tasks: u64,
    pub billed_secs: u64,
    pub requested_cpu: u32,
    pub requested_mem: u32,
}

/// The EC2 charge of one host up for the whole scenario.
pub(super) fn host_charge(px: &PriceContext, usd_per_hour: Usd, up: SimDuration) -> Usd {
    px.catalog.ec2_charge(usd_per_hour, up)
}
