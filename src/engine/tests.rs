//! Engine unit tests: the state machine driven by hand, effect by effect.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal_macros::dec;

use super::*;
use crate::cluster::{EcsSettings, FargateSettings};
use crate::placement::HostId;
use crate::taskdef::model::*;

pub(crate) fn container(name: &str, image: &str) -> ContainerDefinition {
    ContainerDefinition::new(name, image)
}

pub(crate) fn taskdef(
    family: &str,
    cpu: u32,
    mem: u32,
    containers: Vec<ContainerDefinition>,
) -> TaskDefinition {
    let mut td = TaskDefinition::new(family, containers);
    td.network_mode = NetworkMode::Awsvpc;
    td.cpu_units = Some(cpu);
    td.memory_mib = Some(mem);
    td
}

pub(crate) fn cluster(hosts: u32, vcpu: u32, mem: u32) -> Cluster {
    Cluster {
        name: "test".into(),
        region: "us-east-1".into(),
        hosts: (0..hosts)
            .map(|i| HostSpec {
                id: HostId(i),
                instance_id: format!("i-{:016x}", i + 1),
                group: 0,
                instance_type: "m5.large".into(),
                vcpu,
                memory_mib: mem,
                arch: CpuArch::X86_64,
                os: OsFamily::Linux,
                zone: if i % 2 == 0 { "us-east-1a".into() } else { "us-east-1b".into() },
                attributes: BTreeMap::new(),
                usd_per_hour: dec!(0.096),
                docker: None,
                gpus: 0,
            })
            .collect(),
        ecs: EcsSettings {
            reserved_memory_mib: 0,
            placement_strategy: vec![],
            image_pull: SimDuration::from_secs(10),
            container_start: SimDuration::from_secs(1),
        },
        fargate: FargateSettings {
            provisioning: SimDuration::from_secs(20),
            image_pull: SimDuration::from_secs(10),
            container_start: SimDuration::from_secs(1),
            spot: false,
        },
        extra_costs: vec![],
    }
}

fn t(s: u64) -> SimTime {
    SimTime(s * 1000)
}

fn run(e: &mut Engine, now: u64, cmd: Command) -> Output {
    e.handle(t(now), cmd).expect("command accepted")
}

fn report(e: &mut Engine, now: u64, r: Report) -> Output {
    run(e, now, Command::Report(r))
}

fn statuses(out: &Output, id: TaskId) -> Vec<TaskStatus> {
    out.events
        .iter()
        .filter_map(|e| match e {
            Event::TaskStateChanged { task, last, .. } if *task == id => Some(*last),
            _ => None,
        })
        .collect()
}

fn run_with(def: &str, runtime: Option<u64>) -> Command {
    let mut rt = RunTask::new(def, 1);
    rt.overrides.runtime = runtime.map(SimDuration::from_secs);
    Command::RunTask(rt)
}

#[test]
fn ecs_task_goes_through_the_lifecycle() {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx")]));
    let out = run(&mut e, 0, run_with("web", Some(60)));
    let id = out.created[0];
    assert_eq!(statuses(&out, id), [TaskStatus::Provisioning, TaskStatus::Pending]);
    assert!(out.events.contains(&Event::TaskPlaced { task: id, host: HostId(0) }));
    let Effect::PullImage { image, host, .. } = out.effects[0] else { panic!("{out:?}") };
    assert_eq!(e.image(image), "nginx");

    let out = report(&mut e, 10, Report::ImagePulled { task: id, host, image, error: None });
    let Effect::StartContainer { container: 0, plan, .. } = out.effects[0] else { panic!() };
    assert_eq!(plan.run_for, Some(SimDuration::from_secs(60)));
    let out = report(&mut e, 11, Report::ContainerStarted { task: id, container: 0 });
    assert_eq!(statuses(&out, id), [TaskStatus::Running]);
    let out = report(
        &mut e,
        71,
        Report::ContainerExited { task: id, container: 0, exit_code: 0, oom: false },
    );
    assert_eq!(
        statuses(&out, id),
        [TaskStatus::Running, TaskStatus::Stopping, TaskStatus::Stopped]
    );
    let task = e.task(id).unwrap();
    assert_eq!(task.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(
        task.stopped_reason.as_ref().unwrap().to_string(),
        "Essential container in task exited"
    );
    assert_eq!(task.times.pull_started_at, Some(t(0)));
    assert_eq!(task.times.pull_stopped_at, Some(t(10)));
    assert_eq!(task.times.started_at, Some(t(11)));
    assert_eq!(task.times.stopped_at, Some(t(71)));
    assert!(e.task_arn(id).starts_with("arn:aws:ecs:us-east-1:000000000000:task/test/"));
    assert_eq!(e.task_hex(id).len(), 32);
}

#[test]
fn image_is_pulled_once_per_host() {
    let mut e = Engine::new(Arc::new(cluster(1, 4, 8192)), Mode::Ecs, 1);
    e.register(taskdef("web", 256, 512, vec![container("app", "nginx")]));
    let a = run(&mut e, 0, run_with("web", None));
    let b = run(&mut e, 1, run_with("web", None));
    assert_eq!(a.effects.len(), 1, "first task pulls");
    assert!(b.effects.is_empty(), "second waits for the same pull");
    let Effect::PullImage { host, image, .. } = a.effects[0] else { panic!() };
    let out =
        report(&mut e, 10, Report::ImagePulled { task: a.created[0], host, image, error: None });
    assert_eq!(out.effects.len(), 2, "both tasks start their container");
    let c = run(&mut e, 20, run_with("web", None));
    assert!(matches!(c.effects[0], Effect::StartContainer { .. }), "cached: starts at once");
}

#[test]
fn waiting_tasks_are_placed_in_arrival_order_when_room_frees() {
    let mut e = Engine::new(Arc::new(cluster(1, 1, 2048)), Mode::Ecs, 1);
    e.register(taskdef("big", 1024, 1024, vec![container("app", "x")]));
    e.register(taskdef("small", 256, 256, vec![container("app", "x")]));
    let first = run(&mut e, 0, run_with("big", None)).created[0];
    let out = run(&mut e, 1, run_with("big", None));
    let second = out.created[0];
    assert!(matches!(out.events[1], Event::PlacementFailed { .. }), "{out:?}");
    // A small task that would fit arrives later but waits behind the big one (FIFO).
    let third = run(&mut e, 2, run_with("small", None)).created[0];
    assert_eq!(e.task(third).unwrap().last_status, TaskStatus::Provisioning);
    assert_eq!(e.waiting(), 2);
    let out = run(&mut e, 5, Command::StopTask { task: first, reason: None });
    assert!(out.events.contains(&Event::TaskPlaced { task: second, host: HostId(0) }), "{out:?}");
    assert_eq!(e.task(third).unwrap().last_status, TaskStatus::Provisioning);
    assert_eq!(e.task(first).unwrap().stop_code, Some(StopCode::UserInitiated));
    assert_eq!(e.task(second).unwrap().times.created_at, t(1));
}

#[test]
fn cancelling_the_head_of_the_queue_lets_the_next_task_in() {
    let mut e = Engine::new(Arc::new(cluster(1, 1, 2048)), Mode::Ecs, 1);
    e.register(taskdef("big", 1024, 1024, vec![container("app", "x")]));
    e.register(taskdef("half", 512, 512, vec![container("app", "x")]));
    run(&mut e, 0, run_with("half", None));
    let big = run(&mut e, 1, run_with("big", None)).created[0];
    let half = run(&mut e, 2, run_with("half", None)).created[0];
    assert_eq!(e.waiting(), 2, "FIFO: the second half waits behind big");
    let out = run(&mut e, 3, Command::StopTask { task: big, reason: None });
    assert!(out.events.contains(&Event::TaskPlaced { task: half, host: HostId(0) }), "{out:?}");
    assert_eq!(e.waiting(), 0);
}

#[test]
fn a_task_that_can_never_fit_fails_at_once() {
    let mut e = Engine::new(Arc::new(cluster(2, 1, 2048)), Mode::Ecs, 1);
    e.register(taskdef("huge", 1024, 4096, vec![container("app", "x")]));
    let out = run(&mut e, 0, run_with("huge", None));
    let task = e.task(out.created[0]).unwrap();
    assert_eq!(task.last_status, TaskStatus::Stopped);
    assert_eq!(task.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(task
        .stopped_reason
        .as_ref()
        .unwrap()
        .to_string()
        .starts_with("TaskFailedToStart: RESOURCE:MEMORY"));
    assert_eq!(e.waiting(), 0);
}

fn two_containers() -> TaskDefinition {
    let mut sidecar = container("proxy", "envoy");
    sidecar.essential = false;
    sidecar.stop_timeout_s = Some(5);
    let mut app = container("app", "app");
    app.depends_on = vec![ContainerDependency {
        container_name: "proxy".into(),
        condition: DependencyCondition::Start,
    }];
    taskdef("svc", 256, 512, vec![sidecar, app])
}

fn start_all(e: &mut Engine, at: u64, out: &Output) -> Vec<Output> {
    let mut outs = Vec::new();
    let mut pending: Vec<Effect> = out.effects.clone();
    let mut now = at;
    while let Some(eff) = pending.pop() {
        let o = match eff {
            Effect::PullImage { task, host, image } => {
                report(e, now, Report::ImagePulled { task, host, image, error: None })
            }
            Effect::StartContainer { task, container, .. } => {
                report(e, now, Report::ContainerStarted { task, container })
            }
            Effect::ProvisionSlot { task, .. } => report(e, now, Report::SlotProvisioned { task }),
            _ => continue,
        };
        now += 1;
        pending.extend(o.effects.iter().cloned());
        outs.push(o);
    }
    outs
}

#[test]
fn depends_on_start_order_and_essential_exit_shutdown() {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(two_containers());
    let out = run(&mut e, 0, run_with("svc", Some(100)));
    let id = out.created[0];
    let outs = start_all(&mut e, 1, &out);
    // The proxy (index 0) starts first; app (1) only after the proxy started.
    let starts: Vec<u16> = outs
        .iter()
        .flat_map(|o| o.effects.iter())
        .filter_map(|e| match e {
            Effect::StartContainer { container, .. } => Some(*container),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [0, 1]);
    assert_eq!(e.task(id).unwrap().last_status, TaskStatus::Running);

    // app is essential: its exit stops the task; the proxy gets SIGTERM with its stopTimeout.
    let out = report(
        &mut e,
        200,
        Report::ContainerExited { task: id, container: 1, exit_code: 3, oom: false },
    );
    assert_eq!(
        out.effects,
        [Effect::StopContainer { task: id, container: 0, timeout: SimDuration::from_secs(5) }]
    );
    assert_eq!(e.task(id).unwrap().last_status, TaskStatus::Stopping);
    assert_eq!(e.next_wakeup(), Some(t(205)));
    // The proxy ignores SIGTERM: SIGKILL after the timeout.
    let out = run(&mut e, 205, Command::Tick);
    assert_eq!(out.effects, [Effect::KillContainer { task: id, container: 0 }]);
    let out = report(
        &mut e,
        205,
        Report::ContainerExited { task: id, container: 0, exit_code: 137, oom: false },
    );
    assert_eq!(statuses(&out, id), [TaskStatus::Stopped]);
    let task = e.task(id).unwrap();
    assert_eq!(task.times.execution_stopped_at, Some(t(200)));
    assert_eq!(task.containers[1].exit_code, Some(3));
    assert!(task.failed(|i| e.def(task.def).containers[i].essential));
    assert_eq!(e.next_wakeup(), None);
}

#[test]
fn user_stop_stops_dependents_before_dependencies() {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(two_containers());
    let out = run(&mut e, 0, run_with("svc", None));
    let id = out.created[0];
    start_all(&mut e, 1, &out);
    let out = run(&mut e, 50, Command::StopTask { task: id, reason: Some("done".into()) });
    // Only app (which depends on the proxy) is stopped first.
    assert_eq!(
        out.effects,
        [Effect::StopContainer { task: id, container: 1, timeout: DEFAULT_STOP_TIMEOUT }]
    );
    let out = report(
        &mut e,
        51,
        Report::ContainerExited { task: id, container: 1, exit_code: 0, oom: false },
    );
    assert!(matches!(out.effects[0], Effect::StopContainer { container: 0, .. }));
    report(
        &mut e,
        52,
        Report::ContainerExited { task: id, container: 0, exit_code: 0, oom: false },
    );
    let task = e.task(id).unwrap();
    assert_eq!(task.last_status, TaskStatus::Stopped);
    assert_eq!(task.stopped_reason.as_ref().unwrap().to_string(), "done");
    assert!(!task.failed(|_| true));
}

#[test]
fn success_dependency_that_fails_stops_the_task() {
    let mut init = container("migrate", "tool");
    init.essential = false;
    let mut app = container("app", "app");
    app.depends_on = vec![ContainerDependency {
        container_name: "migrate".into(),
        condition: DependencyCondition::Success,
    }];
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("job", 256, 512, vec![init, app]));
    let out = run(&mut e, 0, run_with("job", Some(10)));
    let id = out.created[0];
    let outs = start_all(&mut e, 1, &out);
    let plan = outs
        .iter()
        .flat_map(|o| o.effects.iter())
        .chain(out.effects.iter())
        .find_map(|e| match e {
            Effect::StartContainer { container: 0, plan, .. } => Some(*plan),
            _ => None,
        })
        .unwrap();
    assert_eq!(plan.run_for, Some(SimDuration::ZERO), "init containers exit at once");
    assert_eq!(e.task(id).unwrap().last_status, TaskStatus::Pending);
    report(&mut e, 5, Report::ContainerExited { task: id, container: 0, exit_code: 1, oom: false });
    let task = e.task(id).unwrap();
    assert_eq!(task.last_status, TaskStatus::Stopped);
    assert_eq!(task.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(task.stopped_reason.as_ref().unwrap().to_string().contains("exited with code 1"));
}

#[test]
fn healthy_dependency_with_start_timeout() {
    let mut db = container("db", "postgres");
    db.essential = false;
    db.start_timeout_s = Some(30);
    db.health_check = Some(HealthCheck {
        command: vec!["CMD".into(), "true".into()],
        interval_s: 30,
        timeout_s: 5,
        retries: 3,
        start_period_s: 0,
    });
    let mut app = container("app", "app");
    app.depends_on = vec![ContainerDependency {
        container_name: "db".into(),
        condition: DependencyCondition::Healthy,
    }];
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("job", 256, 512, vec![db, app]));
    let out = run(&mut e, 0, run_with("job", None));
    let id = out.created[0];
    start_all(&mut e, 1, &out);
    let db_started = e.task(id).unwrap().containers[0].started_at.unwrap();
    let due = db_started + SimDuration::from_secs(30);
    assert_eq!(e.next_wakeup(), Some(due), "30 s startTimeout from the db's start");
    e.handle(due, Command::Tick).unwrap();
    let task = e.task(id).unwrap();
    assert_eq!(task.desired_status, DesiredStatus::Stopped);
    assert_eq!(task.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(task.stopped_reason.as_ref().unwrap().to_string().contains("startTimeout of 30s"));
}

#[test]
fn fargate_lifecycle_and_meter() {
    let mut e = Engine::new(Arc::new(cluster(0, 0, 0)), Mode::Fargate, 1);
    e.register(taskdef("web", 300, 600, vec![container("app", "nginx")]));
    let out = run(&mut e, 0, run_with("web", Some(30)));
    let id = out.created[0];
    assert_eq!(
        out.effects,
        [Effect::ProvisionSlot {
            task: id,
            size: crate::taskdef::fargate::FargateSize { cpu_units: 512, memory_mib: 1024 }
        }]
    );
    let out = report(&mut e, 20, Report::SlotProvisioned { task: id });
    assert!(out.events.contains(&Event::BillingStarted { task: id }));
    let Effect::PullImage { host: None, image, .. } = out.effects[0] else { panic!() };
    report(&mut e, 30, Report::ImagePulled { task: id, host: None, image, error: None });
    report(&mut e, 31, Report::ContainerStarted { task: id, container: 0 });
    let out = report(
        &mut e,
        61,
        Report::ContainerExited { task: id, container: 0, exit_code: 0, oom: false },
    );
    assert!(out.events.contains(&Event::BillingStopped { task: id }));
    assert_eq!(out.effects, [Effect::ReleaseSlot { task: id }]);
    assert_eq!(e.task(id).unwrap().last_status, TaskStatus::Deprovisioning);
    report(&mut e, 62, Report::TaskCleanedUp { task: id });
    assert_eq!(e.task(id).unwrap().last_status, TaskStatus::Stopped);
}

#[test]
fn service_keeps_desired_count_and_scales() {
    let mut e = Engine::new(Arc::new(cluster(4, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx")]));
    let out = run(
        &mut e,
        0,
        Command::CreateService(CreateService {
            name: "web".into(),
            task_def: "web".into(),
            desired: 4,
            strategy: vec![],
            constraints: vec![],
        }),
    );
    assert_eq!(out.created.len(), 0);
    let msgs: Vec<&String> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ServiceEvent { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert!(msgs[0].starts_with("(service web) has started 4 tasks: (task "), "{msgs:?}");
    // ECS's service default spreads over availability zones: two tasks in each.
    let zones: Vec<&str> =
        e.tasks().map(|t| e.hosts()[t.host.unwrap().0 as usize].zone.as_str()).collect();
    assert_eq!(zones.iter().filter(|z| **z == "us-east-1a").count(), 2, "{zones:?}");
    let all = start_all(&mut e, 1, &out);
    assert!(all.iter().any(|o| o.events.iter().any(|e| matches!(e, Event::ServiceEvent { message, .. } if message.ends_with("has reached a steady state.")))));

    // A task dies: a replacement is launched.
    let victim = e.tasks().next().unwrap().id;
    let out = report(
        &mut e,
        100,
        Report::ContainerExited { task: victim, container: 0, exit_code: 1, oom: false },
    );
    assert_eq!(
        out.events
            .iter()
            .filter(|e| matches!(e, Event::TaskStateChanged { last: TaskStatus::Provisioning, .. }))
            .count(),
        1
    );
    start_all(&mut e, 101, &out);
    let svc = e.service_by_name("web").unwrap();
    assert_eq!(svc.tasks.len(), 4);

    // Scale in to 1: three stopped with ECS's scaling reason.
    let out = run(
        &mut e,
        200,
        Command::UpdateService { name: "web".into(), desired: Some(1), task_def: None },
    );
    let stopping: Vec<TaskId> = out
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::StopContainer { task, .. } => Some(*task),
            _ => None,
        })
        .collect();
    assert_eq!(stopping.len(), 3);
    let reason = e.task(stopping[0]).unwrap().stopped_reason.as_ref().unwrap().to_string();
    assert!(reason.starts_with("Scaling activity initiated by (deployment ecs-svc/"), "{reason}");
    assert_eq!(e.task(stopping[0]).unwrap().stop_code, Some(StopCode::ServiceSchedulerInitiated));
    for t in stopping {
        report(
            &mut e,
            201,
            Report::ContainerExited { task: t, container: 0, exit_code: 0, oom: false },
        );
    }
    assert_eq!(e.service_by_name("web").unwrap().tasks.len(), 1);
}

#[test]
fn rolling_deployment_replaces_old_tasks_after_new_ones_run() {
    let mut e = Engine::new(Arc::new(cluster(4, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx:1")]));
    let out = run(
        &mut e,
        0,
        Command::CreateService(CreateService {
            name: "web".into(),
            task_def: "web".into(),
            desired: 2,
            strategy: vec![],
            constraints: vec![],
        }),
    );
    start_all(&mut e, 1, &out);
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx:2")]));
    let out = run(
        &mut e,
        50,
        Command::UpdateService {
            name: "web".into(),
            desired: None,
            task_def: Some("web:2".into()),
        },
    );
    assert_eq!(e.service_by_name("web").unwrap().tasks.len(), 4, "200 %: new tasks first");
    start_all(&mut e, 51, &out);
    // Once the new ones run, the old ones are being stopped.
    let old_stopping = e
        .tasks()
        .filter(|t| t.deployment == 1 && t.desired_status == DesiredStatus::Stopped)
        .count();
    assert_eq!(old_stopping, 2);
}

#[test]
fn failing_service_is_throttled() {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx")]));
    run(
        &mut e,
        0,
        Command::CreateService(CreateService {
            name: "web".into(),
            task_def: "web".into(),
            desired: 1,
            strategy: vec![],
            constraints: vec![],
        }),
    );
    let fail = |e: &mut Engine, now: u64| {
        let task = *e.service_by_name("web").unwrap().tasks.iter().next().expect("a task");
        let (host, image) = (Some(HostId(0)), ImageId(0));
        report(e, now, Report::ImagePulled { task, host, image, error: Some("not found".into()) });
        assert_eq!(e.task(task).unwrap().stop_code, Some(StopCode::TaskFailedToStart));
        let reason = e.task(task).unwrap().stopped_reason.as_ref().unwrap().to_string();
        assert!(reason.starts_with("CannotPullContainerError:"), "{reason}");
    };
    fail(&mut e, 1);
    // The first failure is replaced at once; the second starts the back-off.
    fail(&mut e, 2);
    assert!(e.service_by_name("web").unwrap().tasks.is_empty());
    assert_eq!(e.next_wakeup(), Some(t(12)));
    run(&mut e, 12, Command::Tick);
    fail(&mut e, 12);
    assert_eq!(e.next_wakeup(), Some(t(32)), "the delay doubles");
    run(&mut e, 32, Command::Tick);
    assert_eq!(e.service_by_name("web").unwrap().tasks.len(), 1);
}

#[test]
fn snapshot_restore_round_trip() {
    let c = Arc::new(cluster(2, 2, 4096));
    let mut e = Engine::new(c.clone(), Mode::Ecs, 9);
    e.register(two_containers());
    let out = run(&mut e, 0, run_with("svc", Some(100)));
    start_all(&mut e, 1, &out);
    let json = serde_json::to_string(&e.snapshot()).unwrap();
    let mut r = Engine::restore(serde_json::from_str(&json).unwrap(), c);
    let id = out.created[0];
    let a = report(
        &mut e,
        200,
        Report::ContainerExited { task: id, container: 1, exit_code: 0, oom: false },
    );
    let b = report(
        &mut r,
        200,
        Report::ContainerExited { task: id, container: 1, exit_code: 0, oom: false },
    );
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&e.snapshot()).unwrap(),
        serde_json::to_string(&r.snapshot()).unwrap()
    );
}

#[test]
fn unknown_names_are_refused() {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    assert!(matches!(
        e.handle(t(0), run_with("nope", None)),
        Err(CommandError::UnknownTaskDefinition(_))
    ));
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx")]));
    assert!(e.handle(t(0), run_with("web:2", None)).is_err());
    assert!(e.handle(t(0), run_with("web:1", None)).is_ok());
    assert!(matches!(
        e.handle(t(0), Command::DeleteService { name: "x".into() }),
        Err(CommandError::ServiceNotFound(_))
    ));
}

#[test]
fn a_jobs_container_is_the_first_essential_one_that_is_not_a_log_router() {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    let mut router = container("log_router", "fluent-bit");
    router.log_router = true;
    let id = e.register(taskdef(
        "etl",
        512,
        1024,
        vec![router, container("app", "app"), container("envoy", "envoy")],
    ));
    assert_eq!(e.def(id).main, 1, "the FireLens router is never the job's container");
    let out = run(&mut e, 0, run_with("etl", Some(60)));
    let task = out.created[0];
    let Effect::PullImage { host, .. } = out.effects[0] else { panic!("{out:?}") };
    let mut starts = Vec::new();
    for eff in &out.effects {
        if let Effect::PullImage { image, .. } = eff {
            let o =
                report(&mut e, 1, Report::ImagePulled { task, host, image: *image, error: None });
            starts.extend(o.effects);
        }
    }
    let plans: Vec<_> = starts
        .iter()
        .filter_map(|x| match x {
            Effect::StartContainer { container, plan, .. } => Some((*container, plan.run_for)),
            _ => None,
        })
        .collect();
    assert!(plans.contains(&(1, Some(SimDuration::from_secs(60)))), "{plans:?}");
    assert!(plans.contains(&(0, None)), "{plans:?}");
}

/// An ECS engine with one host and one single-container task, RUNNING since t = 2 ms.
fn one_running_task() -> (Engine, TaskId) {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx")]));
    let out = run(&mut e, 0, run_with("web", None));
    let id = out.created[0];
    let Effect::PullImage { image, host, .. } = out.effects[0] else { panic!("{out:?}") };
    report(&mut e, 1, Report::ImagePulled { task: id, host, image, error: None });
    report(&mut e, 2, Report::ContainerStarted { task: id, container: 0 });
    assert_eq!(e.task(id).unwrap().last_status, TaskStatus::Running);
    (e, id)
}

/// A sandbox killed from outside stops its task (the agent's pause container is essential):
/// the task leaves RUNNING, its containers get SIGTERM, and the reason names the sandbox.
#[test]
fn sandbox_exit_stops_a_running_task() {
    let (mut e, id) = one_running_task();
    let detail = "exited with code 137 (killed from outside berth)".to_string();
    let out = report(&mut e, 5, Report::SandboxExited { task: id, detail });
    assert!(
        out.effects.iter().any(|f| matches!(f, Effect::StopContainer { task, .. } if *task == id)),
        "{out:?}"
    );
    let task = e.task(id).unwrap();
    assert_eq!(task.desired_status, DesiredStatus::Stopped);
    assert_eq!(task.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(
        task.stopped_reason.as_ref().unwrap().to_string(),
        "Essential container in task exited (~internal~ecs~pause: exited with code 137 (killed from outside berth))"
    );
    report(
        &mut e,
        6,
        Report::ContainerExited { task: id, container: 0, exit_code: 143, oom: false },
    );
    let task = e.task(id).unwrap();
    assert_eq!(task.last_status, TaskStatus::Stopped);
    assert!(task.failed(|_| true), "a task whose sandbox was killed failed");
    // A second report about the same task changes nothing.
    let out = report(&mut e, 7, Report::SandboxExited { task: id, detail: "again".into() });
    assert!(out.events.is_empty() && out.effects.is_empty(), "{out:?}");
}

/// A host whose agent is disconnected takes no new tasks (they wait with `AGENT`); when it
/// reconnects the waiting task is placed there.
#[test]
fn disconnected_agent_takes_no_tasks_until_it_reconnects() {
    let mut e = Engine::new(Arc::new(cluster(1, 2, 4096)), Mode::Ecs, 1);
    e.register(taskdef("web", 512, 1024, vec![container("app", "nginx")]));
    run(&mut e, 0, Command::SetAgentConnected { host: HostId(0), connected: false });
    let out = run(&mut e, 1, run_with("web", None));
    let id = out.created[0];
    assert!(
        out.events.iter().any(|ev| matches!(
            ev,
            Event::PlacementFailed { reason: crate::placement::FailureReason::Agent, .. }
        )),
        "{out:?}"
    );
    assert_eq!(e.task(id).unwrap().last_status, TaskStatus::Provisioning);
    let out = run(&mut e, 2, Command::SetAgentConnected { host: HostId(0), connected: true });
    assert!(out.events.contains(&Event::TaskPlaced { task: id, host: HostId(0) }), "{out:?}");
}

/// A container whose engine is gone for good ends with no exit code (never a made-up one) and
/// what was seen as its reason; a running task stops with "Host lost: ..." and is STOPPED
/// once its containers are, so the run need not wait for exits that cannot come.
#[test]
fn a_lost_container_stops_with_no_exit_code_and_a_truthful_reason() {
    let (mut e, id) = one_running_task();
    let detail = "the Docker engine at unix:///x.sock stopped answering".to_string();
    report(&mut e, 5, Report::ContainerLost { task: id, container: 0, detail });
    let task = e.task(id).unwrap();
    assert_eq!(task.last_status, TaskStatus::Stopped);
    assert_eq!(task.containers[0].exit_code, None, "no exit code is made up");
    assert_eq!(
        task.containers[0].reason.as_deref(),
        Some("the Docker engine at unix:///x.sock stopped answering")
    );
    assert_eq!(
        task.stopped_reason.as_ref().unwrap().to_string(),
        "Host lost: the Docker engine at unix:///x.sock stopped answering"
    );
    assert!(task.failed(|_| true), "a task whose host was lost did not succeed");
}
