//! The GitOps loop on real repositories made with git2 in a temp dir: `kascade run`'s daemon
//! following a bare "remote" (a commit is picked up within the interval on the paused tokio
//! clock; a force-push, a deleted branch and an unreachable repository fail the sync, keep the
//! cluster as it was and show in status and metrics), and a signed GitHub push over real HTTP
//! that syncs an app with a `source:` at once and starts a build of the matching BuildConfig on
//! the embedded cluster, whose controllers run in the daemon's loop.

use std::sync::Arc;
use std::time::Duration;

use git2::Oid;
use kascade::app::RenderContext;
use kascade::cluster::{Cluster, LocalCluster, Selector};
use kascade::daemon::webhook::github_signature;
use kascade::daemon::{
    Daemon, DaemonOptions, EmbeddedControllers, GitOptions, GitRepo, LocalDir, Reason, RepoSyncer,
    SyncEvent, WebhookConfig,
};
use kascade::source::{Auth, SourceSpec};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::daemon::{live_value, opener, write};
use crate::util::{BLOB, Remote};

const KASCADE_YAML: &[u8] = b"apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: web\n  namespace: default\n  path: apps/web\n  prune: true\n  syncInterval: 1m\n";

fn settings(value: &str) -> Vec<u8> {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: {value}\n"
    )
    .into_bytes()
}

/// Commits kascade.yaml and the ConfigMap with `value` on top of main.
fn commit_value(remote: &Remote, value: &str) -> Oid {
    remote.commit(
        &format!("set value to {value}"),
        &[
            ("kascade.yaml", BLOB, KASCADE_YAML),
            ("apps/web/settings.yaml", BLOB, &settings(value)),
        ],
    )
}

async fn next(events: &mut broadcast::Receiver<SyncEvent>) -> SyncEvent {
    events
        .recv()
        .await
        .expect("the daemon stopped sending events")
}

fn failures(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("kascade_syncs_total{app=\"web\",result=\"failure\"} "))
        .and_then(|v| v.parse().ok())
        .expect("a failure counter for web")
}

#[tokio::test(start_paused = true)]
async fn commits_are_followed_and_force_push_deleted_branch_and_unreachable_repo_keep_the_last_good_state()
 {
    let remote = Remote::new();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let c1 = commit_value(&remote, "one");
    let open = opener(&state);
    let syncer = RepoSyncer::new(
        Arc::new(GitRepo {
            spec: SourceSpec {
                url: remote.url(),
                reference: Some("main".into()),
                path: None,
            },
            config: None,
            git: GitOptions {
                state_dir: state.clone(),
                auth: Auth::default(),
            },
        }),
        open.clone(),
        RenderContext::default(),
    );
    let apps = syncer.apps(Duration::from_secs(180)).unwrap();
    assert_eq!(apps[0].repo.as_ref().unwrap().url, remote.url());
    let daemon = Daemon::new(apps, Arc::new(syncer), DaemonOptions::default()).with_cluster(open);
    let handle = daemon.handle();
    let mut events = handle.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(daemon.run(None, shutdown.clone()));

    // The first sync records the commit sha as the revision.
    let first = next(&mut events).await;
    let outcome = first.result.clone().unwrap();
    assert_eq!(outcome.revision, Some(c1.to_string()));
    assert_eq!(outcome.subject.as_deref(), Some("set value to one"));
    assert_eq!(live_value(&state).as_deref(), Some("one"));
    let synced = Instant::now();

    // A commit is picked up within the interval (1m, up to 10 % jitter).
    let c2 = commit_value(&remote, "two");
    let second = next(&mut events).await;
    assert_eq!(second.reason, Reason::Interval);
    let waited = second.started - synced;
    assert!(
        waited >= Duration::from_secs(60) && waited <= Duration::from_secs(66),
        "{waited:?}"
    );
    assert_eq!(second.result.unwrap().revision, Some(c2.to_string()));
    assert_eq!(live_value(&state).as_deref(), Some("two"));

    // A force-push (main rewritten onto c1) is refused; the cluster keeps c2's state.
    remote.commit_on(
        "refs/heads/main",
        &[c1],
        "rewritten",
        &[
            ("kascade.yaml", BLOB, KASCADE_YAML),
            ("apps/web/settings.yaml", BLOB, &settings("forced")),
        ],
    );
    let forced = next(&mut events).await;
    let e = forced.result.unwrap_err();
    assert!(
        e.contains("force-pushed") && e.contains("refs/heads/main") && e.contains(&c2.to_string()),
        "{e}"
    );
    assert_eq!(live_value(&state).as_deref(), Some("two"));
    let c = LocalCluster::open(&state).unwrap();
    let status = c.app_status("web").unwrap().unwrap();
    assert_eq!(status["lastSync"]["result"], "failure");
    assert!(
        status["lastSync"]["error"]
            .as_str()
            .unwrap()
            .contains("force-pushed"),
        "{status}"
    );
    assert_eq!(status["lastSuccess"]["revision"], c2.to_string());
    assert_eq!(status["consecutiveFailures"], 1);
    assert_eq!(failures(&handle.metrics()), 1);

    // The history is repaired (a commit on top of c2): the retry after backoff syncs it.
    let c4 = remote.commit_on(
        "refs/heads/main",
        &[c2],
        "four",
        &[
            ("kascade.yaml", BLOB, KASCADE_YAML),
            ("apps/web/settings.yaml", BLOB, &settings("four")),
        ],
    );
    let retry = next(&mut events).await;
    assert_eq!(retry.reason, Reason::Retry);
    assert_eq!(retry.result.unwrap().revision, Some(c4.to_string()));
    assert_eq!(live_value(&state).as_deref(), Some("four"));

    // The branch is deleted: an error naming it; the cluster keeps c4's state.
    remote
        .repo
        .find_reference("refs/heads/main")
        .unwrap()
        .delete()
        .unwrap();
    let deleted = next(&mut events).await;
    let e = deleted.result.unwrap_err();
    assert!(e.contains("branch \"main\" was deleted"), "{e}");
    assert!(e.contains(&remote.url()), "{e}");
    assert_eq!(live_value(&state).as_deref(), Some("four"));
    assert_eq!(failures(&handle.metrics()), 2);

    // The branch comes back, then the repository becomes unreachable (renamed away).
    remote
        .repo
        .reference("refs/heads/main", c4, true, "restore")
        .unwrap();
    let back = next(&mut events).await;
    assert_eq!(back.result.unwrap().revision, Some(c4.to_string()));
    let moved = remote.path.with_file_name("moved.git");
    std::fs::rename(&remote.path, &moved).unwrap();
    let unreachable = next(&mut events).await;
    let e = unreachable.result.unwrap_err();
    assert!(e.contains(&remote.path.display().to_string()), "{e}");
    assert_eq!(live_value(&state).as_deref(), Some("four"));
    let status = c.app_status("web").unwrap().unwrap();
    assert_eq!(status["lastSync"]["result"], "failure");
    assert_eq!(status["lastSuccess"]["revision"], c4.to_string());
    let metrics = handle.metrics();
    assert_eq!(failures(&metrics), 3);
    assert!(
        metrics.contains(&format!(
            "kascade_last_synced_revision{{app=\"web\",revision=\"{c4}\"}} 1"
        )),
        "{metrics}"
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

const SECRET: &[u8] = b"gitops secret";

/// A signed GitHub push for `url`'s `main` moving it to `after`.
fn push_payload(url: &str, after: Oid) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ref": "refs/heads/main",
        "before": "0000000000000000000000000000000000000000",
        "after": after.to_string(),
        "repository": {"name": "remote", "clone_url": url, "default_branch": "main"},
        "head_commit": {"id": after.to_string(), "message": "change"},
    }))
    .unwrap()
}

fn post_github(addr: &str, delivery: &str, body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let signature = github_signature(SECRET, body);
    let mut resp = agent
        .post(&format!("http://{addr}/hooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", &signature)
        .send(body)
        .expect("POST");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn a_signed_push_syncs_an_app_with_a_source_at_once_and_starts_the_matching_build() {
    let remote = Remote::new();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, state) = (tmp.path().join("deploy"), tmp.path().join("state"));
    let url = remote.url();
    let bc = format!(
        "apiVersion: build.openshift.io/v1\nkind: BuildConfig\nmetadata:\n  name: app\nspec:\n  source:\n    git:\n      uri: {url}\n      ref: main\n  strategy:\n    dockerStrategy: {{}}\n  output:\n    to:\n      kind: ImageStreamTag\n      name: app:latest\n  triggers:\n  - type: GitHub\n    github:\n      secret: unused\n"
    );
    let files = |value: &str| {
        vec![
            ("apps/web/settings.yaml".to_string(), settings(value)),
            ("apps/web/bc.yaml".to_string(), bc.clone().into_bytes()),
            (
                "apps/web/is.yaml".to_string(),
                b"apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: app\n"
                    .to_vec(),
            ),
        ]
    };
    let commit = |message: &str, value: &str| {
        let f = files(value);
        let entries: Vec<(&str, i32, &[u8])> = f
            .iter()
            .map(|(p, c)| (p.as_str(), BLOB, c.as_slice()))
            .collect();
        remote.commit(message, &entries)
    };
    let c1 = commit("first", "one");
    // A local kascade.yaml declaring an app whose source is the repository.
    write(
        &dir,
        "kascade.yaml",
        &format!(
            "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: web\n  namespace: default\n  source:\n    repo: {url}\n    ref: main\n    path: apps/web\n"
        ),
    );
    let open = opener(&state);
    let syncer = RepoSyncer::new(
        Arc::new(LocalDir {
            config: dir.join("kascade.yaml"),
            repo: None,
        }),
        open.clone(),
        RenderContext::default(),
    )
    .with_git(GitOptions {
        state_dir: state.clone(),
        auth: Auth::default(),
    });
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
    let daemon = Daemon::new(
        apps,
        Arc::new(syncer),
        DaemonOptions {
            webhooks: WebhookConfig {
                github_secret: Some(SECRET.to_vec()),
                ..WebhookConfig::default()
            },
            ..DaemonOptions::default()
        },
    )
    .with_cluster(open)
    .with_controllers(Arc::new(EmbeddedControllers::new(
        state.clone(),
        Duration::from_secs(3600),
    )));
    let mut events = daemon.handle().subscribe();
    let shutdown = CancellationToken::new();
    let task = rt.spawn(daemon.run(Some(listener), shutdown.clone()));
    let mut next_event = || {
        rt.block_on(async {
            // The bound only guards against a hung test.
            tokio::time::timeout(Duration::from_secs(300), events.recv())
                .await
                .expect("no sync finished")
                .expect("events")
        })
    };
    let first = next_event();
    assert_eq!(first.reason, Reason::Startup);
    assert_eq!(first.result.unwrap().revision, Some(c1.to_string()));
    assert_eq!(live_value(&state).as_deref(), Some("one"));

    // A one-line change is pushed and GitHub says so: the sync is immediate (the interval is
    // three minutes) and the BuildConfig built from that repository and branch starts.
    let c2 = commit("second", "two");
    let (code, body) = post_github(&addr, "push-1", &push_payload(&url, c2));
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["apps"], json!(["web"]));
    assert_eq!(body["builds"], json!(["default/app"]));
    let event = next_event();
    assert_eq!(
        event.reason,
        Reason::Webhook {
            hook: "github".into(),
            delivery: Some("push-1".into())
        }
    );
    assert_eq!(event.result.unwrap().revision, Some(c2.to_string()));
    assert_eq!(live_value(&state).as_deref(), Some("two"));
    let c = LocalCluster::open(&state).unwrap();
    let builds = c
        .list(
            "build.openshift.io",
            "Build",
            Some("default"),
            &Selector::everything(),
        )
        .unwrap();
    assert_eq!(builds.len(), 1, "{builds:?}");
    let cause = &builds[0]["spec"]["triggeredBy"][0];
    assert_eq!(cause["message"], "GitHub WebHook", "{cause}");
    assert_eq!(
        cause["githubWebHook"]["revision"]["git"]["commit"],
        c2.to_string()
    );
    assert_eq!(
        builds[0]["spec"]["revision"]["git"]["commit"],
        c2.to_string(),
        "{}",
        builds[0]
    );
    shutdown.cancel();
    rt.block_on(task).unwrap().unwrap();
}
