//! Plan and apply: the desired resource set of one app against the cluster.
//!
//! ```text
//! prepare   default namespaces, mark ownership (label app.kascade.dev/instance, annotation
//!           app.kascade.dev/applied-hash = sha256 of what is applied)
//! plan      pair desired with live by key → create / update / unchanged (diff::compare);
//!           inventory members no longer desired → prune (when asked, with guards)
//! apply     in kind order (Namespaces and CRDs first … Routes last), prune in reverse,
//!           all in one transaction with the app's new inventory and revision
//! ```
//!
//! Guards: prune only ever deletes inventory members of the app, and only objects still
//! labelled as the app's; an empty render never prunes without `allow_empty`; Namespaces and
//! PersistentVolumeClaims are pruned only when the app or the object (annotation
//! `app.kascade.dev/prune: "true"`) opts in; `max_deletions` refuses a plan that deletes more;
//! an object labelled as another app's is never taken over. A dry run plans and changes
//! nothing.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::cluster::{Change, Cluster, ClusterError, InventoryUpdate, Member, Write};
use crate::diff::{self, APPLIED_HASH, Action, INSTANCE_LABEL, ObjectDiff, Summary};
use crate::resource::{Resource, ResourceKey, ResourceSet, hash, order};

/// The annotation with which an object opts in to being pruned when it is a Namespace or a
/// PersistentVolumeClaim.
pub const PRUNE_ANNOTATION: &str = "app.kascade.dev/prune";

/// One app: a name, where its namespaced objects go by default, and its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// The app's name (the value of the instance label).
    pub name: String,
    /// The namespace given to namespaced objects that name none.
    pub namespace: String,
    /// The source revision being synced (a commit, or a description of local files).
    pub revision: Option<String>,
    /// What the sync may do.
    pub policy: Policy,
}

/// What a sync of an app may do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Delete inventory members that are no longer rendered.
    pub prune: bool,
    /// Allow an empty render to prune everything.
    pub allow_empty: bool,
    /// Refuse plans that delete more than this many objects.
    pub max_deletions: Option<usize>,
    /// Allow pruning Namespaces.
    pub prune_namespaces: bool,
    /// Allow pruning PersistentVolumeClaims.
    pub prune_pvcs: bool,
}

/// A planning or applying failure.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// An object is labelled as another app's.
    #[error(
        "{key} belongs to app {owner:?}, not {app:?}; kascade does not take over objects of other apps"
    )]
    OwnedElsewhere {
        /// The object.
        key: Box<ResourceKey>,
        /// The app it is labelled with.
        owner: String,
        /// The app being synced.
        app: String,
    },
    /// The render is empty and would prune everything.
    #[error(
        "the render of app {app:?} is empty; refusing to prune its {count} objects (pass --allow-empty if that is intended)"
    )]
    EmptyRender {
        /// The app.
        app: String,
        /// How many objects would be pruned.
        count: usize,
    },
    /// More deletions than allowed.
    #[error(
        "the plan for app {app:?} deletes {count} objects, more than --max-deletions {max}; nothing was changed"
    )]
    TooManyDeletions {
        /// The app.
        app: String,
        /// Deletions planned.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The stored record of the app is damaged.
    #[error("the stored record of app {app:?} is invalid: {message}")]
    Record {
        /// The app.
        app: String,
        /// What is wrong.
        message: String,
    },
}

/// One object of a plan.
#[derive(Debug, Clone)]
pub struct PlannedObject {
    /// The comparison, with the action.
    pub diff: ObjectDiff,
    /// The whole object an update writes (creates write `applied`).
    pub write: Option<Value>,
    /// The desired object as kascade applies it (for the inventory).
    pub applied: Option<Value>,
    /// The live resourceVersion the plan was made against.
    pub live_version: Option<String>,
}

/// An inventory member that is no longer rendered but will not be pruned, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The object.
    pub key: ResourceKey,
    /// Why it stays.
    pub reason: String,
    /// Its resourceVersion in the inventory, carried into the new one.
    pub resource_version: String,
}

/// What a sync would do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The app.
    pub app: AppSpec,
    /// Objects in apply order, then prunes in reverse order.
    pub objects: Vec<PlannedObject>,
    /// Inventory members not pruned, with the reason.
    pub kept: Vec<Kept>,
    /// The revision recorded by the last sync, if any.
    pub previous_revision: Option<String>,
    /// Whether the stored record changes (revision or inventory), even with no object change.
    pub record_changes: bool,
}

impl Plan {
    /// Counts per action.
    pub fn summary(&self) -> Summary {
        Summary::of(self.objects.iter().map(|o| o.diff.action))
    }

    /// The plan as JSON, for `-o json`.
    pub fn to_json(&self) -> Value {
        let objects: Vec<Value> = self
            .objects
            .iter()
            .map(|o| {
                json!({
                    "group": o.diff.key.group,
                    "kind": o.diff.key.kind,
                    "namespace": o.diff.key.namespace,
                    "name": o.diff.key.name,
                    "action": o.diff.action,
                    "diff": o.diff.unified(3),
                })
            })
            .collect();
        let kept: Vec<Value> = self
            .kept
            .iter()
            .map(|k| json!({"group": k.key.group, "kind": k.key.kind, "namespace": k.key.namespace, "name": k.key.name, "reason": k.reason}))
            .collect();
        json!({
            "app": self.app.name,
            "namespace": self.app.namespace,
            "revision": self.app.revision,
            "previousRevision": self.previous_revision,
            "summary": self.summary(),
            "objects": objects,
            "notPruned": kept,
        })
    }
}

/// Gives namespaced objects without a namespace the app's, and marks ownership.
pub fn prepare(
    cluster: &dyn Cluster,
    app: &AppSpec,
    set: ResourceSet,
) -> Result<Vec<Resource>, ReconcileError> {
    let crd_scopes: HashMap<(String, String), bool> = set
        .iter()
        .filter(|r| r.key.kind == "CustomResourceDefinition")
        .filter_map(|r| {
            let spec = r.object.get("spec")?;
            Some((
                (
                    spec.get("group")?.as_str()?.to_string(),
                    spec.get("names")?.get("kind")?.as_str()?.to_string(),
                ),
                spec.get("scope").and_then(Value::as_str) == Some("Cluster"),
            ))
        })
        .collect();
    let mut out = Vec::with_capacity(set.len());
    let mut scope_cache: HashMap<(String, String), bool> = HashMap::new();
    for r in set.into_resources() {
        let mut object = r.object;
        let scope_key = (r.key.group.clone(), r.key.kind.clone());
        let cluster_scoped = match crd_scopes.get(&scope_key) {
            Some(&c) => c,
            None => match scope_cache.get(&scope_key) {
                Some(&c) => c,
                None => {
                    let c = cluster.is_cluster_scoped(&r.key.group, &r.key.kind)?;
                    scope_cache.insert(scope_key, c);
                    c
                }
            },
        };
        let meta = object
            .as_object_mut()
            .map(|m| {
                m.entry("metadata")
                    .or_insert_with(|| Value::Object(Map::new()))
            })
            .and_then(Value::as_object_mut);
        if let Some(meta) = meta {
            if !cluster_scoped && r.key.namespace.is_empty() {
                meta.insert("namespace".into(), Value::String(app.namespace.clone()));
            }
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(INSTANCE_LABEL.into(), Value::String(app.name.clone()));
            }
            if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
                ann.remove(APPLIED_HASH);
            }
        }
        let digest = hash::content_hash(&object);
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            let ann = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(ann) = ann.as_object_mut() {
                ann.insert(APPLIED_HASH.into(), Value::String(digest));
            }
        }
        out.push(
            Resource::new(object, r.origin).map_err(|e| ClusterError::Invalid {
                key: Some(Box::new(r.key.clone())),
                message: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("metadata")?.get("labels")?.get(key)?.as_str()
}

fn resource_version(v: &Value) -> Option<String> {
    v.get("metadata")?
        .get("resourceVersion")?
        .as_str()
        .map(str::to_string)
}

/// Plans the sync of `desired` (already [`prepare`]d) for `app`.
pub fn plan(
    cluster: &dyn Cluster,
    app: &AppSpec,
    desired: Vec<Resource>,
) -> Result<Plan, ReconcileError> {
    let previous = cluster.inventory(&app.name)?.unwrap_or_default();
    let keys: Vec<ResourceKey> = desired.iter().map(|r| r.key.clone()).collect();
    // Fast path first: an object whose live resourceVersion is the one kascade recorded and
    // whose applied hash is the desired one is untouched since the last sync — nothing to
    // read or compare. Only the others are read whole.
    let prints = cluster.fingerprints(&keys, &app.name)?;
    let mut objects = Vec::with_capacity(desired.len());
    let mut desired_keys = std::collections::HashSet::with_capacity(desired.len());
    let mut slow = Vec::new();
    for (r, print) in desired.into_iter().zip(prints) {
        desired_keys.insert(r.key.clone());
        if let Some(owner) = print.as_ref().and_then(|p| p.owner.as_deref())
            && owner != app.name
        {
            return Err(ReconcileError::OwnedElsewhere {
                key: Box::new(r.key),
                owner: owner.to_string(),
                app: app.name.clone(),
            });
        }
        let unchanged_fast = match (&print, previous.members.get(&r.key)) {
            (Some(p), Some(rv)) => {
                p.applied_hash.as_deref() == annotation(&r.object, APPLIED_HASH)
                    && p.resource_version.as_deref() == Some(rv.as_str())
            }
            _ => false,
        };
        if unchanged_fast {
            objects.push(PlannedObject {
                diff: ObjectDiff {
                    key: r.key,
                    action: Action::Unchanged,
                    live: None,
                    desired: None,
                },
                write: None,
                live_version: print.and_then(|p| p.resource_version),
                applied: None,
            });
        } else {
            slow.push(r);
        }
    }
    let slow_keys: Vec<ResourceKey> = slow.iter().map(|r| r.key.clone()).collect();
    let lives = cluster.get_many(&slow_keys)?;
    // Objects something else changed since the last sync (a controller setting an image or
    // a condition) that still match what kascade wants: the inventory takes their new
    // resourceVersion, so the next sync finds them on the fast path again.
    let mut versions_moved = false;
    for (r, live) in slow.into_iter().zip(lives) {
        let last_version = previous.members.get(&r.key);
        let last_applied = match last_version {
            Some(_) => cluster.last_applied(&app.name, &r.key)?,
            None => None,
        };
        let mut d = diff::compare(
            &r.key,
            Some(&r.object),
            live.as_ref(),
            last_applied.as_ref(),
        );
        let write = match (&live, d.action) {
            // A backend with a server-side dry run has the last word: the diff is between live
            // and what the server says it would store (canonical quantities, defaults, fields
            // other managers keep), and nothing is written when the server would store live.
            (Some(l), Action::Update) => match cluster.dry_run_apply(&r.object)? {
                Some(predicted) => {
                    let (live_n, predicted_n) = (diff::normalize(l), diff::normalize(&predicted));
                    let unchanged = live_n == predicted_n;
                    d = ObjectDiff {
                        key: r.key.clone(),
                        action: if unchanged {
                            Action::Unchanged
                        } else {
                            Action::Update
                        },
                        live: Some(live_n),
                        desired: Some(predicted_n),
                    };
                    (!unchanged).then_some(predicted)
                }
                None => Some(diff::predict(l, &r.object, last_applied.as_ref())),
            },
            _ => None,
        };
        let live_version = live.as_ref().and_then(resource_version);
        versions_moved |= d.action == Action::Unchanged
            && last_version.is_some()
            && live_version.as_ref() != last_version;
        objects.push(PlannedObject {
            diff: d,
            write,
            live_version,
            applied: Some(r.object),
        });
    }
    objects.sort_by_cached_key(|o| order::rank(&o.diff.key.kind));
    // Inventory members no longer rendered.
    let mut kept = Vec::new();
    let mut prunes = Vec::new();
    let gone: Vec<(&ResourceKey, &String)> = previous
        .members
        .iter()
        .filter(|(k, _)| !desired_keys.contains(*k))
        .collect();
    if desired_keys.is_empty() && !gone.is_empty() && app.policy.prune && !app.policy.allow_empty {
        return Err(ReconcileError::EmptyRender {
            app: app.name.clone(),
            count: gone.len(),
        });
    }
    for (key, version) in gone {
        let Some(live) = cluster.get(key)? else {
            continue; // already gone: it simply leaves the inventory
        };
        let keep = |reason: String| Kept {
            key: key.clone(),
            reason,
            resource_version: version.clone(),
        };
        if label(&live, INSTANCE_LABEL) != Some(app.name.as_str()) {
            kept.push(keep("no longer labelled as this app's".into()));
            continue;
        }
        if !app.policy.prune {
            kept.push(keep(
                "no longer rendered; pruning is off (use --prune)".into(),
            ));
            continue;
        }
        let opted_in = annotation(&live, PRUNE_ANNOTATION) == Some("true");
        let protected = match (key.group.as_str(), key.kind.as_str()) {
            ("", "Namespace") => !(app.policy.prune_namespaces || opted_in),
            ("", "PersistentVolumeClaim") => !(app.policy.prune_pvcs || opted_in),
            _ => false,
        };
        if protected {
            kept.push(keep(format!(
                "{}s are pruned only when the app or the object ({PRUNE_ANNOTATION}: \"true\") opts in",
                key.kind
            )));
            continue;
        }
        prunes.push(PlannedObject {
            diff: diff::compare(key, None, Some(&live), None),
            write: None,
            applied: None,
            live_version: resource_version(&live),
        });
    }
    if let Some(max) = app.policy.max_deletions
        && prunes.len() > max
    {
        return Err(ReconcileError::TooManyDeletions {
            app: app.name.clone(),
            count: prunes.len(),
            max,
        });
    }
    prunes.sort_by_cached_key(|o| std::cmp::Reverse(order::rank(&o.diff.key.kind)));
    objects.extend(prunes);
    // The inventory changes when a desired object is new to it or a member leaves it (kept
    // members stay, and they all come from the previous inventory), or a member's
    // resourceVersion moved.
    let record_changes = versions_moved
        || previous.revision != app.revision
        || desired_keys.len() + kept.len() != previous.members.len()
        || desired_keys
            .iter()
            .any(|k| !previous.members.contains_key(k));
    Ok(Plan {
        app: app.clone(),
        objects,
        kept,
        previous_revision: previous.revision,
        record_changes,
    })
}

/// What a sync did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// Counts per action.
    pub summary: Summary,
    /// The revision recorded.
    pub revision: Option<String>,
    /// Whether any object was created, changed or deleted (a sync that only brings the app's
    /// record up to date writes no object).
    pub wrote: bool,
}

/// Applies a plan: every object, every prune and the app's new inventory — on the embedded
/// cluster in one transaction, all or nothing. An object changed by someone else since the
/// plan was made is a conflict. The objects to write are moved out of the plan (its diffs
/// and keys stay), so a large sync holds them once.
pub fn apply(cluster: &mut dyn Cluster, plan: &mut Plan) -> Result<SyncReport, ReconcileError> {
    let summary = plan.summary();
    if !summary.has_changes() && !plan.record_changes {
        return Ok(SyncReport {
            summary,
            revision: plan.app.revision.clone(),
            wrote: false,
        });
    }
    let mut writes = Vec::new();
    let mut members = Vec::with_capacity(plan.objects.len() + plan.kept.len());
    for o in &mut plan.objects {
        let key = &o.diff.key;
        let applied = o.applied.take();
        match o.diff.action {
            Action::Create => {
                let object = applied.clone().unwrap_or(Value::Null);
                // The normalized copy in the diff is only for showing; drop it now.
                o.diff.desired = None;
                writes.push(Write::Create(object));
                members.push(Member {
                    key: key.clone(),
                    resource_version: None,
                    applied,
                });
            }
            Action::Update => {
                writes.push(Write::Update {
                    merged: o.write.take().unwrap_or(Value::Null),
                    desired: applied.clone().unwrap_or(Value::Null),
                    resource_version: o.live_version.clone(),
                });
                members.push(Member {
                    key: key.clone(),
                    resource_version: None,
                    applied,
                });
            }
            Action::Unchanged => members.push(Member {
                key: key.clone(),
                resource_version: Some(o.live_version.clone().unwrap_or_default()),
                applied,
            }),
            Action::Prune => writes.push(Write::Delete {
                key: key.clone(),
                resource_version: o.live_version.clone(),
            }),
        }
    }
    for k in &plan.kept {
        members.push(Member {
            key: k.key.clone(),
            resource_version: Some(k.resource_version.clone()),
            applied: None,
        });
    }
    cluster.commit(Change {
        writes,
        inventory: Some(InventoryUpdate {
            app: plan.app.name.clone(),
            revision: plan.app.revision.clone(),
            synced_at: crate::cluster::local::now_rfc3339(),
            members,
        }),
    })?;
    Ok(SyncReport {
        summary,
        revision: plan.app.revision.clone(),
        wrote: summary.has_changes(),
    })
}

/// Prepares, plans and (unless `dry_run`) applies: one sync of one app.
pub fn sync_once(
    cluster: &mut dyn Cluster,
    app: &AppSpec,
    desired: ResourceSet,
    dry_run: bool,
) -> Result<(Plan, Option<SyncReport>), ReconcileError> {
    let started = std::time::Instant::now();
    let prepared = prepare(cluster, app, desired)?;
    let prepared_at = started.elapsed();
    let plan = plan(cluster, app, prepared)?;
    let planned_at = started.elapsed();
    tracing::debug!(app = %app.name, ?prepared_at, ?planned_at, "planned");
    if dry_run {
        return Ok((plan, None));
    }
    let mut plan = plan;
    let report = apply(cluster, &mut plan)?;
    tracing::debug!(app = %app.name, elapsed = ?started.elapsed(), "applied");
    Ok((plan, Some(report)))
}
