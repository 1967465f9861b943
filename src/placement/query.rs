//! The ECS cluster query language, as `memberOf` constraints and `list-container-instances
//! --filter` use it (ecs-semantics.md §3.5).
//!
//! ```text
//! expr    := or
//! or      := and (("||" | "or") and)*
//! and     := unary (("&&" | "and") unary)*
//! unary   := ("!" | "not") unary | "(" expr ")" | simple
//! simple  := subject operator [argument]
//! subject := attribute:<name> | task:group | runningTasksCount | ec2InstanceId
//!          | agentConnected | agentVersion | registeredAt
//! argument:= value | "[" value ("," value)* "]"      values may be quoted with ' or "
//! ```
//! Operators: `==`/`equals`, `!=`/`not_equals`, `>`/`greater_than`, `>=`/`greater_than_equal`,
//! `<`/`less_than`, `<=`/`less_than_equal`, `exists`, `!exists`/`not_exists`, `in`, `!in`/`not_in`,
//! `=~`/`matches`, `!~`/`not_matches`. Regexes must match the whole value (Java's
//! `Pattern.matches`, which ECS uses); a regex containing spaces, brackets or parentheses must be
//! quoted.
//!
//! Parsing is separate from evaluation so that an expression is compiled once, and so that the
//! placer can tell which expressions only look at a host's fixed attributes (their result can be
//! cached per class of identical hosts) from those that look at what runs on it.

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;

/// The agent version berth's hosts report for `agentVersion` comparisons.
pub const AGENT_VERSION: &str = "1.89.0";

/// A compiled query.
#[derive(Debug, Clone)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Test(Test),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Attribute(String),
    TaskGroup,
    RunningTasksCount,
    Ec2InstanceId,
    AgentConnected,
    AgentVersion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Exists,
    NotExists,
    In,
    NotIn,
    Matches,
    NotMatches,
}

#[derive(Debug, Clone)]
pub enum Arg {
    None,
    One(String),
    List(Vec<String>),
    Regex(Regex),
}

/// One `subject operator argument` test.
#[derive(Debug, Clone)]
pub struct Test {
    pub subject: Subject,
    pub op: Op,
    pub arg: Arg,
}

/// What an expression needs to know about a host.
pub trait HostFacts {
    /// An attribute value: built-in `ecs.*` ones and custom ones.
    fn attribute(&self, name: &str) -> Option<&str>;
    fn instance_id(&self) -> &str;
    fn agent_connected(&self) -> bool;
    fn running_tasks_count(&self) -> u32;
    /// Whether a task of `group` runs on the host; with `None`, whether any task runs.
    fn runs_group(&self, pred: &dyn Fn(&str) -> bool) -> bool;
}

/// A query that could not be parsed: the message and the 1-based column it points at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl Expr {
    /// Parses a cluster query language expression.
    pub fn parse(text: &str) -> Result<Expr, QueryError> {
        if text.chars().count() > 2000 {
            return Err(QueryError {
                column: 2001,
                message: "an expression can be at most 2000 characters long (ECS's limit)".into(),
            });
        }
        let tokens = lex(text)?;
        let mut p = Parser { tokens, pos: 0, end_col: text.chars().count() + 1 };
        let e = p.or()?;
        if let Some(t) = p.peek() {
            return Err(QueryError {
                column: t.col,
                message: format!("unexpected {}; expected `and`, `or` or the end", t.describe()),
            });
        }
        Ok(e)
    }

    /// Whether the result depends only on a host's fixed attributes (`attribute:*`), so it can
    /// be computed once per class of hosts with equal attributes.
    pub fn is_static(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.is_static() && b.is_static(),
            Expr::Not(a) => a.is_static(),
            Expr::Test(t) => matches!(t.subject, Subject::Attribute(_) | Subject::AgentVersion),
        }
    }

    /// Whether the result depends on the host but not on what runs on it (adds `ec2InstanceId`).
    pub fn is_per_host_static(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.is_per_host_static() && b.is_per_host_static(),
            Expr::Not(a) => a.is_per_host_static(),
            Expr::Test(t) => matches!(
                t.subject,
                Subject::Attribute(_) | Subject::AgentVersion | Subject::Ec2InstanceId
            ),
        }
    }

    pub fn eval(&self, h: &dyn HostFacts) -> bool {
        match self {
            Expr::And(a, b) => a.eval(h) && b.eval(h),
            Expr::Or(a, b) => a.eval(h) || b.eval(h),
            Expr::Not(a) => !a.eval(h),
            Expr::Test(t) => t.eval(h),
        }
    }
}

impl Test {
    fn eval(&self, h: &dyn HostFacts) -> bool {
        match &self.subject {
            Subject::Attribute(name) => compare_value(h.attribute(name), self.op, &self.arg),
            Subject::Ec2InstanceId => compare_value(Some(h.instance_id()), self.op, &self.arg),
            Subject::AgentConnected => compare_value(
                Some(if h.agent_connected() { "true" } else { "false" }),
                self.op,
                &self.arg,
            ),
            Subject::AgentVersion => compare_value(Some(AGENT_VERSION), self.op, &self.arg),
            Subject::RunningTasksCount => {
                compare_value(Some(&h.running_tasks_count().to_string()), self.op, &self.arg)
            }
            Subject::TaskGroup => {
                // A host "has" every group of the tasks running on it: `task:group == X` is
                // affinity (some task of X runs there); the negative forms are their negation,
                // so `task:group != X` is anti-affinity, like `not(task:group == X)`.
                let positive = match (self.op, &self.arg) {
                    (Op::Exists | Op::NotExists, _) => h.runs_group(&|_| true),
                    (Op::Eq | Op::Ne, Arg::One(v)) => h.runs_group(&|g| g == v),
                    (Op::In | Op::NotIn, Arg::List(vs)) => {
                        h.runs_group(&|g| vs.iter().any(|v| v == g))
                    }
                    (Op::Matches | Op::NotMatches, Arg::Regex(re)) => {
                        h.runs_group(&|g| re.is_match(g))
                    }
                    _ => false,
                };
                match self.op {
                    Op::Ne | Op::NotExists | Op::NotIn | Op::NotMatches => !positive,
                    _ => positive,
                }
            }
        }
    }
}

/// Compares a host's value (`None`: the host lacks it) with the argument.
fn compare_value(value: Option<&str>, op: Op, arg: &Arg) -> bool {
    match (op, value, arg) {
        (Op::Exists, v, _) => v.is_some(),
        (Op::NotExists, v, _) => v.is_none(),
        (Op::Eq, Some(v), Arg::One(a)) => v == a,
        (Op::Ne, Some(v), Arg::One(a)) => v != a,
        (Op::Ne, None, _) => true,
        (Op::In, Some(v), Arg::List(l)) => l.iter().any(|a| a == v),
        (Op::NotIn, Some(v), Arg::List(l)) => !l.iter().any(|a| a == v),
        (Op::NotIn, None, _) => true,
        (Op::Matches, Some(v), Arg::Regex(re)) => re.is_match(v),
        (Op::NotMatches, Some(v), Arg::Regex(re)) => !re.is_match(v),
        (Op::NotMatches, None, _) => true,
        (Op::Gt | Op::Ge | Op::Lt | Op::Le, Some(v), Arg::One(a)) => {
            let ord = order(v, a);
            match op {
                Op::Gt => ord == Ordering::Greater,
                Op::Ge => ord != Ordering::Less,
                Op::Lt => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            }
        }
        _ => false,
    }
}

/// Numbers compare as numbers, dotted versions (`1.14.5`) part by part, anything else as text.
fn order(a: &str, b: &str) -> Ordering {
    if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    let parts = |s: &str| s.split('.').map(|p| p.parse::<u64>()).collect::<Result<Vec<_>, _>>();
    if let (Ok(x), Ok(y)) = (parts(a), parts(b)) {
        return x.cmp(&y);
    }
    a.cmp(b)
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `!` on its own (negation).
    Bang,
    /// A bare word or symbol run (`attribute:x`, `==`, `and`, `t2.*`).
    Word(String),
    /// A quoted value.
    Quoted(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    col: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.tok {
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Bang => "`!`".into(),
            Tok::Word(w) => format!("`{w}`"),
            Tok::Quoted(q) => format!("'{q}'"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '[' | ']' | ',' => {
                out.push(Token {
                    tok: match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        '[' => Tok::LBracket,
                        ']' => Tok::RBracket,
                        _ => Tok::Comma,
                    },
                    col,
                });
                i += 1;
            }
            '\'' | '"' => {
                let end =
                    chars[i + 1..].iter().position(|&d| d == c).ok_or_else(|| QueryError {
                        column: col,
                        message: format!("unterminated quoted value (no closing {c})"),
                    })?;
                out.push(Token {
                    tok: Tok::Quoted(chars[i + 1..i + 1 + end].iter().collect()),
                    col,
                });
                i += end + 2;
            }
            '!' if chars.get(i + 1).is_none_or(|n| n.is_whitespace() || *n == '(') => {
                out.push(Token { tok: Tok::Bang, col });
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '[' | ']' | ',' | '\'' | '"')
                {
                    i += 1;
                }
                out.push(Token { tok: Tok::Word(chars[start..i].iter().collect()), col });
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end_col: usize,
}

const OPERATORS: &str = "==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~ (or equals, \
                         not_equals, greater_than, greater_than_equal, less_than, \
                         less_than_equal, not_exists, not_in, matches, not_matches)";

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err_here(&self, what: &str) -> QueryError {
        match self.peek() {
            Some(t) => QueryError {
                column: t.col,
                message: format!("expected {what}, found {}", t.describe()),
            },
            None => QueryError {
                column: self.end_col,
                message: format!("expected {what}, found the end"),
            },
        }
    }

    fn peek_word(&self, words: &[&str]) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if words.contains(&w.as_str()))
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.peek_word(&["||", "or"]) {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        while self.peek_word(&["&&", "and"]) {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Bang) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Word(w)) if w == "not" => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Word(w)) if w.len() > 1 && w.starts_with('!') => {
                // `!attribute:x exists`: the negation glued to the subject.
                let t = &mut self.tokens[self.pos];
                t.tok = Tok::Word(w[1..].to_string());
                t.col += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                match self.next() {
                    Some(Token { tok: Tok::RParen, .. }) => Ok(e),
                    _ => {
                        self.pos -= 1;
                        Err(self.err_here("`)`"))
                    }
                }
            }
            _ => self.simple(),
        }
    }

    fn simple(&mut self) -> Result<Expr, QueryError> {
        let Some(Token { tok: Tok::Word(w), col }) = self.peek().cloned() else {
            return Err(self.err_here(
                "a subject (attribute:<name>, task:group, runningTasksCount, ec2InstanceId, \
                 agentConnected, agentVersion)",
            ));
        };
        self.pos += 1;
        if ["==", "!=", "=~", "!~", ">", "<"].iter().any(|o| w.contains(o)) {
            return Err(QueryError {
                column: col,
                message: format!(
                    "`{w}`: put spaces around the operator, e.g. `attribute:stack == prod`"
                ),
            });
        }
        let subject = match w.as_str() {
            "task:group" => Subject::TaskGroup,
            "runningTasksCount" => Subject::RunningTasksCount,
            "ec2InstanceId" => Subject::Ec2InstanceId,
            "agentConnected" => Subject::AgentConnected,
            "agentVersion" => Subject::AgentVersion,
            "registeredAt" => {
                return Err(QueryError {
                    column: col,
                    message: "`registeredAt` is not supported: berth's hosts register when the \
                              run starts and have no calendar date"
                        .into(),
                })
            }
            w if w.starts_with("attribute:") => {
                let name = &w["attribute:".len()..];
                if name.is_empty()
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_/\\.-".contains(c))
                {
                    return Err(QueryError {
                        column: col + "attribute:".len(),
                        message: format!(
                            "invalid attribute name {name:?}: use letters, digits and _ / \\ . -"
                        ),
                    });
                }
                Subject::Attribute(name.to_string())
            }
            other => {
                let known = [
                    "attribute:",
                    "task:group",
                    "runningTasksCount",
                    "ec2InstanceId",
                    "agentConnected",
                    "agentVersion",
                ];
                // `atribute:stack`: compare the part before the colon with `attribute:`.
                let probe = match other.find(':') {
                    Some(i) if !other.starts_with("task:") => &other[..=i],
                    _ => other,
                };
                let hint = crate::diag::closest(probe, known)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                return Err(QueryError {
                    column: col,
                    message: format!("unknown subject `{other}`{hint}; subjects are attribute:<name>, task:group, runningTasksCount, ec2InstanceId, agentConnected, agentVersion"),
                });
            }
        };
        let (op, op_col) = match self.next() {
            Some(Token { tok: Tok::Word(o), col }) => (o, col),
            Some(Token { tok: Tok::Bang, col }) => ("!".to_string(), col),
            _ => {
                self.pos -= 1;
                return Err(self.err_here(&format!("an operator ({OPERATORS})")));
            }
        };
        let op = match op.as_str() {
            "==" | "equals" => Op::Eq,
            "!=" | "not_equals" => Op::Ne,
            ">" | "greater_than" => Op::Gt,
            ">=" | "greater_than_equal" => Op::Ge,
            "<" | "less_than" => Op::Lt,
            "<=" | "less_than_equal" => Op::Le,
            "exists" => Op::Exists,
            "!exists" | "not_exists" => Op::NotExists,
            "in" => Op::In,
            "!in" | "not_in" => Op::NotIn,
            "=~" | "matches" => Op::Matches,
            "!~" | "not_matches" => Op::NotMatches,
            other => {
                return Err(QueryError {
                    column: op_col,
                    message: format!("unknown operator `{other}`; operators are {OPERATORS}"),
                })
            }
        };
        // Which operators each subject takes (ecs-semantics.md §3.5).
        let allowed: &[Op] = match subject {
            Subject::AgentConnected | Subject::Ec2InstanceId => {
                &[Op::Eq, Op::Ne, Op::In, Op::NotIn, Op::Matches, Op::NotMatches]
            }
            Subject::AgentVersion | Subject::RunningTasksCount => {
                &[Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le]
            }
            Subject::TaskGroup => &[
                Op::Eq,
                Op::Ne,
                Op::In,
                Op::NotIn,
                Op::Matches,
                Op::NotMatches,
                Op::Exists,
                Op::NotExists,
            ],
            Subject::Attribute(_) => &[
                Op::Eq,
                Op::Ne,
                Op::Gt,
                Op::Ge,
                Op::Lt,
                Op::Le,
                Op::Exists,
                Op::NotExists,
                Op::In,
                Op::NotIn,
                Op::Matches,
                Op::NotMatches,
            ],
        };
        if !allowed.contains(&op) {
            return Err(QueryError {
                column: op_col,
                message: format!("`{w}` does not take this operator"),
            });
        }
        let arg = match op {
            Op::Exists | Op::NotExists => Arg::None,
            Op::In | Op::NotIn => Arg::List(self.list()?),
            Op::Matches | Op::NotMatches => {
                let (v, col) = self.value()?;
                let re = Regex::new(&format!("^(?:{v})$")).map_err(|e| QueryError {
                    column: col,
                    message: format!(
                        "invalid regular expression {v:?}: {}",
                        first_line(&e.to_string())
                    ),
                })?;
                Arg::Regex(re)
            }
            _ => {
                let (v, col) = self.value()?;
                if subject == Subject::RunningTasksCount && v.parse::<u32>().is_err() {
                    return Err(QueryError {
                        column: col,
                        message: format!(
                            "runningTasksCount compares with a whole number, not {v:?}"
                        ),
                    });
                }
                Arg::One(v)
            }
        };
        Ok(Expr::Test(Test { subject, op, arg }))
    }

    fn value(&mut self) -> Result<(String, usize), QueryError> {
        match self.next() {
            Some(Token { tok: Tok::Word(w), col })
                if !["and", "or", "&&", "||", "not"].contains(&w.as_str()) =>
            {
                Ok((w, col))
            }
            Some(Token { tok: Tok::Quoted(q), col }) => Ok((q, col)),
            _ => {
                self.pos -= 1;
                Err(self.err_here("a value"))
            }
        }
    }

    fn list(&mut self) -> Result<Vec<String>, QueryError> {
        match self.next() {
            Some(Token { tok: Tok::LBracket, .. }) => {}
            _ => {
                self.pos -= 1;
                return Err(self.err_here("a list like [a, b]"));
            }
        }
        let mut out = Vec::new();
        loop {
            out.push(self.value()?.0);
            match self.next() {
                Some(Token { tok: Tok::Comma, .. }) => continue,
                Some(Token { tok: Tok::RBracket, .. }) => return Ok(out),
                _ => {
                    self.pos -= 1;
                    return Err(self.err_here("`,` or `]`"));
                }
            }
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim().to_string()
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Exists => "exists",
            Op::NotExists => "!exists",
            Op::In => "in",
            Op::NotIn => "!in",
            Op::Matches => "=~",
            Op::NotMatches => "!~",
        })
    }
}

#[cfg(test)]
mod tests;
