//! The BuildConfig controller and build generator (openshift-semantics §11).
//!
//! - **ImageChange**: each non-paused trigger follows `imageChange.from` or, when omitted, the
//!   strategy's `from` (which must then be an ImageStreamTag). A trigger fires when its tag
//!   resolves to a pull spec different from its `lastTriggeredImageID`
//!   (`status.imageChangeTriggers`, or the deprecated spec field). Every firing trigger folds
//!   into **one** build; one cause per distinct image.
//! - **ConfigChange**: builds only while `status.lastVersion == 0` (the initial build).
//! - **Manual** ([`start_build`]): `kascade start-build`.
//!
//! The generator runs for every instantiation: it resolves the strategy's `from` (to the image
//! that fired, for an image-triggered build), records the currently resolved image of every
//! ImageChange trigger, bumps `status.lastVersion` and creates Build `<name>-<lastVersion>`.
//! A ConfigChange build whose `from` does not resolve yet is not created (upstream's
//! instantiate fails the same way); the ImageChange trigger builds once the tag has an image.

use serde_json::{Value, json};

use super::conditions;
use super::imagestreams::stream_key;
use super::{Activity, Context, ControllerError, rv, str_at};
use crate::cluster::local::{Txn, now_rfc3339};
use crate::cluster::{ClusterError, LocalCluster};
use crate::images::{self, resolve_tag, split_stream_tag};
use crate::resource::ResourceKey;

/// A manual build request that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StartBuildError {
    /// The BuildConfig does not exist.
    #[error("buildconfigs.build.openshift.io {name:?} not found in namespace {namespace:?}")]
    NotFound {
        /// Its name.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// The generator refused (the strategy's image does not resolve, …).
    #[error("cannot start a build of {name:?}: {message}")]
    Generator {
        /// The BuildConfig.
        name: String,
        /// Why.
        message: String,
    },
    /// The commit is not a hexadecimal object id.
    #[error("--commit {0:?} is not a commit id (4 to 40 hexadecimal digits)")]
    BadCommit(String),
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// The strategy field of a BuildConfig/Build spec: (`dockerStrategy`|`sourceStrategy`|
/// `customStrategy`, its object).
pub fn strategy(spec_owner: &Value) -> Option<(&'static str, &Value)> {
    let s = spec_owner.pointer("/spec/strategy")?;
    for f in ["dockerStrategy", "sourceStrategy", "customStrategy"] {
        if let Some(v) = s.get(f).filter(|v| v.is_object()) {
            return Some((f, v));
        }
    }
    None
}

fn strategy_from(bc: &Value) -> Option<&Value> {
    strategy(bc)
        .and_then(|(_, s)| s.get("from"))
        .filter(|f| f.is_object())
}

/// One ImageChange trigger as the controller sees it.
#[derive(Debug, Clone)]
struct IcTrigger {
    namespace: String,
    name: String,
    paused: bool,
    spec_last: Option<String>,
}

/// The ImageChange triggers of a BuildConfig, and the problems of the invalid ones.
fn ic_triggers(bc: &Value, ns: &str) -> (Vec<IcTrigger>, Vec<(String, String)>) {
    let mut out: Vec<IcTrigger> = Vec::new();
    let mut problems = Vec::new();
    let triggers = bc
        .pointer("/spec/triggers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in &triggers {
        if t.get("type").and_then(Value::as_str) != Some("ImageChange") {
            continue;
        }
        let ic = t.get("imageChange").cloned().unwrap_or(json!({}));
        let from = match ic.get("from").filter(|f| f.is_object()) {
            Some(f) => {
                if str_at(f, "/kind") != Some("ImageStreamTag") {
                    problems.push((
                        "InvalidTrigger".into(),
                        "only an ImageStreamTag type of reference is allowed in an ImageChange trigger.".into(),
                    ));
                    continue;
                }
                f.clone()
            }
            None => match strategy_from(bc) {
                Some(f) if str_at(f, "/kind") == Some("ImageStreamTag") => f.clone(),
                _ => {
                    problems.push((
                        "InvalidTrigger".into(),
                        "a default ImageChange trigger can only be used when the build strategy includes an ImageStreamTag reference.".into(),
                    ));
                    continue;
                }
            },
        };
        let name = str_at(&from, "/name").unwrap_or_default().to_string();
        if split_stream_tag(&name).is_none() {
            problems.push((
                "InvalidTrigger".into(),
                format!(
                    "ImageChange trigger from.name {name:?} must be in the form of <name>:<tag>"
                ),
            ));
            continue;
        }
        let namespace = str_at(&from, "/namespace")
            .filter(|s| !s.is_empty())
            .unwrap_or(ns)
            .to_string();
        if out
            .iter()
            .any(|o| o.name == name && o.namespace == namespace)
        {
            problems.push((
                "InvalidTrigger".into(),
                "multiple ImageChange triggers refer to the same image stream tag".into(),
            ));
            continue;
        }
        out.push(IcTrigger {
            namespace,
            name,
            paused: ic.get("paused").and_then(Value::as_bool) == Some(true),
            spec_last: ic
                .get("lastTriggeredImageID")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        });
    }
    (out, problems)
}

/// The streams a BuildConfig follows: its ImageChange triggers' and its strategy's.
pub fn followed_streams(bc: &Value) -> Vec<(String, String)> {
    let (_, ns) = images::name_ns(bc);
    let (triggers, _) = ic_triggers(bc, ns);
    let mut out: Vec<(String, String)> = triggers
        .iter()
        .filter_map(|t| {
            split_stream_tag(&t.name).map(|(s, _)| (t.namespace.clone(), s.to_string()))
        })
        .collect();
    if let Some(f) = strategy_from(bc)
        && str_at(f, "/kind") == Some("ImageStreamTag")
        && let Some((s, _)) = str_at(f, "/name").and_then(split_stream_tag)
    {
        let fns = str_at(f, "/namespace")
            .filter(|s| !s.is_empty())
            .unwrap_or(ns);
        out.push((fns.to_string(), s.to_string()));
    }
    out.sort();
    out.dedup();
    out
}

/// Resolves `stream:tag` in `ns`: `Err` when the stream does not exist, `Ok(None)` when the
/// tag has no image yet.
fn resolve_ist(txn: &Txn<'_>, ns: &str, name: &str) -> Result<Option<String>, ControllerError> {
    let Some((stream, tag)) = split_stream_tag(name) else {
        return Ok(None);
    };
    Ok(txn
        .get(&stream_key(ns, stream))?
        .and_then(|s| resolve_tag(&s, tag)))
}

fn last_triggered(bc: &Value, t: &IcTrigger) -> Option<String> {
    let from_status = bc
        .pointer("/status/imageChangeTriggers")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter().find(|s| {
                str_at(s, "/from/name") == Some(t.name.as_str())
                    && str_at(s, "/from/namespace").unwrap_or(&t.namespace) == t.namespace
            })
        })
        .and_then(|s| s.get("lastTriggeredImageID"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    from_status.or_else(|| t.spec_last.clone())
}

/// What asked for a build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// `spec.triggeredBy` causes.
    pub causes: Vec<Value>,
    /// The first fired trigger's (from name, from namespace, image).
    pub triggered_by: Option<(String, String, String)>,
    /// A commit to build instead of the ref's head.
    pub commit: Option<String>,
}

/// The build generator: resolves the strategy's image, records the ImageChange triggers'
/// images, bumps `status.lastVersion` and creates the Build. `Err(message)` when the
/// strategy's image does not resolve.
pub fn generate(
    txn: &mut Txn<'_>,
    bc: &mut Value,
    request: &BuildRequest,
) -> Result<Result<Value, String>, ControllerError> {
    let (name, ns) = images::name_ns(bc);
    let (name, ns) = (name.to_string(), ns.to_string());
    let now = now_rfc3339();
    // The strategy's base image, resolved.
    let mut spec_strategy = bc.pointer("/spec/strategy").cloned().unwrap_or(json!({}));
    if let Some((field, s)) = strategy(bc)
        && let Some(from) = s.get("from").filter(|f| f.is_object())
    {
        let kind = str_at(from, "/kind").unwrap_or_default();
        let fname = str_at(from, "/name").unwrap_or_default();
        let fns = str_at(from, "/namespace")
            .filter(|s| !s.is_empty())
            .unwrap_or(&ns)
            .to_string();
        let resolved = match kind {
            "ImageStreamTag" => {
                let fired = request
                    .triggered_by
                    .as_ref()
                    .filter(|(n, tns, _)| n == fname && *tns == fns)
                    .map(|(_, _, image)| image.clone());
                match fired {
                    Some(i) => Some(i),
                    None => resolve_ist(txn, &fns, fname)?,
                }
            }
            "ImageStreamImage" => {
                let (stream, id) = fname.split_once('@').unwrap_or((fname, ""));
                txn.get(&stream_key(&fns, stream))?.and_then(|s| {
                    images::all_events(&s)
                        .into_iter()
                        .find(|(_, e)| !id.is_empty() && e.image.starts_with(id))
                        .map(|(_, e)| e.docker_image_reference)
                })
            }
            "DockerImage" => Some(fname.to_string()),
            other => {
                return Ok(Err(format!(
                    "the strategy's from.kind {other:?} is not DockerImage, ImageStreamTag or ImageStreamImage"
                )));
            }
        };
        let Some(image) = resolved else {
            return Ok(Err(format!(
                "unable to resolve the {kind} {fname:?} in namespace {fns:?} to an image"
            )));
        };
        spec_strategy[field]["from"] = json!({"kind": "DockerImage", "name": image});
    }
    // Record every ImageChange trigger's current image.
    let (triggers, _) = ic_triggers(bc, &ns);
    let mut statuses = Vec::new();
    for t in &triggers {
        let current = resolve_ist(txn, &t.namespace, &t.name)?;
        let mut s = json!({"from": {"name": t.name, "namespace": t.namespace}});
        if let Some(c) = &current {
            s["lastTriggeredImageID"] = json!(c);
        } else if let Some(l) = last_triggered(bc, t) {
            s["lastTriggeredImageID"] = json!(l);
        }
        let fired = request
            .triggered_by
            .as_ref()
            .is_some_and(|(n, tns, _)| *n == t.name && *tns == t.namespace);
        if fired {
            s["lastTriggerTime"] = json!(now);
        } else if let Some(prev) = bc
            .pointer("/status/imageChangeTriggers")
            .and_then(Value::as_array)
            .and_then(|l| {
                l.iter()
                    .find(|p| str_at(p, "/from/name") == Some(t.name.as_str()))
            })
            .and_then(|p| p.get("lastTriggerTime"))
        {
            s["lastTriggerTime"] = prev.clone();
        }
        if t.paused {
            s["paused"] = json!(true);
        }
        statuses.push(s);
    }
    let version = bc
        .pointer("/status/lastVersion")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        + 1;
    if !bc.get("status").is_some_and(Value::is_object) {
        bc["status"] = json!({});
    }
    bc["status"]["lastVersion"] = json!(version);
    if !statuses.is_empty() {
        bc["status"]["imageChangeTriggers"] = Value::Array(statuses);
    }
    let build_name = format!("{name}-{version}");
    let mut labels = bc
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.remove(crate::diff::INSTANCE_LABEL);
    labels.insert("buildconfig".into(), json!(name));
    labels.insert("openshift.io/build-config.name".into(), json!(name));
    labels.insert(
        "openshift.io/build.start-policy".into(),
        json!(str_at(bc, "/spec/runPolicy").unwrap_or("Serial")),
    );
    let mut spec = json!({
        "serviceAccount": "builder",
        "source": bc.pointer("/spec/source").cloned().unwrap_or(json!({})),
        "strategy": spec_strategy,
        "output": bc.pointer("/spec/output").cloned().unwrap_or(json!({})),
        "triggeredBy": request.causes,
    });
    for k in ["postCommit", "resources", "nodeSelector"] {
        if let Some(v) = bc.pointer(&format!("/spec/{k}")) {
            spec[k] = v.clone();
        }
    }
    if let Some(c) = &request.commit {
        spec["revision"] = json!({"type": "Git", "git": {"commit": c}});
    }
    let mut status =
        json!({"phase": "New", "config": {"kind": "BuildConfig", "namespace": ns, "name": name}});
    if let Some(out) = output_reference(bc) {
        status["outputDockerImageReference"] = json!(out);
    }
    let build = json!({
        "apiVersion": "build.openshift.io/v1",
        "kind": "Build",
        "metadata": {
            "name": build_name, "namespace": ns, "labels": labels,
            "annotations": {"openshift.io/build-config.name": name, "openshift.io/build.number": version.to_string()},
            "ownerReferences": [{"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig", "name": name,
                "uid": bc.pointer("/metadata/uid").cloned().unwrap_or(Value::Null), "controller": true}],
        },
        "spec": spec,
        "status": status,
    });
    let stored = match txn.create(build) {
        Ok(b) => b,
        Err(ClusterError::AlreadyExists { .. }) => {
            return Ok(Err(format!(
                "build {build_name:?} already exists; status.lastVersion of the build config is behind"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Ok(stored))
}

/// Where the build's output goes: `<internal repo>:<tag>` for an ImageStreamTag, the name for
/// a DockerImage.
pub fn output_reference(owner: &Value) -> Option<String> {
    let to = owner.pointer("/spec/output/to")?;
    let (_, ns) = images::name_ns(owner);
    let name = str_at(to, "/name")?;
    match str_at(to, "/kind") {
        Some("ImageStreamTag") => {
            let (s, t) = split_stream_tag(name)?;
            let tns = str_at(to, "/namespace")
                .filter(|s| !s.is_empty())
                .unwrap_or(ns);
            Some(format!("{}:{t}", images::internal_repository(tns, s)))
        }
        Some("DockerImage") => Some(name.to_string()),
        _ => None,
    }
}

/// Reconciles one BuildConfig: fires its ImageChange/ConfigChange triggers and reports invalid
/// triggers under the `ImageTriggers` condition.
pub fn reconcile(
    cluster: &mut LocalCluster,
    ctx: &mut Context,
    key: &ResourceKey,
) -> Result<Vec<u64>, ControllerError> {
    let mut txn = cluster.begin()?;
    let Some(mut bc) = txn.get(key)? else {
        return Ok(Vec::new());
    };
    let before = bc.clone();
    let ns = key.namespace.clone();
    let now = now_rfc3339();
    let (triggers, mut problems) = ic_triggers(&bc, &ns);
    let mut fired: Vec<(IcTrigger, String)> = Vec::new();
    for t in &triggers {
        let Some((stream, _)) = split_stream_tag(&t.name) else {
            continue;
        };
        if txn.get(&stream_key(&t.namespace, stream))?.is_none() {
            problems.push((
                "ImageStreamNotFound".into(),
                format!(
                    "the ImageChange trigger names imagestream {stream:?}, which does not exist in namespace {:?}",
                    t.namespace
                ),
            ));
            continue;
        }
        if t.paused {
            continue;
        }
        let Some(image) = resolve_ist(&txn, &t.namespace, &t.name)? else {
            continue;
        };
        if last_triggered(&bc, t).as_deref() == Some(image.as_str()) {
            continue;
        }
        fired.push((t.clone(), image));
    }
    let mut request = None;
    if let Some((first, image)) = fired.first() {
        let mut causes: Vec<Value> = Vec::new();
        for (t, image) in &fired {
            if causes
                .iter()
                .any(|c| str_at(c, "/imageChangeBuild/imageID") == Some(image.as_str()))
            {
                continue;
            }
            causes.push(
                json!({"message": "Image change", "imageChangeBuild": {"imageID": image,
                "fromRef": {"kind": "ImageStreamTag", "name": t.name, "namespace": t.namespace}}}),
            );
        }
        request = Some(BuildRequest {
            causes,
            triggered_by: Some((first.name.clone(), first.namespace.clone(), image.clone())),
            commit: None,
        });
    } else if has_config_change(&bc)
        && bc
            .pointer("/status/lastVersion")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            == 0
    {
        request = Some(BuildRequest {
            causes: vec![json!({"message": "Build configuration change"})],
            ..Default::default()
        });
    }
    let mut created = None;
    if let Some(req) = request {
        match generate(&mut txn, &mut bc, &req)? {
            Ok(build) => created = Some((build, req)),
            Err(message) if req.triggered_by.is_some() => {
                problems.push(("InstantiateFailed".into(), message));
            }
            Err(_) => {} // a ConfigChange build waits for its image
        }
    }
    conditions::report_triggers(&mut bc, &problems, &now);
    let mut written = Vec::new();
    if bc != before {
        written.push(rv(&txn.update(bc)?));
    }
    txn.commit()?;
    if let Some((build, req)) = created
        && let Ok(k) = ResourceKey::of(&build)
    {
        let cause = req
            .causes
            .iter()
            .filter_map(|c| str_at(c, "/message"))
            .collect::<Vec<_>>()
            .join(", ");
        ctx.record(Activity::BuildCreated { key: k, cause });
    }
    if let Some(m) = conditions::new_trigger_problem(&before, &problems) {
        ctx.record(Activity::Problem {
            key: key.clone(),
            message: m.clone(),
        });
    }
    Ok(written)
}

fn has_config_change(bc: &Value) -> bool {
    bc.pointer("/spec/triggers")
        .and_then(Value::as_array)
        .is_some_and(|ts| {
            ts.iter()
                .any(|t| t.get("type").and_then(Value::as_str) == Some("ConfigChange"))
        })
}

/// `kascade start-build`: instantiates a build of the BuildConfig by hand (cause "Manually
/// triggered"), at `commit` when given. Returns the new Build.
pub fn start_build(
    cluster: &mut LocalCluster,
    namespace: &str,
    name: &str,
    commit: Option<&str>,
) -> Result<Value, StartBuildError> {
    start_build_with_cause(
        cluster,
        namespace,
        name,
        commit,
        json!({"message": "Manually triggered"}),
    )
}

/// Starts a build of a BuildConfig like [`start_build`], recording `cause` (an OpenShift
/// `BuildTriggerCause`, e.g. `{"message": "GitHub WebHook", "githubWebHook": {…}}`) as why.
pub fn start_build_with_cause(
    cluster: &mut LocalCluster,
    namespace: &str,
    name: &str,
    commit: Option<&str>,
    cause: Value,
) -> Result<Value, StartBuildError> {
    if let Some(c) = commit
        && !(4..=40).contains(&c.len())
    {
        return Err(StartBuildError::BadCommit(c.to_string()));
    }
    if let Some(c) = commit
        && !c.chars().all(|ch| ch.is_ascii_hexdigit())
    {
        return Err(StartBuildError::BadCommit(c.to_string()));
    }
    let key = ResourceKey::new("build.openshift.io", "BuildConfig", namespace, name);
    let mut txn = cluster.begin()?;
    let mut bc = txn.get(&key)?.ok_or_else(|| StartBuildError::NotFound {
        name: name.to_string(),
        namespace: namespace.to_string(),
    })?;
    let req = BuildRequest {
        causes: vec![cause],
        triggered_by: None,
        commit: commit.map(str::to_string),
    };
    let build = generate(&mut txn, &mut bc, &req)
        .map_err(|e| match e {
            ControllerError::Cluster(c) => StartBuildError::Cluster(c),
            other => StartBuildError::Generator {
                name: name.to_string(),
                message: other.to_string(),
            },
        })?
        .map_err(|message| StartBuildError::Generator {
            name: name.to_string(),
            message,
        })?;
    txn.update(bc)?;
    txn.commit()?;
    Ok(build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_validation() {
        let bc = json!({"metadata": {"name": "a", "namespace": "n"}, "spec": {
            "strategy": {"dockerStrategy": {"from": {"kind": "DockerImage", "name": "x"}}},
            "triggers": [{"type": "ImageChange", "imageChange": {}},
                {"type": "ImageChange", "imageChange": {"from": {"kind": "DockerImage", "name": "y"}}},
                {"type": "ImageChange", "imageChange": {"from": {"kind": "ImageStreamTag", "name": "b:latest"}}},
                {"type": "ImageChange", "imageChange": {"from": {"kind": "ImageStreamTag", "name": "b:latest"}}}]}});
        let (ok, problems) = ic_triggers(&bc, "n");
        assert_eq!(ok.len(), 1);
        let msgs: Vec<&str> = problems.iter().map(|p| p.1.as_str()).collect();
        assert!(msgs[0].starts_with("a default ImageChange trigger"));
        assert!(msgs[1].starts_with("only an ImageStreamTag"));
        assert!(msgs[2].starts_with("multiple ImageChange triggers"));
        assert_eq!(
            followed_streams(&bc),
            vec![("n".to_string(), "b".to_string())]
        );
    }
}
