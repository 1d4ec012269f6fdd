//! Desired against live: what would change, as values and as text. Pure functions, no I/O.
//!
//! The comparison is three-way, as `kubectl apply` and server-side apply reason:
//!
//! 1. **Predict** the live object after applying: start from live, lay the desired fields over
//!    it (maps key by key, lists of named items item by item), and remove the fields kascade
//!    applied last time but no longer wants. Fields desired does not set — server defaults,
//!    fields other controllers own — stay as they are and are never differences.
//! 2. **Trigger-owned fields** keep their live value: the container image an ImageChange
//!    trigger of a DeploymentConfig or an `image.openshift.io/triggers` annotation set, and
//!    the `lastTriggeredImage` bookkeeping. A template that says `app:latest` is not drift
//!    against a live `app@sha256:…` the trigger resolved.
//! 3. **Normalize** both sides: no `status`, no server-set metadata (`uid`,
//!    `resourceVersion`, `generation`, `creationTimestamp`, `managedFields`), no kascade
//!    bookkeeping annotations, Secret `stringData` folded into `data`.
//!
//! The objects differ when the normalized live and predicted objects differ; the unified
//! diff of their canonical YAML is what a person reads, with Secret values masked.

mod merge;
mod triggers;

use serde_json::{Map, Value};

pub use crate::resource::{APPLIED_HASH, INSTANCE_LABEL};
use crate::resource::{ResourceKey, yaml};

pub use merge::predict;

/// What a sync would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The object does not exist and will be created.
    Create,
    /// The object exists and differs.
    Update,
    /// The object is no longer desired and will be deleted.
    Prune,
    /// The object exists and matches.
    Unchanged,
}

impl Action {
    /// `create`, `update`, `prune`, `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Prune => "prune",
            Action::Unchanged => "unchanged",
        }
    }
}

/// The comparison of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDiff {
    /// The object.
    pub key: ResourceKey,
    /// What would happen to it.
    pub action: Action,
    /// The normalized live object (`None` when it does not exist).
    pub live: Option<Value>,
    /// The normalized object after the change (`None` when pruned).
    pub desired: Option<Value>,
}

impl ObjectDiff {
    /// The unified diff of the two sides as YAML, Secret values masked; empty when unchanged.
    pub fn unified(&self, context: usize) -> String {
        if self.action == Action::Unchanged {
            return String::new();
        }
        let (mut live, mut desired) = (self.live.clone(), self.desired.clone());
        if self.key.group.is_empty() && self.key.kind == "Secret" {
            mask_secrets(live.as_mut(), desired.as_mut());
        }
        let text = |v: &Option<Value>| v.as_ref().map(yaml::to_yaml).unwrap_or_default();
        let (a, b) = (text(&live), text(&desired));
        let name = display_path(&self.key);
        similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .context_radius(context)
            .header(&format!("live/{name}"), &format!("desired/{name}"))
            .to_string()
    }
}

/// `group/Kind/namespace/name` without empty parts, for diff headers.
pub fn display_path(key: &ResourceKey) -> String {
    [
        key.group.as_str(),
        key.kind.as_str(),
        key.namespace.as_str(),
        key.name.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join("/")
}

/// Compares one object. `last_applied` is what kascade applied last time (for the fields it
/// has since dropped); `desired` `None` means the object is to be pruned.
pub fn compare(
    key: &ResourceKey,
    desired: Option<&Value>,
    live: Option<&Value>,
    last_applied: Option<&Value>,
) -> ObjectDiff {
    match (desired, live) {
        (Some(d), None) => ObjectDiff {
            key: key.clone(),
            action: Action::Create,
            live: None,
            desired: Some(normalize(d)),
        },
        (None, Some(l)) => ObjectDiff {
            key: key.clone(),
            action: Action::Prune,
            live: Some(normalize(l)),
            desired: None,
        },
        (Some(d), Some(l)) => {
            let predicted = predict(l, d, last_applied);
            let (live_n, predicted_n) = (normalize(l), normalize(&predicted));
            let action = if live_n == predicted_n {
                Action::Unchanged
            } else {
                Action::Update
            };
            ObjectDiff {
                key: key.clone(),
                action,
                live: Some(live_n),
                desired: Some(predicted_n),
            }
        }
        (None, None) => ObjectDiff {
            key: key.clone(),
            action: Action::Unchanged,
            live: None,
            desired: None,
        },
    }
}

/// The object without what the server and kascade's bookkeeping add, Secret `stringData`
/// folded into `data`.
pub fn normalize(object: &Value) -> Value {
    let mut v = object.clone();
    let Some(map) = v.as_object_mut() else {
        return v;
    };
    map.remove("status");
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        for k in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            ann.remove(APPLIED_HASH);
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    let is_secret = map.get("kind").and_then(Value::as_str) == Some("Secret")
        && map.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if is_secret {
        crate::resource::fold_string_data(&mut v);
    }
    v
}

/// Replaces Secret values by `***` markers as `kubectl diff` does: the same marker on both
/// sides when a value is unchanged, `*** (before)` / `*** (after)` when it changed.
fn mask_secrets(live: Option<&mut Value>, desired: Option<&mut Value>) {
    let live_data = live
        .as_ref()
        .and_then(|l| l.get("data"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let desired_data = desired
        .as_ref()
        .and_then(|d| d.get("data"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mask = |side: Option<&mut Value>, other: &Map<String, Value>, label: &str| {
        if let Some(Value::Object(data)) = side.and_then(|s| s.get_mut("data")) {
            for (k, v) in data.iter_mut() {
                let same = other.get(k) == Some(v);
                *v = Value::String(if same {
                    "***".to_string()
                } else {
                    format!("*** ({label})")
                });
            }
        }
    };
    mask(live, &desired_data, "before");
    mask(desired, &live_data, "after");
}

/// Standard base64 with padding (see [`crate::resource::base64`]).
pub fn base64_encode(bytes: &[u8]) -> String {
    crate::resource::base64::encode(bytes)
}

/// Counts of each action, printed as `2 to create, 1 to update, 1 to prune, 12 unchanged`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Objects to create.
    pub create: usize,
    /// Objects to update.
    pub update: usize,
    /// Objects to prune.
    pub prune: usize,
    /// Objects unchanged.
    pub unchanged: usize,
}

impl Summary {
    /// Counts the actions of `diffs`.
    pub fn of(actions: impl IntoIterator<Item = Action>) -> Self {
        let mut s = Summary::default();
        for a in actions {
            match a {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Prune => s.prune += 1,
                Action::Unchanged => s.unchanged += 1,
            }
        }
        s
    }

    /// Whether anything would change.
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.prune > 0
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} to create, {} to update, {} to prune, {} unchanged",
            self.create, self.update, self.prune, self.unchanged
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> ResourceKey {
        ResourceKey::new("", "ConfigMap", "ns", "c")
    }

    #[test]
    fn base64() {
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
    }

    #[test]
    fn defaults_and_server_fields_are_not_differences() {
        let desired = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}]}});
        let live = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "uid": "u", "resourceVersion": "9", "creationTimestamp": "t"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "clusterIP": "10.0.0.1", "sessionAffinity": "None"},
            "status": {"loadBalancer": {}}});
        let d = compare(&key(), Some(&desired), Some(&live), None);
        assert_eq!(d.action, Action::Unchanged, "{}", d.unified(3));
    }

    #[test]
    fn dropped_fields_are_removed() {
        let last = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        let live = last.clone();
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let d = compare(&key(), Some(&desired), Some(&live), Some(&last));
        assert_eq!(d.action, Action::Update);
        assert!(d.unified(3).contains("-  b: \"2\""), "{}", d.unified(3));
        // Without knowing it was ours, a field someone else set stays.
        let d = compare(&key(), Some(&desired), Some(&live), None);
        assert_eq!(d.action, Action::Unchanged);
    }

    #[test]
    fn secrets_are_masked() {
        let k = ResourceKey::new("", "Secret", "ns", "s");
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": base64_encode(b"old"), "b": base64_encode(b"same")}});
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "new", "b": "same"}});
        let d = compare(&k, Some(&desired), Some(&live), None);
        assert_eq!(d.action, Action::Update);
        let text = d.unified(3);
        assert!(
            !text.contains("new")
                && !text.contains("old")
                && !text.contains(&base64_encode(b"new")),
            "{text}"
        );
        assert!(
            text.contains("*** (before)") && text.contains("*** (after)"),
            "{text}"
        );
        assert!(
            text.contains("  b: '***'") || text.contains("  b: \"***\""),
            "{text}"
        );
    }

    #[test]
    fn summary_line() {
        let s = Summary::of([
            Action::Create,
            Action::Create,
            Action::Update,
            Action::Prune,
            Action::Unchanged,
        ]);
        assert_eq!(
            s.to_string(),
            "2 to create, 1 to update, 1 to prune, 1 unchanged"
        );
        assert!(s.has_changes());
    }
}
