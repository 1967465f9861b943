//! The REPLICA service scheduler: keeps `desiredCount` tasks, replaces stopped ones, scales in
//! by ECS's rules, rolls deployments (minimumHealthyPercent 100, maximumPercent 200) and throttles
//! services whose tasks keep failing to start.

use std::collections::BTreeMap;

use super::*;

/// ECS's throttle: the delay between launch attempts of a service whose tasks keep failing to
/// start grows up to 15 minutes (ecs-semantics.md §5.5). berth doubles it from 10 s.
const THROTTLE_BASE: SimDuration = SimDuration(10_000);
const THROTTLE_MAX: SimDuration = SimDuration(15 * 60_000);

/// A service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub def: DefId,
    pub desired: u32,
    pub(crate) profile: u32,
    pub(crate) strategy: Vec<crate::placement::StrategyRule>,
    pub(crate) constraints: Vec<crate::placement::ConstraintSpec>,
    /// Sequence number of the primary deployment.
    pub deployment: u32,
    /// `ecs-svc/<19 digits>`, the primary deployment's id (service tasks' `startedBy`).
    pub deployment_id: String,
    /// Live tasks (not yet STOPPED).
    pub tasks: BTreeSet<TaskId>,
    /// Consecutive tasks that stopped without reaching RUNNING.
    pub failures: u32,
    pub retry_at: Option<SimTime>,
    pub steady: bool,
    pub deleting: bool,
}

impl Engine {
    pub(super) fn create_service(
        &mut self,
        now: SimTime,
        cs: CreateService,
        out: &mut Output,
    ) -> Result<(), CommandError> {
        if self.s.service_names.contains_key(&cs.name) {
            return Err(CommandError::ServiceExists(cs.name));
        }
        let def = self.resolve(&cs.task_def)?;
        let id = ServiceId(self.s.services.len() as u32);
        let strategy = if cs.strategy.is_empty() {
            defs::service_default_strategy()
        } else {
            cs.strategy.clone()
        };
        let profile = self.profile_for(
            def,
            format!("service:{}", cs.name),
            strategy.clone(),
            cs.constraints.clone(),
        );
        let svc = Service {
            id,
            name: cs.name.clone(),
            def,
            desired: cs.desired,
            profile,
            strategy,
            constraints: cs.constraints,
            deployment: 1,
            deployment_id: self.deployment_id(id, 1),
            tasks: BTreeSet::new(),
            failures: 0,
            retry_at: None,
            steady: false,
            deleting: false,
        };
        self.s.services.push(Some(svc));
        self.s.service_names.insert(cs.name, id);
        self.reconcile(now, id, out);
        Ok(())
    }

    pub(super) fn update_service(
        &mut self,
        now: SimTime,
        name: &str,
        desired: Option<u32>,
        task_def: Option<TaskDefRef>,
        out: &mut Output,
    ) -> Result<(), CommandError> {
        let id = *self
            .s
            .service_names
            .get(name)
            .ok_or_else(|| CommandError::ServiceNotFound(name.to_string()))?;
        let new_def = task_def.map(|r| self.resolve(&r)).transpose()?;
        let (strategy, constraints) = {
            let svc = self.s.services[id.0 as usize].as_ref().expect("named services exist");
            (svc.strategy.clone(), svc.constraints.clone())
        };
        let new_profile =
            new_def.map(|d| self.profile_for(d, format!("service:{name}"), strategy, constraints));
        let new_id = self.deployment_id(
            id,
            self.s.services[id.0 as usize].as_ref().map_or(1, |s| s.deployment + 1),
        );
        let svc = self.s.services[id.0 as usize].as_mut().expect("named services exist");
        if let Some(d) = desired {
            svc.desired = d;
        }
        if let (Some(d), Some(p)) = (new_def, new_profile) {
            if d != svc.def {
                svc.def = d;
                svc.profile = p;
                svc.deployment += 1;
                svc.deployment_id = new_id;
            }
        }
        // Updating a service resets the throttle (ecs-semantics.md §5.5).
        svc.failures = 0;
        svc.retry_at = None;
        svc.steady = false;
        self.reconcile(now, id, out);
        Ok(())
    }

    pub(super) fn delete_service(
        &mut self,
        now: SimTime,
        name: &str,
        out: &mut Output,
    ) -> Result<(), CommandError> {
        let id = *self
            .s
            .service_names
            .get(name)
            .ok_or_else(|| CommandError::ServiceNotFound(name.to_string()))?;
        let svc = self.s.services[id.0 as usize].as_mut().expect("named services exist");
        svc.desired = 0;
        svc.deleting = true;
        svc.retry_at = None;
        self.reconcile(now, id, out);
        Ok(())
    }

    /// A service task stopped before it ever ran: back off before the next launch.
    pub(super) fn service_task_failed(&mut self, now: SimTime, id: ServiceId, out: &mut Output) {
        let Some(svc) = self.s.services[id.0 as usize].as_mut() else { return };
        svc.failures += 1;
        if svc.failures < 2 {
            return;
        }
        let exp = (svc.failures - 2).min(16);
        let delay = SimDuration(THROTTLE_BASE.0.saturating_mul(1 << exp)).min(THROTTLE_MAX);
        let at = now + delay;
        if svc.retry_at.is_none_or(|r| r < at) {
            svc.retry_at = Some(at);
            self.s.timers.insert((at, Timer::ServiceRetry { service: id }));
        }
        if svc.failures == 3 {
            out.events.push(Event::ServiceEvent {
                service: id,
                message: format!(
                    "(service {}) is unable to consistently start tasks successfully.",
                    svc.name
                ),
            });
        }
    }

    pub(super) fn reconcile_dirty_services(&mut self, now: SimTime, out: &mut Output) {
        // Each pass can only launch when not throttled, and a failed launch throttles, so this
        // terminates; the bound is a belt and braces.
        for _ in 0..64 {
            let Some(id) = self.s.dirty_services.pop_first() else { return };
            self.reconcile(now, id, out);
        }
    }

    /// Brings one service towards its desired state.
    fn reconcile(&mut self, now: SimTime, id: ServiceId, out: &mut Output) {
        let Some(svc) = self.s.services[id.0 as usize].as_ref() else { return };
        if svc.deleting && svc.tasks.is_empty() {
            let name = svc.name.clone();
            self.s.service_names.remove(&name);
            self.s.services[id.0 as usize] = None;
            return;
        }
        let (mut primary_alive, mut primary_running, mut old_alive) = (0u32, 0u32, 0u32);
        for t in svc.tasks.iter().filter_map(|t| self.s.tasks.get(*t)) {
            if t.desired_status != DesiredStatus::Running {
                continue;
            }
            if t.deployment == svc.deployment {
                primary_alive += 1;
                if t.last_status == TaskStatus::Running {
                    primary_running += 1;
                }
            } else {
                old_alive += 1;
            }
        }
        let desired = svc.desired;
        let throttled = svc.retry_at.is_some_and(|r| r > now);
        let (profile, deployment, name) = (svc.profile, svc.deployment, svc.name.clone());
        let mut changed = false;

        // Launch what is missing (at most maximumPercent 200 % of desired in total).
        let want = desired.saturating_sub(primary_alive);
        let room = (2 * desired).saturating_sub(primary_alive + old_alive);
        let n = want.min(room);
        if n > 0 && !throttled {
            let mut started = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let t = self.create_task(
                    now,
                    profile,
                    TaskOverrides::default(),
                    None,
                    Some(id),
                    deployment,
                    out,
                );
                started.push(t);
            }
            out.events.push(Event::ServiceEvent {
                service: id,
                message: format!(
                    "(service {name}) has started {} tasks: {}.",
                    started.len(),
                    self.task_list(&started)
                ),
            });
            changed = true;
        }

        // Rolling deployment: stop old tasks once replacements run (minimumHealthyPercent 100).
        let excess_old = (primary_running + old_alive).saturating_sub(desired).min(old_alive);
        let mut stops = Vec::new();
        if excess_old > 0 {
            stops.extend(self.pick_scale_in(id, excess_old, |t| t.deployment != deployment));
        }
        // Scale in.
        if primary_alive > desired {
            stops.extend(
                self.pick_scale_in(id, primary_alive - desired, |t| t.deployment == deployment),
            );
        }
        if !stops.is_empty() {
            let dep_id =
                self.s.services[id.0 as usize].as_ref().expect("live").deployment_id.clone();
            for &t in &stops {
                self.stop_task(
                    now,
                    t,
                    StopCode::ServiceSchedulerInitiated,
                    StoppedReason::Scaling { deployment: dep_id.clone() },
                    out,
                );
            }
            out.events.push(Event::ServiceEvent {
                service: id,
                message: format!(
                    "(service {name}) has stopped {} running tasks: {}.",
                    stops.len(),
                    self.task_list(&stops)
                ),
            });
            changed = true;
        }

        let Some(svc) = self.s.services[id.0 as usize].as_mut() else { return };
        if changed {
            svc.steady = false;
        } else if !svc.steady
            && old_alive == 0
            && primary_running == desired
            && primary_alive == desired
        {
            svc.steady = true;
            out.events.push(Event::ServiceEvent {
                service: id,
                message: format!("(service {name}) has reached a steady state."),
            });
        }
        if throttled {
            if let Some(r) = svc.retry_at {
                self.s.timers.insert((r, Timer::ServiceRetry { service: id }));
            }
        }
    }

    /// Chooses `n` tasks of a service to stop: tasks that are not running yet first (newest
    /// first), then running tasks from the availability zone with the most tasks of the service,
    /// then the instance with the most (ECS's default termination logic), newest first on ties.
    fn pick_scale_in(&self, id: ServiceId, n: u32, filter: impl Fn(&Task) -> bool) -> Vec<TaskId> {
        let Some(svc) = self.service(id) else { return Vec::new() };
        let mut cands: Vec<&Task> = svc
            .tasks
            .iter()
            .filter_map(|t| self.s.tasks.get(*t))
            .filter(|t| t.desired_status == DesiredStatus::Running && filter(t))
            .collect();
        let mut picked = Vec::new();
        let zone = |t: &Task| t.host.map(|h| self.cluster.hosts[h.0 as usize].zone.as_str());
        while picked.len() < n as usize && !cands.is_empty() {
            let mut per_zone: BTreeMap<Option<&str>, u32> = BTreeMap::new();
            let mut per_host: BTreeMap<Option<crate::placement::HostId>, u32> = BTreeMap::new();
            for t in &cands {
                *per_zone.entry(zone(t)).or_default() += 1;
                *per_host.entry(t.host).or_default() += 1;
            }
            let best = cands
                .iter()
                .enumerate()
                .max_by_key(|(_, t)| {
                    (
                        t.last_status != TaskStatus::Running,
                        per_zone[&zone(t)],
                        per_host[&t.host],
                        t.seq,
                    )
                })
                .map(|(i, _)| i)
                .expect("non-empty");
            picked.push(cands.swap_remove(best).id);
        }
        picked
    }

    fn task_list(&self, ids: &[TaskId]) -> String {
        ids.iter().map(|t| format!("(task {})", self.task_hex(*t))).collect::<Vec<_>>().join(" ")
    }

    fn deployment_id(&self, id: ServiceId, seq: u32) -> String {
        let n = splitmix64(self.s.seed ^ ((id.0 as u64) << 32) ^ seq as u64)
            % 10_000_000_000_000_000_000;
        format!("ecs-svc/{n:019}")
    }
}
