//! `kascade run`: the scheduler on the paused tokio clock (interval, backoff, one sync at a
//! time, coalesced requests), drift and self-heal on a real embedded cluster, and the binary
//! (SIGTERM, one daemon per state directory, `kascade status` while it runs).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use kascade::app::RenderContext;
use kascade::cluster::{self, Cluster, LocalCluster};
use kascade::daemon::{
    AppEntry, ClusterOpener, Daemon, DaemonOptions, LocalDir, Reason, RepoSyncer, SchedulerConfig,
    SyncError, SyncEvent, SyncOutcome, Syncer,
};
use kascade::resource::ResourceKey;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::util::kascade_in;

pub fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// A repository with one app `web` rendering one ConfigMap `settings` with `value`.
pub fn web_repo(dir: &Path, extra: &str) {
    write(
        dir,
        "kascade.yaml",
        &format!(
            "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: web\n  namespace: default\n  path: apps/web\n  prune: true\n{extra}"
        ),
    );
    set_value(dir, "one");
}

/// Changes the ConfigMap's value in the repository (a one-line change).
pub fn set_value(dir: &Path, value: &str) {
    write(
        dir,
        "apps/web/settings.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: {value}\n"
        ),
    );
}

pub fn settings_key() -> ResourceKey {
    ResourceKey::new("", "ConfigMap", "default", "settings")
}

/// The ConfigMap's value in the embedded cluster.
pub fn live_value(state: &Path) -> Option<String> {
    let c = LocalCluster::open(state).unwrap();
    c.get(&settings_key())
        .unwrap()
        .and_then(|o| o["data"]["value"].as_str().map(str::to_string))
}

pub fn opener(state: &Path) -> ClusterOpener {
    let state = state.to_path_buf();
    Arc::new(move || cluster::open_embedded(&state))
}

/// A daemon over the real syncer for the repository in `dir`, its cluster in `state`.
pub fn repo_daemon(dir: &Path, state: &Path, options: DaemonOptions) -> Daemon {
    let open = opener(state);
    let syncer = RepoSyncer::new(
        Arc::new(LocalDir {
            config: dir.join("kascade.yaml"),
            repo: None,
        }),
        open.clone(),
        RenderContext::default(),
    );
    let apps = syncer.apps(Duration::from_secs(180)).unwrap();
    Daemon::new(apps, Arc::new(syncer), options).with_cluster(open)
}

async fn next(events: &mut broadcast::Receiver<SyncEvent>) -> SyncEvent {
    events
        .recv()
        .await
        .expect("the daemon stopped sending events")
}

#[tokio::test(start_paused = true)]
async fn a_change_is_picked_up_within_the_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, state) = (tmp.path().join("repo"), tmp.path().join("state"));
    web_repo(&repo, "  syncInterval: 1m\n");
    let daemon = repo_daemon(&repo, &state, DaemonOptions::default());
    let handle = daemon.handle();
    let mut events = handle.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(daemon.run(None, shutdown.clone()));

    let first = next(&mut events).await;
    assert_eq!(first.reason, Reason::Startup);
    let first_outcome = first.result.clone().unwrap();
    assert!(first_outcome.wrote);
    assert_eq!(live_value(&state).as_deref(), Some("one"));
    assert!(handle.is_ready());
    let synced = Instant::now();

    set_value(&repo, "two");
    let second = next(&mut events).await;
    assert_eq!(second.reason, Reason::Interval);
    let waited = second.started - synced;
    // The interval is 1m with up to 10 % jitter.
    assert!(
        waited >= Duration::from_secs(60) && waited <= Duration::from_secs(66),
        "{waited:?}"
    );
    let outcome = second.result.clone().unwrap();
    assert_ne!(outcome.revision, first_outcome.revision);
    assert_eq!(outcome.updated, 1);
    assert_eq!(live_value(&state).as_deref(), Some("two"));

    // The status the daemon recorded is what `kascade status` reads.
    let c = LocalCluster::open(&state).unwrap();
    let status = c.app_status("web").unwrap().unwrap();
    assert_eq!(status["lastSync"]["result"], "success");
    assert_eq!(status["lastSync"]["reason"], "interval");
    assert_eq!(
        status["lastSync"]["revision"].as_str(),
        outcome.revision.as_deref()
    );
    assert_eq!(status["interval"], "60s");
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

/// A syncer that records concurrency, fails on a script, and can hold each sync until the
/// test lets it go.
struct Scripted {
    failures: Mutex<VecDeque<bool>>,
    running: AtomicUsize,
    most_running: AtomicUsize,
    calls: AtomicUsize,
    gate: Option<Mutex<mpsc::Receiver<()>>>,
}

impl Scripted {
    fn new(failures: &[bool], gate: Option<mpsc::Receiver<()>>) -> Self {
        Scripted {
            failures: Mutex::new(failures.iter().copied().collect()),
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            gate: gate.map(Mutex::new),
        }
    }
}

impl Syncer for Scripted {
    fn sync(&self, app: &str, _reason: &Reason) -> Result<SyncOutcome, SyncError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            // A closed gate (the test is over) lets the sync go.
            let _ = gate.lock().unwrap().recv();
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = self.failures.lock().unwrap().pop_front().unwrap_or(false);
        self.running.fetch_sub(1, Ordering::SeqCst);
        if fail {
            return Err(SyncError::Source {
                source_name: format!("repo of {app}"),
                message: format!("unreachable (attempt {n})"),
            });
        }
        Ok(SyncOutcome {
            revision: Some(format!("r{n}")),
            ..SyncOutcome::default()
        })
    }
}

fn entry(name: &str, interval: Duration) -> AppEntry {
    AppEntry {
        name: name.into(),
        interval,
        self_heal: false,
        repo: None,
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_to_its_cap_and_resets_on_success() {
    // Seven failures, a success, a failure, then successes.
    let script = [true, true, true, true, true, true, true, false, true];
    let syncer = Arc::new(Scripted::new(&script, None));
    let options = DaemonOptions {
        scheduler: SchedulerConfig {
            backoff_initial: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
            jitter: 0.0,
        },
        ..DaemonOptions::default()
    };
    let daemon = Daemon::new(
        vec![entry("a", Duration::from_secs(100))],
        syncer.clone(),
        options,
    );
    let handle = daemon.handle();
    let mut events = handle.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(daemon.run(None, shutdown.clone()));
    let mut seen = Vec::new();
    for _ in 0..11 {
        seen.push(next(&mut events).await);
    }
    let gaps: Vec<u64> = seen
        .windows(2)
        .map(|w| (w[1].started - w[0].started).as_secs())
        .collect();
    assert_eq!(gaps, [5, 10, 20, 40, 60, 60, 60, 100, 5, 100]);
    let reasons: Vec<&str> = seen.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "startup", "retry", "retry", "retry", "retry", "retry", "retry", "retry", "interval",
            "retry", "interval"
        ]
    );
    assert!(seen[0].result.as_ref().unwrap_err().contains("unreachable"));
    let (_, state) = &handle.apps()[0];
    assert_eq!(state.failures, 0);
    assert_eq!(state.attempts, 11);
    let metrics = handle.metrics();
    assert!(metrics.contains("kascade_syncs_total{app=\"a\",result=\"failure\"} 8"));
    assert!(metrics.contains("kascade_syncs_total{app=\"a\",result=\"success\"} 3"));
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn requests_during_a_sync_coalesce_into_one_and_syncs_never_overlap() {
    let (open_gate, gate) = mpsc::channel();
    let syncer = Arc::new(Scripted::new(&[], Some(gate)));
    let options = DaemonOptions {
        scheduler: SchedulerConfig {
            jitter: 0.0,
            ..SchedulerConfig::default()
        },
        ..DaemonOptions::default()
    };
    let interval = Duration::from_secs(180);
    let daemon = Daemon::new(
        vec![entry("a", interval), entry("b", interval)],
        syncer.clone(),
        options,
    );
    let handle = daemon.handle();
    let mut events = handle.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(daemon.run(None, shutdown.clone()));
    tokio::task::yield_now().await;
    // The startup sync of `a` is held; a burst of requests arrives meanwhile, and time passes
    // beyond the interval.
    assert!(!handle.is_ready());
    for _ in 0..50 {
        assert!(handle.request(
            "a",
            Reason::Webhook {
                hook: "github".into(),
                delivery: None
            }
        ));
    }
    assert!(!handle.request("nope", Reason::Manual));
    tokio::time::advance(interval * 2).await;
    // Let the held syncs go: a's startup, b's startup, a's single follow-up, then a's and b's
    // interval syncs.
    for _ in 0..5 {
        open_gate.send(()).unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(next(&mut events).await);
    }
    let of = |app: &str| -> Vec<&str> {
        seen.iter()
            .filter(|e| e.app == app)
            .map(|e| e.reason.as_str())
            .collect()
    };
    assert_eq!(of("a"), ["startup", "webhook", "interval"]);
    assert_eq!(of("b"), ["startup", "interval"]);
    assert!(handle.is_ready());
    assert_eq!(syncer.calls.load(Ordering::SeqCst), 5);
    // Declaration order at startup: b's first sync waited for a's.
    assert_eq!(seen[0].app, "a");
    // The webhook follow-up ran right after the startup sync, the interval sync a whole
    // interval after that.
    let a: Vec<&SyncEvent> = seen.iter().filter(|e| e.app == "a").collect();
    assert_eq!(a[2].started - a[1].started, interval);
    assert!(
        syncer.most_running.load(Ordering::SeqCst) <= 2,
        "two apps may sync together, never one app twice"
    );
    shutdown.cancel();
    // Stopping waits for nothing held: release anything still waiting.
    drop(open_gate);
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn one_app_never_syncs_twice_at_once() {
    let (open_gate, gate) = mpsc::channel();
    let syncer = Arc::new(Scripted::new(&[], Some(gate)));
    let daemon = Daemon::new(
        vec![entry("a", Duration::from_secs(10))],
        syncer.clone(),
        DaemonOptions::default(),
    );
    let handle = daemon.handle();
    let mut events = handle.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(daemon.run(None, shutdown.clone()));
    for round in 0..20 {
        tokio::task::yield_now().await;
        for _ in 0..10 {
            handle.request("a", Reason::Manual);
        }
        tokio::time::advance(Duration::from_secs(7 * round)).await;
        open_gate.send(()).unwrap();
        next(&mut events).await;
    }
    assert_eq!(syncer.most_running.load(Ordering::SeqCst), 1);
    shutdown.cancel();
    drop(open_gate);
    task.await.unwrap().unwrap();
}

fn edit_live_settings(state: &Path, value: &str) {
    let mut c = LocalCluster::open(state).unwrap();
    let mut live = c.get(&settings_key()).unwrap().unwrap();
    live["data"]["value"] = Value::String(value.into());
    let mut txn = c.begin().unwrap();
    txn.update(live).unwrap();
    txn.commit().unwrap();
}

#[tokio::test(start_paused = true)]
async fn drift_is_reported_without_self_heal_and_reverted_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, state) = (tmp.path().join("repo"), tmp.path().join("state"));
    web_repo(&repo, "");
    let daemon = repo_daemon(&repo, &state, DaemonOptions::default());
    let handle = daemon.handle();
    let mut events = handle.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(daemon.run(None, shutdown.clone()));
    let first = next(&mut events).await.result.unwrap();
    assert_eq!(first.objects, 1);

    // Someone edits the live object: reported, not reverted.
    edit_live_settings(&state, "edited by hand");
    handle.request("web", Reason::Manual);
    let drifted = next(&mut events).await.result.unwrap();
    assert_eq!(drifted.revision, first.revision);
    assert_eq!(drifted.drift_count, 1);
    assert_eq!(drifted.drifted, ["configmap/settings"]);
    assert!(!drifted.wrote);
    assert_eq!(live_value(&state).as_deref(), Some("edited by hand"));
    let status = LocalCluster::open(&state)
        .unwrap()
        .app_status("web")
        .unwrap()
        .unwrap();
    assert_eq!(status["drift"], 1);
    assert_eq!(status["drifted"][0], "configmap/settings");
    assert!(
        handle
            .metrics()
            .contains("kascade_drifted_objects{app=\"web\"} 1")
    );

    // The app asks for self-heal (kascade.yaml is read at every sync): drift re-applied.
    web_repo(&repo, "  selfHeal: true\n");
    set_value(&repo, "one");
    handle.request("web", Reason::Manual);
    let healed = next(&mut events).await.result.unwrap();
    assert_eq!(healed.healed, 1);
    assert_eq!(healed.drift_count, 0);
    assert!(healed.wrote);
    assert_eq!(live_value(&state).as_deref(), Some("one"));
    assert!(
        handle
            .metrics()
            .contains("kascade_drifted_objects{app=\"web\"} 0")
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

/// A `kascade run` child with its address and drained stderr.
pub struct Child {
    pub child: std::process::Child,
    pub addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Child {
    pub fn start(cwd: &Path, args: &[&str]) -> Child {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kascade"))
            .arg("run")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(cwd)
            .env_remove("KASCADE_LOG")
            .env_remove("KASCADE_GITHUB_SECRET")
            .env_remove("KASCADE_GENERIC_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kascade run");
        let mut reader = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                panic!("kascade run exited before listening:\n{seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        let stderr = Arc::new(Mutex::new(seen));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
            sink.lock().unwrap().push_str(&rest);
        });
        Child {
            child,
            addr,
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .get(&format!("http://{addr}{path}"))
        .call()
        .expect("GET");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap())
}

#[cfg(unix)]
#[test]
fn the_binary_serves_refuses_a_second_daemon_and_exits_0_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    web_repo(tmp.path(), "");
    let mut daemon = Child::start(tmp.path(), &[]);
    let (code, body) = http_get(&daemon.addr, "/healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    // A second daemon on the same state directory is refused, naming the lock file.
    let second = kascade_in(tmp.path(), &["run", "--listen", "127.0.0.1:0"], None);
    assert_eq!(second.code, 2, "{second:?}");
    assert!(
        second.stderr.contains(".kascade/daemon.lock")
            && second.stderr.contains("one daemon per state directory"),
        "{second:?}"
    );

    // Readiness comes with the first sync; `kascade status` reads the state meanwhile.
    let ready = loop {
        let (code, _) = http_get(&daemon.addr, "/readyz");
        if code == 200 {
            break true;
        }
        assert_eq!(code, 503);
        if daemon.child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::yield_now();
    };
    assert!(ready, "{}", daemon.stderr());
    let status = kascade_in(tmp.path(), &["status", "-o", "json"], None);
    assert_eq!(status.code, 0, "{status:?}");
    let v: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["apps"][0]["name"], "web");
    assert_eq!(v["apps"][0]["daemon"]["lastSync"]["result"], "success");
    assert_eq!(v["apps"][0]["objects"], 1);
    let text = kascade_in(tmp.path(), &["status"], None);
    assert!(
        text.stdout.starts_with("APP ") && text.stdout.contains("\nweb "),
        "{text:?}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &daemon.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = daemon.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{}", daemon.stderr());
    std::thread::yield_now();
    // The lock went with the process: a new daemon may start.
    let mut again = Child::start(tmp.path(), &[]);
    again.child.kill().unwrap();
    let _ = again.child.wait();
}

#[test]
fn run_and_status_have_examples_and_refuse_bad_flags() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in ["run", "status"] {
        let help = kascade_in(tmp.path(), &[cmd, "--help"], None);
        assert_eq!(help.code, 0);
        assert!(help.stdout.contains("Examples:"), "{help:?}");
    }
    web_repo(tmp.path(), "");
    let bad = kascade_in(tmp.path(), &["run", "--interval", "1s"], None);
    crate::util::assert_error(&bad, "--interval: \"1s\" is out of range");
    let missing = kascade_in(
        tmp.path(),
        &[
            "run",
            "--github-secret-file",
            "nope",
            "--listen",
            "127.0.0.1:0",
        ],
        None,
    );
    crate::util::assert_error(&missing, "cannot read the secret file nope");
    let none = kascade_in(tmp.path(), &["status"], None);
    assert_eq!(none.code, 0);
    assert!(none.stdout.starts_with("no apps in"), "{none:?}");
}

/// Controllers that report each pass on a channel.
struct Passes {
    every: Duration,
    tx: tokio::sync::mpsc::UnboundedSender<()>,
}

impl kascade::daemon::Controllers for Passes {
    fn interval(&self) -> Option<Duration> {
        Some(self.every)
    }

    fn run(&self) -> Result<(), kascade::daemon::ControllerError> {
        let _ = self.tx.send(());
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn controllers_run_after_a_sync_that_wrote_and_on_their_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, state) = (tmp.path().join("repo"), tmp.path().join("state"));
    web_repo(&repo, "");
    let (tx, mut passes) = tokio::sync::mpsc::unbounded_channel();
    let every = Duration::from_secs(30);
    let daemon = repo_daemon(&repo, &state, DaemonOptions::default())
        .with_controllers(Arc::new(Passes { every, tx }));
    let mut events = daemon.handle().subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(daemon.run(None, shutdown.clone()));
    let first = next(&mut events).await;
    assert!(first.result.unwrap().wrote);
    let start = Instant::now();
    // The pass the first sync (which wrote) asked for, without waiting for the interval.
    passes.recv().await.unwrap();
    assert_eq!(Instant::now(), start);
    // Then one every 30 s.
    passes.recv().await.unwrap();
    assert_eq!(Instant::now() - start, every);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
