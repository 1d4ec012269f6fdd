//! `kascade render PATH`: a directory of manifests and templates as one resource set.

use std::path::PathBuf;

use clap::Args;

use super::output::{self, Format};
use crate::template::render::{RenderOptions, render_path};

pub const EXAMPLES: &str = "Examples:
  # Render an example repository's apps as multi-document YAML
  kascade render examples/base-image/apps

  # As a v1 List in JSON, with reproducible generated values
  kascade render examples/base-image/apps -o json --seed 1

  # Just the names of what would be applied
  kascade render manifests/ -o name

Files: *.yaml, *.yml, *.json (plain objects, v1 Lists, OpenShift Templates with parameters
from <stem>.env beside them) and *.j2 / *.jinja minijinja templates.";

/// Arguments of `kascade render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The directory or file to render.
    path: PathBuf,
    /// Output format: a YAML stream (default), a v1 List as JSON, or names.
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    output: Format,
    /// Seed for generated parameter values (reproducible output).
    #[arg(long)]
    seed: Option<u64>,
}

pub fn exec(args: RenderArgs) -> anyhow::Result<u8> {
    let rendered = render_path(
        &args.path,
        &RenderOptions {
            seed: args.seed,
            ..Default::default()
        },
    )?;
    crate::triggers::check(&rendered.set)?;
    let objects: Vec<&serde_json::Value> = rendered.set.objects().collect();
    output::print_objects(&objects, args.output, true)?;
    tracing::info!(objects = objects.len(), "rendered {}", args.path.display());
    Ok(0)
}
