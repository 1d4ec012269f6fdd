//! `kascade run`: the daemon — keep every app of kascade.yaml in sync, serve health, metrics,
//! status and webhooks, until SIGTERM or SIGINT.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::cluster::Backend;
use crate::app::RenderContext;
use crate::cluster::ClusterError;
use crate::daemon::{
    self, ClusterOpener, Daemon, DaemonOptions, EmbeddedControllers, GitOptions, GitRepo, LocalDir,
    RepoRef, RepoSyncer, SchedulerConfig, SnapshotSource, WebhookConfig,
};
use crate::source::SourceSpec;

pub const EXAMPLES: &str = "Examples:
  # Keep the apps of ./kascade.yaml in sync with the embedded cluster (every 3 minutes)
  kascade run

  # Sync every 30s, serve on all interfaces, accept GitHub pushes signed with the secret
  kascade run --config examples/base-image/kascade.yaml --interval 30s --listen 0.0.0.0:8080 \\
      --github-secret-file /etc/kascade/github-secret

  # A Git repository, fetched at every sync; GitHub pushes to its main branch sync at once
  kascade run --repo https://github.com/org/deploy.git --ref main --token-env GITHUB_TOKEN \
      --github-secret-file /etc/kascade/github-secret
  kascade run --repo git@github.com:org/deploy.git --path clusters/prod --ssh-key ~/.ssh/deploy

  # A checkout kept up to date by something else: pushes to its repository sync at once
  KASCADE_GENERIC_TOKEN=$(cat token) kascade run --webhook-repo https://github.com/o/r --webhook-ref main

  # Re-import scheduled ImageStream tags hourly, at most 10 streams a minute
  kascade run --scheduled-import-interval 1h --max-scheduled-imports-per-minute 10

Endpoints: GET /healthz, /readyz, /metrics, /api/v1/apps; POST /hooks/github, /hooks/generic.
Secrets come from files or the environment (KASCADE_GITHUB_SECRET, KASCADE_GENERIC_TOKEN),
never from the command line. SIGTERM or SIGINT finishes the syncs in progress and exits 0. A force-pushed or deleted branch,
or an unreachable repository, fails that app's sync (status and metrics say why) and the
cluster keeps its last good state. On the embedded cluster the image-trigger and build
controllers run in the same loop, and GitHub pushes start the BuildConfigs whose source matches.";

/// The largest secret file read.
const MAX_SECRET_BYTES: u64 = 4096;

/// Arguments of `kascade run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The app declaration file, read again at every sync [default: ./kascade.yaml; with
    /// --repo, kascade.yaml of the fetched directory, and FILE is relative to it].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A Git repository to keep in sync with (https://…, ssh://…, git@host:path, file://… or
    /// a path), fetched into the state directory at every sync; pushes to it sync at once.
    #[arg(long, value_name = "URL", conflicts_with = "webhook_repo")]
    repo: Option<String>,
    /// The branch, tag or commit sha of --repo [default: the remote's HEAD branch].
    #[arg(long = "ref", value_name = "REF", requires = "repo")]
    reference: Option<String>,
    /// The directory of --repo holding kascade.yaml.
    #[arg(long = "path", value_name = "DIR", requires = "repo")]
    repo_path: Option<String>,
    #[command(flatten)]
    git_auth: super::sync::GitAuthArgs,
    /// The repository the --config directory is a checkout of: GitHub and generic pushes to it
    /// sync the apps at once.
    #[arg(long, value_name = "URL")]
    webhook_repo: Option<String>,
    /// The branch of --webhook-repo the checkout follows [default: the repository's default
    /// branch].
    #[arg(long, value_name = "BRANCH", requires = "webhook_repo")]
    webhook_ref: Option<String>,
    /// A directory of extra catalog templates.
    #[arg(long = "templates", value_name = "DIR")]
    templates: Vec<PathBuf>,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// The address of the HTTP server (health, metrics, status, webhooks).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// How often each app syncs unless it sets syncInterval (10s to 24h; jitter is added).
    #[arg(long, value_name = "DURATION", default_value = "3m")]
    interval: String,
    /// A file holding the GitHub webhook secret [or env KASCADE_GITHUB_SECRET]; without one,
    /// /hooks/github answers 404.
    #[arg(long, value_name = "FILE")]
    github_secret_file: Option<PathBuf>,
    /// A file holding the generic webhook token [or env KASCADE_GENERIC_TOKEN]; without one,
    /// /hooks/generic answers 404.
    #[arg(long, value_name = "FILE")]
    generic_token_file: Option<PathBuf>,
    /// Embedded cluster: how long after its last import a scheduled ImageStream tag is
    /// imported again (OpenShift's scheduledImageImportMinimumIntervalSeconds; 10s to 168h).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    scheduled_import_interval: String,
    /// Embedded cluster: at most this many scheduled ImageStream imports a minute (OpenShift's
    /// maxScheduledImageImportsPerMinute; 1 to 10000).
    #[arg(long, value_name = "N", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    max_scheduled_imports_per_minute: u32,
}

/// The shortest and longest `--scheduled-import-interval`.
const SCHEDULED_INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_secs(10), Duration::from_secs(7 * 24 * 3600));

/// Parses `--scheduled-import-interval`.
fn scheduled_interval(text: &str) -> anyhow::Result<Duration> {
    let d = crate::config::parse_duration(text)
        .map_err(|m| anyhow::anyhow!("--scheduled-import-interval: {m}"))?;
    let (min, max) = SCHEDULED_INTERVAL_RANGE;
    if d < min || d > max {
        bail!("--scheduled-import-interval: {text:?} is out of range: it is between 10s and 168h");
    }
    Ok(d)
}

/// Reads a secret from `file`, else from the environment variable `env`.
fn secret(file: Option<&Path>, env: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let value = match file {
        Some(path) => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot read the secret file {}", path.display()))?;
            let mut buf = Vec::new();
            f.take(MAX_SECRET_BYTES + 1)
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read the secret file {}", path.display()))?;
            if buf.len() as u64 > MAX_SECRET_BYTES {
                bail!(
                    "the secret file {} is larger than {MAX_SECRET_BYTES} bytes",
                    path.display()
                );
            }
            let text = String::from_utf8_lossy(&buf).trim().as_bytes().to_vec();
            if text.is_empty() {
                bail!("the secret file {} is empty", path.display());
            }
            Some(text)
        }
        None => match std::env::var(env) {
            Ok(v) if !v.trim().is_empty() => Some(v.trim().as_bytes().to_vec()),
            _ => None,
        },
    };
    Ok(value)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn exec(args: RunArgs) -> anyhow::Result<u8> {
    let interval = crate::config::parse_interval(&args.interval)
        .map_err(|m| anyhow::anyhow!("--interval: {m}"))?;
    let controller_options = crate::controllers::Options {
        scheduled_interval: scheduled_interval(&args.scheduled_import_interval)?,
        max_scheduled_imports_per_minute: args.max_scheduled_imports_per_minute,
        ..crate::controllers::Options::default()
    };
    let lock = daemon::lock_state_dir(&args.cluster.state)?;
    let github_secret = secret(args.github_secret_file.as_deref(), "KASCADE_GITHUB_SECRET")?;
    let generic_token = secret(args.generic_token_file.as_deref(), "KASCADE_GENERIC_TOKEN")?;
    let cluster_args = args.cluster.clone();
    let opener: ClusterOpener = Arc::new(move || {
        cluster_args.open().map_err(|e| ClusterError::Store {
            path: cluster_args.state.display().to_string(),
            message: format!("{e:#}"),
        })
    });
    // Open once now so that a broken store fails at start, not at the first sync.
    drop(opener().map_err(anyhow::Error::new)?);
    let git = GitOptions {
        state_dir: args.cluster.state.clone(),
        auth: args.git_auth.auth(),
    };
    let source: Arc<dyn SnapshotSource> = match &args.repo {
        Some(url) => {
            let path = crate::source::clean_path(args.repo_path.as_deref())
                .with_context(|| format!("--path {}", args.repo_path.as_deref().unwrap_or("")))?;
            if let Some(r) = &args.reference {
                crate::source::validate_ref(r).context("--ref")?;
            }
            crate::source::classify(url)?;
            Arc::new(GitRepo {
                spec: SourceSpec {
                    url: url.clone(),
                    reference: args.reference.clone(),
                    path,
                },
                config: args
                    .config
                    .as_ref()
                    .map(|c| c.to_string_lossy().into_owned()),
                git: git.clone(),
            })
        }
        None => {
            let config = args
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from("kascade.yaml"));
            if !config.is_file() {
                bail!(
                    "no {} here: give --config FILE or --repo URL (see kascade run --help)",
                    config.display()
                );
            }
            Arc::new(LocalDir {
                config,
                repo: args.webhook_repo.clone().map(|url| RepoRef {
                    url,
                    reference: args.webhook_ref.clone(),
                }),
            })
        }
    };
    let described = source.describe();
    let syncer = RepoSyncer::new(
        source,
        opener.clone(),
        RenderContext {
            template_dirs: args.templates.clone(),
            ..RenderContext::default()
        },
    )
    .with_git(git);
    let apps = syncer.apps(interval)?;
    if apps.is_empty() {
        crate::cli::warn(&format!("{described} declares no apps"));
    }
    if github_secret.is_none() {
        tracing::warn!(
            "/hooks/github is disabled: no secret (--github-secret-file FILE or KASCADE_GITHUB_SECRET)"
        );
    }
    if generic_token.is_none() {
        tracing::info!(
            "/hooks/generic is disabled: no token (--generic-token-file FILE or KASCADE_GENERIC_TOKEN)"
        );
    }
    let options = DaemonOptions {
        scheduler: SchedulerConfig::default(),
        webhooks: WebhookConfig {
            github_secret,
            generic_token,
            ..WebhookConfig::default()
        },
    };
    let mut daemon = Daemon::new(apps, Arc::new(syncer), options).with_cluster(opener);
    if args.cluster.backend == Backend::Embedded {
        daemon = daemon.with_controllers(Arc::new(
            EmbeddedControllers::new(
                args.cluster.state.clone(),
                daemon::embedded::DEFAULT_CONTROLLER_INTERVAL,
            )
            .with_options(controller_options),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "kascade run: listening on http://{addr} (state {}, lock {})",
            args.cluster.state.display(),
            lock.path().display()
        );
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing the syncs in progress");
            token.cancel();
        });
        daemon.run(Some(listener), shutdown).await?;
        tracing::info!("stopped");
        drop(lock);
        Ok(0)
    })
}
