//! A real Kubernetes or OpenShift cluster as a [`Cluster`]: kubeconfig, discovery,
//! server-side apply. The only module of kascade that names the `kube` crate.
//!
//! # Connecting
//!
//! [`KubeCluster::connect`] reads kubeconfig the way kubectl does (`KUBECONFIG`, a list of
//! files merged, or `~/.kube/config`) and uses its current context, or the one given
//! (`--context`).
//!
//! # Blocking
//!
//! The [`Cluster`] trait is blocking. This backend owns a small current-thread tokio runtime
//! and drives every request with `block_on`. Callers inside async code must therefore call it
//! from a blocking thread (`tokio::task::spawn_blocking`): `block_on` inside a runtime panics.
//!
//! # Kinds
//!
//! Discovery (`/api`, `/apis`, `/apis/GROUP/VERSION`) maps a (group, kind) to its resource:
//! plural, served version, namespaced or not. Groups are discovered lazily, the first time one
//! of their kinds is needed, and cached for the life of the backend. The version used is the
//! object's own when the cluster serves it, else the group's preferred version that serves the
//! kind. OpenShift's legacy `apiVersion: v1` kinds (DeploymentConfig, BuildConfig,
//! ImageStream, Route, Template, …) are looked up in their groups, as `oc` does. A kind the
//! cluster does not serve is an error naming the kind and the cluster; reading an object of
//! such a kind finds nothing (so a CustomResourceDefinition and its objects can be synced
//! together: the objects are applied after the definition, once the server serves the kind).
//!
//! # Writes
//!
//! A [`Change`] is applied write by write, in its order, with server-side apply (field manager
//! `kascade`, `force=true`) for creates and updates and a `resourceVersion` precondition for
//! deletes. Consecutive writes of the same kind-order rank (and the same direction: applies or
//! deletes) run together, at most [`CONCURRENCY`] at once; a rank only starts when the one
//! before it has finished, so Namespaces and CRDs exist before what lives in them, and prunes
//! keep their reverse order.
//!
//! Why `force=true`: kascade is the source of truth for the fields it declares, as Argo CD
//! and Flux are with server-side apply. Without force, a field someone changed with
//! `kubectl edit` or `oc set` (another field manager) would be a conflict that blocks every
//! later sync until a person resolves it; with force kascade takes those fields back. Fields
//! kascade does not declare stay with their managers, and fields kascade declared before and
//! no longer does are removed by the server (that is what the field manager's record is for).
//!
//! Updates are not made conditional on the resourceVersion the plan saw: on a real cluster
//! controllers update `status` (and so the resourceVersion) all the time, and a precondition
//! would make syncs fail for no reason; server-side apply merges field by field instead.
//! Fields owned by image triggers (a DeploymentConfig's ImageChange trigger, the
//! `image.openshift.io/triggers` annotation) are applied with the value the trigger set, so a
//! sync never resets an image to the template's `app:latest` and never starts a rollout by
//! itself.
//!
//! **Not transactional.** Unlike the embedded cluster, a real cluster cannot apply a whole
//! sync atomically. On the first failure kascade stops, applies nothing after it, records the
//! inventory of what was applied (so prune still knows those objects) and reports the object
//! and the server's message.
//!
//! # Inventories
//!
//! Each app's inventory (revision, sync time, members with their resourceVersions; no
//! applied bodies) is a ConfigMap `kascade-inventory-<app>` and its status a ConfigMap
//! `kascade-status-<app>`, both in the inventory namespace (`kascade-system` unless
//! configured), which is created when missing. A ConfigMap holds at most 1 MiB, about 9,000
//! members; no applied bodies are stored. [`Cluster::last_applied`] is read from the server's
//! own record of what kascade applied (the `kascade` entry of `metadata.managedFields`), so a
//! field dropped from a manifest is planned as a removal — the removal the server makes when
//! the next apply no longer declares it. [`Cluster::dry_run_apply`] asks the server what it
//! would store (`dryRun=All`).
//!
//! The change feed ([`Cluster::events_since`]) is not offered: on a real cluster the
//! platform runs the controllers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Request;
use kube::core::params::{
    DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams, Preconditions,
};
use serde_json::{Map, Value, json};

use super::{Change, Cluster, ClusterError, Inventory, InventoryUpdate, Selector, Write};
use crate::resource::{ResourceKey, gvk, order};

/// The field manager kascade applies as.
pub const FIELD_MANAGER: &str = "kascade";
/// Where inventories and app statuses live unless configured otherwise.
pub const DEFAULT_INVENTORY_NAMESPACE: &str = "kascade-system";
/// How many requests of one step run at once.
pub const CONCURRENCY: usize = 16;
/// The label naming the app an inventory or status ConfigMap belongs to.
pub const INVENTORY_LABEL: &str = "app.kascade.dev/inventory";
const STATUS_LABEL: &str = "app.kascade.dev/status";
const INVENTORY_KEY: &str = "inventory.json";
const STATUS_KEY: &str = "status.json";
const LIST_PAGE: u32 = 500;
/// How long to wait for a CustomResourceDefinition applied in the same change to be served.
const CRD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// A kubeconfig file to read instead of `KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context; `None` for the current one.
    pub context: Option<String>,
    /// Where inventories live; `None` for [`DEFAULT_INVENTORY_NAMESPACE`].
    pub inventory_namespace: Option<String>,
}

/// One API resource as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    /// The group (`""` for core).
    pub group: String,
    /// The served version used.
    pub version: String,
    /// The kind.
    pub kind: String,
    /// The plural name in URLs.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl ApiResource {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn base(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection URL, in `namespace` for namespaced kinds.
    fn collection(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => {
                format!("{}/namespaces/{ns}/{}", self.base(), self.plural)
            }
            _ => format!("{}/{}", self.base(), self.plural),
        }
    }
}

/// What discovery found for one group: kinds by version, versions in preference order.
#[derive(Debug, Clone, Default)]
struct GroupResources {
    versions: Vec<String>,
    by_version: HashMap<String, Vec<ApiResource>>,
    /// Versions whose resource list could not be read, with why.
    failed: Vec<String>,
}

#[derive(Debug, Default)]
struct DiscoveryCache {
    /// Group → versions, preferred first; `None` until `/api` and `/apis` were read.
    groups: Option<BTreeMap<String, Vec<String>>>,
    resources: HashMap<String, Arc<GroupResources>>,
}

/// A Kubernetes or OpenShift cluster reached through kubeconfig.
pub struct KubeCluster {
    rt: tokio::runtime::Runtime,
    client: Client,
    server: String,
    context: Option<String>,
    inventory_namespace: String,
    inventory_namespace_ready: bool,
    discovery: Mutex<DiscoveryCache>,
    /// Objects read by the last `get_many`, for `dry_run_apply` (cleared by every write).
    recent: Mutex<HashMap<ResourceKey, Value>>,
}

impl std::fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCluster")
            .field("server", &self.server)
            .field("context", &self.context)
            .field("inventory_namespace", &self.inventory_namespace)
            .finish_non_exhaustive()
    }
}

fn store_error(server: &str, message: impl Into<String>) -> ClusterError {
    ClusterError::Store {
        path: server.to_string(),
        message: message.into(),
    }
}

/// The error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

/// A name or namespace that is safe in a URL path segment.
fn check_segment(what: &str, value: &str, key: Option<&ResourceKey>) -> Result<(), ClusterError> {
    let bad = value.is_empty()
        || value == "."
        || value == ".."
        || value.len() > 253
        || value
            .chars()
            .any(|c| c == '/' || c == '%' || c == '?' || c == '#' || c.is_whitespace());
    if bad {
        return Err(ClusterError::Invalid {
            key: key.map(|k| Box::new(k.clone())),
            message: format!("{what} {value:?} cannot be used in an API path"),
        });
    }
    Ok(())
}

impl KubeCluster {
    /// Connects through kubeconfig (`options.kubeconfig`, else `KUBECONFIG`, else
    /// `~/.kube/config`), with `options.context` or the current context. Nothing is requested
    /// from the server yet.
    pub fn connect(options: &ConnectOptions) -> Result<Self, ClusterError> {
        let kubeconfig = match &options.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map_err(|e| {
                store_error(
                    "kubeconfig",
                    format!("cannot read kubeconfig {}: {}", path.display(), chain(&e)),
                )
            })?,
            None => Kubeconfig::read().map_err(|e| {
                store_error(
                    "kubeconfig",
                    format!(
                        "cannot read kubeconfig (KUBECONFIG or ~/.kube/config): {}",
                        chain(&e)
                    ),
                )
            })?,
        };
        Self::from_kubeconfig(kubeconfig, options)
    }

    fn from_kubeconfig(
        kubeconfig: Kubeconfig,
        options: &ConnectOptions,
    ) -> Result<Self, ClusterError> {
        if let Some(ctx) = &options.context
            && !kubeconfig.contexts.iter().any(|c| &c.name == ctx)
        {
            let known: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(store_error(
                "kubeconfig",
                format!(
                    "context {ctx:?} is not in kubeconfig (it has: {})",
                    if known.is_empty() {
                        "no contexts".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        let context = options
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| store_error("kube backend", format!("cannot start its runtime: {e}")))?;
        let kube_options = KubeConfigOptions {
            context: options.context.clone(),
            cluster: None,
            user: None,
        };
        let config = rt
            .block_on(kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube_options,
            ))
            .map_err(|e| {
                store_error(
                    "kubeconfig",
                    format!(
                        "cannot use context {}: {}",
                        context.as_deref().unwrap_or("(current)"),
                        chain(&e)
                    ),
                )
            })?;
        let server = config.cluster_url.to_string();
        let server = server.trim_end_matches('/').to_string();
        // The client spawns its request buffer on the runtime it is built in.
        let client = {
            let _guard = rt.enter();
            Client::try_from(config).map_err(|e| {
                store_error(
                    &server,
                    format!("cannot build a client for it: {}", chain(&e)),
                )
            })?
        };
        let inventory_namespace = options
            .inventory_namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_INVENTORY_NAMESPACE.to_string());
        check_segment("inventory namespace", &inventory_namespace, None)?;
        Ok(KubeCluster {
            rt,
            client,
            server,
            context,
            inventory_namespace,
            inventory_namespace_ready: false,
            discovery: Mutex::new(DiscoveryCache::default()),
            recent: Mutex::new(HashMap::new()),
        })
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The namespace holding inventories and app statuses.
    pub fn inventory_namespace(&self) -> &str {
        &self.inventory_namespace
    }

    fn name(&self) -> String {
        match &self.context {
            Some(ctx) => format!("{} (context {ctx})", self.server),
            None => self.server.clone(),
        }
    }

    /// Maps a kube error to a cluster error about `key`.
    fn error(&self, e: kube::Error, key: Option<&ResourceKey>, what: &str) -> ClusterError {
        map_error(&self.server, e, key, what)
    }

    // ---- discovery ----

    fn groups(&self) -> Result<BTreeMap<String, Vec<String>>, ClusterError> {
        if let Some(g) = &self.lock_discovery().groups {
            return Ok(g.clone());
        }
        let client = self.client.clone();
        let (core, named) = self
            .rt
            .block_on(async move {
                let core = client.list_core_api_versions().await?;
                let named = client.list_api_groups().await?;
                Ok::<_, kube::Error>((core, named))
            })
            .map_err(|e| self.error(e, None, "discovery (/api, /apis)"))?;
        let mut groups = BTreeMap::new();
        groups.insert(String::new(), core.versions);
        for g in named.groups {
            let mut versions: Vec<String> = Vec::with_capacity(g.versions.len());
            if let Some(p) = &g.preferred_version {
                versions.push(p.version.clone());
            }
            for v in g.versions {
                if !versions.contains(&v.version) {
                    versions.push(v.version);
                }
            }
            groups.insert(g.name, versions);
        }
        self.lock_discovery().groups = Some(groups.clone());
        Ok(groups)
    }

    fn lock_discovery(&self) -> std::sync::MutexGuard<'_, DiscoveryCache> {
        self.discovery.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The resources of one group (`None` when the cluster does not serve the group).
    fn group_resources(&self, group: &str) -> Result<Option<Arc<GroupResources>>, ClusterError> {
        if let Some(r) = self.lock_discovery().resources.get(group) {
            return Ok(Some(r.clone()));
        }
        let groups = self.groups()?;
        let Some(versions) = groups.get(group) else {
            return Ok(None);
        };
        let group_owned = group.to_string();
        let client = self.client.clone();
        let lists = self.rt.block_on(bounded(
            versions.clone(),
            CONCURRENCY,
            false,
            move |version| {
                let client = client.clone();
                let group = group_owned.clone();
                async move {
                    let r = if group.is_empty() {
                        client.list_core_api_resources(&version).await
                    } else {
                        client
                            .list_api_group_resources(&format!("{group}/{version}"))
                            .await
                    };
                    Ok::<_, ClusterError>((version, r))
                }
            },
        ));
        let mut out = GroupResources {
            versions: versions.clone(),
            ..GroupResources::default()
        };
        for item in lists.into_iter().flatten() {
            let Ok((version, result)) = item else {
                continue;
            };
            match result {
                Ok(list) => {
                    let resources = list
                        .resources
                        .into_iter()
                        // Subresources (`deployments/scale`) are not kinds of their own.
                        .filter(|r| !r.name.contains('/'))
                        .map(|r| ApiResource {
                            group: group.to_string(),
                            version: version.clone(),
                            kind: r.kind,
                            plural: r.name,
                            namespaced: r.namespaced,
                        })
                        .collect();
                    out.by_version.insert(version, resources);
                }
                Err(e) => {
                    let what = if group.is_empty() {
                        format!("/api/{version}")
                    } else {
                        format!("/apis/{group}/{version}")
                    };
                    tracing::debug!("discovery of {what} failed: {e}");
                    out.failed.push(format!("{what}: {}", chain(&e)));
                }
            }
        }
        let out = Arc::new(out);
        self.lock_discovery()
            .resources
            .insert(group.to_string(), out.clone());
        Ok(Some(out))
    }

    fn forget_group(&self, group: &str) {
        let mut d = self.lock_discovery();
        d.groups = None;
        d.resources.remove(group);
    }

    /// Resolves a kind: its resource in `version` when served, else in the preferred version
    /// that serves it. `None` when the cluster does not serve the kind. A core-group kind that
    /// is a legacy OpenShift kind (`v1` DeploymentConfig) is looked up in its group.
    fn find(
        &self,
        group: &str,
        kind: &str,
        version: Option<&str>,
    ) -> Result<Option<ApiResource>, ClusterError> {
        if let Some(found) = self.find_in(group, kind, version)? {
            return Ok(Some(found));
        }
        if group.is_empty()
            && let Some(legacy) = gvk::legacy_group(kind)
        {
            return self.find_in(legacy, kind, version);
        }
        Ok(None)
    }

    fn find_in(
        &self,
        group: &str,
        kind: &str,
        version: Option<&str>,
    ) -> Result<Option<ApiResource>, ClusterError> {
        let Some(resources) = self.group_resources(group)? else {
            return Ok(None);
        };
        let in_version = |v: &str| {
            resources
                .by_version
                .get(v)
                .and_then(|rs| rs.iter().find(|r| r.kind == kind))
                .cloned()
        };
        if let Some(v) = version
            && let Some(r) = in_version(v)
        {
            return Ok(Some(r));
        }
        Ok(resources.versions.iter().find_map(|v| in_version(v)))
    }

    fn not_served(&self, group: &str, kind: &str, key: Option<&ResourceKey>) -> ClusterError {
        let mut message = if group.is_empty() {
            format!(
                "kind {kind} (core group) is not served by the cluster {}",
                self.name()
            )
        } else {
            format!(
                "kind {kind} (group {group}) is not served by the cluster {}",
                self.name()
            )
        };
        let failed = self
            .lock_discovery()
            .resources
            .get(group)
            .map(|g| g.failed.clone())
            .unwrap_or_default();
        if !failed.is_empty() {
            message.push_str(&format!("; discovery failed for {}", failed.join("; ")));
        } else {
            message.push_str(
                " (is its CustomResourceDefinition installed, or the API group's operator?)",
            );
        }
        ClusterError::Invalid {
            key: key.map(|k| Box::new(k.clone())),
            message,
        }
    }

    /// Resolves a kind that must be served.
    fn resolve(
        &self,
        group: &str,
        kind: &str,
        version: Option<&str>,
        key: Option<&ResourceKey>,
    ) -> Result<ApiResource, ClusterError> {
        self.find(group, kind, version)?
            .ok_or_else(|| self.not_served(group, kind, key))
    }

    /// The resource and URL pieces of one object key; `None` when the kind is not served.
    fn locate(&self, key: &ResourceKey) -> Result<Option<Located>, ClusterError> {
        let Some(res) = self.find(&key.group, &key.kind, None)? else {
            return Ok(None);
        };
        Located::new(res, key).map(Some)
    }

    /// Where a write of `object` goes: its kind in the object's own version when served.
    fn locate_object(&self, object: &Value) -> Result<Located, ClusterError> {
        let key = ResourceKey::of(object).map_err(|e| ClusterError::Invalid {
            key: None,
            message: e.to_string(),
        })?;
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let version = api_version.rsplit('/').next().unwrap_or(api_version);
        let res = self.resolve(&key.group, &key.kind, Some(version), Some(&key))?;
        if res.version != version {
            return Err(ClusterError::Invalid {
                message: format!(
                    "{} is not served in version {version} by the cluster {}; it serves {}",
                    key.kind,
                    self.name(),
                    res.api_version()
                ),
                key: Some(Box::new(key)),
            });
        }
        Located::new(res, &key)
    }

    fn remember(&self, objects: impl IntoIterator<Item = (ResourceKey, Value)>) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.clear();
        recent.extend(objects);
    }

    fn forget_recent(&self) {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    // ---- inventory ConfigMaps ----

    fn configmaps(&self) -> ApiResource {
        ApiResource {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
        }
    }

    fn inventory_name(app: &str) -> String {
        format!("kascade-inventory-{app}")
    }

    fn status_name(app: &str) -> String {
        format!("kascade-status-{app}")
    }

    fn read_configmap(&self, name: &str) -> Result<Option<Value>, ClusterError> {
        check_segment("ConfigMap name", name, None)?;
        let key = ResourceKey::new("", "ConfigMap", &self.inventory_namespace, name);
        let path = self
            .configmaps()
            .collection(Some(&self.inventory_namespace));
        let client = self.client.clone();
        let name = name.to_string();
        self.rt
            .block_on(get_object(client, path, name))
            .map_err(|e| self.error(e, Some(&key), "read"))
    }

    fn ensure_inventory_namespace(&mut self) -> Result<(), ClusterError> {
        if self.inventory_namespace_ready {
            return Ok(());
        }
        let ns = self.inventory_namespace.clone();
        let namespaces = ApiResource {
            group: String::new(),
            version: "v1".into(),
            kind: "Namespace".into(),
            plural: "namespaces".into(),
            namespaced: false,
        };
        let key = ResourceKey::new("", "Namespace", "", &ns);
        let client = self.client.clone();
        let path = namespaces.collection(None);
        let exists = self
            .rt
            .block_on(get_object(client.clone(), path.clone(), ns.clone()))
            .map_err(|e| self.error(e, Some(&key), "read"))?
            .is_some();
        if !exists {
            let body = json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": {"app.kubernetes.io/managed-by": "kascade"},
                },
            });
            self.rt
                .block_on(apply(client, path, ns.clone(), body, false))
                .map_err(|e| self.error(e, Some(&key), "create"))?;
        }
        self.inventory_namespace_ready = true;
        Ok(())
    }

    fn write_configmap(
        &mut self,
        name: &str,
        labels: Value,
        data: Map<String, Value>,
    ) -> Result<(), ClusterError> {
        self.ensure_inventory_namespace()?;
        let key = ResourceKey::new("", "ConfigMap", &self.inventory_namespace, name);
        let body = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self.inventory_namespace,
                "labels": labels,
            },
            "data": data,
        });
        let path = self
            .configmaps()
            .collection(Some(&self.inventory_namespace));
        let client = self.client.clone();
        self.rt
            .block_on(apply(client, path, name.to_string(), body, false))
            .map_err(|e| self.error(e, Some(&key), "record"))?;
        Ok(())
    }

    fn write_inventory(&mut self, app: &str, inventory: &Inventory) -> Result<(), ClusterError> {
        let members: Vec<Value> = inventory
            .members
            .iter()
            .map(|(k, rv)| {
                json!({
                    "group": k.group,
                    "kind": k.kind,
                    "namespace": k.namespace,
                    "name": k.name,
                    "resourceVersion": rv,
                })
            })
            .collect();
        let record = json!({
            "app": app,
            "revision": inventory.revision,
            "syncedAt": inventory.synced_at,
            "members": members,
        });
        let mut data = Map::new();
        data.insert(INVENTORY_KEY.into(), Value::String(record.to_string()));
        self.write_configmap(
            &Self::inventory_name(app),
            json!({INVENTORY_LABEL: app, "app.kubernetes.io/managed-by": "kascade"}),
            data,
        )
    }

    fn parse_inventory(&self, cm: &Value, name: &str) -> Result<Inventory, ClusterError> {
        let damaged = |why: String| ClusterError::Invalid {
            key: Some(Box::new(ResourceKey::new(
                "",
                "ConfigMap",
                &self.inventory_namespace,
                name,
            ))),
            message: format!("the inventory is damaged: {why}"),
        };
        let text = cm
            .get("data")
            .and_then(|d| d.get(INVENTORY_KEY))
            .and_then(Value::as_str)
            .ok_or_else(|| damaged(format!("no data.{INVENTORY_KEY:?}")))?;
        let record: Value = serde_json::from_str(text).map_err(|e| damaged(e.to_string()))?;
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let mut members = BTreeMap::new();
        for m in record
            .get("members")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (Some(kind), Some(name), Some(rv)) =
                (s(m, "kind"), s(m, "name"), s(m, "resourceVersion"))
            else {
                return Err(damaged(format!(
                    "member {m} lacks kind, name or resourceVersion"
                )));
            };
            members.insert(
                ResourceKey::new(
                    s(m, "group").unwrap_or_default(),
                    kind,
                    s(m, "namespace").unwrap_or_default(),
                    name,
                ),
                rv,
            );
        }
        Ok(Inventory {
            revision: s(&record, "revision"),
            synced_at: s(&record, "syncedAt"),
            members,
        })
    }

    // ---- writes ----

    /// The request for one write, ready to run.
    fn prepare_write(&self, write: &Write) -> Result<Step, ClusterError> {
        match write {
            Write::Create(object) => {
                let at = self.locate_object(object)?;
                Ok(Step::Apply {
                    body: apply_body(object, &at.res),
                    at,
                })
            }
            Write::Update {
                merged, desired, ..
            } => {
                let at = self.locate_object(desired)?;
                // Trigger-owned image fields keep the value the trigger set (`merged` has it).
                let body = keep_trigger_values(&apply_body(desired, &at.res), merged);
                Ok(Step::Apply { body, at })
            }
            Write::Delete {
                key,
                resource_version,
            } => {
                let at = self
                    .locate(key)?
                    .ok_or_else(|| self.not_served(&key.group, &key.kind, Some(key)))?;
                Ok(Step::Delete {
                    at,
                    resource_version: resource_version.clone(),
                })
            }
        }
    }

    /// Waits until a kind whose CustomResourceDefinition this change applied is served.
    fn wait_for_kind(&self, group: &str, kind: &str) -> Result<(), ClusterError> {
        let deadline = std::time::Instant::now() + CRD_WAIT;
        let mut delay = std::time::Duration::from_millis(200);
        loop {
            self.forget_group(group);
            if self.find(group, kind, None)?.is_some() {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(self.not_served(group, kind, None));
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(std::time::Duration::from_secs(2));
        }
    }

    fn record_partial(
        &mut self,
        update: &InventoryUpdate,
        old: Option<Inventory>,
        applied: &HashMap<ResourceKey, String>,
        deleted: &HashSet<ResourceKey>,
        attempted: &HashSet<ResourceKey>,
    ) {
        let mut inventory = old.unwrap_or_default();
        inventory.members.retain(|k, _| !deleted.contains(k));
        for m in &update.members {
            if let Some(rv) = applied.get(&m.key) {
                inventory.members.insert(m.key.clone(), rv.clone());
            } else if !attempted.contains(&m.key)
                && let Some(rv) = &m.resource_version
            {
                inventory.members.insert(m.key.clone(), rv.clone());
            }
        }
        if let Err(e) = self.write_inventory(&update.app, &inventory) {
            tracing::warn!(
                "could not record the inventory of app {:?} after the failed sync: {e}",
                update.app
            );
        }
    }
}

/// The (group, kind) a create or update needs from a CustomResourceDefinition of the same
/// change, if it does.
fn crd_kind_of(w: &Write, new_kinds: &HashSet<(String, String)>) -> Option<(String, String)> {
    let (Write::Create(o) | Write::Update { desired: o, .. }) = w else {
        return None;
    };
    let k = ResourceKey::of(o).ok()?;
    let legacy = gvk::legacy_group(&k.kind).unwrap_or_default();
    [k.group.as_str(), legacy]
        .into_iter()
        .find(|g| new_kinds.contains(&(g.to_string(), k.kind.clone())))
        .map(|g| (g.to_string(), k.kind.clone()))
}

/// Where one object lives.
#[derive(Debug, Clone)]
struct Located {
    res: ApiResource,
    key: ResourceKey,
    /// The collection URL (namespaced when the kind is).
    path: String,
}

impl Located {
    fn new(res: ApiResource, key: &ResourceKey) -> Result<Self, ClusterError> {
        check_segment("name", &key.name, Some(key))?;
        let namespace = if res.namespaced {
            if key.namespace.is_empty() {
                return Err(ClusterError::Invalid {
                    key: Some(Box::new(key.clone())),
                    message: format!("{} is namespaced; the object names no namespace", key.kind),
                });
            }
            check_segment("namespace", &key.namespace, Some(key))?;
            Some(key.namespace.as_str())
        } else {
            None
        };
        Ok(Located {
            path: res.collection(namespace),
            res,
            key: key.clone(),
        })
    }
}

enum Step {
    Apply {
        at: Located,
        body: Value,
    },
    Delete {
        at: Located,
        resource_version: Option<String>,
    },
}

impl Step {
    fn at(&self) -> &Located {
        match self {
            Step::Apply { at, .. } | Step::Delete { at, .. } => at,
        }
    }
}

/// What one write did: the resourceVersion it left (`None` for a delete).
type StepResult = Result<Option<String>, ClusterError>;

/// The object as it is applied: the served `apiVersion`, no server-set metadata, no namespace
/// on a cluster-scoped kind.
fn apply_body(object: &Value, res: &ApiResource) -> Value {
    let mut body = object.clone();
    if let Some(map) = body.as_object_mut() {
        map.insert("apiVersion".into(), Value::String(res.api_version()));
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for k in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "managedFields",
                "selfLink",
            ] {
                meta.remove(k);
            }
            if !res.namespaced {
                meta.remove("namespace");
            }
        }
    }
    body
}

/// The fields image triggers own (a container's `image` a trigger set, the recorded
/// `lastTriggeredImage`/`lastTriggeredImageID`).
const TRIGGER_FIELDS: &[&str] = &["image", "lastTriggeredImage", "lastTriggeredImageID"];

/// `desired` with the trigger-owned fields it sets taken from `merged` (the predicted object,
/// where those fields keep the value the trigger resolved), and the triggers' own bookkeeping
/// (`lastTriggeredImage`, `lastTriggeredImageID`) added where the trigger recorded it: trigger
/// lists are atomic, so applying one without it would erase it. Lists of named items are
/// matched by name, other lists item by item when they have the same length.
fn keep_trigger_values(desired: &Value, merged: &Value) -> Value {
    match (desired, merged) {
        (Value::Object(d), Value::Object(m)) => {
            let mut out: Map<String, Value> = d
                .iter()
                .map(|(k, dv)| {
                    let v = match m.get(k) {
                        Some(mv @ Value::String(_))
                            if dv.is_string() && TRIGGER_FIELDS.contains(&k.as_str()) =>
                        {
                            mv.clone()
                        }
                        Some(mv) => keep_trigger_values(dv, mv),
                        None => dv.clone(),
                    };
                    (k.clone(), v)
                })
                .collect();
            for k in ["lastTriggeredImage", "lastTriggeredImageID"] {
                if let Some(v @ Value::String(text)) = m.get(k)
                    && !text.is_empty()
                    && !out.contains_key(k)
                {
                    out.insert(k.to_string(), v.clone());
                }
            }
            Value::Object(out)
        }
        (Value::Array(d), Value::Array(m)) => {
            let named = |items: &[Value]| {
                items
                    .iter()
                    .all(|i| i.get("name").and_then(Value::as_str).is_some())
            };
            if !d.is_empty() && named(d) && named(m) {
                Value::Array(
                    d.iter()
                        .map(
                            |di| match m.iter().find(|mi| mi.get("name") == di.get("name")) {
                                Some(mi) => keep_trigger_values(di, mi),
                                None => di.clone(),
                            },
                        )
                        .collect(),
                )
            } else if d.len() == m.len() {
                Value::Array(
                    d.iter()
                        .zip(m)
                        .map(|(di, mi)| keep_trigger_values(di, mi))
                        .collect(),
                )
            } else {
                desired.clone()
            }
        }
        _ => desired.clone(),
    }
}

/// The part of `live` that field manager `kascade` owns by apply, from the `fieldsV1` set
/// of its `metadata.managedFields` entry; `None` when it owns nothing.
fn applied_fields(live: &Value) -> Option<Value> {
    let entry = live
        .get("metadata")?
        .get("managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
        })?;
    let fields = entry.get("fieldsV1")?.as_object()?;
    let mut out = project(live, fields);
    if let Some(map) = out.as_object_mut() {
        for k in ["apiVersion", "kind"] {
            if let Some(v) = live.get(k) {
                map.insert(k.into(), v.clone());
            }
        }
    }
    Some(out)
}

/// `value` cut down to a `fieldsV1` set: `f:NAME` fields, `k:{…}` list items by key,
/// `v:VALUE` set items, `i:N` items by index; a set with nothing below it (or only `.`) takes
/// the whole value. List items keep their order in `value`.
fn project(value: &Value, fields: &Map<String, Value>) -> Value {
    let whole = |sub: &Value| sub.as_object().is_none_or(|m| m.keys().all(|k| k == "."));
    match value {
        Value::Object(m) => {
            let mut out = Map::new();
            for (fk, sub) in fields {
                let Some(name) = fk.strip_prefix("f:") else {
                    continue;
                };
                let Some(v) = m.get(name) else {
                    continue;
                };
                let projected = match sub.as_object() {
                    Some(subfields) if !whole(sub) => project(v, subfields),
                    _ => v.clone(),
                };
                out.insert(name.to_string(), projected);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut picked: Vec<Option<Value>> = vec![None; items.len()];
            for (fk, sub) in fields {
                let index = if let Some(k) = fk.strip_prefix("k:") {
                    let Ok(Value::Object(want)) = serde_json::from_str::<Value>(k) else {
                        continue;
                    };
                    items
                        .iter()
                        .position(|i| want.iter().all(|(wk, wv)| i.get(wk) == Some(wv)))
                } else if let Some(v) = fk.strip_prefix("v:") {
                    let Ok(want) = serde_json::from_str::<Value>(v) else {
                        continue;
                    };
                    items.iter().position(|i| *i == want)
                } else if let Some(i) = fk.strip_prefix("i:") {
                    i.parse::<usize>().ok().filter(|i| *i < items.len())
                } else {
                    None
                };
                if let Some(i) = index {
                    picked[i] = Some(match sub.as_object() {
                        Some(subfields) if !whole(sub) => project(&items[i], subfields),
                        _ => items[i].clone(),
                    });
                }
            }
            Value::Array(picked.into_iter().flatten().collect())
        }
        other => other.clone(),
    }
}

fn map_error(server: &str, e: kube::Error, key: Option<&ResourceKey>, what: &str) -> ClusterError {
    let boxed = || key.map(|k| Box::new(k.clone()));
    match e {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() {
                format!("the server answered {} {}", status.code, status.reason)
            } else {
                status.message.clone()
            };
            match (status.code, key) {
                (404, Some(k)) => {
                    let details_kind = status
                        .details
                        .as_ref()
                        .map(|d| d.kind.as_str())
                        .unwrap_or_default();
                    if details_kind == "namespaces" && what != "read" && what != "delete" {
                        ClusterError::NamespaceNotFound {
                            key: Box::new(k.clone()),
                            namespace: status
                                .details
                                .as_ref()
                                .map(|d| d.name.clone())
                                .unwrap_or_else(|| k.namespace.clone()),
                        }
                    } else {
                        ClusterError::NotFound {
                            key: Box::new(k.clone()),
                        }
                    }
                }
                (409, Some(k)) if status.reason == "AlreadyExists" => ClusterError::AlreadyExists {
                    key: Box::new(k.clone()),
                },
                (409, Some(k)) => ClusterError::Conflict {
                    key: Box::new(k.clone()),
                    message,
                },
                (400 | 422, _) => ClusterError::Invalid {
                    key: boxed(),
                    message,
                },
                (code, _) => ClusterError::Invalid {
                    key: boxed(),
                    message: format!(
                        "{what} refused by the server {server} ({code} {}): {message}",
                        status.reason
                    ),
                },
            }
        }
        other => store_error(server, format!("{what} failed: {}", chain(&other))),
    }
}

/// Runs `f` on every item, at most `limit` at once, and returns the results in item order.
/// With `stop_on_error`, items not started yet when one fails are skipped (`None`).
async fn bounded<T, R, F, Fut>(
    items: Vec<T>,
    limit: usize,
    stop_on_error: bool,
    f: F,
) -> Vec<Option<Result<R, ClusterError>>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, ClusterError>> + Send + 'static,
    R: Send + 'static,
{
    let n = items.len();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
    let failed = Arc::new(AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let fut = f(item);
        let semaphore = semaphore.clone();
        let failed = failed.clone();
        set.spawn(async move {
            let _permit = semaphore.acquire_owned().await.ok();
            if stop_on_error && failed.load(Ordering::SeqCst) {
                return (i, None);
            }
            let r = fut.await;
            if r.is_err() {
                failed.store(true, Ordering::SeqCst);
            }
            (i, Some(r))
        });
    }
    let mut out: Vec<Option<Result<R, ClusterError>>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, r)) => out[i] = r,
            Err(e) => tracing::warn!("a request task ended abnormally: {e}"),
        }
    }
    out
}

async fn get_object(
    client: Client,
    path: String,
    name: String,
) -> Result<Option<Value>, kube::Error> {
    let req = Request::new(path)
        .get(&name, &GetParams::default())
        .map_err(kube::Error::BuildRequest)?;
    match client.request::<Value>(req).await {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Server-side apply of `body` as field manager `kascade`, forced (see the module docs).
async fn apply(
    client: Client,
    path: String,
    name: String,
    body: Value,
    dry_run: bool,
) -> Result<Value, kube::Error> {
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let req = Request::new(path)
        .patch(&name, &params, &Patch::Apply(&body))
        .map_err(kube::Error::BuildRequest)?;
    client.request::<Value>(req).await
}

/// POSTs a BuildRequest to a BuildConfig's `instantiate` subresource.
async fn instantiate(
    client: Client,
    path: String,
    name: String,
    commit: Option<String>,
) -> Result<Value, kube::Error> {
    let mut request = serde_json::json!({
        "kind": "BuildRequest",
        "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": name},
        "triggeredBy": [{"message": "Manually triggered"}],
    });
    if let Some(sha) = commit {
        request["revision"] = serde_json::json!({"type": "Git", "git": {"commit": sha}});
    }
    let body = serde_json::to_vec(&request).map_err(kube::Error::SerdeError)?;
    let req = Request::new(path)
        .create_subresource("instantiate", &name, &PostParams::default(), body)
        .map_err(kube::Error::BuildRequest)?;
    client.request::<Value>(req).await
}

async fn delete(
    client: Client,
    path: String,
    name: String,
    resource_version: Option<String>,
) -> Result<bool, kube::Error> {
    let params = DeleteParams {
        preconditions: resource_version.map(|rv| Preconditions {
            resource_version: Some(rv),
            uid: None,
        }),
        ..DeleteParams::default()
    };
    let req = Request::new(path)
        .delete(&name, &params)
        .map_err(kube::Error::BuildRequest)?;
    match client.request::<Value>(req).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

fn resource_version_of(v: &Value) -> Option<String> {
    v.get("metadata")?
        .get("resourceVersion")?
        .as_str()
        .map(str::to_string)
}

impl Cluster for KubeCluster {
    fn describe(&self) -> String {
        format!("kube cluster {}", self.name())
    }

    fn is_cluster_scoped(&self, group: &str, kind: &str) -> Result<bool, ClusterError> {
        Ok(!self.resolve(group, kind, None, None)?.namespaced)
    }

    fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        let Some(at) = self.locate(key)? else {
            return Ok(None);
        };
        self.rt
            .block_on(get_object(self.client.clone(), at.path, key.name.clone()))
            .map_err(|e| self.error(e, Some(key), "read"))
    }

    fn get_many(&self, keys: &[ResourceKey]) -> Result<Vec<Option<Value>>, ClusterError> {
        let mut located = Vec::with_capacity(keys.len());
        for key in keys {
            located.push(self.locate(key)?);
        }
        let client = self.client.clone();
        let server = self.server.clone();
        let results = self.rt.block_on(bounded(
            located,
            CONCURRENCY,
            true,
            move |at: Option<Located>| {
                let client = client.clone();
                let server = server.clone();
                async move {
                    let Some(at) = at else {
                        return Ok(None);
                    };
                    get_object(client, at.path, at.key.name.clone())
                        .await
                        .map_err(|e| map_error(&server, e, Some(&at.key), "read"))
                }
            },
        ));
        let mut out = Vec::with_capacity(keys.len());
        let mut first_error = None;
        for r in results {
            match r {
                Some(Ok(v)) => out.push(v),
                Some(Err(e)) => {
                    first_error.get_or_insert(e);
                    out.push(None);
                }
                None => out.push(None),
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if out.len() != keys.len() {
            return Err(store_error(&self.server, "a read was lost"));
        }
        self.remember(
            keys.iter()
                .zip(&out)
                .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))),
        );
        Ok(out)
    }

    fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Result<Vec<Value>, ClusterError> {
        let res = self.resolve(group, kind, None, None)?;
        if let Some(ns) = namespace {
            check_segment("namespace", ns, None)?;
        }
        let path = res.collection(namespace);
        let label_selector = (!selector.is_everything()).then(|| selector.to_string());
        let client = self.client.clone();
        let items = self
            .rt
            .block_on(async move {
                let mut items = Vec::new();
                let mut continue_token = None;
                loop {
                    let params = ListParams {
                        label_selector: label_selector.clone(),
                        limit: Some(LIST_PAGE),
                        continue_token: continue_token.take(),
                        ..ListParams::default()
                    };
                    let req = Request::new(path.clone())
                        .list(&params)
                        .map_err(kube::Error::BuildRequest)?;
                    let mut page: Value = client.request(req).await?;
                    if let Some(Value::Array(page_items)) = page.get_mut("items") {
                        items.append(page_items);
                    }
                    continue_token = page
                        .get("metadata")
                        .and_then(|m| m.get("continue"))
                        .and_then(Value::as_str)
                        .filter(|c| !c.is_empty())
                        .map(str::to_string);
                    if continue_token.is_none() {
                        return Ok::<_, kube::Error>(items);
                    }
                }
            })
            .map_err(|e| self.error(e, None, &format!("listing {kind}")))?;
        // List items come without apiVersion and kind.
        let api_version = res.api_version();
        let mut items: Vec<Value> = items
            .into_iter()
            .map(|mut item| {
                if let Some(map) = item.as_object_mut() {
                    map.entry("apiVersion")
                        .or_insert_with(|| Value::String(api_version.clone()));
                    map.entry("kind")
                        .or_insert_with(|| Value::String(res.kind.clone()));
                }
                item
            })
            .collect();
        let meta = |v: &Value, k: &str| {
            v.get("metadata")
                .and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        items.sort_by_cached_key(|v| (meta(v, "namespace"), meta(v, "name")));
        Ok(items)
    }

    fn kinds(&self) -> Result<Vec<(String, String)>, ClusterError> {
        let groups = self.groups()?;
        let mut out = std::collections::BTreeSet::new();
        for group in groups.keys() {
            if let Some(resources) = self.group_resources(group)? {
                for rs in resources.by_version.values() {
                    for r in rs {
                        out.insert((r.group.clone(), r.kind.clone()));
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    fn inventory(&self, app: &str) -> Result<Option<Inventory>, ClusterError> {
        let name = Self::inventory_name(app);
        match self.read_configmap(&name)? {
            Some(cm) => self.parse_inventory(&cm, &name).map(Some),
            None => Ok(None),
        }
    }

    fn inventories(&self) -> Result<Vec<(String, Inventory)>, ClusterError> {
        let selector = Selector::parse(INVENTORY_LABEL)
            .map_err(|message| ClusterError::Invalid { key: None, message })?;
        let cms = self.list("", "ConfigMap", Some(&self.inventory_namespace), &selector)?;
        let mut out = Vec::with_capacity(cms.len());
        for cm in cms {
            let labels = cm.get("metadata").and_then(|m| m.get("labels"));
            let Some(app) = labels
                .and_then(|l| l.get(INVENTORY_LABEL))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let name = Self::inventory_name(app);
            out.push((app.to_string(), self.parse_inventory(&cm, &name)?));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// What kascade applied last, as the server recorded it: the fields of the live object
    /// that field manager `kascade` owns by apply (`metadata.managedFields`). Fields kascade
    /// applied before and no longer declares are thereby planned as removals, which is what
    /// the server does when the next apply drops them.
    fn last_applied(&self, _app: &str, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        let cached = {
            let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            recent.get(key).cloned()
        };
        let live = match cached {
            Some(l) => Some(l),
            None => self.get(key)?,
        };
        Ok(live.as_ref().and_then(applied_fields))
    }

    fn dry_run_apply(&self, desired: &Value) -> Result<Option<Value>, ClusterError> {
        let at = self.locate_object(desired)?;
        let live = {
            let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            recent.get(&at.key).cloned()
        };
        let live = match live {
            Some(l) => Some(l),
            None => self.get(&at.key)?,
        };
        let mut body = apply_body(desired, &at.res);
        if let Some(live) = &live {
            let predicted = crate::diff::predict(live, desired, None);
            body = keep_trigger_values(&body, &predicted);
        }
        let predicted = self
            .rt
            .block_on(apply(
                self.client.clone(),
                at.path.clone(),
                at.key.name.clone(),
                body,
                true,
            ))
            .map_err(|e| self.error(e, Some(&at.key), "dry-run apply"))?;
        Ok(Some(predicted))
    }

    fn commit(&mut self, change: Change) -> Result<(), ClusterError> {
        self.forget_recent();
        let old_inventory = match &change.inventory {
            Some(update) if !change.writes.is_empty() => self.inventory(&update.app)?,
            _ => None,
        };
        // Kinds whose CustomResourceDefinition this change applies may not be served yet.
        let new_kinds: HashSet<(String, String)> = change
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::Create(o) | Write::Update { desired: o, .. } => Some(o),
                Write::Delete { .. } => None,
            })
            .filter(|o| o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
            .filter_map(|o| {
                let spec = o.get("spec")?;
                Some((
                    spec.get("group")?.as_str()?.to_string(),
                    spec.get("names")?.get("kind")?.as_str()?.to_string(),
                ))
            })
            .collect();
        // Resolve every write before applying any: an unknown kind or a bad name fails the
        // sync with nothing applied. Only kinds defined by a CRD of this change wait.
        let mut prepared: Vec<(usize, bool, Option<Step>, &Write)> =
            Vec::with_capacity(change.writes.len());
        for w in &change.writes {
            let (kind, is_delete) = match w {
                Write::Create(o) | Write::Update { desired: o, .. } => (
                    o.get("kind").and_then(Value::as_str).unwrap_or_default(),
                    false,
                ),
                Write::Delete { key, .. } => (key.kind.as_str(), true),
            };
            let step = match self.prepare_write(w) {
                Ok(step) => Some(step),
                Err(e) => {
                    if crd_kind_of(w, &new_kinds).is_none() {
                        return Err(e);
                    }
                    None
                }
            };
            prepared.push((order::rank(kind), is_delete, step, w));
        }
        // Runs of writes with the same rank and direction.
        let mut runs: Vec<Vec<(Option<Step>, &Write)>> = Vec::new();
        let mut last: Option<(usize, bool)> = None;
        for (rank, is_delete, step, w) in prepared {
            let tag = (rank, is_delete);
            match runs.last_mut() {
                Some(run) if last == Some(tag) => run.push((step, w)),
                _ => {
                    runs.push(vec![(step, w)]);
                    last = Some(tag);
                }
            }
        }
        let total = change.writes.len();
        let mut done = 0usize;
        let mut applied: HashMap<ResourceKey, String> = HashMap::new();
        let mut deleted: HashSet<ResourceKey> = HashSet::new();
        let mut attempted: HashSet<ResourceKey> = HashSet::new();
        let mut failure: Option<ClusterError> = None;
        'runs: for run in runs {
            let mut steps = Vec::with_capacity(run.len());
            for (step, w) in run {
                let step = match step {
                    Some(s) => Ok(s),
                    None => match crd_kind_of(w, &new_kinds) {
                        Some((g, k)) => self
                            .wait_for_kind(&g, &k)
                            .and_then(|()| self.prepare_write(w)),
                        None => self.prepare_write(w),
                    },
                };
                match step {
                    Ok(s) => steps.push(s),
                    Err(e) => {
                        failure = Some(e);
                        // Run what comes before the failing write, then stop.
                        if steps.is_empty() {
                            break 'runs;
                        }
                        break;
                    }
                }
            }
            let keys: Vec<ResourceKey> = steps.iter().map(|s| s.at().key.clone()).collect();
            let deletes: Vec<bool> = steps
                .iter()
                .map(|s| matches!(s, Step::Delete { .. }))
                .collect();
            attempted.extend(keys.iter().cloned());
            let client = self.client.clone();
            let server = self.server.clone();
            let results: Vec<Option<StepResult>> =
                self.rt
                    .block_on(bounded(steps, CONCURRENCY, true, move |step: Step| {
                        let client = client.clone();
                        let server = server.clone();
                        async move {
                            match step {
                                Step::Apply { at, body } => {
                                    let stored =
                                        apply(client, at.path, at.key.name.clone(), body, false)
                                            .await
                                            .map_err(|e| {
                                                map_error(&server, e, Some(&at.key), "apply")
                                            })?;
                                    Ok(resource_version_of(&stored))
                                }
                                Step::Delete {
                                    at,
                                    resource_version,
                                } => {
                                    delete(client, at.path, at.key.name.clone(), resource_version)
                                        .await
                                        .map_err(|e| {
                                            map_error(&server, e, Some(&at.key), "delete")
                                        })?;
                                    Ok(None)
                                }
                            }
                        }
                    }));
            for ((key, is_delete), r) in keys.into_iter().zip(deletes).zip(results) {
                match r {
                    Some(Ok(rv)) => {
                        done += 1;
                        if is_delete {
                            deleted.insert(key);
                        } else {
                            applied.insert(key, rv.unwrap_or_default());
                        }
                    }
                    // The first failing write (in write order) is the one reported.
                    Some(Err(e)) if failure.is_none() => failure = Some(e),
                    _ => {}
                }
            }
            if failure.is_some() {
                break;
            }
        }
        if let Some(e) = failure {
            if let Some(update) = &change.inventory {
                self.record_partial(update, old_inventory, &applied, &deleted, &attempted);
            }
            let note = format!(
                "; kascade stopped there: {done} of the {total} writes of this sync were applied \
                 (a real cluster is not transactional)"
            );
            return Err(match e {
                ClusterError::Invalid { key, message } => ClusterError::Invalid {
                    key,
                    message: message + &note,
                },
                ClusterError::Conflict { key, message } => ClusterError::Conflict {
                    key,
                    message: message + &note,
                },
                other => other,
            });
        }
        if let Some(update) = &change.inventory {
            let mut members = BTreeMap::new();
            for m in &update.members {
                let rv = m
                    .resource_version
                    .clone()
                    .or_else(|| applied.get(&m.key).cloned())
                    .unwrap_or_default();
                members.insert(m.key.clone(), rv);
            }
            let inventory = Inventory {
                revision: update.revision.clone(),
                synced_at: Some(update.synced_at.clone()),
                members,
            };
            self.write_inventory(&update.app, &inventory)?;
        }
        Ok(())
    }

    fn instantiate_build(
        &mut self,
        namespace: &str,
        name: &str,
        commit: Option<&str>,
    ) -> Result<Value, ClusterError> {
        let key = ResourceKey::new("build.openshift.io", "BuildConfig", namespace, name);
        let Some(at) = self.locate(&key)? else {
            return Err(self.not_served("build.openshift.io", "BuildConfig", Some(&key)));
        };
        self.rt
            .block_on(instantiate(
                self.client.clone(),
                at.path,
                name.to_string(),
                commit.map(str::to_string),
            ))
            .map_err(|e| self.error(e, Some(&key), "instantiate"))
    }

    fn delete(&mut self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        self.forget_recent();
        let Some(at) = self.locate(key)? else {
            return Ok(None);
        };
        let client = self.client.clone();
        let Some(live) = self
            .rt
            .block_on(get_object(
                client.clone(),
                at.path.clone(),
                key.name.clone(),
            ))
            .map_err(|e| self.error(e, Some(key), "read"))?
        else {
            return Ok(None);
        };
        let gone = self
            .rt
            .block_on(delete(client, at.path, key.name.clone(), None))
            .map_err(|e| self.error(e, Some(key), "delete"))?;
        Ok(gone.then_some(live))
    }

    fn app_status(&self, app: &str) -> Result<Option<Value>, ClusterError> {
        let name = Self::status_name(app);
        let Some(cm) = self.read_configmap(&name)? else {
            return Ok(None);
        };
        let text = cm
            .get("data")
            .and_then(|d| d.get(STATUS_KEY))
            .and_then(Value::as_str)
            .unwrap_or("null");
        serde_json::from_str(text)
            .map(|v: Value| (!v.is_null()).then_some(v))
            .map_err(|e| ClusterError::Invalid {
                key: Some(Box::new(ResourceKey::new(
                    "",
                    "ConfigMap",
                    &self.inventory_namespace,
                    &name,
                ))),
                message: format!("the app status is damaged: {e}"),
            })
    }

    fn set_app_status(&mut self, app: &str, status: &Value) -> Result<(), ClusterError> {
        let mut data = Map::new();
        data.insert(STATUS_KEY.into(), Value::String(status.to_string()));
        self.write_configmap(
            &Self::status_name(app),
            json!({STATUS_LABEL: app, "app.kubernetes.io/managed-by": "kascade"}),
            data,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_values_come_from_the_prediction_and_nothing_else() {
        let desired = json!({
            "spec": {
                "replicas": 2,
                "template": {"spec": {"containers": [
                    {"name": "web", "image": "web:latest", "args": ["a"]},
                    {"name": "side", "image": "side:1"},
                ]}},
                "triggers": [{"type": "ImageChange", "imageChangeParams": {"lastTriggeredImage": ""}}],
            }
        });
        let merged = json!({
            "spec": {
                "replicas": 3,
                "template": {"spec": {"containers": [
                    {"name": "side", "image": "side:1"},
                    {"name": "web", "image": "web@sha256:abc", "args": ["b"]},
                ]}},
                "triggers": [{"type": "ImageChange", "imageChangeParams": {"lastTriggeredImage": "web@sha256:abc"}}],
            }
        });
        let out = keep_trigger_values(&desired, &merged);
        assert_eq!(out["spec"]["replicas"], 2);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0],
            json!({"name": "web", "image": "web@sha256:abc", "args": ["a"]})
        );
        assert_eq!(
            out["spec"]["triggers"][0]["imageChangeParams"]["lastTriggeredImage"],
            "web@sha256:abc"
        );
        // Without a prediction for a field, desired stays.
        assert_eq!(keep_trigger_values(&desired, &json!({})), desired);
        // Bookkeeping the trigger recorded is carried even when desired does not name it.
        let bare = json!({"imageChangeParams": {"automatic": true}});
        let recorded =
            json!({"imageChangeParams": {"automatic": true, "lastTriggeredImage": "x@sha256:1"}});
        assert_eq!(keep_trigger_values(&bare, &recorded), recorded);
        let empty = json!({"imageChangeParams": {"automatic": true, "lastTriggeredImage": ""}});
        assert_eq!(keep_trigger_values(&bare, &empty), bare);
    }

    #[test]
    fn apply_bodies_carry_the_served_version_and_no_server_fields() {
        let res = ApiResource {
            group: "apps.openshift.io".into(),
            version: "v1".into(),
            kind: "DeploymentConfig".into(),
            plural: "deploymentconfigs".into(),
            namespaced: true,
        };
        let body = apply_body(
            &json!({"apiVersion": "v1", "kind": "DeploymentConfig",
                    "metadata": {"name": "a", "namespace": "n", "resourceVersion": "3", "uid": "u"}}),
            &res,
        );
        assert_eq!(body["apiVersion"], "apps.openshift.io/v1");
        assert_eq!(body["metadata"], json!({"name": "a", "namespace": "n"}));
        assert_eq!(
            res.collection(Some("n")),
            "/apis/apps.openshift.io/v1/namespaces/n/deploymentconfigs"
        );
        let ns = ApiResource {
            group: String::new(),
            version: "v1".into(),
            kind: "Namespace".into(),
            plural: "namespaces".into(),
            namespaced: false,
        };
        assert_eq!(ns.collection(Some("x")), "/api/v1/namespaces");
        let body = apply_body(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": "b"}}),
            &ns,
        );
        assert_eq!(body["metadata"], json!({"name": "a"}));
    }

    #[test]
    fn applied_fields_follow_the_kascade_managed_fields_entry() {
        let live = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "web",
                "labels": {"app": "web", "team": "x"},
                "managedFields": [
                    {"manager": "kubectl-edit", "operation": "Update",
                     "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}},
                    {"manager": "kascade", "operation": "Apply", "fieldsV1": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {
                            "f:ports": {
                                "k:{\"port\":443,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}},
                                "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:name": {}},
                            },
                            "f:selector": {},
                            "f:finalizers": {"v:\"a\"": {}},
                        },
                    }},
                ],
            },
            "spec": {
                "clusterIP": "10.0.0.1",
                "ports": [
                    {"port": 80, "protocol": "TCP", "name": "http", "targetPort": 8080},
                    {"port": 443, "protocol": "TCP", "targetPort": 8443},
                ],
                "selector": {"app": "web"},
                "finalizers": ["a", "b"],
            },
        });
        assert_eq!(
            applied_fields(&live).unwrap(),
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "ports": [{"port": 80, "name": "http"}, {"port": 443}],
                    "selector": {"app": "web"},
                    "finalizers": ["a"],
                },
            })
        );
        let mut other = live.clone();
        other["metadata"]["managedFields"][1]["operation"] = json!("Update");
        assert_eq!(applied_fields(&other), None);
    }

    #[test]
    fn unsafe_path_segments_are_refused() {
        for bad in ["", "..", "a/b", "a?b", "a b", "a%2f"] {
            assert!(check_segment("name", bad, None).is_err(), "{bad:?}");
        }
        assert!(check_segment("name", "web-1.example", None).is_ok());
    }
}
