//! OpenShift Templates, processed exactly as `oc process` (library-go `Processor.Process`) does.
//!
//! ```text
//! parameters: value given? keep : generate (one RNG for the whole template) ; required → error
//! message, labels (keys and values) ← ${NAME}
//! each object: strip literal metadata.namespace → substitute → groupify apiVersion → add labels
//! ```
//!
//! The one deliberate difference from upstream is in the generator: ranges are inclusive
//! (`[0-9]` can yield `9`), as OpenShift's own documentation says (see [`generate`]).
//!
//! ```
//! use kascade::template::openshift::{Template, process};
//! use rand::SeedableRng;
//!
//! let yaml = br#"
//! kind: Template
//! apiVersion: template.openshift.io/v1
//! metadata: {name: demo}
//! parameters:
//! - {name: NAME, value: web}
//! - {name: REPLICAS, value: "2"}
//! objects:
//! - apiVersion: v1
//!   kind: Route
//!   metadata: {name: "${NAME}", namespace: ignored}
//!   spec: {replicas: "${{REPLICAS}}"}
//! "#;
//! let template = Template::from_bytes(yaml, "demo.yaml").unwrap();
//! let mut rng = rand::rngs::StdRng::seed_from_u64(1);
//! let out = process(&template, &mut rng).unwrap();
//! assert_eq!(out.objects[0]["apiVersion"], "route.openshift.io/v1");
//! assert_eq!(out.objects[0]["metadata"]["name"], "web");
//! assert!(out.objects[0]["metadata"].get("namespace").is_none());
//! assert_eq!(out.objects[0]["spec"]["replicas"], 2);
//! ```

pub mod generate;
pub mod params;
pub mod substitute;

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use serde_json::{Map, Value};

use crate::resource::gvk;
use crate::resource::yaml::{self, YamlError};
use substitute::{Values, substitute_object, substitute_str};

/// One declared parameter (`template.parameters[]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parameter {
    /// `name`.
    pub name: String,
    /// `displayName`.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `value`: the default, or the value given by the user, or the generated value.
    pub value: String,
    /// `generate`: the generator's name (only `expression` exists).
    pub generate: String,
    /// `from`: the generator's input.
    pub from: String,
    /// `required`.
    pub required: bool,
}

impl Parameter {
    /// The parameter as JSON, in the field order OpenShift writes it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.clone().into());
        for (k, v) in [
            ("displayName", &self.display_name),
            ("description", &self.description),
            ("value", &self.value),
            ("generate", &self.generate),
            ("from", &self.from),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), v.clone().into());
            }
        }
        if self.required {
            m.insert("required".into(), true.into());
        }
        Value::Object(m)
    }
}

/// A template as read from a file: its parameters, message, labels and raw objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `metadata.name` (may be empty).
    pub name: String,
    /// Where it was read from.
    pub source_name: String,
    /// The template object itself, for the fields kascade does not model (`metadata`).
    pub raw: Value,
    /// `message`.
    pub message: Option<String>,
    /// `parameters`, in order.
    pub parameters: Vec<Parameter>,
    /// `labels` (objectLabels); `None` when absent or null, which differs from `{}`.
    pub labels: Option<BTreeMap<String, String>>,
    /// `objects`, unprocessed.
    pub objects: Vec<Value>,
}

/// Why input could not be read as a template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The YAML or JSON itself is broken.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// The input holds no Template.
    #[error("unable to parse {source_name:?}, not a valid Template but {found}")]
    NotATemplate {
        /// The file.
        source_name: String,
        /// What it holds instead.
        found: String,
    },
    /// A field of the Template has the wrong type.
    #[error("unable to decode template {source_name:?}: {field}: {problem}")]
    Decode {
        /// The file.
        source_name: String,
        /// The field path (`parameters[2].value`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Templates found in one input, with the first one to process.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every Template found (from TemplateInstances too), in input order.
    pub templates: Vec<Template>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Template {
    /// Reads the first Template of a YAML or JSON input (a Template, or a v1 List holding one).
    pub fn from_bytes(bytes: &[u8], source_name: &str) -> Result<Template, LoadError> {
        let mut loaded = load(bytes, source_name)?;
        Ok(loaded.templates.remove(0))
    }

    /// Decodes a Template object. Unknown fields are ignored, as OpenShift's decoder does;
    /// known fields with the wrong type are errors naming the field.
    pub fn from_value(value: Value, source_name: &str) -> Result<Template, LoadError> {
        let decode_err = |field: String, problem: String| LoadError::Decode {
            source_name: source_name.to_string(),
            field,
            problem,
        };
        let Some(map) = value.as_object() else {
            return Err(LoadError::NotATemplate {
                source_name: source_name.to_string(),
                found: type_name(&value).to_string(),
            });
        };
        let string_field = |v: Option<&Value>, field: &str| -> Result<String, LoadError> {
            match v {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(decode_err(
                    field.to_string(),
                    format!("expected a string, found {}", type_name(other)),
                )),
            }
        };
        let name = string_field(
            map.get("metadata").and_then(|m| m.get("name")),
            "metadata.name",
        )?;
        let message = match map.get("message") {
            None | Some(Value::Null) => None,
            Some(v) => Some(string_field(Some(v), "message")?),
        };
        let mut parameters = Vec::new();
        match map.get("parameters") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, p) in items.iter().enumerate() {
                    let Some(p) = p.as_object() else {
                        return Err(decode_err(
                            format!("parameters[{i}]"),
                            format!("expected an object, found {}", type_name(p)),
                        ));
                    };
                    let f = |k: &str| string_field(p.get(k), &format!("parameters[{i}].{k}"));
                    let required = match p.get("required") {
                        None | Some(Value::Null) => false,
                        Some(Value::Bool(b)) => *b,
                        Some(other) => {
                            return Err(decode_err(
                                format!("parameters[{i}].required"),
                                format!("expected a boolean, found {}", type_name(other)),
                            ));
                        }
                    };
                    parameters.push(Parameter {
                        name: f("name")?,
                        display_name: f("displayName")?,
                        description: f("description")?,
                        value: f("value")?,
                        generate: f("generate")?,
                        from: f("from")?,
                        required,
                    });
                }
            }
            Some(other) => {
                return Err(decode_err(
                    "parameters".into(),
                    format!("expected an array, found {}", type_name(other)),
                ));
            }
        }
        let labels = match map.get("labels") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let mut labels = BTreeMap::new();
                for (k, v) in m {
                    labels.insert(k.clone(), string_field(Some(v), &format!("labels.{k}"))?);
                }
                Some(labels)
            }
            Some(other) => {
                return Err(decode_err(
                    "labels".into(),
                    format!("expected an object, found {}", type_name(other)),
                ));
            }
        };
        let objects = match map.get("objects") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(other) => {
                return Err(decode_err(
                    "objects".into(),
                    format!("expected an array, found {}", type_name(other)),
                ));
            }
        };
        Ok(Template {
            name,
            source_name: source_name.to_string(),
            raw: value,
            message,
            parameters,
            labels,
            objects,
        })
    }

    /// Sets a parameter's value as `-p` does: the *first* definition of the name gets the value
    /// and its generator is switched off. Returns false for an unknown name.
    pub fn set_parameter(&mut self, name: &str, value: &str) -> bool {
        match self.parameters.iter_mut().find(|p| p.name == name) {
            Some(p) => {
                p.value = value.to_string();
                p.generate.clear();
                true
            }
            None => false,
        }
    }

    /// Whether a parameter of that name is declared.
    pub fn has_parameter(&self, name: &str) -> bool {
        self.parameters.iter().any(|p| p.name == name)
    }

    /// `metadata.annotations[key]`, when a string.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.raw
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }
}

/// Reads every Template in an input: a Template document, Templates inside a v1 List, and the
/// `spec.template` of TemplateInstances (whose `spec.secret` names a Secret in the same input
/// holding parameter values, as the TemplateInstance controller reads them).
pub fn load(bytes: &[u8], source_name: &str) -> Result<Loaded, LoadError> {
    let docs = yaml::parse_documents(bytes, source_name)?;
    let mut items: Vec<Value> = Vec::new();
    for doc in docs {
        if doc.value.get("kind").and_then(Value::as_str) == Some("List") {
            match doc.value.get("items") {
                Some(Value::Array(list)) => items.extend(list.iter().cloned()),
                _ => items.push(doc.value),
            }
        } else {
            items.push(doc.value);
        }
    }
    let mut templates = Vec::new();
    for item in &items {
        match item.get("kind").and_then(Value::as_str) {
            Some("Template") => templates.push(Template::from_value(item.clone(), source_name)?),
            Some("TemplateInstance") => {
                let Some(inner) = item.get("spec").and_then(|s| s.get("template")) else {
                    continue;
                };
                let mut t = Template::from_value(inner.clone(), source_name)?;
                if let Some(secret) = item
                    .get("spec")
                    .and_then(|s| s.get("secret"))
                    .and_then(|s| s.get("name"))
                    .and_then(Value::as_str)
                {
                    for (k, v) in secret_values(&items, secret) {
                        t.set_parameter(&k, &v);
                    }
                }
                templates.push(t);
            }
            _ => {}
        }
    }
    if templates.is_empty() {
        let found = match items.first() {
            None => "an empty document".to_string(),
            Some(v) => v
                .get("kind")
                .and_then(Value::as_str)
                .map_or_else(|| type_name(v).to_string(), str::to_string),
        };
        return Err(LoadError::NotATemplate {
            source_name: source_name.to_string(),
            found,
        });
    }
    Ok(Loaded { templates })
}

/// The string values of a Secret named `name` among `items` (`stringData`, then `data`
/// decoded from base64).
fn secret_values(items: &[Value], name: &str) -> Vec<(String, String)> {
    let Some(secret) = items.iter().find(|i| {
        i.get("kind").and_then(Value::as_str) == Some("Secret")
            && i.get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                == Some(name)
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(Value::Object(data)) = secret.get("data") {
        for (k, v) in data {
            if let Some(decoded) = v.as_str().and_then(base64_decode) {
                out.push((k.clone(), decoded));
            }
        }
    }
    if let Some(Value::Object(data)) = secret.get("stringData") {
        for (k, v) in data {
            if let Some(s) = v.as_str() {
                out.push((k.clone(), s.to_string()));
            }
        }
    }
    out
}

/// Standard base64 with padding, as Secrets carry `data`; `None` when malformed or not UTF-8.
pub fn base64_decode(s: &str) -> Option<String> {
    crate::resource::base64::decode(s).and_then(|b| String::from_utf8(b).ok())
}

/// One field error, printed as Kubernetes prints `field.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field path (`template.parameters[1]`).
    pub field: String,
    /// `Required value` or `Invalid value: "<v>"`.
    pub kind: FieldErrorKind,
    /// The detail.
    pub detail: String,
}

/// The two field error types processing produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// A required parameter has no value.
    Required,
    /// A value is invalid; carries the value shown.
    Invalid(String),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FieldErrorKind::Required => {
                write!(f, "{}: Required value: {}", self.field, self.detail)
            }
            FieldErrorKind::Invalid(v) => {
                write!(f, "{}: Invalid value: {v:?}: {}", self.field, self.detail)
            }
        }
    }
}

/// Processing failed; prints as `oc process --local` does:
/// `Template.template.openshift.io "<name>" is invalid: <error>` (several errors in `[…]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Template.template.openshift.io {name:?} is invalid: {}", aggregate(.errors))]
pub struct ProcessError {
    /// The template's name.
    pub name: String,
    /// Every error found.
    pub errors: Vec<FieldError>,
}

/// Kubernetes' aggregate format: one error as itself, several as `[a, b]`.
pub fn aggregate<T: fmt::Display>(errors: &[T]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The result of processing: the objects, and the template's resolved parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// The processed objects, in template order.
    pub objects: Vec<Value>,
    /// The substituted message.
    pub message: Option<String>,
    /// Parameters with their final values (given, default or generated).
    pub parameters: Vec<Parameter>,
    /// The substituted labels.
    pub labels: Option<BTreeMap<String, String>>,
}

impl Processed {
    /// The processed Template object itself (what library-go's `Process` leaves behind).
    pub fn to_template(&self, template: &Template) -> Value {
        let mut t = template.raw.clone();
        if let Some(map) = t.as_object_mut() {
            map.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            map.insert("objects".into(), Value::Array(self.objects.clone()));
            if !self.parameters.is_empty() {
                map.insert(
                    "parameters".into(),
                    Value::Array(self.parameters.iter().map(Parameter::to_value).collect()),
                );
            }
            if let Some(m) = &self.message {
                map.insert("message".into(), m.clone().into());
            }
            match &self.labels {
                Some(l) => {
                    map.insert(
                        "labels".into(),
                        l.iter()
                            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                            .collect(),
                    );
                }
                None => {
                    map.remove("labels");
                }
            }
        }
        t
    }
}

/// Gives every parameter its final value: a value already set is kept, an empty one is
/// generated when a generator is named (one RNG for all, in declaration order), and a
/// required parameter left empty is an error. Every error is collected.
pub fn resolve_parameters<R: Rng + ?Sized>(
    declared: &[Parameter],
    rng: &mut R,
) -> Result<Vec<Parameter>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut parameters = declared.to_vec();
    for (i, p) in parameters.iter_mut().enumerate() {
        if p.value.is_empty() && !p.generate.is_empty() {
            if p.generate == "expression" {
                match generate::generate(&p.from, rng) {
                    Ok(v) => p.value = v,
                    Err(e) => errors.push(FieldError {
                        field: format!("template.parameters[{i}]"),
                        kind: FieldErrorKind::Invalid(p.name.clone()),
                        detail: e.to_string(),
                    }),
                }
            } else {
                errors.push(FieldError {
                    field: format!("template.parameters[{i}]"),
                    kind: FieldErrorKind::Invalid(p.name.clone()),
                    detail: format!(
                        "Unknown generator name '{}' for parameter {}",
                        p.generate, p.name
                    ),
                });
                continue;
            }
        }
        if p.value.is_empty() && p.required {
            errors.push(FieldError {
                field: format!("template.parameters[{i}]"),
                kind: FieldErrorKind::Required,
                detail: format!(
                    "template.parameters[{i}]: parameter {} is required and must be specified",
                    p.name
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(parameters)
    } else {
        Err(errors)
    }
}

/// Processes a template: generates parameters, substitutes, strips namespaces, groupifies
/// apiVersions and adds labels. Every error is collected, not just the first.
pub fn process<R: Rng + ?Sized>(
    template: &Template,
    rng: &mut R,
) -> Result<Processed, ProcessError> {
    let parameters =
        resolve_parameters(&template.parameters, rng).map_err(|errors| ProcessError {
            name: template.name.clone(),
            errors,
        })?;
    let mut errors = Vec::new();
    // A later duplicate definition overwrites an earlier one, as upstream's map does.
    let values: Values = parameters
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    let message = template
        .message
        .as_deref()
        .map(|m| substitute_str(m, &values));
    let labels = template.labels.as_ref().map(|labels| {
        labels
            .iter()
            .map(|(k, v)| (substitute_str(k, &values), substitute_str(v, &values)))
            .collect::<BTreeMap<_, _>>()
    });
    let mut objects = Vec::with_capacity(template.objects.len());
    for (i, object) in template.objects.iter().enumerate() {
        let mut object = object.clone();
        if !object.is_object() {
            errors.push(FieldError {
                field: format!("item[{i}].objects"),
                kind: FieldErrorKind::Invalid(type_name(&object).into()),
                detail: format!(
                    "unable to handle object: expected an object, found {}",
                    type_name(&object)
                ),
            });
            continue;
        }
        strip_namespace(&mut object);
        if let Err(e) = substitute_object(&mut object, &values) {
            errors.push(FieldError {
                field: format!("item[{i}].objects"),
                kind: FieldErrorKind::Invalid(e.key.clone()),
                detail: e.to_string(),
            });
            continue;
        }
        groupify(&mut object);
        if let Some(labels) = &labels
            && let Err(why) = add_labels(&mut object, labels)
        {
            errors.push(FieldError {
                field: format!("item[{i}].labels"),
                kind: FieldErrorKind::Invalid(String::new()),
                detail: format!("label could not be applied: {why}"),
            });
            continue;
        }
        objects.push(object);
    }
    if !errors.is_empty() {
        return Err(ProcessError {
            name: template.name.clone(),
            errors,
        });
    }
    Ok(Processed {
        objects,
        message,
        parameters,
        labels,
    })
}

/// Removes a literal `metadata.namespace`; one that references a parameter (`${NS}`) stays
/// and is substituted (library-go `stripNamespace`).
fn strip_namespace(object: &mut Value) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let keep = meta
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(substitute::has_reference);
    if !keep {
        meta.remove("namespace");
    }
}

fn groupify(object: &mut Value) {
    let (Some(api_version), Some(kind)) = (
        object.get("apiVersion").and_then(Value::as_str),
        object.get("kind").and_then(Value::as_str),
    ) else {
        return;
    };
    if let Some(new) = gvk::groupify(api_version, kind) {
        object["apiVersion"] = Value::String(new);
    }
}

/// Merges labels into `metadata.labels` only (never pod templates or selectors).
pub fn add_labels(object: &mut Value, labels: &BTreeMap<String, String>) -> Result<(), String> {
    let Some(map) = object.as_object_mut() else {
        return Err("object is not a mapping".into());
    };
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if meta.is_null() {
        *meta = Value::Object(Map::new());
    }
    let Some(meta) = meta.as_object_mut() else {
        return Err("metadata is not a mapping".into());
    };
    let existing = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if existing.is_null() {
        *existing = Value::Object(Map::new());
    }
    let Some(existing) = existing.as_object_mut() else {
        return Err("metadata.labels is not a mapping".into());
    };
    for (k, v) in labels {
        existing.insert(k.clone(), Value::String(v.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    fn template(v: Value) -> Template {
        Template::from_value(v, "t.yaml").unwrap()
    }

    #[test]
    fn required_parameter_error_matches_oc() {
        let t = template(json!({"kind": "Template", "metadata": {"name": "template"},
            "parameters": [{"name": "optional_param"}, {"name": "required_param", "required": true}]}));
        let err = process(&t, &mut rand::rngs::StdRng::seed_from_u64(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Template.template.openshift.io \"template\" is invalid: template.parameters[1]: Required value: template.parameters[1]: parameter required_param is required and must be specified"
        );
    }

    #[test]
    fn errors_are_aggregated() {
        let t = template(json!({"kind": "Template", "metadata": {"name": "t"},
            "parameters": [{"name": "A", "required": true}, {"name": "B", "generate": "uuid"}, {"name": "C", "generate": "expression", "from": "[ABC]{3}"}]}));
        let msg = process(&t, &mut rand::rngs::StdRng::seed_from_u64(1))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(": [template.parameters[0]: Required value"),
            "{msg}"
        );
        assert!(
            msg.contains("Unknown generator name 'uuid' for parameter B"),
            "{msg}"
        );
        assert!(msg.contains("malformed expresion syntax: [ABC]"), "{msg}");
    }

    #[test]
    fn namespaces_labels_and_groups() {
        let t = template(json!({"kind": "Template", "metadata": {"name": "t"},
        "labels": {"tpl": "${NAME}"},
        "parameters": [{"name": "NAME", "value": "n"}, {"name": "NS", "value": "prod"}],
        "objects": [
            {"apiVersion": "v1", "kind": "DeploymentConfig", "metadata": {"name": "a", "namespace": "literal"},
             "spec": {"template": {"metadata": {"labels": {"x": "y"}}}}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b", "namespace": "${NS}"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c", "namespace": "${{NS}}"}}
        ]}));
        let out = process(&t, &mut rand::rngs::StdRng::seed_from_u64(1)).unwrap();
        assert_eq!(out.objects[0]["apiVersion"], "apps.openshift.io/v1");
        assert!(out.objects[0]["metadata"].get("namespace").is_none());
        assert_eq!(out.objects[0]["metadata"]["labels"], json!({"tpl": "n"}));
        assert_eq!(
            out.objects[0]["spec"]["template"]["metadata"]["labels"],
            json!({"x": "y"})
        );
        assert_eq!(out.objects[1]["metadata"]["namespace"], "prod");
        assert!(out.objects[2]["metadata"].get("namespace").is_none());
    }

    #[test]
    fn set_parameter_targets_first_definition_but_last_wins_substitution() {
        let mut t = template(json!({"kind": "Template", "metadata": {"name": "t"},
            "parameters": [{"name": "X", "value": "first"}, {"name": "X", "value": "second"}],
            "objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "${X}"}}]}));
        assert!(t.set_parameter("X", "given"));
        let out = process(&t, &mut rand::rngs::StdRng::seed_from_u64(1)).unwrap();
        assert_eq!(out.objects[0]["metadata"]["name"], "second");
    }

    #[test]
    fn decode_errors_name_the_field() {
        let e = Template::from_value(
            json!({"kind": "Template", "parameters": [{"name": "P", "value": 8080}]}),
            "x.yaml",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to decode template \"x.yaml\": parameters[0].value: expected a string, found number"
        );
    }

    #[test]
    fn non_templates_are_named() {
        let e = load(
            b"{\"apiVersion\":\"v1\",\"kind\":\"RoleBinding\"}",
            "b.json",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to parse \"b.json\", not a valid Template but RoleBinding"
        );
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some("hello"));
        assert_eq!(base64_decode("dGVtcGxhdGU=").as_deref(), Some("template"));
        assert_eq!(base64_decode("!!"), None);
    }
}
