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
    let message = match err.message().trim() {
        // toml has no words for some syntax errors (a control character in a comment).
        "" => unexpected_char(text, offset),
        m => m.to_string(),
    };
    let section = match inline_path(text, offset) {
        Some(inner) => join_path(&section_at(text, offset), &inner),
        None => section_at(text, offset),
    };
    if let Some((unknown, expected)) = parse_unknown_field(&message) {
        let path = join_path(&section, &unknown);
        let mut d = Diagnostic::error(path, pos, format!("unknown key `{unknown}`"));
        let hint = match closest(&unknown, expected.iter().map(String::as_str)) {
            Some(best) => {
                format!("did you mean `{best}`? valid keys here: {}", expected.join(", "))
            }
            None if expected.is_empty() => "no keys are expected here".to_string(),
            None => format!("valid keys here: {}", expected.join(", ")),
        };
        d = d.with_hint(hint);
        return FileError::single(file, d);
    }
    if let Some(missing) = message.strip_prefix("missing field `").and_then(|r| r.split('`').next())
    {
        let d = Diagnostic::error(
            join_path(&section, missing),
            pos,
            format!("missing key `{missing}`"),
        );
        return FileError::single(file, d);
    }
    let key = key_at(text, offset);
    let path = match key {
        Some(k) if !section.ends_with(&k) && inline_path(text, offset).is_none() => {
            join_path(&section, &k)
        }
        _ => section,
    };
    FileError::single(file, Diagnostic::error(path, pos, message))
}

/// Inside an inline array or table (`placement_strategy = [{ type = "x", fild = 1 }]`), the
/// path of the element the offset is in, relative to its table: `placement_strategy[0]`.
/// Follows strings and comments well enough for berth's files; `None` outside inline values.
fn inline_path(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    // Start at the header of the enclosing table (or the top of the file).
    let mut start = 0;
    for (i, line) in line_starts(text) {
        if i > offset {
            break;
        }
        if line.trim_start().starts_with('[') && !line.contains('=') {
            start = i;
        }
    }
    enum C {
        Array(usize),
        Table,
    }
    let mut stack: Vec<C> = Vec::new();
    let mut key = String::new();
    let mut at_line_start = true;
    let mut chars = text[start..offset].chars().peekable();
    let mut in_str: Option<char> = None;
    let mut current_word = String::new();
    while let Some(c) = chars.next() {
        if let Some(q) = in_str {
            if c == '\\' && q == '"' {
                chars.next();
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => in_str = Some(c),
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                at_line_start = true;
                current_word.clear();
                continue;
            }
            '\n' => {
                at_line_start = true;
                current_word.clear();
                continue;
            }
            '=' if stack.is_empty() && at_line_start => {
                key = current_word.trim().to_string();
                at_line_start = false;
            }
            '[' if !stack.is_empty() || !at_line_start => stack.push(C::Array(0)),
            '{' => stack.push(C::Table),
            ']' | '}' => {
                stack.pop();
            }
            ',' => {
                if let Some(C::Array(n)) = stack.last_mut() {
                    *n += 1;
                }
            }
            _ => {}
        }
        if at_line_start && stack.is_empty() && c != '=' {
            current_word.push(c);
        }
    }
    if stack.is_empty() || key.is_empty() {
        return None;
    }
    let mut path = key;
    for c in &stack {
        if let C::Array(n) = c {
            path.push_str(&format!("[{n}]"));
        }
    }
    Some(path)
}

fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    text.split_inclusive('\n').map(move |l| {
        let start = pos;
        pos += l.len();
        (start, l)
    })
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
    // Include the line the offset is on: an error may point at a table's own header.
    let offset = offset.min(text.len());
    let end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let before = &text[..end];
    let mut current = String::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    // Only a header that is closed and names a table counts: a broken line (`[[zone = "a" #`)
    // is the syntax error itself, not a section, and must not become a path.
    let table_name = |n: &str| {
        let n = n.trim();
        (!n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || "_-. \"'".contains(c)))
            .then(|| n.to_string())
    };
    for line in before.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("[[") {
            if let Some(name) = rest.split_once("]]").and_then(|(n, _)| table_name(n)) {
                let n = counts.entry(name.clone()).or_insert(0);
                current = format!("{name}[{n}]");
                *n += 1;
            }
        } else if let Some(rest) = t.strip_prefix('[') {
            if let Some(name) = rest.split_once(']').and_then(|(n, _)| table_name(n)) {
                current = name;
            }
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
    if line.starts_with('[') || line.starts_with('#') {
        return None;
    }
    let (k, _) = line.split_once('=')?;
    let k = k.trim().trim_matches('"');
    let is_key = k.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c));
    (!k.is_empty() && is_key).then(|| k.to_string())
}

/// A message for a syntax error toml gives no words for: the character at `offset`.
fn unexpected_char(text: &str, offset: usize) -> String {
    let c = text.get(offset.min(text.len())..).and_then(|r| r.chars().next());
    match c {
        Some(c) if c.is_control() => format!(
            "unexpected control character U+{:04X}; TOML allows tabs but no other control \
             characters outside strings (write it as an escape inside a string)",
            c as u32
        ),
        Some(c) => format!("unexpected character {c:?}"),
        None => "unexpected end of file".to_string(),
    }
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
    fn a_broken_header_is_not_a_section() {
        let t = "[[hosts]]\na=1\n[[instance_type = \"m5.large\" # 2 vCPU\nb=2\n";
        assert_eq!(section_at(t, t.find("b=2").unwrap()), "hosts[0]");
        let t = "[ecs\nc=3\n";
        assert_eq!(section_at(t, t.find("c=3").unwrap()), "");
    }

    #[test]
    fn inline_paths() {
        let t = "[ecs]\nplacement_strategy = [{ type = \"a\" }, { type = \"b\", fild = 1 }]\n";
        assert_eq!(
            inline_path(t, t.find("fild").unwrap()).as_deref(),
            Some("placement_strategy[1]")
        );
        let t = "[ecs]\nplacement_strategy = [\n  { type = \"a,]\" }, # x, ]\n  { fild = 1 },\n]\n";
        assert_eq!(
            inline_path(t, t.find("fild").unwrap()).as_deref(),
            Some("placement_strategy[1]")
        );
        let t = "[ecs]\nimage_pull = \"1s\"\n";
        assert_eq!(inline_path(t, t.find("1s").unwrap()), None);
    }

    #[test]
    fn a_syntax_error_toml_has_no_words_for_gets_some() {
        // A NUL in a comment: toml's message for it is empty.
        let text = "#\u{0}\n";
        let err = toml::from_str::<toml::Table>(text).unwrap_err();
        let e = toml_file_error("c.toml", text, &err);
        let d = &e.diagnostics[0];
        assert_eq!((d.line, d.column), (1, 2), "{e}");
        assert!(d.message.starts_with("unexpected control character U+0000"), "{e}");
    }

    #[test]
    fn a_comment_is_not_a_key() {
        let t = "# a = b\nx = 1\n";
        assert_eq!(key_at(t, 2), None);
        assert_eq!(key_at(t, t.find("x").unwrap()).as_deref(), Some("x"));
        assert_eq!(key_at("hosts × 4 GiB = 8\n", 0), None);
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
