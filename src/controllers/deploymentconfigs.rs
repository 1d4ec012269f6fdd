//! DeploymentConfigs (openshift-semantics §12): the image trigger, the rollout decision, one
//! ReplicationController `NAME-N` per rollout, and `kascade rollout latest|history|undo`.
//!
//! - **Image trigger**: for each `automatic` ImageChange trigger whose ImageStreamTag
//!   resolves, `lastTriggeredImage` and the `image` of every container and init container in
//!   `containerNames` become the resolved pull spec. A trigger that does not resolve while its
//!   `lastTriggeredImage` is empty stops the whole update.
//! - **Rollout** (`status.latestVersion++`), unless `spec.paused` or a container image is
//!   empty: the first once every ImageChange trigger has a `lastTriggeredImage` (immediately
//!   with only ConfigChange); later on an image not in the latest revision (ImageChange) or a
//!   pod template that differs from it (ConfigChange). No triggers, no automatic rollout.
//! - **Revision record**: ReplicationController `NAME-N` holding the pod template, annotated as
//!   OpenShift does (`openshift.io/deployment-config.latest-version`,
//!   `openshift.io/deployment.phase`, `openshift.io/encoded-deployment-config`, …); the previous
//!   revision is scaled to 0; `revisionHistoryLimit` (default 10) old revisions are kept. The
//!   embedded cluster runs no pods: a revision is `Complete` when recorded.

use serde_json::{Value, json};

use super::conditions;
use super::imagestreams::stream_key;
use super::{Activity, Context, ControllerError, annotation, rv, str_at};
use crate::cluster::local::{Txn, now_rfc3339};
use crate::cluster::{ClusterError, LocalCluster, Selector};
use crate::images::{self, resolve_tag, split_stream_tag};
use crate::resource::ResourceKey;
use crate::resource::hash::canonical_json;

/// The label and annotation naming a revision's DeploymentConfig.
pub const DC_NAME: &str = "openshift.io/deployment-config.name";
/// The annotation with a revision's version.
pub const LATEST_VERSION: &str = "openshift.io/deployment-config.latest-version";
/// The annotation with a revision's phase.
pub const PHASE: &str = "openshift.io/deployment.phase";
/// The annotation with a revision's cause.
pub const STATUS_REASON: &str = "openshift.io/deployment.status-reason";
/// The annotation holding the DeploymentConfig a revision was made from, as JSON.
pub const ENCODED: &str = "openshift.io/encoded-deployment-config";

/// A rollout command that failed.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// No such DeploymentConfig.
    #[error("deploymentconfigs.apps.openshift.io {name:?} not found in namespace {namespace:?}")]
    NotFound {
        /// Its name.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// Paused.
    #[error("cannot deploy a paused deployment config {0:?}")]
    Paused(String),
    /// No revision to go back to.
    #[error("no rollout history found for deploymentconfig {name:?}{}", .revision.map(|r| format!(" at revision {r}")).unwrap_or_default())]
    NoHistory {
        /// The DeploymentConfig.
        name: String,
        /// The revision asked for.
        revision: Option<i64>,
    },
    /// The revision record is unreadable.
    #[error(
        "revision {revision} of deploymentconfig {name:?} has no readable {ENCODED} annotation"
    )]
    BadRevision {
        /// The DeploymentConfig.
        name: String,
        /// The revision.
        revision: i64,
    },
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// One ImageChange trigger of a DeploymentConfig.
#[derive(Debug, Clone)]
struct DcTrigger {
    index: usize,
    automatic: bool,
    containers: Vec<String>,
    namespace: String,
    name: String,
    last: Option<String>,
}

fn triggers(dc: &Value, ns: &str) -> (Vec<DcTrigger>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let list = dc
        .pointer("/spec/triggers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, t) in list.iter().enumerate() {
        if t.get("type").and_then(Value::as_str) != Some("ImageChange") {
            continue;
        }
        let p = t.get("imageChangeParams").cloned().unwrap_or(json!({}));
        let kind = str_at(&p, "/from/kind").unwrap_or_default();
        let mut name = str_at(&p, "/from/name").unwrap_or_default().to_string();
        match kind {
            "ImageStreamTag" => {}
            "ImageStream" => name = format!("{name}:latest"),
            other => {
                problems.push((
                    "InvalidTrigger".into(),
                    format!("spec.triggers[{index}].imageChangeParams.from.kind {other:?}: it must be ImageStreamTag"),
                ));
                continue;
            }
        }
        if split_stream_tag(&name).is_none() {
            problems.push((
                "InvalidTrigger".into(),
                format!("spec.triggers[{index}].imageChangeParams.from.name {name:?}: must be in the form of <name>:<tag>"),
            ));
            continue;
        }
        let containers: Vec<String> = p
            .get("containerNames")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if containers.is_empty() {
            problems.push((
                "InvalidTrigger".into(),
                format!("spec.triggers[{index}].imageChangeParams.containerNames: Required value"),
            ));
            continue;
        }
        out.push(DcTrigger {
            index,
            automatic: p.get("automatic").and_then(Value::as_bool) == Some(true),
            containers,
            namespace: str_at(&p, "/from/namespace")
                .filter(|s| !s.is_empty())
                .unwrap_or(ns)
                .to_string(),
            name,
            last: str_at(&p, "/lastTriggeredImage")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        });
    }
    (out, problems)
}

/// The streams a DeploymentConfig's ImageChange triggers follow.
pub fn followed_streams(dc: &Value) -> Vec<(String, String)> {
    let (_, ns) = images::name_ns(dc);
    let mut out: Vec<(String, String)> = triggers(dc, ns)
        .0
        .iter()
        .filter_map(|t| {
            split_stream_tag(&t.name).map(|(s, _)| (t.namespace.clone(), s.to_string()))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn has_trigger(dc: &Value, ty: &str) -> bool {
    dc.pointer("/spec/triggers")
        .and_then(Value::as_array)
        .is_some_and(|ts| {
            ts.iter()
                .any(|t| t.get("type").and_then(Value::as_str) == Some(ty))
        })
}

fn containers_mut<'a>(dc: &'a mut Value, list: &str) -> Option<&'a mut Vec<Value>> {
    dc.pointer_mut(&format!("/spec/template/spec/{list}"))
        .and_then(Value::as_array_mut)
}

fn images_of(template: &Value) -> Vec<String> {
    ["containers", "initContainers"]
        .iter()
        .flat_map(|l| {
            template
                .pointer(&format!("/spec/{l}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn rc_key(ns: &str, name: &str, version: i64) -> ResourceKey {
    ResourceKey::new("", "ReplicationController", ns, format!("{name}-{version}"))
}

/// The DeploymentConfig a revision was made from.
pub fn decoded(rc: &Value) -> Option<Value> {
    annotation(rc, ENCODED).and_then(|s| serde_json::from_str(s).ok())
}

fn latest_version(dc: &Value) -> i64 {
    dc.pointer("/status/latestVersion")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn bump(dc: &mut Value, message: &str, causes: Vec<Value>) -> i64 {
    let v = latest_version(dc) + 1;
    if !dc.get("status").is_some_and(Value::is_object) {
        dc["status"] = json!({});
    }
    dc["status"]["latestVersion"] = json!(v);
    dc["status"]["details"] = json!({"message": message, "causes": causes});
    v
}

/// Reconciles one DeploymentConfig: image triggers, the rollout decision, the revision record.
pub fn reconcile(
    cluster: &mut LocalCluster,
    ctx: &mut Context,
    key: &ResourceKey,
) -> Result<Vec<u64>, ControllerError> {
    let mut txn = cluster.begin()?;
    let Some(mut dc) = txn.get(key)? else {
        return Ok(Vec::new());
    };
    let before = dc.clone();
    let ns = key.namespace.clone();
    let now = now_rfc3339();
    let (trigs, mut problems) = triggers(&dc, &ns);
    // 1. The image trigger.
    let mut updated = dc.clone();
    let mut abort = false;
    let mut image_updates = Vec::new();
    for t in &trigs {
        let Some((stream, tag)) = split_stream_tag(&t.name) else {
            continue;
        };
        let resolved = match txn.get(&stream_key(&t.namespace, stream))? {
            None => {
                problems.push((
                    "ImageStreamNotFound".into(),
                    format!(
                        "the ImageChange trigger names imagestream {stream:?}, which does not exist in namespace {:?}",
                        t.namespace
                    ),
                ));
                None
            }
            Some(s) => resolve_tag(&s, tag),
        };
        if !t.automatic {
            continue;
        }
        let Some(image) = resolved else {
            if t.last.is_none() {
                abort = true;
            }
            continue;
        };
        if let Some(p) = updated
            .pointer_mut(&format!("/spec/triggers/{}/imageChangeParams", t.index))
            .and_then(Value::as_object_mut)
        {
            p.insert("lastTriggeredImage".into(), json!(image));
        }
        for list in ["containers", "initContainers"] {
            for c in containers_mut(&mut updated, list).into_iter().flatten() {
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if t.containers.contains(&name)
                    && c.get("image").and_then(Value::as_str) != Some(image.as_str())
                {
                    c["image"] = json!(image);
                    image_updates.push((name, image.clone()));
                }
            }
        }
    }
    if !abort {
        dc = updated;
    } else {
        image_updates.clear();
    }
    // 2. The rollout decision.
    let mut rolled = None;
    let paused = dc.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    let empty_image = images_of(dc.pointer("/spec/template").unwrap_or(&Value::Null))
        .iter()
        .any(String::is_empty)
        || dc
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.get("image")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                })
            });
    let has_ic = !trigs.is_empty();
    let has_cc = has_trigger(&dc, "ConfigChange");
    let latest = latest_version(&dc);
    if !paused && !empty_image {
        let image_cause = || {
            let causes: Vec<Value> = trigs
                .iter()
                .filter_map(|t| {
                    str_at(&dc, &format!("/spec/triggers/{}/imageChangeParams/lastTriggeredImage", t.index))
                        .map(|i| json!({"type": "ImageChange", "imageTrigger": {"from": {"kind": "DockerImage", "name": i}}}))
                })
                .collect();
            causes
        };
        if latest == 0 {
            let all_triggered = trigs.iter().all(|t| {
                str_at(
                    &dc,
                    &format!(
                        "/spec/triggers/{}/imageChangeParams/lastTriggeredImage",
                        t.index
                    ),
                )
                .is_some_and(|s| !s.is_empty())
            });
            if has_ic && all_triggered {
                let causes = image_cause();
                rolled = Some(("image change", causes));
            } else if !has_ic && has_cc {
                rolled = Some(("config change", vec![json!({"type": "ConfigChange"})]));
            }
        } else if let Some(rc) = txn.get(&rc_key(&ns, &key.name, latest))? {
            let rc_template = decoded(&rc)
                .and_then(|d| d.pointer("/spec/template").cloned())
                .unwrap_or(Value::Null);
            let rc_images = images_of(&rc_template);
            let template = dc.pointer("/spec/template").cloned().unwrap_or(Value::Null);
            if has_ic && images_of(&template).iter().any(|i| !rc_images.contains(i)) {
                rolled = Some(("image change", image_cause()));
            } else if has_cc && canonical_json(&template) != canonical_json(&rc_template) {
                rolled = Some(("config change", vec![json!({"type": "ConfigChange"})]));
            }
        }
    }
    let mut rollout_activity = None;
    if let Some((message, causes)) = &rolled {
        let v = bump(&mut dc, message, causes.clone());
        rollout_activity = Some(Activity::RolledOut {
            key: key.clone(),
            version: v,
            cause: message.to_string(),
        });
    }
    // 3. The revision record of latestVersion.
    ensure_revision(&mut txn, &mut dc, &now)?;
    conditions::report_triggers(&mut dc, &problems, &now);
    let mut written = Vec::new();
    if dc != before {
        written.push(rv(&txn.update(dc)?));
    }
    txn.commit()?;
    for (container, image) in image_updates {
        ctx.record(Activity::ImageUpdated {
            key: key.clone(),
            container,
            image,
        });
    }
    if let Some(a) = rollout_activity {
        ctx.record(a);
    }
    if let Some(m) = conditions::new_trigger_problem(&before, &problems) {
        ctx.record(Activity::Problem {
            key: key.clone(),
            message: m.clone(),
        });
    }
    Ok(written)
}

/// Creates ReplicationController `NAME-<latestVersion>` when missing, scales the previous
/// revision to 0 and prunes revisions beyond `revisionHistoryLimit`.
fn ensure_revision(txn: &mut Txn<'_>, dc: &mut Value, now: &str) -> Result<(), ControllerError> {
    let version = latest_version(dc);
    if version == 0 {
        return Ok(());
    }
    let (name, ns) = images::name_ns(dc);
    let (name, ns) = (name.to_string(), ns.to_string());
    let key = rc_key(&ns, &name, version);
    if txn.get(&key)?.is_some() {
        return Ok(());
    }
    let rc_name = key.name.clone();
    let mut encoded = dc.clone();
    if let Some(m) = encoded.as_object_mut() {
        m.remove("status");
    }
    if let Some(m) = encoded.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    let mut template = dc.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut selector = dc.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    for target in [
        &mut selector,
        template
            .pointer_mut("/metadata/labels")
            .unwrap_or(&mut Value::Null),
    ] {
        if let Some(m) = target.as_object_mut() {
            m.insert("deployment".into(), json!(rc_name));
            m.insert("deploymentconfig".into(), json!(name));
        }
    }
    if template.pointer("/metadata/labels").is_none() {
        template["metadata"]["labels"] = json!({"deployment": rc_name, "deploymentconfig": name});
    }
    let message = str_at(dc, "/status/details/message")
        .unwrap_or("config change")
        .to_string();
    let replicas = dc.pointer("/spec/replicas").cloned().unwrap_or(json!(1));
    txn.create(json!({
        "apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": rc_name, "namespace": ns,
            "labels": {DC_NAME: name},
            "annotations": {DC_NAME: name, LATEST_VERSION: version.to_string(), PHASE: "Complete",
                STATUS_REASON: message, ENCODED: canonical_json(&encoded)},
            "ownerReferences": [{"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig", "name": name,
                "uid": dc.pointer("/metadata/uid").cloned().unwrap_or(Value::Null), "controller": true}]},
        "spec": {"replicas": replicas, "selector": selector, "template": template},
    }))?;
    // Older revisions: scale to 0, keep revisionHistoryLimit of them.
    let limit = dc
        .pointer("/spec/revisionHistoryLimit")
        .and_then(Value::as_i64)
        .unwrap_or(10);
    // Every rollout does this, so only the previous revision can still be scaled up and only
    // the one just past the limit can be left over: point reads, not a list of every revision.
    if let Some(mut previous) = txn.get(&rc_key(&ns, &name, version - 1))?
        && previous.pointer("/spec/replicas").and_then(Value::as_i64) != Some(0)
    {
        previous["spec"]["replicas"] = json!(0);
        txn.update(previous)?;
    }
    let expired = version - limit - 1;
    if expired > 0 {
        txn.delete(&rc_key(&ns, &name, expired))?;
    }
    conditions::set(
        dc,
        "Progressing",
        "True",
        "NewReplicationControllerAvailable",
        &format!("replication controller {rc_name:?} successfully rolled out"),
        now,
    );
    Ok(())
}

fn revision_of(rc: &Value) -> i64 {
    annotation(rc, LATEST_VERSION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn load(txn: &Txn<'_>, ns: &str, name: &str) -> Result<Value, RolloutError> {
    txn.get(&ResourceKey::new(
        "apps.openshift.io",
        "DeploymentConfig",
        ns,
        name,
    ))?
    .ok_or_else(|| RolloutError::NotFound {
        name: name.to_string(),
        namespace: ns.to_string(),
    })
}

/// `kascade rollout latest`: a new rollout of the current template (cause "manual change").
/// Returns the new version.
pub fn rollout_latest(
    cluster: &mut LocalCluster,
    ns: &str,
    name: &str,
) -> Result<i64, RolloutError> {
    let mut txn = cluster.begin()?;
    let mut dc = load(&txn, ns, name)?;
    if dc.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Err(RolloutError::Paused(name.to_string()));
    }
    let v = bump(&mut dc, "manual change", vec![json!({"type": "Manual"})]);
    txn.update(dc)?;
    txn.commit()?;
    Ok(v)
}

/// One revision of `kascade rollout history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Its version.
    pub version: i64,
    /// Its phase.
    pub status: String,
    /// Its cause.
    pub cause: String,
    /// The images of its pod template.
    pub images: Vec<String>,
}

/// The revisions of a DeploymentConfig, oldest first.
pub fn history(
    cluster: &LocalCluster,
    ns: &str,
    name: &str,
) -> Result<Vec<Revision>, RolloutError> {
    if cluster
        .get(&ResourceKey::new(
            "apps.openshift.io",
            "DeploymentConfig",
            ns,
            name,
        ))?
        .is_none()
    {
        return Err(RolloutError::NotFound {
            name: name.to_string(),
            namespace: ns.to_string(),
        });
    }
    let sel = Selector::parse(&format!("{DC_NAME}={name}")).unwrap_or_default();
    let mut out: Vec<Revision> = cluster
        .list("", "ReplicationController", Some(ns), &sel)?
        .iter()
        .map(|rc| Revision {
            version: revision_of(rc),
            status: annotation(rc, PHASE).unwrap_or("Unknown").to_string(),
            cause: annotation(rc, STATUS_REASON).unwrap_or("").to_string(),
            images: images_of(rc.pointer("/spec/template").unwrap_or(&Value::Null)),
        })
        .collect();
    out.sort_by_key(|r| r.version);
    Ok(out)
}

/// `kascade rollout undo`: rolls the pod template back to `to_revision` (default: the
/// revision before the latest) as a new rollout. Like `oc rollout undo`, automatic ImageChange
/// triggers are switched off so they do not roll forward again at once; returns the revision
/// rolled back to, the new version and the triggers disabled (`stream:tag`).
pub fn undo(
    cluster: &mut LocalCluster,
    ns: &str,
    name: &str,
    to_revision: Option<i64>,
) -> Result<(i64, i64, Vec<String>), RolloutError> {
    let mut txn = cluster.begin()?;
    let mut dc = load(&txn, ns, name)?;
    let latest = latest_version(&dc);
    let target = match to_revision {
        Some(r) if r > 0 => r,
        _ => {
            let sel = Selector::parse(&format!("{DC_NAME}={name}")).unwrap_or_default();
            txn.list("", "ReplicationController", Some(ns), &sel)?
                .iter()
                .map(revision_of)
                .filter(|v| *v < latest)
                .max()
                .ok_or(RolloutError::NoHistory {
                    name: name.to_string(),
                    revision: None,
                })?
        }
    };
    let rc = txn
        .get(&rc_key(ns, name, target))?
        .ok_or(RolloutError::NoHistory {
            name: name.to_string(),
            revision: Some(target),
        })?;
    let template = decoded(&rc)
        .and_then(|d| d.pointer("/spec/template").cloned())
        .ok_or(RolloutError::BadRevision {
            name: name.to_string(),
            revision: target,
        })?;
    dc["spec"]["template"] = template;
    let mut disabled = Vec::new();
    if let Some(ts) = dc
        .pointer_mut("/spec/triggers")
        .and_then(Value::as_array_mut)
    {
        for t in ts.iter_mut() {
            if let Some(p) = t
                .get_mut("imageChangeParams")
                .and_then(Value::as_object_mut)
                && p.get("automatic").and_then(Value::as_bool) == Some(true)
            {
                p.insert("automatic".into(), json!(false));
                if let Some(n) = p
                    .get("from")
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                {
                    disabled.push(n.to_string());
                }
            }
        }
    }
    let v = bump(
        &mut dc,
        &format!("rollback to revision {target}"),
        vec![json!({"type": "Manual"})],
    );
    txn.update(dc)?;
    txn.commit()?;
    Ok((target, v, disabled))
}
