//! The task state machine: creation, placement or slot provisioning, image pulls, container
//! start order, the essential-container rule, stopping and cleanup.

use super::defs::ContainerFacts;
use super::*;
use crate::taskdef::model::DependencyCondition;

/// Whether a container may start now.
enum Readiness {
    Ready,
    Wait,
    /// A dependency can no longer be met: (dependency index, why).
    Never(u16, String),
}

impl Engine {
    pub(super) fn run_task(
        &mut self,
        now: SimTime,
        rt: RunTask,
        out: &mut Output,
    ) -> Result<(), CommandError> {
        let def = self.resolve(&rt.task_def)?;
        if rt.count == 0 || rt.count > 10 {
            return Err(CommandError::InvalidParameter(
                "count must be between 1 and 10 (ECS's RunTask limit); send several RunTask \
                 commands for more"
                    .into(),
            ));
        }
        let profile = if rt.group.is_none() && rt.strategy.is_empty() && rt.constraints.is_empty() {
            self.s.defs[def.0 as usize].default_profile
        } else {
            let group = rt
                .group
                .clone()
                .unwrap_or_else(|| format!("family:{}", self.s.defs[def.0 as usize].def.family));
            let strategy = if rt.strategy.is_empty() {
                self.cluster.ecs.placement_strategy.clone()
            } else {
                rt.strategy.clone()
            };
            self.profile_for(def, group, strategy, rt.constraints.clone())
        };
        for _ in 0..rt.count {
            let id =
                self.create_task(now, profile, rt.overrides, rt.started_by.clone(), None, 0, out);
            out.created.push(id);
        }
        Ok(())
    }

    /// Creates a task in PROVISIONING and sets it on its way.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_task(
        &mut self,
        now: SimTime,
        profile: u32,
        overrides: TaskOverrides,
        started_by: Option<String>,
        service: Option<ServiceId>,
        deployment: u32,
        out: &mut Output,
    ) -> TaskId {
        let id = self.s.tasks.next_id();
        let seq = self.s.next_task;
        self.s.next_task += 1;
        let def = self.s.profiles[profile as usize].def;
        let n = self.s.defs[def.0 as usize].containers.len();
        let task = Task {
            id,
            seq,
            def,
            profile,
            service,
            deployment,
            started_by,
            last_status: TaskStatus::Provisioning,
            desired_status: DesiredStatus::Running,
            stop_code: None,
            stopped_reason: None,
            host: None,
            fargate_size: None,
            containers: self.s.tasks.new_containers(n),
            overrides,
            times: TaskTimes { created_at: now, ..TaskTimes::default() },
            images_missing: 0,
            billing: false,
            version: 1,
            stopped_by: None,
        };
        self.s.tasks.insert(task);
        if let Some(s) = service {
            if let Some(svc) = self.s.services[s.0 as usize].as_mut() {
                svc.tasks.insert(id);
            }
        }
        out.events.push(Event::TaskStateChanged {
            task: id,
            last: TaskStatus::Provisioning,
            desired: DesiredStatus::Running,
        });
        match self.s.mode {
            Mode::Ecs => {
                if let Some((reason, explanation)) =
                    self.s.profiles[profile as usize].never_fits.clone()
                {
                    self.stop_task(
                        now,
                        id,
                        StopCode::TaskFailedToStart,
                        StoppedReason::Placement { reason, explanation },
                        out,
                    );
                } else if self.s.waiting.is_empty() {
                    if !self.try_place(now, id, true, out) {
                        self.s.waiting.push_back(id);
                    }
                } else {
                    self.s.waiting.push_back(id);
                }
            }
            Mode::Fargate => match self.s.defs[def.0 as usize]
                .fargate
                .as_ref()
                .map(|f| f.size)
                .map_err(Clone::clone)
            {
                Ok(size) => {
                    if let Some(t) = self.s.tasks.get_mut(id) {
                        t.fargate_size = Some(size);
                    }
                    out.effects.push(Effect::ProvisionSlot { task: id, size });
                }
                Err(message) => self.stop_task(
                    now,
                    id,
                    StopCode::TaskFailedToStart,
                    StoppedReason::FargateRefused { message },
                    out,
                ),
            },
        }
        id
    }

    /// ECS mode: asks the placer for a host; on success the task moves to PENDING. With
    /// `explain`, a failure is reported as a `PlacementFailed` event with ECS's reason (which
    /// costs the placer a look at every host); retries of waiting tasks skip that.
    fn try_place(&mut self, now: SimTime, id: TaskId, explain: bool, out: &mut Output) -> bool {
        let Some(task) = self.s.tasks.get(id) else { return false };
        let req = &self.s.profiles[task.profile as usize].request;
        let placed = if explain {
            self.placer.place_explained(req, &mut self.s.rng)
        } else {
            self.placer.try_place(req, &mut self.s.rng).ok_or_else(|| {
                crate::placement::PlacementFailure {
                    reason: crate::placement::FailureReason::Memory,
                    closest_host: None,
                    explanation: String::new(),
                }
            })
        };
        match placed {
            Ok(host) => {
                out.events.push(Event::TaskPlaced { task: id, host });
                let t = self.s.tasks.get_mut(id).expect("checked");
                t.host = Some(host);
                self.set_status(id, TaskStatus::Pending, out);
                self.begin_pull(now, id, out);
                true
            }
            Err(_) if !explain => false,
            Err(f) => {
                out.events.push(Event::PlacementFailed {
                    task: id,
                    reason: f.reason,
                    explanation: f.explanation,
                });
                false
            }
        }
    }

    /// ECS mode: places waiting tasks in arrival order until the first one that does not fit.
    pub(super) fn place_waiting(&mut self, now: SimTime, out: &mut Output) {
        while let Some(&id) = self.s.waiting.front() {
            let live = self.s.tasks.get(id).is_some_and(|t| {
                t.last_status == TaskStatus::Provisioning
                    && t.desired_status == DesiredStatus::Running
            });
            if !live {
                self.s.waiting.pop_front();
                continue;
            }
            if !self.try_place(now, id, false, out) {
                break;
            }
            self.s.waiting.pop_front();
        }
    }

    /// Starts the image pulls of a task that has a host (ECS) or a slot (Fargate).
    fn begin_pull(&mut self, now: SimTime, id: TaskId, out: &mut Output) {
        let task = self.s.tasks.get_mut(id).expect("live task");
        let entry = &self.s.defs[task.def.0 as usize];
        task.times.pull_started_at = Some(now);
        let mut missing = 0u16;
        match self.s.mode {
            Mode::Ecs => {
                let host = task.host.expect("placed");
                for &image in &entry.images {
                    match self.s.host_images.get_mut(&(host, image)) {
                        Some(HostImage::Cached) => {}
                        Some(HostImage::Pulling { waiters }) => {
                            waiters.push(id);
                            missing += 1;
                        }
                        None => {
                            self.s
                                .host_images
                                .insert((host, image), HostImage::Pulling { waiters: vec![id] });
                            out.effects.push(Effect::PullImage {
                                task: id,
                                host: Some(host),
                                image,
                            });
                            missing += 1;
                        }
                    }
                }
            }
            Mode::Fargate => {
                task.billing = true;
                out.events.push(Event::BillingStarted { task: id });
                for &image in &entry.images {
                    out.effects.push(Effect::PullImage { task: id, host: None, image });
                    missing += 1;
                }
            }
        }
        task.images_missing = missing;
        if missing == 0 {
            task.times.pull_stopped_at = Some(now);
            self.start_ready(now, id, out);
        }
    }

    fn image_pulled(
        &mut self,
        now: SimTime,
        id: TaskId,
        host: Option<crate::placement::HostId>,
        image: ImageId,
        error: Option<String>,
        out: &mut Output,
    ) {
        let waiters = match (self.s.mode, host) {
            (Mode::Ecs, Some(h)) => match self.s.host_images.get(&(h, image)) {
                Some(HostImage::Pulling { .. }) => {
                    let Some(HostImage::Pulling { waiters }) = (if error.is_some() {
                        self.s.host_images.remove(&(h, image))
                    } else {
                        self.s.host_images.insert((h, image), HostImage::Cached)
                    }) else {
                        unreachable!("matched above")
                    };
                    Some(waiters)
                }
                _ => return,
            },
            // Fargate pulls per task: the waiter is the task itself (no allocation).
            _ => None,
        };
        let single = [id];
        let waiters: &[TaskId] = waiters.as_deref().unwrap_or(&single);
        let image_name = error.as_ref().map(|_| self.image(image).to_string());
        for &w in waiters {
            let Some(t) = self.s.tasks.get_mut(w) else { continue };
            if t.desired_status != DesiredStatus::Running
                || t.last_status != TaskStatus::Pending
                || t.images_missing == 0
            {
                continue;
            }
            if let Some(err) = &error {
                let reason = StoppedReason::CannotPull {
                    image: image_name.clone().unwrap_or_default(),
                    error: err.clone(),
                };
                self.stop_task(now, w, StopCode::TaskFailedToStart, reason, out);
                continue;
            }
            t.images_missing -= 1;
            if t.images_missing == 0 {
                t.times.pull_stopped_at = Some(now);
                self.start_ready(now, w, out);
            }
        }
    }

    /// Starts every pending container whose dependencies are met; gives up on those whose
    /// dependencies can no longer be met.
    fn start_ready(&mut self, now: SimTime, id: TaskId, out: &mut Output) {
        loop {
            let Some(task) = self.s.tasks.get(id) else { return };
            if task.desired_status != DesiredStatus::Running || task.images_missing > 0 {
                return;
            }
            let entry = &self.s.defs[task.def.0 as usize];
            let mut changed = false;
            let mut fail: Option<StoppedReason> = None;
            let starts = &mut self.starts;
            let mut nevers: Vec<u16> = Vec::new();
            for (i, facts) in entry.containers.iter().enumerate() {
                if task.containers[i].status != ContainerStatus::Pending {
                    continue;
                }
                match readiness(facts, &task.containers, entry) {
                    Readiness::Ready => {
                        starts.push((i as u16, plan(entry, i, facts, task.overrides)));
                    }
                    Readiness::Wait => {}
                    Readiness::Never(dep, detail) => {
                        nevers.push(i as u16);
                        if facts.essential && fail.is_none() {
                            fail = Some(StoppedReason::DependencyNotResolved {
                                container: entry.def.containers[i].name.clone(),
                                dependency: entry.def.containers[dep as usize].name.clone(),
                                detail,
                            });
                        }
                    }
                }
            }
            let task = self.s.tasks.get_mut(id).expect("live");
            for (c, plan) in self.starts.drain(..) {
                task.containers[c as usize].status = ContainerStatus::Starting;
                out.effects.push(Effect::StartContainer { task: id, container: c, plan });
            }
            for c in nevers {
                task.containers[c as usize].status = ContainerStatus::Stopped;
                container_event(
                    self.s.config.container_events,
                    out,
                    Event::ContainerStateChanged {
                        task: id,
                        container: c,
                        status: ContainerStatus::Stopped,
                    },
                );
                changed = true;
            }
            if let Some(reason) = fail {
                self.stop_task(now, id, StopCode::TaskFailedToStart, reason, out);
                return;
            }
            if !changed {
                break;
            }
        }
        self.check_progress(now, id, out);
    }

    fn container_started(&mut self, now: SimTime, id: TaskId, c: u16, out: &mut Output) {
        let Some(task) = self.s.tasks.get_mut(id) else { return };
        let Some(cs) = task.containers.get_mut(c as usize) else { return };
        if cs.status != ContainerStatus::Starting {
            return;
        }
        cs.status = ContainerStatus::Running;
        cs.started_at = Some(now);
        container_event(
            self.s.config.container_events,
            out,
            Event::ContainerStateChanged {
                task: id,
                container: c,
                status: ContainerStatus::Running,
            },
        );
        if task.desired_status == DesiredStatus::Stopped {
            // Started after the task was told to stop: stop it in turn.
            self.shutdown_step(now, id, out);
            self.check_progress(now, id, out);
            return;
        }
        let facts = &self.s.defs[task.def.0 as usize].containers[c as usize];
        if let Some(timeout) = facts.start_timeout {
            if !facts.dependents.is_empty() {
                self.s
                    .timers
                    .insert((now + timeout, Timer::StartTimeout { task: id, container: c }));
            }
        }
        self.start_ready(now, id, out);
    }

    fn container_exited(
        &mut self,
        now: SimTime,
        id: TaskId,
        c: u16,
        exit_code: Option<i32>,
        reason: Option<String>,
        out: &mut Output,
    ) {
        let Some(task) = self.s.tasks.get_mut(id) else { return };
        let Some(cs) = task.containers.get_mut(c as usize) else { return };
        if cs.status == ContainerStatus::Stopped || cs.status == ContainerStatus::Pending {
            return;
        }
        cs.status = ContainerStatus::Stopped;
        cs.exit_code = exit_code;
        cs.reason = reason;
        if let Some(k) = cs.kill_at.take() {
            self.s.timers.remove(&(k, Timer::Kill { task: id, container: c }));
        }
        container_event(
            self.s.config.container_events,
            out,
            Event::ContainerStateChanged {
                task: id,
                container: c,
                status: ContainerStatus::Stopped,
            },
        );
        let entry = &self.s.defs[task.def.0 as usize];
        let essential = entry.containers[c as usize].essential;
        if task.desired_status == DesiredStatus::Running {
            if essential {
                task.times.execution_stopped_at = Some(now);
                let (code, why) = if exit_code.is_none() {
                    let name = entry.def.containers[c as usize].name.clone();
                    let error = task.containers[c as usize].reason.clone().unwrap_or_default();
                    (
                        StopCode::TaskFailedToStart,
                        StoppedReason::CannotStart { container: name, error },
                    )
                } else {
                    (StopCode::EssentialContainerExited, StoppedReason::EssentialContainerExited)
                };
                // Remember which container ended the task: its exit code decides whether the
                // task failed. The others are stopped because the task is stopping (SIGTERM,
                // 143), which is no failure of theirs.
                task.stopped_by = Some(c);
                self.stop_task(now, id, code, why, out);
            } else {
                self.start_ready(now, id, out);
            }
        } else {
            self.shutdown_step(now, id, out);
            self.check_progress(now, id, out);
        }
    }

    /// A container whose engine is gone for good: STOPPED with no exit code and `detail` as
    /// its reason. A task still meant to run stops with that as its reason (its host is gone
    /// from under it, as when ECS loses the instance); otherwise it goes on stopping.
    fn container_lost(
        &mut self,
        now: SimTime,
        id: TaskId,
        c: u16,
        detail: String,
        out: &mut Output,
    ) {
        let Some(task) = self.s.tasks.get_mut(id) else { return };
        if task.desired_status == DesiredStatus::Running {
            task.times.execution_stopped_at = Some(now);
            task.stopped_by = Some(c);
            let reason = StoppedReason::User { reason: Some(format!("Host lost: {detail}")) };
            self.stop_task(now, id, StopCode::EssentialContainerExited, reason, out);
        }
        self.container_exited(now, id, c, None, Some(detail), out);
    }

    /// RUNNING once every container is up (or already done); finished once all are stopped.
    fn check_progress(&mut self, now: SimTime, id: TaskId, out: &mut Output) {
        let Some(task) = self.s.tasks.get(id) else { return };
        if task.containers.iter().all(|c| c.status == ContainerStatus::Stopped) {
            if matches!(
                task.last_status,
                TaskStatus::Pending
                    | TaskStatus::Activating
                    | TaskStatus::Running
                    | TaskStatus::Deactivating
                    | TaskStatus::Stopping
            ) {
                if task.desired_status == DesiredStatus::Running {
                    // Every container ended on its own without an essential one exiting (only
                    // possible with unusual definitions): the task is done.
                    self.stop_task(
                        now,
                        id,
                        StopCode::EssentialContainerExited,
                        StoppedReason::EssentialContainerExited,
                        out,
                    );
                    return;
                }
                self.finish(now, id, out);
            }
            return;
        }
        if task.desired_status == DesiredStatus::Running
            && task.last_status == TaskStatus::Pending
            && task
                .containers
                .iter()
                .all(|c| matches!(c.status, ContainerStatus::Running | ContainerStatus::Stopped))
        {
            let t = self.s.tasks.get_mut(id).expect("live");
            t.times.started_at = Some(now);
            self.set_status(id, TaskStatus::Running, out);
            if let Some(s) = self.s.tasks.get(id).expect("live").service {
                if let Some(svc) = self.s.services[s.0 as usize].as_mut() {
                    svc.failures = 0;
                }
                self.s.dirty_services.insert(s);
            }
        }
    }

    /// Sets desired STOPPED and starts the shutdown (idempotent).
    pub(super) fn stop_task(
        &mut self,
        now: SimTime,
        id: TaskId,
        code: StopCode,
        reason: StoppedReason,
        out: &mut Output,
    ) {
        let Some(task) = self.s.tasks.get_mut(id) else { return };
        if task.desired_status == DesiredStatus::Stopped {
            return;
        }
        task.desired_status = DesiredStatus::Stopped;
        task.stop_code = Some(code);
        task.stopped_reason = Some(reason);
        task.version += 1;
        let last = task.last_status;
        let never_ran = task.times.started_at.is_none();
        out.events.push(Event::TaskStateChanged {
            task: id,
            last,
            desired: DesiredStatus::Stopped,
        });
        if let Some(s) = task.service {
            self.s.dirty_services.insert(s);
            if never_ran
                && matches!(code, StopCode::TaskFailedToStart | StopCode::EssentialContainerExited)
            {
                self.service_task_failed(now, s, out);
            }
        }
        let task = self.s.tasks.get_mut(id).expect("live");
        match last {
            TaskStatus::Provisioning => match self.s.mode {
                // Still waiting for room (or refused): nothing to undo.
                Mode::Ecs => {
                    let was_head = self.s.waiting.front() == Some(&id);
                    self.mark_stopped(now, id, out);
                    // A cancelled head of the queue may have been what blocked the next task.
                    if was_head {
                        self.place_waiting(now, out);
                    }
                }
                Mode::Fargate => {
                    if task.fargate_size.is_some() {
                        self.set_status(id, TaskStatus::Deprovisioning, out);
                        out.effects.push(Effect::ReleaseSlot { task: id });
                    } else {
                        self.mark_stopped(now, id, out);
                    }
                }
            },
            TaskStatus::Pending
            | TaskStatus::Activating
            | TaskStatus::Running
            | TaskStatus::Deactivating => {
                // Containers that never started will not start now.
                let mut never: Vec<u16> = Vec::new();
                for (i, c) in task.containers.iter_mut().enumerate() {
                    if c.status == ContainerStatus::Pending {
                        c.status = ContainerStatus::Stopped;
                        never.push(i as u16);
                    }
                }
                task.times.stopping_at = Some(now);
                for c in never {
                    container_event(
                        self.s.config.container_events,
                        out,
                        Event::ContainerStateChanged {
                            task: id,
                            container: c,
                            status: ContainerStatus::Stopped,
                        },
                    );
                }
                self.set_status(id, TaskStatus::Stopping, out);
                self.shutdown_step(now, id, out);
                self.check_progress(now, id, out);
            }
            TaskStatus::Stopping | TaskStatus::Deprovisioning | TaskStatus::Stopped => {}
        }
    }

    /// Sends SIGTERM to every running container none of whose dependents is still up (reverse
    /// `dependsOn` order), with its SIGKILL deadline.
    fn shutdown_step(&mut self, now: SimTime, id: TaskId, out: &mut Output) {
        let Some(task) = self.s.tasks.get_mut(id) else { return };
        let entry = &self.s.defs[task.def.0 as usize];
        for (i, facts) in entry.containers.iter().enumerate() {
            if task.containers[i].status != ContainerStatus::Running {
                continue;
            }
            let blocked = facts.dependents.iter().any(|&d| {
                matches!(
                    task.containers[d as usize].status,
                    ContainerStatus::Starting
                        | ContainerStatus::Running
                        | ContainerStatus::Stopping
                )
            });
            if blocked {
                continue;
            }
            let kill_at = now + facts.stop_timeout;
            task.containers[i].status = ContainerStatus::Stopping;
            task.containers[i].kill_at = Some(kill_at);
            self.s.timers.insert((kill_at, Timer::Kill { task: id, container: i as u16 }));
            out.effects.push(Effect::StopContainer {
                task: id,
                container: i as u16,
                timeout: facts.stop_timeout,
            });
        }
    }

    /// Every container has stopped: give back the host resources or the slot.
    fn finish(&mut self, now: SimTime, id: TaskId, out: &mut Output) {
        let task = self.s.tasks.get_mut(id).expect("live");
        if task.times.execution_stopped_at.is_none() {
            task.times.execution_stopped_at = Some(now);
        }
        match self.s.mode {
            Mode::Ecs => {
                let host = task.host;
                let profile = task.profile;
                if let Some(h) = host {
                    self.placer.release(h, &self.s.profiles[profile as usize].request);
                    out.events.push(Event::ResourcesReleased { task: id, host: h });
                }
                self.mark_stopped(now, id, out);
                if host.is_some() {
                    self.place_waiting(now, out);
                }
            }
            Mode::Fargate => {
                if task.billing {
                    task.billing = false;
                    out.events.push(Event::BillingStopped { task: id });
                }
                self.set_status(id, TaskStatus::Deprovisioning, out);
                out.effects.push(Effect::ReleaseSlot { task: id });
            }
        }
    }

    fn mark_stopped(&mut self, now: SimTime, id: TaskId, out: &mut Output) {
        let task = self.s.tasks.get_mut(id).expect("live");
        task.times.stopped_at = Some(now);
        if let Some(s) = task.service {
            if let Some(svc) = self.s.services[s.0 as usize].as_mut() {
                svc.tasks.remove(&id);
            }
            self.s.dirty_services.insert(s);
        }
        self.set_status(id, TaskStatus::Stopped, out);
        self.s.stopped.push_back((now, id));
    }

    fn set_status(&mut self, id: TaskId, status: TaskStatus, out: &mut Output) {
        let task = self.s.tasks.get_mut(id).expect("live");
        if task.last_status == status {
            return;
        }
        task.last_status = status;
        task.version += 1;
        out.events.push(Event::TaskStateChanged {
            task: id,
            last: status,
            desired: task.desired_status,
        });
    }

    pub(super) fn tick(&mut self, now: SimTime, out: &mut Output) {
        while let Some(&(at, timer)) = self.s.timers.first() {
            if at > now {
                break;
            }
            self.s.timers.pop_first();
            match timer {
                Timer::Kill { task, container } => {
                    let Some(t) = self.s.tasks.get_mut(task) else { continue };
                    let cs = &mut t.containers[container as usize];
                    if cs.status == ContainerStatus::Stopping && cs.kill_at == Some(at) {
                        cs.kill_at = None;
                        out.effects.push(Effect::KillContainer { task, container });
                    }
                }
                Timer::StartTimeout { task, container } => {
                    let Some(t) = self.s.tasks.get_mut(task) else { continue };
                    t.containers[container as usize].start_timed_out = true;
                    self.start_ready(now, task, out);
                }
                Timer::ServiceRetry { service } => {
                    self.s.dirty_services.insert(service);
                }
            }
        }
    }

    pub(super) fn report(&mut self, now: SimTime, r: Report, out: &mut Output) {
        match r {
            Report::SlotProvisioned { task } => {
                let Some(t) = self.s.tasks.get(task) else { return };
                if t.last_status != TaskStatus::Provisioning
                    || t.desired_status != DesiredStatus::Running
                {
                    return;
                }
                self.set_status(task, TaskStatus::Pending, out);
                self.begin_pull(now, task, out);
            }
            Report::ImagePulled { task, host, image, error } => {
                self.image_pulled(now, task, host, image, error, out)
            }
            Report::ContainerStarted { task, container } => {
                self.container_started(now, task, container, out)
            }
            Report::ContainerStartFailed { task, container, error } => {
                self.container_exited(now, task, container, None, Some(error), out)
            }
            Report::ContainerHealth { task, container, healthy } => {
                let Some(t) = self.s.tasks.get_mut(task) else { return };
                let Some(c) = t.containers.get_mut(container as usize) else { return };
                c.health = if healthy { HealthStatus::Healthy } else { HealthStatus::Unhealthy };
                let essential =
                    self.s.defs[t.def.0 as usize].containers[container as usize].essential;
                if !healthy && essential && t.service.is_some() {
                    // Service tasks whose essential container is unhealthy are replaced.
                    self.stop_task(
                        now,
                        task,
                        StopCode::ServiceSchedulerInitiated,
                        StoppedReason::User {
                            reason: Some("Task failed container health checks".into()),
                        },
                        out,
                    );
                } else {
                    self.start_ready(now, task, out);
                }
            }
            Report::ContainerExited { task, container, exit_code, oom } => {
                let reason = oom
                    .then(|| "OutOfMemoryError: Container killed due to memory usage".to_string());
                self.container_exited(now, task, container, Some(exit_code), reason, out)
            }
            Report::TaskCleanedUp { task } => {
                let Some(t) = self.s.tasks.get(task) else { return };
                if t.last_status == TaskStatus::Deprovisioning {
                    self.mark_stopped(now, task, out);
                }
            }
            Report::ContainerLost { task, container, detail } => {
                self.container_lost(now, task, container, detail, out)
            }
            Report::SandboxExited { task, detail } => {
                let Some(t) = self.s.tasks.get_mut(task) else { return };
                if t.desired_status != DesiredStatus::Running
                    || t.last_status == TaskStatus::Provisioning
                {
                    return;
                }
                t.times.execution_stopped_at = Some(now);
                let never_ran = t.times.started_at.is_none();
                let code = if never_ran {
                    StopCode::TaskFailedToStart
                } else {
                    StopCode::EssentialContainerExited
                };
                self.stop_task(now, task, code, StoppedReason::SandboxExited { detail }, out);
            }
        }
    }
}

/// Container-level events are optional: the simulator does not need them and they are the most
/// numerous.
fn container_event(on: bool, out: &mut Output, e: Event) {
    if on {
        out.events.push(e);
    }
}

/// Checks a container's `dependsOn` conditions against the other containers.
fn readiness(facts: &ContainerFacts, cs: &[ContainerState], entry: &DefEntry) -> Readiness {
    let mut ready = true;
    for &(dep, cond) in &facts.depends_on {
        let d = &cs[dep as usize];
        let timed_out = d.start_timed_out;
        let met = match cond {
            DependencyCondition::Start => {
                d.status.is_up() || (d.status == ContainerStatus::Stopped && d.exit_code.is_some())
            }
            DependencyCondition::Complete => {
                if d.status == ContainerStatus::Stopped && d.exit_code.is_none() {
                    return Readiness::Never(dep, "never started".into());
                }
                d.status == ContainerStatus::Stopped
            }
            DependencyCondition::Success => match (d.status, d.exit_code) {
                (ContainerStatus::Stopped, Some(0)) => true,
                (ContainerStatus::Stopped, Some(code)) => {
                    return Readiness::Never(
                        dep,
                        format!("exited with code {code}, not 0 (SUCCESS)"),
                    )
                }
                (ContainerStatus::Stopped, None) => {
                    return Readiness::Never(dep, "never started".into())
                }
                _ => false,
            },
            DependencyCondition::Healthy => {
                if d.health == HealthStatus::Healthy {
                    true
                } else if d.status == ContainerStatus::Stopped {
                    return Readiness::Never(dep, "stopped before it was HEALTHY".into());
                } else {
                    false
                }
            }
        };
        if !met {
            if timed_out && cond != DependencyCondition::Start {
                let secs = entry.containers[dep as usize]
                    .start_timeout
                    .map(|d| d.as_secs_ceil())
                    .unwrap_or(0);
                return Readiness::Never(
                    dep,
                    format!("did not reach {cond:?} within its startTimeout of {secs}s")
                        .replace("Complete", "COMPLETE")
                        .replace("Success", "SUCCESS")
                        .replace("Healthy", "HEALTHY"),
                );
            }
            if d.status == ContainerStatus::Stopped && cond == DependencyCondition::Start {
                return Readiness::Never(dep, "never started".into());
            }
            ready = false;
        }
    }
    if ready {
        Readiness::Ready
    } else {
        Readiness::Wait
    }
}

/// How a container should behave: the job's container (the scenario's `container`, else the
/// main one) runs for the task's run time and exits
/// with its exit code; init containers (others wait for them to complete) exit at once with 0;
/// everything else runs until stopped.
fn plan(entry: &DefEntry, i: usize, facts: &ContainerFacts, ov: TaskOverrides) -> ContainerPlan {
    let (run_for, exit_code) = if i == ov.container.unwrap_or(entry.main) as usize {
        (ov.runtime, ov.exit_code.unwrap_or(0))
    } else if facts.init {
        (Some(SimDuration::ZERO), 0)
    } else {
        (None, 0)
    };
    ContainerPlan { run_for, exit_code, has_health_check: facts.has_health_check }
}
