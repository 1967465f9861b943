//! Every operator and connective with a case worked out by hand.

use std::collections::BTreeMap;

use super::*;

struct H {
    attrs: BTreeMap<&'static str, &'static str>,
    id: &'static str,
    connected: bool,
    groups: Vec<&'static str>,
}

impl HostFacts for H {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).copied()
    }
    fn instance_id(&self) -> &str {
        self.id
    }
    fn agent_connected(&self) -> bool {
        self.connected
    }
    fn running_tasks_count(&self) -> u32 {
        self.groups.len() as u32
    }
    fn runs_group(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.groups.iter().any(|g| pred(g))
    }
}

fn host() -> H {
    H {
        attrs: BTreeMap::from([
            ("ecs.instance-type", "t2.micro"),
            ("ecs.availability-zone", "us-east-1a"),
            ("ecs.os-type", "linux"),
            ("ecs.cpu-architecture", "x86_64"),
            ("stack", "prod"),
            ("disk_gb", "100"),
        ]),
        id: "i-0000000000000001",
        connected: true,
        groups: vec!["service:web", "family:batch"],
    }
}

fn check(expr: &str) -> bool {
    Expr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}")).eval(&host())
}

#[test]
fn equality_in_both_spellings() {
    assert!(check("attribute:stack == prod"));
    assert!(check("attribute:stack equals prod"));
    assert!(!check("attribute:stack == dev"));
    assert!(check("attribute:stack != dev"));
    assert!(check("attribute:stack not_equals dev"));
    assert!(!check("attribute:stack != prod"));
    // A missing attribute is never equal, always unequal.
    assert!(!check("attribute:missing == x"));
    assert!(check("attribute:missing != x"));
    assert!(check("attribute:stack == 'prod'"));
    assert!(check("attribute:stack == \"prod\""));
}

#[test]
fn ordering_numbers_versions_and_text() {
    assert!(check("attribute:disk_gb > 20"));
    assert!(check("attribute:disk_gb greater_than 99"));
    assert!(!check("attribute:disk_gb > 100"));
    assert!(check("attribute:disk_gb >= 100"));
    assert!(check("attribute:disk_gb greater_than_equal 100"));
    assert!(check("attribute:disk_gb < 1000")); // numeric, although "100" > "1000" as text
    assert!(check("attribute:disk_gb less_than 101"));
    assert!(check("attribute:disk_gb <= 100"));
    assert!(check("attribute:disk_gb less_than_equal 100"));
    assert!(!check("attribute:disk_gb < 100"));
    assert!(check("agentVersion > 1.14.5")); // 1.89.0 > 1.14.5 part by part
    assert!(check("agentVersion < 1.100.0"));
    assert!(check("attribute:stack > pra")); // text: "prod" > "pra"
    assert!(!check("attribute:missing > 1"));
}

#[test]
fn exists() {
    assert!(check("attribute:stack exists"));
    assert!(!check("attribute:missing exists"));
    assert!(check("attribute:missing !exists"));
    assert!(check("attribute:missing not_exists"));
    assert!(!check("attribute:stack !exists"));
}

#[test]
fn lists() {
    assert!(check("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"));
    assert!(!check("attribute:ecs.availability-zone in [us-east-1c]"));
    assert!(check("attribute:ecs.availability-zone !in [us-east-1c, us-east-1d]"));
    assert!(check("attribute:ecs.availability-zone not_in [us-east-1c]"));
    assert!(!check("attribute:ecs.availability-zone not_in [us-east-1a]"));
    assert!(check("ec2InstanceId in ['i-0000000000000001', 'i-wxyx7890']"));
}

#[test]
fn regexes_match_the_whole_value() {
    assert!(check("attribute:ecs.instance-type =~ t2.*"));
    assert!(check("attribute:ecs.instance-type matches t2\\..*"));
    assert!(!check("attribute:ecs.instance-type =~ t2")); // whole value, as Java's matches()
    assert!(check("attribute:ecs.instance-type !~ m5.*"));
    assert!(check("attribute:ecs.instance-type not_matches g2.*"));
    assert!(check("attribute:ecs.instance-type =~ '(t2|t3)\\.micro'"));
}

#[test]
fn connectives_and_precedence() {
    assert!(check(
        "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d"
    ));
    assert!(check("attribute:stack == dev or attribute:stack == prod"));
    assert!(check("attribute:stack == dev || attribute:stack == prod"));
    assert!(!check("attribute:stack == dev && attribute:stack == prod"));
    // and binds tighter than or: false and false or true = true.
    assert!(check("attribute:stack == a and attribute:stack == b or attribute:stack == prod"));
    // parentheses change it: false and (false or true) = false.
    assert!(!check("attribute:stack == a and (attribute:stack == b or attribute:stack == prod)"));
    assert!(check("not attribute:stack == dev"));
    assert!(check("not(attribute:stack == dev)"));
    assert!(check("!(attribute:stack == dev)"));
    assert!(check("! attribute:stack == dev"));
    assert!(check("!attribute:missing exists"));
    assert!(!check("not (attribute:stack == prod or attribute:stack == dev)"));
}

#[test]
fn task_group_running_tasks_and_agent() {
    assert!(check("task:group == service:web"));
    assert!(!check("task:group == database"));
    assert!(check("not(task:group == database)"));
    assert!(check("task:group != database"));
    assert!(!check("task:group != service:web"));
    assert!(check("task:group in [database, family:batch]"));
    assert!(check("task:group =~ service:.*"));
    assert!(check("task:group exists"));
    assert!(check("runningTasksCount == 2"));
    assert!(check("runningTasksCount > 1"));
    assert!(!check("runningTasksCount < 2"));
    assert!(check("agentConnected == true"));
    assert!(check("ec2InstanceId == i-0000000000000001"));
    assert!(check("ec2InstanceId =~ i-0+1"));
}

#[test]
fn static_expressions_are_recognised() {
    assert!(Expr::parse("attribute:a == b and not attribute:c exists").unwrap().is_static());
    assert!(!Expr::parse("attribute:a == b or runningTasksCount == 0").unwrap().is_static());
    assert!(!Expr::parse("ec2InstanceId == i-1").unwrap().is_static());
    assert!(Expr::parse("ec2InstanceId == i-1").unwrap().is_per_host_static());
    assert!(!Expr::parse("task:group == x").unwrap().is_per_host_static());
}

fn err(expr: &str) -> QueryError {
    match Expr::parse(expr) {
        Ok(e) => panic!("{expr} parsed as {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn errors_point_at_the_column() {
    let e = err("attribute:stack === prod");
    assert_eq!(e.column, 17);
    assert!(e.message.contains("unknown operator `===`"), "{}", e.message);
    let e = err("atribute:stack == prod");
    assert_eq!(e.column, 1);
    assert!(e.message.contains("did you mean `attribute:`"), "{}", e.message);
    let e = err("attribute:stack == prod and");
    assert_eq!(e.column, 28);
    assert!(e.message.contains("found the end"), "{}", e.message);
    let e = err("(attribute:stack == prod");
    assert_eq!(e.column, 25);
    assert!(e.message.contains("`)`"), "{}", e.message);
    let e = err("attribute:stack in [a, b");
    assert!(e.message.contains("`,` or `]`"), "{}", e.message);
    let e = err("attribute:stack == prod attribute:x exists");
    assert_eq!(e.column, 25);
    let e = err("runningTasksCount =~ 1");
    assert_eq!(e.column, 19);
    let e = err("runningTasksCount > many");
    assert_eq!(e.column, 21);
    let e = err("attribute:x =~ '(unclosed'");
    assert!(e.message.contains("invalid regular expression"), "{}", e.message);
    let e = err("attribute:x == 'open");
    assert_eq!(e.column, 16);
    let e = err("registeredAt > 2018-06-18");
    assert!(e.message.contains("registeredAt"));
    let e = err("agentConnected > true");
    assert!(e.message.contains("does not take"));
    assert_eq!(err("").column, 1);
    let e = err("attribute:stack==prod");
    assert!(e.message.contains("put spaces around the operator"), "{}", e.message);
}
