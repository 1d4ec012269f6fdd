//! Webhooks over real HTTP on 127.0.0.1, with the payloads of ../shared/corpus/webhooks: a
//! signed push syncs at once (and requests builds of matching BuildConfigs); a missing or wrong
//! signature, a replayed delivery, a 30 MB body and a flood of 10,000 forged requests start
//! nothing and leave the daemon answering; the generic hook's token; /metrics as Prometheus
//! text.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kascade::daemon::webhook::github_signature;
use kascade::daemon::{
    BuildRequest, ControllerError, Controllers, Daemon, DaemonError, DaemonOptions, Handle,
    LocalDir, Reason, RepoRef, RepoSyncer, SyncEvent, WebhookConfig,
};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::daemon::{live_value, opener, set_value, web_repo, write};
use crate::util::{corpus, shared};

const SECRET: &[u8] = b"It's a Secret to Everybody";
const REPO_URL: &str = "https://github.com/anonUser/anonRepo.git";

/// Records build requests.
#[derive(Default)]
struct Builds(Mutex<Vec<BuildRequest>>);

impl Controllers for Builds {
    fn start_build(&self, request: &BuildRequest) -> Result<(), ControllerError> {
        self.0.lock().unwrap().push(request.clone());
        Ok(())
    }
}

struct Server {
    addr: String,
    handle: Handle,
    events: broadcast::Receiver<SyncEvent>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), DaemonError>>>,
    rt: tokio::runtime::Runtime,
    repo: PathBuf,
    state: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// A daemon over a repository (app `web`, a ConfigMap and two BuildConfigs) declared as
    /// a checkout of github.com/anonUser/anonRepo, its default branch.
    fn start(webhooks: WebhookConfig, controllers: Option<Arc<dyn Controllers>>) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let (repo, state) = (tmp.path().join("repo"), tmp.path().join("state"));
        web_repo(&repo, "");
        let bc = |name: &str, git_ref: &str| {
            format!(
                "apiVersion: build.openshift.io/v1\nkind: BuildConfig\nmetadata:\n  name: {name}\nspec:\n  source:\n    git:\n      uri: {REPO_URL}\n{git_ref}  strategy:\n    type: Docker\n  triggers:\n  - type: GitHub\n    github:\n      secret: in-the-url-is-not-used\n"
            )
        };
        write(
            &repo,
            "apps/web/bc-default.yaml",
            &bc("from-default-ref", ""),
        );
        write(
            &repo,
            "apps/web/bc-main.yaml",
            &bc("from-main", "      ref: main\n"),
        );
        let open = opener(&state);
        let syncer = RepoSyncer::new(
            Arc::new(LocalDir {
                config: repo.join("kascade.yaml"),
                repo: Some(RepoRef {
                    url: REPO_URL.into(),
                    reference: None,
                }),
            }),
            open.clone(),
            Default::default(),
        );
        let apps = syncer.apps(Duration::from_secs(180)).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut daemon = Daemon::new(
            apps,
            Arc::new(syncer),
            DaemonOptions {
                webhooks,
                ..DaemonOptions::default()
            },
        )
        .with_cluster(open);
        if let Some(c) = controllers {
            daemon = daemon.with_controllers(c);
        }
        let handle = daemon.handle();
        let events = handle.subscribe();
        let shutdown = CancellationToken::new();
        let task = rt.spawn(daemon.run(Some(listener), shutdown.clone()));
        let mut server = Server {
            addr,
            handle,
            events,
            shutdown,
            task: Some(task),
            rt,
            repo,
            state,
            _tmp: tmp,
        };
        let first = server.next_event();
        assert_eq!(first.reason, Reason::Startup);
        assert!(first.result.is_ok(), "{first:?}");
        server
    }

    /// The next finished sync (the bound only guards against a hung test).
    fn next_event(&mut self) -> SyncEvent {
        let events = &mut self.events;
        self.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(300), events.recv())
                .await
                .expect("no sync finished")
                .expect("events")
        })
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        post_with(&agent, &self.addr, path, headers, body)
    }

    fn github(&self, event: &str, delivery: &str, body: &[u8], signature: &str) -> (u16, Value) {
        self.post(
            "/hooks/github",
            &[
                ("content-type", "application/json"),
                ("x-github-event", event),
                ("x-github-delivery", delivery),
                ("x-hub-signature-256", signature),
            ],
            body,
        )
    }

    fn attempts(&self) -> u64 {
        self.handle.apps()[0].1.attempts
    }

    fn metric(&self, hook: &str, result: &str) -> u64 {
        let text = crate::daemon::http_get(&self.addr, "/metrics").1;
        let samples = parse_prometheus(&text);
        let key = format!("kascade_webhook_requests_total{{hook=\"{hook}\",result=\"{result}\"}}");
        samples[&key] as u64
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = self.rt.block_on(task);
        }
    }
}

fn post_with(
    agent: &ureq::Agent,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let mut req = agent.post(&format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.send(body).expect("POST");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn payload(rel: &str) -> Option<Vec<u8>> {
    let shared = shared()?;
    Some(std::fs::read(corpus(&shared, rel)).unwrap())
}

/// Parses the Prometheus text format strictly enough to catch malformed output: every sample
/// belongs to a family declared by `# TYPE`, names and labels are well formed, values parse,
/// histogram buckets grow and end at `+Inf` equal to `_count`. Returns sample → value.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, tail) = (parts.next(), parts.next(), parts.next());
            let name = name.unwrap_or_else(|| panic!("bad comment {line:?}"));
            assert!(name_ok(name), "bad metric name in {line:?}");
            match kw {
                Some("HELP") => assert!(tail.is_some_and(|t| !t.is_empty()), "{line:?}"),
                Some("TYPE") => {
                    let t = tail.unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "{line:?}"
                    );
                    assert!(
                        types.insert(name.into(), t.into()).is_none(),
                        "TYPE twice for {name}"
                    );
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, Some(l.strip_suffix('}').expect("labels end with }"))),
            None => (series, None),
        };
        assert!(name_ok(name), "bad sample name in {line:?}");
        if let Some(labels) = labels {
            // k="v" pairs, values with \\ \" \n escapes only.
            let mut rest = labels;
            while !rest.is_empty() {
                let (k, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line:?}"));
                assert!(name_ok(k), "bad label name in {line:?}");
                let mut chars = after.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            let (_, e) = chars.next().expect("escape");
                            assert!(matches!(e, '\\' | '"' | 'n'), "bad escape in {line:?}");
                        }
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.unwrap_or_else(|| panic!("unterminated label in {line:?}"));
                rest = after[end + 1..]
                    .strip_prefix(',')
                    .unwrap_or(&after[end + 1..]);
            }
        }
        let family = types
            .keys()
            .find(|f| {
                name == f.as_str()
                    || (types[*f] == "histogram"
                        && [
                            format!("{f}_bucket"),
                            format!("{f}_sum"),
                            format!("{f}_count"),
                        ]
                        .contains(&name.to_string()))
            })
            .unwrap_or_else(|| panic!("sample without a TYPE: {line:?}"));
        let _ = family;
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "duplicate series {series}"
        );
    }
    // Histograms: cumulative buckets, +Inf == _count.
    for (family, t) in &types {
        if t != "histogram" {
            continue;
        }
        let mut by_series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (series, v) in &samples {
            if let Some(l) = series.strip_prefix(&format!("{family}_bucket{{")) {
                let (other, le) = l.rsplit_once("le=\"").expect("le label");
                let le = le.trim_end_matches("\"}");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                by_series
                    .entry(other.to_string())
                    .or_default()
                    .push((le, *v));
            }
        }
        for (other, mut buckets) in by_series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family} {other}"
            );
            let last = buckets.last().unwrap();
            assert!(last.0.is_infinite());
            let count_series = format!("{family}_count{{{}}}", other.trim_end_matches(','));
            assert_eq!(samples.get(&count_series), Some(&last.1), "{count_series}");
        }
    }
    samples
}

#[test]
fn a_signed_push_syncs_at_once_and_requests_matching_builds() {
    let Some(push) = payload("webhooks/github/pushevent.json") else {
        return;
    };
    let other_branch = payload("webhooks/github/pushevent-not-master-branch.json").unwrap();
    let ping = payload("webhooks/github/pingevent.json").unwrap();
    let builds = Arc::new(Builds::default());
    let mut server = Server::start(
        WebhookConfig {
            github_secret: Some(SECRET.to_vec()),
            ..WebhookConfig::default()
        },
        Some(builds.clone()),
    );
    assert_eq!(live_value(&server.state).as_deref(), Some("one"));

    // A one-line change is pushed; GitHub sends the push event.
    set_value(&server.repo, "two");
    let (code, body) = server.github("push", "d-1", &push, &github_signature(SECRET, &push));
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["apps"], serde_json::json!(["web"]));
    // OpenShift's branch rule: the ref-less BuildConfig builds on master, the one on `main`
    // does not.
    assert_eq!(
        body["builds"],
        serde_json::json!(["default/from-default-ref"])
    );
    let event = server.next_event();
    assert_eq!(
        event.reason,
        Reason::Webhook {
            hook: "github".into(),
            delivery: Some("d-1".into())
        }
    );
    assert_eq!(event.result.unwrap().updated, 1);
    assert_eq!(live_value(&server.state).as_deref(), Some("two"));
    let requested = builds.0.lock().unwrap().clone();
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].name, "from-default-ref");
    assert_eq!(requested[0].reference, "refs/heads/master");
    assert_eq!(requested[0].cause, "GitHub WebHook");
    assert_eq!(
        requested[0].commit.as_deref(),
        Some("9bdc3a26ff933b32f3e558636b58aea86a69f051")
    );

    // A push to another branch moves neither the app nor a BuildConfig.
    let (code, body) = server.github(
        "push",
        "d-2",
        &other_branch,
        &github_signature(SECRET, &other_branch),
    );
    assert_eq!(
        (code, &body["apps"]),
        (200, &serde_json::json!([])),
        "{body}"
    );
    assert_eq!(body["builds"], serde_json::json!([]));
    let (code, body) = server.github("ping", "d-3", &ping, &github_signature(SECRET, &ping));
    assert_eq!((code, body["event"].as_str()), (200, Some("ping")));
    assert_eq!(builds.0.lock().unwrap().len(), 1);
    assert_eq!(server.attempts(), 2);
    assert_eq!(server.metric("github", "accepted"), 2);
    assert_eq!(server.metric("github", "ignored"), 1);
}

/// Sends `POST path` announcing `len` bytes (or chunked), reads the status line, and returns
/// it (`None` when the server closed the connection first).
fn post_huge(addr: &str, path: &str, headers: &str, len: usize, chunked: bool) -> Option<u16> {
    let mut s = TcpStream::connect(addr).unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {len}")
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{headers}{framing}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let writer = chunked.then(|| {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let chunk = vec![b' '; 1 << 20];
            let mut sent = 0;
            while sent < len {
                let framed = w
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .and_then(|()| w.write_all(&chunk))
                    .and_then(|()| w.write_all(b"\r\n"));
                if framed.is_err() {
                    return;
                }
                sent += chunk.len();
            }
            let _ = w.write_all(b"0\r\n\r\n");
        })
    });
    let mut status = Vec::new();
    let mut byte = [0u8; 1];
    while !status.ends_with(b"\r\n") && status.len() < 64 {
        match s.read(&mut byte) {
            Ok(1) => status.push(byte[0]),
            _ => break,
        }
    }
    let _ = s.shutdown(Shutdown::Both);
    if let Some(w) = writer {
        let _ = w.join();
    }
    String::from_utf8_lossy(&status)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
}

#[test]
fn bad_signatures_replays_and_huge_bodies_start_nothing() {
    let Some(push) = payload("webhooks/github/pushevent.json") else {
        return;
    };
    let mut server = Server::start(
        WebhookConfig {
            github_secret: Some(SECRET.to_vec()),
            ..WebhookConfig::default()
        },
        None,
    );
    set_value(&server.repo, "two");
    let mut tampered = push.clone();
    tampered.extend_from_slice(b" ");
    for (delivery, signature) in [
        ("no-sig", String::new()),
        ("other-secret", github_signature(b"not the secret", &push)),
        ("tampered", github_signature(SECRET, &tampered)),
        ("sha1", "sha1=0123".to_string()),
    ] {
        let (code, body) = if signature.is_empty() {
            server.post(
                "/hooks/github",
                &[
                    ("content-type", "application/json"),
                    ("x-github-event", "push"),
                    ("x-github-delivery", delivery),
                ],
                &push,
            )
        } else {
            server.github("push", delivery, &push, &signature)
        };
        assert_eq!(code, 401, "{delivery}: {body}");
    }
    // 30 MB announced: refused before the body is read; 30 MB chunked: refused at 25 MiB.
    let hook = "/hooks/github";
    let headers =
        "X-GitHub-Event: push\r\nX-GitHub-Delivery: huge\r\nX-Hub-Signature-256: sha256=00\r\n";
    assert_eq!(
        post_huge(&server.addr, hook, headers, 30_000_000, false),
        Some(413)
    );
    let chunked = post_huge(&server.addr, hook, headers, 30_000_000, true);
    assert!(matches!(chunked, Some(413) | None), "{chunked:?}");
    assert_eq!(crate::daemon::http_get(&server.addr, "/healthz").0, 200);
    assert_eq!(live_value(&server.state).as_deref(), Some("one"));
    assert_eq!(server.attempts(), 1);

    // The first genuine delivery is the first sync after startup: nothing before it
    // requested one.
    let (code, _) = server.github("push", "good-1", &push, &github_signature(SECRET, &push));
    assert_eq!(code, 202);
    let event = server.next_event();
    assert!(
        matches!(&event.reason, Reason::Webhook { delivery: Some(d), .. } if d == "good-1"),
        "{event:?}"
    );
    assert_eq!(live_value(&server.state).as_deref(), Some("two"));
    // Replayed: refused, and again the next sync is the next genuine delivery's.
    let (code, body) = server.github("push", "good-1", &push, &github_signature(SECRET, &push));
    assert_eq!(code, 409, "{body}");
    let (code, _) = server.github("push", "good-2", &push, &github_signature(SECRET, &push));
    assert_eq!(code, 202);
    let event = server.next_event();
    assert!(
        matches!(&event.reason, Reason::Webhook { delivery: Some(d), .. } if d == "good-2"),
        "{event:?}"
    );
    assert_eq!(server.attempts(), 3);
    assert_eq!(server.metric("github", "unauthorized"), 4);
    assert_eq!(server.metric("github", "too_large"), 2);
    assert_eq!(server.metric("github", "replayed"), 1);
    assert_eq!(server.metric("github", "accepted"), 2);
    let metrics = parse_prometheus(&crate::daemon::http_get(&server.addr, "/metrics").1);
    assert_eq!(
        metrics["kascade_syncs_total{app=\"web\",result=\"success\"}"],
        3.0
    );
    assert_eq!(metrics["kascade_managed_objects{app=\"web\"}"], 3.0);
    assert_eq!(
        metrics["kascade_sync_duration_seconds_count{app=\"web\"}"],
        3.0
    );
    assert!(
        metrics
            .keys()
            .any(|k| k.starts_with("kascade_last_synced_revision{app=\"web\",revision=\"local:"))
    );
}

#[test]
fn a_flood_of_forged_requests_is_rate_limited_and_starts_nothing() {
    let Some(push) = payload("webhooks/github/pushevent.json") else {
        return;
    };
    let server = Server::start(
        WebhookConfig {
            github_secret: Some(SECRET.to_vec()),
            ..WebhookConfig::default()
        },
        None,
    );
    let forged = github_signature(b"guessed", &push);
    let push = Arc::new(push);
    let counts: Vec<BTreeMap<u16, usize>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let (addr, push, forged) = (server.addr.clone(), push.clone(), forged.clone());
                scope.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let mut seen = BTreeMap::new();
                    for i in 0..1250 {
                        let delivery = format!("forged-{t}-{i}");
                        let (code, _) = post_with(
                            &agent,
                            &addr,
                            "/hooks/github",
                            &[
                                ("content-type", "application/json"),
                                ("x-github-event", "push"),
                                ("x-github-delivery", &delivery),
                                ("x-hub-signature-256", &forged),
                            ],
                            &push,
                        );
                        *seen.entry(code).or_insert(0) += 1;
                    }
                    seen
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut total: BTreeMap<u16, usize> = BTreeMap::new();
    for c in counts {
        for (code, n) in c {
            *total.entry(code).or_insert(0) += n;
        }
    }
    assert_eq!(total.values().sum::<usize>(), 10_000);
    assert!(
        total.keys().all(|c| *c == 401 || *c == 429),
        "only 401 and 429: {total:?}"
    );
    assert!(total.get(&429).copied().unwrap_or(0) > 0, "{total:?}");
    assert_eq!(crate::daemon::http_get(&server.addr, "/healthz").0, 200);
    assert_eq!(crate::daemon::http_get(&server.addr, "/readyz").0, 200);
    assert_eq!(server.attempts(), 1);
    assert!(!server.handle.apps()[0].1.syncing);
    assert_eq!(
        server.metric("github", "unauthorized") + server.metric("github", "rate_limited"),
        10_000
    );
    assert_eq!(server.metric("github", "rate_limited"), total[&429] as u64);
    assert_eq!(server.metric("github", "accepted"), 0);
}

#[test]
fn the_generic_hook_needs_its_header_token() {
    let Some(generic) = payload("webhooks/generic/push-generic.json") else {
        return;
    };
    let generic_yaml = payload("webhooks/generic/push-generic-envs.yaml").unwrap();
    let push = payload("webhooks/github/pushevent.json").unwrap();
    let token = "a-long-random-token";
    let mut server = Server::start(
        WebhookConfig {
            generic_token: Some(token.as_bytes().to_vec()),
            ..WebhookConfig::default()
        },
        None,
    );
    // No GitHub secret: that hook does not exist.
    let (code, _) = server.github("push", "x", &push, &github_signature(SECRET, &push));
    assert_eq!(code, 404);
    set_value(&server.repo, "two");
    let json = ("content-type", "application/json");
    for headers in [
        vec![json],
        vec![json, ("x-kascade-token", "wrong")],
        vec![json, ("x-kascade-token", "a-long-random-toke")],
    ] {
        let (code, _) = server.post("/hooks/generic", &headers, &generic);
        assert_eq!(code, 401, "{headers:?}");
    }
    // Authentic, but for another repository: nothing to do.
    let auth = ("x-kascade-token", token);
    let (code, body) = server.post("/hooks/generic", &[json, auth], &generic);
    assert_eq!(
        (code, &body["apps"]),
        (200, &serde_json::json!([])),
        "{body}"
    );
    let (code, _) = server.post(
        "/hooks/generic",
        &[("content-type", "application/yaml"), auth],
        &generic_yaml,
    );
    assert_eq!(code, 200);
    assert_eq!(server.attempts(), 1);
    // A push to this repository's default branch, as a CI job would send it.
    let ours = serde_json::json!({"type": "Git", "git": {
        "uri": "git@github.com:anonUser/anonRepo.git", "ref": "refs/heads/master"}});
    let (code, body) = server.post("/hooks/generic", &[json, auth], ours.to_string().as_bytes());
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["apps"], serde_json::json!(["web"]));
    let event = server.next_event();
    assert!(matches!(&event.reason, Reason::Webhook { hook, .. } if hook == "generic"));
    assert_eq!(live_value(&server.state).as_deref(), Some("two"));
    // No body: every app.
    let (code, body) = server.post("/hooks/generic", &[auth], b"");
    assert_eq!((code, &body["apps"]), (202, &serde_json::json!(["web"])));
    server.next_event();
    // Too large for the generic hook.
    let headers = format!("X-Kascade-Token: {token}\r\n");
    let big = post_huge(&server.addr, "/hooks/generic", &headers, 2 << 20, false);
    assert_eq!(big, Some(413));
    assert_eq!(server.metric("generic", "unauthorized"), 3);
    assert_eq!(server.metric("generic", "too_large"), 1);
    assert_eq!(server.metric("github", "disabled"), 1);
}
