//! What the live view shows, as plain data: hosts with the tasks on them, Fargate slots, cost
//! meters and an event log. Runtimes feed it [`LiveEvent`]s; the view only reads it. Keeping the
//! model apart from the terminal makes the view testable on a fake backend and lets the
//! simulator and the Docker runtime share it.

use std::collections::{BTreeMap, VecDeque};

use crate::money::Usd;
use crate::time::SimTime;

/// Which side of the comparison an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Ecs,
    Fargate,
}

/// Something that changed, in terms the view understands.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// An ECS host exists (sent once per host at the start).
    Host { index: usize, label: String, instance_type: String, cpu_units: u32, memory_mib: u32 },
    /// A task got its place: an ECS host, or (`host: None`) its own Fargate slot.
    Placed {
        side: Side,
        task: String,
        family: String,
        host: Option<usize>,
        cpu_units: u32,
        memory_mib: u32,
        /// The Fargate size label, e.g. "0.25 vCPU / 0.5 GB".
        size: String,
    },
    /// A task's last status changed (PENDING, RUNNING, STOPPING, ...).
    Status { side: Side, task: String, status: String },
    /// A task stopped and gave back its place.
    Gone { side: Side, task: String },
    /// Tasks waiting for capacity right now.
    Waiting { side: Side, count: usize },
    /// The cost so far of a side.
    Cost { side: Side, usd: Usd },
    /// A line for the event log.
    Log(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostView {
    pub label: String,
    pub instance_type: String,
    pub cpu_units: u32,
    pub memory_mib: u32,
    /// Task ids in placement order.
    pub tasks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    pub family: usize,
    pub host: Option<usize>,
    pub cpu_units: u32,
    pub memory_mib: u32,
    pub size: String,
    pub status: String,
}

/// Everything the live view draws.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveModel {
    pub title: String,
    pub clock: SimTime,
    pub end: SimTime,
    /// Scenario seconds per wall second.
    pub speed: f64,
    pub paused: bool,
    pub finished: bool,
    pub hosts: Vec<HostView>,
    pub ecs_tasks: BTreeMap<String, TaskView>,
    pub fargate_tasks: BTreeMap<String, TaskView>,
    /// Task families, in order of first appearance (their index picks the colour).
    pub families: Vec<String>,
    /// One distinct glyph per family (its initial where free), for terminals without colour.
    pub glyphs: Vec<char>,
    pub cost_ecs: Option<Usd>,
    pub cost_fargate: Option<Usd>,
    pub waiting_ecs: usize,
    pub log: VecDeque<String>,
}

/// How many log lines are kept; the view shows the newest that fit.
pub const LOG_LINES_KEPT: usize = 200;

impl LiveModel {
    pub fn new(title: impl Into<String>, end: SimTime, speed: f64) -> Self {
        LiveModel {
            title: title.into(),
            clock: SimTime::ZERO,
            end,
            speed,
            paused: false,
            finished: false,
            hosts: Vec::new(),
            ecs_tasks: BTreeMap::new(),
            fargate_tasks: BTreeMap::new(),
            families: Vec::new(),
            glyphs: Vec::new(),
            cost_ecs: None,
            cost_fargate: None,
            waiting_ecs: 0,
            log: VecDeque::new(),
        }
    }

    fn family_index(&mut self, family: &str) -> usize {
        match self.families.iter().position(|f| f == family) {
            Some(i) => i,
            None => {
                // The first letter of the name not already taken, else a digit.
                let taken = &self.glyphs;
                let glyph = family
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .map(|c| c.to_ascii_uppercase())
                    .chain('1'..='9')
                    .find(|g| !taken.contains(g))
                    .unwrap_or('?');
                self.glyphs.push(glyph);
                self.families.push(family.to_string());
                self.families.len() - 1
            }
        }
    }

    fn tasks_mut(&mut self, side: Side) -> &mut BTreeMap<String, TaskView> {
        match side {
            Side::Ecs => &mut self.ecs_tasks,
            Side::Fargate => &mut self.fargate_tasks,
        }
    }

    /// Applies one event at scenario time `at`.
    pub fn apply(&mut self, at: SimTime, event: LiveEvent) {
        // What happens after the end (stopping everything) does not move the clock past it.
        self.clock = self.clock.max(if self.end > SimTime::ZERO { at.min(self.end) } else { at });
        match event {
            LiveEvent::Host { index, label, instance_type, cpu_units, memory_mib } => {
                if self.hosts.len() <= index {
                    self.hosts.resize(
                        index + 1,
                        HostView {
                            label: String::new(),
                            instance_type: String::new(),
                            cpu_units: 0,
                            memory_mib: 0,
                            tasks: Vec::new(),
                        },
                    );
                }
                self.hosts[index] =
                    HostView { label, instance_type, cpu_units, memory_mib, tasks: Vec::new() };
            }
            LiveEvent::Placed { side, task, family, host, cpu_units, memory_mib, size } => {
                let family = self.family_index(&family);
                if let (Side::Ecs, Some(h)) = (side, host) {
                    if let Some(hv) = self.hosts.get_mut(h) {
                        hv.tasks.push(task.clone());
                    }
                }
                let view = TaskView {
                    family,
                    host,
                    cpu_units,
                    memory_mib,
                    size,
                    status: "PENDING".into(),
                };
                self.tasks_mut(side).insert(task, view);
            }
            LiveEvent::Status { side, task, status } => {
                if let Some(t) = self.tasks_mut(side).get_mut(&task) {
                    t.status = status;
                }
            }
            LiveEvent::Gone { side, task } => {
                if let Some(t) = self.tasks_mut(side).remove(&task) {
                    if let Some(hv) = t.host.and_then(|h| self.hosts.get_mut(h)) {
                        hv.tasks.retain(|x| x != &task);
                    }
                }
            }
            LiveEvent::Waiting { side, count } => {
                if side == Side::Ecs {
                    self.waiting_ecs = count;
                }
            }
            LiveEvent::Cost { side, usd } => match side {
                Side::Ecs => self.cost_ecs = Some(usd),
                Side::Fargate => self.cost_fargate = Some(usd),
            },
            LiveEvent::Log(line) => {
                self.log.push_back(format!("{} {}", at, line));
                while self.log.len() > LOG_LINES_KEPT {
                    self.log.pop_front();
                }
            }
        }
    }

    /// CPU units and MiB reserved on a host by the tasks placed there.
    pub fn host_reserved(&self, index: usize) -> (u32, u32) {
        let Some(h) = self.hosts.get(index) else { return (0, 0) };
        h.tasks
            .iter()
            .filter_map(|t| self.ecs_tasks.get(t))
            .fold((0, 0), |(c, m), t| (c + t.cpu_units, m + t.memory_mib))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_and_remove() {
        let mut m = LiveModel::new("t", SimTime(10_000), 60.0);
        m.apply(
            SimTime(0),
            LiveEvent::Host {
                index: 0,
                label: "i-1".into(),
                instance_type: "t3.medium".into(),
                cpu_units: 2048,
                memory_mib: 3904,
            },
        );
        m.apply(
            SimTime(5),
            LiveEvent::Placed {
                side: Side::Ecs,
                task: "a".into(),
                family: "web".into(),
                host: Some(0),
                cpu_units: 256,
                memory_mib: 512,
                size: String::new(),
            },
        );
        assert_eq!(m.host_reserved(0), (256, 512));
        m.apply(
            SimTime(6),
            LiveEvent::Status { side: Side::Ecs, task: "a".into(), status: "RUNNING".into() },
        );
        assert_eq!(m.ecs_tasks["a"].status, "RUNNING");
        m.apply(SimTime(9), LiveEvent::Gone { side: Side::Ecs, task: "a".into() });
        assert_eq!(m.host_reserved(0), (0, 0));
        assert_eq!(m.clock, SimTime(9));
        m.apply(
            SimTime(10),
            LiveEvent::Placed {
                side: Side::Fargate,
                task: "b".into(),
                family: "worker".into(),
                host: None,
                cpu_units: 256,
                memory_mib: 512,
                size: String::new(),
            },
        );
        assert_eq!(m.glyphs, vec!['W', 'O'], "two families starting with w get distinct glyphs");
    }

    #[test]
    fn log_is_bounded() {
        let mut m = LiveModel::new("t", SimTime(0), 1.0);
        for i in 0..(LOG_LINES_KEPT + 10) {
            m.apply(SimTime(i as u64), LiveEvent::Log(format!("line {i}")));
        }
        assert_eq!(m.log.len(), LOG_LINES_KEPT);
    }
}
