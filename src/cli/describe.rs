//! `kascade describe`: one object as readable text, in the shape of `kubectl describe` —
//! name, namespace, labels, annotations, kind-specific sections, and its recent entries in
//! the change feed as "Events".

use std::io::{self, Write};

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::objects;
use crate::cluster::{Cluster, EventType};
use crate::diff::INSTANCE_LABEL;
use crate::resource::print::{self, KindRef};
use crate::resource::{ResourceKey, base64, yaml};

pub const EXAMPLES: &str = "Examples:
  # A deployment config, with its triggers and recent changes
  kascade describe dc app-a -n lab

  # The same with kind/name, and a build config
  kascade describe bc/httpd-base -n lab

Named objects that do not exist are reported as `Error from server (NotFound): ...` (exit 1).";

/// Arguments of `kascade describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The kind and names: `KIND NAME...` or `KIND/NAME...`.
    #[arg(value_name = "KIND [NAME...]", required = true)]
    args: Vec<String>,
    /// The namespace [default: default].
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
}

/// Change-feed entries scanned back from the object's resourceVersion for its events.
const EVENT_WINDOW: u64 = 5_000;
/// Events shown per object.
const EVENTS_SHOWN: usize = 10;

/// Text in kubectl describe's layout: `Key:` fields aligned per block, nested by indent.
#[derive(Default)]
struct Doc {
    lines: Vec<Line>,
}

enum Line {
    Text(usize, String),
    Field(usize, String, String),
}

impl Doc {
    fn field(&mut self, indent: usize, key: &str, value: impl Into<String>) {
        self.lines
            .push(Line::Field(indent, format!("{key}:"), value.into()));
    }

    fn text(&mut self, indent: usize, text: impl Into<String>) {
        self.lines.push(Line::Text(indent, text.into()));
    }

    fn blank(&mut self) {
        self.lines.push(Line::Text(0, String::new()));
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < self.lines.len() {
            match &self.lines[i] {
                Line::Text(indent, t) => {
                    out.push_str(&"  ".repeat(*indent));
                    out.push_str(t);
                    out.push('\n');
                    i += 1;
                }
                Line::Field(indent, _, _) => {
                    // A block: consecutive fields at the same indent share one column.
                    let mut j = i;
                    let mut width = 0;
                    while let Some(Line::Field(ind, k, _)) = self.lines.get(j) {
                        if ind != indent {
                            break;
                        }
                        width = width.max(k.chars().count());
                        j += 1;
                    }
                    for line in &self.lines[i..j] {
                        if let Line::Field(ind, k, v) = line {
                            let pad = " ".repeat(ind * 2);
                            let mut values = v.split('\n');
                            let first = values.next().unwrap_or_default();
                            let gap = width + 2 - k.chars().count();
                            let row = format!("{pad}{k}{}{first}", " ".repeat(gap));
                            out.push_str(row.trim_end());
                            out.push('\n');
                            for rest in values {
                                let row = format!("{pad}{}{rest}", " ".repeat(width + 2));
                                out.push_str(row.trim_end());
                                out.push('\n');
                            }
                        }
                    }
                    i = j;
                }
            }
        }
        out
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    Some(cur)
}

fn text(v: &Value, path: &[&str]) -> String {
    match at(v, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn map_lines(v: Option<&Value>, sep: &str) -> String {
    let Some(Value::Object(m)) = v else {
        return "<none>".into();
    };
    let lines: Vec<String> = m
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}{sep}{s}"),
            other => format!("{k}{sep}{other}"),
        })
        .collect();
    or_none(lines.join("\n"))
}

fn selector(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return "<none>".into();
    };
    let parts: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    or_none(parts.join(","))
}

fn pod_template(doc: &mut Doc, template: Option<&Value>) {
    let Some(t) = template else { return };
    doc.text(0, "Pod Template:");
    doc.field(1, "Labels", map_lines(at(t, &["metadata", "labels"]), "="));
    doc.field(
        1,
        "Annotations",
        map_lines(at(t, &["metadata", "annotations"]), ": "),
    );
    doc.text(1, "Containers:");
    for c in at(t, &["spec", "containers"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        doc.text(2, format!("{}:", text(c, &["name"])));
        doc.field(3, "Image", text(c, &["image"]));
        let ports: Vec<String> = at(c, &["ports"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                let proto = match text(p, &["protocol"]) {
                    x if x.is_empty() => "TCP".to_string(),
                    x => x,
                };
                format!("{}/{proto}", text(p, &["containerPort"]))
            })
            .collect();
        doc.field(3, "Port", or_none(ports.join(", ")));
        let env: Vec<String> = at(c, &["env"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                if e.get("valueFrom").is_some() {
                    format!("{}: <set from a reference>", text(e, &["name"]))
                } else {
                    format!("{}: {}", text(e, &["name"]), text(e, &["value"]))
                }
            })
            .collect();
        doc.field(3, "Environment", or_none(env.join("\n")));
    }
}

fn strategy_from(spec: &Value) -> String {
    for s in ["dockerStrategy", "sourceStrategy", "customStrategy"] {
        if let Some(from) = at(spec, &["strategy", s, "from"]) {
            let ns = text(from, &["namespace"]);
            let ns = if ns.is_empty() {
                String::new()
            } else {
                format!("{ns}/")
            };
            return format!("{} {ns}{}", text(from, &["kind"]), text(from, &["name"]));
        }
    }
    String::new()
}

fn build_common(doc: &mut Doc, spec: &Value) {
    doc.field(0, "Strategy", text(spec, &["strategy", "type"]));
    if at(spec, &["source", "git"]).is_some() {
        doc.field(0, "URL", text(spec, &["source", "git", "uri"]));
        let r = text(spec, &["source", "git", "ref"]);
        if !r.is_empty() {
            doc.field(0, "Ref", r);
        }
    }
    let commit = text(spec, &["revision", "git", "commit"]);
    if !commit.is_empty() {
        doc.field(0, "Commit", commit);
    }
    let cd = text(spec, &["source", "contextDir"]);
    if !cd.is_empty() {
        doc.field(0, "ContextDir", cd);
    }
    let from = strategy_from(spec);
    if !from.is_empty() {
        doc.field(0, "From Image", from);
    }
    let to = at(spec, &["output", "to"]);
    if let Some(to) = to {
        doc.field(
            0,
            "Output to",
            format!("{} {}", text(to, &["kind"]), text(to, &["name"])),
        );
    }
}

fn kind_sections(doc: &mut Doc, kind: &KindRef, v: &Value, now: i64) {
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "ConfigMap") => {
            doc.blank();
            doc.text(0, "Data");
            doc.text(0, "====");
            for (k, val) in at(v, &["data"])
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                doc.text(0, format!("{k}:"));
                doc.text(0, "----");
                doc.text(0, val.as_str().unwrap_or_default().to_string());
                doc.blank();
            }
            doc.blank();
            doc.text(0, "BinaryData");
            doc.text(0, "====");
            for (k, val) in at(v, &["binaryData"])
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let n = decoded_len(val);
                doc.text(0, format!("{k}: {n} bytes"));
            }
        }
        ("", "Secret") => {
            doc.blank();
            doc.field(
                0,
                "Type",
                match text(v, &["type"]) {
                    t if t.is_empty() => "Opaque".into(),
                    t => t,
                },
            );
            doc.blank();
            doc.text(0, "Data");
            doc.text(0, "====");
            for (k, val) in at(v, &["data"])
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let n = decoded_len(val);
                doc.field(0, k, format!("{n} bytes"));
            }
        }
        ("", "Service") => {
            doc.field(0, "Selector", selector(at(v, &["spec", "selector"])));
            doc.field(
                0,
                "Type",
                match text(v, &["spec", "type"]) {
                    t if t.is_empty() => "ClusterIP".into(),
                    t => t,
                },
            );
            doc.field(0, "IP", or_none(text(v, &["spec", "clusterIP"])));
            for p in at(v, &["spec", "ports"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = match text(p, &["name"]) {
                    n if n.is_empty() => "<unset>".to_string(),
                    n => n,
                };
                let proto = match text(p, &["protocol"]) {
                    x if x.is_empty() => "TCP".to_string(),
                    x => x,
                };
                doc.field(0, "Port", format!("{name}  {}/{proto}", text(p, &["port"])));
                let target = match text(p, &["targetPort"]) {
                    t if t.is_empty() => text(p, &["port"]),
                    t => t,
                };
                doc.field(0, "TargetPort", format!("{target}/{proto}"));
            }
            doc.field(
                0,
                "Session Affinity",
                or_none(text(v, &["spec", "sessionAffinity"])),
            );
        }
        ("", "Namespace") => {
            doc.field(
                0,
                "Status",
                match text(v, &["status", "phase"]) {
                    p if p.is_empty() => "Active".into(),
                    p => p,
                },
            );
        }
        ("apps", "Deployment") => {
            doc.field(
                0,
                "Selector",
                selector(at(v, &["spec", "selector", "matchLabels"])),
            );
            let n = |p: &[&str]| at(v, p).and_then(Value::as_i64).unwrap_or(0);
            let desired = at(v, &["spec", "replicas"])
                .and_then(Value::as_i64)
                .unwrap_or(1);
            doc.field(
                0,
                "Replicas",
                format!(
                    "{desired} desired | {} updated | {} total | {} available | {} unavailable",
                    n(&["status", "updatedReplicas"]),
                    n(&["status", "replicas"]),
                    n(&["status", "availableReplicas"]),
                    n(&["status", "unavailableReplicas"])
                ),
            );
            doc.field(
                0,
                "StrategyType",
                match text(v, &["spec", "strategy", "type"]) {
                    t if t.is_empty() => "RollingUpdate".into(),
                    t => t,
                },
            );
            pod_template(doc, at(v, &["spec", "template"]));
        }
        ("apps.openshift.io", "DeploymentConfig") => {
            doc.field(
                0,
                "Latest Version",
                match text(v, &["status", "latestVersion"]) {
                    l if l.is_empty() => "Not deployed".into(),
                    l => l,
                },
            );
            doc.field(0, "Selector", selector(at(v, &["spec", "selector"])));
            doc.field(
                0,
                "Replicas",
                at(v, &["spec", "replicas"])
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
                    .to_string(),
            );
            doc.field(0, "Triggers", or_none(print::dc_triggers(v)));
            doc.field(0, "Strategy", text(v, &["spec", "strategy", "type"]));
            pod_template(doc, at(v, &["spec", "template"]));
        }
        ("build.openshift.io", "BuildConfig") => {
            doc.field(
                0,
                "Latest Version",
                match text(v, &["status", "lastVersion"]) {
                    l if l.is_empty() => "Never built".into(),
                    l => l,
                },
            );
            doc.blank();
            build_common(doc, at(v, &["spec"]).unwrap_or(&Value::Null));
            let triggers: Vec<String> = at(v, &["spec", "triggers"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| match text(t, &["type"]).as_str() {
                    "ImageChange" => {
                        let from = text(t, &["imageChange", "from", "name"]);
                        if from.is_empty() {
                            "Image(the strategy's from)".to_string()
                        } else {
                            format!("Image({from})")
                        }
                    }
                    "ConfigChange" => "Config".to_string(),
                    other => other.to_string(),
                })
                .collect();
            doc.field(0, "Triggered by", or_none(triggers.join(", ")));
        }
        ("build.openshift.io", "Build") => {
            let phase = text(v, &["status", "phase"]);
            let status = match text(v, &["status", "reason"]) {
                r if r.is_empty() => phase,
                r => format!("{phase} ({r})"),
            };
            doc.field(0, "Status", or_none(status));
            let msg = text(v, &["status", "message"]);
            if !msg.is_empty() {
                doc.field(0, "Message", msg);
            }
            let started = text(v, &["status", "startTimestamp"]);
            if !started.is_empty() {
                doc.field(0, "Started", started);
            }
            let cfg = text(v, &["status", "config", "name"]);
            if !cfg.is_empty() {
                doc.field(0, "Build Config", cfg);
            }
            doc.blank();
            build_common(doc, at(v, &["spec"]).unwrap_or(&Value::Null));
            let image = text(v, &["status", "output", "to", "imageDigest"]);
            if !image.is_empty() {
                doc.field(0, "Output Image Digest", image);
            }
        }
        ("image.openshift.io", "ImageStream") => {
            let repo = text(v, &["status", "dockerImageRepository"]);
            doc.field(0, "Image Repository", or_none(repo));
            doc.field(
                0,
                "Image Lookup",
                format!(
                    "local={}",
                    at(v, &["spec", "lookupPolicy", "local"])
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
            );
            let spec_tags = at(v, &["spec", "tags"]).and_then(Value::as_array);
            let status_tags = at(v, &["status", "tags"]).and_then(Value::as_array);
            let mut names: Vec<String> = spec_tags
                .into_iter()
                .flatten()
                .map(|t| text(t, &["name"]))
                .chain(status_tags.into_iter().flatten().map(|t| text(t, &["tag"])))
                .collect();
            names.sort();
            names.dedup();
            doc.blank();
            for name in names {
                doc.text(0, name.clone());
                doc.text(0, "-".repeat(name.chars().count().max(1)));
                if let Some(st) = spec_tags
                    .into_iter()
                    .flatten()
                    .find(|t| text(t, &["name"]) == name)
                {
                    let from = text(st, &["from", "name"]);
                    if !from.is_empty() {
                        let how = if text(st, &["from", "kind"]) == "DockerImage" {
                            "tagged from"
                        } else {
                            "tracks"
                        };
                        doc.text(1, format!("{how} {from}"));
                    }
                }
                let items = status_tags
                    .into_iter()
                    .flatten()
                    .find(|t| text(t, &["tag"]) == name)
                    .and_then(|t| t.get("items"))
                    .and_then(Value::as_array);
                let mut any = false;
                for (i, e) in items.into_iter().flatten().enumerate() {
                    any = true;
                    let mark = if i == 0 { "*" } else { " " };
                    doc.text(1, format!("{mark} {}", text(e, &["dockerImageReference"])));
                    let created = text(e, &["created"]);
                    if let Some(t) = print::parse_rfc3339(&created) {
                        doc.text(2, format!("{} ago", print::human_duration(now - t)));
                    }
                }
                if !any {
                    doc.text(1, "no image yet");
                }
                doc.blank();
            }
        }
        ("image.openshift.io", "ImageStreamTag") => {
            doc.field(
                0,
                "Image Reference",
                or_none(text(v, &["image", "dockerImageReference"])),
            );
            doc.field(
                0,
                "Image Name",
                or_none(text(v, &["image", "metadata", "name"])),
            );
        }
        ("route.openshift.io", "Route") => {
            doc.field(0, "Requested Host", or_none(text(v, &["spec", "host"])));
            doc.field(0, "Path", or_none(text(v, &["spec", "path"])));
            doc.field(
                0,
                "TLS Termination",
                or_none(text(v, &["spec", "tls", "termination"])),
            );
            doc.field(0, "Service", text(v, &["spec", "to", "name"]));
            doc.field(
                0,
                "Endpoint Port",
                or_none(text(v, &["spec", "port", "targetPort"])),
            );
        }
        _ => {
            let rest = v.as_object().map(|m| {
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<serde_json::Map<_, _>>()
            });
            if let Some(rest) = rest.filter(|r| !r.is_empty()) {
                for (k, val) in rest {
                    let title = {
                        let mut c = k.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default()
                    };
                    doc.text(0, format!("{title}:"));
                    for line in yaml::to_yaml(&val).lines() {
                        doc.text(1, line.to_string());
                    }
                }
            }
        }
    }
}

/// The object's entries in the change feed, newest last, or `None` without a feed.
fn feed_events(
    cluster: &dyn Cluster,
    key: &ResourceKey,
    v: &Value,
) -> Option<Vec<(u64, EventType, Value)>> {
    let rv: u64 = objects::meta_str(v, "resourceVersion").parse().ok()?;
    let mut since = rv.saturating_sub(EVENT_WINDOW);
    let mut found = Vec::new();
    while since < rv {
        let page = cluster.events_since(since, 1000).ok()?;
        let Some(last) = page.last() else { break };
        since = last.resource_version;
        for e in page {
            if e.resource_version > rv {
                break;
            }
            if ResourceKey::of(&e.object).ok().as_ref() == Some(key) {
                let generation = e
                    .object
                    .get("metadata")
                    .and_then(|m| m.get("generation"))
                    .cloned()
                    .unwrap_or(Value::Null);
                found.push((e.resource_version, e.kind, generation));
            }
        }
    }
    let skip = found.len().saturating_sub(EVENTS_SHOWN);
    Some(found.split_off(skip))
}

fn describe(cluster: &dyn Cluster, kind: &KindRef, v: &Value, now: i64) -> String {
    let mut doc = Doc::default();
    doc.field(0, "Name", objects::meta_str(v, "name"));
    let ns = objects::meta_str(v, "namespace");
    if !ns.is_empty() {
        doc.field(0, "Namespace", ns);
    }
    doc.field(0, "Kind", format!("{} ({})", kind.kind, kind.resource()));
    doc.field(
        0,
        "Created",
        match objects::meta_str(v, "creationTimestamp") {
            "" => "<unknown>".to_string(),
            ts => format!("{ts} ({} ago)", print::age(ts, now)),
        },
    );
    doc.field(0, "Labels", map_lines(at(v, &["metadata", "labels"]), "="));
    doc.field(
        0,
        "Annotations",
        map_lines(at(v, &["metadata", "annotations"]), ": "),
    );
    let app = text(v, &["metadata", "labels", INSTANCE_LABEL]);
    doc.field(
        0,
        "App",
        if app.is_empty() {
            "<none> (not managed by kascade)".to_string()
        } else {
            app
        },
    );
    doc.field(
        0,
        "Resource Version",
        objects::meta_str(v, "resourceVersion"),
    );
    kind_sections(&mut doc, kind, v, now);
    if let Ok(key) = ResourceKey::of(v)
        && let Some(events) = feed_events(cluster, &key, v)
    {
        if matches!(doc.lines.last(), Some(Line::Text(_, t)) if !t.is_empty()) {
            doc.blank();
        }
        if events.is_empty() {
            doc.field(0, "Events", "<none>");
        } else {
            doc.text(0, "Events (change feed, newest last):");
            let mut rows = vec![vec![
                "RESOURCE VERSION".to_string(),
                "CHANGE".to_string(),
                "GENERATION".to_string(),
            ]];
            for (rv, ty, generation) in events {
                let g = match generation {
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                rows.push(vec![rv.to_string(), ty.as_str().to_string(), g]);
            }
            for line in super::output::table(&rows, 0, 3).lines() {
                doc.text(1, line.to_string());
            }
        }
    }
    doc.render()
}

/// `kascade describe`.
pub fn exec(args: DescribeArgs) -> anyhow::Result<u8> {
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let cluster = args.cluster.open()?;
    let targets = objects::targets(cluster.as_ref(), &args.args)?;
    if targets.iter().all(|(_, names)| names.is_empty()) {
        bail!("give the names of the objects to describe: kascade describe KIND NAME");
    }
    let now = objects::now();
    let mut out = io::stdout().lock();
    let mut missing = Vec::new();
    let mut first = true;
    for (kind, names) in &targets {
        let ns = objects::namespace_of(cluster.as_ref(), kind, &namespace)?;
        for name in names {
            match objects::get(cluster.as_ref(), kind, ns.as_deref(), name)? {
                Some(v) => {
                    if !first {
                        writeln!(out)?;
                        writeln!(out)?;
                    }
                    first = false;
                    out.write_all(describe(cluster.as_ref(), kind, &v, now).as_bytes())?;
                }
                None => missing.push(objects::not_found(kind, name)),
            }
        }
    }
    out.flush()?;
    drop(out);
    for m in &missing {
        eprintln!("{m}");
    }
    Ok(u8::from(!missing.is_empty()))
}

/// The byte length of a base64 `data`/`binaryData` value (0 when it is not base64).
fn decoded_len(val: &Value) -> usize {
    val.as_str().and_then(base64::decode).map_or(0, |b| b.len())
}
