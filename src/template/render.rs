//! `kascade render PATH`: everything a directory holds, rendered into one resource set.
//!
//! A directory is walked recursively in name order. What each file becomes:
//!
//! | file | becomes |
//! |---|---|
//! | `*.yaml`, `*.yml`, `*.json` with plain objects (multi-document, `v1` Lists expanded) | those objects |
//! | `*.yaml`, `*.yml`, `*.json` holding an OpenShift `Template` | its processed objects, parameters from `<stem>.env` beside it |
//! | `*.j2`, `*.jinja` | the rendered documents, parameters from `<stem>.env` beside it |
//! | `kustomization.yaml`, `kascade.yaml`, `*.env`, hidden files and folders, anything else | skipped |
//!
//! `<stem>` is the file name without its template and YAML extensions, so both `app.yaml` and
//! `app.yaml.j2` read `app.env` (dotenv, the `oc process --param-file` format).
//!
//! Files are read and parsed in parallel; the set is assembled in walk order, and two objects
//! with the same group, kind, namespace and name are an error naming both files. Every
//! problem in every file is reported, not only the first. Symlinks are followed only while
//! they stay inside the rendered directory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use serde_json::Value;

use super::jinja::{self, JinjaError, JinjaTemplate};
use super::openshift::params::{self, ParamError};
use super::openshift::{self, LoadError, ProcessError, Template};
use crate::resource::yaml::{self, YamlError};
use crate::resource::{DuplicateError, KeyError, Origin, Resource, ResourceSet};

/// The most files one render reads.
pub const MAX_FILES: usize = 100_000;
/// How deep directories may nest.
pub const MAX_DIR_DEPTH: usize = 64;

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Seed for generated parameter values; `None` draws from the OS-seeded CSPRNG.
    pub seed: Option<u64>,
}

/// What a render produced.
#[derive(Debug, Clone, Default)]
pub struct RenderOutput {
    /// The objects, in walk order.
    pub set: ResourceSet,
    /// Template messages (file, substituted message), for the user.
    pub messages: Vec<(String, String)>,
}

/// One problem found while rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A path could not be walked or read, or leads outside the root.
    #[error("{path}: {message}")]
    Path {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Broken YAML or JSON.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// A Template that cannot be decoded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A parameter file that cannot be used.
    #[error("{path}: {source}")]
    Params {
        /// The parameter file.
        path: String,
        /// The problem.
        source: ParamError,
    },
    /// A parameter file names parameters no template in its file declares.
    #[error("{path}: {}", openshift::aggregate(&.names.iter().map(|n| format!("unknown parameter name {n:?}")).collect::<Vec<_>>()))]
    UnknownParameters {
        /// The parameter file.
        path: String,
        /// The unknown names.
        names: Vec<String>,
    },
    /// Template processing failed.
    #[error("{path}: {source}")]
    Process {
        /// The template file.
        path: String,
        /// The processing errors.
        source: ProcessError,
    },
    /// A minijinja template failed.
    #[error(transparent)]
    Jinja(#[from] JinjaError),
    /// An object without apiVersion, kind or name.
    #[error("{origin}: {source}")]
    Object {
        /// Where the object is.
        origin: Origin,
        /// What it lacks.
        source: KeyError,
    },
    /// Two objects with one key.
    #[error(transparent)]
    Duplicate(#[from] Box<DuplicateError>),
    /// Several of the above.
    #[error("{} problems:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<RenderError>),
}

impl RenderError {
    fn from_list(mut errors: Vec<RenderError>) -> Self {
        if errors.len() == 1 {
            errors.remove(0)
        } else {
            RenderError::Many(errors)
        }
    }
}

/// Renders a file or a directory into one resource set.
pub fn render_path(path: &Path, options: &RenderOptions) -> Result<RenderOutput, RenderError> {
    let meta = std::fs::metadata(path).map_err(|e| RenderError::Path {
        path: path.display().to_string(),
        message: params::io_reason(&e),
    })?;
    let (root, files) = if meta.is_dir() {
        (path.to_path_buf(), walk(path)?)
    } else {
        let root = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (root, vec![path.to_path_buf()])
    };
    let results: Vec<Result<FileOutput, Vec<RenderError>>> = files
        .par_iter()
        .map(|file| render_file(&root, file, options))
        .collect();
    let mut out = RenderOutput::default();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(file_out) => {
                out.messages.extend(file_out.messages);
                for resource in file_out.resources {
                    if let Err(e) = out.set.insert(resource) {
                        errors.push(RenderError::Duplicate(e));
                    }
                }
            }
            Err(errs) => errors.extend(errs),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(RenderError::from_list(errors))
    }
}

/// The files to render under `root`, in name order.
fn walk(root: &Path) -> Result<Vec<PathBuf>, RenderError> {
    let real_root = root.canonicalize().map_err(|e| RenderError::Path {
        path: root.display().to_string(),
        message: params::io_reason(&e),
    })?;
    let mut files = Vec::new();
    let mut seen_dirs = HashSet::new();
    walk_dir(root, &real_root, 0, &mut seen_dirs, &mut files)?;
    Ok(files)
}

fn walk_dir(
    dir: &Path,
    real_root: &Path,
    depth: usize,
    seen: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
) -> Result<(), RenderError> {
    let path_err = |p: &Path, message: String| RenderError::Path {
        path: p.display().to_string(),
        message,
    };
    if depth > MAX_DIR_DEPTH {
        return Err(path_err(
            dir,
            format!("directories nest deeper than {MAX_DIR_DEPTH}"),
        ));
    }
    let real = dir
        .canonicalize()
        .map_err(|e| path_err(dir, params::io_reason(&e)))?;
    if !seen.insert(real) {
        return Ok(()); // a symlink loop back into a directory already walked
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| path_err(dir, params::io_reason(&e)))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue; // not UTF-8: not a manifest kascade knows how to name
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let lmeta =
            std::fs::symlink_metadata(&path).map_err(|e| path_err(&path, params::io_reason(&e)))?;
        if lmeta.file_type().is_symlink() {
            let target = path.canonicalize().map_err(|e| {
                path_err(&path, format!("broken symlink: {}", params::io_reason(&e)))
            })?;
            if !target.starts_with(real_root) {
                return Err(path_err(
                    &path,
                    format!(
                        "symlink leads outside {} (to {})",
                        real_root.display(),
                        target.display()
                    ),
                ));
            }
        }
        let meta = std::fs::metadata(&path).map_err(|e| path_err(&path, params::io_reason(&e)))?;
        if meta.is_dir() {
            walk_dir(&path, real_root, depth + 1, seen, files)?;
        } else if meta.is_file() && is_renderable(name) {
            files.push(path);
            if files.len() > MAX_FILES {
                return Err(path_err(
                    dir,
                    format!("more than {MAX_FILES} files to render"),
                ));
            }
        }
    }
    Ok(())
}

fn is_renderable(name: &str) -> bool {
    if matches!(
        name,
        "kustomization.yaml"
            | "kustomization.yml"
            | "Kustomization"
            | "kascade.yaml"
            | "kascade.yml"
    ) {
        return false;
    }
    let p = Path::new(name);
    jinja::is_jinja(p)
        || matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        )
}

/// `app.yaml.j2` → `app.env`; `template.json` → `template.env`.
pub fn params_file_for(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let mut stem = name;
    for ext in [".j2", ".jinja2", ".jinja"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    for ext in [".yaml", ".yml", ".json"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    file.with_file_name(format!("{stem}.env"))
}

struct FileOutput {
    resources: Vec<Resource>,
    messages: Vec<(String, String)>,
}

fn rng_for(options: &RenderOptions, display: &str) -> StdRng {
    match options.seed {
        // Mix the file name in, so that each file's values do not depend on walk order.
        Some(seed) => {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in display.bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            StdRng::seed_from_u64(seed ^ h)
        }
        None => rand::make_rng(),
    }
}

fn read_params(file: &Path) -> Result<Vec<(String, String)>, RenderError> {
    let params_path = params_file_for(file);
    if !params_path.is_file() {
        return Ok(Vec::new());
    }
    let display = params_path.display().to_string();
    params::read_env_file(&display, None).map_err(|source| RenderError::Params {
        path: display,
        source,
    })
}

fn render_file(
    root: &Path,
    file: &Path,
    options: &RenderOptions,
) -> Result<FileOutput, Vec<RenderError>> {
    let display = file.display().to_string();
    let mut rng = rng_for(options, &display);
    let mut out = FileOutput {
        resources: Vec::new(),
        messages: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut push_object =
        |object: Value, origin: Origin, errors: &mut Vec<RenderError>| match Resource::new(
            object,
            origin.clone(),
        ) {
            Ok(r) => out.resources.push(r),
            Err(source) => errors.push(RenderError::Object { origin, source }),
        };
    if jinja::is_jinja(file) {
        let values = read_params(file).map_err(|e| vec![e])?;
        let rel = file.strip_prefix(root).unwrap_or(file);
        let rel = rel.to_string_lossy().replace('\\', "/");
        let template = JinjaTemplate::load(root, &rel, &display).map_err(|e| vec![e.into()])?;
        let rendered = template
            .render(root, &values, false, &mut rng)
            .map_err(|e| vec![e.into()])?;
        for doc in rendered.documents {
            for (object, line) in expand_list(doc.value, doc.line) {
                push_object(
                    object,
                    Origin::new(format!("{display} (rendered)"), line),
                    &mut errors,
                );
            }
        }
    } else {
        let bytes = read_file(file).map_err(|e| vec![e])?;
        let docs = yaml::parse_documents(&bytes, &display).map_err(|e| vec![e.into()])?;
        let mut templates = Vec::new();
        for doc in docs {
            for (object, line) in expand_list(doc.value, doc.line) {
                if object.get("kind").and_then(Value::as_str) == Some("Template") {
                    match Template::from_value(object, &display) {
                        Ok(t) => templates.push((t, line)),
                        Err(e) => errors.push(e.into()),
                    }
                } else {
                    push_object(object, Origin::new(&display, line), &mut errors);
                }
            }
        }
        if !templates.is_empty() {
            process_templates(file, &display, templates, &mut rng, &mut out, &mut errors);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn process_templates(
    file: &Path,
    display: &str,
    mut templates: Vec<(Template, usize)>,
    rng: &mut StdRng,
    out: &mut FileOutput,
    errors: &mut Vec<RenderError>,
) {
    let values = match read_params(file) {
        Ok(v) => v,
        Err(e) => return errors.push(e),
    };
    let unknown: Vec<String> = values
        .iter()
        .filter(|(k, _)| !templates.iter().any(|(t, _)| t.has_parameter(k)))
        .map(|(k, _)| k.clone())
        .collect();
    if !unknown.is_empty() {
        return errors.push(RenderError::UnknownParameters {
            path: params_file_for(file).display().to_string(),
            names: unknown,
        });
    }
    for (template, line) in &mut templates {
        // The first definition in the file wins, as with oc's --param-file.
        let mut seen = HashSet::new();
        for (k, v) in &values {
            if seen.insert(k.as_str()) {
                template.set_parameter(k, v);
            }
        }
        match openshift::process(template, rng) {
            Ok(processed) => {
                if let Some(m) = processed.message.filter(|m| !m.trim().is_empty()) {
                    out.messages.push((display.to_string(), m));
                }
                for object in processed.objects {
                    match Resource::new(object, Origin::new(display, *line)) {
                        Ok(r) => out.resources.push(r),
                        Err(source) => errors.push(RenderError::Object {
                            origin: Origin::new(display, *line),
                            source,
                        }),
                    }
                }
            }
            Err(source) => errors.push(RenderError::Process {
                path: display.to_string(),
                source,
            }),
        }
    }
}

fn read_file(file: &Path) -> Result<Vec<u8>, RenderError> {
    let err = |message: String| RenderError::Path {
        path: file.display().to_string(),
        message,
    };
    let meta = std::fs::metadata(file).map_err(|e| err(params::io_reason(&e)))?;
    if meta.len() > yaml::MAX_FILE_BYTES as u64 {
        return Err(err(format!(
            "file is {} bytes, larger than the limit of {} bytes",
            meta.len(),
            yaml::MAX_FILE_BYTES
        )));
    }
    std::fs::read(file).map_err(|e| err(params::io_reason(&e)))
}

/// A `v1` List stands for its items, as kubectl reads it.
fn expand_list(value: Value, line: usize) -> Vec<(Value, usize)> {
    let is_list = value.get("kind").and_then(Value::as_str) == Some("List")
        && value.get("items").is_some_and(Value::is_array);
    if !is_list {
        return vec![(value, line)];
    }
    match value {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items.into_iter().map(|i| (i, line)).collect(),
            _ => Vec::new(),
        },
        other => vec![(other, line)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_file_names() {
        assert_eq!(
            params_file_for(Path::new("a/app.yaml.j2")),
            Path::new("a/app.env")
        );
        assert_eq!(params_file_for(Path::new("a/t.json")), Path::new("a/t.env"));
        assert_eq!(params_file_for(Path::new("x.jinja")), Path::new("x.env"));
    }

    #[test]
    fn renderable_names() {
        assert!(is_renderable("a.yaml"));
        assert!(is_renderable("a.yaml.j2"));
        assert!(!is_renderable("kustomization.yaml"));
        assert!(!is_renderable("a.env"));
        assert!(!is_renderable("README.md"));
    }
}
