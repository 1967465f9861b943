//! The cost report: accounting from the engine's events ([`Accounting`]), one [`ModeReport`]
//! per mode, a verdict, the scenario's expectations, and the text and JSON views.
//!
//! The JSON form is a stable, documented schema (`docs/report-schema.md`). Money is a decimal
//! string at full precision (no display rounding); rounding happens only in [`render_text`].

pub mod accounting;
mod build;
pub mod overhead;
pub mod series;
mod text;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use accounting::{Accounting, PriceContext};
pub use series::Bar;
pub use text::{family_table, render_text, summary_rows};

use crate::diag::grouped;
use crate::engine::Mode;
use crate::money::{format_usd, Usd};
use crate::scenario::Expect;

/// The JSON schema version; bumped on any incompatible change.
pub const SCHEMA: &str = "berth.report/1";

/// Task outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCounts {
    pub launched: u64,
    /// Stopped because the essential container exited with 0.
    pub completed: u64,
    /// Never started, or an essential container exited non-zero.
    pub failed: u64,
    /// Of the failed: never reached RUNNING.
    pub failed_to_start: u64,
    /// Stopped by a user or by the service scheduler (scale-in, deployment).
    pub stopped: u64,
    /// Still running (or starting) when the scenario ended.
    pub running_at_end: u64,
    /// Still waiting for capacity when the scenario ended.
    pub waiting_at_end: u64,
    /// Stopped (scale-in, StopTask, a failed start) while still waiting in PROVISIONING.
    pub stopped_while_waiting: u64,
}

/// Time in PROVISIONING: ECS mode waits for a host with room; Fargate provisions the slot.
/// Tasks stopped while still waiting count with the time they waited; tasks still waiting when
/// the scenario ends count with the time until the end (their wait is at least that long).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitStats {
    /// Tasks that left PROVISIONING (placed, provisioned, or stopped while waiting), plus those
    /// still waiting at the end.
    pub tasks: u64,
    /// Of `tasks`, those still waiting at the end, counted as waiting until the end.
    #[serde(default)]
    pub still_waiting: u64,
    pub p50_s: f64,
    pub p95_s: f64,
    pub max_s: f64,
    pub mean_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceTypeLine {
    pub instance_type: String,
    pub hosts: u64,
    pub usd_per_hour: Usd,
    pub host_hours: Decimal,
    pub usd: Usd,
    /// The share of `usd` that tasks reserved (mean of CPU and memory reservation).
    pub reserved_usd: Usd,
    pub idle_usd: Usd,
    pub cpu_utilisation: f64,
    pub memory_utilisation: f64,
    #[serde(skip)]
    cpu_ms: u128,
    #[serde(skip)]
    cpu_cap: u128,
    #[serde(skip)]
    mem_ms: u128,
    #[serde(skip)]
    mem_cap: u128,
}

/// ECS-mode cost lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsCosts {
    pub hosts_usd: Usd,
    pub reserved_usd: Usd,
    /// Host cost no task reserved: what always-on capacity costs beyond the work.
    pub idle_usd: Usd,
    pub host_hours: Decimal,
    /// Reserved CPU units over registered CPU units, time-weighted.
    pub cpu_utilisation: f64,
    pub memory_utilisation: f64,
    pub instance_types: Vec<InstanceTypeLine>,
}

/// One Fargate size a family ran at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeLine {
    pub family: String,
    /// What the task definition asks for (task level, else the containers' sum).
    pub requested_cpu_units: u32,
    pub requested_memory_mib: u32,
    /// The valid Fargate size it was rounded up to, e.g. "0.5 vCPU / 1 GB".
    pub size: String,
    pub cpu_units: u32,
    pub memory_mib: u32,
    pub os: String,
    pub arch: String,
    pub ephemeral_storage_gib: u32,
    pub tasks: u64,
    /// Seconds billed, summed over the tasks (each rounded up and at least the minimum).
    pub billed_seconds: u64,
    pub billed_hours: Decimal,
    pub usd: Usd,
    /// What rounding up to `size` cost over the requested cpu/memory.
    pub rounding_usd: Usd,
}

/// Fargate-mode cost lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FargateCosts {
    pub vcpu_usd: Usd,
    pub memory_usd: Usd,
    pub ephemeral_storage_usd: Usd,
    pub os_license_usd: Usd,
    pub rounding_usd: Usd,
    pub vcpu_hours: Decimal,
    pub gb_hours: Decimal,
    /// GB-hours of ephemeral storage above the free 20 GB.
    pub storage_gb_hours: Decimal,
    pub sizes: Vec<SizeLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtraLine {
    pub name: String,
    pub usd: Usd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyLine {
    pub family: String,
    pub cpu_units: u32,
    pub memory_mib: u32,
    pub tasks: TaskCounts,
    /// Hours tasks spent RUNNING.
    pub task_hours: f64,
    /// ECS: the family's reservation share of host cost; Fargate: its charges.
    pub usd: Usd,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fargate_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_usd: Option<Usd>,
}

/// Per-lane utilisation (ECS mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneSeries {
    pub name: String,
    pub cpu: Vec<f64>,
    pub memory: Vec<f64>,
}

/// Bounded time series for charts (`series::BUCKETS` points each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesOut {
    pub bucket_seconds: f64,
    /// Cumulative cost at the end of each bucket (chart precision, not exact money).
    pub cumulative_usd: Vec<f64>,
    /// Average number of RUNNING tasks per bucket.
    pub running: Vec<f64>,
    /// Average number of tasks waiting in PROVISIONING per bucket.
    pub waiting: Vec<f64>,
    pub lanes: Vec<LaneSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanttOut {
    pub lanes: Vec<String>,
    pub bars: Vec<Bar>,
    /// Task intervals beyond the cap that were not kept.
    pub dropped: u64,
}

/// One rate the mode's bill was computed from, with where it comes from. Every rate is an
/// hourly list price; billing is per second at exactly `usd_per_hour / 3600`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLine {
    /// What is priced: `EC2 m5.large (linux)`, `Fargate vCPU (linux/x86_64)`, ...
    pub item: String,
    /// The unit of `usd_per_hour`: `host-hour`, `vCPU-hour`, `GB-hour`.
    pub unit: String,
    pub usd_per_hour: Usd,
    /// `usd_per_hour / 3600`, what one second costs (display precision: 12 decimals).
    pub usd_per_second: Usd,
    pub source: String,
    /// The date the source states, or `undated`.
    pub as_of: String,
    pub confidence: String,
}

impl RateLine {
    pub(crate) fn new(
        item: String,
        unit: &str,
        usd_per_hour: Usd,
        p: &crate::pricing::Provenance,
    ) -> Self {
        RateLine {
            item,
            unit: unit.to_string(),
            usd_per_hour: usd_per_hour.normalize(),
            usd_per_second: (usd_per_hour / crate::money::seconds_per_hour())
                .round_dp(12)
                .normalize(),
            source: p.source.clone(),
            as_of: p.as_of.clone(),
            confidence: p.confidence.clone(),
        }
    }
}

/// Everything about one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeReport {
    pub mode: Mode,
    pub total_usd: Usd,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsCosts>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub fargate: Option<FargateCosts>,
    pub extra_usd: Usd,
    pub extra: Vec<ExtraLine>,
    pub tasks: TaskCounts,
    pub wait: WaitStats,
    pub families: Vec<FamilyLine>,
    pub series: SeriesOut,
    pub gantt: GanttOut,
    pub notes: Vec<String>,
    /// The rates this mode was billed at, each with its source and date.
    #[serde(default)]
    pub rates: Vec<RateLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    pub cluster: String,
    pub region: String,
    pub hosts: usize,
    pub duration: String,
    pub duration_seconds: u64,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The cheaper mode; when a mode could not run the workload ([`Verdict::could_not_run`]),
    /// the mode that did run it (a bill for work not done is no saving), with no difference.
    pub cheaper: Mode,
    pub difference_usd: Usd,
    /// How much the cheaper mode saves, in percent of the dearer one.
    pub savings_pct: Decimal,
    pub text: String,
    /// Modes that could not run the workload: tasks that never got a host or a Fargate slot
    /// (no hosts, too little room, refused by Fargate). Then there is no comparison:
    /// `difference_usd` and `savings_pct` are 0 and `[expect] cheaper` fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub could_not_run: Vec<Mode>,
}

/// Tasks of a mode that never got capacity: still waiting at the end, or stopped (refused,
/// scaled in) while waiting. A mode with any did not run the whole workload.
pub fn never_placed(m: &ModeReport) -> u64 {
    m.tasks.waiting_at_end + m.tasks.stopped_while_waiting
}

/// Why a mode could not run the workload, or `None` if it ran all of it.
fn could_not_run(m: &ModeReport) -> Option<String> {
    let n = never_placed(m);
    if n == 0 {
        return None;
    }
    let tasks = format!("{} task{}", grouped(n), if n == 1 { "" } else { "s" });
    Some(match m.ecs.as_ref() {
        Some(e) if e.instance_types.is_empty() => {
            format!("{tasks} never got a host because the cluster has no hosts")
        }
        Some(_) => format!("{tasks} never got a host"),
        None => format!("{tasks} never got a Fargate slot"),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub scenario: ScenarioInfo,
    pub modes: BTreeMap<Mode, ModeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub expectations: Vec<ExpectationResult>,
    /// The same workload at other scales (computed for `--html` and `--save`); see
    /// [`crate::breakeven`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakeven: Option<crate::breakeven::BreakEven>,
}

impl Report {
    pub fn new(scenario: ScenarioInfo, modes: Vec<ModeReport>, expect: &Expect) -> Report {
        let modes: BTreeMap<Mode, ModeReport> = modes.into_iter().map(|m| (m.mode, m)).collect();
        let verdict = match (modes.get(&Mode::Ecs), modes.get(&Mode::Fargate)) {
            (Some(e), Some(f)) => Some(verdict(e, f)),
            _ => None,
        };
        let expectations = check(expect, &modes, verdict.as_ref());
        Report { schema: SCHEMA.into(), scenario, modes, verdict, expectations, breakeven: None }
    }

    pub fn failed_expectations(&self) -> impl Iterator<Item = &ExpectationResult> {
        self.expectations.iter().filter(|e| !e.ok)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialise")
    }
}

fn pct(a: Decimal, of: Decimal) -> Decimal {
    if of.is_zero() {
        Decimal::ZERO
    } else {
        (a / of * Decimal::from(100u64)).round_dp(2)
    }
}

fn verdict(e: &ModeReport, f: &ModeReport) -> Verdict {
    let failed: Vec<(&ModeReport, String)> =
        [e, f].into_iter().filter_map(|m| could_not_run(m).map(|why| (m, why))).collect();
    if !failed.is_empty() {
        return no_verdict(e, f, &failed);
    }
    let (cheaper, dear) = if e.total_usd <= f.total_usd { (e, f) } else { (f, e) };
    let diff = dear.total_usd - cheaper.total_usd;
    let savings = pct(diff, dear.total_usd);
    let ecs = e.ecs.as_ref();
    let util =
        ecs.map(|c| (c.cpu_utilisation.max(c.memory_utilisation) * 100.0).round()).unwrap_or(0.0);
    let idle = ecs.map(|c| c.idle_usd).unwrap_or_default();
    let idle_pct = ecs.map(|c| pct(c.idle_usd, c.hosts_usd)).unwrap_or_default();
    let rounding = f.fargate.as_ref().map(|c| c.rounding_usd).unwrap_or_default();
    let mut why = Vec::new();
    if diff.is_zero() {
        return Verdict {
            cheaper: Mode::Ecs,
            difference_usd: Decimal::ZERO,
            savings_pct: Decimal::ZERO,
            text: format!("Both modes cost the same ({}).", format_usd(e.total_usd)),
            could_not_run: Vec::new(),
        };
    }
    // Work a mode never did (tasks still waiting, or stopped before they got a host) was
    // handled above: such a mode gets no verdict.
    match cheaper.mode {
        Mode::Ecs => {
            why.push(format!(
                "the EC2 hosts were well used (tasks reserved up to {util:.0}% of their capacity), \
                 so paying for whole hosts beats paying Fargate's per-task rates"
            ));
            if !rounding.is_zero() {
                why.push(format!(
                    "Fargate would also round task sizes up, which alone costs {}",
                    format_usd(rounding)
                ));
            }
        }
        Mode::Fargate => {
            why.push(format!(
                "the EC2 hosts sat idle much of the time: {} ({}% of the host bill) paid for \
                 capacity no task reserved, while Fargate bills only while tasks run",
                format_usd(idle),
                idle_pct.round_dp(0)
            ));
        }
    }
    if e.tasks.waiting_at_end > 0 || e.tasks.stopped_while_waiting > 0 || e.wait.p95_s > 60.0 {
        let mut extra = Vec::new();
        if e.tasks.stopped_while_waiting > 0 {
            extra.push(format!(
                "{} were stopped before they ever got a host",
                grouped(e.tasks.stopped_while_waiting)
            ));
        }
        if e.tasks.waiting_at_end > 0 {
            extra
                .push(format!("{} were still waiting at the end", grouped(e.tasks.waiting_at_end)));
        }
        why.push(format!(
            "in ECS mode tasks waited for capacity (p95 {}, max {}){}",
            human_secs(e.wait.p95_s),
            human_secs(e.wait.max_s),
            if extra.is_empty() { String::new() } else { format!(" and {}", extra.join(" and ")) }
        ));
    }
    let sep = if why.first().is_some_and(|w| w.starts_with("but ")) { ", " } else { ": " };
    let text = format!(
        "{} is cheaper by {} ({}% less than {}){sep}{}.",
        mode_name(cheaper.mode),
        format_usd(diff),
        savings.round_dp(1).normalize(),
        mode_name(dear.mode),
        why.join("; ")
    );
    Verdict {
        cheaper: cheaper.mode,
        difference_usd: diff.normalize(),
        savings_pct: savings.normalize(),
        text,
        could_not_run: Vec::new(),
    }
}

/// The verdict when a mode (or both) could not run the workload: it names them and compares
/// nothing, since the cheaper bill would be for less work.
fn no_verdict(e: &ModeReport, f: &ModeReport, failed: &[(&ModeReport, String)]) -> Verdict {
    let why: Vec<String> = failed
        .iter()
        .map(|(m, why)| format!("{} could not run it: {why}", mode_name(m.mode)))
        .collect();
    let ran = [e, f].into_iter().find(|m| !failed.iter().any(|(x, _)| x.mode == m.mode));
    let text = match ran {
        Some(r) => format!(
            "No verdict: {}. Only {} ran the whole workload ({}); add capacity and compare again.",
            why.join("; "),
            mode_name(r.mode),
            format_usd(r.total_usd)
        ),
        None => format!("No verdict: neither mode ran the whole workload. {}.", why.join("; ")),
    };
    Verdict {
        cheaper: ran.map(|r| r.mode).unwrap_or(Mode::Fargate),
        difference_usd: Decimal::ZERO,
        savings_pct: Decimal::ZERO,
        text,
        could_not_run: failed.iter().map(|(m, _)| m.mode).collect(),
    }
}

/// "ECS on EC2" / "Fargate".
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Ecs => "ECS on EC2",
        Mode::Fargate => "Fargate",
    }
}

/// `250ms`, `42s`, `3m 20s`, `2h 05m`. Waits under a second (Fargate's provisioning set to
/// 300 ms, a warm host) print in milliseconds rather than as `0s`.
pub fn human_secs(s: f64) -> String {
    if s > 0.0 && s < 0.9995 {
        return format!("{}ms", (s * 1000.0).round() as u64);
    }
    let s = s.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

fn check(
    x: &Expect,
    modes: &BTreeMap<Mode, ModeReport>,
    verdict: Option<&Verdict>,
) -> Vec<ExpectationResult> {
    let mut out = Vec::new();
    if let Some(want) = x.cheaper {
        let r = match verdict {
            Some(v) if !v.could_not_run.is_empty() => ExpectationResult {
                name: format!("cheaper = \"{want}\""),
                ok: false,
                detail: format!(
                    "no comparison: {} could not run the workload",
                    v.could_not_run.iter().map(|m| mode_name(*m)).collect::<Vec<_>>().join(" and ")
                ),
            },
            Some(v) if v.cheaper == want && !v.difference_usd.is_zero() => ExpectationResult {
                name: format!("cheaper = \"{want}\""),
                ok: true,
                detail: format!(
                    "{} is cheaper by {}",
                    mode_name(want),
                    format_usd(v.difference_usd)
                ),
            },
            Some(v) => ExpectationResult {
                name: format!("cheaper = \"{want}\""),
                ok: false,
                detail: format!(
                    "{} is cheaper, by {} ({}%)",
                    mode_name(v.cheaper),
                    format_usd(v.difference_usd),
                    v.savings_pct.round_dp(1)
                ),
            },
            None => ExpectationResult {
                name: format!("cheaper = \"{want}\""),
                ok: true,
                detail: "not checked: needs both modes (--mode both)".into(),
            },
        };
        out.push(r);
    }
    for (mode, max) in &x.max_total_usd {
        let name = format!("max_total_usd.{mode} = {max}");
        out.push(match modes.get(mode) {
            Some(m) if m.total_usd <= *max => ExpectationResult {
                name,
                ok: true,
                detail: format!("{} ≤ {}", format_usd(m.total_usd), format_usd(*max)),
            },
            Some(m) => ExpectationResult {
                name,
                ok: false,
                detail: format!(
                    "{} costs {}, {} over the limit of {}",
                    mode_name(*mode),
                    format_usd(m.total_usd),
                    format_usd(m.total_usd - max),
                    format_usd(*max)
                ),
            },
            None => ExpectationResult { name, ok: true, detail: format!("{mode} mode not run") },
        });
    }
    if let Some(limit) = x.max_wait_p95 {
        let name = format!("max_wait_p95 = \"{limit}\"");
        let lim = limit.as_secs_f64();
        out.push(match modes.get(&Mode::Ecs) {
            Some(m) if m.wait.p95_s <= lim => ExpectationResult {
                name,
                ok: true,
                detail: format!("ECS p95 wait {} ≤ {}", human_secs(m.wait.p95_s), limit),
            },
            Some(m) => ExpectationResult {
                name,
                ok: false,
                detail: format!(
                    "ECS tasks waited {} at p95, {} over the limit of {}",
                    human_secs(m.wait.p95_s),
                    human_secs(m.wait.p95_s - lim),
                    limit
                ),
            },
            None => ExpectationResult { name, ok: true, detail: "ecs mode not run".into() },
        });
    }
    if let Some(max) = x.max_failed {
        for m in modes.values() {
            let name = format!("max_failed = {max} ({})", m.mode);
            out.push(ExpectationResult {
                ok: m.tasks.failed <= max,
                detail: if m.tasks.failed <= max {
                    format!("{} failed", m.tasks.failed)
                } else {
                    format!(
                        "{} tasks failed, {} more than allowed",
                        m.tasks.failed,
                        m.tasks.failed - max
                    )
                },
                name,
            });
        }
    }
    if let Some(min) = x.min_savings_pct {
        let name = format!("min_savings_pct = {min}");
        out.push(match verdict {
            Some(v) if !v.could_not_run.is_empty() => ExpectationResult {
                name,
                ok: false,
                detail: "no comparison: a mode could not run the workload".into(),
            },
            Some(v) if v.savings_pct >= min => ExpectationResult {
                name,
                ok: true,
                detail: format!("{} saves {}%", mode_name(v.cheaper), v.savings_pct),
            },
            Some(v) => ExpectationResult {
                name,
                ok: false,
                detail: format!(
                    "{} saves only {}%, {} points short",
                    mode_name(v.cheaper),
                    v.savings_pct,
                    (min - v.savings_pct).normalize()
                ),
            },
            None => ExpectationResult {
                name,
                ok: true,
                detail: "not checked: needs both modes (--mode both)".into(),
            },
        });
    }
    out
}
