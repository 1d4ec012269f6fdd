//! What runs after a command changed the cluster.
//!
//! On the embedded cluster kascade's controllers (ImageStreams, Builds, DeploymentConfig
//! rollouts, the `image.openshift.io/triggers` annotation) run until the cluster settles
//! ([`super::wait::settle`]); what they did is printed on stderr. A real cluster runs its own
//! controllers and never needs it.

use std::io;

use super::cluster::ClusterArgs;
use super::wait::{self, WaitArgs};
use crate::cluster::Cluster;

/// Called once after a command's writes were committed.
pub(crate) fn after_change(cluster: &mut dyn Cluster, args: &ClusterArgs) -> anyhow::Result<()> {
    if !cluster.is_embedded() {
        return Ok(());
    }
    if let Some(report) = wait::settle(args, &WaitArgs::default())? {
        wait::print_report(&report, &mut io::stderr().lock())?;
    }
    Ok(())
}
