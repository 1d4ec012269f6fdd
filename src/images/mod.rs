//! ImageStream semantics: image references, tag events, tag history and resolving a tag to
//! the pull spec every trigger uses (openshift-semantics §10).
//!
//! This module owns the rules, as pure functions over `serde_json::Value` objects:
//!
//! - [`DockerRef`]: parsing `registry/repository:tag@sha256:…` references.
//! - [`TagEvent`] and [`add_tag_event`]: the status tag history, newest first, updated in
//!   place or prepended exactly as `AddTagEventToImageStream` does, with same-stream tracking
//!   tags following their source in the same update ([`push_tag_event`]).
//! - [`resolve_tag`]: `ResolveLatestTaggedImage` — `referencePolicy: Local` gives
//!   `<status.dockerImageRepository>@<image>`, otherwise the event's `dockerImageReference`.
//! - [`resolve_local_name`]: what `lookupPolicy.local` lets a pod say (`app:tag`);
//!   [`admission`] applies it to every pod and pod template the embedded cluster stores.
//! - [`stream::reconcile_spec_tags`]: resolving spec tags (DockerImage, ImageStreamTag,
//!   ImageStreamImage) into status events; [`registry`] imports tag references over the OCI
//!   distribution API, with credentials from the namespace's pull secrets ([`auth`]); [`tag`]
//!   is `oc tag`.

pub mod admission;
pub mod auth;
pub mod registry;
pub mod stream;
pub mod tag;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The host name of the embedded cluster's internal registry, as OpenShift 4 names its own:
/// images built in namespace `ns` into stream `s` are `<this>/ns/s@sha256:…`.
pub const INTERNAL_REGISTRY: &str = "image-registry.openshift-image-registry.svc:5000";

/// The API group of ImageStreams.
pub const GROUP: &str = "image.openshift.io";

/// How many events a status tag keeps (OpenShift keeps all until images are pruned; the
/// embedded cluster bounds the history so a long-lived store does not grow without limit).
pub const HISTORY_KEPT: usize = 100;

/// The longest image reference accepted.
const MAX_REFERENCE: usize = 1024;

/// An image reference or tag that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The reference does not parse.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An ImageStreamTag name without `:tag`.
    #[error("{name:?} must be in the form of <name>:<tag>")]
    InvalidStreamTag {
        /// The name as given.
        name: String,
    },
}

/// A container image reference: `[registry/]repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerRef {
    /// The registry as written (`quay.io`, `localhost:5000`), empty for Docker Hub.
    pub registry: String,
    /// The repository path (`library/centos`, `org/app`).
    pub repository: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// The digest (`sha256:<64 hex>`), when given.
    pub digest: Option<String>,
}

impl DockerRef {
    /// Parses a reference as the container tools do: the first path segment is a registry
    /// when it has a `.` or a `:` or is `localhost`.
    pub fn parse(reference: &str) -> Result<Self, ImageError> {
        let bad = |reason: &str| ImageError::InvalidReference {
            reference: reference.chars().take(MAX_REFERENCE).collect(),
            reason: reason.to_string(),
        };
        if reference.is_empty() {
            return Err(bad("it is empty"));
        }
        if reference.len() > MAX_REFERENCE {
            return Err(bad("it is too long"));
        }
        if reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("it contains whitespace"));
        }
        let (name, digest) = match reference.split_once('@') {
            Some((n, d)) => {
                check_digest(d).map_err(|r| bad(&r))?;
                (n, Some(d.to_string()))
            }
            None => (reference, None),
        };
        let (name, tag) = match name.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => {
                if t.is_empty()
                    || t.len() > 128
                    || !t
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                {
                    return Err(bad("the tag is not valid"));
                }
                (n, Some(t.to_string()))
            }
            _ => (name, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (String::new(), name.to_string()),
        };
        if repository.is_empty()
            || repository.split('/').any(|s| {
                s.is_empty()
                    || !s
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            })
        {
            return Err(bad(
                "the repository must be lower-case path segments of letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(DockerRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The registry, `docker.io` when none was written.
    pub fn registry_or_default(&self) -> &str {
        if self.registry.is_empty() {
            "docker.io"
        } else {
            &self.registry
        }
    }

    /// The repository as the registry API names it (`library/centos` for Docker Hub's
    /// single-segment names).
    pub fn api_repository(&self) -> String {
        if self.registry_or_default() == "docker.io" && !self.repository.contains('/') {
            format!("library/{}", self.repository)
        } else {
            self.repository.clone()
        }
    }

    /// `registry/repository` with the default registry and Docker Hub's `library/` spelled
    /// out, as an import records it.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.registry_or_default(), self.api_repository())
    }

    /// The digest-pinned pull spec `registry/repository@sha256:…`, when there is a digest.
    pub fn pinned(&self) -> Option<String> {
        self.digest
            .as_ref()
            .map(|d| format!("{}@{d}", self.qualified_name()))
    }
}

/// Checks `algorithm:hex` (sha256 with 64 hex digits, sha512 with 128).
pub fn check_digest(d: &str) -> Result<(), String> {
    let (algo, hex) = d
        .split_once(':')
        .ok_or_else(|| format!("digest {d:?} is not algorithm:hex"))?;
    let want = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(format!("digest algorithm {algo:?} is not sha256 or sha512")),
    };
    if hex.len() != want
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(format!("digest {d:?} is not {want} lower-case hex digits"));
    }
    Ok(())
}

/// Splits an ImageStreamTag name `stream:tag`; `None` without a tag (such a name never
/// resolves, as `SplitImageStreamTag` says).
pub fn split_stream_tag(name: &str) -> Option<(&str, &str)> {
    let (s, t) = name.rsplit_once(':')?;
    (!s.is_empty() && !t.is_empty() && !s.contains('@')).then_some((s, t))
}

/// The internal repository of a stream: `<INTERNAL_REGISTRY>/<ns>/<name>`.
pub fn internal_repository(namespace: &str, name: &str) -> String {
    format!("{INTERNAL_REGISTRY}/{namespace}/{name}")
}

/// One entry of a status tag's history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEvent {
    /// When it was recorded (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// The pull spec of the image.
    #[serde(default)]
    pub docker_image_reference: String,
    /// The image id (`sha256:…`), empty for a reference-only tag.
    #[serde(default)]
    pub image: String,
    /// The stream generation that produced it.
    #[serde(default)]
    pub generation: i64,
}

impl TagEvent {
    /// As a JSON object.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// `metadata.name`, `metadata.namespace` of an object.
pub fn name_ns(v: &Value) -> (&str, &str) {
    (
        str_at(v, &["metadata", "name"]).unwrap_or_default(),
        str_at(v, &["metadata", "namespace"]).unwrap_or_default(),
    )
}

/// The stream's `metadata.generation` (1 when unset).
pub fn generation(stream: &Value) -> i64 {
    stream
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// The spec tag named `tag`.
pub fn spec_tag<'a>(stream: &'a Value, tag: &str) -> Option<&'a Value> {
    stream
        .pointer("/spec/tags")
        .and_then(Value::as_array)?
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(tag))
}

/// The status tag named `tag`.
pub fn status_tag<'a>(stream: &'a Value, tag: &str) -> Option<&'a Value> {
    stream
        .pointer("/status/tags")
        .and_then(Value::as_array)?
        .iter()
        .find(|t| t.get("tag").and_then(Value::as_str) == Some(tag))
}

/// The newest event of a tag (`items[0]`).
pub fn latest_event(stream: &Value, tag: &str) -> Option<TagEvent> {
    let tag = if tag.is_empty() { "latest" } else { tag };
    let first = status_tag(stream, tag)?
        .get("items")
        .and_then(Value::as_array)?
        .first()?;
    serde_json::from_value(first.clone()).ok()
}

/// Every event of every tag, newest first per tag.
pub fn all_events(stream: &Value) -> Vec<(String, TagEvent)> {
    let mut out = Vec::new();
    for t in stream
        .pointer("/status/tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = t.get("tag").and_then(Value::as_str).unwrap_or_default();
        for item in t
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Ok(e) = serde_json::from_value::<TagEvent>(item.clone()) {
                out.push((name.to_string(), e));
            }
        }
    }
    out
}

/// `ResolveLatestTaggedImage`: the pull spec triggers use for `tag` of `stream`, or `None`
/// when the tag has no image yet.
pub fn resolve_tag(stream: &Value, tag: &str) -> Option<String> {
    let tag = if tag.is_empty() { "latest" } else { tag };
    let latest = latest_event(stream, tag)?;
    let local = spec_tag(stream, tag)
        .and_then(|t| t.pointer("/referencePolicy/type"))
        .and_then(Value::as_str)
        == Some("Local");
    let repo = str_at(stream, &["status", "dockerImageRepository"]).unwrap_or_default();
    if local && !repo.is_empty() && !latest.image.is_empty() {
        return Some(format!("{repo}@{}", latest.image));
    }
    (!latest.docker_image_reference.is_empty()).then_some(latest.docker_image_reference)
}

fn status_tags_mut(stream: &mut Value) -> &mut Vec<Value> {
    if !stream.get("status").is_some_and(Value::is_object) {
        stream["status"] = json!({});
    }
    let status = &mut stream["status"];
    if !status.get("tags").is_some_and(Value::is_array) {
        status["tags"] = json!([]);
    }
    match status.get_mut("tags") {
        Some(Value::Array(a)) => a,
        _ => unreachable!("status.tags was just made an array"),
    }
}

/// `AddTagEventToImageStream`: records `event` as the newest of `tag`. Identical reference,
/// image and generation → no change; same reference and image → generation updated; same
/// reference → image updated in place; same image → reference updated in place; otherwise
/// the event is prepended. Any change clears the tag's conditions. Returns whether the stream
/// changed.
pub fn add_tag_event(stream: &mut Value, tag: &str, event: TagEvent) -> bool {
    let tags = status_tags_mut(stream);
    let idx = match tags
        .iter()
        .position(|t| t.get("tag").and_then(Value::as_str) == Some(tag))
    {
        Some(i) => i,
        None => {
            tags.push(json!({"tag": tag, "items": []}));
            tags.len() - 1
        }
    };
    let entry = &mut tags[idx];
    if !entry.get("items").is_some_and(Value::is_array) {
        entry["items"] = json!([]);
    }
    let Some(items) = entry.get_mut("items").and_then(Value::as_array_mut) else {
        return false;
    };
    let previous: Option<TagEvent> = items
        .first()
        .and_then(|f| serde_json::from_value(f.clone()).ok());
    match previous {
        Some(p) => {
            let same_ref = p.docker_image_reference == event.docker_image_reference;
            let same_image = p.image == event.image;
            if same_ref && same_image && p.generation == event.generation {
                return false;
            }
            let first = &mut items[0];
            if same_ref && same_image {
                first["generation"] = json!(event.generation);
            } else if same_ref {
                first["image"] = json!(event.image);
                first["generation"] = json!(event.generation);
            } else if same_image {
                first["dockerImageReference"] = json!(event.docker_image_reference);
                first["generation"] = json!(event.generation);
            } else {
                items.insert(0, event.to_value());
                items.truncate(HISTORY_KEPT);
            }
        }
        None => items.insert(0, event.to_value()),
    }
    if let Some(e) = entry.as_object_mut() {
        e.remove("conditions");
    }
    true
}

/// The tags of `stream` whose spec tracks `source` within the same stream
/// (`from: {kind: ImageStreamTag, name: source | <stream>:source}`, same namespace).
pub fn tracking_tags(stream: &Value, source: &str) -> Vec<String> {
    let (name, ns) = name_ns(stream);
    let mut out = Vec::new();
    for t in stream
        .pointer("/spec/tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(tag) = t.get("name").and_then(Value::as_str) else {
            continue;
        };
        if tag == source || str_at(t, &["from", "kind"]) != Some("ImageStreamTag") {
            continue;
        }
        let from_ns = str_at(t, &["from", "namespace"]).unwrap_or_default();
        if !from_ns.is_empty() && from_ns != ns {
            continue;
        }
        let from = str_at(t, &["from", "name"]).unwrap_or_default();
        let tracked = match split_stream_tag(from) {
            Some((s, t)) => s == name && t == source,
            None => from == source,
        };
        if tracked {
            out.push(tag.to_string());
        }
    }
    out
}

/// Records `event` on `tag` and, in the same update, on every tag of the same stream that
/// tracks it (`UpdateTrackingTags`), transitively. Returns the tags that changed.
pub fn push_tag_event(stream: &mut Value, tag: &str, event: TagEvent) -> Vec<String> {
    let mut changed = Vec::new();
    let mut work = vec![(tag.to_string(), event)];
    while let Some((t, e)) = work.pop() {
        if changed.contains(&t) || changed.len() > 1000 {
            continue;
        }
        if add_tag_event(stream, &t, e.clone()) {
            for follower in tracking_tags(stream, &t) {
                work.push((follower, e.clone()));
            }
            changed.push(t);
        }
    }
    changed
}

/// Sets (or replaces) the condition of `type` on status tag `tag`; returns whether it changed.
pub fn set_tag_condition(stream: &mut Value, tag: &str, condition: &Value, now: &str) -> bool {
    let tags = status_tags_mut(stream);
    let idx = match tags
        .iter()
        .position(|t| t.get("tag").and_then(Value::as_str) == Some(tag))
    {
        Some(i) => i,
        None => {
            tags.push(json!({"tag": tag, "items": []}));
            tags.len() - 1
        }
    };
    let entry = &mut tags[idx];
    let ty = condition.get("type").cloned().unwrap_or(Value::Null);
    let conds = entry
        .as_object_mut()
        .map(|e| e.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conds)) = conds else {
        return false;
    };
    let same = |c: &Value| {
        c.get("type") == Some(&ty)
            && ["status", "reason", "message", "generation"]
                .iter()
                .all(|k| c.get(*k) == condition.get(*k))
    };
    if conds.iter().any(same) {
        return false;
    }
    conds.retain(|c| c.get("type") != Some(&ty));
    let mut c = condition.clone();
    c["lastTransitionTime"] = json!(now);
    conds.push(c);
    true
}

/// What `lookupPolicy.local` makes of a single-segment image name (`app`, `app:tag`) used in
/// the stream's namespace: the resolved pull spec, `<internal repo>:<tag>` when the tag has
/// no image yet, or the admission plugin's refusal when the stream does not resolve local
/// names. `None` when the name is not a local name.
pub fn resolve_local_name(stream: &Value, image: &str) -> Option<Result<String, String>> {
    if image.contains('/') || image.contains('@') {
        return None;
    }
    let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let (stream_name, ns) = name_ns(stream);
    if name != stream_name {
        return None;
    }
    let local = stream
        .pointer("/spec/lookupPolicy/local")
        .and_then(Value::as_bool)
        == Some(true);
    if !local {
        return Some(Err(
            "ImageStreamTag does not allow local references and the resource did not request image stream resolution".into(),
        ));
    }
    Some(Ok(resolve_tag(stream, tag).unwrap_or_else(|| {
        format!("{}:{tag}", internal_repository(ns, stream_name))
    })))
}

/// An empty object, for building status maps.
pub(crate) fn obj() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(r: &str, image: &str, generation: i64) -> TagEvent {
        TagEvent {
            created: "2026-01-01T00:00:00Z".into(),
            docker_image_reference: r.into(),
            image: image.into(),
            generation,
        }
    }

    #[test]
    fn references_parse() {
        let r = DockerRef::parse("centos:7").unwrap();
        assert_eq!(r.qualified_name(), "docker.io/library/centos");
        assert_eq!(r.tag.as_deref(), Some("7"));
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = DockerRef::parse(&format!("localhost:5000/org/app:v1@{d}")).unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "org/app");
        assert_eq!(r.pinned().unwrap(), format!("localhost:5000/org/app@{d}"));
        assert!(DockerRef::parse("Centos").is_err());
        assert!(DockerRef::parse("a@sha256:12").is_err());
        assert!(DockerRef::parse("").is_err());
        assert!(DockerRef::parse("a b").is_err());
        assert_eq!(split_stream_tag("app:latest"), Some(("app", "latest")));
        assert_eq!(split_stream_tag("app"), None);
    }

    #[test]
    fn tag_history_follows_add_tag_event() {
        let mut s = json!({"metadata": {"name": "s", "namespace": "n"}});
        assert!(add_tag_event(&mut s, "latest", ev("r@1", "sha256:1", 1)));
        assert!(!add_tag_event(&mut s, "latest", ev("r@1", "sha256:1", 1)));
        // same ref and image: generation updated in place
        assert!(add_tag_event(&mut s, "latest", ev("r@1", "sha256:1", 2)));
        assert_eq!(s["status"]["tags"][0]["items"].as_array().unwrap().len(), 1);
        assert_eq!(s["status"]["tags"][0]["items"][0]["generation"], 2);
        // new image and ref: prepended
        assert!(add_tag_event(&mut s, "latest", ev("r@2", "sha256:2", 2)));
        let items = s["status"]["tags"][0]["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["image"], "sha256:2");
        assert_eq!(latest_event(&s, "").unwrap().image, "sha256:2");
    }

    #[test]
    fn resolution_follows_reference_policy() {
        let mut s = json!({"metadata": {"name": "app", "namespace": "n"},
            "spec": {"tags": [{"name": "latest", "referencePolicy": {"type": "Local"}}, {"name": "src"}]},
            "status": {"dockerImageRepository": internal_repository("n", "app")}});
        assert_eq!(resolve_tag(&s, "latest"), None);
        add_tag_event(
            &mut s,
            "latest",
            ev("quay.io/x/app@sha256:1", "sha256:1", 1),
        );
        add_tag_event(&mut s, "src", ev("quay.io/x/app@sha256:1", "sha256:1", 1));
        assert_eq!(
            resolve_tag(&s, "latest").unwrap(),
            format!("{INTERNAL_REGISTRY}/n/app@sha256:1")
        );
        assert_eq!(resolve_tag(&s, "src").unwrap(), "quay.io/x/app@sha256:1");
    }

    #[test]
    fn tracking_tags_follow_their_source() {
        let mut s = json!({"metadata": {"name": "app", "namespace": "n"},
            "spec": {"tags": [
                {"name": "latest"},
                {"name": "prod", "from": {"kind": "ImageStreamTag", "name": "latest"}},
                {"name": "alias", "from": {"kind": "ImageStreamTag", "name": "app:prod"}},
                {"name": "other", "from": {"kind": "ImageStreamTag", "name": "base:latest"}}]}});
        let mut changed = push_tag_event(&mut s, "latest", ev("r@1", "sha256:1", 1));
        changed.sort();
        assert_eq!(changed, vec!["alias", "latest", "prod"]);
        assert!(latest_event(&s, "other").is_none());
    }

    #[test]
    fn local_names() {
        let mut s = json!({"metadata": {"name": "app", "namespace": "n"}, "spec": {"lookupPolicy": {"local": true}}});
        assert_eq!(
            resolve_local_name(&s, "app:v1").unwrap().unwrap(),
            format!("{INTERNAL_REGISTRY}/n/app:v1")
        );
        add_tag_event(&mut s, "v1", ev("r/app@sha256:1", "sha256:1", 1));
        assert_eq!(
            resolve_local_name(&s, "app:v1").unwrap().unwrap(),
            "r/app@sha256:1"
        );
        assert!(resolve_local_name(&s, "other:v1").is_none());
        assert!(resolve_local_name(&s, "quay.io/app").is_none());
        s["spec"]["lookupPolicy"]["local"] = json!(false);
        assert!(
            resolve_local_name(&s, "app")
                .unwrap()
                .unwrap_err()
                .contains("does not allow local references")
        );
    }
}
