//! Reading a cluster file: TOML in, a validated [`Cluster`] out, or every problem found with its
//! file, line, column and key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::tomlerr::toml_file_error;
use super::{Cluster, EcsSettings, ExtraCost, FargateSettings, HostSpec};
use crate::diag::{closest, grouped, Diagnostic, FileError, Pos};
use crate::money::Usd;
use crate::placement::{BinpackField, HostId, SpreadField, StrategyRule};
use crate::pricing::Catalog;
use crate::taskdef::model::{CpuArch, OsFamily};
use crate::time::{parse_duration, SimDuration};

/// Container instances a cluster file may describe, over all `[[hosts]]` groups.
///
/// Every host is a few hundred bytes in the cluster, the placer's indexes and the cost
/// accounting (100,000 t3.medium hosts took 100 MB and 13 s to simulate a day in a debug build);
/// ten million exhausted memory. 100,000 leaves room for `berth bench placement --hosts 10000`
/// and `berth bench simulate --tasks 100000` (10,000 hosts) ten times over.
pub const MAX_HOSTS: u32 = 100_000;

const HOSTS_LIMIT_WHY: &str = "berth holds every host in memory and in its placement indexes; \
    100,000 is ten times the largest benchmark fleet. Describe fewer hosts, or bigger ones";

/// The endpoint forms `berth run` can reach, for the hint of a refused one.
const DOCKER_ENDPOINTS: &str = "expected unix:///path/docker.sock, tcp://HOST:PORT, \
    http://HOST:PORT, https://HOST:PORT or ssh://USER@HOST (see docs/docker-runtime.md)";

/// Checks the form of a `docker` endpoint without connecting (the file is checked the same way
/// by `validate`, `simulate` and `run`, before any of them talks to Docker). The forms are those
/// `docker::connect::client_for` accepts.
pub fn check_docker_endpoint(endpoint: &str) -> Result<(), String> {
    let (scheme, rest) = match endpoint.split_once("://") {
        Some(x) => x,
        None if endpoint.starts_with('/') => ("unix", endpoint),
        None => return Err("no scheme".into()),
    };
    match scheme {
        "unix" if rest.starts_with('/') && rest.len() > 1 => Ok(()),
        "unix" => Err("expected an absolute socket path, like unix:///var/run/docker.sock".into()),
        "tcp" | "http" | "https" => {
            let authority = rest.strip_suffix('/').unwrap_or(rest);
            if authority.is_empty() || authority.contains('/') || authority.contains('@') {
                return Err(format!("expected {scheme}://HOST:PORT"));
            }
            match authority.rsplit_once(':').filter(|_| !authority.ends_with(']')) {
                Some((host, port)) if host.is_empty() || port.parse::<u16>().unwrap_or(0) == 0 => {
                    Err(format!("expected {scheme}://HOST:PORT with a port from 1 to 65535"))
                }
                _ => Ok(()),
            }
        }
        "ssh" => {
            let host = rest.rsplit('@').next().unwrap_or_default();
            if host.is_empty() || host.contains('/') {
                Err("expected ssh://USER@HOST (no path)".into())
            } else if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
                Err("a port in an ssh:// endpoint is not passed on to ssh; give the host a `Port` \
                     in ~/.ssh/config and leave it out here"
                    .into())
            } else {
                Ok(())
            }
        }
        other => Err(format!("berth cannot reach a Docker engine over {other}://")),
    }
}

/// The latencies a cluster file may leave out, and why they are what they are (see
/// docs/cost-model.md, "Default latencies").
pub struct Defaults;

impl Defaults {
    /// First pull of an image on an EC2 host (later starts use the host's cache).
    pub const ECS_IMAGE_PULL: SimDuration = SimDuration(20_000);
    /// Docker create + start plus the application's own start-up.
    pub const ECS_CONTAINER_START: SimDuration = SimDuration(2_000);
    /// RunTask until Fargate starts pulling: capacity and the task's ENI. Not billed.
    pub const FARGATE_PROVISIONING: SimDuration = SimDuration(30_000);
    /// Fargate pulls on every task (no shared cache); billed.
    pub const FARGATE_IMAGE_PULL: SimDuration = SimDuration(20_000);
    pub const FARGATE_CONTAINER_START: SimDuration = SimDuration(2_000);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    name: Spanned<String>,
    region: Spanned<String>,
    #[serde(default)]
    hosts: Vec<HostsSection>,
    ecs: Option<EcsSection>,
    fargate: Option<FargateSection>,
    #[serde(default)]
    costs: Vec<CostSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostsSection {
    instance_type: Spanned<String>,
    count: Option<Spanned<u32>>,
    zone: Option<Spanned<String>>,
    attributes: Option<Spanned<BTreeMap<String, String>>>,
    usd_per_hour: Option<Spanned<Usd>>,
    vcpu: Option<Spanned<u32>>,
    memory_mib: Option<Spanned<u32>>,
    arch: Option<Spanned<String>>,
    os: Option<Spanned<String>>,
    docker: Option<Spanned<String>>,
    gpus: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EcsSection {
    reserved_memory_mib: Option<Spanned<u32>>,
    placement_strategy: Option<Spanned<Vec<StrategySection>>>,
    image_pull: Option<Spanned<String>>,
    container_start: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategySection {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    field: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FargateSection {
    provisioning: Option<Spanned<String>>,
    image_pull: Option<Spanned<String>>,
    container_start: Option<Spanned<String>>,
    spot: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CostSection {
    name: Spanned<String>,
    usd_per_hour: Spanned<Usd>,
    modes: Option<Spanned<Vec<String>>>,
}

/// Reads and parses a cluster file with the built-in price catalog.
pub fn load(path: &Path) -> Result<Cluster, FileError> {
    load_with(path, &Catalog::builtin())
}

/// Reads and parses a cluster file, pricing its hosts from `catalog`.
pub fn load_with(path: &Path, catalog: &Catalog) -> Result<Cluster, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::io(path, &e))?;
    parse_str(path, &text, catalog)
}

/// Parses cluster file text; `label` names the file in errors.
pub fn parse_str(
    label: impl AsRef<Path>,
    text: &str,
    catalog: &Catalog,
) -> Result<Cluster, FileError> {
    let label = label.as_ref();
    let file: ClusterFile = toml::from_str(text).map_err(|e| toml_file_error(label, text, &e))?;
    let mut p = Parser { text, diags: Vec::new() };
    let cluster = p.cluster(file, catalog);
    if p.diags.is_empty() {
        Ok(cluster)
    } else {
        Err(FileError::new(label, p.diags))
    }
}

struct Parser<'t> {
    text: &'t str,
    diags: Vec<Diagnostic>,
}

impl Parser<'_> {
    fn at(&self, span: Range<usize>) -> Pos {
        Pos::of_offset(self.text, span.start)
    }

    fn error(&mut self, path: impl Into<String>, span: Range<usize>, msg: impl Into<String>) {
        let d = Diagnostic::error(path, self.at(span), msg);
        self.diags.push(d);
    }

    /// Money from the file: exact (a bare TOML float that lost digits is refused with a hint
    /// to quote it), not negative, and within [`crate::money::MAX_USD_PER_HOUR`].
    fn check_price(&mut self, path: String, v: &Spanned<Usd>) {
        let raw = self.text.get(v.span()).unwrap_or("");
        if let Err((msg, hint)) = crate::money::check_price(raw, *v.get_ref()) {
            self.error_hint(path, v.span(), msg, hint);
        }
    }

    fn error_hint(
        &mut self,
        path: impl Into<String>,
        span: Range<usize>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let d = Diagnostic::error(path, self.at(span), msg).with_hint(hint);
        self.diags.push(d);
    }

    fn duration(
        &mut self,
        path: &str,
        v: Option<Spanned<String>>,
        default: SimDuration,
    ) -> SimDuration {
        match v {
            None => default,
            Some(v) => match parse_duration(v.get_ref()) {
                Ok(d) => d,
                Err(e) => {
                    self.error(path, v.span(), e.to_string());
                    default
                }
            },
        }
    }

    fn cluster(&mut self, f: ClusterFile, catalog: &Catalog) -> Cluster {
        if f.name.get_ref().trim().is_empty() {
            self.error("name", f.name.span(), "the cluster needs a name");
        }
        let region = f.region.get_ref().clone();
        if region.trim().is_empty() {
            self.error(
                "region",
                f.region.span(),
                "the region must not be empty, e.g. \"us-east-1\"",
            );
        }
        let mut hosts = Vec::new();
        for (gi, g) in f.hosts.into_iter().enumerate() {
            self.hosts(gi, g, &region, catalog, &mut hosts);
        }
        let ecs = match f.ecs {
            None => EcsSettings {
                reserved_memory_mib: 0,
                placement_strategy: Vec::new(),
                image_pull: Defaults::ECS_IMAGE_PULL,
                container_start: Defaults::ECS_CONTAINER_START,
            },
            Some(e) => {
                let reserved = e.reserved_memory_mib.map(|r| {
                    let v = *r.get_ref();
                    if let Some(small) = hosts.iter().find(|h| h.memory_mib <= v) {
                        let msg = format!(
                            "reserving {v} MiB leaves nothing on {} ({} MiB); ECS would refuse to \
                             register it",
                            small.instance_type, small.memory_mib
                        );
                        self.error("ecs.reserved_memory_mib", r.span(), msg);
                    }
                    v
                });
                let strategy = match e.placement_strategy {
                    None => Vec::new(),
                    Some(s) => self.strategy(s),
                };
                EcsSettings {
                    reserved_memory_mib: reserved.unwrap_or(0),
                    placement_strategy: strategy,
                    image_pull: self.duration(
                        "ecs.image_pull",
                        e.image_pull,
                        Defaults::ECS_IMAGE_PULL,
                    ),
                    container_start: self.duration(
                        "ecs.container_start",
                        e.container_start,
                        Defaults::ECS_CONTAINER_START,
                    ),
                }
            }
        };
        let fargate = match f.fargate {
            None => FargateSettings {
                provisioning: Defaults::FARGATE_PROVISIONING,
                image_pull: Defaults::FARGATE_IMAGE_PULL,
                container_start: Defaults::FARGATE_CONTAINER_START,
                spot: false,
            },
            Some(fs) => FargateSettings {
                provisioning: self.duration(
                    "fargate.provisioning",
                    fs.provisioning,
                    Defaults::FARGATE_PROVISIONING,
                ),
                image_pull: self.duration(
                    "fargate.image_pull",
                    fs.image_pull,
                    Defaults::FARGATE_IMAGE_PULL,
                ),
                container_start: self.duration(
                    "fargate.container_start",
                    fs.container_start,
                    Defaults::FARGATE_CONTAINER_START,
                ),
                spot: fs.spot.unwrap_or(false),
            },
        };
        let mut extra_costs = Vec::new();
        for (i, c) in f.costs.into_iter().enumerate() {
            let path = |k: &str| format!("costs[{i}].{k}");
            if c.name.get_ref().trim().is_empty() {
                self.error(path("name"), c.name.span(), "a cost line needs a name, e.g. \"ALB\"");
            }
            self.check_price(path("usd_per_hour"), &c.usd_per_hour);
            let (mut ecs_m, mut fargate_m) = (true, true);
            if let Some(m) = c.modes {
                ecs_m = false;
                fargate_m = false;
                for mode in m.get_ref() {
                    match mode.as_str() {
                        "ecs" => ecs_m = true,
                        "fargate" => fargate_m = true,
                        other => self.error_hint(
                            path("modes"),
                            m.span(),
                            format!("unknown mode {other:?}"),
                            "modes are \"ecs\" and \"fargate\"",
                        ),
                    }
                }
            }
            extra_costs.push(ExtraCost {
                name: c.name.get_ref().clone(),
                usd_per_hour: *c.usd_per_hour.get_ref(),
                applies_to_ecs: ecs_m,
                applies_to_fargate: fargate_m,
            });
        }
        Cluster { name: f.name.into_inner(), region, hosts, ecs, fargate, extra_costs }
    }

    fn hosts(
        &mut self,
        gi: usize,
        g: HostsSection,
        region: &str,
        catalog: &Catalog,
        out: &mut Vec<HostSpec>,
    ) {
        let path = |k: &str| format!("hosts[{gi}].{k}");
        let ty = g.instance_type.get_ref().clone();
        let ty_span = g.instance_type.span();
        let spec = catalog.ec2_spec(&ty);
        let priced = catalog.ec2_instance(region, &ty);
        if spec.is_none() && (g.vcpu.is_none() || g.memory_mib.is_none()) {
            let hint = match closest(&ty, catalog.all_ec2_types()) {
                Some(c) => format!("did you mean {c:?}? Or describe the type with vcpu, memory_mib and usd_per_hour"),
                None => format!(
                    "the catalog knows {}; for another type give vcpu, memory_mib and usd_per_hour",
                    catalog.all_ec2_types().join(", ")
                ),
            };
            self.error_hint(
                path("instance_type"),
                ty_span.clone(),
                format!("unknown instance type {ty:?}"),
                hint,
            );
        }
        let usd_per_hour = match (&g.usd_per_hour, &priced) {
            (Some(p), _) => {
                self.check_price(path("usd_per_hour"), p);
                *p.get_ref()
            }
            (None, Some(i)) => i.usd_per_hour,
            (None, None) => {
                if spec.is_some() {
                    let have: Vec<&str> = catalog
                        .ec2_rows()
                        .filter(|r| r.instance_type == ty)
                        .map(|r| r.region.as_str())
                        .collect();
                    self.error_hint(
                        path("instance_type"),
                        ty_span.clone(),
                        format!("the price catalog has no price for {ty} in {region}"),
                        format!(
                            "it has {ty} in {}; set usd_per_hour here, or give a price file with \
                             --prices (the reference has EC2 prices for us-east-1 only)",
                            have.join(", ")
                        ),
                    );
                } else if g.usd_per_hour.is_none() && g.vcpu.is_some() && g.memory_mib.is_some() {
                    self.error(
                        path("instance_type"),
                        ty_span.clone(),
                        format!("{ty} is not in the catalog, so usd_per_hour must be given"),
                    );
                }
                Usd::ZERO
            }
        };
        let vcpu = match &g.vcpu {
            Some(v) if *v.get_ref() == 0 => {
                self.error(path("vcpu"), v.span(), "a host needs at least 1 vCPU");
                1
            }
            Some(v) => *v.get_ref(),
            None => spec.map(|s| s.vcpu).unwrap_or(1),
        };
        let memory_mib = match &g.memory_mib {
            Some(v) if *v.get_ref() == 0 => {
                self.error(path("memory_mib"), v.span(), "a host needs some memory");
                1
            }
            Some(v) => *v.get_ref(),
            None => spec.map(|s| s.memory_mib).unwrap_or(1),
        };
        let arch = match &g.arch {
            None => spec.map(|s| s.arch).unwrap_or(CpuArch::X86_64),
            Some(a) => match crate::pricing::parse_arch_word(a.get_ref()) {
                Some(x) => {
                    if let Some(s) = spec {
                        if s.arch != x {
                            self.error(
                                path("arch"),
                                a.span(),
                                format!("{ty} is {}, not {}", arch_word(s.arch), a.get_ref()),
                            );
                        }
                    }
                    x
                }
                None => {
                    self.error_hint(
                        path("arch"),
                        a.span(),
                        format!("unknown architecture {:?}", a.get_ref()),
                        "expected \"x86_64\" or \"arm64\"",
                    );
                    CpuArch::X86_64
                }
            },
        };
        let os = match &g.os {
            None => OsFamily::Linux,
            Some(o) => match o.get_ref().to_ascii_lowercase().as_str() {
                "linux" => OsFamily::Linux,
                "windows" => OsFamily::Windows,
                other => {
                    self.error_hint(
                        path("os"),
                        o.span(),
                        format!("unknown OS {other:?}"),
                        "expected \"linux\" or \"windows\"",
                    );
                    OsFamily::Linux
                }
            },
        };
        if os == OsFamily::Windows && g.usd_per_hour.is_none() && priced.is_some() {
            // The catalog's EC2 prices are Linux on-demand prices; a Windows instance costs
            // more (the licence is included in its hourly price), and berth has no such price.
            // Billing the Linux price would understate the ECS bill.
            let at = g.os.as_ref().map(|o| o.span()).unwrap_or(ty_span.clone());
            self.error_hint(
                path("usd_per_hour"),
                at,
                format!(
                    "no Windows price for {ty} in {region}: the price catalog has Linux EC2 \
                     prices only"
                ),
                format!(
                    "set usd_per_hour in this [[hosts]] group to the Windows on-demand price of \
                     {ty} in {region} (licence included; AWS's EC2 on-demand pricing page lists it \
                     under Windows)"
                ),
            );
        }
        let zone = match &g.zone {
            Some(z) => {
                if !z.get_ref().starts_with(region) {
                    self.error_hint(
                        path("zone"),
                        z.span(),
                        format!("zone {:?} is not in region {region}", z.get_ref()),
                        format!("zones of {region} look like \"{region}a\""),
                    );
                }
                z.get_ref().clone()
            }
            None => format!("{region}a"),
        };
        let attributes = match g.attributes {
            None => BTreeMap::new(),
            Some(a) => {
                let span = a.span();
                let map = a.into_inner();
                for (k, v) in &map {
                    let bad_name = k.is_empty()
                        || k.len() > 128
                        || !k.chars().all(|c| c.is_ascii_alphanumeric() || "_/\\.-".contains(c));
                    if bad_name {
                        self.error_hint(
                            path(&format!("attributes.{k}")),
                            span.clone(),
                            format!("invalid attribute name {k:?}"),
                            "names are 1-128 characters: letters, digits, _ / \\ . -",
                        );
                    } else if k.starts_with("ecs.") {
                        self.error_hint(
                            path(&format!("attributes.{k}")),
                            span.clone(),
                            format!("{k:?} is a built-in attribute"),
                            "ECS sets ecs.* attributes itself (ecs.instance-type, ecs.availability-zone, ecs.os-type, ecs.cpu-architecture); use zone, instance_type, os and arch",
                        );
                    }
                    let bad_value = v.is_empty()
                        || v.len() > 128
                        || v.trim() != v
                        || !v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./\\@: ".contains(c));
                    if bad_value {
                        self.error_hint(
                            path(&format!("attributes.{k}")),
                            span.clone(),
                            format!("invalid attribute value {v:?}"),
                            "values are 1-128 characters: letters, digits, - _ . / \\ @ : and inner spaces",
                        );
                    }
                }
                map
            }
        };
        let docker = g.docker.map(|d| {
            if let Err(why) = check_docker_endpoint(d.get_ref()) {
                self.error_hint(
                    path("docker"),
                    d.span(),
                    format!("unsupported Docker endpoint {:?}: {why}", d.get_ref()),
                    DOCKER_ENDPOINTS,
                );
            }
            d.into_inner()
        });
        let count = match &g.count {
            None => 1,
            Some(c) => {
                let n = *c.get_ref();
                let total = out.len() as u64 + n as u64;
                if total > MAX_HOSTS as u64 {
                    let msg = if out.is_empty() {
                        format!(
                            "{} hosts; the limit is {} per cluster",
                            grouped(n.into()),
                            grouped(MAX_HOSTS.into())
                        )
                    } else {
                        format!(
                            "{} more hosts make {} in all; the limit is {} per cluster",
                            grouped(n.into()),
                            grouped(total),
                            grouped(MAX_HOSTS.into())
                        )
                    };
                    self.error_hint(path("count"), c.span(), msg, HOSTS_LIMIT_WHY);
                    // Expanding them would be the very allocation the limit prevents.
                    0
                } else {
                    n
                }
            }
        };
        for _ in 0..count {
            let n = out.len() as u32;
            out.push(HostSpec {
                id: HostId(n),
                instance_id: format!("i-{:016x}", n as u64 + 1),
                group: gi,
                instance_type: ty.clone(),
                vcpu,
                memory_mib,
                arch,
                os,
                zone: zone.clone(),
                attributes: attributes.clone(),
                usd_per_hour,
                docker: docker.clone(),
                gpus: g.gpus.unwrap_or(0),
            });
        }
    }

    fn strategy(&mut self, s: Spanned<Vec<StrategySection>>) -> Vec<StrategyRule> {
        let mut out = Vec::new();
        if s.get_ref().len() > 5 {
            self.error("ecs.placement_strategy", s.span(), "ECS allows at most 5 strategy rules");
        }
        for (i, r) in s.into_inner().into_iter().enumerate() {
            let path = |k: &str| format!("ecs.placement_strategy[{i}].{k}");
            match parse_rule(r.kind.get_ref(), r.field.as_ref().map(|f| f.get_ref().as_str())) {
                Ok(rule) => out.push(rule),
                Err(RuleError::Type(msg)) => self.error_hint(
                    path("type"),
                    r.kind.span(),
                    msg,
                    "types are binpack, spread and random",
                ),
                Err(RuleError::Field(msg, hint)) => {
                    let span = r.field.as_ref().map(|f| f.span()).unwrap_or(r.kind.span());
                    self.error_hint(path("field"), span, msg, hint)
                }
            }
        }
        out
    }
}

pub(crate) enum RuleError {
    Type(String),
    Field(String, String),
}

/// One strategy rule as ECS writes it: `type` and `field`.
pub(crate) fn parse_rule(kind: &str, field: Option<&str>) -> Result<StrategyRule, RuleError> {
    match kind {
        "binpack" => match field {
            Some("memory") => Ok(StrategyRule::Binpack(BinpackField::Memory)),
            Some("cpu") => Ok(StrategyRule::Binpack(BinpackField::Cpu)),
            Some(f) => Err(RuleError::Field(format!("binpack cannot use field {f:?}"), "binpack takes \"cpu\" or \"memory\"".into())),
            None => Err(RuleError::Field("binpack needs a field".into(), "binpack takes \"cpu\" or \"memory\"".into())),
        },
        "spread" => match field {
            Some("instanceId") | Some("host") => Ok(StrategyRule::Spread(SpreadField::InstanceId)),
            Some(f) if f.starts_with("attribute:") && f.len() > "attribute:".len() => {
                Ok(StrategyRule::Spread(SpreadField::Attribute(f["attribute:".len()..].to_string())))
            }
            Some(f) => Err(RuleError::Field(
                format!("spread cannot use field {f:?}"),
                "spread takes \"instanceId\", \"host\" or \"attribute:<name>\", e.g. \"attribute:ecs.availability-zone\"".into(),
            )),
            None => Err(RuleError::Field("spread needs a field".into(), "e.g. \"attribute:ecs.availability-zone\" or \"instanceId\"".into())),
        },
        "random" => match field {
            None => Ok(StrategyRule::Random),
            Some(f) => Err(RuleError::Field(format!("random takes no field (got {f:?})"), "remove the field".into())),
        },
        other => Err(RuleError::Type(format!("unknown strategy type {other:?}"))),
    }
}

/// Parses the command-line form `binpack:memory`, `spread:attribute:ecs.availability-zone`,
/// `spread:instanceId`, `random`.
pub fn parse_strategy_arg(s: &str) -> Result<StrategyRule, String> {
    let (kind, field) = match s.split_once(':') {
        Some((k, f)) => (k, Some(f)),
        None => (s, None),
    };
    parse_rule(kind, field).map_err(|e| match e {
        RuleError::Type(m) => format!("{m}; types are binpack, spread and random"),
        RuleError::Field(m, h) => format!("{m}; {h}"),
    })
}

fn arch_word(a: CpuArch) -> &'static str {
    match a {
        CpuArch::X86_64 => "x86_64",
        CpuArch::Arm64 => "arm64",
    }
}

#[cfg(test)]
mod tests;
