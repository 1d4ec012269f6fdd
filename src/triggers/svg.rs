//! A trigger graph drawn as an SVG picture, with no external tools.
//!
//! Layout: layers by longest path from the roots (edges closing a cycle are set aside and
//! drawn as red arcs), one column per layer from left to right, nodes in a column ordered by
//! the mean position of their predecessors (two sweeps, ties by name), boxes sized to their
//! labels, edges as curves with arrowheads. Tags are blue, builds amber, workloads green,
//! external images grey; a dashed edge does not fire, and a red-outlined tag names a stream
//! that was not found. Hovering a box or an edge shows its details.

use std::fmt::Write as _;

use super::graph::{Graph, NodeId, NodeKind};

const CHAR_W: f64 = 7.2;
const BOX_H: f64 = 26.0;
const ROW_GAP: f64 = 14.0;
const COL_GAP: f64 = 90.0;
const MARGIN: f64 = 20.0;
const TOP: f64 = 56.0;
const PAD: f64 = 10.0;

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Layers by longest path, ignoring the edges that close cycles (returned as `back`).
fn layers(graph: &Graph) -> (Vec<usize>, Vec<bool>) {
    let n = graph.len();
    let edges = graph.edges();
    let mut back = vec![false; edges.len()];
    // Iterative DFS in id order: an edge to a node on the stack closes a cycle.
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut post: Vec<usize> = Vec::with_capacity(n);
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, e) in edges.iter().enumerate() {
        out_edges[e.from.0].push(i);
    }
    for s in 0..n {
        if state[s] != 0 {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(s, 0)];
        state[s] = 1;
        while let Some(top) = call.len().checked_sub(1) {
            let (v, pos) = call[top];
            if pos < out_edges[v].len() {
                call[top].1 += 1;
                let ei = out_edges[v][pos];
                let w = edges[ei].to.0;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        call.push((w, 0));
                    }
                    1 => back[ei] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                post.push(v);
                call.pop();
            }
        }
    }
    let mut layer = vec![0usize; n];
    for &v in post.iter().rev() {
        for &ei in &out_edges[v] {
            if !back[ei] {
                let w = edges[ei].to.0;
                layer[w] = layer[w].max(layer[v] + 1);
            }
        }
    }
    (layer, back)
}

struct Placed {
    x: f64,
    y: f64,
    w: f64,
}

fn label(graph: &Graph, id: NodeId, multi: bool) -> String {
    let n = graph.node(id);
    if multi && !n.kind.is_external() {
        format!("{} ({})", n.brief_label(), n.namespace)
    } else {
        n.brief_label()
    }
}

/// The layout: a column per layer, real nodes and the waypoints of edges spanning several
/// layers (so long edges run between boxes, not through them).
struct Layout {
    /// Layer of every layout item (nodes first, then waypoints).
    layer: Vec<usize>,
    /// Items of each column, top to bottom.
    columns: Vec<Vec<usize>>,
    /// For each edge: the items it passes, source and target included.
    chains: Vec<Vec<usize>>,
    /// Edges closing a cycle.
    back: Vec<bool>,
}

fn layout(graph: &Graph) -> Layout {
    let (mut layer, back) = layers(graph);
    let mut chains = Vec::with_capacity(graph.edges().len());
    for (i, e) in graph.edges().iter().enumerate() {
        let (a, b) = (e.from.0, e.to.0);
        let mut chain = vec![a];
        if !back[i] {
            for l in layer[a] + 1..layer[b] {
                layer.push(l);
                chain.push(layer.len() - 1);
            }
        }
        chain.push(b);
        chains.push(chain);
    }
    let items = layer.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); items];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); items];
    for (i, chain) in chains.iter().enumerate() {
        if back[i] {
            continue;
        }
        for w in chain.windows(2) {
            succs[w[0]].push(w[1]);
            preds[w[1]].push(w[0]);
        }
    }
    let depth = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (v, &l) in layer.iter().enumerate() {
        columns[l].push(v);
    }
    // Order within columns: mean position of the neighbours in the previous column (then
    // the next, then the previous again); ties keep the current order, which starts as id
    // order (waypoints after nodes).
    let mut pos = vec![0f64; items];
    for col in &columns {
        for (i, &v) in col.iter().enumerate() {
            pos[v] = i as f64;
        }
    }
    for sweep in 0..3 {
        let downward = sweep != 1;
        let order: Vec<usize> = if downward {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for c in order {
            let mut keyed: Vec<(f64, f64, usize)> = columns[c]
                .iter()
                .map(|&v| {
                    let neigh = if downward { &preds[v] } else { &succs[v] };
                    let key = if neigh.is_empty() {
                        pos[v]
                    } else {
                        neigh.iter().map(|&u| pos[u]).sum::<f64>() / neigh.len() as f64
                    };
                    (key, pos[v], v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
            columns[c] = keyed.into_iter().map(|(_, _, v)| v).collect();
            for (i, &v) in columns[c].iter().enumerate() {
                pos[v] = i as f64;
            }
        }
    }
    Layout {
        layer,
        columns,
        chains,
        back,
    }
}

/// Draws the graph. The picture is self-contained SVG 1.1.
pub fn svg(graph: &Graph) -> String {
    let n = graph.len();
    let multi = graph.namespaces().len() > 1;
    let Layout {
        layer,
        columns,
        chains,
        back,
    } = layout(graph);
    let labels: Vec<String> = (0..n).map(|v| label(graph, NodeId(v), multi)).collect();
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    let col_height = |k: usize| k as f64 * (BOX_H + ROW_GAP) - ROW_GAP;
    let total_h = col_height(rows).max(0.0);
    let mut placed: Vec<Placed> = (0..layer.len())
        .map(|_| Placed {
            x: 0.0,
            y: 0.0,
            w: 0.0,
        })
        .collect();
    let mut x = MARGIN;
    for col in &columns {
        let w = col
            .iter()
            .filter(|&&v| v < n)
            .map(|&v| labels[v].chars().count() as f64 * CHAR_W + 2.0 * PAD)
            .fold(0.0, f64::max);
        let offset = (total_h - col_height(col.len())) / 2.0;
        for (i, &v) in col.iter().enumerate() {
            let node_w = if v < n {
                labels[v].chars().count() as f64 * CHAR_W + 2.0 * PAD
            } else {
                w
            };
            placed[v] = Placed {
                // Boxes are centred in their column; waypoints span it.
                x: x + (w - node_w) / 2.0,
                y: TOP + offset + i as f64 * (BOX_H + ROW_GAP),
                w: node_w,
            };
        }
        x += w + COL_GAP;
    }
    let title = format!(
        "kascade trigger graph: {} nodes, {} edges",
        n,
        graph.edges().len()
    );
    let width = (x - COL_GAP + MARGIN).max(title.len() as f64 * CHAR_W + 2.0 * MARGIN + 420.0);
    let height = TOP + total_h + MARGIN + 30.0;
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(&title));
    s.push_str(concat!(
        "<defs>\n",
        r##"<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#4b5563"/></marker>"##,
        "\n",
        r##"<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#dc2626"/></marker>"##,
        "\n</defs>\n",
        r##"<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>"##,
        "\n"
    ));
    let _ = writeln!(
        s,
        r##"<text x="{MARGIN}" y="24" font-size="14" font-weight="bold" fill="#111827">{}</text>"##,
        escape(&title)
    );
    legend(&mut s, width);
    // Edges under boxes.
    for (i, e) in graph.edges().iter().enumerate() {
        let (a, b) = (&placed[e.from.0], &placed[e.to.0]);
        let (x1, y1) = (a.x + a.w, a.y + BOX_H / 2.0);
        let (x2, y2) = (b.x, b.y + BOX_H / 2.0);
        let (d, color, marker) = if back[i] || x2 <= x1 {
            // Closes a cycle: an arc above both boxes.
            let top = a.y.min(b.y) - 30.0;
            (
                format!(
                    "M {x1:.1} {y1:.1} C {:.1} {top:.1}, {:.1} {top:.1}, {x2:.1} {y2:.1}",
                    x1 + 60.0,
                    x2 - 60.0
                ),
                "#dc2626",
                "arrow-red",
            )
        } else {
            // Curves between columns, straight through the waypoints' columns.
            let mut d = format!("M {x1:.1} {y1:.1}");
            let (mut cx, mut cy) = (x1, y1);
            for &w in &chains[i][1..chains[i].len() - 1] {
                let p = &placed[w];
                let y = p.y + BOX_H / 2.0;
                let dx = (p.x - cx) / 2.0;
                let _ = write!(
                    d,
                    " C {:.1} {cy:.1}, {:.1} {y:.1}, {:.1} {y:.1} L {:.1} {y:.1}",
                    cx + dx,
                    p.x - dx,
                    p.x,
                    p.x + p.w
                );
                (cx, cy) = (p.x + p.w, y);
            }
            let dx = (x2 - cx) / 2.0;
            let _ = write!(
                d,
                " C {:.1} {cy:.1}, {:.1} {y2:.1}, {x2:.1} {y2:.1}",
                cx + dx,
                x2 - dx
            );
            (d, "#4b5563", "arrow")
        };
        let dash = if e.fires {
            ""
        } else {
            r#" stroke-dasharray="5,4""#
        };
        let mut tip = format!(
            "{} → {}: {} ({})",
            labels[e.from.0],
            labels[e.to.0],
            e.kind.as_str(),
            e.why
        );
        if let Some(note) = &e.note {
            let _ = write!(tip, ", does not fire: {note}");
        }
        let _ = writeln!(
            s,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="1.4"{dash} marker-end="url(#{marker})"><title>{}</title></path>"#,
            escape(&tip)
        );
    }
    for v in 0..n {
        let node = graph.node(NodeId(v));
        let p = &placed[v];
        let (fill, stroke) = colors(node.kind);
        let (stroke, dash) = if node.missing {
            ("#dc2626", r#" stroke-dasharray="4,3""#)
        } else {
            (stroke, "")
        };
        let rx = if node.kind == NodeKind::ImageStreamTag {
            13
        } else {
            4
        };
        let mut tip = node.id_string();
        if let Some(img) = &node.image {
            let _ = write!(tip, "\nimage {img}");
        }
        if let Some(r) = &node.reference {
            let _ = write!(tip, "\npull spec {r}");
        }
        if node.history > 0 {
            let _ = write!(tip, "\n{} tag events", node.history);
        }
        if node.missing {
            tip.push_str("\nimage stream not found");
        }
        let _ = writeln!(
            s,
            r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{BOX_H}" rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="1.2"{dash}/><text x="{:.1}" y="{:.1}" fill="#111827">{}</text></g>"##,
            escape(&tip),
            p.x,
            p.y,
            p.w,
            p.x + PAD,
            p.y + BOX_H / 2.0 + 4.0,
            escape(&labels[v])
        );
    }
    s.push_str("</svg>\n");
    s
}

fn colors(kind: NodeKind) -> (&'static str, &'static str) {
    match kind {
        NodeKind::ImageStreamTag => ("#dbeafe", "#1d4ed8"),
        NodeKind::BuildConfig => ("#fef3c7", "#b45309"),
        NodeKind::DockerImage | NodeKind::ImageStreamImage => ("#f3f4f6", "#6b7280"),
        _ => ("#dcfce7", "#15803d"),
    }
}

fn legend(s: &mut String, width: f64) {
    let items = [
        ("tag", NodeKind::ImageStreamTag),
        ("build", NodeKind::BuildConfig),
        ("workload", NodeKind::DeploymentConfig),
        ("external", NodeKind::DockerImage),
    ];
    let mut x = width - MARGIN - 400.0;
    for (name, kind) in items {
        let (fill, stroke) = colors(kind);
        let _ = writeln!(
            s,
            r##"<rect x="{x:.1}" y="12" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/><text x="{:.1}" y="24" fill="#374151">{name}</text>"##,
            x + 18.0
        );
        x += 18.0 + name.len() as f64 * CHAR_W + 16.0;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{x:.1}" y1="19" x2="{:.1}" y2="19" stroke="#4b5563" stroke-dasharray="5,4"/><text x="{:.1}" y="24" fill="#374151">held</text>"##,
        x + 24.0,
        x + 28.0
    );
}
