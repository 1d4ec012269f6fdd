//! `kascade cancel-build`: `oc cancel-build` on the embedded cluster.
//!
//! Marks each build `status.cancelled: true` in one transaction, then lets the cluster settle:
//! the build controller moves a marked build to `Cancelled` before it runs (or drops the
//! output of one that was running in another process), so nothing is pushed and nothing
//! downstream builds or rolls out.

use std::collections::BTreeSet;
use std::io::{self, Write};

use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

use super::cluster::ClusterArgs;
use super::wait::{self, WaitArgs};
use crate::cluster::Selector;
use crate::controllers::{Activity, build};
use crate::resource::ResourceKey;

pub const EXAMPLES: &str = "Examples:
  # Cancel the build with the given name
  kascade cancel-build app-a-2 -n lab

  # Cancel several builds
  kascade cancel-build app-a-2 app-b-3 -n lab

  # Cancel every new, pending or running build of a BuildConfig
  kascade cancel-build bc/app-a -n lab

  # Cancel only the builds of app-a still waiting to run (oc's --state is --phase here:
  # kascade's --state is the state directory)
  kascade cancel-build bc/app-a --phase new -n lab

  # Queue a build, then take it back before it runs: nothing is pushed, nothing downstream moves
  kascade start-build app-a --no-wait -n lab
  kascade cancel-build app-a-3 -n lab

On OpenShift the platform cancels builds: use `oc cancel-build`.

Exit codes: 0 every build was cancelled (or marked, with --no-wait), 2 a build was not found,
had already finished, or did not reach Cancelled.";

/// The phases `--state` may name (oc's cancellable phases).
const STATES: [&str; 3] = ["new", "pending", "running"];

/// Arguments of `kascade cancel-build`.
#[derive(Debug, Args)]
pub struct CancelBuildArgs {
    /// Builds (NAME or build/NAME), or bc/NAME for the builds of a BuildConfig.
    #[arg(value_name = "BUILD|bc/BUILDCONFIG", required = true)]
    targets: Vec<String>,
    /// Only cancel builds in these phases: new, pending, running (comma-separated or
    /// repeated). oc calls it --state; kascade's --state is the state directory.
    #[arg(
        long,
        value_name = "PHASE",
        value_delimiter = ',',
        default_value = "new,pending,running"
    )]
    phase: Vec<String>,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

/// What the user named, resolved to builds.
enum Target {
    /// A build named on the command line.
    Build(String),
    /// A BuildConfig: its builds.
    Config(String),
}

fn parse_target(arg: &str) -> anyhow::Result<Target> {
    let Some((kind, name)) = arg.split_once('/') else {
        return Ok(Target::Build(arg.trim().to_string()));
    };
    let name = name.trim().to_string();
    if name.is_empty() {
        bail!("{arg:?} names no object (build/NAME or bc/NAME)");
    }
    match kind.to_ascii_lowercase().as_str() {
        "build" | "builds" | "build.build.openshift.io" | "builds.build.openshift.io" => {
            Ok(Target::Build(name))
        }
        "bc"
        | "buildconfig"
        | "buildconfigs"
        | "buildconfig.build.openshift.io"
        | "buildconfigs.build.openshift.io" => Ok(Target::Config(name)),
        other => bail!(
            "invalid resource provided: {other:?} (cancel-build takes builds, NAME or build/NAME, and build configs, bc/NAME)"
        ),
    }
}

fn build_key(ns: &str, name: &str) -> ResourceKey {
    ResourceKey::new("build.openshift.io", "Build", ns, name)
}

/// Whether `value` is a list of build phases (what `oc cancel-build --state` takes).
fn is_phase_list(value: &str) -> bool {
    value
        .split(',')
        .all(|p| STATES.contains(&p.trim().to_ascii_lowercase().as_str()))
}

pub fn exec(args: CancelBuildArgs) -> anyhow::Result<u8> {
    // `--state new` is oc's phase filter, but kascade's state directory: never open (and
    // create) a cluster in ./new for it.
    let dir = args.cluster.state.to_string_lossy();
    if is_phase_list(&dir) && !args.cluster.state.exists() {
        bail!(
            "--state is the state directory of the embedded cluster (there is no {dir:?}); filter builds by phase with --phase {dir}"
        );
    }
    let states: BTreeSet<String> = args
        .phase
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    if states.iter().any(|s| !STATES.contains(&s.as_str())) {
        bail!("invalid --phase flag value, must be one of 'new', 'pending', or 'running'");
    }
    let targets = args
        .targets
        .iter()
        .map(|t| parse_target(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ns = args.namespace.as_str();
    let mut cluster = wait::open_local(&args.cluster, "cancel-build")?;
    let mut errors: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let in_state = |b: &Value| states.contains(&build::phase(b).to_ascii_lowercase());

    // The builds to cancel, in the order named, each once.
    let mut chosen: Vec<String> = Vec::new();
    for target in &targets {
        match target {
            Target::Build(name) => {
                let Some(b) = cluster.get(&build_key(ns, name))? else {
                    errors.push(format!("build {ns}/{name} not found"));
                    continue;
                };
                if build::is_terminal(&b) {
                    errors.push(format!(
                        "build {ns}/{name} is already in its terminal phase: {}",
                        build::phase(&b)
                    ));
                } else if !in_state(&b) {
                    notes.push(format!(
                        "build {ns}/{name} is {}, not in --phase {}: left alone",
                        build::phase(&b),
                        states.iter().cloned().collect::<Vec<_>>().join(",")
                    ));
                } else if !chosen.contains(name) {
                    chosen.push(name.clone());
                }
            }
            Target::Config(config) => {
                let sel = Selector::parse(&format!("{}={config}", build::CONFIG_LABEL))
                    .map_err(|e| anyhow::anyhow!("buildconfig name {config:?}: {e}"))?;
                let mut builds = cluster.list("build.openshift.io", "Build", Some(ns), &sel)?;
                let bc = ResourceKey::new("build.openshift.io", "BuildConfig", ns, config);
                if builds.is_empty() && cluster.get(&bc)?.is_none() {
                    errors.push(format!("buildconfig {ns}/{config} not found"));
                    continue;
                }
                builds.sort_by_key(build::number);
                let before = chosen.len();
                for b in builds
                    .iter()
                    .filter(|b| !build::is_terminal(b) && in_state(b))
                {
                    let name = b
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    if !name.is_empty() && !chosen.contains(&name) {
                        chosen.push(name);
                    }
                }
                if chosen.len() == before {
                    notes.push(format!(
                        "buildconfig {ns}/{config} has no builds to cancel in phase {}",
                        states.iter().cloned().collect::<Vec<_>>().join(",")
                    ));
                }
            }
        }
    }

    // Mark them, all at once.
    let mut txn = cluster.begin()?;
    for name in &chosen {
        let Some(mut b) = txn.get(&build_key(ns, name))? else {
            continue;
        };
        if build::is_cancelled(&b) {
            continue;
        }
        if !b.get("status").is_some_and(Value::is_object) {
            b["status"] = json!({});
        }
        b["status"]["cancelled"] = json!(true);
        txn.update(b)?;
    }
    txn.commit()?;
    drop(cluster);

    let mut out = io::stdout().lock();
    {
        let mut err = io::stderr().lock();
        for n in &notes {
            writeln!(err, "{n}")?;
        }
    }
    for name in &chosen {
        writeln!(
            out,
            "build.build.openshift.io/{name} marked for cancellation, waiting to be cancelled"
        )?;
    }
    out.flush()?;

    // Let the build controller cancel them, and check it did.
    if !chosen.is_empty()
        && let Some(mut report) = wait::settle(&args.cluster, &args.wait)?
    {
        let cluster = wait::open_local(&args.cluster, "cancel-build")?;
        for name in &chosen {
            let phase = cluster
                .get(&build_key(ns, name))?
                .map(|b| build::phase(&b).to_string());
            match phase.as_deref() {
                Some("Cancelled") => writeln!(out, "build.build.openshift.io/{name} cancelled")?,
                Some(other) => errors.push(format!(
                    "build {ns}/{name} failed to cancel: its phase is {other}"
                )),
                None => errors.push(format!(
                    "build {ns}/{name} failed to cancel: it was deleted"
                )),
            }
        }
        // What else settling did; this command's own cancellations were printed above.
        report.activities.retain(|a| {
            !matches!(a, Activity::BuildFinished { key, phase, .. }
                if phase == "Cancelled" && key.namespace == ns && chosen.contains(&key.name))
        });
        wait::print_report(&report, &mut out)?;
    }
    out.flush()?;
    if errors.is_empty() {
        return Ok(0);
    }
    if let [only] = errors.as_slice() {
        bail!("{only}");
    }
    let mut err = io::stderr().lock();
    for e in &errors {
        writeln!(err, "error: {e}")?;
    }
    bail!("failure during the build cancellation")
}
