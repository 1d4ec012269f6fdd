//! `kascade rollout latest|history|undo`: DeploymentConfig rollouts on the embedded cluster.

use std::io::{self, Write};

use anyhow::bail;
use clap::{Args, Subcommand};

use super::cluster::ClusterArgs;
use super::wait::{self, WaitArgs};
use crate::controllers::deploymentconfigs;

pub const EXAMPLES: &str = "Examples:
  kascade rollout latest dc/app-a -n lab
  kascade rollout history dc/app-a -n lab
  kascade rollout undo dc/app-a -n lab
  kascade rollout undo dc/app-a --to-revision 1 -n lab";

/// Arguments of `kascade rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Args)]
struct Common {
    /// The DeploymentConfig, dc/NAME.
    #[arg(value_name = "dc/NAME")]
    target: String,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    #[command(flatten)]
    cluster: ClusterArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Start a new rollout of the current pod template.
    #[command(after_help = EXAMPLES)]
    Latest {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List the revisions (one ReplicationController each).
    #[command(after_help = EXAMPLES)]
    History {
        #[command(flatten)]
        common: Common,
    },
    /// Roll back to a previous revision's pod template (disables automatic image triggers).
    #[command(after_help = EXAMPLES)]
    Undo {
        #[command(flatten)]
        common: Common,
        /// The revision to go back to [default: the one before the latest].
        #[arg(long, value_name = "N")]
        to_revision: Option<i64>,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

fn dc_name(target: &str) -> anyhow::Result<String> {
    match target.split_once('/') {
        Some((
            "dc" | "deploymentconfig" | "deploymentconfigs" | "deploymentconfig.apps.openshift.io",
            n,
        )) if !n.is_empty() => Ok(n.to_string()),
        _ => bail!(
            "{target:?} is not dc/NAME: kascade rolls out DeploymentConfigs (Deployments roll out through their image triggers)"
        ),
    }
}

pub fn exec(args: RolloutArgs) -> anyhow::Result<u8> {
    let mut out = io::stdout().lock();
    match args.action {
        Action::Latest { common, wait } => {
            let name = dc_name(&common.target)?;
            let mut c = wait::open_local(&common.cluster, "rollout")?;
            deploymentconfigs::rollout_latest(&mut c, &common.namespace, &name)?;
            drop(c);
            writeln!(out, "deploymentconfig.apps.openshift.io/{name} rolled out")?;
            if let Some(r) = wait::settle(&common.cluster, &wait)? {
                wait::print_report(&r, &mut out)?;
            }
        }
        Action::History { common } => {
            let name = dc_name(&common.target)?;
            let c = wait::open_local(&common.cluster, "rollout")?;
            let revisions = deploymentconfigs::history(&c, &common.namespace, &name)?;
            if revisions.is_empty() {
                writeln!(out, "No rollout history found.")?;
                return Ok(0);
            }
            writeln!(out, "deploymentconfigs {name:?}")?;
            let mut rows = vec![vec![
                "REVISION".into(),
                "STATUS".into(),
                "CAUSE".into(),
                "IMAGES".into(),
            ]];
            for r in revisions {
                rows.push(vec![
                    r.version.to_string(),
                    r.status,
                    r.cause,
                    r.images.join(","),
                ]);
            }
            write!(out, "{}", super::output::table(&rows, 0, 3))?;
        }
        Action::Undo {
            common,
            to_revision,
            wait,
        } => {
            let name = dc_name(&common.target)?;
            let mut c = wait::open_local(&common.cluster, "rollout")?;
            let (target, _, disabled) =
                deploymentconfigs::undo(&mut c, &common.namespace, &name, to_revision)?;
            drop(c);
            writeln!(
                out,
                "deploymentconfig.apps.openshift.io/{name} rolled back to revision {target}"
            )?;
            if !disabled.is_empty() {
                super::warn(&format!(
                    "the following image triggers were disabled: {}\n  a sync of the app re-enables them (its template says automatic: true)",
                    disabled.join(", ")
                ));
            }
            if let Some(r) = wait::settle(&common.cluster, &wait)? {
                wait::print_report(&r, &mut out)?;
            }
        }
    }
    Ok(0)
}
