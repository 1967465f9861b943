//! The text report: one table with a column per mode, then costs per task family, the verdict
//! and the expectations. Money is rounded here, and only here.

use std::fmt::Write;

use rust_decimal::prelude::ToPrimitive;

use super::*;

fn n(v: u64) -> String {
    grouped(v)
}

/// Hours for people: whole hours from 100 up (`1,440`), else with the decimals that still say
/// something (`12.5`, `0.17`), so that a short run does not show `0 host-h`.
fn hours(d: Decimal) -> String {
    let d = d.abs();
    if d >= Decimal::from(100u64) {
        n(d.round().to_u64().unwrap_or(0))
    } else if d >= Decimal::from(10u64) {
        format!("{:.1}", d.round_dp(1))
    } else if d.is_zero() {
        "0".into()
    } else {
        format!("{:.2}", d.round_dp(2))
    }
}

fn pct_f(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn share(a: Decimal, of: Decimal) -> String {
    if of.is_zero() {
        String::new()
    } else {
        format!(" ({}%)", (a / of * Decimal::from(100u64)).round())
    }
}

/// Rounds `parts` to cents so that the rounded parts add up to `total` rounded to cents (the
/// largest-remainder method): a report whose lines were rounded one by one could show parts
/// a cent off their total. Parts must sum to `total` exactly (they do: the report's exact
/// decimals). A total under a cent is left alone, shown at full precision as before.
pub fn cents_adding_up(total: Usd, parts: &[Usd]) -> Vec<Usd> {
    let cent = Decimal::new(1, 2);
    if total.abs() < cent || parts.iter().any(|p| p.is_sign_negative()) {
        return parts.to_vec();
    }
    let target =
        total.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let mut out: Vec<Usd> = parts
        .iter()
        .map(|p| p.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero))
        .collect();
    let mut short =
        ((target - out.iter().copied().sum::<Decimal>()) / cent).round().to_i64().unwrap_or(0);
    // The parts whose dropped remainders are largest get the missing cents.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| (parts[b] - out[b]).cmp(&(parts[a] - out[a])).then(a.cmp(&b)));
    for &i in order.iter().cycle().take(parts.len() * 2) {
        if short <= 0 {
            break;
        }
        out[i] += cent;
        short -= 1;
    }
    out
}

/// Renders the report for people.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let sc = &r.scenario;
    let _ = writeln!(
        s,
        "{} — {} simulated on {} ({}, {} host{}), seed {}\n",
        sc.name,
        sc.duration,
        sc.cluster,
        sc.region,
        sc.hosts,
        if sc.hosts == 1 { "" } else { "s" },
        sc.seed
    );
    let modes: Vec<&ModeReport> = r.modes.values().collect();
    let rows = summary_rows(r);
    let label_w = rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0).max(10);
    let col_w: Vec<usize> = (0..modes.len())
        .map(|i| {
            rows.iter()
                .map(|(_, c)| c[i].chars().count())
                .chain(std::iter::once(mode_name(modes[i].mode).len()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let _ = write!(s, "{:label_w$}", "");
    for (i, m) in modes.iter().enumerate() {
        let _ = write!(s, "   {:>w$}", mode_name(m.mode), w = col_w[i]);
    }
    s.push('\n');
    for (label, cells) in &rows {
        let _ = write!(s, "{label:label_w$}");
        for (i, c) in cells.iter().enumerate() {
            let pad = col_w[i].saturating_sub(c.chars().count());
            let _ = write!(s, "   {}{}", " ".repeat(pad), c);
        }
        s.push('\n');
    }

    if let Some(table) = family_table(r) {
        let _ = writeln!(s, "\nCost per task family");
        let widths: Vec<usize> = (0..table[0].len())
            .map(|i| table.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &table {
            let mut line = String::from("  ");
            for (i, c) in row.iter().enumerate() {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i == 0 {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("   ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                }
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
    }

    let rates: Vec<&RateLine> = modes.iter().flat_map(|m| &m.rates).collect();
    if !rates.is_empty() {
        let _ = writeln!(s, "\nRates (hourly list prices, billed per second at 1/3600 of them)");
        let w = rates.iter().map(|r| r.item.chars().count()).max().unwrap_or(0);
        for rate in rates {
            let _ = writeln!(
                s,
                "  {:w$}   ${}/{}   {} ({}, {})",
                rate.item, rate.usd_per_hour, rate.unit, rate.source, rate.as_of, rate.confidence
            );
        }
    }

    if let Some(v) = &r.verdict {
        let _ = writeln!(s, "\nVerdict: {}", v.text);
    }
    if !r.expectations.is_empty() {
        let _ = writeln!(s, "\nExpectations");
        for e in &r.expectations {
            let _ =
                writeln!(s, "  {} {}: {}", if e.ok { "ok  " } else { "FAIL" }, e.name, e.detail);
        }
    }
    let notes: Vec<&String> = {
        let mut v: Vec<&String> = Vec::new();
        for m in &modes {
            for n in &m.notes {
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
        v
    };
    if !notes.is_empty() {
        let _ = writeln!(s, "\nNotes");
        for n in notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s
}

/// The main table: one row per line item, one cell per mode (as displayed, money rounded).
/// Shared by the text and the HTML report so the two never disagree.
pub fn summary_rows(r: &Report) -> Vec<(String, Vec<String>)> {
    let modes: Vec<&ModeReport> = r.modes.values().collect();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let dash = || "—".to_string();
    let mut row = |label: &str, f: &dyn Fn(&ModeReport) -> Option<String>| {
        let cells: Vec<String> = modes.iter().map(|m| f(m).unwrap_or_else(dash)).collect();
        if cells.iter().any(|c| c != "—") {
            rows.push((label.to_string(), cells));
        }
    };
    // Every part shown is rounded so that the parts add up to the total shown.
    let top = |m: &ModeReport| -> Vec<Usd> {
        match (&m.ecs, &m.fargate) {
            (Some(c), _) => cents_adding_up(m.total_usd, &[c.hosts_usd, m.extra_usd]),
            (None, Some(c)) => cents_adding_up(
                m.total_usd,
                &[c.vcpu_usd, c.memory_usd, c.ephemeral_storage_usd, c.os_license_usd, m.extra_usd],
            ),
            (None, None) => vec![m.extra_usd],
        }
    };
    // Hosts, shown rounded as part of the total, split into instance types and into
    // reserved + idle, each adding up to the hosts line.
    let hosts_shown = |m: &ModeReport| top(m)[0];
    let ecs_split = |m: &ModeReport, parts: &[Usd]| cents_adding_up(hosts_shown(m), parts);
    row("Total cost", &|m| Some(format_usd(m.total_usd)));
    row("  EC2 hosts", &|m| m.ecs.as_ref().map(|_| format_usd(hosts_shown(m))));
    let mut types: Vec<String> = Vec::new();
    for m in &modes {
        for t in m.ecs.iter().flat_map(|c| &c.instance_types) {
            if !types.contains(&t.instance_type) {
                types.push(t.instance_type.clone());
            }
        }
    }
    for ty in &types {
        let line = modes
            .iter()
            .flat_map(|m| m.ecs.iter().flat_map(|c| &c.instance_types))
            .find(|t| &t.instance_type == ty)
            .expect("collected above");
        let label = format!("    {} × {} ({} host-h)", line.hosts, ty, hours(line.host_hours));
        row(&label, &|m| {
            m.ecs
                .as_ref()
                .and_then(|c| {
                    let i = c.instance_types.iter().position(|t| &t.instance_type == ty)?;
                    let parts: Vec<Usd> = c.instance_types.iter().map(|t| t.usd).collect();
                    Some((&c.instance_types[i], ecs_split(m, &parts)[i]))
                })
                .map(|(t, shown)| {
                    format!(
                        "{} (CPU {}, mem {})",
                        format_usd(shown),
                        pct_f(t.cpu_utilisation),
                        pct_f(t.memory_utilisation)
                    )
                })
        });
    }
    row("    reserved by tasks", &|m| {
        m.ecs.as_ref().map(|c| {
            let shown = ecs_split(m, &[c.reserved_usd, c.idle_usd])[0];
            format!("{}{}", format_usd(shown), share(c.reserved_usd, c.hosts_usd))
        })
    });
    row("    idle capacity", &|m| {
        m.ecs.as_ref().map(|c| {
            let shown = ecs_split(m, &[c.reserved_usd, c.idle_usd])[1];
            format!("{}{}", format_usd(shown), share(c.idle_usd, c.hosts_usd))
        })
    });
    row("  vCPU", &|m| {
        m.fargate
            .as_ref()
            .map(|c| format!("{} ({} vCPU-h)", format_usd(top(m)[0]), hours(c.vcpu_hours)))
    });
    row("  memory", &|m| {
        m.fargate
            .as_ref()
            .map(|c| format!("{} ({} GB-h)", format_usd(top(m)[1]), hours(c.gb_hours)))
    });
    row("  ephemeral storage > 20 GB", &|m| {
        m.fargate
            .as_ref()
            .map(|c| format!("{} ({} GB-h)", format_usd(top(m)[2]), hours(c.storage_gb_hours)))
    });
    row("  OS licence (Windows)", &|m| m.fargate.as_ref().map(|_| format_usd(top(m)[3])));
    row("  (size rounding, included above)", &|m| {
        m.fargate.as_ref().map(|c| format_usd(c.rounding_usd))
    });
    row("  extra (cluster file)", &|m| {
        (!m.extra.is_empty()).then(|| format_usd(*top(m).last().expect("extra is the last part")))
    });
    row("Utilisation (CPU / memory)", &|m| {
        m.ecs
            .as_ref()
            .map(|c| format!("{} / {}", pct_f(c.cpu_utilisation), pct_f(c.memory_utilisation)))
    });
    row("Tasks launched", &|m| Some(n(m.tasks.launched)));
    row("  completed / failed / stopped", &|m| {
        Some(format!("{} / {} / {}", n(m.tasks.completed), n(m.tasks.failed), n(m.tasks.stopped)))
    });
    row("  running / waiting at the end", &|m| {
        Some(format!("{} / {}", n(m.tasks.running_at_end), n(m.tasks.waiting_at_end)))
    });
    row("  stopped before getting capacity", &|m| {
        (m.tasks.stopped_while_waiting > 0).then(|| n(m.tasks.stopped_while_waiting))
    });
    row("Wait to start p50 / p95 / max", &|m| {
        Some(format!(
            "{} / {} / {}",
            human_secs(m.wait.p50_s),
            human_secs(m.wait.p95_s),
            human_secs(m.wait.max_s)
        ))
    });
    row("  (waits counted until the end for)", &|m| {
        (m.wait.still_waiting > 0).then(|| format!("{} still waiting", n(m.wait.still_waiting)))
    });

    rows
}

/// Cost per task family: the first row is the header. `None` when no task ran.
pub fn family_table(r: &Report) -> Option<Vec<Vec<String>>> {
    let modes: Vec<&ModeReport> = r.modes.values().collect();
    let dash = || "—".to_string();
    let mut fams: Vec<String> = Vec::new();
    for m in &modes {
        for f in &m.families {
            if !fams.contains(&f.family) {
                fams.push(f.family.clone());
            }
        }
    }
    if fams.is_empty() {
        return None;
    }
    let mut table: Vec<Vec<String>> = vec![{
        let mut h = vec!["family".to_string(), "tasks".into(), "task-hours".into()];
        for m in &modes {
            h.push(mode_name(m.mode).to_string());
        }
        if r.modes.contains_key(&Mode::Fargate) {
            h.push("Fargate size (asked)".into());
            h.push("rounding".into());
        }
        h
    }];
    for fam in &fams {
        let lines: Vec<Option<&FamilyLine>> =
            modes.iter().map(|m| m.families.iter().find(|f| &f.family == fam)).collect();
        let any = lines.iter().flatten().next().expect("family seen");
        let mut row = vec![
            fam.clone(),
            n(any.tasks.launched),
            format!("{:.1}", lines.iter().flatten().map(|l| l.task_hours).fold(0.0, f64::max)),
        ];
        for l in &lines {
            row.push(l.map(|l| format_usd(l.usd)).unwrap_or_else(dash));
        }
        if let Some(fm) = r.modes.get(&Mode::Fargate) {
            let f = fm.families.iter().find(|f| &f.family == fam);
            let sizes: Vec<&SizeLine> =
                fm.fargate.iter().flat_map(|c| &c.sizes).filter(|sl| &sl.family == fam).collect();
            row.push(match sizes.first() {
                Some(sl) => format!(
                    "{} ({} CPU, {} MiB)",
                    sl.size, sl.requested_cpu_units, sl.requested_memory_mib
                ),
                None => {
                    f.map(|f| format!("not run ({} failed)", f.tasks.failed)).unwrap_or_else(dash)
                }
            });
            row.push(f.and_then(|f| f.rounding_usd).map(format_usd).unwrap_or_else(dash));
        }
        table.push(row);
    }
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn hours_keep_the_digits_that_matter() {
        assert_eq!(hours(dec!(1440)), "1,440");
        assert_eq!(hours(dec!(12.46)), "12.5");
        assert_eq!(hours(dec!(0.1666)), "0.17");
        assert_eq!(hours(dec!(0)), "0");
        assert_eq!(human_secs(0.25), "250ms");
        assert_eq!(human_secs(0.0), "0s");
        assert_eq!(human_secs(42.0), "42s");
        assert_eq!(human_secs(200.0), "3m 20s");
    }

    #[test]
    fn rounded_parts_add_up_to_the_rounded_total() {
        // One by one these round to $0.01 + $0.01 (and $1.00 × 3): a cent off their totals.
        assert_eq!(cents_adding_up(dec!(0.01), &[dec!(0.005), dec!(0.005)]), [dec!(0.01), dec!(0)]);
        let three = cents_adding_up(dec!(3.012), &[dec!(1.004), dec!(1.004), dec!(1.004)]);
        assert_eq!(three.iter().copied().sum::<Decimal>(), dec!(3.01));
        // The part with the largest dropped remainder gets the cent.
        assert_eq!(
            cents_adding_up(dec!(10.0), &[dec!(3.333), dec!(3.333), dec!(3.334)]),
            [dec!(3.33), dec!(3.33), dec!(3.34)]
        );
        // Under a cent nothing is rounded away.
        assert_eq!(cents_adding_up(dec!(0.000123), &[dec!(0.000123)]), [dec!(0.000123)]);
    }
}
