//! The binary on bad input: a clear error naming the file, line or parameter, exit code 2,
//! nothing on stdout, no panic.

use std::path::Path;

use crate::util::{assert_error, kascade, kascade_in};

fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

const GOOD: &str = "kind: Template\napiVersion: template.openshift.io/v1\nmetadata: {name: t}\nparameters:\n- {name: NAME, value: web}\nobjects:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: '${NAME}'}}\n";

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "bad.yaml",
        "kind: Template\nobjects:\n  - a: [1,\n  b: 2\n",
    );
    let run = kascade(&["process", "-f", &f]);
    assert_error(&run, &format!("{f}:3:"));
}

#[test]
fn duplicate_keys_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "dup.yaml", "kind: Template\nkind: Template\n");
    assert_error(
        &kascade(&["process", "-f", &f]),
        "duplicate mapping key: kind",
    );
    let f = write(
        tmp.path(),
        "dup.json",
        r#"{"kind": "Template", "objects": [], "kind": "List"}"#,
    );
    assert_error(
        &kascade(&["process", "-f", &f]),
        "duplicate mapping key: kind",
    );
}

#[test]
fn alias_bomb_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bomb = String::from("kind: Template\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    let f = write(tmp.path(), "bomb.yaml", bomb);
    let run = kascade(&["process", "-f", &f]);
    assert_error(&run, "bomb.yaml");
}

#[test]
fn hundred_megabyte_file_is_refused_before_parsing() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("huge.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let f = path.display().to_string();
    assert_error(&kascade(&["process", "-f", &f]), "larger than the limit");
    assert_error(&kascade(&["render", &f]), "larger than the limit");
}

#[test]
fn deep_nesting_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = format!(
        "kind: Template\nobjects: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let f = write(tmp.path(), "deep.yaml", deep);
    assert_error(&kascade(&["process", "-f", &f]), "deep.yaml");
    let deep_json = format!(
        "{{\"kind\": \"Template\", \"objects\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let f = write(tmp.path(), "deep.json", deep_json);
    assert_error(&kascade(&["process", "-f", &f]), "deep.json");
}

#[test]
fn non_utf8_names_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "latin1.yaml",
        b"kind: Template\nmessage: caf\xe9\n",
    );
    assert_error(&kascade(&["process", "-f", &f]), "latin1.yaml:2:");
}

#[test]
fn non_template_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    assert_error(
        &kascade(&["process", "-f", &f]),
        &format!("unable to parse \"{f}\", not a valid Template but ConfigMap"),
    );
}

#[test]
fn bad_expression_and_unknown_generator_name_the_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "gen.yaml",
        "kind: Template\nmetadata: {name: gen}\nparameters:\n- {name: P, generate: expression, from: '[Z-A]{3}'}\n- {name: Q, generate: uuid}\n",
    );
    let run = kascade(&["process", "-f", &f]);
    assert_error(
        &run,
        "template.parameters[0]: Invalid value: \"P\": invalid range specified: Z-A",
    );
    assert!(
        run.stderr
            .contains("Unknown generator name 'uuid' for parameter Q"),
        "{run:?}"
    );
}

#[test]
fn wrong_field_types_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "t.yaml",
        "kind: Template\nparameters:\n- name: PORT\n  value: 8080\n",
    );
    assert_error(
        &kascade(&["process", "-f", &f]),
        "parameters[0].value: expected a string, found number",
    );
}

#[test]
fn unknown_and_duplicate_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "t.yaml", GOOD);
    assert_error(
        &kascade(&["process", "-f", &f, "-p", "A=1", "-p", "B=2"]),
        "[unknown parameter name \"A\", unknown parameter name \"B\"]",
    );
    let run = kascade(&[
        "process",
        "-f",
        &f,
        "-p",
        "A=1",
        "--ignore-unknown-parameters",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_error(
        &kascade(&["process", "-f", &f, "NAME=a", "-p", "NAME=b"]),
        "The following parameters were provided more than once: NAME",
    );
}

#[test]
fn stdin_template_and_output_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let run = kascade_in(
        tmp.path(),
        &["process", "-f", "-", "-o", "name", "-p", "NAME=api"],
        Some(GOOD.as_bytes()),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "configmap/api\n");
    let run = kascade_in(
        tmp.path(),
        &["process", "-f", "-", "-o", "yaml"],
        Some(GOOD.as_bytes()),
    );
    assert_eq!(
        run.stdout,
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: web\nkind: List\nmetadata: {}\n"
    );
    let run = kascade_in(tmp.path(), &["process", "-f", "-"], Some(GOOD.as_bytes()));
    assert!(
        run.stdout
            .starts_with("{\n    \"kind\": \"List\",\n    \"apiVersion\": \"v1\",\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn labels_go_on_metadata_only() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "t.yaml",
        "kind: Template\nobjects:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n  spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
    );
    let run = kascade(&[
        "process",
        "-f",
        &f,
        "-l",
        "team=web,tier=front",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let d = &v["items"][0];
    assert_eq!(
        d["metadata"]["labels"],
        serde_json::json!({"team": "web", "tier": "front"})
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"],
        serde_json::json!({"a": "b"})
    );
    assert_error(
        &kascade(&["process", "-f", &f, "-l", "bad key=x"]),
        "error parsing labels",
    );
}

#[test]
fn message_goes_to_stderr() {
    let run = kascade(&[
        "process",
        "base-image-example",
        "-p",
        "GIT_URL=https://example.com/r.git",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("https://example.com/r.git"), "{run:?}");
    let _: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
}

#[test]
fn seed_makes_output_reproducible_and_default_is_random() {
    let a = kascade(&["process", "nodejs-example", "--seed", "9"]);
    let b = kascade(&["process", "nodejs-example", "--seed", "9"]);
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(a.stdout, b.stdout);
    let c = kascade(&["process", "nodejs-example"]);
    let d = kascade(&["process", "nodejs-example"]);
    assert_ne!(
        c.stdout, d.stdout,
        "generated secrets must differ between runs"
    );
}

#[test]
fn catalog_list_and_parameters() {
    let run = kascade(&["process", "--list"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("base-image-example") && run.stdout.contains("nodejs-example"));
    let run = kascade(&["process", "base-image-example", "--parameters"]);
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("NAME") && header.ends_with("VALUE"),
        "{header}"
    );
    assert!(run.stdout.contains("GITHUB_WEBHOOK_SECRET"));
    assert!(run.stdout.contains("[a-zA-Z0-9]{40}"));
    assert_error(
        &kascade(&["process", "no-such-template"]),
        "template \"no-such-template\" could not be found",
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        vec!["--help"],
        vec!["process", "--help"],
        vec!["render", "--help"],
    ] {
        let run = kascade(&cmd);
        assert_eq!(run.code, 0, "{cmd:?}");
        assert!(run.stdout.contains("Example"), "{cmd:?}: {}", run.stdout);
    }
}

#[test]
fn base_image_example_has_the_lab_objects() {
    let run = kascade(&[
        "process",
        "base-image-example",
        "-p",
        "GIT_URL=https://example.com/r.git",
        "-o",
        "name",
    ]);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        vec![
            "imagestream.image.openshift.io/centos",
            "buildconfig.build.openshift.io/httpd-base",
            "imagestream.image.openshift.io/httpd-base",
            "buildconfig.build.openshift.io/app-a",
            "imagestream.image.openshift.io/app-a",
            "deploymentconfig.apps.openshift.io/app-a",
            "service/app-a",
            "route.route.openshift.io/app-a",
            "buildconfig.build.openshift.io/app-b",
            "imagestream.image.openshift.io/app-b",
            "deploymentconfig.apps.openshift.io/app-b",
            "service/app-b",
            "route.route.openshift.io/app-b",
        ]
    );
    let run = kascade(&[
        "process",
        "base-image-example",
        "-p",
        "GIT_URL=g",
        "--seed",
        "1",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let secret = v["items"][1]["spec"]["triggers"][0]["github"]["secret"]
        .as_str()
        .unwrap();
    assert_eq!(secret.len(), 40);
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_error(
        &kascade(&["process", "base-image-example"]),
        "parameter GIT_URL is required and must be specified",
    );
}
