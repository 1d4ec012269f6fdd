//! `kascade new-app`: instantiate a template as `oc new-app --template` does, as one app.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use super::output;
use super::warn;
use crate::app::{self, RenderContext, TemplateSummary};
use crate::config::AppSource;
use crate::diff::INSTANCE_LABEL;
use crate::newapp::{self, NewAppSource, TemplateRef};
use crate::reconcile::{self, Policy};
use crate::resource::print::qualified_kind;
use crate::resource::{ResourceKey, list_of, yaml};
use crate::template::catalog;
use crate::template::openshift::{self, params};

pub const EXAMPLES: &str = "Examples:
  # Instantiate a built-in template into the embedded cluster, as `oc new-app --template`
  kascade new-app --template=base-image-example -p GIT_URL=https://example.com/lab.git

  # A template file, into a new namespace, with extra labels
  kascade new-app -f template.yaml -p NAME=web -n shop --create-namespace -l team=shop

  # What would be created, without creating it (or the objects as a List)
  kascade new-app --template=nodejs-example --dry-run
  kascade new-app --template=nodejs-example -o yaml

  # Later: compare with the cluster, or sync again, from the recorded source
  kascade diff --app base-image-example
  kascade sync --app base-image-example

Generated parameter values are stored in the Secret kascade-params-<app> and reused by every
later sync of the app; they never rotate.";

/// An output format for `new-app -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ListFormat {
    Json,
    Yaml,
}

/// Arguments of `kascade new-app`.
#[derive(Debug, Args)]
pub struct NewAppArgs {
    /// A catalog template (`name`, `template/name`, `ns//name`).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    template: Option<String>,
    /// A template file (YAML or JSON).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Set a parameter, KEY=VALUE (repeatable; a later value for the same key wins, with a
    /// warning, as oc new-app does).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    param: Vec<String>,
    /// Read parameters from a dotenv file (repeatable). -p wins; the first file wins.
    #[arg(long = "param-file", value_name = "FILE")]
    param_file: Vec<PathBuf>,
    /// The namespace (it must exist, unless --create-namespace) [default: default].
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    /// Create the namespace with the app when it does not exist (it becomes one of the app's
    /// objects, never pruned unless opted in).
    #[arg(long)]
    create_namespace: bool,
    /// The app's name and the value of the implicit `app` labels [default: the template's
    /// name].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Labels to set on every object, `k=v,k2=v2`.
    #[arg(short = 'l', long = "labels", value_name = "LABELS")]
    labels: Option<String>,
    /// Print what would be created, create nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the objects as a v1 List instead of creating them.
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<ListFormat>,
    /// A directory of extra catalog templates.
    #[arg(long = "templates", value_name = "DIR")]
    templates: Vec<PathBuf>,
    /// Seed for the generated parameter values (for reproducible runs).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
}

/// `-p` values with oc new-app's rule for duplicates (the later wins, with a warning), then
/// the `--param-file` values not given with `-p` (the first file wins, with oc's warning).
fn parameters(args: &NewAppArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut values: Vec<(String, String)> = Vec::new();
    for a in &args.param {
        let (k, v) = params::parse_assignment(a)?;
        if let Some(slot) = values.iter_mut().find(|(key, _)| *key == k) {
            warn(&format!("Template parameter {k:?} was overwritten"));
            slot.1 = v;
        } else {
            values.push((k, v));
        }
    }
    let given: HashSet<String> = values.iter().map(|(k, _)| k.clone()).collect();
    let mut from_files: Vec<(String, String)> = Vec::new();
    for f in &args.param_file {
        let display = f.display().to_string();
        for (k, v) in params::read_env_file(&display, None)? {
            if given.contains(&k) || from_files.iter().any(|(key, _)| *key == k) {
                warn(&format!(
                    "Template parameter {k:?} already defined, ignoring value from file {display:?}"
                ));
                continue;
            }
            from_files.push((k, v));
        }
    }
    values.extend(from_files);
    Ok(values)
}

fn absolute(p: &std::path::Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
}

/// The template reference and its `metadata.name`.
fn template_ref(args: &NewAppArgs) -> anyhow::Result<(TemplateRef, String)> {
    if let Some(file) = &args.file {
        let bytes = std::fs::read(file)
            .with_context(|| format!("cannot read template file {}", file.display()))?;
        let template = openshift::Template::from_bytes(&bytes, &file.display().to_string())?;
        if template.name.is_empty() {
            bail!(
                "template {} has no metadata.name; give the app a name with --name",
                file.display()
            );
        }
        return Ok((TemplateRef::File(absolute(file)?), template.name));
    }
    let reference = args.template.clone().unwrap_or_default();
    let name = catalog::parse_name(&reference)?;
    Ok((TemplateRef::Catalog(reference), name))
}

fn header(
    out: &mut impl Write,
    summary: &TemplateSummary,
    input: &str,
    namespace: &str,
) -> io::Result<()> {
    let qualified = format!("{namespace}/{}", summary.name);
    if !input.is_empty() && input != summary.name {
        writeln!(
            out,
            "--> Deploying template {qualified:?} for {input:?} to project {namespace}"
        )?;
    } else {
        writeln!(
            out,
            "--> Deploying template {qualified:?} to project {namespace}"
        )?;
    }
    writeln!(out)?;
    let message = summary.message.as_deref().unwrap_or_default();
    if !message.is_empty() || !summary.description.is_empty() {
        writeln!(out, "     {}", summary.display_name)?;
        writeln!(out, "     ---------")?;
        for block in [summary.description.as_str(), message] {
            if block.is_empty() {
                continue;
            }
            for line in block.trim_end_matches('\n').split('\n') {
                writeln!(out, "     {line}")?;
            }
            writeln!(out)?;
        }
    }
    if !summary.parameters.is_empty() {
        writeln!(out, "     * With parameters:")?;
        for (name, value, generated) in &summary.parameters {
            let mark = if *generated { " # generated" } else { "" };
            writeln!(out, "        * {name}={value}{mark}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `kascade new-app`.
pub fn exec(args: NewAppArgs) -> anyhow::Result<u8> {
    let (template, template_name) = template_ref(&args)?;
    let name = args.name.clone().unwrap_or_else(|| template_name.clone());
    if !crate::config::is_dns_label(&name) {
        bail!(
            "app name {name:?} is not a DNS label (lower-case letters, digits and '-'); choose one with --name"
        );
    }
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    if !crate::config::is_dns_label(&namespace) {
        bail!("namespace {namespace:?} is not a valid namespace name");
    }
    let labels = match &args.labels {
        Some(l) => params::parse_labels(l)?,
        None => BTreeMap::new(),
    };
    let parameters = parameters(&args)?;
    let mut cluster = args.cluster.open()?;

    if cluster.inventory(&name)?.is_some()
        || newapp::stored_source(cluster.as_ref(), &name)?.is_some()
    {
        bail!(
            "app {name:?} exists already; change it with `kascade sync --app {name}` or give the new app another name with --name"
        );
    }
    let ns_key = ResourceKey::new("", "Namespace", "", namespace.clone());
    let create_namespace = if cluster.get(&ns_key)?.is_some() {
        false
    } else if args.create_namespace {
        true
    } else {
        bail!(
            "namespace {namespace:?} not found in {}; create it first or pass --create-namespace",
            cluster.describe()
        );
    };
    let template_dirs = args
        .templates
        .iter()
        .map(|d| absolute(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let source = NewAppSource {
        template,
        parameters,
        labels: labels.clone(),
        name: args.name.clone(),
        template_dirs,
        create_namespace,
    };
    let app_config = app::ad_hoc(
        name.clone(),
        namespace.clone(),
        AppSource::NewApp(Box::new(source.clone())),
        Policy::default(),
    );
    let ctx = RenderContext {
        template_dirs: Vec::new(),
        seed: args.seed,
        revision: None,
        origin: None,
    };
    let (rendered, summary) = app::render_app_with_summary(cluster.as_ref(), &app_config, &ctx)
        .map_err(|e| match &e {
            app::AppError::Template { message, .. } => anyhow::anyhow!(
                "error processing template {:?}: {message}",
                format!("{namespace}/{template_name}")
            ),
            _ => anyhow::Error::new(e),
        })?;
    let prepared = reconcile::prepare(cluster.as_ref(), &rendered.spec, rendered.set)?;

    // Nothing that exists is taken over: every clash is named, nothing is applied.
    let keys: Vec<ResourceKey> = prepared.iter().map(|r| r.key.clone()).collect();
    let lives = cluster.get_many(&keys)?;
    let clashes: Vec<String> = keys
        .iter()
        .zip(&lives)
        .filter_map(|(key, live)| {
            let live = live.as_ref()?;
            let owner = live
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(INSTANCE_LABEL))
                .and_then(Value::as_str);
            let whose = match owner {
                Some(o) => format!("belongs to app {o:?}"),
                None => "not managed by kascade".to_string(),
            };
            Some(format!(
                "{} {:?} ({whose})",
                qualified_kind(&key.group, &key.kind),
                key.name
            ))
        })
        .collect();
    if !clashes.is_empty() {
        bail!(
            "cannot create app {name:?} in namespace {namespace:?}: {} already: {}; nothing was applied",
            if clashes.len() == 1 {
                "1 object exists".to_string()
            } else {
                format!("{} objects exist", clashes.len())
            },
            clashes.join(", ")
        );
    }

    let mut out = io::stdout().lock();
    if let Some(format) = args.output {
        let objects: Vec<&Value> = prepared.iter().map(|r| &r.object).collect();
        match format {
            ListFormat::Json => out.write_all(output::list_json(&objects).as_bytes())?,
            ListFormat::Yaml => out.write_all(yaml::to_yaml(&list_of(objects)).as_bytes())?,
        }
        return Ok(0);
    }
    let summary = summary.context("a template app has a summary")?;
    let input = args.template.as_deref().unwrap_or_default();
    header(&mut out, &summary, input, &namespace)?;
    if labels.is_empty() {
        writeln!(out, "--> Creating resources ...")?;
    } else {
        let shown: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(
            out,
            "--> Creating resources with label {} ...",
            shown.join(",")
        )?;
    }
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    if !args.dry_run {
        out.flush()?;
        let applied = reconcile::plan(cluster.as_ref(), &rendered.spec, prepared)
            .and_then(|mut plan| reconcile::apply(cluster.as_mut(), &mut plan));
        if let Err(e) = applied {
            writeln!(out, "--> Failed")?;
            return Err(e.into());
        }
        newapp::record_source(cluster.as_mut(), &name, &namespace, &source)?;
        super::settle::after_change(cluster.as_mut(), &args.cluster)?;
    }
    for key in &keys {
        writeln!(
            out,
            "    {} {:?} created{suffix}",
            qualified_kind(&key.group, &key.kind),
            key.name
        )?;
    }
    writeln!(out, "--> Success{suffix}")?;
    if !args.dry_run {
        writeln!(
            out,
            "    Run 'kascade get all -n {namespace} -l {INSTANCE_LABEL}={name}' to view your app."
        )?;
    }
    out.flush()?;
    Ok(0)
}
