//! Which kinds are cluster-scoped, without asking a server.
//!
//! The embedded cluster knows the built-in Kubernetes and OpenShift kinds; a
//! CustomResourceDefinition applied to it adds its kind with the scope it declares.

/// Whether a built-in kind of `group` is cluster-scoped (`None` when the kind is not built in).
pub fn builtin_cluster_scoped(group: &str, kind: &str) -> Option<bool> {
    let cluster = match (group, kind) {
        ("", "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus") => true,
        ("rbac.authorization.k8s.io", "ClusterRole" | "ClusterRoleBinding") => true,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => true,
        ("apiregistration.k8s.io", "APIService") => true,
        ("storage.k8s.io", "StorageClass" | "CSIDriver" | "CSINode" | "VolumeAttachment") => true,
        ("scheduling.k8s.io", "PriorityClass") => true,
        ("node.k8s.io", "RuntimeClass") => true,
        ("networking.k8s.io", "IngressClass") => true,
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding",
        ) => true,
        ("certificates.k8s.io", "CertificateSigningRequest") => true,
        ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration") => true,
        ("project.openshift.io", "Project" | "ProjectRequest") => true,
        ("user.openshift.io", "User" | "Group" | "Identity" | "UserIdentityMapping") => true,
        (
            "oauth.openshift.io",
            "OAuthClient" | "OAuthAccessToken" | "OAuthAuthorizeToken" | "OAuthClientAuthorization",
        ) => true,
        ("quota.openshift.io", "ClusterResourceQuota") => true,
        ("security.openshift.io", "SecurityContextConstraints" | "RangeAllocation") => true,
        ("image.openshift.io", "Image") => true,
        ("authorization.openshift.io", "ClusterRole" | "ClusterRoleBinding") => true,
        ("network.openshift.io", "ClusterNetwork" | "HostSubnet" | "NetNamespace") => true,
        ("config.openshift.io", _) => true,
        (
            "",
            "ConfigMap"
            | "Secret"
            | "Service"
            | "Pod"
            | "ServiceAccount"
            | "Endpoints"
            | "PersistentVolumeClaim"
            | "ReplicationController"
            | "LimitRange"
            | "ResourceQuota"
            | "Event"
            | "PodTemplate",
        ) => false,
        ("apps", _) | ("batch", _) | ("autoscaling", _) | ("policy", "PodDisruptionBudget") => {
            false
        }
        ("networking.k8s.io", "Ingress" | "NetworkPolicy") => false,
        ("rbac.authorization.k8s.io", "Role" | "RoleBinding") => false,
        (
            "apps.openshift.io"
            | "build.openshift.io"
            | "route.openshift.io"
            | "template.openshift.io",
            _,
        ) => false,
        ("image.openshift.io", _) => false,
        ("authorization.openshift.io", "Role" | "RoleBinding" | "RoleBindingRestriction") => false,
        ("discovery.k8s.io", "EndpointSlice") | ("coordination.k8s.io", "Lease") => false,
        ("events.k8s.io", "Event") => false,
        _ => return None,
    };
    Some(cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(builtin_cluster_scoped("", "Namespace"), Some(true));
        assert_eq!(builtin_cluster_scoped("", "ConfigMap"), Some(false));
        assert_eq!(builtin_cluster_scoped("apps", "Deployment"), Some(false));
        assert_eq!(
            builtin_cluster_scoped("image.openshift.io", "ImageStream"),
            Some(false)
        );
        assert_eq!(builtin_cluster_scoped("example.com", "Widget"), None);
    }
}
