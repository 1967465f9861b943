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
    assert!(e.contains("scenarios/test.toml:4:1: error: cuont: unknown field `cuont`"), "{e}");
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
