//! Rendering an app: its source (a path or a catalog template) into the resource set that
//! [`crate::reconcile`] syncs, with the values of generated parameters kept stable.
//!
//! Generated parameters (`generate: expression`) get fresh values the first time an app is
//! rendered for a cluster. Those values are stored in a Secret `kascade-params-<app>` in the
//! app's namespace, owned by the app like every other object, and every later render reuses
//! them: a periodic sync never rotates a password. `kascade process` and `kascade render`,
//! one-shot like `oc process`, draw fresh values every time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::config::{AppConfig, AppSource};
use crate::reconcile::{AppSpec, Policy};
use crate::resource::{Origin, Resource, ResourceKey, ResourceSet, base64, hash};
use crate::template::catalog;
use crate::template::openshift::{self, params};
use crate::template::render::{self, Generated, RenderOptions};

/// The key of the generated values in the parameters Secret.
const GENERATED_KEY: &str = "generated.json";

/// An app rendering that failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Rendering the path failed.
    #[error("failed to render app {app:?}: {source}")]
    Render {
        /// The app.
        app: String,
        /// Why.
        source: Box<render::RenderError>,
    },
    /// The template could not be found, read or processed, or a parameter is wrong.
    #[error("failed to render app {app:?}: {message}")]
    Template {
        /// The app.
        app: String,
        /// Why.
        message: String,
    },
    /// Reading the stored generated values failed.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}

/// An app rendered and ready to sync.
#[derive(Debug, Clone)]
pub struct RenderedApp {
    /// Name, namespace, revision and policy.
    pub spec: AppSpec,
    /// The objects, including the generated-parameters Secret when there is one.
    pub set: ResourceSet,
    /// Template messages.
    pub messages: Vec<(String, String)>,
}

/// The Secret holding an app's generated parameter values.
pub fn params_secret_key(app: &str, namespace: &str) -> ResourceKey {
    ResourceKey::new("", "Secret", namespace, format!("kascade-params-{app}"))
}

/// Reads the stored generated values of an app.
pub fn stored_generated(
    cluster: &dyn Cluster,
    app: &str,
    namespace: &str,
) -> Result<Generated, AppError> {
    let Some(secret) = cluster.get(&params_secret_key(app, namespace))? else {
        return Ok(Generated::new());
    };
    let text = secret
        .get("data")
        .and_then(|d| d.get(GENERATED_KEY))
        .and_then(Value::as_str)
        .and_then(base64::decode)
        .and_then(|b| String::from_utf8(b).ok());
    // A damaged Secret is treated as absent: values are generated again and the Secret fixed.
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

fn params_secret(app: &str, namespace: &str, generated: &Generated) -> Value {
    let text = serde_json::to_string(generated).unwrap_or_default();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": format!("kascade-params-{app}"),
            "namespace": namespace,
            "annotations": {"app.kascade.dev/description": "values of the generated template parameters of this app, reused by every sync"},
        },
        "data": {GENERATED_KEY: base64::encode(text.as_bytes())},
    })
}

/// Where an ad-hoc or declared app takes its catalog templates from.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// Extra catalog directories (searched before the built-in templates).
    pub template_dirs: Vec<PathBuf>,
    /// Seed for new generated values (tests and reproducible runs).
    pub seed: Option<u64>,
}

/// Renders `app` for `cluster`, reusing stored generated values.
pub fn render_app(
    cluster: &dyn Cluster,
    app: &AppConfig,
    ctx: &RenderContext,
) -> Result<RenderedApp, AppError> {
    let stored = stored_generated(cluster, &app.name, &app.namespace)?;
    let (mut set, messages, generated) = match &app.source {
        AppSource::Path(path) => {
            let out = render::render_path(
                path,
                &RenderOptions {
                    seed: ctx.seed,
                    generated: stored,
                },
            )
            .map_err(|e| AppError::Render {
                app: app.name.clone(),
                source: Box::new(e),
            })?;
            (out.set, out.messages, out.generated)
        }
        AppSource::Template {
            name,
            parameters,
            parameter_files,
        } => render_template(app, name, parameters, parameter_files, &stored, ctx)?,
    };
    if !generated.is_empty() {
        let secret = params_secret(&app.name, &app.namespace, &generated);
        let origin = Origin::new(format!("app {} (generated parameters)", app.name), 0);
        let r = Resource::new(secret, origin).map_err(|e| AppError::Template {
            app: app.name.clone(),
            message: e.to_string(),
        })?;
        set.insert(r).map_err(|e| AppError::Template {
            app: app.name.clone(),
            message: e.to_string(),
        })?;
    }
    crate::triggers::check(&set).map_err(|e| AppError::Template {
        app: app.name.clone(),
        message: e.to_string(),
    })?;
    let digest = hash::content_hash(&Value::Array(set.objects().cloned().collect()));
    let revision = format!("local:{}", &digest["sha256:".len().."sha256:".len() + 12]);
    Ok(RenderedApp {
        spec: AppSpec {
            name: app.name.clone(),
            namespace: app.namespace.clone(),
            revision: Some(revision),
            policy: app.policy.clone(),
        },
        set,
        messages,
    })
}

type TemplateOutput = (ResourceSet, Vec<(String, String)>, Generated);

fn render_template(
    app: &AppConfig,
    name: &str,
    parameters: &[(String, String)],
    parameter_files: &[PathBuf],
    stored: &Generated,
    ctx: &RenderContext,
) -> Result<TemplateOutput, AppError> {
    let fail = |message: String| AppError::Template {
        app: app.name.clone(),
        message,
    };
    let entry = catalog::find(name, &ctx.template_dirs).map_err(|e| fail(e.to_string()))?;
    let source_name = entry.source_name();
    let bytes = entry.bytes().map_err(|e| fail(e.to_string()))?;
    let mut template =
        openshift::Template::from_bytes(&bytes, &source_name).map_err(|e| fail(e.to_string()))?;
    let mut values: Vec<(String, String)> = parameters.to_vec();
    for f in parameter_files {
        let display = f.display().to_string();
        for (k, v) in params::read_env_file(&display, None).map_err(|e| fail(e.to_string()))? {
            if !values.iter().any(|(key, _)| *key == k) {
                values.push((k, v));
            }
        }
    }
    let mut unknown = Vec::new();
    for (k, v) in &values {
        if !template.set_parameter(k, v) {
            unknown.push(format!("unknown parameter name {k:?}"));
        }
    }
    if !unknown.is_empty() {
        return Err(fail(openshift::aggregate(&unknown)));
    }
    let id = format!("template:{name}");
    let declared = template.parameters.clone();
    render::reuse_generated(&mut template.parameters, stored.get(&id));
    let mut rng: StdRng = match ctx.seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => rand::make_rng(),
    };
    let processed = openshift::process(&template, &mut rng).map_err(|e| fail(e.to_string()))?;
    let mut set = ResourceSet::new();
    for object in processed.objects {
        let r =
            Resource::new(object, Origin::new(&source_name, 0)).map_err(|e| fail(e.to_string()))?;
        set.insert(r).map_err(|e| fail(e.to_string()))?;
    }
    let mut generated = BTreeMap::new();
    let values = render::generated_values(&declared, &processed.parameters);
    if !values.is_empty() {
        generated.insert(id, values);
    }
    let messages = processed
        .message
        .map(|m| vec![(source_name, m)])
        .unwrap_or_default();
    Ok((set, messages, generated))
}

/// An app for `-f PATH` or `--template NAME` on the command line.
pub fn ad_hoc(name: String, namespace: String, source: AppSource, policy: Policy) -> AppConfig {
    AppConfig {
        name,
        namespace,
        source,
        policy,
    }
}

/// A DNS-label app name derived from a path or template name (`examples/base-image/apps` →
/// `apps`).
pub fn derive_name(from: &str) -> String {
    let base = from
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(from);
    let base = base.split('.').next().unwrap_or(base);
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    name.truncate(63);
    if name.is_empty() {
        "app".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(derive_name("examples/base-image/apps/"), "apps");
        assert_eq!(derive_name("My_App.yaml"), "my-app");
        assert_eq!(derive_name("..."), "app");
    }
}
