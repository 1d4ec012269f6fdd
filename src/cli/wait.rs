//! Letting the embedded cluster settle after a command changed it: the controllers run until
//! nothing is left to do, so a script sees the whole cascade's result when the command returns
//! (`--no-wait` skips it; `kascade run` keeps the controllers running instead).
//!
//! Every state-changing command (`sync`, `tag`, `import-image`, `start-build`, `rollout`, and
//! `new-app`) flattens [`WaitArgs`] and calls [`settle`] after writing.

use std::io::{self, Write};

use anyhow::Context as _;
use clap::Args;

use super::cluster::{Backend, ClusterArgs};
use super::progress::Progress;
use crate::cluster::LocalCluster;
use crate::controllers::{self, Activity, Observer, Options, Report};

/// `--no-wait`.
#[derive(Debug, Clone, Default, Args)]
pub struct WaitArgs {
    /// Return once the change is written, without running the embedded cluster's controllers
    /// (builds and rollouts then happen on the next command, or in `kascade run`).
    #[arg(long)]
    pub no_wait: bool,
}

/// The spinner of [`super::progress`], saying what the controllers are doing.
struct Observe {
    spinner: Progress,
    steps: usize,
}

impl Observer for Observe {
    fn activity(&mut self, activity: &Activity) {
        self.spinner.set_message(format!(
            "settling ({} steps): {}",
            self.steps,
            activity.line()
        ));
    }
    fn progress(&mut self, steps: usize, _pending: usize) {
        self.steps = steps;
    }
}

/// The marker holding the resourceVersion at which the controllers last settled the cluster.
const SETTLED_AT: &str = "controllers-settled-at";

/// Runs the controllers of the embedded cluster until it settles; `None` with `--no-wait` or
/// on another backend (where the platform runs builds and triggers).
pub fn settle(cluster: &ClusterArgs, wait: &WaitArgs) -> anyhow::Result<Option<Report>> {
    settle_with(cluster, wait, None)
}

/// [`settle`], with `observer` (when given) seeing what the controllers do instead of the
/// spinner: `start-build --follow` prints its build's log lines as the executor writes them.
pub fn settle_with(
    cluster: &ClusterArgs,
    wait: &WaitArgs,
    observer: Option<&mut dyn Observer>,
) -> anyhow::Result<Option<Report>> {
    if wait.no_wait || cluster.backend != Backend::Embedded {
        return Ok(None);
    }
    let mut local = LocalCluster::open(&cluster.state).with_context(|| {
        format!(
            "failed to open the embedded cluster in {}",
            cluster.state.display()
        )
    })?;
    // The controllers settled the cluster at some resourceVersion; when nothing has been
    // written since, there is nothing for them to do (a no-op sync stays cheap).
    let position = local.resource_version()?.to_string();
    if local.marker(SETTLED_AT)?.as_deref() == Some(position.as_str()) {
        return Ok(Some(Report::default()));
    }
    let mut spinner;
    let observer: &mut dyn Observer = match observer {
        Some(o) => o,
        None => {
            spinner = Observe {
                spinner: Progress::spinner("settling the embedded cluster"),
                steps: 0,
            };
            &mut spinner
        }
    };
    let report = controllers::run_until_settled(&mut local, &Options::default(), observer)
        .context("the embedded cluster's controllers failed")?;
    local.set_marker(SETTLED_AT, &local.resource_version()?.to_string())?;
    Ok(Some(report))
}

/// Prints what settling did that a person cares about: imports, finished builds, image
/// updates, rollouts, problems.
pub fn print_report(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for a in &report.activities {
        match a {
            Activity::BuildCreated { .. } | Activity::BuildRunning { .. } => {}
            other => writeln!(out, "{}", other.line())?,
        }
    }
    Ok(())
}

/// Opens the embedded cluster for a command that only works there.
pub fn open_local(cluster: &ClusterArgs, command: &str) -> anyhow::Result<LocalCluster> {
    if cluster.backend != Backend::Embedded {
        anyhow::bail!(
            "`kascade {command}` works on the embedded cluster; on OpenShift use `oc {command}`"
        );
    }
    LocalCluster::open(&cluster.state).with_context(|| {
        format!(
            "failed to open the embedded cluster in {}",
            cluster.state.display()
        )
    })
}
