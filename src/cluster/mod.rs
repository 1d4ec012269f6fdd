//! Where live state is: the [`Cluster`] trait every backend implements, the embedded cluster
//! ([`local`]), and the shared vocabulary — errors, label selectors, change-feed events and
//! app inventories.
//!
//! A backend answers reads (objects, scopes, an app's inventory and what kascade last applied)
//! and carries out a [`Change`]: the writes of one sync plus the app's new inventory. The
//! embedded cluster commits a change in one SQLite transaction; a real cluster applies it
//! object by object (server-side apply) and records the inventory last.

#[cfg(feature = "kube")]
pub mod kubernetes;
pub mod local;
pub mod scope;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::resource::{APPLIED_HASH, INSTANCE_LABEL, ResourceKey};

pub use local::LocalCluster;

/// Opens the embedded cluster in `state_dir` as a boxed [`Cluster`].
pub fn open_embedded(state_dir: &std::path::Path) -> Result<Box<dyn Cluster>, ClusterError> {
    Ok(Box::new(LocalCluster::open(state_dir)?))
}

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

impl ClusterError {
    /// An operation the backend does not offer.
    pub fn unsupported(what: &str, backend: &str) -> Self {
        ClusterError::Invalid {
            key: None,
            message: format!("{what} is not supported on {backend}"),
        }
    }
}

/// A live cluster kascade reads and writes: the embedded store or a real API server.
///
/// Reads take `&self`; writes take `&mut self`. Implementations are blocking (a backend that
/// talks to a server over async I/O drives its own runtime), so callers in async code run
/// them on a blocking thread.
pub trait Cluster: Send {
    /// Says which cluster this is, for messages (`embedded cluster .kascade/cluster.db`).
    fn describe(&self) -> String;

    /// Whether this is the embedded cluster, where kascade itself runs the controllers.
    fn is_embedded(&self) -> bool {
        false
    }

    /// Whether objects of this kind live outside namespaces. Unknown kinds are an error on
    /// backends that discover kinds, and namespaced on the embedded cluster.
    fn is_cluster_scoped(&self, group: &str, kind: &str) -> Result<bool, ClusterError>;

    /// Reads one object.
    fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError>;

    /// Reads many objects; the answer is in the order of `keys`.
    fn get_many(&self, keys: &[ResourceKey]) -> Result<Vec<Option<Value>>, ClusterError> {
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// For each key, what a sync of `app` needs to know to skip an object it applied before
    /// without reading it whole: its resourceVersion, its applied-hash annotation and its
    /// instance label (see [`Fingerprint`]). The answer is in the order of `keys`.
    fn fingerprints(
        &self,
        keys: &[ResourceKey],
        app: &str,
    ) -> Result<Vec<Option<Fingerprint>>, ClusterError> {
        let _ = app;
        Ok(self
            .get_many(keys)?
            .iter()
            .map(|o| o.as_ref().map(Fingerprint::of))
            .collect())
    }

    /// Lists the objects of a group and kind, in one namespace or all, matching `selector`,
    /// ordered by namespace and name.
    fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Result<Vec<Value>, ClusterError>;

    /// The kinds this cluster holds objects of (embedded) or serves (discovery), as
    /// (group, kind) pairs.
    fn kinds(&self) -> Result<Vec<(String, String)>, ClusterError>;

    /// The inventory an app's last sync recorded.
    fn inventory(&self, app: &str) -> Result<Option<Inventory>, ClusterError>;

    /// Every app's inventory, by app name.
    fn inventories(&self) -> Result<Vec<(String, Inventory)>, ClusterError>;

    /// What kascade last applied for one inventory member (for three-way comparison), when
    /// the backend keeps it.
    fn last_applied(&self, app: &str, key: &ResourceKey) -> Result<Option<Value>, ClusterError>;

    /// The object as the server would store it if `desired` were applied now (server-side
    /// dry run), or `None` when the backend leaves the prediction to the caller.
    fn dry_run_apply(&self, desired: &Value) -> Result<Option<Value>, ClusterError> {
        let _ = desired;
        Ok(None)
    }

    /// Carries out a change: its writes in order, then the inventory.
    fn commit(&mut self, change: Change) -> Result<(), ClusterError>;

    /// Deletes one object (a Namespace with everything in it); returns it, or `None` when it
    /// did not exist.
    fn delete(&mut self, key: &ResourceKey) -> Result<Option<Value>, ClusterError>;

    /// Starts a build of a BuildConfig through the platform (OpenShift's `instantiate`
    /// subresource), at `commit` when given; returns the Build the server created. The
    /// embedded cluster starts builds with its own controllers instead.
    fn instantiate_build(
        &mut self,
        namespace: &str,
        name: &str,
        commit: Option<&str>,
    ) -> Result<Value, ClusterError> {
        let _ = (namespace, name, commit);
        Err(ClusterError::unsupported(
            "starting builds through the API",
            &self.describe(),
        ))
    }

    /// The newest resourceVersion (the position of the change feed).
    fn resource_version(&self) -> Result<u64, ClusterError> {
        Err(ClusterError::unsupported(
            "the change feed",
            &self.describe(),
        ))
    }

    /// Change-feed entries after `since`, oldest first, at most `limit`.
    fn events_since(&self, since: u64, limit: usize) -> Result<Vec<WatchEvent>, ClusterError> {
        let _ = (since, limit);
        Err(ClusterError::unsupported(
            "the change feed",
            &self.describe(),
        ))
    }

    /// The status the daemon recorded for an app (last sync result, drift, errors).
    fn app_status(&self, app: &str) -> Result<Option<Value>, ClusterError>;

    /// Records an app's status.
    fn set_app_status(&mut self, app: &str, status: &Value) -> Result<(), ClusterError>;
}

/// The parts of a live object that tell whether it is still what kascade applied: the
/// [`APPLIED_HASH`] annotation and [`INSTANCE_LABEL`] label kascade puts on what it applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// `metadata.resourceVersion`.
    pub resource_version: Option<String>,
    /// The applied-hash annotation.
    pub applied_hash: Option<String>,
    /// The owning app's label.
    pub owner: Option<String>,
}

impl Fingerprint {
    /// Reads a fingerprint off an object.
    pub fn of(object: &Value) -> Self {
        let meta = object.get("metadata");
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        Fingerprint {
            resource_version: text(meta.and_then(|m| m.get("resourceVersion"))),
            applied_hash: text(
                meta.and_then(|m| m.get("annotations"))
                    .and_then(|a| a.get(APPLIED_HASH)),
            ),
            owner: text(
                meta.and_then(|m| m.get("labels"))
                    .and_then(|l| l.get(INSTANCE_LABEL)),
            ),
        }
    }
}

/// What an app's last sync recorded: its revision and its members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The synced revision.
    pub revision: Option<String>,
    /// When it was synced (RFC 3339).
    pub synced_at: Option<String>,
    /// Members and the resourceVersion each had after the sync.
    pub members: BTreeMap<ResourceKey, String>,
}

/// The writes of one sync, and the app's inventory after them.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Writes, carried out in order.
    pub writes: Vec<Write>,
    /// The app's new inventory, recorded with the writes.
    pub inventory: Option<InventoryUpdate>,
}

/// One write.
#[derive(Debug, Clone)]
pub enum Write {
    /// Create an object that does not exist.
    Create(Value),
    /// Update an object: `merged` is the whole predicted object (written as it is by the
    /// embedded cluster), `desired` what kascade declares (server-side applied by a real
    /// cluster). `resource_version` is the live version the plan saw: a newer one is a
    /// conflict.
    Update {
        /// The whole object after the update.
        merged: Value,
        /// What kascade declares.
        desired: Value,
        /// The version the plan was made against.
        resource_version: Option<String>,
    },
    /// Delete an object, if it is still at `resource_version`.
    Delete {
        /// The object.
        key: ResourceKey,
        /// The version the plan was made against.
        resource_version: Option<String>,
    },
}

/// An app's inventory as a sync leaves it.
#[derive(Debug, Clone)]
pub struct InventoryUpdate {
    /// The app.
    pub app: String,
    /// The revision synced.
    pub revision: Option<String>,
    /// When (RFC 3339).
    pub synced_at: String,
    /// Every member after the sync; members not listed leave the inventory.
    pub members: Vec<Member>,
}

/// One inventory member after a sync.
#[derive(Debug, Clone)]
pub struct Member {
    /// The object.
    pub key: ResourceKey,
    /// Its resourceVersion, or `None` to take the one its write in the same change produced.
    pub resource_version: Option<String>,
    /// What kascade applied, or `None` to keep what is recorded.
    pub applied: Option<Value>,
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

impl std::fmt::Display for Selector {
    /// The selector in kubectl's `-l` syntax, as an API server's `labelSelector` takes it
    /// (empty for everything).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r {
                Requirement::Eq(k, v) => write!(f, "{k}={v}")?,
                Requirement::NotEq(k, v) => write!(f, "{k}!={v}")?,
                Requirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(","))?,
                Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(","))?,
                Requirement::Exists(k) => f.write_str(k)?,
                Requirement::NotExists(k) => write!(f, "!{k}")?,
            }
        }
        Ok(())
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
        for s in [
            "app=web,tier!=back",
            "tier in (a,b),!x,y",
            "t notin (z)",
            "",
        ] {
            let parsed = Selector::parse(s).unwrap();
            assert_eq!(parsed.to_string(), s);
            assert_eq!(Selector::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
