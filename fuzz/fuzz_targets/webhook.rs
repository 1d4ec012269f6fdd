//! Arbitrary bytes as a webhook delivery: the GitHub signature header check, the shared
//! secret comparison, and the body as a GitHub push payload and as OpenShift's
//! GenericWebHookEvent, matched against BuildConfigs and app refs. The first line is the
//! signature header, the rest the body. Errors are fine; a panic is a bug.
#![no_main]

use kascade::daemon::webhook::{self, Push};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (header, body) = data.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let secret = b"s3cret";
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = webhook::verify_github_signature(secret, header, body);
        let _ = webhook::verify_github_signature(b"", header, body);
    }
    let _ = webhook::token_matches(secret, header);
    // What we sign we accept.
    let signature = webhook::github_signature(secret, body);
    assert!(webhook::verify_github_signature(secret, &signature, body));

    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let bcs = [
        json!({"metadata": {"name": "a", "namespace": "ns"},
               "spec": {"source": {"git": {"uri": "https://github.com/o/r.git"}},
                        "triggers": [{"type": "GitHub"}, {"type": "Generic"}]}}),
        json!({"metadata": {"name": "b", "namespace": "ns"},
               "spec": {"source": {"git": {"uri": "git@github.com:o/r", "ref": "dev"}},
                        "triggers": [{"type": "generic"}]}}),
    ];
    for push in [Push::from_github(&v), Push::from_generic(&v)]
        .into_iter()
        .flatten()
    {
        for url in &push.urls {
            let _ = push.is_for(url);
        }
        let _ = push.is_for("https://github.com/o/r");
        let _ = push.moves(None);
        let _ = push.moves(Some("refs/heads/main"));
        let _ = push.moves(Some("v1"));
        let _ = push.build_requests(&bcs, "GitHub", "GitHub WebHook");
        let _ = push.build_requests(&bcs, "Generic", "Generic WebHook");
        // The BuildConfigs themselves, taken from the payload.
        if let Some(list) = v.get("items").and_then(Value::as_array) {
            let _ = push.build_requests(list, "Generic", "Generic WebHook");
        }
    }
});
