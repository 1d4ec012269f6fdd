//! The ImageStream controller: resolves due spec tags into status events
//! ([`crate::images::stream`]), importing external references first — outside the write
//! transaction, since a registry may be slow.

use serde_json::Value;

use super::{Activity, Context, ControllerError, now_secs, rv};
use crate::cluster::LocalCluster;
use crate::cluster::local::now_rfc3339;
use crate::images::stream::{self, Clock, Imports};
use crate::images::{GROUP, resolve_tag};
use crate::resource::ResourceKey;

/// The key of stream `name` in `namespace`.
pub fn stream_key(namespace: &str, name: &str) -> ResourceKey {
    ResourceKey::new(GROUP, "ImageStream", namespace, name)
}

/// Reconciles one ImageStream; returns the resourceVersions written.
pub fn reconcile(
    cluster: &mut LocalCluster,
    ctx: &mut Context,
    key: &ResourceKey,
) -> Result<Vec<u64>, ControllerError> {
    let Some(current) = cluster.get(key)? else {
        return Ok(Vec::new());
    };
    let now = now_rfc3339();
    let clock = Clock {
        now: &now,
        now_secs: now_secs(),
        scheduled_interval: ctx.options.scheduled_interval.as_secs(),
    };
    let mut imports = Imports::new();
    let needed = stream::imports_needed(&current, &clock);
    for r in &needed {
        if !imports.contains_key(&r.from) {
            imports.insert(r.from.clone(), ctx.registry.import(&r.from, r.insecure));
        }
    }
    let mut txn = cluster.begin()?;
    let Some(mut s) = txn.get(key)? else {
        return Ok(Vec::new());
    };
    let changed = {
        let lookup = |ns: &str, name: &str| txn.get(&stream_key(ns, name)).ok().flatten();
        stream::reconcile_spec_tags(&mut s, &imports, &lookup, &clock)
    };
    let mut written = Vec::new();
    if changed {
        let stored = txn.update(s)?;
        written.push(rv(&stored));
        for r in &needed {
            let tag = format!("{}/{}:{}", key.namespace, key.name, r.tag);
            match imports.get(&r.from) {
                Some(Ok(_)) => ctx.record(Activity::Imported {
                    reference: resolve_tag(&stored, &r.tag).unwrap_or_default(),
                    tag,
                }),
                Some(Err(f)) => ctx.record(Activity::ImportFailed {
                    tag,
                    message: f.message.clone(),
                }),
                None => {}
            }
        }
    }
    txn.commit()?;
    Ok(written)
}

/// The ImportSuccess failure of a tag, if its last import failed: (reason, message).
pub fn import_failure(stream: &Value, tag: &str) -> Option<(String, String)> {
    let t = crate::images::status_tag(stream, tag)?;
    let c = t
        .get("conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("ImportSuccess"))?;
    Some((
        c.get("reason").and_then(Value::as_str).unwrap_or("").into(),
        c.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .into(),
    ))
}
