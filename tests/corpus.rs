//! Every real task definition in `tests/data/task-defs/` gets a verdict, and the verdicts are
//! the ones recorded in `docs/task-definitions.md` (the table between the
//! `corpus-verdicts` markers), so the documentation and the behaviour cannot drift apart.
//!
//! The files live in the repository (their origins and licences in `SOURCES.md` beside them), so
//! this runs on a fresh clone with nothing beside it. Nothing here reads outside the crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth::diag::Severity;

/// The corpus folder inside this repository.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/task-defs")
}

#[derive(Debug)]
struct Expected {
    accepted: bool,
    at: Option<(usize, usize)>,
    warnings: usize,
    reason: String,
}

/// The rows of the verdict table in docs/task-definitions.md, by file (relative to the corpus).
fn expected_verdicts() -> BTreeMap<String, Expected> {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/task-definitions.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/task-definitions.md");
    let table = doc
        .split("<!-- corpus-verdicts:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- corpus-verdicts:end -->").next())
        .expect("the corpus-verdicts markers in docs/task-definitions.md");
    let mut rows = BTreeMap::new();
    for line in table.lines().map(str::trim).filter(|l| l.starts_with("| `")) {
        // The reason is the last cell, so a `|` inside it survives.
        let inner = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')).unwrap_or(line);
        let cells: Vec<&str> = inner.splitn(5, '|').map(str::trim).collect();
        assert_eq!(cells.len(), 5, "a verdict row has 5 cells: {line}");
        let file = cells[0].trim_matches('`').to_string();
        let accepted = match cells[1] {
            "accepted" => true,
            "rejected" => false,
            other => panic!("verdict must be accepted or rejected, not {other:?}: {line}"),
        };
        let at = (!cells[2].is_empty()).then(|| {
            let (l, c) = cells[2].split_once(':').expect("Where is line:column");
            (l.parse().expect("line"), c.parse().expect("column"))
        });
        let warnings = cells[3].parse().expect("Warnings is a count");
        let reason = cells[4].trim_matches('`').to_string();
        assert!(
            accepted || (at.is_some() && !reason.is_empty()),
            "a rejection records where and why: {line}"
        );
        rows.insert(file, Expected { accepted, at, warnings, reason });
    }
    assert!(!rows.is_empty(), "no verdict rows found");
    rows
}

fn corpus_files(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for sub in ["", "invalid"] {
        let d = dir.join(sub);
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                files.push(if sub.is_empty() { name } else { format!("{sub}/{name}") });
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_corpus_file_has_its_recorded_verdict() {
    let dir = corpus_dir();
    let expected = expected_verdicts();
    let files = corpus_files(&dir);
    assert!(files.len() >= 40, "expected the whole corpus, found {} files", files.len());

    let mut failures = Vec::new();
    for f in &files {
        let Some(exp) = expected.get(f) else {
            failures.push(format!("{f}: no row in the verdict table of docs/task-definitions.md"));
            continue;
        };
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        let parsed = berth::taskdef::parse_document(&text);
        let errors: Vec<_> =
            parsed.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
        let warnings = parsed.diagnostics.len() - errors.len();
        if parsed.ok() != exp.accepted {
            failures.push(format!(
                "{f}: expected {}, got {} ({:?})",
                if exp.accepted { "accepted" } else { "rejected" },
                if parsed.ok() { "accepted" } else { "rejected" },
                errors.iter().map(|e| &e.message).collect::<Vec<_>>()
            ));
            continue;
        }
        if warnings != exp.warnings {
            failures.push(format!("{f}: expected {} warnings, got {warnings}", exp.warnings));
        }
        if let Some(first) = errors.first() {
            if Some((first.line, first.column)) != exp.at {
                failures.push(format!(
                    "{f}: first error at {}:{}, table says {:?}",
                    first.line, first.column, exp.at
                ));
            }
            if !first.message.contains(&exp.reason) {
                failures.push(format!(
                    "{f}: first error {:?} does not contain {:?}",
                    first.message, exp.reason
                ));
            }
        }
    }
    for row in expected.keys() {
        if !files.contains(row) {
            failures.push(format!("{row}: in the table but not in the corpus"));
        }
    }
    assert!(failures.is_empty(), "corpus verdicts drifted:\n{}", failures.join("\n"));
}

#[test]
fn invalid_json_files_are_rejected_with_line_and_column() {
    let dir = corpus_dir().join("invalid");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let err = berth::taskdef::load(&path).expect_err("not JSON");
        let d = &err.diagnostics[0];
        assert!(d.message.starts_with("invalid JSON: "), "{}: {}", path.display(), d.message);
        assert!(d.line > 1 && d.column > 1, "{}: {}:{}", path.display(), d.line, d.column);
    }
}

#[test]
fn accepted_corpus_files_survive_every_derivation() {
    let dir = corpus_dir();
    for f in corpus_files(&dir) {
        let Ok((def, _)) = berth::taskdef::load(&dir.join(&f)) else { continue };
        let order = berth::taskdef::derive::start_order(&def).expect("validated: no cycles");
        assert_eq!(order.len(), def.containers.len(), "{f}");
        let demand = berth::taskdef::derive::host_demand(&def);
        if let Some(m) = def.memory_mib {
            assert_eq!(demand.memory_mib, m, "{f}");
        }
        assert!(berth::taskdef::derive::fargate_size(&def).is_some(), "{f}");
        for i in 0..def.containers.len() {
            let body = berth::taskdef::derive::docker_create(&def, i).unwrap();
            assert_eq!(body.image.as_deref(), Some(def.containers[i].image.as_str()));
        }
        // The describe rendering parses back to the same model.
        let rendered = berth::taskdef::render::describe_response(&def);
        let (again, _) = berth::taskdef::parse_str(&f, &serde_json::to_string(&rendered).unwrap())
            .unwrap_or_else(|e| panic!("{f}: rendering does not parse back:\n{e}"));
        assert_eq!(again.containers.len(), def.containers.len(), "{f}");
        assert_eq!(again.cpu_units, def.cpu_units, "{f}");
        assert_eq!(again.memory_mib, def.memory_mib, "{f}");
    }
}

#[test]
fn every_corpus_file_has_its_origin_in_sources_md() {
    let dir = corpus_dir();
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("SOURCES.md");
    let missing: Vec<String> = corpus_files(&dir)
        .into_iter()
        .filter(|f| {
            !sources.lines().any(|l| {
                l.starts_with(&format!("| `{f}` |"))
                    && (l.contains("| MIT |")
                        || l.contains("| MIT-0 |")
                        || l.contains("| Apache-2.0 |"))
            })
        })
        .collect();
    assert!(missing.is_empty(), "no origin or licence row in SOURCES.md for {missing:?}");
}
