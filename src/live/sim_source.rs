//! Feeds the live view from the simulator: one [`Sim`] per mode, advanced in lockstep, with an
//! observer that turns engine events into [`LiveEvent`]s and meters each mode's cost so far.
//!
//! The cost meter uses the pricing module's own billing functions (EC2 per host for the time
//! so far; Fargate per task from its billing start), so it agrees with the final report up to
//! the minimums still to be applied to running work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::model::{LiveEvent, LiveModel, Side};
use super::term::LiveSource;
use crate::cluster::Cluster;
use crate::engine::{Engine, Event, Mode, Output, TaskId, TaskStatus};
use crate::money::Usd;
use crate::pricing::{ec2_charge, Catalog, FargateRate};
use crate::sim::{Sim, SimSetup};
use crate::taskdef::fargate::FargateSize;
use crate::time::{SimDuration, SimTime};

/// One running Fargate meter.
struct Meter {
    since: SimTime,
    size: FargateSize,
    ephemeral_gib: u32,
    rate: Option<FargateRate>,
}

/// Turns one mode's engine outputs into [`LiveEvent`]s and meters its cost so far. Used by the
/// simulator's live source and by `berth run`, so both views say the same things.
#[derive(Default)]
pub struct LiveCollector {
    events: Vec<(SimTime, LiveEvent)>,
    /// Tasks the view has been told about, with the last status it was told (events also
    /// fire when only the desired status changes; those are not news for the log).
    known: HashMap<TaskId, TaskStatus>,
    waiting: usize,
    meters: HashMap<TaskId, Meter>,
    /// Charges of tasks whose meter has stopped.
    fargate_done: Usd,
}

/// The live view's side for an engine mode.
pub fn side_of(mode: Mode) -> Side {
    match mode {
        Mode::Ecs => Side::Ecs,
        Mode::Fargate => Side::Fargate,
    }
}

/// Short task label for the log: family and the first hex digits of its id.
fn label(engine: &Engine, id: TaskId) -> String {
    let family =
        engine.task(id).map(|t| engine.def(t.def).family().to_string()).unwrap_or_default();
    let hex = engine.task_hex(id);
    format!("{family}/{}", &hex[..6])
}

impl LiveCollector {
    /// Takes in one engine output of the mode on `side`.
    pub fn observe(
        &mut self,
        engine: &Engine,
        out: &Output,
        side: Side,
        catalog: &Catalog,
        cluster: &Cluster,
    ) {
        observe(self, engine, out, side, catalog, cluster);
    }

    /// The events collected since the last call.
    pub fn drain(&mut self) -> Vec<(SimTime, LiveEvent)> {
        std::mem::take(&mut self.events)
    }

    /// What the mode has cost up to `now`: ECS bills every host from the start; Fargate bills
    /// each task from the start of its image pull, with the minimum applied to running tasks too.
    pub fn cost_so_far(&self, side: Side, now: SimTime, cluster: &Cluster) -> Usd {
        match side {
            Side::Ecs => {
                let up = SimDuration(now.0);
                cluster.hosts.iter().map(|h| ec2_charge(h.usd_per_hour, up)).sum()
            }
            Side::Fargate => {
                let running: Usd = self
                    .meters
                    .values()
                    .filter_map(|m| {
                        let rate = m.rate.as_ref()?;
                        Some(rate.charge(m.size, now.since(m.since), m.ephemeral_gib).total())
                    })
                    .sum();
                self.fargate_done + running
            }
        }
    }
}

fn observe(
    c: &mut LiveCollector,
    engine: &Engine,
    out: &Output,
    side: Side,
    catalog: &Catalog,
    cluster: &Cluster,
) {
    let at = out.at;
    let tag = match side {
        Side::Ecs => "ECS",
        Side::Fargate => "Fargate",
    };
    for ev in &out.events {
        match ev {
            Event::TaskPlaced { task, host } => {
                let Some(t) = engine.task(*task) else { continue };
                let d = engine.def(t.def);
                c.known.entry(*task).or_insert(t.last_status);
                c.events.push((
                    at,
                    LiveEvent::Placed {
                        side,
                        task: engine.task_hex(*task),
                        family: d.family().to_string(),
                        host: Some(host.0 as usize),
                        cpu_units: d.demand.cpu_units,
                        memory_mib: d.demand.memory_mib,
                        size: String::new(),
                    },
                ));
            }
            Event::TaskStateChanged { task, last, .. } => {
                let Some(t) = engine.task(*task) else { continue };
                let hex = engine.task_hex(*task);
                let previous = c.known.get(task).copied();
                if previous == Some(*last) {
                    continue;
                }
                if side == Side::Fargate && *last != TaskStatus::Stopped && previous.is_none() {
                    let d = engine.def(t.def);
                    let size = t.fargate_size.or_else(|| d.fargate.as_ref().ok().map(|s| s.size));
                    c.events.push((
                        at,
                        LiveEvent::Placed {
                            side,
                            task: hex.clone(),
                            family: d.family().to_string(),
                            host: None,
                            cpu_units: size.map(|s| s.cpu_units).unwrap_or(0),
                            memory_mib: size.map(|s| s.memory_mib).unwrap_or(0),
                            size: size.map(|s| s.label()).unwrap_or_default(),
                        },
                    ));
                }
                c.known.insert(*task, *last);
                let status = format!("{last:?}").to_uppercase();
                c.events.push((
                    at,
                    LiveEvent::Status { side, task: hex.clone(), status: status.clone() },
                ));
                match last {
                    TaskStatus::Running => {
                        let place = match t.host {
                            Some(h) => format!(" on {}", engine.hosts()[h.0 as usize].instance_id),
                            None => String::new(),
                        };
                        c.events.push((
                            at,
                            LiveEvent::Log(format!(
                                "{tag}: {} RUNNING{place}",
                                label(engine, *task)
                            )),
                        ));
                    }
                    TaskStatus::Stopped => {
                        c.known.remove(task);
                        let why = t
                            .stopped_reason
                            .as_ref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default();
                        c.events.push((
                            at,
                            LiveEvent::Log(format!("{tag}: {} STOPPED{why}", label(engine, *task))),
                        ));
                        c.events.push((at, LiveEvent::Gone { side, task: hex }));
                    }
                    _ => {}
                }
            }
            Event::PlacementFailed { task, reason, .. } => {
                c.events.push((
                    at,
                    LiveEvent::Log(format!(
                        "{tag}: {} waits for capacity ({})",
                        label(engine, *task),
                        reason.as_ecs_str()
                    )),
                ));
            }
            Event::ServiceEvent { message, .. } => {
                c.events.push((at, LiveEvent::Log(format!("{tag}: {message}"))));
            }
            Event::BillingStarted { task } => {
                let Some(t) = engine.task(*task) else { continue };
                let d = engine.def(t.def);
                let Some(size) = t.fargate_size.or_else(|| d.fargate.as_ref().ok().map(|s| s.size))
                else {
                    continue;
                };
                let p = d.def.runtime_platform;
                let rate =
                    catalog.fargate_rate(&cluster.region, p.os, p.arch, cluster.fargate.spot).ok();
                let ephemeral_gib = d.fargate.as_ref().map(|s| s.ephemeral_gib).unwrap_or(20);
                c.meters.insert(*task, Meter { since: at, size, ephemeral_gib, rate });
            }
            Event::BillingStopped { task } => {
                if let Some(m) = c.meters.remove(task) {
                    if let Some(rate) = &m.rate {
                        c.fargate_done +=
                            rate.charge(m.size, at.since(m.since), m.ephemeral_gib).total();
                    }
                }
            }
            _ => {}
        }
    }
    if side == Side::Ecs {
        let w = engine.waiting();
        if w != c.waiting {
            c.waiting = w;
            c.events.push((at, LiveEvent::Waiting { side, count: w }));
        }
    }
}

struct ModeRun {
    side: Side,
    sim: Sim,
    collected: Arc<Mutex<LiveCollector>>,
}

/// The simulator as a live source: both modes advance together.
pub struct SimSource {
    runs: Vec<ModeRun>,
    cluster: Arc<Cluster>,
    end: SimTime,
}

impl SimSource {
    /// One simulator per setup (one per mode); the setups share scenario and cluster.
    pub fn new(setups: Vec<SimSetup>) -> SimSource {
        let cluster = setups[0].cluster.clone();
        let catalog = setups[0].catalog.clone();
        let runs: Vec<ModeRun> = setups
            .into_iter()
            .map(|setup| {
                let side = side_of(setup.mode);
                let collected = Arc::new(Mutex::new(LiveCollector::default()));
                let mut sim = Sim::new(setup);
                let (c2, cat, cl) = (collected.clone(), catalog.clone(), cluster.clone());
                sim.set_observer(Box::new(move |engine, out| {
                    c2.lock().expect("observer lock").observe(engine, out, side, &cat, &cl);
                }));
                ModeRun { side, sim, collected }
            })
            .collect();
        let end = runs.first().map(|r| r.sim.end()).unwrap_or(SimTime::ZERO);
        SimSource { runs, cluster, end }
    }

    pub fn end(&self) -> SimTime {
        self.end
    }

    /// The starting model: the ECS hosts, when ECS mode is simulated.
    pub fn initial_model(&self, title: &str, speed: f64) -> LiveModel {
        let with_ecs = self.runs.iter().any(|r| r.side == Side::Ecs);
        super::initial_model(&self.cluster, with_ecs, title, self.end, speed)
    }

    /// The finished simulators, to build the final report.
    pub fn into_sims(self) -> Vec<Sim> {
        self.runs.into_iter().map(|r| r.sim).collect()
    }
}

impl LiveSource for SimSource {
    fn advance(&mut self, to: SimTime, model: &mut LiveModel) -> SimTime {
        let to = to.min(self.end);
        for r in &mut self.runs {
            r.sim.run_until(to, &mut |_| {});
            let mut c = r.collected.lock().expect("observer lock");
            for (at, ev) in c.drain() {
                model.apply(at, ev);
            }
            let usd = c.cost_so_far(r.side, to, &self.cluster);
            model.apply(to, LiveEvent::Cost { side: r.side, usd });
        }
        to
    }

    fn finished(&self) -> bool {
        self.runs.iter().all(|r| r.sim.now() >= self.end)
    }
}
