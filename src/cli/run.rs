//! `berth run`: a scenario for real, as Docker containers, in ECS mode, Fargate mode or both.
//!
//! The same engine as `berth simulate` decides everything; [`crate::docker::runtime`] carries out
//! its effects with real containers and scales wall time to scenario time (`--time-scale`).
//! Task state changes are printed as they happen, with a running cost per mode; at the end the
//! report has the same shape (and JSON schema) as `berth simulate`'s, plus `measured` (real CPU
//! and memory, and a right-sizing hint) and `stood_in` (images the workload image replaced).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde_json::json;
use tokio::sync::watch;

use crate::cli::simulate::{Format, ModeArg};
use crate::cluster::Cluster;
use crate::docker::runtime::{self, Engines, RunResult, RuntimeConfig, Seen};
use crate::docker::{cleanup, image, script};
use crate::engine::{ContainerStatus, Engine, EngineConfig, Event, Mode, TaskId};
use crate::live::model::LiveEvent;
use crate::live::sim_source::{side_of, LiveCollector};
use crate::money::{format_usd, Usd};
use crate::pricing::Catalog;
use crate::report::{Accounting, ModeReport, PriceContext, Report, ScenarioInfo};
use crate::scenario::Scenario;
use crate::taskdef::fargate;
use crate::taskdef::model::TaskDefinition;
use crate::time::{SimDuration, SimTime};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The cluster file (default: the scenario's `cluster`).
    #[arg(long)]
    pub cluster: Option<PathBuf>,
    /// Which mode(s) to run (both run side by side).
    #[arg(long, value_enum, default_value = "both")]
    pub mode: ModeArg,
    /// Scenario seconds per real second (60: an hour of scenario in a minute); from 0.001 to
    /// 100000.
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    pub time_scale: f64,
    /// Run berth's workload image in place of images that are not present locally.
    #[arg(long)]
    pub stand_in: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// A price file that overrides or extends the built-in catalog.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// No live lines, only the report.
    #[arg(long)]
    pub quiet: bool,
    /// Play only the first part of the scenario, e.g. `--duration 1d` of a 30-day scenario
    /// (costs are then for that part); more than 0, at most 100 years.
    #[arg(long, value_parser = parse_duration_arg)]
    pub duration: Option<SimDuration>,
    /// Seed for placement and random runtimes (default: the scenario's, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The default Docker engine (default: DOCKER_HOST or the local socket); host groups may
    /// name their own with `docker = "..."` in the cluster file.
    #[arg(long = "docker", value_name = "ENDPOINT")]
    pub endpoint: Option<String>,
    /// Also write the full report (JSON, with the measured usage) to this file for
    /// `berth report`.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Also write a self-contained HTML report with charts to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Watch the run in a full-screen terminal view; quitting it (q) stops the run cleanly,
    /// as Ctrl-C does.
    #[arg(long)]
    pub watch: bool,
}

/// The slowest accepted `--time-scale`: a thousand wall seconds per scenario second. Below
/// that, wall deadlines of long scenarios leave what `Instant` and tokio's timers can hold
/// (`--time-scale 1e-20` used to panic in the runtime's clock).
pub const TIME_SCALE_MIN: f64 = 0.001;
/// The fastest accepted `--time-scale`: 100000 scenario seconds per wall second (a month in
/// 26 s). Above that one Docker container start (0.15–0.3 s of wall time) is more than a
/// scenario hour, and scenario time moves by 100 s per wall millisecond.
pub const TIME_SCALE_MAX: f64 = 100_000.0;
/// The longest accepted `--duration`: a scenario's longest, 100 years of scenario time.
pub const DURATION_MAX: SimDuration = crate::scenario::limits::MAX_DURATION;

/// `--time-scale`: a finite number in [[`TIME_SCALE_MIN`], [`TIME_SCALE_MAX`]].
fn parse_time_scale(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("expected a number, got `{s}`"))?;
    if !v.is_finite() || !(TIME_SCALE_MIN..=TIME_SCALE_MAX).contains(&v) {
        return Err(format!(
            "expected a number from {TIME_SCALE_MIN} to {TIME_SCALE_MAX} (scenario seconds per wall second), got {s}"
        ));
    }
    Ok(v)
}

/// `--duration`: a duration (`90s`, `1d`, `2h30m`) above zero and at most [`DURATION_MAX`].
fn parse_duration_arg(s: &str) -> Result<SimDuration, String> {
    let d = crate::time::parse_duration(s).map_err(|e| e.to_string())?;
    if d.0 == 0 {
        return Err(format!("expected a duration above 0, got {s}"));
    }
    if d > DURATION_MAX {
        return Err(format!(
            "{d} is longer than the limit of {DURATION_MAX} (100 years): {}",
            crate::scenario::limits::DURATION_WHY
        ));
    }
    Ok(d)
}

/// Checks, before anything is created, that every output path can be written: the directory
/// exists, the path is not a directory, and a file there can be opened for writing. A new file
/// is created and removed again; an existing one is opened without truncating it, so a run
/// that then fails leaves what was there.
fn check_output_paths(paths: &[(&str, &Option<PathBuf>)]) -> anyhow::Result<()> {
    let mut seen: Vec<(&str, &PathBuf)> = Vec::new();
    for (flag, path) in paths {
        let Some(path) = path else { continue };
        if let Some((other, _)) = seen.iter().find(|(_, p)| *p == path) {
            anyhow::bail!(
                "{flag} {}: the same file as {other}; give each output its own file",
                path.display()
            );
        }
        seen.push((flag, path));
        check_writable(path).map_err(|why| {
            anyhow::anyhow!("{flag} {}: cannot write the report there: {why}", path.display())
        })?;
    }
    Ok(())
}

fn check_writable(path: &std::path::Path) -> Result<(), String> {
    if path.is_dir() {
        return Err("it is a directory; name a file".into());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!("the directory {} does not exist", parent.display()));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| e.to_string())?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let modes = match args.mode {
        ModeArg::Ecs => vec![Mode::Ecs],
        ModeArg::Fargate => vec![Mode::Fargate],
        ModeArg::Both => vec![Mode::Ecs, Mode::Fargate],
    };
    // Also for callers that build `Args` without clap's parser.
    parse_time_scale(&args.time_scale.to_string())
        .map_err(|e| anyhow::anyhow!("--time-scale: {e}"))?;
    check_output_paths(&[("--save", &args.save), ("--html", &args.html)])?;
    // The same loading as `berth simulate` (limits, a missing file at the scenario's line),
    // all before Docker is contacted.
    let loaded =
        crate::cli::simulate::load(&args.scenario, args.cluster.as_deref(), args.prices.as_deref())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sc = crate::scenario::Scenario::clone(&loaded.scenario);
    if let Some(d) = args.duration {
        crate::scenario::limits::check_duration(&sc, d)
            .map_err(|e| anyhow::anyhow!("--duration: {e}"))?;
        sc.duration = d;
    }
    let (cluster, catalog) = (loaded.cluster, loaded.catalog);
    let defs = Vec::clone(&loaded.task_defs);
    let seed = args.seed.or(sc.seed).unwrap_or(1);
    let (stop_tx, stop_rx) = watch::channel(false);
    if args.watch {
        return run_watched(args, sc, cluster, catalog, defs, modes, seed, (stop_tx, stop_rx));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (code, text) = rt.block_on(run_async(
        args,
        sc,
        cluster,
        catalog,
        defs,
        modes,
        seed,
        (stop_tx, stop_rx),
        None,
    ))?;
    print_report(&text);
    Ok(code)
}

/// Stop signal for the runtime: `true` asks every task to stop and everything to be removed.
type Stop = (watch::Sender<bool>, watch::Receiver<bool>);

/// `--watch`: the run goes on in a background thread while the live view owns the terminal;
/// quitting the view stops the run the way Ctrl-C does, and the report is printed afterwards.
#[allow(clippy::too_many_arguments)]
fn run_watched(
    args: Args,
    sc: Scenario,
    cluster: Arc<Cluster>,
    catalog: Arc<Catalog>,
    defs: Vec<TaskDefinition>,
    modes: Vec<Mode>,
    seed: u64,
    stop: Stop,
) -> anyhow::Result<ExitCode> {
    use crate::live::term::{self, LiveSource};
    if !term::available() {
        anyhow::bail!("--watch needs a terminal (stdin and stdout must be a TTY); drop --watch to see live lines");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let title = sc.name.clone();
    let scale = args.time_scale;
    let end = SimTime(sc.duration.0);
    let model = crate::live::initial_model(
        &cluster,
        modes.contains(&Mode::Ecs),
        &title,
        end,
        args.time_scale,
    );
    let stop_tx = stop.0.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done2 = done.clone();
    let worker = std::thread::spawn(move || -> anyhow::Result<(ExitCode, String)> {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let r =
            rt.block_on(run_async(args, sc, cluster, catalog, defs, modes, seed, stop, Some(tx)));
        done2.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    });

    /// The run as seen by the view: events arrive over the channel; time is the runtime's.
    struct RunSource {
        rx: std::sync::mpsc::Receiver<(SimTime, LiveEvent)>,
        done: Arc<std::sync::atomic::AtomicBool>,
        scale: f64,
        /// When the first event of the run arrived, and its scenario time: the runtime's clock
        /// starts after connecting and building the image, so the view's own clock cannot be
        /// used; from here on, scenario time moves with wall time × scale.
        base: Option<(std::time::Instant, SimTime)>,
    }
    impl LiveSource for RunSource {
        fn advance(&mut self, _to: SimTime, model: &mut crate::live::model::LiveModel) -> SimTime {
            while let Ok((at, ev)) = self.rx.try_recv() {
                if self.base.is_none() && at > SimTime::ZERO {
                    self.base = Some((std::time::Instant::now(), at));
                }
                model.apply(at, ev);
            }
            match self.base {
                Some((wall, at)) => {
                    let ms = wall.elapsed().as_secs_f64() * 1000.0 * self.scale;
                    SimTime(at.0 + ms as u64).min(model.end)
                }
                None => SimTime::ZERO,
            }
        }
        fn finished(&self) -> bool {
            self.done.load(std::sync::atomic::Ordering::SeqCst)
        }
        fn speed_adjustable(&self) -> bool {
            false
        }
    }
    let mut source = RunSource { rx, done, scale, base: None };
    let view = term::run(&mut source, model);
    // Whatever ended the view, the run must end cleanly before the report.
    let _ = stop_tx.send(true);
    let (code, text) =
        worker.join().map_err(|_| anyhow::anyhow!("the run's thread panicked"))??;
    view?;
    print_report(&text);
    Ok(code)
}

/// Which signal interrupted the run (0: none yet), shared by the watcher and the report.
#[derive(Default)]
struct SignalState {
    first: std::sync::atomic::AtomicI32,
}

impl SignalState {
    /// `SIGINT`, `SIGTERM`, `SIGHUP`, or why else the run stopped early.
    fn cause(&self) -> &'static str {
        match self.first.load(std::sync::atomic::Ordering::SeqCst) {
            SIGINT => "SIGINT (Ctrl-C)",
            SIGTERM => "SIGTERM",
            SIGHUP => "SIGHUP",
            _ => "the live view closed",
        }
    }
    /// 128 + the signal's number, as a shell reports a process the signal ended; 130 when the
    /// live view was closed (as for Ctrl-C).
    fn exit_code(&self) -> u8 {
        match self.first.load(std::sync::atomic::Ordering::SeqCst) {
            0 => 130,
            n => 128 + n as u8,
        }
    }
}

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Handles SIGINT, SIGTERM and SIGHUP alike: the first asks the runtime to stop gracefully
/// (`stop`: tasks get SIGTERM, then everything is removed and the report is written); the
/// second asks it to hurry (`force`: SIGKILL instead of waiting for `stopTimeout`). Later ones
/// only say that cleanup is under way: berth never abandons its cleanup, because what it
/// leaves behind keeps running (and costing) on the engine.
fn watch_signals(
    stop: watch::Sender<bool>,
    force: watch::Sender<bool>,
    state: Arc<SignalState>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    tokio::spawn(async move {
        for n in 0u32.. {
            let (num, name) = tokio::select! {
                _ = int.recv() => (SIGINT, "SIGINT"),
                _ = term.recv() => (SIGTERM, "SIGTERM"),
                _ = hup.recv() => (SIGHUP, "SIGHUP"),
            };
            tracing::info!(signal = name, count = n + 1, "signal received");
            match n {
                0 => {
                    state.first.store(num, std::sync::atomic::Ordering::SeqCst);
                    say(&format!("\n{name}: stopping: tasks get SIGTERM, then everything berth created is removed (send it again to kill the containers at once)"));
                    let _ = stop.send(true);
                }
                1 => {
                    say(&format!("\n{name} again: killing the containers now (SIGKILL); removing everything berth created"));
                    let _ = force.send(true);
                }
                _ => {
                    say(&format!("\n{name}: still removing what berth created; it ends by itself"))
                }
            }
        }
    });
    Ok(())
}

/// The report on stdout; a terminal that has gone away (SIGHUP) loses it, which is not a
/// reason to panic (`--save` still has it).
fn print_report(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A line on stderr that cannot panic: after SIGHUP the terminal may be gone (EIO).
fn say(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// A line on stdout that cannot panic (`println!` panics when the terminal has gone away).
fn out_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// The running cost of each mode, for the live lines.
#[derive(Default)]
struct LiveCost {
    by_mode: BTreeMap<Mode, Usd>,
}

#[allow(clippy::too_many_arguments)]
async fn run_async(
    args: Args,
    sc: Scenario,
    cluster: Arc<Cluster>,
    catalog: Arc<Catalog>,
    defs: Vec<TaskDefinition>,
    modes: Vec<Mode>,
    seed: u64,
    (stop_tx, stop_rx): Stop,
    view: Option<std::sync::mpsc::Sender<(SimTime, LiveEvent)>>,
) -> anyhow::Result<(ExitCode, String)> {
    // With the live view on the terminal, notes go to its event log instead of stderr.
    let notice = |msg: String| match &view {
        Some(tx) => {
            let _ = tx.send((SimTime::ZERO, LiveEvent::Log(msg)));
        }
        None => eprintln!("{msg}"),
    };
    // Signals first: a SIGTERM while connecting or building the image must not kill berth
    // with the default action once containers exist.
    let (force_tx, force_rx) = watch::channel(false);
    let signals = Arc::new(SignalState::default());
    watch_signals(stop_tx, force_tx, signals.clone())?;
    let engines = Engines::connect(args.endpoint.as_deref(), &cluster).await?;
    // Leftovers are only a dead run's objects; a run that is alive is another user of the
    // engine, not something to clean up.
    for c in engines.all() {
        let (found, live) = cleanup::find(&c, None, false).await?.split_live();
        if !found.is_empty() {
            notice(format!(
                "note: {} has {} container(s) and {} network(s) left by berth runs that are no longer running ({}); `berth cleanup` removes them",
                c.endpoint(),
                found.containers.len(),
                found.networks.len(),
                found.runs().join(", ")
            ));
        }
        for (run, state) in live {
            tracing::info!(endpoint = c.endpoint(), %run, state = %state.describe(), "another berth run uses this engine");
        }
    }
    let outcomes = image::load_into_all(&engines.all()).await?;
    if !args.quiet && outcomes.iter().any(|o| o.built) {
        notice(format!(
            "built {} on {} engine(s)",
            image::WORKLOAD_IMAGE,
            outcomes.iter().filter(|o| o.built).count()
        ));
    }

    let run_id = crate::docker::new_run_id();
    // Held until this function returns: the proof, for other berth processes, that this run
    // is alive (see `docker::liveness`).
    let _lock = crate::docker::liveness::RunLock::acquire(&run_id).with_context(|| {
        format!(
            "cannot take the run lock in {}; set BERTH_RUN_DIR to a writable directory",
            crate::docker::liveness::lock_dir().display()
        )
    })?;
    if !args.quiet {
        notice(format!(
            "berth run {}: run {run_id}, {} at time scale {} (scenario {} in {:.0} s), mode {}",
            sc.name,
            cluster.name,
            args.time_scale,
            sc.duration,
            sc.duration.as_secs_f64() / args.time_scale,
            format!("{:?}", args.mode).to_lowercase()
        ));
    }

    let live = Arc::new(Mutex::new(LiveCost::default()));
    let px = PriceContext { cluster: cluster.clone(), catalog: catalog.clone() };
    let mut runs = Vec::new();
    for &mode in &modes {
        let config = EngineConfig {
            stopped_retention: SimDuration::from_secs(u64::MAX / 4000),
            container_events: true,
        };
        let mut engine = Engine::with_config(cluster.clone(), mode, seed, config);
        let ids: Vec<_> = defs.iter().map(|d| engine.register(d.clone())).collect();
        let mut player = script::Player::new(&sc, &ids, seed);
        let mut cfg = RuntimeConfig::new(run_id.clone(), args.time_scale);
        cfg.stand_in = args.stand_in;
        cfg.until = Some(SimTime(sc.duration.0));
        cfg.force = Some(force_rx.clone());
        let acc = Arc::new(Mutex::new(Accounting::new(mode, &cluster, sc.duration)));
        let observer = Observer::new(
            mode,
            px.clone(),
            acc.clone(),
            live.clone(),
            args.quiet || args.format == Format::Json || view.is_some(),
            SimTime(sc.duration.0),
            view.clone(),
        );
        let engines = engines.clone();
        let stop = stop_rx.clone();
        runs.push(async move {
            let mut observer = observer;
            let r = runtime::run(engine, &mut player, engines, cfg, stop, move |seen, engine| {
                observer.see(seen, engine)
            })
            .await;
            (mode, acc, r, player)
        });
    }
    let results = futures_util::future::join_all(runs).await;

    let mut mode_reports = Vec::new();
    let mut extra = serde_json::Map::new();
    let mut measured_json = serde_json::Map::new();
    // Real Docker latency, apart from the bill (`report::overhead`).
    let mut overhead_json = serde_json::Map::new();
    let mut overhead_text = String::new();
    let mut stood_in: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut interrupted = false;
    let mut unreachable: Vec<String> = Vec::new();
    let mut interrupted_at: Option<SimTime> = None;
    let mut interrupted_by_mode = serde_json::Map::new();
    let mut text_extra = String::new();
    for (mode, acc, r, player) in results {
        let r = r?;
        interrupted |= r.interrupted;
        unreachable.extend(r.unreachable.iter().cloned());
        for e in &r.errors {
            notice(format!("warning ({mode}): {e}"));
        }
        let acc = Arc::try_unwrap(acc)
            .map(|m| m.into_inner().expect("accounting lock"))
            .unwrap_or_else(|a| a.lock().expect("lock").clone());
        let mut report: ModeReport = acc.finish(&r.engine, &px);
        for (j, n) in player.skipped.iter().enumerate().filter(|(_, n)| **n > 0) {
            report.notes.push(format!(
                "job {}: {n} run(s) skipped because a job it waits for failed",
                sc.jobs[j].name
            ));
        }
        if let Some(at) = r.interrupted_at {
            report.notes.push(format!(
                "interrupted ({}) at scenario time {at}: costs cover the {at} that ran",
                signals.cause()
            ));
            interrupted_at = interrupted_at.max(Some(at));
            // Each mode's scenario clock has its own time (it waits for Docker separately).
            interrupted_by_mode.insert(mode.as_str().to_string(), json!(at.0 as f64 / 1000.0));
        }
        for (img, fams) in &r.stood_in {
            stood_in.entry(img.clone()).or_default().extend(fams.iter().cloned());
        }
        let m = measured(&r, &cluster);
        text_extra.push_str(&measured_text(mode, &m));
        measured_json.insert(mode.as_str().to_string(), m);
        let o = crate::report::overhead::Overhead::build(r.clock, &r.overhead, &r.engine, &px);
        overhead_text.push_str(&o.render_text(crate::report::mode_name(mode)));
        overhead_json.insert(mode.as_str().to_string(), serde_json::to_value(&o)?);
        mode_reports.push(report);
    }
    for v in stood_in.values_mut() {
        v.sort();
        v.dedup();
    }
    let info = ScenarioInfo {
        name: sc.name.clone(),
        file: args.scenario.display().to_string(),
        cluster: cluster.name.clone(),
        region: cluster.region.clone(),
        hosts: cluster.hosts.len(),
        duration: sc.duration.to_string(),
        duration_seconds: sc.duration.as_secs_f64() as u64,
        seed,
    };
    let report = Report::new(info, mode_reports, &sc.expect);
    extra.insert("run_id".into(), json!(run_id));
    extra.insert("time_scale".into(), json!(args.time_scale));
    extra.insert("interrupted".into(), json!(interrupted));
    if let Some(at) = interrupted_at {
        extra.insert("interrupted_at_seconds".into(), json!(at.0 as f64 / 1000.0));
        extra.insert("interrupted_at_seconds_by_mode".into(), json!(interrupted_by_mode));
        extra.insert("interrupted_by".into(), json!(signals.cause()));
    }
    extra.insert("measured".into(), serde_json::Value::Object(measured_json));
    extra.insert("stood_in".into(), json!(stood_in));
    extra.insert("overhead".into(), serde_json::Value::Object(overhead_json));
    let mut v = serde_json::to_value(&report)?;
    if let serde_json::Value::Object(o) = &mut v {
        o.extend(extra);
    }
    if let Some(path) = &args.save {
        std::fs::write(path, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, crate::html::report::render_with(&report, Some(&v)))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Printed by the caller, after the live view (if any) has given the terminal back.
    let mut out = String::new();
    use std::fmt::Write as _;
    if args.format == Format::Json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v)?);
    } else {
        let _ = write!(out, "{}", crate::report::render_text(&report));
        let _ =
            writeln!(out, "\nMeasured (real containers, scenario time scale {}):", args.time_scale);
        let _ = write!(out, "{text_extra}");
        let _ = writeln!(out, "\nReal overhead (Docker's own latency; not in the bill above):");
        let _ = write!(out, "{overhead_text}");
        if stood_in.is_empty() {
            let _ = writeln!(out, "\nNo image was stood in for.");
        } else {
            let _ = writeln!(
                out,
                "\nStood in for (not present locally; berth's workload image ran instead):"
            );
            for (img, fams) in &stood_in {
                let _ = writeln!(out, "  {img}  (used by {})", fams.join(", "));
            }
        }
    }
    unreachable.sort();
    unreachable.dedup();
    for ep in &unreachable {
        notice(format!(
            "error: the Docker engine at {ep} went away during the run; containers and networks of run {run_id} may be left there\n  hint: when it is back, `berth cleanup --run {run_id} --docker {ep}` removes them"
        ));
    }
    let code = if !unreachable.is_empty() {
        ExitCode::from(2)
    } else if interrupted {
        ExitCode::from(signals.exit_code())
    } else if report.failed_expectations().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    Ok((code, out))
}

/// Prints live lines (or feeds the live view) and the cost accounting.
struct Observer {
    mode: Mode,
    px: PriceContext,
    acc: Arc<Mutex<Accounting>>,
    live: Arc<Mutex<LiveCost>>,
    quiet: bool,
    /// Live view events and the cost meter (shared with the simulator's live view).
    collector: LiveCollector,
    /// With `--watch`: where the live view's events go.
    view: Option<std::sync::mpsc::Sender<(SimTime, LiveEvent)>>,
    /// The scenario's end.
    end: SimTime,
    /// The (last, desired) status last printed per live task, to skip repeats.
    printed: HashMap<TaskId, (crate::engine::TaskStatus, crate::engine::DesiredStatus)>,
}

impl Observer {
    fn new(
        mode: Mode,
        px: PriceContext,
        acc: Arc<Mutex<Accounting>>,
        live: Arc<Mutex<LiveCost>>,
        quiet: bool,
        end: SimTime,
        view: Option<std::sync::mpsc::Sender<(SimTime, LiveEvent)>>,
    ) -> Self {
        Observer {
            mode,
            px,
            acc,
            live,
            quiet,
            collector: LiveCollector::default(),
            view,
            printed: HashMap::new(),
            end,
        }
    }

    fn see(&mut self, seen: Seen<'_>, engine: &Engine) {
        let out = match seen {
            Seen::Output(out) => out,
            Seen::Interrupted { at } => {
                // The bill covers exactly the time that ran: hosts and Fargate tasks are billed
                // to `at`, not to the scenario's end, and berth's own stopping is not billed.
                self.end = self.end.min(at);
                self.acc.lock().expect("accounting lock").end_at(at);
                return;
            }
            Seen::Ports { task, container, ports } => {
                if !self.quiet {
                    let name = engine
                        .task(task)
                        .and_then(|t| engine.def(t.def).def.containers.get(usize::from(container)))
                        .map(|c| c.name.clone())
                        .unwrap_or_default();
                    let list: Vec<String> =
                        ports.iter().map(|(c, h)| format!("{c} → localhost:{h}")).collect();
                    out_line(&format!(
                        "{:>10}  {:<7} {} {name}: {}",
                        "",
                        self.mode.as_str(),
                        short(engine, task),
                        list.join(", ")
                    ));
                }
                return;
            }
        };
        // What happens after the scenario's end (berth stopping everything) is not part of the
        // scenario: the accounting closes still-running tasks at the end, as the simulator's does.
        if out.at < self.end {
            self.acc.lock().expect("accounting lock").observe(engine, out, &self.px);
        }
        let side = side_of(self.mode);
        self.collector.observe(engine, out, side, &self.px.catalog, &self.px.cluster);
        let cost = self.collector.cost_so_far(side, out.at, &self.px.cluster);
        let events = self.collector.drain();
        if let Some(tx) = &self.view {
            for e in events {
                let _ = tx.send(e);
            }
            let _ = tx.send((out.at, LiveEvent::Cost { side, usd: cost }));
        }
        let line_cost = {
            let mut live = self.live.lock().expect("live cost lock");
            live.by_mode.insert(self.mode, cost);
            live.by_mode
                .iter()
                .map(|(m, c)| format!("{m} {}", format_usd(*c)))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        if self.quiet {
            return;
        }
        for ev in &out.events {
            let line = match ev {
                Event::TaskStateChanged { task, last, desired } => {
                    let shown = (*last, *desired);
                    if self.printed.insert(*task, shown) == Some(shown) {
                        continue;
                    }
                    let t = engine.task(*task);
                    let host = t
                        .and_then(|t| t.host)
                        .and_then(|h| engine.hosts().iter().find(|s| s.id == h))
                        .map(|h| format!("  on {}", h.instance_id))
                        .unwrap_or_default();
                    let stopped = *last == crate::engine::TaskStatus::Stopped;
                    let reason = t
                        .filter(|_| stopped)
                        .and_then(|t| t.stopped_reason.as_ref())
                        .map(|r| format!("  ({r})"))
                        .unwrap_or_default();
                    let desired = if !stopped && *desired == crate::engine::DesiredStatus::Stopped {
                        " (desired STOPPED)"
                    } else {
                        ""
                    };
                    if stopped {
                        self.printed.remove(task);
                    }
                    format!("{} {last}{desired}{host}{reason}", short(engine, *task))
                }
                Event::PlacementFailed { task, reason, explanation } => {
                    format!(
                        "{} waits for capacity: {} {explanation}",
                        short(engine, *task),
                        reason.as_ecs_str()
                    )
                }
                Event::ContainerStateChanged {
                    task,
                    container,
                    status: ContainerStatus::Stopped,
                } => {
                    let Some(t) = engine.task(*task) else { continue };
                    let c = &t.containers[usize::from(*container)];
                    let name = &engine.def(t.def).def.containers[usize::from(*container)].name;
                    let why = c.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
                    match c.exit_code {
                        Some(code) => {
                            format!("{} container {name} exited {code}{why}", short(engine, *task))
                        }
                        None => continue,
                    }
                }
                Event::ServiceEvent { message, .. } => message.clone(),
                _ => continue,
            };
            out_line(&format!(
                "{:>10}  {:<7} {line}   [{line_cost}]",
                clock(out.at),
                self.mode.as_str()
            ));
        }
    }
}

/// Scenario time as `h:mm:ss.t` for live lines.
fn clock(t: SimTime) -> String {
    let ms = t.0;
    format!("{}:{:02}:{:02}.{}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms / 100 % 10)
}

/// `family:rev/abcd1234` for live lines.
fn short(engine: &Engine, task: TaskId) -> String {
    let fam =
        engine.task(task).map(|t| engine.def(t.def).def.family_revision()).unwrap_or_default();
    let hex = engine.task_hex(task);
    format!("{fam}/{}", &hex[..hex.len().min(8)])
}

/// One task's measured use: the sums over its containers (they run side by side).
#[derive(Debug, Clone, Copy, Default)]
struct TaskUse {
    mean_vcpu: f64,
    peak_vcpu: f64,
    peak_memory_bytes: u64,
}

/// The `measured` section of one mode: reserved versus used per family and per host, and a
/// right-sizing hint.
fn measured(r: &RunResult, cluster: &Cluster) -> serde_json::Value {
    let engine = &r.engine;
    // Per task: the sum over its containers (containers of a task run side by side).
    let mut per_task: BTreeMap<TaskId, TaskUse> = BTreeMap::new();
    for m in &r.measured {
        let e = per_task.entry(m.task).or_default();
        e.mean_vcpu += m.stats.mean_vcpu().unwrap_or(0.0);
        e.peak_vcpu += m.stats.peak_vcpu;
        e.peak_memory_bytes += m.stats.peak_memory_bytes;
    }
    let mut fams: BTreeMap<String, Vec<TaskUse>> = BTreeMap::new();
    for (t, v) in per_task {
        if let Some(task) = engine.task(t) {
            fams.entry(engine.def(task.def).def.family.clone()).or_default().push(v);
        }
    }
    let families: Vec<serde_json::Value> = fams
        .iter()
        .map(|(fam, tasks)| {
            let def = engine.defs().iter().find(|d| &d.def.family == fam).map(|d| &d.def);
            let (res_cpu, res_mem) = def.map(reserved).unwrap_or((0, 0));
            let n = tasks.len() as f64;
            let mean_vcpu = tasks.iter().map(|v| v.mean_vcpu).sum::<f64>() / n;
            let peak_vcpu = tasks.iter().map(|v| v.peak_vcpu).fold(0.0, f64::max);
            let peak_mib =
                tasks.iter().map(|v| v.peak_memory_bytes).max().unwrap_or(0) as f64 / 1048576.0;
            let os = def.map(|d| d.runtime_platform.os).unwrap_or(crate::taskdef::model::OsFamily::Linux);
            let need_cpu = ((peak_vcpu * 1024.0).ceil() as u32).max(1);
            let need_mem = (peak_mib.ceil() as u32).max(1);
            let hint = fargate::smallest_fitting(os, need_cpu, need_mem).map(|s| s.label());
            json!({
                "family": fam,
                "tasks": tasks.len(),
                "reserved_cpu_units": res_cpu,
                "reserved_memory_mib": res_mem,
                "mean_vcpu": round3(mean_vcpu),
                "peak_vcpu": round3(peak_vcpu),
                "peak_memory_mib": round3(peak_mib),
                "cpu_used_of_reserved": if res_cpu > 0 { json!(round3(peak_vcpu * 1024.0 / res_cpu as f64)) } else { json!(null) },
                "memory_used_of_reserved": if res_mem > 0 { json!(round3(peak_mib / res_mem as f64)) } else { json!(null) },
                "fargate_size_hint": hint,
            })
        })
        .collect();
    let hosts: Vec<serde_json::Value> = r
        .peaks
        .per_host
        .iter()
        .filter_map(|(h, (cpu, mem))| {
            let spec = cluster.hosts.iter().find(|s| s.id == *h)?;
            Some(json!({
                "host": spec.instance_id,
                "instance_type": spec.instance_type,
                "vcpu": spec.vcpu,
                "memory_mib": spec.memory_mib,
                "peak_vcpu": round3(*cpu),
                "peak_memory_mib": round3(*mem as f64 / 1048576.0),
                "used_share": used_share(&r.peaks, *h, spec),
            }))
        })
        .collect();
    // The fewest hosts of the cluster's (first) size that would have held the peak.
    let hosts_needed = cluster.hosts.first().map(|h| {
        let by_cpu = r.peaks.total_vcpu / f64::from(h.vcpu.max(1));
        let by_mem = r.peaks.total_memory_bytes as f64 / 1048576.0 / f64::from(h.memory_mib.max(1));
        by_cpu.max(by_mem).ceil().max(1.0) as u64
    });
    json!({
        "samples": r.measured.iter().map(|m| m.stats.samples).sum::<u64>(),
        "families": families,
        "hosts": hosts,
        "peak_total_vcpu": round3(r.peaks.total_vcpu),
        "peak_total_memory_mib": round3(r.peaks.total_memory_bytes as f64 / 1048576.0),
        "hosts_needed_hint": if engine.mode() == Mode::Ecs { json!(hosts_needed) } else { json!(null) },
    })
}

/// What a task reserves: task-level cpu/memory, else the containers' sums (reservation first).
fn reserved(d: &TaskDefinition) -> (u32, u32) {
    let cpu = d.cpu_units.unwrap_or_else(|| d.containers.iter().map(|c| c.cpu_units).sum());
    let mem = d.memory_mib.unwrap_or_else(|| {
        d.containers.iter().map(|c| c.memory_reservation_mib.or(c.memory_mib).unwrap_or(0)).sum()
    });
    (cpu, mem)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The host's measured use over scenario time, per report time bucket: the larger of its CPU
/// share and its memory share, averaged over the bucket's sampling rounds (empty when the run
/// kept no series).
fn used_share(
    p: &runtime::Peaks,
    host: crate::placement::HostId,
    spec: &crate::cluster::HostSpec,
) -> serde_json::Value {
    let Some(series) = p.used.get(&host) else { return json!([]) };
    let vcpu = f64::from(spec.vcpu.max(1));
    let mem = f64::from(spec.memory_mib.max(1)) * 1048576.0;
    let shares: Vec<f64> =
        series
            .iter()
            .zip(&p.rounds_per_bucket)
            .map(|((c, m), n)| {
                if *n == 0 {
                    0.0
                } else {
                    round3((c / *n as f64 / vcpu).max(m / *n as f64 / mem))
                }
            })
            .collect();
    json!(shares)
}

fn measured_text(mode: Mode, m: &serde_json::Value) -> String {
    let mut s = format!("  {}:\n", crate::report::mode_name(mode));
    let fams = m["families"].as_array().cloned().unwrap_or_default();
    if fams.is_empty() {
        s.push_str("    no samples (no container ran long enough to be measured)\n");
        return s;
    }
    for f in fams {
        s.push_str(&format!(
            "    {:<20} reserved {} CPU units / {} MiB; used peak {:.2} vCPU / {:.0} MiB (mean {:.2} vCPU){}\n",
            f["family"].as_str().unwrap_or(""),
            f["reserved_cpu_units"],
            f["reserved_memory_mib"],
            f["peak_vcpu"].as_f64().unwrap_or(0.0),
            f["peak_memory_mib"].as_f64().unwrap_or(0.0),
            f["mean_vcpu"].as_f64().unwrap_or(0.0),
            f["fargate_size_hint"].as_str().map(|h| format!("; would fit Fargate {h}")).unwrap_or_default(),
        ));
    }
    for h in m["hosts"].as_array().cloned().unwrap_or_default() {
        s.push_str(&format!(
            "    host {} ({}): peak {:.2} of {} vCPU, {:.0} of {} MiB\n",
            h["host"].as_str().unwrap_or(""),
            h["instance_type"].as_str().unwrap_or(""),
            h["peak_vcpu"].as_f64().unwrap_or(0.0),
            h["vcpu"],
            h["peak_memory_mib"].as_f64().unwrap_or(0.0),
            h["memory_mib"],
        ));
    }
    if let Some(n) = m["hosts_needed_hint"].as_u64() {
        s.push_str(&format!(
            "    what really ran would have fit on {n} host(s) of the cluster's size\n"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_scale_is_bounded() {
        assert_eq!(parse_time_scale("720"), Ok(720.0));
        assert_eq!(parse_time_scale("0.001"), Ok(0.001));
        assert_eq!(parse_time_scale("1e5"), Ok(100_000.0));
        for bad in ["1e-20", "0", "-1", "1e6", "inf", "NaN", "fast"] {
            let e = parse_time_scale(bad).unwrap_err();
            assert!(e.contains("0.001") || e.contains("expected a number"), "{bad}: {e}");
        }
    }

    #[test]
    fn duration_is_bounded() {
        assert_eq!(parse_duration_arg("1d"), Ok(SimDuration::from_secs(86_400)));
        assert!(parse_duration_arg("0s").unwrap_err().contains("above 0"));
        assert!(parse_duration_arg("36501d").unwrap_err().contains("100 years"));
        assert!(parse_duration_arg("1x").is_err());
    }

    #[test]
    fn output_paths_are_checked_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let ok = Some(dir.path().join("run.json"));
        check_output_paths(&[("--save", &ok)]).unwrap();
        assert!(!dir.path().join("run.json").exists(), "the check must leave no file behind");
        let missing = Some(dir.path().join("no/such/dir/r.html"));
        let e = check_output_paths(&[("--html", &missing)]).unwrap_err().to_string();
        assert!(e.starts_with("--html ") && e.contains("does not exist"), "{e}");
        let is_dir = Some(dir.path().to_path_buf());
        let e = check_output_paths(&[("--save", &is_dir)]).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        let e = check_output_paths(&[("--save", &ok), ("--html", &ok)]).unwrap_err().to_string();
        assert!(e.contains("the same file as --save"), "{e}");
        // An existing file is kept as it is.
        std::fs::write(dir.path().join("run.json"), "old").unwrap();
        check_output_paths(&[("--save", &ok)]).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("run.json")).unwrap(), "old");
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(SimTime(0)), "0:00:00.0");
        assert_eq!(clock(SimTime(3_723_450)), "1:02:03.4");
    }

    #[test]
    fn reserved_prefers_task_level() {
        let mut d: TaskDefinition = serde_json::from_value(json!({
            "family": "f", "revision": null, "task_role_arn": null, "execution_role_arn": null,
            "network_mode": "awsvpc", "requires_compatibilities": [], "cpu_units": 512, "memory_mib": 1024,
            "runtime_platform": {"os": "linux", "arch": "x86_64"}, "ephemeral_storage_gib": null,
            "placement_constraints": [], "pid_mode": null, "ipc_mode": null, "containers": [],
            "volumes": [], "tags": []
        }))
        .unwrap();
        assert_eq!(reserved(&d), (512, 1024));
        d.cpu_units = None;
        d.memory_mib = None;
        assert_eq!(reserved(&d), (0, 0));
    }
}
