//! Turning `toml` deserialisation errors into diagnostics that name the key and its place.
//!
//! `toml` reports an unknown key (from `#[serde(deny_unknown_fields)]`) as "unknown field `x`,
//! expected one of `a`, `b`" with the span of the key. berth's files promise more: the key's
//! path (`hosts[1].zonee`), and the closest valid key as a hint. Both are recovered here from the
//! span and the message, so every TOML file berth reads (clusters, price files) reports alike.

use std::path::PathBuf;

use crate::diag::{closest, Diagnostic, FileError, Pos};

/// Converts a `toml` error into a [`FileError`] whose diagnostic carries the key path and, for
/// an unknown key, a "did you mean" hint.
pub fn toml_file_error(file: impl Into<PathBuf>, text: &str, err: &toml::de::Error) -> FileError {
    let offset = err.span().map(|s| s.start).unwrap_or(0);
    let pos = if err.span().is_some() {
        Pos::of_offset(text, offset)
    } else {
        Pos { line: 1, column: 1 }
    };
    let message = err.message().trim().to_string();
    let section = section_at(text, offset);
    if let Some((unknown, expected)) = parse_unknown_field(&message) {
        let path = join_path(&section, &unknown);
        let mut d = Diagnostic::error(path, pos, format!("unknown key `{unknown}`"));
        let hint = match closest(&unknown, expected.iter().map(String::as_str)) {
            Some(best) => {
                format!("did you mean `{best}`? valid keys here: {}", expected.join(", "))
            }
            None => format!("valid keys here: {}", expected.join(", ")),
        };
        d = d.with_hint(hint);
        return FileError::single(file, d);
    }
    let key = key_at(text, offset);
    let path = match key {
        Some(k) if !section.ends_with(&k) => join_path(&section, &k),
        _ => section,
    };
    FileError::single(file, Diagnostic::error(path, pos, message))
}

fn join_path(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

/// Parses "unknown field `x`, expected one of `a`, `b`" (or "expected `a` or `b`", or
/// "there are no fields").
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    let unknown = rest[..end].to_string();
    let tail = &rest[end + 1..];
    let expected = tail.split('`').skip(1).step_by(2).map(str::to_string).collect();
    Some((unknown, expected))
}

/// The table the byte offset sits in, as a path: `ecs`, `hosts[1]`, or empty for the root.
/// Counts `[[name]]` headers to number array-of-tables entries.
pub(crate) fn section_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let mut current = String::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in before.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            current = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            current = name.trim().to_string();
        }
    }
    current
}

/// The key on the line of `offset` (`zone = "x"` gives `zone`), when the line has one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let line = text[start..end].trim();
    if line.starts_with('[') {
        return None;
    }
    let (k, _) = line.split_once('=')?;
    let k = k.trim().trim_matches('"');
    (!k.is_empty()).then(|| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        let t = "name = 1\n[[hosts]]\na=1\n[[hosts]]\nb=2\n[ecs]\nc=3\n";
        assert_eq!(section_at(t, 3), "");
        assert_eq!(section_at(t, t.find("a=1").unwrap()), "hosts[0]");
        assert_eq!(section_at(t, t.find("b=2").unwrap()), "hosts[1]");
        assert_eq!(section_at(t, t.find("c=3").unwrap()), "ecs");
    }

    #[test]
    fn unknown_field_message() {
        let (u, e) =
            parse_unknown_field("unknown field `zonee`, expected one of `zone`, `count`").unwrap();
        assert_eq!(u, "zonee");
        assert_eq!(e, vec!["zone", "count"]);
        let (_, e) = parse_unknown_field("unknown field `x`, expected `type` or `field`").unwrap();
        assert_eq!(e, vec!["type", "field"]);
    }
}
