//! Scenario files (`scenarios/*.toml`): a workload over time, compiled into a script the
//! simulator plays against the engine. See `docs/scenario-files.md` for every key.
//!
//! Parsing is pure ([`parse`] takes the text); [`load`] reads the file. Paths inside a scenario
//! (cluster, task definitions) are relative to the scenario file. Every problem is reported with
//! file, line, column and key, all at once.

mod dag;
pub mod dist;
pub mod limits;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use dist::{parse_dist, Dist};

use crate::cluster::tomlerr::toml_file_error;
use crate::diag::{closest, Diagnostic, FileError, Pos};
use crate::engine::Mode;
use crate::money::Usd;
use crate::time::{parse_duration, SimDuration};

/// A launch of standalone tasks (`[[tasks]]`), like RunTask on a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub name: String,
    /// Index into [`Scenario::task_defs`].
    pub task_def: usize,
    /// Tasks per launch.
    pub count: u32,
    /// First launch, from the start (ignored for jobs with `after`).
    pub at: SimDuration,
    pub repeat: Repeat,
    /// No launches at or after this time.
    pub until: Option<SimDuration>,
    /// How long the main container runs; `None`: until the end of the scenario.
    pub runtime: Option<Dist>,
    pub exit_code: Option<i32>,
    /// The container the job runs in (`container = "app"`); `None`: the task definition's first
    /// essential container that is not a log router. `runtime` and `exit_code` apply to it.
    #[serde(default)]
    pub container: Option<JobContainer>,
    /// Jobs (indices) whose runs must finish before each run of this one.
    pub after: Vec<usize>,
}

/// A job's `container`, with where the scenario file names it (checked against the task
/// definition once that is loaded: [`check_job_containers`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobContainer {
    pub name: String,
    pub line: usize,
    pub column: usize,
    /// Its index in the task definition, set by [`resolve_job_containers`].
    #[serde(default)]
    pub index: Option<u16>,
}

impl Job {
    /// The container index the job's tasks run in, once resolved; `None`: the definition's
    /// default (first essential container that is not a log router).
    pub fn container_index(&self) -> Option<u16> {
        self.container.as_ref().and_then(|c| c.index)
    }
}

/// The index of the container `job` runs in, if the scenario names one; an error if `def` has
/// no such container or it is not essential (a non-essential container's exit does not end the
/// task, so the job would never finish).
pub fn job_container(
    job: &Job,
    def: &crate::taskdef::model::TaskDefinition,
) -> Result<Option<u16>, String> {
    let Some(want) = &job.container else { return Ok(None) };
    match def.containers.iter().position(|c| c.name == want.name) {
        None => Err(format!(
            "task definition {:?} has no container named {:?} (it has: {})",
            def.family,
            want.name,
            def.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        )),
        Some(i) if !def.containers[i].essential => Err(format!(
            "container {:?} is not essential: its exit would not end the task, so the job would \
             never finish; name an essential container, or mark it \"essential\": true",
            want.name
        )),
        Some(i) => Ok(Some(i as u16)),
    }
}

/// Resolves every job's `container` against its loaded task definition (`defs` in
/// [`Scenario::task_defs`] order); errors name the scenario file, line and column. The
/// simulator and the Docker runtime read the result from [`Job::container_index`].
pub fn resolve_job_containers(
    sc: &mut Scenario,
    defs: &[crate::taskdef::model::TaskDefinition],
) -> Result<(), FileError> {
    let mut diags = Vec::new();
    for (i, job) in sc.jobs.iter_mut().enumerate() {
        let Some(def) = defs.get(job.task_def) else { continue };
        match job_container(job, def) {
            Ok(index) => {
                if let Some(c) = job.container.as_mut() {
                    c.index = index;
                }
            }
            Err(e) => {
                let want = job.container.as_ref().expect("only a named container can fail");
                diags.push(
                    Diagnostic::error(
                        format!("tasks[{i}].container"),
                        Pos { line: want.line, column: want.column },
                        e,
                    )
                    .with_hint("`container` names the container the job runs in"),
                );
            }
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(FileError::new(&sc.file, diags))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Repeat {
    Once,
    /// Fixed period (`every = "1d"`).
    Every {
        period: SimDuration,
    },
    /// Random gaps between launches (`arrivals = { every = "exp(5m)" }`).
    Random {
        gap: Dist,
    },
}

/// A service (`[[services]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub name: String,
    pub task_def: usize,
    pub desired: u32,
    /// When the service is created.
    pub at: SimDuration,
    /// `(time, desired count)`, sorted by time.
    pub scale: Vec<(SimDuration, u32)>,
    /// Repeat the scale steps with this period (a daily pattern: `scale_every = "1d"`).
    pub scale_every: Option<SimDuration>,
}

/// `[expect]`: checks on the outcome; a failed one makes `berth simulate` exit with 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    pub cheaper: Option<Mode>,
    pub max_total_usd: BTreeMap<Mode, Usd>,
    /// ECS mode: 95th percentile of the time tasks waited for capacity.
    pub max_wait_p95: Option<SimDuration>,
    /// Per mode, tasks that failed (never started, or essential container exited non-zero).
    pub max_failed: Option<u64>,
    /// The cheaper mode must save at least this many percent.
    pub min_savings_pct: Option<Decimal>,
}

/// A parsed scenario (task definitions not loaded yet: see [`Scenario::task_defs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    pub duration: SimDuration,
    /// Resolved against the scenario's directory.
    pub cluster: Option<PathBuf>,
    pub seed: Option<u64>,
    /// Distinct task definition files, resolved against the scenario's directory.
    pub task_defs: Vec<PathBuf>,
    pub jobs: Vec<Job>,
    pub services: Vec<ServiceSpec>,
    pub expect: Expect,
    /// Jobs in an order where every job comes after the jobs it waits for.
    pub job_order: Vec<usize>,
}

// ----- the file as written -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    duration: Spanned<String>,
    cluster: Option<Spanned<String>>,
    seed: Option<u64>,
    #[serde(default)]
    tasks: Vec<RawTask>,
    #[serde(default)]
    services: Vec<RawService>,
    expect: Option<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: Option<Spanned<String>>,
    task_def: Spanned<String>,
    count: Option<Spanned<i64>>,
    at: Option<Spanned<String>>,
    every: Option<Spanned<String>>,
    arrivals: Option<Spanned<RawArrivals>>,
    until: Option<Spanned<String>>,
    runtime: Option<Spanned<String>>,
    exit_code: Option<Spanned<i64>>,
    container: Option<Spanned<String>>,
    after: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArrivals {
    every: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Spanned<String>,
    task_def: Spanned<String>,
    desired: Spanned<i64>,
    at: Option<Spanned<String>>,
    #[serde(default)]
    scale: Vec<RawScale>,
    scale_every: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    at: Spanned<String>,
    desired: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    cheaper: Option<Spanned<String>>,
    max_total_usd: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    max_wait_p95: Option<Spanned<String>>,
    max_failed: Option<Spanned<i64>>,
    min_savings_pct: Option<Spanned<toml::Value>>,
}

/// Where a scenario names the files it refers to: the key path and position of `cluster` and
/// of the first `task_def` naming each of [`Scenario::task_defs`]. A file that cannot be read is
/// then reported at the scenario's line, not only by its path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refs {
    pub cluster: Option<(String, Pos)>,
    /// Parallel to [`Scenario::task_defs`].
    pub task_defs: Vec<(String, Pos)>,
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<Scenario, FileError> {
    load_located(path).map(|(s, _)| s)
}

/// Reads and parses a scenario file, with where it names its cluster and task definitions.
pub fn load_located(path: &Path) -> Result<(Scenario, Refs), FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::io(path, &e))?;
    parse_located(path, &text)
}

struct Ctx<'a> {
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(
        &mut self,
        path: impl Into<String>,
        span: std::ops::Range<usize>,
        msg: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::error(path, Pos::of_offset(self.text, span.start), msg));
    }

    fn duration(&mut self, path: &str, v: &Spanned<String>) -> Option<SimDuration> {
        match parse_duration(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(path, v.span(), e.to_string());
                None
            }
        }
    }

    fn dist(&mut self, path: &str, v: &Spanned<String>) -> Option<Dist> {
        match parse_dist(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                let d = Diagnostic::error(path, Pos::of_offset(self.text, v.span().start), e)
                    .with_hint(dist::DIST_HELP);
                self.diags.push(d);
                None
            }
        }
    }

    fn count(&mut self, path: &str, v: &Spanned<i64>, min: i64, max: i64) -> Option<u32> {
        let n = *v.get_ref();
        if n < min || n > max {
            self.err(path, v.span(), format!("must be between {min} and {max}, got {n}"));
            return None;
        }
        Some(n as u32)
    }
}

/// Parses scenario text; `file` is used for error messages and to resolve relative paths.
pub fn parse(file: &Path, text: &str) -> Result<Scenario, FileError> {
    parse_located(file, text).map(|(s, _)| s)
}

/// [`parse`], with where the scenario names its cluster and task definitions.
pub fn parse_located(file: &Path, text: &str) -> Result<(Scenario, Refs), FileError> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| toml_file_error(file, text, &e))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut cx = Ctx { text, diags: Vec::new() };
    let mut refs = Refs {
        cluster: raw
            .cluster
            .as_ref()
            .map(|c| ("cluster".to_string(), Pos::of_offset(text, c.span().start))),
        task_defs: Vec::new(),
    };

    let duration = cx.duration("duration", &raw.duration).unwrap_or(SimDuration::ZERO);
    if duration == SimDuration::ZERO && cx.diags.is_empty() {
        cx.err("duration", raw.duration.span(), "must be longer than zero");
    }
    if duration > limits::MAX_DURATION {
        let pos = Pos::of_offset(text, raw.duration.span().start);
        let msg =
            format!("{duration} is longer than the limit of {} (100 years)", limits::MAX_DURATION);
        cx.diags.push(Diagnostic::error("duration", pos, msg).with_hint(limits::DURATION_WHY));
    }
    let mut task_defs: Vec<PathBuf> = Vec::new();
    let mut td_index = |key: String, p: &Spanned<String>| {
        let path = dir.join(p.get_ref());
        match task_defs.iter().position(|q| *q == path) {
            Some(i) => i,
            None => {
                task_defs.push(path);
                refs.task_defs.push((key, Pos::of_offset(text, p.span().start)));
                task_defs.len() - 1
            }
        }
    };

    // Jobs: names first, so that `after` can refer to later ones.
    let mut names: Vec<String> = Vec::new();
    for (i, t) in raw.tasks.iter().enumerate() {
        let name = match &t.name {
            Some(n) => {
                if names.contains(n.get_ref()) {
                    cx.err(
                        format!("tasks[{i}].name"),
                        n.span(),
                        format!(
                            "a job named {:?} already exists; names must be unique",
                            n.get_ref()
                        ),
                    );
                }
                n.get_ref().clone()
            }
            None => {
                let stem = Path::new(t.task_def.get_ref())
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| format!("job{i}"));
                let mut name = stem.clone();
                let mut k = 2;
                while names.contains(&name) {
                    name = format!("{stem}-{k}");
                    k += 1;
                }
                name
            }
        };
        names.push(name);
    }
    let mut jobs = Vec::new();
    // Per job, the key that decides how many tasks it launches (for the limit's error).
    let mut job_keys: Vec<KeyAt> = Vec::new();
    for (i, t) in raw.tasks.iter().enumerate() {
        let p = |k: &str| format!("tasks[{i}].{k}");
        job_keys.push(match (&t.every, &t.arrivals, &t.count) {
            (Some(e), _, _) => (p("every"), e.span()),
            (None, Some(a), _) => (p("arrivals.every"), a.get_ref().every.span()),
            (None, None, Some(c)) => (p("count"), c.span()),
            (None, None, None) => (p("task_def"), t.task_def.span()),
        });
        let count = match &t.count {
            Some(c) => cx.count(&p("count"), c, 1, 100_000).unwrap_or(1),
            None => 1,
        };
        let at = t.at.as_ref().and_then(|a| cx.duration(&p("at"), a)).unwrap_or(SimDuration::ZERO);
        let repeat = match (&t.every, &t.arrivals) {
            (Some(e), Some(a)) => {
                cx.err(
                    p("arrivals"),
                    a.span(),
                    "give either `every` (fixed period) or `arrivals` (random gaps), not both",
                );
                let _ = e;
                Repeat::Once
            }
            (Some(e), None) => match cx.duration(&p("every"), e) {
                Some(d) if d == SimDuration::ZERO => {
                    cx.err(p("every"), e.span(), "the period must be longer than zero");
                    Repeat::Once
                }
                Some(period) => Repeat::Every { period },
                None => Repeat::Once,
            },
            (None, Some(a)) => match cx.dist(&p("arrivals.every"), &a.get_ref().every) {
                Some(gap) if gap.mean() < 1.0 => {
                    cx.err(
                        p("arrivals.every"),
                        a.get_ref().every.span(),
                        "the mean gap must be at least 1ms",
                    );
                    Repeat::Once
                }
                Some(gap) => Repeat::Random { gap },
                None => Repeat::Once,
            },
            (None, None) => Repeat::Once,
        };
        let until = t.until.as_ref().and_then(|u| cx.duration(&p("until"), u));
        let runtime = t.runtime.as_ref().and_then(|r| cx.dist(&p("runtime"), r));
        let exit_code = t.exit_code.as_ref().and_then(|c| {
            let v = *c.get_ref();
            if !(0..=255).contains(&v) {
                let d = Diagnostic::error(
                    p("exit_code"),
                    Pos::of_offset(text, c.span().start),
                    format!("must be between 0 and 255, got {v}"),
                )
                .with_hint(
                    "a container's exit code is one byte, as Docker and the ECS agent report it \
                     (137 is a SIGKILL, 143 a SIGTERM)",
                );
                cx.diags.push(d);
                None
            } else {
                Some(v as i32)
            }
        });
        let mut after = Vec::new();
        for (k, a) in t.after.iter().flatten().enumerate() {
            match names.iter().position(|n| n == a.get_ref()) {
                Some(j) => after.push(j),
                None => {
                    let mut d = Diagnostic::error(
                        format!("tasks[{i}].after[{k}]"),
                        Pos::of_offset(text, a.span().start),
                        format!("no job named {:?}", a.get_ref()),
                    );
                    d = match closest(a.get_ref(), names.iter().map(String::as_str)) {
                        Some(c) => d.with_hint(format!("did you mean {c:?}?")),
                        None => d.with_hint(format!(
                            "jobs are named by `name`, or by their task definition file's name: {}",
                            names.join(", ")
                        )),
                    };
                    cx.diags.push(d);
                }
            }
        }
        if !after.is_empty() {
            if let Some(a) = &t.at {
                cx.err(
                    p("at"),
                    a.span(),
                    "a job with `after` starts when the jobs it waits for finish; remove `at`",
                );
            }
            if let Some(e) = &t.every {
                cx.err(
                    p("every"),
                    e.span(),
                    "a job with `after` runs once per run of the jobs it waits for; remove `every`",
                );
            }
            if let Some(a) = &t.arrivals {
                cx.err(
                    p("arrivals"),
                    a.span(),
                    "a job with `after` cannot also have random arrivals",
                );
            }
        }
        jobs.push(Job {
            name: names[i].clone(),
            task_def: td_index(p("task_def"), &t.task_def),
            count,
            at,
            repeat,
            until,
            runtime,
            exit_code,
            container: t.container.as_ref().map(|c| {
                let at = Pos::of_offset(text, c.span().start);
                JobContainer {
                    name: c.get_ref().clone(),
                    line: at.line,
                    column: at.column,
                    index: None,
                }
            }),
            after,
        });
    }

    let mut services = Vec::new();
    let mut service_keys: Vec<KeyAt> = Vec::new();
    for (i, s) in raw.services.iter().enumerate() {
        let p = |k: &str| format!("services[{i}].{k}");
        service_keys.push(match (&s.scale_every, s.scale.first()) {
            (Some(e), _) => (p("scale_every"), e.span()),
            (None, Some(st)) => (format!("services[{i}].scale[0].at"), st.at.span()),
            (None, None) => (p("desired"), s.desired.span()),
        });
        if raw.services[..i].iter().any(|o| o.name.get_ref() == s.name.get_ref()) {
            cx.err(
                p("name"),
                s.name.span(),
                format!("a service named {:?} already exists", s.name.get_ref()),
            );
        }
        if s.name.get_ref().is_empty()
            || s.name.get_ref().len() > 255
            || !s.name.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            cx.err(p("name"), s.name.span(), "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.");
        }
        let desired = cx.count(&p("desired"), &s.desired, 0, 5000).unwrap_or(0);
        let at = s.at.as_ref().and_then(|a| cx.duration(&p("at"), a)).unwrap_or(SimDuration::ZERO);
        let mut scale = Vec::new();
        for (k, st) in s.scale.iter().enumerate() {
            let t = cx.duration(&format!("services[{i}].scale[{k}].at"), &st.at);
            let d = cx.count(&format!("services[{i}].scale[{k}].desired"), &st.desired, 0, 5000);
            if let (Some(t), Some(d)) = (t, d) {
                scale.push((t, d));
            }
        }
        scale.sort_by_key(|(t, _)| *t);
        let scale_every = match &s.scale_every {
            Some(e) => match cx.duration(&p("scale_every"), e) {
                Some(d) if d == SimDuration::ZERO => {
                    cx.err(p("scale_every"), e.span(), "the period must be longer than zero");
                    None
                }
                Some(d) => {
                    if let Some((last, _)) = scale.last() {
                        if *last >= d {
                            cx.err(p("scale_every"), e.span(), format!("the scale steps must all fall within one period ({d}); the last is at {last}"));
                        }
                    }
                    Some(d)
                }
                None => None,
            },
            None => None,
        };
        services.push(ServiceSpec {
            name: s.name.get_ref().clone(),
            task_def: td_index(p("task_def"), &s.task_def),
            desired,
            at,
            scale,
            scale_every,
        });
    }

    let expect = match &raw.expect {
        Some(e) => parse_expect(&mut cx, e),
        None => Expect::default(),
    };

    let job_order = match dag::order(&jobs) {
        Ok(o) => o,
        Err(cycle) => {
            let first = cycle[0];
            let span = raw.tasks[first]
                .after
                .as_ref()
                .and_then(|a| a.first())
                .map(|a| a.span())
                .unwrap_or(raw.tasks[first].task_def.span());
            let path: Vec<&str> = cycle.iter().map(|&j| jobs[j].name.as_str()).collect();
            cx.err(
                format!("tasks[{first}].after"),
                span,
                format!(
                    "jobs wait for each other in a cycle: {} -> {} (`->` reads \"waits for\")",
                    path.join(" -> "),
                    path[0]
                ),
            );
            Vec::new()
        }
    };

    if cx.diags.is_empty() {
        check_limits(&mut cx, duration, &jobs, &job_order, &job_keys, &services, &service_keys);
    }
    if !cx.diags.is_empty() {
        return Err(FileError::new(file, cx.diags));
    }
    let scenario = Scenario {
        name: raw.name.unwrap_or_else(|| {
            file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        }),
        description: raw.description,
        file: file.to_path_buf(),
        duration,
        cluster: raw.cluster.map(|c| dir.join(c.get_ref())),
        seed: raw.seed,
        task_defs,
        jobs,
        services,
        expect,
        job_order,
    };
    Ok((scenario, refs))
}

/// A key's path and the span of its value: where a limit's error points.
type KeyAt = (String, std::ops::Range<usize>);

/// Refuses a scenario that would launch more than [`limits::MAX_TASK_LAUNCHES`] tasks or make
/// more than [`limits::MAX_SCALE_CALLS`] UpdateService calls, at the key that asks for them.
/// Runs only on an otherwise valid scenario (the counts need its durations and job order).
fn check_limits(
    cx: &mut Ctx<'_>,
    duration: SimDuration,
    jobs: &[Job],
    job_order: &[usize],
    job_keys: &[KeyAt],
    services: &[ServiceSpec],
    service_keys: &[KeyAt],
) {
    use limits::{grouped, MAX_SCALE_CALLS, MAX_TASK_LAUNCHES, SCALE_LIMIT_WHY, TASK_LIMIT_WHY};
    let max_tasks = MAX_TASK_LAUNCHES as f64;
    let limit_hint = |cx: &mut Ctx<'_>, key: &KeyAt, msg, why: &str| {
        let pos = Pos::of_offset(cx.text, key.1.start);
        cx.diags.push(Diagnostic::error(key.0.clone(), pos, msg).with_hint(why));
    };
    let per_job = limits::job_tasks(jobs, job_order, duration);
    let mut over = false;
    for (j, (job, &tasks)) in jobs.iter().zip(&per_job).enumerate() {
        if tasks > max_tasks {
            over = true;
            let what = match job.repeat {
                _ if !job.after.is_empty() => "once per run of the jobs it waits for".to_string(),
                Repeat::Every { period } => format!("one launch every {period}"),
                Repeat::Random { gap } => format!("random gaps of {gap}, on average"),
                Repeat::Once => "once".to_string(),
            };
            let msg = format!(
                "would launch {} tasks over the scenario's {duration} ({what}, {} per launch); \
                 the limit is {} task launches per scenario",
                grouped(tasks.min(u64::MAX as f64) as u64),
                job.count,
                grouped(MAX_TASK_LAUNCHES),
            );
            limit_hint(cx, &job_keys[j], msg, TASK_LIMIT_WHY);
        }
    }
    let mut calls_total = 0u64;
    let mut service_tasks = Vec::new();
    for (i, s) in services.iter().enumerate() {
        let (calls, launched) = limits::service_load(s, duration);
        calls_total = calls_total.saturating_add(calls);
        if calls > MAX_SCALE_CALLS {
            over = true;
            let msg = format!(
                "would make {} UpdateService calls over the scenario's {duration} ({} scale \
                 step{} every {}); the limit is {} per scenario",
                grouped(calls),
                s.scale.len(),
                if s.scale.len() == 1 { "" } else { "s" },
                s.scale_every.unwrap_or(duration),
                grouped(MAX_SCALE_CALLS),
            );
            limit_hint(cx, &service_keys[i], msg, SCALE_LIMIT_WHY);
        } else if launched as f64 > max_tasks {
            over = true;
            let msg = format!(
                "its scale steps would start {} tasks over the scenario's {duration}; the limit \
                 is {} task launches per scenario",
                grouped(launched),
                grouped(MAX_TASK_LAUNCHES),
            );
            limit_hint(cx, &service_keys[i], msg, TASK_LIMIT_WHY);
        }
        service_tasks.push(launched as f64);
    }
    if over {
        return;
    }
    let total = per_job.iter().sum::<f64>() + service_tasks.iter().sum::<f64>();
    if total > max_tasks {
        // Name the biggest sources (in file order among equals), and point at the biggest one.
        let mut parts: Vec<(String, &KeyAt, f64)> = per_job
            .iter()
            .enumerate()
            .map(|(j, &t)| (format!("tasks[{j}]"), &job_keys[j], t))
            .chain(
                service_tasks
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| (format!("services[{i}]"), &service_keys[i], t)),
            )
            .collect();
        parts.sort_by(|a, b| b.2.total_cmp(&a.2));
        let top: Vec<String> =
            parts.iter().take(4).map(|(k, _, t)| format!("{k} {}", grouped(*t as u64))).collect();
        let msg = format!(
            "the scenario would launch {} tasks in all ({}); the limit is {} task launches per \
             scenario",
            grouped(total as u64),
            top.join(", "),
            grouped(MAX_TASK_LAUNCHES),
        );
        let key = parts[0].1.clone();
        limit_hint(cx, &key, msg, TASK_LIMIT_WHY);
    }
    if calls_total > MAX_SCALE_CALLS {
        let msg = format!(
            "the services would make {} UpdateService calls in all; the limit is {} per scenario",
            grouped(calls_total),
            grouped(MAX_SCALE_CALLS),
        );
        let key = service_keys.first().cloned().unwrap_or_default();
        limit_hint(cx, &key, msg, SCALE_LIMIT_WHY);
    }
}

fn parse_expect(cx: &mut Ctx<'_>, e: &RawExpect) -> Expect {
    let mut x = Expect::default();
    let mode = |cx: &mut Ctx<'_>, path: &str, v: &Spanned<String>| match v.get_ref().as_str() {
        "ecs" => Some(Mode::Ecs),
        "fargate" => Some(Mode::Fargate),
        other => {
            cx.err(path, v.span(), format!("expected \"ecs\" or \"fargate\", got {other:?}"));
            None
        }
    };
    if let Some(c) = &e.cheaper {
        x.cheaper = mode(cx, "expect.cheaper", c);
    }
    for (k, v) in e.max_total_usd.iter().flatten() {
        let path = format!("expect.max_total_usd.{}", k.get_ref());
        let m = mode(cx, &path, k);
        let amount = money(cx, &path, v);
        if let (Some(m), Some(a)) = (m, amount) {
            x.max_total_usd.insert(m, a);
        }
    }
    if let Some(w) = &e.max_wait_p95 {
        x.max_wait_p95 = cx.duration("expect.max_wait_p95", w);
    }
    if let Some(f) = &e.max_failed {
        if *f.get_ref() < 0 {
            cx.err("expect.max_failed", f.span(), "must be zero or more");
        } else {
            x.max_failed = Some(*f.get_ref() as u64);
        }
    }
    if let Some(v) = &e.min_savings_pct {
        x.min_savings_pct = money(cx, "expect.min_savings_pct", v);
    }
    x
}

/// A number or a decimal string, as an exact decimal.
fn money(cx: &mut Ctx<'_>, path: &str, v: &Spanned<toml::Value>) -> Option<Decimal> {
    let parsed = match v.get_ref() {
        toml::Value::Integer(i) => Some(Decimal::from(*i)),
        toml::Value::Float(f) => f.to_string().parse::<Decimal>().ok(),
        toml::Value::String(s) => s.trim().trim_start_matches('$').parse::<Decimal>().ok(),
        _ => None,
    };
    match parsed {
        Some(d) if !d.is_sign_negative() => Some(d),
        _ => {
            cx.err(path, v.span(), "expected an amount in US dollars, like 120 or \"99.50\"");
            None
        }
    }
}

#[cfg(test)]
mod tests;
