//! The trigger graph: which ImageStreamTag fires which build or rollout, read from objects.
//!
//! Nodes are ImageStreamTags (`stream:tag`, namespace-qualified), BuildConfigs,
//! DeploymentConfigs, workloads carrying the `image.openshift.io/triggers` annotation
//! (Deployments, StatefulSets, DaemonSets, CronJobs) and the external images tags are imported
//! from. Edges say why they exist (`spec.triggers[2]`, `spec.output.to`, …) and whether a
//! change at their source propagates ([`Edge::fires`]): paused triggers, DeploymentConfig
//! triggers with `automatic: false` and cross-stream tag references are drawn but never fire
//! (semantics: `openshift-semantics.md` §10–§13).
//!
//! Objects that name no namespace get the builder's default namespace, and a `from` without
//! a namespace means the namespace of the object that carries it. Malformed triggers are
//! [`Warning`]s naming the object; they never stop the rest of the graph.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::resource::{ResourceKey, ResourceSet, gvk};

/// The annotation Kubernetes workloads carry their image triggers in.
pub const TRIGGERS_ANNOTATION: &str = "image.openshift.io/triggers";

/// The largest trigger annotation read (the API server's limit for all annotations together).
const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

/// The index of a node in a [`Graph`]. Nodes are sorted by kind, namespace and name, so
/// comparing ids compares nodes in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// What a node stands for. The order of the variants is the order nodes are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeKind {
    /// `stream:tag` of an ImageStream.
    ImageStreamTag,
    /// A BuildConfig.
    BuildConfig,
    /// A DeploymentConfig.
    DeploymentConfig,
    /// An `apps/v1` Deployment with the triggers annotation.
    Deployment,
    /// An `apps/v1` StatefulSet with the triggers annotation.
    StatefulSet,
    /// An `apps/v1` DaemonSet with the triggers annotation.
    DaemonSet,
    /// A `batch/v1` CronJob with the triggers annotation.
    CronJob,
    /// An image outside any stream (`from.kind: DockerImage`): a root.
    DockerImage,
    /// An image pinned by digest in a stream (`from.kind: ImageStreamImage`, `stream@id`).
    ImageStreamImage,
}

impl NodeKind {
    /// The resource name (`imagestreamtag`, `buildconfig`, …) used in messages.
    pub fn resource(self) -> &'static str {
        match self {
            NodeKind::ImageStreamTag => "imagestreamtag",
            NodeKind::BuildConfig => "buildconfig",
            NodeKind::DeploymentConfig => "deploymentconfig",
            NodeKind::Deployment => "deployment",
            NodeKind::StatefulSet => "statefulset",
            NodeKind::DaemonSet => "daemonset",
            NodeKind::CronJob => "cronjob",
            NodeKind::DockerImage => "dockerimage",
            NodeKind::ImageStreamImage => "imagestreamimage",
        }
    }

    /// The short name `oc` prints (`istag`, `bc`, `dc`, …).
    pub fn short(self) -> &'static str {
        match self {
            NodeKind::ImageStreamTag => "istag",
            NodeKind::BuildConfig => "bc",
            NodeKind::DeploymentConfig => "dc",
            NodeKind::Deployment => "deployment",
            NodeKind::StatefulSet => "statefulset",
            NodeKind::DaemonSet => "daemonset",
            NodeKind::CronJob => "cronjob",
            NodeKind::DockerImage => "dockerimage",
            NodeKind::ImageStreamImage => "isimage",
        }
    }

    /// The kind as the API writes it.
    pub fn api_kind(self) -> &'static str {
        match self {
            NodeKind::ImageStreamTag => "ImageStreamTag",
            NodeKind::BuildConfig => "BuildConfig",
            NodeKind::DeploymentConfig => "DeploymentConfig",
            NodeKind::Deployment => "Deployment",
            NodeKind::StatefulSet => "StatefulSet",
            NodeKind::DaemonSet => "DaemonSet",
            NodeKind::CronJob => "CronJob",
            NodeKind::DockerImage => "DockerImage",
            NodeKind::ImageStreamImage => "ImageStreamImage",
        }
    }

    /// Whether a change reaching this node rolls something out (a DeploymentConfig or an
    /// annotated workload).
    pub fn is_workload(self) -> bool {
        matches!(
            self,
            NodeKind::DeploymentConfig
                | NodeKind::Deployment
                | NodeKind::StatefulSet
                | NodeKind::DaemonSet
                | NodeKind::CronJob
        )
    }

    /// Whether this is an image outside the graph's streams (a root).
    pub fn is_external(self) -> bool {
        matches!(self, NodeKind::DockerImage | NodeKind::ImageStreamImage)
    }
}

/// Where a node's object was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    /// In the rendered resource set.
    pub set: bool,
    /// In the live cluster.
    pub live: bool,
}

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Its namespace (`""` for external images).
    pub namespace: String,
    /// `stream:tag` for tags, the pull spec for Docker images, `stream@id` for stream images,
    /// `metadata.name` for the rest.
    pub name: String,
    /// For a tag: its ImageStream is in neither the set nor the cluster.
    pub missing: bool,
    /// Where its object was found (for a tag: where its stream was).
    pub seen: Seen,
    /// For a tag: the image of its newest tag event (`status.tags[].items[0].image`).
    pub image: Option<String>,
    /// For a tag: the pull spec of its newest tag event (`dockerImageReference`).
    pub reference: Option<String>,
    /// For a tag: how many tag events its history holds.
    pub history: usize,
}

impl Node {
    /// `imagestreamtag/app:latest`: the long resource name, without namespace.
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind.resource(), self.name)
    }

    /// `istag/app:latest`: the short name `oc adm build-chain` prints.
    pub fn short_label(&self) -> String {
        format!("{}/{}", self.kind.short(), self.name)
    }

    /// [`short_label`](Node::short_label) with digests cut to 12 hex digits
    /// (`dockerimage/centos@sha256:be65f488b776…`), for pictures.
    pub fn brief_label(&self) -> String {
        let label = self.short_label();
        match label.split_once("@sha256:") {
            Some((head, hex)) if hex.len() > 12 => match hex.get(..12) {
                Some(cut) => format!("{head}@sha256:{cut}…"),
                None => label.clone(),
            },
            _ => label.clone(),
        }
    }

    /// `imagestreamtag/lab/app:latest` (namespace left out when empty): unique in a graph.
    pub fn id_string(&self) -> String {
        if self.namespace.is_empty() {
            self.label()
        } else {
            format!("{}/{}/{}", self.kind.resource(), self.namespace, self.name)
        }
    }
}

/// Why an edge exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// An external image imported into a tag (`spec.tags[].from` DockerImage or
    /// ImageStreamImage).
    Import,
    /// A tag whose spec tag references another tag (`spec.tags[].from` ImageStreamTag).
    Alias,
    /// A BuildConfig `ImageChange` trigger: the tag's change starts a build.
    ImageChange,
    /// A BuildConfig's `spec.output.to`: the build pushes the tag.
    Output,
    /// A DeploymentConfig `ImageChange` trigger or a triggers-annotation entry: the tag's
    /// change rolls the workload out.
    Rollout,
}

impl EdgeKind {
    /// A lower-case name for output (`imagechange`, `output`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Import => "import",
            EdgeKind::Alias => "alias",
            EdgeKind::ImageChange => "imagechange",
            EdgeKind::Output => "output",
            EdgeKind::Rollout => "rollout",
        }
    }
}

/// One edge: a change at `from` reaches `to` (when it [`fires`](Edge::fires)).
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The source.
    pub from: NodeId,
    /// The target.
    pub to: NodeId,
    /// What kind of link it is.
    pub kind: EdgeKind,
    /// The field it comes from (`spec.triggers[2] ImageChange (strategy from)`).
    pub why: String,
    /// Whether a change at `from` propagates to `to`.
    pub fires: bool,
    /// Why it does not fire (`paused`, `automatic: false`, …), when it does not.
    pub note: Option<String>,
}

/// A trigger kascade could not use, naming the object that carries it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// `buildconfig/app`, `deployment/web`, `imagestream/base`.
    pub object: String,
    /// The object's namespace (`""` when none).
    pub namespace: String,
    /// What is wrong.
    pub message: String,
    /// Whether the trigger itself is malformed (as opposed to naming something absent).
    pub malformed: bool,
    /// Whether the object was read from the live cluster (not from the rendered set).
    pub live: bool,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(
                f,
                "{} in namespace {}: {}",
                self.object, self.namespace, self.message
            )
        }
    }
}

/// The trigger graph of a set of objects. Build one with [`GraphBuilder`] or
/// [`Graph::from_set`].
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    out: Vec<Vec<usize>>,
    inc: Vec<Vec<usize>>,
    warnings: Vec<Warning>,
}

impl Graph {
    /// The graph of a rendered set; objects without a namespace are in `""`.
    pub fn from_set(set: &ResourceSet) -> Graph {
        let mut b = GraphBuilder::new("");
        b.add_set(set);
        b.finish()
    }

    /// Nodes, sorted by kind, namespace and name; `NodeId(i)` is `nodes()[i]`.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Edges, sorted by source, target and kind.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// One node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// How many nodes the graph has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Edges leaving a node, in target order.
    pub fn outgoing(&self, id: NodeId) -> impl Iterator<Item = &Edge> {
        self.out[id.0].iter().map(|&e| &self.edges[e])
    }

    /// Edges entering a node, in source order.
    pub fn incoming(&self, id: NodeId) -> impl Iterator<Item = &Edge> {
        self.inc[id.0].iter().map(|&e| &self.edges[e])
    }

    /// Bad triggers found while building, sorted.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The node of this kind, namespace and name.
    pub fn find(&self, kind: NodeKind, namespace: &str, name: &str) -> Option<NodeId> {
        self.nodes
            .binary_search_by(|n| {
                (n.kind, n.namespace.as_str(), n.name.as_str()).cmp(&(kind, namespace, name))
            })
            .ok()
            .map(NodeId)
    }

    /// Finds a node from what a user types: `[NS/]STREAM[:TAG]` for a tag (tag defaults to
    /// `latest`, as `oc adm build-chain` does), or `bc/NAME`, `dc/NAME`, `deployment/NAME`, …
    /// (`buildconfig/NS/NAME` with a namespace). Without a namespace, `default_namespace` is
    /// tried first, then any namespace holding exactly one match.
    pub fn resolve(&self, spec: &str, default_namespace: Option<&str>) -> Result<NodeId, String> {
        let (kind, rest) = match spec.split_once('/') {
            Some((k, rest)) if kind_of(k).is_some() => (kind_of(k), rest),
            _ => (None, spec),
        };
        let kind = kind.unwrap_or(NodeKind::ImageStreamTag);
        let (namespace, name) = match rest.split_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, rest),
        };
        let name = if kind == NodeKind::ImageStreamTag && !name.contains(':') {
            format!("{name}:latest")
        } else {
            name.to_string()
        };
        let shown = format!("{}/{name}", kind.resource());
        if let Some(ns) = namespace {
            return self
                .find(kind, ns, &name)
                .ok_or_else(|| format!("{shown} not found in namespace {ns:?} of the graph"));
        }
        if let Some(id) = default_namespace.and_then(|ns| self.find(kind, ns, &name)) {
            return Ok(id);
        }
        let matches: Vec<NodeId> = (0..self.nodes.len())
            .map(NodeId)
            .filter(|&id| {
                let n = self.node(id);
                n.kind == kind && n.name == name
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!("{shown} is not in the graph")),
            many => Err(format!(
                "{shown} is in several namespaces ({}); name one as NAMESPACE/{name}",
                many.iter()
                    .map(|&id| self.node(id).namespace.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The nodes reachable from `roots` (themselves included) over every edge, in id order.
    pub fn downstream(&self, roots: &[NodeId]) -> Vec<NodeId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeId> = roots.to_vec();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n.0], true) {
                continue;
            }
            stack.extend(self.outgoing(n).map(|e| e.to));
        }
        (0..self.nodes.len())
            .filter(|&i| seen[i])
            .map(NodeId)
            .collect()
    }

    /// The graph restricted to `keep` (and the edges between kept nodes); warnings are kept.
    pub fn subgraph(&self, keep: &[NodeId]) -> Graph {
        let mut b = Assembler::default();
        let mut map = HashMap::new();
        for &id in keep {
            let n = self.node(id).clone();
            map.insert(id, b.push(n));
        }
        for e in &self.edges {
            if let (Some(&from), Some(&to)) = (map.get(&e.from), map.get(&e.to)) {
                b.edges.push(Edge {
                    from,
                    to,
                    ..e.clone()
                });
            }
        }
        b.finish(self.warnings.clone())
    }

    /// The namespaces of the graph's non-external nodes, sorted.
    pub fn namespaces(&self) -> BTreeSet<&str> {
        self.nodes
            .iter()
            .filter(|n| !n.kind.is_external())
            .map(|n| n.namespace.as_str())
            .collect()
    }
}

fn kind_of(word: &str) -> Option<NodeKind> {
    let k = match word.to_ascii_lowercase().as_str() {
        "istag" | "imagestreamtag" | "imagestreamtags" => NodeKind::ImageStreamTag,
        "bc" | "buildconfig" | "buildconfigs" => NodeKind::BuildConfig,
        "dc" | "deploymentconfig" | "deploymentconfigs" => NodeKind::DeploymentConfig,
        "deploy" | "deployment" | "deployments" => NodeKind::Deployment,
        "sts" | "statefulset" | "statefulsets" => NodeKind::StatefulSet,
        "ds" | "daemonset" | "daemonsets" => NodeKind::DaemonSet,
        "cj" | "cronjob" | "cronjobs" => NodeKind::CronJob,
        _ => return None,
    };
    Some(k)
}

/// Nodes and edges before sorting.
#[derive(Default)]
struct Assembler {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

impl Assembler {
    fn push(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        NodeId(self.nodes.len() - 1)
    }

    /// Sorts nodes by (kind, namespace, name), renumbers edges, drops duplicate edges and
    /// builds the adjacency lists.
    fn finish(self, mut warnings: Vec<Warning>) -> Graph {
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&self.nodes[a], &self.nodes[b]);
            (x.kind, &x.namespace, &x.name).cmp(&(y.kind, &y.namespace, &y.name))
        });
        let mut new_id = vec![0; self.nodes.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = new;
        }
        let mut slots: Vec<Option<Node>> = self.nodes.into_iter().map(Some).collect();
        let nodes: Vec<Node> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let mut edges: Vec<Edge> = self
            .edges
            .into_iter()
            .map(|e| Edge {
                from: NodeId(new_id[e.from.0]),
                to: NodeId(new_id[e.to.0]),
                ..e
            })
            .collect();
        edges.sort_by_key(|e| (e.from, e.to, e.kind));
        // One edge per (from, to, kind); a firing one wins over a non-firing one.
        let mut deduped: Vec<Edge> = Vec::with_capacity(edges.len());
        for e in edges {
            match deduped.last_mut() {
                Some(last) if (last.from, last.to, last.kind) == (e.from, e.to, e.kind) => {
                    if e.fires && !last.fires {
                        *last = e;
                    }
                }
                _ => deduped.push(e),
            }
        }
        let mut out = vec![Vec::new(); nodes.len()];
        let mut inc = vec![Vec::new(); nodes.len()];
        for (i, e) in deduped.iter().enumerate() {
            out[e.from.0].push(i);
            inc[e.to.0].push(i);
        }
        warnings.sort();
        warnings.dedup();
        Graph {
            nodes,
            edges: deduped,
            out,
            inc,
            warnings,
        }
    }
}

/// A tag, trigger or output naming a stream: checked against the known streams at the end.
struct StreamRef {
    live: bool,
    object: String,
    namespace: String,
    what: String,
    node: NodeId,
}

/// Builds a [`Graph`] from rendered objects and, optionally, live ones.
///
/// Add the rendered set first, then live objects: a live object whose key the set already
/// has only contributes its tag history (ImageStreams), so the graph is the desired state
/// annotated with what the cluster has seen.
pub struct GraphBuilder {
    default_namespace: String,
    asm: Assembler,
    /// Nodes by [`node_key`], looked up without allocating.
    index: HashMap<String, NodeId>,
    key_buf: String,
    streams: HashMap<(String, String), Seen>,
    /// `group\0kind\0namespace\0name` of every object added.
    keys: HashSet<String>,
    refs: Vec<StreamRef>,
    warnings: Vec<Warning>,
}

/// The object being read, for warnings and namespaces.
struct Ctx<'a> {
    object: String,
    namespace: &'a str,
    seen: Seen,
}

impl Ctx<'_> {
    fn warn(&self, message: String) -> Warning {
        Warning {
            object: self.object.clone(),
            namespace: self.namespace.to_string(),
            message,
            malformed: true,
            live: self.seen.live,
        }
    }
}

impl GraphBuilder {
    /// A builder giving objects without a namespace `default_namespace`.
    pub fn new(default_namespace: &str) -> Self {
        GraphBuilder {
            default_namespace: default_namespace.to_string(),
            asm: Assembler::default(),
            index: HashMap::new(),
            key_buf: String::new(),
            streams: HashMap::new(),
            keys: HashSet::new(),
            refs: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Sets the namespace for objects that name none from now on (one app after another).
    pub fn set_default_namespace(&mut self, namespace: &str) {
        self.default_namespace = namespace.to_string();
    }

    /// Adds every object of a rendered set.
    pub fn add_set(&mut self, set: &ResourceSet) {
        for o in set.objects() {
            self.add(o, false);
        }
    }

    /// Adds one object (`live`: read from the cluster rather than rendered). Objects that are
    /// not ImageStreams, BuildConfigs, DeploymentConfigs or annotated workloads are ignored.
    pub fn add(&mut self, object: &Value, live: bool) {
        // Most objects of a set are not about triggers: look at the kind before anything else.
        let relevant = object.get("kind").and_then(Value::as_str).is_some_and(|k| {
            matches!(
                k,
                "ImageStream"
                    | "BuildConfig"
                    | "DeploymentConfig"
                    | "Deployment"
                    | "StatefulSet"
                    | "DaemonSet"
                    | "CronJob"
            )
        });
        if !relevant {
            return;
        }
        let Ok(mut key) = ResourceKey::of(object) else {
            return;
        };
        if key.group.is_empty()
            && let Some(g) = gvk::legacy_group(&key.kind)
        {
            key.group = g.to_string();
        }
        if key.namespace.is_empty() {
            key.namespace = self.default_namespace.clone();
        }
        let seen = Seen { set: !live, live };
        self.key_buf.clear();
        for part in [&key.group, &key.kind, &key.namespace] {
            self.key_buf.push_str(part);
            self.key_buf.push('\0');
        }
        self.key_buf.push_str(&key.name);
        let duplicate = self.keys.contains(self.key_buf.as_str());
        if !duplicate {
            self.keys.insert(self.key_buf.clone());
        }
        let ctx = Ctx {
            object: format!("{}/{}", key.kind.to_ascii_lowercase(), key.name),
            namespace: &key.namespace,
            seen,
        };
        match (key.group.as_str(), key.kind.as_str()) {
            ("image.openshift.io", "ImageStream") => {
                self.image_stream(object, &key, &ctx, duplicate)
            }
            _ if duplicate => {
                // Already added from the set: mark it seen live, keep the desired spec.
                if let Some(kind) = node_kind(&key)
                    && let Some(id) = self.lookup(kind, &key.namespace, &key.name)
                {
                    self.asm.nodes[id.0].seen.live |= live;
                }
            }
            ("build.openshift.io", "BuildConfig") => self.build_config(object, &key, &ctx),
            ("apps.openshift.io", "DeploymentConfig") => self.deployment_config(object, &key, &ctx),
            ("apps", "Deployment" | "StatefulSet" | "DaemonSet") => {
                self.annotated(object, &key, &ctx, &["spec", "template", "spec"])
            }
            ("batch", "CronJob") => self.annotated(
                object,
                &key,
                &ctx,
                &["spec", "jobTemplate", "spec", "template", "spec"],
            ),
            _ => {}
        }
    }

    fn lookup(&mut self, kind: NodeKind, namespace: &str, name: &str) -> Option<NodeId> {
        node_key(&mut self.key_buf, kind, namespace, name);
        self.index.get(self.key_buf.as_str()).copied()
    }

    fn node(&mut self, kind: NodeKind, namespace: &str, name: &str) -> NodeId {
        if let Some(id) = self.lookup(kind, namespace, name) {
            return id;
        }
        let id = self.asm.push(Node {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            missing: false,
            seen: Seen::default(),
            image: None,
            reference: None,
            history: 0,
        });
        self.index.insert(self.key_buf.clone(), id);
        id
    }

    fn object_node(&mut self, kind: NodeKind, key: &ResourceKey, seen: Seen) -> NodeId {
        let id = self.node(kind, &key.namespace, &key.name);
        let s = &mut self.asm.nodes[id.0].seen;
        s.set |= seen.set;
        s.live |= seen.live;
        id
    }

    fn edge(&mut self, from: NodeId, to: NodeId, kind: EdgeKind, why: String, not: Option<&str>) {
        self.asm.edges.push(Edge {
            from,
            to,
            kind,
            why,
            fires: not.is_none(),
            note: not.map(str::to_string),
        });
    }

    /// The node of an ImageStreamTag a reference names, remembered for the missing-stream
    /// check.
    fn tag_ref(&mut self, ctx: &Ctx<'_>, namespace: &str, stream_tag: &str, what: &str) -> NodeId {
        let id = self.node(NodeKind::ImageStreamTag, namespace, stream_tag);
        self.refs.push(StreamRef {
            live: ctx.seen.live,
            object: ctx.object.clone(),
            namespace: ctx.namespace.to_string(),
            what: what.to_string(),
            node: id,
        });
        id
    }

    fn image_stream(&mut self, object: &Value, key: &ResourceKey, ctx: &Ctx<'_>, dup: bool) {
        let ns = key.namespace.clone();
        let stream = key.name.clone();
        let seen = self
            .streams
            .entry((ns.clone(), stream.clone()))
            .or_default();
        seen.set |= ctx.seen.set;
        seen.live |= ctx.seen.live;
        let spec_tags = at(object, &["spec", "tags"])
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if !dup {
            for (i, t) in spec_tags.iter().enumerate() {
                let Some(tag) = t
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                else {
                    self.warnings
                        .push(ctx.warn(format!("spec.tags[{i}] has no name")));
                    continue;
                };
                let id = self.node(NodeKind::ImageStreamTag, &ns, &format!("{stream}:{tag}"));
                self.mark(id, ctx.seen);
                let Some(from) = t.get("from").filter(|f| f.is_object()) else {
                    continue;
                };
                self.spec_tag_from(ctx, &ns, &stream, tag, i, from, id);
            }
        }
        let status_tags = at(object, &["status", "tags"])
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for t in status_tags {
            let Some(tag) = t
                .get("tag")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            else {
                continue;
            };
            let items = t.get("items").and_then(Value::as_array);
            let id = self.node(NodeKind::ImageStreamTag, &ns, &format!("{stream}:{tag}"));
            self.mark(id, ctx.seen);
            let n = &mut self.asm.nodes[id.0];
            n.history = items.map_or(0, Vec::len);
            let first = items.and_then(|i| i.first());
            n.image = first
                .and_then(|e| e.get("image"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            n.reference = first
                .and_then(|e| e.get("dockerImageReference"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
    }

    fn mark(&mut self, id: NodeId, seen: Seen) {
        let s = &mut self.asm.nodes[id.0].seen;
        s.set |= seen.set;
        s.live |= seen.live;
    }

    #[allow(clippy::too_many_arguments)]
    fn spec_tag_from(
        &mut self,
        ctx: &Ctx<'_>,
        ns: &str,
        stream: &str,
        tag: &str,
        i: usize,
        from: &Value,
        id: NodeId,
    ) {
        let kind = from.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = from.get("name").and_then(Value::as_str).unwrap_or("");
        let why = format!("spec.tags[{i}].from {kind}");
        if name.is_empty() {
            self.warnings.push(ctx.warn(format!(
                "spec tag {tag:?}: from {kind} has no name (spec.tags[{i}].from.name)"
            )));
            return;
        }
        let from_ns = from
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(ns);
        match kind {
            "DockerImage" => {
                let src = self.node(NodeKind::DockerImage, "", name);
                self.edge(src, id, EdgeKind::Import, why, None);
            }
            "ImageStreamImage" => {
                if !name.contains('@') {
                    self.warnings.push(ctx.warn(format!(
                        "spec tag {tag:?}: ImageStreamImage {name:?} is not in the form <stream>@<id>"
                    )));
                    return;
                }
                let src = self.node(NodeKind::ImageStreamImage, from_ns, name);
                self.edge(src, id, EdgeKind::Import, why, None);
            }
            "ImageStreamTag" => {
                let full = if name.contains(':') {
                    name.to_string()
                } else {
                    format!("{stream}:{name}")
                };
                let same_stream = from_ns == ns && full.split(':').next() == Some(stream);
                let src = self.tag_ref(ctx, from_ns, &full, &format!("spec tag {tag:?}"));
                if src == id {
                    self.warnings
                        .push(ctx.warn(format!("spec tag {tag:?} references itself")));
                    return;
                }
                let note = if same_stream {
                    None
                } else {
                    Some("another stream's tag: resolved once, not tracked")
                };
                self.edge(src, id, EdgeKind::Alias, why, note);
            }
            other => self.warnings.push(ctx.warn(format!(
                "spec tag {tag:?}: invalid from.kind {other:?} (DockerImage, ImageStreamTag or ImageStreamImage)"
            ))),
        }
    }

    fn build_config(&mut self, object: &Value, key: &ResourceKey, ctx: &Ctx<'_>) {
        let bc = self.object_node(NodeKind::BuildConfig, key, ctx.seen);
        let ns = key.namespace.as_str();
        let strategy_from = ["dockerStrategy", "sourceStrategy", "customStrategy"]
            .iter()
            .find_map(|s| at(object, &["spec", "strategy", s, "from"]).filter(|f| f.is_object()));
        let triggers = at(object, &["spec", "triggers"])
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let mut inputs: Vec<NodeId> = Vec::new();
        for (i, t) in triggers.iter().enumerate() {
            let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
            if !ty.eq_ignore_ascii_case("ImageChange") {
                continue;
            }
            let ic = t.get("imageChange").or_else(|| t.get("imagechange"));
            let explicit = ic.and_then(|c| c.get("from")).filter(|f| f.is_object());
            let (from, why) = match (explicit, strategy_from) {
                (Some(f), _) => (f, format!("spec.triggers[{i}] ImageChange")),
                (None, Some(f)) => (f, format!("spec.triggers[{i}] ImageChange (strategy from)")),
                (None, None) => {
                    self.warnings.push(ctx.warn(format!(
                        "spec.triggers[{i}]: a default ImageChange trigger can only be used when the build strategy includes an ImageStreamTag reference"
                    )));
                    continue;
                }
            };
            let kind = from.get("kind").and_then(Value::as_str).unwrap_or("");
            let name = from.get("name").and_then(Value::as_str).unwrap_or("");
            if kind != "ImageStreamTag" {
                let msg = if explicit.is_some() {
                    format!(
                        "spec.triggers[{i}]: only an ImageStreamTag type of reference is allowed in an ImageChange trigger (from.kind is {kind:?})"
                    )
                } else {
                    format!(
                        "spec.triggers[{i}]: a default ImageChange trigger can only be used when the build strategy includes an ImageStreamTag reference (strategy from.kind is {kind:?})"
                    )
                };
                self.warnings.push(ctx.warn(msg));
                continue;
            }
            if !valid_stream_tag(name) {
                self.warnings.push(ctx.warn(format!(
                    "spec.triggers[{i}]: ImageChange from {name:?} is not in the form <stream>:<tag>"
                )));
                continue;
            }
            let from_ns = namespace_of(from, ns);
            let ist = self.tag_ref(
                ctx,
                from_ns,
                name,
                &format!("ImageChange trigger spec.triggers[{i}]"),
            );
            if inputs.contains(&ist) {
                self.warnings.push(ctx.warn(format!(
                    "spec.triggers[{i}]: multiple ImageChange triggers refer to the same image stream tag {name}"
                )));
                continue;
            }
            inputs.push(ist);
            let paused = ic
                .and_then(|c| c.get("paused"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            self.edge(
                ist,
                bc,
                EdgeKind::ImageChange,
                why,
                paused.then_some("paused"),
            );
        }
        let Some(to) = at(object, &["spec", "output", "to"]).filter(|t| t.is_object()) else {
            return;
        };
        let kind = to.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = to.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            self.warnings
                .push(ctx.warn("spec.output.to has no name".to_string()));
            return;
        }
        match kind {
            "ImageStreamTag" => {
                let name = if name.contains(':') {
                    name.to_string()
                } else {
                    format!("{name}:latest")
                };
                if !valid_stream_tag(&name) {
                    self.warnings.push(ctx.warn(format!(
                        "spec.output.to {name:?} is not in the form <stream>:<tag>"
                    )));
                    return;
                }
                let ist = self.tag_ref(ctx, namespace_of(to, ns), &name, "output spec.output.to");
                self.edge(bc, ist, EdgeKind::Output, "spec.output.to".into(), None);
            }
            "DockerImage" => {
                let img = self.node(NodeKind::DockerImage, "", name);
                self.edge(bc, img, EdgeKind::Output, "spec.output.to".into(), None);
            }
            other => self.warnings.push(ctx.warn(format!(
                "the target of build output must be an 'ImageStreamTag' or 'DockerImage' (spec.output.to.kind is {other:?})"
            ))),
        }
    }

    fn deployment_config(&mut self, object: &Value, key: &ResourceKey, ctx: &Ctx<'_>) {
        let triggers = at(object, &["spec", "triggers"])
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let ns = key.namespace.as_str();
        let mut dc = None;
        for (i, t) in triggers.iter().enumerate() {
            let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
            if !ty.eq_ignore_ascii_case("ImageChange") {
                continue;
            }
            let Some(p) = t.get("imageChangeParams").filter(|p| p.is_object()) else {
                self.warnings.push(ctx.warn(format!(
                    "spec.triggers[{i}]: ImageChange trigger has no imageChangeParams"
                )));
                continue;
            };
            let from = p.get("from").filter(|f| f.is_object());
            let kind = from
                .and_then(|f| f.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let raw = from
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = match kind {
                // v1 conversion: kind ImageStream means name:latest.
                "ImageStream" if !raw.is_empty() && !raw.contains(':') => format!("{raw}:latest"),
                "ImageStreamTag" | "ImageStream" => raw.to_string(),
                other => {
                    self.warnings.push(ctx.warn(format!(
                        "spec.triggers[{i}].imageChangeParams.from.kind {other:?} must be ImageStreamTag"
                    )));
                    continue;
                }
            };
            if !valid_stream_tag(&name) {
                self.warnings.push(ctx.warn(format!(
                    "spec.triggers[{i}].imageChangeParams.from.name {raw:?} must be in the form of <name>:<tag>"
                )));
                continue;
            }
            let names = p
                .get("containerNames")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if names == 0 {
                self.warnings.push(ctx.warn(format!(
                    "spec.triggers[{i}].imageChangeParams.containerNames: Required value"
                )));
                continue;
            }
            let automatic = p.get("automatic").and_then(Value::as_bool).unwrap_or(false);
            let id = *dc
                .get_or_insert_with(|| self.object_node(NodeKind::DeploymentConfig, key, ctx.seen));
            let ist = self.tag_ref(
                ctx,
                namespace_of(from.unwrap_or(&Value::Null), ns),
                &name,
                &format!("ImageChange trigger spec.triggers[{i}]"),
            );
            self.edge(
                ist,
                id,
                EdgeKind::Rollout,
                format!("spec.triggers[{i}] ImageChange"),
                (!automatic).then_some("automatic: false"),
            );
        }
    }

    fn annotated(&mut self, object: &Value, key: &ResourceKey, ctx: &Ctx<'_>, prefix: &[&str]) {
        let Some(text) = at(object, &["metadata", "annotations"])
            .and_then(|a| a.get(TRIGGERS_ANNOTATION))
            .and_then(Value::as_str)
        else {
            return;
        };
        let Some(kind) = node_kind(key) else {
            return;
        };
        if text.len() > MAX_ANNOTATION_BYTES {
            self.warnings.push(ctx.warn(format!(
                "annotation {TRIGGERS_ANNOTATION} is larger than {MAX_ANNOTATION_BYTES} bytes"
            )));
            return;
        }
        let entries = match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(entries)) => entries,
            Ok(_) => {
                self.warnings.push(ctx.warn(format!(
                    "annotation {TRIGGERS_ANNOTATION} is not a JSON array of triggers"
                )));
                return;
            }
            Err(e) => {
                self.warnings.push(ctx.warn(format!(
                    "annotation {TRIGGERS_ANNOTATION} is not valid JSON: {e}"
                )));
                return;
            }
        };
        let mut paths = HashSet::new();
        for e in &entries {
            if let Some(p) = e.get("fieldPath").and_then(Value::as_str)
                && !paths.insert(p)
            {
                self.warnings.push(ctx.warn(format!(
                    "annotation {TRIGGERS_ANNOTATION}: duplicate triggers are not allowed (fieldPath {p:?})"
                )));
                return;
            }
        }
        let pod_spec = at(object, prefix);
        let ns = key.namespace.as_str();
        let mut node = None;
        for (i, e) in entries.iter().enumerate() {
            let at = format!("annotation {TRIGGERS_ANNOTATION}[{i}]");
            let from = e.get("from").filter(|f| f.is_object());
            let kind_s = from
                .and_then(|f| f.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = from
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let api_version = from
                .and_then(|f| f.get("apiVersion"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if kind_s != "ImageStreamTag" || !api_version.is_empty() {
                self.warnings.push(ctx.warn(format!(
                    "{at}: from must be an ImageStreamTag without apiVersion (kind {kind_s:?}); it never fires"
                )));
                continue;
            }
            if !valid_stream_tag(name) {
                self.warnings.push(ctx.warn(format!(
                    "{at}: from.name {name:?} is not in the form <stream>:<tag>; it never resolves"
                )));
                continue;
            }
            let Some(path) = e.get("fieldPath").and_then(Value::as_str) else {
                self.warnings.push(ctx.warn(format!("{at}: no fieldPath")));
                continue;
            };
            match check_field_path(path, prefix, pod_spec) {
                FieldPath::Ok => {}
                FieldPath::Elsewhere => continue, // not under the pod spec: upstream skips it
                FieldPath::Invalid => {
                    self.warnings
                        .push(ctx.warn(format!("{at}: field path is not valid: {path}")));
                    continue;
                }
                FieldPath::NoContainer => {
                    self.warnings
                        .push(ctx.warn(format!("{at}: no such container: {path}")));
                    continue;
                }
            }
            let paused = e.get("paused").and_then(Value::as_bool).unwrap_or(false);
            let id = *node.get_or_insert_with(|| self.object_node(kind, key, ctx.seen));
            let ist = self.tag_ref(
                ctx,
                namespace_of(from.unwrap_or(&Value::Null), ns),
                name,
                &at,
            );
            self.edge(
                ist,
                id,
                EdgeKind::Rollout,
                format!("{at} {path}"),
                paused.then_some("paused"),
            );
        }
    }

    /// The graph, with a warning for every reference to a stream found in neither source.
    pub fn finish(mut self) -> Graph {
        for r in std::mem::take(&mut self.refs) {
            let n = &self.asm.nodes[r.node.0];
            let stream = n.name.split(':').next().unwrap_or("").to_string();
            if self
                .streams
                .contains_key(&(n.namespace.clone(), stream.clone()))
            {
                continue;
            }
            let where_ = if n.namespace == r.namespace || n.namespace.is_empty() {
                String::new()
            } else {
                format!(" in namespace {}", n.namespace)
            };
            let message = format!(
                "{} names {}, but image stream {stream:?}{where_} was not found",
                r.what,
                n.label()
            );
            self.asm.nodes[r.node.0].missing = true;
            self.warnings.push(Warning {
                object: r.object,
                namespace: r.namespace,
                message,
                malformed: false,
                live: r.live,
            });
        }
        for n in &mut self.asm.nodes {
            if n.kind == NodeKind::ImageStreamTag {
                let stream = n.name.split(':').next().unwrap_or("");
                if let Some(seen) = self.streams.get(&(n.namespace.clone(), stream.to_string())) {
                    n.seen.set |= seen.set;
                    n.seen.live |= seen.live;
                }
            }
        }
        self.asm.finish(self.warnings)
    }
}

/// The value at a path of object keys (`Value::pointer` without its allocations).
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// `<kind>\0<namespace>\0<name>` into `buf`: one string per node for the builder's index.
fn node_key(buf: &mut String, kind: NodeKind, namespace: &str, name: &str) {
    buf.clear();
    buf.push_str(kind.resource());
    buf.push('\0');
    buf.push_str(namespace);
    buf.push('\0');
    buf.push_str(name);
}

fn node_kind(key: &ResourceKey) -> Option<NodeKind> {
    let k = match (key.group.as_str(), key.kind.as_str()) {
        ("build.openshift.io", "BuildConfig") => NodeKind::BuildConfig,
        ("apps.openshift.io", "DeploymentConfig") => NodeKind::DeploymentConfig,
        ("apps", "Deployment") => NodeKind::Deployment,
        ("apps", "StatefulSet") => NodeKind::StatefulSet,
        ("apps", "DaemonSet") => NodeKind::DaemonSet,
        ("batch", "CronJob") => NodeKind::CronJob,
        _ => return None,
    };
    Some(k)
}

fn namespace_of<'a>(from: &'a Value, default: &'a str) -> &'a str {
    from.get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
}

/// `stream:tag` with both parts non-empty (library-go `SplitImageStreamTag`).
fn valid_stream_tag(name: &str) -> bool {
    matches!(name.split_once(':'), Some((s, t)) if !s.is_empty() && !t.is_empty() && !t.contains(':'))
}

enum FieldPath {
    Ok,
    Elsewhere,
    Invalid,
    NoContainer,
}

/// Checks `<prefix>.containers[<sel>].image` (or `initContainers`) against the pod spec
/// (library-go `ContainerForObjectFieldPath`).
fn check_field_path(path: &str, prefix: &[&str], pod_spec: Option<&Value>) -> FieldPath {
    let Some(rest) = path
        .strip_prefix(&prefix.join("."))
        .and_then(|r| r.strip_prefix('.'))
    else {
        return FieldPath::Elsewhere;
    };
    let Some((list, rest)) = rest.split_once('[') else {
        return FieldPath::Elsewhere;
    };
    if list != "containers" && list != "initContainers" {
        return FieldPath::Elsewhere;
    }
    let Some((sel, rest)) = rest.split_once(']') else {
        return FieldPath::Invalid;
    };
    if rest != ".image" {
        return FieldPath::Invalid;
    }
    let items = pod_spec
        .and_then(|p| p.get(list))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let found = if let Some(name) = sel
        .strip_prefix("?(@.name==\"")
        .and_then(|s| s.strip_suffix("\")"))
    {
        items
            .iter()
            .any(|c| c.get("name").and_then(Value::as_str) == Some(name))
    } else if let Ok(i) = sel.parse::<usize>() {
        i < items.len()
    } else {
        return FieldPath::Invalid;
    };
    if found {
        FieldPath::Ok
    } else {
        FieldPath::NoContainer
    }
}
