//! The controllers of the embedded cluster in `kascade run`'s loop: image triggers, scheduled
//! imports, builds and rollouts (see [`crate::controllers`]), and builds started by webhook
//! pushes. One connection to the state directory's cluster and one [`controllers::Controllers`]
//! (queue, feed position, trigger index) are kept between passes.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::json;

use super::{BuildRequest, ControllerError, Controllers};
use crate::cluster::LocalCluster;
use crate::controllers::{self, Options, Quiet, buildconfigs};

/// The default time between controller passes (scheduled imports are checked then).
pub const DEFAULT_CONTROLLER_INTERVAL: Duration = Duration::from_secs(5);

/// How many reconciles one pass runs at most before it reports the cluster as not settled.
const MAX_STEPS_PER_PASS: usize = 10_000;

/// The embedded cluster's controllers as the daemon's [`Controllers`].
pub struct EmbeddedControllers {
    state: PathBuf,
    interval: Duration,
    options: Options,
    inner: Mutex<Option<Running>>,
}

struct Running {
    cluster: LocalCluster,
    controllers: controllers::Controllers,
}

impl std::fmt::Debug for EmbeddedControllers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedControllers")
            .field("state", &self.state)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn fail(e: impl std::fmt::Display) -> ControllerError {
    ControllerError(e.to_string())
}

impl EmbeddedControllers {
    /// Controllers of the embedded cluster in `state`, a pass every `interval` (besides the
    /// passes after syncs that wrote and after webhook builds).
    pub fn new(state: impl Into<PathBuf>, interval: Duration) -> Self {
        EmbeddedControllers {
            state: state.into(),
            interval,
            options: Options::default(),
            inner: Mutex::new(None),
        }
    }

    /// Runs the controllers with `options` (scheduled-import interval and rate limit,
    /// registry timeout) instead of the defaults.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The controllers, started (cluster opened, everything queued) on first use.
    fn running(&self) -> Result<MutexGuard<'_, Option<Running>>, ControllerError> {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let mut cluster = LocalCluster::open(&self.state).map_err(|e| {
                ControllerError(format!(
                    "cannot open the embedded cluster in {}: {e}",
                    self.state.display()
                ))
            })?;
            let mut c = controllers::Controllers::new(&cluster, self.options.clone());
            c.reconcile_all(&mut cluster, &mut Quiet).map_err(fail)?;
            *guard = Some(Running {
                cluster,
                controllers: c,
            });
        }
        Ok(guard)
    }
}

impl Controllers for EmbeddedControllers {
    fn interval(&self) -> Option<Duration> {
        Some(self.interval)
    }

    fn run(&self) -> Result<(), ControllerError> {
        let mut guard = self.running()?;
        let Some(r) = guard.as_mut() else {
            return Ok(());
        };
        r.controllers.new_pass();
        let pass = r
            .controllers
            .enqueue_scheduled_imports(&r.cluster)
            .and_then(|_| {
                r.controllers
                    .settle(&mut r.cluster, MAX_STEPS_PER_PASS, &mut Quiet)
            });
        if let Err(e) = pass {
            // Start over next time: reopen, requeue everything.
            *guard = None;
            return Err(fail(e));
        }
        Ok(())
    }

    fn start_build(&self, request: &BuildRequest) -> Result<(), ControllerError> {
        let mut guard = self.running()?;
        let Some(r) = guard.as_mut() else {
            return Ok(());
        };
        let mut cause = json!({"message": request.cause});
        let hook = if request.cause.starts_with("GitHub") {
            "githubWebHook"
        } else {
            "genericWebHook"
        };
        cause[hook] = json!({"revision": {"git": {
            "commit": request.commit,
            "ref": request.reference,
        }}});
        let build = buildconfigs::start_build_with_cause(
            &mut r.cluster,
            &request.namespace,
            &request.name,
            request.commit.as_deref(),
            cause,
        )
        .map_err(fail)?;
        tracing::info!(
            buildconfig = %format!("{}/{}", request.namespace, request.name),
            build = build.pointer("/metadata/name").and_then(serde_json::Value::as_str).unwrap_or("-"),
            cause = %request.cause,
            "build started"
        );
        Ok(())
    }
}
