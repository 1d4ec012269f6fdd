use serde_json::{Value, json};

use super::*;
use crate::resource::{Origin, Resource, ResourceSet};

fn set(objects: &[Value]) -> ResourceSet {
    let mut s = ResourceSet::new();
    for (i, o) in objects.iter().enumerate() {
        s.insert(Resource::new(o.clone(), Origin::new("test.yaml", i + 1)).unwrap())
            .unwrap();
    }
    s
}

fn stream(name: &str, tags: Value) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name}, "spec": {"tags": tags}})
}

fn bc(name: &str, from: &str, to: &str, triggers: Value) -> Value {
    json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig", "metadata": {"name": name},
        "spec": {"strategy": {"type": "Docker", "dockerStrategy": {"from": {"kind": "ImageStreamTag", "name": from}}},
                 "output": {"to": {"kind": "ImageStreamTag", "name": to}},
                 "triggers": triggers}})
}

fn default_trigger() -> Value {
    json!([{"type": "ConfigChange"}, {"type": "ImageChange", "imageChange": {}}])
}

fn dc(name: &str, tag: &str, automatic: bool) -> Value {
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig", "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [{"name": name, "image": " "}]}},
                 "triggers": [{"type": "ImageChange", "imageChangeParams": {
                    "automatic": automatic, "containerNames": [name],
                    "from": {"kind": "ImageStreamTag", "name": tag}}}]}})
}

fn deployment(kind: &str, name: &str, annotation: &str) -> Value {
    let pod = json!({"containers": [{"name": name, "image": "x"}], "initContainers": [{"name": "init", "image": "y"}]});
    let spec = if kind == "CronJob" {
        json!({"jobTemplate": {"spec": {"template": {"spec": pod}}}})
    } else {
        json!({"template": {"spec": pod}})
    };
    let api = if kind == "CronJob" {
        "batch/v1"
    } else {
        "apps/v1"
    };
    json!({"apiVersion": api, "kind": kind,
        "metadata": {"name": name, "annotations": {TRIGGERS_ANNOTATION: annotation}}, "spec": spec})
}

fn tag(g: &Graph, name: &str) -> NodeId {
    g.find(NodeKind::ImageStreamTag, "", name)
        .unwrap_or_else(|| panic!("no tag {name}"))
}

fn names(g: &Graph, ids: &[NodeId]) -> Vec<String> {
    ids.iter().map(|&i| g.node(i).short_label()).collect()
}

/// The seed lab: centos:7 (imported) → httpd-base → app-a, app-b → their DCs.
fn seed() -> Vec<Value> {
    vec![
        stream(
            "centos",
            json!([{"name": "7", "from": {"kind": "DockerImage", "name": "docker.io/library/centos@sha256:be65"}}]),
        ),
        stream("httpd-base", json!([{"name": "latest"}])),
        stream("app-a", json!([{"name": "latest"}])),
        stream("app-b", json!([{"name": "latest"}])),
        bc(
            "httpd-base",
            "centos:7",
            "httpd-base:latest",
            default_trigger(),
        ),
        bc(
            "app-a",
            "httpd-base:latest",
            "app-a:latest",
            default_trigger(),
        ),
        bc(
            "app-b",
            "httpd-base:latest",
            "app-b:latest",
            default_trigger(),
        ),
        dc("app-a", "app-a:latest", true),
        dc("app-b", "app-b:latest", true),
    ]
}

#[test]
fn seed_lab_edges_say_why() {
    let g = Graph::from_set(&set(&seed()));
    assert!(g.warnings().is_empty(), "{:?}", g.warnings());
    let base = tag(&g, "httpd-base:latest");
    let out: Vec<(String, EdgeKind, String)> = g
        .outgoing(base)
        .map(|e| (g.node(e.to).short_label(), e.kind, e.why.clone()))
        .collect();
    assert_eq!(
        out,
        vec![
            (
                "bc/app-a".to_string(),
                EdgeKind::ImageChange,
                "spec.triggers[1] ImageChange (strategy from)".to_string()
            ),
            (
                "bc/app-b".to_string(),
                EdgeKind::ImageChange,
                "spec.triggers[1] ImageChange (strategy from)".to_string()
            ),
        ]
    );
    let centos = tag(&g, "centos:7");
    let import: Vec<_> = g.incoming(centos).collect();
    assert_eq!(import.len(), 1);
    assert_eq!(import[0].kind, EdgeKind::Import);
    assert_eq!(g.node(import[0].from).kind, NodeKind::DockerImage);
    let tree = output::tree(&g, &output::tree_roots(&g));
    assert_eq!(
        tree,
        "istag/centos:7 ← docker.io/library/centos@sha256:be65\n\tbc/httpd-base\n\t\tistag/httpd-base:latest\n\t\t\tbc/app-a\n\t\t\t\tistag/app-a:latest\n\t\t\t\t\tdc/app-a\n\t\t\tbc/app-b\n\t\t\t\tistag/app-b:latest\n\t\t\t\t\tdc/app-b\n"
    );
    assert!(check(&set(&seed())).is_ok());
}

#[test]
fn seed_lab_plan_builds_in_order_once_each() {
    let g = Graph::from_set(&set(&seed()));
    let p = plan(&g, &[tag(&g, "centos:7")]).unwrap();
    let builds: Vec<(usize, String)> = p
        .builds
        .iter()
        .map(|b| (b.stage, g.node(b.build).short_label()))
        .collect();
    assert_eq!(
        builds,
        vec![
            (1, "bc/httpd-base".into()),
            (2, "bc/app-a".into()),
            (2, "bc/app-b".into())
        ]
    );
    let rollouts: Vec<(String, Vec<String>)> = p
        .rollouts
        .iter()
        .map(|r| (g.node(r.workload).short_label(), names(&g, &r.after)))
        .collect();
    assert_eq!(
        rollouts,
        vec![
            ("dc/app-a".into(), vec!["bc/app-a".to_string()]),
            ("dc/app-b".into(), vec!["bc/app-b".to_string()])
        ]
    );
    // A change of app-a only rebuilds nothing and rolls out app-a.
    let p = plan(&g, &[tag(&g, "app-a:latest")]).unwrap();
    assert!(p.builds.is_empty());
    assert_eq!(p.rollouts.len(), 1);
    assert_eq!(p.rollouts[0].stage, 0);
    // start-build app-a: the build itself, then its rollout.
    let bc_a = g.find(NodeKind::BuildConfig, "", "app-a").unwrap();
    let p = plan(&g, &[bc_a]).unwrap();
    assert_eq!(names(&g, &[p.builds[0].build]), vec!["bc/app-a"]);
    assert!(p.builds[0].triggered_by.is_empty());
    assert_eq!(p.rollouts.len(), 1);
    let text = output::plan_text(&g, &p);
    assert!(
        text.contains("stage 1  bc/app-a  started  → istag/app-a:latest"),
        "{text}"
    );
}

#[test]
fn several_firing_triggers_make_one_build() {
    // app builds FROM base:latest and has a second ImageChange trigger on tools:latest;
    // both move in one change: one build, two causes.
    let objects = vec![
        stream("base", json!([{"name": "latest"}])),
        stream("tools", json!([{"name": "latest"}])),
        stream("app", json!([{"name": "latest"}])),
        bc(
            "app",
            "base:latest",
            "app:latest",
            json!([{"type": "ImageChange", "imageChange": {}},
                   {"type": "ImageChange", "imageChange": {"from": {"kind": "ImageStreamTag", "name": "tools:latest"}}}]),
        ),
        dc("app", "app:latest", true),
    ];
    let g = Graph::from_set(&set(&objects));
    let p = plan(&g, &[tag(&g, "tools:latest"), tag(&g, "base:latest")]).unwrap();
    assert_eq!(p.builds.len(), 1);
    assert_eq!(
        names(&g, &p.builds[0].triggered_by),
        vec!["istag/base:latest", "istag/tools:latest"]
    );
    assert_eq!(p.rollouts.len(), 1);
    // The same plan whatever the order of the changes.
    assert_eq!(
        p,
        plan(&g, &[tag(&g, "base:latest"), tag(&g, "tools:latest")]).unwrap()
    );
}

#[test]
fn diamond_builds_wait_for_every_input() {
    // base → a, base → b, (a, b) → c: c runs once, after both.
    let objects = vec![
        stream("base", json!([{"name": "latest"}])),
        stream("a", json!([{"name": "latest"}])),
        stream("b", json!([{"name": "latest"}])),
        stream("c", json!([{"name": "latest"}])),
        bc("a", "base:latest", "a:latest", default_trigger()),
        bc("b", "base:latest", "b:latest", default_trigger()),
        bc(
            "c",
            "a:latest",
            "c:latest",
            json!([{"type": "ImageChange"}, {"type": "ImageChange", "imageChange": {"from": {"kind": "ImageStreamTag", "name": "b:latest"}}}]),
        ),
    ];
    let g = Graph::from_set(&set(&objects));
    let p = plan(&g, &[tag(&g, "base:latest")]).unwrap();
    let builds: Vec<(usize, String)> = p
        .builds
        .iter()
        .map(|b| (b.stage, g.node(b.build).name.clone()))
        .collect();
    assert_eq!(
        builds,
        vec![(1, "a".into()), (1, "b".into()), (2, "c".into())]
    );
    assert_eq!(p.builds[2].triggered_by.len(), 2);
    // The tree shows c once in full and once as "(see above)".
    let tree = output::tree(&g, &output::tree_roots(&g));
    assert_eq!(tree.matches("istag/c:latest").count(), 1, "{tree}");
    assert!(tree.contains("bc/c (see above)"), "{tree}");
}

#[test]
fn direct_cycle_is_refused_with_the_cycle_spelled_out() {
    let objects = vec![
        stream("app", json!([{"name": "latest"}])),
        bc("app", "app:latest", "app:latest", default_trigger()),
    ];
    let err = check(&set(&objects)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cycle: imagestreamtag/app:latest → buildconfig/app → imagestreamtag/app:latest"
    );
}

#[test]
fn cycle_through_a_chain_and_an_alias_is_refused() {
    // a builds from c:stable; c:stable tracks c:latest; b pushes c:latest from a's output.
    let objects = vec![
        stream("a", json!([{"name": "latest"}])),
        stream(
            "c",
            json!([{"name": "latest"}, {"name": "stable", "from": {"kind": "ImageStreamTag", "name": "latest"}}]),
        ),
        bc("a", "c:stable", "a:latest", default_trigger()),
        bc("b", "a:latest", "c:latest", default_trigger()),
    ];
    let err = check(&set(&objects)).unwrap_err();
    assert_eq!(
        err.cycles,
        vec![vec![
            "imagestreamtag/a:latest".to_string(),
            "buildconfig/b".into(),
            "imagestreamtag/c:latest".into(),
            "imagestreamtag/c:stable".into(),
            "buildconfig/a".into(),
            "imagestreamtag/a:latest".into(),
        ]]
    );
    // Namespaced objects name their namespace once.
    let mut objects = objects;
    for o in &mut objects {
        o["metadata"]["namespace"] = json!("lab");
    }
    let err = check(&set(&objects)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("buildconfig/a → imagestreamtag/a:latest in namespace lab"),
        "{err}"
    );
}

#[test]
fn paused_triggers_and_cross_stream_references_break_cycles() {
    let paused = vec![
        stream("app", json!([{"name": "latest"}])),
        bc(
            "app",
            "app:latest",
            "app:latest",
            json!([{"type": "ImageChange", "imageChange": {"paused": true}}]),
        ),
    ];
    assert!(check(&set(&paused)).is_ok());
    // Cross-stream references are resolved once, never tracked: no loop.
    let cross = vec![
        stream("a", json!([{"name": "latest"}])),
        stream(
            "b",
            json!([{"name": "latest", "from": {"kind": "ImageStreamTag", "name": "a:latest"}}]),
        ),
        bc("a", "b:latest", "a:latest", default_trigger()),
    ];
    assert!(check(&set(&cross)).is_ok());
    let g = Graph::from_set(&set(&cross));
    let e = g.incoming(tag(&g, "b:latest")).next().unwrap();
    assert_eq!(e.kind, EdgeKind::Alias);
    assert!(!e.fires);
}

#[test]
fn same_stream_alias_tracks_its_source() {
    let objects = vec![
        stream(
            "app",
            json!([{"name": "latest"}, {"name": "prod", "from": {"kind": "ImageStreamTag", "name": "app:latest"}}]),
        ),
        dc("web", "app:prod", true),
    ];
    let g = Graph::from_set(&set(&objects));
    let p = plan(&g, &[tag(&g, "app:latest")]).unwrap();
    assert_eq!(
        names(&g, &p.tags),
        vec!["istag/app:latest", "istag/app:prod"]
    );
    assert_eq!(names(&g, &[p.rollouts[0].workload]), vec!["dc/web"]);
    let e = g.incoming(tag(&g, "app:prod")).next().unwrap();
    assert_eq!(
        (e.kind, e.why.as_str(), e.fires),
        (EdgeKind::Alias, "spec.tags[1].from ImageStreamTag", true)
    );
}

#[test]
fn non_automatic_and_paused_rollouts_are_held() {
    let ann = r#"[{"from":{"kind":"ImageStreamTag","name":"app:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image","paused":true}]"#;
    let objects = vec![
        stream("app", json!([{"name": "latest"}])),
        dc("manual", "app:latest", false),
        deployment("Deployment", "web", ann),
    ];
    let g = Graph::from_set(&set(&objects));
    let p = plan(&g, &[tag(&g, "app:latest")]).unwrap();
    assert!(p.rollouts.is_empty());
    let held: Vec<(String, String)> = p
        .held
        .iter()
        .map(|h| (g.node(h.node).short_label(), h.note.clone()))
        .collect();
    assert_eq!(
        held,
        vec![
            ("dc/manual".to_string(), "automatic: false".to_string()),
            ("deployment/web".to_string(), "paused".to_string())
        ]
    );
    let tree = output::tree(&g, &output::tree_roots(&g));
    assert!(tree.contains("\tdc/manual [automatic: false]"), "{tree}");
}

#[test]
fn bad_triggers_are_warnings_naming_the_object() {
    let path = |c: &str| format!(r#"spec.template.spec.containers[?(@.name==\"{c}\")].image"#);
    let dup = format!(
        r#"[{{"from":{{"kind":"ImageStreamTag","name":"app:latest"}},"fieldPath":"{0}"}},{{"from":{{"kind":"ImageStreamTag","name":"app:v2"}},"fieldPath":"{0}"}}]"#,
        path("dup")
    );
    let unknown = format!(
        r#"[{{"from":{{"kind":"ImageStreamTag","name":"app:latest"}},"fieldPath":"{}"}}]"#,
        path("ghost")
    );
    let cron = r#"[{"from":{"kind":"ImageStreamTag","name":"app:latest"},"fieldPath":"spec.jobTemplate.spec.template.spec.initContainers[0].image"}]"#;
    let objects = vec![
        stream("app", json!([{"name": "latest"}])),
        deployment("Deployment", "broken", "[{\"from\":"),
        deployment("StatefulSet", "dup", &dup),
        deployment("DaemonSet", "nobody", &unknown),
        deployment("CronJob", "nightly", cron),
        bc("missing", "gone:latest", "app:latest", default_trigger()),
        bc(
            "docker",
            "x:1",
            "app:latest",
            json!([{"type": "ImageChange", "imageChange": {"from": {"kind": "DockerImage", "name": "r/x:1"}}}]),
        ),
    ];
    let g = Graph::from_set(&set(&objects));
    let text: Vec<String> = g.warnings().iter().map(|w| w.to_string()).collect();
    let has = |needle: &str| {
        assert!(
            text.iter().any(|t| t.contains(needle)),
            "no warning {needle:?} in {text:#?}"
        )
    };
    has("deployment/broken: annotation image.openshift.io/triggers is not valid JSON");
    has(
        "statefulset/dup: annotation image.openshift.io/triggers: duplicate triggers are not allowed",
    );
    has("daemonset/nobody: annotation image.openshift.io/triggers[0]: no such container");
    has(
        "buildconfig/missing: ImageChange trigger spec.triggers[1] names imagestreamtag/gone:latest, but image stream \"gone\" was not found",
    );
    has(
        "buildconfig/docker: spec.triggers[0]: only an ImageStreamTag type of reference is allowed in an ImageChange trigger",
    );
    // The rest of the graph is there: the CronJob's init container trigger works.
    let cj = g.find(NodeKind::CronJob, "", "nightly").unwrap();
    assert_eq!(g.incoming(cj).count(), 1);
    assert!(g.node(tag(&g, "gone:latest")).missing);
    // check() fails only on cycles, never on these.
    assert!(check(&set(&objects)).is_ok());
}

#[test]
fn dc_from_image_stream_means_latest_and_bad_names_warn() {
    let mut d = dc("web", "app", true);
    d["spec"]["triggers"][0]["imageChangeParams"]["from"]["kind"] = json!("ImageStream");
    let mut bad = dc("bad", "app", true);
    bad["metadata"]["name"] = json!("bad");
    let mut no_names = dc("nonames", "app:latest", true);
    no_names["spec"]["triggers"][0]["imageChangeParams"]["containerNames"] = json!([]);
    let g = Graph::from_set(&set(&[
        stream("app", json!([{"name": "latest"}])),
        d,
        bad,
        no_names,
    ]));
    let web = g.find(NodeKind::DeploymentConfig, "", "web").unwrap();
    assert_eq!(
        g.node(g.incoming(web).next().unwrap().from).name,
        "app:latest"
    );
    let text: Vec<String> = g.warnings().iter().map(|w| w.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("deploymentconfig/bad: ") && t.contains("<name>:<tag>")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("containerNames: Required value")),
        "{text:?}"
    );
}

#[test]
fn namespaces_resolve_from_the_object_and_the_reference() {
    let mut b = bc("app", "builder:1", "app:latest", default_trigger());
    b["metadata"]["namespace"] = json!("dev");
    b["spec"]["strategy"]["dockerStrategy"]["from"]["namespace"] = json!("openshift");
    let mut s = stream("app", json!([{"name": "latest"}]));
    s["metadata"]["namespace"] = json!("dev");
    let mut builder = stream("builder", json!([{"name": "1"}]));
    builder["metadata"]["namespace"] = json!("openshift");
    let g = Graph::from_set(&set(&[b, s, builder]));
    assert!(g.warnings().is_empty(), "{:?}", g.warnings());
    let from = g
        .find(NodeKind::ImageStreamTag, "openshift", "builder:1")
        .unwrap();
    let to = g
        .find(NodeKind::ImageStreamTag, "dev", "app:latest")
        .unwrap();
    let p = plan(&g, &[from]).unwrap();
    assert_eq!(p.builds.len(), 1);
    assert_eq!(p.builds[0].outputs, vec![to]);
    // Several namespaces: the tree names them like oc adm build-chain --all.
    let tree = output::tree(&g, &[from]);
    assert!(
        tree.starts_with("<openshift istag/builder:1>\n\t<dev bc/app>"),
        "{tree}"
    );
    assert_eq!(g.resolve("builder:1", None), Ok(from));
    assert_eq!(g.resolve("dev/app", None), Ok(to));
    assert!(
        g.resolve("nothing", None)
            .unwrap_err()
            .contains("not in the graph")
    );
    assert_eq!(
        g.resolve("bc/dev/app", None),
        Ok(g.find(NodeKind::BuildConfig, "dev", "app").unwrap())
    );
}

#[test]
fn live_objects_add_tag_history_and_missing_objects() {
    let mut builder = GraphBuilder::new("lab");
    builder.add_set(&set(&seed()));
    let mut live = stream("app-a", json!([{"name": "latest"}]));
    live["metadata"]["namespace"] = json!("lab");
    live["status"] = json!({"tags": [{"tag": "latest", "items": [
        {"image": "sha256:1111111111111111", "dockerImageReference": "r/lab/app-a@sha256:1111111111111111", "generation": 2},
        {"image": "sha256:0000000000000000", "dockerImageReference": "r/lab/app-a@sha256:0000000000000000", "generation": 1}]}]});
    builder.add(&live, true);
    let mut extra = dc("extra", "app-a:latest", true);
    extra["metadata"]["namespace"] = json!("lab");
    builder.add(&extra, true);
    let g = builder.finish();
    let t = g
        .find(NodeKind::ImageStreamTag, "lab", "app-a:latest")
        .unwrap();
    let n = g.node(t);
    assert_eq!(n.image.as_deref(), Some("sha256:1111111111111111"));
    assert_eq!(n.history, 2);
    assert!(n.seen.set && n.seen.live);
    let p = plan(&g, &[t]).unwrap();
    assert_eq!(p.rollouts.len(), 2);
    let tree = output::tree(&g, &[t]);
    assert!(
        tree.starts_with("istag/app-a:latest @ sha256:111111111111\n"),
        "{tree}"
    );
}

#[test]
fn long_chains_need_no_recursion() {
    // 3,000 chained builds: no stack overflow in cycle search, planning or layout.
    let mut objects = vec![stream("s0", json!([{"name": "latest"}]))];
    for i in 1..=3000 {
        objects.push(stream(&format!("s{i}"), json!([{"name": "latest"}])));
        objects.push(bc(
            &format!("b{i}"),
            &format!("s{}:latest", i - 1),
            &format!("s{i}:latest"),
            default_trigger(),
        ));
    }
    let s = set(&objects);
    assert!(check(&s).is_ok());
    let g = Graph::from_set(&s);
    let p = plan(&g, &[tag(&g, "s0:latest")]).unwrap();
    assert_eq!(p.builds.len(), 3000);
    assert_eq!(p.builds.last().map(|b| b.stage), Some(3000));
    assert!(p.builds.windows(2).all(|w| w[0].stage < w[1].stage));
    let tree = output::tree(&g, &output::tree_roots(&g));
    assert_eq!(tree.lines().count(), 6001);
    assert!(svg::svg(&g).ends_with("</svg>\n"));
    // Close the loop: b1 builds from s3000, which the chain produces.
    objects[2]["spec"]["strategy"]["dockerStrategy"]["from"]["name"] = json!("s3000:latest");
    let err = check(&set(&objects)).unwrap_err();
    assert_eq!(err.cycles[0].len(), 3000 * 2 + 1);
}

/// A small XML well-formedness check: balanced tags, quoted attributes, known entities.
fn well_formed(xml: &str) -> Result<usize, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    let mut elements = 0;
    if let Some(r) = rest.strip_prefix("<?xml") {
        rest = &r[r.find("?>").ok_or("unterminated declaration")? + 2..];
    }
    while let Some(i) = rest.find('<') {
        check_text(&rest[..i])?;
        rest = &rest[i + 1..];
        let end = rest.find('>').ok_or("unterminated tag")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("bad element name in <{tag}>"));
        }
        // Attributes: name="value" pairs, values without < or raw &.
        let mut attrs = &body[name.len()..];
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                break;
            }
            let eq = attrs
                .find("=\"")
                .ok_or(format!("unquoted attribute in <{tag}>"))?;
            let after = &attrs[eq + 2..];
            let close = after.find('"').ok_or("unterminated attribute")?;
            check_text(&after[..close])?;
            attrs = &after[close + 1..];
        }
        elements += 1;
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest)?;
    if stack.is_empty() {
        Ok(elements)
    } else {
        Err(format!("unclosed {stack:?}"))
    }
}

fn check_text(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let semi = rest[i..].find(';').ok_or("raw & in text")?;
        let entity = &rest[i + 1..i + semi];
        if !["amp", "lt", "gt", "quot", "apos"].contains(&entity) {
            return Err(format!("unknown entity &{entity};"));
        }
        rest = &rest[i + semi + 1..];
    }
    if text.contains('<') {
        return Err("raw < in text".into());
    }
    Ok(())
}

#[test]
fn svg_is_well_formed_and_escapes_names() {
    let mut objects = seed();
    // A namespace and a DockerImage name with characters XML must escape.
    objects[0]["spec"]["tags"][0]["from"]["name"] =
        json!("r.example.com/a&b<c>\"d'@sha256:0123456789abcdef0123");
    let g = Graph::from_set(&set(&objects));
    let picture = svg::svg(&g);
    let elements = well_formed(&picture).unwrap_or_else(|e| panic!("{e}\n{picture}"));
    // 10 nodes and 9 edges at least, each its own element.
    assert!(elements > 10 + 9, "{elements}");
    assert!(picture.contains("a&amp;b&lt;c&gt;&quot;d&apos;@sha256:0123456789ab…"));
    assert_eq!(picture.matches("<rect ").count(), 1 + 4 + g.len());
    assert_eq!(picture.matches("marker-end=").count(), g.edges().len());
    // The checker itself rejects broken XML.
    assert!(well_formed("<a><b></a>").is_err());
    assert!(well_formed("<a x=y/>").is_err());
    assert!(well_formed("<a>&nope;</a>").is_err());
    // A cycle is drawn as a red arc, not refused.
    let cyc = Graph::from_set(&set(&[
        stream("app", json!([{"name": "latest"}])),
        bc("app", "app:latest", "app:latest", default_trigger()),
    ]));
    let picture = svg::svg(&cyc);
    assert!(well_formed(&picture).is_ok());
    assert!(picture.contains("arrow-red)"));
}

#[test]
fn dot_and_json_name_every_node_and_edge() {
    let g = Graph::from_set(&set(&seed()));
    let dot = output::dot(&g);
    assert!(dot.starts_with("digraph kascade {"));
    assert_eq!(dot.matches(" -> ").count(), g.edges().len());
    assert!(dot.contains(
        "\"imagestreamtag/httpd-base:latest\" -> \"buildconfig/app-a\" [label=\"imagechange\"];"
    ));
    let j = output::json(&g);
    assert_eq!(j["nodes"].as_array().unwrap().len(), g.len());
    assert_eq!(j["edges"].as_array().unwrap().len(), g.edges().len());
    assert_eq!(j["nodes"][0]["id"], "imagestreamtag/app-a:latest");
    assert!(
        j["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["from"] == "buildconfig/httpd-base"
                && e["to"] == "imagestreamtag/httpd-base:latest"
                && e["why"] == "spec.output.to")
    );
}
