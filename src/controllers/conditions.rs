//! `status.conditions` on the objects controllers manage: the place a bad trigger, a missing
//! stream or a failed build is reported, on the object at fault.
//!
//! Conditions are set only when something changed (type, status, reason or message), so a
//! reconcile that finds the same problem again writes nothing.

use serde_json::{Value, json};

/// The condition type kascade reports trigger problems under (status `"False"`; absent when
/// every trigger is fine).
pub const IMAGE_TRIGGERS: &str = "ImageTriggers";

fn conditions_mut(object: &mut Value) -> Option<&mut Vec<Value>> {
    if !object.get("status").is_some_and(Value::is_object) {
        object["status"] = json!({});
    }
    object["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])))
        .and_then(Value::as_array_mut)
}

/// The condition of `ty`, if present.
pub fn get<'a>(object: &'a Value, ty: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
}

/// Sets the condition of `ty`; `lastTransitionTime` (and `lastUpdateTime`) move only when
/// something changed. Returns whether it changed.
pub fn set(
    object: &mut Value,
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> bool {
    if let Some(c) = get(object, ty)
        && c.get("status").and_then(Value::as_str) == Some(status)
        && c.get("reason").and_then(Value::as_str) == Some(reason)
        && c.get("message").and_then(Value::as_str) == Some(message)
    {
        return false;
    }
    let Some(list) = conditions_mut(object) else {
        return false;
    };
    list.retain(|c| c.get("type").and_then(Value::as_str) != Some(ty));
    list.push(
        json!({"type": ty, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": now, "lastUpdateTime": now}),
    );
    true
}

/// Removes the condition of `ty`; returns whether it was there.
pub fn clear(object: &mut Value, ty: &str) -> bool {
    if get(object, ty).is_none() {
        return false;
    }
    if let Some(list) = object
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        list.retain(|c| c.get("type").and_then(Value::as_str) != Some(ty));
        if list.is_empty()
            && let Some(s) = object.get_mut("status").and_then(Value::as_object_mut)
        {
            s.remove("conditions");
        }
    }
    true
}

/// The first of `problems` when it is not what `before` already reported under
/// [`IMAGE_TRIGGERS`]: a problem worth telling a person about once, not at every pass.
pub fn new_trigger_problem<'a>(
    before: &Value,
    problems: &'a [(String, String)],
) -> Option<&'a String> {
    let (_, message) = problems.first()?;
    let reported = get(before, IMAGE_TRIGGERS)
        .and_then(|c| c.get("message"))
        .and_then(Value::as_str);
    (reported != Some(message.as_str())).then_some(message)
}

/// Reports `problems` under [`IMAGE_TRIGGERS`], or clears it when there are none.
pub fn report_triggers(object: &mut Value, problems: &[(String, String)], now: &str) -> bool {
    match problems.first() {
        None => clear(object, IMAGE_TRIGGERS),
        Some((reason, _)) => {
            let message = problems
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            set(object, IMAGE_TRIGGERS, "False", reason, &message, now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_is_idempotent_and_clear_removes() {
        let mut o = json!({"metadata": {}});
        assert!(set(&mut o, "A", "False", "R", "m", "t1"));
        assert!(!set(&mut o, "A", "False", "R", "m", "t2"));
        assert_eq!(get(&o, "A").unwrap()["lastTransitionTime"], "t1");
        assert!(set(&mut o, "A", "False", "R", "m2", "t3"));
        assert!(clear(&mut o, "A"));
        assert!(!clear(&mut o, "A"));
        assert!(o["status"].get("conditions").is_none());
    }
}
