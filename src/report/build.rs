//! Prices a finished mode: turns the integer aggregates of [`super::accounting`] into exact
//! dollars with the pricing module's billing functions.

use rust_decimal::prelude::ToPrimitive;

use super::accounting::{host_charge, FargateParts, Parts, PriceContext};
use super::*;
use crate::engine::Engine;
use crate::taskdef::fargate::FargateSize;
use crate::time::SimDuration;

fn dec(v: u128) -> Decimal {
    Decimal::from(v)
}

pub(super) fn build(p: Parts, engine: &Engine, px: &PriceContext) -> ModeReport {
    let cluster = &px.cluster;
    let dur = SimDuration(p.duration_ms);
    let dur_ms = dec(p.duration_ms as u128);
    let hours = dur_ms / Decimal::from(3_600_000u64);
    let mut notes = Vec::new();
    let mut families: Vec<FamilyLine> = p
        .families
        .iter()
        .map(|f| FamilyLine {
            family: f.name.clone(),
            cpu_units: f.cpu_units,
            memory_mib: f.memory_mib,
            tasks: f.counts.clone(),
            task_hours: f.running_ms as f64 / 3_600_000.0,
            usd: Decimal::ZERO,
            fargate_size: None,
            rounding_usd: None,
        })
        .collect();

    let extra: Vec<ExtraLine> = cluster
        .extra_costs
        .iter()
        .filter(|e| match p.mode {
            Mode::Ecs => e.applies_to_ecs,
            Mode::Fargate => e.applies_to_fargate,
        })
        .map(|e| ExtraLine { name: e.name.clone(), usd: (e.usd_per_hour * hours).normalize() })
        .collect();
    let extra_usd: Usd = extra.iter().map(|e| e.usd).sum();

    let mut cumulative = vec![0.0; series::BUCKETS];
    let (ecs, fargate, total) = match p.mode {
        Mode::Ecs => {
            let reserved_mem = cluster.ecs.reserved_memory_mib;
            let mut types: Vec<InstanceTypeLine> = Vec::new();
            let (mut cpu_used, mut cpu_cap, mut mem_used, mut mem_cap) =
                (0u128, 0u128, 0u128, 0u128);
            let mut hosts_usd = Decimal::ZERO;
            let mut reserved_usd = Decimal::ZERO;
            for (h, &(cpu_ms, mem_ms)) in cluster.hosts.iter().zip(&p.hosts) {
                let cost = host_charge(px, h.usd_per_hour, dur);
                let cap_c = h.registered_cpu_units() as u128 * p.duration_ms as u128;
                let cap_m =
                    h.memory_mib.saturating_sub(reserved_mem) as u128 * p.duration_ms as u128;
                let share = share(cpu_ms, cap_c, mem_ms, cap_m);
                let reserved = allot(cost, share);
                hosts_usd += cost;
                reserved_usd += reserved;
                cpu_used += cpu_ms;
                cpu_cap += cap_c;
                mem_used += mem_ms;
                mem_cap += cap_m;
                let line = match types.iter_mut().find(|t| t.instance_type == h.instance_type) {
                    Some(l) => l,
                    None => {
                        types.push(InstanceTypeLine {
                            instance_type: h.instance_type.clone(),
                            hosts: 0,
                            usd_per_hour: h.usd_per_hour,
                            host_hours: Decimal::ZERO,
                            usd: Decimal::ZERO,
                            reserved_usd: Decimal::ZERO,
                            idle_usd: Decimal::ZERO,
                            cpu_utilisation: 0.0,
                            memory_utilisation: 0.0,
                            cpu_ms: 0,
                            cpu_cap: 0,
                            mem_ms: 0,
                            mem_cap: 0,
                        });
                        types.last_mut().expect("pushed")
                    }
                };
                line.hosts += 1;
                line.host_hours += hours;
                line.usd += cost;
                line.reserved_usd += reserved;
                line.cpu_ms += cpu_ms;
                line.cpu_cap += cap_c;
                line.mem_ms += mem_ms;
                line.mem_cap += cap_m;
            }
            for t in &mut types {
                t.idle_usd = (t.usd - t.reserved_usd).normalize();
                t.usd = t.usd.normalize();
                t.reserved_usd = t.reserved_usd.normalize();
                t.host_hours = t.host_hours.normalize();
                t.cpu_utilisation = ratio(t.cpu_ms, t.cpu_cap);
                t.memory_utilisation = ratio(t.mem_ms, t.mem_cap);
            }
            // Per family: its reservation share of each host group's cost.
            for (&(fam, group), &(cpu_ms, mem_ms)) in &p.alloc {
                let Some(h) = cluster.hosts.iter().find(|h| h.group == group as usize) else {
                    continue;
                };
                let cost = host_charge(px, h.usd_per_hour, dur);
                let cap_c = h.registered_cpu_units() as u128 * p.duration_ms as u128;
                let cap_m =
                    h.memory_mib.saturating_sub(reserved_mem) as u128 * p.duration_ms as u128;
                families[fam as usize].usd += allot(cost, share(cpu_ms, cap_c, mem_ms, cap_m));
            }
            // Hosts are billed at a constant rate: the cumulative cost is a straight line.
            let per_ms = (hosts_usd + extra_usd).to_f64().unwrap_or(0.0) / p.duration_ms as f64;
            let mut acc = 0.0;
            for (b, c) in cumulative.iter_mut().enumerate() {
                let end = ((b as u64 + 1) * p.bucket_ms).min(p.duration_ms);
                let start = (b as u64 * p.bucket_ms).min(p.duration_ms);
                acc += per_ms * (end - start) as f64;
                *c = acc;
            }
            let total = hosts_usd + extra_usd;
            let costs = EcsCosts {
                hosts_usd: hosts_usd.normalize(),
                reserved_usd: reserved_usd.normalize(),
                idle_usd: (hosts_usd - reserved_usd).normalize(),
                host_hours: (hours * Decimal::from(cluster.hosts.len() as u64)).normalize(),
                cpu_utilisation: ratio(cpu_used, cpu_cap),
                memory_utilisation: ratio(mem_used, mem_cap),
                instance_types: types,
            };
            (Some(costs), None, total)
        }
        Mode::Fargate => {
            let mut c = FargateCosts::default();
            for f in &p.fargate {
                let Some(line) = price_size(px, f, &mut notes) else { continue };
                c.vcpu_usd += line.charge.vcpu_usd;
                c.memory_usd += line.charge.memory_usd;
                c.ephemeral_storage_usd += line.charge.ephemeral_storage_usd;
                c.os_license_usd += line.charge.os_license_usd;
                c.rounding_usd += line.rounding_usd;
                // Quantity × seconds first, then one division: whole amounts stay exact.
                let secs = Decimal::from(f.billed_secs);
                let h = secs / Decimal::from(3600u64);
                let per_unit_hour = Decimal::from(1024u64 * 3600);
                c.vcpu_hours += Decimal::from(f.size.cpu_units) * secs / per_unit_hour;
                c.gb_hours += Decimal::from(f.size.memory_mib) * secs / per_unit_hour;
                let free = px.catalog.billing.fargate_free_ephemeral_gib;
                c.storage_gb_hours += Decimal::from(f.storage_gib.saturating_sub(free)) * secs
                    / Decimal::from(3600u64);
                let fam = &mut families[f.family as usize];
                fam.usd += line.charge.total();
                fam.rounding_usd = Some(fam.rounding_usd.unwrap_or_default() + line.rounding_usd);
                fam.fargate_size = Some(f.size.label());
                c.sizes.push(SizeLine {
                    family: fam.family.clone(),
                    requested_cpu_units: f.requested_cpu,
                    requested_memory_mib: f.requested_mem,
                    size: f.size.label(),
                    cpu_units: f.size.cpu_units,
                    memory_mib: f.size.memory_mib,
                    os: format!("{:?}", f.os).to_lowercase(),
                    arch: format!("{:?}", f.arch).to_lowercase(),
                    ephemeral_storage_gib: f.storage_gib,
                    tasks: f.tasks,
                    billed_seconds: f.billed_secs,
                    billed_hours: h.round_dp(SHARE_DP).normalize(),
                    usd: line.charge.total().normalize(),
                    rounding_usd: line.rounding_usd.normalize(),
                });
            }
            let fargate_total =
                c.vcpu_usd + c.memory_usd + c.ephemeral_storage_usd + c.os_license_usd;
            for v in [
                &mut c.vcpu_usd,
                &mut c.memory_usd,
                &mut c.ephemeral_storage_usd,
                &mut c.os_license_usd,
                &mut c.rounding_usd,
            ] {
                *v = v.normalize();
            }
            for v in [&mut c.vcpu_hours, &mut c.gb_hours, &mut c.storage_gb_hours] {
                *v = v.round_dp(SHARE_DP).normalize();
            }
            let extra_per_ms = extra_usd.to_f64().unwrap_or(0.0) / p.duration_ms as f64;
            let mut acc = 0.0;
            for (b, cu) in cumulative.iter_mut().enumerate() {
                let end = ((b as u64 + 1) * p.bucket_ms).min(p.duration_ms);
                let start = (b as u64 * p.bucket_ms).min(p.duration_ms);
                acc += p.fargate_cost.sums[b] + extra_per_ms * (end - start) as f64;
                *cu = acc;
            }
            (None, Some(c), fargate_total + extra_usd)
        }
    };
    for f in &mut families {
        f.usd = f.usd.normalize();
        f.rounding_usd = f.rounding_usd.map(|r| r.normalize());
    }

    if p.mode == Mode::Fargate {
        // How EC2-style definitions were ported, and what Fargate refused.
        for f in &families {
            for entry in engine.defs().iter().filter(|d| d.family() == f.family) {
                let line = match &entry.fargate {
                    Ok(slot) => slot
                        .adaptations
                        .iter()
                        .map(|a| format!("{} on Fargate: {a}", f.family))
                        .collect::<Vec<_>>(),
                    Err(why) => vec![format!("{}: Fargate cannot run it: {why}", f.family)],
                };
                for l in line {
                    if !notes.contains(&l) {
                        notes.push(l);
                    }
                }
            }
        }
    }
    let lanes = lane_names(engine, p.lane_cpu.len());
    let series = SeriesOut {
        bucket_seconds: p.bucket_ms as f64 / 1000.0,
        cumulative_usd: cumulative,
        running: p.running.averages(p.bucket_ms),
        waiting: p.waiting.averages(p.bucket_ms),
        lanes: lanes
            .iter()
            .zip(p.lane_cpu.iter().zip(&p.lane_mem))
            .map(|(name, (c, m))| LaneSeries {
                name: name.clone(),
                cpu: c.averages(p.bucket_ms),
                memory: m.averages(p.bucket_ms),
            })
            .collect(),
    };
    let gantt_lanes = match p.mode {
        Mode::Ecs => engine.hosts().iter().map(|h| h.instance_id.clone()).collect(),
        Mode::Fargate => {
            let n = p.bars.iter().map(|b| b.lane + 1).max().unwrap_or(0);
            (0..n).map(|i| format!("slot-{i}")).collect()
        }
    };
    let rates = rate_lines(p.mode, &p, px);
    ModeReport {
        rates,
        mode: p.mode,
        total_usd: total.normalize(),
        ecs,
        fargate,
        extra_usd: extra_usd.normalize(),
        extra,
        tasks: p.counts,
        wait: WaitStats {
            tasks: p.wait.n,
            still_waiting: p.still_waiting,
            p50_s: p.wait.quantile(0.5) as f64 / 1000.0,
            p95_s: p.wait.quantile(0.95) as f64 / 1000.0,
            max_s: p.wait.max as f64 / 1000.0,
            mean_s: if p.wait.n == 0 { 0.0 } else { p.wait.sum as f64 / p.wait.n as f64 / 1000.0 },
        },
        families,
        series,
        gantt: GanttOut { lanes: gantt_lanes, bars: p.bars, dropped: p.bars_dropped },
        notes,
    }
}

/// The reserved share of a host: the mean of its CPU and memory reservation fractions (berth's
/// convention, documented in docs/cost-model.md).
fn share(cpu_ms: u128, cap_c: u128, mem_ms: u128, cap_m: u128) -> Decimal {
    let f = |used: u128, cap: u128| if cap == 0 { Decimal::ZERO } else { dec(used) / dec(cap) };
    (f(cpu_ms, cap_c) + f(mem_ms, cap_m)) / Decimal::from(2u64)
}

/// Amounts that come out of a division (reservation shares of host cost) are kept to
/// [`SHARE_DP`] decimal places, a ten-billionth of a dollar: far below any display rounding,
/// and free of the 28th-digit noise of decimal division.
pub const SHARE_DP: u32 = 10;

fn allot(cost: Usd, share: Decimal) -> Usd {
    (cost * share).round_dp(SHARE_DP)
}

fn ratio(a: u128, b: u128) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

struct PricedSize {
    charge: crate::pricing::FargateCharge,
    rounding_usd: Decimal,
}

fn price_size(px: &PriceContext, f: &FargateParts, notes: &mut Vec<String>) -> Option<PricedSize> {
    let rate =
        match px.catalog.fargate_rate(&px.cluster.region, f.os, f.arch, px.cluster.fargate.spot) {
            Ok(r) => r,
            Err(e) => {
                let n = format!("not priced: {e}");
                if !notes.contains(&n) {
                    notes.push(n);
                }
                return None;
            }
        };
    for n in &rate.notes {
        if !notes.contains(n) {
            notes.push(n.clone());
        }
    }
    let billed = SimDuration::from_secs(f.billed_secs);
    let charge = rate.charge(f.size, billed, f.storage_gib);
    let requested = FargateSize { cpu_units: f.requested_cpu, memory_mib: f.requested_mem };
    let asked = rate.charge(requested, billed, 0);
    let sized = rate.charge(f.size, billed, 0);
    let rounding_usd = (sized.total() - asked.total()).max(Decimal::ZERO);
    Some(PricedSize { charge, rounding_usd })
}

/// The rate table: each hourly rate the mode was billed at, with its source and date.
fn rate_lines(mode: Mode, p: &Parts, px: &PriceContext) -> Vec<RateLine> {
    let cluster = &px.cluster;
    let mut out: Vec<RateLine> = Vec::new();
    match mode {
        Mode::Ecs => {
            for h in &cluster.hosts {
                let item = format!("EC2 {} ({})", h.instance_type, crate::pricing::os_word(h.os));
                if out
                    .iter()
                    .any(|r| r.item == item && r.usd_per_hour == h.usd_per_hour.normalize())
                {
                    continue;
                }
                let from_catalog =
                    px.catalog.ec2_instance(&cluster.region, &h.instance_type).filter(|i| {
                        i.usd_per_hour == h.usd_per_hour
                            && h.os == crate::taskdef::model::OsFamily::Linux
                    });
                let prov = match from_catalog {
                    Some(i) => i.provenance,
                    None => crate::pricing::Provenance {
                        source: format!("cluster file ({}): usd_per_hour", cluster.name),
                        as_of: "undated".into(),
                        confidence: "user".into(),
                    },
                };
                out.push(RateLine::new(item, "host-hour", h.usd_per_hour, &prov));
            }
        }
        Mode::Fargate => {
            let mut seen = Vec::new();
            for f in &p.fargate {
                if seen.contains(&(f.os, f.arch)) {
                    continue;
                }
                seen.push((f.os, f.arch));
                let Ok(rate) =
                    px.catalog.fargate_rate(&cluster.region, f.os, f.arch, cluster.fargate.spot)
                else {
                    continue;
                };
                let platform = format!(
                    "{}/{}{}",
                    crate::pricing::os_word(f.os),
                    crate::pricing::arch_word(f.arch),
                    if rate.spot { ", Spot" } else { "" }
                );
                let prov = &rate.provenance;
                out.push(RateLine::new(
                    format!("Fargate vCPU ({platform})"),
                    "vCPU-hour",
                    rate.usd_per_vcpu_hour,
                    prov,
                ));
                out.push(RateLine::new(
                    format!("Fargate memory ({platform})"),
                    "GB-hour",
                    rate.usd_per_gb_hour,
                    prov,
                ));
                if !rate.os_license_usd_per_vcpu_hour.is_zero() {
                    out.push(RateLine::new(
                        format!("Fargate OS licence ({platform})"),
                        "vCPU-hour",
                        rate.os_license_usd_per_vcpu_hour,
                        prov,
                    ));
                }
                let storage =
                    format!("Fargate ephemeral storage above {} GiB", rate.free_ephemeral_gib);
                if p.fargate.iter().any(|x| x.storage_gib > rate.free_ephemeral_gib)
                    && !out.iter().any(|r| r.item == storage)
                {
                    out.push(RateLine::new(
                        storage,
                        "GB-hour",
                        rate.storage.usd_per_gb_hour,
                        &rate.storage.provenance,
                    ));
                }
            }
        }
    }
    out
}

fn lane_names(engine: &Engine, n: usize) -> Vec<String> {
    let hosts = engine.hosts();
    if hosts.len() <= series::MAX_HOST_LANES {
        hosts.iter().take(n).map(|h| format!("{} ({})", h.instance_id, h.instance_type)).collect()
    } else {
        (0..n)
            .map(|g| {
                let members: Vec<_> = hosts.iter().filter(|h| h.group == g).collect();
                match members.first() {
                    Some(h) => format!("group {g}: {} × {}", members.len(), h.instance_type),
                    None => format!("group {g}"),
                }
            })
            .collect()
    }
}
