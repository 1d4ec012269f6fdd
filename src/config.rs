//! `kascade.yaml`: the apps a repository declares.
//!
//! ```yaml
//! apiVersion: kascade.dev/v1alpha1
//! kind: Config
//! apps:
//! - name: base-image                 # required; a DNS label; the value of app.kascade.dev/instance
//!   namespace: base-image-example    # required; where namespaced objects without one go
//!   path: apps/base-image            # what to render: a directory or file of the repo, as
//!                                    #   `kascade render` renders it …
//!   # template: base-image-example   # … or a template of the catalog (built-in, or templates/
//!   #                                #   of the repo), processed with:
//!   # parameters: {GIT_URL: "https://…"}
//!   # parameterFiles: [params/base-image.env]
//!   # source:                      # … or a directory of another Git repository, fetched into
//!   #   repo: https://github.com/org/deploy.git   # the state dir (https, ssh, file:// or a
//!   #   ref: main                  #   path); ref: a branch, tag or commit sha (default: the
//!   #   path: apps/web             #   remote's HEAD branch); path: default the whole tree
//!   parameters:                      # with path or source: values for every template under
//!     GIT_URL: ${KASCADE_APP_SOURCE_REPO_URL}   # the directory that declares them (over its
//!                                    #   <stem>.env); any app's parameters may use the build
//!                                    #   environment (crate::buildenv)
//!   prune: true                      # delete what is no longer rendered (default false)
//!   allowEmpty: false                # let an empty render prune everything (default false)
//!   maxDeletions: 50                 # refuse plans that delete more (default: no limit)
//!   pruneNamespaces: false           # Namespaces and PVCs are pruned only when opted in
//!   prunePVCs: false
//!   syncInterval: 5m                 # how often `kascade run` syncs it (default 3m; 10s to 24h;
//!                                    #   units ms, s, m, h, combined as in 1h30m)
//!   selfHeal: true                   # `kascade run` re-applies drift on an unchanged revision
//!                                    #   (default false: drift is reported, not reverted)
//! ```
//!
//! Paths are relative to the file and may not leave the repository (`..`, absolute paths and
//! symlinks out are refused). Unknown fields are errors naming the app and the field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::paths::PathError;
use crate::reconcile::Policy;
use crate::resource::yaml;
use crate::source::{self, SourceSpec, Transport};

/// The largest `kascade.yaml` read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The shortest `syncInterval` accepted.
pub const MIN_SYNC_INTERVAL: Duration = Duration::from_secs(10);
/// The longest `syncInterval` accepted.
pub const MAX_SYNC_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// What an app renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSource {
    /// A directory or file of the repository, rendered like `kascade render`.
    Path(PathBuf),
    /// A directory of another Git repository, fetched with [`crate::source::fetch`] and
    /// rendered like a path (see [`crate::app::fetch_source`]).
    Git(SourceSpec),
    /// A catalog template with parameters.
    Template {
        /// Its name.
        name: String,
        /// Parameter values, in order.
        parameters: Vec<(String, String)>,
        /// Parameter files (dotenv), relative to the repository.
        parameter_files: Vec<PathBuf>,
    },
    /// A template as `kascade new-app` instantiates it: processed, then decorated with the
    /// labels and annotation `oc new-app` adds ([`crate::newapp`]).
    NewApp(Box<crate::newapp::NewAppSource>),
}

/// One declared app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Name.
    pub name: String,
    /// Default namespace.
    pub namespace: String,
    /// What it renders.
    pub source: AppSource,
    /// Its sync policy.
    pub policy: Policy,
    /// How often `kascade run` syncs it (`None`: the daemon's default).
    pub sync_interval: Option<Duration>,
    /// Whether `kascade run` re-applies drift found on an unchanged revision.
    pub self_heal: bool,
    /// `parameters:` of a path or source app: values for every template under the path
    /// that declares them, over its `<stem>.env` (see [`crate::template::render`]). Values
    /// may use the build environment, `${KASCADE_APP_…}` ([`crate::buildenv`]), as may the
    /// parameters of a template app.
    pub parameters: Vec<(String, String)>,
    /// The directory the app was declared in (the kascade.yaml's; `.` for command-line
    /// apps): where the build environment looks for the app's git work tree when the app
    /// has no path.
    pub dir: PathBuf,
}

/// A parsed `kascade.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The repository root (the file's directory).
    pub root: PathBuf,
    /// Extra template directory of the repo (`templates/`, when present).
    pub templates_dir: Option<PathBuf>,
    /// The apps, in file order.
    pub apps: Vec<AppConfig>,
}

/// A `kascade.yaml` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("failed to read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Not YAML.
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
    /// Not the expected shape.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// Where (`apps[1].namespace`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// Whether `name` is a DNS-1123 label (what Kubernetes names and label values accept).
pub fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Resolves `rel` under the repository `root`, refusing `..`, absolute paths and symlinks
/// that lead out, with messages about the repository.
pub fn confined(root: &Path, rel: &str) -> Result<PathBuf, String> {
    crate::paths::confine(root, rel).map_err(|e| match e {
        PathError::Absolute => {
            format!("path {rel:?} is absolute; paths are relative to the repository")
        }
        PathError::Escapes => format!("path {rel:?} leaves the repository"),
        PathError::Root(why) => format!("cannot open repository {}: {why}", root.display()),
        PathError::NotFound => format!("path {rel:?} does not exist in {}", root.display()),
        PathError::Outside(to) => format!(
            "path {rel:?} leads outside the repository (to {})",
            to.display()
        ),
    })
}

/// Reads an app's `source: {repo, ref, path}`. A relative local `repo` is relative to the
/// file's directory.
fn git_source(
    v: &Value,
    root: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<SourceSpec, ConfigError> {
    let map = v.as_object().ok_or_else(|| {
        invalid(
            "source",
            "expected a mapping {repo: URL, ref: REF, path: DIR}".into(),
        )
    })?;
    for k in map.keys() {
        if !matches!(k.as_str(), "repo" | "ref" | "path") {
            return Err(invalid(&format!("source.{k}"), "unknown field".into()));
        }
    }
    let string = |f: &str| -> Result<Option<String>, ConfigError> {
        match map.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(&format!("source.{f}"), "expected a string".into())),
        }
    };
    let repo = string("repo")?.ok_or_else(|| invalid("source.repo", "required".into()))?;
    let classified = source::classify(&repo).map_err(|e| invalid("source.repo", e.to_string()))?;
    let url = if classified.transport == Transport::Local
        && !repo.starts_with("file://")
        && Path::new(&repo).is_relative()
    {
        root.join(&repo).to_string_lossy().into_owned()
    } else {
        repo
    };
    let reference = string("ref")?;
    if let Some(r) = &reference {
        source::validate_ref(r).map_err(|e| invalid("source.ref", e.to_string()))?;
    }
    let path = source::clean_path(string("path")?.as_deref())
        .map_err(|e| invalid("source.path", e.to_string()))?;
    Ok(SourceSpec {
        url,
        reference,
        path,
    })
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let display = path.display().to_string();
        let read_err = |reason: String| ConfigError::Read {
            path: display.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(read_err(format!("larger than {MAX_CONFIG_BYTES} bytes")));
        }
        let bytes = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
        let value = yaml::parse_one(&bytes, &display)?;
        let root = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        Self::from_value(&value, &root, &display)
    }

    /// Validates a parsed config.
    pub fn from_value(value: &Value, root: &Path, display: &str) -> Result<Config, ConfigError> {
        let invalid = |field: &str, message: String| ConfigError::Invalid {
            path: display.to_string(),
            field: field.to_string(),
            message,
        };
        let map = value
            .as_object()
            .ok_or_else(|| invalid("(root)", "expected a mapping".into()))?;
        for k in map.keys() {
            if !matches!(k.as_str(), "apiVersion" | "kind" | "apps") {
                return Err(invalid(k, "unknown field".into()));
            }
        }
        match map.get("apiVersion").and_then(Value::as_str) {
            Some("kascade.dev/v1alpha1") => {}
            other => {
                return Err(invalid(
                    "apiVersion",
                    format!("expected kascade.dev/v1alpha1, found {other:?}"),
                ));
            }
        }
        if map.get("kind").and_then(Value::as_str) != Some("Config") {
            return Err(invalid("kind", "expected Config".into()));
        }
        let apps_v = map
            .get("apps")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("apps", "expected a list of apps".into()))?;
        let mut apps = Vec::new();
        for (i, a) in apps_v.iter().enumerate() {
            let at = |f: &str| format!("apps[{i}].{f}");
            let a = a
                .as_object()
                .ok_or_else(|| invalid(&format!("apps[{i}]"), "expected a mapping".into()))?;
            for k in a.keys() {
                if !matches!(
                    k.as_str(),
                    "name"
                        | "namespace"
                        | "path"
                        | "source"
                        | "template"
                        | "parameters"
                        | "parameterFiles"
                        | "prune"
                        | "allowEmpty"
                        | "maxDeletions"
                        | "pruneNamespaces"
                        | "prunePVCs"
                        | "syncInterval"
                        | "selfHeal"
                ) {
                    return Err(invalid(&at(k), "unknown field".into()));
                }
            }
            let string = |f: &str| -> Result<Option<String>, ConfigError> {
                match a.get(f) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => Err(invalid(&at(f), "expected a string".into())),
                }
            };
            let boolean = |f: &str| -> Result<bool, ConfigError> {
                match a.get(f) {
                    None | Some(Value::Null) => Ok(false),
                    Some(Value::Bool(b)) => Ok(*b),
                    Some(_) => Err(invalid(&at(f), "expected true or false".into())),
                }
            };
            let name = string("name")?.ok_or_else(|| invalid(&at("name"), "required".into()))?;
            if !is_dns_label(&name) {
                return Err(invalid(
                    &at("name"),
                    format!(
                        "{name:?} is not a DNS label (lower-case letters, digits and '-', at most 63)"
                    ),
                ));
            }
            if apps.iter().any(|x: &AppConfig| x.name == name) {
                return Err(invalid(
                    &at("name"),
                    format!("app {name:?} is declared twice"),
                ));
            }
            let namespace =
                string("namespace")?.ok_or_else(|| invalid(&at("namespace"), "required".into()))?;
            if !is_dns_label(&namespace) {
                return Err(invalid(
                    &at("namespace"),
                    format!("{namespace:?} is not a valid namespace name"),
                ));
            }
            let git = match a.get("source") {
                None | Some(Value::Null) => None,
                Some(v) => Some(git_source(v, root, &|f, m| invalid(&at(f), m))?),
            };
            let mut parameters = match a.get("parameters") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(m)) => {
                    let mut parameters = Vec::new();
                    for (k, v) in m {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            _ => {
                                return Err(invalid(
                                    &at(&format!("parameters.{k}")),
                                    "expected a string".into(),
                                ));
                            }
                        };
                        parameters.push((k.clone(), v));
                    }
                    parameters
                }
                Some(_) => {
                    return Err(invalid(
                        &at("parameters"),
                        "expected a mapping of names to values".into(),
                    ));
                }
            };
            if git.is_some() {
                for other in ["path", "template", "parameterFiles"] {
                    if a.contains_key(other) {
                        return Err(invalid(
                            &at(other),
                            "an app with a source renders source.path of that repository; give path or template, or source, not both (parameters: apply to the templates under source.path)".into(),
                        ));
                    }
                }
            }
            let source = match (git, string("path")?, string("template")?) {
                (Some(spec), _, _) => AppSource::Git(spec),
                (None, Some(p), None) => {
                    if a.contains_key("parameterFiles") {
                        return Err(invalid(&at("parameterFiles"), "parameterFiles go with template; templates under path read <stem>.env beside them (parameters: overrides them)".into()));
                    }
                    AppSource::Path(confined(root, &p).map_err(|m| invalid(&at("path"), m))?)
                }
                (None, None, Some(t)) => {
                    let mut parameter_files = Vec::new();
                    match a.get("parameterFiles") {
                        None | Some(Value::Null) => {}
                        Some(Value::Array(files)) => {
                            for (j, f) in files.iter().enumerate() {
                                let f = f.as_str().ok_or_else(|| {
                                    invalid(
                                        &at(&format!("parameterFiles[{j}]")),
                                        "expected a string".into(),
                                    )
                                })?;
                                parameter_files.push(confined(root, f).map_err(|m| {
                                    invalid(&at(&format!("parameterFiles[{j}]")), m)
                                })?);
                            }
                        }
                        Some(_) => {
                            return Err(invalid(
                                &at("parameterFiles"),
                                "expected a list of paths".into(),
                            ));
                        }
                    }
                    AppSource::Template {
                        name: t,
                        parameters: std::mem::take(&mut parameters),
                        parameter_files,
                    }
                }
                (None, Some(_), Some(_)) => {
                    return Err(invalid(
                        &at("path"),
                        "give path or template, not both".into(),
                    ));
                }
                (None, None, None) => {
                    return Err(invalid(
                        &at("path"),
                        "an app renders a path, a template or a source".into(),
                    ));
                }
            };
            let max_deletions = match a.get("maxDeletions") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| {
                            invalid(&at("maxDeletions"), "expected a whole number".into())
                        })?,
                ),
            };
            let sync_interval = match a.get("syncInterval") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => {
                    Some(parse_interval(s).map_err(|m| invalid(&at("syncInterval"), m))?)
                }
                Some(_) => {
                    return Err(invalid(
                        &at("syncInterval"),
                        "expected a duration such as 30s, 5m or 1h".into(),
                    ));
                }
            };
            apps.push(AppConfig {
                name,
                namespace,
                source,
                sync_interval,
                self_heal: boolean("selfHeal")?,
                parameters,
                dir: root.to_path_buf(),
                policy: Policy {
                    prune: boolean("prune")?,
                    allow_empty: boolean("allowEmpty")?,
                    max_deletions,
                    prune_namespaces: boolean("pruneNamespaces")?,
                    prune_pvcs: boolean("prunePVCs")?,
                },
            });
        }
        let templates_dir = Some(root.join("templates")).filter(|p| p.is_dir());
        Ok(Config {
            root: root.to_path_buf(),
            templates_dir,
            apps,
        })
    }
}

/// Parses a duration such as `500ms`, `30s`, `5m`, `1h30m` (Go's units, without fractions).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 30s, 5m or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() || rest.len() > 32 {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let one = match &rest[..unit] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        rest = &rest[unit..];
        let n = u32::try_from(n).map_err(|_| bad())?;
        total = one
            .checked_mul(n)
            .and_then(|d| total.checked_add(d))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// Parses and bounds a sync interval (10s to 24h).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d < MIN_SYNC_INTERVAL || d > MAX_SYNC_INTERVAL {
        return Err(format!(
            "{text:?} is out of range: a sync interval is between 10s and 24h"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_and_confines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("apps")).unwrap();
        let ok = json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [
            {"name": "web", "namespace": "prod", "path": "apps", "prune": true, "maxDeletions": 3}]});
        let c = Config::from_value(&ok, dir.path(), "kascade.yaml").unwrap();
        assert_eq!(c.apps[0].policy.max_deletions, Some(3));
        assert!(c.apps[0].policy.prune);
        let git = json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [
            {"name": "web", "namespace": "prod", "source": {"repo": "git@github.com:org/deploy.git", "ref": "v1.2", "path": "./apps/web/"}},
            {"name": "local", "namespace": "prod", "source": {"repo": "../other"}}]});
        let c = Config::from_value(&git, dir.path(), "kascade.yaml").unwrap();
        assert_eq!(
            c.apps[0].source,
            AppSource::Git(SourceSpec {
                url: "git@github.com:org/deploy.git".into(),
                reference: Some("v1.2".into()),
                path: Some("apps/web".into()),
            })
        );
        let AppSource::Git(local) = &c.apps[1].source else {
            panic!("expected a git source: {:?}", c.apps[1].source)
        };
        assert_eq!(local.url, dir.path().join("../other").to_string_lossy());
        assert_eq!(c.apps[0].sync_interval, None);
        assert!(!c.apps[0].self_heal);
        let timed = json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [
            {"name": "web", "namespace": "prod", "path": "apps", "syncInterval": "1m30s", "selfHeal": true}]});
        let c = Config::from_value(&timed, dir.path(), "kascade.yaml").unwrap();
        assert_eq!(c.apps[0].sync_interval, Some(Duration::from_secs(90)));
        assert!(c.apps[0].self_heal);
        for (bad, needle) in [
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "../etc"}]}),
                "leaves the repository",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "/etc"}]}),
                "absolute",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "Web", "namespace": "prod", "path": "apps"}]}),
                "not a DNS label",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "apps", "prnue": true}]}),
                "apps[0].prnue: unknown field",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "path": "apps"}]}),
                "apps[0].namespace: required",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Config", "apps": []}),
                "apiVersion",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "source": {"repo": "ext::sh -c id"}}]}),
                "apps[0].source.repo: unsupported repository url",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "source": {"repo": "https://h/r", "path": "../x"}}]}),
                "apps[0].source.path: invalid path",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "source": {"repo": "https://h/r", "branch": "x"}}]}),
                "apps[0].source.branch: unknown field",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "source": {"ref": "main"}}]}),
                "apps[0].source.repo: required",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "apps", "source": {"repo": "https://h/r"}}]}),
                "apps[0].path: an app with a source",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "apps", "syncInterval": "1s"}]}),
                "apps[0].syncInterval: \"1s\" is out of range",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "apps", "syncInterval": "5 minutes"}]}),
                "apps[0].syncInterval: \"5 minutes\" is not a duration",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "apps", "syncInterval": 60}]}),
                "apps[0].syncInterval: expected a duration",
            ),
            (
                json!({"apiVersion": "kascade.dev/v1alpha1", "kind": "Config", "apps": [{"name": "web", "namespace": "prod", "path": "apps", "selfHeal": "yes"}]}),
                "apps[0].selfHeal: expected true or false",
            ),
        ] {
            let e = Config::from_value(&bad, dir.path(), "kascade.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e} should contain {needle}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        for bad in ["", "m", "5", "5d", "-5s", "1.5m", "99999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_interval("9s").is_err());
        assert!(parse_interval("25h").is_err());
        assert_eq!(parse_interval("24h"), Ok(MAX_SYNC_INTERVAL));
    }
}
