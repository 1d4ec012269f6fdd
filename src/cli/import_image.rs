//! `kascade import-image`: `oc import-image` on the embedded cluster.

use std::io::{self, Write};

use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

use super::cluster::ClusterArgs;
use super::wait::{self, WaitArgs};
use crate::controllers::imagestreams::{import_failure, stream_key};
use crate::images::{self, DockerRef, stream::forget_observed};

pub const EXAMPLES: &str = "Examples:
  # Import the image an existing tag points at again (a new digest fires its triggers)
  kascade import-image centos:7 -n lab

  # Create the stream and tag, importing from a registry
  kascade import-image base:latest --from quay.io/org/base:9 --confirm -n lab

  # Keep re-importing it (every 15 minutes, under `kascade run`)
  kascade import-image base:latest --from quay.io/org/base:9 --confirm --scheduled -n lab

  # A private registry: the credentials come from the namespace's pull secrets
  kascade sync -f pull-secret.yaml -n lab   # type kubernetes.io/dockerconfigjson
  kascade import-image app:1 --from registry.example.com/team/app:1 --confirm -n lab

  # Keep a multi-platform image's manifest list instead of its linux/amd64 image
  kascade import-image base:multi --from quay.io/org/base:9 --confirm --import-mode PreserveOriginal";

/// Arguments of `kascade import-image`.
#[derive(Debug, Args)]
pub struct ImportImageArgs {
    /// The ImageStream and tag, STREAM[:TAG] (tag `latest` when omitted).
    #[arg(value_name = "STREAM[:TAG]")]
    name: String,
    /// The image to import [default: the tag's current source, or STREAM[:TAG] itself].
    #[arg(long, value_name = "IMAGE")]
    from: Option<String>,
    /// Create the stream or tag when missing.
    #[arg(long)]
    confirm: bool,
    /// Re-import periodically.
    #[arg(long)]
    scheduled: bool,
    /// Allow plain HTTP.
    #[arg(long)]
    insecure: bool,
    /// How a manifest list (multi-platform image) imports: Legacy (its linux/amd64 image) or
    /// PreserveOriginal (the list itself).
    #[arg(long = "import-mode", value_name = "MODE", value_parser = ["Legacy", "PreserveOriginal"])]
    import_mode: Option<String>,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

pub fn exec(args: ImportImageArgs) -> anyhow::Result<u8> {
    let (stream, tag) = match args.name.split_once(':') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => (args.name.clone(), "latest".to_string()),
    };
    if stream.is_empty() || tag.is_empty() || stream.contains('/') {
        bail!("{:?} is not STREAM[:TAG]", args.name);
    }
    if let Some(f) = &args.from {
        DockerRef::parse(f)?;
    }
    let key = stream_key(&args.namespace, &stream);
    let mut cluster = wait::open_local(&args.cluster, "import-image")?;
    {
        let mut txn = cluster.begin()?;
        let existing = txn.get(&key)?;
        let mut obj = match existing {
            Some(o) => o,
            None if args.confirm => {
                json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": stream, "namespace": args.namespace}, "spec": {"tags": []}})
            }
            None => bail!(
                "no image stream named {stream:?} exists in namespace {:?}, pass --confirm to create and import",
                args.namespace
            ),
        };
        let current = images::spec_tag(&obj, &tag).cloned();
        let from = match (&current, &args.from) {
            (_, Some(f)) => {
                if current.is_none() && !args.confirm {
                    bail!(
                        "the tag {tag:?} does not exist on the image stream - choose an existing tag to import or use the --confirm flag to create a new tag"
                    );
                }
                f.clone()
            }
            (Some(t), None) => {
                let kind = t
                    .pointer("/from/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if kind != "DockerImage" {
                    bail!(
                        "tag {tag:?} of image stream {stream:?} does not point to a container image (from.kind {kind:?}); nothing to import"
                    );
                }
                t.pointer("/from/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            }
            (None, None) if args.confirm => args.name.clone(),
            (None, None) => bail!(
                "the tag {tag:?} does not exist on the image stream - choose an existing tag to import or use the --confirm flag to create a new tag"
            ),
        };
        let mut spec_tag = current.unwrap_or_else(|| json!({"name": tag}));
        spec_tag["from"] = json!({"kind": "DockerImage", "name": from});
        if spec_tag.get("reference").and_then(Value::as_bool) == Some(true) {
            spec_tag["reference"] = json!(false);
        }
        if args.scheduled || args.insecure || args.import_mode.is_some() {
            if !spec_tag.get("importPolicy").is_some_and(Value::is_object) {
                spec_tag["importPolicy"] = json!({});
            }
            if args.scheduled {
                spec_tag["importPolicy"]["scheduled"] = json!(true);
            }
            if args.insecure {
                spec_tag["importPolicy"]["insecure"] = json!(true);
            }
            if let Some(mode) = &args.import_mode {
                spec_tag["importPolicy"]["importMode"] =
                    json!(super::tag::import_mode(mode).as_str());
            }
        }
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        let tags = obj["spec"]
            .as_object_mut()
            .map(|s| s.entry("tags").or_insert_with(|| json!([])));
        if let Some(Value::Array(tags)) = tags {
            match tags
                .iter_mut()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(tag.as_str()))
            {
                Some(t) => *t = spec_tag,
                None => tags.push(spec_tag),
            }
        }
        forget_observed(&mut obj, Some(&tag));
        if obj.pointer("/metadata/uid").is_some() {
            txn.update(obj)?;
        } else {
            txn.create(obj)?;
        }
        txn.commit()?;
    }
    drop(cluster);
    let mut out = io::stdout().lock();
    let Some(report) = wait::settle(&args.cluster, &args.wait)? else {
        writeln!(
            out,
            "imagestream.image.openshift.io/{stream} import of tag {tag} queued"
        )?;
        return Ok(0);
    };
    let cluster = wait::open_local(&args.cluster, "import-image")?;
    let s = cluster.get(&key)?.unwrap_or(Value::Null);
    if let Some((reason, message)) = import_failure(&s, &tag) {
        bail!("import failed ({reason}): {message}");
    }
    writeln!(out, "imagestream.image.openshift.io/{stream} imported")?;
    if let Some(r) = images::resolve_tag(&s, &tag) {
        writeln!(out, "{stream}:{tag} -> {r}")?;
    }
    wait::print_report(&report, &mut out)?;
    Ok(0)
}
