//! Arbitrary text as the `image.openshift.io/triggers` annotation of a Deployment (and of a
//! CronJob, whose pod spec sits deeper), and as a bare field path. Errors are fine; a panic
//! is a bug.
#![no_main]

use kascade::controllers::annotations;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const DEPLOYMENT: &[&str] = &["spec", "template", "spec"];
const CRONJOB: &[&str] = &["spec", "jobTemplate", "spec", "template", "spec"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = annotations::parse_field_path(text, DEPLOYMENT);
    let containers = json!([{"name": "web", "image": "x"}, {"name": "b", "image": "y"}]);
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "ns",
                     "annotations": {"image.openshift.io/triggers": text}},
        "spec": {"template": {"spec": {"containers": containers, "initContainers": containers}}},
    });
    assert!(annotations::has_triggers(&deployment));
    let _ = annotations::parse(&deployment, DEPLOYMENT);
    let _ = annotations::followed_streams(&deployment);
    let cronjob = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "c", "namespace": "ns",
                     "annotations": {"image.openshift.io/triggers": text}},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": containers}}}}},
    });
    let _ = annotations::parse(&cronjob, CRONJOB);
});
