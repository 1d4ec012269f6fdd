//! The ImageStream controller: resolves due spec tags into status events
//! ([`crate::images::stream`]), importing external references first — outside the write
//! transaction, since a registry may be slow — with the credentials of the pull secrets in the
//! stream's namespace ([`crate::images::auth`]).
//!
//! Scheduled re-imports are rate limited as OpenShift's `maxScheduledImageImportsPerMinute`
//! limits them ([`ImportLimiter`]): a stream whose scheduled tags are due re-imports them only
//! when the limiter grants a token; otherwise they stay due and the next scheduler pass
//! ([`super::Controllers::enqueue_scheduled_imports`]) queues the stream again. New and changed
//! tags are never rate limited.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Activity, Context, ControllerError, now_secs, rv};
use crate::cluster::local::now_rfc3339;
use crate::cluster::{LocalCluster, Selector};
use crate::images::auth::Keyring;
use crate::images::registry::ImportOptions;
use crate::images::stream::{self, Clock, ImportFailure, Imports, import_pinned};
use crate::images::{DockerRef, GROUP, resolve_tag};
use crate::resource::ResourceKey;

/// OpenShift's default `maxScheduledImageImportsPerMinute`.
pub const DEFAULT_MAX_SCHEDULED_IMPORTS_PER_MINUTE: u32 = 60;

/// OpenShift's default `scheduledImageImportMinimumIntervalSeconds`.
pub const DEFAULT_SCHEDULED_INTERVAL: Duration = Duration::from_secs(900);

/// The key of stream `name` in `namespace`.
pub fn stream_key(namespace: &str, name: &str) -> ResourceKey {
    ResourceKey::new(GROUP, "ImageStream", namespace, name)
}

/// A token bucket limiting scheduled imports to `per_minute` a minute: it holds at most
/// `per_minute` tokens and gains `per_minute / 60` a second, as the
/// `flowcontrol.NewTokenBucketRateLimiter(max/60, max)` upstream builds from
/// `maxScheduledImageImportsPerMinute`. The clock is passed in, so it is tested without
/// waiting.
#[derive(Debug, Clone)]
pub struct ImportLimiter {
    per_minute: u32,
    /// Credit in nanoseconds × `per_minute`: a token costs [`TOKEN`] units, so the
    /// arithmetic is exact.
    credit: u128,
    last: Option<Instant>,
}

/// The cost of one token in [`ImportLimiter`] credit units (one minute in nanoseconds).
const TOKEN: u128 = 60_000_000_000;

impl ImportLimiter {
    /// A full bucket of `per_minute` tokens (at least 1).
    pub fn new(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        ImportLimiter {
            per_minute,
            credit: TOKEN * u128::from(per_minute),
            last: None,
        }
    }

    /// The limit, imports per minute.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// How many tokens there are at `now` (what `try_acquire` would grant in a row).
    pub fn available(&mut self, now: Instant) -> u32 {
        self.refill(now);
        u32::try_from(self.credit / TOKEN).unwrap_or(u32::MAX)
    }

    fn refill(&mut self, now: Instant) {
        let rate = u128::from(self.per_minute);
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_nanos();
            self.credit = self
                .credit
                .saturating_add(elapsed.saturating_mul(rate))
                .min(TOKEN * rate);
        }
        if self.last.is_none_or(|l| now > l) {
            self.last = Some(now);
        }
    }

    /// Takes a token at `now` if there is one; returns whether it did. A `now` earlier than a
    /// previous one adds nothing.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.credit >= TOKEN {
            self.credit -= TOKEN;
            true
        } else {
            false
        }
    }
}

/// The pull secrets of `namespace` as a keyring, and the problems of those it cannot read.
fn pull_secrets(
    cluster: &LocalCluster,
    namespace: &str,
) -> Result<(Keyring, Vec<String>), ControllerError> {
    let secrets = cluster.list("", "Secret", Some(namespace), &Selector::everything())?;
    Ok(Keyring::from_secrets(&secrets))
}

/// Imports `reference` with the keyring's credentials for its registry.
fn import_one(
    ctx: &Context,
    request: &stream::ImportRequest,
    keyring: &Keyring,
    problems: &[String],
) -> Result<stream::Imported, ImportFailure> {
    let found = DockerRef::parse(&request.from)
        .ok()
        .and_then(|r| keyring.lookup(r.registry_or_default(), &r.api_repository()));
    let label = found.map(|(_, secret)| format!("pull secret {secret:?}"));
    let options = ImportOptions {
        insecure: request.insecure,
        mode: request.mode,
        credentials: found.map(|(c, _)| c).zip(label.as_deref()),
    };
    ctx.registry
        .import_with(&request.from, &options)
        .map_err(|mut f| {
            if f.reason == "Unauthorized" && !problems.is_empty() {
                let shown: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
                f.message = format!("{}; unreadable: {}", f.message, shown.join("; "));
            }
            f
        })
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
    let mut clock = Clock {
        now: &now,
        now_secs: now_secs(),
        scheduled_interval: ctx.options.scheduled_interval.as_secs(),
        scheduled: false,
    };
    if stream::next_scheduled_import(&current, &clock).is_some_and(|at| at <= clock.now_secs) {
        clock.scheduled = ctx.scheduled_limiter.try_acquire(Instant::now());
    }
    let mut imports = Imports::new();
    let needed = stream::imports_needed(&current, &clock);
    let (keyring, problems) = if needed.iter().any(|r| import_pinned(&r.from).is_none()) {
        pull_secrets(cluster, &key.namespace)?
    } else {
        (Keyring::empty(), Vec::new())
    };
    for r in &needed {
        imports
            .entry((r.from.clone(), r.mode))
            .or_insert_with(|| import_one(ctx, r, &keyring, &problems));
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
            match imports.get(&(r.from.clone(), r.mode)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_allows_a_burst_then_refills_at_the_rate() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut l = ImportLimiter::new(60);
        assert_eq!(l.per_minute(), 60);
        // A full bucket: 60 at once, the 61st refused.
        assert!((0..60).all(|_| l.try_acquire(at(0))));
        assert!(!l.try_acquire(at(0)));
        // One a second comes back: not after half a second, yes after one.
        assert!(!l.try_acquire(at(500)));
        assert!(l.try_acquire(at(1000)));
        assert!(!l.try_acquire(at(1000)));
        // A clock going backwards gives nothing.
        assert!(!l.try_acquire(at(10)));
        assert_eq!(l.available(at(3000)), 2);
        assert_eq!(l.available(at(3000)), 2, "looking takes nothing");
        // After a quiet minute the bucket is full again, and no fuller.
        let granted = (0..100).filter(|_| l.try_acquire(at(600_000))).count();
        assert_eq!(granted, 60);
        // A limit of 6 a minute: one every 10 seconds after the burst.
        let mut l = ImportLimiter::new(6);
        assert_eq!((0..10).filter(|_| l.try_acquire(at(0))).count(), 6);
        assert!(!l.try_acquire(at(9_999)));
        assert!(l.try_acquire(at(10_000)));
        // Zero is treated as one.
        let mut l = ImportLimiter::new(0);
        assert!(l.try_acquire(at(0)));
        assert!(!l.try_acquire(at(0)));
    }
}
