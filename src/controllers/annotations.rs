//! The `image.openshift.io/triggers` annotation on Deployments, StatefulSets, DaemonSets and
//! CronJobs (openshift-semantics §13).
//!
//! The value is a JSON array of `{from: {kind: ImageStreamTag, name: "stream:tag",
//! namespace?}, fieldPath, paused?}`. Problems are reported on the object, under the
//! `ImageTriggers` condition: invalid JSON, duplicate `fieldPath`s ("duplicate triggers are not
//! allowed" — the whole annotation is then ignored, as upstream), a field path that is not a
//! container image, a container that does not exist, a stream that does not exist.
//!
//! For every valid, non-paused entry whose tag resolves, the container's `image` becomes the
//! resolved pull spec, and the pod template's annotation [`TRIGGERED`] records the images the
//! triggers set, so the pod template changes (and the workload rolls) even when a tag's pull
//! spec stays the same while its image moves. One update per object. The diff owns these
//! fields the same way (`diff::triggers`): a sync neither reports nor reverts them.

use serde_json::{Value, json};

use super::conditions;
use super::imagestreams::stream_key;
use super::{Activity, Context, ControllerError, rv};
use crate::cluster::LocalCluster;
use crate::cluster::local::now_rfc3339;
use crate::images::{self, latest_event, resolve_tag, split_stream_tag};
use crate::resource::ResourceKey;

/// The annotation.
pub const TRIGGERS: &str = "image.openshift.io/triggers";
/// The pod-template annotation recording what the triggers set (`container=image,…`).
pub const TRIGGERED: &str = "image.kascade.dev/triggered-images";

/// The pod spec path of a kind.
pub fn pod_spec_path(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    match (group, kind) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet") => Some(&["spec", "template", "spec"]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// Whether the object carries the annotation.
pub fn has_triggers(object: &Value) -> bool {
    super::annotation(object, TRIGGERS).is_some()
}

/// A container selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `[0]`
    Index(usize),
    /// `[?(@.name=="x")]`
    Name(String),
}

/// One valid entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The stream's namespace.
    pub namespace: String,
    /// `stream:tag`.
    pub name: String,
    /// `containers` or `initContainers`.
    pub list: String,
    /// Which container.
    pub selector: Selector,
    /// The field path as written.
    pub field_path: String,
}

/// Parses a field path: `Ok(None)` when it is not under the pod spec (silently skipped, as
/// upstream), `Err` when it is under it but not a container image.
pub fn parse_field_path(path: &str, prefix: &[&str]) -> Result<Option<(String, Selector)>, String> {
    let Some(rest) = path
        .strip_prefix(&prefix.join("."))
        .and_then(|r| r.strip_prefix('.'))
    else {
        return Ok(None);
    };
    let invalid = || format!("field path is not valid: {path}");
    let (list, rest) = rest.split_once('[').ok_or_else(invalid)?;
    if list != "containers" && list != "initContainers" {
        return Err(invalid());
    }
    let (sel, rest) = rest.split_once(']').ok_or_else(invalid)?;
    if rest != ".image" {
        return Err(invalid());
    }
    let selector = if let Some(name) = sel
        .strip_prefix("?(@.name==\"")
        .and_then(|s| s.strip_suffix("\")"))
    {
        Selector::Name(name.to_string())
    } else {
        Selector::Index(sel.parse().map_err(|_| invalid())?)
    };
    Ok(Some((list.to_string(), selector)))
}

/// Parses the annotation of `object`: the entries that fire, and the problems.
pub fn parse(object: &Value, prefix: &[&str]) -> (Vec<Entry>, Vec<(String, String)>) {
    let Some(text) = super::annotation(object, TRIGGERS) else {
        return (Vec::new(), Vec::new());
    };
    let (_, ns) = images::name_ns(object);
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return (
                Vec::new(),
                vec![(
                    "InvalidAnnotation".into(),
                    format!("{TRIGGERS} is not valid JSON: {e}"),
                )],
            );
        }
    };
    let Some(items) = value.as_array() else {
        return (
            Vec::new(),
            vec![(
                "InvalidAnnotation".into(),
                format!("{TRIGGERS} must be a JSON array"),
            )],
        );
    };
    let mut seen = std::collections::HashSet::new();
    for i in items {
        let fp = i
            .get("fieldPath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !seen.insert(fp.to_string()) {
            return (
                Vec::new(),
                vec![(
                    "InvalidAnnotation".into(),
                    format!("{TRIGGERS}: duplicate triggers are not allowed (fieldPath {fp:?})"),
                )],
            );
        }
    }
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let containers = |list: &str| -> Vec<Value> {
        let ptr = format!("/{}/{list}", prefix.join("/"));
        object
            .pointer(&ptr)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for i in items {
        let from = i.get("from").cloned().unwrap_or(Value::Null);
        let kind = from.get("kind").and_then(Value::as_str).unwrap_or_default();
        let api_version = from
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != "ImageStreamTag"
            || !api_version.is_empty()
            || i.get("paused").and_then(Value::as_bool) == Some(true)
        {
            continue; // not indexed upstream: never fires
        }
        let name = from.get("name").and_then(Value::as_str).unwrap_or_default();
        if split_stream_tag(name).is_none() {
            problems.push((
                "InvalidTrigger".into(),
                format!(
                    "from.name {name:?} must be in the form of <stream>:<tag>; it never resolves"
                ),
            ));
            continue;
        }
        let fp = i
            .get("fieldPath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (list, selector) = match parse_field_path(fp, prefix) {
            Ok(Some(x)) => x,
            Ok(None) => continue,
            Err(m) => {
                problems.push(("InvalidTrigger".into(), m));
                continue;
            }
        };
        let cs = containers(&list);
        let found = match &selector {
            Selector::Index(n) => *n < cs.len(),
            Selector::Name(n) => cs
                .iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(n)),
        };
        if !found {
            let shown = match &selector {
                Selector::Index(n) => n.to_string(),
                Selector::Name(n) => n.clone(),
            };
            problems.push((
                "InvalidTrigger".into(),
                format!("no such container: {shown} (fieldPath {fp})"),
            ));
            continue;
        }
        entries.push(Entry {
            namespace: from
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(ns)
                .to_string(),
            name: name.to_string(),
            list,
            selector,
            field_path: fp.to_string(),
        });
    }
    (entries, problems)
}

/// The streams an annotated object follows.
pub fn followed_streams(object: &Value) -> Vec<(String, String)> {
    let Ok(key) = ResourceKey::of(object) else {
        return Vec::new();
    };
    let Some(prefix) = pod_spec_path(&key.group, &key.kind) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = parse(object, prefix)
        .0
        .iter()
        .filter_map(|e| {
            split_stream_tag(&e.name).map(|(s, _)| (e.namespace.clone(), s.to_string()))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reconciles one annotated workload.
pub fn reconcile(
    cluster: &mut LocalCluster,
    ctx: &mut Context,
    key: &ResourceKey,
) -> Result<Vec<u64>, ControllerError> {
    let Some(prefix) = pod_spec_path(&key.group, &key.kind) else {
        return Ok(Vec::new());
    };
    let mut txn = cluster.begin()?;
    let Some(mut obj) = txn.get(key)? else {
        return Ok(Vec::new());
    };
    let before = obj.clone();
    let now = now_rfc3339();
    let (entries, mut problems) = parse(&obj, prefix);
    let mut updates = Vec::new();
    let mut stamps: Vec<String> = Vec::new();
    for e in &entries {
        let Some((stream, tag)) = split_stream_tag(&e.name) else {
            continue;
        };
        let Some(s) = txn.get(&stream_key(&e.namespace, stream))? else {
            problems.push((
                "ImageStreamNotFound".into(),
                format!(
                    "the trigger on {} names imagestream {stream:?}, which does not exist in namespace {:?}",
                    e.field_path, e.namespace
                ),
            ));
            continue;
        };
        let Some(image) = resolve_tag(&s, tag) else {
            continue;
        };
        let id = latest_event(&s, tag)
            .map(|ev| {
                if ev.image.is_empty() {
                    ev.docker_image_reference
                } else {
                    ev.image
                }
            })
            .unwrap_or_default();
        let ptr = format!("/{}/{}", prefix.join("/"), e.list);
        if let Some(cs) = obj.pointer_mut(&ptr).and_then(Value::as_array_mut) {
            let idx = match &e.selector {
                Selector::Index(n) => Some(*n).filter(|n| *n < cs.len()),
                Selector::Name(n) => cs
                    .iter()
                    .position(|c| c.get("name").and_then(Value::as_str) == Some(n.as_str())),
            };
            if let Some(i) = idx {
                let name = cs[i]
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if cs[i].get("image").and_then(Value::as_str) != Some(image.as_str()) {
                    cs[i]["image"] = json!(image);
                    updates.push((name.clone(), image.clone()));
                }
                stamps.push(format!("{name}={id}"));
            }
        }
    }
    if !stamps.is_empty() {
        stamps.sort();
        let stamp = stamps.join(",");
        // prefix minus the trailing "spec": the pod template
        let tpl = format!("/{}", prefix[..prefix.len() - 1].join("/"));
        if let Some(t) = obj.pointer_mut(&tpl).and_then(Value::as_object_mut) {
            let meta = t.entry("metadata").or_insert_with(|| json!({}));
            if !meta.is_object() {
                *meta = json!({});
            }
            let ann = meta
                .as_object_mut()
                .map(|m| m.entry("annotations").or_insert_with(|| json!({})));
            if let Some(Value::Object(ann)) = ann
                && ann.get(TRIGGERED).and_then(Value::as_str) != Some(stamp.as_str())
            {
                ann.insert(TRIGGERED.into(), json!(stamp));
            }
        }
    }
    conditions::report_triggers(&mut obj, &problems, &now);
    let mut written = Vec::new();
    if obj != before {
        written.push(rv(&txn.update(obj)?));
    }
    txn.commit()?;
    for (container, image) in updates {
        ctx.record(Activity::ImageUpdated {
            key: key.clone(),
            container,
            image,
        });
    }
    if let Some(m) = conditions::new_trigger_problem(&before, &problems) {
        ctx.record(Activity::Problem {
            key: key.clone(),
            message: m.clone(),
        });
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(ann: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "n",
            "annotations": {TRIGGERS: ann}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:latest"}]}}}})
    }

    #[test]
    fn annotation_validation() {
        let p: &[&str] = &["spec", "template", "spec"];
        let (e, pr) = parse(&deployment("[{"), p);
        assert!(e.is_empty() && pr[0].1.contains("not valid JSON"));
        let dup = r#"[{"from":{"kind":"ImageStreamTag","name":"a:latest"},"fieldPath":"spec.template.spec.containers[0].image"},{"from":{"kind":"ImageStreamTag","name":"b:latest"},"fieldPath":"spec.template.spec.containers[0].image"}]"#;
        assert!(
            parse(&deployment(dup), p).1[0]
                .1
                .contains("duplicate triggers are not allowed")
        );
        let bad = r#"[{"from":{"kind":"ImageStreamTag","name":"a:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"nope\")].image"},
            {"from":{"kind":"ImageStreamTag","name":"a:latest"},"fieldPath":"spec.template.spec.containers[0].name"},
            {"from":{"kind":"ImageStreamTag","name":"a:latest"},"fieldPath":"metadata.name"},
            {"from":{"kind":"ImageStreamTag","name":"a:latest"},"fieldPath":"spec.template.spec.containers[0].image"}]"#;
        let (e, pr) = parse(&deployment(bad), p);
        assert_eq!(e.len(), 1);
        assert!(pr[0].1.starts_with("no such container: nope"));
        assert!(pr[1].1.starts_with("field path is not valid"));
    }
}
