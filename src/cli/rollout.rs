//! `kascade rollout latest|history|undo|restart`: rollouts on the embedded cluster —
//! DeploymentConfigs (one ReplicationController per rollout, as `oc rollout`) and Deployments,
//! StatefulSets and DaemonSets (ReplicaSets and ControllerRevisions, as `kubectl rollout`).

use std::io::{self, Write};

use anyhow::bail;
use clap::{Args, Subcommand};

use super::cluster::ClusterArgs;
use super::wait::{self, WaitArgs};
use crate::cluster::local::now_rfc3339;
use crate::controllers::deploymentconfigs;
use crate::controllers::workloads::{self, Undo, Workload};

pub const EXAMPLES: &str = "Examples:
  # DeploymentConfigs, as oc rollout
  kascade rollout latest dc/app-a -n lab
  kascade rollout history dc/app-a -n lab
  kascade rollout undo dc/app-a --to-revision 1 -n lab

  # Deployments, StatefulSets and DaemonSets, as kubectl rollout
  kascade rollout history deployment/web -n lab
  kascade rollout undo deployment/web -n lab
  kascade rollout undo sts/db --to-revision 2 -n lab
  kascade rollout restart ds/agent -n lab";

/// Arguments of `kascade rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Args)]
struct Common {
    /// What to roll out: dc/NAME, deployment/NAME (deploy), statefulset/NAME (sts) or
    /// daemonset/NAME (ds).
    #[arg(value_name = "TYPE/NAME")]
    target: String,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    #[command(flatten)]
    cluster: ClusterArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Start a new rollout of a DeploymentConfig's current pod template.
    #[command(after_help = EXAMPLES)]
    Latest {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List the revisions (ReplicationControllers, ReplicaSets or ControllerRevisions).
    #[command(after_help = EXAMPLES)]
    History {
        #[command(flatten)]
        common: Common,
    },
    /// Roll back to a previous revision's pod template (a DeploymentConfig's automatic image
    /// triggers are disabled).
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
    /// Roll out a Deployment, StatefulSet or DaemonSet again with the same pod template
    /// (stamps it with kubectl.kubernetes.io/restartedAt, as kubectl does).
    #[command(after_help = EXAMPLES)]
    Restart {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// What a TYPE/NAME argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Dc(String),
    Workload(Workload, String),
}

fn target(arg: &str) -> anyhow::Result<Target> {
    let parsed = match arg.split_once('/') {
        Some((kind, name)) if !name.is_empty() && !name.contains('/') => {
            match kind.to_ascii_lowercase().as_str() {
                "dc"
                | "deploymentconfig"
                | "deploymentconfigs"
                | "deploymentconfig.apps.openshift.io" => Some(Target::Dc(name.to_string())),
                "deploy" | "deployment" | "deployments" | "deployment.apps"
                | "deployments.apps" => Some(Target::Workload(Workload::Deployment, name.into())),
                "sts" | "statefulset" | "statefulsets" | "statefulset.apps"
                | "statefulsets.apps" => Some(Target::Workload(Workload::StatefulSet, name.into())),
                "ds" | "daemonset" | "daemonsets" | "daemonset.apps" | "daemonsets.apps" => {
                    Some(Target::Workload(Workload::DaemonSet, name.into()))
                }
                _ => None,
            }
        }
        _ => None,
    };
    match parsed {
        Some(t) => Ok(t),
        None => bail!(
            "{arg:?} is not TYPE/NAME: kascade rolls out dc/NAME, deployment/NAME, statefulset/NAME and daemonset/NAME"
        ),
    }
}

/// `rollout history` of a workload, in kubectl's layout.
fn print_history(
    out: &mut dyn Write,
    kind: Workload,
    name: &str,
    revisions: &[workloads::Revision],
) -> io::Result<()> {
    // kubectl prints the name with an (empty) operation after it, hence the trailing space.
    writeln!(out, "{} ", kind.kubectl_name(name))?;
    if revisions.is_empty() {
        writeln!(out, "No rollout history found.")?;
        return Ok(());
    }
    let mut rows = vec![vec!["REVISION".to_string(), "CHANGE-CAUSE".to_string()]];
    for r in revisions {
        rows.push(vec![
            r.revision.to_string(),
            r.change_cause.clone().unwrap_or_else(|| "<none>".into()),
        ]);
    }
    write!(out, "{}", super::output::table(&rows, 0, 2))?;
    writeln!(out)
}

pub fn exec(args: RolloutArgs) -> anyhow::Result<u8> {
    let mut out = io::stdout().lock();
    match args.action {
        Action::Latest { common, wait } => {
            let name = match target(&common.target)? {
                Target::Dc(name) => name,
                Target::Workload(kind, name) => bail!(
                    "`kascade rollout latest` rolls out DeploymentConfigs; for {} use `kascade rollout restart`",
                    kind.kubectl_name(&name)
                ),
            };
            let mut c = wait::open_local(&common.cluster, "rollout")?;
            deploymentconfigs::rollout_latest(&mut c, &common.namespace, &name)?;
            drop(c);
            writeln!(out, "deploymentconfig.apps.openshift.io/{name} rolled out")?;
            if let Some(r) = wait::settle(&common.cluster, &wait)? {
                wait::print_report(&r, &mut out)?;
            }
        }
        Action::History { common } => match target(&common.target)? {
            Target::Dc(name) => {
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
            Target::Workload(kind, name) => {
                let c = wait::open_local(&common.cluster, "rollout")?;
                let revisions = workloads::history(&c, kind, &common.namespace, &name)?;
                print_history(&mut out, kind, &name, &revisions)?;
            }
        },
        Action::Undo {
            common,
            to_revision,
            wait,
        } => {
            match target(&common.target)? {
                Target::Dc(name) => {
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
                }
                Target::Workload(kind, name) => {
                    let mut c = wait::open_local(&common.cluster, "rollout")?;
                    let done =
                        workloads::undo(&mut c, kind, &common.namespace, &name, to_revision)?;
                    let triggered =
                        workloads::has_active_triggers(&c, kind, &common.namespace, &name);
                    drop(c);
                    match done {
                        Undo::RolledBack(_) => {
                            writeln!(out, "{} rolled back", kind.kubectl_name(&name))?;
                            if triggered {
                                super::warn(&format!(
                                    "{} has image.openshift.io/triggers: the triggered containers get their tags' images again (pause the triggers to keep the rollback)",
                                    kind.kubectl_name(&name)
                                ));
                            }
                        }
                        Undo::Skipped(revision) => writeln!(
                            out,
                            "{} skipped rollback (current template already matches revision {revision})",
                            kind.kubectl_name(&name)
                        )?,
                    }
                }
            }
            if let Some(r) = wait::settle(&common.cluster, &wait)? {
                wait::print_report(&r, &mut out)?;
            }
        }
        Action::Restart { common, wait } => {
            let (kind, name) = match target(&common.target)? {
                Target::Workload(kind, name) => (kind, name),
                Target::Dc(name) => bail!(
                    "`kascade rollout restart` restarts Deployments, StatefulSets and DaemonSets; for dc/{name} use `kascade rollout latest`"
                ),
            };
            let mut c = wait::open_local(&common.cluster, "rollout")?;
            workloads::restart(&mut c, kind, &common.namespace, &name, &now_rfc3339())?;
            drop(c);
            writeln!(out, "{} restarted", kind.kubectl_name(&name))?;
            if let Some(r) = wait::settle(&common.cluster, &wait)? {
                wait::print_report(&r, &mut out)?;
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(target("dc/a").unwrap(), Target::Dc("a".into()));
        assert_eq!(
            target("deploy/web").unwrap(),
            Target::Workload(Workload::Deployment, "web".into())
        );
        assert_eq!(
            target("sts/db").unwrap(),
            Target::Workload(Workload::StatefulSet, "db".into())
        );
        assert_eq!(
            target("daemonset.apps/x").unwrap(),
            Target::Workload(Workload::DaemonSet, "x".into())
        );
        for bad in ["web", "pod/web", "deployment/", "deployment/a/b"] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn history_layout_is_kubectls() {
        let mut out = Vec::new();
        let revs = [
            workloads::Revision {
                revision: 1,
                change_cause: None,
                record: "web-a".into(),
            },
            workloads::Revision {
                revision: 12,
                change_cause: Some("image bump".into()),
                record: "web-b".into(),
            },
        ];
        print_history(&mut out, Workload::Deployment, "web", &revs).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n12        image bump\n\n"
        );
    }
}
