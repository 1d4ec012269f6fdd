//! Image triggers as a graph: what a changed ImageStreamTag rebuilds and rolls out, in which
//! order, and the cycles OpenShift would loop on forever.
//!
//! ```text
//! dockerimage/centos@sha256:…  ──import──▶  istag/centos:7
//! istag/centos:7          ──ImageChange──▶  bc/httpd-base  ──output──▶  istag/httpd-base:latest
//! istag/httpd-base:latest ──ImageChange──▶  bc/app-a       ──output──▶  istag/app-a:latest ──▶ dc/app-a
//! ```
//!
//! - [`graph`] reads the graph out of objects ([`Graph::from_set`], [`GraphBuilder`] for a set
//!   plus live objects): ImageStreams (spec tags, aliases, tag history), BuildConfig
//!   `ImageChange` triggers and outputs, DeploymentConfig `ImageChange` triggers and the
//!   `image.openshift.io/triggers` annotation of Deployments, StatefulSets, DaemonSets and
//!   CronJobs. Bad triggers are [`Warning`]s naming the object.
//! - [`check`] refuses a rendered set whose builds feed their own input, directly or through
//!   a chain ([`CycleError`] spells the cycle out). OpenShift has no such check and rebuilds
//!   forever (`openshift-semantics.md` §14). Every render of an app runs it.
//! - [`plan`] answers "this tag changed: which builds run, in which order, which workloads
//!   roll out" ([`CascadePlan`]). One build per BuildConfig however many of its triggers
//!   fire, as OpenShift folds firing triggers into one build request.
//! - [`output`] prints a graph as a tree (like `oc adm build-chain`), Graphviz DOT or JSON,
//!   and a plan as text or JSON; [`svg`] draws a graph as a picture.
//!
//! Dry runs of `kascade tag` and `kascade start-build` plan with this module:
//!
//! ```no_run
//! use kascade::resource::ResourceSet;
//! use kascade::triggers::{self, GraphBuilder, output};
//! # fn live_objects() -> Vec<serde_json::Value> { Vec::new() }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut b = GraphBuilder::new("lab");          // namespace for objects naming none
//! for object in live_objects() {                 // Cluster::list of the kinds in `KINDS`
//!     b.add(&object, true);
//! }
//! let graph = b.finish();
//! let changed = graph.resolve("lab/httpd-base:latest", None)?; // or "bc/app-a" for start-build
//! let plan = triggers::plan(&graph, &[changed])?;
//! print!("{}", output::plan_text(&graph, &plan));
//! for b in &plan.builds {
//!     let bc = graph.node(b.build);              // kind, namespace, name
//!     println!("stage {}: {}", b.stage, bc.name);
//! }
//! # Ok(()) }
//! ```

pub mod graph;
pub mod output;
pub mod svg;

use std::collections::VecDeque;
use std::fmt;

pub use graph::{
    Edge, EdgeKind, Graph, GraphBuilder, Node, NodeId, NodeKind, TRIGGERS_ANNOTATION, Warning,
};

use crate::resource::ResourceSet;

/// The (group, kind) pairs a trigger graph reads, legacy group-less spellings included:
/// what to list from a live cluster.
pub const KINDS: &[(&str, &str)] = &[
    ("image.openshift.io", "ImageStream"),
    ("", "ImageStream"),
    ("build.openshift.io", "BuildConfig"),
    ("", "BuildConfig"),
    ("apps.openshift.io", "DeploymentConfig"),
    ("", "DeploymentConfig"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "CronJob"),
];

/// Builds whose output feeds their own input: each cycle as the labels of its nodes, first
/// and last the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CycleError {
    /// Each cycle, `[imagestreamtag/app:latest, buildconfig/app, imagestreamtag/app:latest]`.
    pub cycles: Vec<Vec<String>>,
}

impl fmt::Display for CycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.cycles.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "cycle: {}", c.join(" → "))?;
        }
        Ok(())
    }
}

impl CycleError {
    fn of(graph: &Graph, cycles: &[Vec<NodeId>]) -> Self {
        let cycles = cycles
            .iter()
            .map(|c| {
                let first = graph.node(c[0]).namespace.as_str();
                let one_ns = c.iter().all(|&id| graph.node(id).namespace == first);
                let mut names: Vec<String> = c
                    .iter()
                    .map(|&id| {
                        let n = graph.node(id);
                        if one_ns || n.namespace.is_empty() {
                            n.label()
                        } else {
                            format!("{} (namespace {})", n.label(), n.namespace)
                        }
                    })
                    .collect();
                if one_ns
                    && !first.is_empty()
                    && let Some(last) = names.last_mut()
                {
                    last.push_str(&format!(" in namespace {first}"));
                }
                names
            })
            .collect();
        CycleError { cycles }
    }
}

/// Refuses a rendered set whose builds would trigger themselves, directly or through a
/// chain. Malformed triggers are logged as warnings naming the object and do not fail the
/// check; references to streams outside the set are not warned about here (they may live in
/// another app or the cluster).
pub fn check(set: &ResourceSet) -> Result<(), CycleError> {
    let graph = Graph::from_set(set);
    for w in graph.warnings().iter().filter(|w| w.malformed) {
        tracing::warn!("{w}");
    }
    check_graph(&graph)
}

/// Refuses a graph with a cycle of firing edges (see [`check`]).
pub fn check_graph(graph: &Graph) -> Result<(), CycleError> {
    let cycles = cycles(graph);
    if cycles.is_empty() {
        Ok(())
    } else {
        Err(CycleError::of(graph, &cycles))
    }
}

/// Every cycle of firing edges, one per strongly connected component: the shortest cycle
/// through the component's first tag (or first node), as `[a, b, …, a]`. Deterministic.
pub fn cycles(graph: &Graph) -> Vec<Vec<NodeId>> {
    let n = graph.len();
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut counter = 0;
    let mut components: Vec<Vec<usize>> = Vec::new();
    let firing: Vec<Vec<usize>> = (0..n)
        .map(|v| {
            graph
                .outgoing(NodeId(v))
                .filter(|e| e.fires)
                .map(|e| e.to.0)
                .collect()
        })
        .collect();
    for start in 0..n {
        if index[start] != UNSEEN {
            continue;
        }
        // Iterative Tarjan: (node, next edge position).
        let mut call: Vec<(usize, usize)> = vec![(start, 0)];
        index[start] = counter;
        low[start] = counter;
        counter += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(top) = call.len().checked_sub(1) {
            let (v, pos) = call[top];
            if pos < firing[v].len() {
                call[top].1 += 1;
                let w = firing[v][pos];
                if index[w] == UNSEEN {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 || firing[v].contains(&v) {
                    comp.sort_unstable();
                    components.push(comp);
                }
            }
        }
    }
    components.sort();
    components
        .iter()
        .map(|comp| shortest_cycle(graph, comp, &firing))
        .collect()
}

fn shortest_cycle(graph: &Graph, comp: &[usize], firing: &[Vec<usize>]) -> Vec<NodeId> {
    let start = comp
        .iter()
        .copied()
        .find(|&v| graph.node(NodeId(v)).kind == NodeKind::ImageStreamTag)
        .unwrap_or(comp[0]);
    let mut parent: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut end = None;
    'bfs: while let Some(v) = queue.pop_front() {
        for &w in &firing[v] {
            if w == start {
                end = Some(v);
                break 'bfs;
            }
            if comp.binary_search(&w).is_ok() && !parent.contains_key(&w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut path = vec![NodeId(start)];
    let mut v = end.unwrap_or(start);
    let mut back = Vec::new();
    while v != start {
        back.push(NodeId(v));
        v = parent.get(&v).copied().unwrap_or(start);
    }
    back.reverse();
    path.extend(back);
    path.push(NodeId(start));
    path
}

/// One build of a cascade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBuild {
    /// The BuildConfig.
    pub build: NodeId,
    /// 1 for builds only changed tags start, n+1 for builds that wait for a stage-n build.
    /// Builds of one stage do not depend on each other.
    pub stage: usize,
    /// The changed tags whose ImageChange triggers fire it (empty when the BuildConfig itself
    /// was the change, as with `start-build`). However many fire: one build.
    pub triggered_by: Vec<NodeId>,
    /// The tags it pushes.
    pub outputs: Vec<NodeId>,
}

/// One rollout of a cascade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRollout {
    /// The DeploymentConfig or annotated workload.
    pub workload: NodeId,
    /// The stage of the last build it waits for (0: none).
    pub stage: usize,
    /// The tags whose triggers roll it out; however many: one rollout.
    pub triggered_by: Vec<NodeId>,
    /// The builds that push those tags.
    pub after: Vec<NodeId>,
}

/// A node the cascade reaches but does not fire: a paused trigger, `automatic: false`, a
/// cross-stream reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The node not triggered.
    pub node: NodeId,
    /// The tag whose change stops there.
    pub by: NodeId,
    /// Why (`paused`, `automatic: false`, …).
    pub note: String,
}

/// What a change of some nodes sets off, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CascadePlan {
    /// The nodes that changed, sorted.
    pub changed: Vec<NodeId>,
    /// Builds, in an order that runs each after every build it depends on (by stage, then
    /// by kind/namespace/name); each BuildConfig once.
    pub builds: Vec<PlannedBuild>,
    /// Workloads that roll out, each once, by stage then name.
    pub rollouts: Vec<PlannedRollout>,
    /// Tags that move (the changed ones included), in order.
    pub tags: Vec<NodeId>,
    /// What is reached but not triggered.
    pub held: Vec<Held>,
}

/// Plans what a change of `changed` (tags, or BuildConfigs started by hand, or external
/// images re-imported) sets off. Deterministic: the same graph and changes give the same
/// plan. A cycle among the reached nodes is an error.
pub fn plan(graph: &Graph, changed: &[NodeId]) -> Result<CascadePlan, CycleError> {
    let n = graph.len();
    let mut reached = vec![false; n];
    let mut stack: Vec<NodeId> = changed.iter().copied().filter(|c| c.0 < n).collect();
    let mut order_seen = Vec::new();
    while let Some(v) = stack.pop() {
        if std::mem::replace(&mut reached[v.0], true) {
            continue;
        }
        order_seen.push(v);
        stack.extend(graph.outgoing(v).filter(|e| e.fires).map(|e| e.to));
    }
    // Kahn over the reached subgraph; depth = builds on the longest path before a node.
    let mut indeg = vec![0usize; n];
    for &v in &order_seen {
        for e in graph.outgoing(v).filter(|e| e.fires) {
            indeg[e.to.0] += 1;
        }
    }
    let mut depth = vec![0usize; n];
    let mut ready: VecDeque<NodeId> = order_seen
        .iter()
        .copied()
        .filter(|v| indeg[v.0] == 0)
        .collect();
    let mut done = 0;
    while let Some(v) = ready.pop_front() {
        done += 1;
        let step = usize::from(graph.node(v).kind == NodeKind::BuildConfig);
        for e in graph.outgoing(v).filter(|e| e.fires) {
            let w = e.to.0;
            depth[w] = depth[w].max(depth[v.0] + step);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                ready.push_back(e.to);
            }
        }
    }
    if done < order_seen.len() {
        let cycles: Vec<Vec<NodeId>> = cycles(graph)
            .into_iter()
            .filter(|c| c.iter().any(|id| reached[id.0]))
            .collect();
        return Err(CycleError::of(graph, &cycles));
    }
    let mut changed_sorted: Vec<NodeId> = changed.iter().copied().filter(|c| c.0 < n).collect();
    changed_sorted.sort_unstable();
    changed_sorted.dedup();
    let is_changed = |id: NodeId| changed_sorted.binary_search(&id).is_ok();
    let mut plan = CascadePlan {
        changed: changed_sorted.clone(),
        ..CascadePlan::default()
    };
    let mut reached_sorted = order_seen.clone();
    reached_sorted.sort_unstable();
    for &v in &reached_sorted {
        let node = graph.node(v);
        let firing_in: Vec<NodeId> = graph
            .incoming(v)
            .filter(|e| e.fires && reached[e.from.0])
            .map(|e| e.from)
            .collect();
        match node.kind {
            NodeKind::BuildConfig => plan.builds.push(PlannedBuild {
                build: v,
                stage: depth[v.0] + 1,
                triggered_by: firing_in,
                outputs: graph
                    .outgoing(v)
                    .filter(|e| e.kind == EdgeKind::Output)
                    .map(|e| e.to)
                    .collect(),
            }),
            k if k.is_workload() => {
                let mut after = Vec::new();
                for &t in &firing_in {
                    producers(graph, t, &reached, &mut after);
                }
                after.sort_unstable();
                after.dedup();
                plan.rollouts.push(PlannedRollout {
                    workload: v,
                    stage: depth[v.0],
                    triggered_by: firing_in,
                    after,
                });
            }
            NodeKind::ImageStreamTag => plan.tags.push(v),
            _ => {}
        }
        for e in graph.outgoing(v).filter(|e| !e.fires) {
            if !reached[e.to.0] && !is_changed(e.to) {
                plan.held.push(Held {
                    node: e.to,
                    by: v,
                    note: e.note.clone().unwrap_or_default(),
                });
            }
        }
    }
    plan.builds.sort_by_key(|b| (b.stage, b.build));
    plan.rollouts.sort_by_key(|r| (r.stage, r.workload));
    plan.tags.sort_by_key(|&t| (depth[t.0], t));
    plan.held.sort_by_key(|h| (h.node, h.by));
    plan.held.dedup_by_key(|h| h.node);
    Ok(plan)
}

/// The reached builds that push `tag`, directly or through tags it tracks.
fn producers(graph: &Graph, tag: NodeId, reached: &[bool], out: &mut Vec<NodeId>) {
    let mut stack = vec![tag];
    let mut seen = std::collections::HashSet::new();
    while let Some(t) = stack.pop() {
        if !seen.insert(t) {
            continue;
        }
        for e in graph.incoming(t).filter(|e| e.fires && reached[e.from.0]) {
            match e.kind {
                EdgeKind::Output => out.push(e.from),
                EdgeKind::Alias => stack.push(e.from),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
