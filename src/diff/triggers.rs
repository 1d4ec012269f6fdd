//! Fields that image triggers own, so diff compares them with what the trigger resolved.
//!
//! - DeploymentConfig `ImageChange` triggers with `automatic: true` own the `image` of the
//!   containers and init containers they name, and `lastTriggeredImage`.
//! - BuildConfig `ImageChange` triggers own `lastTriggeredImageID`.
//! - The `image.openshift.io/triggers` annotation on Deployments, StatefulSets, DaemonSets
//!   and CronJobs owns the `image` its non-paused entries' `fieldPath`s point at.

use serde_json::Value;

/// The annotation Kubernetes workloads carry their image triggers in.
pub const TRIGGERS_ANNOTATION: &str = "image.openshift.io/triggers";

/// Copies trigger-owned fields from `live` into `predicted`.
pub fn keep_trigger_owned(predicted: &mut Value, live: &Value) {
    let kind = predicted
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = predicted
        .get("apiVersion")
        .and_then(Value::as_str)
        .map_or("", crate::resource::gvk::group_of);
    match (group, kind) {
        ("apps.openshift.io" | "", "DeploymentConfig") => deployment_config(predicted, live),
        ("build.openshift.io" | "", "BuildConfig") => build_config(predicted, live),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet") => {
            annotated(predicted, live, &["spec", "template", "spec"])
        }
        ("batch", "CronJob") => annotated(
            predicted,
            live,
            &["spec", "jobTemplate", "spec", "template", "spec"],
        ),
        _ => {}
    }
}

fn triggers(v: &Value) -> &[Value] {
    v.get("spec")
        .and_then(|s| s.get("triggers"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn same_from(a: &Value, b: &Value) -> bool {
    a.get("from").and_then(|f| f.get("name")) == b.get("from").and_then(|f| f.get("name"))
}

/// Calls `f` with each `ImageChange` trigger's `field` object (`imageChangeParams` of a
/// DeploymentConfig, `imageChange` of a BuildConfig) in `predicted`, and the live trigger's
/// object for the same image, when there is one.
fn for_each_image_change(
    predicted: &mut Value,
    live: &Value,
    field: &str,
    mut f: impl FnMut(&mut Value, Option<&Value>),
) {
    let live_triggers = triggers(live).to_vec();
    let Some(ts) = predicted
        .get_mut("spec")
        .and_then(|s| s.get_mut("triggers"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for t in ts.iter_mut() {
        if t.get("type").and_then(Value::as_str) != Some("ImageChange") {
            continue;
        }
        let Some(params) = t.get_mut(field).filter(|p| p.is_object()) else {
            continue;
        };
        let live_params = live_triggers
            .iter()
            .filter_map(|lt| lt.get(field))
            .find(|lp| same_from(lp, params));
        f(params, live_params);
    }
}

/// Copies `key` from the live trigger when the predicted one does not set it.
fn keep_live(params: &mut Value, live_params: Option<&Value>, key: &str) {
    if params.get(key).is_none()
        && let Some(v) = live_params.and_then(|lp| lp.get(key))
    {
        params[key] = v.clone();
    }
}

fn deployment_config(predicted: &mut Value, live: &Value) {
    let mut owned_containers: Vec<String> = Vec::new();
    for_each_image_change(
        predicted,
        live,
        "imageChangeParams",
        |params, live_params| {
            keep_live(params, live_params, "lastTriggeredImage");
            if params.get("automatic").and_then(Value::as_bool) == Some(true)
                && let Some(names) = params.get("containerNames").and_then(Value::as_array)
            {
                owned_containers.extend(names.iter().filter_map(Value::as_str).map(str::to_string));
            }
        },
    );
    for list in ["containers", "initContainers"] {
        for name in &owned_containers {
            copy_image(
                predicted,
                live,
                &["spec", "template", "spec"],
                list,
                &Sel::Name(name.clone()),
            );
        }
    }
}

fn build_config(predicted: &mut Value, live: &Value) {
    for_each_image_change(predicted, live, "imageChange", |ic, live_ic| {
        keep_live(ic, live_ic, "lastTriggeredImageID");
    });
}

/// A container selector in a trigger `fieldPath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sel {
    /// `[0]`
    Index(usize),
    /// `[?(@.name=="x")]`
    Name(String),
}

/// Parses `<prefix>.containers[<sel>].image` (or `initContainers`); `None` when the path is
/// not under `prefix` or not of that shape.
pub fn parse_field_path(path: &str, prefix: &[&str]) -> Option<(String, Sel)> {
    let rest = path.strip_prefix(&prefix.join("."))?.strip_prefix('.')?;
    let (list, rest) = rest.split_once('[')?;
    if list != "containers" && list != "initContainers" {
        return None;
    }
    let (sel, rest) = rest.split_once(']')?;
    if rest != ".image" {
        return None;
    }
    let sel = if let Some(name) = sel
        .strip_prefix("?(@.name==\"")
        .and_then(|s| s.strip_suffix("\")"))
    {
        Sel::Name(name.to_string())
    } else {
        Sel::Index(sel.parse().ok()?)
    };
    Some((list.to_string(), sel))
}

fn annotated(predicted: &mut Value, live: &Value, prefix: &[&str]) {
    let Some(text) = predicted
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(TRIGGERS_ANNOTATION))
        .and_then(Value::as_str)
    else {
        return;
    };
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(text) else {
        return; // an invalid annotation owns nothing (the object reports it elsewhere)
    };
    for e in entries {
        if e.get("paused").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let Some((list, sel)) = e
            .get("fieldPath")
            .and_then(Value::as_str)
            .and_then(|p| parse_field_path(p, prefix))
        {
            copy_image(predicted, live, prefix, &list, &sel);
        }
    }
}

fn pointer(prefix: &[&str], list: &str) -> String {
    format!("/{}/{list}", prefix.join("/"))
}

fn find_container(items: &[Value], sel: &Sel) -> Option<usize> {
    match sel {
        Sel::Index(i) => (*i < items.len()).then_some(*i),
        Sel::Name(n) => items
            .iter()
            .position(|c| c.get("name").and_then(Value::as_str) == Some(n.as_str())),
    }
}

fn copy_image(predicted: &mut Value, live: &Value, prefix: &[&str], list: &str, sel: &Sel) {
    let ptr = pointer(prefix, list);
    let Some(live_image) = live
        .pointer(&ptr)
        .and_then(Value::as_array)
        .and_then(|items| find_container(items, sel).map(|i| &items[i]))
        .and_then(|c| c.get("image"))
        .filter(|i| i.as_str().is_some_and(|s| !s.is_empty()))
        .cloned()
    else {
        return;
    };
    if let Some(items) = predicted.pointer_mut(&ptr).and_then(Value::as_array_mut)
        && let Some(i) = find_container(items, sel)
        && let Some(c) = items[i].as_object_mut()
    {
        c.insert("image".into(), live_image);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths() {
        let p = ["spec", "template", "spec"];
        assert_eq!(
            parse_field_path(
                "spec.template.spec.containers[?(@.name==\"web\")].image",
                &p
            ),
            Some(("containers".into(), Sel::Name("web".into())))
        );
        assert_eq!(
            parse_field_path("spec.template.spec.initContainers[0].image", &p),
            Some(("initContainers".into(), Sel::Index(0)))
        );
        assert_eq!(
            parse_field_path("spec.template.spec.containers[0].name", &p),
            None
        );
        assert_eq!(parse_field_path("metadata.name", &p), None);
    }

    #[test]
    fn dc_trigger_images_keep_live_value() {
        let desired = json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig", "spec": {
            "triggers": [{"type": "ImageChange", "imageChangeParams": {"automatic": true, "containerNames": ["app"], "from": {"kind": "ImageStreamTag", "name": "app:latest"}}}],
            "template": {"spec": {"containers": [{"name": "app", "image": "app:latest"}, {"name": "side", "image": "side:1"}]}}}});
        let mut live = desired.clone();
        live["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("registry/ns/app@sha256:abc");
        live["spec"]["template"]["spec"]["containers"][1]["image"] = json!("side:0");
        live["spec"]["triggers"][0]["imageChangeParams"]["lastTriggeredImage"] =
            json!("registry/ns/app@sha256:abc");
        let mut p = desired.clone();
        keep_trigger_owned(&mut p, &live);
        assert_eq!(
            p["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry/ns/app@sha256:abc"
        );
        assert_eq!(
            p["spec"]["template"]["spec"]["containers"][1]["image"],
            "side:1"
        );
        assert_eq!(
            p["spec"]["triggers"][0]["imageChangeParams"]["lastTriggeredImage"],
            "registry/ns/app@sha256:abc"
        );
    }

    #[test]
    fn bc_keeps_last_triggered_image_id() {
        let desired = json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig", "spec": {
            "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChange": {}}]}});
        let mut live = desired.clone();
        live["spec"]["triggers"][1]["imageChange"]["lastTriggeredImageID"] =
            json!("r/base@sha256:1");
        let mut p = desired.clone();
        keep_trigger_owned(&mut p, &live);
        assert_eq!(
            p["spec"]["triggers"][1]["imageChange"]["lastTriggeredImageID"],
            "r/base@sha256:1"
        );
        assert_eq!(p["spec"]["triggers"][0], json!({"type": "ConfigChange"}));
    }

    #[test]
    fn annotation_trigger_images_keep_live_value() {
        let ann = r#"[{"from":{"kind":"ImageStreamTag","name":"web:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"annotations": {TRIGGERS_ANNOTATION: ann}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:latest"}]}}}});
        let mut live = desired.clone();
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("r/web@sha256:1");
        let mut p = desired.clone();
        keep_trigger_owned(&mut p, &live);
        assert_eq!(
            p["spec"]["template"]["spec"]["containers"][0]["image"],
            "r/web@sha256:1"
        );
    }
}
