//! `berth simulate SCENARIO`: runs a scenario on the simulator in ECS and/or Fargate mode and
//! prints the cost report.
//!
//! Exit codes: 0 fine; 1 an `[expect]` check failed (saying which and by how much); 2 a file
//! could not be read or is invalid (file, line, column and key).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cluster::Cluster;
use crate::diag::{Diagnostic, FileError, Pos};
use crate::engine::Mode;
use crate::pricing::Catalog;
use crate::report::{render_text, Report, ScenarioInfo};
use crate::scenario::Scenario;
use crate::sim::{simulate, SimSetup};
use crate::taskdef::model::TaskDefinition;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeArg {
    Ecs,
    Fargate,
    Both,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file (see docs/scenario-files.md).
    pub scenario: PathBuf,
    /// Cluster file to use instead of the scenario's `cluster`.
    #[arg(long)]
    pub cluster: Option<PathBuf>,
    /// Which mode(s) to simulate.
    #[arg(long, value_enum, default_value = "both")]
    pub mode: ModeArg,
    /// Seed for random placement, arrivals and run times (default: the scenario's `seed`, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// A price file that overrides or extends the built-in catalog.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// No progress indicator.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also write the full report (JSON, with the chart series) to this file for `berth report`.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Also write a self-contained HTML report with charts to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Skip the break-even runs (the workload at 0.25× to 4×) that `--html` and `--save` add.
    #[arg(long)]
    pub no_breakeven: bool,
    /// Watch the run in a full-screen terminal view (space pauses, +/- change speed, q quits).
    #[arg(long)]
    pub watch: bool,
    /// With --watch: scenario seconds per real second (default: the whole run in one minute).
    #[arg(long, requires = "watch")]
    pub speed: Option<f64>,
}

/// A scenario with everything it refers to loaded.
pub struct Loaded {
    pub scenario: Arc<Scenario>,
    pub task_defs: Arc<Vec<TaskDefinition>>,
    pub cluster: Arc<Cluster>,
    pub cluster_file: PathBuf,
    pub catalog: Arc<Catalog>,
}

/// Reads the scenario, its cluster (or `cluster_override`), its task definitions and the prices.
///
/// A cluster or task definition file the scenario names that cannot be read is reported at the
/// scenario's line that names it (all of them at once), before anything is parsed further.
pub fn load(
    scenario: &Path,
    cluster_override: Option<&Path>,
    prices: Option<&Path>,
) -> Result<Loaded, FileError> {
    let (mut sc, refs) = crate::scenario::load_located(scenario)?;
    let mut catalog = Catalog::builtin();
    if let Some(p) = prices {
        catalog = catalog.with_overrides(p)?;
    }
    let cluster_file = match (cluster_override, &sc.cluster) {
        (Some(c), _) => c.to_path_buf(),
        (None, Some(c)) => c.clone(),
        (None, None) => {
            return Err(FileError::single(
                scenario,
                Diagnostic::error(
                    "cluster",
                    Pos { line: 1, column: 1 },
                    "the scenario names no cluster",
                )
                .with_hint("add `cluster = \"../clusters/laptop.toml\"` or pass --cluster FILE"),
            ))
        }
    };
    let mut missing = Vec::new();
    if cluster_override.is_none() {
        if let Some((key, pos)) = &refs.cluster {
            missing.extend(unreadable(key, *pos, &cluster_file));
        }
    }
    for (p, (key, pos)) in sc.task_defs.iter().zip(&refs.task_defs) {
        missing.extend(unreadable(key, *pos, p));
    }
    if !missing.is_empty() {
        return Err(FileError::new(scenario, missing));
    }
    let cluster = crate::cluster::load_with(&cluster_file, &catalog)?;
    let mut defs = Vec::with_capacity(sc.task_defs.len());
    for p in &sc.task_defs {
        let (def, _warnings) = crate::taskdef::load(p)?;
        defs.push(def);
    }
    crate::scenario::resolve_job_containers(&mut sc, &defs)?;
    Ok(Loaded {
        scenario: Arc::new(sc),
        task_defs: Arc::new(defs),
        cluster: Arc::new(cluster),
        cluster_file,
        catalog: Arc::new(catalog),
    })
}

/// An error at the scenario's `key` (at `pos`) if the file it names cannot be opened, with the
/// closest file of the same kind in that directory as a hint.
fn unreadable(key: &str, pos: Pos, path: &Path) -> Option<Diagnostic> {
    let err = std::fs::File::open(path).and_then(|f| f.metadata()).and_then(|m| {
        if m.is_dir() {
            Err(std::io::Error::other("it is a directory"))
        } else {
            Ok(())
        }
    });
    let e = err.err()?;
    let why = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => e.to_string(),
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let ext = path.extension();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let siblings: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension() == ext)
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let hint = match crate::diag::closest(&name, siblings.iter().map(String::as_str)) {
        Some(c) => format!(
            "did you mean {:?}? (paths are relative to the scenario file)",
            path.with_file_name(c).display().to_string()
        ),
        None => "paths in a scenario are relative to the scenario file".to_string(),
    };
    Some(
        Diagnostic::error(key, pos, format!("cannot read {}: {why}", path.display()))
            .with_hint(hint),
    )
}

/// Simulates the given modes (in parallel, one thread each) and builds the report.
/// `progress` receives the overall fraction done.
pub fn run_modes(
    l: &Loaded,
    modes: &[Mode],
    seed: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> (Report, u64) {
    let done: Vec<AtomicU64> = modes.iter().map(|_| AtomicU64::new(0)).collect();
    let results: Vec<(crate::report::ModeReport, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = modes
            .iter()
            .enumerate()
            .map(|(i, &mode)| {
                let setup = setup(l, mode, seed);
                let done = &done;
                scope.spawn(move || {
                    simulate(setup, &mut |f| {
                        done[i].store((f * 1e6) as u64, Ordering::Relaxed);
                        let total: u64 = done.iter().map(|d| d.load(Ordering::Relaxed)).sum();
                        progress(total as f64 / 1e6 / done.len() as f64);
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("simulation thread")).collect()
    });
    let events = results.iter().map(|(_, e)| e).sum();
    let report = Report::new(
        scenario_info(l, seed),
        results.into_iter().map(|(r, _)| r).collect(),
        &l.scenario.expect,
    );
    (report, events)
}

/// What the report says about the run itself.
pub fn scenario_info(l: &Loaded, seed: u64) -> ScenarioInfo {
    ScenarioInfo {
        name: l.scenario.name.clone(),
        file: l.scenario.file.display().to_string(),
        cluster: l.cluster.name.clone(),
        region: l.cluster.region.clone(),
        hosts: l.cluster.hosts.len(),
        duration: l.scenario.duration.to_string(),
        duration_seconds: l.scenario.duration.0 / 1000,
        seed,
    }
}

/// The setup of one mode's simulator.
pub fn setup(l: &Loaded, mode: Mode, seed: u64) -> SimSetup {
    SimSetup {
        scenario: l.scenario.clone(),
        task_defs: l.task_defs.clone(),
        cluster: l.cluster.clone(),
        catalog: l.catalog.clone(),
        mode,
        seed,
    }
}

/// Runs the modes under the live view. `None` when the user quit before the end.
fn watch(
    l: &Loaded,
    modes: &[Mode],
    seed: u64,
    speed: Option<f64>,
) -> anyhow::Result<Option<Report>> {
    use crate::live::{sim_source::SimSource, term};
    if !term::available() {
        anyhow::bail!("--watch needs a terminal (stdin and stdout must be a TTY); drop --watch to print the report");
    }
    let mut source = SimSource::new(modes.iter().map(|m| setup(l, *m, seed)).collect());
    let end = source.end();
    let speed = speed.unwrap_or((end.0 as f64 / 1000.0 / 60.0).max(1.0));
    let model = source.initial_model(&l.scenario.name, speed);
    let (how, model) = term::run(&mut source, model)?;
    if how == term::ViewEnd::Quit && !model.finished {
        eprintln!(
            "live view closed at {} of {}; the run did not finish, so there is no report",
            model.clock, model.end
        );
        return Ok(None);
    }
    let reports = source.into_sims().into_iter().map(|s| s.finish()).collect();
    Ok(Some(Report::new(scenario_info(l, seed), reports, &l.scenario.expect)))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = match load(&args.scenario, args.cluster.as_deref(), args.prices.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let seed = args.seed.or(loaded.scenario.seed).unwrap_or(1);
    let modes: Vec<Mode> = match args.mode {
        ModeArg::Ecs => vec![Mode::Ecs],
        ModeArg::Fargate => vec![Mode::Fargate],
        ModeArg::Both => vec![Mode::Ecs, Mode::Fargate],
    };

    // The bar appears only once a run has taken more than a second, on a terminal.
    let show = !args.quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("simulating {msg} [{bar:30}] {percent}% ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(loaded.scenario.name.clone());
    let started = Instant::now();
    let shown = std::sync::atomic::AtomicBool::new(false);
    let progress = |f: f64| {
        if !show {
            return;
        }
        if !shown.load(Ordering::Relaxed) && started.elapsed() > Duration::from_secs(1) {
            shown.store(true, Ordering::Relaxed);
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_position((f * 1000.0) as u64);
    };
    let mut report = if args.watch {
        match watch(&loaded, &modes, seed, args.speed)? {
            Some(r) => r,
            None => return Ok(ExitCode::SUCCESS),
        }
    } else {
        let (report, events) = run_modes(&loaded, &modes, seed, &progress);
        bar.finish_and_clear();
        tracing::info!(events, seconds = started.elapsed().as_secs_f64(), "simulated");
        report
    };

    let wants_breakeven = (args.html.is_some() || args.save.is_some()) && !args.no_breakeven;
    if wants_breakeven && modes.len() == 2 {
        let t = Instant::now();
        report.breakeven = Some(crate::breakeven::compute(
            &setup(&loaded, Mode::Ecs, seed),
            crate::breakeven::SCALES,
        ));
        tracing::info!(seconds = t.elapsed().as_secs_f64(), "break-even runs");
    }
    let json = report.to_json();
    if let Some(path) = &args.save {
        std::fs::write(path, &json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, crate::html::report::render(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let text = match args.format {
        Format::Text => render_text(&report),
        Format::Json => json + "\n",
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    let failed: Vec<_> = report.failed_expectations().collect();
    if !failed.is_empty() {
        for f in &failed {
            eprintln!("expectation failed: {}: {}", f.name, f.detail);
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
