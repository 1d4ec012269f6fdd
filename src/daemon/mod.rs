//! `kascade run`: the long-running reconciler — a sync loop per app, the controllers of the
//! embedded cluster, and an HTTP server with health, metrics, status and webhooks.
//!
//! ```text
//!            ┌──────────── Scheduler (one task per app) ────────────┐
//! interval ─▶│ due → Syncer::sync(app) on a blocking thread → status │──▶ metrics, status,
//! webhook  ─▶│ request: wakes the app's task (requests coalesce)     │    one log line
//!            └──────────────────────────┬───────────────────────────┘
//!                                       ▼ after every sync that wrote, and on their interval
//!                                 Controllers::run  (image triggers, builds: an extension point)
//! ```
//!
//! - [`scheduler`]: per-app timing (interval with jitter, exponential backoff on failure,
//!   reset on success), one sync of an app at a time, de-duplicated requests, readiness.
//! - [`webhook`]: `POST /hooks/github` (HMAC-SHA256 checked before anything is parsed) and
//!   `POST /hooks/generic` (header token), body limits, replay protection, rate limits, and the
//!   matching of pushes to apps and BuildConfigs.
//! - [`metrics`]: Prometheus text exposition, written by hand.
//! - [`http`]: the axum router: `/healthz`, `/readyz`, `/metrics`, `/api/v1/apps`, the hooks.
//!
//! What is synced comes from a [`Syncer`]; [`RepoSyncer`] is the real one: it takes a
//! [`Snapshot`] from a [`SnapshotSource`] (a local `kascade.yaml` today, a git fetch through
//! the same trait), renders the app and syncs it with [`crate::app::sync_app`].
//!
//! Drift: on an unchanged revision, objects whose live state differs from what was applied
//! (planned `Update`, or `Create` of a deleted member) are drift. An app with `selfHeal: true`
//! gets them re-applied; otherwise they are reported in its status and in the metrics and left
//! alone.

pub mod embedded;
pub mod http;
pub mod metrics;
pub mod scheduler;
pub mod webhook;

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{self, AppError, AppSync, RenderContext};
use crate::cluster::{Cluster, ClusterError};
use crate::config::{AppConfig, AppSource, Config, ConfigError};
use crate::diff::Action;
use crate::reconcile::{self, ReconcileError};

pub use embedded::EmbeddedControllers;
pub use scheduler::{AppState, LastSync, Scheduler, SchedulerConfig, SyncEvent};
pub use webhook::{BuildRequest, WebhookConfig};

/// The default sync interval of an app.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(180);

/// Why a sync runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The daemon started.
    Startup,
    /// The app's interval elapsed.
    Interval,
    /// A retry after a failure (backoff elapsed).
    Retry,
    /// A webhook asked for it.
    Webhook {
        /// `github` or `generic`.
        hook: String,
        /// The delivery id (GitHub's `X-GitHub-Delivery`), when there is one.
        delivery: Option<String>,
    },
    /// Asked for through the library (tests, embedding programs).
    Manual,
}

impl Reason {
    /// A short word for logs and status: `startup`, `interval`, `retry`, `webhook`, `manual`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::Interval => "interval",
            Reason::Retry => "retry",
            Reason::Webhook { .. } => "webhook",
            Reason::Manual => "manual",
        }
    }
}

/// What one successful sync of an app found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// The revision synced (a commit, or `local:<digest>` of the rendered objects).
    pub revision: Option<String>,
    /// The commit subject, when the source knows it.
    pub subject: Option<String>,
    /// Whether anything was written to the cluster.
    pub wrote: bool,
    /// Objects created, updated and pruned.
    pub created: usize,
    /// Objects updated (including drift re-applied by self-heal).
    pub updated: usize,
    /// Objects pruned.
    pub pruned: usize,
    /// Objects the app manages after the sync.
    pub objects: usize,
    /// Drifted objects reported and left alone (`kind/name`, at most [`MAX_DRIFT_LISTED`]).
    pub drifted: Vec<String>,
    /// How many objects drifted in all (may exceed `drifted.len()`).
    pub drift_count: usize,
    /// Drifted objects re-applied (self-heal).
    pub healed: usize,
}

/// How many drifted objects a status lists by name.
pub const MAX_DRIFT_LISTED: usize = 50;

/// A sync that failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The app is no longer declared.
    #[error("app {app:?} is no longer declared in {config}")]
    AppGone {
        /// The app.
        app: String,
        /// The declaration file.
        config: String,
    },
    /// The declaration file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Rendering or syncing failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// Applying the plan failed.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A Git source could not be fetched, or moved in a way that is refused (a force-push,
    /// a deleted branch).
    #[error("app {app:?}: {error}")]
    Git {
        /// The app.
        app: String,
        /// What failed (names the URL and ref).
        error: Box<crate::source::SourceError>,
    },
    /// The source (repository) could not be read.
    #[error("source {source_name}: {message}")]
    Source {
        /// The source (URL or path).
        source_name: String,
        /// What failed.
        message: String,
    },
    /// The sync panicked (a bug); the daemon keeps running.
    #[error("the sync of app {0:?} panicked")]
    Panicked(String),
}

/// A failure of the daemon itself.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Another daemon holds the state directory.
    #[error(
        "another kascade run holds {path} (one daemon per state directory); stop it or use another --state"
    )]
    Locked {
        /// The lock file.
        path: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {path}: {message}")]
    Lock {
        /// The lock file.
        path: String,
        /// Why.
        message: String,
    },
    /// The HTTP server failed.
    #[error("http server on {addr}: {message}")]
    Serve {
        /// The address.
        addr: String,
        /// What failed.
        message: String,
    },
    /// The initial read of the apps failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// Syncs one app; the daemon calls it on a blocking thread, never twice at once for one app.
pub trait Syncer: Send + Sync + 'static {
    /// Syncs `app` (fetch, render, plan, apply or report drift).
    fn sync(&self, app: &str, reason: &Reason) -> Result<SyncOutcome, SyncError>;
}

/// The controllers of the embedded cluster, run in the daemon's loop: after every sync that
/// wrote, every [`Controllers::interval`], and when a push matches a BuildConfig.
///
/// The default implementation ([`NoControllers`]) does nothing and logs build requests. The
/// image-trigger controllers implement it and are passed with [`Daemon::with_controllers`].
/// All methods are called on a blocking thread, never concurrently with themselves.
pub trait Controllers: Send + Sync + 'static {
    /// How often [`Controllers::run`] runs besides after syncs; `None`: only after syncs.
    fn interval(&self) -> Option<Duration> {
        None
    }

    /// One pass of every controller (follow the change feed, fire triggers, run builds).
    fn run(&self) -> Result<(), ControllerError> {
        Ok(())
    }

    /// A webhook push matched a BuildConfig: start (or queue) a build of it.
    fn start_build(&self, request: &BuildRequest) -> Result<(), ControllerError> {
        tracing::info!(
            buildconfig = %format!("{}/{}", request.namespace, request.name),
            git_ref = %request.reference,
            cause = %request.cause,
            "build requested; no build controller is installed, so it is only logged"
        );
        Ok(())
    }
}

/// No controllers: build requests are logged and nothing else runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoControllers;

impl Controllers for NoControllers {}

/// A controller pass or build request that failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ControllerError(pub String);

/// Opens the cluster the daemon writes app status to and reads BuildConfigs from.
pub type ClusterOpener = Arc<dyn Fn() -> Result<Box<dyn Cluster>, ClusterError> + Send + Sync>;

/// One app the daemon keeps in sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEntry {
    /// The app's name.
    pub name: String,
    /// How often it is synced.
    pub interval: Duration,
    /// Whether drift is re-applied (for status; the syncer reads the declaration).
    pub self_heal: bool,
    /// The repository and ref it comes from, for matching webhook pushes.
    pub repo: Option<RepoRef>,
}

/// A repository URL and the ref an app follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// Clone URL as configured.
    pub url: String,
    /// Branch, tag or commit; `None`: the repository's default branch.
    pub reference: Option<String>,
}

/// A source tree to render apps from.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The `kascade.yaml` in it.
    pub config: PathBuf,
    /// Its revision (a commit), when it has one.
    pub revision: Option<String>,
    /// The commit subject.
    pub subject: Option<String>,
    /// The Git snapshot it was exported from, when the source is a repository.
    pub git: Option<GitSnapshot>,
}

/// A revision exported from a repository's cache, and the state directory of that cache
/// (where a force-push is checked).
#[derive(Debug, Clone)]
pub struct GitSnapshot {
    /// The exported revision.
    pub snapshot: crate::source::Snapshot,
    /// The state directory holding the cache.
    pub state_dir: PathBuf,
    /// The directory of the repository the snapshot exports (`None`: its top).
    pub path: Option<String>,
}

/// Where snapshots come from: a local directory, or a git repository fetched at each sync.
pub trait SnapshotSource: Send + Sync + 'static {
    /// The source, for messages.
    fn describe(&self) -> String;
    /// Reads the current state of the source.
    fn snapshot(&self) -> Result<Snapshot, SyncError>;
    /// The repository and ref, when the source is a repository (for webhook matching).
    fn repo(&self) -> Option<RepoRef> {
        None
    }
}

/// A `kascade.yaml` on local disk, read again at every sync. `repo` says which repository
/// and branch it is a checkout of, so that pushes to it sync at once.
#[derive(Debug, Clone)]
pub struct LocalDir {
    /// The declaration file.
    pub config: PathBuf,
    /// The repository it is a checkout of.
    pub repo: Option<RepoRef>,
}

impl SnapshotSource for LocalDir {
    fn describe(&self) -> String {
        self.config.display().to_string()
    }

    fn snapshot(&self) -> Result<Snapshot, SyncError> {
        if !self.config.is_file() {
            return Err(SyncError::Source {
                source_name: self.describe(),
                message: "not found".into(),
            });
        }
        Ok(Snapshot {
            config: self.config.clone(),
            revision: None,
            subject: None,
            git: None,
        })
    }

    fn repo(&self) -> Option<RepoRef> {
        self.repo.clone()
    }
}

/// A Git repository, fetched (incrementally, into the cache under the state directory) at
/// every sync; its `kascade.yaml` (or `config`, relative to the exported directory) declares
/// the apps. The commit sha is the revision recorded.
#[derive(Debug, Clone)]
pub struct GitRepo {
    /// The repository, ref and directory.
    pub spec: crate::source::SourceSpec,
    /// The declaration file inside the exported directory [default: `kascade.yaml`].
    pub config: Option<String>,
    /// Where the cache lives and how to authenticate.
    pub git: GitOptions,
}

impl SnapshotSource for GitRepo {
    fn describe(&self) -> String {
        crate::source::redact(&self.spec.url)
    }

    fn snapshot(&self) -> Result<Snapshot, SyncError> {
        let snap =
            crate::source::fetch(&self.git.state_dir, &self.spec, &self.git.auth).map_err(|e| {
                SyncError::Source {
                    source_name: self.describe(),
                    message: e.to_string(),
                }
            })?;
        let rel = self.config.as_deref().unwrap_or("kascade.yaml");
        let config =
            crate::config::confined(&snap.root, rel).map_err(|message| SyncError::Source {
                source_name: self.describe(),
                message: format!("config {rel}: {message}"),
            })?;
        if !config.is_file() {
            return Err(SyncError::Source {
                source_name: self.describe(),
                message: format!(
                    "{rel} not found at {} (revision {})",
                    self.spec.path.as_deref().unwrap_or("the repository root"),
                    snap.revision
                ),
            });
        }
        Ok(Snapshot {
            config,
            revision: Some(snap.revision.clone()),
            subject: Some(snap.subject.clone()),
            git: Some(GitSnapshot {
                snapshot: snap,
                state_dir: self.git.state_dir.clone(),
                path: self.spec.path.clone(),
            }),
        })
    }

    fn repo(&self) -> Option<RepoRef> {
        Some(RepoRef {
            url: self.spec.url.clone(),
            reference: self.spec.reference.clone(),
        })
    }
}

/// Where Git sources are cached and how they authenticate (for `kascade run --repo` and apps
/// with a `source:`).
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The state directory (the cache is `<state>/git`).
    pub state_dir: PathBuf,
    /// Credentials.
    pub auth: crate::source::Auth,
}

/// The real [`Syncer`]: a snapshot from the source, the app's declaration from its
/// `kascade.yaml`, [`crate::app::sync_app`] into the cluster.
pub struct RepoSyncer {
    source: Arc<dyn SnapshotSource>,
    cluster: ClusterOpener,
    ctx: RenderContext,
    git: Option<GitOptions>,
}

impl RepoSyncer {
    /// A syncer of the apps of `source` into the cluster `cluster` opens.
    pub fn new(
        source: Arc<dyn SnapshotSource>,
        cluster: ClusterOpener,
        ctx: RenderContext,
    ) -> Self {
        RepoSyncer {
            source,
            cluster,
            ctx,
            git: None,
        }
    }

    /// Lets apps with a `source:` be fetched: into the cache of `git.state_dir`, with
    /// `git.auth`. Without it such apps fail to sync, naming the app.
    #[must_use]
    pub fn with_git(mut self, git: GitOptions) -> Self {
        self.git = Some(git);
        self
    }

    /// The apps the source declares now, with their intervals (`default_interval` when they
    /// set none).
    pub fn apps(&self, default_interval: Duration) -> Result<Vec<AppEntry>, SyncError> {
        let snapshot = self.source.snapshot()?;
        let config = Config::load(&snapshot.config)?;
        let repo = self.source.repo();
        Ok(config
            .apps
            .iter()
            .map(|a| AppEntry {
                name: a.name.clone(),
                interval: a.sync_interval.unwrap_or(default_interval),
                self_heal: a.self_heal,
                repo: match &a.source {
                    AppSource::Git(spec) => Some(RepoRef {
                        url: spec.url.clone(),
                        reference: spec.reference.clone(),
                    }),
                    _ => repo.clone(),
                },
            })
            .collect())
    }
}

impl RepoSyncer {
    /// Fetches the `source:` of a Git app (blocking): the app rendering the snapshot's
    /// directory, and the snapshot. Other apps come back as they are.
    fn fetch_app(
        &self,
        app: &AppConfig,
        declared_in: Option<&GitSnapshot>,
    ) -> Result<(AppConfig, Option<GitSnapshot>), SyncError> {
        let AppSource::Git(spec) = &app.source else {
            return Ok((app.clone(), None));
        };
        let source_error = |message: String| SyncError::Source {
            source_name: crate::source::redact(&spec.url),
            message,
        };
        let Some(git) = &self.git else {
            return Err(source_error(format!(
                "app {:?} has a git source but this syncer fetches none",
                app.name
            )));
        };
        // A kascade.yaml fetched from Git may not read repositories of the local machine.
        if declared_in.is_some()
            && crate::source::classify(&spec.url)
                .map_err(|e| source_error(e.to_string()))?
                .transport
                == crate::source::Transport::Local
        {
            return Err(source_error(format!(
                "app {:?}: a kascade.yaml fetched from Git may not name a local repository",
                app.name
            )));
        }
        let (resolved, snapshot) =
            app::fetch_source(&git.state_dir, app, &git.auth).map_err(|error| SyncError::Git {
                app: app.name.clone(),
                error: Box::new(error),
            })?;
        Ok((
            resolved,
            snapshot.map(|snapshot| GitSnapshot {
                snapshot,
                state_dir: git.state_dir.clone(),
                path: spec.path.clone(),
            }),
        ))
    }
}

impl Syncer for RepoSyncer {
    fn sync(&self, name: &str, _reason: &Reason) -> Result<SyncOutcome, SyncError> {
        let snapshot = self.source.snapshot()?;
        let config = Config::load(&snapshot.config)?;
        let app =
            config
                .apps
                .iter()
                .find(|a| a.name == name)
                .ok_or_else(|| SyncError::AppGone {
                    app: name.to_string(),
                    config: snapshot.config.display().to_string(),
                })?;
        let mut ctx = self.ctx.clone();
        ctx.revision = snapshot.revision.clone();
        if let Some(dir) = &config.templates_dir {
            ctx.template_dirs.push(dir.clone());
        }
        let mut cluster = (self.cluster)()?;
        let (app, own) = self.fetch_app(app, snapshot.git.as_ref())?;
        let app = &app;
        let mut subject = snapshot.subject.clone();
        if let Some(GitSnapshot {
            snapshot: git,
            state_dir,
            path,
        }) = own.as_ref().or(snapshot.git.as_ref())
        {
            ctx.origin = Some(crate::buildenv::SourceOrigin::from_snapshot(
                git,
                path.as_deref(),
            ));
            // A branch that no longer descends from what was synced is refused: the cluster
            // keeps the last good state until the history is repaired (or the app re-pointed).
            let last = cluster.inventory(&app.name)?.and_then(|i| i.revision);
            crate::source::check_fast_forward(state_dir, git, last.as_deref()).map_err(
                |error| SyncError::Git {
                    app: app.name.clone(),
                    error: Box::new(error),
                },
            )?;
            ctx.revision = Some(git.revision.clone());
            subject = Some(git.subject.clone());
        }
        // Plan first: on an unchanged revision, what differs is drift.
        let AppSync { mut plan, .. } =
            app::sync_app(cluster.as_mut(), app, &ctx, true, &mut |_| {})?;
        let unchanged =
            plan.previous_revision.is_some() && plan.previous_revision == plan.app.revision;
        let drift: Vec<String> = if unchanged {
            plan.objects
                .iter()
                .filter(|o| matches!(o.diff.action, Action::Update | Action::Create))
                .map(|o| o.diff.key.kubectl_name())
                .collect()
        } else {
            Vec::new()
        };
        let objects = plan
            .objects
            .iter()
            .filter(|o| o.diff.action != Action::Prune)
            .count()
            + plan.kept.len();
        let summary = plan.summary();
        let mut outcome = SyncOutcome {
            revision: plan.app.revision.clone(),
            subject,
            objects,
            ..SyncOutcome::default()
        };
        if unchanged && !app.self_heal {
            outcome.drift_count = drift.len();
            outcome.drifted = drift.into_iter().take(MAX_DRIFT_LISTED).collect();
            return Ok(outcome);
        }
        let report = reconcile::apply(cluster.as_mut(), &mut plan)?;
        outcome.wrote = report.wrote;
        outcome.created = summary.create;
        outcome.updated = summary.update;
        outcome.pruned = summary.prune;
        outcome.healed = drift.len();
        Ok(outcome)
    }
}

/// Everything `kascade run` is configured with, besides the apps and the syncer.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    /// Timing of syncs.
    pub scheduler: SchedulerConfig,
    /// Webhook secrets and limits.
    pub webhooks: WebhookConfig,
}

/// The daemon: build it, then [`Daemon::run`] it until the shutdown token is cancelled.
pub struct Daemon {
    shared: Arc<Shared>,
}

/// What the scheduler, the HTTP handlers and the controllers share.
pub(crate) struct Shared {
    pub(crate) scheduler: Scheduler,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) hooks: webhook::Hooks,
    pub(crate) syncer: Arc<dyn Syncer>,
    controllers: Mutex<Arc<dyn Controllers>>,
    cluster: Mutex<Option<ClusterOpener>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The controllers.
    pub(crate) fn controllers(&self) -> Arc<dyn Controllers> {
        lock(&self.controllers).clone()
    }

    /// The cluster opener, when there is a cluster.
    pub(crate) fn cluster(&self) -> Option<ClusterOpener> {
        lock(&self.cluster).clone()
    }

    /// The body limits of the GitHub and generic hooks.
    pub(crate) fn hooks_config_limits(&self) -> (usize, usize) {
        self.hooks.limits()
    }
}

/// A handle on a running (or about to run) daemon: request syncs, read state.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Asks for a sync of `app` as soon as it is not syncing; returns false for an unknown app.
    pub fn request(&self, app: &str, reason: Reason) -> bool {
        self.shared.scheduler.request(app, reason)
    }

    /// Whether every app has had its first sync attempt.
    pub fn is_ready(&self) -> bool {
        self.shared.scheduler.is_ready()
    }

    /// The state of every app, in declaration order.
    pub fn apps(&self) -> Vec<(AppEntry, AppState)> {
        self.shared.scheduler.states()
    }

    /// The metrics in Prometheus text format.
    pub fn metrics(&self) -> String {
        self.shared.metrics.render()
    }

    /// Sync events (one per finished sync), for tests and embedding programs.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SyncEvent> {
        self.shared.scheduler.subscribe()
    }
}

impl Daemon {
    /// A daemon keeping `apps` in sync with `syncer`.
    pub fn new(apps: Vec<AppEntry>, syncer: Arc<dyn Syncer>, options: DaemonOptions) -> Self {
        let metrics = metrics::Metrics::new();
        for a in &apps {
            metrics.declare_app(&a.name);
        }
        Daemon {
            shared: Arc::new(Shared {
                scheduler: Scheduler::new(apps, options.scheduler),
                metrics,
                hooks: webhook::Hooks::new(options.webhooks),
                syncer,
                controllers: Mutex::new(Arc::new(NoControllers)),
                cluster: Mutex::new(None),
            }),
        }
    }

    /// Installs the controllers of the embedded cluster (image triggers, builds).
    #[must_use]
    pub fn with_controllers(self, controllers: Arc<dyn Controllers>) -> Self {
        *lock(&self.shared.controllers) = controllers;
        self
    }

    /// The cluster app status is written to and BuildConfigs are matched in.
    #[must_use]
    pub fn with_cluster(self, cluster: ClusterOpener) -> Self {
        *lock(&self.shared.cluster) = Some(cluster);
        self
    }

    /// A handle to request syncs and read state; take it before [`Daemon::run`].
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Runs the sync loops, the controllers and (with a listener) the HTTP server until
    /// `shutdown` is cancelled; then stops accepting requests, lets the syncs in progress
    /// finish, and returns.
    pub async fn run(
        self,
        listener: Option<TcpListener>,
        shutdown: CancellationToken,
    ) -> Result<(), DaemonError> {
        let shared = self.shared;
        let server = match listener {
            Some(listener) => {
                let addr = listener
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let app = http::router(shared.clone())
                    .into_make_service_with_connect_info::<SocketAddr>();
                let token = shutdown.clone();
                Some(tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(token.cancelled_owned())
                        .await
                        .map_err(|e| DaemonError::Serve {
                            addr,
                            message: e.to_string(),
                        })
                }))
            }
            None => None,
        };
        let workers = scheduler::start(shared.clone(), shutdown.clone());
        let controllers =
            tokio::spawn(scheduler::controller_loop(shared.clone(), shutdown.clone()));
        for w in workers {
            let _ = w.await;
        }
        let _ = controllers.await;
        if let Some(server) = server {
            match server.await {
                Ok(r) => r?,
                Err(e) => {
                    return Err(DaemonError::Serve {
                        addr: String::new(),
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// An exclusive lock on a state directory, held while the daemon runs (released on drop).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    path: PathBuf,
}

impl StateLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes `<state>/daemon.lock`, or fails naming it when another daemon holds it.
pub fn lock_state_dir(state: &Path) -> Result<StateLock, DaemonError> {
    let path = state.join("daemon.lock");
    let err = |message: String| DaemonError::Lock {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(state).map_err(|e| err(e.to_string()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| err(e.to_string()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(DaemonError::Locked {
                path: path.display().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(err(e.to_string())),
    }
    // Best effort: the pid helps whoever finds the lock held.
    let _ = file.set_len(0);
    let _ = std::io::Write::write_all(&mut &file, format!("{}\n", std::process::id()).as_bytes());
    Ok(StateLock { _file: file, path })
}

/// An app's status as the daemon records it in the cluster (`kascade status` reads it).
pub fn status_json(entry: &AppEntry, state: &AppState) -> Value {
    serde_json::json!({
        "interval": format!("{}s", entry.interval.as_secs()),
        "selfHeal": entry.self_heal,
        "lastSync": state.last.as_ref().map(LastSync::to_json),
        "lastSuccess": state.last_success.as_ref().map(LastSync::to_json),
        "consecutiveFailures": state.failures,
        "objects": state.objects,
        "drift": state.drift_count,
        "drifted": state.drifted,
        "syncing": state.syncing,
    })
}
