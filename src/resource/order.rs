//! The order objects are applied in: Namespaces and CRDs first, then policy and config,
//! then ImageStreams and BuildConfigs, then workloads, then what exposes them (gitops-engine's
//! `kindOrder`, with OpenShift's kinds placed). Prune runs in the reverse order. Unknown kinds
//! come after the known ones.

const ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "ImageStream",
    "ImageStreamTag",
    "BuildConfig",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "DeploymentConfig",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "Route",
    "APIService",
];

/// The position of a kind in the apply order (unknown kinds after every known one).
pub fn rank(kind: &str) -> usize {
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order() {
        assert!(rank("Namespace") < rank("CustomResourceDefinition"));
        assert!(rank("ConfigMap") < rank("ImageStream"));
        assert!(rank("BuildConfig") < rank("DeploymentConfig"));
        assert!(rank("Deployment") < rank("Route"));
        assert!(rank("Route") < rank("Widget"));
    }
}
