//! Inline SVG charts for the HTML report: line charts, a Gantt timeline, a heat map and stacked
//! bars. Pure string building, no scripts, no external fonts, so the report opens offline.
//!
//! Every chart is a `<figure>` with an `<svg>` that carries `data-chart="<id>"`; series, bars
//! and rows carry `data-*` attributes with their names and values, so tests (and curious
//! readers of the file) can find the data by DOM rather than by pixel.

use std::fmt::Write;

/// Colour-blind-safe palette (Okabe-Ito, then Tableau-like extras).
pub const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#8C564B", "#7F7F7F", "#17BECF", "#BCBD22",
];

/// The colour for the `i`-th key.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text for use inside SVG/HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// How the values of an axis are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisKind {
    /// Plain numbers.
    Number,
    /// Seconds since the start of the run, printed in the largest sensible unit.
    Time,
    /// US dollars.
    Usd,
    /// A fraction shown as a percentage.
    Percent,
    /// A multiplier, e.g. "2×".
    Factor,
}

/// One line of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub colour: String,
    /// (x, y) points in x order.
    pub points: Vec<(f64, f64)>,
    /// Draw as a step function (value holds until the next point), as counts over time are.
    pub step: bool,
    /// Dashed line, for secondary series.
    pub dashed: bool,
}

/// A labelled point drawn on top of a chart, e.g. the break-even crossing.
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct LineChart {
    /// Stable id used in `data-chart`.
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_kind: AxisKind,
    pub y_kind: AxisKind,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
}

const W: f64 = 760.0;
const H: f64 = 300.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 52.0;

/// "Nice" tick positions covering `[lo, hi]`: steps of 1, 2 or 5 times a power of ten.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut v = start;
    while v <= hi + step * 1e-9 && ticks.len() < 50 {
        ticks.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    ticks
}

/// The smallest "nice" number (a tick of [`nice_ticks`]) at or above `v`, so that an axis
/// ending there holds the data.
pub fn nice_ceiling(v: f64, target: usize) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let ticks = nice_ticks(0.0, v, target);
    let step = if ticks.len() >= 2 { ticks[1] - ticks[0] } else { v };
    (v / step).ceil() * step
}

/// Time ticks in whole units (minutes, hours, days) so labels read naturally.
fn time_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    let unit = time_unit(span).1;
    nice_ticks(lo / unit, hi / unit, target).into_iter().map(|t| t * unit).collect()
}

fn time_unit(span_s: f64) -> (&'static str, f64) {
    if span_s >= 3.0 * 86_400.0 {
        ("d", 86_400.0)
    } else if span_s >= 3.0 * 3600.0 {
        ("h", 3600.0)
    } else if span_s >= 180.0 {
        ("min", 60.0)
    } else {
        ("s", 1.0)
    }
}

/// Formats a value for an axis label.
pub fn format_value(v: f64, kind: AxisKind, span: f64) -> String {
    match kind {
        AxisKind::Number => trim(v, if span < 1000.0 { 2 } else { 0 }),
        AxisKind::Time => {
            let (name, unit) = time_unit(span);
            format!("{}{}", trim(v / unit, 1), name)
        }
        AxisKind::Usd => {
            if span < 0.1 {
                format!("${v:.4}")
            } else if span < 10.0 {
                format!("${v:.2}")
            } else {
                format!("${}", trim(v, 0))
            }
        }
        AxisKind::Percent => format!("{}%", trim(v * 100.0, 0)),
        AxisKind::Factor => format!("{}×", trim(v, 2)),
    }
}

fn trim(v: f64, dp: usize) -> String {
    let s = format!("{v:.dp$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        let span = (self.x1 - self.x0).max(f64::MIN_POSITIVE);
        LEFT + (x - self.x0) / span * (W - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        let span = (self.y1 - self.y0).max(f64::MIN_POSITIVE);
        H - BOTTOM - (y - self.y0) / span * (H - TOP - BOTTOM)
    }
}

fn open_svg(out: &mut String, id: &str, title: &str, height: f64) {
    let _ = write!(
        out,
        r#"<figure class="chart-box"><svg class="chart" data-chart="{id}" viewBox="0 0 {W} {height}" width="100%" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text class="chart-title" x="{LEFT}" y="18">{t}</text>"#,
        id = esc(id),
        t = esc(title),
    );
}

/// The x axis along the bottom of the plot: ticks (with vertical grid lines if `grid`) and the
/// axis label under them. `bottom` is the plot's lower edge, `height` the whole chart's.
#[allow(clippy::too_many_arguments)]
fn x_axis(
    out: &mut String,
    f: &Frame,
    ticks: &[f64],
    kind: AxisKind,
    span: f64,
    bottom: f64,
    height: f64,
    label: &str,
    grid: bool,
) {
    out.push_str(r#"<g class="axis x-axis">"#);
    for t in ticks {
        let x = f.px(*t);
        if grid {
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom}" class="grid"/>"#
            );
        }
        let _ = write!(
            out,
            r#"<text class="tick" x="{x:.1}" y="{ty}" text-anchor="middle">{l}</text>"#,
            ty = bottom + 16.0,
            l = esc(&format_value(*t, kind, span))
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-label" x="{x}" y="{y}" text-anchor="middle">{l}</text></g>"#,
        x = (LEFT + W - RIGHT) / 2.0,
        y = height - 10.0,
        l = esc(label)
    );
}

fn axes(out: &mut String, f: &Frame, c: &LineChart) {
    let xt = if c.x_kind == AxisKind::Time {
        time_ticks(f.x0, f.x1, 8)
    } else {
        nice_ticks(f.x0, f.x1, 8)
    };
    let yt = nice_ticks(f.y0, f.y1, 5);
    x_axis(out, f, &xt, c.x_kind, f.x1 - f.x0, H - BOTTOM, H, &c.x_label, true);
    let _ = write!(out, r#"<g class="axis y-axis">"#);
    for t in &yt {
        let y = f.py(*t);
        let _ = write!(
            out,
            r##"<line x1="{l}" y1="{y:.1}" x2="{r}" y2="{y:.1}" class="grid"/><text class="tick" x="{tx}" y="{ty:.1}" text-anchor="end">{lab}</text>"##,
            l = LEFT,
            r = W - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            lab = esc(&format_value(*t, c.y_kind, f.y1 - f.y0)),
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-label" transform="translate(16 {y}) rotate(-90)" text-anchor="middle">{l}</text></g>"#,
        y = (TOP + H - BOTTOM) / 2.0,
        l = esc(&c.y_label)
    );
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" class="plot-frame"/>"##,
        w = W - LEFT - RIGHT,
        h = H - TOP - BOTTOM
    );
}

fn legend(out: &mut String, items: &[(String, String)]) {
    if items.is_empty() {
        return;
    }
    out.push_str(r#"<figcaption class="legend">"#);
    for (name, col) in items {
        let _ = write!(
            out,
            r#"<span class="legend-item" data-legend="{n}"><span class="swatch" style="background:{c}"></span>{n}</span>"#,
            n = esc(name),
            c = esc(col)
        );
    }
    out.push_str("</figcaption>");
}

/// Renders a line chart. Empty series are allowed (the chart then shows axes only).
pub fn line_chart(c: &LineChart) -> String {
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for (x, y) in c.series.iter().flat_map(|s| s.points.iter()) {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    for m in &c.markers {
        x0 = x0.min(m.x);
        x1 = x1.max(m.x);
        y1 = y1.max(m.y);
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= 0.0 {
        y1 = 1.0;
    }
    // Headroom so the top line is not glued to the frame, rounded to the next tick.
    let y1 = nice_ceiling(y1 * 1.02, 5);
    let f = Frame { x0, x1, y0: 0.0, y1 };
    let mut out = String::new();
    open_svg(&mut out, &c.id, &c.title, H);
    axes(&mut out, &f, c);
    for s in &c.series {
        let mut d = String::new();
        let mut prev: Option<(f64, f64)> = None;
        for &(x, y) in &s.points {
            let (px, py) = (f.px(x), f.py(y));
            match prev {
                None => {
                    let _ = write!(d, "M{px:.1},{py:.1}");
                }
                Some(_) if s.step => {
                    let _ = write!(d, "H{px:.1}V{py:.1}");
                }
                Some(_) => {
                    let _ = write!(d, "L{px:.1},{py:.1}");
                }
            }
            prev = Some((px, py));
        }
        let last = s.points.last().map(|p| p.1).unwrap_or(0.0);
        let _ = write!(
            out,
            r#"<g class="series" data-series="{n}" data-points="{np}" data-last="{last}"><path d="{d}" fill="none" stroke="{col}" stroke-width="2"{dash}/></g>"#,
            n = esc(&s.name),
            np = s.points.len(),
            col = esc(&s.colour),
            dash = if s.dashed { r#" stroke-dasharray="6 4""# } else { "" },
        );
    }
    for m in &c.markers {
        let (px, py) = (f.px(m.x), f.py(m.y));
        let anchor = if px > W * 0.7 { "end" } else { "start" };
        let dx = if anchor == "end" { -8.0 } else { 8.0 };
        let _ = write!(
            out,
            r##"<g class="marker" data-x="{x}" data-y="{y}"><circle cx="{px:.1}" cy="{py:.1}" r="5" fill="#fff" stroke="#000" stroke-width="2"/><text class="marker-label" x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}">{l}</text></g>"##,
            x = m.x,
            y = m.y,
            lx = px + dx,
            ly = py - 8.0,
            l = esc(&m.label),
        );
    }
    out.push_str("</svg>");
    legend(
        &mut out,
        &c.series.iter().map(|s| (s.name.clone(), s.colour.clone())).collect::<Vec<_>>(),
    );
    out.push_str("</figure>");
    out
}

/// One bar of a Gantt row: a task (or an aggregate of tasks) from `start` to `end` seconds.
#[derive(Debug, Clone)]
pub struct GanttBar {
    pub start: f64,
    pub end: f64,
    /// Index into `Gantt::keys` (the task family), which picks the colour.
    pub key: usize,
    /// Tooltip text.
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct GanttRow {
    pub label: String,
    pub bars: Vec<GanttBar>,
}

#[derive(Debug, Clone)]
pub struct Gantt {
    pub id: String,
    pub title: String,
    pub x_label: String,
    /// Colour keys (task families), in colour order.
    pub keys: Vec<String>,
    pub rows: Vec<GanttRow>,
    pub start: f64,
    pub end: f64,
    /// A note shown under the chart, e.g. that rows or bars were aggregated.
    pub note: Option<String>,
}

/// Renders a timeline with one row per host or slot lane.
pub fn gantt(g: &Gantt) -> String {
    let row_h = if g.rows.len() > 40 { 8.0 } else { 18.0 };
    let height = TOP + BOTTOM + row_h * g.rows.len().max(1) as f64;
    let end = if g.end > g.start { g.end } else { g.start + 1.0 };
    let f = Frame { x0: g.start, x1: end, y0: 0.0, y1: 1.0 };
    let mut out = String::new();
    open_svg(&mut out, &g.id, &g.title, height);
    let ticks = time_ticks(g.start, end, 8);
    x_axis(
        &mut out,
        &f,
        &ticks,
        AxisKind::Time,
        end - g.start,
        height - BOTTOM,
        height,
        &g.x_label,
        true,
    );
    for (i, row) in g.rows.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let _ = write!(
            out,
            r#"<g class="gantt-row" data-row="{}" data-bars="{}">"#,
            esc(&row.label),
            row.bars.len()
        );
        if i > 0 && !row.label.is_empty() {
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" class="row-sep" stroke="#d0d7de"/>"##,
                x2 = W - RIGHT
            );
        }
        if row_h >= 12.0 || i % 5 == 0 {
            let _ = write!(
                out,
                r#"<text class="row-label" x="{x}" y="{ty:.1}" text-anchor="end">{l}</text>"#,
                x = LEFT - 6.0,
                ty = y + row_h * 0.7,
                l = esc(&row.label)
            );
        }
        for b in &row.bars {
            let x = f.px(b.start.max(g.start));
            let w = (f.px(b.end.min(end)) - x).max(0.8);
            let fam = g.keys.get(b.key).map(String::as_str).unwrap_or("");
            let _ = write!(
                out,
                r#"<rect class="bar" data-family="{fam}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{t}</title></rect>"#,
                fam = esc(fam),
                h = row_h - 2.0,
                c = colour(b.key),
                t = esc(&b.label)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    legend(
        &mut out,
        &g.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), colour(i).to_string()))
            .collect::<Vec<_>>(),
    );
    if let Some(n) = &g.note {
        let _ = write!(out, r#"<p class="note">{}</p>"#, esc(n));
    }
    out.push_str("</figure>");
    out
}

/// A grid of values in [0, 1]: rows (hosts) × columns (time buckets).
#[derive(Debug, Clone)]
pub struct HeatMap {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub rows: Vec<(String, Vec<f64>)>,
    pub start: f64,
    pub end: f64,
    /// Colour of a full (1.0) cell.
    pub colour: String,
    pub note: Option<String>,
}

/// Renders a utilisation heat map; darker is fuller.
pub fn heat_map(m: &HeatMap) -> String {
    let row_h = if m.rows.len() > 40 { 6.0 } else { 16.0 };
    let height = TOP + BOTTOM + row_h * m.rows.len().max(1) as f64;
    let end = if m.end > m.start { m.end } else { m.start + 1.0 };
    let f = Frame { x0: m.start, x1: end, y0: 0.0, y1: 1.0 };
    let mut out = String::new();
    open_svg(&mut out, &m.id, &m.title, height);
    let ticks = time_ticks(m.start, end, 8);
    x_axis(
        &mut out,
        &f,
        &ticks,
        AxisKind::Time,
        end - m.start,
        height - BOTTOM,
        height,
        &m.x_label,
        false,
    );
    for (i, (label, cells)) in m.rows.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let mean =
            if cells.is_empty() { 0.0 } else { cells.iter().sum::<f64>() / cells.len() as f64 };
        let _ =
            write!(out, r#"<g class="heat-row" data-row="{}" data-mean="{mean:.4}">"#, esc(label));
        if row_h >= 12.0 || i % 5 == 0 {
            let _ = write!(
                out,
                r#"<text class="row-label" x="{x}" y="{ty:.1}" text-anchor="end">{l}</text>"#,
                x = LEFT - 6.0,
                ty = y + row_h * 0.75,
                l = esc(label)
            );
        }
        let n = cells.len().max(1) as f64;
        let cw = (W - LEFT - RIGHT) / n;
        for (j, v) in cells.iter().enumerate() {
            if *v <= 0.0 {
                continue;
            }
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.2}" height="{h:.1}" fill="{c}" fill-opacity="{o:.3}"/>"#,
                x = LEFT + cw * j as f64,
                w = cw + 0.3,
                h = row_h - 1.0,
                c = esc(&m.colour),
                o = v.clamp(0.0, 1.0)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    if let Some(n) = &m.note {
        let _ = write!(out, r#"<p class="note">{}</p>"#, esc(n));
    }
    out.push_str("</figure>");
    out
}

/// One stacked bar: a label (the mode) and its parts (name, value).
#[derive(Debug, Clone)]
pub struct StackedBar {
    pub label: String,
    pub parts: Vec<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct StackedBars {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub bars: Vec<StackedBar>,
}

/// Horizontal stacked bars, one per mode, with the parts' names in the legend. Part colours
/// follow the order of first appearance of each part name.
pub fn stacked_bars(s: &StackedBars) -> String {
    let mut names: Vec<String> = Vec::new();
    for b in &s.bars {
        for (n, _) in &b.parts {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let max = s.bars.iter().map(|b| b.parts.iter().map(|p| p.1).sum::<f64>()).fold(0.0, f64::max);
    // Room on the right for the total printed after each bar.
    let max = nice_ceiling(max * 1.15, 5);
    let bar_h = 34.0;
    let height = TOP + BOTTOM + (bar_h + 14.0) * s.bars.len().max(1) as f64;
    let f = Frame { x0: 0.0, x1: max.max(f64::MIN_POSITIVE), y0: 0.0, y1: 1.0 };
    let mut out = String::new();
    open_svg(&mut out, &s.id, &s.title, height);
    let ticks = nice_ticks(0.0, max, 6);
    x_axis(&mut out, &f, &ticks, AxisKind::Usd, max, height - BOTTOM, height, &s.x_label, true);
    for (i, b) in s.bars.iter().enumerate() {
        let y = TOP + 7.0 + (bar_h + 14.0) * i as f64;
        let total: f64 = b.parts.iter().map(|p| p.1).sum();
        let _ = write!(
            out,
            r#"<g class="stacked-bar" data-bar="{l}" data-total="{total}"><text class="row-label" x="{x}" y="{ty:.1}" text-anchor="end">{l}</text>"#,
            l = esc(&b.label),
            x = LEFT - 6.0,
            ty = y + bar_h * 0.6
        );
        let mut acc = 0.0;
        for (name, v) in &b.parts {
            if *v <= 0.0 {
                continue;
            }
            let x = f.px(acc);
            let w = f.px(acc + v) - x;
            let ci = names.iter().position(|n| n == name).unwrap_or(0);
            let _ = write!(
                out,
                r#"<rect class="bar-part" data-part="{n}" data-value="{v}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{bar_h}" fill="{c}"><title>{n}: {fv}</title></rect>"#,
                n = esc(name),
                c = colour(ci),
                fv = esc(&format_value(*v, AxisKind::Usd, *v))
            );
            acc += v;
        }
        let _ = write!(
            out,
            r#"<text class="bar-total" x="{x:.1}" y="{ty:.1}">{t}</text></g>"#,
            x = f.px(acc) + 6.0,
            ty = y + bar_h * 0.6,
            t = esc(&format_value(total, AxisKind::Usd, total))
        );
    }
    out.push_str("</svg>");
    legend(
        &mut out,
        &names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), colour(i).to_string()))
            .collect::<Vec<_>>(),
    );
    out.push_str("</figure>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        assert_eq!(nice_ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(nice_ticks(5.0, 5.0, 4), vec![5.0]);
        assert_eq!(nice_ceiling(63.8, 5), 80.0);
        assert_eq!(nice_ceiling(0.0, 5), 1.0);
    }

    #[test]
    fn time_labels_pick_units() {
        assert_eq!(format_value(7200.0, AxisKind::Time, 86_400.0), "2h");
        assert_eq!(format_value(172_800.0, AxisKind::Time, 30.0 * 86_400.0), "2d");
        assert_eq!(format_value(90.0, AxisKind::Time, 120.0), "90s");
        assert_eq!(format_value(0.5, AxisKind::Percent, 1.0), "50%");
    }

    #[test]
    fn line_chart_has_series_and_labels() {
        let c = LineChart {
            id: "cost".into(),
            title: "Cost <over> time".into(),
            x_label: "time".into(),
            y_label: "USD".into(),
            x_kind: AxisKind::Time,
            y_kind: AxisKind::Usd,
            series: vec![Series {
                name: "ECS".into(),
                colour: colour(0).into(),
                points: vec![(0.0, 0.0), (3600.0, 1.5)],
                step: false,
                dashed: false,
            }],
            markers: vec![Marker { x: 1800.0, y: 0.75, label: "cross".into() }],
        };
        let s = line_chart(&c);
        assert!(s.contains(r#"data-chart="cost""#));
        assert!(s.contains(r#"data-series="ECS""#));
        assert!(s.contains("Cost &lt;over&gt; time"));
        assert!(s.contains(r#"class="marker""#));
        assert!(!s.contains("NaN"));
    }

    #[test]
    fn empty_charts_do_not_produce_nan() {
        let g = gantt(&Gantt {
            id: "g".into(),
            title: "t".into(),
            x_label: "x".into(),
            keys: vec![],
            rows: vec![],
            start: 0.0,
            end: 0.0,
            note: None,
        });
        assert!(!g.contains("NaN") && !g.contains("inf"));
        let b = stacked_bars(&StackedBars {
            id: "b".into(),
            title: "t".into(),
            x_label: "x".into(),
            bars: vec![],
        });
        assert!(!b.contains("NaN"));
    }
}
