//! Every strategy, the chaining, the constraints and every failure reason, each on a small
//! cluster whose answer is worked out by hand in the comments.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::cluster::parse_str;
use crate::pricing::Catalog;

fn cluster(hosts: &str) -> Cluster {
    let text = format!("name = \"t\"\nregion = \"us-east-1\"\n{hosts}");
    parse_str("t.toml", &text, &Catalog::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

fn group(ty: &str, count: u32, zone: &str, attrs: &str) -> String {
    format!(
        "[[hosts]]\ninstance_type = \"{ty}\"\ncount = {count}\nzone = \"us-east-1{zone}\"\nattributes = {{ {attrs} }}\n"
    )
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(7)
}

fn req(cpu: u32, mem: u32, strategy: Vec<StrategyRule>) -> PlacementRequest {
    request(cpu, mem, "family:web", strategy, vec![])
}

const BINPACK_MEM: StrategyRule = StrategyRule::Binpack(BinpackField::Memory);
const BINPACK_CPU: StrategyRule = StrategyRule::Binpack(BinpackField::Cpu);
const SPREAD_HOST: StrategyRule = StrategyRule::Spread(SpreadField::InstanceId);

fn spread_az() -> StrategyRule {
    StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into()))
}

/// Places with both the indexed and the scanning path on twin placers and checks they agree.
fn place_both(a: &mut Placer, b: &mut Placer, r: &PlacementRequest) -> Result<u32, FailureReason> {
    let x = a.place_explained(r, &mut rng()).map(|h| h.0).map_err(|f| f.reason);
    let y = b.place_scan(r, &mut rng()).map(|h| h.0).map_err(|f| f.reason);
    assert_eq!(x, y, "indexed and scan disagree for {r:?}");
    x
}

fn seq(c: &Cluster, reqs: &[PlacementRequest]) -> Vec<Result<u32, FailureReason>> {
    let (mut a, mut b) = (Placer::new(c), Placer::new(c));
    reqs.iter().map(|r| place_both(&mut a, &mut b, r)).collect()
}

#[test]
fn binpack_memory_fills_the_fullest_host_first() {
    // h0 t3.medium 4096 MiB, h1 t3.large 8192, h2 t3.small 2048. Tasks of 1024 MiB: h2 has the
    // least that still fits (2048, then 1024), then h0 (4096 .. 1024), then h1.
    let c = cluster(
        &(group("t3.medium", 1, "a", "")
            + &group("t3.large", 1, "a", "")
            + &group("t3.small", 1, "a", "")),
    );
    let r = req(0, 1024, vec![BINPACK_MEM]);
    let got = seq(&c, &vec![r; 15]);
    let want: Vec<Result<u32, FailureReason>> = [2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
        .into_iter()
        .map(Ok)
        .chain([Err(FailureReason::Memory)])
        .collect();
    assert_eq!(got, want);
}

#[test]
fn binpack_cpu_uses_cpu_not_memory() {
    // h0 t3.xlarge (4096 units, 16 GiB), h1 t3.medium (2048 units, 4 GiB). 1024-unit tasks:
    // h1 first (2048 < 4096) twice, then h0 four times; the seventh has nowhere to go.
    let c = cluster(&(group("t3.xlarge", 1, "a", "") + &group("t3.medium", 1, "a", "")));
    let got = seq(&c, &vec![req(1024, 128, vec![BINPACK_CPU]); 7]);
    assert_eq!(got, vec![Ok(1), Ok(1), Ok(0), Ok(0), Ok(0), Ok(0), Err(FailureReason::Cpu)]);
}

#[test]
fn spread_instance_id_round_robins_within_the_group() {
    // Three equal hosts: counts 0,0,0 → h0; 1,0,0 → h1; 1,1,0 → h2; then again.
    let c = cluster(&group("t3.medium", 3, "a", ""));
    let got = seq(&c, &vec![req(0, 256, vec![SPREAD_HOST]); 6]);
    assert_eq!(got, vec![Ok(0), Ok(1), Ok(2), Ok(0), Ok(1), Ok(2)]);
    // Another group ignores the first group's tasks: it starts at h0 again.
    let (mut a, mut b) = (Placer::new(&c), Placer::new(&c));
    for _ in 0..2 {
        place_both(&mut a, &mut b, &req(0, 256, vec![SPREAD_HOST])).unwrap();
    }
    let other = request(0, 256, "family:other", vec![SPREAD_HOST], vec![]);
    assert_eq!(place_both(&mut a, &mut b, &other), Ok(0));
}

#[test]
fn spread_over_zones_then_chained() {
    // h0, h1 in 1a; h2 in 1b.
    let c = cluster(&(group("t3.medium", 2, "a", "") + &group("t3.medium", 1, "b", "")));
    // spread(AZ) alone: 1a:0 1b:0 → lowest id h0; 1a:1 1b:0 → h2; tie again → h0.
    assert_eq!(seq(&c, &vec![req(0, 256, vec![spread_az()]); 3]), vec![Ok(0), Ok(2), Ok(0)]);
    // [spread AZ, spread instanceId]: the third task goes to the empty host of 1a, h1.
    assert_eq!(
        seq(&c, &vec![req(0, 256, vec![spread_az(), SPREAD_HOST]); 4]),
        vec![Ok(0), Ok(2), Ok(1), Ok(2)]
    );
}

#[test]
fn spread_zone_then_binpack_memory() {
    // 1a: h0 t3.small (2048), h1 t3.large (8192); 1b: h2 t3.medium (4096). 512 MiB tasks:
    // 1) zones tied → binpack over all: h0 (2048). 2) 1b has fewer → h2.
    // 3) tied → h0 (1536 left) beats h2 (3584) and h1 (8192). 4) 1b → h2.
    let c = cluster(
        &(group("t3.small", 1, "a", "")
            + &group("t3.large", 1, "a", "")
            + &group("t3.medium", 1, "b", "")),
    );
    let got = seq(&c, &vec![req(0, 512, vec![spread_az(), BINPACK_MEM]); 4]);
    assert_eq!(got, vec![Ok(0), Ok(2), Ok(0), Ok(2)]);
}

#[test]
fn binpack_then_spread_breaks_ties_by_group_count() {
    // Two t3.medium (4096 each). Group A puts a 1024 task on h0 (binpack tie → lowest id).
    // Group B with [binpack memory, spread instanceId]: h0 has 3072 < 4096 → h0 regardless.
    // Then a 0-MiB task of A with [binpack cpu, spread instanceId]: cpu ties (2048 both) →
    // fewest A tasks → h1.
    let c = cluster(&group("t3.medium", 2, "a", ""));
    let reqs = vec![
        request(0, 1024, "A", vec![BINPACK_MEM], vec![]),
        request(0, 1024, "B", vec![BINPACK_MEM, SPREAD_HOST], vec![]),
        request(0, 0, "A", vec![BINPACK_CPU, SPREAD_HOST], vec![]),
    ];
    assert_eq!(seq(&c, &reqs), vec![Ok(0), Ok(0), Ok(1)]);
}

#[test]
fn random_is_seeded_and_uniform_enough() {
    let c = cluster(&group("t3.large", 4, "a", ""));
    let r = req(0, 1, vec![StrategyRule::Random]);
    let run = |seed| {
        let mut p = Placer::new(&c);
        let mut g = ChaCha8Rng::seed_from_u64(seed);
        (0..4000).map(|_| p.place_explained(&r, &mut g).unwrap().0).collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(1), "same seed, same placements");
    assert_ne!(a, run(2));
    let mut counts = [0; 4];
    for h in &a {
        counts[*h as usize] += 1;
    }
    // Expect 1000 each; a binomial with sd ≈ 27 stays well within ±150.
    assert!(counts.iter().all(|&n| (850..1150).contains(&n)), "{counts:?}");
    // No strategy anywhere means random too (ECS's RunTask default).
    let mut p = Placer::new(&c);
    let mut g = ChaCha8Rng::seed_from_u64(1);
    let hosts: std::collections::BTreeSet<u32> =
        (0..100).map(|_| p.place_explained(&req(0, 1, vec![]), &mut g).unwrap().0).collect();
    assert_eq!(hosts.len(), 4);
}

#[test]
fn cluster_default_strategy_applies_when_the_request_has_none() {
    let mut c = cluster(&group("t3.medium", 3, "a", ""));
    c.ecs.placement_strategy = vec![SPREAD_HOST];
    assert_eq!(seq(&c, &vec![req(0, 1, vec![]); 3]), vec![Ok(0), Ok(1), Ok(2)]);
}

#[test]
fn distinct_instance() {
    let c = cluster(&group("t3.medium", 2, "a", ""));
    let r =
        request(0, 256, "service:web", vec![BINPACK_MEM], vec![ConstraintSpec::DistinctInstance]);
    let (mut a, mut b) = (Placer::new(&c), Placer::new(&c));
    assert_eq!(place_both(&mut a, &mut b, &r), Ok(0));
    assert_eq!(place_both(&mut a, &mut b, &r), Ok(1));
    let f = a.place_explained(&r, &mut rng()).unwrap_err();
    assert_eq!(f.reason, FailureReason::DistinctInstance);
    assert!(
        f.explanation.contains("considered 2 hosts: 2 already run a task of group service:web"),
        "{}",
        f.explanation
    );
    // Another group is not affected.
    let other = request(0, 256, "service:api", vec![], vec![ConstraintSpec::DistinctInstance]);
    assert!(a.place_explained(&other, &mut rng()).is_ok());
}

#[test]
fn member_of_with_attributes_and_builtins() {
    // h0 t3.medium 1a prod, h1 t3.large 1b dev, h2 t4g.medium (arm) 1c prod.
    let c = cluster(
        &(group("t3.medium", 1, "a", "stack = \"prod\"")
            + &group("t3.large", 1, "b", "stack = \"dev\"")
            + &group("t4g.medium", 1, "c", "stack = \"prod\"")),
    );
    let m =
        |e: &str| request(0, 256, "g", vec![BINPACK_MEM], vec![ConstraintSpec::MemberOf(e.into())]);
    let one = |e: &str| seq(&c, &[m(e)])[0];
    assert_eq!(one("attribute:stack == prod"), Ok(0));
    assert_eq!(one("attribute:stack == dev"), Ok(1));
    assert_eq!(one("attribute:ecs.instance-type == t3.large"), Ok(1));
    assert_eq!(one("attribute:ecs.availability-zone in [us-east-1b, us-east-1c]"), Ok(1));
    assert_eq!(one("attribute:ecs.os-type == linux and attribute:stack != prod"), Ok(1));
    assert_eq!(one("ec2InstanceId == i-0000000000000002"), Ok(1));
    assert_eq!(one("attribute:ecs.cpu-architecture == arm64"), Err(FailureReason::MemberOf));
    assert_eq!(one("attribute:stack == staging"), Err(FailureReason::MemberOf));
    // The arm host takes an arm task only.
    let mut arm = m("attribute:stack == prod");
    arm.arch = CpuArch::Arm64;
    assert_eq!(seq(&c, &[arm])[0], Ok(2));
    // Request constraints combine (all must hold).
    let mut both = m("attribute:stack == prod");
    both.constraints
        .push(ConstraintSpec::MemberOf("attribute:ecs.availability-zone == us-east-1b".into()));
    assert_eq!(seq(&c, &[both])[0], Err(FailureReason::MemberOf));
}

#[test]
fn member_of_with_task_group_and_running_tasks() {
    let c = cluster(&group("t3.medium", 3, "a", ""));
    let db = request(0, 256, "service:db", vec![SPREAD_HOST], vec![]);
    let near_db = request(
        0,
        256,
        "service:web",
        vec![BINPACK_MEM],
        vec![ConstraintSpec::MemberOf("task:group == service:db".into())],
    );
    let away = request(
        0,
        256,
        "service:cache",
        vec![BINPACK_MEM],
        vec![ConstraintSpec::MemberOf("not(task:group == service:db)".into())],
    );
    let empty = request(
        0,
        256,
        "x",
        vec![BINPACK_MEM],
        vec![ConstraintSpec::MemberOf("runningTasksCount == 0".into())],
    );
    // Nothing runs yet: affinity fails.
    assert_eq!(seq(&c, std::slice::from_ref(&near_db)), vec![Err(FailureReason::MemberOf)]);
    // db on h0 (spread) and h1; web joins a db host (binpack among h0, h1 → h0);
    // cache avoids them → h2; an "empty host" task finds none left → MemberOf.
    let got = seq(&c, &[db.clone(), db, near_db, away, empty]);
    assert_eq!(got, vec![Ok(0), Ok(1), Ok(0), Ok(2), Err(FailureReason::MemberOf)]);
}

#[test]
fn ports_reserved_and_static() {
    let c = cluster(&group("t3.medium", 2, "a", ""));
    let mut web = req(0, 256, vec![BINPACK_MEM]);
    web.demand.tcp_ports = vec![80];
    // Port 80 once per host: h0, h1, then nowhere.
    let got = seq(&c, &vec![web.clone(); 3]);
    assert_eq!(got, vec![Ok(0), Ok(1), Err(FailureReason::Ports)]);
    // The agent's reserved ports are never free.
    let mut ssh = req(0, 256, vec![]);
    ssh.demand.tcp_ports = vec![22];
    let mut p = Placer::new(&c);
    let f = p.place_explained(&ssh, &mut rng()).unwrap_err();
    assert_eq!(f.reason, FailureReason::Ports);
    assert!(f.explanation.contains("already using port 22/tcp"), "{}", f.explanation);
    // UDP and TCP are separate.
    let mut dns = req(0, 256, vec![]);
    dns.demand.udp_ports = vec![80];
    let mut p = Placer::new(&c);
    p.place_explained(&web, &mut rng()).unwrap();
    p.place_explained(&web, &mut rng()).unwrap();
    assert!(p.place_explained(&dns, &mut rng()).is_ok());
}

#[test]
fn failure_reasons_and_explanations() {
    // h0 t3.small (2048 units, 2048 MiB), h1 t3.medium (2048 units, 4096 MiB).
    let c = cluster(&(group("t3.small", 1, "a", "") + &group("t3.medium", 1, "a", "")));
    let mut p = Placer::new(&c);
    // Memory: 5000 MiB fits nowhere; closest is h1 with 4096.
    let f = p.place_explained(&req(0, 5000, vec![]), &mut rng()).unwrap_err();
    assert_eq!(f.reason, FailureReason::Memory);
    assert_eq!(f.closest_host, Some(HostId(1)));
    assert_eq!(
        f.explanation,
        "considered 2 hosts: 2 lacked memory; closest i-0000000000000002 (t3.medium, us-east-1a) \
         has 4096 MiB free of the 5000 MiB needed"
    );
    assert_eq!(f.reason.as_ecs_str(), "RESOURCE:MEMORY");
    // CPU: 3000 units.
    let f = p.place_explained(&req(3000, 0, vec![]), &mut rng()).unwrap_err();
    assert_eq!((f.reason, f.reason.as_ecs_str()), (FailureReason::Cpu, "RESOURCE:CPU"));
    assert!(f.explanation.contains("2 lacked CPU"));
    // Platform: an arm64 task on x86 hosts.
    let mut arm = req(0, 1, vec![]);
    arm.arch = CpuArch::Arm64;
    let f = p.place_explained(&arm, &mut rng()).unwrap_err();
    assert_eq!((f.reason, f.reason.as_ecs_str()), (FailureReason::Attribute, "ATTRIBUTE"));
    assert!(
        f.explanation.contains("2 not linux/arm64") && f.explanation.contains("is linux/x86_64"),
        "{}",
        f.explanation
    );
    // GPU: none on these hosts.
    let mut gpu = req(0, 1, vec![]);
    gpu.demand.gpus = 1;
    assert_eq!(p.place_explained(&gpu, &mut rng()).unwrap_err().reason, FailureReason::Gpu);
    // Agent: both disconnected.
    p.set_agent_connected(HostId(0), false);
    p.set_agent_connected(HostId(1), false);
    let f = p.place_explained(&req(0, 1, vec![]), &mut rng()).unwrap_err();
    assert_eq!((f.reason.as_ecs_str(), f.closest_host), ("AGENT", Some(HostId(0))));
    p.set_agent_connected(HostId(1), true);
    assert_eq!(p.place_explained(&req(0, 1, vec![]), &mut rng()), Ok(HostId(1)));
    // Mixed: h0 lacks memory, h1 fails memberOf → the closest got further: MemberOf.
    let mut p = Placer::new(&c);
    let r = request(
        0,
        3000,
        "g",
        vec![],
        vec![ConstraintSpec::MemberOf("attribute:ecs.instance-type == t3.small".into())],
    );
    let f = p.place_explained(&r, &mut rng()).unwrap_err();
    assert_eq!(f.reason, FailureReason::MemberOf);
    assert_eq!(
        f.explanation,
        "considered 2 hosts: 1 lacked memory, 1 removed by memberOf(attribute:ecs.instance-type == t3.small); \
         closest i-0000000000000002 (t3.medium, us-east-1a) does not satisfy memberOf(attribute:ecs.instance-type == t3.small)"
    );
    // An invalid expression is reported with its column.
    let r = request(0, 1, "g", vec![], vec![ConstraintSpec::MemberOf("attribute:x === 1".into())]);
    let f = p.place_explained(&r, &mut rng()).unwrap_err();
    assert!(f.explanation.contains("column 13"), "{}", f.explanation);
    // No hosts at all.
    let empty = cluster("");
    let f = Placer::new(&empty).place_explained(&req(0, 1, vec![]), &mut rng()).unwrap_err();
    assert_eq!(f.reason, FailureReason::NoInstances);
}

#[test]
fn release_gives_everything_back() {
    let c = cluster(&group("t3.medium", 1, "a", ""));
    let mut p = Placer::new(&c);
    let mut r = request(
        512,
        1024,
        "service:web",
        vec![BINPACK_MEM],
        vec![ConstraintSpec::DistinctInstance],
    );
    r.demand.tcp_ports = vec![8080];
    let h = p.place_explained(&r, &mut rng()).unwrap();
    let u = p.usage(h);
    assert_eq!((u.remaining_cpu_units, u.remaining_memory_mib, u.running_tasks), (1536, 3072, 1));
    assert_eq!(u.tcp_ports_in_use, vec![8080]);
    assert_eq!(p.group_count(h, "service:web"), 1);
    assert!(p.place_explained(&r, &mut rng()).is_err());
    p.release(h, &r);
    let u = p.usage(h);
    assert_eq!((u.remaining_cpu_units, u.remaining_memory_mib, u.running_tasks), (2048, 4096, 0));
    assert!(u.tcp_ports_in_use.is_empty());
    assert_eq!(p.group_count(h, "service:web"), 0);
    assert_eq!(p.place_explained(&r, &mut rng()), Ok(h));
}

#[test]
fn reserved_memory_is_not_registered() {
    let mut c = cluster(&group("t3.medium", 1, "a", ""));
    c.ecs.reserved_memory_mib = 256;
    let p = Placer::new(&c);
    assert_eq!(p.usage(HostId(0)).registered_memory_mib, 3840);
    assert_eq!(p.usage(HostId(0)).registered_cpu_units, 2048);
}

#[test]
fn exhausted_hosts_leave_the_index_and_come_back() {
    // h0 t3.large (2048 units, 8192 MiB). Two 1024-unit tasks use all its CPU: it leaves the
    // binpack index although 6144 MiB are left; a 0-unit task later lowers the floor and it
    // is found again.
    let c = cluster(&(group("t3.large", 1, "a", "") + &group("t3.xlarge", 1, "a", "")));
    let r = req(1024, 1024, vec![BINPACK_MEM]);
    let got = seq(&c, &[r.clone(), r.clone(), r.clone(), req(0, 1024, vec![BINPACK_MEM])]);
    // h0 (8192 < 16384) twice; then h0 is out of CPU → h1; the 0-unit task fits h0 again.
    assert_eq!(got, vec![Ok(0), Ok(0), Ok(1), Ok(0)]);
    let mut p = Placer::new(&c);
    for _ in 0..2 {
        p.place_explained(&r, &mut rng()).unwrap();
    }
    assert!(!p.pools[0].mem.iter().any(|&(_, h)| h == 0), "exhausted host left the index");
    assert!(!p.pools[0].sample.contains(&0));
    p.release(HostId(0), &r);
    assert!(p.pools[0].mem.contains(&(7168, 0)));
    assert!(p.pools[0].sample.contains(&0));
}

#[test]
fn try_place_is_place_without_the_explanation() {
    let c = cluster(&group("t3.small", 2, "a", ""));
    let (mut a, mut b) = (Placer::new(&c), Placer::new(&c));
    let r = req(0, 1024, vec![BINPACK_MEM]);
    for _ in 0..4 {
        assert_eq!(a.try_place(&r, &mut rng()), b.place_explained(&r, &mut rng()).ok());
    }
    assert_eq!(a.try_place(&r, &mut rng()), None);
    assert_eq!(a.usage(HostId(0)), b.usage(HostId(0)));
}

#[test]
fn place_on_a_given_host() {
    let c = cluster(&group("t3.small", 2, "a", ""));
    let mut p = Placer::new(&c);
    assert!(p.place_on(HostId(1), &req(0, 2048, vec![])).is_ok());
    let f = p.place_on(HostId(1), &req(0, 1, vec![])).unwrap_err();
    assert_eq!(f.reason, FailureReason::Memory);
    assert!(f.explanation.starts_with("cannot place on i-0000000000000002"), "{}", f.explanation);
}

/// A pool (here: the m5 hosts) that has filled up: every further failure must cost about
/// what a success does. Before, each failure walked the pool's eligible hosts and then every
/// host of the cluster to explain itself, nearly 200 host checks per task here.
#[test]
fn failures_in_a_full_pool_cost_no_walk() {
    // 8 m5.large (2 vCPU = 2048 units, 8 GiB) and 24 t3.large; tasks of 768 units, so the 8
    // m5 hosts hold 16 tasks and keep 512 units each (still indexed: the floor is 512).
    let c = cluster(&(group("m5.large", 8, "a", "") + &group("t3.large", 24, "b", "")));
    let mut p = Placer::new(&c);
    let m5 = vec![ConstraintSpec::MemberOf("attribute:ecs.instance-type =~ m5.*".into())];
    let r = request(768, 512, "family:batch", vec![BINPACK_MEM], m5);
    for _ in 0..16 {
        p.place(&r, &mut rng()).expect("the pool has room for 16");
    }
    let before = p.checks.get();
    let mut g = rng();
    for _ in 0..1000 {
        assert_eq!(p.place(&r, &mut g), Err(Unplaced));
    }
    let per_failure = (p.checks.get() - before) as f64 / 1000.0;
    assert!(per_failure < 0.1, "{per_failure} host checks per failure");
    // A stricter demand is known not to fit either; a weaker one is looked for again.
    let with = |cpu, mem| PlacementRequest {
        demand: Demand { cpu_units: cpu, memory_mib: mem, ..Demand::default() },
        ..r.clone()
    };
    let before = p.checks.get();
    assert_eq!(p.place(&with(1024, 512), &mut g), Err(Unplaced));
    assert_eq!(p.place(&with(768, 1024), &mut g), Err(Unplaced));
    assert_eq!(p.checks.get(), before, "no host looked at for a stricter demand");
    assert_eq!(p.place(&with(768, 256), &mut g), Err(Unplaced));
    assert!(p.checks.get() > before, "a weaker demand is looked for");
    // Explaining is asked for, and gives ECS's reason from a look at every host.
    let f = p.explain(&r);
    assert_eq!(f.reason, FailureReason::MemberOf, "{}", f.explanation);
    assert!(
        f.explanation.starts_with("considered 32 hosts: 8 lacked CPU, 24 removed by memberOf"),
        "{}",
        f.explanation
    );
}

/// What a full pool remembers is forgotten as soon as one of its hosts gets room back (a task
/// released, an agent reconnected).
#[test]
fn a_full_pool_takes_tasks_again_after_a_release_or_a_reconnect() {
    let c = cluster(&(group("m5.large", 2, "a", "") + &group("t3.large", 2, "b", "")));
    let mut p = Placer::new(&c);
    let m5 = vec![ConstraintSpec::MemberOf("attribute:ecs.instance-type =~ m5.*".into())];
    let r = request(2048, 512, "family:batch", vec![BINPACK_MEM], m5);
    let a = p.place(&r, &mut rng()).unwrap();
    let b = p.place(&r, &mut rng()).unwrap();
    assert_eq!(p.place(&r, &mut rng()), Err(Unplaced));
    p.release(a, &r);
    assert_eq!(p.place(&r, &mut rng()), Ok(a), "room again after the release");
    assert_eq!(p.place(&r, &mut rng()), Err(Unplaced));
    // Disconnect b, release its task (no room: agent gone), reconnect: room again.
    p.set_agent_connected(b, false);
    p.release(b, &r);
    assert_eq!(p.place(&r, &mut rng()), Err(Unplaced));
    p.set_agent_connected(b, true);
    assert_eq!(p.place(&r, &mut rng()), Ok(b), "room again after the reconnect");
}

/// The memo of full pools changes no decision and leaves the RNG where the plain walk leaves
/// it (random draws 64 hosts before it gives up): the same random workload of placements and
/// releases, with every kind of constraint, on a placer with the memo and one without.
#[test]
fn the_full_pool_memo_changes_no_decision() {
    let c = cluster(
        &(group("m5.large", 3, "a", "tier = \"x\"")
            + &group("t3.medium", 3, "b", "tier = \"y\"")
            + &group("t3.large", 2, "c", "tier = \"x\"")),
    );
    let exprs = [
        "attribute:ecs.instance-type =~ m5.*",
        "attribute:tier == x",
        "task:group == family:a",
        "runningTasksCount < 2",
    ];
    let strategies = [
        vec![],
        vec![BINPACK_MEM],
        vec![BINPACK_CPU],
        vec![SPREAD_HOST],
        vec![spread_az(), BINPACK_MEM],
        vec![StrategyRule::Random],
    ];
    let mut work = ChaCha8Rng::seed_from_u64(11);
    let mut with = Placer::new(&c);
    let mut without = Placer::new(&c).without_failure_memo();
    let (mut g1, mut g2) = (ChaCha8Rng::seed_from_u64(5), ChaCha8Rng::seed_from_u64(5));
    let mut held: Vec<(HostId, PlacementRequest)> = Vec::new();
    let mut failures = 0;
    for _ in 0..4000 {
        if !held.is_empty() && work.random_range(0..4) == 0 {
            let (h, r) = held.swap_remove(work.random_range(0..held.len()));
            with.release(h, &r);
            without.release(h, &r);
            continue;
        }
        let mut constraints = Vec::new();
        if work.random_range(0..3) == 0 {
            constraints
                .push(ConstraintSpec::MemberOf(exprs[work.random_range(0..exprs.len())].into()));
        }
        if work.random_range(0..5) == 0 {
            constraints.push(ConstraintSpec::DistinctInstance);
        }
        let mut r = request(
            work.random_range(1..=4) * 256,
            work.random_range(1..=4) * 512,
            ["family:a", "family:b"][work.random_range(0..2)],
            strategies[work.random_range(0..strategies.len())].clone(),
            constraints,
        );
        if work.random_range(0..4) == 0 {
            r.demand.tcp_ports = vec![[80, 443][work.random_range(0..2)]];
        }
        let x = with.place(&r, &mut g1);
        let y = without.place(&r, &mut g2);
        assert_eq!(x, y, "{r:?}");
        match x {
            Ok(h) => held.push((h, r)),
            Err(_) => failures += 1,
        }
    }
    assert!(failures > 500, "the workload fills the cluster ({failures} failures)");
    assert_eq!(g1.random::<u64>(), g2.random::<u64>(), "the RNGs drew alike");
}
