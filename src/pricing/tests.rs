//! Billing cases worked out by hand, and AWS's published Fargate examples.

use rust_decimal_macros::dec;

use super::*;

fn size(cpu_units: u32, memory_mib: u32) -> FargateSize {
    FargateSize { cpu_units, memory_mib }
}

fn cents(v: Usd) -> Usd {
    v.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// `v` to 20 decimal places: a sum of charges that came out of a division by 3600 carries
/// noise in the 28th digit (the report prices summed seconds once, without it).
fn exact(v: Usd) -> Usd {
    v.round_dp(20).normalize()
}

/// Sums `tasks` × `days` identical task charges, as AWS's examples do.
fn month(
    rate: &FargateRate,
    s: FargateSize,
    secs: u64,
    eph: u32,
    tasks: u64,
    days: u64,
) -> FargateCharge {
    let one = rate.charge(s, SimDuration::from_secs(secs), eph);
    (0..tasks * days).fold(FargateCharge::default(), |acc, _| acc + one)
}

#[test]
fn builtin_catalog_loads_with_every_reference_row() {
    let c = Catalog::builtin();
    // The 24 EC2 types of pricing.md §3.1, in us-east-1.
    for t in [
        "t3.micro",
        "t3.small",
        "t3.medium",
        "t3.large",
        "t3.xlarge",
        "t4g.nano",
        "t4g.micro",
        "t4g.small",
        "t4g.medium",
        "t4g.large",
        "t4g.xlarge",
        "m5.large",
        "m5.xlarge",
        "m5.2xlarge",
        "m6i.large",
        "m6i.xlarge",
        "m7g.large",
        "c5.large",
        "c5.xlarge",
        "c6g.large",
        "c7g.large",
        "r5.large",
        "r6g.large",
        "a1.medium",
    ] {
        assert!(c.ec2_instance("us-east-1", t).is_some(), "{t}");
    }
    assert_eq!(c.ec2_types("us-east-1").len(), 24);
    let t4g = c.ec2_instance("us-east-1", "t4g.nano").unwrap();
    assert_eq!((t4g.vcpu, t4g.memory_mib, t4g.arch), (2, 512, CpuArch::Arm64));
    assert_eq!(t4g.usd_per_hour, dec!(0.0042));
    // The Sydney a1.medium row borrows its specs from us-east-1's.
    let syd = c.ec2_instance("ap-southeast-2", "a1.medium").unwrap();
    assert_eq!((syd.vcpu, syd.memory_mib, syd.usd_per_hour), (1, 2048, dec!(0.0333)));
    assert!(c.ec2_instance("eu-west-1", "m5.large").is_none(), "no invented EC2 prices");
}

/// AWS Fargate pricing page, Example 1 (Linux/x86, us-east-1): 5 tasks running 10 minutes a
/// day for 30 days, each 1 vCPU, 2 GB and 30 GB of ephemeral storage (10 GB billable). berth
/// bills from the hourly list prices: 25 vCPU-h × 0.04048 = 1.012, 50 GB-h × 0.004445 =
/// 0.22225, 250 GB-h × 0.000111 = 0.02775; total $1.26, as AWS's example (which uses rounded
/// per-second values: $1.01 + $0.22 + $0.03).
#[test]
fn aws_example_1_linux_x86() {
    let rate = Catalog::builtin()
        .fargate_rate("us-east-1", OsFamily::Linux, CpuArch::X86_64, false)
        .unwrap();
    let m = month(&rate, size(1024, 2048), 600, 30, 5, 30);
    assert_eq!(exact(m.vcpu_usd), dec!(1.012));
    assert_eq!(exact(m.memory_usd), dec!(0.22225));
    assert_eq!(exact(m.ephemeral_storage_usd), dec!(0.02775));
    assert_eq!(cents(m.vcpu_usd), dec!(1.01));
    assert_eq!(cents(m.memory_usd), dec!(0.22));
    assert_eq!(cents(m.ephemeral_storage_usd), dec!(0.03));
    assert_eq!(cents(m.total()), dec!(1.26));
    assert_eq!(m.os_license_usd, Decimal::ZERO);
}

/// Example 2 (Linux/ARM): the same workload on Graviton without extra storage:
/// 25 × 0.03238 = 0.8095 and 50 × 0.00356 = 0.178, $0.99 as AWS's example.
#[test]
fn aws_example_2_linux_arm() {
    let rate = Catalog::builtin()
        .fargate_rate("us-east-1", OsFamily::Linux, CpuArch::Arm64, false)
        .unwrap();
    let m = month(&rate, size(1024, 2048), 600, 20, 5, 30);
    assert_eq!(exact(m.vcpu_usd), dec!(0.8095));
    assert_eq!(exact(m.memory_usd), dec!(0.178));
    assert_eq!(m.ephemeral_storage_usd, Decimal::ZERO);
    assert_eq!(cents(m.total()), dec!(0.99));
}

/// Example 4 (Windows/x86): 10 tasks for 1 hour a day for 30 days, 1 vCPU and 2 GB each:
/// 300 vCPU-h × 0.09148 = 27.444, licence 300 × 0.046 = 13.80, 600 GB-h × 0.01005 = 6.03;
/// total $47.27. AWS's example shows $47.25 because it rounds the rates to per-second values
/// (pricing.md §1.2); berth uses the one source, the hourly price list, everywhere.
#[test]
fn aws_example_4_windows() {
    let rate = Catalog::builtin()
        .fargate_rate("us-east-1", OsFamily::Windows, CpuArch::X86_64, false)
        .unwrap();
    let m = month(&rate, size(1024, 2048), 3600, 20, 10, 30);
    assert_eq!(m.vcpu_usd, dec!(27.444));
    assert_eq!(m.os_license_usd, dec!(13.8));
    assert_eq!(m.memory_usd, dec!(6.03));
    assert_eq!(cents(m.total()), dec!(47.27));
}

#[test]
fn every_region_bills_per_second_from_the_hourly_price() {
    // us-east-1 used to bill 0.000011244 per vCPU-second (0.0404784 an hour) while
    // eu-west-1, at the same list price, billed 0.04048 / 3600: the same task cost differently.
    let c = Catalog::builtin();
    let charge = |region: &str| {
        c.fargate_rate(region, OsFamily::Linux, CpuArch::X86_64, false).unwrap().charge(
            size(1024, 2048),
            SimDuration::from_secs(3600),
            20,
        )
    };
    assert_eq!(charge("us-east-1").vcpu_usd, dec!(0.04048));
    assert_eq!(charge("us-east-1"), charge("eu-west-1"));
    // One second is exactly a 3600th of the hourly price.
    let r = c.fargate_rate("us-east-1", OsFamily::Linux, CpuArch::X86_64, false).unwrap();
    let one = r.charge(size(1024, 1024), SimDuration::from_secs(61), 20);
    assert_eq!(exact(one.vcpu_usd * dec!(3600)), dec!(0.04048) * dec!(61));
}

#[test]
fn per_second_rates_in_a_price_file_are_refused_with_a_hint() {
    let text = "[[fargate]]\nregion = \"x\"\nos = \"linux\"\narch = \"x86_64\"\nusd_per_vcpu_hour = \"1\"\nusd_per_gb_hour = \"1\"\nusd_per_vcpu_second = \"0.0003\"\n";
    let e = Catalog::builtin().with_overrides_str("p.toml", text).unwrap_err();
    let d = &e.diagnostics[0];
    assert_eq!((d.line, d.column, d.path.as_str()), (7, 23, "fargate[0].usd_per_vcpu_second"));
    assert!(d.hint.as_deref().unwrap().contains("hourly list price"), "{d:?}");
}

#[test]
fn minimums_and_rounding() {
    let c = Catalog::builtin();
    let linux = c.fargate_rate("us-east-1", OsFamily::Linux, CpuArch::X86_64, false).unwrap();
    assert_eq!(linux.charge(size(256, 512), SimDuration::from_secs(10), 20).billed_seconds, 60);
    assert_eq!(
        linux.charge(size(256, 512), SimDuration::from_millis(61_200), 20).billed_seconds,
        62
    );
    // 0.25 vCPU × 60 s × 0.04048 / 3600 and 0.5 GB × 60 s × 0.004445 / 3600.
    let c1 = linux.charge(size(256, 512), SimDuration::from_secs(1), 20);
    assert_eq!(c1.vcpu_usd, dec!(0.6072) / dec!(3600));
    assert_eq!(c1.memory_usd, dec!(0.13335) / dec!(3600));
    let win = c.fargate_rate("us-east-1", OsFamily::Windows, CpuArch::X86_64, false).unwrap();
    assert_eq!(win.charge(size(1024, 2048), SimDuration::from_secs(10), 20).billed_seconds, 300);
    assert_eq!(win.charge(size(1024, 2048), SimDuration::from_secs(301), 20).billed_seconds, 301);
}

#[test]
fn hourly_rates_outside_us_east_1() {
    // eu-west-1 has only hourly rates: 1 vCPU + 2 GB for exactly one hour is
    // 0.04048 + 2 × 0.004445 = 0.04937.
    let rate = Catalog::builtin()
        .fargate_rate("eu-west-1", OsFamily::Linux, CpuArch::X86_64, false)
        .unwrap();
    let ch = rate.charge(size(1024, 2048), SimDuration::from_secs(3600), 20);
    assert_eq!(ch.total(), dec!(0.04937));
    // Storage borrows us-east-1's rate, and says so.
    assert!(rate.notes.iter().any(|n| n.contains("us-east-1")), "{:?}", rate.notes);
    // 30 GiB configured for one hour, at the borrowed hourly rate: 10 × 0.000111 = 0.00111.
    let ch = rate.charge(size(1024, 2048), SimDuration::from_secs(3600), 30);
    assert_eq!(ch.ephemeral_storage_usd, dec!(0.00111));
    assert_eq!(rate.hourly(size(1024, 2048)), dec!(0.04937));
}

#[test]
fn spot_and_refusals() {
    let c = Catalog::builtin();
    let spot = c.fargate_rate("us-east-1", OsFamily::Linux, CpuArch::X86_64, true).unwrap();
    assert_eq!(spot.usd_per_vcpu_hour, dec!(0.01264355));
    assert_eq!(
        c.fargate_rate("us-east-1", OsFamily::Windows, CpuArch::Arm64, false),
        Err(PriceError::WindowsArm)
    );
    assert_eq!(
        c.fargate_rate("us-east-1", OsFamily::Windows, CpuArch::X86_64, true),
        Err(PriceError::SpotWindows)
    );
    let err = c.fargate_rate("eu-south-1", OsFamily::Linux, CpuArch::Arm64, false).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("eu-south-1") && msg.contains("--prices"), "{msg}");
    assert!(msg.contains("us-east-1"), "lists the regions it has: {msg}");
}

#[test]
fn ec2_billing() {
    // One hour of a t3.medium is its hourly price.
    assert_eq!(ec2_charge(dec!(0.0416), SimDuration::from_secs(3600)), dec!(0.0416));
    // 30 s is billed as 60 s: 0.0416 × 60 / 3600 = 0.000693333...
    assert_eq!(
        ec2_charge(dec!(0.0416), SimDuration::from_secs(30)),
        ec2_charge(dec!(0.0416), SimDuration::from_secs(60))
    );
    // 0.036 × 60 / 3600 = 0.0006 exactly.
    assert_eq!(ec2_charge(dec!(0.036), SimDuration::from_secs(1)), dec!(0.0006));
    // 90.5 s rounds up to 91 s; ×3600/91 recovers the rate.
    let c = ec2_charge(dec!(0.036), SimDuration::from_millis(90_500));
    assert_eq!(c, dec!(0.00091));
    // Never up, never billed.
    assert_eq!(ec2_charge(dec!(0.0416), SimDuration::ZERO), Decimal::ZERO);
    // 10 × m5.large for a 730-hour month: 10 × 0.096 × 730 = 700.80.
    assert_eq!(
        ec2_charge(dec!(0.096), SimDuration::from_secs(730 * 3600)) * dec!(10),
        dec!(700.80)
    );
}

#[test]
fn user_price_file_overrides_and_extends() {
    let text = r#"
[billing]
fargate_windows_minimum = "15m"

[[fargate]]
region = "eu-central-1"
os = "linux"
arch = "x86_64"
usd_per_vcpu_hour = 0.04656
usd_per_gb_hour = "0.00511"
source = "my invoice"
as_of = "2026-10-01"

[[ec2]]
region = "eu-west-1"
instance_type = "m5.large"
usd_per_hour = "0.107"

[[ec2]]
region = "us-east-1"
instance_type = "m5.large"
usd_per_hour = "0.09"
"#;
    let c = Catalog::builtin().with_overrides_str("prices.toml", text).unwrap();
    assert_eq!(c.billing.fargate_windows_minimum, SimDuration::from_secs(900));
    let r = c.fargate_rate("eu-central-1", OsFamily::Linux, CpuArch::X86_64, false).unwrap();
    assert_eq!(r.usd_per_vcpu_hour, dec!(0.04656));
    assert_eq!(r.provenance.source, "my invoice");
    let m5 = c.ec2_instance("eu-west-1", "m5.large").unwrap();
    assert_eq!((m5.vcpu, m5.memory_mib, m5.usd_per_hour), (2, 8192, dec!(0.107)));
    assert_eq!(m5.provenance.confidence, "user");
    assert_eq!(c.ec2_instance("us-east-1", "m5.large").unwrap().usd_per_hour, dec!(0.09));
    let win = c.fargate_rate("us-east-1", OsFamily::Windows, CpuArch::X86_64, false).unwrap();
    assert_eq!(win.charge(size(1024, 2048), SimDuration::from_secs(10), 20).billed_seconds, 900);
    // The catalog's EC2 minimum: 60 s by default, 120 s after `ec2_minimum = "2m"`:
    // 0.036 × 120 / 3600 = 0.0012.
    assert_eq!(c.ec2_charge(dec!(0.036), SimDuration::from_secs(1)), dec!(0.0006));
    let c2 = c.with_overrides_str("p.toml", "[billing]\nec2_minimum = \"2m\"\n").unwrap();
    assert_eq!(c2.ec2_charge(dec!(0.036), SimDuration::from_secs(1)), dec!(0.0012));
}

#[test]
fn price_file_errors_point_at_the_key() {
    let text = "[[ec2]]\nregion = \"eu-west-1\"\ninstance_type = \"m5.large\"\nusd_per_hour = 1\nusd_per_huor = 2\n";
    let e = Catalog::builtin().with_overrides_str("p.toml", text).unwrap_err();
    let d = &e.diagnostics[0];
    assert_eq!((d.line, d.column), (5, 1));
    assert_eq!(d.path, "ec2[0].usd_per_huor");
    assert!(d.hint.as_deref().unwrap().contains("did you mean `usd_per_hour`"), "{d:?}");

    let text = "[[ec2]]\nregion = \"eu-west-1\"\ninstance_type = \"z9.huge\"\nusd_per_hour = 1\n";
    let e = Catalog::builtin().with_overrides_str("p.toml", text).unwrap_err();
    let d = &e.diagnostics[0];
    assert_eq!((d.line, d.column, d.path.as_str()), (3, 17, "ec2[0].instance_type"));
    assert!(d.message.contains("vcpu, memory_mib, arch"), "{}", d.message);

    let text = "[[fargate]]\nregion = \"x\"\nos = \"beos\"\narch = \"x86_64\"\nusd_per_vcpu_hour = -1\nusd_per_gb_hour = 1\n";
    let e = Catalog::builtin().with_overrides_str("p.toml", text).unwrap_err();
    assert_eq!(e.diagnostics.len(), 2);
    assert_eq!(e.diagnostics[0].path, "fargate[0].os");
    assert_eq!(e.diagnostics[1].path, "fargate[0].usd_per_vcpu_hour");
    assert!(e.to_string().starts_with("p.toml:3:6: error: fargate[0].os"), "{e}");
}
