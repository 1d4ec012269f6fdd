//! When each app syncs: one task per app, so one app never syncs twice at once.
//!
//! - The first syncs run at start, in declaration order (an app's first sync waits for the
//!   first attempt of the app declared before it, so a Namespace declared by an earlier app
//!   exists when a later one needs it); after that every app runs on its own.
//! - After the first sync, After a success the next is due after the app's interval
//!   plus a random jitter (up to [`SchedulerConfig::jitter`] of the interval), so many apps
//!   do not sync in lockstep.
//! - After a failure the next attempt is due after an exponential backoff
//!   ([`SchedulerConfig::backoff_initial`] doubling up to [`SchedulerConfig::backoff_max`]); a
//!   success resets it.
//! - [`Scheduler::request`] (webhooks) wakes the app's task at once. Requests coalesce: any
//!   number of requests made while a sync runs give exactly one follow-up sync.
//! - The timer is always on: webhooks only shorten the wait.
//! - On shutdown a task finishes the sync it is running and stops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{AppEntry, Reason, Shared, SyncError, SyncOutcome};

/// Timing of retries and jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// The wait after the first failure.
    pub backoff_initial: Duration,
    /// The longest wait between attempts after failures.
    pub backoff_max: Duration,
    /// The largest jitter added to an interval, as a fraction of it (0.1 = up to 10 %).
    pub jitter: f64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            backoff_initial: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            jitter: 0.1,
        }
    }
}

impl SchedulerConfig {
    /// The wait after `failures` consecutive failures (1 = the first).
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.backoff_initial
            .checked_mul(1u32 << exp)
            .unwrap_or(self.backoff_max)
            .min(self.backoff_max)
    }

    /// `interval` plus a random jitter.
    pub fn jittered(&self, interval: Duration) -> Duration {
        let fraction = self.jitter.clamp(0.0, 1.0);
        if fraction == 0.0 {
            return interval;
        }
        interval.mul_f64(1.0 + rand::random_range(0.0..=fraction))
    }

    /// The longest wait after a success (interval plus the whole jitter).
    pub fn max_interval(&self, interval: Duration) -> Duration {
        interval.mul_f64(1.0 + self.jitter.clamp(0.0, 1.0))
    }
}

/// How a sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncResult {
    /// It succeeded.
    Success,
    /// It failed.
    Failure,
}

impl SyncResult {
    /// `success` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncResult::Success => "success",
            SyncResult::Failure => "failure",
        }
    }
}

/// One finished sync, as status shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LastSync {
    /// When it finished (RFC 3339).
    pub at: String,
    /// Why it ran.
    pub reason: &'static str,
    /// How it ended.
    pub result: SyncResult,
    /// The revision (success only).
    pub revision: Option<String>,
    /// The commit subject (success only).
    pub subject: Option<String>,
    /// The error (failure only).
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

impl LastSync {
    /// As JSON for status.
    pub fn to_json(&self) -> Value {
        json!({
            "time": self.at,
            "reason": self.reason,
            "result": self.result.as_str(),
            "revision": self.revision,
            "subject": self.subject,
            "error": self.error,
            "durationMs": u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// What the daemon knows about an app.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppState {
    /// A sync is running.
    pub syncing: bool,
    /// Syncs attempted.
    pub attempts: u64,
    /// Consecutive failures (0 after a success).
    pub failures: u32,
    /// The last sync.
    pub last: Option<LastSync>,
    /// The last successful sync.
    pub last_success: Option<LastSync>,
    /// Objects managed after the last success.
    pub objects: Option<usize>,
    /// Drifted objects found by the last success and left alone.
    pub drift_count: usize,
    /// Their names (at most [`super::MAX_DRIFT_LISTED`]).
    pub drifted: Vec<String>,
}

/// One finished sync, broadcast to [`super::Handle::subscribe`]rs after its status is written.
#[derive(Debug, Clone)]
pub struct SyncEvent {
    /// The app.
    pub app: String,
    /// Why it ran.
    pub reason: Reason,
    /// What it did, or the error.
    pub result: Result<SyncOutcome, String>,
    /// How long it took.
    pub duration: Duration,
    /// When it started (the tokio clock).
    pub started: Instant,
    /// The wait until the next sync (interval with jitter, or backoff).
    pub next_in: Duration,
}

struct Slot {
    entry: AppEntry,
    wake: Notify,
    pending: Mutex<Option<Reason>>,
    state: Mutex<AppState>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The per-app schedule: requests, state, readiness, events.
pub struct Scheduler {
    slots: Vec<Arc<Slot>>,
    config: SchedulerConfig,
    events: broadcast::Sender<SyncEvent>,
    unready: AtomicUsize,
    pub(crate) after_sync: Notify,
}

impl Scheduler {
    /// A schedule for `apps`.
    pub fn new(apps: Vec<AppEntry>, config: SchedulerConfig) -> Self {
        let (events, _) = broadcast::channel(1024);
        Scheduler {
            unready: AtomicUsize::new(apps.len()),
            slots: apps
                .into_iter()
                .map(|entry| {
                    Arc::new(Slot {
                        entry,
                        wake: Notify::new(),
                        pending: Mutex::new(None),
                        state: Mutex::new(AppState::default()),
                    })
                })
                .collect(),
            config,
            events,
            after_sync: Notify::new(),
        }
    }

    /// The apps, in declaration order.
    pub fn apps(&self) -> impl Iterator<Item = &AppEntry> {
        self.slots.iter().map(|s| &s.entry)
    }

    /// Asks for a sync of `app`: at once if it is idle, right after the running sync
    /// otherwise. Returns false when there is no such app.
    pub fn request(&self, app: &str, reason: Reason) -> bool {
        let Some(slot) = self.slots.iter().find(|s| s.entry.name == app) else {
            return false;
        };
        {
            let mut pending = lock(&slot.pending);
            if pending.is_none() {
                *pending = Some(reason);
            }
        }
        slot.wake.notify_one();
        true
    }

    /// Whether every app has had its first sync attempt (success or not).
    pub fn is_ready(&self) -> bool {
        self.unready.load(Ordering::SeqCst) == 0
    }

    /// Every app with its state.
    pub fn states(&self) -> Vec<(AppEntry, AppState)> {
        self.slots
            .iter()
            .map(|s| (s.entry.clone(), lock(&s.state).clone()))
            .collect()
    }

    /// Finished syncs, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }
}

/// Starts one task per app.
pub(crate) fn start(shared: Arc<Shared>, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    let mut previous: Option<oneshot::Receiver<()>> = None;
    let mut workers = Vec::new();
    for slot in &shared.scheduler.slots {
        let (done, next) = oneshot::channel();
        workers.push(tokio::spawn(worker(
            shared.clone(),
            slot.clone(),
            shutdown.clone(),
            previous.take(),
            done,
        )));
        previous = Some(next);
    }
    workers
}

async fn worker(
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    shutdown: CancellationToken,
    after: Option<oneshot::Receiver<()>>,
    first_done: oneshot::Sender<()>,
) {
    if let Some(after) = after {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            _ = after => {}
        }
    }
    let mut first_done = Some(first_done);
    let scheduler = &shared.scheduler;
    let name = slot.entry.name.clone();
    let mut reason = Reason::Startup;
    loop {
        lock(&slot.state).syncing = true;
        let started = Instant::now();
        let syncer = shared.syncer.clone();
        let (app, why) = (name.clone(), reason.clone());
        let result = match tokio::task::spawn_blocking(move || syncer.sync(&app, &why)).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(SyncError::Panicked(name.clone()).to_string()),
        };
        let duration = started.elapsed();
        let (next_in, status) = {
            let mut st = lock(&slot.state);
            st.syncing = false;
            st.attempts += 1;
            let mut last = LastSync {
                at: crate::cluster::local::now_rfc3339(),
                reason: reason.as_str(),
                result: SyncResult::Success,
                revision: None,
                subject: None,
                error: None,
                duration,
            };
            let next_in = match &result {
                Ok(o) => {
                    last.revision = o.revision.clone();
                    last.subject = o.subject.clone();
                    st.failures = 0;
                    st.objects = Some(o.objects);
                    st.drift_count = o.drift_count;
                    st.drifted = o.drifted.clone();
                    st.last_success = Some(last.clone());
                    scheduler.config.jittered(slot.entry.interval)
                }
                Err(e) => {
                    last.result = SyncResult::Failure;
                    last.error = Some(e.clone());
                    st.failures = st.failures.saturating_add(1);
                    scheduler.config.backoff(st.failures)
                }
            };
            st.last = Some(last);
            (next_in, super::status_json(&slot.entry, &st))
        };
        shared.metrics.sync_finished(&name, &result, duration);
        log_sync(&name, &reason, &result, duration, next_in);
        if let Some(done) = first_done.take() {
            scheduler.unready.fetch_sub(1, Ordering::SeqCst);
            let _ = done.send(());
        }
        if let Some(open) = shared.cluster() {
            let app = name.clone();
            let written = tokio::task::spawn_blocking(move || {
                open().and_then(|mut c| c.set_app_status(&app, &status))
            })
            .await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(app = %name, error = %e, "cannot record app status"),
                Err(_) => tracing::warn!(app = %name, "recording app status panicked"),
            }
        }
        if matches!(&result, Ok(o) if o.wrote) {
            scheduler.after_sync.notify_one();
        }
        let _ = scheduler.events.send(SyncEvent {
            app: name.clone(),
            reason: reason.clone(),
            result: result.clone(),
            duration,
            started,
            next_in,
        });
        let due = started + duration + next_in;
        let failed = result.is_err();
        reason = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = slot.wake.notified() => lock(&slot.pending).take().unwrap_or(Reason::Manual),
            () = tokio::time::sleep_until(due) => if failed { Reason::Retry } else { Reason::Interval },
        };
    }
}

fn log_sync(
    app: &str,
    reason: &Reason,
    result: &Result<SyncOutcome, String>,
    duration: Duration,
    next_in: Duration,
) {
    let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(o) => tracing::info!(
            app,
            revision = o.revision.as_deref().unwrap_or("-"),
            result = "success",
            duration_ms = ms,
            reason = reason.as_str(),
            created = o.created,
            updated = o.updated,
            pruned = o.pruned,
            drift = o.drift_count,
            healed = o.healed,
            "sync"
        ),
        Err(e) => tracing::warn!(
            app,
            result = "failure",
            duration_ms = ms,
            reason = reason.as_str(),
            retry_in_s = next_in.as_secs(),
            error = %e,
            "sync"
        ),
    }
}

/// Runs the controllers after every sync that wrote and on their interval, one pass at a time.
pub(crate) async fn controller_loop(shared: Arc<Shared>, shutdown: CancellationToken) {
    let interval = shared.controllers().interval();
    loop {
        let tick = async {
            match interval {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = shared.scheduler.after_sync.notified() => {}
            () = tick => {}
        }
        let controllers = shared.controllers();
        match tokio::task::spawn_blocking(move || controllers.run()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "controllers failed"),
            Err(_) => tracing::warn!("controllers panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let c = SchedulerConfig {
            backoff_initial: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
            jitter: 0.0,
        };
        let waits: Vec<u64> = (1..=6).map(|n| c.backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(c.backoff(u32::MAX), Duration::from_secs(60));
        assert_eq!(
            c.jittered(Duration::from_secs(100)),
            Duration::from_secs(100)
        );
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let c = SchedulerConfig::default();
        for _ in 0..1000 {
            let d = c.jittered(Duration::from_secs(180));
            assert!(d >= Duration::from_secs(180) && d <= c.max_interval(Duration::from_secs(180)));
        }
    }
}
