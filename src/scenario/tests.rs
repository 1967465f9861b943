use std::path::Path;

use super::*;

fn p(text: &str) -> Result<Scenario, FileError> {
    parse(Path::new("scenarios/test.toml"), text)
}

fn err(text: &str) -> String {
    p(text).unwrap_err().to_string()
}

const ISSUE_EXAMPLE: &str = r#"
name = "web plus nightly batch"
duration = "30d"
cluster = "../clusters/laptop.toml"

[[tasks]]
task_def = "../task-defs/etl.json"
count = 5
at = "2h"
every = "1d"
runtime = "10m"

[[services]]
name = "web"
task_def = "../task-defs/web.json"
desired = 4
scale = [{ at = "8h", desired = 10 }, { at = "20h", desired = 4 }]

[expect]
cheaper = "ecs"
"#;

#[test]
fn the_issue_example_parses() {
    let s = p(ISSUE_EXAMPLE).unwrap();
    assert_eq!(s.name, "web plus nightly batch");
    assert_eq!(s.duration, SimDuration::from_secs(30 * 86_400));
    assert_eq!(s.cluster.as_deref(), Some(Path::new("scenarios/../clusters/laptop.toml")));
    assert_eq!(s.task_defs[0], Path::new("scenarios/../task-defs/etl.json"));
    let j = &s.jobs[0];
    assert_eq!((j.name.as_str(), j.count, j.at), ("etl", 5, SimDuration::from_secs(7200)));
    assert_eq!(j.repeat, Repeat::Every { period: SimDuration::from_secs(86_400) });
    assert_eq!(j.runtime, Some(Dist::Fixed { value: SimDuration::from_secs(600) }));
    let svc = &s.services[0];
    assert_eq!(svc.desired, 4);
    assert_eq!(
        svc.scale,
        [(SimDuration::from_secs(8 * 3600), 10), (SimDuration::from_secs(20 * 3600), 4)]
    );
    assert_eq!(s.expect.cheaper, Some(Mode::Ecs));
}

#[test]
fn random_arrivals_dag_and_expectations() {
    let s = p(r#"
duration = "1d"
[[tasks]]
name = "extract"
task_def = "a.json"
arrivals = { every = "exp(5m)" }
runtime = "uniform(1m, 2m)"
exit_code = 3
[[tasks]]
name = "load"
task_def = "b.json"
after = ["extract"]
runtime = "lognormal(10m, 0.5)"
[expect]
max_total_usd = { ecs = 10, fargate = "2.50" }
max_wait_p95 = "5m"
max_failed = 0
"#)
    .unwrap();
    assert!(matches!(s.jobs[0].repeat, Repeat::Random { gap: Dist::Exp { .. } }));
    assert_eq!(s.jobs[0].exit_code, Some(3));
    assert_eq!(s.jobs[1].after, [0]);
    assert_eq!(s.job_order, [0, 1]);
    assert_eq!(s.expect.max_total_usd[&Mode::Fargate], "2.50".parse::<Decimal>().unwrap());
    assert_eq!(s.name, "test");
}

#[test]
fn errors_have_line_column_and_key() {
    let e = err("duration = \"30x\"\n");
    assert!(e.starts_with("scenarios/test.toml:1:12: error: duration: invalid duration"), "{e}");

    let e = err("duration = \"1d\"\n[[tasks]]\ntask_def = \"a.json\"\nruntime = \"gamma(1m)\"\n");
    assert!(
        e.starts_with("scenarios/test.toml:4:11: error: tasks[0].runtime: unknown distribution"),
        "{e}"
    );
    assert!(e.contains("hint:"), "{e}");

    let e = err("duration = \"1d\"\n[[tasks]]\ntask_def = \"a.json\"\ncuont = 3\n");
    assert!(
        e.contains("scenarios/test.toml:4:1: error: tasks[0].cuont: unknown key `cuont`"),
        "{e}"
    );
    assert!(e.contains("did you mean `count`?"), "{e}");

    let e = err("duration = \"1d\"\n[[tasks]]\ntask_def = \"a.json\"\ncount = 0\n");
    assert!(e.contains("4:9: error: tasks[0].count: must be between 1 and"), "{e}");

    let e = err("duration = \"1d\"\n[expect]\ncheaper = \"lambda\"\n");
    assert!(e.contains("3:11: error: expect.cheaper: expected \"ecs\" or \"fargate\""), "{e}");
}

#[test]
fn after_must_name_a_job_and_must_not_loop() {
    let e = err(r#"duration = "1d"
[[tasks]]
name = "a"
task_def = "a.json"
after = ["c"]
[[tasks]]
name = "b"
task_def = "b.json"
after = ["a"]
[[tasks]]
name = "c"
task_def = "c.json"
after = ["bb"]
"#);
    assert!(e.contains("tasks[2].after[0]: no job named \"bb\""), "{e}");
    assert!(e.contains("did you mean \"b\"?"), "{e}");

    let e = err(r#"duration = "1d"
[[tasks]]
name = "a"
task_def = "a.json"
after = ["c"]
[[tasks]]
name = "b"
task_def = "b.json"
after = ["a"]
[[tasks]]
name = "c"
task_def = "c.json"
after = ["b"]
"#);
    assert!(e.contains("jobs wait for each other in a cycle:"), "{e}");
    assert!(
        ["a -> c -> b -> a", "b -> a -> c -> b", "c -> b -> a -> c"].iter().any(|c| e.contains(c)),
        "{e}"
    );
}

#[test]
fn several_errors_at_once() {
    let e = p("duration = \"1d\"\n[[tasks]]\ntask_def = \"a.json\"\nat = \"x\"\nevery = \"y\"\n")
        .unwrap_err();
    assert_eq!(e.diagnostics.len(), 2);
}

#[test]
fn a_value_of_the_wrong_type_names_its_key_path() {
    let e = err("duration = \"1d\"\n[[tasks]]\ntask_def = \"a.json\"\ncount = 1.5\n");
    assert!(
        e.starts_with(
            "scenarios/test.toml:4:9: error: tasks[0].count: invalid type: floating point"
        ),
        "{e}"
    );
    let e = err(
        "duration = \"1d\"\n[[services]]\nname = \"w\"\ntask_def = \"a.json\"\ndesired = \"3\"\n",
    );
    assert!(e.contains("5:11: error: services[0].desired: invalid type: string"), "{e}");
}

#[test]
fn exit_codes_are_one_byte() {
    for bad in ["256", "-1", "300", "2147483648"] {
        let e = err(&format!(
            "duration = \"1d\"\n[[tasks]]\ntask_def = \"a.json\"\nexit_code = {bad}\n"
        ));
        assert!(
            e.contains(&format!(
                "4:13: error: tasks[0].exit_code: must be between 0 and 255, got {bad}"
            )),
            "{e}"
        );
    }
    for good in [0, 1, 137, 255] {
        let s = p(&format!(
            "duration = \"1d\"\n[[tasks]]\ntask_def = \"a.json\"\nexit_code = {good}\n"
        ))
        .unwrap();
        assert_eq!(s.jobs[0].exit_code, Some(good));
    }
}

/// How long parsing took: a limit must be checked by counting, not by expanding the schedule.
fn timed_err(text: &str) -> String {
    let t = std::time::Instant::now();
    let e = err(text);
    assert!(t.elapsed() < std::time::Duration::from_secs(2), "took {:?}", t.elapsed());
    e
}

#[test]
fn a_runaway_fixed_period_is_refused_at_its_key() {
    let e = timed_err("duration = \"30d\"\n[[tasks]]\ntask_def = \"a.json\"\nevery = \"1ms\"\n");
    assert!(
        e.starts_with(
            "scenarios/test.toml:4:9: error: tasks[0].every: would launch 2,592,000,000 tasks"
        ),
        "{e}"
    );
    assert!(e.contains("the limit is 10,000,000 task launches per scenario"), "{e}");
    assert!(e.contains("hint: berth keeps every task that has not stopped in memory"), "{e}");
    // `count` multiplies: 100 a minute for 30 days is 4.32 million launches, fine; 1,000 is not.
    let ok = "duration = \"30d\"\n[[tasks]]\ntask_def = \"a.json\"\nevery = \"1m\"\ncount = 100\n";
    assert!(p(ok).is_ok());
    let e = timed_err(&ok.replace("count = 100", "count = 1000"));
    assert!(e.contains("tasks[0].every: would launch 43,200,000 tasks"), "{e}");
    // `until` shortens the schedule.
    assert!(p(&ok.replace("count = 100", "count = 1000\nuntil = \"6d\"")).is_ok());
}

#[test]
fn runaway_random_arrivals_are_refused() {
    let e = timed_err(
        "duration = \"30d\"\n[[tasks]]\ntask_def = \"a.json\"\narrivals = { every = \"exp(1ms)\" }\n",
    );
    assert!(
        e.contains("4:22: error: tasks[0].arrivals.every: would launch 2,592,000,001 tasks"),
        "{e}"
    );
}

#[test]
fn the_benchmark_month_fits_within_the_limits() {
    // `berth bench simulate`: 10,000 tasks at once, then one every 360 ms on average for 30 days.
    let s = p(r#"duration = "30d"
[[tasks]]
name = "warm-start"
task_def = "a.json"
count = 10000
runtime = "exp(1h)"
[[tasks]]
name = "arrivals"
task_def = "a.json"
arrivals = { every = "exp(360ms)" }
runtime = "exp(1h)"
"#);
    assert!(s.is_ok(), "{}", s.unwrap_err());
}

#[test]
fn jobs_that_wait_inherit_the_runs_they_wait_for() {
    // 1,000 runs of `a`, each followed by a run of `b` of 20,000 tasks: 20 million.
    let e = timed_err(
        r#"duration = "30d"
[[tasks]]
name = "a"
task_def = "a.json"
every = "43m12s"
[[tasks]]
name = "b"
task_def = "b.json"
after = ["a"]
count = 20000
"#,
    );
    assert!(e.contains("10:9: error: tasks[1].count: would launch 20,000,000 tasks"), "{e}");
}

#[test]
fn the_total_over_jobs_is_limited_too() {
    let job =
        |n: usize| format!("[[tasks]]\nname = \"j{n}\"\ntask_def = \"a.json\"\nevery = \"1s\"\n");
    // 4 jobs of 2,592,000 launches each: fine alone, 10,368,000 together.
    let text = format!("duration = \"30d\"\n{}", (0..4).map(job).collect::<String>());
    let e = timed_err(&text);
    assert!(
        e.contains("tasks[0].every: the scenario would launch 10,368,000 tasks in all (tasks[0] 2,592,000, "),
        "{e}"
    );
    let three = format!("duration = \"30d\"\n{}", (0..3).map(job).collect::<String>());
    assert!(p(&three).is_ok());
}

#[test]
fn a_runaway_scale_period_is_refused() {
    let text = r#"duration = "30d"
[[services]]
name = "web"
task_def = "w.json"
desired = 1
scale = [{ at = "0s", desired = 2 }, { at = "0s", desired = 1 }]
scale_every = "1ms"
"#;
    let e = timed_err(text);
    assert!(
        e.contains(
            "7:15: error: services[0].scale_every: would make 5,184,000,000 UpdateService calls"
        ),
        "{e}"
    );
    assert!(e.contains("the limit is 1,000,000 per scenario"), "{e}");
    // A scale-out from 1 to 5,000 and back every 10 minutes starts 4,999 tasks 4,320 times.
    let e = timed_err(&text.replace("desired = 2", "desired = 5000").replace("\"1ms\"", "\"10m\""));
    assert!(
        e.contains("services[0].scale_every: its scale steps would start 21,595,681 tasks"),
        "{e}"
    );
    // Daily, it is fine.
    assert!(p(&text.replace("\"1ms\"", "\"1d\"")).is_ok());
}

#[test]
fn refs_locate_the_files_a_scenario_names() {
    let (s, refs) = parse_located(
        Path::new("scenarios/test.toml"),
        "duration = \"1d\"\ncluster = \"c.toml\"\n[[tasks]]\ntask_def = \"a.json\"\n[[tasks]]\ntask_def = \"a.json\"\n[[services]]\nname = \"w\"\ntask_def = \"b.json\"\ndesired = 1\n",
    )
    .unwrap();
    assert_eq!(refs.cluster, Some(("cluster".to_string(), Pos { line: 2, column: 11 })));
    assert_eq!(s.task_defs.len(), 2);
    assert_eq!(
        refs.task_defs,
        [
            ("tasks[0].task_def".to_string(), Pos { line: 4, column: 12 }),
            ("services[0].task_def".to_string(), Pos { line: 9, column: 12 }),
        ]
    );
}

#[test]
fn the_duration_is_at_most_a_hundred_years() {
    let e = timed_err(
        "duration = \"10000w\"\n[[services]]\nname = \"w\"\ntask_def = \"w.json\"\ndesired = 1\n",
    );
    assert!(
        e.starts_with("scenarios/test.toml:1:12: error: duration: 70000d is longer than the limit of 36500d (100 years)"),
        "{e}"
    );
    assert!(e.contains("44 bits"), "{e}");
    assert!(p("duration = \"36500d\"\n").is_ok());
}
