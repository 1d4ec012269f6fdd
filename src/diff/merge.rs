//! Predicting the live object after an apply: desired laid over live, three-way.

use serde_json::Value;

use super::triggers;

/// The live object as it will be after applying `desired`: desired's fields over live's,
/// lists of keyed items (containers by name, ports by port, …) merged item by item, the
/// fields of `last_applied` that desired dropped removed, trigger-owned fields kept.
pub fn predict(live: &Value, desired: &Value, last_applied: Option<&Value>) -> Value {
    let mut predicted = merge(live, desired, last_applied);
    triggers::keep_trigger_owned(&mut predicted, live);
    predicted
}

fn merge(live: &Value, desired: &Value, last: Option<&Value>) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => {
            let mut out = l.clone();
            for (k, dv) in d {
                let lv = l.get(k).unwrap_or(&Value::Null);
                out.insert(k.clone(), merge(lv, dv, last.and_then(|x| x.get(k))));
            }
            if let Some(Value::Object(last)) = last {
                for k in last.keys() {
                    if !d.contains_key(k) {
                        out.remove(k);
                    }
                }
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(d)) => merge_list(l, d, last.and_then(Value::as_array)),
        _ => desired.clone(),
    }
}

/// The field that identifies items of a list, when every item of both lists has a distinct
/// value for it (Kubernetes' strategic-merge keys for the lists that matter most).
fn merge_key(l: &[Value], d: &[Value]) -> Option<&'static str> {
    [
        "name",
        "containerPort",
        "port",
        "mountPath",
        "devicePath",
        "type",
    ]
    .into_iter()
    .find(|k| {
        let keyed = |items: &[Value]| {
            let mut seen = std::collections::HashSet::new();
            items.iter().all(|i| {
                i.get(*k)
                    .is_some_and(|v| !v.is_null() && seen.insert(v.to_string()))
            })
        };
        !d.is_empty() && keyed(d) && keyed(l)
    })
}

fn merge_list(l: &[Value], d: &[Value], last: Option<&Vec<Value>>) -> Value {
    if let Some(k) = merge_key(l, d) {
        let find = |items: &[Value], v: &Value| items.iter().find(|i| i.get(k) == Some(v)).cloned();
        let merged = d
            .iter()
            .map(|di| {
                let kv = di.get(k).cloned().unwrap_or(Value::Null);
                match find(l, &kv) {
                    Some(li) => {
                        let last_item = last.and_then(|last| find(last, &kv));
                        merge(&li, di, last_item.as_ref())
                    }
                    None => di.clone(),
                }
            })
            .collect();
        return Value::Array(merged);
    }
    if l.len() == d.len() && l.iter().chain(d).all(Value::is_object) {
        let merged = l
            .iter()
            .zip(d)
            .enumerate()
            .map(|(i, (li, di))| merge(li, di, last.and_then(|x| x.get(i))))
            .collect();
        return Value::Array(merged);
    }
    Value::Array(d.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_lists_merge_by_name() {
        let live = json!({"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}, {"name": "b", "image": "y"}]});
        let desired = json!({"containers": [{"name": "a", "image": "x2"}]});
        assert_eq!(
            predict(&live, &desired, None),
            json!({"containers": [{"name": "a", "image": "x2", "imagePullPolicy": "Always"}]})
        );
    }

    #[test]
    fn scalar_lists_are_replaced() {
        let live = json!({"args": ["a", "b"]});
        assert_eq!(
            predict(&live, &json!({"args": ["c"]}), None),
            json!({"args": ["c"]})
        );
    }
}
