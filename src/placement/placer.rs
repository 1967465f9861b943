//! The placer: per-host bookkeeping, the indexes that make a placement cheap, and ECS's pipeline
//! (resources and ports → constraints → strategies chained in order → pick).
//!
//! # Semantics
//! Among the hosts that pass every check, the strategies are applied in order, each keeping the
//! hosts that are best for it among those the previous ones kept:
//! - `binpack(cpu|memory)`: least remaining of that resource;
//! - `spread(instanceId)`: fewest tasks of the request's group on the host;
//! - `spread(attribute:X)`: fewest tasks of the group on hosts sharing the host's value of X
//!   (hosts without X form one more value);
//! - `random`: one of the remaining hosts, uniformly, from the RNG passed in.
//!
//! Hosts still tied at the end are decided by the lowest host id, so that every strategy but
//! `random` is deterministic. This is exactly a lexicographic minimum of (key₁, key₂, …, id),
//! which is what [`Placer::place_scan`] computes by looking at every host; [`Placer::place`]
//! computes the same answer from indexes.
//!
//! # Indexes
//! - `memberOf` expressions are compiled once. One that only reads attributes is evaluated once
//!   per *class* of hosts (hosts with equal attributes), one that reads `ec2InstanceId` once per
//!   host; only `task:group` / `runningTasksCount` / `agentConnected` are evaluated per check.
//! - The hosts that pass a request's static checks (OS, architecture, static expressions) form
//!   a [`Pool`]; every index a strategy walks lives in the pool: `(remaining, host)` sets for
//!   binpack, per value of a spread attribute the same plus the hosts by id, per group using
//!   `spread(instanceId)` the `(tasks of the group, host)` set, and an array for sampling.
//! - Only *eligible* hosts are indexed: agent connected and able to fit the smallest demand seen
//!   so far (the floor). Exhausted hosts leave the indexes, so a walk never wades through hosts
//!   whose CPU is gone but whose memory is not (performance.md §1.7's pitfall). The floor only
//!   goes down, in power-of-two steps, so indexes are rebuilt a few times at most.
//! - Per group, the task count of each value of each spread attribute.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::fasthash::FastMap;

use rand::Rng;

use super::pool::{AttrValues, FullDemand, Keys, Pool, PoolPart};
use super::query::{Expr, HostFacts, QueryError};
use super::{
    BinpackField, ConstraintSpec, Demand, FailureReason, HostId, PlacementFailure,
    PlacementRequest, SpreadField, StrategyRule,
};
use crate::cluster::{Cluster, HostSpec};
use crate::taskdef::model::{CpuArch, OsFamily};

/// Ports the ECS agent reserves on every Linux host (`ECS_RESERVED_PORTS`).
pub const DEFAULT_RESERVED_TCP_PORTS: [u16; 5] = [22, 2375, 2376, 51678, 51679];

/// What a host has left, for reports and the live view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUsage {
    pub id: HostId,
    pub registered_cpu_units: u32,
    pub registered_memory_mib: u32,
    pub remaining_cpu_units: u32,
    pub remaining_memory_mib: u32,
    pub running_tasks: u32,
    /// Static host ports in use by tasks (reserved ports not included).
    pub tcp_ports_in_use: Vec<u16>,
    pub udp_ports_in_use: Vec<u16>,
    pub agent_connected: bool,
}

#[derive(Debug, Clone)]
struct HostState {
    reg_cpu: u32,
    reg_mem: u32,
    cpu: u32,
    mem: u32,
    gpus: u32,
    /// Ports held: reserved ones and those of running tasks, sorted.
    tcp: Vec<u16>,
    udp: Vec<u16>,
    reserved_tcp: usize,
    running: u32,
    connected: bool,
    os: OsFamily,
    arch: CpuArch,
    class: u32,
    /// (group id, tasks of that group here), only groups with tasks.
    groups: Vec<(u32, u32)>,
    eligible: bool,
}

/// A compiled memberOf expression and its cached answers.
#[derive(Debug)]
struct Compiled {
    /// Interned id, for pool keys.
    id: u32,
    text: String,
    expr: Expr,
    cache: Cache,
}

#[derive(Debug)]
enum Cache {
    PerClass(Vec<bool>),
    PerHost(Vec<bool>),
    Dynamic,
}

#[derive(Debug, Default)]
struct Group {
    per_host: FastMap<u32, u32>,
    /// Tasks of the group per value of each spread attribute.
    value_counts: FastMap<String, Vec<u32>>,
}

/// What makes two requests share a pool: OS, architecture and up to four static expressions
/// (by interned id, `u32::MAX` for none). Further static expressions are still checked per host.
type PoolKey = (OsFamily, CpuArch, [u32; 4]);

/// The state of placement over one cluster.
#[derive(Debug)]
pub struct Placer {
    hosts: Vec<HostState>,
    instance_ids: Vec<String>,
    /// Attributes (built-in `ecs.*` and custom) of each host class.
    classes: Vec<BTreeMap<String, String>>,
    class_label: Vec<String>,
    /// One host of each class, to evaluate static expressions on.
    class_host: Vec<u32>,
    exprs: FastMap<String, Compiled>,
    group_ids: FastMap<String, u32>,
    /// The last group `group_id` answered and its id (`u32::MAX`: none yet). Placing and
    /// releasing a task each look its group up two or three times, and runs of tasks of one
    /// group are the common case: comparing a short string is cheaper than hashing it.
    last_group: (String, u32),
    group_names: Vec<String>,
    groups: Vec<Group>,
    attrs: FastMap<String, AttrValues>,
    pools: Vec<Pool>,
    pool_ids: FastMap<PoolKey, u32>,
    /// The pools each host belongs to.
    host_pools: Vec<Vec<u32>>,
    floor_cpu: u32,
    floor_mem: u32,
    default_strategy: Vec<StrategyRule>,
    /// Whether pools remember the demands they had no room for (`Pool::full`); off only in
    /// tests that check the memo changes no decision.
    failure_memo: bool,
    /// Host checks made so far, for tests that bound the work a placement does.
    #[cfg(test)]
    checks: std::cell::Cell<u64>,
}

const RANDOM_ONLY: &[StrategyRule] = &[StrategyRule::Random];

/// A task that fits no host right now. Saying why costs a look at every host, so
/// [`Placer::place`] leaves that to [`Placer::explain`], which callers that show the reason
/// call at once (before the placer changes); a failure nobody reads is as cheap as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Unplaced;

/// How many known-unplaceable demands a pool remembers (the oldest is forgotten first).
const FULL_MEMO: usize = 16;

/// Why one host was passed over, in ECS's pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Check {
    Platform,
    Agent,
    Cpu,
    Memory,
    Ports,
    Gpu,
    DistinctInstance,
    MemberOf(usize),
}

impl Check {
    fn stage(self) -> usize {
        match self {
            Check::Platform => 0,
            Check::Agent => 1,
            Check::Cpu => 2,
            Check::Memory => 3,
            Check::Ports => 4,
            Check::Gpu => 5,
            Check::DistinctInstance => 6,
            Check::MemberOf(i) => 7 + i,
        }
    }
}

/// A request's constraints, resolved against the compiled expressions.
struct Ctx<'a> {
    req: &'a PlacementRequest,
    pool: &'a Pool,
    group: Option<u32>,
    distinct: bool,
    member_of: Vec<&'a Compiled>,
}

struct View<'a> {
    p: &'a Placer,
    h: u32,
}

impl HostFacts for View<'_> {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.p.classes[self.p.hosts[self.h as usize].class as usize].get(name).map(String::as_str)
    }
    fn instance_id(&self) -> &str {
        &self.p.instance_ids[self.h as usize]
    }
    fn agent_connected(&self) -> bool {
        self.p.hosts[self.h as usize].connected
    }
    fn running_tasks_count(&self) -> u32 {
        self.p.hosts[self.h as usize].running
    }
    fn runs_group(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.p.hosts[self.h as usize]
            .groups
            .iter()
            .any(|&(g, n)| n > 0 && pred(&self.p.group_names[g as usize]))
    }
}

/// The built-in attributes ECS gives a container instance (ecs-semantics.md §3.1).
pub fn builtin_attributes(h: &HostSpec) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("ecs.instance-type".into(), h.instance_type.clone());
    m.insert("ecs.availability-zone".into(), h.zone.clone());
    m.insert(
        "ecs.os-type".into(),
        match h.os {
            OsFamily::Linux => "linux",
            OsFamily::Windows => "windows",
        }
        .into(),
    );
    m.insert(
        "ecs.os-family".into(),
        match h.os {
            OsFamily::Linux => "LINUX",
            OsFamily::Windows => "WINDOWS_SERVER_2022_CORE",
        }
        .into(),
    );
    m.insert(
        "ecs.cpu-architecture".into(),
        match h.arch {
            CpuArch::X86_64 => "x86_64",
            CpuArch::Arm64 => "arm64",
        }
        .into(),
    );
    m
}

impl Placer {
    /// A placer for `cluster`'s hosts, all connected and empty. Registered memory is the host's
    /// memory less `ecs.reserved_memory_mib`; registered CPU is vCPU × 1024.
    pub fn new(cluster: &Cluster) -> Placer {
        let mut class_ids: HashMap<BTreeMap<String, String>, u32> = HashMap::new();
        let mut classes = Vec::new();
        let mut class_label = Vec::new();
        let mut class_host = Vec::new();
        let mut hosts = Vec::with_capacity(cluster.hosts.len());
        let mut instance_ids = Vec::with_capacity(cluster.hosts.len());
        for (i, h) in cluster.hosts.iter().enumerate() {
            let mut attrs = builtin_attributes(h);
            for (k, v) in &h.attributes {
                attrs.insert(k.clone(), v.clone());
            }
            let next = classes.len() as u32;
            let class = *class_ids.entry(attrs.clone()).or_insert_with(|| {
                class_label.push(format!("{}, {}", h.instance_type, h.zone));
                class_host.push(i as u32);
                classes.push(attrs);
                next
            });
            let reg_mem = h.memory_mib.saturating_sub(cluster.ecs.reserved_memory_mib);
            let reg_cpu = h.registered_cpu_units();
            hosts.push(HostState {
                reg_cpu,
                reg_mem,
                cpu: reg_cpu,
                mem: reg_mem,
                gpus: h.gpus,
                tcp: DEFAULT_RESERVED_TCP_PORTS.to_vec(),
                udp: Vec::new(),
                reserved_tcp: DEFAULT_RESERVED_TCP_PORTS.len(),
                running: 0,
                connected: true,
                os: h.os,
                arch: h.arch,
                class,
                groups: Vec::new(),
                eligible: false,
            });
            instance_ids.push(h.instance_id.clone());
        }
        let n = hosts.len();
        Placer {
            hosts,
            instance_ids,
            classes,
            class_label,
            class_host,
            exprs: FastMap::default(),
            group_ids: FastMap::default(),
            last_group: (String::new(), u32::MAX),
            group_names: Vec::new(),
            groups: Vec::new(),
            attrs: FastMap::default(),
            pools: Vec::new(),
            pool_ids: FastMap::default(),
            host_pools: vec![Vec::new(); n],
            // Nothing is indexed until the first request sets the floor.
            floor_cpu: u32::MAX,
            floor_mem: u32::MAX,
            default_strategy: cluster.ecs.placement_strategy.clone(),
            failure_memo: true,
            #[cfg(test)]
            checks: std::cell::Cell::new(0),
        }
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Checks a memberOf expression and compiles it for later placements.
    pub fn compile(&mut self, expr: &str) -> Result<(), QueryError> {
        if self.exprs.contains_key(expr) {
            return Ok(());
        }
        let parsed = Expr::parse(expr)?;
        let cache = if parsed.is_static() {
            Cache::PerClass(
                (0..self.classes.len())
                    .map(|c| parsed.eval(&View { p: self, h: self.class_host[c] }))
                    .collect(),
            )
        } else if parsed.is_per_host_static() {
            Cache::PerHost(
                (0..self.hosts.len() as u32).map(|h| parsed.eval(&View { p: self, h })).collect(),
            )
        } else {
            Cache::Dynamic
        };
        let id = self.exprs.len() as u32;
        self.exprs
            .insert(expr.to_string(), Compiled { id, text: expr.to_string(), expr: parsed, cache });
        Ok(())
    }

    /// What a host has left.
    pub fn usage(&self, id: HostId) -> HostUsage {
        let h = &self.hosts[id.0 as usize];
        HostUsage {
            id,
            registered_cpu_units: h.reg_cpu,
            registered_memory_mib: h.reg_mem,
            remaining_cpu_units: h.cpu,
            remaining_memory_mib: h.mem,
            running_tasks: h.running,
            tcp_ports_in_use: h
                .tcp
                .iter()
                .copied()
                .filter(|p| !DEFAULT_RESERVED_TCP_PORTS.contains(p))
                .collect(),
            udp_ports_in_use: h.udp.clone(),
            agent_connected: h.connected,
        }
    }

    /// Every host's usage, in host order.
    pub fn usages(&self) -> impl Iterator<Item = HostUsage> + '_ {
        (0..self.hosts.len() as u32).map(|h| self.usage(HostId(h)))
    }

    /// Tasks of `group` on a host.
    pub fn group_count(&self, id: HostId, group: &str) -> u32 {
        self.group_ids
            .get(group)
            .and_then(|g| self.groups[*g as usize].per_host.get(&id.0).copied())
            .unwrap_or(0)
    }

    /// Marks a host's agent as connected or not; a disconnected host takes no new tasks
    /// (ECS's `AGENT` reason) but keeps the ones it runs.
    pub fn set_agent_connected(&mut self, id: HostId, connected: bool) {
        let h = id.0;
        self.forget_full(h);
        self.detach(h);
        self.hosts[h as usize].connected = connected;
        self.update_eligibility(h);
        self.attach(h);
    }

    // -----------------------------------------------------------------------------------------
    // Placing and releasing
    // -----------------------------------------------------------------------------------------

    /// Places one task: picks a host with ECS's pipeline and reserves the task's resources,
    /// ports and group membership on it. A failure is not explained (see [`Unplaced`]); an
    /// invalid memberOf expression is a failure too, and [`Placer::explain`] names it.
    ///
    /// A failure costs about what a success does: when a pool has no room for a demand, it
    /// remembers that until one of its hosts gets something back (see `Pool::full`), so the
    /// next task of that size or larger fails without walking the pool again.
    pub fn place<R: Rng + ?Sized>(
        &mut self,
        req: &PlacementRequest,
        rng: &mut R,
    ) -> Result<HostId, Unplaced> {
        let pool = self.prepare(req).map_err(|_| Unplaced)?;
        let (chosen, memo) = {
            let ctx = self.ctx(req, pool);
            let memo = self.memo_eligible(&ctx);
            if memo && self.known_full(&ctx) {
                self.draw_like_a_failed_pick(&ctx, rng);
                return Err(Unplaced);
            }
            (self.select_indexed(&ctx, rng), memo)
        };
        match chosen {
            Some(h) => {
                self.reserve(h, req);
                Ok(HostId(h))
            }
            None => {
                if memo {
                    self.remember_full(pool, req);
                }
                Err(Unplaced)
            }
        }
    }

    /// [`Placer::place`] with the failure explained: ECS's reason, the closest host and the
    /// counts per check, from a look at every host.
    pub fn place_explained<R: Rng + ?Sized>(
        &mut self,
        req: &PlacementRequest,
        rng: &mut R,
    ) -> Result<HostId, PlacementFailure> {
        match self.place(req, rng) {
            Ok(h) => Ok(h),
            Err(Unplaced) => Err(self.explain(req)),
        }
    }

    /// Why `req` fits no host in the placer's current state: ECS's reason for the host that
    /// got furthest through the pipeline, and how many hosts each check removed. Costs a look
    /// at every host; meant for a failure that is shown, right after [`Placer::place`].
    pub fn explain(&mut self, req: &PlacementRequest) -> PlacementFailure {
        match self.prepare(req) {
            Ok(pool) => self.explain_all(req, pool),
            Err(f) => f,
        }
    }

    /// [`Placer::place`] as an `Option`: for retry loops (tasks waiting for room) that only
    /// need to know whether it fits now.
    pub fn try_place<R: Rng + ?Sized>(
        &mut self,
        req: &PlacementRequest,
        rng: &mut R,
    ) -> Option<HostId> {
        self.place(req, rng).ok()
    }

    /// The same decision as [`Placer::place`] by checking every host (no indexes): the
    /// reference the indexed path is tested against, and the benchmark's baseline.
    pub fn place_scan<R: Rng + ?Sized>(
        &mut self,
        req: &PlacementRequest,
        rng: &mut R,
    ) -> Result<HostId, PlacementFailure> {
        let pool = self.prepare(req)?;
        let chosen = {
            let ctx = self.ctx(req, pool);
            let cands: Vec<u32> =
                (0..self.hosts.len() as u32).filter(|&h| self.check(h, &ctx).is_ok()).collect();
            self.refine(cands, self.rules(req), &ctx, rng)
        };
        match chosen {
            Some(h) => {
                self.reserve(h, req);
                Ok(HostId(h))
            }
            None => Err(self.explain_all(req, pool)),
        }
    }

    /// Places a task on one given host if it fits there (ECS's StartTask, or restoring state).
    pub fn place_on(&mut self, id: HostId, req: &PlacementRequest) -> Result<(), PlacementFailure> {
        let pool = self.prepare(req)?;
        let res = {
            let ctx = self.ctx(req, pool);
            self.check(id.0, &ctx)
        };
        match res {
            Ok(()) => {
                self.reserve(id.0, req);
                Ok(())
            }
            Err(_) => {
                let mut f = self.explain_hosts(req, &[id.0], pool);
                f.explanation =
                    format!("cannot place on {}: {}", self.host_label(id.0), f.explanation);
                Err(f)
            }
        }
    }

    /// Gives back what a task placed on `id` with `req` held (when it stops).
    pub fn release(&mut self, id: HostId, req: &PlacementRequest) {
        self.change(id.0, req, false);
    }

    /// The request's strategy, else the cluster's, else `random` (ECS's default for RunTask).
    fn rules<'r>(&'r self, req: &'r PlacementRequest) -> &'r [StrategyRule] {
        if !req.strategy.is_empty() {
            &req.strategy
        } else if !self.default_strategy.is_empty() {
            &self.default_strategy
        } else {
            RANDOM_ONLY
        }
    }

    /// Compiles the request's expressions, registers its group, lowers the floor if needed and
    /// builds the pool and the indexes its strategies use. Returns the pool.
    fn prepare(&mut self, req: &PlacementRequest) -> Result<u32, PlacementFailure> {
        let mut key_ids = [u32::MAX; 4];
        let mut n_static = 0;
        for c in &req.constraints {
            if let ConstraintSpec::MemberOf(e) = c {
                if let Err(err) = self.compile(e) {
                    return Err(PlacementFailure {
                        reason: FailureReason::MemberOf,
                        closest_host: None,
                        explanation: format!("invalid memberOf expression {e:?}: {err}"),
                    });
                }
                let c = &self.exprs[e];
                if !matches!(c.cache, Cache::Dynamic) && n_static < key_ids.len() {
                    key_ids[n_static] = c.id;
                    n_static += 1;
                }
            }
        }
        let gid = self.group_id(&req.group);
        let d = &req.demand;
        if d.cpu_units < self.floor_cpu || d.memory_mib < self.floor_mem {
            self.floor_cpu = self.floor_cpu.min(pow2_floor(d.cpu_units));
            self.floor_mem = self.floor_mem.min(pow2_floor(d.memory_mib));
            self.rebuild_indexes();
        }
        key_ids[..n_static].sort_unstable();
        let pool = self.ensure_pool((req.os, req.arch, key_ids));
        if let Some(&StrategyRule::Binpack(f)) = self.rules(req).first() {
            self.ensure_binpack(pool, f);
        }
        if !self.rules(req).iter().any(|r| matches!(r, StrategyRule::Spread(_))) {
            return Ok(pool);
        }
        for i in 0..self.rules(req).len() {
            // Clone a rule only when it still needs an index built (once per pool and group).
            let needed = match &self.rules(req)[i] {
                StrategyRule::Spread(SpreadField::InstanceId) => {
                    !self.pools[pool as usize].spread.contains_key(&gid)
                }
                StrategyRule::Spread(SpreadField::Attribute(a)) => {
                    !self.pools[pool as usize].parts.contains_key(a)
                        || !self.groups[gid as usize].value_counts.contains_key(a)
                }
                _ => false,
            };
            if !needed {
                continue;
            }
            match self.rules(req)[i].clone() {
                StrategyRule::Spread(SpreadField::InstanceId) => self.ensure_spread(pool, gid),
                StrategyRule::Spread(SpreadField::Attribute(a)) => {
                    let a = &a;
                    self.ensure_attr(a);
                    self.ensure_part(pool, a);
                    if !self.groups[gid as usize].value_counts.contains_key(a) {
                        let av = &self.attrs[a];
                        let mut counts = vec![0u32; av.values.len()];
                        for (&h, &n) in &self.groups[gid as usize].per_host {
                            counts[av.value_of_class[self.hosts[h as usize].class as usize]
                                as usize] += n;
                        }
                        self.groups[gid as usize].value_counts.insert(a.clone(), counts);
                    }
                }
                _ => {}
            }
        }
        Ok(pool)
    }

    fn ctx<'a>(&'a self, req: &'a PlacementRequest, pool: u32) -> Ctx<'a> {
        Ctx {
            req,
            pool: &self.pools[pool as usize],
            group: self.find_group(&req.group),
            distinct: req.constraints.contains(&ConstraintSpec::DistinctInstance),
            member_of: req
                .constraints
                .iter()
                .filter_map(|c| match c {
                    ConstraintSpec::MemberOf(e) => self.exprs.get(e),
                    _ => None,
                })
                .collect(),
        }
    }

    /// A group's id if it has one; the last group looked up is answered without hashing.
    fn find_group(&self, group: &str) -> Option<u32> {
        if self.last_group.1 != u32::MAX && self.last_group.0 == group {
            return Some(self.last_group.1);
        }
        self.group_ids.get(group).copied()
    }

    fn group_id(&mut self, group: &str) -> u32 {
        if let Some(g) = self.find_group(group) {
            if self.last_group.1 != g {
                // Reuses the buffer: no allocation once it is as long as the longest name.
                self.last_group.0.clear();
                self.last_group.0.push_str(group);
                self.last_group.1 = g;
            }
            return g;
        }
        let g = self.group_names.len() as u32;
        self.group_ids.insert(group.to_string(), g);
        self.group_names.push(group.to_string());
        self.groups.push(Group::default());
        g
    }

    fn reserve(&mut self, h: u32, req: &PlacementRequest) {
        self.change(h, req, true);
    }

    /// Adds (`up`) or removes a task's hold on host `h`, keeping every index in step.
    fn change(&mut self, h: u32, req: &PlacementRequest, up: bool) {
        let gid = self.group_id(&req.group);
        if !up {
            self.forget_full(h);
        }
        self.detach(h);
        let d = &req.demand;
        let (old, new) = {
            let s = &mut self.hosts[h as usize];
            if up {
                s.cpu -= d.cpu_units;
                s.mem -= d.memory_mib;
                s.gpus -= d.gpus;
                for p in &d.tcp_ports {
                    let i = s.tcp[s.reserved_tcp..].binary_search(p).unwrap_or_else(|i| i);
                    s.tcp.insert(s.reserved_tcp + i, *p);
                }
                for p in &d.udp_ports {
                    let i = s.udp.binary_search(p).unwrap_or_else(|i| i);
                    s.udp.insert(i, *p);
                }
                s.running += 1;
            } else {
                s.cpu = (s.cpu + d.cpu_units).min(s.reg_cpu);
                s.mem = (s.mem + d.memory_mib).min(s.reg_mem);
                s.gpus += d.gpus;
                for p in &d.tcp_ports {
                    if let Ok(i) = s.tcp[s.reserved_tcp..].binary_search(p) {
                        s.tcp.remove(s.reserved_tcp + i);
                    }
                }
                for p in &d.udp_ports {
                    if let Ok(i) = s.udp.binary_search(p) {
                        s.udp.remove(i);
                    }
                }
                s.running = s.running.saturating_sub(1);
            }
            let old = s.groups.iter().find(|e| e.0 == gid).map(|e| e.1).unwrap_or(0);
            let new = if up { old + 1 } else { old.saturating_sub(1) };
            match s.groups.iter_mut().find(|e| e.0 == gid) {
                Some(e) => e.1 = new,
                None if new > 0 => s.groups.push((gid, new)),
                None => {}
            }
            s.groups.retain(|e| e.1 > 0);
            (old, new)
        };
        let class = self.hosts[h as usize].class as usize;
        let g = &mut self.groups[gid as usize];
        if new == 0 {
            g.per_host.remove(&h);
        } else {
            g.per_host.insert(h, new);
        }
        if old != new {
            for (attr, counts) in g.value_counts.iter_mut() {
                let v = self.attrs[attr].value_of_class[class] as usize;
                counts[v] = if up { counts[v] + 1 } else { counts[v].saturating_sub(1) };
            }
            if self.hosts[h as usize].eligible {
                for &p in &self.host_pools[h as usize] {
                    self.pools[p as usize].bump_group(gid, h, old, new);
                }
            }
        }
        self.update_eligibility(h);
        self.attach(h);
    }

    // -----------------------------------------------------------------------------------------
    // Index maintenance
    // -----------------------------------------------------------------------------------------

    fn should_be_eligible(&self, h: u32) -> bool {
        let s = &self.hosts[h as usize];
        s.connected && s.cpu >= self.floor_cpu && s.mem >= self.floor_mem
    }

    fn keys(&self, h: u32) -> Keys {
        let s = &self.hosts[h as usize];
        Keys { host: h, cpu: s.cpu, mem: s.mem, class: s.class }
    }

    /// Takes an eligible host's resource-keyed entries out (before its resources change).
    fn detach(&mut self, h: u32) {
        if !self.hosts[h as usize].eligible {
            return;
        }
        let k = self.keys(h);
        for &p in &self.host_pools[h as usize] {
            self.pools[p as usize].detach_resources(k, &self.attrs);
        }
    }

    /// Puts an eligible host's resource-keyed entries back.
    fn attach(&mut self, h: u32) {
        if !self.hosts[h as usize].eligible {
            return;
        }
        let k = self.keys(h);
        for &p in &self.host_pools[h as usize] {
            self.pools[p as usize].attach_resources(k, &self.attrs);
        }
    }

    /// Moves a host in or out of the id- and group-keyed indexes when its eligibility changed.
    /// Resource-keyed entries are the caller's business (detach before, attach after).
    fn update_eligibility(&mut self, h: u32) {
        let now = self.should_be_eligible(h);
        if now == self.hosts[h as usize].eligible {
            return;
        }
        let k = self.keys(h);
        let Placer { hosts, pools, host_pools, attrs, .. } = self;
        let groups = &hosts[h as usize].groups;
        let count = |g: u32| groups.iter().find(|e| e.0 == g).map(|e| e.1).unwrap_or(0);
        for &p in &host_pools[h as usize] {
            if now {
                pools[p as usize].enter(k, attrs, count);
            } else {
                pools[p as usize].leave(k, attrs, count);
            }
        }
        hosts[h as usize].eligible = now;
    }

    /// After the floor moved: hosts that can now fit the smallest demand join the indexes.
    fn rebuild_indexes(&mut self) {
        for p in &mut self.pools {
            p.full.clear();
        }
        for h in 0..self.hosts.len() as u32 {
            if self.should_be_eligible(h) != self.hosts[h as usize].eligible {
                self.detach(h);
                self.update_eligibility(h);
                self.attach(h);
            }
        }
    }

    /// The pool of hosts passing these static checks, built on first use.
    fn ensure_pool(&mut self, key: PoolKey) -> u32 {
        if let Some(&p) = self.pool_ids.get(&key) {
            return p;
        }
        let (os, arch, ids) = key;
        let exprs: Vec<&Compiled> = self.exprs.values().filter(|c| ids.contains(&c.id)).collect();
        let members: Vec<u32> = (0..self.hosts.len() as u32)
            .filter(|&h| {
                let s = &self.hosts[h as usize];
                s.os == os
                    && s.arch == arch
                    && exprs.iter().all(|c| match &c.cache {
                        Cache::PerClass(v) => v[s.class as usize],
                        Cache::PerHost(v) => v[h as usize],
                        Cache::Dynamic => true,
                    })
            })
            .collect();
        let p = self.pools.len() as u32;
        let mut pool = Pool::new(members);
        for &h in &pool.members.clone() {
            self.host_pools[h as usize].push(p);
            if self.hosts[h as usize].eligible {
                let k = self.keys(h);
                pool.attach_resources(k, &self.attrs);
                pool.enter(k, &self.attrs, |_| 0);
            }
        }
        self.pools.push(pool);
        self.pool_ids.insert(key, p);
        p
    }

    /// The pool's (remaining, host) index for binpack on `field`, built on first use.
    fn ensure_binpack(&mut self, pool: u32, field: BinpackField) {
        let p = &mut self.pools[pool as usize];
        let (flag, set) = match field {
            BinpackField::Memory => (&mut p.by_mem, &mut p.mem),
            BinpackField::Cpu => (&mut p.by_cpu, &mut p.cpu),
        };
        if *flag {
            return;
        }
        *flag = true;
        for &h in &p.members {
            let s = &self.hosts[h as usize];
            if s.eligible {
                set.insert(match field {
                    BinpackField::Memory => (s.mem, h),
                    BinpackField::Cpu => (s.cpu, h),
                });
            }
        }
    }

    /// The values of an attribute per host class, computed on first use.
    fn ensure_attr(&mut self, attr: &str) {
        if self.attrs.contains_key(attr) {
            return;
        }
        let mut values: Vec<Option<String>> = Vec::new();
        let mut value_of_class = Vec::with_capacity(self.classes.len());
        for c in &self.classes {
            let v = c.get(attr).cloned();
            let idx = match values.iter().position(|x| *x == v) {
                Some(i) => i,
                None => {
                    values.push(v);
                    values.len() - 1
                }
            };
            value_of_class.push(idx as u32);
        }
        self.attrs.insert(attr.to_string(), AttrValues { value_of_class, values });
    }

    /// The per-value indexes of `attr` inside a pool.
    fn ensure_part(&mut self, pool: u32, attr: &str) {
        if self.pools[pool as usize].parts.contains_key(attr) {
            return;
        }
        let av = &self.attrs[attr];
        let n = av.values.len();
        let mut part = PoolPart {
            mem: vec![BTreeSet::new(); n],
            cpu: vec![BTreeSet::new(); n],
            ids: vec![BTreeSet::new(); n],
        };
        for &h in &self.pools[pool as usize].members {
            let s = &self.hosts[h as usize];
            if s.eligible {
                let v = av.value_of_class[s.class as usize] as usize;
                part.mem[v].insert((s.mem, h));
                part.cpu[v].insert((s.cpu, h));
                part.ids[v].insert(h);
            }
        }
        self.pools[pool as usize].parts.insert(attr.to_string(), part);
    }

    /// The (tasks of group, host) index of a group inside a pool.
    fn ensure_spread(&mut self, pool: u32, gid: u32) {
        if self.pools[pool as usize].spread.contains_key(&gid) {
            return;
        }
        let g = &self.groups[gid as usize];
        let set = self.pools[pool as usize]
            .members
            .iter()
            .filter(|&&h| self.hosts[h as usize].eligible)
            .map(|&h| (g.per_host.get(&h).copied().unwrap_or(0), h))
            .collect();
        self.pools[pool as usize].spread.insert(gid, set);
    }

    // -----------------------------------------------------------------------------------------
    // Checks
    // -----------------------------------------------------------------------------------------

    /// The first check `h` fails for this request, in ECS's order, or Ok.
    fn check(&self, h: u32, ctx: &Ctx) -> Result<(), Check> {
        #[cfg(test)]
        self.checks.set(self.checks.get() + 1);
        let s = &self.hosts[h as usize];
        let d = &ctx.req.demand;
        if s.os != ctx.req.os || s.arch != ctx.req.arch {
            return Err(Check::Platform);
        }
        if !s.connected {
            return Err(Check::Agent);
        }
        if s.cpu < d.cpu_units {
            return Err(Check::Cpu);
        }
        if s.mem < d.memory_mib {
            return Err(Check::Memory);
        }
        if !ports_free(&s.tcp, &d.tcp_ports) || !ports_free(&s.udp, &d.udp_ports) {
            return Err(Check::Ports);
        }
        if s.gpus < d.gpus {
            return Err(Check::Gpu);
        }
        if ctx.distinct {
            if let Some(g) = ctx.group {
                if s.groups.iter().any(|e| e.0 == g && e.1 > 0) {
                    return Err(Check::DistinctInstance);
                }
            }
        }
        for (i, c) in ctx.member_of.iter().enumerate() {
            let ok = match &c.cache {
                Cache::PerClass(v) => v[s.class as usize],
                Cache::PerHost(v) => v[h as usize],
                Cache::Dynamic => c.expr.eval(&View { p: self, h }),
            };
            if !ok {
                return Err(Check::MemberOf(i));
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Strategies
    // -----------------------------------------------------------------------------------------

    /// The key a rule ranks `h` by (lower is better).
    fn key(&self, rule: &StrategyRule, h: u32, ctx: &Ctx) -> u32 {
        let s = &self.hosts[h as usize];
        match rule {
            StrategyRule::Binpack(BinpackField::Memory) => s.mem,
            StrategyRule::Binpack(BinpackField::Cpu) => s.cpu,
            StrategyRule::Spread(SpreadField::InstanceId) => match ctx.group {
                Some(g) => s.groups.iter().find(|e| e.0 == g).map(|e| e.1).unwrap_or(0),
                None => 0,
            },
            StrategyRule::Spread(SpreadField::Attribute(a)) => {
                let (Some(g), Some(p)) = (ctx.group, self.attrs.get(a)) else { return 0 };
                let v = p.value_of_class[s.class as usize] as usize;
                self.groups[g as usize].value_counts.get(a).map(|c| c[v]).unwrap_or(0)
            }
            StrategyRule::Random => 0,
        }
    }

    /// Applies `rules` in order to candidates sorted by host id: each keeps the best; random
    /// picks one; the lowest id wins what is left.
    fn refine<R: Rng + ?Sized>(
        &self,
        mut cands: Vec<u32>,
        rules: &[StrategyRule],
        ctx: &Ctx,
        rng: &mut R,
    ) -> Option<u32> {
        for rule in rules {
            if cands.len() <= 1 {
                break;
            }
            if *rule == StrategyRule::Random {
                return Some(cands[rng.random_range(0..cands.len())]);
            }
            let best = cands.iter().map(|&h| self.key(rule, h, ctx)).min()?;
            cands.retain(|&h| self.key(rule, h, ctx) == best);
        }
        cands.first().copied()
    }

    /// The indexed path: the same answer as `place_scan`, looking at few hosts.
    fn select_indexed<R: Rng + ?Sized>(&self, ctx: &Ctx, rng: &mut R) -> Option<u32> {
        let rules = self.rules(ctx.req);
        let d = &ctx.req.demand;
        let pool = ctx.pool;
        match rules.first() {
            None | Some(StrategyRule::Random) => self.random_pick(ctx, rng),
            Some(StrategyRule::Binpack(f)) => {
                let (index, need) = match f {
                    BinpackField::Memory => (&pool.mem, d.memory_mib),
                    BinpackField::Cpu => (&pool.cpu, d.cpu_units),
                };
                self.scan_ordered(index.range((need, 0)..).copied(), &rules[1..], ctx, rng)
            }
            Some(StrategyRule::Spread(SpreadField::InstanceId)) => {
                let set = pool.spread.get(&ctx.group?)?;
                self.scan_ordered(set.iter().copied(), &rules[1..], ctx, rng)
            }
            Some(StrategyRule::Spread(SpreadField::Attribute(a))) => {
                self.spread_attribute(a, &rules[1..], ctx, rng)
            }
        }
    }

    /// Walks hosts in (key, id) order; the first feasible one wins if no rule follows, else the
    /// feasible hosts sharing its key go to the remaining rules.
    fn scan_ordered<R: Rng + ?Sized>(
        &self,
        iter: impl Iterator<Item = (u32, u32)>,
        rest: &[StrategyRule],
        ctx: &Ctx,
        rng: &mut R,
    ) -> Option<u32> {
        let mut ties: Vec<u32> = Vec::new();
        let mut best_key = None;
        for (k, h) in iter {
            if let Some(b) = best_key {
                if k != b {
                    break;
                }
            }
            if self.check(h, ctx).is_ok() {
                if rest.is_empty() {
                    return Some(h);
                }
                best_key = Some(k);
                ties.push(h);
            }
        }
        ties.sort_unstable();
        self.refine(ties, rest, ctx, rng)
    }

    fn spread_attribute<R: Rng + ?Sized>(
        &self,
        attr: &str,
        rest: &[StrategyRule],
        ctx: &Ctx,
        rng: &mut R,
    ) -> Option<u32> {
        let g = ctx.group?;
        let part = ctx.pool.parts.get(attr)?;
        let counts = self.groups[g as usize].value_counts.get(attr)?;
        // Values by their task count; each level of equal counts is one tie set.
        let mut order: Vec<u32> = (0..counts.len() as u32).collect();
        order.sort_by_key(|&v| (counts[v as usize], v));
        let d = &ctx.req.demand;
        let mut i = 0;
        while i < order.len() {
            let level = counts[order[i] as usize];
            let mut j = i;
            while j < order.len() && counts[order[j] as usize] == level {
                j += 1;
            }
            let values = &order[i..j];
            let found = match rest.first() {
                None => values
                    .iter()
                    .filter_map(|&v| {
                        part.ids[v as usize].iter().copied().find(|&h| self.check(h, ctx).is_ok())
                    })
                    .min(),
                Some(StrategyRule::Binpack(f)) if rest.len() == 1 => values
                    .iter()
                    .filter_map(|&v| {
                        let (index, need) = match f {
                            BinpackField::Memory => (&part.mem[v as usize], d.memory_mib),
                            BinpackField::Cpu => (&part.cpu[v as usize], d.cpu_units),
                        };
                        index.range((need, 0)..).copied().find(|&(_, h)| self.check(h, ctx).is_ok())
                    })
                    .min()
                    .map(|(_, h)| h),
                Some(_) => {
                    let mut cands: Vec<u32> = values
                        .iter()
                        .flat_map(|&v| part.ids[v as usize].iter().copied())
                        .filter(|&h| self.check(h, ctx).is_ok())
                        .collect();
                    cands.sort_unstable();
                    self.refine(cands, rest, ctx, rng)
                }
            };
            if found.is_some() {
                return found;
            }
            i = j;
        }
        None
    }

    /// Uniform among feasible hosts: sample the pool's eligible hosts (rejection sampling keeps
    /// it uniform), then fall back to collecting every feasible one.
    fn random_pick<R: Rng + ?Sized>(&self, ctx: &Ctx, rng: &mut R) -> Option<u32> {
        let sample = &ctx.pool.sample;
        if sample.is_empty() {
            return None;
        }
        for _ in 0..64 {
            let h = sample[rng.random_range(0..sample.len())];
            if self.check(h, ctx).is_ok() {
                return Some(h);
            }
        }
        let mut cands: Vec<u32> =
            sample.iter().copied().filter(|&h| self.check(h, ctx).is_ok()).collect();
        cands.sort_unstable();
        if cands.is_empty() {
            None
        } else {
            Some(cands[rng.random_range(0..cands.len())])
        }
    }

    // -----------------------------------------------------------------------------------------
    // Known-full demands
    // -----------------------------------------------------------------------------------------

    /// Whether a failure of this request says something about later ones: only if every check
    /// can only get stricter as tasks are placed. Resources, ports, GPUs, distinctInstance and
    /// attribute-only expressions do; an expression reading `task:group` or
    /// `runningTasksCount` can turn true when a task is placed, so those requests are not
    /// remembered. The pool must also capture every static expression (it keys up to four).
    fn memo_eligible(&self, ctx: &Ctx) -> bool {
        self.failure_memo
            && ctx.member_of.len() <= 4
            && ctx.member_of.iter().all(|c| !matches!(c.cache, Cache::Dynamic))
    }

    /// The task group a distinctInstance request is distinct within, if it is one.
    fn distinct_group(ctx: &Ctx) -> Option<u32> {
        if ctx.distinct {
            ctx.group
        } else {
            None
        }
    }

    /// Whether the pool already failed a demand this request's demand is at least as strict as.
    fn known_full(&self, ctx: &Ctx) -> bool {
        let d = &ctx.req.demand;
        let dg = Self::distinct_group(ctx);
        ctx.pool.full.iter().any(|m| m.covers(d, dg))
    }

    /// Remembers that nothing in `pool` fits `req`'s demand, dropping what it makes redundant.
    fn remember_full(&mut self, pool: u32, req: &PlacementRequest) {
        let dg = if req.constraints.contains(&ConstraintSpec::DistinctInstance) {
            self.find_group(&req.group)
        } else {
            None
        };
        let d = &req.demand;
        let entry = FullDemand {
            cpu: d.cpu_units,
            mem: d.memory_mib,
            gpus: d.gpus,
            tcp: d.tcp_ports.clone(),
            udp: d.udp_ports.clone(),
            distinct: dg,
        };
        let full = &mut self.pools[pool as usize].full;
        full.retain(|m| !entry.covers_entry(m));
        if full.len() >= FULL_MEMO {
            full.remove(0);
        }
        full.push(entry);
    }

    /// A host of these pools got something back (or reconnected): what they could not fit
    /// before may fit now.
    fn forget_full(&mut self, h: u32) {
        for &p in &self.host_pools[h as usize] {
            self.pools[p as usize].full.clear();
        }
    }

    /// A known-full answer must leave the RNG where a walk would have: `random` draws 64
    /// hosts from the pool's eligible ones before it gives up (see `random_pick`); the other
    /// strategies draw nothing when no host is feasible.
    fn draw_like_a_failed_pick<R: Rng + ?Sized>(&self, ctx: &Ctx, rng: &mut R) {
        if !matches!(self.rules(ctx.req).first(), None | Some(StrategyRule::Random)) {
            return;
        }
        let n = ctx.pool.sample.len();
        if n > 0 {
            for _ in 0..64 {
                let _ = rng.random_range(0..n);
            }
        }
    }

    /// Turns the known-full memo off, so that tests can compare against the plain walk.
    #[cfg(test)]
    fn without_failure_memo(mut self) -> Placer {
        self.failure_memo = false;
        self
    }

    // -----------------------------------------------------------------------------------------
    // Explaining failures
    // -----------------------------------------------------------------------------------------

    fn host_label(&self, h: u32) -> String {
        format!(
            "{} ({})",
            self.instance_ids[h as usize], self.class_label[self.hosts[h as usize].class as usize]
        )
    }

    fn explain_all(&self, req: &PlacementRequest, pool: u32) -> PlacementFailure {
        let all: Vec<u32> = (0..self.hosts.len() as u32).collect();
        self.explain_hosts(req, &all, pool)
    }

    /// ECS's reason for the host that got furthest through the pipeline, and counts per check.
    fn explain_hosts(&self, req: &PlacementRequest, hosts: &[u32], pool: u32) -> PlacementFailure {
        if hosts.is_empty() {
            return PlacementFailure {
                reason: FailureReason::NoInstances,
                closest_host: None,
                explanation: "the cluster has no container instances".into(),
            };
        }
        let ctx = self.ctx(req, pool);
        let d = &req.demand;
        let mut counts: BTreeMap<Check, usize> = BTreeMap::new();
        // (stage reached, -shortfall) is best for the closest host.
        let mut closest: Option<(u32, Check, (usize, i64))> = None;
        for &h in hosts {
            let Err(c) = self.check(h, &ctx) else { continue };
            *counts.entry(c).or_default() += 1;
            let s = &self.hosts[h as usize];
            let shortfall = match c {
                Check::Cpu => (d.cpu_units - s.cpu) as i64,
                Check::Memory => (d.memory_mib - s.mem) as i64,
                _ => 0,
            };
            let score = (c.stage(), -shortfall);
            if closest.as_ref().is_none_or(|(_, _, b)| score > *b) {
                closest = Some((h, c, score));
            }
        }
        let Some((ch, cc, _)) = closest else {
            return PlacementFailure {
                reason: FailureReason::NoInstances,
                closest_host: None,
                explanation: "every host fits; nothing to explain".into(),
            };
        };
        let reason = match cc {
            Check::Platform => FailureReason::Attribute,
            Check::Agent => FailureReason::Agent,
            Check::Cpu => FailureReason::Cpu,
            Check::Memory => FailureReason::Memory,
            Check::Ports => FailureReason::Ports,
            Check::Gpu => FailureReason::Gpu,
            Check::DistinctInstance => FailureReason::DistinctInstance,
            Check::MemberOf(_) => FailureReason::MemberOf,
        };
        let os = |o: OsFamily| match o {
            OsFamily::Linux => "linux",
            OsFamily::Windows => "windows",
        };
        let arch = |a: CpuArch| match a {
            CpuArch::X86_64 => "x86_64",
            CpuArch::Arm64 => "arm64",
        };
        let parts: Vec<String> = counts
            .iter()
            .map(|(c, n)| {
                let what = match c {
                    Check::Platform => format!("not {}/{}", os(req.os), arch(req.arch)),
                    Check::Agent => "agent disconnected".into(),
                    Check::Cpu => "lacked CPU".into(),
                    Check::Memory => "lacked memory".into(),
                    Check::Ports => "had a required host port in use".into(),
                    Check::Gpu => "lacked GPUs".into(),
                    Check::DistinctInstance => {
                        format!("already run a task of group {} (distinctInstance)", req.group)
                    }
                    Check::MemberOf(i) => {
                        format!("removed by memberOf({})", ctx.member_of[*i].text)
                    }
                };
                format!("{n} {what}")
            })
            .collect();
        let s = &self.hosts[ch as usize];
        let lacked = match cc {
            Check::Platform => format!("is {}/{}", os(s.os), arch(s.arch)),
            Check::Agent => "has its agent disconnected".into(),
            Check::Cpu => format!("has {} CPU units free of the {} needed", s.cpu, d.cpu_units),
            Check::Memory => format!("has {} MiB free of the {} MiB needed", s.mem, d.memory_mib),
            Check::Ports => {
                let busy: Vec<String> = d
                    .tcp_ports
                    .iter()
                    .filter(|p| s.tcp.binary_search(p).is_ok())
                    .map(|p| format!("{p}/tcp"))
                    .chain(
                        d.udp_ports
                            .iter()
                            .filter(|p| s.udp.binary_search(p).is_ok())
                            .map(|p| format!("{p}/udp")),
                    )
                    .collect();
                format!("is already using port {}", busy.join(", "))
            }
            Check::Gpu => format!("has {} GPUs free of the {} needed", s.gpus, d.gpus),
            Check::DistinctInstance => format!("already runs a task of group {}", req.group),
            Check::MemberOf(i) => format!("does not satisfy memberOf({})", ctx.member_of[i].text),
        };
        PlacementFailure {
            reason,
            closest_host: Some(HostId(ch)),
            explanation: format!(
                "considered {} host{}: {}; closest {} {}",
                hosts.len(),
                if hosts.len() == 1 { "" } else { "s" },
                parts.join(", "),
                self.host_label(ch),
                lacked
            ),
        }
    }
}

fn ports_free(held: &[u16], wanted: &[u16]) -> bool {
    wanted.iter().all(|p| !held.contains(p))
}

/// The largest power of two ≤ v (0 for 0): the floor moves in few steps.
fn pow2_floor(v: u32) -> u32 {
    if v == 0 {
        0
    } else {
        1 << (31 - v.leading_zeros())
    }
}

/// What a request asks for, for callers that build one by hand (tests, the benchmark).
pub fn request(
    cpu_units: u32,
    memory_mib: u32,
    group: &str,
    strategy: Vec<StrategyRule>,
    constraints: Vec<ConstraintSpec>,
) -> PlacementRequest {
    PlacementRequest {
        demand: Demand { cpu_units, memory_mib, ..Demand::default() },
        group: group.to_string(),
        os: OsFamily::Linux,
        arch: CpuArch::X86_64,
        constraints,
        strategy,
    }
}

#[cfg(test)]
mod tests;
