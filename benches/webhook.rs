//! Webhook to applied: the time from a GitHub push webhook for a one-line change to that
//! change applied in the embedded cluster.
//!
//! ```text
//! cargo bench --bench webhook
//! ```
//!
//! An in-process daemon (`kascade run`'s library) serves 127.0.0.1:0 with a GitHub secret,
//! over a repository of one app (a ConfigMap and 20 other objects) in a temp directory and an
//! embedded cluster in another. Each iteration changes one line of the ConfigMap on disk,
//! sends a signed `push` over real HTTP, and waits for the daemon's event saying the sync it
//! requested finished; the ConfigMap's live value is checked after every iteration, outside
//! the timing. The rate limit is raised so that the benchmark is not refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kascade::cluster::{self, LocalCluster};
use kascade::daemon::webhook::{Rate, github_signature};
use kascade::daemon::{
    ClusterOpener, Daemon, DaemonOptions, LocalDir, Reason, RepoRef, RepoSyncer, SyncEvent,
    WebhookConfig,
};
use kascade::resource::ResourceKey;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const SECRET: &[u8] = b"bench-secret";

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn set_value(repo: &Path, value: &str) {
    write(
        repo,
        "apps/web/settings.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: \"{value}\"\n"
        ),
    );
}

fn live_value(state: &Path) -> Option<String> {
    LocalCluster::open(state)
        .unwrap()
        .get(&ResourceKey::new("", "ConfigMap", "default", "settings"))
        .unwrap()
        .and_then(|o| o["data"]["value"].as_str().map(str::to_string))
}

struct Bench {
    rt: tokio::runtime::Runtime,
    addr: String,
    events: broadcast::Receiver<SyncEvent>,
    shutdown: CancellationToken,
    repo: PathBuf,
    state: PathBuf,
    agent: ureq::Agent,
    _tmp: tempfile::TempDir,
}

impl Bench {
    fn start() -> Bench {
        let tmp = tempfile::tempdir().unwrap();
        let (repo, state) = (tmp.path().join("repo"), tmp.path().join("state"));
        write(
            &repo,
            "kascade.yaml",
            "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: web\n  namespace: default\n  path: apps/web\n  prune: true\n",
        );
        for i in 0..20 {
            write(
                &repo,
                &format!("apps/web/svc-{i}.yaml"),
                &format!(
                    "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n"
                ),
            );
        }
        set_value(&repo, "0");
        let open: ClusterOpener = {
            let state = state.clone();
            Arc::new(move || cluster::open_embedded(&state))
        };
        let syncer = RepoSyncer::new(
            Arc::new(LocalDir {
                config: repo.join("kascade.yaml"),
                repo: Some(RepoRef {
                    url: "https://github.com/example/gitops.git".into(),
                    reference: Some("main".into()),
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
        let unlimited = Rate {
            burst: 1_000_000,
            per_second: 1_000_000.0,
        };
        let daemon = Daemon::new(
            apps,
            Arc::new(syncer),
            DaemonOptions {
                webhooks: WebhookConfig {
                    github_secret: Some(SECRET.to_vec()),
                    per_address: unlimited,
                    global: unlimited,
                    ..WebhookConfig::default()
                },
                ..DaemonOptions::default()
            },
        )
        .with_cluster(open);
        let mut events = daemon.handle().subscribe();
        let shutdown = CancellationToken::new();
        rt.spawn(daemon.run(Some(listener), shutdown.clone()));
        let first = rt.block_on(events.recv()).unwrap();
        assert!(first.result.is_ok(), "{first:?}");
        Bench {
            rt,
            addr,
            events,
            shutdown,
            repo,
            state,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            _tmp: tmp,
        }
    }

    /// One push of `value`; returns the time until the daemon reports it applied.
    fn push(&mut self, n: u64) -> Duration {
        let value = n.to_string();
        set_value(&self.repo, &value);
        let body = format!(
            r#"{{"ref":"refs/heads/main","after":"{n:040x}","repository":{{"clone_url":"https://github.com/example/gitops.git","default_branch":"main"}}}}"#
        );
        let delivery = format!("bench-{n}");
        let start = Instant::now();
        let resp = self
            .agent
            .post(&format!("http://{}/hooks/github", self.addr))
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", &delivery)
            .header(
                "x-hub-signature-256",
                &github_signature(SECRET, body.as_bytes()),
            )
            .send(body.as_bytes())
            .unwrap();
        assert_eq!(resp.status().as_u16(), 202);
        loop {
            let event = self.rt.block_on(self.events.recv()).unwrap();
            if matches!(&event.reason, Reason::Webhook { delivery: Some(d), .. } if *d == delivery)
            {
                assert!(event.result.is_ok(), "{event:?}");
                break;
            }
        }
        let took = start.elapsed();
        assert_eq!(live_value(&self.state).as_deref(), Some(value.as_str()));
        took
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn webhook_to_applied(c: &mut Criterion) {
    let mut bench = Bench::start();
    let mut n = 0u64;
    let mut group = c.benchmark_group("webhook");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("push-to-applied", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                total += bench.push(n);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, webhook_to_applied);
criterion_main!(benches);
