//! Diagnostics that point at a spot in a file.
//!
//! Every input berth reads (task definitions, cluster files, scenarios, price files) reports
//! problems the same way: file, line and column of the offending value, the field path in
//! bracket notation (`containerDefinitions[0].portMappings[0].containerPort`), a message and,
//! where it helps, a hint. The text form is the familiar compiler one, so editors can jump to
//! the spot: `FILE:LINE:COL: error: PATH: MESSAGE`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem at one spot. Line and column are 1-based; column counts characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    #[serde(skip)]
    pub severity: Severity,
    /// Field path in bracket notation; empty for the document as a whole.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(path: impl Into<String>, pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.into(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(path: impl Into<String>, pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(path, pos, message) }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `FILE:LINE:COL: error: PATH: MESSAGE`, then an indented `hint:` line if there is one.
    pub fn render(&self, file: &Path) -> String {
        let mut s =
            format!("{}:{}:{}: {}: ", file.display(), self.line, self.column, self.severity);
        if !self.path.is_empty() {
            s.push_str(&self.path);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        if let Some(h) = &self.hint {
            s.push_str("\n    hint: ");
            s.push_str(h);
        }
        s
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The position of a byte offset in `text` (columns count characters, not bytes).
    pub fn of_offset(text: &str, offset: usize) -> Pos {
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        Pos { line, column: before[line_start..].chars().count() + 1 }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A file that failed to load: where, and every problem found in it.
#[derive(Debug, Clone)]
pub struct FileError {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileError {
    pub fn new(file: impl Into<PathBuf>, diagnostics: Vec<Diagnostic>) -> Self {
        FileError { file: file.into(), diagnostics }
    }

    pub fn single(file: impl Into<PathBuf>, d: Diagnostic) -> Self {
        FileError::new(file, vec![d])
    }

    /// An error that has no position (the file could not be read at all).
    pub fn io(file: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        let file = file.into();
        let hint = match err.kind() {
            std::io::ErrorKind::NotFound => Some(
                "check the path; paths in scenario files are relative to the scenario file"
                    .to_string(),
            ),
            _ => None,
        };
        let mut d =
            Diagnostic::error("", Pos { line: 1, column: 1 }, format!("cannot read file: {err}"));
        d.hint = hint;
        FileError::single(file, d)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", d.render(&self.file))?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// The closest candidate to `input` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `12345678` as `12,345,678`: counts in messages (limits, sizes) read at a glance.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(2_592_000_000), "2,592,000,000");
    }

    #[test]
    fn positions() {
        let t = "ab\ncdé\nf";
        assert_eq!(Pos::of_offset(t, 0), Pos { line: 1, column: 1 });
        assert_eq!(Pos::of_offset(t, 3), Pos { line: 2, column: 1 });
        assert_eq!(Pos::of_offset(t, 8), Pos { line: 3, column: 1 });
    }

    #[test]
    fn closest_key() {
        assert_eq!(closest("contianerPort", ["containerPort", "hostPort"]), Some("containerPort"));
        assert_eq!(closest("zzzzzz", ["containerPort", "hostPort"]), None);
    }
}
