//! The command line: clap definitions, one file per command, each calling the library.
//!
//! The only module that uses clap and anyhow. Exit codes: 0 success, 1 differences found
//! (diff), 2 error. Errors print as `error: <message>` on stderr.

mod cancel_build;
pub mod cluster;
mod delete;
mod describe;
mod get;
mod graph;
mod import_image;
mod logs;
mod new_app;
mod objects;
mod output;
mod process;
pub mod progress;
mod render;
mod rollout;
mod run;
mod settle;
mod start_build;
mod status;
mod sync;
mod tag;
mod target;
pub mod wait;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kascade keeps a cluster in step with a Git repository of OpenShift-style templates.
#[derive(Debug, Parser)]
#[command(name = "kascade", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  kascade process --list\n  kascade process base-image-example -p GIT_URL=https://example.com/repo.git\n  kascade render examples/base-image/apps -o yaml"
)]
pub struct Args {
    /// Log level filter (error, warn, info, debug, trace), or KASCADE_LOG [default: warn;
    /// info for run].
    #[arg(long, global = true, env = "KASCADE_LOG")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Process an OpenShift Template into a List of objects, as `oc process --local` does.
    #[command(after_help = process::EXAMPLES)]
    Process(process::ProcessArgs),
    /// Render a directory (or file) of manifests and templates into one resource set.
    #[command(after_help = render::EXAMPLES)]
    Render(render::RenderArgs),
    /// Apply apps to the embedded cluster: create, update and (with --prune) delete.
    #[command(after_help = sync::SYNC_EXAMPLES)]
    Sync(sync::SyncArgs),
    /// Show what a sync would change, as unified YAML diffs (exit 1 when anything differs).
    #[command(after_help = sync::DIFF_EXAMPLES)]
    Diff(sync::DiffArgs),
    /// Point ImageStream tags at an image, another tag, or an external image (`oc tag`).
    #[command(after_help = tag::EXAMPLES)]
    Tag(tag::TagArgs),
    /// Import an external image into an ImageStream tag (`oc import-image`).
    #[command(name = "import-image", after_help = import_image::EXAMPLES)]
    ImportImage(import_image::ImportImageArgs),
    /// Start a build of a BuildConfig on the embedded cluster (`oc start-build`).
    #[command(name = "start-build", after_help = start_build::EXAMPLES)]
    StartBuild(start_build::StartBuildArgs),
    /// Cancel new, pending or running builds on the embedded cluster (`oc cancel-build`).
    #[command(name = "cancel-build", after_help = cancel_build::EXAMPLES)]
    CancelBuild(cancel_build::CancelBuildArgs),
    /// Print a build's log.
    #[command(after_help = logs::EXAMPLES)]
    Logs(logs::LogsArgs),
    /// Roll out, list, roll back or restart DeploymentConfigs, Deployments, StatefulSets and DaemonSets.
    #[command(after_help = rollout::EXAMPLES)]
    Rollout(rollout::RolloutArgs),
    /// Instantiate a template as one app, as `oc new-app --template` does.
    #[command(name = "new-app", after_help = new_app::EXAMPLES)]
    NewApp(new_app::NewAppArgs),
    /// List objects of the cluster in the table shape of `oc get` (or follow changes).
    #[command(after_help = get::EXAMPLES)]
    Get(get::GetArgs),
    /// Delete objects from the cluster.
    #[command(after_help = delete::EXAMPLES)]
    Delete(delete::DeleteArgs),
    /// Show one object in detail, with its recent changes.
    #[command(after_help = describe::EXAMPLES)]
    Describe(describe::DescribeArgs),
    /// Keep every app in sync: interval syncs, webhooks, health and metrics over HTTP.
    #[command(after_help = run::EXAMPLES)]
    Run(run::RunArgs),
    /// Show every app's revision, last sync, result and drift, from the state.
    #[command(after_help = status::EXAMPLES)]
    Status(status::StatusArgs),
    /// Show the image-trigger graph (tree, DOT, JSON, SVG) and what a tag change would rebuild.
    #[command(after_help = graph::EXAMPLES)]
    Graph(graph::GraphArgs),
}

/// Runs kascade with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let default_log = if matches!(args.command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(args.log.as_deref().unwrap_or(default_log));
    let result = match args.command {
        Command::Process(a) => process::exec(a),
        Command::Render(a) => render::exec(a),
        Command::Sync(a) => sync::exec_sync(a),
        Command::Diff(a) => sync::exec_diff(a),
        Command::Tag(a) => tag::exec(a),
        Command::ImportImage(a) => import_image::exec(a),
        Command::StartBuild(a) => start_build::exec(a),
        Command::CancelBuild(a) => cancel_build::exec(a),
        Command::Logs(a) => logs::exec(a),
        Command::Rollout(a) => rollout::exec(a),
        Command::NewApp(a) => new_app::exec(a),
        Command::Get(a) => get::exec(a),
        Command::Delete(a) => delete::exec(a),
        Command::Describe(a) => describe::exec(a),
        Command::Run(a) => run::exec(a),
        Command::Status(a) => status::exec(a),
        Command::Graph(a) => graph::exec(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = io::stderr().lock();
            let _ = writeln!(stderr, "error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Prints a warning line on stderr.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "warning: {message}");
}
