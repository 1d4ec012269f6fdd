//! `kascade new-app`, `get`, `delete` and `describe` on real SQLite state directories:
//! what new-app prints and creates, that diff and twenty syncs of the new app change nothing,
//! dry runs and name clashes, oc-shaped tables and outputs, NotFound, the change-feed watch.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kascade::cluster::{Cluster, LocalCluster};
use kascade::resource::{ResourceKey, base64};
use serde_json::{Value, json};

use crate::util::{Run, assert_error, kascade_in};

const GIT_URL: &str = "https://example.com/lab.git";

fn run(dir: &Path, args: &[&str]) -> Run {
    kascade_in(dir, args, None)
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn open(dir: &Path) -> LocalCluster {
    LocalCluster::open(&dir.join(".kascade")).unwrap()
}

/// (key, resourceVersion) of every object.
fn versions(dir: &Path) -> Vec<(String, String)> {
    open(dir)
        .all()
        .unwrap()
        .iter()
        .map(|o| {
            (
                ResourceKey::of(o).unwrap().to_string(),
                o["metadata"]["resourceVersion"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn new_app(dir: &Path, extra: &[&str]) -> Run {
    let param = format!("GIT_URL={GIT_URL}");
    let mut args = vec![
        "new-app",
        "--template=base-image-example",
        "-p",
        param.as_str(),
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn generated_in_output(stdout: &str, display: &str) -> String {
    let prefix = format!("        * {display}=");
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no parameter line for {display}: {stdout}"));
    let rest = &line[prefix.len()..];
    rest.strip_suffix(" # generated")
        .unwrap_or_else(|| panic!("{display} should be marked generated: {line}"))
        .to_string()
}

#[test]
fn new_app_prints_like_oc_and_creates_a_decorated_app() {
    let tmp = tempfile::tempdir().unwrap();
    let r = new_app(tmp.path(), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    for line in [
        "--> Deploying template \"default/base-image-example\" to project default",
        "     Base Image Example",
        "     ---------",
        "     Template showing the use of a base image and ImageStreams.",
        "     * With parameters:",
        "        * Git Repository URL=https://example.com/lab.git",
        "        * Git Reference=master",
        "--> Creating resources ...",
        "    imagestream.image.openshift.io \"centos\" created",
        "    buildconfig.build.openshift.io \"httpd-base\" created",
        "    deploymentconfig.apps.openshift.io \"app-a\" created",
        "    service \"app-b\" created",
        "    route.route.openshift.io \"app-b\" created",
        "    secret \"kascade-params-base-image-example\" created",
        "--> Success",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing line {line:?} in:\n{out}"
        );
    }
    // Objects are listed in template order.
    let pos = |s: &str| out.find(s).unwrap();
    assert!(pos("\"centos\" created") < pos("\"httpd-base\" created"));
    assert!(pos("deploymentconfig.apps.openshift.io \"app-a\"") < pos("service \"app-a\""));
    let github = generated_in_output(out, "GitHub Webhook Secret");
    assert_eq!(github.len(), 40);

    let c = open(tmp.path());
    let mut count = 0;
    for o in c.all().unwrap() {
        let key = ResourceKey::of(&o).unwrap();
        if key.kind == "Namespace" {
            continue;
        }
        count += 1;
        assert_eq!(
            o["metadata"]["labels"]["app.kascade.dev/instance"], "base-image-example",
            "{key}"
        );
        if key.kind == "Secret" {
            continue;
        }
        assert_eq!(
            o["metadata"]["annotations"]["openshift.io/generated-by"], "OpenShiftNewApp",
            "{key}"
        );
        // The template labels its objects with `app`, so oc adds no implicit labels.
        assert!(o["metadata"]["labels"].get("app").is_some(), "{key}");
        assert!(
            o["metadata"]["labels"]
                .get("app.kubernetes.io/instance")
                .is_none(),
            "{key}"
        );
        if key.kind == "DeploymentConfig" {
            assert_eq!(
                o["spec"]["template"]["metadata"]["annotations"]["openshift.io/generated-by"],
                "OpenShiftNewApp"
            );
            assert_eq!(
                o["spec"]["template"]["metadata"]["labels"],
                json!({"app": key.name, "deploymentconfig": key.name})
            );
        }
    }
    assert_eq!(count, 14);
    // The generated values are in the app's Secret, and in the objects.
    let secret = c
        .get(&ResourceKey::new(
            "",
            "Secret",
            "default",
            "kascade-params-base-image-example",
        ))
        .unwrap()
        .unwrap();
    let stored: Value = serde_json::from_slice(
        &base64::decode(secret["data"]["generated.json"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored["template:base-image-example"]["GITHUB_WEBHOOK_SECRET"],
        github.as_str()
    );
    let bc = c
        .get(&ResourceKey::new(
            "build.openshift.io",
            "BuildConfig",
            "default",
            "app-a",
        ))
        .unwrap()
        .unwrap();
    assert_eq!(
        bc["spec"]["triggers"][0]["github"]["secret"],
        github.as_str()
    );
    let inventory = c.inventory("base-image-example").unwrap().unwrap();
    assert_eq!(inventory.members.len(), 14);
}

#[test]
fn new_app_then_diff_reports_nothing_and_twenty_syncs_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let r = new_app(tmp.path(), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let before = versions(tmp.path());
    let d = run(tmp.path(), &["diff", "--app", "base-image-example"]);
    assert_eq!(d.code, 0, "diff must report no difference: {d:?}");
    assert!(
        d.stdout
            .contains("0 to create, 0 to update, 0 to prune, 14 unchanged"),
        "{}",
        d.stdout
    );
    for _ in 0..20 {
        let s = run(tmp.path(), &["sync", "--app", "base-image-example"]);
        assert_eq!(s.code, 0, "{s:?}");
        assert!(s.stdout.contains("(nothing to do)"), "{}", s.stdout);
    }
    assert_eq!(versions(tmp.path()), before, "a no-op sync must not write");

    // A new parameter value given with --app is applied and recorded for later renders.
    let s = run(
        tmp.path(),
        &["sync", "--app", "base-image-example", "-p", "GIT_REF=v2"],
    );
    assert_eq!(s.code, 0, "{s:?}");
    assert!(
        s.stdout
            .contains("buildconfig.build.openshift.io/app-a configured"),
        "{}",
        s.stdout
    );
    let d = run(tmp.path(), &["diff", "--app", "base-image-example"]);
    assert_eq!(d.code, 0, "{d:?}");
    let c = open(tmp.path());
    let bc = c
        .get(&ResourceKey::new(
            "build.openshift.io",
            "BuildConfig",
            "default",
            "app-b",
        ))
        .unwrap()
        .unwrap();
    assert_eq!(bc["spec"]["source"]["git"]["ref"], "v2");
    assert_eq!(
        bc["metadata"]["annotations"]["openshift.io/generated-by"],
        "OpenShiftNewApp"
    );

    // An app without a recorded source says so.
    let r = run(tmp.path(), &["diff", "--app", "nothing-here"]);
    assert_error(&r, "app \"nothing-here\" has no recorded source");
}

#[test]
fn new_app_dry_run_and_output_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let r = new_app(tmp.path(), &["--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .lines()
            .any(|l| l == "    imagestream.image.openshift.io \"centos\" created (dry run)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.lines().any(|l| l == "--> Success (dry run)"));
    let r = new_app(tmp.path(), &["-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 14);
    assert_eq!(
        list["items"][0]["metadata"]["annotations"]["openshift.io/generated-by"],
        "OpenShiftNewApp"
    );
    let c = open(tmp.path());
    let all = c.all().unwrap();
    assert_eq!(all.len(), 1, "only the default namespace: {all:?}");
    assert!(c.inventory("base-image-example").unwrap().is_none());
    assert!(c.app_status("base-image-example").unwrap().is_none());
}

#[test]
fn new_app_refuses_objects_that_exist_and_applies_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let other = write(
        tmp.path(),
        "other.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: app-a\nspec:\n  ports: [{port: 80}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unrelated\n",
    );
    let s = run(tmp.path(), &["sync", "-f", &other, "--app", "other"]);
    assert_eq!(s.code, 0, "{s:?}");
    // An object nobody manages is a clash too.
    let mut c = open(tmp.path());
    let mut txn = c.begin().unwrap();
    txn.create(
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "centos", "namespace": "default"}}),
    )
    .unwrap();
    txn.commit().unwrap();
    drop(c);
    let before = versions(tmp.path());
    let r = new_app(tmp.path(), &[]);
    assert_error(&r, "cannot create app \"base-image-example\"");
    assert!(
        r.stderr
            .contains("service \"app-a\" (belongs to app \"other\")"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("imagestream.image.openshift.io \"centos\" (not managed by kascade)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was applied"), "{}", r.stderr);
    assert_eq!(versions(tmp.path()), before);
    assert!(
        open(tmp.path())
            .inventory("base-image-example")
            .unwrap()
            .is_none()
    );

    // Under another name in another namespace it works; the same app twice does not.
    let r = new_app(tmp.path(), &["-n", "lab", "--create-namespace"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = new_app(tmp.path(), &["-n", "lab"]);
    assert_error(&r, "app \"base-image-example\" exists already");
    let r = new_app(tmp.path(), &["-n", "missing", "--name", "x"]);
    assert_error(&r, "namespace \"missing\" not found");
}

#[test]
fn new_app_adds_implicit_labels_when_no_object_has_them() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "t.yaml",
        r#"apiVersion: template.openshift.io/v1
kind: Template
metadata:
  name: plain
  annotations:
    description: Two objects without app labels.
message: Created ${NAME}.
parameters:
- name: NAME
  required: true
- name: TOKEN
  generate: expression
  from: "[a-f0-9]{8}"
objects:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: ${NAME}
  data:
    token: ${TOKEN}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: ${NAME}
  spec:
    selector:
      matchLabels: {run: web}
    template:
      metadata:
        labels: {run: web}
      spec:
        containers:
        - name: web
          image: web:1
"#,
    );
    let r = run(
        tmp.path(),
        &[
            "new-app", "-f", &file, "-p", "NAME=web", "--name", "shop", "-l", "team=red",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .lines()
            .any(|l| l == "--> Creating resources with label team=red ..."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("     Created web."), "{}", r.stdout);
    assert!(r.stdout.contains("        * TOKEN="), "{}", r.stdout);
    let c = open(tmp.path());
    let d = c
        .get(&ResourceKey::new("apps", "Deployment", "default", "web"))
        .unwrap()
        .unwrap();
    let labels = &d["metadata"]["labels"];
    for (k, v) in [
        ("app", "shop"),
        ("app.kubernetes.io/instance", "shop"),
        ("app.kubernetes.io/component", "shop"),
        ("team", "red"),
        ("app.kascade.dev/instance", "shop"),
    ] {
        assert_eq!(labels[k], v, "{k} in {labels}");
    }
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"],
        json!({"run": "web"})
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["annotations"]["openshift.io/generated-by"],
        "OpenShiftNewApp"
    );
    let d = run(tmp.path(), &["diff", "--app", "shop"]);
    assert_eq!(d.code, 0, "{d:?}");
}

/// A cluster with config maps, a secret, a service and a deployment in two namespaces.
fn populated() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    write(
        &dir,
        "objects.yaml",
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {tier: front}
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data: {c: "3"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prices
  namespace: shop
data: {p: "9"}
---
apiVersion: v1
kind: Secret
metadata:
  name: token
type: Opaque
stringData: {t: "hush"}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {run: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {run: web}
  template:
    metadata:
      labels: {run: web}
    spec:
      containers:
      - name: web
        image: web:1
"#,
    );
    let s = run(
        tmp.path(),
        &["sync", "-f", dir.to_str().unwrap(), "--app", "web"],
    );
    assert_eq!(s.code, 0, "{s:?}");
    tmp
}

fn cells(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn get_prints_tables_like_oc() {
    let tmp = populated();
    let d = tmp.path();
    let r = run(d, &["get", "cm"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(cells(lines[0]), ["NAME", "DATA", "AGE"]);
    assert_eq!(cells(lines[1])[..2], ["plain", "1"]);
    assert_eq!(cells(lines[2])[..2], ["settings", "2"]);
    assert_eq!(lines.len(), 3, "only the default namespace: {}", r.stdout);
    // Columns are aligned as Go's tabwriter aligns them.
    assert_eq!(lines[0].find("DATA"), lines[1].find('1'));

    let r = run(d, &["get", "configmaps", "-A"]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(cells(lines[0]), ["NAMESPACE", "NAME", "DATA", "AGE"]);
    assert!(lines.iter().any(|l| cells(l)[..2] == ["shop", "prices"]));

    let r = run(d, &["get", "configmap", "-l", "tier=front"]);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(r.stdout.contains("settings"));

    let r = run(d, &["get", "cm,svc,deploy,secret"]);
    assert_eq!(r.code, 0, "{r:?}");
    for needle in [
        "configmap/settings",
        "service/web",
        "deployment.apps/web",
        "secret/token",
    ] {
        assert!(r.stdout.contains(needle), "{needle}: {}", r.stdout);
    }
    let svc = r
        .stdout
        .lines()
        .find(|l| l.starts_with("service/web"))
        .unwrap();
    assert_eq!(
        cells(svc)[1..5],
        ["ClusterIP", "<none>", "<none>", "80/TCP"]
    );
    let deploy = r
        .stdout
        .lines()
        .find(|l| l.starts_with("deployment.apps/web"))
        .unwrap();
    assert_eq!(cells(deploy)[1..4], ["0/2", "0", "0"]);
    assert!(r.stdout.contains("\n\nNAME"), "a blank line between kinds");

    let r = run(d, &["get", "deploy", "-o", "wide"]);
    assert_eq!(
        cells(r.stdout.lines().next().unwrap()),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert!(r.stdout.contains("web:1"));
    assert!(r.stdout.contains("run=web"));

    let r = run(d, &["get", "secrets"]);
    assert_eq!(
        cells(r.stdout.lines().nth(1).unwrap())[..3],
        ["token", "Opaque", "1"]
    );
}

#[test]
fn get_outputs_yaml_json_and_names() {
    let tmp = populated();
    let d = tmp.path();
    let r = run(d, &["get", "cm", "settings", "-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kind"], "ConfigMap");
    assert_eq!(v["data"]["b"], "2");
    assert!(
        r.stdout.contains("\n    \"apiVersion\""),
        "indented by four"
    );

    let r = run(d, &["get", "cm", "-o", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["apiVersion"], "v1");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);

    let r = run(d, &["get", "cm/settings", "-o", "yaml"]);
    assert!(r.stdout.starts_with("apiVersion: v1\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\nkind: ConfigMap\n"), "{}", r.stdout);
    let r = run(d, &["get", "cm", "settings", "plain", "-o", "yaml"]);
    assert!(r.stdout.contains("kind: List"), "{}", r.stdout);

    let r = run(d, &["get", "cm,deployment.apps", "-o", "name"]);
    assert_eq!(
        r.stdout,
        "configmap/plain\nconfigmap/settings\ndeployment.apps/web\n"
    );
}

#[test]
fn get_reports_not_found_and_empty_like_kubectl() {
    let tmp = populated();
    let d = tmp.path();
    let r = run(d, &["get", "cm", "settings", "nope"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("settings"));
    assert_eq!(
        r.stderr.trim(),
        "Error from server (NotFound): configmaps \"nope\" not found"
    );
    let r = run(d, &["get", "dc", "x"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("deploymentconfigs.apps.openshift.io \"x\" not found"),
        "{}",
        r.stderr
    );
    let r = run(d, &["get", "secret", "-n", "shop"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.trim(), "No resources found in shop namespace.");
    let r = run(d, &["get", "widgets"]);
    assert_error(&r, "the server doesn't have a resource type \"widgets\"");
}

#[test]
fn delete_deletes_warns_about_apps_and_reports_not_found() {
    let tmp = populated();
    let d = tmp.path();
    let r = run(d, &["delete", "cm", "settings", "--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "configmap \"settings\" deleted (dry run)\n");
    let key = ResourceKey::new("", "ConfigMap", "default", "settings");
    assert!(open(d).get(&key).unwrap().is_some());

    let r = run(d, &["delete", "cm", "settings"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "configmap \"settings\" deleted\n");
    assert!(
        r.stderr
            .contains("warning: configmap \"settings\" belongs to app \"web\""),
        "{}",
        r.stderr
    );
    assert!(open(d).get(&key).unwrap().is_none());

    let r = run(d, &["delete", "cm", "settings"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr.trim(),
        "Error from server (NotFound): configmaps \"settings\" not found"
    );
    // What the warning says: the app's next sync creates it again.
    let dir = d.join("m");
    let s = run(d, &["sync", "-f", dir.to_str().unwrap(), "--app", "web"]);
    assert!(s.stdout.contains("configmap/settings created"), "{s:?}");

    let r = run(d, &["delete", "deploy/web", "svc/web"]);
    assert_eq!(
        r.stdout,
        "deployment.apps \"web\" deleted\nservice \"web\" deleted\n"
    );
    let file = write(
        d,
        "del.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prices\n  namespace: shop\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n",
    );
    let r = run(d, &["delete", "-f", &file]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "configmap \"prices\" deleted\n");
    assert!(r.stderr.contains("configmaps \"gone\" not found"));
    let r = run(d, &["delete", "cm"]);
    assert_error(&r, "no name was specified");
}

#[test]
fn describe_shows_fields_sections_and_feed_events() {
    let tmp = populated();
    let d = tmp.path();
    let r = run(d, &["describe", "deploy", "web"]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    for needle in [
        "Name:              web\n",
        "Namespace:         default\n",
        "Labels:            app.kascade.dev/instance=web\n",
        "App:               web\n",
        "Replicas:          2 desired | 0 updated | 0 total | 0 available | 0 unavailable\n",
        "Pod Template:\n",
        "      Image:        web:1\n",
        "Events (change feed, newest last):\n",
    ] {
        assert!(out.contains(needle), "{needle:?} in:\n{out}");
    }
    let events: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Events"))
        .skip(2)
        .collect();
    // Created by the sync, then its revision recorded by the workload controller.
    assert_eq!(events.len(), 2, "{out}");
    assert_eq!(cells(events[0])[1..], ["ADDED", "1"]);
    assert_eq!(cells(events[1])[1..], ["MODIFIED", "1"]);

    // A change shows up as a MODIFIED entry.
    let mut c = open(d);
    let key = ResourceKey::new("", "ConfigMap", "default", "settings");
    let mut cm = c.get(&key).unwrap().unwrap();
    cm["data"]["a"] = json!("changed");
    let mut txn = c.begin().unwrap();
    txn.update(cm).unwrap();
    txn.commit().unwrap();
    let r = run(d, &["describe", "cm/settings"]);
    assert!(r.stdout.contains("a:\n----\nchanged\n"), "{}", r.stdout);
    assert!(r.stdout.contains("ADDED"), "{}", r.stdout);
    assert!(r.stdout.contains("MODIFIED"), "{}", r.stdout);

    let r = run(d, &["describe", "secret", "token"]);
    assert!(r.stdout.contains("t:  4 bytes"), "{}", r.stdout);
    assert!(!r.stdout.contains("hush"), "secret values are not shown");

    let r = run(d, &["describe", "svc", "nope"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("services \"nope\" not found"));
}

#[test]
fn get_watch_prints_a_line_per_change() {
    let tmp = populated();
    let d = tmp.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kascade"))
        .args(["get", "cm", "--watch", "--output-watch-events"])
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    // A guard against a hang, not a timing assertion.
    let next = || {
        rx.recv_timeout(Duration::from_secs(120))
            .expect("the watch printed nothing")
    };
    // The initial table: header and two rows; after it, the watch follows the feed.
    assert!(next().starts_with("NAME"));
    assert!(next().starts_with("plain"));
    assert!(next().starts_with("settings"));
    let mut c = open(d);
    let mut txn = c.begin().unwrap();
    txn.create(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "fresh", "namespace": "default"}, "data": {"x": "1"}}))
        .unwrap();
    // Not a config map: not printed.
    txn.create(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s2", "namespace": "default"}}))
        .unwrap();
    txn.commit().unwrap();
    let line = next();
    assert_eq!(cells(&line)[..3], ["ADDED", "fresh", "1"], "{line}");
    c.delete(&ResourceKey::new("", "ConfigMap", "default", "plain"))
        .unwrap();
    let line = next();
    assert_eq!(cells(&line)[..2], ["DELETED", "plain"], "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn image_stream_tags_come_from_image_stream_status() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut c = open(d);
    let mut txn = c.begin().unwrap();
    txn.create(json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {"tags": [{"name": "latest"}]},
        "status": {"dockerImageRepository": "registry.local/default/app", "tags": [
            {"tag": "latest", "items": [{"created": "2024-01-01T00:00:00Z",
                "dockerImageReference": "registry.local/default/app@sha256:abc", "image": "sha256:abc"}]},
            {"tag": "v1", "items": [{"created": "2023-01-01T00:00:00Z",
                "dockerImageReference": "registry.local/default/app@sha256:def", "image": "sha256:def"}]}]}}))
        .unwrap();
    txn.commit().unwrap();
    drop(c);
    let r = run(d, &["get", "is"]);
    let row = r.stdout.lines().nth(1).unwrap();
    assert_eq!(
        cells(row)[..3],
        ["app", "registry.local/default/app", "latest,v1"],
        "{row}"
    );
    let r = run(d, &["get", "istag"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(cells(lines[0])[..3], ["NAME", "IMAGE", "REFERENCE"]);
    assert_eq!(
        cells(lines[1])[..2],
        ["app:latest", "registry.local/default/app@sha256:abc"]
    );
    assert_eq!(cells(lines[2])[0], "app:v1");
    let r = run(d, &["describe", "istag", "app:v1"]);
    assert!(
        r.stdout
            .contains("Image Reference:   registry.local/default/app@sha256:def"),
        "{}",
        r.stdout
    );
    let r = run(d, &["get", "istag", "app:nope"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("imagestreamtags.image.openshift.io \"app:nope\" not found")
    );
}

#[test]
fn the_commands_have_help_with_examples() {
    for cmd in ["new-app", "get", "delete", "describe"] {
        let r = run(&crate::util::root(), &[cmd, "--help"]);
        assert_eq!(r.code, 0, "{cmd}: {r:?}");
        assert!(r.stdout.contains("Examples:"), "{cmd}: {}", r.stdout);
        assert!(r.stdout.contains(&format!("kascade {cmd}")), "{cmd}");
    }
}
