//! Task definition families and revisions, as ECS keeps them.
//!
//! Registering a family for the first time makes revision 1; every later registration of the
//! same family makes the next revision, whatever the definition says (a describe file's own
//! `revision` is ignored, as ECS ignores it). Definitions are immutable once registered;
//! deregistering marks a revision INACTIVE but keeps it (and its number) — running tasks and
//! explicit `family:rev` references still resolve, `family` alone resolves to the latest ACTIVE
//! revision. The engine owns one registry; it is plain data and serialises with serde.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::TaskDefinition;

/// ACTIVE or INACTIVE, ECS's `TaskDefinitionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevisionStatus {
    Active,
    Inactive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub definition: TaskDefinition,
    pub status: RevisionStatus,
}

/// Every registered revision by family, in revision order (index = revision - 1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    families: BTreeMap<String, Vec<Revision>>,
}

/// Why a reference did not resolve. The message is ECS's (`RunTask` answers
/// "TaskDefinition not found." for an unknown family or revision).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("TaskDefinition not found: '{0}'.")]
    NotFound(String),
    #[error("TaskDefinition '{0}' has no ACTIVE revision.")]
    NoActiveRevision(String),
    #[error("Invalid task definition reference '{0}': expected family, family:revision or a task definition ARN.")]
    BadReference(String),
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers `def` as the next revision of its family and returns the stored definition
    /// (with `revision` set).
    pub fn register(&mut self, mut def: TaskDefinition) -> &TaskDefinition {
        let revisions = self.families.entry(def.family.clone()).or_default();
        def.revision = Some(revisions.len() as u32 + 1);
        revisions.push(Revision { definition: def, status: RevisionStatus::Active });
        &revisions.last().expect("just pushed").definition
    }

    /// Resolves `family` (latest ACTIVE revision), `family:revision`, or a task definition ARN
    /// (`arn:aws:ecs:<region>:<account>:task-definition/family:revision`).
    pub fn lookup(&self, reference: &str) -> Result<&TaskDefinition, LookupError> {
        self.lookup_revision(reference).map(|r| &r.definition)
    }

    /// Like [`Registry::lookup`], with the revision's status.
    pub fn lookup_revision(&self, reference: &str) -> Result<&Revision, LookupError> {
        let (family, rev) = parse_reference(reference)?;
        let revisions = self
            .families
            .get(family)
            .ok_or_else(|| LookupError::NotFound(reference.to_string()))?;
        match rev {
            Some(n) => revisions
                .get((n as usize).wrapping_sub(1))
                .ok_or_else(|| LookupError::NotFound(reference.to_string())),
            None => revisions
                .iter()
                .rev()
                .find(|r| r.status == RevisionStatus::Active)
                .ok_or_else(|| LookupError::NoActiveRevision(family.to_string())),
        }
    }

    /// Marks `family:revision` INACTIVE (ECS's DeregisterTaskDefinition takes an explicit
    /// revision) and returns it.
    pub fn deregister(&mut self, reference: &str) -> Result<&TaskDefinition, LookupError> {
        let (family, rev) = parse_reference(reference)?;
        let rev = rev.ok_or_else(|| LookupError::BadReference(reference.to_string()))?;
        let r = self
            .families
            .get_mut(family)
            .and_then(|v| v.get_mut((rev as usize).wrapping_sub(1)))
            .ok_or_else(|| LookupError::NotFound(reference.to_string()))?;
        r.status = RevisionStatus::Inactive;
        Ok(&r.definition)
    }

    /// Family names, sorted.
    pub fn families(&self) -> impl Iterator<Item = &str> {
        self.families.keys().map(String::as_str)
    }

    /// Every revision of `family`, oldest first.
    pub fn revisions(&self, family: &str) -> &[Revision] {
        self.families.get(family).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }
}

/// Splits a reference into family and optional revision.
fn parse_reference(reference: &str) -> Result<(&str, Option<u32>), LookupError> {
    let bad = || LookupError::BadReference(reference.to_string());
    let body = match reference.strip_prefix("arn:") {
        Some(_) => reference.split_once(":task-definition/").ok_or_else(bad)?.1,
        None => reference,
    };
    let (family, rev) = match body.rsplit_once(':') {
        Some((f, r)) => (f, Some(r.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(bad)?)),
        None => (body, None),
    };
    if family.is_empty() {
        return Err(bad());
    }
    Ok((family, rev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::parse::parse_str;

    fn def(family: &str, image: &str) -> TaskDefinition {
        let t = format!(
            r#"{{"family": "{family}", "containerDefinitions": [{{"name": "a", "image": "{image}", "memory": 8}}]}}"#
        );
        parse_str("t", &t).unwrap().0
    }

    #[test]
    fn revisions_count_up_per_family() {
        let mut r = Registry::new();
        assert_eq!(r.register(def("web", "v1")).revision, Some(1));
        assert_eq!(r.register(def("web", "v2")).revision, Some(2));
        assert_eq!(r.register(def("etl", "v1")).revision, Some(1));
        assert_eq!(r.lookup("web").unwrap().containers[0].image, "v2");
        assert_eq!(r.lookup("web:1").unwrap().containers[0].image, "v1");
        assert_eq!(
            r.lookup("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1").unwrap().revision,
            Some(1)
        );
        assert_eq!(r.families().collect::<Vec<_>>(), ["etl", "web"]);
        assert_eq!(r.revisions("web").len(), 2);
    }

    #[test]
    fn a_describe_files_revision_is_ignored() {
        let mut r = Registry::new();
        let mut d = def("web", "v1");
        d.revision = Some(42);
        assert_eq!(r.register(d).revision, Some(1));
    }

    #[test]
    fn deregistered_revisions_stay_addressable() {
        let mut r = Registry::new();
        r.register(def("web", "v1"));
        r.register(def("web", "v2"));
        r.deregister("web:2").unwrap();
        assert_eq!(r.lookup("web").unwrap().revision, Some(1), "latest ACTIVE");
        assert_eq!(r.lookup_revision("web:2").unwrap().status, RevisionStatus::Inactive);
        r.deregister("web:1").unwrap();
        assert_eq!(r.lookup("web"), Err(LookupError::NoActiveRevision("web".into())));
        assert!(matches!(r.deregister("web"), Err(LookupError::BadReference(_))));
        // Numbers are never reused.
        assert_eq!(r.register(def("web", "v3")).revision, Some(3));
    }

    #[test]
    fn unknown_references() {
        let mut r = Registry::new();
        r.register(def("web", "v1"));
        assert_eq!(r.lookup("api"), Err(LookupError::NotFound("api".into())));
        assert_eq!(r.lookup("web:2"), Err(LookupError::NotFound("web:2".into())));
        assert!(matches!(r.lookup("web:0"), Err(LookupError::BadReference(_))));
        assert!(matches!(r.lookup("web:x"), Err(LookupError::BadReference(_))));
        assert!(matches!(r.lookup(""), Err(LookupError::BadReference(_))));
        assert_eq!(
            LookupError::NotFound("api".into()).to_string(),
            "TaskDefinition not found: 'api'."
        );
    }

    #[test]
    fn serde_round_trip() {
        let mut r = Registry::new();
        r.register(def("web", "v1"));
        r.deregister("web:1").unwrap();
        let s = serde_json::to_string(&r).unwrap();
        let back: Registry = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r);
    }
}
