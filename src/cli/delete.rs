//! `kascade delete`: delete objects by kind and name, by label, or as listed in a file.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use super::objects;
use super::warn;
use crate::cluster::{Cluster, Selector};
use crate::diff::INSTANCE_LABEL;
use crate::resource::print::{KindRef, qualified_kind};
use crate::resource::{ResourceKey, yaml};

pub const EXAMPLES: &str = "Examples:
  # Delete a config map and a service of the default namespace
  kascade delete cm settings
  kascade delete svc/web

  # Everything labelled as one app's, in namespace shop, without deleting yet
  kascade delete dc,svc,route -l app=web -n shop --dry-run

  # The objects a manifest file names
  kascade delete -f manifests/web.yaml

Deleting an object that belongs to an app (label app.kascade.dev/instance) warns that the
app's next sync creates it again while the app still renders it. A named object that does not
exist is reported as `Error from server (NotFound): ...` and the command exits with 1 after
deleting the others, as kubectl does.";

/// Arguments of `kascade delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The kind(s) and names: `KIND[,KIND] NAME...` or `KIND/NAME...`.
    #[arg(value_name = "KIND [NAME...]")]
    args: Vec<String>,
    /// A manifest file (YAML or JSON) whose objects to delete (repeatable).
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE",
        conflicts_with = "args"
    )]
    files: Vec<PathBuf>,
    /// The namespace [default: default].
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    /// Delete the objects of the kind(s) matching a label selector.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    selector: Option<String>,
    /// Delete every object of the kind(s) in the namespace.
    #[arg(long)]
    all: bool,
    /// Print what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
}

/// Keys named by manifest files, namespaced ones given `namespace` when they name none.
fn keys_from_files(
    cluster: &dyn Cluster,
    files: &[PathBuf],
    namespace: &str,
) -> anyhow::Result<Vec<ResourceKey>> {
    let mut keys = Vec::new();
    for f in files {
        let meta = std::fs::metadata(f).with_context(|| format!("cannot read {}", f.display()))?;
        if meta.len() > yaml::MAX_FILE_BYTES as u64 {
            bail!(
                "{}: file is larger than {} bytes",
                f.display(),
                yaml::MAX_FILE_BYTES
            );
        }
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let source = f.display().to_string();
        for doc in yaml::parse_documents(&bytes, &source)? {
            let items: Vec<Value> = match doc.value.get("items").and_then(Value::as_array) {
                Some(items)
                    if doc
                        .value
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k.ends_with("List")) =>
                {
                    items.clone()
                }
                _ => vec![doc.value],
            };
            for item in items {
                let mut key = ResourceKey::of(&item).with_context(|| {
                    format!("{source}:{}: not an object kascade can name", doc.line)
                })?;
                if cluster.is_cluster_scoped(&key.group, &key.kind)? {
                    key.namespace.clear();
                } else if key.namespace.is_empty() {
                    key.namespace = namespace.to_string();
                }
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

/// `kascade delete`.
pub fn exec(args: DeleteArgs) -> anyhow::Result<u8> {
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let selector = match &args.selector {
        Some(s) => Selector::parse(s).map_err(|e| anyhow::anyhow!("invalid selector: {e}"))?,
        None => Selector::everything(),
    };
    if args.args.is_empty() && args.files.is_empty() {
        bail!(
            "you must provide one or more resources by argument or filename (see kascade delete --help)"
        );
    }
    let mut cluster = args.cluster.open()?;
    let mut keys: Vec<ResourceKey> = Vec::new();
    let mut missing = Vec::new();
    if !args.files.is_empty() {
        keys = keys_from_files(cluster.as_ref(), &args.files, &namespace)?;
    } else {
        let targets = objects::targets(cluster.as_ref(), &args.args)?;
        let named = targets.iter().any(|(_, names)| !names.is_empty());
        if named && (args.selector.is_some() || args.all) {
            bail!("name cannot be provided when a selector or --all is specified");
        }
        if !named && args.selector.is_none() && !args.all {
            bail!(
                "resource(s) were provided, but no name was specified (give names, -l SELECTOR or --all)"
            );
        }
        for (kind, names) in &targets {
            let ns = objects::namespace_of(cluster.as_ref(), kind, &namespace)?;
            if names.is_empty() {
                for o in cluster.list(&kind.group, &kind.kind, ns.as_deref(), &selector)? {
                    keys.push(objects::key(
                        kind,
                        ns.as_deref(),
                        objects::meta_str(&o, "name"),
                    ));
                }
            } else {
                for name in names {
                    keys.push(objects::key(kind, ns.as_deref(), name));
                }
            }
        }
    }
    let mut out = io::stdout().lock();
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    let mut deleted = 0;
    for key in &keys {
        let kind = KindRef::new(key.group.clone(), key.kind.clone());
        let Some(live) = cluster.get(key)? else {
            missing.push(objects::not_found(&kind, &key.name));
            continue;
        };
        let shown = format!("{} {:?}", qualified_kind(&key.group, &key.kind), key.name);
        let owner = live
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get(INSTANCE_LABEL))
            .and_then(Value::as_str);
        if let Some(app) = owner
            && cluster
                .inventory(app)?
                .is_some_and(|inv| inv.members.contains_key(key))
        {
            warn(&format!(
                "{shown} belongs to app {app:?}: the app's next sync creates it again while it still renders it"
            ));
        }
        if !args.dry_run {
            cluster.delete(key)?;
            deleted += 1;
        }
        writeln!(out, "{shown} deleted{suffix}")?;
    }
    out.flush()?;
    drop(out);
    if deleted > 0 {
        super::settle::after_change(cluster.as_mut(), &args.cluster)?;
    }
    for m in &missing {
        eprintln!("{m}");
    }
    if keys.is_empty() {
        eprintln!("No resources found");
    }
    Ok(u8::from(!missing.is_empty()))
}
