//! Criterion benchmarks for the trigger graph: planning a cascade over 10,000 nodes.
//!
//! ```text
//! cargo bench --bench graph
//! ```
//!
//! - `plan/cascade-10000`: `triggers::plan` from the external base tag of the `cascade`
//!   shape of `../shared/bench/workload.py` (upstream tag → base build → base tag → N
//!   builds → N tags → N DeploymentConfigs) with N = 3,332: 10,000 nodes, 9,999 edges.
//!   Every node is reached; 3,333 builds and 3,332 rollouts are planned.
//! - `plan/layered-10000`: 10 layers of 500 builds, each built from two tags of the layer
//!   below (two ImageChange triggers, folded into one build): 10,001 nodes, 14,500 edges.
//! - `build/cascade-10000`: `GraphBuilder` over the 10,000-node cascade's objects.
//! - `check/cascade-10000`: `triggers::check` of the same objects as a rendered set (what
//!   every render of an app pays).
//!
//! The objects are generated here, with the same shape as workload.py's, so the bench needs
//! neither python3 nor `../shared`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kascade::resource::{Origin, Resource, ResourceSet};
use kascade::triggers::{self, Graph, GraphBuilder, NodeKind};
use serde_json::{Value, json};

fn stream(name: &str) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name, "namespace": "bench"}, "spec": {"tags": [{"name": "latest"}]}})
}

fn build(name: &str, from: &[String]) -> Value {
    let mut triggers = vec![
        json!({"type": "ConfigChange"}),
        json!({"type": "ImageChange", "imageChange": {}}),
    ];
    for extra in from.iter().skip(1) {
        triggers.push(json!({"type": "ImageChange", "imageChange": {"from": {"kind": "ImageStreamTag", "name": extra}}}));
    }
    json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {"strategy": {"type": "Docker", "dockerStrategy": {"from": {"kind": "ImageStreamTag", "name": from[0]}}},
                 "output": {"to": {"kind": "ImageStreamTag", "name": format!("{name}:latest")}},
                 "triggers": triggers}})
}

fn dc(name: &str) -> Value {
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {"template": {"spec": {"containers": [{"name": name, "image": format!("{name}:latest")}]}},
                 "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {
                    "automatic": true, "containerNames": [name],
                    "from": {"kind": "ImageStreamTag", "name": format!("{name}:latest")}}}]}})
}

/// workload.py's `cascade` with `dependents` apps: 4 + 3 × dependents nodes.
fn cascade(dependents: usize) -> Vec<Value> {
    let mut objects = vec![
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "upstream", "namespace": "bench"},
            "spec": {"tags": [{"name": "stable", "from": {"kind": "DockerImage",
                "name": format!("registry.example.com/base@sha256:{}", "0".repeat(64))}}]}}),
        stream("base"),
        build("base", &["upstream:stable".to_string()]),
    ];
    for i in 0..dependents {
        let name = format!("svc-{i:04}");
        objects.push(stream(&name));
        objects.push(build(&name, &["base:latest".to_string()]));
        objects.push(dc(&name));
    }
    objects
}

/// `layers` layers of `width` builds; a build of layer k builds from tags i and i+1 of layer
/// k-1. Layer 0 builds from one root tag.
fn layered(layers: usize, width: usize) -> Vec<Value> {
    let mut objects = vec![stream("root")];
    for l in 0..layers {
        for i in 0..width {
            let name = format!("l{l}-{i:03}");
            let from = if l == 0 {
                vec!["root:latest".to_string()]
            } else {
                vec![
                    format!("l{}-{:03}:latest", l - 1, i),
                    format!("l{}-{:03}:latest", l - 1, (i + 1) % width),
                ]
            };
            objects.push(stream(&name));
            objects.push(build(&name, &from));
        }
    }
    objects
}

fn graph_of(objects: &[Value]) -> Graph {
    let mut b = GraphBuilder::new("bench");
    for o in objects {
        b.add(o, false);
    }
    b.finish()
}

fn benches(c: &mut Criterion) {
    let objects = cascade(3332);
    let g = graph_of(&objects);
    assert_eq!(g.len(), 10_000);
    assert_eq!(g.edges().len(), 9_999);
    let root = g
        .find(NodeKind::ImageStreamTag, "bench", "upstream:stable")
        .expect("upstream:stable");
    let plan = triggers::plan(&g, &[root]).expect("no cycle");
    assert_eq!(plan.builds.len(), 3333);
    assert_eq!(plan.rollouts.len(), 3332);
    c.bench_function("plan/cascade-10000", |b| {
        b.iter(|| triggers::plan(black_box(&g), black_box(&[root])))
    });

    let layered_objects = layered(10, 500);
    let lg = graph_of(&layered_objects);
    assert_eq!(lg.len(), 10_001);
    assert_eq!(lg.edges().len(), 14_500);
    let lroot = lg
        .find(NodeKind::ImageStreamTag, "bench", "root:latest")
        .expect("root:latest");
    let lplan = triggers::plan(&lg, &[lroot]).expect("no cycle");
    assert_eq!(lplan.builds.len(), 5000);
    assert_eq!(lplan.builds.last().map(|b| b.stage), Some(10));
    c.bench_function("plan/layered-10000", |b| {
        b.iter(|| triggers::plan(black_box(&lg), black_box(&[lroot])))
    });

    c.bench_function("build/cascade-10000", |b| {
        b.iter(|| graph_of(black_box(&objects)))
    });

    let mut set = ResourceSet::new();
    for o in &objects {
        if let Ok(r) = Resource::new(o.clone(), Origin::new("bench", 0)) {
            let _ = set.insert(r);
        }
    }
    c.bench_function("check/cascade-10000", |b| {
        b.iter(|| triggers::check(black_box(&set)))
    });
}

criterion_group! {
    name = graph;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(graph);
