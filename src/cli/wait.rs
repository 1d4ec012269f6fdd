//! Letting the embedded cluster settle after a command changed it: the controllers run until
//! nothing is left to do, so a script sees the whole cascade's result when the command returns
//! (`--no-wait` skips it; `kascade run` keeps the controllers running instead).
//!
//! Every state-changing command (`sync`, `tag`, `import-image`, `start-build`, `rollout`, and
//! `new-app`) flattens [`WaitArgs`] and calls [`settle`] after writing.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::cluster::{Backend, ClusterArgs};
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

/// A spinner on stderr when it is a terminal, hidden otherwise.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new() -> Self {
        let bar = if io::stderr().is_terminal() {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        } else {
            ProgressBar::hidden()
        };
        bar.set_prefix("settling");
        Progress { bar }
    }
}

impl Observer for Progress {
    fn activity(&mut self, activity: &Activity) {
        self.bar.set_message(activity.line());
    }
    fn progress(&mut self, steps: usize, pending: usize) {
        self.bar
            .set_prefix(format!("settling: {steps} steps, {pending} queued"));
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Runs the controllers of the embedded cluster until it settles; `None` with `--no-wait` or
/// on another backend (where the platform runs builds and triggers).
pub fn settle(cluster: &ClusterArgs, wait: &WaitArgs) -> anyhow::Result<Option<Report>> {
    if wait.no_wait || cluster.backend != Backend::Embedded {
        return Ok(None);
    }
    let mut local = LocalCluster::open(&cluster.state).with_context(|| {
        format!(
            "failed to open the embedded cluster in {}",
            cluster.state.display()
        )
    })?;
    let mut progress = Progress::new();
    let report = controllers::run_until_settled(&mut local, &Options::default(), &mut progress)
        .context("the embedded cluster's controllers failed")?;
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
