//! `oc tag` (openshift-semantics §10.4): pointing spec tags at an image, a tag of another
//! stream (resolved to its current image unless `--alias`), or an external image to import.
//!
//! The edits are written to the spec; the ImageStream controller resolves them into status
//! events when the cluster settles.

use serde_json::{Value, json};

use super::{DockerRef, GROUP, latest_event, split_stream_tag};
use crate::cluster::ClusterError;
use crate::cluster::local::Txn;
use crate::resource::ResourceKey;

/// What `oc tag` refuses, with oc's messages.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// A destination is not `[namespace/]stream:tag`.
    #[error("{0:?} is not a valid destination: use [namespace/]<stream>:<tag>")]
    BadDestination(String),
    /// The source does not parse for its kind.
    #[error("{0}")]
    BadSource(String),
    /// `--source` named an unknown kind.
    #[error(
        "invalid source {0:?}: use one of imagestreamtag, istag, imagestreamimage, isimage, docker, dockerimage"
    )]
    UnknownSourceKind(String),
    /// Import flags on a stream source.
    #[error("only container images can have importing flags set")]
    ImportFlags,
    /// `--alias` across streams.
    #[error("cannot set alias across different Image Streams")]
    AliasAcrossStreams,
    /// `--alias` on a non-ImageStreamTag source.
    #[error("cannot set an alias for {0:?}: only ImageStreamTag sources can be aliased")]
    AliasKind(String),
    /// The source tag has no image yet.
    #[error("{0:?} is not currently pointing to an image, cannot use it as the source of a tag")]
    NotPointing(String),
    /// The source stream is missing.
    #[error("imagestreams.image.openshift.io {name:?} not found in namespace {namespace:?}")]
    SourceStreamNotFound {
        /// The stream.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// `-d` on a tag that does not exist.
    #[error("imagestreamtags.image.openshift.io {0:?} not found")]
    TagNotFound(String),
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// How to tag.
#[derive(Debug, Clone, Default)]
pub struct TagOptions {
    /// The namespace of names without one.
    pub namespace: String,
    /// `--source`: the source kind, instead of inferring it.
    pub source_kind: Option<String>,
    /// `--alias`: track the source tag instead of its current image.
    pub alias: bool,
    /// `--scheduled`: re-import periodically.
    pub scheduled: bool,
    /// `--insecure`: allow plain HTTP for the import.
    pub insecure: bool,
    /// `--import-mode`: how a manifest list imports (`importPolicy.importMode`).
    pub import_mode: Option<super::stream::ImportMode>,
    /// `--reference`: record the reference without importing.
    pub reference: bool,
    /// `--reference-policy`: `source` or `local`.
    pub reference_policy: Option<String>,
}

fn split_ns<'a>(s: &'a str, default_ns: &'a str) -> (&'a str, &'a str) {
    match s.split_once('/') {
        Some((ns, rest)) if !rest.contains('/') && !ns.contains('.') && !ns.contains(':') => {
            (ns, rest)
        }
        _ => (default_ns, s),
    }
}

fn has_registry(s: &str) -> bool {
    s.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    })
}

/// The source kind `oc tag` infers: a registry → DockerImage, `@id` → ImageStreamImage,
/// `:tag` → ImageStreamTag, else DockerImage.
pub fn infer_source_kind(src: &str) -> &'static str {
    if has_registry(src) {
        "DockerImage"
    } else if src.contains('@') {
        "ImageStreamImage"
    } else if src.contains(':') {
        "ImageStreamTag"
    } else {
        "DockerImage"
    }
}

fn stream_key(ns: &str, name: &str) -> ResourceKey {
    ResourceKey::new(GROUP, "ImageStream", ns, name)
}

/// Points every destination at `src`; returns oc's message for each.
pub fn tag(
    txn: &mut Txn<'_>,
    src: &str,
    dests: &[String],
    opts: &TagOptions,
) -> Result<Vec<String>, TagError> {
    let kind = match opts.source_kind.as_deref().map(str::to_ascii_lowercase) {
        None => infer_source_kind(src),
        Some(k) => match k.as_str() {
            "imagestreamtag" | "istag" => "ImageStreamTag",
            "imagestreamimage" | "isimage" => "ImageStreamImage",
            "docker" | "dockerimage" => "DockerImage",
            _ => return Err(TagError::UnknownSourceKind(k)),
        },
    };
    if kind != "DockerImage" && (opts.scheduled || opts.insecure || opts.import_mode.is_some()) {
        return Err(TagError::ImportFlags);
    }
    if opts.alias && kind != "ImageStreamTag" {
        return Err(TagError::AliasKind(src.to_string()));
    }
    let (src_ns, src_name) = split_ns(src, &opts.namespace);
    // What the spec tag's `from` becomes.
    let from = match kind {
        "DockerImage" => {
            DockerRef::parse(src).map_err(|e| TagError::BadSource(e.to_string()))?;
            json!({"kind": "DockerImage", "name": src})
        }
        "ImageStreamImage" => {
            if !src_name.contains('@') {
                return Err(TagError::BadSource(format!(
                    "{src:?} is not an ImageStreamImage: use <stream>@<id>"
                )));
            }
            json!({"kind": "ImageStreamImage", "name": src_name, "namespace": src_ns})
        }
        _ => {
            let (stream, tag) = split_stream_tag(src_name).ok_or_else(|| {
                TagError::BadSource(format!("{src:?} must be in the form of <name>:<tag>"))
            })?;
            if opts.alias {
                json!({"kind": "ImageStreamTag", "name": src_name, "namespace": src_ns})
            } else {
                let stream_obj = txn.get(&stream_key(src_ns, stream))?.ok_or_else(|| {
                    TagError::SourceStreamNotFound {
                        name: stream.to_string(),
                        namespace: src_ns.to_string(),
                    }
                })?;
                let ev = latest_event(&stream_obj, tag)
                    .ok_or_else(|| TagError::NotPointing(src.to_string()))?;
                if ev.image.is_empty() {
                    json!({"kind": "DockerImage", "name": ev.docker_image_reference})
                } else {
                    json!({"kind": "ImageStreamImage", "name": format!("{stream}@{}", ev.image), "namespace": src_ns})
                }
            }
        }
    };
    let mut messages = Vec::new();
    for dest in dests {
        let (ns, name_tag) = split_ns(dest, &opts.namespace);
        let (stream, tag) = split_stream_tag(name_tag)
            .filter(|(s, _)| !s.contains('/'))
            .ok_or_else(|| TagError::BadDestination(dest.clone()))?;
        if opts.alias
            && (src_ns != ns || split_stream_tag(src_name).map(|(s, _)| s) != Some(stream))
        {
            return Err(TagError::AliasAcrossStreams);
        }
        let key = stream_key(ns, stream);
        let mut obj = match txn.get(&key)? {
            Some(o) => o,
            None => json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": stream, "namespace": ns}, "spec": {}}),
        };
        let mut spec_tag = json!({"name": tag, "from": from.clone()});
        if opts.reference {
            spec_tag["reference"] = json!(true);
        }
        if opts.scheduled || opts.insecure || opts.import_mode.is_some() {
            spec_tag["importPolicy"] = json!({});
            if opts.scheduled {
                spec_tag["importPolicy"]["scheduled"] = json!(true);
            }
            if opts.insecure {
                spec_tag["importPolicy"]["insecure"] = json!(true);
            }
            if let Some(mode) = opts.import_mode {
                spec_tag["importPolicy"]["importMode"] = json!(mode.as_str());
            }
        }
        let policy = match opts.reference_policy.as_deref() {
            Some(p) if p.eq_ignore_ascii_case("local") => "Local",
            _ => "Source",
        };
        spec_tag["referencePolicy"] = json!({"type": policy});
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        let tags = obj["spec"]
            .as_object_mut()
            .map(|s| s.entry("tags").or_insert_with(|| json!([])));
        if let Some(Value::Array(tags)) = tags {
            match tags
                .iter_mut()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(tag))
            {
                Some(t) => {
                    // keep annotations of an existing tag
                    if let Some(a) = t.get("annotations").cloned() {
                        spec_tag["annotations"] = a;
                    }
                    *t = spec_tag;
                }
                None => tags.push(spec_tag),
            }
        }
        // A DockerImage source is always imported again (upstream sets generation 0).
        super::stream::forget_observed(&mut obj, Some(tag));
        if obj.pointer("/metadata/uid").is_some() {
            txn.update(obj)?;
        } else {
            txn.create(obj)?;
        }
        let shown = from.get("name").and_then(Value::as_str).unwrap_or(src);
        messages.push(if opts.alias {
            format!("Tag {name_tag} set up to track {src_name}.")
        } else if opts.scheduled {
            format!("Tag {name_tag} set to import {src} periodically.")
        } else if kind == "ImageStreamTag" {
            format!("Tag {name_tag} set to {shown}.")
        } else {
            format!("Tag {name_tag} set to {src}.")
        });
    }
    Ok(messages)
}

/// `oc tag -d`: deletes spec tags (and their status history).
pub fn delete_tags(
    txn: &mut Txn<'_>,
    dests: &[String],
    namespace: &str,
) -> Result<Vec<String>, TagError> {
    let mut messages = Vec::new();
    for dest in dests {
        let (ns, name_tag) = split_ns(dest, namespace);
        let (stream, tag) =
            split_stream_tag(name_tag).ok_or_else(|| TagError::BadDestination(dest.clone()))?;
        let key = stream_key(ns, stream);
        let mut obj = txn
            .get(&key)?
            .ok_or_else(|| TagError::TagNotFound(name_tag.to_string()))?;
        let mut found = false;
        for (ptr, field) in [("/spec/tags", "name"), ("/status/tags", "tag")] {
            if let Some(list) = obj.pointer_mut(ptr).and_then(Value::as_array_mut) {
                let before = list.len();
                list.retain(|t| t.get(field).and_then(Value::as_str) != Some(tag));
                found |= list.len() != before;
            }
        }
        if !found {
            return Err(TagError::TagNotFound(name_tag.to_string()));
        }
        super::stream::forget_observed(&mut obj, Some(tag));
        txn.update(obj)?;
        messages.push(format!("Deleted tag {ns}/{name_tag}."));
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kinds_are_inferred_like_oc() {
        assert_eq!(infer_source_kind("quay.io/org/app:v1"), "DockerImage");
        assert_eq!(infer_source_kind("app@sha256:abc"), "ImageStreamImage");
        assert_eq!(infer_source_kind("app:v1"), "ImageStreamTag");
        assert_eq!(infer_source_kind("centos"), "DockerImage");
        assert_eq!(infer_source_kind("localhost/app:v1"), "DockerImage");
    }
}
