//! The ECS API model of a task definition and the type check the AWS CLI runs against it.
//!
//! The tables themselves (`schema_table.rs`) are generated from the ECS API model that botocore
//! ships (see `gen_schema.py`), so berth knows every member ECS knows, not only the ones it acts
//! on. This module walks a parsed document against them and reports what the AWS CLI's
//! parameter validation reports, in its words:
//!
//! - `Invalid type for parameter containerDefinitions[0].portMappings[0].containerPort, value:
//!   3000, type: <class 'str'>, valid types: <class 'int'>`
//! - `Unknown parameter in containerDefinitions[0]: "memoryReservaton", must be one of: ...`
//! - `Missing required parameter in containerDefinitions[0].healthCheck: "command"`
//!
//! Enum values are checked too (the CLI leaves that to the service; the service answers with
//! AWS's generic validation wording, used here). While walking, every non-null value is recorded
//! in an [`Index`] by its bracket path, which later checks use to find positions and to look at
//! members the normalised model does not carry.

use std::collections::HashMap;

use crate::diag::{closest, Diagnostic, Pos};

use super::json::{is_integer_literal, Kind, Node};
use super::template;

pub use super::schema_table::{DESCRIBE_TASK_DEFINITION_RESPONSE, TASK_DEFINITION_DOCUMENT};

/// The type of one member, as the ECS API model declares it.
#[derive(Debug)]
pub enum Ty {
    Str,
    Int,
    Bool,
    /// `registeredAt` and friends: an ISO 8601 string or epoch seconds.
    Timestamp,
    /// A string with a fixed set of values.
    Enum(&'static [&'static str]),
    List(&'static Ty),
    /// An object with string keys and values of one type (`dockerLabels`, `options`).
    Map(&'static Ty),
    Struct(&'static Shape),
}

/// A structure shape: its members in the API model's order.
#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub members: &'static [Member],
}

#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

impl Shape {
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// Every non-null value of a document by bracket path: its byte offset and, for scalars, its
/// text. Object keys are recorded too (`path` + `#key`) so errors about a key can point at it.
#[derive(Debug, Default, Clone)]
pub struct Index {
    entries: HashMap<String, Entry>,
    text: String,
    /// Byte offset of the start of each line, so positions cost a binary search, not a scan.
    line_starts: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Entry {
    offset: usize,
    scalar: Option<String>,
}

impl Index {
    /// An index over `text` (used to turn offsets into line and column).
    pub fn new(text: &str) -> Self {
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Index { entries: HashMap::new(), text: text.to_string(), line_starts }
    }

    /// Line and column of a byte offset (same answer as [`Pos::of_offset`], in O(log lines)).
    pub fn pos_of_offset(&self, offset: usize) -> Pos {
        if self.line_starts.is_empty() {
            return Pos { line: 1, column: 1 };
        }
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        Pos { line, column: self.text[start..end].chars().count() + 1 }
    }

    fn record(&mut self, path: &str, offset: usize, scalar: Option<String>) {
        self.entries.insert(path.to_string(), Entry { offset, scalar });
    }

    /// Whether the document has a non-null value at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// The text of the scalar (string, number or boolean) at `path`.
    pub fn scalar(&self, path: &str) -> Option<&str> {
        self.entries.get(path).and_then(|e| e.scalar.as_deref())
    }

    /// The position of `path`, or of its nearest recorded ancestor, or 1:1.
    pub fn pos(&self, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p) {
                return self.pos_of_offset(e.offset);
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None if !p.is_empty() => p = "",
                None => return Pos { line: 1, column: 1 },
            }
        }
    }

    /// The position of the key of member `path` (falls back to the value).
    pub fn key_pos(&self, path: &str) -> Pos {
        match self.entries.get(&format!("{path}#key")) {
            Some(e) => self.pos_of_offset(e.offset),
            None => self.pos(path),
        }
    }

    /// The number of elements of the array at `path` (counts recorded `path[i]` entries).
    pub fn len(&self, path: &str) -> usize {
        (0..).take_while(|i| self.has(&format!("{path}[{i}]"))).count()
    }

    /// An index of a `serde_json::Value` (e.g. a rendered model), every position 1:1.
    pub fn of_value(v: &serde_json::Value) -> Self {
        let mut idx = Index::default();
        fn walk(idx: &mut Index, path: &str, v: &serde_json::Value) {
            use serde_json::Value;
            match v {
                Value::Null => {}
                Value::Bool(b) => idx.record(path, 0, Some(b.to_string())),
                Value::Number(n) => idx.record(path, 0, Some(n.to_string())),
                Value::String(s) => idx.record(path, 0, Some(s.clone())),
                Value::Array(a) => {
                    idx.record(path, 0, None);
                    for (i, x) in a.iter().enumerate() {
                        walk(idx, &format!("{path}[{i}]"), x);
                    }
                }
                Value::Object(m) => {
                    idx.record(path, 0, None);
                    for (k, x) in m {
                        walk(idx, &join(path, k), x);
                    }
                }
            }
        }
        walk(&mut idx, "", v);
        idx
    }
}

/// `a` + `.b` (or just `b` at the top).
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Members whose format ECS checks strictly; templated values there are reported as errors by
/// the validation rules, so the walk does not also warn about them.
fn strict_format(path: &str) -> bool {
    matches!(path, "family" | "cpu" | "memory")
        || (path.starts_with("containerDefinitions[")
            && (path.ends_with("].name") || path.ends_with("].image")))
}

/// Type-checks `node` against `ty`, recording every value in `idx` and pushing problems to
/// `out`. `where_` is how the CLI names the enclosing object for unknown/missing members
/// (`input` at the top).
pub fn check(node: &Node, ty: &Ty, path: &str, idx: &mut Index, out: &mut Vec<Diagnostic>) {
    if node.is_null() {
        return;
    }
    let scalar = match &node.kind {
        Kind::String(s) => Some(s.clone()),
        Kind::Number(n) => Some(n.clone()),
        Kind::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    idx.record(path, node.start, scalar);
    // Positions are only worked out for values that get a diagnostic.
    let pos = || idx.pos_of_offset(node.start);
    let ok = match (ty, &node.kind) {
        (Ty::Str, Kind::String(s)) => {
            if !strict_format(path) {
                if let Some(h) = template::placeholder_at(path, s).map(|k| template::hint_for(k, s))
                {
                    out.push(
                        Diagnostic::warning(path, pos(), format!("value {s:?} is not rendered"))
                            .with_hint(h),
                    );
                }
            }
            true
        }
        (Ty::Int, Kind::Number(raw)) if is_integer_literal(raw) => {
            if raw.parse::<i32>().is_err() {
                out.push(Diagnostic::error(
                    path,
                    pos(),
                    format!(
                        "Invalid value for parameter {path}, value: {raw}, valid range: \
                         -2147483648 to 2147483647"
                    ),
                ));
            }
            true
        }
        (Ty::Bool, Kind::Bool(_)) => true,
        (Ty::Timestamp, Kind::Number(_)) => true,
        (Ty::Timestamp, Kind::String(s)) => is_timestamp_string(s),
        (Ty::Enum(values), Kind::String(s)) => {
            check_enum(s, values, path, pos(), out);
            true
        }
        (Ty::List(inner), Kind::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(item, inner, &format!("{path}[{i}]"), idx, out);
            }
            true
        }
        (Ty::Map(inner), Kind::Object(members)) => {
            for m in members {
                let p = join(path, &m.key);
                idx.record(&format!("{p}#key"), m.key_start, None);
                check(&m.value, inner, &p, idx, out);
            }
            true
        }
        (Ty::Struct(shape), Kind::Object(members)) => {
            check_struct(shape, members, path, node.start, idx, out);
            true
        }
        _ => false,
    };
    if !ok {
        out.push(Diagnostic::error(
            path,
            idx.pos_of_offset(node.start),
            format!(
                "Invalid type for parameter {path}, value: {}, type: {}, valid types: {}",
                python_str(node),
                python_type(node),
                valid_types(ty)
            ),
        ));
    }
}

fn check_struct(
    shape: &Shape,
    members: &[super::json::Member],
    path: &str,
    start: usize,
    idx: &mut Index,
    out: &mut Vec<Diagnostic>,
) {
    let where_ = if path.is_empty() { "input" } else { path };
    let mut seen: Vec<&str> = Vec::new();
    for m in members {
        let p = join(path, &m.key);
        idx.record(&format!("{p}#key"), m.key_start, None);
        let key_pos = || idx.pos_of_offset(m.key_start);
        if seen.contains(&m.key.as_str()) {
            out.push(Diagnostic::warning(
                &p,
                key_pos(),
                format!(
                    "duplicate member \"{}\"; the last one wins, as the AWS CLI reads it",
                    m.key
                ),
            ));
        }
        seen.push(&m.key);
        match shape.member(&m.key) {
            Some(member) => check(&m.value, &member.ty, &p, idx, out),
            None => {
                let names: Vec<&str> = shape.members.iter().map(|m| m.name).collect();
                let mut d = Diagnostic::error(
                    &p,
                    key_pos(),
                    format!(
                        "Unknown parameter in {where_}: \"{}\", must be one of: {}",
                        m.key,
                        names.join(", ")
                    ),
                );
                if let Some(c) = closest(&m.key, names.iter().copied()) {
                    d = d.with_hint(format!("did you mean \"{c}\"?"));
                } else if m.key == "inferenceDevices" {
                    d = d.with_hint(
                        "inference accelerators are assigned with resourceRequirements \
                         [{\"type\": \"InferenceAccelerator\", \"value\": \"<deviceName>\"}]",
                    );
                }
                out.push(d);
            }
        }
    }
    for member in shape.members.iter().filter(|m| m.required) {
        let present = members.iter().any(|m| m.key == member.name && !m.value.is_null());
        if !present {
            out.push(Diagnostic::error(
                path,
                idx.pos_of_offset(start),
                format!("Missing required parameter in {where_}: \"{}\"", member.name),
            ));
        }
    }
}

fn check_enum(s: &str, values: &[&str], path: &str, pos: Pos, out: &mut Vec<Diagnostic>) {
    if values.contains(&s) {
        return;
    }
    if path == "networkMode" && s == "default" {
        out.push(
            Diagnostic::warning(
                path,
                pos,
                "networkMode \"default\" is a legacy value that is not in the current ECS API; \
                 berth treats it as Docker's default network, bridge",
            )
            .with_hint("write \"bridge\" (or leave networkMode out) to keep the same behaviour"),
        );
        return;
    }
    let mut d = Diagnostic::error(
        path,
        pos,
        format!(
            "1 validation error detected: Value '{s}' at '{path}' failed to satisfy constraint: \
             Member must satisfy enum value set: [{}]",
            values.join(", ")
        ),
    );
    if let Some(h) = template::hint(s) {
        d = d.with_hint(h);
    } else if let Some(c) = closest(s, values.iter().copied()) {
        d = d.with_hint(format!("did you mean \"{c}\"?"));
    } else if let Some(c) = values.iter().find(|v| v.eq_ignore_ascii_case(s)) {
        d = d.with_hint(format!("values are case-sensitive: \"{c}\""));
    }
    out.push(d);
}

/// ISO 8601 (`2023-10-24T21:03:57.530Z`, with or without offset or time) or epoch seconds
/// written as a string, the forms `describe-task-definition` prints depending on CLI version
/// and `cli_timestamp_format`.
pub fn is_timestamp_string(s: &str) -> bool {
    let b = s.as_bytes();
    let date = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    let epoch = !s.is_empty() && s.parse::<f64>().is_ok_and(|v| v.is_finite() && v >= 0.0);
    date || epoch
}

/// How Python prints the value in botocore's messages (`str()` of the decoded JSON).
fn python_str(node: &Node) -> String {
    let s = python_repr(node, false);
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

fn python_repr(node: &Node, quoted: bool) -> String {
    match &node.kind {
        Kind::Null => "None".into(),
        Kind::Bool(true) => "True".into(),
        Kind::Bool(false) => "False".into(),
        Kind::Number(n) => n.clone(),
        Kind::String(s) if quoted => format!("'{s}'"),
        Kind::String(s) => s.clone(),
        Kind::Array(a) => {
            format!("[{}]", a.iter().map(|x| python_repr(x, true)).collect::<Vec<_>>().join(", "))
        }
        Kind::Object(ms) => format!(
            "{{{}}}",
            ms.iter()
                .map(|m| format!("'{}': {}", m.key, python_repr(&m.value, true)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn python_type(node: &Node) -> &'static str {
    match &node.kind {
        Kind::Null => "<class 'NoneType'>",
        Kind::Bool(_) => "<class 'bool'>",
        Kind::Number(n) if is_integer_literal(n) => "<class 'int'>",
        Kind::Number(_) => "<class 'float'>",
        Kind::String(_) => "<class 'str'>",
        Kind::Array(_) => "<class 'list'>",
        Kind::Object(_) => "<class 'dict'>",
    }
}

fn valid_types(ty: &Ty) -> &'static str {
    match ty {
        Ty::Str | Ty::Enum(_) => "<class 'str'>",
        Ty::Int => "<class 'int'>",
        Ty::Bool => "<class 'bool'>",
        Ty::Timestamp => "<class 'datetime.datetime'>, timestamp-string",
        Ty::List(_) => "<class 'list'>, <class 'tuple'>",
        Ty::Map(_) | Ty::Struct(_) => "<class 'dict'>",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::json;

    fn run(text: &str) -> Vec<Diagnostic> {
        let node = json::parse(text).unwrap();
        let mut idx = Index::new(text);
        let mut out = Vec::new();
        check(&node, &Ty::Struct(&TASK_DEFINITION_DOCUMENT), "", &mut idx, &mut out);
        out
    }

    #[test]
    fn wrong_type_in_cli_words() {
        let t = r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "i",
            "portMappings": [{"containerPort": "3000"}]}]}"#;
        let d = run(t);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].message,
            "Invalid type for parameter containerDefinitions[0].portMappings[0].containerPort, \
             value: 3000, type: <class 'str'>, valid types: <class 'int'>"
        );
        assert_eq!(d[0].path, "containerDefinitions[0].portMappings[0].containerPort");
        assert_eq!((d[0].line, d[0].column), (2, 48));
    }

    #[test]
    fn float_where_int_and_list_where_string() {
        let t = r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": ["i"],
            "memory": 512.5}]}"#;
        let d = run(t);
        assert_eq!(d.len(), 2);
        assert!(d[0]
            .message
            .ends_with("value: ['i'], type: <class 'list'>, valid types: <class 'str'>"));
        assert!(d[1].message.contains("type: <class 'float'>, valid types: <class 'int'>"));
    }

    #[test]
    fn unknown_key_names_the_closest() {
        let t = r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "i",
            "memoryReservaton": 5}]}"#;
        let d = run(t);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.starts_with(
            "Unknown parameter in containerDefinitions[0]: \"memoryReservaton\", must be one of: \
             name, image, repositoryCredentials, cpu, memory, memoryReservation,"
        ));
        assert_eq!(d[0].hint.as_deref(), Some("did you mean \"memoryReservation\"?"));
        assert_eq!((d[0].line, d[0].column), (2, 13), "points at the key");
    }

    #[test]
    fn missing_required_and_null_is_absent() {
        let d = run(r#"{"family": null, "containerDefinitions": []}"#);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "Missing required parameter in input: \"family\"");
        let d = run(r#"{"family": "f", "containerDefinitions": [], "cpu": null}"#);
        assert!(d.is_empty());
    }

    #[test]
    fn enum_values_and_templates() {
        let d = run(
            r#"{"family": "f", "containerDefinitions": [], "networkMode": "$$$NETWORK_MODE$$$"}"#,
        );
        assert_eq!(d.len(), 1);
        assert!(d[0]
            .message
            .contains("Member must satisfy enum value set: [bridge, host, awsvpc, none]"));
        assert!(d[0].hint.as_deref().unwrap().contains("unrendered template"));
        let d = run(r#"{"family": "f", "containerDefinitions": [], "networkMode": "awsvcp"}"#);
        assert_eq!(d[0].hint.as_deref(), Some("did you mean \"awsvpc\"?"));
        let d = run(r#"{"family": "f", "containerDefinitions": [], "networkMode": "default"}"#);
        assert_eq!(d[0].severity, crate::diag::Severity::Warning);
        let d = run(r#"{"family": "f", "containerDefinitions": [], "networkMode": "host"}"#);
        assert!(d.is_empty());
    }

    #[test]
    fn free_string_template_is_a_warning() {
        let d = run(
            r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "environment": [{"name": "T", "value": "<TAG>"}]}]}"#,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, crate::diag::Severity::Warning);
        assert_eq!(d[0].path, "containerDefinitions[0].environment[0].value");
        // The image is checked strictly by the validation rules (an error there), not warned.
        let d =
            run(r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "<IMAGE>"}]}"#);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn ordinary_command_text_is_not_a_template() {
        let d = run(r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "i",
                "command": ["sh", "-c", "echo '<h1>Hello</h1>' > /www/index.html; echo ${HOME}"],
                "healthCheck": {"command": ["CMD-SHELL", "test -n \"${PORT}\""]}}]}"#);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn describe_members_and_timestamps() {
        for ts in
            [r#""2023-10-24T21:03:57.530Z""#, "1698181437.53", r#""2023-10-24T21:03:57+02:00""#]
        {
            let t = format!(
                r#"{{"family": "f", "containerDefinitions": [], "revision": 3, "status": "ACTIVE",
                "compatibilities": ["EC2", "FARGATE", "MANAGED_INSTANCES"], "registeredAt": {ts},
                "registeredBy": "arn:aws:iam::1:root", "requiresAttributes": [{{"name": "x"}}]}}"#
            );
            assert!(run(&t).is_empty(), "{ts}");
        }
        let d = run(r#"{"family": "f", "containerDefinitions": [], "registeredAt": "yesterday"}"#);
        assert!(d[0].message.contains("timestamp-string"));
    }

    #[test]
    fn index_positions_fall_back_to_parents() {
        let t = "{\"family\": \"f\",\n \"containerDefinitions\": [{\"name\": \"a\"}]}";
        let node = json::parse(t).unwrap();
        let mut idx = Index::new(t);
        check(&node, &Ty::Struct(&TASK_DEFINITION_DOCUMENT), "", &mut idx, &mut Vec::new());
        assert_eq!(idx.pos("containerDefinitions[0].name"), Pos { line: 2, column: 36 });
        assert_eq!(idx.pos("containerDefinitions[0].memory"), Pos { line: 2, column: 27 });
        assert_eq!(idx.key_pos("family"), Pos { line: 1, column: 2 });
        assert_eq!(idx.len("containerDefinitions"), 1);
        for off in 0..t.len() {
            assert_eq!(idx.pos_of_offset(off), Pos::of_offset(t, off), "{off}");
        }
        assert_eq!(idx.scalar("containerDefinitions[0].name"), Some("a"));
    }
}
