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

use crate::buildenv::BuildEnv;
use crate::cluster::Cluster;
use crate::config::{AppConfig, AppSource};
use crate::newapp::{self, NewAppSource, TemplateRef};
use crate::reconcile::{self, AppSpec, Plan, Policy, SyncReport};
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
    /// Planning or applying the rendered app failed.
    #[error(transparent)]
    Reconcile(#[from] crate::reconcile::ReconcileError),
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
    /// The source revision to record (a commit); `None` records `local:<digest>` of the
    /// rendered objects.
    pub revision: Option<String>,
    /// Where the rendered files come from in git, when they were fetched (a `source:` or
    /// `--repo` snapshot); `None`: the build environment looks for the work tree of the
    /// app's directory ([`crate::buildenv`]).
    pub origin: Option<crate::buildenv::SourceOrigin>,
}

/// What `kascade new-app` prints about the template it processed (spec §9.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSummary {
    /// `metadata.name`.
    pub name: String,
    /// `openshift.io/display-name`, else the name.
    pub display_name: String,
    /// The `description` annotation.
    pub description: String,
    /// The substituted message.
    pub message: Option<String>,
    /// Per parameter: display name (else name), final value, whether it was generated.
    pub parameters: Vec<(String, String, bool)>,
    /// Whether the implicit `app` labels were added (new-app apps only).
    pub implicit_labels: bool,
}

/// Renders `app` for `cluster`, reusing stored generated values.
pub fn render_app(
    cluster: &dyn Cluster,
    app: &AppConfig,
    ctx: &RenderContext,
) -> Result<RenderedApp, AppError> {
    render_app_with_summary(cluster, app, ctx).map(|(rendered, _)| rendered)
}

/// Renders `app` like [`render_app`], and for template apps also says what the template was
/// and which values its parameters got.
pub fn render_app_with_summary(
    cluster: &dyn Cluster,
    app: &AppConfig,
    ctx: &RenderContext,
) -> Result<(RenderedApp, Option<TemplateSummary>), AppError> {
    let started = std::time::Instant::now();
    let stored = stored_generated(cluster, &app.name, &app.namespace)?;
    let (mut set, messages, generated, summary) = match &app.source {
        AppSource::Path(path) => {
            let parameters = BuildEnv::new(&app.name, &app.namespace, path, ctx.origin.clone())
                .expand_all(&app.parameters)
                .map_err(|message| AppError::Template {
                    app: app.name.clone(),
                    message,
                })?;
            let out = render::render_path(
                path,
                &RenderOptions {
                    seed: ctx.seed,
                    generated: stored,
                    parameters,
                },
            )
            .map_err(|e| AppError::Render {
                app: app.name.clone(),
                source: Box::new(e),
            })?;
            (out.set, out.messages, out.generated, None)
        }
        AppSource::Template {
            name,
            parameters,
            parameter_files,
        } => {
            let fail = |message: String| AppError::Template {
                app: app.name.clone(),
                message,
            };
            let entry = catalog::find(name, &ctx.template_dirs).map_err(|e| fail(e.to_string()))?;
            let source_name = entry.source_name();
            let bytes = entry.bytes().map_err(|e| fail(e.to_string()))?;
            let template = openshift::Template::from_bytes(&bytes, &source_name)
                .map_err(|e| fail(e.to_string()))?;
            let mut values = BuildEnv::new(&app.name, &app.namespace, &app.dir, ctx.origin.clone())
                .expand_all(parameters)
                .map_err(fail)?;
            for f in parameter_files {
                let display = f.display().to_string();
                for (k, v) in
                    params::read_env_file(&display, None).map_err(|e| fail(e.to_string()))?
                {
                    if !values.iter().any(|(key, _)| *key == k) {
                        values.push((k, v));
                    }
                }
            }
            let input = TemplateInput {
                template,
                source_name,
                id: format!("template:{name}"),
                values,
                unknown: "unknown parameter name",
                decorate: None,
                namespace_object: None,
            };
            let (set, messages, generated, summary) = render_template(app, input, &stored, ctx)?;
            (set, messages, generated, Some(summary))
        }
        AppSource::NewApp(source) => {
            let (set, messages, generated, summary) = render_new_app(app, source, &stored, ctx)?;
            (set, messages, generated, Some(summary))
        }
        AppSource::Git(spec) => {
            return Err(AppError::Template {
                app: app.name.clone(),
                message: format!(
                    "its source {} must be fetched first (app::fetch_source)",
                    crate::source::redact(&spec.url)
                ),
            });
        }
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
    let revision = match &ctx.revision {
        Some(r) => r.clone(),
        None => {
            let digest = hash::content_hash_all(set.objects());
            format!("local:{}", &digest["sha256:".len().."sha256:".len() + 12])
        }
    };
    tracing::debug!(app = %app.name, elapsed = ?started.elapsed(), objects = set.len(), "rendered");
    Ok((
        RenderedApp {
            spec: AppSpec {
                name: app.name.clone(),
                namespace: app.namespace.clone(),
                revision: Some(revision),
                policy: app.policy.clone(),
            },
            set,
            messages,
        },
        summary,
    ))
}

type TemplateOutput = (
    ResourceSet,
    Vec<(String, String)>,
    Generated,
    TemplateSummary,
);

/// A loaded template and what to do with it.
struct TemplateInput<'a> {
    template: openshift::Template,
    source_name: String,
    /// The key of its generated values in the parameters Secret.
    id: String,
    values: Vec<(String, String)>,
    /// How an unknown parameter name is reported (`oc process` and `oc new-app` differ).
    unknown: &'static str,
    /// new-app decoration: the implicit labels' value and the user's labels.
    decorate: Option<(String, &'a BTreeMap<String, String>)>,
    /// A Namespace object to put first.
    namespace_object: Option<String>,
}

/// Reads a template file for `kascade new-app -f`, refusing files over the YAML size bound.
fn read_template_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let display = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| format!("{display}: {}", params::io_reason(&e)))?;
    if meta.len() > crate::resource::yaml::MAX_FILE_BYTES as u64 {
        return Err(format!(
            "{display}: file is larger than {} bytes",
            crate::resource::yaml::MAX_FILE_BYTES
        ));
    }
    std::fs::read(path).map_err(|e| format!("{display}: {}", params::io_reason(&e)))
}

fn render_new_app(
    app: &AppConfig,
    source: &NewAppSource,
    stored: &Generated,
    ctx: &RenderContext,
) -> Result<TemplateOutput, AppError> {
    let fail = |message: String| AppError::Template {
        app: app.name.clone(),
        message,
    };
    let (template, source_name) = match &source.template {
        TemplateRef::Catalog(name) => {
            let mut dirs = source.template_dirs.clone();
            dirs.extend(ctx.template_dirs.iter().cloned());
            let entry = catalog::find(name, &dirs).map_err(|e| fail(e.to_string()))?;
            let source_name = entry.source_name();
            let bytes = entry.bytes().map_err(|e| fail(e.to_string()))?;
            (
                openshift::Template::from_bytes(&bytes, &source_name)
                    .map_err(|e| fail(e.to_string()))?,
                source_name,
            )
        }
        TemplateRef::File(path) => {
            let source_name = path.display().to_string();
            let bytes = read_template_file(path).map_err(fail)?;
            (
                openshift::Template::from_bytes(&bytes, &source_name)
                    .map_err(|e| fail(e.to_string()))?,
                source_name,
            )
        }
    };
    let label_name = source.name.clone().unwrap_or_else(|| template.name.clone());
    let input = TemplateInput {
        id: format!("template:{}", template.name),
        template,
        source_name,
        values: source.parameters.clone(),
        unknown: "unexpected parameter name",
        decorate: Some((label_name, &source.labels)),
        namespace_object: source.create_namespace.then(|| app.namespace.clone()),
    };
    render_template(app, input, stored, ctx)
}

fn render_template(
    app: &AppConfig,
    input: TemplateInput<'_>,
    stored: &Generated,
    ctx: &RenderContext,
) -> Result<TemplateOutput, AppError> {
    let fail = |message: String| AppError::Template {
        app: app.name.clone(),
        message,
    };
    let TemplateInput {
        mut template,
        source_name,
        id,
        values,
        unknown,
        decorate,
        namespace_object,
    } = input;
    let mut bad = Vec::new();
    for (k, v) in &values {
        if !template.set_parameter(k, v) {
            bad.push(format!("{unknown} {k:?}"));
        }
    }
    if !bad.is_empty() {
        return Err(fail(openshift::aggregate(&bad)));
    }
    let declared = template.parameters.clone();
    render::reuse_generated(&mut template.parameters, stored.get(&id));
    let mut rng: StdRng = match ctx.seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => rand::make_rng(),
    };
    let mut processed = openshift::process(&template, &mut rng).map_err(|e| fail(e.to_string()))?;
    let implicit_labels = match &decorate {
        Some((name, labels)) => {
            newapp::decorate(&mut processed.objects, name, labels).implicit_labels
        }
        None => false,
    };
    let mut set = ResourceSet::new();
    if let Some(ns) = namespace_object {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let origin = Origin::new(format!("app {} (--create-namespace)", app.name), 0);
        let r = Resource::new(object, origin).map_err(|e| fail(e.to_string()))?;
        set.insert(r).map_err(|e| fail(e.to_string()))?;
    }
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
    let summary = TemplateSummary {
        name: template.name.clone(),
        display_name: template
            .annotation("openshift.io/display-name")
            .filter(|d| !d.is_empty())
            .unwrap_or(&template.name)
            .to_string(),
        description: template
            .annotation("description")
            .unwrap_or_default()
            .to_string(),
        message: processed.message.clone(),
        parameters: declared
            .iter()
            .zip(&processed.parameters)
            .map(|(d, r)| {
                let shown = if r.display_name.is_empty() {
                    r.name.clone()
                } else {
                    r.display_name.clone()
                };
                (shown, r.value.clone(), !d.generate.is_empty())
            })
            .collect(),
        implicit_labels,
    };
    let messages = processed
        .message
        .map(|m| vec![(source_name, m)])
        .unwrap_or_default();
    Ok((set, messages, generated, summary))
}

/// Fetches the repository of an app whose source is [`AppSource::Git`] and returns the app
/// rendering the snapshot's directory instead, with the snapshot (whose `revision` is the one
/// to record: set it on [`RenderedApp::spec`]). Other apps come back unchanged, with `None`.
/// Blocking (git); async callers use `spawn_blocking`.
pub fn fetch_source(
    state_dir: &std::path::Path,
    app: &AppConfig,
    auth: &crate::source::Auth,
) -> Result<(AppConfig, Option<crate::source::Snapshot>), crate::source::SourceError> {
    let AppSource::Git(spec) = &app.source else {
        return Ok((app.clone(), None));
    };
    let snapshot = crate::source::fetch(state_dir, spec, auth)?;
    let mut resolved = app.clone();
    resolved.source = AppSource::Path(snapshot.root.clone());
    Ok((resolved, Some(snapshot)))
}

/// One app rendered and planned (and, unless a dry run, applied).
#[derive(Debug, Clone)]
pub struct AppSync {
    /// The plan, made against the live cluster.
    pub plan: Plan,
    /// What was applied (`None` for a dry run).
    pub report: Option<SyncReport>,
    /// Template messages of the render.
    pub messages: Vec<(String, String)>,
}

/// Renders `app` and syncs it into `cluster` (plans only when `dry_run`): what `kascade sync`,
/// `kascade diff` and `kascade run` do for each app. `rendered` is told the rendering before
/// the plan is made (progress display). A new-app app's recorded source is updated after a
/// real sync. A dry-run plan can be applied later with [`crate::reconcile::apply`]; a change
/// made in between is a conflict.
pub fn sync_app(
    cluster: &mut dyn Cluster,
    app: &AppConfig,
    ctx: &RenderContext,
    dry_run: bool,
    rendered: &mut dyn FnMut(&RenderedApp),
) -> Result<AppSync, AppError> {
    let r = render_app(cluster, app, ctx)?;
    rendered(&r);
    let (plan, report) = reconcile::sync_once(cluster, &r.spec, r.set, dry_run)?;
    if !dry_run && let AppSource::NewApp(source) = &app.source {
        // Parameters given with --app replace the recorded ones for later syncs.
        newapp::record_source(cluster, &app.name, &app.namespace, source)?;
    }
    Ok(AppSync {
        plan,
        report,
        messages: r.messages,
    })
}

/// An app for `-f PATH` or `--template NAME` on the command line.
pub fn ad_hoc(name: String, namespace: String, source: AppSource, policy: Policy) -> AppConfig {
    AppConfig {
        name,
        namespace,
        source,
        policy,
        sync_interval: None,
        self_heal: false,
        parameters: Vec::new(),
        dir: PathBuf::from("."),
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
