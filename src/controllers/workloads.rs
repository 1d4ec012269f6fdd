//! Revision records of Deployments, StatefulSets and DaemonSets, as Kubernetes' own controllers
//! keep them, and `kascade rollout history|undo|restart` for them.
//!
//! - **Deployment** (kube-controller-manager `pkg/controller/deployment`): one ReplicaSet per
//!   distinct pod template, `NAME-<pod-template-hash>`, labelled `pod-template-hash`, owned by
//!   the Deployment (`controller: true`), annotated `deployment.kubernetes.io/revision` = the
//!   highest revision of the others + 1. A template that matches an older ReplicaSet (a
//!   rollback) reuses it and moves its revision to the top, the old number going to
//!   `deployment.kubernetes.io/revision-history`. The newest ReplicaSet has the Deployment's
//!   replicas, the others 0; `spec.revisionHistoryLimit` (default 10) old ones are kept. The
//!   Deployment gets the revision annotation, `status.observedGeneration` and a `Progressing`
//!   condition. A paused Deployment makes no new ReplicaSet.
//! - **StatefulSet, DaemonSet** (`pkg/controller/history`): one `apps/v1` ControllerRevision per
//!   distinct template, `NAME-<hash>`, labelled `controller-revision-hash`, `data` = the
//!   template as the patch `{"spec": {"template": {…, "$patch": "replace"}}}` kubectl rolls
//!   back with, `revision` numbered as above. A StatefulSet's `status.currentRevision` and
//!   `status.updateRevision` name the newest (the embedded cluster runs no pods, so a rollout is
//!   complete when recorded); a DaemonSet's status has no such fields upstream and gets only
//!   `observedGeneration`.
//!
//! Hashes are FNV-32a of the canonical JSON of the template (Kubernetes hashes its Go
//! structure), written with Kubernetes' safe alphabet; a name taken by a different template
//! bumps `status.collisionCount` and hashes again, as upstream.
//!
//! The records are the controller's, not the app's: no instance label, no applied hash, never in
//! an app's inventory — a sync neither shows nor prunes them, and only a pod-template change
//! of the workload (a sync that changes it, a trigger that sets an image, `rollout undo` or
//! `restart`) makes a new one. A reconcile that finds the newest record in place writes
//! nothing. Deleting a workload leaves its records (the embedded cluster has no garbage
//! collector; DeploymentConfigs' ReplicationControllers are the same).

use serde_json::{Map, Value, json};

use super::{Activity, Context, ControllerError, annotation, conditions, rv, str_at};
use crate::cluster::local::{Txn, now_rfc3339};
use crate::cluster::{ClusterError, LocalCluster};
use crate::resource::hash::canonical_json;
use crate::resource::{INSTANCE_LABEL, ResourceKey};

/// A ReplicaSet's (and its Deployment's) revision.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// The revisions a reused ReplicaSet had before, comma-separated.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas, on its ReplicaSets.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The replicas plus the rolling update's surge, on its ReplicaSets.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label with a ReplicaSet's template hash.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The label with a ControllerRevision's hash.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";
/// Why a revision was made (the CHANGE-CAUSE column of `rollout history`).
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
/// The pod-template annotation `rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// Old revisions kept when `spec.revisionHistoryLimit` is not set.
pub const DEFAULT_HISTORY_LIMIT: usize = 10;
/// Names tried before giving up on hash collisions.
const MAX_COLLISIONS: u32 = 16;

/// A workload kind whose revisions this controller records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `apps/v1` Deployment: ReplicaSets.
    Deployment,
    /// `apps/v1` StatefulSet: ControllerRevisions.
    StatefulSet,
    /// `apps/v1` DaemonSet: ControllerRevisions.
    DaemonSet,
}

impl Workload {
    /// The kind of `group`/`kind`, when this controller records its revisions.
    pub fn of(group: &str, kind: &str) -> Option<Self> {
        match (group, kind) {
            ("apps", "Deployment") => Some(Workload::Deployment),
            ("apps", "StatefulSet") => Some(Workload::StatefulSet),
            ("apps", "DaemonSet") => Some(Workload::DaemonSet),
            _ => None,
        }
    }

    /// `Deployment`, `StatefulSet`, `DaemonSet`.
    pub fn kind(self) -> &'static str {
        match self {
            Workload::Deployment => "Deployment",
            Workload::StatefulSet => "StatefulSet",
            Workload::DaemonSet => "DaemonSet",
        }
    }

    /// The key of the workload `ns/name`.
    pub fn key(self, ns: &str, name: &str) -> ResourceKey {
        ResourceKey::new("apps", self.kind(), ns, name)
    }

    /// The kind of its revision records.
    pub fn record_kind(self) -> &'static str {
        match self {
            Workload::Deployment => "ReplicaSet",
            _ => "ControllerRevision",
        }
    }

    /// `deployment.apps/NAME`, as kubectl names it.
    pub fn kubectl_name(self, name: &str) -> String {
        self.key("", name).kubectl_name()
    }

    fn resource(self) -> &'static str {
        match self {
            Workload::Deployment => "deployments.apps",
            Workload::StatefulSet => "statefulsets.apps",
            Workload::DaemonSet => "daemonsets.apps",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Workload::Deployment => "deployment",
            Workload::StatefulSet => "statefulset",
            Workload::DaemonSet => "daemonset",
        }
    }
}

/// FNV-32a.
fn fnv32a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Kubernetes' `rand.SafeEncodeString`: every character mapped into an alphabet without vowels
/// and look-alikes, so a hash never spells a word.
fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// The hash naming the record of `value` (a pod template, or a revision's data), with the
/// collision count mixed in when there was one (as `controller.ComputeHash`).
pub fn hash(value: &Value, collisions: u32) -> String {
    let mut bytes = canonical_json(value).into_bytes();
    if collisions > 0 {
        let mut extra = [0u8; 8];
        extra[..4].copy_from_slice(&collisions.to_le_bytes());
        bytes.extend_from_slice(&extra);
    }
    safe_encode(&fnv32a(&bytes).to_string())
}

/// A record's revision number (0 when unreadable).
pub fn revision_of(record: &Value) -> i64 {
    match record.get("kind").and_then(Value::as_str) {
        Some("ControllerRevision") => record.get("revision").and_then(Value::as_i64),
        _ => annotation(record, REVISION).and_then(|v| v.parse().ok()),
    }
    .unwrap_or(0)
}

fn owned_by(record: &Value, kind: &str, name: &str, uid: &str) -> bool {
    record
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("controller").and_then(Value::as_bool) == Some(true)
                    && r.get("kind").and_then(Value::as_str) == Some(kind)
                    && match r.get("uid").and_then(Value::as_str) {
                        Some(u) if !uid.is_empty() => u == uid,
                        _ => r.get("name").and_then(Value::as_str) == Some(name),
                    }
            })
        })
}

fn owner_ref(kind: &str, name: &str, uid: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid,
        "controller": true, "blockOwnerDeletion": true}])
}

/// The pod template without the ReplicaSet's hash label.
fn without_hash_label(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
        if labels.is_empty()
            && let Some(meta) = t.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("labels");
        }
    }
    t
}

/// The labels of `template` with one more.
fn labels_with(template: &Value, key: &str, value: &str) -> Map<String, Value> {
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.remove(INSTANCE_LABEL);
    labels.insert(key.into(), json!(value));
    labels
}

/// Sets the field at `path`, making (or replacing by) objects on the way.
fn put(v: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *v = value;
        return;
    };
    let mut cur = v;
    for p in parents {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .map(|m| m.entry(p.to_string()).or_insert(Value::Null))
            .unwrap_or_else(|| unreachable!("just made an object"));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    if let Some(m) = cur.as_object_mut() {
        m.insert(last.to_string(), value);
    }
}

fn i64_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

fn history_limit(workload: &Value) -> usize {
    i64_at(workload, "/spec/revisionHistoryLimit")
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(DEFAULT_HISTORY_LIMIT)
}

fn ensure_status(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("status").is_some_and(Value::is_object) {
        object["status"] = json!({});
    }
    match object.get_mut("status") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("status was just made an object"),
    }
}

fn set_annotation(object: &mut Value, key: &str, value: Option<&str>) {
    let mut annotations = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match value {
        Some(v) => annotations.insert(key.into(), json!(v)),
        None => annotations.remove(key),
    };
    put(
        object,
        &["metadata", "annotations"],
        Value::Object(annotations),
    );
}

/// `maxSurge` of a RollingUpdate strategy (default 25%, rounded up) over `replicas`.
fn max_surge(deployment: &Value, replicas: i64) -> i64 {
    if str_at(deployment, "/spec/strategy/type") == Some("Recreate") {
        return 0;
    }
    match deployment.pointer("/spec/strategy/rollingUpdate/maxSurge") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(pct) => (replicas * pct + 99) / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => (replicas * 25 + 99) / 100,
    }
}

/// Whether this controller records revisions of objects of `key`'s kind.
pub fn records(key: &ResourceKey) -> bool {
    Workload::of(&key.group, &key.kind).is_some()
}

/// Reconciles the revision records of one Deployment, StatefulSet or DaemonSet (any other key
/// is left alone). Returns the resourceVersions of the workload it wrote.
pub fn reconcile(
    cluster: &mut LocalCluster,
    ctx: &mut Context,
    key: &ResourceKey,
) -> Result<Vec<u64>, ControllerError> {
    let Some(kind) = Workload::of(&key.group, &key.kind) else {
        return Ok(Vec::new());
    };
    let mut txn = cluster.begin()?;
    let Some(object) = txn.get(key)? else {
        return Ok(Vec::new());
    };
    if object.pointer("/metadata/deletionTimestamp").is_some() {
        return Ok(Vec::new());
    }
    let before = object.clone();
    let now = now_rfc3339();
    let (object, activity) = match kind {
        Workload::Deployment => deployment(&mut txn, object, &now)?,
        _ => revisions(&mut txn, kind, object)?,
    };
    let mut written = Vec::new();
    if object != before {
        written.push(rv(&txn.update(object)?));
    }
    txn.commit()?;
    if let Some((version, cause)) = activity {
        ctx.record(Activity::RolledOut {
            key: key.clone(),
            version,
            cause,
        });
    }
    Ok(written)
}

/// The record of `subject` (the template, or the revision data) among `NAME-<hash>` names:
/// `(name, existing record, collision count)`.
fn find_record(
    txn: &Txn<'_>,
    kind: Workload,
    object: &Value,
    subject: &Value,
    same: impl Fn(&Value) -> bool,
) -> Result<Option<(String, Option<Value>, u32)>, ClusterError> {
    let name = str_at(object, "/metadata/name").unwrap_or_default();
    let ns = str_at(object, "/metadata/namespace").unwrap_or_default();
    let uid = str_at(object, "/metadata/uid").unwrap_or_default();
    let mut collisions = i64_at(object, "/status/collisionCount")
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0);
    for _ in 0..MAX_COLLISIONS {
        let record_name = format!("{name}-{}", hash(subject, collisions));
        let key = ResourceKey::new("apps", kind.record_kind(), ns, record_name.as_str());
        match txn.get(&key)? {
            None => return Ok(Some((record_name, None, collisions))),
            Some(r) if owned_by(&r, kind.kind(), name, uid) && same(&r) => {
                return Ok(Some((record_name, Some(r), collisions)));
            }
            Some(_) => collisions += 1, // the name is taken by another template
        }
    }
    Ok(None)
}

/// The records `object` owns, newest revision last.
fn owned_records(
    txn: &Txn<'_>,
    kind: Workload,
    object: &Value,
) -> Result<Vec<Value>, ClusterError> {
    let (name, ns) = crate::images::name_ns(object);
    let candidates = txn.list_prefix("apps", kind.record_kind(), ns, &format!("{name}-"))?;
    Ok(owned_among(candidates, kind, object))
}

/// Those of `candidates` `object` owns, newest revision last.
fn owned_among(candidates: Vec<Value>, kind: Workload, object: &Value) -> Vec<Value> {
    let (name, _) = crate::images::name_ns(object);
    let uid = str_at(object, "/metadata/uid").unwrap_or_default();
    let mut out: Vec<Value> = candidates
        .into_iter()
        .filter(|r| owned_by(r, kind.kind(), name, uid))
        .collect();
    out.sort_by_key(revision_of);
    out
}

/// Deletes the oldest of `old` (newest last) beyond `limit`.
fn prune(txn: &mut Txn<'_>, old: &[Value], limit: usize) -> Result<(), ClusterError> {
    let excess = old.len().saturating_sub(limit);
    for r in &old[..excess] {
        if let Ok(key) = ResourceKey::of(r) {
            txn.delete(&key)?;
        }
    }
    Ok(())
}

type Rolled = Option<(i64, String)>;

fn deployment(txn: &mut Txn<'_>, mut d: Value, now: &str) -> Result<(Value, Rolled), ClusterError> {
    let name = str_at(&d, "/metadata/name").unwrap_or_default().to_string();
    let ns = str_at(&d, "/metadata/namespace")
        .unwrap_or_default()
        .to_string();
    let uid = str_at(&d, "/metadata/uid").unwrap_or_default().to_string();
    let generation = i64_at(&d, "/metadata/generation").unwrap_or(1);
    let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let replicas = i64_at(&d, "/spec/replicas").unwrap_or(1);
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    let desired = replicas.to_string();
    let max = (replicas + max_surge(&d, replicas)).to_string();
    let same = |rs: &Value| {
        without_hash_label(rs.pointer("/spec/template").unwrap_or(&Value::Null)) == template
    };
    let Some((rs_name, found, collisions)) =
        find_record(txn, Workload::Deployment, &d, &template, same)?
    else {
        return Ok((d, None)); // every name taken: leave it (upstream retries forever)
    };
    let current = annotation(&d, REVISION).map(str::to_string);
    let settled = |rs: &Value| {
        annotation(rs, REVISION) == current.as_deref()
            && i64_at(rs, "/spec/replicas") == Some(replicas)
            && annotation(rs, DESIRED_REPLICAS) == Some(desired.as_str())
            && i64_at(&d, "/status/observedGeneration") == Some(generation)
    };
    if found.as_ref().is_some_and(settled) {
        return Ok((d, None)); // the steady state: nothing to read or write
    }
    let status = ensure_status(&mut d);
    status.insert("observedGeneration".into(), json!(generation));
    if collisions > 0 {
        status.insert("collisionCount".into(), json!(collisions));
    }
    if paused && found.is_none() {
        return Ok((d, None)); // a paused Deployment makes no new ReplicaSet
    }
    let all = owned_records(txn, Workload::Deployment, &d)?;
    let old: Vec<Value> = all
        .into_iter()
        .filter(|r| str_at(r, "/metadata/name") != Some(rs_name.as_str()))
        .collect();
    let next = old.iter().map(revision_of).max().unwrap_or(0) + 1;
    let hash = rs_name.rsplit_once('-').map_or("", |(_, h)| h).to_string();
    let cause = annotation(&d, CHANGE_CAUSE).map(str::to_string);
    let mut rolled = None;
    let newest = match found {
        None => {
            let mut rs_template = template.clone();
            if !rs_template.is_object() {
                rs_template = json!({});
            }
            rs_template["metadata"] = rs_template
                .get("metadata")
                .filter(|m| m.is_object())
                .cloned()
                .unwrap_or(json!({}));
            rs_template["metadata"]["labels"] =
                Value::Object(labels_with(&template, POD_TEMPLATE_HASH, &hash));
            let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
            if !selector.is_object() {
                selector = json!({});
            }
            if !selector.get("matchLabels").is_some_and(Value::is_object) {
                selector["matchLabels"] = json!({});
            }
            selector["matchLabels"][POD_TEMPLATE_HASH] = json!(hash);
            let mut annotations =
                json!({REVISION: next.to_string(), DESIRED_REPLICAS: desired, MAX_REPLICAS: max});
            if let Some(c) = &cause {
                annotations[CHANGE_CAUSE] = json!(c);
            }
            let mut spec =
                json!({"replicas": replicas, "selector": selector, "template": rs_template});
            if let Some(m) = d.pointer("/spec/minReadySeconds") {
                spec["minReadySeconds"] = m.clone();
            }
            let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": ns,
                    "labels": labels_with(&template, POD_TEMPLATE_HASH, &hash),
                    "annotations": annotations,
                    "ownerReferences": owner_ref("Deployment", &name, &uid)},
                "spec": spec});
            rolled = Some((next, format!("replicaset {rs_name} created")));
            txn.create(rs)?
        }
        Some(mut rs) => {
            let before = rs.clone();
            let had = revision_of(&rs);
            if had < next {
                let mut history: Vec<String> = annotation(&rs, REVISION_HISTORY)
                    .map(|h| h.split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                history.push(had.to_string());
                set_annotation(&mut rs, REVISION_HISTORY, Some(&history.join(",")));
                set_annotation(&mut rs, REVISION, Some(&next.to_string()));
                if let Some(c) = &cause {
                    set_annotation(&mut rs, CHANGE_CAUSE, Some(c));
                }
                rolled = Some((
                    next,
                    format!("replicaset {rs_name} of revision {had} again"),
                ));
            }
            put(&mut rs, &["spec", "replicas"], json!(replicas));
            set_annotation(&mut rs, DESIRED_REPLICAS, Some(&desired));
            set_annotation(&mut rs, MAX_REPLICAS, Some(&max));
            if rs != before { txn.update(rs)? } else { rs }
        }
    };
    for mut r in old.iter().cloned() {
        if i64_at(&r, "/spec/replicas") != Some(0) {
            put(&mut r, &["spec", "replicas"], json!(0));
            txn.update(r)?;
        }
    }
    prune(txn, &old, history_limit(&d))?;
    let revision = revision_of(&newest).to_string();
    set_annotation(&mut d, REVISION, Some(&revision));
    conditions::set(
        &mut d,
        "Progressing",
        "True",
        "NewReplicaSetAvailable",
        &format!("ReplicaSet {rs_name:?} has successfully progressed."),
        now,
    );
    Ok((d, rolled))
}

/// The ControllerRevision data of a pod template: the patch that puts it back.
pub fn revision_data(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(m) = t.as_object_mut() {
        m.insert("$patch".into(), json!("replace"));
    } else {
        t = json!({"$patch": "replace"});
    }
    json!({"spec": {"template": t}})
}

/// The pod template a ControllerRevision holds.
pub fn template_of_revision(record: &Value) -> Option<Value> {
    let mut t = record.pointer("/data/spec/template")?.clone();
    t.as_object_mut()?.remove("$patch");
    Some(t)
}

fn revisions(
    txn: &mut Txn<'_>,
    kind: Workload,
    mut o: Value,
) -> Result<(Value, Rolled), ClusterError> {
    let name = str_at(&o, "/metadata/name").unwrap_or_default().to_string();
    let ns = str_at(&o, "/metadata/namespace")
        .unwrap_or_default()
        .to_string();
    let uid = str_at(&o, "/metadata/uid").unwrap_or_default().to_string();
    let generation = i64_at(&o, "/metadata/generation").unwrap_or(1);
    let template = o.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let data = revision_data(&template);
    let same = |cr: &Value| cr.get("data") == Some(&data);
    let Some((cr_name, found, collisions)) = find_record(txn, kind, &o, &data, same)? else {
        return Ok((o, None));
    };
    let statefulset = kind == Workload::StatefulSet;
    let settled = i64_at(&o, "/status/observedGeneration") == Some(generation)
        && (!statefulset || str_at(&o, "/status/updateRevision") == Some(cr_name.as_str()));
    if found.is_some() && settled {
        return Ok((o, None));
    }
    let all = owned_records(txn, kind, &o)?;
    let old: Vec<Value> = all
        .into_iter()
        .filter(|r| str_at(r, "/metadata/name") != Some(cr_name.as_str()))
        .collect();
    let next = old.iter().map(revision_of).max().unwrap_or(0) + 1;
    let cause = annotation(&o, CHANGE_CAUSE).map(str::to_string);
    let mut rolled = None;
    match found {
        None => {
            let hash = cr_name.rsplit_once('-').map_or("", |(_, h)| h);
            let mut meta = json!({"name": cr_name, "namespace": ns,
                "labels": labels_with(&template, CONTROLLER_REVISION_HASH, hash),
                "ownerReferences": owner_ref(kind.kind(), &name, &uid)});
            if let Some(c) = &cause {
                meta["annotations"] = json!({CHANGE_CAUSE: c});
            }
            txn.create(
                json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": meta, "data": data, "revision": next}),
            )?;
            rolled = Some((next, format!("controllerrevision {cr_name} created")));
        }
        Some(mut cr) => {
            let had = revision_of(&cr);
            if had < next {
                cr["revision"] = json!(next);
                txn.update(cr)?;
                rolled = Some((
                    next,
                    format!("controllerrevision {cr_name} of revision {had} again"),
                ));
            }
        }
    }
    prune(txn, &old, history_limit(&o))?;
    let status = ensure_status(&mut o);
    status.insert("observedGeneration".into(), json!(generation));
    if collisions > 0 {
        status.insert("collisionCount".into(), json!(collisions));
    }
    if statefulset {
        status.insert("currentRevision".into(), json!(cr_name));
        status.insert("updateRevision".into(), json!(cr_name));
    }
    Ok((o, rolled))
}

/// A `kascade rollout` command on a Deployment, StatefulSet or DaemonSet that failed.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// No such workload.
    #[error("{resource} {name:?} not found in namespace {namespace:?}")]
    NotFound {
        /// `deployments.apps`.
        resource: &'static str,
        /// Its name.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// No earlier revision to roll back to.
    #[error("no rollout history found for {noun} {name:?}")]
    NoHistory {
        /// `deployment`.
        noun: &'static str,
        /// Its name.
        name: String,
    },
    /// The revision asked for does not exist.
    #[error("unable to find specified revision {0} in history")]
    RevisionNotFound(i64),
    /// A paused Deployment.
    #[error("{0}")]
    Paused(String),
    /// A revision record without a pod template.
    #[error("revision {revision} of {noun} {name:?} ({record}) holds no pod template")]
    BadRevision {
        /// `deployment`.
        noun: &'static str,
        /// The workload.
        name: String,
        /// The revision.
        revision: i64,
        /// The record's name.
        record: String,
    },
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// One revision of `kascade rollout history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Its number.
    pub revision: i64,
    /// Its `kubernetes.io/change-cause`, if any.
    pub change_cause: Option<String>,
    /// The record (`web-5c8d9f7b6`).
    pub record: String,
}

fn load(txn: &Txn<'_>, kind: Workload, ns: &str, name: &str) -> Result<Value, RolloutError> {
    txn.get(&kind.key(ns, name))?
        .ok_or_else(|| RolloutError::NotFound {
            resource: kind.resource(),
            name: name.to_string(),
            namespace: ns.to_string(),
        })
}

/// The revisions of a workload, oldest first.
pub fn history(
    cluster: &LocalCluster,
    kind: Workload,
    ns: &str,
    name: &str,
) -> Result<Vec<Revision>, RolloutError> {
    let object = cluster
        .get(&kind.key(ns, name))?
        .ok_or_else(|| RolloutError::NotFound {
            resource: kind.resource(),
            name: name.to_string(),
            namespace: ns.to_string(),
        })?;
    let candidates = cluster.list_prefix("apps", kind.record_kind(), ns, &format!("{name}-"))?;
    Ok(owned_among(candidates, kind, &object)
        .iter()
        .map(|r| Revision {
            revision: revision_of(r),
            change_cause: annotation(r, CHANGE_CAUSE).map(str::to_string),
            record: str_at(r, "/metadata/name").unwrap_or_default().to_string(),
        })
        .collect())
}

/// What `rollout undo` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// The pod template of this revision is the workload's again (the controller then records
    /// it as the newest revision).
    RolledBack(i64),
    /// The workload's template already is that revision's.
    Skipped(i64),
}

fn record_template(kind: Workload, record: &Value) -> Option<Value> {
    match kind {
        Workload::Deployment => record.pointer("/spec/template").map(without_hash_label),
        _ => template_of_revision(record),
    }
}

/// `kascade rollout undo`: puts the pod template of `to_revision` (default: the revision
/// before the newest) back into the workload, as kubectl does.
pub fn undo(
    cluster: &mut LocalCluster,
    kind: Workload,
    ns: &str,
    name: &str,
    to_revision: Option<i64>,
) -> Result<Undo, RolloutError> {
    let mut txn = cluster.begin()?;
    let mut object = load(&txn, kind, ns, name)?;
    if kind == Workload::Deployment
        && object.pointer("/spec/paused").and_then(Value::as_bool) == Some(true)
    {
        return Err(RolloutError::Paused(format!(
            "you cannot rollback a paused deployment; resume it first (spec.paused: false) and try again ({})",
            kind.kubectl_name(name)
        )));
    }
    let records = owned_records(&txn, kind, &object)?;
    let target = match to_revision.filter(|r| *r > 0) {
        Some(r) => records
            .iter()
            .find(|rec| revision_of(rec) == r)
            .ok_or(RolloutError::RevisionNotFound(r))?,
        // Newest last: the one before it.
        None => records
            .len()
            .checked_sub(2)
            .and_then(|i| records.get(i))
            .ok_or(RolloutError::NoHistory {
                noun: kind.noun(),
                name: name.to_string(),
            })?,
    };
    let revision = revision_of(target);
    let template = record_template(kind, target).ok_or_else(|| RolloutError::BadRevision {
        noun: kind.noun(),
        name: name.to_string(),
        revision,
        record: str_at(target, "/metadata/name")
            .unwrap_or_default()
            .to_string(),
    })?;
    if object.pointer("/spec/template") == Some(&template) {
        return Ok(Undo::Skipped(revision));
    }
    put(&mut object, &["spec", "template"], template);
    if kind == Workload::Deployment {
        set_annotation(&mut object, CHANGE_CAUSE, annotation(target, CHANGE_CAUSE));
    }
    txn.update(object)?;
    txn.commit()?;
    Ok(Undo::RolledBack(revision))
}

/// `kascade rollout restart`: stamps the pod template with `kubectl.kubernetes.io/restartedAt`
/// = `now`, which makes a new revision.
pub fn restart(
    cluster: &mut LocalCluster,
    kind: Workload,
    ns: &str,
    name: &str,
    now: &str,
) -> Result<(), RolloutError> {
    let mut txn = cluster.begin()?;
    let mut object = load(&txn, kind, ns, name)?;
    if kind == Workload::Deployment
        && object.pointer("/spec/paused").and_then(Value::as_bool) == Some(true)
    {
        return Err(RolloutError::Paused(
            "can't restart paused deployment (run rollout resume first)".into(),
        ));
    }
    let mut annotations = object
        .pointer("/spec/template/metadata/annotations")
        .filter(|a| a.is_object())
        .cloned()
        .unwrap_or(json!({}));
    annotations[RESTARTED_AT] = json!(now);
    put(
        &mut object,
        &["spec", "template", "metadata", "annotations"],
        annotations,
    );
    txn.update(object)?;
    txn.commit()?;
    Ok(())
}

/// Whether the workload has `image.openshift.io/triggers` entries that are not paused (they
/// set their images again after an undo).
pub fn has_active_triggers(cluster: &LocalCluster, kind: Workload, ns: &str, name: &str) -> bool {
    let Ok(Some(object)) = cluster.get(&kind.key(ns, name)) else {
        return false;
    };
    super::annotations::pod_spec_path("apps", kind.kind())
        .is_some_and(|prefix| !super::annotations::parse(&object, prefix).0.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_safe_and_move_with_collisions() {
        let t = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}});
        let h = hash(&t, 0);
        assert!(!h.is_empty() && h.len() <= 10, "{h}");
        assert!(h.chars().all(|c| "456789bcdf".contains(c)), "{h}");
        // Key order does not matter; content and the collision count do.
        let reordered = json!({"spec": {"containers": [{"image": "nginx:1", "name": "web"}]}, "metadata": {"labels": {"app": "web"}}});
        assert_eq!(hash(&reordered, 0), h);
        assert_ne!(hash(&t, 1), h);
        let mut other = t.clone();
        other["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert_ne!(hash(&other, 0), h);
        // FNV-32a known answers.
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
        // The decimal digits map to these ten, as in real pod-template-hash values.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn surge_defaults_to_a_quarter_rounded_up() {
        let d = |s: Value| json!({"spec": {"strategy": s}});
        assert_eq!(max_surge(&d(json!({})), 3), 1);
        assert_eq!(max_surge(&d(json!({})), 10), 3);
        assert_eq!(
            max_surge(&d(json!({"rollingUpdate": {"maxSurge": "50%"}})), 3),
            2
        );
        assert_eq!(
            max_surge(&d(json!({"rollingUpdate": {"maxSurge": 2}})), 3),
            2
        );
        assert_eq!(max_surge(&d(json!({"type": "Recreate"})), 3), 0);
    }

    #[test]
    fn revision_data_round_trips_the_template() {
        let t = json!({"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "pg:16"}]}});
        let data = revision_data(&t);
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        let cr = json!({"kind": "ControllerRevision", "data": data, "revision": 3});
        assert_eq!(template_of_revision(&cr), Some(t));
        assert_eq!(revision_of(&cr), 3);
        let rs = json!({"kind": "ReplicaSet", "metadata": {"annotations": {REVISION: "7"},
            "labels": {POD_TEMPLATE_HASH: "x"}}, "spec": {"template": {"metadata": {"labels": {"app": "a", POD_TEMPLATE_HASH: "x"}}}}});
        assert_eq!(revision_of(&rs), 7);
        assert_eq!(
            record_template(Workload::Deployment, &rs),
            Some(json!({"metadata": {"labels": {"app": "a"}}}))
        );
    }

    #[test]
    fn ownership_needs_a_controller_reference_of_the_kind() {
        let rs = json!({"metadata": {"ownerReferences": owner_ref("Deployment", "web", "u1")}});
        assert!(owned_by(&rs, "Deployment", "web", "u1"));
        assert!(!owned_by(&rs, "Deployment", "web", "u2"));
        assert!(!owned_by(&rs, "StatefulSet", "web", "u1"));
        let mut not_controller = rs.clone();
        not_controller["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        assert!(!owned_by(&not_controller, "Deployment", "web", "u1"));
    }
}
