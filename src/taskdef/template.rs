//! Spotting values that are unrendered template placeholders.
//!
//! Task definitions in repositories are often templates: `{{ env "TAG" }}` (ecspresso, Go
//! templates), `${IMAGE}` (envsubst, CloudFormation `Fn::Sub`), `<IMAGE>` (README-style
//! placeholders) and `$$$TEST_REGION$$$` (the ECS agent's own test harness). Registering one as
//! is either fails (a fixed-value field such as `networkMode`) or registers nonsense (an image
//! that cannot be pulled), so berth says what it sees: an error in the first case, a warning in
//! the second, each with the same hint.

/// The kind of placeholder found in `value`, described for a person, or `None`.
pub fn placeholder_kind(value: &str) -> Option<&'static str> {
    if let Some(open) = value.find("{{") {
        if value[open + 2..].contains("}}") {
            return Some("a {{ }} template expression");
        }
    }
    if has_dollar_brace(value) {
        return Some("a ${VAR} substitution");
    }
    if has_triple_dollar(value) {
        return Some("a $$$VAR$$$ placeholder");
    }
    if has_angle_placeholder(value) {
        return Some("an <ANGLE_BRACKET> placeholder");
    }
    None
}

/// The hint attached to a diagnostic about a templated value.
pub fn hint(value: &str) -> Option<String> {
    placeholder_kind(value).map(|kind| {
        format!(
            "this looks like an unrendered template ({kind}); render the template with your \
             deploy tool first and give berth the result"
        )
    })
}

/// `${NAME}` with a non-empty name of letters, digits, `_`, `.`, `:`, `-`.
fn has_dollar_brace(v: &str) -> bool {
    v.match_indices("${").any(|(i, _)| {
        let rest = &v[i + 2..];
        match rest.find('}') {
            Some(end) if end > 0 => rest[..end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')),
            _ => false,
        }
    })
}

/// `$$$NAME$$$` (three or more dollars on each side), as in the ECS agent's test inputs.
fn has_triple_dollar(v: &str) -> bool {
    v.match_indices("$$$").any(|(i, _)| {
        let rest = v[i..].trim_start_matches('$');
        let name_len = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count();
        name_len > 0 && rest[name_len..].starts_with("$$$")
    })
}

/// `<name>` where name starts with a letter and holds letters, digits, `_`, `-`, `.` or spaces,
/// e.g. `<repository_uri_service_a>` or `<IMAGE>`; not `a < b > c` comparisons.
fn has_angle_placeholder(v: &str) -> bool {
    v.match_indices('<').any(|(i, _)| {
        let rest = &v[i + 1..];
        match rest.find('>') {
            Some(end) if end > 0 => {
                let name = &rest[..end];
                name.starts_with(|c: char| c.is_ascii_alphabetic())
                    && !name.ends_with(' ')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_style() {
        assert!(placeholder_kind("{{networkmode}}").is_some());
        assert!(placeholder_kind("katsubushi/katsubushi:{{ env `TAG` `latest` }}").is_some());
        assert!(placeholder_kind("${IMAGE}").is_some());
        assert!(placeholder_kind("arn:${Partition}:secretsmanager").is_some());
        assert!(placeholder_kind("$$$NETWORK_MODE$$$").is_some());
        assert!(placeholder_kind("$$$$CPUSHARE$$$$").is_some());
        assert!(placeholder_kind("<repository_uri_service_a>").is_some());
        assert!(placeholder_kind("<IMAGE>").is_some());
    }

    #[test]
    fn leaves_ordinary_values_alone() {
        for v in [
            "nginx:latest",
            "awsvpc",
            "arn:aws:iam::123456789012:role/x",
            "echo $HOME",
            "a < b > c",
            "cost: $5",
            "{\"health\": \"check\"}",
            "FILESYSTEM_ID",
            "${}",
        ] {
            assert_eq!(placeholder_kind(v), None, "{v}");
        }
    }

    #[test]
    fn hint_names_the_kind() {
        assert!(hint("${X}").unwrap().contains("${VAR}"));
        assert!(hint("plain").is_none());
    }
}
