//! Scenario files (`scenarios/*.toml`): a workload over time, compiled into a script the
//! simulator plays against the engine. See `docs/scenario-files.md` for every key.
//!
//! Parsing is pure ([`parse`] takes the text); [`load`] reads the file. Paths inside a scenario
//! (cluster, task definitions) are relative to the scenario file. Every problem is reported with
//! file, line, column and key, all at once.

mod dag;
pub mod dist;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use dist::{parse_dist, Dist};

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
    /// Jobs (indices) whose runs must finish before each run of this one.
    pub after: Vec<usize>,
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
    cluster: Option<String>,
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

const TOP_KEYS: &[&str] =
    &["name", "description", "duration", "cluster", "seed", "tasks", "services", "expect"];
const TASK_KEYS: &[&str] = &[
    "name",
    "task_def",
    "count",
    "at",
    "every",
    "arrivals",
    "until",
    "runtime",
    "exit_code",
    "after",
];
const SERVICE_KEYS: &[&str] = &["name", "task_def", "desired", "at", "scale", "scale_every"];
const EXPECT_KEYS: &[&str] =
    &["cheaper", "max_total_usd", "max_wait_p95", "max_failed", "min_savings_pct"];

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<Scenario, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::io(path, &e))?;
    parse(path, &text)
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
    let raw: RawScenario = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut cx = Ctx { text, diags: Vec::new() };

    let duration = cx.duration("duration", &raw.duration).unwrap_or(SimDuration::ZERO);
    if duration == SimDuration::ZERO && cx.diags.is_empty() {
        cx.err("duration", raw.duration.span(), "must be longer than zero");
    }
    let mut task_defs: Vec<PathBuf> = Vec::new();
    let mut td_index = |p: &str| {
        let path = dir.join(p);
        match task_defs.iter().position(|q| *q == path) {
            Some(i) => i,
            None => {
                task_defs.push(path);
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
    for (i, t) in raw.tasks.iter().enumerate() {
        let p = |k: &str| format!("tasks[{i}].{k}");
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
            if !(-2_147_483_648..=2_147_483_647).contains(&v) {
                cx.err(p("exit_code"), c.span(), "must fit in a 32-bit signed integer");
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
            task_def: td_index(t.task_def.get_ref()),
            count,
            at,
            repeat,
            until,
            runtime,
            exit_code,
            after,
        });
    }

    let mut services = Vec::new();
    for (i, s) in raw.services.iter().enumerate() {
        let p = |k: &str| format!("services[{i}].{k}");
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
            task_def: td_index(s.task_def.get_ref()),
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

    if !cx.diags.is_empty() {
        return Err(FileError::new(file, cx.diags));
    }
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| {
            file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        }),
        description: raw.description,
        file: file.to_path_buf(),
        duration,
        cluster: raw.cluster.map(|c| dir.join(c)),
        seed: raw.seed,
        task_defs,
        jobs,
        services,
        expect,
        job_order,
    })
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

/// A toml error, with a hint when it is an unknown key.
fn toml_error(file: &Path, text: &str, err: &toml::de::Error) -> FileError {
    let mut fe = FileError::from_toml(file, text, err);
    let msg = err.message();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some(key) = rest.split('`').next() {
            let all = TOP_KEYS.iter().chain(TASK_KEYS).chain(SERVICE_KEYS).chain(EXPECT_KEYS);
            if let Some(c) = closest(key, all.copied()) {
                if let Some(d) = fe.diagnostics.first_mut() {
                    d.path = key.to_string();
                    d.hint = Some(format!("did you mean `{c}`?"));
                }
            } else if let Some(d) = fe.diagnostics.first_mut() {
                d.path = key.to_string();
            }
        }
    }
    fe
}

#[cfg(test)]
mod tests;
