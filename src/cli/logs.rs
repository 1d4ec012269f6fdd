//! `kascade logs`: a build's log, as the embedded cluster's executor recorded it.

use std::io::{self, Write};

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::cluster::ClusterArgs;
use super::wait;
use crate::controllers::build;
use crate::resource::ResourceKey;

pub const EXAMPLES: &str = "Examples:
  kascade logs build/httpd-base-1 -n lab
  # the latest build of a BuildConfig
  kascade logs bc/app-a -n lab";

/// Arguments of `kascade logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// build/NAME, or bc/NAME for the BuildConfig's latest build.
    #[arg(value_name = "TYPE/NAME")]
    target: String,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    #[command(flatten)]
    cluster: ClusterArgs,
}

pub fn exec(args: LogsArgs) -> anyhow::Result<u8> {
    let Some((kind, name)) = args.target.split_once('/') else {
        bail!("{:?} is not TYPE/NAME (build/NAME or bc/NAME)", args.target);
    };
    let cluster = wait::open_local(&args.cluster, "logs")?;
    let ns = args.namespace.as_str();
    let build_name = match kind.to_ascii_lowercase().as_str() {
        "build" | "builds" | "build.build.openshift.io" => name.to_string(),
        "bc" | "buildconfig" | "buildconfigs" | "buildconfig.build.openshift.io" => {
            let bc = cluster
                .get(&ResourceKey::new(
                    "build.openshift.io",
                    "BuildConfig",
                    ns,
                    name,
                ))?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "buildconfigs.build.openshift.io {name:?} not found in namespace {ns:?}"
                    )
                })?;
            let v = bc
                .pointer("/status/lastVersion")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if v == 0 {
                bail!("buildconfig {name:?} has no builds yet");
            }
            format!("{name}-{v}")
        }
        other => bail!(
            "logs of {other:?} are not kept: the embedded cluster keeps build logs (build/NAME, bc/NAME)"
        ),
    };
    let b = cluster
        .get(&ResourceKey::new(
            "build.openshift.io",
            "Build",
            ns,
            &build_name,
        ))?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "builds.build.openshift.io {build_name:?} not found in namespace {ns:?}"
            )
        })?;
    let Some(log) = b.pointer("/status/log").and_then(Value::as_str) else {
        bail!(
            "build {build_name:?} has no log yet (phase {}); it runs when the cluster settles (any state-changing command, or `kascade run`)",
            build::phase(&b)
        );
    };
    io::stdout().lock().write_all(log.as_bytes())?;
    Ok(0)
}
