//! What runs after a command changed the cluster.
//!
//! The one place where, on the embedded cluster, kascade's controllers (ImageStreams, Builds,
//! DeploymentConfig rollouts, the `image.openshift.io/triggers` annotation) will run until the
//! cluster settles after `new-app` or `delete`. They are not part of this build yet, so the
//! function does nothing today; a real cluster runs its own controllers and never needs it.

use crate::cluster::Cluster;

/// Called once after a command's writes were committed.
pub(crate) fn after_change(cluster: &mut dyn Cluster) -> anyhow::Result<()> {
    if !cluster.is_embedded() {
        return Ok(());
    }
    // The embedded controllers run here, until settled (issue: the embedded controllers).
    Ok(())
}
