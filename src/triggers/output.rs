//! Printing trigger graphs and cascade plans: a tree like `oc adm build-chain`, Graphviz DOT,
//! JSON, and plans as text or JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::CascadePlan;
use super::graph::{EdgeKind, Graph, NodeId, NodeKind};

/// How a node is named in a tree or plan: `istag/app:latest`, or `<ns istag/app:latest>`
/// when the graph spans several namespaces (as `oc adm build-chain --all` prints it).
fn name(graph: &Graph, id: NodeId, multi: bool) -> String {
    let n = graph.node(id);
    if multi && !n.kind.is_external() {
        format!("<{} {}>", n.namespace, n.short_label())
    } else {
        n.short_label()
    }
}

fn multi_namespace(graph: &Graph) -> bool {
    graph.namespaces().len() > 1
}

/// The nodes a tree starts from: tags and builds nothing in the graph pushes or tracks into
/// (imports from external images do not count), in id order.
pub fn tree_roots(graph: &Graph) -> Vec<NodeId> {
    (0..graph.len())
        .map(NodeId)
        .filter(|&id| {
            let n = graph.node(id);
            matches!(n.kind, NodeKind::ImageStreamTag | NodeKind::BuildConfig)
                && graph.incoming(id).all(|e| e.kind == EdgeKind::Import)
        })
        .collect()
}

/// The tree of what each root triggers, nested like `oc adm build-chain`: each tag with the
/// builds it triggers, the tags they push under them, workloads as leaves; one tab per
/// level. A node already expanded says `(see above)`. Nodes not under any root (cycles) get
/// trees of their own, so every node with an edge appears.
pub fn tree(graph: &Graph, roots: &[NodeId]) -> String {
    let multi = multi_namespace(graph);
    let mut out = String::new();
    let mut expanded = vec![false; graph.len()];
    let mut starts: Vec<NodeId> = roots.to_vec();
    let mut i = 0;
    loop {
        while i < starts.len() {
            let root = starts[i];
            i += 1;
            if expanded[root.0] {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            // (node, depth, note of the edge that led here)
            let mut stack: Vec<(NodeId, usize, Option<String>)> = vec![(root, 0, None)];
            while let Some((id, depth, note)) = stack.pop() {
                let _ = write!(out, "{}{}", "\t".repeat(depth), name(graph, id, multi));
                out.push_str(&annotations(graph, id));
                if let Some(note) = note {
                    let _ = write!(out, " [{note}]");
                }
                if std::mem::replace(&mut expanded[id.0], true) {
                    let has_children = graph.outgoing(id).next().is_some();
                    if has_children && depth > 0 {
                        out.push_str(" (see above)");
                    }
                    out.push('\n');
                    continue;
                }
                out.push('\n');
                let children: Vec<_> = graph
                    .outgoing(id)
                    .filter(|e| !graph.node(e.to).kind.is_external())
                    .map(|e| (e.to, depth + 1, e.note.clone()))
                    .collect();
                stack.extend(children.into_iter().rev());
            }
        }
        // Whatever no root reached (a cycle, or a workload on nothing): start from it.
        match (0..graph.len()).map(NodeId).find(|&id| {
            !expanded[id.0]
                && !graph.node(id).kind.is_external()
                && (graph.outgoing(id).next().is_some() || graph.incoming(id).next().is_some())
        }) {
            Some(id) => starts.push(id),
            None => break,
        }
    }
    out
}

fn short_digest(image: &str) -> &str {
    match image.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => image.get(..algo.len() + 1 + 12).unwrap_or(image),
        _ => image,
    }
}

fn annotations(graph: &Graph, id: NodeId) -> String {
    let n = graph.node(id);
    let mut s = String::new();
    if n.kind != NodeKind::ImageStreamTag {
        return s;
    }
    if let Some(img) = &n.image {
        let _ = write!(s, " @ {}", short_digest(img));
    }
    for e in graph.incoming(id).filter(|e| e.kind == EdgeKind::Import) {
        let _ = write!(s, " ← {}", graph.node(e.from).name);
    }
    if n.missing {
        s.push_str(" (image stream not found)");
    }
    s
}

fn dot_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The graph in Graphviz DOT: tags as ellipses, builds as boxes, workloads as rounded boxes,
/// external images as notes; non-firing edges dashed with their reason.
pub fn dot(graph: &Graph) -> String {
    let multi = multi_namespace(graph);
    let mut out = String::from(
        "digraph kascade {\n  rankdir=LR;\n  node [fontname=\"monospace\", fontsize=10];\n  edge [fontname=\"monospace\", fontsize=9];\n",
    );
    for (i, n) in graph.nodes().iter().enumerate() {
        let mut label = n.brief_label();
        if multi && !n.kind.is_external() {
            label = format!("{}\n{label}", n.namespace);
        }
        if let Some(img) = &n.image {
            label.push('\n');
            label.push_str(short_digest(img));
        }
        let shape = match n.kind {
            NodeKind::ImageStreamTag => "ellipse, style=filled, fillcolor=\"#dbeafe\"",
            NodeKind::BuildConfig => "box, style=filled, fillcolor=\"#fef3c7\"",
            NodeKind::DockerImage | NodeKind::ImageStreamImage => {
                "note, style=filled, fillcolor=\"#f3f4f6\""
            }
            _ => "box, style=\"rounded,filled\", fillcolor=\"#dcfce7\"",
        };
        let missing = if n.missing {
            ", color=red, fontcolor=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [label={}, shape={shape}{missing}];",
            dot_quote(&graph.node(NodeId(i)).id_string()),
            dot_quote(&label)
        );
    }
    for e in graph.edges() {
        let mut label = e.kind.as_str().to_string();
        if let Some(note) = &e.note {
            label = format!("{label}\n{note}");
        }
        let style = if e.fires { "" } else { ", style=dashed" };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            dot_quote(&graph.node(e.from).id_string()),
            dot_quote(&graph.node(e.to).id_string()),
            dot_quote(&label)
        );
    }
    out.push_str("}\n");
    out
}

/// The graph as JSON: `{"nodes": [...], "edges": [...], "warnings": [...]}`; edges name
/// nodes by their `id`.
pub fn json(graph: &Graph) -> Value {
    let nodes: Vec<Value> = graph
        .nodes()
        .iter()
        .map(|n| {
            let mut v = json!({
                "id": n.id_string(),
                "kind": n.kind.api_kind(),
                "namespace": n.namespace,
                "name": n.name,
                "inSet": n.seen.set,
                "live": n.seen.live,
            });
            if n.kind == NodeKind::ImageStreamTag {
                v["missing"] = json!(n.missing);
                v["image"] = json!(n.image);
                v["dockerImageReference"] = json!(n.reference);
                v["history"] = json!(n.history);
            }
            v
        })
        .collect();
    let edges: Vec<Value> = graph
        .edges()
        .iter()
        .map(|e| {
            json!({
                "from": graph.node(e.from).id_string(),
                "to": graph.node(e.to).id_string(),
                "kind": e.kind.as_str(),
                "why": e.why,
                "fires": e.fires,
                "note": e.note,
            })
        })
        .collect();
    json!({"nodes": nodes, "edges": edges, "warnings": warnings_json(graph)})
}

fn warnings_json(graph: &Graph) -> Vec<Value> {
    graph
        .warnings()
        .iter()
        .map(|w| json!({"object": w.object, "namespace": w.namespace, "message": w.message}))
        .collect()
}

fn list(graph: &Graph, ids: &[NodeId], multi: bool) -> String {
    ids.iter()
        .map(|&id| name(graph, id, multi))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A plan as people read it:
///
/// ```text
/// change of istag/httpd-base:latest: 2 builds, 2 rollouts
/// builds, in order (one stage's builds do not depend on each other):
///   stage 1  bc/app-a  on istag/httpd-base:latest  → istag/app-a:latest
/// rollouts:
///   dc/app-a  on istag/app-a:latest  after bc/app-a
/// ```
pub fn plan_text(graph: &Graph, plan: &CascadePlan) -> String {
    let multi = multi_namespace(graph);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "change of {}: {}, {}",
        list(graph, &plan.changed, multi),
        plural(plan.builds.len(), "build", "builds"),
        plural(plan.rollouts.len(), "rollout", "rollouts")
    );
    if !plan.builds.is_empty() {
        out.push_str("builds, in order (one stage's builds do not depend on each other):\n");
        let rows: Vec<[String; 4]> = plan
            .builds
            .iter()
            .map(|b| {
                [
                    format!("stage {}", b.stage),
                    name(graph, b.build, multi),
                    if b.triggered_by.is_empty() {
                        "started".to_string()
                    } else {
                        format!("on {}", list(graph, &b.triggered_by, multi))
                    },
                    if b.outputs.is_empty() {
                        String::new()
                    } else {
                        format!("→ {}", list(graph, &b.outputs, multi))
                    },
                ]
            })
            .collect();
        table(&mut out, &rows);
    }
    if !plan.rollouts.is_empty() {
        out.push_str("rollouts:\n");
        let rows: Vec<[String; 4]> = plan
            .rollouts
            .iter()
            .map(|r| {
                [
                    name(graph, r.workload, multi),
                    if r.triggered_by.is_empty() {
                        "started".to_string()
                    } else {
                        format!("on {}", list(graph, &r.triggered_by, multi))
                    },
                    if r.after.is_empty() {
                        String::new()
                    } else {
                        format!("after {}", list(graph, &r.after, multi))
                    },
                    String::new(),
                ]
            })
            .collect();
        table(&mut out, &rows);
    }
    for h in &plan.held {
        let _ = writeln!(
            out,
            "not triggered: {} on {} ({})",
            name(graph, h.node, multi),
            name(graph, h.by, multi),
            h.note
        );
    }
    out
}

/// Columns padded to the widest cell plus two spaces, indented by two; trailing blanks cut.
fn table(out: &mut String, rows: &[[String; 4]]) {
    let mut widths = [0usize; 4];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    for r in rows {
        let mut line = String::from("  ");
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// A plan as JSON: `changed`, `builds` (in order, with `stage`, `triggeredBy`, `outputs`),
/// `rollouts`, `tags`, `held`; nodes named by their `id` as in [`json`].
pub fn plan_json(graph: &Graph, plan: &CascadePlan) -> Value {
    let id = |n: NodeId| Value::String(graph.node(n).id_string());
    let ids = |v: &[NodeId]| Value::Array(v.iter().map(|&n| id(n)).collect());
    json!({
        "changed": ids(&plan.changed),
        "builds": plan.builds.iter().map(|b| json!({
            "buildConfig": id(b.build),
            "stage": b.stage,
            "triggeredBy": ids(&b.triggered_by),
            "outputs": ids(&b.outputs),
        })).collect::<Vec<_>>(),
        "rollouts": plan.rollouts.iter().map(|r| json!({
            "workload": id(r.workload),
            "kind": graph.node(r.workload).kind.api_kind(),
            "stage": r.stage,
            "triggeredBy": ids(&r.triggered_by),
            "after": ids(&r.after),
        })).collect::<Vec<_>>(),
        "tags": ids(&plan.tags),
        "held": plan.held.iter().map(|h| json!({
            "node": id(h.node), "by": id(h.by), "note": h.note,
        })).collect::<Vec<_>>(),
    })
}
