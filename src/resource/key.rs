//! The identity of an object: group, kind, namespace and name.

use std::fmt;

use serde_json::Value;

/// Identifies one object in a resource set or a cluster, as gitops-engine's `ResourceKey` does.
///
/// The group is the API group without the version (`""` for the core group); the namespace is
/// `""` for cluster-scoped objects and for namespaced objects that do not name one yet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey {
    /// API group, `""` for core (`v1`) kinds.
    pub group: String,
    /// Kind, as written (`Deployment`).
    pub kind: String,
    /// Namespace, `""` when none.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// Why an object has no key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The document is not a mapping.
    #[error("object is not a mapping")]
    NotAnObject,
    /// `apiVersion` is missing or not a string.
    #[error("object has no apiVersion")]
    NoApiVersion,
    /// `kind` is missing or not a string.
    #[error("object has no kind")]
    NoKind,
    /// `metadata.name` is missing, empty or not a string.
    #[error("{kind} has no metadata.name")]
    NoName {
        /// The kind of the nameless object.
        kind: String,
    },
}

impl ResourceKey {
    /// Builds a key from its parts.
    pub fn new(
        group: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        ResourceKey {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Reads the key of an object from its `apiVersion`, `kind` and `metadata`.
    pub fn of(object: &Value) -> Result<Self, KeyError> {
        let map = object.as_object().ok_or(KeyError::NotAnObject)?;
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(KeyError::NoApiVersion)?;
        let kind = map
            .get("kind")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(KeyError::NoKind)?;
        let metadata = map.get("metadata");
        let name = metadata
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| KeyError::NoName {
                kind: kind.to_string(),
            })?;
        let namespace = metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("");
        Ok(ResourceKey::new(
            super::gvk::group_of(api_version),
            kind,
            namespace,
            name,
        ))
    }

    /// The name `kubectl get -o name` prints: `kind.group/name`, kind lower-cased, `.group`
    /// omitted for the core group.
    pub fn kubectl_name(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        if self.group.is_empty() {
            format!("{kind}/{}", self.name)
        } else {
            format!("{kind}.{}/{}", self.group, self.name)
        }
    }
}

impl fmt::Display for ResourceKey {
    /// `group/Kind/namespace/name`, with empty parts left empty (`/Service/web/frontend`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.group, self.kind, self.namespace, self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_of_core_and_grouped_objects() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "prod"}});
        let key = ResourceKey::of(&svc).unwrap();
        assert_eq!(key, ResourceKey::new("", "Service", "prod", "web"));
        assert_eq!(key.to_string(), "/Service/prod/web");
        assert_eq!(key.kubectl_name(), "service/web");
        let route = json!({"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "r"}});
        let key = ResourceKey::of(&route).unwrap();
        assert_eq!(key.kubectl_name(), "route.route.openshift.io/r");
    }

    #[test]
    fn key_errors_name_what_is_missing() {
        assert_eq!(ResourceKey::of(&json!([])), Err(KeyError::NotAnObject));
        assert_eq!(
            ResourceKey::of(&json!({"kind": "X"})),
            Err(KeyError::NoApiVersion)
        );
        assert_eq!(
            ResourceKey::of(&json!({"apiVersion": "v1"})),
            Err(KeyError::NoKind)
        );
        let e = ResourceKey::of(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}}));
        assert_eq!(e.unwrap_err().to_string(), "Pod has no metadata.name");
    }
}
