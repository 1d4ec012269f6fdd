//! The template catalog: the built-in templates of `templates/` (compiled into the binary) and
//! the templates of any `--templates DIR`, looked up by name as `oc process NAME` looks up a
//! stored template.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::openshift::{self, LoadError};

/// The built-in templates: (file name, source).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "base-image-example.yaml",
        include_str!("../../templates/base-image-example.yaml"),
    ),
    (
        "nodejs-example.yaml",
        include_str!("../../templates/nodejs-example.yaml"),
    ),
];

/// Where a catalog template lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Compiled into kascade: file name and source.
    Builtin {
        /// The file name under `templates/`.
        file: &'static str,
        /// The template text.
        source: &'static str,
    },
    /// A file in a `--templates` directory.
    File(PathBuf),
}

/// One template of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `metadata.name`, the name to process it by.
    pub name: String,
    /// `openshift.io/display-name` or empty.
    pub display_name: String,
    /// `description` annotation, first line, or empty.
    pub description: String,
    /// Where it is.
    pub location: Location,
}

impl Entry {
    /// The template's bytes.
    pub fn bytes(&self) -> Result<Vec<u8>, CatalogError> {
        match &self.location {
            Location::Builtin { source, .. } => Ok(source.as_bytes().to_vec()),
            Location::File(path) => read_bounded(path),
        }
    }

    /// How to refer to where it is in messages.
    pub fn source_name(&self) -> String {
        match &self.location {
            Location::Builtin { file, .. } => format!("builtin:{file}"),
            Location::File(path) => path.display().to_string(),
        }
    }
}

/// A catalog lookup that failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No template of that name (the spec's message).
    #[error("template {0:?} could not be found")]
    NotFound(String),
    /// A name that refers to another resource type (`oc process deployment/x`).
    #[error("unable to process invalid resource {0:?}")]
    InvalidResource(String),
    /// A `--templates` directory or file that cannot be read.
    #[error("failed to read {path}: {reason}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file in a `--templates` directory is not a template.
    #[error(transparent)]
    Load(#[from] LoadError),
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, CatalogError> {
    let err = |reason: String| CatalogError::Read {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(super::openshift::params::io_reason(&e)))?;
    if meta.len() > crate::resource::yaml::MAX_FILE_BYTES as u64 {
        return Err(err(format!(
            "file is larger than {} bytes",
            crate::resource::yaml::MAX_FILE_BYTES
        )));
    }
    std::fs::read(path).map_err(|e| err(super::openshift::params::io_reason(&e)))
}

/// Strips `template/`, `templates/`, `ns/template/` and `ns//` from a stored-template name.
pub fn parse_name(reference: &str) -> Result<String, CatalogError> {
    let parts: Vec<&str> = reference.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [
            "template" | "templates" | "template.openshift.io" | "templates.template.openshift.io",
            name,
        ] => *name,
        [_ns, "" | "template" | "templates", name] => *name,
        [rs, _] | [_, rs, _] => return Err(CatalogError::InvalidResource((*rs).to_string())),
        _ => return Err(CatalogError::InvalidResource(reference.to_string())),
    };
    if name.is_empty() {
        return Err(CatalogError::NotFound(reference.to_string()));
    }
    Ok(name.to_string())
}

fn entry_of(value: &Value, location: Location, fallback: &str) -> Entry {
    let meta = value.get("metadata");
    let ann = |k: &str| {
        meta.and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Entry {
        name: meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(fallback)
            .to_string(),
        display_name: ann("openshift.io/display-name"),
        description: ann("description")
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        location,
    }
}

/// Every template: those of the `--templates` directories first (in the order given, files
/// sorted by name), then the built-in ones. Files that are not Templates are skipped.
pub fn list(dirs: &[PathBuf]) -> Result<Vec<Entry>, CatalogError> {
    let mut entries = Vec::new();
    for dir in dirs {
        let read = std::fs::read_dir(dir).map_err(|e| CatalogError::Read {
            path: dir.display().to_string(),
            reason: super::openshift::params::io_reason(&e),
        })?;
        let mut files: Vec<PathBuf> = read
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yaml" | "yml" | "json")
                    )
            })
            .collect();
        files.sort();
        for file in files {
            let bytes = read_bounded(&file)?;
            let source = file.display().to_string();
            // A file that does not parse or holds no Template is not part of the catalog.
            if let Ok(loaded) = openshift::load(&bytes, &source) {
                let stem = file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                entries.push(entry_of(
                    &loaded.templates[0].raw,
                    Location::File(file),
                    &stem,
                ));
            }
        }
    }
    for (file, src) in BUILTIN {
        let stem = file.trim_end_matches(".yaml");
        match openshift::load(src.as_bytes(), file) {
            Ok(loaded) => entries.push(entry_of(
                &loaded.templates[0].raw,
                Location::Builtin { file, source: src },
                stem,
            )),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(entries)
}

/// Finds a template by reference (`name`, `template/name`, `ns//name`, …).
pub fn find(reference: &str, dirs: &[PathBuf]) -> Result<Entry, CatalogError> {
    let name = parse_name(reference)?;
    list(dirs)?
        .into_iter()
        .find(|e| e.name == name)
        .ok_or(CatalogError::NotFound(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_are_named() {
        let names: Vec<String> = list(&[]).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, vec!["base-image-example", "nodejs-example"]);
        assert!(find("template/base-image-example", &[]).is_ok());
        assert!(find("openshift//nodejs-example", &[]).is_ok());
    }

    #[test]
    fn names_follow_oc() {
        assert_eq!(parse_name("x").unwrap(), "x");
        assert_eq!(parse_name("templates/x").unwrap(), "x");
        assert_eq!(parse_name("ns/template/x").unwrap(), "x");
        assert_eq!(parse_name("ns//x").unwrap(), "x");
        assert_eq!(
            parse_name("deployment/x").unwrap_err().to_string(),
            "unable to process invalid resource \"deployment\""
        );
        assert_eq!(
            find("nope", &[]).unwrap_err().to_string(),
            "template \"nope\" could not be found"
        );
    }
}
