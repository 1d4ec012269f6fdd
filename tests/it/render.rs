//! `kascade render` over real directories: the example repo, plain manifests, templates,
//! duplicates and paths that try to leave the directory.

use std::path::Path;

use serde_json::Value;

use crate::util::{assert_error, kascade, root};

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

#[test]
fn example_repo_renders_every_kind_of_file() {
    let dir = root().join("examples/base-image/apps");
    let run = kascade(&["render", dir.to_str().unwrap(), "-o", "json", "--seed", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    let names: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["kind"].as_str().unwrap(),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    // The OpenShift Template (13 objects), the plain manifests, the minijinja template.
    for want in [
        "ImageStream/centos",
        "DeploymentConfig/app-b",
        "Namespace/base-image-example",
        "ConfigMap/app-settings",
        "Deployment/web",
        "Secret/web-token",
    ] {
        assert!(
            names.contains(&want.to_string()),
            "{want} missing from {names:?}"
        );
    }
    // The template's parameter file pinned the base image by digest.
    let centos = items
        .iter()
        .find(|i| i["metadata"]["name"] == "centos")
        .unwrap();
    assert!(
        centos["spec"]["tags"][0]["from"]["name"]
            .as_str()
            .unwrap()
            .contains("@sha256:")
    );
    // YAML 1.1-looking strings stay strings.
    let cm = items.iter().find(|i| i["kind"] == "ConfigMap").unwrap();
    for v in cm["data"].as_object().unwrap().values() {
        assert!(v.is_string(), "{v}");
    }
    // The minijinja parameter file set IMAGE; the generated token has its declared shape.
    let web = items.iter().find(|i| i["kind"] == "Deployment").unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/example/web:1.0"
    );
    assert_eq!(web["spec"]["replicas"], 2);
    let token = items.iter().find(|i| i["kind"] == "Secret").unwrap()["stringData"]["token"]
        .as_str()
        .unwrap();
    assert_eq!(token.len(), 32);
    // Same seed, same bytes; YAML stream output reads back to the same objects.
    let again = kascade(&["render", dir.to_str().unwrap(), "-o", "json", "--seed", "1"]);
    assert_eq!(run.stdout, again.stdout);
    let yaml = kascade(&["render", dir.to_str().unwrap(), "--seed", "1"]);
    let docs = kascade::resource::yaml::parse_documents(yaml.stdout.as_bytes(), "out").unwrap();
    let back: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
    assert_eq!(&back, items);
}

#[test]
fn lists_are_expanded_and_kustomization_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "kustomization.yaml", "resources: [a.yaml]\n");
    write(
        tmp.path(),
        "a.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}}\n",
    );
    write(
        tmp.path(),
        "sub/b.json",
        "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s\", \"namespace\": \"n\"}}",
    );
    write(
        tmp.path(),
        ".hidden/c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hidden}\n",
    );
    write(tmp.path(), "notes.md", "# not a manifest\n");
    let run = kascade(&["render", tmp.path().to_str().unwrap(), "-o", "name"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "configmap/one\nconfigmap/two\nservice/s\n");
}

#[test]
fn duplicates_name_both_files() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    write(
        tmp.path(),
        "b.yaml",
        "# b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let run = kascade(&["render", tmp.path().to_str().unwrap()]);
    assert_error(&run, "duplicate object /ConfigMap//x");
    assert!(
        run.stderr.contains("a.yaml:1") && run.stderr.contains("b.yaml:3"),
        "{run:?}"
    );
}

#[test]
fn every_bad_file_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
    );
    write(tmp.path(), "b.yaml", "a: [\n");
    write(
        tmp.path(),
        "c.yaml",
        "kind: Template\nparameters: [{name: R, required: true}]\n",
    );
    let run = kascade(&["render", tmp.path().to_str().unwrap()]);
    assert_error(&run, "3 problems");
    assert!(
        run.stderr
            .contains("a.yaml:1: ConfigMap has no metadata.name"),
        "{run:?}"
    );
    assert!(run.stderr.contains("b.yaml:1:"), "{run:?}");
    assert!(run.stderr.contains("parameter R is required"), "{run:?}");
}

#[test]
fn template_parameter_file_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "app.yaml",
        "kind: Template\nmetadata: {name: t}\nparameters: [{name: NAME, required: true}]\nobjects: [{apiVersion: v1, kind: ConfigMap, metadata: {name: '${NAME}'}}]\n",
    );
    write(tmp.path(), "app.env", "NAME=from-env\n");
    let run = kascade(&["render", tmp.path().to_str().unwrap(), "-o", "name"]);
    assert_eq!(run.stdout, "configmap/from-env\n", "{run:?}");
    write(tmp.path(), "app.env", "NAME=x\nOTHER=y\n");
    assert_error(
        &kascade(&["render", tmp.path().to_str().unwrap()]),
        "unknown parameter name \"OTHER\"",
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_directory_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n",
    );
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        tmp.path().join("link.yaml"),
    )
    .unwrap();
    assert_error(
        &kascade(&["render", tmp.path().to_str().unwrap()]),
        "symlink leads outside",
    );
    // A symlink inside the directory is followed.
    let tmp2 = tempfile::tempdir().unwrap();
    write(
        tmp2.path(),
        "real/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inside}\n",
    );
    std::os::unix::fs::symlink(tmp2.path().join("real"), tmp2.path().join("alias")).unwrap();
    let run = kascade(&[
        "render",
        tmp2.path().join("alias").to_str().unwrap(),
        "-o",
        "name",
    ]);
    assert_eq!(run.stdout, "configmap/inside\n", "{run:?}");
}

#[test]
fn jinja_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "x.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ nmae }}\n",
    );
    let run = kascade(&["render", tmp.path().to_str().unwrap()]);
    assert_error(&run, "x.yaml.j2:4");
    assert!(run.stderr.contains("undefined"), "{run:?}");
}

#[test]
fn plain_workload_renders_like_kustomize() {
    let Some(shared) = crate::util::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .arg(shared.join("bench/workload.py"))
        .args(["plain", tmp.path().to_str().unwrap(), "--objects", "300"])
        .status()
        .expect("python3 runs the workload generator");
    assert!(status.success());
    let run = kascade(&["render", tmp.path().to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 300);
    assert_eq!(items[0]["kind"], "Namespace");
    // "on" in the JSON manifests is a string, not YAML 1.1's boolean.
    assert_eq!(items[3]["data"]["enabled"], "on");
}
