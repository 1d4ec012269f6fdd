//! `${NAME}` and `${{NAME}}` substitution, exactly as library-go's
//! `EvaluateParameterSubstitution` and `visitValue` do it.
//!
//! - `${NAME}` is replaced anywhere in a string, any number of times; names are
//!   `[a-zA-Z0-9_]+`; unknown names are left as they are; there is no escape syntax
//!   (`$${X}` gives `$` followed by X's value).
//! - `${{NAME}}` as the *whole* string yields the value decoded as JSON (a number, a boolean,
//!   an object…), or the plain string when it is not valid JSON.
//! - Every string is visited, map keys included; numbers, booleans and null never change.
//!
//! Upstream replaces, for each match found in the original string, the *first occurrence* of
//! `${NAME}` in the partly substituted output. When a value itself contains `${OTHER}` and
//! `${OTHER}` also appears later, the inserted copy is the one replaced. This module keeps
//! that quirk so that output matches `oc process` byte for byte.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Parameter values by name, as substitution sees them (the last definition of a name wins).
pub type Values = HashMap<String, String>;

/// A map key whose `${{…}}` substitution did not yield a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("map key {key:?} substitutes to a non-string value")]
pub struct KeyError {
    /// The key as written.
    pub key: String,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The names of every `${NAME}` in `s`, left to right, with their byte spans.
fn references(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i + 3 < bytes.len() + 1 {
            if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
                let start = i + 2;
                let mut end = start;
                while end < bytes.len() && is_name_byte(bytes[end]) {
                    end += 1;
                }
                if end > start && bytes.get(end) == Some(&b'}') {
                    let found = (i, end + 1);
                    i = end + 1;
                    return Some(found);
                }
            }
            i += 1;
        }
        None
    })
}

/// Whether `s` contains a `${NAME}` reference (the test `stripNamespace` uses).
pub fn has_reference(s: &str) -> bool {
    references(s).next().is_some()
}

/// The NAME of a whole-string `${{NAME}}`.
fn whole_non_string(s: &str) -> Option<&str> {
    let name = s.strip_prefix("${{")?.strip_suffix("}}")?;
    (!name.is_empty() && name.bytes().all(is_name_byte)).then_some(name)
}

/// The result of substituting into one string.
#[derive(Debug, Clone, PartialEq)]
pub enum Substituted {
    /// A string (string mode, or `${{X}}` whose value is not JSON).
    String(String),
    /// `${{X}}` whose value decoded as JSON.
    Value(Value),
}

/// String-mode substitution: `${NAME}` references replaced, the result always a string.
pub fn substitute_str(input: &str, values: &Values) -> String {
    let mut out: Option<String> = None;
    for (start, end) in references(input) {
        let reference = &input[start..end];
        let name = &reference[2..reference.len() - 1];
        if let Some(value) = values.get(name) {
            let current = out.get_or_insert_with(|| input.to_string());
            if let Some(pos) = current.find(reference) {
                current.replace_range(pos..pos + reference.len(), value);
            }
        }
    }
    out.unwrap_or_else(|| input.to_string())
}

/// Substitution for a value position: `${{NAME}}` may yield a non-string.
pub fn substitute_value(input: &str, values: &Values) -> Substituted {
    if let Some(name) = whole_non_string(input)
        && let Some(value) = values.get(name)
    {
        return match decode_json(value) {
            Some(v) => Substituted::Value(v),
            None => Substituted::String(value.clone()),
        };
    }
    Substituted::String(substitute_str(input, values))
}

/// Decodes a `${{}}` value as Go's `json.Unmarshal` into `interface{}` would: numbers become
/// float64 there, so an integral float is written back as an integer (`1e3` → `1000`).
fn decode_json(text: &str) -> Option<Value> {
    let value: Value = serde_json::from_str(text).ok()?;
    Some(integral_floats_to_ints(value))
}

fn integral_floats_to_ints(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            // Integers JSON decoded as float64 in Go print without a fraction; keep that.
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Value::from(f as i64)
            } else {
                Value::Number(n)
            }
        }
        Value::Number(n) => {
            // Go decodes every number to float64: beyond 2^53 precision is lost, as upstream.
            match n.as_i64().map(|i| (i, i.unsigned_abs() > (1 << 53))) {
                Some((i, true)) => {
                    serde_json::Number::from_f64(i as f64).map_or(Value::Number(n), Value::Number)
                }
                _ => match n.as_u64() {
                    Some(u) if u > (1 << 53) => serde_json::Number::from_f64(u as f64)
                        .map_or(Value::Number(n), Value::Number),
                    _ => Value::Number(n),
                },
            }
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(integral_floats_to_ints).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, integral_floats_to_ints(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Substitutes every string in `value`, map keys included.
pub fn substitute_object(value: &mut Value, values: &Values) -> Result<(), KeyError> {
    match value {
        Value::String(s) => {
            if !s.contains("${") {
                return Ok(());
            }
            match substitute_value(s, values) {
                Substituted::String(new) => *s = new,
                Substituted::Value(v) => *value = v,
            }
        }
        Value::Array(items) => {
            for item in items {
                substitute_object(item, values)?;
            }
        }
        Value::Object(map) => {
            if !map.keys().any(|k| k.contains("${")) {
                for item in map.values_mut() {
                    substitute_object(item, values)?;
                }
                return Ok(());
            }
            let old = std::mem::take(map);
            let mut new = Map::new();
            for (key, mut item) in old {
                let key = match substitute_value(&key, values) {
                    Substituted::String(k) => k,
                    Substituted::Value(Value::String(k)) => k,
                    Substituted::Value(_) => return Err(KeyError { key }),
                };
                substitute_object(&mut item, values)?;
                new.insert(key, item);
            }
            *map = new;
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vals(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn string_mode_follows_library_go() {
        let v = vals(&[
            ("VALUE", "1"),
            ("STRING_1", "string1"),
            ("STRING_2", "string2"),
        ]);
        assert_eq!(substitute_str("${VALUE}", &v), "1");
        assert_eq!(substitute_str("v${VALUE}", &v), "v1");
        assert_eq!(
            substitute_str("${STRING_1}_${STRING_2}", &v),
            "string1_string2"
        );
        assert_eq!(substitute_str("$${VALUE}", &v), "$1");
        assert_eq!(substitute_str("${UNKNOWN}", &v), "${UNKNOWN}");
        assert_eq!(substitute_str("${a.b}", &v), "${a.b}");
        assert_eq!(substitute_str("${X:-d}", &v), "${X:-d}");
        assert_eq!(
            substitute_str("${jboss.bind.address:0.0.0.0}", &v),
            "${jboss.bind.address:0.0.0.0}"
        );
        assert_eq!(substitute_str("a${{VALUE}}", &v), "a${{VALUE}}");
        assert_eq!(substitute_str("${VALUE}${VALUE}-${VALUE}", &v), "11-1");
    }

    #[test]
    fn first_occurrence_quirk_is_kept() {
        // A's value contains ${B}; ${B} appears later in the original: the inserted copy is
        // replaced and the later ${B} stays.
        let v = vals(&[("A", "x${B}"), ("B", "y")]);
        assert_eq!(substitute_str("${A}-${B}", &v), "xy-${B}");
    }

    #[test]
    fn non_string_mode_decodes_json() {
        let v = vals(&[
            ("INT_1", "1"),
            ("MAP", r#"{"key":"value"}"#),
            ("ARR", r#"["key","value"]"#),
            ("S", "string1"),
            ("BAD", r#"{"key":"value""#),
            ("E", "1e3"),
            ("Z", "007"),
            ("EMPTY", ""),
            ("T", "true"),
        ]);
        assert_eq!(
            substitute_value("${{INT_1}}", &v),
            Substituted::Value(json!(1))
        );
        assert_eq!(
            substitute_value("${{MAP}}", &v),
            Substituted::Value(json!({"key": "value"}))
        );
        assert_eq!(
            substitute_value("${{ARR}}", &v),
            Substituted::Value(json!(["key", "value"]))
        );
        assert_eq!(
            substitute_value("${{S}}", &v),
            Substituted::String("string1".into())
        );
        assert_eq!(
            substitute_value("${{BAD}}", &v),
            Substituted::String(r#"{"key":"value""#.into())
        );
        assert_eq!(
            substitute_value("${{E}}", &v),
            Substituted::Value(json!(1000))
        );
        assert_eq!(
            substitute_value("${{Z}}", &v),
            Substituted::String("007".into())
        );
        assert_eq!(
            substitute_value("${{EMPTY}}", &v),
            Substituted::String(String::new())
        );
        assert_eq!(
            substitute_value("${{T}}", &v),
            Substituted::Value(json!(true))
        );
        assert_eq!(
            substitute_value("${{INVALID_PARAMETER}}", &v),
            Substituted::String("${{INVALID_PARAMETER}}".into())
        );
        assert_eq!(
            substitute_value("${{INVALID PARAMETER}}", &v),
            Substituted::String("${{INVALID PARAMETER}}".into())
        );
        assert_eq!(
            substitute_value("${{INT_1}}a", &v),
            Substituted::String("${{INT_1}}a".into())
        );
    }

    #[test]
    fn objects_keys_and_nested_values() {
        let v = vals(&[("K", "key"), ("N", "3"), ("NUM", "{\"a\":1}")]);
        let mut obj =
            json!({"${K}": ["${N}", "${{N}}", 5, true, null], "m": {"x-${K}": "${{NUM}}"}});
        substitute_object(&mut obj, &v).unwrap();
        assert_eq!(
            obj,
            json!({"key": ["3", 3, 5, true, null], "m": {"x-key": {"a": 1}}})
        );
        let mut bad = json!({"${{N}}": 1});
        assert!(substitute_object(&mut bad, &v).is_err());
    }
}
