//! Content hashes over a canonical JSON form.
//!
//! serde_json sorts map keys unless some crate in the build turns on `preserve_order`, so the
//! hash writes keys in sorted order itself rather than trusting the map.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` as compact JSON with every object's keys in byte order.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // Numbers, booleans and null print the same in every JSON writer.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json escapes exactly as JSON requires; a string always serializes.
    out.push_str(&Value::String(s.to_owned()).to_string());
}

/// `sha256:<hex>` of the canonical JSON of `value`.
pub fn content_hash(value: &Value) -> String {
    let digest = Sha256::digest(canonical_json(value).as_bytes());
    format!("sha256:{}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_keys_and_drops_whitespace() {
        let v = json!({"b": [1, {"z": null, "a": "x\"y"}], "a": true});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":true,"b":[1,{"a":"x\"y","z":null}]}"#
        );
    }

    #[test]
    fn hash_is_stable_and_content_sensitive() {
        let a = json!({"kind": "ConfigMap", "data": {"k": "v"}});
        let b = json!({"data": {"k": "v"}, "kind": "ConfigMap"});
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(
            content_hash(&a),
            content_hash(&json!({"kind": "ConfigMap", "data": {"k": "w"}}))
        );
        assert!(content_hash(&a).starts_with("sha256:"));
        assert_eq!(content_hash(&a).len(), "sha256:".len() + 64);
    }
}
