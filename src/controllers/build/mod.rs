//! The Build controller: runs a Build through New → Running → Complete / Failed / Cancelled.
//!
//! - **Running**: recorded in its own transaction before the executor starts, so the change
//!   feed and `kascade get builds` show it.
//! - **Execution** ([`executor`]) happens between transactions (a git fetch may be slow); each
//!   log line goes to the [`Observer`] as it is written (`start-build --follow`).
//! - **Complete**: in one transaction, the Build's status (output digest, commit, log) and a
//!   new tag event on the output ImageStreamTag — the push that fires the next hop. The output
//!   stream is created when missing, as the registry does on push.
//! - **Failed**: the reason (`FetchSourceFailed`, `InvalidContextDirectory`,
//!   `DockerBuildFailed`, `PullBuilderImageFailed`, `GenericBuildFailed`), the message, the
//!   `Failed` condition and the last lines of the log in `status.logSnippet`; nothing is pushed,
//!   so nothing downstream moves.
//! - **Cancelled**: a Build with `status.cancelled: true` (`kascade cancel-build`), or an
//!   older queued build of a `runPolicy: SerialLatestOnly` config; nothing is pushed. A build
//!   marked while it runs in another process is cancelled when its execution ends, its output
//!   dropped.
//! - **History**: after a build finishes, the oldest builds of its config beyond
//!   `successfulBuildsHistoryLimit` / `failedBuildsHistoryLimit` (default 5 each) are deleted.
//!
//! The executor's whole log is kept in `status.log` (the embedded cluster has no pods to keep
//! logs in); `kascade logs build/NAME` prints it.

pub mod dockerfile;
pub mod executor;

use serde_json::{Value, json};

use super::imagestreams::stream_key;
use super::{Activity, Context, ControllerError, Observer, rv, str_at};
use crate::cluster::local::now_rfc3339;
use crate::cluster::{LocalCluster, Selector};
use crate::images::{self, TagEvent, split_stream_tag};
use crate::resource::ResourceKey;

/// The label naming a Build's config.
pub const CONFIG_LABEL: &str = "openshift.io/build-config.name";

/// The phase of a Build (`New` when unset).
pub fn phase(build: &Value) -> &str {
    str_at(build, "/status/phase").unwrap_or("New")
}

/// Whether the Build has finished.
pub fn is_terminal(build: &Value) -> bool {
    matches!(phase(build), "Complete" | "Failed" | "Error" | "Cancelled")
}

/// The Build's number (`openshift.io/build.number`).
pub fn number(build: &Value) -> i64 {
    super::annotation(build, "openshift.io/build.number")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn set_phase(build: &mut Value, phase: &str, reason: &str, message: &str, now: &str) {
    if !build.get("status").is_some_and(Value::is_object) {
        build["status"] = json!({});
    }
    build["status"]["phase"] = json!(phase);
    let conds = build["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    if let Some(Value::Array(conds)) = conds {
        for c in conds.iter_mut() {
            if c.get("status").and_then(Value::as_str) == Some("True") {
                c["status"] = json!("False");
                c["lastTransitionTime"] = json!(now);
            }
        }
        conds.retain(|c| c.get("type").and_then(Value::as_str) != Some(phase));
        let mut c = json!({"type": phase, "status": "True", "lastTransitionTime": now, "lastUpdateTime": now});
        if !reason.is_empty() {
            c["reason"] = json!(reason);
            c["message"] = json!(message);
        }
        conds.push(c);
    }
}

fn finish(build: &mut Value, phase: &str, reason: &str, message: &str, now: &str) {
    set_phase(build, phase, reason, message, now);
    build["status"]["completionTimestamp"] = json!(now);
    if !reason.is_empty() {
        build["status"]["reason"] = json!(reason);
        build["status"]["message"] = json!(message);
    }
}

/// Whether the Build is marked for cancellation (`status.cancelled`, set by `cancel-build`).
pub fn is_cancelled(build: &Value) -> bool {
    build.pointer("/status/cancelled").and_then(Value::as_bool) == Some(true)
}

/// Reconciles one Build; returns the resourceVersions written to it. The executor's log lines
/// go to `observer` ([`Observer::build_log`]) as they are written.
pub fn reconcile(
    cluster: &mut LocalCluster,
    ctx: &mut Context,
    key: &ResourceKey,
    observer: &mut dyn Observer,
) -> Result<Vec<u64>, ControllerError> {
    let Some(build) = cluster.get(key)? else {
        return Ok(Vec::new());
    };
    if is_terminal(&build) {
        return Ok(Vec::new());
    }
    let mut written = Vec::new();
    let now = now_rfc3339();
    // Cancellation.
    let cancelled =
        is_cancelled(&build) || (phase(&build) == "New" && superseded(cluster, &build)?);
    if cancelled {
        let mut txn = cluster.begin()?;
        if let Some(mut b) = txn.get(key)?
            && !is_terminal(&b)
        {
            cancel(&mut b, &now);
            written.push(rv(&txn.update(b)?));
        }
        txn.commit()?;
        ctx.record(cancelled_activity(key));
        written.extend(prune_history(cluster, &build)?);
        return Ok(written);
    }
    // Running.
    let running = {
        let mut txn = cluster.begin()?;
        let Some(mut b) = txn.get(key)? else {
            return Ok(written);
        };
        if phase(&b) == "New" {
            set_phase(&mut b, "Running", "", "", &now);
            b["status"]["startTimestamp"] = json!(now);
            let stored = txn.update(b)?;
            written.push(rv(&stored));
            txn.commit()?;
            ctx.record(Activity::BuildRunning { key: key.clone() });
            stored
        } else {
            txn.commit()?;
            b
        }
    };
    // Execution, outside any transaction.
    let outcome = executor::execute(&running, &mut ctx.sources, &ctx.registry, &mut |line| {
        observer.build_log(key, line);
    });
    // Completion and push, together.
    let now = now_rfc3339();
    let mut txn = cluster.begin()?;
    let Some(mut b) = txn.get(key)? else {
        return Ok(written);
    };
    if phase(&b) != "Running" {
        txn.commit()?;
        return Ok(written);
    }
    b["status"]["log"] = json!(outcome.log);
    if is_cancelled(&b) {
        // Cancelled while it ran (by another process): nothing is pushed.
        cancel(&mut b, &now);
        written.push(rv(&txn.update(b)?));
        txn.commit()?;
        ctx.record(cancelled_activity(key));
        written.extend(prune_history(cluster, &build)?);
        return Ok(written);
    }
    let activity = match &outcome.result {
        Ok(out) => {
            finish(&mut b, "Complete", "", "", &now);
            b["status"]["output"] = json!({"to": {"imageDigest": out.digest}});
            if let Some(c) = &out.commit {
                b["spec"]["revision"] = json!({"type": "Git", "git": {"commit": c}});
            }
            let pushed = push_output(&mut txn, &b, &out.digest, &now)?;
            if let Some(p) = &pushed {
                b["status"]["outputDockerImageReference"] = json!(p);
            }
            Activity::BuildFinished {
                key: key.clone(),
                phase: "Complete".into(),
                detail: pushed.unwrap_or_else(|| out.digest.clone()),
            }
        }
        Err(f) => {
            finish(&mut b, "Failed", &f.reason, &f.message, &now);
            let lines: Vec<&str> = outcome.log.lines().collect();
            let snippet = lines[lines.len().saturating_sub(5)..].join("\n");
            b["status"]["logSnippet"] = json!(snippet);
            Activity::BuildFinished {
                key: key.clone(),
                phase: "Failed".into(),
                detail: format!("{}: {}", f.reason, f.message),
            }
        }
    };
    written.push(rv(&txn.update(b)?));
    txn.commit()?;
    ctx.record(activity);
    written.extend(prune_history(cluster, &build)?);
    Ok(written)
}

fn cancel(build: &mut Value, now: &str) {
    finish(
        build,
        "Cancelled",
        "CancelledBuild",
        "The build was cancelled by the user.",
        now,
    );
}

fn cancelled_activity(key: &ResourceKey) -> Activity {
    Activity::BuildFinished {
        key: key.clone(),
        phase: "Cancelled".into(),
        detail: "cancelled".into(),
    }
}

/// Pushes the output image to the output ImageStreamTag; returns the pushed pull spec.
fn push_output(
    txn: &mut crate::cluster::local::Txn<'_>,
    build: &Value,
    digest: &str,
    now: &str,
) -> Result<Option<String>, ControllerError> {
    let Some(to) = build.pointer("/spec/output/to") else {
        return Ok(None);
    };
    if str_at(to, "/kind") != Some("ImageStreamTag") {
        return Ok(str_at(to, "/name").map(|n| {
            format!("{n} (not pushed: the embedded cluster pushes only to ImageStreamTags)")
        }));
    }
    let Some((stream, tag)) = str_at(to, "/name").and_then(split_stream_tag) else {
        return Ok(None);
    };
    let (_, bns) = images::name_ns(build);
    let ns = str_at(to, "/namespace")
        .filter(|s| !s.is_empty())
        .unwrap_or(bns)
        .to_string();
    let key = stream_key(&ns, stream);
    let mut s = match txn.get(&key)? {
        Some(s) => s,
        None => txn.create(
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": stream, "namespace": ns}, "spec": {}}),
        )?,
    };
    let repo = images::internal_repository(&ns, stream);
    let reference = format!("{repo}@{digest}");
    let generation = images::generation(&s);
    if s.pointer("/status/dockerImageRepository")
        .and_then(Value::as_str)
        != Some(repo.as_str())
    {
        if !s.get("status").is_some_and(Value::is_object) {
            s["status"] = json!({});
        }
        s["status"]["dockerImageRepository"] = json!(repo);
    }
    images::push_tag_event(
        &mut s,
        tag,
        TagEvent {
            created: now.to_string(),
            docker_image_reference: reference.clone(),
            image: digest.to_string(),
            generation,
        },
    );
    txn.update(s)?;
    Ok(Some(reference))
}

/// Whether a newer build of the same `SerialLatestOnly` config is queued.
fn superseded(cluster: &LocalCluster, build: &Value) -> Result<bool, ControllerError> {
    let policy = build
        .pointer("/metadata/labels/openshift.io~1build.start-policy")
        .and_then(Value::as_str);
    if policy != Some("SerialLatestOnly") {
        return Ok(false);
    }
    let (_, ns) = images::name_ns(build);
    let Some(config) = build
        .pointer("/metadata/labels/openshift.io~1build-config.name")
        .and_then(Value::as_str)
    else {
        return Ok(false);
    };
    let sel = Selector::parse(&format!("{CONFIG_LABEL}={config}")).unwrap_or_default();
    let n = number(build);
    Ok(cluster
        .list("build.openshift.io", "Build", Some(ns), &sel)?
        .iter()
        .any(|b| number(b) > n && phase(b) == "New"))
}

/// Deletes the oldest finished builds of the build's config beyond its history limits.
fn prune_history(cluster: &mut LocalCluster, build: &Value) -> Result<Vec<u64>, ControllerError> {
    let (_, ns) = images::name_ns(build);
    let ns = ns.to_string();
    let Some(config) = build
        .pointer("/metadata/labels/openshift.io~1build-config.name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Ok(Vec::new());
    };
    let bc_key = ResourceKey::new(
        "build.openshift.io",
        "BuildConfig",
        ns.clone(),
        config.clone(),
    );
    let Some(bc) = cluster.get(&bc_key)? else {
        return Ok(Vec::new());
    };
    let limit = |k: &str| {
        bc.pointer(&format!("/spec/{k}"))
            .and_then(Value::as_u64)
            .unwrap_or(5) as usize
    };
    let (ok_limit, failed_limit) = (
        limit("successfulBuildsHistoryLimit"),
        limit("failedBuildsHistoryLimit"),
    );
    // Every finished build prunes, so only the newest builds can be beyond a limit: look at a
    // window of build numbers by name (point reads) rather than listing every Build.
    let newest = bc
        .pointer("/status/lastVersion")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(number(build));
    let window = (ok_limit + failed_limit) as i64 * 2 + 20;
    let mut doomed = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for n in (newest.saturating_sub(window).max(1)..=newest).rev() {
        let k = ResourceKey::new(
            "build.openshift.io",
            "Build",
            ns.clone(),
            format!("{config}-{n}"),
        );
        let Some(b) = cluster.get(&k)? else { continue };
        let (counter, lim) = match phase(&b) {
            "Complete" => (&mut ok, ok_limit),
            "Failed" | "Error" | "Cancelled" => (&mut failed, failed_limit),
            _ => continue,
        };
        *counter += 1;
        if *counter > lim {
            doomed.push(k);
        }
    }
    if doomed.is_empty() {
        return Ok(Vec::new());
    }
    let mut txn = cluster.begin()?;
    for k in &doomed {
        txn.delete(k)?;
    }
    txn.commit()?;
    Ok(Vec::new())
}
