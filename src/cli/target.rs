//! The flags that choose which apps a command renders (`-f PATH`, `--template NAME -p …`,
//! `--config FILE`), shared by `sync`, `diff` and `graph`.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::app::{self, RenderContext};
use crate::config::{AppConfig, AppSource, Config};
use crate::reconcile::Policy;
use crate::template::openshift::params;

/// Which apps to render: one from `-f`/`--template`, or those of a `kascade.yaml`.
#[derive(Debug, Args)]
pub struct AppsArgs {
    /// A file or directory to render as one app (repeatable); instead of kascade.yaml.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// A catalog template to process as one app; instead of kascade.yaml.
    #[arg(long, value_name = "NAME", conflicts_with = "files")]
    pub template: Option<String>,
    /// A template parameter, KEY=VALUE (with --template).
    #[arg(
        short = 'p',
        long = "param",
        value_name = "KEY=VALUE",
        requires = "template"
    )]
    pub param: Vec<String>,
    /// A dotenv parameter file (with --template).
    #[arg(long = "param-file", value_name = "FILE", requires = "template")]
    pub param_file: Vec<PathBuf>,
    /// The app declaration file [default: ./kascade.yaml].
    #[arg(long, value_name = "FILE", conflicts_with_all = ["files", "template"])]
    pub config: Option<PathBuf>,
    /// The app: which one of kascade.yaml, or the name of the -f/--template app.
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

    /// The apps to render and how; `flags` is the policy of -f/--template apps and is merged
    /// into the policy of kascade.yaml apps.
    pub fn apps(&self, flags: Policy) -> anyhow::Result<(Vec<AppConfig>, RenderContext)> {
        let mut ctx = RenderContext {
            template_dirs: self.templates.clone(),
            seed: self.seed,
        };
        if !self.files.is_empty() || self.template.is_some() {
            let namespace = self
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_string());
            if !crate::config::is_dns_label(&namespace) {
                bail!("namespace {namespace:?} is not a valid namespace name");
            }
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
                bail!(
                    "app name {name:?} is not a DNS label (lower-case letters, digits and '-')"
                );
            }
            return Ok((vec![app::ad_hoc(name, namespace, source, flags)], ctx));
        }
        let path = self
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("kascade.yaml"));
        if !path.exists() {
            bail!(
                "no {} here: give -f PATH, --template NAME or --config FILE (see --help)",
                path.display()
            );
        }
        let config = Config::load(&path)?;
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
        Ok((selected, ctx))
    }
}
