//! `kascade sync` and `kascade diff`: one or more apps against the embedded cluster.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::progress::Progress;
use crate::app::{self, RenderContext};
use crate::cluster::Cluster;
use crate::config::{AppConfig, AppSource, Config};
use crate::diff::Action;
use crate::newapp;
use crate::reconcile::{Plan, Policy};
use crate::template::openshift::params;

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
    /// A file or directory to render as one app (repeatable); instead of kascade.yaml.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    files: Vec<PathBuf>,
    /// A catalog template to process as one app; instead of kascade.yaml.
    #[arg(long, value_name = "NAME", conflicts_with = "files")]
    template: Option<String>,
    /// A template parameter, KEY=VALUE (with --template, or with --app for an app made by
    /// `kascade new-app`, where it replaces the recorded value).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    param: Vec<String>,
    /// A dotenv parameter file (with --template, or --app as for -p).
    #[arg(long = "param-file", value_name = "FILE")]
    param_file: Vec<PathBuf>,
    /// The app declaration file [default: ./kascade.yaml].
    #[arg(long, value_name = "FILE", conflicts_with_all = ["files", "template"])]
    config: Option<PathBuf>,
    /// The app: which one of kascade.yaml, or the name of the -f/--template app. Alone (no
    /// kascade.yaml here), an app made by `kascade new-app`, rendered from its recorded source.
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// Namespace for namespaced objects that name none (-f/--template apps) [default: default].
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    /// A directory of extra catalog templates.
    #[arg(long = "templates", value_name = "DIR")]
    templates: Vec<PathBuf>,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// Seed for newly generated parameter values (values already stored are always reused).
    #[arg(long)]
    seed: Option<u64>,
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

/// An app made by `kascade new-app`, from the source recorded in the cluster, with `-p` and
/// `--param-file` values replacing recorded ones.
fn recorded_app(
    t: &Target,
    cluster: &dyn Cluster,
    name: &str,
    policy: Policy,
) -> anyhow::Result<AppConfig> {
    let Some((mut source, namespace)) = newapp::stored_source(cluster, name)? else {
        bail!(
            "app {name:?} has no recorded source in {}: only apps made by `kascade new-app` have one; give -f PATH, --template NAME or --config FILE",
            cluster.describe()
        );
    };
    if let Some(ns) = &t.namespace
        && *ns != namespace
    {
        bail!("app {name:?} lives in namespace {namespace:?}, not {ns:?}");
    }
    let mut given = params::parse_cli_assignments(&t.param)?;
    for f in &t.param_file {
        let display = f.display().to_string();
        for (k, v) in params::read_env_file(&display, None)? {
            if !given.iter().any(|(key, _)| *key == k) {
                given.push((k, v));
            }
        }
    }
    for (k, v) in given {
        match source.parameters.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => source.parameters.push((k, v)),
        }
    }
    Ok(app::ad_hoc(
        name.to_string(),
        namespace,
        AppSource::NewApp(Box::new(source)),
        policy,
    ))
}

fn apps(t: &Target, cluster: &dyn Cluster) -> anyhow::Result<(Vec<AppConfig>, RenderContext)> {
    let mut ctx = RenderContext {
        template_dirs: t.templates.clone(),
        seed: t.seed,
        revision: None,
    };
    let flags = Policy {
        prune: t.prune,
        allow_empty: t.allow_empty,
        max_deletions: t.max_deletions,
        prune_namespaces: false,
        prune_pvcs: false,
    };
    if !t.files.is_empty() || t.template.is_some() {
        if t.template.is_none() && (!t.param.is_empty() || !t.param_file.is_empty()) {
            bail!(
                "-p and --param-file apply to --template NAME, or to --app NAME of an app made by `kascade new-app`"
            );
        }
        let namespace = t.namespace.clone().unwrap_or_else(|| "default".to_string());
        if !crate::config::is_dns_label(&namespace) {
            bail!("namespace {namespace:?} is not a valid namespace name");
        }
        let (source, derived) = if let Some(name) = &t.template {
            let cli = params::parse_cli_assignments(&t.param)?;
            (
                AppSource::Template {
                    name: name.clone(),
                    parameters: cli,
                    parameter_files: t.param_file.clone(),
                },
                app::derive_name(name),
            )
        } else if t.files.len() == 1 {
            (
                AppSource::Path(t.files[0].clone()),
                app::derive_name(&t.files[0].to_string_lossy()),
            )
        } else {
            bail!(
                "give one -f PATH per app (a directory holds many files); for several apps, declare them in kascade.yaml"
            );
        };
        let name = t.app.clone().unwrap_or(derived);
        if !crate::config::is_dns_label(&name) {
            bail!("app name {name:?} is not a DNS label (lower-case letters, digits and '-')");
        }
        return Ok((vec![app::ad_hoc(name, namespace, source, flags)], ctx));
    }
    let path = t
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("kascade.yaml"));
    if t.config.is_none()
        && !path.exists()
        && let Some(name) = &t.app
    {
        return Ok((vec![recorded_app(t, cluster, name, flags)?], ctx));
    }
    if !t.param.is_empty() || !t.param_file.is_empty() {
        bail!(
            "-p and --param-file apply to --template NAME, or to --app NAME of an app made by `kascade new-app`"
        );
    }
    if !path.exists() {
        bail!(
            "no {} here: give -f PATH, --template NAME or --config FILE (see kascade sync --help)",
            path.display()
        );
    }
    let config = Config::load(&path)?;
    if let Some(dir) = &config.templates_dir {
        ctx.template_dirs.push(dir.clone());
    }
    let mut selected: Vec<AppConfig> = match &t.app {
        Some(name) => {
            let found: Vec<AppConfig> = config
                .apps
                .iter()
                .filter(|a| &a.name == name)
                .cloned()
                .collect();
            if found.is_empty() {
                bail!("app {name:?} is not declared in {}", path.display());
            }
            found
        }
        None => config.apps.clone(),
    };
    for a in &mut selected {
        a.policy.prune |= flags.prune;
        a.policy.allow_empty |= flags.allow_empty;
        if flags.max_deletions.is_some() {
            a.policy.max_deletions = flags.max_deletions;
        }
    }
    Ok((selected, ctx))
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
            revision_line(&plan)
        )?;
    }
    if args.target.output == PlanFormat::Json {
        writeln!(out, "{}", super::output::json_pretty(&plans))?;
    }
    Ok(u8::from(differs))
}
