//! `lookupPolicy.local` on the embedded cluster, through the real binary: the image-policy
//! admission rewrites local image names of Deployments synced from a directory, and a second
//! sync and a diff of the same directory change nothing.

use kascade::images::INTERNAL_REGISTRY;
use kascade::resource::ResourceKey;
use serde_json::Value;

use crate::util::Workdir;

const D1: &str = "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const D2: &str = "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

struct Work {
    dir: Workdir,
}

impl std::ops::Deref for Work {
    type Target = Workdir;
    fn deref(&self) -> &Workdir {
        &self.dir
    }
}

impl Work {
    fn new() -> Self {
        Work {
            dir: Workdir::new(),
        }
    }

    fn deployment(&self, ns: &str, name: &str) -> Value {
        self.cluster()
            .get(&ResourceKey::new("apps", "Deployment", ns, name))
            .unwrap()
            .unwrap_or_else(|| panic!("deployment {ns}/{name} missing"))
    }

    /// Every object's kind, namespace, name and resourceVersion.
    fn versions(&self) -> Vec<String> {
        self.cluster()
            .all()
            .unwrap()
            .iter()
            .map(|o| {
                format!(
                    "{}/{}/{}@{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap(),
                    o["metadata"]["resourceVersion"].as_str().unwrap()
                )
            })
            .collect()
    }
}

fn stream(name: &str, local: bool, digest: &str) -> String {
    format!(
        r#"{{"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "metadata": {{"name": "{name}"}},
  "spec": {{"lookupPolicy": {{"local": {local}}}, "tags": [
    {{"name": "v1", "from": {{"kind": "DockerImage", "name": "quay.io/org/{name}@{digest}"}}}}]}}}}"#
    )
}

fn deployment(name: &str, image: &str, annotations: &str) -> String {
    format!(
        r#"{{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {{"name": "{name}", "annotations": {{{annotations}}}}},
  "spec": {{"replicas": 1, "selector": {{"matchLabels": {{"app": "{name}"}}}},
    "template": {{"metadata": {{"labels": {{"app": "{name}"}}}},
      "spec": {{"containers": [{{"name": "{name}", "image": "{image}"}}]}}}}}}}}"#
    )
}

fn image(d: &Value) -> &str {
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

fn namespace(name: &str) -> String {
    format!(r#"{{"apiVersion": "v1", "kind": "Namespace", "metadata": {{"name": "{name}"}}}}"#)
}

/// One directory app: a Namespace, a local-lookup stream pinned by digest, a stream without
/// local lookup, and Deployments naming them.
fn lab_app(w: &Work) {
    w.write("lab/ns.json", &namespace("lab"));
    w.write("lab/app-is.json", &stream("app", true, D1));
    w.write("lab/plain-is.json", &stream("plain", false, D2));
    w.write("lab/web.json", &deployment("web", "app:v1", ""));
    w.write("lab/side.json", &deployment("side", "plain:v1", ""));
    w.write(
        "lab/forced.json",
        &deployment(
            "forced",
            "plain:v1",
            r#""alpha.image.policy.openshift.io/resolve-names": "*""#,
        ),
    );
    w.write("lab/later.json", &deployment("later", "app:v2", ""));
}

const SYNC: &[&str] = &["sync", "-f", "lab", "--app", "lab", "-n", "lab"];
const DIFF: &[&str] = &["diff", "-f", "lab", "--app", "lab", "-n", "lab"];

#[test]
fn local_names_resolve_on_sync_and_resync_and_diff_change_nothing() {
    let w = Work::new();
    lab_app(&w);
    w.ok(SYNC);
    // The local stream's tag, pinned by digest, resolves in the same sync.
    assert_eq!(
        image(&w.deployment("lab", "web")),
        format!("quay.io/org/app@{D1}")
    );
    // The stream without local lookup: the name stays as written.
    assert_eq!(image(&w.deployment("lab", "side")), "plain:v1");
    // The resolve-names annotation forces resolution against it.
    assert_eq!(
        image(&w.deployment("lab", "forced")),
        format!("quay.io/org/plain@{D2}")
    );
    // A tag the stream does not have yet: the internal repository, by tag.
    assert_eq!(
        image(&w.deployment("lab", "later")),
        format!("{INTERNAL_REGISTRY}/lab/app:v2")
    );
    // The stream's controller recorded the same image the admission resolved.
    let s = w
        .cluster()
        .get(&ResourceKey::new(
            "image.openshift.io",
            "ImageStream",
            "lab",
            "app",
        ))
        .unwrap()
        .unwrap();
    assert_eq!(
        kascade::images::resolve_tag(&s, "v1").as_deref(),
        Some(format!("quay.io/org/app@{D1}").as_str())
    );
    // Idempotence: neither a second sync nor a diff sees a difference, nothing is written.
    let before = w.versions();
    let again = w.ok(SYNC);
    assert!(
        !again.stdout.contains("configured") && !again.stdout.contains("created"),
        "{again:?}"
    );
    assert_eq!(w.versions(), before, "a re-sync must not write");
    let diff = w.run(DIFF);
    assert_eq!(diff.code, 0, "{diff:?}");
    // And again, now that the inventory took the controllers' resourceVersions.
    w.ok(SYNC);
    assert_eq!(w.versions(), before);
    assert_eq!(w.run(DIFF).code, 0);
}

#[test]
fn a_changed_deployment_is_admitted_again_and_other_namespaces_are_untouched() {
    let w = Work::new();
    lab_app(&w);
    w.ok(SYNC);
    // Another app in another namespace names the same stream: not its namespace's stream.
    w.write("other/ns.json", &namespace("other"));
    w.write("other/web.json", &deployment("web", "app:v1", ""));
    w.ok(&["sync", "-f", "other", "--app", "other", "-n", "other"]);
    assert_eq!(image(&w.deployment("other", "web")), "app:v1");
    // A change elsewhere in the Deployment: the diff shows only that change, and the stored
    // image stays the resolved one.
    w.write(
        "lab/web.json",
        &deployment("web", "app:v1", "").replace("\"replicas\": 1", "\"replicas\": 3"),
    );
    let diff = w.run(DIFF);
    assert_eq!(diff.code, 1, "{diff:?}");
    assert!(diff.stdout.contains("+  replicas: 3"), "{}", diff.stdout);
    assert!(!diff.stdout.contains("image:"), "{}", diff.stdout);
    w.ok(SYNC);
    let web = w.deployment("lab", "web");
    assert_eq!(web["spec"]["replicas"], 3);
    assert_eq!(image(&web), format!("quay.io/org/app@{D1}"));
    // Switching the Deployment to another local tag resolves the new name.
    w.write(
        "lab/app-is.json",
        &stream("app", true, D1).replace(
            "]}}",
            &format!(r#", {{"name": "v3", "from": {{"kind": "DockerImage", "name": "quay.io/org/app@{D2}"}}}}]}}}}"#),
        ),
    );
    w.write(
        "lab/web.json",
        &deployment("web", "app:v3", "").replace("\"replicas\": 1", "\"replicas\": 3"),
    );
    w.ok(SYNC);
    assert_eq!(
        image(&w.deployment("lab", "web")),
        format!("quay.io/org/app@{D2}")
    );
    let before = w.versions();
    w.ok(SYNC);
    assert_eq!(w.versions(), before);
    assert_eq!(w.run(DIFF).code, 0);
}

#[test]
fn a_stream_added_after_the_deployment_does_not_rewrite_it_until_the_name_changes() {
    // As the plugin compares with the stored object, an unchanged name is not admitted again:
    // a Deployment stored before its stream existed keeps its name on later syncs.
    let w = Work::new();
    w.write("lab/ns.json", &namespace("lab"));
    w.write("lab/web.json", &deployment("web", "app:v1", ""));
    w.ok(SYNC);
    assert_eq!(image(&w.deployment("lab", "web")), "app:v1");
    w.write("lab/app-is.json", &stream("app", true, D1));
    w.ok(SYNC);
    assert_eq!(image(&w.deployment("lab", "web")), "app:v1");
    assert_eq!(w.run(DIFF).code, 0);
}
