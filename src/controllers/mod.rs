//! The embedded cluster's controllers: what OpenShift's controller manager does for image
//! streams, builds and rollouts, run by kascade itself (DESIGN.md "Builds in the embedded
//! cluster").
//!
//! | controller | reacts to | writes |
//! |---|---|---|
//! | image streams ([`imagestreams`]) | ImageStream add/update | status tag events, import conditions |
//! | build configs ([`buildconfigs`]) | BuildConfig add/update, its input streams | `Build` objects, `status.lastVersion`, `status.imageChangeTriggers` |
//! | builds ([`build`]) | Build add/update | phases New → Running → Complete/Failed/Cancelled, the log, the output tag event |
//! | deployment configs ([`deploymentconfigs`]) | DC add/update, its input streams | trigger images, `status.latestVersion`, one ReplicationController per rollout |
//! | trigger annotations ([`annotations`]) | Deployments, StatefulSets, DaemonSets, CronJobs, their streams | container images, a pod-template annotation |
//! | workload revisions ([`workloads`]) | Deployments, StatefulSets, DaemonSets (after the trigger annotations, in the same step) | one ReplicaSet or ControllerRevision per pod template, revision numbers, `observedGeneration` |
//!
//! [`Controllers`] follows the cluster's change feed ([`LocalCluster::events_since`]): every
//! event enqueues the object's own controller and, for an ImageStream, every object whose
//! triggers name it. Each reconcile reads and writes through one [`LocalCluster::begin`]
//! transaction (slow work — git fetches, registry lookups — happens between transactions) and
//! is idempotent: reconciling a settled object writes nothing, so re-running settles to the
//! same state with the same resourceVersions. There is no global ordering, as upstream: the
//! chain progresses one hop per image push.
//!
//! Commands call [`run_until_settled`]; a daemon calls [`Controllers::reconcile_all`] once and
//! [`Controllers::step`] in its loop (and [`Controllers::enqueue_scheduled_imports`] on a timer).

pub mod annotations;
pub mod build;
pub mod buildconfigs;
pub mod conditions;
pub mod deploymentconfigs;
pub mod imagestreams;
pub mod workloads;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde_json::Value;

use crate::cluster::{ClusterError, EventType, LocalCluster, Selector, WatchEvent};
use crate::images::registry::RegistryClient;
use crate::resource::ResourceKey;

/// A controller failure.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The cluster store failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The controllers kept changing the cluster past the step bound.
    #[error(
        "the cluster did not settle within {steps} controller steps; still changing: {}{}",
        .pending.join(", "),
        if .pending.is_empty() { "" } else { " (a build whose output feeds its own input? `kascade graph` shows cycles)" }
    )]
    NotSettled {
        /// Steps taken.
        steps: usize,
        /// The objects still queued.
        pending: Vec<String>,
    },
}

/// How the controllers run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bound on reconciles per run; `None` is 1,000 plus 20 per controlled object.
    pub max_steps: Option<usize>,
    /// Scheduled imports re-check a tag at most this often (upstream's
    /// `scheduledImageImportMinimumIntervalSeconds`, 900 s).
    pub scheduled_interval: Duration,
    /// At most this many scheduled stream imports a minute (upstream's
    /// `maxScheduledImageImportsPerMinute`, 60).
    pub max_scheduled_imports_per_minute: u32,
    /// Timeout of each registry request.
    pub registry_timeout: Duration,
    /// Credentials for fetching build sources (none by default: public https, file://,
    /// local paths, ssh with the agent's keys).
    pub git_auth: crate::source::Auth,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_steps: None,
            scheduled_interval: imagestreams::DEFAULT_SCHEDULED_INTERVAL,
            max_scheduled_imports_per_minute:
                imagestreams::DEFAULT_MAX_SCHEDULED_IMPORTS_PER_MINUTE,
            registry_timeout: Duration::from_secs(15),
            git_auth: crate::source::Auth::default(),
        }
    }
}

/// Something a controller did, for progress and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// A tag was imported.
    Imported {
        /// `ns/stream:tag`.
        tag: String,
        /// The digest-pinned reference.
        reference: String,
    },
    /// An import failed.
    ImportFailed {
        /// `ns/stream:tag`.
        tag: String,
        /// The cause.
        message: String,
    },
    /// A build was created.
    BuildCreated {
        /// The Build.
        key: ResourceKey,
        /// Why (the causes' messages).
        cause: String,
    },
    /// A build started running.
    BuildRunning {
        /// The Build.
        key: ResourceKey,
    },
    /// A build finished.
    BuildFinished {
        /// The Build.
        key: ResourceKey,
        /// `Complete`, `Failed` or `Cancelled`.
        phase: String,
        /// The output image, or the failure reason and message.
        detail: String,
    },
    /// A workload's container image was set by a trigger.
    ImageUpdated {
        /// The workload.
        key: ResourceKey,
        /// The container.
        container: String,
        /// The new image.
        image: String,
    },
    /// A DeploymentConfig rolled out.
    RolledOut {
        /// The DeploymentConfig.
        key: ResourceKey,
        /// The new `status.latestVersion`.
        version: i64,
        /// Why.
        cause: String,
    },
    /// A trigger or object is invalid; the condition on the object says so.
    Problem {
        /// The object at fault.
        key: ResourceKey,
        /// The message.
        message: String,
    },
}

impl Activity {
    /// One line for people.
    pub fn line(&self) -> String {
        let name = |k: &ResourceKey| format!("{} -n {}", k.kubectl_name(), k.namespace);
        match self {
            Activity::Imported { tag, reference } => format!("imported {tag} as {reference}"),
            Activity::ImportFailed { tag, message } => format!("import of {tag} failed: {message}"),
            Activity::BuildCreated { key, cause } => format!("{} new ({cause})", name(key)),
            Activity::BuildRunning { key } => format!("{} running", name(key)),
            Activity::BuildFinished { key, phase, detail } => {
                format!("{} {} ({detail})", name(key), phase.to_ascii_lowercase())
            }
            Activity::ImageUpdated {
                key,
                container,
                image,
            } => format!("{} container {container} image set to {image}", name(key)),
            Activity::RolledOut {
                key,
                version,
                cause,
            } => format!("{} rolled out version {version} ({cause})", name(key)),
            Activity::Problem { key, message } => format!("{}: {message}", name(key)),
        }
    }
}

/// Sees what the controllers do as they do it (progress bars, logs).
pub trait Observer {
    /// Called for every activity.
    fn activity(&mut self, activity: &Activity);
    /// Called after every reconcile with the steps taken and the items still queued.
    fn progress(&mut self, steps: usize, pending: usize) {
        let _ = (steps, pending);
    }
    /// Called with each line of a build's log as the executor writes it (the whole log is
    /// also kept in the Build's `status.log`).
    fn build_log(&mut self, build: &ResourceKey, line: &str) {
        let _ = (build, line);
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn activity(&mut self, _: &Activity) {}
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Reconciles run.
    pub steps: usize,
    /// Everything that happened, in order.
    pub activities: Vec<Activity>,
}

impl Report {
    /// The builds that finished, with their phase.
    pub fn finished_builds(&self) -> Vec<(&ResourceKey, &str)> {
        self.activities
            .iter()
            .filter_map(|a| match a {
                Activity::BuildFinished { key, phase, .. } => Some((key, phase.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The rollouts, with their version.
    pub fn rollouts(&self) -> Vec<(&ResourceKey, i64)> {
        self.activities
            .iter()
            .filter_map(|a| match a {
                Activity::RolledOut { key, version, .. } => Some((key, *version)),
                _ => None,
            })
            .collect()
    }
}

/// A unit of controller work: one object for one controller.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Item {
    Stream(ResourceKey),
    BuildConfig(ResourceKey),
    Build(ResourceKey),
    DeploymentConfig(ResourceKey),
    Workload(ResourceKey),
}

impl Item {
    fn key(&self) -> &ResourceKey {
        match self {
            Item::Stream(k)
            | Item::BuildConfig(k)
            | Item::Build(k)
            | Item::DeploymentConfig(k)
            | Item::Workload(k) => k,
        }
    }

    /// The item for an object of this key's kind, if a controller handles the kind.
    fn for_key(key: &ResourceKey) -> Option<Item> {
        let k = key.clone();
        Some(match (key.group.as_str(), key.kind.as_str()) {
            ("image.openshift.io", "ImageStream") => Item::Stream(k),
            ("build.openshift.io", "BuildConfig") => Item::BuildConfig(k),
            ("build.openshift.io", "Build") => Item::Build(k),
            ("apps.openshift.io", "DeploymentConfig") => Item::DeploymentConfig(k),
            ("apps", "Deployment" | "StatefulSet" | "DaemonSet") | ("batch", "CronJob") => {
                Item::Workload(k)
            }
            _ => return None,
        })
    }
}

/// The kinds the controllers watch, as (group, kind).
pub const WATCHED: &[(&str, &str)] = &[
    ("image.openshift.io", "ImageStream"),
    ("build.openshift.io", "BuildConfig"),
    ("build.openshift.io", "Build"),
    ("apps.openshift.io", "DeploymentConfig"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "CronJob"),
];

/// Shared state a reconcile needs besides the cluster.
pub struct Context {
    /// The registry client for imports.
    pub registry: RegistryClient,
    /// Build sources, fetched once per pass into the state directory's git cache.
    pub sources: crate::source::Fetcher,
    /// The options.
    pub options: Options,
    /// The scheduled-import rate limit.
    pub(crate) scheduled_limiter: imagestreams::ImportLimiter,
    activities: Vec<Activity>,
}

impl Context {
    pub(crate) fn record(&mut self, a: Activity) {
        self.activities.push(a);
    }
}

/// Now in seconds since the epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The controllers, their queue, their position in the change feed and their index of which
/// objects follow which ImageStream.
pub struct Controllers {
    ctx: Context,
    position: u64,
    queue: VecDeque<Item>,
    queued: HashSet<Item>,
    /// `(namespace, stream)` → items whose triggers name it.
    followers: HashMap<(String, String), BTreeSet<Item>>,
    /// item → the streams it follows (to update `followers`).
    follows: HashMap<Item, Vec<(String, String)>>,
    /// resourceVersions written by a reconcile, with the item that wrote them.
    own_writes: HashMap<u64, Item>,
}

impl Controllers {
    /// Controllers for the cluster at `cluster`'s path (git sources are cached beside it).
    pub fn new(cluster: &LocalCluster, options: Options) -> Self {
        let state_dir = cluster
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        Controllers {
            ctx: Context {
                registry: RegistryClient::new(options.registry_timeout),
                sources: crate::source::Fetcher::new(state_dir, options.git_auth.clone()),
                scheduled_limiter: imagestreams::ImportLimiter::new(
                    options.max_scheduled_imports_per_minute,
                ),
                options,
                activities: Vec::new(),
            },
            position: 0,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            followers: HashMap::new(),
            follows: HashMap::new(),
            own_writes: HashMap::new(),
        }
    }

    fn enqueue(&mut self, item: Item) {
        if self.queued.insert(item.clone()) {
            self.queue.push_back(item);
        }
    }

    /// Records which streams `item`'s object follows.
    fn index(&mut self, item: &Item, object: Option<&Value>) {
        if let Some(old) = self.follows.remove(item) {
            for s in old {
                if let Some(set) = self.followers.get_mut(&s) {
                    set.remove(item);
                }
            }
        }
        let Some(object) = object else { return };
        let streams = match item {
            Item::BuildConfig(_) => buildconfigs::followed_streams(object),
            Item::DeploymentConfig(_) => deploymentconfigs::followed_streams(object),
            Item::Workload(_) => annotations::followed_streams(object),
            _ => Vec::new(),
        };
        for s in &streams {
            self.followers
                .entry(s.clone())
                .or_default()
                .insert(item.clone());
        }
        if !streams.is_empty() {
            self.follows.insert(item.clone(), streams);
        }
    }

    /// Routes one change-feed event to the items it concerns.
    fn route(&mut self, ev: &WatchEvent) {
        let Ok(key) = ResourceKey::of(&ev.object) else {
            return;
        };
        let Some(item) = Item::for_key(&key) else {
            return;
        };
        let deleted = ev.kind == EventType::Deleted;
        if !matches!(item, Item::Stream(_) | Item::Build(_)) {
            self.index(&item, (!deleted).then_some(&ev.object));
        }
        if let Item::Stream(k) = &item {
            let followers: Vec<Item> = self
                .followers
                .get(&(k.namespace.clone(), k.name.clone()))
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            for f in followers {
                self.enqueue(f);
            }
        }
        let own = self.own_writes.remove(&ev.resource_version).as_ref() == Some(&item);
        if !deleted && !own {
            self.enqueue(item);
        }
    }

    /// Lists every watched object and queues it: the level-triggered start of a run, so
    /// nothing missed while no controller ran (a `--no-wait` command, a feed trimmed past
    /// its window) is lost. Also moves the feed position to now.
    pub fn resync(&mut self, cluster: &LocalCluster) -> Result<usize, ControllerError> {
        self.position = cluster.resource_version()?;
        let mut count = 0;
        for (group, kind) in WATCHED {
            for o in cluster.list(group, kind, None, &Selector::everything())? {
                let Ok(key) = ResourceKey::of(&o) else {
                    continue;
                };
                let Some(item) = Item::for_key(&key) else {
                    continue;
                };
                if let Item::Build(_) = item
                    && build::is_terminal(&o)
                {
                    continue;
                }
                if let Item::Workload(k) = &item
                    && !annotations::has_triggers(&o)
                    && !workloads::records(k)
                {
                    continue;
                }
                self.index(&item, Some(&o));
                self.enqueue(item);
                count += 1;
            }
        }
        Ok(count)
    }

    /// Queues the ImageStreams with a scheduled import that is due now, the longest-due first
    /// (a digest reference counts only until it has been imported once), as many as the
    /// `max_scheduled_imports_per_minute` limiter has tokens for; each reconcile takes one.
    /// Streams left out stay due and are queued by a later call. Returns how many were
    /// queued.
    pub fn enqueue_scheduled_imports(
        &mut self,
        cluster: &LocalCluster,
    ) -> Result<usize, ControllerError> {
        let now = crate::cluster::local::now_rfc3339();
        let clock = crate::images::stream::Clock {
            now: &now,
            now_secs: now_secs(),
            scheduled_interval: self.ctx.options.scheduled_interval.as_secs(),
            scheduled: true,
        };
        let mut due = Vec::new();
        for s in cluster.list(
            "image.openshift.io",
            "ImageStream",
            None,
            &Selector::everything(),
        )? {
            let at = crate::images::stream::next_scheduled_import(&s, &clock);
            if let Some(at) = at.filter(|at| *at <= clock.now_secs)
                && let Ok(key) = ResourceKey::of(&s)
            {
                due.push((at, key));
            }
        }
        due.sort();
        // Queue no more than the limiter would grant now: the rest stay due for next time.
        let available = self
            .ctx
            .scheduled_limiter
            .available(std::time::Instant::now());
        due.truncate(usize::try_from(available).unwrap_or(usize::MAX));
        let count = due.len();
        for (_, key) in due {
            self.enqueue(Item::Stream(key));
        }
        Ok(count)
    }

    /// Follows the change feed from the last position and queues what it names.
    pub fn follow_feed(&mut self, cluster: &LocalCluster) -> Result<(), ControllerError> {
        loop {
            let events = cluster.events_since(self.position, 10_000)?;
            let Some(last) = events.last() else { break };
            self.position = last.resource_version;
            for ev in &events {
                self.route(ev);
            }
        }
        self.own_writes.clear();
        Ok(())
    }

    /// Runs one queued reconcile, if any; returns whether there was one.
    pub fn step(
        &mut self,
        cluster: &mut LocalCluster,
        observer: &mut dyn Observer,
    ) -> Result<bool, ControllerError> {
        if self.queue.is_empty() {
            self.follow_feed(cluster)?;
        }
        let Some(item) = self.queue.pop_front() else {
            return Ok(false);
        };
        self.queued.remove(&item);
        let written = match &item {
            Item::Stream(k) => imagestreams::reconcile(cluster, &mut self.ctx, k)?,
            Item::BuildConfig(k) => buildconfigs::reconcile(cluster, &mut self.ctx, k)?,
            Item::Build(k) => build::reconcile(cluster, &mut self.ctx, k, observer)?,
            Item::DeploymentConfig(k) => deploymentconfigs::reconcile(cluster, &mut self.ctx, k)?,
            Item::Workload(k) => {
                // The trigger sets the images first, so one image change makes one revision.
                let mut written = annotations::reconcile(cluster, &mut self.ctx, k)?;
                written.extend(workloads::reconcile(cluster, &mut self.ctx, k)?);
                written
            }
        };
        for rv in written {
            self.own_writes.insert(rv, item.clone());
        }
        for a in self.ctx.activities.drain(..) {
            observer.activity(&a);
        }
        Ok(true)
    }

    /// Runs reconciles until nothing is queued and the feed has nothing new, at most
    /// `max_steps`.
    pub fn settle(
        &mut self,
        cluster: &mut LocalCluster,
        max_steps: usize,
        observer: &mut dyn Observer,
    ) -> Result<Report, ControllerError> {
        let mut report = Report::default();
        let mut recorder = Recorder {
            inner: observer,
            activities: &mut report.activities,
        };
        loop {
            if self.queue.is_empty() {
                self.follow_feed(cluster)?;
                if self.queue.is_empty() {
                    break;
                }
            }
            if report.steps >= max_steps {
                let mut pending: Vec<String> = self
                    .queue
                    .iter()
                    .map(|i| format!("{} -n {}", i.key().kubectl_name(), i.key().namespace))
                    .collect();
                pending.sort();
                pending.dedup();
                pending.truncate(20);
                return Err(ControllerError::NotSettled {
                    steps: report.steps,
                    pending,
                });
            }
            self.step(cluster, &mut recorder)?;
            report.steps += 1;
            recorder.inner.progress(report.steps, self.queue.len());
        }
        Ok(report)
    }

    /// Queues everything and settles: what a command runs after changing the cluster.
    pub fn reconcile_all(
        &mut self,
        cluster: &mut LocalCluster,
        observer: &mut dyn Observer,
    ) -> Result<Report, ControllerError> {
        self.ctx.sources.new_pass();
        let count = self.resync(cluster)?;
        let max = self.ctx.options.max_steps.unwrap_or(1000 + 20 * count);
        self.settle(cluster, max, observer)
    }

    /// Starts a new pass: git sources are fetched again when next used.
    pub fn new_pass(&mut self) {
        self.ctx.sources.new_pass();
    }
}

struct Recorder<'a> {
    inner: &'a mut dyn Observer,
    activities: &'a mut Vec<Activity>,
}

impl Observer for Recorder<'_> {
    fn activity(&mut self, activity: &Activity) {
        self.inner.activity(activity);
        self.activities.push(activity.clone());
    }
    fn progress(&mut self, steps: usize, pending: usize) {
        self.inner.progress(steps, pending);
    }
    fn build_log(&mut self, build: &ResourceKey, line: &str) {
        self.inner.build_log(build, line);
    }
}

/// Runs every controller until the cluster settles (nothing left to do), bounded by
/// `options.max_steps`: what `sync`, `tag`, `import-image`, `start-build` and `rollout` run
/// on the embedded cluster before they return.
pub fn run_until_settled(
    cluster: &mut LocalCluster,
    options: &Options,
    observer: &mut dyn Observer,
) -> Result<Report, ControllerError> {
    let mut c = Controllers::new(cluster, options.clone());
    c.reconcile_all(cluster, observer)
}

/// The resourceVersion of a stored object as a number.
pub(crate) fn rv(object: &Value) -> u64 {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `metadata.annotations[key]`.
pub(crate) fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// The string at a JSON pointer.
pub(crate) fn str_at<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}
