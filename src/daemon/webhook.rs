//! Webhooks, secure by default.
//!
//! `POST /hooks/github` — a GitHub webhook (content type `application/json`), checked in this
//! order, each failure answering at once and starting nothing:
//!
//! 1. rate limit: a token bucket per remote address and one for all (429);
//! 2. a secret must be configured (`--github-secret-file` or `KASCADE_GITHUB_SECRET`), else
//!    the hook does not exist (404, and the log says why);
//! 3. body size: at most 25 MiB, GitHub's own cap (413);
//! 4. `X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the secret, compared in
//!    constant time, before anything is parsed (401);
//! 5. `X-GitHub-Event` and `X-GitHub-Delivery` must be there (400); a delivery id seen
//!    recently is a replay (409);
//! 6. `ping` answers 200; `push` requests a sync of the apps whose repository and ref match
//!    (202), and a build of the BuildConfigs whose git source matches under OpenShift's branch
//!    rule; other events answer 200 and do nothing.
//!
//! `POST /hooks/generic` — any CI: the token in the `X-Kascade-Token` header (never in the
//! URL), compared in constant time; body optional (1 MiB at most), OpenShift's
//! `GenericWebHookEvent` in JSON or YAML. With `git.uri` it syncs the apps of that repository
//! whose ref matches (`git.ref`, or any of `git.refs`) and builds matching BuildConfigs;
//! without it, it syncs every app.
//!
//! Repository URLs match across forms: `https://github.com/o/r.git`, `git@github.com:o/r`,
//! `ssh://git@github.com/o/r` and `https://github.com/o/r` are one repository.
//!
//! BuildConfigs match a push when `spec.source.git.uri` is the pushed repository, the
//! BuildConfig has a trigger of the hook's type (`GitHub` or `Generic`), and the pushed branch
//! equals `spec.source.git.ref` with `refs/heads/` stripped from both — `master` when the
//! BuildConfig names no ref, exactly as OpenShift's `GitRefMatches` (a push to `main` does not
//! build a BuildConfig without a ref). The trigger's own secret is not consulted: the hook is
//! already authenticated by its HMAC or token.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::time::Instant;

use super::{Reason, RepoRef, Shared};
use crate::cluster::Selector;

/// GitHub's payload cap.
pub const GITHUB_MAX_BODY: usize = 25 * 1024 * 1024;
/// The generic hook's body cap.
pub const GENERIC_MAX_BODY: usize = 1024 * 1024;
/// The longest delivery id accepted.
const MAX_DELIVERY_ID: usize = 128;
/// The most remote addresses the rate limiter tracks at once.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: u32,
    /// Requests added back per second.
    pub per_second: f64,
}

/// Webhook secrets and limits.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The GitHub webhook secret; `None` disables `/hooks/github`.
    pub github_secret: Option<Vec<u8>>,
    /// The generic hook token; `None` disables `/hooks/generic`.
    pub generic_token: Option<Vec<u8>>,
    /// Largest GitHub body.
    pub github_max_body: usize,
    /// Largest generic body.
    pub generic_max_body: usize,
    /// The rate limit per remote address.
    pub per_address: Rate,
    /// The rate limit for all addresses together.
    pub global: Rate,
    /// How many delivery ids are remembered for replay protection.
    pub deliveries_remembered: usize,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field(
                "github_secret",
                &self.github_secret.as_ref().map(|_| "<set>"),
            )
            .field(
                "generic_token",
                &self.generic_token.as_ref().map(|_| "<set>"),
            )
            .field("github_max_body", &self.github_max_body)
            .field("generic_max_body", &self.generic_max_body)
            .field("per_address", &self.per_address)
            .field("global", &self.global)
            .field("deliveries_remembered", &self.deliveries_remembered)
            .finish()
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            github_secret: None,
            generic_token: None,
            github_max_body: GITHUB_MAX_BODY,
            generic_max_body: GENERIC_MAX_BODY,
            per_address: Rate {
                burst: 30,
                per_second: 5.0,
            },
            global: Rate {
                burst: 300,
                per_second: 50.0,
            },
            deliveries_remembered: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(rate.burst),
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let secs = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + secs * rate.per_second).min(f64::from(rate.burst));
        self.at = now;
    }

    fn take(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Limiter {
    global: Bucket,
    by_address: HashMap<IpAddr, Bucket>,
}

/// Remembers recent delivery ids (bounded, oldest forgotten first).
struct Deliveries {
    seen: HashSet<String>,
    order: VecDeque<String>,
}

/// The webhooks' state: configuration, rate limiter, recent deliveries.
pub(crate) struct Hooks {
    config: WebhookConfig,
    limiter: Mutex<Limiter>,
    deliveries: Mutex<Deliveries>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hooks {
    pub(crate) fn new(config: WebhookConfig) -> Self {
        let now = Instant::now();
        Hooks {
            limiter: Mutex::new(Limiter {
                global: Bucket::full(config.global, now),
                by_address: HashMap::new(),
            }),
            deliveries: Mutex::new(Deliveries {
                seen: HashSet::new(),
                order: VecDeque::new(),
            }),
            config,
        }
    }

    /// The body limits of the GitHub and generic hooks.
    pub(crate) fn limits(&self) -> (usize, usize) {
        (self.config.github_max_body, self.config.generic_max_body)
    }

    /// Takes a token for `addr` and one from the global bucket.
    fn allow(&self, addr: IpAddr) -> bool {
        let now = Instant::now();
        let cfg = &self.config;
        let mut l = lock(&self.limiter);
        if !l.by_address.contains_key(&addr) && l.by_address.len() >= MAX_TRACKED_ADDRESSES {
            // Forget the addresses whose bucket is full again: they are not limited anyway.
            l.by_address.retain(|_, b| {
                b.refill(cfg.per_address, now);
                b.tokens < f64::from(cfg.per_address.burst)
            });
            if l.by_address.len() >= MAX_TRACKED_ADDRESSES {
                return false;
            }
        }
        let ok = l
            .by_address
            .entry(addr)
            .or_insert_with(|| Bucket::full(cfg.per_address, now))
            .take(cfg.per_address, now);
        ok && l.global.take(cfg.global, now)
    }

    /// Records a delivery id; false when it was seen recently.
    fn first_delivery(&self, id: &str) -> bool {
        let mut d = lock(&self.deliveries);
        if d.seen.contains(id) {
            return false;
        }
        d.seen.insert(id.to_string());
        d.order.push_back(id.to_string());
        while d.order.len() > self.config.deliveries_remembered.max(1) {
            if let Some(old) = d.order.pop_front() {
                d.seen.remove(&old);
            }
        }
        true
    }
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`, compared in
/// constant time.
pub fn verify_github_signature(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// `sha256=<hex>` of `body` under `secret`, as GitHub sends it.
pub fn github_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `provided` equals `secret`, in time independent of where they differ (both are
/// run through HMAC keyed with the secret and the tags compared in constant time).
pub fn token_matches(secret: &[u8], provided: &[u8]) -> bool {
    let Ok(mut expected) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    expected.update(secret);
    let tag = expected.finalize().into_bytes();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(provided);
    mac.verify_slice(&tag).is_ok()
}

/// A repository URL in a form that compares across https, ssh, scp-like and web URLs:
/// `host/owner/repo` (lower-case, no `.git`, no user, no port), or `file:/path` for local
/// repositories.
pub fn normalize_repo_url(url: &str) -> String {
    let u = url.trim();
    let (host, path) = if let Some((scheme, rest)) = u.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return format!("file:/{}", trim_repo_path(rest));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host = host.split(':').next().unwrap_or(host);
        (host, path)
    } else if let Some((left, path)) = u.split_once(':')
        && !left.contains('/')
        && left.len() > 1
    {
        (left.rsplit('@').next().unwrap_or(left), path)
    } else {
        return format!("file:/{}", trim_repo_path(u));
    };
    format!(
        "{}/{}",
        host.to_ascii_lowercase(),
        trim_repo_path(path).to_ascii_lowercase()
    )
}

fn trim_repo_path(path: &str) -> &str {
    let p = path.trim_matches('/');
    let p = p.strip_suffix(".git").unwrap_or(p);
    p.trim_matches('/')
}

/// A push, from whichever hook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Push {
    /// Every URL the payload gives for the repository.
    pub urls: Vec<String>,
    /// The pushed ref (`refs/heads/main`); `None` when the payload names none.
    pub reference: Option<String>,
    /// Further refs (generic `git.refs`).
    pub refs: Vec<String>,
    /// The commit pushed.
    pub commit: Option<String>,
    /// The repository's default branch, when the payload says.
    pub default_branch: Option<String>,
    /// The branch was deleted.
    pub deleted: bool,
}

impl Push {
    /// A GitHub push payload.
    pub fn from_github(v: &Value) -> Option<Push> {
        let repo = v.get("repository")?;
        let urls = [
            "clone_url",
            "ssh_url",
            "html_url",
            "git_url",
            "url",
            "svn_url",
        ]
        .iter()
        .filter_map(|k| repo.get(*k).and_then(Value::as_str))
        .map(str::to_string)
        .collect();
        Some(Push {
            urls,
            reference: Some(v.get("ref")?.as_str()?.to_string()),
            refs: Vec::new(),
            commit: v.get("after").and_then(Value::as_str).map(str::to_string),
            default_branch: repo
                .get("default_branch")
                .and_then(Value::as_str)
                .map(str::to_string),
            deleted: v.get("deleted").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// OpenShift's `GenericWebHookEvent` (`None` when it carries no `git.uri`).
    pub fn from_generic(v: &Value) -> Option<Push> {
        let git = v.get("git")?;
        let uri = git.get("uri").and_then(Value::as_str)?;
        let text = |k: &str| git.get(k).and_then(Value::as_str).map(str::to_string);
        let refs = git
            .get("refs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("ref").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Some(Push {
            urls: vec![uri.to_string()],
            reference: text("ref"),
            refs,
            commit: text("commit"),
            default_branch: None,
            deleted: false,
        })
    }

    /// Whether the push is to `url`.
    pub fn is_for(&self, url: &str) -> bool {
        let want = normalize_repo_url(url);
        self.urls.iter().any(|u| normalize_repo_url(u) == want)
    }

    fn pushed_refs(&self) -> impl Iterator<Item = &str> {
        self.reference
            .iter()
            .chain(self.refs.iter())
            .map(String::as_str)
    }

    /// Whether the push moves the ref an app follows: its branch or tag; the default branch
    /// when the app names no ref (any branch when the payload does not say which is the
    /// default). A commit id never moves.
    pub fn moves(&self, app_ref: Option<&str>) -> bool {
        if self.reference.is_none() && self.refs.is_empty() {
            return true;
        }
        self.pushed_refs().any(|pushed| {
            let (branch, tag) = split_ref(pushed);
            match app_ref {
                None => match (&self.default_branch, branch) {
                    (Some(d), Some(b)) => d == b,
                    (None, Some(_)) => true,
                    _ => false,
                },
                Some(r) => {
                    let r = r
                        .strip_prefix("refs/heads/")
                        .or_else(|| r.strip_prefix("refs/tags/"))
                        .unwrap_or(r);
                    branch == Some(r) || tag == Some(r)
                }
            }
        })
    }

    /// The BuildConfigs among `bcs` this push builds, for a hook whose trigger type is
    /// `trigger_type` (`GitHub` or `Generic`).
    pub fn build_requests(
        &self,
        bcs: &[Value],
        trigger_type: &str,
        cause: &str,
    ) -> Vec<BuildRequest> {
        let mut out = Vec::new();
        for bc in bcs {
            let Some(git) = bc.pointer("/spec/source/git") else {
                continue;
            };
            let Some(uri) = git.get("uri").and_then(Value::as_str) else {
                continue;
            };
            let has_trigger = bc
                .pointer("/spec/triggers")
                .and_then(Value::as_array)
                .is_some_and(|ts| {
                    ts.iter().any(|t| {
                        t.get("type")
                            .and_then(Value::as_str)
                            .is_some_and(|ty| ty.eq_ignore_ascii_case(trigger_type))
                    })
                });
            if !has_trigger || !self.is_for(uri) {
                continue;
            }
            let bc_ref = git.get("ref").and_then(Value::as_str);
            let matched = if self.reference.is_none() && self.refs.is_empty() {
                Some(bc_ref.unwrap_or("master").to_string())
            } else {
                self.pushed_refs()
                    .find(|r| git_ref_matches(r, bc_ref))
                    .map(str::to_string)
            };
            let Some(reference) = matched else {
                tracing::info!(
                    buildconfig = %bc_name(bc),
                    "skipping build: the pushed branch does not match the BuildConfig's ref ({})",
                    bc_ref.unwrap_or("master")
                );
                continue;
            };
            out.push(BuildRequest {
                namespace: bc
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                name: bc
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                git_uri: uri.to_string(),
                reference,
                commit: self.commit.clone(),
                cause: cause.to_string(),
            });
        }
        out
    }
}

fn bc_name(bc: &Value) -> String {
    format!(
        "{}/{}",
        bc.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        bc.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    )
}

fn split_ref(r: &str) -> (Option<&str>, Option<&str>) {
    if let Some(b) = r.strip_prefix("refs/heads/") {
        (Some(b), None)
    } else if let Some(t) = r.strip_prefix("refs/tags/") {
        (None, Some(t))
    } else {
        (Some(r), None)
    }
}

/// OpenShift's `GitRefMatches`: `refs/heads/` stripped from both, the BuildConfig's ref
/// defaulting to `master`.
pub fn git_ref_matches(pushed: &str, bc_ref: Option<&str>) -> bool {
    let want = bc_ref.filter(|r| !r.is_empty()).unwrap_or("master");
    let want = want.strip_prefix("refs/heads/").unwrap_or(want);
    pushed.strip_prefix("refs/heads/").unwrap_or(pushed) == want
}

/// A request to start a build of a BuildConfig, from a webhook push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// The BuildConfig's namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its git source.
    pub git_uri: String,
    /// The pushed ref that matched.
    pub reference: String,
    /// The pushed commit.
    pub commit: Option<String>,
    /// `GitHub WebHook` or `Generic WebHook`, as OpenShift names the cause.
    pub cause: String,
}

fn reply(
    shared: &Shared,
    hook: &str,
    result: &'static str,
    status: StatusCode,
    body: Value,
) -> Response {
    shared.metrics.webhook(hook, result);
    (status, axum::Json(body)).into_response()
}

fn remote(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the body once the cheap checks passed; `Err` is the answer to give.
async fn read_body(
    shared: &Shared,
    hook: &str,
    req: Request,
    max: usize,
) -> Result<(HeaderMap, Bytes), Response> {
    let too_large = || {
        reply(
            shared,
            hook,
            "too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("the body is larger than {max} bytes")}),
        )
    };
    if content_length(req.headers()).is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let headers = req.headers().clone();
    match Bytes::from_request(req, &()).await {
        Ok(b) => Ok((headers, b)),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
        Err(e) => Err(reply(
            shared,
            hook,
            "bad_request",
            StatusCode::BAD_REQUEST,
            json!({"error": format!("cannot read the body: {}", e.body_text())}),
        )),
    }
}

/// The most body read (and thrown away) before an early refusal: small bodies are drained so
/// the client reads the answer on a healthy connection; larger ones are not read at all and
/// the connection is closed after the answer.
const DRAIN_MAX: usize = 64 * 1024;

async fn drain(req: Request) {
    if content_length(req.headers()).is_some_and(|n| n <= DRAIN_MAX as u64) {
        let _ = axum::body::to_bytes(req.into_body(), DRAIN_MAX).await;
    }
}

fn rate_limited(shared: &Shared, hook: &str) -> Response {
    tracing::debug!(hook, "webhook request rate limited");
    reply(
        shared,
        hook,
        "rate_limited",
        StatusCode::TOO_MANY_REQUESTS,
        json!({"error": "too many requests"}),
    )
}

fn disabled(shared: &Shared, hook: &str, how: &str) -> Response {
    tracing::warn!(
        hook,
        "webhook request refused: the {hook} hook is disabled because no secret is configured ({how})"
    );
    reply(
        shared,
        hook,
        "disabled",
        StatusCode::NOT_FOUND,
        json!({"error": format!("the {hook} webhook is not enabled on this daemon")}),
    )
}

/// `POST /hooks/github`.
pub(crate) async fn github(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    const HOOK: &str = "github";
    if !shared.hooks.allow(remote(&req)) {
        drain(req).await;
        return rate_limited(&shared, HOOK);
    }
    let Some(secret) = shared.hooks.config.github_secret.clone() else {
        drain(req).await;
        return disabled(
            &shared,
            HOOK,
            "--github-secret-file FILE or KASCADE_GITHUB_SECRET",
        );
    };
    let max = shared.hooks.config.github_max_body;
    let (headers, body) = match read_body(&shared, HOOK, req, max).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let unauthorized = |why: &str| {
        tracing::warn!(hook = HOOK, "webhook request refused: {why}");
        reply(
            &shared,
            HOOK,
            "unauthorized",
            StatusCode::UNAUTHORIZED,
            json!({"error": why}),
        )
    };
    let Some(sig) = header_str(&headers, "x-hub-signature-256") else {
        return unauthorized("missing X-Hub-Signature-256");
    };
    if !verify_github_signature(&secret, sig, &body) {
        return unauthorized("X-Hub-Signature-256 does not match the body");
    }
    let bad = |why: String| {
        reply(
            &shared,
            HOOK,
            "bad_request",
            StatusCode::BAD_REQUEST,
            json!({"error": why}),
        )
    };
    let Some(event) = header_str(&headers, "x-github-event").map(str::to_string) else {
        return bad("missing X-GitHub-Event".into());
    };
    let delivery = match header_str(&headers, "x-github-delivery") {
        Some(d)
            if !d.is_empty()
                && d.len() <= MAX_DELIVERY_ID
                && d.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            d.to_string()
        }
        Some(_) => return bad("invalid X-GitHub-Delivery".into()),
        None => return bad("missing X-GitHub-Delivery".into()),
    };
    if !shared.hooks.first_delivery(&delivery) {
        tracing::warn!(hook = HOOK, delivery = %delivery, "webhook delivery replayed; ignored");
        return reply(
            &shared,
            HOOK,
            "replayed",
            StatusCode::CONFLICT,
            json!({"error": format!("delivery {delivery} was already received")}),
        );
    }
    match event.as_str() {
        "ping" => reply(
            &shared,
            HOOK,
            "accepted",
            StatusCode::OK,
            json!({"event": "ping", "delivery": delivery}),
        ),
        "push" => {
            let push = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| Push::from_github(&v));
            let Some(push) = push else {
                return bad("the push payload has no repository or ref".into());
            };
            let reason = Reason::Webhook {
                hook: HOOK.into(),
                delivery: Some(delivery.clone()),
            };
            dispatch(&shared, HOOK, &push, reason, "GitHub", "GitHub WebHook").await
        }
        other => reply(
            &shared,
            HOOK,
            "ignored",
            StatusCode::OK,
            json!({"event": other, "ignored": "kascade acts on push events only"}),
        ),
    }
}

/// Requests syncs of the apps the push moves and builds of the BuildConfigs it matches.
async fn dispatch(
    shared: &Arc<Shared>,
    hook: &'static str,
    push: &Push,
    reason: Reason,
    trigger_type: &'static str,
    cause: &'static str,
) -> Response {
    let apps: Vec<String> = shared
        .scheduler
        .apps()
        .filter(|a| {
            a.repo.as_ref().is_some_and(|r: &RepoRef| {
                push.is_for(&r.url) && push.moves(r.reference.as_deref())
            })
        })
        .map(|a| a.name.clone())
        .collect();
    for app in &apps {
        shared.scheduler.request(app, reason.clone());
    }
    let builds = start_builds(shared, push, trigger_type, cause).await;
    tracing::info!(
        hook,
        git_ref = push.reference.as_deref().unwrap_or("-"),
        commit = push.commit.as_deref().unwrap_or("-"),
        apps = %apps.join(","),
        builds = %builds.join(","),
        "webhook push"
    );
    let (result, status) = if apps.is_empty() && builds.is_empty() {
        ("ignored", StatusCode::OK)
    } else {
        ("accepted", StatusCode::ACCEPTED)
    };
    reply(
        shared,
        hook,
        result,
        status,
        json!({"event": "push", "ref": push.reference, "apps": apps, "builds": builds}),
    )
}

async fn start_builds(
    shared: &Arc<Shared>,
    push: &Push,
    trigger_type: &'static str,
    cause: &'static str,
) -> Vec<String> {
    let Some(open) = shared.cluster() else {
        return Vec::new();
    };
    let controllers = shared.controllers();
    let push = push.clone();
    let done = tokio::task::spawn_blocking(move || {
        let cluster = open()?;
        let bcs = cluster.list(
            "build.openshift.io",
            "BuildConfig",
            None,
            &Selector::everything(),
        )?;
        let mut started = Vec::new();
        for request in push.build_requests(&bcs, trigger_type, cause) {
            let name = format!("{}/{}", request.namespace, request.name);
            match controllers.start_build(&request) {
                Ok(()) => started.push(name),
                Err(e) => tracing::warn!(buildconfig = %name, error = %e, "cannot start build"),
            }
        }
        Ok::<_, crate::cluster::ClusterError>(started)
    })
    .await;
    match done {
        Ok(Ok(started)) => started,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot list BuildConfigs for a webhook push");
            Vec::new()
        }
        Err(_) => Vec::new(),
    }
}

/// `POST /hooks/generic`.
pub(crate) async fn generic(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    const HOOK: &str = "generic";
    if !shared.hooks.allow(remote(&req)) {
        drain(req).await;
        return rate_limited(&shared, HOOK);
    }
    let Some(token) = shared.hooks.config.generic_token.clone() else {
        drain(req).await;
        return disabled(
            &shared,
            HOOK,
            "--generic-token-file FILE or KASCADE_GENERIC_TOKEN",
        );
    };
    let provided = req
        .headers()
        .get("x-kascade-token")
        .map(|v| v.as_bytes().to_vec());
    let Some(provided) = provided else {
        drain(req).await;
        tracing::warn!(
            hook = HOOK,
            "webhook request refused: missing X-Kascade-Token"
        );
        return reply(
            &shared,
            HOOK,
            "unauthorized",
            StatusCode::UNAUTHORIZED,
            json!({"error": "missing X-Kascade-Token"}),
        );
    };
    if !token_matches(&token, &provided) {
        drain(req).await;
        tracing::warn!(
            hook = HOOK,
            "webhook request refused: wrong X-Kascade-Token"
        );
        return reply(
            &shared,
            HOOK,
            "unauthorized",
            StatusCode::UNAUTHORIZED,
            json!({"error": "X-Kascade-Token does not match"}),
        );
    }
    let max = shared.hooks.config.generic_max_body;
    let (headers, body) = match read_body(&shared, HOOK, req, max).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let reason = Reason::Webhook {
        hook: HOOK.into(),
        delivery: None,
    };
    let content_type = header_str(&headers, "content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let payload: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else if content_type.contains("json") {
        match serde_json::from_slice(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                return reply(
                    &shared,
                    HOOK,
                    "bad_request",
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("the body is not JSON: {e}")}),
                );
            }
        }
    } else if content_type.contains("yaml") {
        match crate::resource::yaml::parse_one(&body, "generic webhook body") {
            Ok(v) => Some(v),
            Err(e) => {
                return reply(
                    &shared,
                    HOOK,
                    "bad_request",
                    StatusCode::BAD_REQUEST,
                    json!({"error": e.to_string()}),
                );
            }
        }
    } else {
        tracing::warn!(
            hook = HOOK,
            content_type = %content_type,
            "invalid Content-Type on payload, ignoring payload and continuing"
        );
        None
    };
    match payload.as_ref().and_then(Push::from_generic) {
        Some(push) => dispatch(&shared, HOOK, &push, reason, "Generic", "Generic WebHook").await,
        None => {
            let apps: Vec<String> = shared.scheduler.apps().map(|a| a.name.clone()).collect();
            for app in &apps {
                shared.scheduler.request(app, reason.clone());
            }
            tracing::info!(hook = HOOK, apps = %apps.join(","), "webhook without git information: syncing every app");
            reply(
                &shared,
                HOOK,
                "accepted",
                StatusCode::ACCEPTED,
                json!({"apps": apps, "builds": []}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_test_vector() {
        // From GitHub's documentation on validating webhook deliveries.
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_github_signature(secret, header, body));
        assert_eq!(github_signature(secret, body), header);
        assert!(!verify_github_signature(secret, header, b"Hello, World?"));
        assert!(!verify_github_signature(b"other", header, body));
        assert!(!verify_github_signature(secret, "sha1=abc", body));
        assert!(!verify_github_signature(secret, "sha256=zz", body));
        assert!(!verify_github_signature(secret, "sha256=", body));
    }

    #[test]
    fn tokens() {
        assert!(token_matches(b"s3cret", b"s3cret"));
        assert!(!token_matches(b"s3cret", b"s3cre"));
        assert!(!token_matches(b"s3cret", b"s3cret "));
        assert!(!token_matches(b"s3cret", b""));
    }

    #[test]
    fn urls_compare_across_forms() {
        let want = "github.com/anonuser/anonrepo";
        for u in [
            "https://github.com/anonUser/anonRepo.git",
            "https://github.com/anonUser/anonRepo",
            "git@github.com:anonUser/anonRepo.git",
            "ssh://git@github.com:22/anonUser/anonRepo.git",
            "git://github.com/anonUser/anonRepo.git",
            "https://token@github.com/anonUser/anonRepo/",
        ] {
            assert_eq!(normalize_repo_url(u), want, "{u}");
        }
        assert_eq!(normalize_repo_url("file:///tmp/r.git"), "file:/tmp/r");
        assert_eq!(normalize_repo_url("/tmp/r"), "file:/tmp/r");
        assert_ne!(
            normalize_repo_url("https://github.com/o/r"),
            normalize_repo_url("https://gitlab.com/o/r")
        );
    }

    #[test]
    fn openshift_branch_rule() {
        assert!(git_ref_matches("refs/heads/master", None));
        assert!(!git_ref_matches("refs/heads/main", None));
        assert!(git_ref_matches("refs/heads/main", Some("main")));
        assert!(git_ref_matches("refs/heads/main", Some("refs/heads/main")));
        assert!(!git_ref_matches(
            "refs/heads/my_other_branch",
            Some("master")
        ));
    }

    #[test]
    fn pushes_move_the_refs_apps_follow() {
        let push = Push {
            urls: vec!["https://github.com/o/r.git".into()],
            reference: Some("refs/heads/main".into()),
            default_branch: Some("main".into()),
            ..Push::default()
        };
        assert!(push.moves(None));
        assert!(push.moves(Some("main")));
        assert!(push.moves(Some("refs/heads/main")));
        assert!(!push.moves(Some("develop")));
        assert!(!push.moves(Some("9bdc3a26ff933b32f3e558636b58aea86a69f051")));
        let tag = Push {
            reference: Some("refs/tags/v1".into()),
            ..push.clone()
        };
        assert!(tag.moves(Some("v1")));
        assert!(!tag.moves(None));
    }

    #[test]
    fn build_configs_match_uri_trigger_and_branch() {
        let bc = |name: &str, uri: &str, r: Option<&str>, trigger: &str| {
            let mut git = json!({"uri": uri});
            if let Some(r) = r {
                git["ref"] = json!(r);
            }
            json!({"metadata": {"namespace": "lab", "name": name},
                   "spec": {"source": {"git": git}, "triggers": [{"type": trigger}]}})
        };
        let bcs = vec![
            bc("no-ref", "https://github.com/o/r.git", None, "GitHub"),
            bc("main", "git@github.com:o/r.git", Some("main"), "GitHub"),
            bc("generic-only", "https://github.com/o/r", None, "Generic"),
            bc("other-repo", "https://github.com/o/x", None, "GitHub"),
        ];
        let push = |r: &str| Push {
            urls: vec!["https://github.com/o/r.git".into()],
            reference: Some(r.into()),
            ..Push::default()
        };
        let names = |p: &Push, t: &str| -> Vec<String> {
            p.build_requests(&bcs, t, "x")
                .into_iter()
                .map(|b| b.name)
                .collect()
        };
        assert_eq!(names(&push("refs/heads/master"), "GitHub"), ["no-ref"]);
        assert_eq!(names(&push("refs/heads/main"), "GitHub"), ["main"]);
        assert_eq!(
            names(&push("refs/heads/master"), "Generic"),
            ["generic-only"]
        );
        assert!(names(&push("refs/heads/feature"), "GitHub").is_empty());
    }

    #[test]
    fn deliveries_are_bounded() {
        let hooks = Hooks::new(WebhookConfig {
            deliveries_remembered: 2,
            ..WebhookConfig::default()
        });
        assert!(hooks.first_delivery("a"));
        assert!(!hooks.first_delivery("a"));
        assert!(hooks.first_delivery("b"));
        assert!(hooks.first_delivery("c"));
        assert!(hooks.first_delivery("a"), "the oldest id was forgotten");
        assert!(!hooks.first_delivery("c"));
    }
}
