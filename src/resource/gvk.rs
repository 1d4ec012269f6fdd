//! What kascade knows about API groups and kinds without asking a server.
//!
//! OpenShift 3 served its kinds from the legacy `/oapi` endpoint with `apiVersion: v1`; templates
//! still say so. [`groupify`] maps such a kind to its group exactly as library-go's
//! `legacygroupification` does, so `v1` Routes become `route.openshift.io/v1`.

/// The API group of an `apiVersion` (`"apps"` for `apps/v1`, `""` for `v1`).
pub fn group_of(api_version: &str) -> &str {
    match api_version.rsplit_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

/// The group a legacy OpenShift kind belongs to (library-go `oapiKindsToGroup`), or `None` for
/// core and unknown kinds.
pub fn legacy_group(kind: &str) -> Option<&'static str> {
    let base = kind.strip_suffix("List").unwrap_or(kind);
    let group = match base {
        "DeploymentConfig" | "DeploymentConfigRollback" | "DeploymentLog" | "DeploymentRequest" => {
            "apps.openshift.io"
        }
        "ClusterRole"
        | "ClusterRoleBinding"
        | "Role"
        | "RoleBinding"
        | "RoleBindingRestriction"
        | "LocalResourceAccessReview"
        | "LocalSubjectAccessReview"
        | "ResourceAccessReview"
        | "SubjectAccessReview"
        | "SelfSubjectRulesReview"
        | "SubjectRulesReview"
        | "IsPersonalSubjectAccessReview" => "authorization.openshift.io",
        "BuildConfig"
        | "Build"
        | "BinaryBuildRequestOptions"
        | "BuildLog"
        | "BuildLogOptions"
        | "BuildRequest" => "build.openshift.io",
        "Image" | "ImageSignature" | "ImageStream" | "ImageStreamImage" | "ImageStreamImport"
        | "ImageStreamMapping" | "ImageStreamTag" | "ImageStreamLayers" => "image.openshift.io",
        "ClusterNetwork" | "HostSubnet" | "NetNamespace" | "EgressNetworkPolicy" => {
            "network.openshift.io"
        }
        "OAuthAccessToken"
        | "OAuthAuthorizeToken"
        | "OAuthClient"
        | "OAuthClientAuthorization"
        | "OAuthRedirectReference" => "oauth.openshift.io",
        "Project" | "ProjectRequest" => "project.openshift.io",
        "ClusterResourceQuota" | "AppliedClusterResourceQuota" => "quota.openshift.io",
        "Route" => "route.openshift.io",
        "SecurityContextConstraints"
        | "PodSecurityPolicyReview"
        | "PodSecurityPolicySelfSubjectReview"
        | "PodSecurityPolicySubjectReview"
        | "RangeAllocation" => "security.openshift.io",
        "Template"
        | "TemplateConfig"
        | "ProcessedTemplate"
        | "TemplateInstance"
        | "BrokerTemplateInstance" => "template.openshift.io",
        "Group" | "Identity" | "User" | "UserIdentityMapping" => "user.openshift.io",
        _ => return None,
    };
    Some(group)
}

/// The `apiVersion` an object should carry: a group-less version of a legacy OpenShift kind gets
/// its group (`v1` Route → `route.openshift.io/v1`); anything else is returned unchanged.
pub fn groupify(api_version: &str, kind: &str) -> Option<String> {
    if api_version.contains('/') {
        return None;
    }
    legacy_group(kind).map(|group| format!("{group}/{api_version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_kinds_get_their_group() {
        assert_eq!(
            groupify("v1", "Route").as_deref(),
            Some("route.openshift.io/v1")
        );
        assert_eq!(
            groupify("v1", "DeploymentConfig").as_deref(),
            Some("apps.openshift.io/v1")
        );
        assert_eq!(
            groupify("v1", "ImageStreamTag").as_deref(),
            Some("image.openshift.io/v1")
        );
        assert_eq!(groupify("v1", "Service"), None);
        assert_eq!(groupify("apps/v1", "DeploymentConfig"), None);
        assert_eq!(group_of("v1"), "");
        assert_eq!(group_of("apps/v1"), "apps");
    }
}
