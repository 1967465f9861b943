//! Property test: the indexed placer never over-commits a host or breaks a constraint, and it
//! decides exactly as a naive reference that checks every host (kept here, independent of the
//! placer's indexes, pools and caches). Random sequences of placements and releases run on
//! random small clusters.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use berth::cluster::{parse_str, Cluster};
use berth::placement::query::{Expr, HostFacts};
use berth::placement::{
    BinpackField, ConstraintSpec, Demand, HostId, PlacementRequest, Placer, SpreadField,
    StrategyRule, DEFAULT_RESERVED_TCP_PORTS,
};
use berth::pricing::Catalog;
use berth::taskdef::model::{CpuArch, OsFamily};

/// The reference: plain vectors, every host checked for every task.
struct RefHost {
    cpu: u32,
    mem: u32,
    tcp: Vec<u16>,
    os: OsFamily,
    arch: CpuArch,
    attrs: BTreeMap<String, String>,
    id: String,
    groups: HashMap<String, u32>,
    running: u32,
}

impl HostFacts for RefHost {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
    fn instance_id(&self) -> &str {
        &self.id
    }
    fn agent_connected(&self) -> bool {
        true
    }
    fn running_tasks_count(&self) -> u32 {
        self.running
    }
    fn runs_group(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.groups.iter().any(|(g, n)| *n > 0 && pred(g))
    }
}

struct Reference {
    hosts: Vec<RefHost>,
}

impl Reference {
    fn new(c: &Cluster) -> Reference {
        let hosts = c
            .hosts
            .iter()
            .map(|h| {
                let mut attrs = berth::placement::placer::builtin_attributes(h);
                attrs.extend(h.attributes.clone());
                RefHost {
                    cpu: h.vcpu * 1024,
                    mem: h.memory_mib - c.ecs.reserved_memory_mib,
                    tcp: DEFAULT_RESERVED_TCP_PORTS.to_vec(),
                    os: h.os,
                    arch: h.arch,
                    attrs,
                    id: h.instance_id.clone(),
                    groups: HashMap::new(),
                    running: 0,
                }
            })
            .collect();
        Reference { hosts }
    }

    fn feasible(&self, r: &PlacementRequest) -> Vec<usize> {
        let exprs: Vec<Expr> = r
            .constraints
            .iter()
            .filter_map(|c| match c {
                ConstraintSpec::MemberOf(e) => Some(Expr::parse(e).unwrap()),
                _ => None,
            })
            .collect();
        let distinct = r.constraints.contains(&ConstraintSpec::DistinctInstance);
        (0..self.hosts.len())
            .filter(|&i| {
                let h = &self.hosts[i];
                h.os == r.os
                    && h.arch == r.arch
                    && h.cpu >= r.demand.cpu_units
                    && h.mem >= r.demand.memory_mib
                    && r.demand.tcp_ports.iter().all(|p| !h.tcp.contains(p))
                    && !(distinct && h.groups.get(&r.group).copied().unwrap_or(0) > 0)
                    && exprs.iter().all(|e| e.eval(h))
            })
            .collect()
    }

    fn key(&self, rule: &StrategyRule, i: usize, group: &str) -> u32 {
        let h = &self.hosts[i];
        match rule {
            StrategyRule::Binpack(BinpackField::Memory) => h.mem,
            StrategyRule::Binpack(BinpackField::Cpu) => h.cpu,
            StrategyRule::Spread(SpreadField::InstanceId) => {
                h.groups.get(group).copied().unwrap_or(0)
            }
            StrategyRule::Spread(SpreadField::Attribute(a)) => {
                let v = h.attrs.get(a);
                self.hosts
                    .iter()
                    .filter(|o| o.attrs.get(a) == v)
                    .map(|o| o.groups.get(group).copied().unwrap_or(0))
                    .sum()
            }
            StrategyRule::Random => 0,
        }
    }

    /// Lexicographic minimum of (key per rule..., host id); None for random strategies (the
    /// caller then only checks that the placer's pick is feasible).
    fn choose(&self, r: &PlacementRequest) -> Option<Option<usize>> {
        if r.strategy.is_empty() || r.strategy.contains(&StrategyRule::Random) {
            return None;
        }
        let cands = self.feasible(r);
        Some(cands.into_iter().min_by_key(|&i| {
            (r.strategy.iter().map(|s| self.key(s, i, &r.group)).collect::<Vec<_>>(), i)
        }))
    }

    fn apply(&mut self, i: usize, r: &PlacementRequest, up: bool) {
        let h = &mut self.hosts[i];
        if up {
            h.cpu -= r.demand.cpu_units;
            h.mem -= r.demand.memory_mib;
            h.tcp.extend(&r.demand.tcp_ports);
            h.running += 1;
            *h.groups.entry(r.group.clone()).or_default() += 1;
        } else {
            h.cpu += r.demand.cpu_units;
            h.mem += r.demand.memory_mib;
            for p in &r.demand.tcp_ports {
                let k = h.tcp.iter().position(|x| x == p).unwrap();
                h.tcp.remove(k);
            }
            h.running -= 1;
            *h.groups.get_mut(&r.group).unwrap() -= 1;
        }
    }
}

const TYPES: [&str; 5] = ["t3.small", "t3.medium", "t3.large", "m5.large", "t4g.medium"];
const EXPRS: [&str; 8] = [
    "attribute:tier == x",
    "attribute:ecs.availability-zone != us-east-1b",
    "attribute:ecs.instance-type =~ t3.*",
    "task:group == g1",
    "not(task:group == g2)",
    "runningTasksCount < 3",
    "ec2InstanceId != i-0000000000000002",
    "attribute:tier in [y] or attribute:ecs.availability-zone == us-east-1a",
];

fn rule(i: u8) -> StrategyRule {
    match i % 6 {
        0 => StrategyRule::Binpack(BinpackField::Memory),
        1 => StrategyRule::Binpack(BinpackField::Cpu),
        2 => StrategyRule::Spread(SpreadField::InstanceId),
        3 => StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
        4 => StrategyRule::Spread(SpreadField::Attribute("tier".into())),
        _ => StrategyRule::Random,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Place {
        cpu: u32,
        mem: u32,
        port: Option<u16>,
        group: u8,
        rules: Vec<u8>,
        distinct: bool,
        exprs: Vec<u8>,
        arm: bool,
    },
    Release(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            0u32..=8,
            0u32..=8,
            prop::option::weighted(0.3, prop::sample::select(vec![80u16, 443, 22])),
            0u8..3,
            prop::collection::vec(0u8..6, 0..3),
            prop::bool::weighted(0.2),
            prop::collection::vec(0u8..8, 0..3),
            prop::bool::weighted(0.15),
        )
            .prop_map(|(c, m, port, group, rules, distinct, exprs, arm)| Op::Place {
                cpu: c * 128,
                mem: m * 256,
                port,
                group,
                rules,
                distinct,
                exprs,
                arm,
            }),
        1 => (0usize..1000).prop_map(Op::Release),
    ]
}

fn cluster_text(groups: &[(u8, u8, u8, bool)]) -> String {
    let mut s = String::from("name = \"p\"\nregion = \"us-east-1\"\n");
    for &(ty, count, zone, tier) in groups {
        s += &format!(
            "[[hosts]]\ninstance_type = \"{}\"\ncount = {}\nzone = \"us-east-1{}\"\nattributes = {{ tier = \"{}\" }}\n",
            TYPES[ty as usize % TYPES.len()],
            count,
            ["a", "b", "c"][zone as usize % 3],
            if tier { "x" } else { "y" }
        );
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn indexed_placer_matches_the_reference_and_never_overcommits(
        groups in prop::collection::vec((0u8..5, 1u8..4, 0u8..3, any::<bool>()), 1..5),
        ops in prop::collection::vec(op(), 1..120),
        seed in any::<u64>(),
    ) {
        let cluster = parse_str("p.toml", &cluster_text(&groups), &Catalog::builtin()).unwrap();
        let mut placer = Placer::new(&cluster);
        let mut reference = Reference::new(&cluster);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut placed: Vec<(HostId, PlacementRequest)> = Vec::new();
        for op in ops {
            match op {
                Op::Place { cpu, mem, port, group, rules, distinct, exprs, arm } => {
                    let mut constraints: Vec<ConstraintSpec> =
                        exprs.iter().map(|&e| ConstraintSpec::MemberOf(EXPRS[e as usize].into())).collect();
                    if distinct {
                        constraints.push(ConstraintSpec::DistinctInstance);
                    }
                    let req = PlacementRequest {
                        demand: Demand { cpu_units: cpu, memory_mib: mem, tcp_ports: port.into_iter().collect(), ..Demand::default() },
                        group: format!("g{group}"),
                        os: OsFamily::Linux,
                        arch: if arm { CpuArch::Arm64 } else { CpuArch::X86_64 },
                        constraints,
                        strategy: rules.iter().map(|&r| rule(r)).collect(),
                    };
                    let feasible = reference.feasible(&req);
                    let expected = reference.choose(&req);
                    let got = placer.place_explained(&req, &mut rng);
                    match (&got, expected) {
                        (Ok(h), Some(want)) => prop_assert_eq!(Some(h.0 as usize), want, "{:?}", req),
                        (Err(f), Some(want)) => prop_assert_eq!(None, want, "{:?}: {}", req, f.explanation),
                        (Ok(h), None) => prop_assert!(feasible.contains(&(h.0 as usize)), "random pick {:?} not feasible", h),
                        (Err(f), None) => prop_assert!(feasible.is_empty(), "random found nothing among {:?}: {}", feasible, f.explanation),
                    }
                    if let Ok(h) = got {
                        reference.apply(h.0 as usize, &req, true);
                        placed.push((h, req));
                    }
                }
                Op::Release(k) => {
                    if !placed.is_empty() {
                        let (h, req) = placed.remove(k % placed.len());
                        placer.release(h, &req);
                        reference.apply(h.0 as usize, &req, false);
                    }
                }
            }
            // Never over-committed, and the placer's books match the reference's.
            for (i, r) in reference.hosts.iter().enumerate() {
                let u = placer.usage(HostId(i as u32));
                prop_assert!(u.remaining_cpu_units <= u.registered_cpu_units);
                prop_assert!(u.remaining_memory_mib <= u.registered_memory_mib);
                prop_assert_eq!((u.remaining_cpu_units, u.remaining_memory_mib, u.running_tasks), (r.cpu, r.mem, r.running));
                let mut ports = u.tcp_ports_in_use.clone();
                ports.sort_unstable();
                let mut want: Vec<u16> = r.tcp.iter().copied().filter(|p| !DEFAULT_RESERVED_TCP_PORTS.contains(p)).collect();
                want.sort_unstable();
                prop_assert_eq!(ports, want);
            }
        }
    }
}
