//! The flags that choose which apps a command renders (`-f PATH`, `--template NAME -p …`,
//! `--config FILE`, `--app NAME` of an app made by `kascade new-app`), shared by `sync`,
//! `diff` and `graph`.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;

use crate::app::{self, RenderContext};
use crate::cluster::Cluster;
use crate::config::{AppConfig, AppSource, Config};
use crate::newapp;
use crate::reconcile::Policy;
use crate::template::openshift::params;

/// Which apps to render: one from `-f`/`--template`, those of a `kascade.yaml`, or an app
/// `kascade new-app` recorded.
#[derive(Debug, Args)]
pub struct AppsArgs {
    /// A file or directory to render as one app (repeatable); instead of kascade.yaml.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// A catalog template to process as one app; instead of kascade.yaml.
    #[arg(long, value_name = "NAME", conflicts_with = "files")]
    pub template: Option<String>,
    /// A template parameter, KEY=VALUE (with --template, or with --app for an app made by
    /// `kascade new-app`, where it replaces the recorded value).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub param: Vec<String>,
    /// A dotenv parameter file (with --template, or --app as for -p).
    #[arg(long = "param-file", value_name = "FILE")]
    pub param_file: Vec<PathBuf>,
    /// The app declaration file [default: ./kascade.yaml; with --repo, kascade.yaml of the
    /// fetched directory, and FILE is relative to it].
    #[arg(long, value_name = "FILE", conflicts_with_all = ["files", "template"])]
    pub config: Option<PathBuf>,
    /// The app: which one of kascade.yaml, or the name of the -f/--template app. Alone (no
    /// kascade.yaml here), an app made by `kascade new-app`, rendered from its recorded source.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Namespace for namespaced objects that name none (-f/--template apps) [default: default].
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// A directory of extra catalog templates.
    #[arg(long = "templates", value_name = "DIR")]
    pub templates: Vec<PathBuf>,
    /// Seed for newly generated parameter values (values already stored are always reused).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl AppsArgs {
    /// Whether -f, --template or --config was given.
    pub fn explicit(&self) -> bool {
        !self.files.is_empty() || self.template.is_some() || self.config.is_some()
    }

    /// An app made by `kascade new-app`, from the source recorded in the cluster, with `-p` and
    /// `--param-file` values replacing recorded ones.
    pub fn recorded_app(
        &self,
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
        if let Some(ns) = &self.namespace
            && *ns != namespace
        {
            bail!("app {name:?} lives in namespace {namespace:?}, not {ns:?}");
        }
        let mut given = params::parse_cli_assignments(&self.param)?;
        for f in &self.param_file {
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

    /// The -n namespace of -f/--template apps, `default` when not given.
    pub fn namespace_flag(&self) -> anyhow::Result<String> {
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        if !crate::config::is_dns_label(&namespace) {
            bail!("namespace {namespace:?} is not a valid namespace name");
        }
        Ok(namespace)
    }

    /// The apps of -f, --template, a local kascade.yaml (--config) or one `kascade new-app`
    /// recorded (--app alone); `flags` is the policy of -f/--template apps and is merged into
    /// the policy of kascade.yaml apps.
    pub fn local_apps(
        &self,
        cluster: &dyn Cluster,
        flags: Policy,
    ) -> anyhow::Result<(Vec<AppConfig>, RenderContext)> {
        let mut ctx = RenderContext {
            template_dirs: self.templates.clone(),
            seed: self.seed,
            revision: None,
            origin: None,
        };
        if !self.files.is_empty() || self.template.is_some() {
            if self.template.is_none() && (!self.param.is_empty() || !self.param_file.is_empty()) {
                bail!(
                    "-p and --param-file apply to --template NAME, or to --app NAME of an app made by `kascade new-app`"
                );
            }
            let namespace = self.namespace_flag()?;
            let (source, derived) = if let Some(name) = &self.template {
                let cli = params::parse_cli_assignments(&self.param)?;
                (
                    AppSource::Template {
                        name: name.clone(),
                        parameters: cli,
                        parameter_files: self.param_file.clone(),
                    },
                    app::derive_name(name),
                )
            } else if self.files.len() == 1 {
                (
                    AppSource::Path(self.files[0].clone()),
                    app::derive_name(&self.files[0].to_string_lossy()),
                )
            } else {
                bail!(
                    "give one -f PATH per app (a directory holds many files); for several apps, declare them in kascade.yaml"
                );
            };
            let name = self.app.clone().unwrap_or(derived);
            if !crate::config::is_dns_label(&name) {
                bail!("app name {name:?} is not a DNS label (lower-case letters, digits and '-')");
            }
            return Ok((vec![app::ad_hoc(name, namespace, source, flags)], ctx));
        }
        let path = self
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("kascade.yaml"));
        if self.config.is_none()
            && !path.exists()
            && let Some(name) = &self.app
        {
            return Ok((vec![self.recorded_app(cluster, name, flags)?], ctx));
        }
        if !self.param.is_empty() || !self.param_file.is_empty() {
            bail!(
                "-p and --param-file apply to --template NAME, or to --app NAME of an app made by `kascade new-app`"
            );
        }
        if !path.exists() {
            bail!(
                "no {} here: give -f PATH, --template NAME, --repo URL or --config FILE (see --help)",
                path.display()
            );
        }
        let selected = self.declared_apps(&path, &mut ctx, &flags)?;
        Ok((selected, ctx))
    }

    /// The apps of a kascade.yaml, those chosen with --app, with the policy flags applied.
    pub fn declared_apps(
        &self,
        path: &Path,
        ctx: &mut RenderContext,
        flags: &Policy,
    ) -> anyhow::Result<Vec<AppConfig>> {
        let config = Config::load(path)?;
        if let Some(dir) = &config.templates_dir {
            ctx.template_dirs.push(dir.clone());
        }
        let mut selected: Vec<AppConfig> = match &self.app {
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
        Ok(selected)
    }
}
