//! What `oc new-app --template` adds to a processed template, and the record that lets a
//! new-app app be synced and diffed again without repeating its flags.
//!
//! Decoration (spec §9.6–§9.7), applied after processing:
//!
//! 1. the user's `-l` labels are set on every object's `metadata.labels`;
//! 2. the implicit labels `app=<name>`, `app.kubernetes.io/instance=<name>` and
//!    `app.kubernetes.io/component=<name>` (`<name>` is `--name`, else the template's name)
//!    are set on every object's `metadata.labels`, but only when no object already carries
//!    any of those keys in `metadata.labels` or in a DeploymentConfig's pod-template labels;
//! 3. the annotation `openshift.io/generated-by: OpenShiftNewApp` is set on every object, and
//!    on the pod-template annotations of Deployments and DeploymentConfigs.
//!
//! The source of a new-app app (template, parameters, labels, name) is recorded in the app's
//! status under [`SOURCE_KEY`] after its first sync; [`stored_source`] reads it back so that
//! `kascade diff --app NAME` and `kascade sync --app NAME` render the same objects again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::cluster::{Cluster, ClusterError};

/// The annotation `oc new-app` puts on every object it creates.
pub const GENERATED_BY: &str = "openshift.io/generated-by";
/// Its value.
pub const GENERATED_BY_NEW_APP: &str = "OpenShiftNewApp";
/// The labels `oc new-app` adds when no object has any of them.
pub const IMPLICIT_LABELS: [&str; 3] = [
    "app",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
];
/// The key of the recorded source in an app's status.
pub const SOURCE_KEY: &str = "source";

/// Where a new-app template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    /// A catalog template, by name.
    Catalog(String),
    /// A template file (recorded as an absolute path).
    File(PathBuf),
}

/// Everything that renders a new-app app again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppSource {
    /// The template.
    pub template: TemplateRef,
    /// Parameter values (`-p`, then `--param-file` values not given with `-p`), in order.
    pub parameters: Vec<(String, String)>,
    /// The user's `-l` labels.
    pub labels: BTreeMap<String, String>,
    /// `--name`: the value of the implicit labels (default: the template's name).
    pub name: Option<String>,
    /// Extra catalog directories (`--templates`), absolute.
    pub template_dirs: Vec<PathBuf>,
    /// Whether the app's namespace is one of its objects (`--create-namespace`).
    pub create_namespace: bool,
}

/// A recorded source that cannot be read back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The record is damaged.
    #[error("the recorded source of app {app:?} is invalid: {message}")]
    Invalid {
        /// The app.
        app: String,
        /// What is wrong.
        message: String,
    },
}

impl NewAppSource {
    /// The record as JSON, with the app's namespace.
    pub fn to_json(&self, namespace: &str) -> Value {
        let (template, file) = match &self.template {
            TemplateRef::Catalog(n) => (Value::String(n.clone()), Value::Null),
            TemplateRef::File(p) => (Value::Null, Value::String(p.display().to_string())),
        };
        json!({
            "kind": "new-app",
            "namespace": namespace,
            "template": template,
            "file": file,
            "parameters": self.parameters.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "labels": self.labels,
            "name": self.name,
            "templateDirs": self.template_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
            "createNamespace": self.create_namespace,
        })
    }

    /// Reads a record written by [`NewAppSource::to_json`]; returns it with the namespace.
    pub fn from_json(v: &Value) -> Result<(NewAppSource, String), String> {
        if v.get("kind").and_then(Value::as_str) != Some("new-app") {
            return Err("not a new-app record".into());
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let namespace = text("namespace").ok_or("no namespace")?;
        let template = match (text("template"), text("file")) {
            (Some(n), None) => TemplateRef::Catalog(n),
            (None, Some(f)) => TemplateRef::File(PathBuf::from(f)),
            _ => return Err("exactly one of template and file must be set".into()),
        };
        let mut parameters = Vec::new();
        for p in v
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match p.as_array().map(Vec::as_slice) {
                Some([Value::String(k), Value::String(val)]) => {
                    parameters.push((k.clone(), val.clone()));
                }
                _ => return Err(format!("parameter {p} is not a [name, value] pair")),
            }
        }
        let mut labels = BTreeMap::new();
        for (k, val) in v
            .get("labels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let val = val
                .as_str()
                .ok_or_else(|| format!("label {k:?} is not a string"))?;
            labels.insert(k.clone(), val.to_string());
        }
        let template_dirs = v
            .get("templateDirs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(PathBuf::from)
            .collect();
        Ok((
            NewAppSource {
                template,
                parameters,
                labels,
                name: text("name"),
                template_dirs,
                create_namespace: v.get("createNamespace").and_then(Value::as_bool) == Some(true),
            },
            namespace,
        ))
    }
}

/// Reads the recorded source of an app: `None` when the app has none (it does not exist, or
/// it was not made by `kascade new-app`).
pub fn stored_source(
    cluster: &dyn Cluster,
    app: &str,
) -> Result<Option<(NewAppSource, String)>, SourceError> {
    let Some(status) = cluster.app_status(app)? else {
        return Ok(None);
    };
    let Some(record) = status.get(SOURCE_KEY) else {
        return Ok(None);
    };
    NewAppSource::from_json(record)
        .map(Some)
        .map_err(|message| SourceError::Invalid {
            app: app.to_string(),
            message,
        })
}

/// Records an app's source in its status, keeping the status's other keys. Writes nothing
/// when the same record is there already.
pub fn record_source(
    cluster: &mut dyn Cluster,
    app: &str,
    namespace: &str,
    source: &NewAppSource,
) -> Result<(), ClusterError> {
    let record = source.to_json(namespace);
    let mut status = match cluster.app_status(app)? {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if status.get(SOURCE_KEY) == Some(&record) {
        return Ok(());
    }
    status.insert(SOURCE_KEY.into(), record);
    cluster.set_app_status(app, &Value::Object(status))
}

fn labels_of(v: &Value) -> Option<&Map<String, Value>> {
    v.get("metadata")?.get("labels")?.as_object()
}

fn pod_template_labels(v: &Value) -> Option<&Map<String, Value>> {
    if v.get("kind").and_then(Value::as_str) != Some("DeploymentConfig") {
        return None;
    }
    v.get("spec")?
        .get("template")?
        .get("metadata")?
        .get("labels")?
        .as_object()
}

fn set_map_entry(object: &mut Value, path: &[&str], key: &str, value: &str) {
    let mut cur = object;
    for p in path {
        let Some(map) = cur.as_object_mut() else {
            return;
        };
        let next = map
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if next.is_null() {
            *next = Value::Object(Map::new());
        }
        cur = next;
    }
    if let Some(map) = cur.as_object_mut() {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// What [`decorate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decorated {
    /// Whether the implicit labels were added (no object had any of them).
    pub implicit_labels: bool,
}

/// Adds what `oc new-app` adds to processed template objects (see the module docs): `labels`
/// (the user's), the implicit labels for `name` when no object has any of them, and the
/// generated-by annotation.
pub fn decorate(objects: &mut [Value], name: &str, labels: &BTreeMap<String, String>) -> Decorated {
    for object in objects.iter_mut() {
        for (k, v) in labels {
            set_map_entry(object, &["metadata", "labels"], k, v);
        }
    }
    let has_implicit = objects.iter().any(|o| {
        [labels_of(o), pod_template_labels(o)]
            .into_iter()
            .flatten()
            .any(|l| IMPLICIT_LABELS.iter().any(|k| l.contains_key(*k)))
    });
    for object in objects.iter_mut() {
        if !has_implicit {
            for k in IMPLICIT_LABELS {
                set_map_entry(object, &["metadata", "labels"], k, name);
            }
        }
        set_map_entry(
            object,
            &["metadata", "annotations"],
            GENERATED_BY,
            GENERATED_BY_NEW_APP,
        );
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        if matches!(kind, "Deployment" | "DeploymentConfig")
            && object
                .get("spec")
                .and_then(|s| s.get("template"))
                .is_some_and(Value::is_object)
        {
            set_map_entry(
                object,
                &["spec", "template", "metadata", "annotations"],
                GENERATED_BY,
                GENERATED_BY_NEW_APP,
            );
        }
    }
    Decorated {
        implicit_labels: !has_implicit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implicit_labels_only_when_no_object_has_them() {
        let mut objs = vec![
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                   "spec": {"template": {"metadata": {"labels": {"x": "y"}}}}}),
        ];
        let user: BTreeMap<String, String> = [("team".to_string(), "red".to_string())].into();
        let d = decorate(&mut objs, "web", &user);
        assert!(d.implicit_labels);
        assert_eq!(
            objs[0]["metadata"]["labels"],
            json!({"team": "red", "app": "web", "app.kubernetes.io/instance": "web", "app.kubernetes.io/component": "web"})
        );
        assert_eq!(
            objs[1]["spec"]["template"]["metadata"]["annotations"][GENERATED_BY],
            GENERATED_BY_NEW_APP
        );
        // Pod-template labels are never touched.
        assert_eq!(
            objs[1]["spec"]["template"]["metadata"]["labels"],
            json!({"x": "y"})
        );

        let mut objs = vec![
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}),
            json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig", "metadata": {"name": "d"},
                   "spec": {"template": {"metadata": {"labels": {"app": "d"}}}}}),
        ];
        let d = decorate(&mut objs, "web", &BTreeMap::new());
        assert!(!d.implicit_labels);
        assert!(objs[0]["metadata"].get("labels").is_none());
        assert_eq!(
            objs[0]["metadata"]["annotations"][GENERATED_BY],
            GENERATED_BY_NEW_APP
        );
    }

    #[test]
    fn user_app_label_suppresses_implicit_labels() {
        let mut objs =
            vec![json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}})];
        let user: BTreeMap<String, String> = [("app".to_string(), "mine".to_string())].into();
        assert!(!decorate(&mut objs, "web", &user).implicit_labels);
        assert_eq!(objs[0]["metadata"]["labels"], json!({"app": "mine"}));
    }

    #[test]
    fn records_round_trip() {
        let s = NewAppSource {
            template: TemplateRef::File(PathBuf::from("/t/x.yaml")),
            parameters: vec![("A".into(), "1".into()), ("B".into(), "".into())],
            labels: [("k".to_string(), "v".to_string())].into(),
            name: Some("n".into()),
            template_dirs: vec![PathBuf::from("/cat")],
            create_namespace: true,
        };
        let v = s.to_json("prod");
        assert_eq!(NewAppSource::from_json(&v).unwrap(), (s, "prod".into()));
        assert!(NewAppSource::from_json(&json!({"kind": "other"})).is_err());
        assert!(
            NewAppSource::from_json(
                &json!({"kind": "new-app", "namespace": "n", "parameters": [[1]]})
            )
            .is_err()
        );
    }
}
