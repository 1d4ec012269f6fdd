//! `kascade tag`: `oc tag` on the embedded cluster.

use std::io::{self, Write};

use clap::Args;

use super::cluster::ClusterArgs;
use super::wait::{self, WaitArgs};
use crate::images::stream::ImportMode;
use crate::images::tag::{self, TagOptions};

pub const EXAMPLES: &str = "Examples:
  # Point app:prod at the image app:latest points at now
  kascade tag app:latest app:prod -n lab

  # Track another tag of the same stream (moves whenever app:latest moves)
  kascade tag app:latest app:stable --alias -n lab

  # Import an external image, and re-import it every 15 minutes
  kascade tag quay.io/org/base:9 base:latest --scheduled -n lab

  # Import a multi-platform image as its manifest list, not its linux/amd64 image
  kascade tag quay.io/org/base:9 base:multi --import-mode PreserveOriginal -n lab

  # What moving a base image would rebuild and roll out, changing nothing
  kascade tag docker.io/library/centos@sha256:<digest> centos:7 -n lab --dry-run

  # Delete a tag
  kascade tag -d app:old -n lab";

/// Arguments of `kascade tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE and one or more DEST ([namespace/]stream:tag); with -d, only the tags to delete.
    #[arg(required = true, value_name = "SOURCE DEST")]
    names: Vec<String>,
    /// Make the destinations track the source tag (same stream only) instead of copying its
    /// current image.
    #[arg(long)]
    alias: bool,
    /// Re-import the source (a container image) periodically.
    #[arg(long)]
    scheduled: bool,
    /// Allow plain HTTP when importing the source.
    #[arg(long)]
    insecure: bool,
    /// How a manifest list (multi-platform image) imports: Legacy (its linux/amd64 image) or
    /// PreserveOriginal (the list itself).
    #[arg(long = "import-mode", value_name = "MODE", value_parser = ["Legacy", "PreserveOriginal"])]
    import_mode: Option<String>,
    /// Record the source as a reference, without importing it.
    #[arg(long)]
    reference: bool,
    /// How triggers pull the tag's image: source (the original reference) or local (the
    /// internal registry).
    #[arg(long = "reference-policy", value_name = "POLICY", value_parser = ["source", "local"])]
    reference_policy: Option<String>,
    /// The source kind instead of inferring it: imagestreamtag|istag|imagestreamimage|isimage|docker|dockerimage.
    #[arg(long = "source", value_name = "KIND")]
    source: Option<String>,
    /// Delete the named tags.
    #[arg(short = 'd', long)]
    delete: bool,
    /// Change nothing; print which builds would run, in which order, and which workloads
    /// would roll out when the destination tags move.
    #[arg(long, conflicts_with = "delete")]
    dry_run: bool,
    /// The namespace of names that give none.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

/// The `--import-mode` value (already one of the two by clap).
pub(crate) fn import_mode(mode: &str) -> ImportMode {
    if mode == "PreserveOriginal" {
        ImportMode::PreserveOriginal
    } else {
        ImportMode::Legacy
    }
}

pub fn exec(args: TagArgs) -> anyhow::Result<u8> {
    if args.dry_run {
        let Some((src, dests)) = args.names.split_first().filter(|(_, d)| !d.is_empty()) else {
            anyhow::bail!("give a SOURCE and at least one DEST");
        };
        let cluster = args.cluster.open()?;
        let mut out = io::stdout().lock();
        for d in dests {
            writeln!(out, "would tag {src} into {d} (dry run)")?;
        }
        super::graph::print_cascade_plan(cluster.as_ref(), dests, &args.namespace, &mut out)?;
        return Ok(0);
    }
    let mut cluster = wait::open_local(&args.cluster, "tag")?;
    let messages = {
        let mut txn = cluster.begin()?;
        let m = if args.delete {
            tag::delete_tags(&mut txn, &args.names, &args.namespace)?
        } else {
            let (src, dests) = args
                .names
                .split_first()
                .filter(|(_, d)| !d.is_empty())
                .ok_or_else(|| anyhow::anyhow!("give a SOURCE and at least one DEST"))?;
            let opts = TagOptions {
                namespace: args.namespace.clone(),
                source_kind: args.source.clone(),
                alias: args.alias,
                scheduled: args.scheduled,
                insecure: args.insecure,
                import_mode: args.import_mode.as_deref().map(import_mode),
                reference: args.reference,
                reference_policy: args.reference_policy.clone(),
            };
            tag::tag(&mut txn, src, dests, &opts)?
        };
        txn.commit()?;
        m
    };
    drop(cluster);
    let mut out = io::stdout().lock();
    for m in messages {
        writeln!(out, "{m}")?;
    }
    if let Some(report) = wait::settle(&args.cluster, &args.wait)? {
        wait::print_report(&report, &mut out)?;
    }
    Ok(0)
}
