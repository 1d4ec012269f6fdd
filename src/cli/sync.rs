//! `kascade sync` and `kascade diff`: one or more apps against the embedded cluster.

use std::io::{self, IsTerminal, Write};

use clap::Args;

use super::progress::Progress;
use crate::app::{self, RenderContext};
use crate::cluster::Cluster;
use crate::config::{AppConfig, AppSource};
use crate::diff::Action;
use crate::newapp;
use crate::reconcile::{self, Plan, Policy};

pub const SYNC_EXAMPLES: &str = "Examples:
  # Sync every app of the repository's kascade.yaml into the embedded cluster
  kascade sync --config examples/base-image/kascade.yaml

  # What would change, without changing anything
  kascade sync --dry-run

  # A directory of manifests as one app, deleting what is no longer in it
  kascade sync -f manifests/ --app web -n web --prune

  # A catalog template as an app
  kascade sync --template base-image-example -p GIT_URL=https://example.com/r.git -n lab

  # An app made by `kascade new-app`, from its recorded source (optionally a new parameter)
  kascade sync --app base-image-example -p GIT_REF=v2";

pub const DIFF_EXAMPLES: &str = "Examples:
  kascade diff --config examples/base-image/kascade.yaml
  kascade diff -f manifests/ --app web -n web -o json
  kascade diff --app base-image-example

Exit codes: 0 no difference, 1 differences, 2 error.";

/// What to sync and where (shared by `sync` and `diff`).
#[derive(Debug, Args)]
pub struct Target {
    #[command(flatten)]
    apps: super::target::AppsArgs,
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
}

/// Arguments of `kascade diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    target: Target,
}

fn apps(t: &Target, cluster: &dyn Cluster) -> anyhow::Result<(Vec<AppConfig>, RenderContext)> {
    t.apps.apps(
        cluster,
        Policy {
            prune: t.prune,
            allow_empty: t.allow_empty,
            max_deletions: t.max_deletions,
            prune_namespaces: false,
            prune_pvcs: false,
        },
    )
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

fn revision_line(plan: &Plan) -> String {
    let new = plan.app.revision.as_deref().unwrap_or("-");
    match plan.previous_revision.as_deref() {
        Some(old) if old != new => format!("revision {old} → {new}"),
        Some(_) => format!("revision {new} (unchanged)"),
        None => format!("revision {new} (first sync)"),
    }
}

pub fn exec_sync(args: SyncArgs) -> anyhow::Result<u8> {
    let mut cluster = args.target.cluster.open()?;
    let (apps, ctx) = apps(&args.target, cluster.as_ref())?;
    let mut plans = Vec::new();
    let mut out = io::stdout().lock();
    for app in &apps {
        let progress = Progress::spinner(format!("app {}: rendering", app.name));
        let rendered = app::render_app(cluster.as_ref(), app, &ctx)?;
        progress.set_message(format!(
            "app {}: syncing {} objects",
            app.name,
            rendered.set.len()
        ));
        let (plan, report) =
            reconcile::sync_once(cluster.as_mut(), &rendered.spec, rendered.set, args.dry_run)?;
        drop(progress);
        if !args.dry_run
            && let AppSource::NewApp(source) = &app.source
        {
            // Parameters given with --app replace the recorded ones for later syncs.
            newapp::record_source(cluster.as_mut(), &app.name, &app.namespace, source)?;
        }
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
            revision_line(&plan)
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
    Ok(0)
}

pub fn exec_diff(args: DiffArgs) -> anyhow::Result<u8> {
    let mut cluster = args.target.cluster.open()?;
    let (apps, ctx) = apps(&args.target, cluster.as_ref())?;
    let paint_on = color();
    let mut out = io::stdout().lock();
    let mut differs = false;
    let mut plans = Vec::new();
    for app in &apps {
        let progress = Progress::spinner(format!("app {}: rendering", app.name));
        let rendered = app::render_app(cluster.as_ref(), app, &ctx)?;
        progress.set_message(format!(
            "app {}: comparing {} objects",
            app.name,
            rendered.set.len()
        ));
        let (plan, _) = reconcile::sync_once(cluster.as_mut(), &rendered.spec, rendered.set, true)?;
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
            revision_line(&plan)
        )?;
    }
    if args.target.output == PlanFormat::Json {
        writeln!(out, "{}", super::output::json_pretty(&plans))?;
    }
    Ok(u8::from(differs))
}
