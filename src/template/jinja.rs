//! minijinja templates, for resource sets that need logic (loops, conditions, arithmetic).
//!
//! A file ending in `.j2` or `.jinja` renders to multi-document YAML. It declares its
//! parameters in a leading comment whose body is YAML, in the same model as OpenShift
//! Template parameters (`name`, `description`, `value`, `required`, `generate: expression`
//! with `from`):
//!
//! ```text
//! {#---
//! parameters:
//! - name: REPLICAS
//!   value: "2"
//! - name: IMAGE
//!   required: true
//! - name: TOKEN
//!   generate: expression
//!   from: "[a-zA-Z0-9]{32}"
//! ---#}
//! apiVersion: apps/v1
//! kind: Deployment
//! spec:
//!   replicas: {{ REPLICAS | int }}
//!   ...
//!         image: {{ IMAGE | tojson }}
//! ```
//!
//! Because the declaration is a comment, the file is still a plain Jinja template. Each
//! parameter is a string variable of its name (and `params.NAME`). Rules:
//!
//! - **Strict undefined**: a misspelt variable is an error, never an empty string.
//! - **No auto-escaping**: inject values with `{{ value | tojson }}` (a JSON string is a valid
//!   YAML scalar, so no value can break the document), numbers with `| int`.
//! - `trim_blocks` and `lstrip_blocks` are on: a `{% for %}` line leaves no blank line behind.
//! - `include`, `import` and `extends` load only files under the templates root; `..`,
//!   absolute paths and symlinks that lead outside it are refused.
//! - **Fuel**: rendering stops after [`FUEL`] instructions, so a template from Git cannot spin
//!   forever; output is bounded by [`MAX_OUTPUT_BYTES`].
//! - Errors name the file and line.

use std::path::Path;

use rand::Rng;
use serde_json::{Map, Value};

use super::openshift::{self, FieldError, Parameter, Template};
use crate::paths::PathError;
use crate::resource::yaml::{self, Document, YamlError};

/// Instructions a render may execute.
pub const FUEL: u64 = 50_000_000;
/// The largest template source read (1 MiB).
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;
/// The largest rendered output accepted (32 MiB, the YAML reader's limit).
pub const MAX_OUTPUT_BYTES: usize = yaml::MAX_FILE_BYTES;

/// A minijinja template that could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JinjaError {
    /// The parameter declaration is not valid YAML or not the expected shape.
    #[error("invalid parameter declaration in {file}: {message}")]
    Declaration {
        /// The template file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Parameters could not be resolved (required ones missing, bad generator).
    #[error("{file}: {}", openshift::aggregate(.errors))]
    Parameters {
        /// The template file.
        file: String,
        /// Each problem.
        errors: Vec<FieldError>,
    },
    /// A value was given for a parameter the template does not declare.
    #[error("{file}: {}", openshift::aggregate(&.names.iter().map(|n| format!("unknown parameter name {n:?}")).collect::<Vec<_>>()))]
    UnknownParameters {
        /// The template file.
        file: String,
        /// The names.
        names: Vec<String>,
    },
    /// minijinja failed: syntax, undefined variable, out of fuel, include refused.
    #[error("{location}: {message}")]
    Render {
        /// `file:line` of the failure (the included file when it failed there).
        location: String,
        /// minijinja's description, with its detail.
        message: String,
    },
    /// The rendered text is not valid YAML.
    #[error("rendered output of {file} is not valid YAML: {source}")]
    Output {
        /// The template file.
        file: String,
        /// The YAML error, located in the rendered text.
        source: Box<YamlError>,
    },
}

/// A template file's source and declared parameters.
#[derive(Debug, Clone)]
pub struct JinjaTemplate {
    /// Its name relative to the templates root (`web/deployment.yaml.j2`).
    pub name: String,
    /// Where the declaration and errors point.
    pub display: String,
    /// The declared parameters.
    pub parameters: Vec<Parameter>,
    source: String,
}

/// The result of rendering: documents and the parameters' final values.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The YAML documents the template produced, with lines in the rendered text.
    pub documents: Vec<Document>,
    /// Parameters with their final values.
    pub parameters: Vec<Parameter>,
}

/// Whether a path names a minijinja template.
pub fn is_jinja(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("j2" | "jinja" | "jinja2")
    )
}

impl JinjaTemplate {
    /// Reads `name` (relative to `root`) and its parameter declaration.
    pub fn load(root: &Path, name: &str, display: &str) -> Result<Self, JinjaError> {
        let source = read_confined(root, name).map_err(|message| JinjaError::Render {
            location: display.to_string(),
            message,
        })?;
        Self::from_source(name, display, source)
    }

    /// Builds a template from its source text.
    pub fn from_source(name: &str, display: &str, source: String) -> Result<Self, JinjaError> {
        let parameters = declared_parameters(&source, display)?;
        Ok(JinjaTemplate {
            name: name.to_string(),
            display: display.to_string(),
            parameters,
            source,
        })
    }

    /// Renders with `values` (name → value; unknown names are an error unless
    /// `ignore_unknown`), generating what is declared generated.
    pub fn render<R: Rng + ?Sized>(
        &self,
        root: &Path,
        values: &[(String, String)],
        ignore_unknown: bool,
        rng: &mut R,
    ) -> Result<Rendered, JinjaError> {
        let mut declared = self.parameters.clone();
        let mut unknown = Vec::new();
        for (k, v) in values {
            match declared.iter_mut().find(|p| &p.name == k) {
                Some(p) => {
                    p.value = v.clone();
                    p.generate.clear();
                }
                None if ignore_unknown => {}
                None => unknown.push(k.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(JinjaError::UnknownParameters {
                file: self.display.clone(),
                names: unknown,
            });
        }
        let parameters = openshift::resolve_parameters(&declared, rng).map_err(|errors| {
            JinjaError::Parameters {
                file: self.display.clone(),
                errors,
            }
        })?;
        let text = self.render_text(root, &parameters)?;
        let documents =
            yaml::parse_documents(text.as_bytes(), &format!("{} (rendered)", self.display))
                .map_err(|source| JinjaError::Output {
                    file: self.display.clone(),
                    source: Box::new(source),
                })?;
        Ok(Rendered {
            documents,
            parameters,
        })
    }

    fn render_text(&self, root: &Path, parameters: &[Parameter]) -> Result<String, JinjaError> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        let loader_root = root.to_path_buf();
        env.set_loader(move |name| match read_confined(&loader_root, name) {
            Ok(source) => Ok(Some(source)),
            Err(message) => Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                message,
            )),
        });
        let located = |e: minijinja::Error| {
            let file = match e.name() {
                Some(n) if n == self.name => self.display.clone(),
                Some(n) => n.to_string(),
                None => self.display.clone(),
            };
            let location = match e.line() {
                Some(line) => format!("{file}:{line}"),
                None => file,
            };
            let mut message = e.kind().to_string();
            if let Some(detail) = e.detail() {
                message = format!("{message}: {detail}");
            }
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                message = format!("{message}: {c}");
                cause = c.source();
            }
            JinjaError::Render { location, message }
        };
        env.add_template_owned(self.name.clone(), self.source.clone())
            .map_err(located)?;
        let template = env.get_template(&self.name).map_err(located)?;
        let mut ctx = Map::new();
        let mut params = Map::new();
        for p in parameters {
            ctx.insert(p.name.clone(), Value::String(p.value.clone()));
            params.insert(p.name.clone(), Value::String(p.value.clone()));
        }
        ctx.insert("params".into(), Value::Object(params));
        let text = template
            .render(minijinja::Value::from(minijinja::value::Serde(
                Value::Object(ctx),
            )))
            .map_err(located)?;
        if text.len() > MAX_OUTPUT_BYTES {
            return Err(JinjaError::Render {
                location: self.display.clone(),
                message: format!("rendered output is larger than {MAX_OUTPUT_BYTES} bytes"),
            });
        }
        Ok(text)
    }
}

/// Reads the leading `{#--- … ---#}` declaration.
fn declared_parameters(source: &str, display: &str) -> Result<Vec<Parameter>, JinjaError> {
    let trimmed = source.trim_start();
    let Some(rest) = trimmed.strip_prefix("{#---") else {
        return Ok(Vec::new());
    };
    let Some(end) = rest.find("---#}") else {
        return Err(JinjaError::Declaration {
            file: display.to_string(),
            message: "the declaration opened with {#--- is not closed with ---#}".into(),
        });
    };
    let body = &rest[..end];
    let value = if body.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        yaml::parse_one(body.as_bytes(), display).map_err(|e| JinjaError::Declaration {
            file: display.to_string(),
            message: e.to_string(),
        })?
    };
    let Some(map) = value.as_object() else {
        return Err(JinjaError::Declaration {
            file: display.to_string(),
            message: "expected a mapping with a parameters list".into(),
        });
    };
    if let Some(extra) = map.keys().find(|k| *k != "parameters") {
        return Err(JinjaError::Declaration {
            file: display.to_string(),
            message: format!("unknown field {extra:?} (only parameters is allowed)"),
        });
    }
    let as_template = serde_json::json!({
        "kind": "Template",
        "parameters": map.get("parameters").cloned().unwrap_or(Value::Null),
    });
    let template =
        Template::from_value(as_template, display).map_err(|e| JinjaError::Declaration {
            file: display.to_string(),
            message: e.to_string(),
        })?;
    if let Some(p) = template
        .parameters
        .iter()
        .find(|p| !is_parameter_name(&p.name))
    {
        return Err(JinjaError::Declaration {
            file: display.to_string(),
            message: format!("parameter name {:?} does not match ^[a-zA-Z0-9_]+$", p.name),
        });
    }
    Ok(template.parameters)
}

fn is_parameter_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads `name` under `root`, refusing anything that leads outside it.
pub fn read_confined(root: &Path, name: &str) -> Result<String, String> {
    let real = crate::paths::confine(root, name).map_err(|e| match e {
        PathError::Absolute | PathError::Escapes => {
            format!("template path {name:?} leaves the templates directory")
        }
        PathError::Root(why) => {
            format!("cannot open templates directory {}: {why}", root.display())
        }
        PathError::NotFound => format!("template {name:?} not found in {}", root.display()),
        PathError::Outside(to) => format!(
            "template path {name:?} leads outside the templates directory (symlink to {})",
            to.display()
        ),
    })?;
    let meta = std::fs::metadata(&real).map_err(|e| format!("cannot read {name:?}: {e}"))?;
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "template {name:?} is {} bytes, larger than the limit of {MAX_TEMPLATE_BYTES}",
            meta.len()
        ));
    }
    std::fs::read_to_string(&real).map_err(|e| format!("cannot read {name:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn render(src: &str, values: &[(&str, &str)]) -> Result<Rendered, JinjaError> {
        let dir = tempfile::tempdir().unwrap();
        let t = JinjaTemplate::from_source("t.yaml.j2", "t.yaml.j2", src.to_string())?;
        let values: Vec<(String, String)> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        t.render(
            dir.path(),
            &values,
            false,
            &mut rand::rngs::StdRng::seed_from_u64(7),
        )
    }

    const SRC: &str = "{#---\nparameters:\n- name: COUNT\n  value: \"2\"\n- name: IMAGE\n  required: true\n- name: TOKEN\n  generate: expression\n  from: \"[a-z]{12}\"\n---#}\n{% for i in range(COUNT | int) %}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ i }}\ndata:\n  image: {{ IMAGE | tojson }}\n  token: {{ params.TOKEN | tojson }}\n{% endfor %}\n";

    #[test]
    fn renders_with_declared_parameters() {
        let out = render(SRC, &[("IMAGE", "a\": b")]).unwrap();
        assert_eq!(out.documents.len(), 2);
        assert_eq!(out.documents[1].value["metadata"]["name"], "cm-1");
        assert_eq!(out.documents[0].value["data"]["image"], "a\": b");
        let token = out.documents[0].value["data"]["token"].as_str().unwrap();
        assert_eq!(token.len(), 12);
        assert!(token.bytes().all(|b| b.is_ascii_lowercase()));
    }

    #[test]
    fn required_and_unknown_parameters_are_errors() {
        let e = render(SRC, &[]).unwrap_err().to_string();
        assert!(
            e.contains("parameter IMAGE is required and must be specified"),
            "{e}"
        );
        let e = render(SRC, &[("IMAGE", "x"), ("NOPE", "y")])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.yaml.j2: unknown parameter name \"NOPE\"");
    }

    #[test]
    fn strict_undefined_names_file_and_line() {
        let e = render("a: 1\nb: {{ missing }}\n", &[]).unwrap_err();
        match e {
            JinjaError::Render { location, message } => {
                assert_eq!(location, "t.yaml.j2:2");
                assert!(message.contains("undefined"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn fuel_stops_runaway_loops() {
        let e = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("fuel"), "{e}");
    }

    #[test]
    fn includes_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("part.yaml"), "x: 1\n").unwrap();
        let ok = JinjaTemplate::from_source("t.j2", "t.j2", "{% include 'part.yaml' %}".into())
            .unwrap()
            .render(
                dir.path(),
                &[],
                false,
                &mut rand::rngs::StdRng::seed_from_u64(1),
            )
            .unwrap();
        assert_eq!(ok.documents[0].value["x"], 1);
        let e = JinjaTemplate::from_source("t.j2", "t.j2", "{% include '../etc/passwd' %}".into())
            .unwrap()
            .render(
                dir.path(),
                &[],
                false,
                &mut rand::rngs::StdRng::seed_from_u64(1),
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("leaves the templates directory"), "{e}");
    }

    #[test]
    fn bad_output_yaml_is_located() {
        let e = render("a: 1\nb: [\n", &[]).unwrap_err().to_string();
        assert!(e.contains("t.yaml.j2 (rendered):"), "{e}");
    }

    #[test]
    fn declaration_errors() {
        let e = render("{#---\nparameters: [{name: A, value: 1}]\n---#}\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a string"), "{e}");
        let e = render("{#---\nparameters: []\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not closed"), "{e}");
        let e = render("{#---\nparameters: [{name: a-b}]\n---#}\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not match"), "{e}");
    }
}
