//! Spotting values that are unrendered template placeholders.
//!
//! Task definitions in repositories are often templates: `{{ env "TAG" }}` (ecspresso, Go
//! templates), `${IMAGE}` (envsubst, CloudFormation `Fn::Sub`), `<IMAGE1_NAME>` (CodeDeploy's
//! placeholder that CodePipeline fills in, and README-style `<IMAGE>`) and `$$$TEST_REGION$$$`
//! (the ECS agent's own test harness). Registering one as is either fails (a fixed-value field
//! such as `networkMode`, or an `image`, whose characters ECS restricts) or registers nonsense,
//! so berth says what it sees: an error in the first case, a warning in the second, each with a
//! hint that names the kind of template and how to render it.
//!
//! Detection must not fire on ordinary text: HTML (`<h1>hello</h1>`) is markup, not an
//! `<ANGLE>` placeholder, and in a command (`command`, `entryPoint`, a health check) `${HOME}` is
//! the shell's own parameter expansion, which the container's shell performs at run time.

/// A kind of placeholder, with what a person needs to know to render it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{{ ... }}`: Go templates (ecspresso), Handlebars, Jinja.
    Braces,
    /// `${NAME}`: envsubst, CloudFormation `Fn::Sub`, Terraform `templatefile`.
    DollarBrace,
    /// `$$$NAME$$$`: the ECS agent's functional-test harness.
    TripleDollar,
    /// `<NAME>`: CodeDeploy's `<IMAGE1_NAME>` and README-style placeholders.
    Angle,
}

impl Placeholder {
    /// The kind, described for a person.
    pub fn describe(self) -> &'static str {
        match self {
            Placeholder::Braces => "a {{ }} template expression",
            Placeholder::DollarBrace => "a ${VAR} substitution",
            Placeholder::TripleDollar => "a $$$VAR$$$ placeholder",
            Placeholder::Angle => "an <ANGLE_BRACKET> placeholder",
        }
    }

    /// How a template of this kind found in `value` is usually rendered.
    fn how_to_render(self, value: &str) -> String {
        match self {
            Placeholder::Braces => "render it with the tool that owns the template (for \
                                    ecspresso, `ecspresso render taskdef > rendered.json`) and \
                                    give berth the result"
                .into(),
            Placeholder::DollarBrace => "expand the variables first (export them, then \
                                         `envsubst < task-def.json > rendered.json`) and give \
                                         berth the result"
                .into(),
            Placeholder::TripleDollar => "the ECS agent's test harness substitutes these; put \
                                          real values in and give berth the result"
                .into(),
            Placeholder::Angle => {
                let name = angle_placeholder(value).unwrap_or("NAME");
                let codedeploy = name.starts_with("IMAGE") && name.ends_with("_NAME");
                format!(
                    "replace it with the real value{} (by hand: `sed 's|<{name}>|...|' \
                     task-def.json > rendered.json`) and give berth the result",
                    if codedeploy {
                        "; CodePipeline's ECS blue/green (CodeDeploy) action fills it from its \
                         image artifact"
                    } else {
                        ""
                    }
                )
            }
        }
    }
}

/// The kind of placeholder found in `value`, or `None`.
pub fn placeholder(value: &str) -> Option<Placeholder> {
    detect(value, false)
}

/// The detection; `shell` leaves `${VAR}` alone (the shell's own expansion).
fn detect(value: &str, shell: bool) -> Option<Placeholder> {
    if let Some(open) = value.find("{{") {
        if value[open + 2..].contains("}}") {
            return Some(Placeholder::Braces);
        }
    }
    if !shell && has_dollar_brace(value) {
        return Some(Placeholder::DollarBrace);
    }
    if has_triple_dollar(value) {
        return Some(Placeholder::TripleDollar);
    }
    if has_angle_placeholder(value) {
        return Some(Placeholder::Angle);
    }
    None
}

/// The kind of placeholder found in `value`, described for a person, or `None`.
pub fn placeholder_kind(value: &str) -> Option<&'static str> {
    placeholder(value).map(Placeholder::describe)
}

/// Like [`placeholder`], for the value at `path` of a task definition: in command strings
/// (`command`, `entryPoint`, `healthCheck.command`) a `${VAR}` is the shell's parameter
/// expansion, performed in the container at run time, so it is not taken for a template.
pub fn placeholder_at(path: &str, value: &str) -> Option<Placeholder> {
    detect(value, is_command_path(path))
}

/// `...command[i]`, `...entryPoint[i]`, `...healthCheck.command[i]`.
fn is_command_path(path: &str) -> bool {
    let Some(open) = path.rfind('[') else { return false };
    let field = path[..open].rsplit(['.', ']']).next().unwrap_or_default();
    matches!(field, "command" | "entryPoint")
}

/// The hint attached to a diagnostic about a templated value.
pub fn hint(value: &str) -> Option<String> {
    placeholder(value).map(|kind| hint_for(kind, value))
}

/// The hint for a placeholder of this kind found in `value`: what it is and how to render it.
pub fn hint_for(kind: Placeholder, value: &str) -> String {
    format!(
        "this looks like an unrendered template ({}); {}",
        kind.describe(),
        kind.how_to_render(value)
    )
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

/// HTML element names a command or value may well contain (`echo '<h1>hi</h1>' > index.html`),
/// as HTML writes them today: in lower case.
const HTML_TAGS: &[&str] = &[
    "a",
    "abbr",
    "article",
    "aside",
    "b",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "img",
    "input",
    "label",
    "li",
    "link",
    "main",
    "meta",
    "nav",
    "ol",
    "option",
    "p",
    "pre",
    "script",
    "section",
    "select",
    "small",
    "span",
    "strong",
    "style",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "th",
    "thead",
    "title",
    "tr",
    "u",
    "ul",
];

/// `<name>` where name starts with a letter and holds letters, digits, `_`, `-`, `.` or spaces,
/// e.g. `<repository_uri_service_a>` or `<IMAGE1_NAME>`; not `a < b > c` comparisons, and not
/// HTML: a value with a closing tag (`</...>`) is markup, and so is a known element name.
fn has_angle_placeholder(v: &str) -> bool {
    angle_placeholder(v).is_some()
}

/// The name of the first `<name>` placeholder in `v` (see [`has_angle_placeholder`]).
fn angle_placeholder(v: &str) -> Option<&str> {
    if v.contains("</") || v.contains("/>") {
        return None;
    }
    v.match_indices('<').find_map(|(i, _)| {
        let rest = &v[i + 1..];
        let name = &rest[..rest.find('>')?];
        let placeholder = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && !name.ends_with(' ')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
            // Lower case only: `<TITLE>` or `<CODE>` in capitals is a placeholder, not markup.
            && !HTML_TAGS.contains(&name);
        placeholder.then_some(name)
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
    fn html_is_not_a_template() {
        for v in [
            "echo '<h1>Hello from ECS</h1>' > /usr/share/nginx/html/index.html",
            "<html><head><title>x</title></head><body>ok</body></html>",
            "printf '<br>'",
            "<div class=\"x\">",
            "<my-widget/>",
        ] {
            assert_eq!(placeholder_kind(v), None, "{v}");
        }
        // A placeholder is still one when no markup is around.
        assert!(placeholder_kind("<IMAGE1_NAME>").is_some());
        assert!(placeholder_kind("echo <YOUR_NAME>").is_some());
        assert!(placeholder_kind("<TITLE>").is_some(), "capitals: a placeholder");
    }

    #[test]
    fn shell_expansion_in_commands_is_not_a_template() {
        let cmd = "containerDefinitions[0].command[2]";
        assert_eq!(placeholder_at(cmd, "echo ${HOME}"), None);
        assert_eq!(placeholder_at("containerDefinitions[1].entryPoint[0]", "${APP}"), None);
        assert_eq!(placeholder_at("containerDefinitions[0].healthCheck.command[1]", "${X}"), None);
        // Other kinds still count in commands, and ${VAR} counts elsewhere.
        assert_eq!(placeholder_at(cmd, "{{command}}"), Some(Placeholder::Braces));
        assert_eq!(
            placeholder_at("containerDefinitions[0].image", "${REGISTRY}/app:${TAG}"),
            Some(Placeholder::DollarBrace)
        );
        assert_eq!(
            placeholder_at("containerDefinitions[0].environment[0].value", "${X}"),
            Some(Placeholder::DollarBrace)
        );
    }

    #[test]
    fn hints_say_how_to_render() {
        assert!(hint("${REGISTRY}/app:${TAG}").unwrap().contains("envsubst"));
        assert!(hint("<IMAGE1_NAME>").unwrap().contains("CodePipeline"));
        assert!(hint("<IMAGE1_NAME>").unwrap().contains("sed 's|<IMAGE1_NAME>|...|'"));
        let other = hint("<ecs_execution_role_arn>").unwrap();
        assert!(!other.contains("CodePipeline") && other.contains("<ecs_execution_role_arn>"));
        assert!(hint("{{ must_env `TAG` }}").unwrap().contains("ecspresso render"));
    }

    #[test]
    fn hint_names_the_kind() {
        assert!(hint("${X}").unwrap().contains("${VAR}"));
        assert!(hint("plain").is_none());
    }
}
