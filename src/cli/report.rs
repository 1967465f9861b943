//! `berth report RUN.json --html FILE`: renders a run saved earlier with `--save` as the same
//! self-contained HTML report `--html` writes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::diag::{Diagnostic, FileError, Pos};
use crate::report::Report;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run saved with `berth simulate ... --save RUN.json` (or `berth run ... --save`).
    pub run_file: PathBuf,
    /// Where to write the HTML report.
    #[arg(long)]
    pub html: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = match std::fs::read_to_string(&args.run_file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}", FileError::io(&args.run_file, &e));
            return Ok(ExitCode::from(2));
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let pos = Pos { line: e.line().max(1), column: e.column().max(1) };
            let d = Diagnostic::error("", pos, format!("not JSON: {e}"))
                .with_hint("save a run with `berth simulate SCENARIO --save RUN.json`");
            eprintln!("{}", FileError::single(&args.run_file, d));
            return Ok(ExitCode::from(2));
        }
    };
    let report: Report = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            let pos = Pos { line: e.line().max(1), column: e.column().max(1) };
            let d = Diagnostic::error("", pos, format!("not a saved berth run: {e}"))
                .with_hint("save a run with `berth simulate SCENARIO --save RUN.json`");
            eprintln!("{}", FileError::single(&args.run_file, d));
            return Ok(ExitCode::from(2));
        }
    };
    if report.schema != crate::report::SCHEMA {
        eprintln!(
            "{}: warning: saved with schema {}, this berth reads {}",
            args.run_file.display(),
            report.schema,
            crate::report::SCHEMA
        );
    }
    std::fs::write(&args.html, crate::html::report::render_with(&report, Some(&value)))
        .with_context(|| format!("cannot write {}", args.html.display()))?;
    Ok(ExitCode::SUCCESS)
}
