//! What `get`, `delete` and `describe` share: naming objects on the command line
//! (`KIND[,KIND] [NAME...]` or `KIND/NAME...`), namespaces, NotFound messages, and the
//! ImageStreamTags the embedded cluster derives from its ImageStreams.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use serde_json::{Value, json};

use crate::cluster::{Cluster, Selector};
use crate::resource::ResourceKey;
use crate::resource::print::{self, KindRef};

/// Kinds and, per kind, the names asked for (empty: all of them).
pub(crate) type Targets = Vec<(KindRef, Vec<String>)>;

/// Parses `KIND[,KIND] [NAME...]` or `KIND/NAME...`.
pub(crate) fn targets(cluster: &dyn Cluster, args: &[String]) -> anyhow::Result<Targets> {
    let Some(first) = args.first() else {
        bail!(
            "you must specify the type of resource to get (for example: cm, svc, dc, bc, is, all)"
        );
    };
    let mut served: Option<Vec<(String, String)>> = None;
    let mut resolve = |kind: &str| -> anyhow::Result<Vec<KindRef>> {
        match print::resolve(kind, &[]) {
            Ok(k) => Ok(k),
            Err(_) => {
                if served.is_none() {
                    served = Some(cluster.kinds()?);
                }
                Ok(print::resolve(kind, served.as_deref().unwrap_or_default())?)
            }
        }
    };
    let mut out: Targets = Vec::new();
    if first.contains('/') {
        for a in args {
            let Some((kind, name)) = a.split_once('/') else {
                bail!(
                    "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kascade get resource/<resource_name>' instead of 'kascade get resource resource/<resource_name>'): {a:?}"
                );
            };
            if name.is_empty() || name.contains('/') {
                bail!(
                    "arguments in resource/name form must have a single resource and name: {a:?}"
                );
            }
            for k in resolve(kind)? {
                match out.iter_mut().find(|(existing, _)| *existing == k) {
                    Some((_, names)) => names.push(name.to_string()),
                    None => out.push((k, vec![name.to_string()])),
                }
            }
        }
        return Ok(out);
    }
    let names: Vec<String> = args[1..].to_vec();
    if let Some(n) = names.iter().find(|n| n.contains('/')) {
        bail!(
            "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form: {n:?}"
        );
    }
    for kind in first.split(',').filter(|k| !k.is_empty()) {
        for k in resolve(kind)? {
            if !out.iter().any(|(existing, _)| *existing == k) {
                out.push((k, names.clone()));
            }
        }
    }
    if out.is_empty() {
        bail!("no resource type in {first:?}");
    }
    Ok(out)
}

/// The namespace an object of `kind` is looked up in: `None` for cluster-scoped kinds.
pub(crate) fn namespace_of(
    cluster: &dyn Cluster,
    kind: &KindRef,
    namespace: &str,
) -> anyhow::Result<Option<String>> {
    Ok(if cluster.is_cluster_scoped(&kind.group, &kind.kind)? {
        None
    } else {
        Some(namespace.to_string())
    })
}

/// The key of a named object.
pub(crate) fn key(kind: &KindRef, namespace: Option<&str>, name: &str) -> ResourceKey {
    ResourceKey::new(
        kind.group.clone(),
        kind.kind.clone(),
        namespace.unwrap_or_default().to_string(),
        name.to_string(),
    )
}

/// kubectl's NotFound line.
pub(crate) fn not_found(kind: &KindRef, name: &str) -> String {
    format!(
        "Error from server (NotFound): {} {name:?} not found",
        kind.resource()
    )
}

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn is_istag(kind: &KindRef) -> bool {
    kind.group == "image.openshift.io" && kind.kind == "ImageStreamTag"
}

/// The ImageStreamTags of an ImageStream, as the API server derives them from its status:
/// one per tag with a current image, named `stream:tag`.
pub(crate) fn istags_of(stream: &Value) -> Vec<Value> {
    let meta = stream.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = Vec::new();
    let tags = stream
        .get("status")
        .and_then(|s| s.get("tags"))
        .and_then(Value::as_array);
    for t in tags.into_iter().flatten() {
        let tag = t.get("tag").and_then(Value::as_str).unwrap_or_default();
        let Some(current) = t
            .get("items")
            .and_then(Value::as_array)
            .and_then(|i| i.first())
        else {
            continue;
        };
        let spec_tag = stream
            .get("spec")
            .and_then(|s| s.get("tags"))
            .and_then(Value::as_array)
            .and_then(|ts| {
                ts.iter()
                    .find(|st| st.get("name").and_then(Value::as_str) == Some(tag))
            })
            .cloned()
            .unwrap_or(Value::Null);
        out.push(json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageStreamTag",
            "metadata": {
                "name": format!("{name}:{tag}"),
                "namespace": namespace,
                "creationTimestamp": current.get("created").cloned().unwrap_or(Value::Null),
                "labels": meta.and_then(|m| m.get("labels")).cloned().unwrap_or(Value::Null),
            },
            "tag": spec_tag,
            "generation": current.get("generation").cloned().unwrap_or(Value::Null),
            "image": {
                "metadata": {"name": current.get("image").cloned().unwrap_or(Value::Null)},
                "dockerImageReference": current.get("dockerImageReference").cloned().unwrap_or(Value::Null),
            },
        }));
    }
    out
}

/// Lists objects of a kind (in one namespace or all) matching `selector`.
pub(crate) fn list(
    cluster: &dyn Cluster,
    kind: &KindRef,
    namespace: Option<&str>,
    selector: &Selector,
) -> anyhow::Result<Vec<Value>> {
    let stored = cluster.list(&kind.group, &kind.kind, namespace, selector)?;
    if !is_istag(kind) || !stored.is_empty() || !cluster.is_embedded() {
        return Ok(stored);
    }
    let streams = cluster.list("image.openshift.io", "ImageStream", namespace, selector)?;
    Ok(streams.iter().flat_map(istags_of).collect())
}

/// Reads one named object.
pub(crate) fn get(
    cluster: &dyn Cluster,
    kind: &KindRef,
    namespace: Option<&str>,
    name: &str,
) -> anyhow::Result<Option<Value>> {
    if let Some(v) = cluster.get(&key(kind, namespace, name))? {
        return Ok(Some(v));
    }
    if is_istag(kind)
        && cluster.is_embedded()
        && let Some((stream, _)) = name.split_once(':')
    {
        let is = cluster.get(&ResourceKey::new(
            "image.openshift.io",
            "ImageStream",
            namespace.unwrap_or_default(),
            stream,
        ))?;
        return Ok(is.iter().flat_map(istags_of).find(|t| {
            t.get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                == Some(name)
        }));
    }
    Ok(None)
}

/// The string value of `metadata.<field>`.
pub(crate) fn meta_str<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istags_come_from_status() {
        let is = json!({"metadata": {"name": "app", "namespace": "p"},
            "spec": {"tags": [{"name": "latest"}]},
            "status": {"tags": [
                {"tag": "latest", "items": [{"created": "2024-01-01T00:00:00Z", "dockerImageReference": "r/p/app@sha256:1", "image": "sha256:1"}]},
                {"tag": "empty", "items": []}]}});
        let tags = istags_of(&is);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0]["metadata"]["name"], "app:latest");
        assert_eq!(tags[0]["image"]["dockerImageReference"], "r/p/app@sha256:1");
        assert_eq!(tags[0]["tag"]["name"], "latest");
    }
}
