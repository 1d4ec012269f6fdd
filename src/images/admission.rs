//! The embedded cluster's image-policy admission: what OpenShift's API server does to the image
//! names of a pod or pod template when it stores one (openshift-semantics §10,
//! `lookupPolicy.local`; ALG `pkg/admission/imagepolicy/imagepolicy.go` and
//! `imagereferencemutators/pods.go`, with the plugin's default resolution rules).
//!
//! Pure functions over `serde_json::Value` objects and a lookup of ImageStreams; the embedded
//! cluster runs [`admit`] on every object it stores (`cluster::local`) and on every update it
//! predicts for a diff, so a sync, a diff and a controller's write all see the same result.
//!
//! - Covered kinds ([`pod_spec_path`]): Pods, PodTemplates, ReplicationControllers,
//!   ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, DeploymentConfigs —
//!   their init containers and containers.
//! - An object with a controller ownerReference is left alone: its template was admitted when
//!   its owner was stored.
//! - On an update, a container whose `image` is the one the stored object has for the same
//!   container name is not looked at again, unless the resolve-names annotation changed.
//! - A single-segment image name (`app`, `app:tag`; tag `latest` when none) that names an
//!   ImageStream of the object's own namespace is rewritten when the stream has
//!   `spec.lookupPolicy.local: true`, or when the pod template or the object carries
//!   [`RESOLVE_NAMES`]` = "*"`: to `<repository>@<image>` of the tag's current image, or to
//!   `<status.dockerImageRepository>:<tag>` when the tag has no image yet. A stream without
//!   `local` and no annotation refuses ("ImageStreamTag does not allow local references and the
//!   resource did not request image stream resolution"). As with OpenShift's default policy
//!   (`resolveImages: Attempt`), a refusal or a missing stream never fails the write: the name
//!   stays as written and the refusal is returned to the caller.
//!
//! One deliberate difference: the stream is read as its controller will resolve it
//! ([`crate::images::stream::reconcile_spec_tags`] on a copy, without registry access). OpenShift
//! resolves `reference`, `ImageStreamTag` and `ImageStreamImage` spec tags when the stream is
//! stored, and imports `DockerImage` tags a moment later; a sync of the embedded cluster stores a
//! stream and the Deployment using it in one transaction, with no moment between. Reading the
//! stream that way makes digest-pinned tags resolve in the same sync — the value the controller
//! then records — so a later sync predicts the same image and stays a no-op. A tag that needs a
//! registry lookup is not resolved yet: `<repository>:<tag>`.
//!
//! Not reproduced: the annotation also makes OpenShift treat multi-segment names
//! (`org/app:v1`) as local names; Builds; namespace `ignore-policy-rules`; execution rules
//! (`ImagePolicyConfig.executionRules`).

use std::collections::HashMap;

use serde_json::Value;

use super::stream::{self, Clock, Imports, Lookup};
use super::{DockerRef, internal_repository, latest_event, name_ns, resolve_tag};

/// The annotation with which an object (or its pod template) asks for local-name resolution
/// against every stream of its namespace, `"*"`.
pub const RESOLVE_NAMES: &str = "alpha.image.policy.openshift.io/resolve-names";

/// What OpenShift says when a stream does not resolve local names and the object did not ask.
pub const REFUSED: &str = "ImageStreamTag does not allow local references and the resource did not request image stream resolution";

/// The path of the pod spec in objects of a covered kind, or `None` for other kinds.
pub fn pod_spec_path(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    const TEMPLATE: &[&str] = &["spec", "template", "spec"];
    match (group, kind) {
        ("", "Pod") => Some(&["spec"]),
        ("", "PodTemplate") => Some(&["template", "spec"]),
        ("", "ReplicationController")
        | ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job")
        | ("apps.openshift.io", "DeploymentConfig") => Some(TEMPLATE),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// One image name admission rewrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The field, `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The name as written.
    pub from: String,
    /// The pull spec stored instead.
    pub to: String,
}

/// A local name that stays as written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The field, `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The name as written.
    pub image: String,
    /// Why it was not resolved.
    pub message: String,
}

/// What admission did to one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Names rewritten.
    pub rewrites: Vec<Rewrite>,
    /// Local names that named a stream but were not resolved.
    pub refusals: Vec<Refusal>,
}

fn has_controller_owner(object: &Value) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        })
}

/// The resolve-names annotation of the pod template, else of the object (as the plugin reads
/// them).
fn resolve_names<'a>(object: &'a Value, prefix: &[&str]) -> Option<&'a str> {
    let template_meta = match prefix.split_last() {
        Some((_, parent)) if !parent.is_empty() => {
            format!("/{}/metadata/annotations", parent.join("/"))
        }
        _ => String::new(),
    };
    let from = |ptr: &str| {
        object
            .pointer(ptr)
            .and_then(|a| a.get(RESOLVE_NAMES))
            .and_then(Value::as_str)
    };
    (!template_meta.is_empty())
        .then(|| from(&template_meta))
        .flatten()
        .or_else(|| from("/metadata/annotations"))
}

/// `(stream, tag)` when `image` is a single-segment name without a digest.
pub fn local_name(image: &str) -> Option<(String, String)> {
    if image.contains('/') || image.contains('@') {
        return None;
    }
    let r = DockerRef::parse(image).ok()?;
    if !r.registry.is_empty() || r.repository.contains('/') {
        return None;
    }
    Some((r.repository, r.tag.unwrap_or_else(|| "latest".into())))
}

/// The stream as its controller will resolve it: spec tags that are due resolved without
/// registry access, `status.dockerImageRepository` set.
fn view_of(mut stream: Value, lookup: &Lookup<'_>, now_secs: u64) -> Value {
    let now = crate::cluster::local::rfc3339(now_secs);
    let clock = Clock {
        now: &now,
        now_secs,
        // Scheduled re-imports need a registry: never due here.
        scheduled_interval: u64::MAX,
        scheduled: false,
    };
    stream::reconcile_spec_tags(&mut stream, &Imports::new(), lookup, &clock);
    stream
}

/// `<repository>@<image>` of a resolved pull spec (the plugin drops the tag and pins the
/// image id).
fn pinned_to(pull: &str, image: &str) -> String {
    match DockerRef::parse(pull) {
        Ok(r) if r.registry.is_empty() => format!("{}@{image}", r.repository),
        Ok(r) => format!("{}/{}@{image}", r.registry, r.repository),
        Err(_) => pull.to_string(),
    }
}

/// What a local name `stream:tag` becomes against the stream `view` (read by [`view_of`]),
/// with or without the resolve-names annotation (`force`).
pub fn resolve_name(view: &Value, tag: &str, force: bool) -> Result<String, String> {
    let (name, ns) = name_ns(view);
    let local = view
        .pointer("/spec/lookupPolicy/local")
        .and_then(Value::as_bool)
        == Some(true);
    match latest_event(view, tag).filter(|e| !e.image.is_empty()) {
        Some(event) => {
            if !local && !force {
                return Err(REFUSED.into());
            }
            Ok(match resolve_tag(view, tag) {
                Some(pull) => pinned_to(&pull, &event.image),
                None => format!("{}@{}", repository(view, ns, name), event.image),
            })
        }
        None if local || force => Ok(format!("{}:{tag}", repository(view, ns, name))),
        None => Err(format!(
            "imagestreamtags.image.openshift.io \"{name}:{tag}\" not found"
        )),
    }
}

fn repository(view: &Value, ns: &str, name: &str) -> String {
    view.pointer("/status/dockerImageRepository")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| internal_repository(ns, name), str::to_string)
}

/// `(list, index, name, image)` of every init container and container, in that order.
fn containers(object: &Value, prefix: &[&str]) -> Vec<(&'static str, usize, String, String)> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        let ptr = format!("/{}/{list}", prefix.join("/"));
        for (i, c) in object
            .pointer(&ptr)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let text = |k: &str| {
                c.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            out.push((list, i, text("name"), text("image")));
        }
    }
    out
}

/// Whether admission would look at `object` at all (a covered kind without a controller
/// owner, with a container whose image may be a local name): the cheap test before any
/// stream is read.
pub fn applies(object: &Value) -> bool {
    let group = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .map_or("", crate::resource::gvk::group_of);
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(prefix) = pod_spec_path(group, kind) else {
        return false;
    };
    !has_controller_owner(object)
        && containers(object, prefix)
            .iter()
            .any(|(_, _, _, image)| !image.contains('/') && !image.contains('@'))
}

/// Admits `object` (the stored `old` one on an update): rewrites its local image names in place
/// and says what it did. `lookup` reads an ImageStream by namespace and name.
pub fn admit(
    object: &mut Value,
    old: Option<&Value>,
    lookup: &Lookup<'_>,
    now_secs: u64,
) -> Outcome {
    let mut outcome = Outcome::default();
    if !applies(object) {
        return outcome;
    }
    let group = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .map_or("", crate::resource::gvk::group_of);
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(prefix) = pod_spec_path(group, kind) else {
        return outcome;
    };
    let force = resolve_names(object, prefix) == Some("*");
    let annotation_changed =
        old.is_some_and(|o| resolve_names(o, prefix) != resolve_names(object, prefix));
    let old_images: Vec<(String, String)> = old
        .map(|o| {
            containers(o, prefix)
                .into_iter()
                .map(|(_, _, name, image)| (name, image))
                .collect()
        })
        .unwrap_or_default();
    let namespace = name_ns(object).1.to_string();
    let mut views: HashMap<String, Option<Value>> = HashMap::new();
    for (list, i, name, image) in containers(object, prefix) {
        // The plugin's hasIdenticalPodSpecImage: the first container of that name, init
        // containers first.
        let unchanged = old_images
            .iter()
            .find(|(n, _)| *n == name)
            .is_some_and(|(_, img)| *img == image);
        if unchanged && !annotation_changed {
            continue;
        }
        let Some((stream, tag)) = local_name(&image) else {
            continue;
        };
        let view = views
            .entry(stream.clone())
            .or_insert_with(|| lookup(&namespace, &stream).map(|s| view_of(s, lookup, now_secs)));
        let Some(view) = view.as_ref() else {
            continue; // no such stream: the name is an ordinary (Docker Hub) name
        };
        let field = format!("{}.{list}[{i}].image", prefix.join("."));
        match resolve_name(view, &tag, force) {
            Ok(to) => {
                if to != image {
                    let ptr = format!("/{}/{list}/{i}/image", prefix.join("/"));
                    if let Some(slot) = object.pointer_mut(&ptr) {
                        *slot = Value::String(to.clone());
                    }
                    outcome.rewrites.push(Rewrite {
                        field,
                        from: image,
                        to,
                    });
                }
            }
            Err(message) => outcome.refusals.push(Refusal {
                field,
                image,
                message,
            }),
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::INTERNAL_REGISTRY;
    use serde_json::json;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const NOW: u64 = 1_800_000_000;

    fn stream(name: &str, ns: &str, local: bool) -> Value {
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": name, "namespace": ns, "generation": 1},
            "spec": {"lookupPolicy": {"local": local}, "tags": [
                {"name": "v1", "from": {"kind": "DockerImage", "name": format!("quay.io/org/{name}@{D1}")}},
                {"name": "v2", "from": {"kind": "DockerImage", "name": format!("quay.io/org/{name}:v2")}},
                {"name": "prod", "from": {"kind": "ImageStreamTag", "name": "v1"}},
                {"name": "ext", "from": {"kind": "ImageStreamTag", "name": "base:v1"}}]}})
    }

    fn deployment(ns: &str, images: &[&str]) -> Value {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, im)| json!({"name": format!("c{i}"), "image": im}))
            .collect();
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
            "spec": {"template": {"spec": {"containers": containers}}}})
    }

    fn lookup(ns: &str, name: &str) -> Option<Value> {
        match (ns, name) {
            ("lab", "app") => Some(stream("app", "lab", true)),
            ("lab", "plain") => Some(stream("plain", "lab", false)),
            // Settled: its tags already have their images.
            ("lab", "base") => Some(view_of(
                stream("base", "lab", false),
                &|_: &str, _: &str| None,
                NOW,
            )),
            _ => None,
        }
    }

    fn image(d: &Value, i: usize) -> &str {
        d["spec"]["template"]["spec"]["containers"][i]["image"]
            .as_str()
            .unwrap()
    }

    #[test]
    fn local_names_are_single_segments_without_digest() {
        assert_eq!(local_name("app"), Some(("app".into(), "latest".into())));
        assert_eq!(local_name("app:v1"), Some(("app".into(), "v1".into())));
        for not in [
            "quay.io/app:v1",
            "org/app",
            "localhost:5000/app",
            &format!("app@{D1}"),
            "App:v1",
            "",
        ] {
            assert_eq!(local_name(not), None, "{not}");
        }
    }

    #[test]
    fn local_streams_resolve_to_the_pinned_image() {
        let mut d = deployment(
            "lab",
            &["app:v1", "app:prod", "app:v2", "app:nope", "app", "nginx:1"],
        );
        let out = admit(&mut d, None, &lookup, NOW);
        let pinned = format!("quay.io/org/app@{D1}");
        assert_eq!(image(&d, 0), pinned);
        // A tag tracking another resolves to the same image.
        assert_eq!(image(&d, 1), pinned);
        // A tag that needs the registry, and tags without an image, name the internal repo.
        let repo = format!("{INTERNAL_REGISTRY}/lab/app");
        assert_eq!(image(&d, 2), format!("{repo}:v2"));
        assert_eq!(image(&d, 3), format!("{repo}:nope"));
        assert_eq!(image(&d, 4), format!("{repo}:latest"));
        // Not a stream of the namespace: an ordinary name.
        assert_eq!(image(&d, 5), "nginx:1");
        assert_eq!(out.rewrites.len(), 5);
        assert_eq!(
            out.rewrites[0],
            Rewrite {
                field: "spec.template.spec.containers[0].image".into(),
                from: "app:v1".into(),
                to: pinned
            }
        );
        assert!(out.refusals.is_empty());
    }

    #[test]
    fn streams_without_local_refuse_unless_the_object_asks() {
        let mut d = deployment("lab", &["plain:v1", "plain:none"]);
        let out = admit(&mut d, None, &lookup, NOW);
        assert_eq!(image(&d, 0), "plain:v1");
        assert!(out.rewrites.is_empty());
        assert_eq!(out.refusals[0].message, REFUSED);
        assert!(
            out.refusals[1].message.contains("\"plain:none\" not found"),
            "{:?}",
            out.refusals
        );
        // On the pod template or on the object: forced.
        let mut on_template = deployment("lab", &["plain:v1"]);
        on_template["spec"]["template"]["metadata"] = json!({"annotations": {RESOLVE_NAMES: "*"}});
        let mut on_object = deployment("lab", &["plain:v1"]);
        on_object["metadata"]["annotations"] = json!({RESOLVE_NAMES: "*"});
        for mut d in [on_template, on_object] {
            let out = admit(&mut d, None, &lookup, NOW);
            assert_eq!(image(&d, 0), format!("quay.io/org/plain@{D1}"));
            assert_eq!(out.rewrites.len(), 1);
        }
        // Any other value asks for nothing.
        let mut d = deployment("lab", &["plain:v1"]);
        d["metadata"]["annotations"] = json!({RESOLVE_NAMES: "plain"});
        admit(&mut d, None, &lookup, NOW);
        assert_eq!(image(&d, 0), "plain:v1");
    }

    #[test]
    fn other_namespaces_and_owned_objects_are_untouched() {
        let mut d = deployment("other", &["app:v1"]);
        assert_eq!(admit(&mut d, None, &lookup, NOW), Outcome::default());
        assert_eq!(image(&d, 0), "app:v1");
        let mut rs = deployment("lab", &["app:v1"]);
        rs["kind"] = json!("ReplicaSet");
        rs["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u", "controller": true}]);
        assert!(!applies(&rs));
        assert_eq!(admit(&mut rs, None, &lookup, NOW), Outcome::default());
        // A non-controller owner does not exempt it.
        rs["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        admit(&mut rs, None, &lookup, NOW);
        assert_eq!(image(&rs, 0), format!("quay.io/org/app@{D1}"));
        // Kinds without a pod spec are not admitted.
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "lab"}, "data": {"image": "app:v1"}});
        assert!(!applies(&cm));
        admit(&mut cm, None, &lookup, NOW);
        assert_eq!(cm["data"]["image"], "app:v1");
    }

    #[test]
    fn every_covered_kind_has_its_pod_spec_rewritten() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "lab"},
            "spec": {"initContainers": [{"name": "i", "image": "app:v1"}], "containers": [{"name": "c", "image": "app"}]}});
        let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "lab"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "app:v1"}]}}}}}});
        let dc = json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig", "metadata": {"name": "d", "namespace": "lab"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "app:v1"}]}}}});
        let pinned = format!("quay.io/org/app@{D1}");
        for (mut o, ptr) in [
            (pod.clone(), "/spec/initContainers/0/image"),
            (
                cron,
                "/spec/jobTemplate/spec/template/spec/containers/0/image",
            ),
            (dc, "/spec/template/spec/containers/0/image"),
        ] {
            admit(&mut o, None, &lookup, NOW);
            assert_eq!(o.pointer(ptr).unwrap(), &json!(pinned), "{ptr}");
        }
        let mut p = pod;
        admit(&mut p, None, &lookup, NOW);
        assert_eq!(
            p["spec"]["containers"][0]["image"],
            format!("{INTERNAL_REGISTRY}/lab/app:latest")
        );
    }

    #[test]
    fn updates_leave_unchanged_images_alone_unless_the_annotation_changed() {
        // Stored as written (the stream did not exist then): an update with the same image
        // does not resolve it, as the plugin compares with the old object.
        let old = deployment("lab", &["app:v1", "app:v1"]);
        let mut new = deployment("lab", &["app:v1", "app:prod"]);
        admit(&mut new, Some(&old), &lookup, NOW);
        assert_eq!(image(&new, 0), "app:v1");
        assert_eq!(image(&new, 1), format!("quay.io/org/app@{D1}"));
        let mut new = deployment("lab", &["app:v1", "app:v1"]);
        new["metadata"]["annotations"] = json!({RESOLVE_NAMES: "*"});
        admit(&mut new, Some(&old), &lookup, NOW);
        assert_eq!(image(&new, 0), format!("quay.io/org/app@{D1}"));
    }

    #[test]
    fn the_stream_is_read_as_its_controller_resolves_it() {
        // A stream whose status already moved on (a newer import) resolves to what the status
        // says.
        let mut moved = view_of(stream("app", "lab", true), &lookup, NOW);
        crate::images::add_tag_event(
            &mut moved,
            "v1",
            crate::images::TagEvent {
                created: "t".into(),
                docker_image_reference: format!("quay.io/org/app@{D2}"),
                image: D2.into(),
                generation: 1,
            },
        );
        let settled = view_of(moved, &lookup, NOW);
        assert_eq!(
            resolve_name(&settled, "v1", false).unwrap(),
            format!("quay.io/org/app@{D2}")
        );
        // Referencing another stream's tag copies its current image, through the lookup.
        assert_eq!(
            resolve_name(
                &view_of(stream("app", "lab", true), &lookup, NOW),
                "ext",
                false
            )
            .unwrap(),
            format!("quay.io/org/base@{D1}")
        );
        // referencePolicy Local: the internal repository, pinned.
        let mut local = stream("app", "lab", true);
        local["spec"]["tags"][0]["referencePolicy"] = json!({"type": "Local"});
        assert_eq!(
            resolve_name(&view_of(local, &lookup, NOW), "v1", false).unwrap(),
            format!("{INTERNAL_REGISTRY}/lab/app@{D1}")
        );
    }
}
