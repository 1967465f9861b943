//! Measured CPU and memory of running containers, read from cgroup files.
//!
//! Reading a container's cgroup files costs microseconds; Docker's stats API costs ~1 s of
//! latency per one-shot call on dockerd 20.10 and ~4 ms of daemon CPU per streamed sample
//! (performance.md §3.2). So berth finds each container's cgroup once, through
//! `/proc/<pid>/cgroup` of the container's main process (which works for cgroup v1, v2 and
//! hybrid layouts, for both the cgroupfs and systemd drivers, and for custom cgroup parents),
//! then reads two small files per sample:
//! - v1: `cpuacct/<path>/cpuacct.usage` (ns) and `memory/<path>/memory.usage_in_bytes` minus
//!   `total_inactive_file` from `memory.stat` (what `docker stats` shows);
//! - v2: `<path>/cpu.stat` `usage_usec` and `<path>/memory.current` minus `inactive_file`.
//!
//! When the files are not readable (a remote engine, berth in another PID namespace), the
//! caller falls back to one-shot stats through the API: [`one_shot`].

use std::path::{Path, PathBuf};

use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One reading: cumulative CPU time and current memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub cpu_ns: u64,
    pub memory_bytes: u64,
}

/// Where a container's counters live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupProbe {
    V1 { cpuacct: PathBuf, memory: PathBuf },
    V2 { dir: PathBuf },
}

impl CgroupProbe {
    /// Finds the cgroup of container `id` through its main process `pid` (`State.Pid`).
    pub fn for_container(pid: i64, id: &str) -> Option<CgroupProbe> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        Self::from_proc_cgroup(Path::new(CGROUP_ROOT), &text, id)
    }

    /// Parses `/proc/<pid>/cgroup` against a cgroup mount root; checks the files exist.
    ///
    /// Only paths that contain the container id count (Docker's cgroupfs, systemd and
    /// cgroup-parent layouts all name the cgroup after the container). That matters: a process
    /// that is exiting is moved to the root cgroup, and reading the root's counters would report
    /// the whole machine's CPU and memory as the container's.
    pub fn from_proc_cgroup(root: &Path, text: &str, id: &str) -> Option<CgroupProbe> {
        let mut cpuacct = None;
        let mut memory = None;
        let mut unified = None;
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            let rel = path.trim_start_matches('/');
            if id.is_empty() || !rel.contains(id) {
                continue;
            }
            if ctrls.is_empty() {
                unified = Some(rel.to_string());
                continue;
            }
            for c in ctrls.split(',') {
                // The hierarchy may be mounted under its joined name ("cpu,cpuacct") or each
                // controller's own name (often symlinks to it).
                let dirs = [root.join(ctrls).join(rel), root.join(c).join(rel)];
                let found = dirs.into_iter().find(|d| d.is_dir());
                match c {
                    "cpuacct" => cpuacct = cpuacct.or(found),
                    "memory" => memory = memory.or(found),
                    _ => {}
                }
            }
        }
        if let (Some(cpuacct), Some(memory)) = (cpuacct, memory) {
            if cpuacct.join("cpuacct.usage").is_file()
                && memory.join("memory.usage_in_bytes").is_file()
            {
                return Some(CgroupProbe::V1 { cpuacct, memory });
            }
        }
        let rel = unified?;
        for dir in [root.join(&rel), root.join("unified").join(&rel)] {
            if dir.join("cpu.stat").is_file() && dir.join("memory.current").is_file() {
                return Some(CgroupProbe::V2 { dir });
            }
        }
        None
    }

    /// Reads the counters now.
    pub fn read(&self) -> std::io::Result<Sample> {
        match self {
            CgroupProbe::V1 { cpuacct, memory } => {
                let cpu_ns = read_u64(&cpuacct.join("cpuacct.usage"))?;
                let usage = read_u64(&memory.join("memory.usage_in_bytes"))?;
                let stat = std::fs::read_to_string(memory.join("memory.stat"))?;
                let inactive = stat_field(&stat, "total_inactive_file").unwrap_or(0);
                Ok(Sample { cpu_ns, memory_bytes: usage.saturating_sub(inactive) })
            }
            CgroupProbe::V2 { dir } => {
                let cpu = std::fs::read_to_string(dir.join("cpu.stat"))?;
                let usec = stat_field(&cpu, "usage_usec").unwrap_or(0);
                let current = read_u64(&dir.join("memory.current"))?;
                let mstat = std::fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
                let inactive = stat_field(&mstat, "inactive_file").unwrap_or(0);
                Ok(Sample { cpu_ns: usec * 1000, memory_bytes: current.saturating_sub(inactive) })
            }
        }
    }
}

fn read_u64(p: &Path) -> std::io::Result<u64> {
    let s = std::fs::read_to_string(p)?;
    s.trim().parse().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: not a number", p.display()),
        )
    })
}

/// `name value` lines (`memory.stat`, `cpu.stat`).
fn stat_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == name).then(|| v.trim().parse().ok()).flatten()
    })
}

/// One sample through the stats API (slow: ~1 s on dockerd 20.10); the fallback.
pub async fn one_shot(docker: &bollard::Docker, id: &str) -> Option<Sample> {
    let opts = StatsOptionsBuilder::default().stream(false).one_shot(true).build();
    let stats = docker.stats(id, Some(opts)).next().await?.ok()?;
    let cpu_ns = stats.cpu_stats?.cpu_usage?.total_usage?;
    let mem = stats.memory_stats?;
    let usage = mem.usage.unwrap_or(0);
    let inactive = mem
        .stats
        .as_ref()
        .and_then(|s| s.get("total_inactive_file").or_else(|| s.get("inactive_file")).copied())
        .unwrap_or(0);
    Some(Sample { cpu_ns, memory_bytes: usage.saturating_sub(inactive) })
}

/// Running statistics of one container, from successive samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageStats {
    first: Option<(f64, u64)>,
    last: Option<(f64, u64)>,
    pub samples: u64,
    pub peak_memory_bytes: u64,
    sum_memory_bytes: u128,
    /// The highest CPU rate between two consecutive samples, in vCPUs.
    pub peak_vcpu: f64,
    /// The CPU rate between the last two samples, in vCPUs.
    pub last_vcpu: f64,
}

impl UsageStats {
    /// Adds a sample taken `at_s` wall seconds after some fixed origin.
    pub fn add(&mut self, at_s: f64, s: Sample) {
        if self.first.is_none() {
            self.first = Some((at_s, s.cpu_ns));
        }
        if let Some((t0, c0)) = self.last {
            if at_s > t0 {
                self.last_vcpu = s.cpu_ns.saturating_sub(c0) as f64 / 1e9 / (at_s - t0);
                self.peak_vcpu = self.peak_vcpu.max(self.last_vcpu);
            }
        }
        self.last = Some((at_s, s.cpu_ns));
        self.samples += 1;
        self.peak_memory_bytes = self.peak_memory_bytes.max(s.memory_bytes);
        self.sum_memory_bytes += u128::from(s.memory_bytes);
    }

    /// Average CPU use between the first and last sample, in vCPUs (1.0 = one full CPU).
    pub fn mean_vcpu(&self) -> Option<f64> {
        let ((t0, c0), (t1, c1)) = (self.first?, self.last?);
        (t1 > t0).then(|| (c1.saturating_sub(c0)) as f64 / 1e9 / (t1 - t0))
    }

    pub fn mean_memory_bytes(&self) -> Option<u64> {
        (self.samples > 0).then(|| (self.sum_memory_bytes / u128::from(self.samples)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_and_v2_paths() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let id = "docker/abc";
        std::fs::create_dir_all(r.join("cpu,cpuacct").join(id)).unwrap();
        std::fs::create_dir_all(r.join("memory").join(id)).unwrap();
        std::fs::write(r.join("cpu,cpuacct").join(id).join("cpuacct.usage"), "2500000000\n")
            .unwrap();
        std::fs::write(r.join("memory").join(id).join("memory.usage_in_bytes"), "10485760\n")
            .unwrap();
        std::fs::write(
            r.join("memory").join(id).join("memory.stat"),
            "cache 1\ntotal_inactive_file 1048576\n",
        )
        .unwrap();
        // The root cgroup's files exist too: an exiting process shows "/" and must not match.
        std::fs::write(r.join("cpu,cpuacct").join("cpuacct.usage"), "1\n").unwrap();
        std::fs::write(r.join("memory").join("memory.usage_in_bytes"), "1\n").unwrap();
        let exiting = "12:memory:/\n4:cpu,cpuacct:/\n0::/\n";
        assert_eq!(CgroupProbe::from_proc_cgroup(r, exiting, "abc"), None);
        let text = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n";
        let p = CgroupProbe::from_proc_cgroup(r, text, "abc").unwrap();
        assert!(matches!(p, CgroupProbe::V1 { .. }));
        assert_eq!(p.read().unwrap(), Sample { cpu_ns: 2_500_000_000, memory_bytes: 9 * 1048576 });

        let root2 = tempfile::tempdir().unwrap();
        let d = root2.path().join("system.slice/docker-abc.scope");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n").unwrap();
        std::fs::write(d.join("memory.current"), "4096\n").unwrap();
        std::fs::write(d.join("memory.stat"), "anon 4096\ninactive_file 0\n").unwrap();
        let p = CgroupProbe::from_proc_cgroup(
            root2.path(),
            "0::/system.slice/docker-abc.scope\n",
            "abc",
        )
        .unwrap();
        assert_eq!(p.read().unwrap(), Sample { cpu_ns: 1_500_000, memory_bytes: 4096 });
        assert_eq!(CgroupProbe::from_proc_cgroup(root2.path(), "0::/nope\n", "abc"), None);
    }

    #[test]
    fn stats_average_cpu_and_peak_memory() {
        let mut u = UsageStats::default();
        assert_eq!(u.mean_vcpu(), None);
        u.add(10.0, Sample { cpu_ns: 1_000_000_000, memory_bytes: 100 });
        u.add(12.0, Sample { cpu_ns: 2_000_000_000, memory_bytes: 300 });
        // 1 s of CPU in 2 s of wall time: half a vCPU.
        assert_eq!(u.mean_vcpu(), Some(0.5));
        u.add(13.0, Sample { cpu_ns: 3_500_000_000, memory_bytes: 200 });
        assert_eq!(u.peak_vcpu, 1.5);
        assert_eq!(u.last_vcpu, 1.5);
        assert_eq!(u.peak_memory_bytes, 300);
        assert_eq!(u.mean_memory_bytes(), Some(200));
    }
}
