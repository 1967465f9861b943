//! Price files: the TOML format of `builtin.toml` and of user files given with `--prices`.
//!
//! ```toml
//! [billing]                       # optional; each key replaces one rule
//! fargate_windows_minimum = "15m"
//!
//! [[fargate]]                     # key: region + os + arch + spot
//! region = "eu-central-1"
//! os = "linux"                    # linux | windows
//! arch = "x86_64"                 # x86_64 | arm64
//! spot = false
//! usd_per_vcpu_hour = "0.04656"   # hourly list prices, read as exact decimals
//! usd_per_gb_hour = "0.00511"
//!
//! [[ec2]]                         # key: region + instance_type
//! region = "eu-west-1"
//! instance_type = "m5.large"      # vcpu/memory_mib/arch may be left out for a known type
//! usd_per_hour = "0.107"
//! ```

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Catalog, Ec2Instance, FargateRow, Provenance, StorageRate};
use crate::cluster::tomlerr::toml_file_error;
use crate::diag::{Diagnostic, FileError, Pos};
use crate::money::{Decimal, Usd};
use crate::taskdef::model::{CpuArch, OsFamily};
use crate::time::parse_duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    billing: Option<BillingSection>,
    #[serde(default)]
    fargate: Vec<FargateSection>,
    #[serde(default)]
    fargate_storage: Vec<StorageSection>,
    #[serde(default)]
    ec2: Vec<Ec2Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BillingSection {
    fargate_linux_minimum: Option<Spanned<String>>,
    fargate_windows_minimum: Option<Spanned<String>>,
    ec2_minimum: Option<Spanned<String>>,
    fargate_free_ephemeral_gib: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FargateSection {
    region: String,
    os: Spanned<String>,
    arch: Spanned<String>,
    #[serde(default)]
    spot: bool,
    usd_per_vcpu_hour: Spanned<Usd>,
    usd_per_gb_hour: Spanned<Usd>,
    os_license_usd_per_vcpu_hour: Option<Spanned<Usd>>,
    usd_per_vcpu_second: Option<Spanned<Usd>>,
    usd_per_gb_second: Option<Spanned<Usd>>,
    os_license_usd_per_vcpu_second: Option<Spanned<Usd>>,
    source: Option<String>,
    as_of: Option<String>,
    confidence: Option<String>,
    /// Free text for people reading the file.
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    region: String,
    usd_per_gb_hour: Spanned<Usd>,
    usd_per_gb_second: Option<Spanned<Usd>>,
    source: Option<String>,
    as_of: Option<String>,
    confidence: Option<String>,
    /// Free text for people reading the file.
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ec2Section {
    region: String,
    instance_type: Spanned<String>,
    usd_per_hour: Spanned<Usd>,
    vcpu: Option<Spanned<u32>>,
    memory_mib: Option<Spanned<u32>>,
    arch: Option<Spanned<String>>,
    source: Option<String>,
    as_of: Option<String>,
    confidence: Option<String>,
    /// Free text for people reading the file.
    #[allow(dead_code)]
    note: Option<String>,
}

fn provenance(
    source: Option<String>,
    as_of: Option<String>,
    confidence: Option<String>,
    default_source: &str,
) -> Provenance {
    Provenance {
        source: source.unwrap_or_else(|| default_source.to_string()),
        as_of: as_of.unwrap_or_else(|| "undated".to_string()),
        confidence: confidence.unwrap_or_else(|| "user".to_string()),
    }
}

pub(crate) fn parse_os(s: &str) -> Option<OsFamily> {
    match s.to_ascii_lowercase().as_str() {
        "linux" => Some(OsFamily::Linux),
        "windows" => Some(OsFamily::Windows),
        _ => None,
    }
}

pub fn parse_arch(s: &str) -> Option<CpuArch> {
    match s.to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" | "amd64" | "x86" => Some(CpuArch::X86_64),
        "arm64" | "aarch64" | "arm" | "graviton" => Some(CpuArch::Arm64),
        _ => None,
    }
}

/// berth bills per second from the hourly list price; a second, rounded per-second rate would
/// be a second rate source that disagrees with the first (see `docs/cost-model.md`).
fn per_second_refused(path: String, at: Pos) -> Diagnostic {
    Diagnostic::error(path, at, "per-second rates are not accepted")
        .with_hint("give the hourly list price (the *_hour key); berth bills per second from it")
}

/// Applies the price file `text` on top of `base`. Every problem found is reported at its spot.
pub fn parse_price_file(label: &Path, text: &str, base: Catalog) -> Result<Catalog, FileError> {
    let file: PriceFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => return Err(toml_file_error(label, text, &e)),
    };
    let mut cat = base;
    let mut diags = Vec::new();
    let source = format!("price file {}", label.display());
    let at = |span: std::ops::Range<usize>| Pos::of_offset(text, span.start);

    if let Some(b) = file.billing {
        for (key, value, slot) in [
            (
                "fargate_linux_minimum",
                b.fargate_linux_minimum,
                &mut cat.billing.fargate_linux_minimum,
            ),
            (
                "fargate_windows_minimum",
                b.fargate_windows_minimum,
                &mut cat.billing.fargate_windows_minimum,
            ),
            ("ec2_minimum", b.ec2_minimum, &mut cat.billing.ec2_minimum),
        ] {
            if let Some(v) = value {
                match parse_duration(v.get_ref()) {
                    Ok(d) => *slot = d,
                    Err(e) => diags.push(Diagnostic::error(
                        format!("billing.{key}"),
                        at(v.span()),
                        e.to_string(),
                    )),
                }
            }
        }
        if let Some(g) = b.fargate_free_ephemeral_gib {
            cat.billing.fargate_free_ephemeral_gib = g;
        }
    }

    let check_money = |diags: &mut Vec<Diagnostic>, path: String, v: &Spanned<Usd>| {
        let raw = text.get(v.span()).unwrap_or("");
        if let Err((msg, hint)) = crate::money::check_price(raw, *v.get_ref()) {
            diags.push(Diagnostic::error(path, at(v.span()), msg).with_hint(hint));
        }
    };

    for (i, f) in file.fargate.into_iter().enumerate() {
        let p = |k: &str| format!("fargate[{i}].{k}");
        let os = parse_os(f.os.get_ref());
        if os.is_none() {
            diags.push(
                Diagnostic::error(
                    p("os"),
                    at(f.os.span()),
                    format!("unknown OS {:?}", f.os.get_ref()),
                )
                .with_hint("expected \"linux\" or \"windows\""),
            );
        }
        let arch = parse_arch(f.arch.get_ref());
        if arch.is_none() {
            diags.push(
                Diagnostic::error(
                    p("arch"),
                    at(f.arch.span()),
                    format!("unknown architecture {:?}", f.arch.get_ref()),
                )
                .with_hint("expected \"x86_64\" or \"arm64\""),
            );
        }
        for (k, v) in [
            ("usd_per_vcpu_hour", Some(&f.usd_per_vcpu_hour)),
            ("usd_per_gb_hour", Some(&f.usd_per_gb_hour)),
            ("os_license_usd_per_vcpu_hour", f.os_license_usd_per_vcpu_hour.as_ref()),
        ] {
            if let Some(v) = v {
                check_money(&mut diags, p(k), v);
            }
        }
        for (k, v) in [
            ("usd_per_vcpu_second", &f.usd_per_vcpu_second),
            ("usd_per_gb_second", &f.usd_per_gb_second),
            ("os_license_usd_per_vcpu_second", &f.os_license_usd_per_vcpu_second),
        ] {
            if let Some(v) = v {
                diags.push(per_second_refused(p(k), at(v.span())));
            }
        }
        let (Some(os), Some(arch)) = (os, arch) else { continue };
        cat.fargate.insert(
            (f.region, os, arch, f.spot),
            FargateRow {
                usd_per_vcpu_hour: *f.usd_per_vcpu_hour.get_ref(),
                usd_per_gb_hour: *f.usd_per_gb_hour.get_ref(),
                os_license_usd_per_vcpu_hour: f
                    .os_license_usd_per_vcpu_hour
                    .map(|v| *v.get_ref())
                    .unwrap_or(Decimal::ZERO),
                provenance: provenance(f.source, f.as_of, f.confidence, &source),
            },
        );
    }

    for (i, s) in file.fargate_storage.into_iter().enumerate() {
        if let Some(v) = &s.usd_per_gb_second {
            diags.push(per_second_refused(
                format!("fargate_storage[{i}].usd_per_gb_second"),
                at(v.span()),
            ));
        }
        check_money(
            &mut diags,
            format!("fargate_storage[{i}].usd_per_gb_hour"),
            &s.usd_per_gb_hour,
        );
        cat.storage.insert(
            s.region,
            StorageRate {
                usd_per_gb_hour: *s.usd_per_gb_hour.get_ref(),
                provenance: provenance(s.source, s.as_of, s.confidence, &source),
            },
        );
    }

    for (i, e) in file.ec2.into_iter().enumerate() {
        let p = |k: &str| format!("ec2[{i}].{k}");
        check_money(&mut diags, p("usd_per_hour"), &e.usd_per_hour);
        let ty = e.instance_type.get_ref().clone();
        let known = cat.ec2_spec(&ty);
        let arch = match &e.arch {
            Some(a) => match parse_arch(a.get_ref()) {
                Some(a) => Some(a),
                None => {
                    diags.push(
                        Diagnostic::error(
                            p("arch"),
                            at(a.span()),
                            format!("unknown architecture {:?}", a.get_ref()),
                        )
                        .with_hint("expected \"x86_64\" or \"arm64\""),
                    );
                    continue;
                }
            },
            None => known.map(|k| k.arch),
        };
        let vcpu = e.vcpu.as_ref().map(|v| *v.get_ref()).or(known.map(|k| k.vcpu));
        let memory_mib =
            e.memory_mib.as_ref().map(|v| *v.get_ref()).or(known.map(|k| k.memory_mib));
        for (k, v) in [("vcpu", &e.vcpu), ("memory_mib", &e.memory_mib)] {
            if let Some(v) = v {
                if *v.get_ref() == 0 {
                    diags.push(Diagnostic::error(p(k), at(v.span()), "must be at least 1"));
                }
            }
        }
        let (Some(vcpu), Some(memory_mib), Some(arch)) = (vcpu, memory_mib, arch) else {
            let missing: Vec<&str> = [
                ("vcpu", vcpu.is_none()),
                ("memory_mib", memory_mib.is_none()),
                ("arch", arch.is_none()),
            ]
            .into_iter()
            .filter(|(_, m)| *m)
            .map(|(k, _)| k)
            .collect();
            diags.push(Diagnostic::error(
                p("instance_type"),
                at(e.instance_type.span()),
                format!(
                    "instance type {ty:?} is not in the catalog, so {} must be given",
                    missing.join(", ")
                ),
            ));
            continue;
        };
        cat.ec2.insert(
            (e.region.clone(), ty.clone()),
            Ec2Instance {
                region: e.region,
                instance_type: ty,
                vcpu,
                memory_mib,
                arch,
                usd_per_hour: *e.usd_per_hour.get_ref(),
                provenance: provenance(e.source, e.as_of, e.confidence, &source),
            },
        );
    }

    if diags.is_empty() {
        Ok(cat)
    } else {
        Err(FileError::new(label, diags))
    }
}
