//! The daemon's HTTP server (axum): health, readiness, metrics, app status and the webhooks.
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | 200 `ok` while the process serves requests |
//! | `GET /readyz` | 200 once every app has had its first sync attempt, 503 before |
//! | `GET /metrics` | Prometheus text format ([`super::metrics`]) |
//! | `GET /api/v1/apps` | JSON: each app's interval, last sync, last success, drift |
//! | `POST /hooks/github` | GitHub webhook ([`super::webhook`]) |
//! | `POST /hooks/generic` | generic webhook with `X-Kascade-Token` ([`super::webhook`]) |

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Shared, webhook};

/// The router of a daemon.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let github_limit = shared.hooks_config_limits().0;
    let generic_limit = shared.hooks_config_limits().1;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/apps", get(apps))
        .route(
            "/hooks/github",
            post(webhook::github).layer(DefaultBodyLimit::max(github_limit)),
        )
        .route(
            "/hooks/generic",
            post(webhook::generic).layer(DefaultBodyLimit::max(generic_limit)),
        )
        .with_state(shared)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.scheduler.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: some apps have not been synced yet\n",
        )
            .into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        shared.metrics.render(),
    )
        .into_response()
}

/// Every app's status, as `/api/v1/apps` answers.
pub(crate) fn apps_json(shared: &Shared) -> Value {
    let apps: Vec<Value> = shared
        .scheduler
        .states()
        .iter()
        .map(|(entry, state)| {
            let mut v = super::status_json(entry, state);
            if let Some(o) = v.as_object_mut() {
                o.insert("name".into(), json!(entry.name));
                o.insert(
                    "repo".into(),
                    json!(
                        entry
                            .repo
                            .as_ref()
                            .map(|r| json!({"url": r.url, "ref": r.reference}))
                    ),
                );
            }
            v
        })
        .collect();
    json!({"ready": shared.scheduler.is_ready(), "apps": apps})
}

async fn apps(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(apps_json(&shared)).into_response()
}
