//! Draws a [`LiveModel`] with ratatui. Pure with respect to the terminal: it renders into any
//! ratatui `Frame`, so tests use the `TestBackend`. Laid out for 80×24 and up.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::model::{LiveModel, TaskView};
use crate::money::format_usd;

/// Colours per task family, chosen to be distinct on 16-colour terminals.
const FAMILY_COLOURS: &[Color] = &[
    Color::Blue,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Cyan,
    Color::Red,
    Color::LightBlue,
    Color::LightGreen,
    Color::LightMagenta,
    Color::LightYellow,
];

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct ViewOptions {
    /// False when the terminal has no colour (or `NO_COLOR` is set): families are then told
    /// apart by letter only.
    pub colour: bool,
}

fn family_style(opts: ViewOptions, family: usize) -> Style {
    if opts.colour {
        Style::default().fg(FAMILY_COLOURS[family % FAMILY_COLOURS.len()])
    } else {
        Style::default()
    }
}

/// The glyph of a task: its family's initial, upper case while running, lower case otherwise.
fn task_glyph(m: &LiveModel, t: &TaskView) -> String {
    let initial = m.glyphs.get(t.family).copied().unwrap_or('?');
    if t.status == "RUNNING" {
        initial.to_uppercase().to_string()
    } else {
        initial.to_lowercase().to_string()
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, m: &LiveModel, opts: ViewOptions) {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(8),
            Constraint::Length(6),
            Constraint::Length(1),
        ])
        .split(area);
    draw_header(frame, rows[0], m);
    draw_costs(frame, rows[1], m, opts);
    let main = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(62), Constraint::Percentage(38)])
        .split(rows[2]);
    draw_hosts(frame, main[0], m, opts);
    draw_slots(frame, main[1], m, opts);
    draw_log(frame, rows[3], m);
    draw_footer(frame, rows[4], m);
}

fn draw_header(frame: &mut Frame, area: Rect, m: &LiveModel) {
    let mut spans = vec![
        Span::styled(" berth ", Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)),
        Span::raw(format!(" {}  ", m.title)),
        Span::raw(format!("t={} / {}", m.clock, m.end)),
        Span::raw(format!("  ×{}", format_speed(m.speed))),
    ];
    if m.finished {
        spans.push(Span::styled("  FINISHED", Style::default().add_modifier(Modifier::BOLD)));
    } else if m.paused {
        spans.push(Span::styled("  PAUSED", Style::default().add_modifier(Modifier::BOLD)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn format_speed(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

fn draw_costs(frame: &mut Frame, area: Rect, m: &LiveModel, opts: ViewOptions) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut spans = vec![Span::raw(" cost so far  ")];
    if let Some(c) = m.cost_ecs {
        spans.push(Span::styled("ECS ", bold));
        spans.push(Span::raw(format_usd(c)));
        spans.push(Span::raw("   "));
    }
    if let Some(c) = m.cost_fargate {
        spans.push(Span::styled("Fargate ", bold));
        spans.push(Span::raw(format_usd(c)));
    }
    if let (Some(e), Some(f)) = (m.cost_ecs, m.cost_fargate) {
        let (lead, style) = if e <= f { ("ECS", Color::Green) } else { ("Fargate", Color::Green) };
        let lead = format!("{lead} cheaper so far");
        let style = if opts.colour { Style::default().fg(style) } else { Style::default() };
        spans.push(Span::styled(format!("   ({lead})"), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Host boxes: width per box, and whether a box view fits at all.
const BOX_W: u16 = 19;
const BOX_H: u16 = 5;

fn draw_hosts(frame: &mut Frame, area: Rect, m: &LiveModel, opts: ViewOptions) {
    let title = format!(" ECS hosts: {}  waiting: {} ", m.hosts.len(), m.waiting_ecs);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if m.hosts.is_empty() {
        frame.render_widget(Paragraph::new("(no ECS hosts in this run)"), inner);
        return;
    }
    let cols = (inner.width / BOX_W).max(1);
    let box_rows = inner.height / BOX_H;
    let capacity = (cols * box_rows) as usize;
    if capacity >= m.hosts.len() && box_rows > 0 {
        for (i, _) in m.hosts.iter().enumerate() {
            let (c, r) = ((i as u16) % cols, (i as u16) / cols);
            let rect = Rect {
                x: inner.x + c * BOX_W,
                y: inner.y + r * BOX_H,
                width: BOX_W,
                height: BOX_H,
            };
            draw_host_box(frame, rect, m, i, opts);
        }
    } else {
        // Too many hosts for boxes: one line each, as many as fit.
        let mut lines = Vec::new();
        let fit = inner.height as usize;
        let shown = if m.hosts.len() > fit { fit.saturating_sub(1) } else { m.hosts.len() };
        for i in 0..shown {
            lines.push(host_line(m, i, inner.width as usize, opts));
        }
        if shown < m.hosts.len() {
            lines.push(Line::from(format!("… and {} more hosts", m.hosts.len() - shown)));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

fn percent(used: u32, total: u32) -> u32 {
    if total == 0 {
        0
    } else {
        ((used as u64 * 100) / total as u64) as u32
    }
}

fn task_spans<'a>(m: &'a LiveModel, host: usize, max: usize, opts: ViewOptions) -> Vec<Span<'a>> {
    let h = &m.hosts[host];
    let mut spans = Vec::new();
    for (n, id) in h.tasks.iter().enumerate() {
        if n + 1 >= max && h.tasks.len() > max {
            spans.push(Span::raw(format!("+{}", h.tasks.len() - n)));
            break;
        }
        if let Some(t) = m.ecs_tasks.get(id) {
            spans.push(Span::styled(task_glyph(m, t), family_style(opts, t.family)));
        }
    }
    spans
}

fn draw_host_box(frame: &mut Frame, rect: Rect, m: &LiveModel, i: usize, opts: ViewOptions) {
    let h = &m.hosts[i];
    let (cpu, mem) = m.host_reserved(i);
    let block = Block::default().borders(Borders::ALL).title(short_label(
        &h.label,
        &h.instance_type,
        BOX_W as usize - 2,
    ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let bar_w = (inner.width as usize).saturating_sub(9);
    let lines = vec![
        Line::from(task_spans(m, i, inner.width as usize, opts)),
        Line::from(format!(
            "cpu {} {:>3}%",
            gauge(cpu, h.cpu_units, bar_w),
            percent(cpu, h.cpu_units)
        )),
        Line::from(format!(
            "mem {} {:>3}%",
            gauge(mem, h.memory_mib, bar_w),
            percent(mem, h.memory_mib)
        )),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A text gauge `████░░░░` of `used` out of `total`, `width` cells wide.
fn gauge(used: u32, total: u32, width: usize) -> String {
    let full = if total == 0 { 0 } else { ((used as u64 * width as u64) / total as u64) as usize };
    let full = full.min(width);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

fn short_label(label: &str, itype: &str, width: usize) -> String {
    // Instance ids are long and mostly zeros: keep their tail.
    let tail: String = label.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    let s = format!("{tail} {itype}");
    s.chars().take(width).collect()
}

fn host_line<'a>(m: &'a LiveModel, i: usize, width: usize, opts: ViewOptions) -> Line<'a> {
    let h = &m.hosts[i];
    let (cpu, mem) = m.host_reserved(i);
    let head = format!(
        "{:<16} c{:>3}% m{:>3}% ",
        short_label(&h.label, &h.instance_type, 16),
        percent(cpu, h.cpu_units),
        percent(mem, h.memory_mib)
    );
    let room = width.saturating_sub(head.chars().count());
    let mut spans = vec![Span::raw(head)];
    spans.extend(task_spans(m, i, room, opts));
    Line::from(spans)
}

fn draw_slots(frame: &mut Frame, area: Rect, m: &LiveModel, opts: ViewOptions) {
    let title = format!(" Fargate slots: {} ", m.fargate_tasks.len());
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if m.fargate_tasks.is_empty() {
        frame.render_widget(Paragraph::new("(none running)"), inner);
        return;
    }
    // One cell per slot: "[W]" coloured by family; the legend line below maps letters.
    let cells_per_line = (inner.width / 4).max(1) as usize;
    let max_cells = cells_per_line * inner.height.saturating_sub(1) as usize;
    let mut spans = Vec::new();
    for (n, t) in m.fargate_tasks.values().enumerate() {
        if n + 1 >= max_cells && m.fargate_tasks.len() > max_cells {
            spans.push(Span::raw(format!("+{}", m.fargate_tasks.len() - n)));
            break;
        }
        spans.push(Span::styled(format!("[{}]", task_glyph(m, t)), family_style(opts, t.family)));
        spans.push(Span::raw(" "));
    }
    let mut lines: Vec<Line> = Vec::new();
    for chunk in spans.chunks(cells_per_line * 2) {
        lines.push(Line::from(chunk.to_vec()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_log(frame: &mut Frame, area: Rect, m: &LiveModel) {
    let block = Block::default().borders(Borders::TOP).title(" events ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let n = inner.height as usize;
    let lines: Vec<Line> =
        m.log.iter().rev().take(n).rev().map(|l| Line::from(l.as_str())).collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

fn draw_footer(frame: &mut Frame, area: Rect, m: &LiveModel) {
    let legend: Vec<String> =
        m.families.iter().zip(&m.glyphs).take(6).map(|(f, g)| format!("{g}={f}")).collect();
    let keys = if m.finished { "finished: q closes" } else { "space pause  +/- speed  q quit" };
    let text = format!(" {keys}   {}", legend.join(" "));
    frame.render_widget(
        Paragraph::new(text).style(Style::default().add_modifier(Modifier::DIM)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::live::model::{LiveEvent, Side};
    use crate::time::SimTime;

    fn screen(m: &LiveModel, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, m, ViewOptions { colour: true })).unwrap();
        let buf = t.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..h {
            for x in 0..w {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn shows_hosts_slots_costs_and_log_in_80x24() {
        let mut m = LiveModel::new("demo", SimTime(86_400_000), 3600.0);
        for i in 0..3 {
            m.apply(
                SimTime(0),
                LiveEvent::Host {
                    index: i,
                    label: format!("i-000000000000000{i}"),
                    instance_type: "t3.medium".into(),
                    cpu_units: 2048,
                    memory_mib: 3904,
                },
            );
        }
        m.apply(
            SimTime(1000),
            LiveEvent::Placed {
                side: Side::Ecs,
                task: "t1".into(),
                family: "web".into(),
                host: Some(1),
                cpu_units: 1024,
                memory_mib: 1952,
                size: String::new(),
            },
        );
        m.apply(
            SimTime(2000),
            LiveEvent::Status { side: Side::Ecs, task: "t1".into(), status: "RUNNING".into() },
        );
        m.apply(
            SimTime(1000),
            LiveEvent::Placed {
                side: Side::Fargate,
                task: "f1".into(),
                family: "etl".into(),
                host: None,
                cpu_units: 256,
                memory_mib: 512,
                size: "0.25 vCPU / 0.5 GB".into(),
            },
        );
        m.apply(
            SimTime(3000),
            LiveEvent::Cost { side: Side::Ecs, usd: rust_decimal::Decimal::new(125, 2) },
        );
        m.apply(
            SimTime(3000),
            LiveEvent::Cost { side: Side::Fargate, usd: rust_decimal::Decimal::new(5, 2) },
        );
        m.apply(SimTime(3000), LiveEvent::Log("web task t1 RUNNING on i-0001".into()));
        let s = screen(&m, 80, 24);
        assert!(s.contains("ECS hosts: 3"), "{s}");
        assert!(s.contains("Fargate slots: 1"), "{s}");
        assert!(s.contains("$1.25") && s.contains("$0.05"), "{s}");
        assert!(s.contains("W"), "running web task glyph: {s}");
        assert!(s.contains("[e]"), "provisioning etl slot: {s}");
        assert!(s.contains("cpu ████░░░░  50%"), "{s}");
        assert!(s.contains("web task t1 RUNNING"), "{s}");
        assert!(s.contains("q quit"), "{s}");
    }

    #[test]
    fn many_hosts_fall_back_to_lines() {
        let mut m = LiveModel::new("big", SimTime(1000), 1.0);
        for i in 0..200 {
            m.apply(
                SimTime(0),
                LiveEvent::Host {
                    index: i,
                    label: format!("i-{i:016}"),
                    instance_type: "m5.large".into(),
                    cpu_units: 2048,
                    memory_mib: 8192,
                },
            );
        }
        let s = screen(&m, 80, 24);
        assert!(s.contains("more hosts"), "{s}");
    }
}
