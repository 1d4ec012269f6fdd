//! The daemon's metrics in the Prometheus text exposition format (version 0.0.4), written by
//! hand:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `kascade_syncs_total` | counter | `app`, `result` (`success`, `failure`) |
//! | `kascade_sync_duration_seconds` | histogram | `app` |
//! | `kascade_managed_objects` | gauge | `app` |
//! | `kascade_drifted_objects` | gauge | `app` |
//! | `kascade_last_synced_revision` | gauge (always 1) | `app`, `revision` |
//! | `kascade_last_sync_success_timestamp_seconds` | gauge | `app` |
//! | `kascade_webhook_requests_total` | counter | `hook` (`github`, `generic`), `result` |
//!
//! Webhook results: `accepted` (a sync or build was requested), `ignored` (authentic, nothing
//! matched), `unauthorized`, `too_large`, `rate_limited`, `replayed`, `bad_request`,
//! `disabled` (no secret configured).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::SyncOutcome;

/// The upper bounds of the sync duration histogram, in seconds.
pub const DURATION_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Every webhook result label.
pub const WEBHOOK_RESULTS: [&str; 8] = [
    "accepted",
    "ignored",
    "unauthorized",
    "too_large",
    "rate_limited",
    "replayed",
    "bad_request",
    "disabled",
];

#[derive(Debug, Default, Clone)]
struct AppMetrics {
    success: u64,
    failure: u64,
    buckets: [u64; DURATION_BUCKETS.len()],
    sum: f64,
    count: u64,
    objects: u64,
    drifted: u64,
    revision: Option<String>,
    last_success: Option<f64>,
}

/// A gauge family: name, help, the value of one app.
type Gauge = (
    &'static str,
    &'static str,
    fn(&AppMetrics) -> Option<String>,
);

#[derive(Debug, Default)]
struct Inner {
    apps: BTreeMap<String, AppMetrics>,
    webhooks: BTreeMap<(String, &'static str), u64>,
}

/// The counters, gauges and histograms of one daemon.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn float(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

impl Metrics {
    /// Empty metrics, with every webhook series at 0.
    pub fn new() -> Self {
        let mut inner = Inner::default();
        for hook in ["github", "generic"] {
            for r in WEBHOOK_RESULTS {
                inner.webhooks.insert((hook.to_string(), r), 0);
            }
        }
        Metrics {
            inner: Mutex::new(inner),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Makes an app's series exist (at 0) before its first sync.
    pub fn declare_app(&self, app: &str) {
        self.with(|i| {
            i.apps.entry(app.to_string()).or_default();
        });
    }

    /// Records a finished sync.
    pub fn sync_finished(&self, app: &str, result: &Result<SyncOutcome, String>, took: Duration) {
        let secs = took.as_secs_f64();
        self.with(|i| {
            let m = i.apps.entry(app.to_string()).or_default();
            for (n, le) in DURATION_BUCKETS.iter().enumerate() {
                if secs <= *le {
                    m.buckets[n] += 1;
                }
            }
            m.sum += secs;
            m.count += 1;
            match result {
                Ok(o) => {
                    m.success += 1;
                    m.objects = o.objects as u64;
                    m.drifted = o.drift_count as u64;
                    m.revision = o.revision.clone();
                    m.last_success = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .ok()
                        .map(|d| d.as_secs_f64());
                }
                Err(_) => m.failure += 1,
            }
        });
    }

    /// Counts a webhook request.
    pub fn webhook(&self, hook: &str, result: &'static str) {
        self.with(|i| *i.webhooks.entry((hook.to_string(), result)).or_default() += 1);
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.with(|i| {
            header(
                &mut out,
                "kascade_syncs_total",
                "counter",
                "Syncs of each app, by result.",
            );
            for (app, m) in &i.apps {
                let app = escape_label(app);
                let _ = writeln!(
                    out,
                    "kascade_syncs_total{{app=\"{app}\",result=\"success\"}} {}\nkascade_syncs_total{{app=\"{app}\",result=\"failure\"}} {}",
                    m.success, m.failure
                );
            }
            header(
                &mut out,
                "kascade_sync_duration_seconds",
                "histogram",
                "How long syncs take, from fetch to applied.",
            );
            for (app, m) in &i.apps {
                let app = escape_label(app);
                for (n, le) in DURATION_BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "kascade_sync_duration_seconds_bucket{{app=\"{app}\",le=\"{}\"}} {}",
                        float(*le),
                        m.buckets[n]
                    );
                }
                let _ = writeln!(
                    out,
                    "kascade_sync_duration_seconds_bucket{{app=\"{app}\",le=\"+Inf\"}} {}\nkascade_sync_duration_seconds_sum{{app=\"{app}\"}} {}\nkascade_sync_duration_seconds_count{{app=\"{app}\"}} {}",
                    m.count,
                    float(m.sum),
                    m.count
                );
            }
            let gauges: [Gauge; 3] = [
                (
                    "kascade_managed_objects",
                    "Objects each app manages after its last successful sync.",
                    |m| Some(m.objects.to_string()),
                ),
                (
                    "kascade_drifted_objects",
                    "Objects whose live state differs from what was applied, left alone (no selfHeal).",
                    |m| Some(m.drifted.to_string()),
                ),
                (
                    "kascade_last_sync_success_timestamp_seconds",
                    "When each app last synced successfully (Unix time).",
                    |m| m.last_success.map(float),
                ),
            ];
            for (name, help, value) in gauges {
                header(&mut out, name, "gauge", help);
                for (app, m) in &i.apps {
                    if let Some(v) = value(m) {
                        let _ = writeln!(out, "{name}{{app=\"{}\"}} {v}", escape_label(app));
                    }
                }
            }
            header(
                &mut out,
                "kascade_last_synced_revision",
                "gauge",
                "The revision each app last synced (value always 1).",
            );
            for (app, m) in &i.apps {
                if let Some(rev) = &m.revision {
                    let _ = writeln!(
                        out,
                        "kascade_last_synced_revision{{app=\"{}\",revision=\"{}\"}} 1",
                        escape_label(app),
                        escape_label(rev)
                    );
                }
            }
            header(
                &mut out,
                "kascade_webhook_requests_total",
                "counter",
                "Webhook requests, by hook and result.",
            );
            for ((hook, result), n) in &i.webhooks {
                let _ = writeln!(
                    out,
                    "kascade_webhook_requests_total{{hook=\"{}\",result=\"{result}\"}} {n}",
                    escape_label(hook)
                );
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let m = Metrics::new();
        m.declare_app("web");
        let ok = SyncOutcome {
            revision: Some("abc\"1".into()),
            objects: 4,
            drift_count: 1,
            ..SyncOutcome::default()
        };
        m.sync_finished("web", &Ok(ok), Duration::from_millis(30));
        m.sync_finished("web", &Err("boom".into()), Duration::from_secs(2));
        m.webhook("github", "unauthorized");
        let text = m.render();
        for line in [
            "kascade_syncs_total{app=\"web\",result=\"success\"} 1",
            "kascade_syncs_total{app=\"web\",result=\"failure\"} 1",
            "kascade_sync_duration_seconds_bucket{app=\"web\",le=\"0.025\"} 0",
            "kascade_sync_duration_seconds_bucket{app=\"web\",le=\"0.05\"} 1",
            "kascade_sync_duration_seconds_bucket{app=\"web\",le=\"2.5\"} 2",
            "kascade_sync_duration_seconds_bucket{app=\"web\",le=\"+Inf\"} 2",
            "kascade_sync_duration_seconds_count{app=\"web\"} 2",
            "kascade_managed_objects{app=\"web\"} 4",
            "kascade_drifted_objects{app=\"web\"} 1",
            "kascade_last_synced_revision{app=\"web\",revision=\"abc\\\"1\"} 1",
            "kascade_webhook_requests_total{hook=\"github\",result=\"unauthorized\"} 1",
            "kascade_webhook_requests_total{hook=\"generic\",result=\"accepted\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
