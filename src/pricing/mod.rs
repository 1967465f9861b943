//! The price catalog and the billing rules: what a Fargate task or an EC2 host costs.
//!
//! The catalog is built in (`builtin.toml`, compiled into the binary, every row dated and
//! sourced from `shared/reference/pricing.md`) and can be overridden or extended by a user price
//! file in the same format (`--prices FILE`). Money is exact ([`Usd`]); rounding happens only
//! when a report is displayed.
//!
//! Billing rules (see `docs/cost-model.md`):
//! - Fargate: the *requested* task size, per second (rounded up) with a minimum (1 minute on
//!   Linux, 5 minutes on Windows by default), from the start of the image pull to the stop.
//!   One rate source everywhere: the hourly list prices, billed per second as
//!   hourly × seconds / 3600 in exact decimals. (AWS's pricing-page examples use rounded
//!   per-second values, 0.000011244 for 0.04048 / 3600 = 0.0000112444…, which drift from the
//!   list price by up to 0.1 %; berth used them in us-east-1 only, mixing two sources.)
//! - EC2: per second with a 60-second minimum, for as long as the host is up, busy or idle.

mod file;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::diag::FileError;
use crate::money::{seconds_per_hour, Decimal, Usd};
use crate::taskdef::fargate::FargateSize;
use crate::taskdef::model::{CpuArch, OsFamily};
use crate::time::SimDuration;

pub use file::{parse_arch as parse_arch_word, parse_price_file};

/// Where a figure comes from, shown in reports and docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Provenance {
    pub source: String,
    /// The date the source states (`2022-11-21`), or `undated`.
    pub as_of: String,
    /// `high`, `medium`, `low` (see pricing.md's confidence tags), or `user` for price files.
    pub confidence: String,
}

/// The storage rate for Fargate ephemeral storage beyond the free allowance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageRate {
    pub usd_per_gb_hour: Usd,
    pub provenance: Provenance,
}

/// Fargate rates for one region, OS, architecture and purchase option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FargateRate {
    pub region: String,
    pub os: OsFamily,
    pub arch: CpuArch,
    pub spot: bool,
    pub usd_per_vcpu_hour: Usd,
    pub usd_per_gb_hour: Usd,
    /// Windows licence fee per vCPU-hour; zero on Linux.
    pub os_license_usd_per_vcpu_hour: Usd,
    /// Ephemeral storage beyond `free_ephemeral_gib`.
    pub storage: StorageRate,
    pub free_ephemeral_gib: u32,
    /// Billing minimum per task (1 minute on Linux, 5 minutes on Windows by default).
    pub minimum: SimDuration,
    pub provenance: Provenance,
    /// Caveats a report should show (e.g. a storage rate borrowed from another region).
    pub notes: Vec<String>,
}

/// What one Fargate task costs, by price dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct FargateCharge {
    pub vcpu_usd: Usd,
    pub memory_usd: Usd,
    pub ephemeral_storage_usd: Usd,
    pub os_license_usd: Usd,
    /// Seconds billed: the run time rounded up to the second, at least the minimum.
    pub billed_seconds: u64,
}

impl FargateCharge {
    pub fn total(&self) -> Usd {
        self.vcpu_usd + self.memory_usd + self.ephemeral_storage_usd + self.os_license_usd
    }
}

impl std::ops::Add for FargateCharge {
    type Output = FargateCharge;
    fn add(self, o: FargateCharge) -> FargateCharge {
        FargateCharge {
            vcpu_usd: self.vcpu_usd + o.vcpu_usd,
            memory_usd: self.memory_usd + o.memory_usd,
            ephemeral_storage_usd: self.ephemeral_storage_usd + o.ephemeral_storage_usd,
            os_license_usd: self.os_license_usd + o.os_license_usd,
            billed_seconds: self.billed_seconds + o.billed_seconds,
        }
    }
}

impl FargateRate {
    /// The charge for one task of `size` whose billed period (image pull start to stop) lasted
    /// `ran`, with `ephemeral_gib` of ephemeral storage configured (20 or less costs nothing
    /// extra). The minimum applies even to a task that ran less: AWS bills at least the minimum
    /// for every task that started pulling. Callers skip tasks that never reached the pull.
    pub fn charge(&self, size: FargateSize, ran: SimDuration, ephemeral_gib: u32) -> FargateCharge {
        let billed_seconds = ran.as_secs_ceil().max(self.minimum.as_secs_ceil());
        let secs = Decimal::from(billed_seconds);
        let vcpu = Decimal::from(size.cpu_units) / Decimal::from(1024);
        let gb = Decimal::from(size.memory_mib) / Decimal::from(1024);
        let extra_gb = Decimal::from(ephemeral_gib.saturating_sub(self.free_ephemeral_gib));
        FargateCharge {
            vcpu_usd: cost(vcpu, secs, self.usd_per_vcpu_hour),
            memory_usd: cost(gb, secs, self.usd_per_gb_hour),
            ephemeral_storage_usd: cost(extra_gb, secs, self.storage.usd_per_gb_hour),
            os_license_usd: cost(vcpu, secs, self.os_license_usd_per_vcpu_hour),
            billed_seconds,
        }
    }

    /// The hourly price of a task of `size` (no storage), for "what would this cost per hour".
    pub fn hourly(&self, size: FargateSize) -> Usd {
        let vcpu = Decimal::from(size.cpu_units) / Decimal::from(1024);
        let gb = Decimal::from(size.memory_mib) / Decimal::from(1024);
        vcpu * (self.usd_per_vcpu_hour + self.os_license_usd_per_vcpu_hour)
            + gb * self.usd_per_gb_hour
    }
}

/// quantity × seconds × hourly rate / 3600: per-second billing derived from the hourly list
/// price (multiplied out before the division, so whole-hour amounts stay exact).
fn cost(quantity: Decimal, secs: Decimal, per_hour: Usd) -> Usd {
    if quantity.is_zero() || per_hour.is_zero() {
        return Decimal::ZERO;
    }
    quantity * secs * per_hour / seconds_per_hour()
}

/// The EC2 charge for a host that was up for `up`: per second, rounded up, with a 60-second
/// minimum each time it starts; zero if it never came up.
pub fn ec2_charge(usd_per_hour: Usd, up: SimDuration) -> Usd {
    ec2_charge_with_minimum(usd_per_hour, up, SimDuration::from_secs(60))
}

/// [`ec2_charge`] with another minimum (a price file may change it).
pub fn ec2_charge_with_minimum(usd_per_hour: Usd, up: SimDuration, minimum: SimDuration) -> Usd {
    if up == SimDuration::ZERO {
        return Decimal::ZERO;
    }
    let secs = up.as_secs_ceil().max(minimum.as_secs_ceil());
    usd_per_hour * Decimal::from(secs) / seconds_per_hour()
}

/// An EC2 instance type as the catalog knows it in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ec2Instance {
    pub region: String,
    pub instance_type: String,
    pub vcpu: u32,
    pub memory_mib: u32,
    pub arch: CpuArch,
    pub usd_per_hour: Usd,
    pub provenance: Provenance,
}

/// The hardware of an instance type, which does not depend on the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ec2Spec {
    pub vcpu: u32,
    pub memory_mib: u32,
    pub arch: CpuArch,
}

/// Billing parameters a price file may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingRules {
    pub fargate_linux_minimum: SimDuration,
    pub fargate_windows_minimum: SimDuration,
    pub ec2_minimum: SimDuration,
    pub fargate_free_ephemeral_gib: u32,
}

impl Default for BillingRules {
    fn default() -> Self {
        BillingRules {
            fargate_linux_minimum: SimDuration::from_secs(60),
            fargate_windows_minimum: SimDuration::from_secs(300),
            ec2_minimum: SimDuration::from_secs(60),
            fargate_free_ephemeral_gib: 20,
        }
    }
}

/// A Fargate rate row before billing rules and storage are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FargateRow {
    pub usd_per_vcpu_hour: Usd,
    pub usd_per_gb_hour: Usd,
    pub os_license_usd_per_vcpu_hour: Usd,
    pub provenance: Provenance,
}

type FargateKey = (String, OsFamily, CpuArch, bool);

/// All prices berth knows: built in, plus any user price file.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(crate) fargate: BTreeMap<FargateKey, FargateRow>,
    pub(crate) storage: BTreeMap<String, StorageRate>,
    pub(crate) ec2: BTreeMap<(String, String), Ec2Instance>,
    pub billing: BillingRules,
}

const BUILTIN: &str = include_str!("builtin.toml");

/// Why there is no price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("Fargate does not run Windows on ARM (arm64); use x86_64 for Windows tasks")]
    WindowsArm,
    #[error("Fargate Spot runs Linux tasks only; Windows tasks need on-demand Fargate")]
    SpotWindows,
    #[error(
        "no {what} price for {os}/{arch} in {region} in the price catalog{known}; \
         add a [[fargate]] row for it to a price file (--prices FILE, see docs/cost-model.md)"
    )]
    NoFargateRate { what: &'static str, region: String, os: String, arch: String, known: String },
}

impl Catalog {
    /// The catalog compiled into berth (see `builtin.toml` for every row and its source).
    pub fn builtin() -> Catalog {
        let empty = Catalog {
            fargate: BTreeMap::new(),
            storage: BTreeMap::new(),
            ec2: BTreeMap::new(),
            billing: BillingRules::default(),
        };
        empty
            .with_overrides_str("<built-in price catalog>", BUILTIN)
            .expect("the built-in price catalog parses (tested)")
    }

    /// This catalog with a user price file applied: rows with the same key (region + OS + arch +
    /// spot for Fargate, region + instance type for EC2) replace built-in ones, new rows extend
    /// the catalog, and `[billing]` keys replace the rules they name.
    pub fn with_overrides(self, path: &Path) -> Result<Catalog, FileError> {
        let text = std::fs::read_to_string(path).map_err(|e| FileError::io(path, &e))?;
        self.with_overrides_str(path, &text)
    }

    /// [`Catalog::with_overrides`] on text already read; `label` names the file in errors.
    pub fn with_overrides_str(
        self,
        label: impl AsRef<Path>,
        text: &str,
    ) -> Result<Catalog, FileError> {
        parse_price_file(label.as_ref(), text, self)
    }

    /// The Fargate rate for a task in `region` with this OS and architecture, on-demand or Spot.
    pub fn fargate_rate(
        &self,
        region: &str,
        os: OsFamily,
        arch: CpuArch,
        spot: bool,
    ) -> Result<FargateRate, PriceError> {
        if os == OsFamily::Windows && arch == CpuArch::Arm64 {
            return Err(PriceError::WindowsArm);
        }
        if os == OsFamily::Windows && spot {
            return Err(PriceError::SpotWindows);
        }
        let key = (region.to_string(), os, arch, spot);
        let Some(row) = self.fargate.get(&key) else {
            let known: Vec<String> = self
                .fargate
                .keys()
                .filter(|(_, o, a, s)| *o == os && *a == arch && *s == spot)
                .map(|(r, ..)| r.clone())
                .collect();
            return Err(PriceError::NoFargateRate {
                what: if spot { "Fargate Spot" } else { "Fargate" },
                region: region.to_string(),
                os: os_word(os).to_string(),
                arch: arch_word(arch).to_string(),
                known: if known.is_empty() {
                    String::new()
                } else {
                    format!(" (it has {}: {})", "these regions", known.join(", "))
                },
            });
        };
        let mut notes = Vec::new();
        let storage = match self.storage.get(region) {
            Some(s) => s.clone(),
            None => {
                let (from, s) = self
                    .storage
                    .get("us-east-1")
                    .map(|s| ("us-east-1", s.clone()))
                    .or_else(|| self.storage.iter().next().map(|(r, s)| (r.as_str(), s.clone())))
                    .unwrap_or((
                        "nowhere",
                        StorageRate {
                            usd_per_gb_hour: Decimal::ZERO,
                            provenance: Provenance::default(),
                        },
                    ));
                notes.push(format!(
                    "no Fargate ephemeral storage rate for {region} in the catalog; storage above \
                     {} GiB is priced at {from}'s ${}/GB-hour (add a [[fargate_storage]] row to a \
                     price file to set it)",
                    self.billing.fargate_free_ephemeral_gib,
                    s.usd_per_gb_hour.normalize()
                ));
                s
            }
        };
        if spot {
            notes.push(format!(
                "Fargate Spot prices move over time; this one is a snapshot dated {}",
                row.provenance.as_of
            ));
        }
        Ok(FargateRate {
            region: region.to_string(),
            os,
            arch,
            spot,
            usd_per_vcpu_hour: row.usd_per_vcpu_hour,
            usd_per_gb_hour: row.usd_per_gb_hour,
            os_license_usd_per_vcpu_hour: row.os_license_usd_per_vcpu_hour,
            storage,
            free_ephemeral_gib: self.billing.fargate_free_ephemeral_gib,
            minimum: match os {
                OsFamily::Linux => self.billing.fargate_linux_minimum,
                OsFamily::Windows => self.billing.fargate_windows_minimum,
            },
            provenance: row.provenance.clone(),
            notes,
        })
    }

    /// An EC2 instance type with its price in `region`, if the catalog has that price.
    pub fn ec2_instance(&self, region: &str, instance_type: &str) -> Option<Ec2Instance> {
        self.ec2.get(&(region.to_string(), instance_type.to_string())).cloned()
    }

    /// The hardware of an instance type from any region's row (specs do not vary by region).
    pub fn ec2_spec(&self, instance_type: &str) -> Option<Ec2Spec> {
        self.ec2.values().find(|i| i.instance_type == instance_type).map(|i| Ec2Spec {
            vcpu: i.vcpu,
            memory_mib: i.memory_mib,
            arch: i.arch,
        })
    }

    /// Instance types priced in `region`, sorted.
    pub fn ec2_types(&self, region: &str) -> Vec<&str> {
        self.ec2.keys().filter(|(r, _)| r == region).map(|(_, t)| t.as_str()).collect()
    }

    /// Every instance type the catalog knows the hardware of, sorted and deduplicated.
    pub fn all_ec2_types(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.ec2.keys().map(|(_, t)| t.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// [`ec2_charge`] with this catalog's EC2 minimum (60 s unless a price file changed it).
    pub fn ec2_charge(&self, usd_per_hour: Usd, up: SimDuration) -> Usd {
        ec2_charge_with_minimum(usd_per_hour, up, self.billing.ec2_minimum)
    }

    /// Every EC2 row, for docs and `--prices` listings.
    pub fn ec2_rows(&self) -> impl Iterator<Item = &Ec2Instance> {
        self.ec2.values()
    }
}

pub(crate) fn os_word(os: OsFamily) -> &'static str {
    match os {
        OsFamily::Linux => "linux",
        OsFamily::Windows => "windows",
    }
}

pub(crate) fn arch_word(arch: CpuArch) -> &'static str {
    match arch {
        CpuArch::X86_64 => "x86_64",
        CpuArch::Arm64 => "arm64",
    }
}

#[cfg(test)]
mod tests;
