//! `kascade graph`: the trigger graph of the rendered apps or of the live cluster, as a tree,
//! DOT, JSON or SVG, and cascade plans (`--plan IST`).

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;

use super::cluster::ClusterArgs;
use super::target::AppsArgs;
use crate::app;
use crate::cluster::{Cluster, LocalCluster, Selector};
use crate::reconcile::Policy;
use crate::triggers::{self, Graph, GraphBuilder, NodeId, output, svg};

pub const EXAMPLES: &str = "Examples:
  # What each image stream tag of the example repository triggers, like oc adm build-chain
  kascade graph --config examples/base-image/kascade.yaml

  # Only what depends on httpd-base:latest, as a picture
  kascade graph --template base-image-example -p GIT_URL=https://example.com/r.git \\
      --root httpd-base:latest -o svg > chain.svg

  # As Graphviz DOT or JSON
  kascade graph -f examples/base-image/apps -n lab -o dot | dot -Tpng -o chain.png

  # What a new base image would rebuild and roll out, in order
  kascade graph --config examples/base-image/kascade.yaml --plan centos:7

  # The graph of the live embedded cluster, with tag history
  kascade graph --from cluster

A tag is [NAMESPACE/]STREAM[:TAG] (the tag defaults to latest); --plan also takes bc/NAME
for a build started by hand. Malformed triggers and triggers naming missing streams are
warnings on stderr; a build that triggers itself is an error (exit 2).";

/// Where the graph's objects come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Source {
    /// The rendered apps (-f, --template or kascade.yaml); nothing is read from a cluster.
    Set,
    /// The live cluster's objects, with their tag history.
    Cluster,
    /// The rendered apps, with tag history and objects the set lacks from the cluster.
    Both,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GraphFormat {
    /// Tags, the builds they trigger and the tags those push, nested (oc adm build-chain).
    Tree,
    /// Graphviz DOT.
    Dot,
    /// Nodes, edges and warnings as JSON.
    Json,
    /// An SVG picture.
    Svg,
}

/// Arguments of `kascade graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    apps: AppsArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Where the objects come from.
    #[arg(long, value_enum, default_value = "set")]
    from: Source,
    /// Output format (with --plan: tree prints the plan as text, json as JSON).
    #[arg(short = 'o', long = "output", value_enum, default_value = "tree")]
    output: GraphFormat,
    /// Only what is downstream of this tag (repeatable).
    #[arg(long, value_name = "IST")]
    root: Vec<String>,
    /// Print the cascade a change of this tag sets off: builds in order, rollouts
    /// (repeatable: tags changing together).
    #[arg(long, value_name = "IST", conflicts_with = "root")]
    plan: Vec<String>,
}

/// Builds the graph the arguments ask for.
fn build(args: &GraphArgs) -> anyhow::Result<Graph> {
    let mut builder = GraphBuilder::new(args.apps.namespace.as_deref().unwrap_or("default"));
    if args.from == Source::Cluster && args.apps.explicit() {
        bail!(
            "--from cluster reads only the live cluster; use --from both to add -f, --template or --config"
        );
    }
    let live: Option<Box<dyn Cluster>> = match args.from {
        Source::Set => None,
        Source::Cluster | Source::Both => Some(args.cluster.open()?),
    };
    // `--app NAME` alone (no kascade.yaml here): an app `kascade new-app` recorded in the
    // cluster, so rendering it reads the cluster even for a graph of the set.
    let recorded =
        !args.apps.explicit() && args.apps.app.is_some() && !Path::new("kascade.yaml").exists();
    if args.from != Source::Cluster {
        // Rendering reads stored generated values; a graph needs none, so otherwise an empty
        // in-memory cluster stands in and nothing is written to disk.
        let scratch: Box<dyn Cluster>;
        let cluster: &dyn Cluster = match &live {
            Some(c) => c.as_ref(),
            None => {
                scratch = if recorded {
                    args.cluster.open()?
                } else {
                    Box::new(
                        LocalCluster::open_file(Path::new(":memory:"))
                            .context("failed to open an in-memory cluster")?,
                    )
                };
                scratch.as_ref()
            }
        };
        let (apps, ctx) = args.apps.local_apps(cluster, Policy::default())?;
        for a in &apps {
            let rendered = app::render_app(cluster, a, &ctx)?;
            builder.set_default_namespace(&a.namespace);
            builder.add_set(&rendered.set);
        }
    }
    if let Some(cluster) = &live {
        add_live(&mut builder, cluster.as_ref())?;
    }
    Ok(builder.finish())
}

/// Adds every trigger-bearing object of the live cluster to the graph.
fn add_live(builder: &mut GraphBuilder, cluster: &dyn Cluster) -> anyhow::Result<()> {
    builder.set_default_namespace("default");
    let held = cluster.kinds()?;
    for &(group, kind) in triggers::KINDS {
        if !held.iter().any(|(g, k)| g == group && k == kind) {
            continue;
        }
        for object in cluster.list(group, kind, None, &Selector::everything())? {
            builder.add(&object, true);
        }
    }
    Ok(())
}

/// Prints what a change of `changed` (tags as `[ns/]stream:tag`, or `bc/NAME`) would set off
/// in the live cluster: the builds in order and the rollouts — `tag --dry-run` and
/// `start-build --dry-run`.
pub(crate) fn print_cascade_plan(
    cluster: &dyn Cluster,
    changed: &[String],
    namespace: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut builder = GraphBuilder::new(namespace);
    add_live(&mut builder, cluster)?;
    let graph = builder.finish();
    let mut nodes = Vec::new();
    for spec in changed {
        match graph.resolve(spec, Some(namespace)) {
            Ok(id) => nodes.push(id),
            // A tag nothing refers to: moving it sets nothing off.
            Err(_) if !spec.starts_with("bc/") => {
                writeln!(
                    out,
                    "no trigger follows {spec}: nothing would build or roll out"
                )?;
            }
            Err(e) => bail!(e),
        }
    }
    if nodes.is_empty() {
        return Ok(());
    }
    let plan = triggers::plan(&graph, &nodes)?;
    out.write_all(output::plan_text(&graph, &plan).as_bytes())?;
    Ok(())
}

fn resolve(graph: &Graph, specs: &[String], ns: Option<&str>) -> anyhow::Result<Vec<NodeId>> {
    specs
        .iter()
        .map(|s| graph.resolve(s, ns).map_err(anyhow::Error::msg))
        .collect()
}

pub fn exec(args: GraphArgs) -> anyhow::Result<u8> {
    let graph = build(&args)?;
    // Malformed triggers of rendered objects were already logged by the render's check.
    for w in graph.warnings().iter().filter(|w| w.live || !w.malformed) {
        super::warn(&w.to_string());
    }
    // A cycle in a rendered set was refused above; one among live objects is shown.
    if let Err(e) = triggers::check_graph(&graph) {
        super::warn(&e.to_string());
    }
    let ns = args.apps.namespace.as_deref();
    let mut out = io::stdout().lock();
    if !args.plan.is_empty() {
        let changed = resolve(&graph, &args.plan, ns)?;
        let plan = triggers::plan(&graph, &changed)?;
        match args.output {
            GraphFormat::Tree => out.write_all(output::plan_text(&graph, &plan).as_bytes())?,
            GraphFormat::Json => writeln!(
                out,
                "{}",
                super::output::json_pretty(&output::plan_json(&graph, &plan))
            )?,
            GraphFormat::Dot | GraphFormat::Svg => {
                bail!("--plan prints text (-o tree) or JSON (-o json)")
            }
        }
        return Ok(0);
    }
    let (graph, roots) = if args.root.is_empty() {
        let roots = output::tree_roots(&graph);
        (graph, roots)
    } else {
        let roots = resolve(&graph, &args.root, ns)?;
        let keep = graph.downstream(&roots);
        let sub = graph.subgraph(&keep);
        // Ids change in the subgraph: find the roots again by what they are.
        let roots = roots
            .iter()
            .filter_map(|&r| {
                let n = graph.node(r);
                sub.find(n.kind, &n.namespace, &n.name)
            })
            .collect();
        (sub, roots)
    };
    match args.output {
        GraphFormat::Tree => {
            if graph.is_empty() {
                writeln!(out, "no image triggers found")?;
            } else {
                out.write_all(output::tree(&graph, &roots).as_bytes())?;
            }
        }
        GraphFormat::Dot => out.write_all(output::dot(&graph).as_bytes())?,
        GraphFormat::Json => {
            writeln!(out, "{}", super::output::json_pretty(&output::json(&graph)))?
        }
        GraphFormat::Svg => out.write_all(svg::svg(&graph).as_bytes())?,
    }
    out.flush()?;
    Ok(0)
}
