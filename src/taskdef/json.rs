//! A strict JSON parser that keeps the byte range of every value.
//!
//! ECS (and `aws ecs register-task-definition --cli-input-json`) read strict JSON: no comments,
//! no trailing commas, no unquoted words. We need the position of every value to point at the
//! offending spot, which `serde_json::Value` does not keep, so this is a small hand-written
//! recursive-descent parser. It never panics on any input (a property test feeds it random
//! bytes and mutated task definitions) and it bounds nesting depth so hostile input cannot
//! overflow the stack.

use std::fmt;

/// Deeper nesting than this is refused; a real task definition nests about six levels.
pub const MAX_DEPTH: usize = 128;

/// A JSON value and where it sits in the text (`start..end` in bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// The number as written, so integers and floats can be told apart the way Python's `json`
    /// (and therefore the AWS CLI) tells them apart.
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

/// One `"key": value` member of an object, in file order (duplicates kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_start: usize,
    pub value: Node,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.kind {
            Kind::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as an integer, if it is a JSON number without fraction or exponent that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.kind {
            Kind::Number(raw) if is_integer_literal(raw) => raw.parse().ok(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// The last member named `key` whose value is not `null` (JSON `null` means "absent", and
    /// like Python's `json` the last duplicate wins).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_object()?
            .iter()
            .rev()
            .find(|m| m.key == key)
            .map(|m| &m.value)
            .filter(|v| !v.is_null())
    }

    /// Converts to a `serde_json::Value` (numbers keep their value; nothing is dropped).
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Number(raw) => serde_json::from_str::<serde_json::Number>(raw)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::String(s) => Value::String(s.clone()),
            Kind::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Kind::Object(ms) => {
                let mut map = serde_json::Map::new();
                for m in ms {
                    map.insert(m.key.clone(), m.value.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// An integer literal in JSON: optional minus, digits, no fraction or exponent.
pub fn is_integer_literal(raw: &str) -> bool {
    !raw.contains(['.', 'e', 'E'])
}

/// A syntax error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses one JSON document (a leading UTF-8 byte order mark is skipped).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser { s: text.as_bytes(), text, i: 0 };
    if text.starts_with('\u{feff}') {
        p.i = 3;
    }
    p.ws()?;
    if p.i >= p.s.len() {
        return Err(p.err("the file is empty; expected a JSON object"));
    }
    let v = p.value(0)?;
    p.ws()?;
    if p.i < p.s.len() {
        return Err(
            p.err(&format!("unexpected {} after the end of the JSON document", p.describe_here()))
        );
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> SyntaxError {
        SyntaxError { offset: self.i, message: message.to_string() }
    }

    /// What is at the cursor, for messages: "'$'", "end of file", "'\"'".
    fn describe_here(&self) -> String {
        match self.text.get(self.i..).and_then(|r| r.chars().next()) {
            None => "end of file".to_string(),
            Some(c) if c.is_control() => format!("control character U+{:04X}", c as u32),
            Some(c) => format!("'{c}'"),
        }
    }

    /// Skips whitespace; comments are an error with a clear word, since people paste JSONC.
    fn ws(&mut self) -> Result<(), SyntaxError> {
        while let Some(&b) = self.s.get(self.i) {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                b'/' if matches!(self.s.get(self.i + 1), Some(b'/') | Some(b'*')) => {
                    return Err(self.err("comments are not allowed: ECS reads strict JSON"));
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let start = self.i;
        let kind = match self.s.get(self.i) {
            None => return Err(self.err("unexpected end of file; expected a value")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Kind::Number(self.number()?),
            Some(b't') => self.word("true", Kind::Bool(true))?,
            Some(b'f') => self.word("false", Kind::Bool(false))?,
            Some(b'n') => self.word("null", Kind::Null)?,
            Some(_) => {
                return Err(self.err(&format!(
                    "expected a value (string, number, object, array, true, false or null), \
                     found {}",
                    self.describe_here()
                )))
            }
        };
        Ok(Node { start, end: self.i, kind })
    }

    fn word(&mut self, w: &str, kind: Kind) -> Result<Kind, SyntaxError> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            let after = self.s.get(self.i + w.len());
            if !matches!(after, Some(b) if b.is_ascii_alphanumeric() || *b == b'_') {
                self.i += w.len();
                return Ok(kind);
            }
        }
        Err(self.err(&format!(
            "expected a value, found {} (strings need double quotes)",
            self.describe_here()
        )))
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.i += 1; // '{'
        let mut members = Vec::new();
        self.ws()?;
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Kind::Object(members));
        }
        loop {
            self.ws()?;
            match self.s.get(self.i) {
                Some(b'"') => {}
                Some(b'}') if !members.is_empty() => {
                    return Err(self.err("trailing comma before '}': ECS reads strict JSON"))
                }
                None => return Err(self.err("unexpected end of file inside an object")),
                _ => {
                    return Err(self.err(&format!(
                        "expected a member name in double quotes, found {}",
                        self.describe_here()
                    )))
                }
            }
            let key_start = self.i;
            let key = self.string()?;
            self.ws()?;
            if self.s.get(self.i) != Some(&b':') {
                return Err(self.err(&format!(
                    "expected ':' after member name \"{key}\", found {}",
                    self.describe_here()
                )));
            }
            self.i += 1;
            self.ws()?;
            let value = self.value(depth + 1)?;
            members.push(Member { key, key_start, value });
            self.ws()?;
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Kind::Object(members));
                }
                None => return Err(self.err("unexpected end of file inside an object")),
                _ => {
                    return Err(self.err(&format!(
                        "expected ',' or '}}' after an object member, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.i += 1; // '['
        let mut items = Vec::new();
        self.ws()?;
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Kind::Array(items));
        }
        loop {
            self.ws()?;
            if self.s.get(self.i) == Some(&b']') {
                return Err(self.err("trailing comma before ']': ECS reads strict JSON"));
            }
            items.push(self.value(depth + 1)?);
            self.ws()?;
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Kind::Array(items));
                }
                None => return Err(self.err("unexpected end of file inside an array")),
                _ => {
                    return Err(self.err(&format!(
                        "expected ',' or ']' after an array element, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                    return Err(self.err("numbers may not have leading zeros"));
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("expected a digit")),
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit after the decimal point"));
            }
            self.digits();
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit in the exponent"));
            }
            self.digits();
        }
        Ok(self.text[start..self.i].to_string())
    }

    fn digits(&mut self) {
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Runs end on ASCII bytes, so these are char boundaries.
            out.push_str(&self.text[run_start..self.i]);
            match self.s.get(self.i) {
                None => return Err(self.err("unexpected end of file inside a string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            out.push(self.unicode_escape()?);
                            continue;
                        }
                        _ => return Err(self.err("invalid escape sequence in a string")),
                    };
                    self.i += 1;
                    out.push(c);
                }
                Some(_) => {
                    return Err(self.err(
                        "control character in a string (write newlines and tabs as \\n and \\t)",
                    ))
                }
            }
        }
    }

    /// After `\u`: four hex digits, combining a surrogate pair when one follows. A lone
    /// surrogate (which Python's `json` tolerates) becomes U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            self.i = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits =
            self.s.get(self.i..self.i + 4).ok_or_else(|| self.err("truncated \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char).to_digit(16).ok_or_else(|| self.err("invalid \\u escape"))?;
            v = v * 16 + n;
        }
        self.i += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_spans() {
        let t = r#"{"a": [1, -2.5e3, "x\u00e9\ud83d\ude00"], "b": null, "c": true}"#;
        let v = parse(t).unwrap();
        let a = v.get("a").unwrap();
        assert_eq!(&t[a.start..a.end], r#"[1, -2.5e3, "x\u00e9\ud83d\ude00"]"#);
        let items = a.as_array().unwrap();
        assert_eq!(items[0].as_i64(), Some(1));
        assert_eq!(items[1].as_i64(), None);
        assert_eq!(items[2].as_str(), Some("xé😀"));
        assert!(v.get("b").is_none(), "null means absent");
        assert_eq!(v.get("c").unwrap().as_bool(), Some(true));
    }

    #[test]
    fn last_duplicate_wins() {
        let v = parse(r#"{"a": 1, "a": 2}"#).unwrap();
        assert_eq!(v.get("a").unwrap().as_i64(), Some(2));
    }

    fn err_at(t: &str) -> (usize, String) {
        let e = parse(t).unwrap_err();
        (e.offset, e.message)
    }

    #[test]
    fn strictness() {
        assert!(err_at("{\"a\": 1,}").1.contains("trailing comma"));
        assert!(err_at("[1,]").1.contains("trailing comma"));
        assert!(err_at("{// x\n}").1.contains("comments"));
        assert_eq!(err_at("{\"a\": 01}").1, "numbers may not have leading zeros");
        assert!(err_at("{\"a\": $$X$$}").1.contains("found '$'"));
        assert!(err_at("{\"a\": tru}").1.contains("expected a value"));
        assert!(err_at("").1.contains("empty"));
        assert!(err_at("{} {}").1.contains("after the end"));
        assert!(err_at("\"a\tb\"").1.contains("control character"));
    }

    #[test]
    fn missing_comma_points_at_next_member() {
        let t = "{\n  \"a\": \"1\"\n  \"b\": 2\n}";
        let (off, msg) = err_at(t);
        assert_eq!(&t[off..off + 3], "\"b\"");
        assert_eq!(msg, "expected ',' or '}' after an object member, found '\"'");
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(10_000);
        assert!(err_at(&deep).1.contains("nesting deeper"));
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn bom_is_skipped() {
        assert!(parse("\u{feff}{}").is_ok());
    }
}
