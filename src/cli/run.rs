//! `kascade run`: the daemon — keep every app of kascade.yaml in sync, serve health, metrics,
//! status and webhooks, until SIGTERM or SIGINT.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::app::RenderContext;
use crate::cluster::ClusterError;
use crate::daemon::{
    self, ClusterOpener, Daemon, DaemonOptions, LocalDir, RepoRef, RepoSyncer, SchedulerConfig,
    WebhookConfig,
};

pub const EXAMPLES: &str = "Examples:
  # Keep the apps of ./kascade.yaml in sync with the embedded cluster (every 3 minutes)
  kascade run

  # Sync every 30s, serve on all interfaces, accept GitHub pushes signed with the secret
  kascade run --config examples/base-image/kascade.yaml --interval 30s --listen 0.0.0.0:8080 \\
      --github-secret-file /etc/kascade/github-secret

  # A checkout kept up to date by something else: pushes to its repository sync at once
  KASCADE_GENERIC_TOKEN=$(cat token) kascade run --webhook-repo https://github.com/o/r --webhook-ref main

Endpoints: GET /healthz, /readyz, /metrics, /api/v1/apps; POST /hooks/github, /hooks/generic.
Secrets come from files or the environment (KASCADE_GITHUB_SECRET, KASCADE_GENERIC_TOKEN),
never from the command line. SIGTERM or SIGINT finishes the syncs in progress and exits 0.";

/// The largest secret file read.
const MAX_SECRET_BYTES: u64 = 4096;

/// Arguments of `kascade run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The app declaration file, read again at every sync [default: ./kascade.yaml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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
    let lock = daemon::lock_state_dir(&args.cluster.state)?;
    let github_secret = secret(args.github_secret_file.as_deref(), "KASCADE_GITHUB_SECRET")?;
    let generic_token = secret(args.generic_token_file.as_deref(), "KASCADE_GENERIC_TOKEN")?;
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("kascade.yaml"));
    if !config.is_file() {
        bail!(
            "no {} here: give --config FILE (see kascade run --help)",
            config.display()
        );
    }
    let cluster_args = args.cluster.clone();
    let opener: ClusterOpener = Arc::new(move || {
        cluster_args.open().map_err(|e| ClusterError::Store {
            path: cluster_args.state.display().to_string(),
            message: format!("{e:#}"),
        })
    });
    // Open once now so that a broken store fails at start, not at the first sync.
    drop(opener().map_err(anyhow::Error::new)?);
    let source = Arc::new(LocalDir {
        config: config.clone(),
        repo: args.webhook_repo.clone().map(|url| RepoRef {
            url,
            reference: args.webhook_ref.clone(),
        }),
    });
    let syncer = RepoSyncer::new(
        source,
        opener.clone(),
        RenderContext {
            template_dirs: args.templates.clone(),
            ..RenderContext::default()
        },
    );
    let apps = syncer.apps(interval)?;
    if apps.is_empty() {
        crate::cli::warn(&format!("{} declares no apps", config.display()));
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
    let daemon = Daemon::new(apps, Arc::new(syncer), options).with_cluster(opener);
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
