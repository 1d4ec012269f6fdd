//! Resolving an ImageStream's spec tags into status tag events (openshift-semantics §10,
//! §10.3): what the API server and the import controller do when a spec tag is new or its
//! reference changed.
//!
//! | `from.kind` | event |
//! |---|---|
//! | `DockerImage`, `reference: true` | `{dockerImageReference: from.name, image: ""}` at once |
//! | `DockerImage` | imported: a digest-pinned reference offline, a tag over the registry API |
//! | `ImageStreamTag` | the current latest event of the referenced tag, copied |
//! | `ImageStreamImage` | the image found by digest (prefix) in the stream's histories |
//!
//! Upstream compares the old and new object in the API server to see that a spec tag's
//! reference changed. The embedded cluster has no old object at hand, so the controller keeps
//! what each tag was last resolved from in `status.observedSpecTags`
//! (`{name, from, reference, importMode, importedAt}`); a tag is resolved again when that record
//! no longer matches the spec, when `kascade import-image` clears it, or when a scheduled
//! import is due and the caller allows scheduled imports in this reconcile ([`Clock`]; the
//! controller grants them under the `maxScheduledImageImportsPerMinute` limit).
//!
//! A scheduled tag comes due `scheduledImageImportMinimumIntervalSeconds` after its last import
//! attempt; a digest-pinned scheduled tag only until it has been imported once, as upstream's
//! `resetScheduledTags` says.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{
    DockerRef, TagEvent, generation, internal_repository, latest_event, name_ns, obj,
    push_tag_event, set_tag_condition, split_stream_tag, str_at,
};

/// A DockerImage tag to import before the stream is reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// The spec tag.
    pub tag: String,
    /// The reference to import (`from.name`).
    pub from: String,
    /// `importPolicy.insecure`: plain HTTP allowed.
    pub insecure: bool,
    /// `importPolicy.importMode`.
    pub mode: ImportMode,
}

/// `importPolicy.importMode`: what an import of a manifest list / image index records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportMode {
    /// The image of the default platform (`linux/amd64`) in the list (the default).
    #[default]
    Legacy,
    /// The list itself.
    PreserveOriginal,
}

impl ImportMode {
    /// The mode of a spec tag (`Legacy` when unset), or why it is invalid.
    pub fn of(spec_tag: &Value) -> Result<Self, String> {
        match spec_tag.pointer("/importPolicy/importMode") {
            None | Some(Value::Null) => Ok(ImportMode::Legacy),
            Some(Value::String(s)) if s.is_empty() || s == "Legacy" => Ok(ImportMode::Legacy),
            Some(Value::String(s)) if s == "PreserveOriginal" => Ok(ImportMode::PreserveOriginal),
            Some(other) => Err(format!(
                "invalid importPolicy.importMode {}: it must be Legacy or PreserveOriginal",
                other.to_string().chars().take(100).collect::<String>()
            )),
        }
    }

    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::Legacy => "Legacy",
            ImportMode::PreserveOriginal => "PreserveOriginal",
        }
    }
}

/// What an import found: the digest-pinned reference and the image id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// `registry/repository@sha256:…`.
    pub reference: String,
    /// `sha256:…`.
    pub image: String,
}

/// Why an import failed: a reason word and a message naming the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// `NotFound`, `Unauthorized`, `InvalidReference`, `InternalError`, …
    pub reason: String,
    /// The cause, naming the reference and the registry.
    pub message: String,
}

/// Import results by reference and import mode, computed outside the write transaction.
pub type Imports = HashMap<(String, ImportMode), Result<Imported, ImportFailure>>;

/// Looks up another ImageStream by namespace and name.
pub type Lookup<'a> = dyn Fn(&str, &str) -> Option<Value> + 'a;

/// The clock and policy a reconcile runs with.
#[derive(Debug, Clone, Copy)]
pub struct Clock<'a> {
    /// Now as RFC 3339.
    pub now: &'a str,
    /// Now in seconds since the epoch.
    pub now_secs: u64,
    /// The scheduled-import interval in seconds (upstream's minimum is 900).
    pub scheduled_interval: u64,
    /// Whether scheduled tags that are due re-import in this reconcile (the caller's rate
    /// limit allowed it); otherwise only new and changed tags are resolved.
    pub scheduled: bool,
}

fn observed<'a>(stream: &'a Value, tag: &str) -> Option<&'a Value> {
    stream
        .pointer("/status/observedSpecTags")
        .and_then(Value::as_array)?
        .iter()
        .find(|o| o.get("name").and_then(Value::as_str) == Some(tag))
}

/// What a spec tag's resolution depends on.
fn signature(spec_tag: &Value) -> Value {
    json!({
        "from": spec_tag.get("from").cloned().unwrap_or(Value::Null),
        "reference": spec_tag.get("reference").and_then(Value::as_bool).unwrap_or(false),
        "importMode": spec_tag.pointer("/importPolicy/importMode").cloned().unwrap_or(Value::Null),
    })
}

fn is_import(spec_tag: &Value) -> bool {
    str_at(spec_tag, &["from", "kind"]) == Some("DockerImage")
        && spec_tag.get("reference").and_then(Value::as_bool) != Some(true)
}

/// Why a spec tag is resolved now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// Not now.
    No,
    /// New, its reference changed, or forgotten.
    Changed,
    /// A scheduled import whose interval has passed.
    Scheduled,
}

/// Whether the spec tag's resolution is out of date: new, its reference changed, or
/// forgotten.
fn changed(stream: &Value, spec_tag: &Value) -> bool {
    let name = spec_tag.get("name").and_then(Value::as_str).unwrap_or("");
    let Some(seen) = observed(stream, name) else {
        return true;
    };
    let sig = signature(spec_tag);
    ["from", "reference", "importMode"]
        .iter()
        .any(|k| seen.get(*k).unwrap_or(&Value::Null) != sig.get(*k).unwrap_or(&Value::Null))
}

/// When a scheduled tag comes due (seconds since the epoch): its last import attempt plus
/// the interval. `None` for tags that are not scheduled imports, and for digest references
/// once imported (they are scheduled only until then).
fn scheduled_due_at(stream: &Value, spec_tag: &Value, clock: &Clock<'_>) -> Option<u64> {
    let scheduled = spec_tag
        .pointer("/importPolicy/scheduled")
        .and_then(Value::as_bool)
        == Some(true);
    if !is_import(spec_tag) || !scheduled {
        return None;
    }
    let name = spec_tag.get("name").and_then(Value::as_str)?;
    let pinned = str_at(spec_tag, &["from", "name"]).is_some_and(|n| n.contains('@'));
    if pinned && super::latest_event(stream, name).is_some() {
        return None;
    }
    let at = observed(stream, name)
        .and_then(|o| o.get("importedAt"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some(at.saturating_add(clock.scheduled_interval))
}

/// Whether the spec tag must be resolved now, and why.
fn due_reason(stream: &Value, spec_tag: &Value, clock: &Clock<'_>) -> Due {
    if changed(stream, spec_tag) {
        Due::Changed
    } else if scheduled_due_at(stream, spec_tag, clock).is_some_and(|at| at <= clock.now_secs) {
        Due::Scheduled
    } else {
        Due::No
    }
}

/// Whether the spec tag is resolved in this reconcile.
fn due(stream: &Value, spec_tag: &Value, clock: &Clock<'_>) -> bool {
    match due_reason(stream, spec_tag, clock) {
        Due::No => false,
        Due::Changed => true,
        Due::Scheduled => clock.scheduled,
    }
}

/// When the next scheduled import of `stream` comes due (seconds since the epoch; it is due
/// when that is not after `clock.now_secs`), `None` when no tag is scheduled for import. The
/// scheduler asks this before it spends a rate-limit token, oldest first.
pub fn next_scheduled_import(stream: &Value, clock: &Clock<'_>) -> Option<u64> {
    spec_tags(stream)
        .iter()
        .filter(|t| !changed(stream, t))
        .filter_map(|t| scheduled_due_at(stream, t, clock))
        .min()
}

/// The DockerImage tags of `stream` that need an import now.
pub fn imports_needed(stream: &Value, clock: &Clock<'_>) -> Vec<ImportRequest> {
    spec_tags(stream)
        .iter()
        .filter(|t| is_import(t) && due(stream, t, clock))
        .filter_map(|t| {
            Some(ImportRequest {
                tag: t.get("name")?.as_str()?.to_string(),
                from: str_at(t, &["from", "name"])?.to_string(),
                insecure: t.pointer("/importPolicy/insecure").and_then(Value::as_bool)
                    == Some(true),
                mode: ImportMode::of(t).ok()?,
            })
        })
        .collect()
}

/// Imports a reference that is pinned by digest, offline; `None` when it is not pinned.
pub fn import_pinned(reference: &str) -> Option<Result<Imported, ImportFailure>> {
    match DockerRef::parse(reference) {
        Ok(r) => r.pinned().map(|p| {
            Ok(Imported {
                reference: p,
                image: r.digest.unwrap_or_default(),
            })
        }),
        Err(e) => Some(Err(ImportFailure {
            reason: "InvalidReference".into(),
            message: e.to_string(),
        })),
    }
}

fn spec_tags(stream: &Value) -> Vec<Value> {
    stream
        .pointer("/spec/tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn failure(stream: &mut Value, tag: &str, reason: &str, message: String, clock: &Clock<'_>) {
    let generation = generation(stream);
    set_tag_condition(
        stream,
        tag,
        &json!({"type": "ImportSuccess", "status": "False", "reason": reason,
                "message": message, "generation": generation}),
        clock.now,
    );
}

fn record_observed(stream: &mut Value, spec_tag: &Value, imported_at: Option<u64>) {
    let name = spec_tag.get("name").cloned().unwrap_or(Value::Null);
    let mut rec = signature(spec_tag);
    rec["name"] = name.clone();
    let previous_at = observed(stream, name.as_str().unwrap_or_default())
        .and_then(|o| o.get("importedAt"))
        .cloned();
    if let Some(at) = imported_at.map(Value::from).or(previous_at) {
        rec["importedAt"] = at;
    }
    if !stream.get("status").is_some_and(Value::is_object) {
        stream["status"] = obj();
    }
    let list = stream["status"]
        .as_object_mut()
        .map(|s| s.entry("observedSpecTags").or_insert_with(|| json!([])));
    if let Some(Value::Array(list)) = list {
        match list.iter_mut().find(|o| o.get("name") == Some(&name)) {
            Some(o) => *o = rec,
            None => list.push(rec),
        }
    }
}

/// Resolves every spec tag of `stream` that is due, given the imports done beforehand and a
/// way to read other streams. Also sets `status.dockerImageRepository`. Returns whether the
/// stream changed.
pub fn reconcile_spec_tags(
    stream: &mut Value,
    imports: &Imports,
    lookup: &Lookup<'_>,
    clock: &Clock<'_>,
) -> bool {
    let before = stream.clone();
    let (name, ns) = name_ns(stream);
    let (name, ns) = (name.to_string(), ns.to_string());
    let repo = internal_repository(&ns, &name);
    if str_at(stream, &["status", "dockerImageRepository"]) != Some(repo.as_str()) {
        if !stream.get("status").is_some_and(Value::is_object) {
            stream["status"] = obj();
        }
        stream["status"]["dockerImageRepository"] = json!(repo);
    }
    let generation = generation(stream);
    let event = |reference: String, image: String| TagEvent {
        created: clock.now.to_string(),
        docker_image_reference: reference,
        image,
        generation,
    };
    for st in spec_tags(stream) {
        if !due(stream, &st, clock) {
            continue;
        }
        let Some(tag) = st.get("name").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let from_kind = str_at(&st, &["from", "kind"]).unwrap_or_default();
        let from_name = str_at(&st, &["from", "name"])
            .unwrap_or_default()
            .to_string();
        let reference = st.get("reference").and_then(Value::as_bool) == Some(true);
        let mut imported_at = None;
        match from_kind {
            "" => {} // a placeholder tag that builds push to
            "DockerImage" if reference => {
                push_tag_event(stream, &tag, event(from_name.clone(), String::new()));
            }
            "DockerImage" => {
                imported_at = Some(clock.now_secs);
                let result = match ImportMode::of(&st) {
                    Ok(mode) => imports
                        .get(&(from_name.clone(), mode))
                        .cloned()
                        .or_else(|| import_pinned(&from_name)),
                    Err(m) => Some(Err(ImportFailure {
                        reason: "Invalid".into(),
                        message: m,
                    })),
                };
                match result {
                    Some(Ok(i)) => {
                        push_tag_event(stream, &tag, event(i.reference, i.image));
                    }
                    Some(Err(f)) => failure(stream, &tag, &f.reason, f.message, clock),
                    None => failure(
                        stream,
                        &tag,
                        "InternalError",
                        format!("{from_name:?} was not imported"),
                        clock,
                    ),
                }
            }
            "ImageStreamTag" => {
                let from_ns = str_at(&st, &["from", "namespace"])
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&ns)
                    .to_string();
                let (src_stream, src_tag) = match split_stream_tag(&from_name) {
                    Some((s, t)) => (s.to_string(), t.to_string()),
                    None => (name.clone(), from_name.clone()),
                };
                let source = if src_stream == name && from_ns == ns {
                    Some(stream.clone())
                } else {
                    lookup(&from_ns, &src_stream)
                };
                match source {
                    None => failure(
                        stream,
                        &tag,
                        "NotFound",
                        format!(
                            "imagestream.image.openshift.io {src_stream:?} not found in namespace {from_ns:?}"
                        ),
                        clock,
                    ),
                    Some(src) => {
                        if let Some(mut e) = latest_event(&src, &src_tag) {
                            let src_repo = internal_repository(&from_ns, &src_stream);
                            if !reference
                                && !e.image.is_empty()
                                && e.docker_image_reference.starts_with(&src_repo)
                            {
                                e.docker_image_reference = format!("{repo}@{}", e.image);
                            }
                            e.generation = generation;
                            e.created = clock.now.to_string();
                            push_tag_event(stream, &tag, e);
                        }
                    }
                }
            }
            "ImageStreamImage" => {
                let (src_stream, id) = match from_name.split_once('@') {
                    Some((s, id)) => (s.to_string(), id.to_string()),
                    None => (name.clone(), from_name.clone()),
                };
                let from_ns = str_at(&st, &["from", "namespace"])
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&ns)
                    .to_string();
                let source = if src_stream == name && from_ns == ns {
                    Some(stream.clone())
                } else {
                    lookup(&from_ns, &src_stream)
                };
                let Some(src) = source else {
                    failure(
                        stream,
                        &tag,
                        "NotFound",
                        format!(
                            "imagestream.image.openshift.io {src_stream:?} not found in namespace {from_ns:?}"
                        ),
                        clock,
                    );
                    record_observed(stream, &st, None);
                    continue;
                };
                let mut found: Vec<TagEvent> = Vec::new();
                for (_, e) in super::all_events(&src) {
                    if !id.is_empty()
                        && e.image.starts_with(&id)
                        && !found.iter().any(|f| f.image == e.image)
                    {
                        found.push(e);
                    }
                }
                match found.len() {
                    0 => failure(
                        stream,
                        &tag,
                        "NotFound",
                        format!(
                            "imagestreamimage.image.openshift.io \"{src_stream}@{id}\" not found"
                        ),
                        clock,
                    ),
                    1 => {
                        let mut e = found.remove(0);
                        e.generation = generation;
                        e.created = clock.now.to_string();
                        push_tag_event(stream, &tag, e);
                    }
                    _ => failure(
                        stream,
                        &tag,
                        "Conflict",
                        format!("multiple images match the prefix {id:?}"),
                        clock,
                    ),
                }
            }
            other => failure(
                stream,
                &tag,
                "Invalid",
                format!(
                    "invalid from.kind {other:?}: it must be DockerImage, ImageStreamTag or ImageStreamImage"
                ),
                clock,
            ),
        }
        record_observed(stream, &st, imported_at);
    }
    *stream != before
}

/// Forgets what `tag` (every tag, when `None`) was resolved from, so the next reconcile
/// resolves (imports) it again. Returns whether anything was forgotten.
pub fn forget_observed(stream: &mut Value, tag: Option<&str>) -> bool {
    let Some(list) = stream
        .pointer_mut("/status/observedSpecTags")
        .and_then(Value::as_array_mut)
    else {
        return false;
    };
    let before = list.len();
    list.retain(|o| tag.is_some_and(|t| o.get("name").and_then(Value::as_str) != Some(t)));
    list.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{INTERNAL_REGISTRY, resolve_tag};

    const NOW: Clock<'static> = Clock {
        now: "2026-01-01T00:00:00Z",
        now_secs: 1_000_000,
        scheduled_interval: 900,
        scheduled: true,
    };

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn pinned_docker_images_import_offline_and_once() {
        let from = format!("quay.io/org/base@{}", digest('a'));
        let mut s = json!({"metadata": {"name": "base", "namespace": "n", "generation": 1},
            "spec": {"tags": [{"name": "7", "from": {"kind": "DockerImage", "name": from}}]}});
        let none = |_: &str, _: &str| None;
        assert!(reconcile_spec_tags(&mut s, &Imports::new(), &none, &NOW));
        assert_eq!(resolve_tag(&s, "7").unwrap(), from);
        assert_eq!(
            s["status"]["dockerImageRepository"],
            format!("{INTERNAL_REGISTRY}/n/base")
        );
        assert!(!reconcile_spec_tags(&mut s, &Imports::new(), &none, &NOW));
        // A new digest in the spec: resolved again, history grows.
        let from2 = format!("quay.io/org/base@{}", digest('b'));
        s["spec"]["tags"][0]["from"]["name"] = json!(from2);
        assert!(reconcile_spec_tags(&mut s, &Imports::new(), &none, &NOW));
        assert_eq!(resolve_tag(&s, "7").unwrap(), from2);
        assert_eq!(s["status"]["tags"][0]["items"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn failed_imports_leave_a_condition() {
        let mut s = json!({"metadata": {"name": "base", "namespace": "n"},
            "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": "quay.io/org/base:latest"}}]}});
        let mut imports = Imports::new();
        imports.insert(
            ("quay.io/org/base:latest".into(), ImportMode::Legacy),
            Err(ImportFailure {
                reason: "InternalError".into(),
                message: "connection refused".into(),
            }),
        );
        let none = |_: &str, _: &str| None;
        assert!(reconcile_spec_tags(&mut s, &imports, &none, &NOW));
        assert_eq!(resolve_tag(&s, "latest"), None);
        let c = &s["status"]["tags"][0]["conditions"][0];
        assert_eq!(c["type"], "ImportSuccess");
        assert_eq!(c["message"], "connection refused");
        // not retried until due
        assert!(imports_needed(&s, &NOW).is_empty());
        assert!(forget_observed(&mut s, Some("latest")));
        assert_eq!(imports_needed(&s, &NOW).len(), 1);
    }

    #[test]
    fn scheduled_imports_come_due() {
        let mut s = json!({"metadata": {"name": "base", "namespace": "n"},
            "spec": {"tags": [{"name": "latest", "importPolicy": {"scheduled": true},
                "from": {"kind": "DockerImage", "name": "quay.io/org/base:latest"}}]}});
        let mut imports = Imports::new();
        imports.insert(
            ("quay.io/org/base:latest".into(), ImportMode::Legacy),
            Ok(Imported {
                reference: format!("quay.io/org/base@{}", digest('c')),
                image: digest('c'),
            }),
        );
        let none = |_: &str, _: &str| None;
        reconcile_spec_tags(&mut s, &imports, &none, &NOW);
        assert!(imports_needed(&s, &NOW).is_empty());
        let later = Clock {
            now_secs: NOW.now_secs + 900,
            ..NOW
        };
        assert_eq!(imports_needed(&s, &later).len(), 1);
    }

    #[test]
    fn scheduled_imports_wait_for_the_grant_and_digests_stop_once_imported() {
        let pinned = format!("quay.io/org/base@{}", digest('e'));
        let mut s = json!({"metadata": {"name": "base", "namespace": "n"},
            "spec": {"tags": [
                {"name": "t", "importPolicy": {"scheduled": true},
                 "from": {"kind": "DockerImage", "name": "quay.io/org/base:latest"}},
                {"name": "d", "importPolicy": {"scheduled": true},
                 "from": {"kind": "DockerImage", "name": pinned}},
                {"name": "plain", "from": {"kind": "DockerImage", "name": "quay.io/org/other:1"}}]}});
        let mut imports = Imports::new();
        for (r, c) in [
            ("quay.io/org/base:latest", 'c'),
            ("quay.io/org/other:1", 'f'),
        ] {
            imports.insert(
                (r.into(), ImportMode::Legacy),
                Ok(Imported {
                    reference: format!("quay.io/org/x@{}", digest(c)),
                    image: digest(c),
                }),
            );
        }
        let none = |_: &str, _: &str| None;
        // New tags resolve even when scheduled imports are not granted.
        let refused = Clock {
            scheduled: false,
            ..NOW
        };
        assert_eq!(imports_needed(&s, &refused).len(), 3);
        assert!(reconcile_spec_tags(&mut s, &imports, &none, &refused));
        assert_eq!(resolve_tag(&s, "d").unwrap(), pinned);
        assert_eq!(next_scheduled_import(&s, &NOW), Some(NOW.now_secs + 900));
        // Due after the interval, but only with the grant; the digest tag is done.
        let later = Clock {
            now_secs: NOW.now_secs + 900,
            scheduled: false,
            ..NOW
        };
        assert_eq!(next_scheduled_import(&s, &later), Some(later.now_secs));
        assert!(imports_needed(&s, &later).is_empty());
        assert!(!reconcile_spec_tags(&mut s, &imports, &none, &later));
        let granted = Clock {
            scheduled: true,
            ..later
        };
        let needed = imports_needed(&s, &granted);
        assert_eq!(
            needed.iter().map(|r| r.tag.as_str()).collect::<Vec<_>>(),
            ["t"]
        );
        imports.insert(
            ("quay.io/org/base:latest".into(), ImportMode::Legacy),
            Ok(Imported {
                reference: format!("quay.io/org/base@{}", digest('9')),
                image: digest('9'),
            }),
        );
        assert!(reconcile_spec_tags(&mut s, &imports, &none, &granted));
        assert_eq!(
            resolve_tag(&s, "t").unwrap(),
            format!("quay.io/org/base@{}", digest('9'))
        );
        assert_eq!(
            next_scheduled_import(&s, &granted),
            Some(granted.now_secs + 900)
        );
        // Not scheduled at all: no next import.
        let plain = json!({"metadata": {"name": "p", "namespace": "n"},
            "spec": {"tags": [{"name": "plain", "from": {"kind": "DockerImage", "name": "quay.io/org/other:1"}}]}});
        assert_eq!(next_scheduled_import(&plain, &NOW), None);
    }

    #[test]
    fn import_modes_key_the_imports_and_bad_modes_are_conditions() {
        let mut s = json!({"metadata": {"name": "base", "namespace": "n"},
            "spec": {"tags": [
                {"name": "legacy", "from": {"kind": "DockerImage", "name": "quay.io/org/base:1"}},
                {"name": "keep", "importPolicy": {"importMode": "PreserveOriginal"},
                 "from": {"kind": "DockerImage", "name": "quay.io/org/base:1"}},
                {"name": "bad", "importPolicy": {"importMode": "Everything"},
                 "from": {"kind": "DockerImage", "name": "quay.io/org/base:1"}}]}});
        let needed = imports_needed(&s, &NOW);
        assert_eq!(
            needed
                .iter()
                .map(|r| (r.tag.as_str(), r.mode))
                .collect::<Vec<_>>(),
            [
                ("legacy", ImportMode::Legacy),
                ("keep", ImportMode::PreserveOriginal)
            ]
        );
        let mut imports = Imports::new();
        for (mode, c) in [
            (ImportMode::Legacy, '1'),
            (ImportMode::PreserveOriginal, '2'),
        ] {
            imports.insert(
                ("quay.io/org/base:1".into(), mode),
                Ok(Imported {
                    reference: format!("quay.io/org/base@{}", digest(c)),
                    image: digest(c),
                }),
            );
        }
        let none = |_: &str, _: &str| None;
        assert!(reconcile_spec_tags(&mut s, &imports, &none, &NOW));
        assert!(resolve_tag(&s, "legacy").unwrap().ends_with(&digest('1')));
        assert!(resolve_tag(&s, "keep").unwrap().ends_with(&digest('2')));
        assert_eq!(resolve_tag(&s, "bad"), None);
        let c = &crate::images::status_tag(&s, "bad").unwrap()["conditions"][0];
        assert_eq!(c["reason"], "Invalid");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("must be Legacy or PreserveOriginal")
        );
        // Changing the mode resolves the tag again.
        s["spec"]["tags"][0]["importPolicy"] = json!({"importMode": "PreserveOriginal"});
        assert_eq!(imports_needed(&s, &NOW).len(), 1);
    }

    #[test]
    fn stream_tags_and_images_resolve() {
        let mut base = json!({"metadata": {"name": "base", "namespace": "n"}});
        crate::images::add_tag_event(
            &mut base,
            "latest",
            TagEvent {
                docker_image_reference: format!("{INTERNAL_REGISTRY}/n/base@{}", digest('d')),
                image: digest('d'),
                ..Default::default()
            },
        );
        let b2 = base.clone();
        let lookup = move |ns: &str, n: &str| (ns == "n" && n == "base").then(|| b2.clone());
        let mut s = json!({"metadata": {"name": "app", "namespace": "n"},
            "spec": {"tags": [
                {"name": "a", "from": {"kind": "ImageStreamTag", "name": "base:latest"}},
                {"name": "b", "from": {"kind": "ImageStreamImage", "name": "base@sha256:ddd"}},
                {"name": "c", "from": {"kind": "ImageStreamTag", "name": "missing:latest"}},
                {"name": "d", "from": {"kind": "Other", "name": "x"}}]}});
        assert!(reconcile_spec_tags(&mut s, &Imports::new(), &lookup, &NOW));
        // rewritten to this stream's repository, since not a reference
        assert_eq!(
            resolve_tag(&s, "a").unwrap(),
            format!("{INTERNAL_REGISTRY}/n/app@{}", digest('d'))
        );
        assert_eq!(
            resolve_tag(&s, "b").unwrap(),
            format!("{INTERNAL_REGISTRY}/n/base@{}", digest('d'))
        );
        let cond = |t: &str| {
            crate::images::status_tag(&s, t).unwrap()["conditions"][0]["message"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(cond("c").contains("\"missing\" not found"), "{}", cond("c"));
        assert!(cond("d").contains("invalid from.kind"));
    }
}
