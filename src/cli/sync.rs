//! `kascade sync` and `kascade diff`: one or more apps against the embedded cluster.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use super::progress::Progress;
use crate::app::{self, RenderContext};
use crate::buildenv::SourceOrigin;
use crate::cluster::Cluster;
use crate::config::{AppConfig, AppSource};
use crate::diff::Action;
use crate::reconcile::{Plan, Policy};
use crate::source::{self, Auth, Snapshot, SourceError, SourceSpec, Transport};

pub const SYNC_EXAMPLES: &str = "Examples:
  # Sync every app of the repository's kascade.yaml into the embedded cluster
  kascade sync --config examples/base-image/kascade.yaml

  # What would change, without changing anything
  kascade sync --dry-run

  # Apply and return at once; builds and rollouts run on the next command or in `kascade run`
  kascade sync --no-wait

  # A directory of manifests as one app, deleting what is no longer in it
  kascade sync -f manifests/ --app web -n web --prune

  # A catalog template as an app
  kascade sync --template base-image-example -p GIT_URL=https://example.com/r.git -n lab

  # A Git repository: its kascade.yaml, or (without one) --path as one app
  kascade sync --repo https://github.com/org/deploy.git --ref main --token-env GITHUB_TOKEN
  kascade sync --repo git@github.com:org/deploy.git --path apps/web --app web -n web --ssh-key ~/.ssh/deploy
  kascade sync --repo file:///srv/git/deploy.git --ref v1.4.0

  # An app made by `kascade new-app`, from its recorded source (optionally a new parameter)
  kascade sync --app base-image-example -p GIT_REF=v2";

pub const DIFF_EXAMPLES: &str = "Examples:
  kascade diff --config examples/base-image/kascade.yaml
  kascade diff -f manifests/ --app web -n web -o json
  kascade diff --repo https://github.com/org/deploy.git --ref main
  kascade diff --app base-image-example

Exit codes: 0 no difference, 1 differences, 2 error.";

/// What to sync and where (shared by `sync` and `diff`).
#[derive(Debug, Args)]
pub struct Target {
    #[command(flatten)]
    apps: super::target::AppsArgs,
    /// A Git repository to sync from (https://…, ssh://…, git@host:path, file://… or a path),
    /// fetched into the state directory.
    #[arg(long, value_name = "URL", conflicts_with_all = ["files", "template"])]
    repo: Option<String>,
    /// The branch, tag or commit sha of --repo [default: the remote's HEAD branch].
    #[arg(long = "ref", value_name = "REF", requires = "repo")]
    reference: Option<String>,
    /// A directory of --repo: its kascade.yaml is used, or without one it is one app.
    #[arg(long = "path", value_name = "DIR", requires = "repo")]
    repo_path: Option<String>,
    #[command(flatten)]
    git_auth: GitAuthArgs,
    /// Sync a branch that was force-pushed (its commit does not descend from the last synced
    /// one) instead of refusing.
    #[arg(long)]
    allow_force_push: bool,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// Delete objects of the app that are no longer rendered.
    #[arg(long)]
    prune: bool,
    /// Let an empty render prune every object of the app.
    #[arg(long)]
    allow_empty: bool,
    /// Refuse to delete more than N objects.
    #[arg(long, value_name = "N")]
    max_deletions: Option<usize>,
    /// Output: text (default) or json (the whole plan).
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    output: PlanFormat,
}

/// Credentials for Git repositories (shared by `sync`, `diff` and `run`). Secrets are never
/// given on the command line: only where to find them.
#[derive(Debug, Clone, Args)]
pub struct GitAuthArgs {
    /// An environment variable holding the https token for Git repositories.
    #[arg(long, value_name = "NAME", conflicts_with = "token_file")]
    token_env: Option<String>,
    /// A file holding the https token for Git repositories.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// The ssh private key for Git repositories [default: the ssh-agent].
    #[arg(long, value_name = "FILE")]
    ssh_key: Option<PathBuf>,
    /// The known_hosts file ssh host keys are checked against [default: ~/.ssh/known_hosts].
    #[arg(long, value_name = "FILE")]
    known_hosts: Option<PathBuf>,
}

impl GitAuthArgs {
    /// Where the credentials are.
    pub fn auth(&self) -> Auth {
        Auth {
            token_env: self.token_env.clone(),
            token_file: self.token_file.clone(),
            ssh_key: self.ssh_key.clone(),
            known_hosts: self.known_hosts.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PlanFormat {
    Text,
    Json,
}

/// Arguments of `kascade sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    target: Target,
    /// Plan and print, change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    wait: super::wait::WaitArgs,
}

/// Arguments of `kascade diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    target: Target,
}

/// An app to sync, with the Git snapshot it renders when it comes from a repository.
struct Planned {
    app: AppConfig,
    snapshot: Option<Snapshot>,
    /// Where the app's files are in the snapshot's repository (the build environment).
    origin: Option<SourceOrigin>,
}

impl Target {
    fn auth(&self) -> Auth {
        self.git_auth.auth()
    }

    fn state(&self) -> &Path {
        &self.cluster.state
    }
}

/// The apps to sync: those of kascade.yaml (local or in --repo), or the one of -f, --template
/// or --repo without a kascade.yaml; apps with a `source` fetched.
fn apps(t: &Target, cluster: &dyn Cluster) -> anyhow::Result<(Vec<Planned>, RenderContext)> {
    let Some(url) = &t.repo else {
        let (apps, ctx) = t.apps.local_apps(cluster, policy_flags(t))?;
        let auth = t.auth();
        let planned = apps
            .into_iter()
            .map(|a| resolve_git(t, a, &auth, false))
            .collect::<anyhow::Result<Vec<_>>>()?;
        return Ok((planned, ctx));
    };
    let spec = SourceSpec {
        url: url.clone(),
        reference: t.reference.clone(),
        path: t.repo_path.clone(),
    };
    let auth = t.auth();
    let snap = source::fetch(t.state(), &spec, &auth)?;
    let mut ctx = RenderContext {
        template_dirs: t.apps.templates.clone(),
        seed: t.apps.seed,
        revision: None,
        origin: None,
    };
    let config_path = match &t.apps.config {
        Some(c) => Some(
            crate::config::confined(&snap.root, &c.to_string_lossy())
                .map_err(|m| anyhow::anyhow!("--config {}: {m}", c.display()))?,
        ),
        None => Some(snap.root.join("kascade.yaml")).filter(|p| p.is_file()),
    };
    let Some(config_path) = config_path else {
        let namespace = t.apps.namespace_flag()?;
        let derived = app::derive_name(t.repo_path.as_deref().unwrap_or(url));
        let name = t.apps.app.clone().unwrap_or(derived);
        if !crate::config::is_dns_label(&name) {
            bail!("app name {name:?} is not a DNS label (lower-case letters, digits and '-')");
        }
        let app = app::ad_hoc(
            name,
            namespace,
            AppSource::Path(snap.root.clone()),
            policy_flags(t),
        );
        return Ok((
            vec![Planned {
                app,
                origin: Some(SourceOrigin::from_snapshot(&snap, t.repo_path.as_deref())),
                snapshot: Some(snap),
            }],
            ctx,
        ));
    };
    let selected = t
        .apps
        .declared_apps(&config_path, &mut ctx, &policy_flags(t))?;
    let planned = selected
        .into_iter()
        .map(|a| match a.source {
            AppSource::Git(_) => resolve_git(t, a, &auth, true),
            _ => Ok(Planned {
                app: a,
                origin: Some(SourceOrigin::from_snapshot(&snap, t.repo_path.as_deref())),
                snapshot: Some(snap.clone()),
            }),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((planned, ctx))
}

/// Fetches an app's `source`. A kascade.yaml that itself came from Git may not name local
/// repositories (they would read the files of the machine kascade runs on).
fn resolve_git(t: &Target, app: AppConfig, auth: &Auth, from_git: bool) -> anyhow::Result<Planned> {
    if let AppSource::Git(spec) = &app.source
        && from_git
        && source::classify(&spec.url)?.transport == Transport::Local
    {
        bail!(
            "app {:?}: a kascade.yaml fetched from Git may not name the local repository {}",
            app.name,
            spec.url
        );
    }
    let path = match &app.source {
        AppSource::Git(spec) => spec.path.clone(),
        _ => None,
    };
    let (app, snapshot) = app::fetch_source(t.state(), &app, auth)
        .with_context(|| format!("failed to fetch the source of app {:?}", app.name))?;
    let origin = snapshot
        .as_ref()
        .map(|s| SourceOrigin::from_snapshot(s, path.as_deref()));
    Ok(Planned {
        app,
        snapshot,
        origin,
    })
}

fn policy_flags(t: &Target) -> Policy {
    Policy {
        prune: t.prune,
        allow_empty: t.allow_empty,
        max_deletions: t.max_deletions,
        prune_namespaces: false,
        prune_pvcs: false,
    }
}

fn color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn paint(line: &str, on: bool) -> String {
    if !on {
        return line.to_string();
    }
    let code = if line.starts_with("+++") || line.starts_with("---") {
        "1"
    } else if line.starts_with('+') {
        "32"
    } else if line.starts_with('-') {
        "31"
    } else if line.starts_with("@@") {
        "36"
    } else {
        return line.to_string();
    };
    format!("\x1b[{code}m{line}\x1b[0m")
}

fn revision_line(plan: &Plan, snapshot: Option<&Snapshot>) -> String {
    let new = plan.app.revision.as_deref().unwrap_or("-");
    let line = match plan.previous_revision.as_deref() {
        Some(old) if old != new => format!("revision {old} → {new}"),
        Some(_) => format!("revision {new} (unchanged)"),
        None => format!("revision {new} (first sync)"),
    };
    match snapshot {
        Some(s) => format!("{line}: {}", s.subject),
        None => line,
    }
}

/// The render context of one app: a Git app records its commit, and a branch that was
/// force-pushed since the last sync is refused (`refuse_forced`) or warned about.
fn app_context(
    t: &Target,
    cluster: &dyn Cluster,
    planned: &Planned,
    ctx: &RenderContext,
    refuse_forced: bool,
) -> anyhow::Result<RenderContext> {
    let mut ctx = ctx.clone();
    if let Some(snap) = &planned.snapshot {
        let last = cluster
            .inventory(&planned.app.name)?
            .and_then(|i| i.revision);
        match source::check_fast_forward(t.state(), snap, last.as_deref()) {
            Ok(()) => {}
            Err(e @ SourceError::ForcePush { .. }) if refuse_forced && !t.allow_force_push => {
                return Err(anyhow::Error::new(e).context(format!(
                    "refusing to sync app {:?} (pass --allow-force-push to sync it anyway)",
                    planned.app.name
                )));
            }
            Err(e) => super::warn(&format!("app {}: {e}", planned.app.name)),
        }
        ctx.revision = Some(snap.revision.clone());
    }
    ctx.origin.clone_from(&planned.origin);
    Ok(ctx)
}

pub fn exec_sync(args: SyncArgs) -> anyhow::Result<u8> {
    let mut cluster = args.target.cluster.open()?;
    let (apps, ctx) = apps(&args.target, cluster.as_ref())?;
    let mut plans = Vec::new();
    let mut out = io::stdout().lock();
    for planned in &apps {
        let app = &planned.app;
        let progress = Progress::spinner(format!("app {}: rendering", app.name));
        let ctx = app_context(&args.target, cluster.as_ref(), planned, &ctx, true)?;
        let app::AppSync { plan, report, .. } =
            app::sync_app(cluster.as_mut(), app, &ctx, args.dry_run, &mut |r| {
                progress.set_message(format!("app {}: syncing {} objects", app.name, r.set.len()));
            })?;
        drop(progress);
        if args.target.output == PlanFormat::Json {
            plans.push(plan.to_json());
            continue;
        }
        let suffix = if args.dry_run { " (dry run)" } else { "" };
        writeln!(
            out,
            "app {} in namespace {}: {}",
            app.name,
            app.namespace,
            revision_line(&plan, planned.snapshot.as_ref())
        )?;
        for o in &plan.objects {
            let verb = match o.diff.action {
                Action::Create => "created",
                Action::Update => "configured",
                Action::Prune => "pruned",
                Action::Unchanged => continue,
            };
            writeln!(out, "  {} {verb}{suffix}", o.diff.key.kubectl_name())?;
        }
        for k in &plan.kept {
            writeln!(out, "  {} not pruned: {}", k.key.kubectl_name(), k.reason)?;
        }
        let done = match &report {
            Some(r) if r.wrote => "",
            Some(_) => " (nothing to do)",
            None => " (dry run)",
        };
        writeln!(out, "{}: {}{done}", app.name, plan.summary())?;
    }
    if args.target.output == PlanFormat::Json {
        writeln!(out, "{}", super::output::json_pretty(&plans))?;
    }
    drop(cluster);
    if !args.dry_run
        && let Some(report) = super::wait::settle(&args.target.cluster, &args.wait)?
    {
        if args.target.output == PlanFormat::Json {
            super::wait::print_report(&report, &mut io::stderr().lock())?;
        } else {
            super::wait::print_report(&report, &mut out)?;
        }
    }
    Ok(0)
}

pub fn exec_diff(args: DiffArgs) -> anyhow::Result<u8> {
    let mut cluster = args.target.cluster.open()?;
    let (apps, ctx) = apps(&args.target, cluster.as_ref())?;
    let paint_on = color();
    let mut out = io::stdout().lock();
    let mut differs = false;
    let mut plans = Vec::new();
    for planned in &apps {
        let app = &planned.app;
        let progress = Progress::spinner(format!("app {}: rendering", app.name));
        let ctx = app_context(&args.target, cluster.as_ref(), planned, &ctx, false)?;
        let plan = app::sync_app(cluster.as_mut(), app, &ctx, true, &mut |r| {
            progress.set_message(format!(
                "app {}: comparing {} objects",
                app.name,
                r.set.len()
            ));
        })?
        .plan;
        drop(progress);
        differs |= plan.summary().has_changes();
        if args.target.output == PlanFormat::Json {
            plans.push(plan.to_json());
            continue;
        }
        for o in &plan.objects {
            for line in o.diff.unified(3).lines() {
                writeln!(out, "{}", paint(line, paint_on))?;
            }
        }
        writeln!(
            out,
            "{}: {}; {}",
            app.name,
            plan.summary(),
            revision_line(&plan, planned.snapshot.as_ref())
        )?;
    }
    if args.target.output == PlanFormat::Json {
        writeln!(out, "{}", super::output::json_pretty(&plans))?;
    }
    Ok(u8::from(differs))
}
