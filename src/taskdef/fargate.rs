//! The valid Fargate task sizes and the rounding-up rule.
//!
//! Source: the ECS API reference (`RegisterTaskDefinition.memory`) and the "invalid CPU or
//! memory" troubleshooting page, as collected in `shared/reference/ecs-semantics.md` §2.1:
//! 74 CPU/memory pairs on Linux, 43 on Windows (Windows needs at least 1 vCPU; 8 and 16 vCPU are
//! Linux only). The unconfirmed 32 vCPU row is left out on purpose.

use serde::{Deserialize, Serialize};

use super::model::OsFamily;

/// A task size Fargate accepts: CPU units and memory in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FargateSize {
    pub cpu_units: u32,
    pub memory_mib: u32,
}

impl FargateSize {
    /// vCPU as a decimal string the way people say it ("0.25", "1", "16").
    pub fn vcpu_label(&self) -> String {
        match self.cpu_units {
            256 => "0.25".into(),
            512 => "0.5".into(),
            n => (n / 1024).to_string(),
        }
    }

    /// "0.25 vCPU / 0.5 GB", the way the AWS console shows a size.
    pub fn label(&self) -> String {
        let gb = self.memory_mib as f64 / 1024.0;
        format!("{} vCPU / {} GB", self.vcpu_label(), trim_float(gb))
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One CPU row: the memory values (MiB) allowed with it.
struct Row {
    cpu_units: u32,
    memory_min_mib: u32,
    memory_max_mib: u32,
    memory_step_mib: u32,
    windows: bool,
}

const ROWS: &[Row] = &[
    // 0.25 vCPU: 0.5, 1, 2 GB (not a regular step, handled in `memory_values`).
    Row {
        cpu_units: 256,
        memory_min_mib: 512,
        memory_max_mib: 2048,
        memory_step_mib: 0,
        windows: false,
    },
    Row {
        cpu_units: 512,
        memory_min_mib: 1024,
        memory_max_mib: 4096,
        memory_step_mib: 1024,
        windows: false,
    },
    Row {
        cpu_units: 1024,
        memory_min_mib: 2048,
        memory_max_mib: 8192,
        memory_step_mib: 1024,
        windows: true,
    },
    Row {
        cpu_units: 2048,
        memory_min_mib: 4096,
        memory_max_mib: 16384,
        memory_step_mib: 1024,
        windows: true,
    },
    Row {
        cpu_units: 4096,
        memory_min_mib: 8192,
        memory_max_mib: 30720,
        memory_step_mib: 1024,
        windows: true,
    },
    Row {
        cpu_units: 8192,
        memory_min_mib: 16384,
        memory_max_mib: 61440,
        memory_step_mib: 4096,
        windows: false,
    },
    Row {
        cpu_units: 16384,
        memory_min_mib: 32768,
        memory_max_mib: 122880,
        memory_step_mib: 8192,
        windows: false,
    },
];

fn memory_values(row: &Row) -> Vec<u32> {
    if row.memory_step_mib == 0 {
        return vec![512, 1024, 2048];
    }
    (row.memory_min_mib..=row.memory_max_mib).step_by(row.memory_step_mib as usize).collect()
}

/// Every valid size for an operating system, ordered by CPU then memory.
pub fn valid_sizes(os: OsFamily) -> Vec<FargateSize> {
    ROWS.iter()
        .filter(|r| os == OsFamily::Linux || r.windows)
        .flat_map(|r| {
            memory_values(r)
                .into_iter()
                .map(move |m| FargateSize { cpu_units: r.cpu_units, memory_mib: m })
        })
        .collect()
}

/// Whether `cpu_units`/`memory_mib` is one of the exact pairs Fargate accepts.
pub fn is_valid_size(os: OsFamily, cpu_units: u32, memory_mib: u32) -> bool {
    valid_sizes(os).contains(&FargateSize { cpu_units, memory_mib })
}

/// The memory values (MiB) valid with a CPU value, or empty if the CPU value itself is invalid.
pub fn memory_options(os: OsFamily, cpu_units: u32) -> Vec<u32> {
    valid_sizes(os).into_iter().filter(|s| s.cpu_units == cpu_units).map(|s| s.memory_mib).collect()
}

/// The cheapest valid size that holds `cpu_units` and `memory_mib`, as AWS's sizing advice says:
/// sum the containers' reservations and round up. "Cheapest" is by the x86 Linux price weights
/// (one vCPU costs about as much as 9 GB), which for these rows is also the smallest CPU first,
/// then the smallest memory. `None` when nothing is big enough.
pub fn smallest_fitting(os: OsFamily, cpu_units: u32, memory_mib: u32) -> Option<FargateSize> {
    valid_sizes(os)
        .into_iter()
        .filter(|s| s.cpu_units >= cpu_units && s.memory_mib >= memory_mib)
        .min_by_key(|s| {
            // Weights in micro-dollars per hour of us-east-1 Linux x86 (0.04048 per vCPU-hour,
            // 0.004445 per GB-hour); only the order matters.
            (s.cpu_units as u64) * 40_480 / 1024 + (s.memory_mib as u64) * 4_445 / 1024
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_aws() {
        assert_eq!(valid_sizes(OsFamily::Linux).len(), 74);
        assert_eq!(valid_sizes(OsFamily::Windows).len(), 43);
    }

    #[test]
    fn exact_pairs() {
        assert!(is_valid_size(OsFamily::Linux, 256, 512));
        assert!(!is_valid_size(OsFamily::Linux, 256, 4096));
        assert!(is_valid_size(OsFamily::Linux, 8192, 20480));
        assert!(!is_valid_size(OsFamily::Linux, 8192, 18432));
        assert!(!is_valid_size(OsFamily::Windows, 512, 1024));
    }

    #[test]
    fn rounding_up() {
        // 300 units and 600 MiB: 0.25 vCPU is too small, so 0.5 vCPU with 1 GB.
        assert_eq!(
            smallest_fitting(OsFamily::Linux, 300, 600),
            Some(FargateSize { cpu_units: 512, memory_mib: 1024 })
        );
        // 128 units and 3 GB: 0.25 vCPU tops out at 2 GB, so 0.5 vCPU with 3 GB.
        assert_eq!(
            smallest_fitting(OsFamily::Linux, 128, 3072),
            Some(FargateSize { cpu_units: 512, memory_mib: 3072 })
        );
        assert_eq!(
            smallest_fitting(OsFamily::Linux, 0, 0),
            Some(FargateSize { cpu_units: 256, memory_mib: 512 })
        );
        assert_eq!(smallest_fitting(OsFamily::Linux, 20000, 512), None);
        assert_eq!(
            smallest_fitting(OsFamily::Windows, 0, 0),
            Some(FargateSize { cpu_units: 1024, memory_mib: 2048 })
        );
        assert_eq!(FargateSize { cpu_units: 256, memory_mib: 512 }.label(), "0.25 vCPU / 0.5 GB");
    }
}
