//! Where live state is: the embedded cluster ([`local`]) and its shared vocabulary — errors,
//! label selectors and change-feed events.

pub mod local;
pub mod scope;

use std::collections::HashMap;

use serde_json::Value;

use crate::resource::ResourceKey;

pub use local::LocalCluster;

/// A cluster operation that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// The store itself failed (file, SQLite).
    #[error("cluster store {path}: {message}")]
    Store {
        /// The store's file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The object does not exist.
    #[error("{} {:?} not found", .key.kind, .key.name)]
    NotFound {
        /// Its key.
        key: Box<ResourceKey>,
    },
    /// An object with that key exists already.
    #[error("{} {:?} already exists", .key.kind, .key.name)]
    AlreadyExists {
        /// Its key.
        key: Box<ResourceKey>,
    },
    /// An update named a stale resourceVersion.
    #[error("conflict on {key}: {message}")]
    Conflict {
        /// The object.
        key: Box<ResourceKey>,
        /// What conflicted.
        message: String,
    },
    /// The object's namespace does not exist.
    #[error("cannot create {key}: namespace {namespace:?} not found")]
    NamespaceNotFound {
        /// The object.
        key: Box<ResourceKey>,
        /// The missing namespace.
        namespace: String,
    },
    /// The object is not valid for the cluster.
    #[error("invalid object{}: {message}", .key.as_ref().map(|k| format!(" {k}")).unwrap_or_default())]
    Invalid {
        /// The object, when it has a key.
        key: Option<Box<ResourceKey>>,
        /// Why.
        message: String,
    },
}

/// What happened to an object, in the change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Deleted.
    Deleted,
}

impl EventType {
    /// `ADDED`, `MODIFIED`, `DELETED`, as Kubernetes watch events say.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "ADDED" => EventType::Added,
            "DELETED" => EventType::Deleted,
            _ => EventType::Modified,
        }
    }
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    /// The resourceVersion the change produced.
    pub resource_version: u64,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (before it, for a deletion).
    pub object: Value,
}

/// A Kubernetes label selector: `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Selector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        Selector::default()
    }

    /// Parses kubectl's `-l` syntax.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        let mut parts = Vec::new();
        let mut depth = 0;
        let mut cur = String::new();
        for c in s.chars() {
            match c {
                '(' => {
                    depth += 1;
                    cur.push(c);
                }
                ')' => {
                    depth -= 1;
                    cur.push(c);
                }
                ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        if depth != 0 {
            return Err(format!("unbalanced parentheses in selector {s:?}"));
        }
        parts.push(cur);
        for part in parts {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("expected a (value, …) set in {p:?}"))?;
                Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            let req = if let Some((k, v)) = p.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==") {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once('=') {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set(rest)?)
            } else if let Some((k, rest)) = p.split_once(" in ") {
                Requirement::In(k.trim().into(), set(rest)?)
            } else if let Some(k) = p.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                Requirement::Exists(p.into())
            } else {
                return Err(format!("unable to parse requirement {p:?}"));
            };
            requirements.push(req);
        }
        Ok(Selector { requirements })
    }

    /// Whether labels satisfy every requirement.
    pub fn matches(&self, labels: HashMap<&str, &str>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Eq(k, v) => labels.get(k.as_str()) == Some(&v.as_str()),
            Requirement::NotEq(k, v) => labels.get(k.as_str()) != Some(&v.as_str()),
            Requirement::In(k, vs) => labels
                .get(k.as_str())
                .is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => !labels
                .get(k.as_str())
                .is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::Exists(k) => labels.contains_key(k.as_str()),
            Requirement::NotExists(k) => !labels.contains_key(k.as_str()),
        })
    }

    /// Whether the selector matches everything.
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let l: HashMap<&str, &str> = [("app", "web"), ("tier", "front")].into_iter().collect();
        for (s, want) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("tier in (front, back)", true),
            ("tier notin (front)", false),
            ("app", true),
            ("!app", false),
            ("!missing,app in (web)", true),
            ("", true),
        ] {
            assert_eq!(Selector::parse(s).unwrap().matches(l.clone()), want, "{s}");
        }
        assert!(Selector::parse("tier in (a").is_err());
        assert!(Selector::parse("a b c").is_err());
    }
}
