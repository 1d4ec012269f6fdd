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

/// Writes `s` as a JSON string escaped byte for byte as serde_json escapes it (`\"`, `\\`,
/// `\b \t \n \f \r`, other control characters as lower-case `\u00xx`), so hashes stay
/// what they were when this called serde_json.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x09 => "\\t",
            0x0A => "\\n",
            0x0C => "\\f",
            0x0D => "\\r",
            0x00..=0x1F => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `sha256:<hex>` of the canonical JSON of `value`.
pub fn content_hash(value: &Value) -> String {
    let digest = Sha256::digest(canonical_json(value).as_bytes());
    format!("sha256:{}", hex::encode(digest))
}

/// `sha256:<hex>` of the canonical JSON of the array of `values`, without building the array.
pub fn content_hash_all<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut hasher = Sha256::new();
    let mut buf = String::new();
    hasher.update(b"[");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            hasher.update(b",");
        }
        buf.clear();
        write_canonical(v, &mut buf);
        hasher.update(buf.as_bytes());
    }
    hasher.update(b"]");
    format!("sha256:{}", hex::encode(hasher.finalize()))
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
    fn strings_escape_as_serde_json_does() {
        let all: String = (0u8..=0x7f)
            .map(char::from)
            .chain(['é', '\u{2028}', '😀'])
            .collect();
        for s in [all.as_str(), "", "plain", "a\"b\\c\u{7f}"] {
            let mut ours = String::new();
            write_string(s, &mut ours);
            assert_eq!(ours, Value::String(s.into()).to_string(), "{s:?}");
        }
    }

    #[test]
    fn hash_of_all_is_the_hash_of_the_array() {
        let items = vec![json!({"b": 1, "a": "x"}), json!([1, "\n"]), json!(null)];
        assert_eq!(
            content_hash_all(&items),
            content_hash(&Value::Array(items.clone()))
        );
        assert_eq!(content_hash_all(&[]), content_hash(&json!([])));
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
