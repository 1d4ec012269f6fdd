//! `kascade graph` and cycle refusal: the seed lab as tree, DOT, JSON and SVG; the `cascade`
//! workload of `../shared/bench/workload.py` with 200 dependents; cycles refused by sync,
//! diff and render with nothing applied; aliases; bad triggers reported; the live cluster.

use std::path::Path;
use std::process::Command;

use kascade::cluster::{Cluster, LocalCluster};
use serde_json::{Value, json};

use crate::util::{Run, assert_error, kascade_in, root, shared};

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn graph(cwd: &Path, args: &[&str]) -> Run {
    let mut all = vec!["graph"];
    all.extend_from_slice(args);
    kascade_in(cwd, &all, None)
}

const SEED: &[&str] = &[
    "--template",
    "base-image-example",
    "-p",
    "GIT_URL=https://example.com/lab.git",
    "-p",
    "BASE_IMAGE=docker.io/library/centos@sha256:be65f488b7764ad3638f236b7b515b3678369a5124c47b8d32916d6487418ea4",
    "-n",
    "lab",
];

fn seed_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = SEED.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn seed_lab_as_a_tree_like_oc_adm_build_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let run = graph(tmp.path(), &seed_args(&[]));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "istag/centos:7 ← docker.io/library/centos@sha256:be65f488b7764ad3638f236b7b515b3678369a5124c47b8d32916d6487418ea4
\tbc/httpd-base
\t\tistag/httpd-base:latest
\t\t\tbc/app-a
\t\t\t\tistag/app-a:latest
\t\t\t\t\tdc/app-a
\t\t\tbc/app-b
\t\t\t\tistag/app-b:latest
\t\t\t\t\tdc/app-b
"
    );
    assert!(run.stderr.is_empty(), "{run:?}");
    // A graph of a rendered set reads and writes no cluster.
    assert!(!tmp.path().join(".kascade").exists());
    // --root: only what hangs below httpd-base (tag defaults to latest).
    let run = graph(tmp.path(), &seed_args(&["--root", "httpd-base"]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("istag/httpd-base:latest\n\tbc/app-a\n")
    );
    assert!(!run.stdout.contains("centos"), "{}", run.stdout);
}

#[test]
fn seed_lab_as_dot_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let run = graph(tmp.path(), &seed_args(&["-o", "dot"]));
    assert_eq!(run.code, 0, "{run:?}");
    let dot = &run.stdout;
    assert!(dot.starts_with("digraph kascade {\n") && dot.ends_with("}\n"));
    for edge in [
        r#""imagestreamtag/lab/centos:7" -> "buildconfig/lab/httpd-base" [label="imagechange"];"#,
        r#""buildconfig/lab/httpd-base" -> "imagestreamtag/lab/httpd-base:latest" [label="output"];"#,
        r#""imagestreamtag/lab/httpd-base:latest" -> "buildconfig/lab/app-a" [label="imagechange"];"#,
        r#""imagestreamtag/lab/httpd-base:latest" -> "buildconfig/lab/app-b" [label="imagechange"];"#,
        r#""imagestreamtag/lab/app-a:latest" -> "deploymentconfig/lab/app-a" [label="rollout"];"#,
        r#""imagestreamtag/lab/app-b:latest" -> "deploymentconfig/lab/app-b" [label="rollout"];"#,
    ] {
        assert!(dot.contains(edge), "missing {edge} in\n{dot}");
    }
    assert_eq!(dot.matches(" -> ").count(), 9);

    let run = graph(tmp.path(), &seed_args(&["-o", "json"]));
    assert_eq!(run.code, 0, "{run:?}");
    let j: Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<&str> = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "imagestreamtag/lab/app-a:latest",
            "imagestreamtag/lab/app-b:latest",
            "imagestreamtag/lab/centos:7",
            "imagestreamtag/lab/httpd-base:latest",
            "buildconfig/lab/app-a",
            "buildconfig/lab/app-b",
            "buildconfig/lab/httpd-base",
            "deploymentconfig/lab/app-a",
            "deploymentconfig/lab/app-b",
            "dockerimage/docker.io/library/centos@sha256:be65f488b7764ad3638f236b7b515b3678369a5124c47b8d32916d6487418ea4",
        ]
    );
    let edge = j["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to"] == "buildconfig/lab/app-a")
        .unwrap();
    assert_eq!(
        edge,
        &json!({"from": "imagestreamtag/lab/httpd-base:latest", "to": "buildconfig/lab/app-a",
                "kind": "imagechange", "why": "spec.triggers[2] ImageChange (strategy from)",
                "fires": true, "note": null})
    );
    assert_eq!(j["warnings"], json!([]));
}

#[test]
fn seed_lab_as_svg() {
    let tmp = tempfile::tempdir().unwrap();
    let run = graph(tmp.path(), &seed_args(&["-o", "svg"]));
    assert_eq!(run.code, 0, "{run:?}");
    let svg = &run.stdout;
    assert!(svg.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""
    ));
    assert!(svg.ends_with("</svg>\n"));
    // One box per node, one arrow per edge, every label once.
    assert_eq!(svg.matches("<g><title>").count(), 10);
    assert_eq!(svg.matches("marker-end=\"url(#arrow)\"").count(), 9);
    for label in [
        ">istag/httpd-base:latest</text>",
        ">bc/app-a</text>",
        ">dc/app-b</text>",
        ">dockerimage/docker.io/library/centos@sha256:be65f488b776…</text>",
    ] {
        assert!(svg.contains(label), "no {label}");
    }
    assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
    assert_eq!(svg.matches("<g>").count(), svg.matches("</g>").count());
}

#[test]
fn example_repository_plan_for_a_new_base_image() {
    let tmp = tempfile::tempdir().unwrap();
    let config = root().join("examples/base-image/kascade.yaml");
    let run = graph(
        tmp.path(),
        &["--config", config.to_str().unwrap(), "--plan", "centos:7"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "change of istag/centos:7: 3 builds, 2 rollouts
builds, in order (one stage's builds do not depend on each other):
  stage 1  bc/httpd-base  on istag/centos:7           → istag/httpd-base:latest
  stage 2  bc/app-a       on istag/httpd-base:latest  → istag/app-a:latest
  stage 2  bc/app-b       on istag/httpd-base:latest  → istag/app-b:latest
rollouts:
  dc/app-a  on istag/app-a:latest  after bc/app-a
  dc/app-b  on istag/app-b:latest  after bc/app-b
"
    );
    let run = graph(
        tmp.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--plan",
            "nope:latest",
        ],
    );
    assert_error(&run, "imagestreamtag/nope:latest is not in the graph");
    let run = graph(
        tmp.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--plan",
            "centos:7",
            "-o",
            "svg",
        ],
    );
    assert_error(&run, "--plan prints text (-o tree) or JSON (-o json)");
}

/// The `cascade` workload at 200 dependents, as an app directory with its parameters.
fn cascade_workload(dir: &Path) -> bool {
    let Some(shared) = shared() else {
        return false;
    };
    let script = shared.join("bench/workload.py");
    assert!(
        script.is_file(),
        "{} is missing: the cascade workload comes from it",
        script.display()
    );
    let out = Command::new("python3")
        .arg(&script)
        .args(["cascade", dir.to_str().unwrap(), "--dependents", "200"])
        .output()
        .expect("python3 runs ../shared/bench/workload.py");
    assert!(out.status.success(), "workload.py failed: {out:?}");
    write(dir, "cascade.env", "GIT_URL=file:///nowhere/repo.git\n");
    true
}

#[test]
fn cascade_workload_with_200_dependents() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cascade");
    if !cascade_workload(&dir) {
        return;
    }
    let d = dir.to_str().unwrap();
    let run = graph(
        tmp.path(),
        &[
            "-f",
            d,
            "-n",
            "bench",
            "--plan",
            "base:latest",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    let builds = plan["builds"].as_array().unwrap();
    let rollouts = plan["rollouts"].as_array().unwrap();
    assert_eq!(builds.len(), 200);
    assert_eq!(rollouts.len(), 200);
    for (i, b) in builds.iter().enumerate() {
        assert_eq!(
            b["buildConfig"],
            format!("buildconfig/bench/svc-{i:03}"),
            "builds in name order within a stage"
        );
        assert_eq!(b["stage"], 1);
        assert_eq!(
            b["triggeredBy"],
            json!(["imagestreamtag/bench/base:latest"])
        );
    }
    for (i, r) in rollouts.iter().enumerate() {
        assert_eq!(r["workload"], format!("deploymentconfig/bench/svc-{i:03}"));
        assert_eq!(r["after"], json!([format!("buildconfig/bench/svc-{i:03}")]));
    }
    // From the external base: the base build first, then the 200.
    let run = graph(
        tmp.path(),
        &["-f", d, "-n", "bench", "--plan", "upstream:stable"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("change of istag/upstream:stable: 201 builds, 200 rollouts\n"),
        "{}",
        run.stdout
    );
    let stage2 = run.stdout.matches("stage 2  bc/svc-").count();
    assert_eq!(stage2, 200, "{}", run.stdout);
    assert!(run.stdout.contains("  stage 1  bc/base "), "{}", run.stdout);
    // The tree: base under upstream, 200 builds under base, each with its tag and DC.
    let run = graph(tmp.path(), &["-f", d, "-n", "bench"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + 1 + 200 * 3);
    assert_eq!(lines[1], "\tbc/base");
    assert_eq!(lines[3], "\t\t\tbc/svc-000");
    assert_eq!(lines[5], "\t\t\t\t\tdc/svc-000");
    // The picture of all 603 nodes is one well-formed document.
    let run = graph(tmp.path(), &["-f", d, "-n", "bench", "-o", "svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.matches("<g><title>").count(), 604);
}

const CYCLE_DIRECT: &str = r#"
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: app}
spec: {tags: [{name: latest}]}
---
apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata: {name: app}
spec:
  strategy: {type: Docker, dockerStrategy: {from: {kind: ImageStreamTag, name: "app:latest"}}}
  output: {to: {kind: ImageStreamTag, name: "app:latest"}}
  triggers: [{type: ImageChange, imageChange: {}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: innocent}
data: {a: b}
"#;

/// base → mid (build) → top (build) → base:latest through a tracking alias.
const CYCLE_CHAIN: &str = r#"
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: base}
spec:
  tags:
  - name: latest
    from: {kind: ImageStreamTag, name: "base:candidate"}
  - name: candidate
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: mid}
spec: {tags: [{name: latest}]}
---
apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata: {name: mid}
spec:
  strategy: {type: Docker, dockerStrategy: {from: {kind: ImageStreamTag, name: "base:latest"}}}
  output: {to: {kind: ImageStreamTag, name: "mid:latest"}}
  triggers: [{type: ImageChange}]
---
apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata: {name: top}
spec:
  strategy: {type: Source, sourceStrategy: {from: {kind: ImageStreamTag, name: "mid:latest"}}}
  output: {to: {kind: ImageStreamTag, name: "base:candidate"}}
  triggers: [{type: ImageChange, imageChange: {}}]
"#;

fn assert_nothing_applied(state: &Path) {
    if !state.exists() {
        return;
    }
    let c = LocalCluster::open(state).unwrap();
    // The embedded cluster starts with its namespaces; nothing else may be there.
    let all: Vec<Value> = c
        .all()
        .unwrap()
        .into_iter()
        .filter(|o| o["kind"] != "Namespace")
        .collect();
    assert!(all.is_empty(), "objects were applied: {all:?}");
    assert!(c.inventories().unwrap().is_empty());
}

#[test]
fn direct_cycle_is_refused_by_sync_diff_render_and_graph() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "set/app.yaml", CYCLE_DIRECT);
    let text = "cycle: imagestreamtag/app:latest → buildconfig/app → imagestreamtag/app:latest";
    for cmd in [
        vec!["sync", "-f", "set", "--app", "loop"],
        vec!["sync", "-f", "set", "--app", "loop", "--dry-run"],
        vec!["diff", "-f", "set", "--app", "loop"],
        vec!["render", "set"],
        vec!["graph", "-f", "set"],
    ] {
        let run = kascade_in(tmp.path(), &cmd, None);
        assert_error(&run, text);
        assert_nothing_applied(&tmp.path().join(".kascade"));
    }
}

#[test]
fn cycle_through_a_chain_is_refused_with_every_hop() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "set/chain.yaml", CYCLE_CHAIN);
    let run = kascade_in(
        tmp.path(),
        &["sync", "-f", "set", "--app", "chain", "-n", "default"],
        None,
    );
    assert_error(
        &run,
        "failed to render app \"chain\": cycle: imagestreamtag/base:candidate → imagestreamtag/base:latest → buildconfig/mid → imagestreamtag/mid:latest → buildconfig/top → imagestreamtag/base:candidate",
    );
    assert_nothing_applied(&tmp.path().join(".kascade"));
    // Pausing one trigger breaks the loop: the same set syncs.
    write(
        tmp.path(),
        "set/chain.yaml",
        &CYCLE_CHAIN.replace(
            "triggers: [{type: ImageChange}]",
            "triggers: [{type: ImageChange, imageChange: {paused: true}}]",
        ),
    );
    let run = kascade_in(
        tmp.path(),
        &["sync", "-f", "set", "--app", "chain", "-n", "default"],
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    let run = graph(
        tmp.path(),
        &["-f", "set", "-n", "lab", "--plan", "base:candidate"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("not triggered: bc/mid on istag/base:latest (paused)"),
        "{}",
        run.stdout
    );
}

#[test]
fn alias_tags_are_edges_that_carry_the_cascade() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "set/alias.yaml",
        r#"
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: app}
spec:
  tags:
  - name: latest
  - name: prod
    from: {kind: ImageStreamTag, name: latest}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: mirror}
spec:
  tags:
  - name: latest
    from: {kind: ImageStreamTag, name: "app:latest"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"app:prod"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]'
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "app:prod"}]}
"#,
    );
    let run = graph(tmp.path(), &["-f", "set", "-n", "web"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "istag/app:latest\n\tistag/app:prod\n\t\tdeployment/web\n\tistag/mirror:latest [another stream's tag: resolved once, not tracked]\n"
    );
    let run = graph(tmp.path(), &["-f", "set", "-n", "web", "-o", "json"]);
    let j: Value = serde_json::from_str(&run.stdout).unwrap();
    let aliases: Vec<(&str, &str, bool)> = j["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "alias")
        .map(|e| {
            (
                e["to"].as_str().unwrap(),
                e["why"].as_str().unwrap(),
                e["fires"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        aliases,
        vec![
            (
                "imagestreamtag/web/app:prod",
                "spec.tags[1].from ImageStreamTag",
                true
            ),
            (
                "imagestreamtag/web/mirror:latest",
                "spec.tags[0].from ImageStreamTag",
                false
            ),
        ]
    );
    let run = graph(tmp.path(), &["-f", "set", "-n", "web", "--plan", "app"]);
    assert!(
        run.stdout
            .contains("rollouts:\n  deployment/web  on istag/app:prod\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_triggers_are_reported_and_the_rest_syncs() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "set/bad.yaml",
        r#"
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: app}
spec: {tags: [{name: latest}]}
---
apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata: {name: orphan}
spec:
  strategy: {type: Docker, dockerStrategy: {from: {kind: ImageStreamTag, name: "missing:latest"}}}
  output: {to: {kind: ImageStreamTag, name: "app:latest"}}
  triggers: [{type: ImageChange}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  annotations:
    image.openshift.io/triggers: '[{"from": {"kind": "ImageStreamTag"'
spec:
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec: {containers: [{name: broken, image: nginx}]}
"#,
    );
    let run = graph(tmp.path(), &["-f", "set", "-n", "bad"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("warning: buildconfig/orphan in namespace bad: ImageChange trigger spec.triggers[0] names imagestreamtag/missing:latest, but image stream \"missing\" was not found"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "deployment/broken: annotation image.openshift.io/triggers is not valid JSON"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.starts_with(
            "istag/missing:latest (image stream not found)\n\tbc/orphan\n\t\tistag/app:latest\n"
        ),
        "{}",
        run.stdout
    );
    // Not fatal: the set syncs, warning about the malformed annotation on the object.
    let run = kascade_in(tmp.path(), &["sync", "-f", "set", "-n", "default"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("deployment.apps/broken created"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(
            "deployment/broken: annotation image.openshift.io/triggers is not valid JSON"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn graph_of_the_live_cluster_shows_tag_history() {
    let tmp = tempfile::tempdir().unwrap();
    let config = root().join("examples/base-image/kascade.yaml");
    let run = kascade_in(
        tmp.path(),
        &["sync", "--config", config.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    // A tag event on httpd-base:latest, as a finished build would push it.
    {
        let mut c = LocalCluster::open(&tmp.path().join(".kascade")).unwrap();
        let key = kascade::resource::ResourceKey::new(
            "image.openshift.io",
            "ImageStream",
            "base-image-example",
            "httpd-base",
        );
        let mut is = c.get(&key).unwrap().unwrap();
        is["status"] = json!({"dockerImageRepository": "image-registry/base-image-example/httpd-base",
            "tags": [{"tag": "latest", "items": [{
                "created": "2024-01-01T00:00:00Z", "generation": 1,
                "dockerImageReference": "image-registry/base-image-example/httpd-base@sha256:abcdef0123456789abcdef",
                "image": "sha256:abcdef0123456789abcdef"}]}]});
        let mut tx = c.begin().unwrap();
        tx.put(is).unwrap();
        tx.commit().unwrap();
    }
    let run = graph(tmp.path(), &["--from", "cluster"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("\t\tistag/httpd-base:latest @ sha256:abcdef012345\n\t\t\tbc/app-a\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("dc/app-b"), "{}", run.stdout);
    let run = graph(tmp.path(), &["--from", "cluster", "-o", "json"]);
    let j: Value = serde_json::from_str(&run.stdout).unwrap();
    let node = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "imagestreamtag/base-image-example/httpd-base:latest")
        .unwrap();
    assert_eq!(node["history"], 1);
    assert_eq!(node["live"], true);
    assert_eq!(node["inSet"], false);
    // --from both: the rendered set, annotated with what the cluster has seen.
    let run = graph(
        tmp.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--from",
            "both",
            "--root",
            "httpd-base",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("istag/httpd-base:latest @ sha256:abcdef012345\n"),
        "{}",
        run.stdout
    );
    let run = graph(
        tmp.path(),
        &["--config", config.to_str().unwrap(), "--from", "cluster"],
    );
    assert_error(&run, "--from cluster reads only the live cluster");
}

#[test]
fn graph_help_has_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let run = graph(tmp.path(), &["--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Examples:\n"), "{}", run.stdout);
    assert!(run.stdout.contains("--plan <IST>"), "{}", run.stdout);
}

#[test]
fn graph_of_an_app_made_by_new_app() {
    let tmp = tempfile::tempdir().unwrap();
    let run = kascade_in(
        tmp.path(),
        &[
            "new-app",
            "--template=base-image-example",
            "-p",
            "GIT_URL=https://example.com/lab.git",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    // --app alone renders the recorded source, read from the cluster.
    let run = graph(
        tmp.path(),
        &["--app", "base-image-example", "--plan", "httpd-base"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("change of istag/httpd-base:latest: 2 builds, 2 rollouts\n"),
        "{}",
        run.stdout
    );
}
