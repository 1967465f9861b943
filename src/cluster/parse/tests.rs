//! Cluster files: the documented keys, the defaults, and errors that point at the key.

use rust_decimal_macros::dec;

use super::*;

const ISSUE_EXAMPLE: &str = r#"
name = "laptop"
region = "us-east-1"           # picks prices from the built-in catalog

[[hosts]]                      # a group of identical container instances
instance_type = "t3.medium"    # from the catalog ...
count = 2
zone = "us-east-1a"            # the ecs.availability-zone attribute
attributes = { stack = "prod" }  # custom attributes, usable in memberOf

[ecs]
reserved_memory_mib = 0        # ECS_RESERVED_MEMORY
placement_strategy = [{ type = "spread", field = "attribute:ecs.availability-zone" }, { type = "binpack", field = "memory" }]
image_pull = "20s"             # first pull of an image on a host; later starts use the cache
container_start = "2s"

[fargate]
provisioning = "30s"           # RunTask until the image pull starts (not billed)
image_pull = "20s"             # billed: Fargate bills from the start of the pull
"#;

fn parse(text: &str) -> Result<Cluster, FileError> {
    parse_str("c.toml", text, &Catalog::builtin())
}

fn one_error(text: &str) -> Diagnostic {
    let e = parse(text).expect_err("should fail");
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    e.diagnostics[0].clone()
}

#[test]
fn the_issue_example_parses() {
    let c = parse(ISSUE_EXAMPLE).unwrap();
    assert_eq!(c.name, "laptop");
    assert_eq!(c.hosts.len(), 2);
    let h = &c.hosts[1];
    assert_eq!(h.instance_id, "i-0000000000000002");
    assert_eq!(h.id, HostId(1));
    assert_eq!((h.vcpu, h.memory_mib, h.usd_per_hour), (2, 4096, dec!(0.0416)));
    assert_eq!(h.registered_cpu_units(), 2048);
    assert_eq!(h.attributes["stack"], "prod");
    assert_eq!(
        c.ecs.placement_strategy,
        vec![
            StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
            StrategyRule::Binpack(BinpackField::Memory)
        ]
    );
    assert_eq!(c.ecs.image_pull, SimDuration::from_secs(20));
    assert_eq!(c.fargate.provisioning, SimDuration::from_secs(30));
    assert_eq!(c.fargate.container_start, Defaults::FARGATE_CONTAINER_START);
    assert!(c.extra_costs.is_empty());
}

#[test]
fn defaults_and_custom_types() {
    let c = parse(
        r#"
name = "x"
region = "eu-west-1"
[[hosts]]
instance_type = "m5.large"
usd_per_hour = "0.107"
[[hosts]]
instance_type = "lab-box"
vcpu = 16
memory_mib = 65536
usd_per_hour = 0
arch = "arm64"
count = 3
[[costs]]
name = "ALB"
usd_per_hour = "0.0225"
[[costs]]
name = "EBS 30 GB gp3 per host"
usd_per_hour = "0.0033"
modes = ["ecs"]
"#,
    )
    .unwrap();
    assert_eq!(c.hosts.len(), 4);
    assert_eq!(c.hosts[0].zone, "eu-west-1a");
    assert_eq!(c.hosts[0].usd_per_hour, dec!(0.107));
    assert_eq!(c.hosts[3].instance_id, "i-0000000000000004");
    assert_eq!((c.hosts[3].vcpu, c.hosts[3].arch), (16, CpuArch::Arm64));
    assert_eq!(c.ecs.image_pull, Defaults::ECS_IMAGE_PULL);
    assert!(c.ecs.placement_strategy.is_empty());
    assert!(c.extra_costs[0].applies_to_ecs && c.extra_costs[0].applies_to_fargate);
    assert!(c.extra_costs[1].applies_to_ecs && !c.extra_costs[1].applies_to_fargate);
}

#[test]
fn unknown_keys_name_the_closest() {
    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.micro\"\nzonee = \"us-east-1a\"\n");
    assert_eq!((d.line, d.column), (5, 1));
    assert_eq!(d.path, "hosts[0].zonee");
    assert!(d.message.contains("unknown key `zonee`"));
    assert!(d.hint.unwrap().contains("did you mean `zone`"));

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[ecs]\nimage_pul = \"1s\"\n");
    assert_eq!((d.line, d.column, d.path.as_str()), (4, 1, "ecs.image_pul"));
    assert!(d.hint.unwrap().contains("`image_pull`"));

    let d = one_error("name = \"x\"\nregoin = \"us-east-1\"\n");
    assert_eq!(d.path, "regoin");
    assert!(d.hint.unwrap().contains("`region`"));
}

#[test]
fn missing_keys_and_inline_tables() {
    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.micro\"\n[[hosts]]\ncount = 2\n");
    assert_eq!((d.line, d.column, d.path.as_str()), (5, 1, "hosts[1].instance_type"));
    assert_eq!(d.message, "missing key `instance_type`");
    let d = one_error("name = \"x\"\n");
    assert_eq!((d.path.as_str(), d.message.as_str()), ("region", "missing key `region`"));
    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[ecs]\nplacement_strategy = [\n  { type = \"spread\", field = \"instanceId\" },\n  { type = \"binpack\", fild = \"cpu\" },\n]\n");
    assert_eq!((d.line, d.path.as_str()), (6, "ecs.placement_strategy[1].fild"));
    assert!(d.hint.unwrap().contains("did you mean `field`"));
    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.micro\"\ncount = \"two\"\n");
    assert_eq!((d.line, d.column, d.path.as_str()), (5, 9, "hosts[0].count"));
    assert!(d.message.contains("expected u32"), "{}", d.message);
}

#[test]
fn bad_values_point_at_the_value() {
    let d =
        one_error("name = \"x\"\nregion = \"us-east-1\"\n[fargate]\nimage_pull = \"20 parsecs\"\n");
    assert_eq!((d.line, d.column, d.path.as_str()), (4, 14, "fargate.image_pull"));
    assert!(d.message.contains("invalid duration"));

    let d = one_error(
        "name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.mediun\"\n",
    );
    assert_eq!((d.line, d.column, d.path.as_str()), (4, 17, "hosts[0].instance_type"));
    assert!(d.hint.unwrap().contains("\"t3.medium\""));

    let d = one_error(
        "name = \"x\"\nregion = \"eu-west-1\"\n[[hosts]]\ninstance_type = \"t3.medium\"\n",
    );
    assert!(d.message.contains("no price for t3.medium in eu-west-1"), "{}", d.message);
    assert!(d.hint.unwrap().contains("usd_per_hour"));

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[ecs]\nplacement_strategy = [{ type = \"binpack\", field = \"disk\" }]\n");
    assert_eq!(d.path, "ecs.placement_strategy[0].field");
    assert_eq!(d.line, 4);
    assert!(d.message.contains("binpack cannot use field \"disk\""));

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t4g.small\"\narch = \"x86_64\"\n");
    assert!(d.message.contains("t4g.small is arm64"), "{}", d.message);

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.micro\"\nattributes = { \"ecs.instance-type\" = \"big\" }\n");
    assert!(d.message.contains("built-in attribute"));

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.micro\"\nzone = \"eu-west-1a\"\n");
    assert!(d.message.contains("not in region us-east-1"));

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.micro\"\n[ecs]\nreserved_memory_mib = 2048\n");
    assert!(d.message.contains("leaves nothing on t3.micro"));

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[costs]]\nname = \"x\"\nusd_per_hour = 1\nmodes = [\"ec2\"]\n");
    assert_eq!(d.path, "costs[0].modes");

    let d = one_error("name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.micro\"\ncount = -1\n");
    assert_eq!((d.line, d.path.as_str()), (5, "hosts[0].count"));
}

#[test]
fn command_line_strategies() {
    assert_eq!(
        parse_strategy_arg("binpack:memory"),
        Ok(StrategyRule::Binpack(BinpackField::Memory))
    );
    assert_eq!(
        parse_strategy_arg("spread:host"),
        Ok(StrategyRule::Spread(SpreadField::InstanceId))
    );
    assert_eq!(
        parse_strategy_arg("spread:attribute:ecs.availability-zone"),
        Ok(StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into())))
    );
    assert_eq!(parse_strategy_arg("random"), Ok(StrategyRule::Random));
    assert!(parse_strategy_arg("binpack").is_err());
    assert!(parse_strategy_arg("pack:memory").is_err());
}

#[test]
fn too_many_hosts_are_refused_before_they_are_made() {
    let t = std::time::Instant::now();
    let d = one_error(
        "name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.medium\"\ncount = 10000000\n",
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(2), "took {:?}", t.elapsed());
    assert_eq!((d.path.as_str(), d.line, d.column), ("hosts[0].count", 5, 9));
    assert_eq!(d.message, "10,000,000 hosts; the limit is 100,000 per cluster");
    assert!(d.hint.as_deref().unwrap().contains("placement indexes"), "{d:?}");
    // The limit is over all groups.
    let two = "name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.medium\"\ncount = 60000\n[[hosts]]\ninstance_type = \"t3.large\"\ncount = 50000\n";
    let d = one_error(two);
    assert_eq!((d.path.as_str(), d.line), ("hosts[1].count", 8));
    assert_eq!(
        d.message,
        "50,000 more hosts make 110,000 in all; the limit is 100,000 per cluster"
    );
    assert_eq!(parse(&two.replace("50000", "40000")).unwrap().hosts.len(), MAX_HOSTS as usize);
}

#[test]
fn docker_endpoints_are_checked_in_the_file() {
    let with = |ep: &str| {
        format!(
            "name = \"x\"\nregion = \"us-east-1\"\n[[hosts]]\ninstance_type = \"t3.medium\"\ndocker = \"{ep}\"\n"
        )
    };
    let d = one_error(&with("ftp://x"));
    assert_eq!((d.path.as_str(), d.line, d.column), ("hosts[0].docker", 5, 10));
    assert!(d.message.contains("unsupported Docker endpoint \"ftp://x\""), "{d:?}");
    assert!(d.hint.as_deref().unwrap().contains("ssh://USER@HOST"), "{d:?}");
    for bad in [
        "docker.sock",
        "unix://",
        "tcp://",
        "tcp://h:0",
        "tcp://h:http",
        "ssh://me@box:2222",
        "ssh://",
        "https://h:2376/path",
    ] {
        assert!(parse(&with(bad)).is_err(), "{bad} should be refused");
    }
    for good in [
        "unix:///var/run/docker.sock",
        "/var/run/docker.sock",
        "tcp://10.0.0.5:2375",
        "tcp://[::1]:2375",
        "http://box:2375",
        "https://box:2376",
        "ssh://me@box",
        "ssh://box",
    ] {
        let c = parse(&with(good)).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(c.hosts[0].docker.as_deref(), Some(good));
    }
}
