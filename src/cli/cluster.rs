//! The flags that choose the cluster, shared by every command that reads or writes one.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cluster::{self, Cluster};

/// Which cluster a command works on.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// The cluster: the embedded one (a SQLite file under --state) or a Kubernetes/OpenShift
    /// cluster through kubeconfig (`kube`).
    #[arg(
        long = "cluster",
        value_enum,
        env = "KASCADE_CLUSTER",
        default_value = "embedded"
    )]
    pub backend: Backend,
    /// The state directory of the embedded cluster.
    #[arg(
        long,
        value_name = "DIR",
        env = "KASCADE_STATE",
        default_value = ".kascade"
    )]
    pub state: PathBuf,
    /// The kubeconfig context (with --cluster kube) [default: the current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig file (with --cluster kube) [default: $KUBECONFIG, else ~/.kube/config].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Where app inventories and statuses are kept on the cluster (with --cluster kube);
    /// created when missing.
    #[arg(
        long,
        value_name = "NS",
        env = "KASCADE_INVENTORY_NAMESPACE",
        default_value = "kascade-system"
    )]
    pub inventory_namespace: String,
}

/// A cluster backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The embedded cluster: one SQLite file.
    Embedded,
    /// A Kubernetes or OpenShift cluster through kubeconfig.
    Kube,
}

impl ClusterArgs {
    /// Opens the chosen cluster.
    pub fn open(&self) -> anyhow::Result<Box<dyn Cluster>> {
        match self.backend {
            Backend::Embedded => cluster::open_embedded(&self.state).with_context(|| {
                format!(
                    "failed to open the embedded cluster in {}",
                    self.state.display()
                )
            }),
            Backend::Kube => open_kube(self),
        }
    }
}

#[cfg(feature = "kube")]
fn open_kube(args: &ClusterArgs) -> anyhow::Result<Box<dyn Cluster>> {
    use crate::cluster::kubernetes::{ConnectOptions, KubeCluster};
    let cluster = KubeCluster::connect(&ConnectOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        inventory_namespace: Some(args.inventory_namespace.clone()),
    })
    .context("failed to open the kube cluster")?;
    Ok(Box::new(cluster))
}

#[cfg(not(feature = "kube"))]
fn open_kube(_args: &ClusterArgs) -> anyhow::Result<Box<dyn Cluster>> {
    anyhow::bail!(
        "this kascade was built without the `kube` feature; rebuild with it to use --cluster kube"
    )
}
