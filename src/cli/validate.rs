//! `berth validate`: checks task definition files the way ECS would and says where each problem
//! is. It also checks cluster and scenario files (`.toml`): a scenario with everything it names
//! (its cluster and task definitions), as `berth simulate` loads it but without running it, so
//! the size limits and a malformed `docker` endpoint are caught here too.
//!
//! Text output is one line per problem in the compiler style editors understand
//! (`FILE:LINE:COL: error: PATH: MESSAGE`, then an indented `hint:`), then one summary line per
//! file. JSON output is an array with one object per file. Exit code: 0 when every file is
//! valid, 1 when any is invalid, 2 when a file cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::taskdef;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::cli::validate::Format,
    /// Task definition files (register-task-definition input or describe-task-definition output),
    /// cluster files or scenario files (`.toml`).
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// The verdict on one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    pub ok: bool,
    /// The family, when the file got far enough to have one.
    pub family: Option<String>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// The file could not be read at all (exit code 2).
    #[serde(skip)]
    pub io_error: bool,
    /// A one-line description of a valid definition (for the text summary).
    #[serde(skip)]
    pub summary: Option<String>,
}

/// Checks one file: TOML files as cluster or scenario files, anything else as a task definition.
/// A scenario whose cluster or task definition is invalid also gets a report for that file.
pub fn check_path(path: &Path) -> Vec<FileReport> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
        check_toml(path)
    } else {
        vec![check_file(path)]
    }
}

/// What kind of TOML file berth was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TomlKind {
    Cluster,
    Scenario,
    /// A `--prices` file: `[[ec2]]`, `[[fargate]]` (an array, where a cluster has a table),
    /// `[[fargate_storage]]`, `[billing]`.
    Prices,
}

/// A scenario has `duration` (and jobs or services); a cluster has `region` (and hosts).
/// `None` when the top-level keys say neither, or the text is not TOML at all.
fn toml_kind(text: &str) -> Option<TomlKind> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let has = |k: &str| table.contains_key(k);
    if has("duration") || has("tasks") || has("services") || has("expect") {
        Some(TomlKind::Scenario)
    } else if has("ec2")
        || has("billing")
        || has("fargate_storage")
        || table.get("fargate").is_some_and(|f| f.is_array())
    {
        Some(TomlKind::Prices)
    } else if has("region") || has("hosts") || has("ecs") || has("fargate") {
        Some(TomlKind::Cluster)
    } else {
        None
    }
}

fn failed(file: &Path, errors: Vec<Diagnostic>, io_error: bool) -> FileReport {
    FileReport {
        file: file.to_path_buf(),
        ok: false,
        family: None,
        errors,
        warnings: vec![],
        io_error,
        summary: None,
    }
}

fn passed(file: &Path, summary: String) -> FileReport {
    FileReport {
        file: file.to_path_buf(),
        ok: true,
        family: None,
        errors: vec![],
        warnings: vec![],
        io_error: false,
        summary: Some(summary),
    }
}

/// Checks a cluster or scenario file.
fn check_toml(path: &Path) -> Vec<FileReport> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let fe = crate::diag::FileError::io(path, &e);
            let io = e.kind() != std::io::ErrorKind::InvalidData;
            return vec![failed(path, fe.diagnostics, io)];
        }
    };
    // Text that is not TOML gets its syntax error from whichever parser it most looks like.
    let kind = toml_kind(&text).unwrap_or(if text.contains("duration") {
        TomlKind::Scenario
    } else {
        TomlKind::Cluster
    });
    match kind {
        TomlKind::Cluster => {
            match crate::cluster::parse_str(path, &text, &crate::pricing::Catalog::builtin()) {
                Ok(c) => vec![passed(
                    path,
                    format!("cluster {}, {} hosts in {}", c.name, c.hosts.len(), c.region),
                )],
                Err(fe) => vec![failed(path, fe.diagnostics, false)],
            }
        }
        TomlKind::Scenario => check_scenario(path),
        TomlKind::Prices => {
            match crate::pricing::parse_price_file(path, &text, crate::pricing::Catalog::builtin())
            {
                Ok(_) => vec![passed(path, "price file".to_string())],
                Err(fe) => vec![failed(path, fe.diagnostics, false)],
            }
        }
    }
}

/// Loads a scenario with its cluster and task definitions, as `berth simulate` does. An error in
/// a file it names is reported in that file, and at the scenario's line that names it.
fn check_scenario(path: &Path) -> Vec<FileReport> {
    let (sc, refs) = match crate::scenario::load_located(path) {
        Ok(x) => x,
        Err(fe) => return vec![failed(path, fe.diagnostics, false)],
    };
    match crate::cli::simulate::load(path, None, None) {
        Ok(l) => {
            let sc = &l.scenario;
            vec![passed(
                path,
                format!(
                    "scenario {:?}, {}, {} job{}, {} service{}, cluster {} ({} hosts)",
                    sc.name,
                    sc.duration,
                    sc.jobs.len(),
                    if sc.jobs.len() == 1 { "" } else { "s" },
                    sc.services.len(),
                    if sc.services.len() == 1 { "" } else { "s" },
                    l.cluster.name,
                    l.cluster.hosts.len()
                ),
            )]
        }
        Err(fe) if fe.file == path => vec![failed(path, fe.diagnostics, false)],
        Err(fe) => {
            // The error is in a file the scenario names: say so at the scenario's line too.
            let named =
                sc.cluster.as_ref().filter(|c| **c == fe.file).and(refs.cluster.clone()).or_else(
                    || {
                        sc.task_defs
                            .iter()
                            .position(|t| *t == fe.file)
                            .map(|i| refs.task_defs[i].clone())
                    },
                );
            let (key, pos) = named.unwrap_or(("".into(), crate::diag::Pos { line: 1, column: 1 }));
            let n = fe.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
            let note = Diagnostic::error(
                key,
                pos,
                format!(
                    "{} is invalid ({n} error{})",
                    fe.file.display(),
                    if n == 1 { "" } else { "s" }
                ),
            );
            let (errors, warnings) =
                fe.diagnostics.into_iter().partition(|d| d.severity == Severity::Error);
            let mut named_report = failed(&fe.file, errors, false);
            named_report.warnings = warnings;
            vec![named_report, failed(path, vec![note], false)]
        }
    }
}

/// Checks one task definition file.
pub fn check_file(path: &Path) -> FileReport {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            let fe = crate::diag::FileError::io(path, &e);
            return FileReport {
                file: path.to_path_buf(),
                ok: false,
                family: None,
                errors: fe.diagnostics,
                warnings: vec![],
                io_error: true,
                summary: None,
            };
        }
    };
    match String::from_utf8(text) {
        Ok(text) => check_text(path, &text),
        Err(_) => {
            // `load` reports the offending byte's position.
            let errors = taskdef::load(path).err().map(|e| e.diagnostics).unwrap_or_default();
            FileReport {
                file: path.to_path_buf(),
                ok: false,
                family: None,
                errors,
                warnings: vec![],
                io_error: false,
                summary: None,
            }
        }
    }
}

/// Checks task definition text labelled `path`.
pub fn check_text(path: &Path, text: &str) -> FileReport {
    let parsed = taskdef::parse_document(text);
    let ok = parsed.ok();
    // A file that stopped before the model still names its family when it has a string one.
    let family = parsed
        .definition
        .as_ref()
        .map(|d| d.family.clone())
        .or_else(|| parsed.index.scalar("family").map(str::to_string))
        .filter(|f| !f.is_empty());
    let summary = parsed.definition.as_ref().filter(|_| ok).map(describe);
    let (errors, warnings) =
        parsed.diagnostics.into_iter().partition(|d| d.severity == Severity::Error);
    FileReport { file: path.to_path_buf(), ok, family, errors, warnings, io_error: false, summary }
}

/// "family web, 2 containers, awsvpc, FARGATE, 0.25 vCPU / 0.5 GB".
fn describe(def: &taskdef::model::TaskDefinition) -> String {
    let mut parts = vec![
        format!("family {}", def.family_revision()),
        format!(
            "{} container{}",
            def.containers.len(),
            if def.containers.len() == 1 { "" } else { "s" }
        ),
        taskdef::render::network_mode_str(def.network_mode).to_string(),
    ];
    if !def.requires_compatibilities.is_empty() {
        let c: Vec<&str> =
            def.requires_compatibilities.iter().map(|c| taskdef::render::compat_str(*c)).collect();
        parts.push(c.join("+"));
    }
    match (def.cpu_units, def.memory_mib) {
        (Some(c), Some(m)) => parts.push(format!("task cpu {c} / memory {m} MiB")),
        (Some(c), None) => parts.push(format!("task cpu {c}")),
        (None, Some(m)) => parts.push(format!("task memory {m} MiB")),
        (None, None) => {}
    }
    parts.join(", ")
}

/// Renders reports as text (what `berth validate` prints by default).
pub fn render_text(reports: &[FileReport]) -> String {
    let mut s = String::new();
    for r in reports {
        let mut all: Vec<&Diagnostic> = r.errors.iter().chain(&r.warnings).collect();
        all.sort_by_key(|d| (d.line, d.column));
        for d in all {
            s.push_str(&d.render(&r.file));
            s.push('\n');
        }
        let warn = match r.warnings.len() {
            0 => String::new(),
            1 => ", 1 warning".to_string(),
            n => format!(", {n} warnings"),
        };
        if r.ok {
            s.push_str(&format!(
                "{}: ok ({}){warn}\n",
                r.file.display(),
                r.summary.as_deref().unwrap_or("valid")
            ));
        } else {
            let n = r.errors.len();
            s.push_str(&format!(
                "{}: invalid: {n} error{}{warn}\n",
                r.file.display(),
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    s
}

/// Renders reports as the JSON array of the interface.
pub fn render_json(reports: &[FileReport]) -> String {
    serde_json::to_string_pretty(reports).expect("reports serialise") + "\n"
}

/// 0 when every file is valid, 2 if any file could not be read, else 1.
pub fn exit_code(reports: &[FileReport]) -> u8 {
    if reports.iter().any(|r| r.io_error) {
        2
    } else if reports.iter().all(|r| r.ok) {
        0
    } else {
        1
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let reports: Vec<FileReport> = args.files.iter().flat_map(|f| check_path(f)).collect();
    let out = match args.format {
        Format::Text => render_text(&reports),
        Format::Json => render_json(&reports),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`berth validate ... | head`) is not an error worth a message.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    Ok(ExitCode::from(exit_code(&reports)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"family": "web", "containerDefinitions": [
  {"name": "app", "image": "berth/workload:latest", "memory": 128}]}"#;

    #[test]
    fn text_for_a_valid_file() {
        let r = check_text(Path::new("web.json"), GOOD);
        assert!(r.ok);
        assert_eq!(
            render_text(std::slice::from_ref(&r)),
            "web.json: ok (family web, 1 container, bridge)\n"
        );
        assert_eq!(exit_code(&[r]), 0);
    }

    #[test]
    fn text_for_an_invalid_file() {
        let bad = GOOD.replace("\"memory\": 128", "\"memory\": \"128\"");
        let r = check_text(Path::new("web.json"), &bad);
        assert!(!r.ok);
        let text = render_text(std::slice::from_ref(&r));
        assert_eq!(
            text,
            "web.json:2:63: error: containerDefinitions[0].memory: Invalid type for parameter \
             containerDefinitions[0].memory, value: 128, type: <class 'str'>, valid types: \
             <class 'int'>\nweb.json: invalid: 1 error\n"
        );
        assert_eq!(exit_code(&[r]), 1);
    }

    #[test]
    fn hints_are_indented() {
        let bad = GOOD.replace("\"memory\"", "\"memroy\"");
        let text = render_text(&[check_text(Path::new("w.json"), &bad)]);
        assert!(text.contains("\n    hint: did you mean \"memory\"?\n"), "{text}");
    }

    #[test]
    fn json_shape() {
        let bad = GOOD.replace("\"memory\": 128", "\"memory\": \"128\"");
        let reports =
            [check_text(Path::new("a.json"), GOOD), check_text(Path::new("b.json"), &bad)];
        let v: serde_json::Value = serde_json::from_str(&render_json(&reports)).unwrap();
        assert_eq!(v[0]["ok"], true);
        assert_eq!(v[0]["family"], "web");
        assert_eq!(v[0]["errors"], serde_json::json!([]));
        assert_eq!(v[1]["ok"], false);
        assert_eq!(v[1]["family"], "web", "known even though the type check failed");
        let e = &v[1]["errors"][0];
        assert_eq!(e["path"], "containerDefinitions[0].memory");
        assert_eq!(e["line"], 2);
        assert_eq!(e["column"], 63);
        assert!(e["message"].as_str().unwrap().starts_with("Invalid type for parameter"));
        assert_eq!(exit_code(&reports), 1);
    }

    #[test]
    fn toml_files_are_told_apart_by_their_keys() {
        assert_eq!(toml_kind("duration = \"1d\"\n"), Some(TomlKind::Scenario));
        assert_eq!(toml_kind("[[services]]\nname = \"w\"\n"), Some(TomlKind::Scenario));
        assert_eq!(toml_kind("name = \"x\"\nregion = \"us-east-1\"\n"), Some(TomlKind::Cluster));
        assert_eq!(toml_kind("[fargate]\nspot = true\n"), Some(TomlKind::Cluster));
        assert_eq!(toml_kind("[[fargate]]\nregion = \"us-east-1\"\n"), Some(TomlKind::Prices));
        assert_eq!(toml_kind("[[ec2]]\nregion = \"us-east-1\"\n"), Some(TomlKind::Prices));
        assert_eq!(toml_kind("name = \"x\"\n"), None);
        assert_eq!(toml_kind("not toml"), None);
    }

    #[test]
    fn unreadable_file_is_exit_2() {
        let r = check_file(Path::new("/nonexistent/berth/x.json"));
        assert!(r.io_error && !r.ok);
        assert!(r.errors[0].message.starts_with("cannot read file"));
        assert_eq!(exit_code(&[r]), 2);
    }
}
