//! The in-memory model every stage shares: objects as `serde_json::Value`, keyed by
//! [`ResourceKey`], collected in a [`ResourceSet`].
//!
//! This module depends on nothing else in the crate.

pub mod base64;
pub mod gvk;
pub mod hash;
pub mod key;
pub mod order;
pub mod print;
pub mod yaml;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

pub use key::{KeyError, ResourceKey};

/// The annotation holding the content hash of what kascade applied.
pub const APPLIED_HASH: &str = "app.kascade.dev/applied-hash";
/// The label naming the app an object belongs to.
pub const INSTANCE_LABEL: &str = "app.kascade.dev/instance";

/// Where an object came from: a file (or a template) and the line its document starts on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file or template name, as the user would recognise it.
    pub file: String,
    /// 1-based line of the document in `file`, 0 when not known.
    pub line: usize,
}

impl Origin {
    /// An origin at a line of a file.
    pub fn new(file: impl Into<String>, line: usize) -> Self {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            f.write_str(&self.file)
        }
    }
}

/// One object of a desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Its identity.
    pub key: ResourceKey,
    /// The object itself.
    pub object: Value,
    /// Where it was read or rendered from.
    pub origin: Origin,
}

impl Resource {
    /// Wraps an object, reading its key.
    pub fn new(object: Value, origin: Origin) -> Result<Self, KeyError> {
        Ok(Resource {
            key: ResourceKey::of(&object)?,
            object,
            origin,
        })
    }

    /// `sha256:<hex>` of the object's canonical JSON.
    pub fn content_hash(&self) -> String {
        hash::content_hash(&self.object)
    }
}

/// Two objects with the same key in one set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate object {key}: defined at {first} and again at {second}")]
pub struct DuplicateError {
    /// The key both objects share.
    pub key: ResourceKey,
    /// Where the first one came from.
    pub first: Origin,
    /// Where the second one came from.
    pub second: Origin,
}

/// An ordered set of objects with unique keys: the output of rendering, the input of diff.
///
/// Order is the order objects were added (file order, then document order), which is the order
/// `oc process` and `kubectl` print them in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceSet {
    items: Vec<Resource>,
    index: HashMap<ResourceKey, usize>,
}

impl ResourceSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an object; a second object with the same key is an error naming both origins.
    pub fn insert(&mut self, resource: Resource) -> Result<(), Box<DuplicateError>> {
        if let Some(&i) = self.index.get(&resource.key) {
            return Err(Box::new(DuplicateError {
                key: resource.key,
                first: self.items[i].origin.clone(),
                second: resource.origin,
            }));
        }
        self.index.insert(resource.key.clone(), self.items.len());
        self.items.push(resource);
        Ok(())
    }

    /// The object with this key.
    pub fn get(&self, key: &ResourceKey) -> Option<&Resource> {
        self.index.get(key).map(|&i| &self.items[i])
    }

    /// Objects in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Resource> {
        self.items.iter()
    }

    /// How many objects the set holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The objects' values in order.
    pub fn objects(&self) -> impl Iterator<Item = &Value> {
        self.items.iter().map(|r| &r.object)
    }

    /// Consumes the set, returning its objects in order.
    pub fn into_resources(self) -> Vec<Resource> {
        self.items
    }
}

/// Moves a Secret's `stringData` into `data`, base64-encoded, as the API server does on
/// write.
pub fn fold_string_data(secret: &mut Value) {
    let Some(map) = secret.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Some(data) = data.as_object_mut() {
        for (k, v) in string_data {
            if let Some(s) = v.as_str() {
                data.insert(k, Value::String(base64::encode(s.as_bytes())));
            }
        }
    }
}

/// A Kubernetes `v1` List of `items`, as `oc process` and `kubectl get -o json` print it.
pub fn list_of<'a>(items: impl IntoIterator<Item = &'a Value>) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {},
        "items": items.into_iter().cloned().collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicates_name_both_origins() {
        let mut set = ResourceSet::new();
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}});
        set.insert(Resource::new(obj.clone(), Origin::new("one.yaml", 3)).unwrap())
            .unwrap();
        let err = set
            .insert(Resource::new(obj, Origin::new("two.yaml", 7)).unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "duplicate object /ConfigMap/n/a: defined at one.yaml:3 and again at two.yaml:7"
        );
        assert_eq!(set.len(), 1);
    }
}
