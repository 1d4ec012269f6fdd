//! `kascade start-build`: `oc start-build` on the embedded cluster.

use std::io::{self, Write};

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::cluster::{Backend, ClusterArgs};
use super::wait::{self, WaitArgs};
use crate::controllers::buildconfigs;
use crate::controllers::{Activity, Observer, build};
use crate::resource::ResourceKey;

pub const EXAMPLES: &str = "Examples:
  # Build httpd-base from the head of its ref; app-a and app-b rebuild after it
  kascade start-build httpd-base -n lab

  # Which builds and rollouts starting httpd-base would set off, starting nothing
  kascade start-build httpd-base -n lab --dry-run

  # On OpenShift: ask the platform to build (the BuildConfig's instantiate subresource)
  kascade start-build httpd-base -n lab --cluster kube

  # Build a given commit and print the build's log as it runs
  kascade start-build app-a --commit 3f2a91c --follow -n lab

  # Queue a build without running it (the next command, or `kascade run`, runs it)
  kascade start-build app-a --no-wait -n lab

Exit codes: 0 the build completed (or --no-wait), 2 it failed, was cancelled or could not
start.";

/// Arguments of `kascade start-build`.
#[derive(Debug, Args)]
pub struct StartBuildArgs {
    /// The BuildConfig.
    #[arg(value_name = "BUILDCONFIG")]
    name: String,
    /// Print the build's log as it runs (only this build's, not the builds it triggers).
    #[arg(short = 'F', long, conflicts_with = "no_wait")]
    follow: bool,
    /// Build this commit instead of the head of the BuildConfig's ref.
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    /// Start nothing; print which builds would run, in which order (this one and every build
    /// its output triggers), and which workloads would roll out.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

pub fn exec(args: StartBuildArgs) -> anyhow::Result<u8> {
    let name = args
        .name
        .strip_prefix("bc/")
        .or_else(|| args.name.strip_prefix("buildconfig/"))
        .unwrap_or(&args.name)
        .to_string();
    if args.dry_run {
        let cluster = args.cluster.open()?;
        let mut out = io::stdout().lock();
        writeln!(out, "would start a build of buildconfig/{name} (dry run)")?;
        super::graph::print_cascade_plan(
            cluster.as_ref(),
            &[format!("bc/{name}")],
            &args.namespace,
            &mut out,
        )?;
        return Ok(0);
    }
    if args.cluster.backend == Backend::Kube {
        // On OpenShift the platform builds: ask it to, and leave the rest to it.
        if args.follow {
            bail!(
                "--follow needs the embedded cluster; on --cluster kube use `oc logs -f build/NAME`"
            );
        }
        let mut cluster = args.cluster.open()?;
        let b = cluster.instantiate_build(&args.namespace, &name, args.commit.as_deref())?;
        let key = ResourceKey::of(&b)?;
        writeln!(
            io::stdout().lock(),
            "build.build.openshift.io/{} started",
            key.name
        )?;
        return Ok(0);
    }
    let mut cluster = wait::open_local(&args.cluster, "start-build")?;
    let b =
        buildconfigs::start_build(&mut cluster, &args.namespace, &name, args.commit.as_deref())?;
    drop(cluster);
    let key = ResourceKey::of(&b)?;
    let mut out = io::stdout().lock();
    writeln!(out, "build.build.openshift.io/{} started", key.name)?;
    out.flush()?;
    // With --follow, the build's log lines are printed as the executor writes them.
    let mut follow = Follow {
        build: key.clone(),
        out: &mut out,
        lines: 0,
        error: None,
    };
    let observer: Option<&mut dyn Observer> = if args.follow { Some(&mut follow) } else { None };
    let report = wait::settle_with(&args.cluster, &args.wait, observer)?;
    if let Some(e) = follow.error {
        return Err(e.into());
    }
    let streamed = follow.lines;
    let Some(report) = report else {
        return Ok(0);
    };
    let cluster = wait::open_local(&args.cluster, "start-build")?;
    let b = cluster.get(&key)?.unwrap_or(Value::Null);
    if args.follow && streamed == 0 {
        // Another process (`kascade run`) ran the build: print the log it recorded.
        out.write_all(
            b.pointer("/status/log")
                .and_then(Value::as_str)
                .unwrap_or("")
                .as_bytes(),
        )?;
    }
    wait::print_report(&report, &mut out)?;
    out.flush()?;
    if build::phase(&b) != "Complete" && !b.is_null() {
        bail!(
            "build {} {} ({}): {}",
            key.name,
            build::phase(&b).to_ascii_lowercase(),
            b.pointer("/status/reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
            b.pointer("/status/message")
                .and_then(Value::as_str)
                .unwrap_or("")
        );
    }
    Ok(0)
}

/// Prints the log lines of one build as the executor writes them, and nothing else.
struct Follow<'a> {
    build: ResourceKey,
    out: &'a mut dyn Write,
    lines: usize,
    /// A failed write (a closed pipe): printing stops, the controllers go on.
    error: Option<io::Error>,
}

impl Observer for Follow<'_> {
    fn activity(&mut self, _: &Activity) {}

    fn build_log(&mut self, build: &ResourceKey, line: &str) {
        if *build != self.build || self.error.is_some() {
            return;
        }
        self.lines += 1;
        if let Err(e) = writeln!(self.out, "{line}").and_then(|()| self.out.flush()) {
            self.error = Some(e);
        }
    }
}
