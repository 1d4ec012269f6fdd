//! `kascade get`: objects of the cluster in the table shape of `oc get`, as YAML/JSON/names,
//! or followed through the change feed (`--watch`).

use std::io::{self, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use super::objects::{self, Targets};
use super::output;
use crate::cluster::local::labels_of;
use crate::cluster::{Cluster, EventType, Selector};
use crate::resource::print::{self, KindRef};
use crate::resource::{ResourceKey, list_of, yaml};

pub const EXAMPLES: &str = "Examples:
  # Deployment configs, build configs and image streams of the default namespace
  kascade get dc,bc,is

  # Everything oc's `get all` shows, in every namespace
  kascade get all -A

  # One object as YAML; several as a v1 List
  kascade get cm settings -o yaml
  kascade get svc -n shop -o json

  # By label, with more columns, or just names
  kascade get deploy -l app.kascade.dev/instance=web -o wide
  kascade get is -o name

  # Follow changes (the embedded cluster's change feed)
  kascade get builds --watch

Kinds: cm, secret, svc, ns, po, rc, sa, pvc, deploy, sts, ds, rs, job, cj, dc, bc, build,
is, istag, route, template, crd, all; plural, singular and kind.group forms work too.
Named objects that do not exist are reported as `Error from server (NotFound): ...` and the
command exits with 1 after printing the others, as kubectl does.";

/// An output format for `get -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GetFormat {
    /// YAML: the object, or a v1 List of several.
    Yaml,
    /// JSON: the object, or a v1 List of several.
    Json,
    /// The table with more columns.
    Wide,
    /// `kind.group/name` per object.
    Name,
}

/// Arguments of `kascade get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The kind(s) and optional names: `KIND[,KIND] [NAME...]` or `KIND/NAME...`.
    #[arg(value_name = "KIND [NAME...]", required = true)]
    args: Vec<String>,
    /// The namespace [default: default].
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    /// Every namespace (adds a NAMESPACE column).
    #[arg(short = 'A', long = "all-namespaces", conflicts_with = "namespace")]
    all_namespaces: bool,
    /// A label selector: `a=b,c!=d,e in (x,y),f`.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    selector: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<GetFormat>,
    /// After listing, print a line for every change (follows the change feed).
    #[arg(short = 'w', long)]
    watch: bool,
    /// With --watch: prefix each change with its type (ADDED, MODIFIED, DELETED).
    #[arg(long, requires = "watch")]
    output_watch_events: bool,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
}

/// One kind's objects.
struct Found {
    kind: KindRef,
    objects: Vec<Value>,
}

fn table_rows(
    found: &Found,
    now: i64,
    wide: bool,
    all_namespaces: bool,
    prefix: bool,
    header: bool,
) -> Vec<Vec<String>> {
    let mut rows = Vec::with_capacity(found.objects.len() + 1);
    if header {
        let mut h = Vec::new();
        if all_namespaces {
            h.push("NAMESPACE".to_string());
        }
        h.push("NAME".to_string());
        h.extend(
            print::headers(&found.kind, wide)
                .into_iter()
                .map(str::to_string),
        );
        rows.push(h);
    }
    for o in &found.objects {
        rows.push(object_row(
            &found.kind,
            o,
            now,
            wide,
            all_namespaces,
            prefix,
        ));
    }
    rows
}

fn object_row(
    kind: &KindRef,
    o: &Value,
    now: i64,
    wide: bool,
    all_namespaces: bool,
    prefix: bool,
) -> Vec<String> {
    let mut r = Vec::new();
    if all_namespaces {
        r.push(objects::meta_str(o, "namespace").to_string());
    }
    let name = objects::meta_str(o, "name");
    r.push(if prefix {
        format!("{}/{name}", print::qualified_kind(&kind.group, &kind.kind))
    } else {
        name.to_string()
    });
    r.extend(print::row(kind, o, now, wide));
    r
}

fn key_name(kind: &KindRef, o: &Value) -> String {
    ResourceKey::new(
        kind.group.clone(),
        kind.kind.clone(),
        "",
        objects::meta_str(o, "name"),
    )
    .kubectl_name()
}

/// `kascade get`.
pub fn exec(args: GetArgs) -> anyhow::Result<u8> {
    let selector = match &args.selector {
        Some(s) => Selector::parse(s).map_err(|e| anyhow::anyhow!("invalid selector: {e}"))?,
        None => Selector::everything(),
    };
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let cluster = args.cluster.open()?;
    let targets = objects::targets(cluster.as_ref(), &args.args)?;
    let named = targets.iter().any(|(_, names)| !names.is_empty());
    if named && args.selector.is_some() {
        bail!("name cannot be provided when a selector is specified");
    }
    // The feed position before listing: nothing committed after the listing is missed.
    let since = if args.watch {
        Some(cluster.resource_version().with_context(|| {
            format!(
                "--watch follows a change feed, and {} has none",
                cluster.describe()
            )
        })?)
    } else {
        None
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut any_cluster_scoped = false;
    for (kind, names) in &targets {
        let ns = objects::namespace_of(cluster.as_ref(), kind, &namespace)?;
        any_cluster_scoped |= ns.is_none();
        let ns = if args.all_namespaces { None } else { ns };
        let mut list = Vec::new();
        if names.is_empty() {
            list = objects::list(cluster.as_ref(), kind, ns.as_deref(), &selector)?;
        } else {
            for name in names {
                match objects::get(cluster.as_ref(), kind, ns.as_deref(), name)? {
                    Some(o) => list.push(o),
                    None => missing.push(objects::not_found(kind, name)),
                }
            }
        }
        found.push(Found {
            kind: kind.clone(),
            objects: list,
        });
    }
    let total: usize = found.iter().map(|f| f.objects.len()).sum();
    let mut out = io::stdout().lock();
    let prefix = targets.len() > 1 || args.args[0].eq_ignore_ascii_case("all");
    let wide = args.output == Some(GetFormat::Wide);
    let now = objects::now();
    let mut widths: Vec<Vec<usize>> = Vec::new();
    match args.output {
        Some(GetFormat::Yaml | GetFormat::Json) => {
            let all: Vec<&Value> = found.iter().flat_map(|f| f.objects.iter()).collect();
            let single = targets.len() == 1 && targets[0].1.len() == 1 && all.len() == 1;
            let json = args.output == Some(GetFormat::Json);
            if single {
                if json {
                    writeln!(out, "{}", output::json_pretty(all[0]))?;
                } else {
                    out.write_all(yaml::to_yaml(all[0]).as_bytes())?;
                }
            } else if !all.is_empty() || (!named && !args.watch) {
                if json {
                    out.write_all(output::list_json(&all).as_bytes())?;
                } else {
                    out.write_all(yaml::to_yaml(&list_of(all)).as_bytes())?;
                }
            }
        }
        Some(GetFormat::Name) => {
            for f in &found {
                for o in &f.objects {
                    writeln!(out, "{}", key_name(&f.kind, o))?;
                }
            }
        }
        Some(GetFormat::Wide) | None => {
            let mut first = true;
            for f in found.iter().filter(|f| !f.objects.is_empty()) {
                if !first {
                    writeln!(out)?;
                }
                first = false;
                let rows = table_rows(f, now, wide, args.all_namespaces, prefix, true);
                widths.push(column_widths(&rows));
                out.write_all(output::table(&rows, 6, 3).as_bytes())?;
            }
        }
    }
    out.flush()?;
    drop(out);
    for m in &missing {
        eprintln!("{m}");
    }
    if total == 0
        && missing.is_empty()
        && !matches!(args.output, Some(GetFormat::Yaml | GetFormat::Json))
    {
        if args.all_namespaces || (any_cluster_scoped && targets.len() == 1) {
            eprintln!("No resources found");
        } else {
            eprintln!("No resources found in {namespace} namespace.");
        }
    }
    if let Some(since) = since {
        let w = Watch {
            targets: &targets,
            namespace: if args.all_namespaces {
                None
            } else {
                Some(namespace.as_str())
            },
            selector: &selector,
            format: args.output,
            all_namespaces: args.all_namespaces,
            prefix,
            events: args.output_watch_events,
            widths: widths.into_iter().next().unwrap_or_default(),
        };
        return w.follow(cluster.as_ref(), since);
    }
    Ok(u8::from(!missing.is_empty()))
}

fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(cell.chars().count() + 3).max(6);
        }
    }
    widths
}

/// Following the change feed for `get --watch`.
struct Watch<'a> {
    targets: &'a Targets,
    namespace: Option<&'a str>,
    selector: &'a Selector,
    format: Option<GetFormat>,
    all_namespaces: bool,
    prefix: bool,
    events: bool,
    /// Column widths of the table printed first, so change lines line up with it.
    widths: Vec<usize>,
}

/// How often the change feed is polled.
const POLL: Duration = Duration::from_millis(200);
/// Feed entries read per poll.
const PAGE: usize = 1000;

impl Watch<'_> {
    fn matches(&self, cluster: &dyn Cluster, object: &Value) -> Option<KindRef> {
        let key = ResourceKey::of(object).ok()?;
        let (kind, names) = self
            .targets
            .iter()
            .find(|(k, _)| k.group == key.group && k.kind == key.kind)?;
        if !names.is_empty() && !names.contains(&key.name) {
            return None;
        }
        if let Some(ns) = self.namespace {
            let cluster_scoped = cluster
                .is_cluster_scoped(&key.group, &key.kind)
                .unwrap_or(false);
            if !cluster_scoped && key.namespace != ns {
                return None;
            }
        }
        if !self.selector.matches(labels_of(object)) {
            return None;
        }
        Some(kind.clone())
    }

    fn line(&self, kind: &KindRef, ty: EventType, object: &Value) -> String {
        match self.format {
            Some(GetFormat::Name) => key_name(kind, object),
            Some(GetFormat::Json) => output::json_pretty(object),
            Some(GetFormat::Yaml) => format!("---\n{}", yaml::to_yaml(object).trim_end()),
            Some(GetFormat::Wide) | None => {
                let wide = self.format == Some(GetFormat::Wide);
                let mut cells = object_row(
                    kind,
                    object,
                    objects::now(),
                    wide,
                    self.all_namespaces,
                    self.prefix,
                );
                if self.events {
                    cells.insert(0, ty.as_str().to_string());
                }
                let offset = usize::from(self.events);
                let mut line = String::new();
                for (i, cell) in cells.iter().enumerate() {
                    line.push_str(cell);
                    if i + 1 < cells.len() {
                        let w = if i < offset {
                            cell.chars().count() + 3
                        } else {
                            self.widths
                                .get(i - offset)
                                .copied()
                                .unwrap_or(0)
                                .max(cell.chars().count() + 3)
                        };
                        let pad = w.saturating_sub(cell.chars().count());
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
                line.trim_end().to_string()
            }
        }
    }

    fn follow(&self, cluster: &dyn Cluster, mut since: u64) -> anyhow::Result<u8> {
        loop {
            let events = cluster.events_since(since, PAGE)?;
            if events.is_empty() {
                std::thread::sleep(POLL);
                continue;
            }
            let mut out = io::stdout().lock();
            for e in events {
                since = e.resource_version;
                let Some(kind) = self.matches(cluster, &e.object) else {
                    continue;
                };
                writeln!(out, "{}", self.line(&kind, e.kind, &e.object))?;
            }
            out.flush()?;
        }
    }
}
