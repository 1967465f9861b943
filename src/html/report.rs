//! Turns a [`Report`] (and, when computed, its [`BreakEven`]) into the HTML page: the verdict,
//! six charts and the tables of the text report.
//!
//! Everything comes from the report's bounded summaries (`series`, `gantt`), never from
//! per-task data, so a month with thousands of tasks renders as fast as an hour with ten.

use rust_decimal::prelude::ToPrimitive;

use super::page::{self, Page, Table};
use super::svg::{self, AxisKind, Gantt, GanttBar, GanttRow, HeatMap, LineChart, Marker, Series};
use crate::breakeven::BreakEven;
use crate::engine::Mode;
use crate::report::{family_table, mode_name, summary_rows, ModeReport, Report};

fn f(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn mode_colour(m: Mode) -> &'static str {
    match m {
        Mode::Ecs => svg::colour(0),
        Mode::Fargate => svg::colour(1),
    }
}

/// The x positions (seconds) of the ends of a series' buckets, starting with 0.
fn bucket_points(bucket_s: f64, values: &[f64], start: f64) -> Vec<(f64, f64)> {
    std::iter::once((0.0, start))
        .chain(values.iter().enumerate().map(|(i, v)| ((i + 1) as f64 * bucket_s, *v)))
        .collect()
}

fn cumulative_cost(r: &Report) -> String {
    let series = r
        .modes
        .values()
        .map(|m| Series {
            name: mode_name(m.mode).to_string(),
            colour: mode_colour(m.mode).to_string(),
            points: bucket_points(m.series.bucket_seconds, &m.series.cumulative_usd, 0.0),
            step: false,
            dashed: false,
        })
        .collect();
    svg::line_chart(&LineChart {
        id: "cumulative-cost".into(),
        title: "Cumulative cost over time".into(),
        x_label: "scenario time".into(),
        y_label: "cost so far (USD)".into(),
        x_kind: AxisKind::Time,
        y_kind: AxisKind::Usd,
        series,
        markers: vec![],
    })
}

/// Bucket averages drawn as steps: the value holds over each bucket.
fn step_points(bucket_s: f64, values: &[f64]) -> Vec<(f64, f64)> {
    let mut pts = Vec::with_capacity(values.len() + 1);
    for (i, v) in values.iter().enumerate() {
        pts.push((i as f64 * bucket_s, *v));
    }
    if let Some(v) = values.last() {
        pts.push((values.len() as f64 * bucket_s, *v));
    }
    pts
}

fn running_tasks(r: &Report) -> String {
    let mut series = Vec::new();
    for m in r.modes.values() {
        series.push(Series {
            name: format!("running ({})", mode_name(m.mode)),
            colour: mode_colour(m.mode).to_string(),
            points: step_points(m.series.bucket_seconds, &m.series.running),
            step: true,
            dashed: false,
        });
    }
    if let Some(m) = r.modes.get(&Mode::Ecs) {
        series.push(Series {
            name: "waiting for capacity (ECS)".into(),
            colour: svg::colour(5).to_string(),
            points: step_points(m.series.bucket_seconds, &m.series.waiting),
            step: true,
            dashed: true,
        });
    }
    svg::line_chart(&LineChart {
        id: "running-tasks".into(),
        title: "Tasks running, and tasks waiting for capacity".into(),
        x_label: "scenario time".into(),
        y_label: "tasks (average per interval)".into(),
        x_kind: AxisKind::Time,
        y_kind: AxisKind::Number,
        series,
        markers: vec![],
    })
}

/// Sub-rows per host in the ECS timeline: tasks that overlap on a host are drawn on separate
/// sub-rows, up to this many; more overlap than that shares the last sub-row.
const MAX_SUBROWS: usize = 6;

/// `i-0000000000000001 (t3.medium)` reads as `i-…0001 (t3.medium)`; other names stay as they
/// are.
fn short_lane(name: &str) -> String {
    let (id, rest) = name.split_once(' ').unwrap_or((name, ""));
    let id = match id.strip_prefix("i-") {
        Some(hex) if hex.len() > 6 => format!("i-…{}", &hex[hex.len() - 4..]),
        _ => id.to_string(),
    };
    if rest.is_empty() {
        id
    } else {
        format!("{id} {rest}")
    }
}

fn timeline(m: &ModeReport, end_s: f64) -> String {
    let keys: Vec<String> = m.families.iter().map(|f| f.family.clone()).collect();
    // Bars per lane, in start order, then packed greedily into sub-rows (first free wins).
    let mut per_lane: Vec<Vec<&crate::report::Bar>> = vec![Vec::new(); m.gantt.lanes.len()];
    for b in &m.gantt.bars {
        if let Some(v) = per_lane.get_mut(b.lane as usize) {
            v.push(b);
        }
    }
    let mut rows: Vec<GanttRow> = Vec::new();
    for (lane, bars) in m.gantt.lanes.iter().zip(per_lane.iter_mut()) {
        bars.sort_by_key(|b| (b.start_ms, b.end_ms));
        let mut sub: Vec<(u64, GanttRow)> = Vec::new();
        for b in bars.iter() {
            let fam = keys.get(b.family as usize).cloned().unwrap_or_default();
            let bar = GanttBar {
                start: b.start_ms as f64 / 1000.0,
                end: b.end_ms as f64 / 1000.0,
                key: b.family as usize,
                label: format!("{fam}: {}", b.outcome),
            };
            match sub.iter_mut().position(|(free, _)| *free <= b.start_ms) {
                Some(i) => {
                    sub[i].0 = b.end_ms;
                    sub[i].1.bars.push(bar);
                }
                None if sub.len() < MAX_SUBROWS => {
                    let label = if sub.is_empty() { short_lane(lane) } else { String::new() };
                    sub.push((b.end_ms, GanttRow { label, bars: vec![bar] }));
                }
                None => {
                    let last = sub.last_mut().expect("MAX_SUBROWS > 0");
                    last.0 = last.0.max(b.end_ms);
                    last.1.bars.push(bar);
                }
            }
        }
        if sub.is_empty() {
            rows.push(GanttRow { label: short_lane(lane), bars: Vec::new() });
        }
        rows.extend(sub.into_iter().map(|(_, r)| r));
    }
    let (id, title, what) = match m.mode {
        Mode::Ecs => ("timeline-ecs", "Timeline of tasks on each ECS host", "host"),
        Mode::Fargate => ("timeline-fargate", "Timeline of Fargate slots", "slot lane"),
    };
    let note = (m.gantt.dropped > 0).then(|| {
        format!(
            "{} more task intervals are not drawn (the chart keeps the first {} so it stays readable); \
             the utilisation chart and the tables include every task.",
            m.gantt.dropped,
            m.gantt.bars.len()
        )
    });
    svg::gantt(&Gantt {
        id: id.into(),
        title: title.into(),
        x_label: format!("scenario time (one row per {what}, coloured by task family)"),
        keys,
        rows,
        start: 0.0,
        end: end_s,
        note,
    })
}

fn utilisation(m: &ModeReport, end_s: f64) -> Option<String> {
    if m.series.lanes.is_empty() {
        return None;
    }
    let rows = m
        .series
        .lanes
        .iter()
        .map(|l| {
            let cells = l.cpu.iter().zip(&l.memory).map(|(c, mm)| c.max(*mm)).collect();
            (short_lane(&l.name), cells)
        })
        .collect();
    Some(svg::heat_map(&HeatMap {
        id: "utilisation".into(),
        title: "Reserved share of each ECS host (the larger of CPU and memory)".into(),
        x_label: "scenario time (darker = fuller; white = idle capacity that is still billed)"
            .into(),
        rows,
        start: 0.0,
        end: end_s,
        colour: svg::colour(0).into(),
        note: None,
    }))
}

fn breakdown(r: &Report) -> String {
    let bars = r
        .modes
        .values()
        .map(|m| {
            let mut parts = Vec::new();
            if let Some(e) = &m.ecs {
                parts.push(("hosts: reserved by tasks".to_string(), f(e.reserved_usd)));
                parts.push(("hosts: idle capacity".to_string(), f(e.idle_usd)));
            }
            if let Some(fg) = &m.fargate {
                parts.push(("vCPU".to_string(), f(fg.vcpu_usd)));
                parts.push(("memory".to_string(), f(fg.memory_usd)));
                parts.push(("ephemeral storage".to_string(), f(fg.ephemeral_storage_usd)));
                parts.push(("OS licence".to_string(), f(fg.os_license_usd)));
            }
            for x in &m.extra {
                parts.push((x.name.clone(), f(x.usd)));
            }
            svg::StackedBar { label: mode_name(m.mode).to_string(), parts }
        })
        .collect();
    svg::stacked_bars(&svg::StackedBars {
        id: "cost-breakdown".into(),
        title: "Where the money goes".into(),
        x_label: "cost over the whole scenario (USD)".into(),
        bars,
    })
}

fn breakeven_chart(b: &BreakEven) -> String {
    let line = |mode: Mode, pick: &dyn Fn(&crate::breakeven::Point) -> f64| Series {
        name: mode_name(mode).to_string(),
        colour: mode_colour(mode).to_string(),
        points: b.points.iter().map(|p| (p.scale, pick(p))).collect(),
        step: false,
        dashed: false,
    };
    let markers = match (b.crossing_scale, b.crossing_usd) {
        (Some(s), Some(usd)) => {
            vec![Marker { x: s, y: usd, label: format!("break-even ≈ {s:.2}×") }]
        }
        _ => vec![],
    };
    let chart = svg::line_chart(&LineChart {
        id: "break-even".into(),
        title: "Cost of each mode as the workload grows (same cluster)".into(),
        x_label: "workload scale (1× = the scenario as written)".into(),
        y_label: "total cost (USD)".into(),
        x_kind: AxisKind::Factor,
        y_kind: AxisKind::Usd,
        series: vec![
            line(Mode::Ecs, &|p| f(p.ecs_usd)),
            line(Mode::Fargate, &|p| f(p.fargate_usd)),
        ],
        markers,
    });
    format!("{chart}<p class=\"breakeven-text\">{}</p>", svg::esc(&b.text))
}

/// The text report's tables, as HTML tables (the same rows, so the two views agree).
fn tables(r: &Report) -> Vec<Table> {
    let mut out = Vec::new();
    let mut headers = vec![String::new()];
    headers.extend(r.modes.values().map(|m| mode_name(m.mode).to_string()));
    let numeric = (1..headers.len()).collect();
    let rows = summary_rows(r)
        .into_iter()
        .map(|(label, cells)| std::iter::once(label.trim().to_string()).chain(cells).collect())
        .collect();
    out.push(Table { title: "Costs and tasks".into(), headers, rows, numeric });
    if let Some(mut t) = family_table(r) {
        let headers = t.remove(0);
        let numeric = (1..headers.len()).collect();
        out.push(Table { title: "Cost per task family".into(), headers, rows: t, numeric });
    }
    let rates: Vec<Vec<String>> = r
        .modes
        .values()
        .flat_map(|m| &m.rates)
        .map(|x| {
            vec![
                x.item.clone(),
                format!("${}/{}", x.usd_per_hour, x.unit),
                x.source.clone(),
                x.as_of.clone(),
                x.confidence.clone(),
            ]
        })
        .collect();
    if !rates.is_empty() {
        out.push(Table {
            title: "Rates (hourly list prices, billed per second)".into(),
            headers: vec![
                "rate".into(),
                "price".into(),
                "source".into(),
                "as of".into(),
                "confidence".into(),
            ],
            rows: rates,
            numeric: vec![1],
        });
    }
    if !r.expectations.is_empty() {
        out.push(Table {
            title: "Expectations".into(),
            headers: vec!["check".into(), "result".into(), "detail".into()],
            rows: r
                .expectations
                .iter()
                .map(|e| {
                    vec![
                        e.name.clone(),
                        if e.ok { "ok" } else { "FAILED" }.into(),
                        e.detail.clone(),
                    ]
                })
                .collect(),
            numeric: vec![],
        });
    }
    out
}

/// Tables of what real containers used (the `measured` section `berth run` adds to its JSON):
/// reserved against used per task family, and per host. Empty for simulated runs.
pub fn measured_tables(run: &serde_json::Value) -> Vec<Table> {
    let Some(modes) = run.get("measured").and_then(|m| m.as_object()) else { return Vec::new() };
    let num = |v: &serde_json::Value| match v.as_f64() {
        Some(x) => format!("{x:.2}"),
        None => "—".to_string(),
    };
    let pct = |v: &serde_json::Value| match v.as_f64() {
        Some(x) => format!("{:.0}%", x * 100.0),
        None => "—".to_string(),
    };
    let mut fam_rows = Vec::new();
    let mut host_rows = Vec::new();
    for (mode, m) in modes {
        for f in m.get("families").and_then(|f| f.as_array()).into_iter().flatten() {
            fam_rows.push(vec![
                mode.clone(),
                f["family"].as_str().unwrap_or("").to_string(),
                f["tasks"].to_string(),
                format!("{} CPU / {} MiB", f["reserved_cpu_units"], f["reserved_memory_mib"]),
                format!("{} vCPU / {} MiB", num(&f["peak_vcpu"]), num(&f["peak_memory_mib"])),
                num(&f["mean_vcpu"]),
                format!(
                    "{} / {}",
                    pct(&f["cpu_used_of_reserved"]),
                    pct(&f["memory_used_of_reserved"])
                ),
                f["fargate_size_hint"].as_str().unwrap_or("—").to_string(),
            ]);
        }
        for h in m.get("hosts").and_then(|h| h.as_array()).into_iter().flatten() {
            host_rows.push(vec![
                mode.clone(),
                format!(
                    "{} ({})",
                    h["host"].as_str().unwrap_or(""),
                    h["instance_type"].as_str().unwrap_or("")
                ),
                format!("{} of {} vCPU", num(&h["peak_vcpu"]), h["vcpu"]),
                format!("{} of {} MiB", num(&h["peak_memory_mib"]), h["memory_mib"]),
            ]);
        }
    }
    let mut out = Vec::new();
    if !fam_rows.is_empty() {
        out.push(Table {
            title: "Measured: reserved against used, per task family".into(),
            headers: [
                "mode",
                "family",
                "tasks",
                "reserved",
                "used (peak)",
                "mean vCPU",
                "peak / reserved (CPU / memory)",
                "smallest Fargate size that held it",
            ]
            .map(String::from)
            .to_vec(),
            rows: fam_rows,
            numeric: vec![2, 5],
        });
    }
    if !host_rows.is_empty() {
        out.push(Table {
            title: "Measured: peak use of each ECS host".into(),
            headers: ["mode", "host", "CPU", "memory"].map(String::from).to_vec(),
            rows: host_rows,
            numeric: vec![],
        });
    }
    out
}

/// For real runs: each ECS host's *used* share over time, next to the reserved share.
fn measured_utilisation(run: &serde_json::Value, end_s: f64) -> Option<String> {
    let hosts = run.get("measured")?.get("ecs")?.get("hosts")?.as_array()?;
    let rows: Vec<(String, Vec<f64>)> = hosts
        .iter()
        .filter_map(|h| {
            let cells: Vec<f64> =
                h.get("used_share")?.as_array()?.iter().filter_map(|v| v.as_f64()).collect();
            let name = format!(
                "{} ({})",
                h["host"].as_str().unwrap_or(""),
                h["instance_type"].as_str().unwrap_or("")
            );
            (!cells.is_empty()).then(|| (short_lane(&name), cells))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(svg::heat_map(&HeatMap {
        id: "utilisation-used".into(),
        title: "Used share of each ECS host, measured (the larger of CPU and memory)".into(),
        x_label: "scenario time (darker = busier; compare with the reserved share above)".into(),
        rows,
        start: 0.0,
        end: end_s,
        colour: svg::colour(2).into(),
        note: None,
    }))
}

/// The whole page. The break-even chart is drawn when the report carries one.
pub fn render(r: &Report) -> String {
    render_with(r, None)
}

/// The page of a real run: `run` is the JSON `berth run` writes (the report plus `measured`),
/// whose measured use adds a chart and tables.
pub fn render_with(r: &Report, run: Option<&serde_json::Value>) -> String {
    let extra = run.map(measured_tables).unwrap_or_default();
    let breakeven = r.breakeven.as_ref();
    let end_s = r.scenario.duration_seconds as f64;
    let verdict = match &r.verdict {
        Some(v) => v.text.clone(),
        None => r
            .modes
            .values()
            .map(|m| {
                format!("{} costs {}.", mode_name(m.mode), crate::money::format_usd(m.total_usd))
            })
            .collect::<Vec<_>>()
            .join(" "),
    };
    let sc = &r.scenario;
    let facts = vec![
        ("scenario".to_string(), format!("{} ({})", sc.name, sc.file)),
        ("duration".to_string(), sc.duration.clone()),
        ("cluster".to_string(), format!("{}, {} hosts in {}", sc.cluster, sc.hosts, sc.region)),
        ("seed".to_string(), sc.seed.to_string()),
    ];
    let mut sections = vec![
        ("Cumulative cost".to_string(), cumulative_cost(r)),
        ("Tasks over time".to_string(), running_tasks(r)),
    ];
    for m in r.modes.values() {
        sections.push((format!("Timeline: {}", mode_name(m.mode)), timeline(m, end_s)));
    }
    if let Some(u) = r.modes.get(&Mode::Ecs).and_then(|m| utilisation(m, end_s)) {
        let used = run.and_then(|v| measured_utilisation(v, end_s)).unwrap_or_default();
        sections.push(("Host utilisation".to_string(), u + &used));
    }
    sections.push(("Cost breakdown".to_string(), breakdown(r)));
    if let Some(b) = breakeven {
        sections.push(("Break-even".to_string(), breakeven_chart(b)));
    }
    let mut notes = Vec::new();
    for m in r.modes.values() {
        for n in &m.notes {
            notes.push(format!("{}: {n}", mode_name(m.mode)));
        }
    }
    page::render(&Page {
        title: format!("berth: {}", sc.name),
        verdict,
        facts,
        sections,
        tables: tables(r).into_iter().chain(extra).collect(),
        notes,
    })
}
