//! `--cluster kube` against an in-process fake API server on 127.0.0.1 that speaks the real
//! wire format: `/api` and `/apis` discovery documents, GET/LIST (label selectors, pages),
//! server-side apply PATCHes (`application/apply-patch+yaml`, `fieldManager`, `force`,
//! `dryRun=All`), DELETE with preconditions, and `Status` bodies for 404/409/422. The real
//! binary runs with `KUBECONFIG` pointing at it.
//!
//! The `real_cluster_*` tests talk to the cluster of `KUBECONFIG` and run only with
//! `KASCADE_TEST_REAL_KUBE=1`; otherwise they print why they skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kascade::cluster::kubernetes::{ConnectOptions, KubeCluster};
use kascade::cluster::{Change, Cluster, ClusterError, Selector, Write};
use kascade::resource::ResourceKey;
use serde_json::{Value, json};

use crate::util::{Run, root};

// ---------------------------------------------------------------- the fake API server

/// One resource the fake serves.
struct Res {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
}

const fn res(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Res {
    Res {
        group,
        version,
        kind,
        plural,
        namespaced,
    }
}

const RESOURCES: &[Res] = &[
    res("", "v1", "Namespace", "namespaces", false),
    res("", "v1", "ConfigMap", "configmaps", true),
    res("", "v1", "Secret", "secrets", true),
    res("", "v1", "Service", "services", true),
    res("", "v1", "ServiceAccount", "serviceaccounts", true),
    res(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    res("apps", "v1", "Deployment", "deployments", true),
    res("apps", "v1", "StatefulSet", "statefulsets", true),
    res(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    res(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    res(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    res(
        "apps.openshift.io",
        "v1",
        "DeploymentConfig",
        "deploymentconfigs",
        true,
    ),
    res(
        "image.openshift.io",
        "v1",
        "ImageStream",
        "imagestreams",
        true,
    ),
    res(
        "image.openshift.io",
        "v1",
        "ImageStreamTag",
        "imagestreamtags",
        true,
    ),
    res(
        "build.openshift.io",
        "v1",
        "BuildConfig",
        "buildconfigs",
        true,
    ),
    res("build.openshift.io", "v1", "Build", "builds", true),
    res("route.openshift.io", "v1", "Route", "routes", true),
    res(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
];

const TOKEN: &str = "kascade-test-token";
const MANAGER: &str = "kascade";
const APPLY_PATCH: &str = "application/apply-patch+yaml";

type Key = (String, String, String, String); // group, plural, namespace, name

#[derive(Default)]
struct FakeState {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    uid: u64,
    /// Every request: `METHOD path?query`.
    requests: Vec<String>,
    /// The body of every PATCH and DELETE, with its request line.
    bodies: Vec<(String, Value)>,
    /// Largest page a LIST returns.
    page_size: usize,
    /// PATCHes number `gate.0..=gate.1` (counting from 1) wait for each other at this
    /// barrier.
    gate: Option<(usize, usize, Arc<tokio::sync::Barrier>)>,
    patches_seen: usize,
    in_flight: usize,
    max_in_flight: usize,
}

type Shared = Arc<Mutex<FakeState>>;

struct Fake {
    url: String,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fake {
    fn start() -> Fake {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            page_size: 500,
            ..FakeState::default()
        }));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(state.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).ok();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        stop_rx.await.ok();
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = addr_rx.recv().expect("fake server address");
        Fake {
            url: format!("http://{addr}"),
            state,
            shutdown: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    fn object(&self, group: &str, plural: &str, ns: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(group.into(), plural.into(), ns.into(), name.into()))
            .cloned()
    }

    fn count(&self, group: &str, plural: &str) -> usize {
        self.lock()
            .objects
            .keys()
            .filter(|k| k.0 == group && k.1 == plural)
            .count()
    }

    /// Requests logged so far.
    fn mark(&self) -> usize {
        self.lock().requests.len()
    }

    fn requests_since(&self, mark: usize) -> Vec<String> {
        self.lock().requests[mark..].to_vec()
    }

    /// Replaces a stored object as a controller would (new resourceVersion).
    fn controller_update(&self, key: (&str, &str, &str, &str), f: impl FnOnce(&mut Value)) {
        let mut st = self.lock();
        st.rv += 1;
        let rv = st.rv.to_string();
        let k = (key.0.into(), key.1.into(), key.2.into(), key.3.into());
        let obj = st.objects.get_mut(&k).expect("object to update");
        f(obj);
        obj["metadata"]["resourceVersion"] = Value::String(rv);
    }

    fn inventory(&self, app: &str) -> Option<Value> {
        let cm = self.object(
            "",
            "configmaps",
            "kascade-system",
            &format!("kascade-inventory-{app}"),
        )?;
        serde_json::from_str(cm["data"]["inventory.json"].as_str()?).ok()
    }

    /// A kubeconfig for the fake (context `fake`, current) and a dead cluster (`dead`).
    fn kubeconfig(&self, dir: &Path, current: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {url}
- name: dead
  cluster:
    server: http://127.0.0.1:9
contexts:
- name: fake
  context:
    cluster: fake
    user: tester
    namespace: default
- name: dead
  context:
    cluster: dead
    user: tester
current-context: {current}
users:
- name: tester
  user:
    token: {TOKEN}
",
                url = self.url
            ),
        )
        .unwrap();
        path
    }

    fn client(&self, dir: &Path) -> KubeCluster {
        KubeCluster::connect(&ConnectOptions {
            kubeconfig: Some(self.kubeconfig(dir, "fake")),
            ..ConnectOptions::default()
        })
        .expect("connect")
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

/// OpenShift's `buildconfigs/NAME/instantiate`: a BuildRequest in, a new Build out.
fn instantiate(st: &Shared, ns: &str, name: &str, body: &[u8], line: &str) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "not JSON".into(), json!({}));
    };
    if request["kind"] != "BuildRequest" || request["metadata"]["name"] != name {
        return status(
            400,
            "BadRequest",
            format!("not a BuildRequest for {name}"),
            json!({}),
        );
    }
    let mut st = st.lock().unwrap();
    st.bodies.push((line.to_string(), request.clone()));
    let bc = (
        "build.openshift.io".to_string(),
        "buildconfigs".to_string(),
        ns.to_string(),
        name.to_string(),
    );
    if !st.objects.contains_key(&bc) {
        return status(
            404,
            "NotFound",
            format!("buildconfigs.build.openshift.io {name:?} not found"),
            json!({"name": name, "group": "build.openshift.io", "kind": "buildconfigs"}),
        );
    }
    let n = st
        .objects
        .keys()
        .filter(|(g, p, n2, b)| {
            g == "build.openshift.io"
                && p == "builds"
                && n2 == ns
                && b.starts_with(&format!("{name}-"))
        })
        .count()
        + 1;
    st.rv += 1;
    let build_name = format!("{name}-{n}");
    let build = json!({
        "apiVersion": "build.openshift.io/v1", "kind": "Build",
        "metadata": {"name": build_name, "namespace": ns, "resourceVersion": st.rv.to_string(),
                     "annotations": {"openshift.io/build-config.name": name}},
        "spec": {"revision": request["revision"].clone(), "triggeredBy": request["triggeredBy"].clone()},
        "status": {"phase": "New"},
    });
    st.objects.insert(
        (
            "build.openshift.io".into(),
            "builds".into(),
            ns.into(),
            build_name,
        ),
        build.clone(),
    );
    respond(201, build)
}

fn respond(code: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn status(code: u16, reason: &str, message: String, details: Value) -> Response {
    respond(
        code,
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details,
            "code": code,
        }),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn resource_list(group: &str, version: &str) -> Value {
    let mut resources: Vec<Value> = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        resources.push(json!({
            "name": r.plural,
            "singularName": r.kind.to_ascii_lowercase(),
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "storageVersionHash": "aGFzaA==",
        }));
        // Subresources, as real servers list them.
        resources.push(json!({
            "name": format!("{}/status", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "patch", "update"],
        }));
    }
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": resources,
    })
}

fn group_list() -> Value {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, vs)) if !vs.contains(&r.version) => vs.push(r.version),
            Some(_) => {}
            None => groups.push((r.group, vec![r.version])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(g, vs)| {
            let versions: Vec<Value> = vs
                .iter()
                .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                .collect();
            json!({
                "name": g,
                "versions": versions,
                "preferredVersion": versions[0],
            })
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn not_found_details(r: &Res, name: &str) -> Value {
    json!({"name": name, "group": r.group, "kind": r.plural})
}

fn qualified(r: &Res) -> String {
    if r.group.is_empty() {
        r.plural.to_string()
    } else {
        format!("{}.{}", r.plural, r.group)
    }
}

/// Validation a real server does for the objects the tests send (a subset of it).
fn validate(r: &Res, obj: &Value) -> Option<(String, String)> {
    if r.kind == "Service"
        && let Some(ports) = obj["spec"]["ports"].as_array()
    {
        for (i, p) in ports.iter().enumerate() {
            let port = p["port"].as_i64().unwrap_or(0);
            if !(1..=65535).contains(&port) {
                return Some((
                    format!("spec.ports[{i}].port"),
                    format!("Invalid value: {port}: must be between 1 and 65535, inclusive"),
                ));
            }
        }
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let dns = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !dns {
        return Some((
            "metadata.name".into(),
            format!(
                "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
            ),
        ));
    }
    None
}

/// Defaults the fake adds, as a real server defaults fields nobody set.
fn defaults(r: &Res, obj: &mut Value, old: Option<&Value>, uid: u64) {
    match r.kind {
        "Deployment" => {
            // Quantities are stored in canonical form, as a real server stores them.
            let containers = obj
                .pointer_mut("/spec/template/spec/containers")
                .and_then(Value::as_array_mut);
            for c in containers.into_iter().flatten() {
                for part in ["limits", "requests"] {
                    let Some(cpu) = c.pointer_mut(&format!("/resources/{part}/cpu")) else {
                        continue;
                    };
                    let fraction = match &*cpu {
                        Value::String(s) => s.parse::<f64>().ok(),
                        Value::Number(n) => n.as_f64(),
                        _ => None,
                    };
                    if let Some(f) = fraction.filter(|f| f.fract() != 0.0) {
                        *cpu = json!(format!("{}m", (f * 1000.0).round()));
                    }
                }
            }
            let spec = &mut obj["spec"];
            if spec.get("progressDeadlineSeconds").is_none() {
                spec["progressDeadlineSeconds"] = json!(600);
            }
            if spec.get("revisionHistoryLimit").is_none() {
                spec["revisionHistoryLimit"] = json!(10);
            }
        }
        "Service" => {
            let ip = old
                .and_then(|o| o["spec"]["clusterIP"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("10.96.0.{}", uid % 250 + 1));
            let spec = &mut obj["spec"];
            if spec.get("type").is_none() {
                spec["type"] = json!("ClusterIP");
            }
            if spec.get("clusterIP").is_none() {
                spec["clusterIP"] = json!(ip);
            }
            if spec.get("sessionAffinity").is_none() {
                spec["sessionAffinity"] = json!("None");
            }
        }
        _ => {}
    }
}

/// Server-side apply by the one applier of these tests: the stored object keeps the fields
/// others set; the fields kascade applied before and no longer declares are removed; the
/// applied body is merged over it (maps by key, lists of named items by name, other lists
/// replaced).
fn server_side_apply(old: Option<&Value>, body: &Value) -> Value {
    let Some(old) = old else {
        return body.clone();
    };
    let previous = old["metadata"]["managedFields"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["manager"] == MANAGER))
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(json!({}));
    let mut out = old.clone();
    if let Some(m) = out["metadata"].as_object_mut() {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    remove_dropped(&mut out, &previous, &fields_v1(body));
    merge_over(&mut out, body);
    out
}

fn matches_key(item: &Value, field_key: &str) -> bool {
    let Some(k) = field_key.strip_prefix("k:") else {
        return false;
    };
    let want: Value = serde_json::from_str(k).unwrap_or(Value::Null);
    want.as_object()
        .is_some_and(|w| w.iter().all(|(wk, wv)| item.get(wk) == Some(wv)))
}

fn remove_dropped(target: &mut Value, previous: &Value, now: &Value) {
    let Some(previous) = previous.as_object() else {
        return;
    };
    for (fk, sub) in previous {
        if fk == "." {
            continue;
        }
        let kept = now.get(fk);
        match target {
            Value::Object(m) => {
                let Some(name) = fk.strip_prefix("f:") else {
                    continue;
                };
                match kept {
                    None => {
                        m.remove(name);
                    }
                    Some(k) => {
                        if let Some(child) = m.get_mut(name) {
                            remove_dropped(child, sub, k);
                        }
                    }
                }
            }
            Value::Array(items) => match kept {
                None => items.retain(|i| !matches_key(i, fk)),
                Some(k) => {
                    for i in items.iter_mut().filter(|i| matches_key(i, fk)) {
                        remove_dropped(i, sub, k);
                    }
                }
            },
            _ => {}
        }
    }
}

fn merge_over(target: &mut Value, body: &Value) {
    let named = |items: &[Value]| items.iter().all(|i| i["name"].is_string());
    match (target, body) {
        (Value::Object(t), Value::Object(b)) => {
            for (k, bv) in b {
                match t.get_mut(k) {
                    Some(tv)
                        if tv.is_object() == bv.is_object() && tv.is_array() == bv.is_array() =>
                    {
                        merge_over(tv, bv)
                    }
                    _ => {
                        t.insert(k.clone(), bv.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(b)) if named(t) && named(b) && !b.is_empty() => {
            let mut out = Vec::with_capacity(b.len());
            for bi in b {
                let mut item = t
                    .iter()
                    .find(|ti| ti["name"] == bi["name"])
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                merge_over(&mut item, bi);
                out.push(item);
            }
            for ti in t.iter() {
                if !b.iter().any(|bi| bi["name"] == ti["name"]) {
                    out.push(ti.clone());
                }
            }
            *t = out;
        }
        (t, b) => *t = b.clone(),
    }
}

/// The `fieldsV1` set of an applied object, as a real server records it: `f:` for fields,
/// `k:{"name":…}` for items of lists keyed by name, other lists atomic. `apiVersion`, `kind`,
/// `metadata.name` and `metadata.namespace` identify the object and are not recorded.
fn fields_v1(applied: &Value) -> Value {
    fn set(v: &Value) -> Value {
        match v {
            Value::Object(m) if !m.is_empty() => {
                let mut out = serde_json::Map::new();
                out.insert(".".into(), json!({}));
                for (k, v) in m {
                    out.insert(format!("f:{k}"), set(v));
                }
                Value::Object(out)
            }
            Value::Array(items)
                if !items.is_empty() && items.iter().all(|i| i["name"].is_string()) =>
            {
                let mut out = serde_json::Map::new();
                for i in items {
                    let key = json!({"name": i["name"]}).to_string();
                    out.insert(format!("k:{key}"), set(i));
                }
                Value::Object(out)
            }
            _ => json!({}),
        }
    }
    let mut top = set(applied);
    if let Some(m) = top.as_object_mut() {
        m.remove(".");
        m.remove("f:apiVersion");
        m.remove("f:kind");
        if let Some(Value::Object(meta)) = m.get_mut("f:metadata") {
            meta.remove("f:name");
            meta.remove("f:namespace");
        }
    }
    top
}

fn without_bookkeeping(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    v
}

fn spec_of(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

async fn handle(
    State(st): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let line = format!(
        "{method} {}{}",
        uri.path(),
        uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    );
    st.lock().unwrap().requests.push(line.clone());
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {TOKEN}") {
        return status(401, "Unauthorized", "Unauthorized".into(), json!({}));
    }
    let path = uri.path().trim_end_matches('/');
    match path {
        "/api" => {
            return respond(
                200,
                json!({"kind": "APIVersions", "versions": ["v1"],
                       "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
            );
        }
        "/apis" => return respond(200, group_list()),
        _ => {}
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource".into(),
                json!({}),
            );
        }
    };
    if !RESOURCES
        .iter()
        .any(|r| r.group == group && r.version == version)
    {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            json!({}),
        );
    }
    if rest.is_empty() {
        return respond(200, resource_list(group, version));
    }
    if let ["namespaces", ns, "buildconfigs", name, "instantiate"] = rest
        && method == Method::POST
    {
        return instantiate(&st, ns, name, &body, &line);
    }
    let (ns, plural, name) = match rest {
        ["namespaces", ns, plural, tail @ ..] if tail.len() <= 1 => {
            (*ns, *plural, tail.first().copied())
        }
        [plural] => ("", *plural, None),
        [plural, name] => ("", *plural, Some(*name)),
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource".into(),
                json!({}),
            );
        }
    };
    let Some(r) = RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
    else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            json!({}),
        );
    };
    let q = query(&uri);
    match (method.clone(), name) {
        (Method::GET, Some(name)) => {
            let st = st.lock().unwrap();
            match st
                .objects
                .get(&(group.into(), plural.into(), ns.into(), name.into()))
            {
                Some(o) => respond(200, o.clone()),
                None => status(
                    404,
                    "NotFound",
                    format!("{} {name:?} not found", qualified(r)),
                    not_found_details(r, name),
                ),
            }
        }
        (Method::GET, None) => list(&st, r, ns, &q),
        (Method::PATCH, Some(name)) => patch(&st, r, ns, name, &q, &headers, &body, &line).await,
        (Method::DELETE, Some(name)) => remove(&st, r, ns, name, &body, &line),
        _ => status(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported here"),
            json!({}),
        ),
    }
}

fn list(st: &Shared, r: &Res, ns: &str, q: &BTreeMap<String, String>) -> Response {
    let selector = match q.get("labelSelector") {
        Some(s) => match Selector::parse(s) {
            Ok(sel) => sel,
            Err(e) => {
                return status(
                    400,
                    "BadRequest",
                    format!("unable to parse requirement: {e}"),
                    json!({}),
                );
            }
        },
        None => Selector::everything(),
    };
    let st = st.lock().unwrap();
    let matching: Vec<Value> = st
        .objects
        .iter()
        .filter(|(k, _)| k.0 == r.group && k.1 == r.plural && (ns.is_empty() || k.2 == ns))
        .map(|(_, v)| v)
        .filter(|v| {
            let labels: std::collections::HashMap<&str, &str> = v["metadata"]["labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                        .collect()
                })
                .unwrap_or_default();
            selector.matches(labels)
        })
        .cloned()
        .collect();
    let start: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX)
        .min(st.page_size);
    let end = (start + limit).min(matching.len());
    let items: Vec<Value> = matching[start.min(end)..end]
        .iter()
        .map(|v| {
            // List items carry no apiVersion and kind.
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("apiVersion");
                m.remove("kind");
            }
            v
        })
        .collect();
    let mut meta = json!({"resourceVersion": st.rv.to_string()});
    if end < matching.len() {
        meta["continue"] = json!(end.to_string());
    }
    respond(
        200,
        json!({
            "kind": format!("{}List", r.kind),
            "apiVersion": group_version(r.group, r.version),
            "metadata": meta,
            "items": items,
        }),
    )
}

#[allow(clippy::too_many_arguments)]
async fn patch(
    st: &Shared,
    r: &Res,
    ns: &str,
    name: &str,
    q: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
    line: &str,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != APPLY_PATCH {
        return status(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - this fake accepts only {APPLY_PATCH}"
            ),
            json!({}),
        );
    }
    if q.get("fieldManager").map(String::as_str) != Some(MANAGER) {
        return status(
            400,
            "BadRequest",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch (this fake expects kascade)".into(),
            json!({}),
        );
    }
    let obj: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return status(
                400,
                "BadRequest",
                format!("error decoding YAML: {e}"),
                json!({}),
            );
        }
    };
    let dry_run = q.get("dryRun").map(String::as_str) == Some("All");
    {
        let mut s = st.lock().unwrap();
        s.bodies.push((line.to_string(), obj.clone()));
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
    }
    // The gate: the first N applies meet here, which only happens when they are in flight
    // together. A timeout turns a client that sends one at a time into a clear failure.
    let gate = {
        let mut s = st.lock().unwrap();
        s.patches_seen += 1;
        match &s.gate {
            Some((from, to, b)) if !dry_run && (*from..=*to).contains(&s.patches_seen) => {
                Some(b.clone())
            }
            _ => None,
        }
    };
    if let Some(b) = gate
        && tokio::time::timeout(std::time::Duration::from_secs(20), b.wait())
            .await
            .is_err()
    {
        st.lock().unwrap().in_flight -= 1;
        return status(
            500,
            "InternalError",
            "gate: applies were not concurrent".into(),
            json!({}),
        );
    }
    let answer = apply_locked(&mut st.lock().unwrap(), r, ns, name, obj, dry_run);
    st.lock().unwrap().in_flight -= 1;
    answer
}

fn apply_locked(
    st: &mut FakeState,
    r: &Res,
    ns: &str,
    name: &str,
    mut obj: Value,
    dry_run: bool,
) -> Response {
    let gv = group_version(r.group, r.version);
    if obj["apiVersion"].as_str() != Some(gv.as_str()) {
        return status(
            400,
            "BadRequest",
            format!(
                "the API version in the data ({}) does not match the expected API version ({gv})",
                obj["apiVersion"].as_str().unwrap_or("")
            ),
            json!({}),
        );
    }
    if obj["kind"].as_str() != Some(r.kind) {
        return status(
            400,
            "BadRequest",
            format!("the kind in the data does not match {}", r.kind),
            json!({}),
        );
    }
    if obj["metadata"]["name"].as_str() != Some(name) {
        return status(
            400,
            "BadRequest",
            "the name of the object does not match the name on the URL".into(),
            json!({}),
        );
    }
    if r.namespaced {
        match obj["metadata"]["namespace"].as_str() {
            Some(n) if n != ns => {
                return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request".into(), json!({}));
            }
            _ => obj["metadata"]["namespace"] = json!(ns),
        }
        let ns_key = (
            String::new(),
            "namespaces".to_string(),
            String::new(),
            ns.to_string(),
        );
        if !st.objects.contains_key(&ns_key) {
            return status(
                404,
                "NotFound",
                format!("namespaces {ns:?} not found"),
                json!({"name": ns, "kind": "namespaces"}),
            );
        }
    } else if obj["metadata"].get("namespace").is_some() {
        return status(
            400,
            "BadRequest",
            "a cluster-scoped object names a namespace".into(),
            json!({}),
        );
    }
    let key = (
        r.group.to_string(),
        r.plural.to_string(),
        ns.to_string(),
        name.to_string(),
    );
    let old = st.objects.get(&key).cloned();
    if let Some(want) = obj["metadata"]["resourceVersion"].as_str() {
        let have = old
            .as_ref()
            .and_then(|o| o["metadata"]["resourceVersion"].as_str())
            .unwrap_or("");
        if want != have {
            return status(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                    qualified(r)
                ),
                json!({"name": name, "group": r.group, "kind": r.plural}),
            );
        }
    }
    if let Some((field, message)) = validate(r, &obj) {
        return status(
            422,
            "Invalid",
            format!("{} {name:?} is invalid: {field}: {message}", r.kind),
            json!({"name": name, "group": r.group, "kind": r.kind,
                   "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]}),
        );
    }
    // What kascade applied, for its managedFields entry.
    let applied = obj.clone();
    obj = server_side_apply(old.as_ref(), &applied);
    st.uid += 1;
    let uid = st.uid;
    defaults(r, &mut obj, old.as_ref(), uid);
    let generation = match &old {
        Some(o) if spec_of(o) == spec_of(&obj) => o["metadata"]["generation"].clone(),
        Some(o) => json!(o["metadata"]["generation"].as_i64().unwrap_or(0) + 1),
        None => json!(1),
    };
    {
        let meta = obj["metadata"].as_object_mut().expect("metadata");
        let from_old = |k: &str| old.as_ref().and_then(|o| o["metadata"].get(k)).cloned();
        meta.insert(
            "uid".into(),
            from_old("uid").unwrap_or_else(|| json!(format!("00000000-0000-0000-0000-{uid:012}"))),
        );
        meta.insert(
            "creationTimestamp".into(),
            from_old("creationTimestamp").unwrap_or_else(|| json!("2026-01-01T00:00:00Z")),
        );
        meta.insert(
            "managedFields".into(),
            json!([{"manager": MANAGER, "operation": "Apply", "apiVersion": gv,
                    "fieldsType": "FieldsV1", "fieldsV1": fields_v1(&applied)}]),
        );
        meta.insert("generation".into(), generation);
    }
    if let Some(s) = old.as_ref().and_then(|o| o.get("status")) {
        obj["status"] = s.clone();
    }
    if let Some(o) = &old
        && without_bookkeeping(o) == without_bookkeeping(&obj)
    {
        // A no-op apply changes nothing, not even the resourceVersion.
        return respond(200, o.clone());
    }
    let rv = if dry_run {
        old.as_ref()
            .and_then(|o| o["metadata"]["resourceVersion"].as_str())
            .unwrap_or("")
            .to_string()
    } else {
        st.rv += 1;
        st.rv.to_string()
    };
    obj["metadata"]["resourceVersion"] = json!(rv);
    if !dry_run {
        st.objects.insert(key, obj.clone());
    }
    respond(if old.is_some() { 200 } else { 201 }, obj)
}

fn remove(st: &Shared, r: &Res, ns: &str, name: &str, body: &Bytes, line: &str) -> Response {
    let options: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    let mut st = st.lock().unwrap();
    st.bodies.push((line.to_string(), options.clone()));
    let key = (
        r.group.to_string(),
        r.plural.to_string(),
        ns.to_string(),
        name.to_string(),
    );
    let Some(old) = st.objects.get(&key).cloned() else {
        return status(
            404,
            "NotFound",
            format!("{} {name:?} not found", qualified(r)),
            not_found_details(r, name),
        );
    };
    let have = old["metadata"]["resourceVersion"].as_str().unwrap_or("");
    if let Some(want) = options["preconditions"]["resourceVersion"].as_str()
        && want != have
    {
        return status(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({have}). The object might have been modified",
                qualified(r)
            ),
            json!({"name": name, "group": r.group, "kind": r.plural}),
        );
    }
    st.objects.remove(&key);
    if r.kind == "Namespace" {
        st.objects.retain(|k, _| k.2 != name);
    }
    respond(
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
               "details": {"name": name, "group": r.group, "kind": r.plural, "uid": old["metadata"]["uid"]}}),
    )
}

// ---------------------------------------------------------------- helpers

fn kascade_kube(cwd: &Path, kubeconfig: &Path, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_kascade"))
        .args(args)
        .current_dir(cwd)
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .env_remove("KASCADE_TEMPLATES")
        .env_remove("KASCADE_LOG")
        .env_remove("KASCADE_CLUSTER")
        .env_remove("KASCADE_INVENTORY_NAMESPACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run kascade")
        .into()
}

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

const NAMESPACE: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  colour: blue
  size: large
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: quay.io/example/web:1.0
";

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
";

/// A directory with the shop app: a Namespace, a ConfigMap, a Deployment and a Service.
fn shop(dir: &Path) -> PathBuf {
    let app = dir.join("shop");
    write(&app, "namespace.yaml", NAMESPACE);
    write(&app, "configmap.yaml", CONFIGMAP);
    write(&app, "deployment.yaml", DEPLOYMENT);
    write(&app, "service.yaml", SERVICE);
    app
}

fn patches(requests: &[String]) -> Vec<&String> {
    requests
        .iter()
        .filter(|r| r.starts_with("PATCH "))
        .collect()
}

fn sync_shop(fake: &Fake, tmp: &Path, extra: &[&str]) -> Run {
    let kubeconfig = fake.kubeconfig(tmp, "fake");
    let app = tmp.join("shop");
    let app = app.to_str().unwrap();
    let mut args = vec!["sync", "-f", app, "--cluster", "kube", "-n", "shop"];
    args.extend_from_slice(extra);
    kascade_kube(tmp, &kubeconfig, &args)
}

// ---------------------------------------------------------------- tests: the binary

#[test]
fn sync_applies_by_server_side_apply_and_a_resync_patches_nothing() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    shop(tmp.path());
    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    for line in [
        "namespace/shop created",
        "configmap/settings created",
        "deployment.apps/web created",
        "service/web created",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
    let cm = fake
        .object("", "configmaps", "shop", "settings")
        .expect("configmap stored");
    assert_eq!(cm["data"]["colour"], "blue");
    assert_eq!(cm["metadata"]["labels"]["app.kascade.dev/instance"], "shop");
    assert!(
        cm["metadata"]["annotations"]["app.kascade.dev/applied-hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("sha256:"))
    );
    let dep = fake
        .object("apps", "deployments", "shop", "web")
        .expect("deployment stored");
    assert_eq!(dep["spec"]["replicas"], 2);
    assert!(fake.object("", "services", "shop", "web").is_some());

    // Every write was a forced apply by field manager kascade (the fake refuses any other
    // content type or manager), and the Namespace went first.
    let requests = fake.requests_since(0);
    let writes = patches(&requests);
    assert!(!writes.is_empty());
    for w in &writes {
        assert!(
            w.contains("fieldManager=kascade") && w.contains("force=true"),
            "{w}"
        );
    }
    let position = |needle: &str| writes.iter().position(|w| w.contains(needle)).unwrap();
    assert!(position("/api/v1/namespaces/shop?") < position("/configmaps/settings"));
    assert!(position("/configmaps/settings") < position("/services/web"));
    assert!(position("/services/web") < position("/deployments/web"));

    // The inventory lives in a ConfigMap in kascade-system, which was created.
    assert!(
        fake.object("", "namespaces", "", "kascade-system")
            .is_some()
    );
    let inv = fake.inventory("shop").expect("inventory");
    let members = inv["members"].as_array().unwrap();
    assert_eq!(members.len(), 4, "{inv}");
    let cm_member = members.iter().find(|m| m["kind"] == "ConfigMap").unwrap();
    assert_eq!(
        cm_member["resourceVersion"],
        cm["metadata"]["resourceVersion"]
    );
    assert!(
        inv["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with("local:"))
    );
    assert!(inv.get("applied").is_none() && cm_member.get("applied").is_none());

    // A second sync reads, compares by hash and writes nothing.
    let mark = fake.mark();
    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stdout.contains("created") && !run.stdout.contains("configured"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("4 unchanged"), "{}", run.stdout);
    let requests = fake.requests_since(mark);
    assert!(patches(&requests).is_empty(), "{requests:#?}");
    assert!(
        !requests.iter().any(|r| r.starts_with("DELETE")),
        "{requests:#?}"
    );
}

#[test]
fn diff_shows_the_edited_object_through_a_server_dry_run_and_exits_1() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = shop(tmp.path());
    assert_eq!(sync_shop(&fake, tmp.path(), &[]).code, 0);
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let app_s = app.to_str().unwrap();
    let diff_args = ["diff", "-f", app_s, "--cluster", "kube", "-n", "shop"];

    let run = kascade_kube(tmp.path(), &kubeconfig, &diff_args);
    assert_eq!(run.code, 0, "no difference right after a sync: {run:?}");

    write(&app, "configmap.yaml", &CONFIGMAP.replace("blue", "green"));
    let before = fake.object("", "configmaps", "shop", "settings").unwrap();
    let mark = fake.mark();
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff_args);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("live/ConfigMap/shop/settings"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("-  colour: blue"), "{}", run.stdout);
    assert!(run.stdout.contains("+  colour: green"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("Deployment"),
        "only the edited object: {}",
        run.stdout
    );
    assert!(run.stdout.contains("1 to update"), "{}", run.stdout);
    // The server was asked what it would store (dryRun=All) and stored nothing.
    let requests = fake.requests_since(mark);
    let writes = patches(&requests);
    assert_eq!(writes.len(), 1, "{requests:#?}");
    assert!(writes[0].contains("dryRun=All") && writes[0].contains("/configmaps/settings"));
    assert_eq!(
        fake.object("", "configmaps", "shop", "settings").unwrap(),
        before
    );

    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("configmap/settings configured"),
        "{}",
        run.stdout
    );
    let after = fake.object("", "configmaps", "shop", "settings").unwrap();
    assert_eq!(after["data"]["colour"], "green");
    assert_ne!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    let inv = fake.inventory("shop").unwrap();
    let member = inv["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "ConfigMap")
        .unwrap()
        .clone();
    assert_eq!(
        member["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff_args);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn prune_deletes_with_a_resource_version_precondition() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = shop(tmp.path());
    assert_eq!(sync_shop(&fake, tmp.path(), &[]).code, 0);
    let svc = fake.object("", "services", "shop", "web").unwrap();
    std::fs::remove_file(app.join("service.yaml")).unwrap();

    // Without --prune the Service stays, and says why.
    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("service/web not pruned"),
        "{}",
        run.stdout
    );
    assert!(fake.object("", "services", "shop", "web").is_some());

    let mark = fake.mark();
    let run = sync_shop(&fake, tmp.path(), &["--prune"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("service/web pruned"), "{}", run.stdout);
    assert!(fake.object("", "services", "shop", "web").is_none());
    assert!(fake.object("apps", "deployments", "shop", "web").is_some());
    let deletes: Vec<(String, Value)> = fake
        .lock()
        .bodies
        .iter()
        .filter(|(l, _)| l.starts_with("DELETE"))
        .cloned()
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(
        deletes[0].1["preconditions"]["resourceVersion"],
        svc["metadata"]["resourceVersion"]
    );
    assert!(
        fake.requests_since(mark)
            .iter()
            .any(|r| r.starts_with("DELETE /api/v1/namespaces/shop/services/web"))
    );
    let inv = fake.inventory("shop").unwrap();
    assert_eq!(inv["members"].as_array().unwrap().len(), 3, "{inv}");
    assert!(
        !inv["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "Service")
    );
}

#[test]
fn a_prune_of_an_object_changed_since_the_plan_is_a_conflict_naming_it() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let cluster_dir = tmp.path().join("c");
    std::fs::create_dir_all(&cluster_dir).unwrap();
    shop(tmp.path());
    assert_eq!(sync_shop(&fake, tmp.path(), &[]).code, 0);
    let mut cluster = fake.client(&cluster_dir);
    let key = ResourceKey::new("", "ConfigMap", "shop", "settings");
    let live = cluster.get(&key).unwrap().unwrap();
    let stale = live["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    fake.controller_update(("", "configmaps", "shop", "settings"), |o| {
        o["data"]["size"] = json!("small");
    });
    let err = cluster
        .commit(Change {
            writes: vec![Write::Delete {
                key: key.clone(),
                resource_version: Some(stale),
            }],
            inventory: None,
        })
        .unwrap_err();
    match &err {
        ClusterError::Conflict { key: k, message } => {
            assert_eq!(**k, key);
            assert!(
                message.contains("does not match the ResourceVersion in record"),
                "{message}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(fake.object("", "configmaps", "shop", "settings").is_some());
}

#[test]
fn an_unknown_kind_fails_naming_the_kind_and_nothing_is_applied() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("widgets");
    write(
        &app,
        "a-configmap.yaml",
        &CONFIGMAP.replace("settings", "a"),
    );
    write(
        &app,
        "widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n",
    );
    write(
        &app,
        "z-configmap.yaml",
        &CONFIGMAP.replace("settings", "z"),
    );
    write(tmp.path(), "ns/namespace.yaml", NAMESPACE);
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let ns_dir = tmp.path().join("ns");
    let run = kascade_kube(
        tmp.path(),
        &kubeconfig,
        &[
            "sync",
            "-f",
            ns_dir.to_str().unwrap(),
            "--cluster",
            "kube",
            "--app",
            "ns",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let mark = fake.mark();
    let run = kascade_kube(
        tmp.path(),
        &kubeconfig,
        &[
            "sync",
            "-f",
            app.to_str().unwrap(),
            "--cluster",
            "kube",
            "-n",
            "shop",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("kind Widget (group example.com) is not served by the cluster")
            && run.stderr.contains(&fake.url),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(patches(&fake.requests_since(mark)).is_empty());
    assert_eq!(
        fake.count("", "configmaps"),
        1,
        "only the inventory of app ns"
    );
    assert!(fake.inventory("widgets").is_none());
}

#[test]
fn a_422_from_the_server_names_the_object_and_the_server_message_and_stops() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = shop(tmp.path());
    write(
        &app,
        "service.yaml",
        &SERVICE.replace("port: 80", "port: 70000"),
    );
    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("/Service/shop/web"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "Service \"web\" is invalid: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not transactional"), "{}", run.stderr);
    // Applied in order up to the failure, nothing after it.
    assert!(fake.object("", "configmaps", "shop", "settings").is_some());
    assert!(fake.object("", "services", "shop", "web").is_none());
    assert!(fake.object("apps", "deployments", "shop", "web").is_none());
    let requests = fake.requests_since(0);
    assert!(
        !patches(&requests)
            .iter()
            .any(|r| r.contains("/deployments/web")),
        "{requests:#?}"
    );
    // What was applied is in the inventory, so a later prune can find it; the revision is
    // not recorded as synced.
    let inv = fake.inventory("shop").expect("partial inventory");
    let kinds: Vec<&str> = inv["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "Namespace"], "{inv}");
    assert!(inv["revision"].is_null(), "{inv}");

    // Fixed, the next sync converges.
    write(&app, "service.yaml", SERVICE);
    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(fake.object("apps", "deployments", "shop", "web").is_some());
    assert_eq!(
        fake.inventory("shop").unwrap()["members"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn legacy_openshift_v1_kinds_are_applied_in_their_groups() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("legacy");
    write(
        &app,
        "dc.yaml",
        "apiVersion: v1
kind: DeploymentConfig
metadata:
  name: api
spec:
  replicas: 1
  selector: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: api:latest
",
    );
    write(
        &app,
        "is.yaml",
        "apiVersion: v1\nkind: ImageStream\nmetadata:\n  name: api\n",
    );
    write(tmp.path(), "ns/namespace.yaml", NAMESPACE);
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let ns_dir = tmp.path().join("ns");
    assert_eq!(
        kascade_kube(
            tmp.path(),
            &kubeconfig,
            &[
                "sync",
                "-f",
                ns_dir.to_str().unwrap(),
                "--cluster",
                "kube",
                "--app",
                "ns"
            ]
        )
        .code,
        0
    );
    let args = [
        "sync",
        "-f",
        app.to_str().unwrap(),
        "--cluster",
        "kube",
        "-n",
        "shop",
    ];
    let run = kascade_kube(tmp.path(), &kubeconfig, &args);
    assert_eq!(run.code, 0, "{run:?}");
    let dc = fake
        .object("apps.openshift.io", "deploymentconfigs", "shop", "api")
        .expect("stored under apps.openshift.io");
    assert_eq!(dc["apiVersion"], "apps.openshift.io/v1");
    assert!(
        fake.object("image.openshift.io", "imagestreams", "shop", "api")
            .is_some()
    );
    let mark = fake.mark();
    let run = kascade_kube(tmp.path(), &kubeconfig, &args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("2 unchanged"), "{}", run.stdout);
    assert!(patches(&fake.requests_since(mark)).is_empty());
}

/// On OpenShift the platform builds: `start-build --cluster kube` asks it to through the
/// BuildConfig's `instantiate` subresource, with the commit when one is given.
#[test]
fn start_build_instantiates_the_build_config_through_the_api() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let config = root().join("examples/base-image/kascade.yaml");
    let sync = [
        "sync",
        "--config",
        config.to_str().unwrap(),
        "--cluster",
        "kube",
    ];
    let run = kascade_kube(tmp.path(), &kubeconfig, &sync);
    assert_eq!(run.code, 0, "{run:?}");
    let start = |args: &[&str]| {
        let mut all = vec!["start-build"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-n", "base-image-example", "--cluster", "kube"]);
        kascade_kube(tmp.path(), &kubeconfig, &all)
    };
    let run = start(&["httpd-base"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "build.build.openshift.io/httpd-base-1 started\n"
    );
    let run = start(&["bc/httpd-base", "--commit", "3f2a91c"]);
    assert_eq!(
        run.stdout,
        "build.build.openshift.io/httpd-base-2 started\n"
    );
    let (line, request) = fake.state.lock().unwrap().bodies.last().cloned().unwrap();
    assert!(
        line.starts_with("POST /apis/build.openshift.io/v1/namespaces/base-image-example/buildconfigs/httpd-base/instantiate"),
        "{line}"
    );
    assert_eq!(request["revision"]["git"]["commit"], "3f2a91c");
    assert_eq!(fake.count("build.openshift.io", "builds"), 2);
    // A BuildConfig that does not exist: the server's 404, named.
    let run = start(&["nope"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    // The dry run reads the live trigger graph and starts nothing.
    let run = start(&["httpd-base", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("3 builds, 2 rollouts"),
        "{}",
        run.stdout
    );
    assert_eq!(fake.count("build.openshift.io", "builds"), 2);
}

#[test]
fn the_example_repository_applies_and_resyncs_without_writes() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let config = root().join("examples/base-image/kascade.yaml");
    let args = [
        "sync",
        "--config",
        config.to_str().unwrap(),
        "--cluster",
        "kube",
    ];
    let run = kascade_kube(tmp.path(), &kubeconfig, &args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("deploymentconfig.apps.openshift.io/app-a created"),
        "{}",
        run.stdout
    );
    for (group, plural) in [
        ("apps.openshift.io", "deploymentconfigs"),
        ("build.openshift.io", "buildconfigs"),
        ("image.openshift.io", "imagestreams"),
        ("route.openshift.io", "routes"),
        ("apps", "deployments"),
        ("", "secrets"),
    ] {
        assert!(fake.count(group, plural) > 0, "{group}/{plural}");
    }
    for app in ["config", "base-image", "web"] {
        assert!(fake.inventory(app).is_some(), "inventory of {app}");
    }
    let mark = fake.mark();
    let run = kascade_kube(tmp.path(), &kubeconfig, &args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stdout.contains("created") && !run.stdout.contains("configured"),
        "{}",
        run.stdout
    );
    assert!(patches(&fake.requests_since(mark)).is_empty());
    let run = kascade_kube(
        tmp.path(),
        &kubeconfig,
        &[
            "diff",
            "--config",
            config.to_str().unwrap(),
            "--cluster",
            "kube",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn images_set_by_a_trigger_are_applied_as_the_trigger_set_them() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("dc");
    let dc = "apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: api
spec:
  replicas: 1
  selector: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: api:latest
  triggers:
  - type: ConfigChange
  - type: ImageChange
    imageChangeParams:
      automatic: true
      containerNames: [api]
      from: {kind: ImageStreamTag, name: 'api:latest'}
";
    write(&app, "dc.yaml", dc);
    write(&app, "namespace.yaml", NAMESPACE);
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let args = [
        "sync",
        "-f",
        app.to_str().unwrap(),
        "--cluster",
        "kube",
        "-n",
        "shop",
    ];
    assert_eq!(kascade_kube(tmp.path(), &kubeconfig, &args).code, 0);
    let resolved = "image-registry.openshift-image-registry.svc:5000/shop/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    fake.controller_update(
        ("apps.openshift.io", "deploymentconfigs", "shop", "api"),
        |o| {
            o["spec"]["template"]["spec"]["containers"][0]["image"] = json!(resolved);
            o["spec"]["triggers"][1]["imageChangeParams"]["lastTriggeredImage"] = json!(resolved);
        },
    );
    // The trigger's image is not drift.
    let diff = [
        "diff",
        "-f",
        app.to_str().unwrap(),
        "--cluster",
        "kube",
        "-n",
        "shop",
    ];
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff);
    assert_eq!(run.code, 0, "{run:?}");

    write(&app, "dc.yaml", &dc.replace("replicas: 1", "replicas: 3"));
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("+  replicas: 3"), "{}", run.stdout);
    assert!(!run.stdout.contains("api:latest"), "{}", run.stdout);
    let run = kascade_kube(tmp.path(), &kubeconfig, &args);
    assert_eq!(run.code, 0, "{run:?}");
    let stored = fake
        .object("apps.openshift.io", "deploymentconfigs", "shop", "api")
        .unwrap();
    assert_eq!(stored["spec"]["replicas"], 3);
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"][0]["image"],
        resolved
    );
    let applied: Vec<Value> = fake
        .lock()
        .bodies
        .iter()
        .filter(|(l, _)| {
            l.starts_with("PATCH") && l.contains("/deploymentconfigs/api") && !l.contains("dryRun")
        })
        .map(|(_, b)| b.clone())
        .collect();
    let last = applied.last().unwrap();
    assert_eq!(
        last["spec"]["template"]["spec"]["containers"][0]["image"],
        resolved
    );
    // The trigger's bookkeeping travels with the (atomic) triggers list.
    assert_eq!(
        last["spec"]["triggers"][1]["imageChangeParams"]["lastTriggeredImage"],
        resolved
    );
    assert_eq!(
        stored["spec"]["triggers"][1]["imageChangeParams"]["lastTriggeredImage"],
        resolved
    );
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn the_context_flag_chooses_the_kubeconfig_context() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    shop(tmp.path());
    // The current context points at a dead port.
    let kubeconfig = fake.kubeconfig(tmp.path(), "dead");
    let app = tmp.path().join("shop");
    let base = [
        "sync",
        "-f",
        app.to_str().unwrap(),
        "--cluster",
        "kube",
        "-n",
        "shop",
    ];
    let run = kascade_kube(tmp.path(), &kubeconfig, &base);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("http://127.0.0.1:9"), "{}", run.stderr);
    assert!(fake.requests_since(0).is_empty());

    let mut with_context = base.to_vec();
    with_context.extend(["--context", "fake"]);
    let run = kascade_kube(tmp.path(), &kubeconfig, &with_context);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(fake.object("apps", "deployments", "shop", "web").is_some());

    let mut unknown = base.to_vec();
    unknown.extend(["--context", "nope"]);
    let run = kascade_kube(tmp.path(), &kubeconfig, &unknown);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("context \"nope\" is not in kubeconfig (it has: fake, dead)"),
        "{}",
        run.stderr
    );
}

#[test]
fn inventories_can_live_in_another_namespace() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    shop(tmp.path());
    let run = sync_shop(&fake, tmp.path(), &["--inventory-namespace", "gitops"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(fake.object("", "namespaces", "", "gitops").is_some());
    assert!(
        fake.object("", "configmaps", "gitops", "kascade-inventory-shop")
            .is_some()
    );
    assert!(
        fake.object("", "namespaces", "", "kascade-system")
            .is_none()
    );
}

// ---------------------------------------------------------------- tests: the library

#[test]
fn discovery_scopes_kinds_and_preferred_versions() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let cluster = fake.client(tmp.path());
    assert!(cluster.describe().contains(&fake.url));
    assert!(cluster.is_cluster_scoped("", "Namespace").unwrap());
    assert!(!cluster.is_cluster_scoped("", "ConfigMap").unwrap());
    assert!(
        cluster
            .is_cluster_scoped("rbac.authorization.k8s.io", "ClusterRole")
            .unwrap()
    );
    assert!(
        !cluster
            .is_cluster_scoped("apps.openshift.io", "DeploymentConfig")
            .unwrap()
    );
    // A legacy `v1` kind is found in its group.
    assert!(!cluster.is_cluster_scoped("", "BuildConfig").unwrap());
    let err = cluster
        .is_cluster_scoped("bar.io", "Foo")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kind Foo (group bar.io) is not served by the cluster")
            && err.contains(&fake.url),
        "{err}"
    );
    let kinds = cluster.kinds().unwrap();
    for k in [
        ("", "ConfigMap"),
        ("apps", "Deployment"),
        ("apps.openshift.io", "DeploymentConfig"),
        ("image.openshift.io", "ImageStream"),
        ("build.openshift.io", "BuildConfig"),
    ] {
        assert!(kinds.contains(&(k.0.to_string(), k.1.to_string())), "{k:?}");
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|(_, k)| k == "HorizontalPodAutoscaler")
            .count(),
        1
    );
    // Discovery was read once per group, not once per question.
    let discovery = fake
        .requests_since(0)
        .iter()
        .filter(|r| r.starts_with("GET /apis/apps/v1"))
        .count();
    assert_eq!(discovery, 1);
}

#[test]
fn get_many_list_selectors_pages_status_and_delete() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = fake.client(tmp.path());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
    let mut writes = vec![Write::Create(ns)];
    for i in 0..40 {
        writes.push(Write::Create(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:02}"), "namespace": "shop",
                         "labels": {"tier": if i % 2 == 0 { "even" } else { "odd" }}},
            "data": {"i": i.to_string()},
        })));
    }
    // The first eight applies of the ConfigMap rank (PATCHes 2 to 9, after the Namespace's)
    // meet at a barrier: that only happens when they are in flight together.
    fake.lock().gate = Some((2, 9, Arc::new(tokio::sync::Barrier::new(8))));
    cluster
        .commit(Change {
            writes,
            inventory: None,
        })
        .unwrap();
    let max = fake.lock().max_in_flight;
    assert!(
        (8..=16).contains(&max),
        "at most 16 applies in flight, and several: {max}"
    );

    let mut keys: Vec<ResourceKey> = (0..45)
        .rev()
        .map(|i| ResourceKey::new("", "ConfigMap", "shop", format!("cm-{i:02}")))
        .collect();
    keys.push(ResourceKey::new("example.com", "Widget", "shop", "w"));
    let got = cluster.get_many(&keys).unwrap();
    assert_eq!(got.len(), keys.len());
    for (k, v) in keys.iter().zip(&got) {
        let i: Option<usize> = k.name.strip_prefix("cm-").and_then(|n| n.parse().ok());
        match (i, v) {
            (Some(i), Some(v)) if i < 40 => assert_eq!(v["data"]["i"], i.to_string()),
            (_, None) => assert!(i.is_none_or(|i| i >= 40), "{k}"),
            _ => panic!("{k}: {v:?}"),
        }
    }

    fake.lock().page_size = 3;
    let odd = cluster
        .list(
            "",
            "ConfigMap",
            Some("shop"),
            &Selector::parse("tier=odd").unwrap(),
        )
        .unwrap();
    assert_eq!(odd.len(), 20);
    assert!(
        odd.iter()
            .all(|o| o["kind"] == "ConfigMap" && o["apiVersion"] == "v1")
    );
    let names: Vec<&str> = odd
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.iter().all(|n| n.ends_with(['1', '3', '5', '7', '9'])));
    let pages = fake
        .requests_since(0)
        .iter()
        .filter(|r| {
            r.starts_with("GET /api/v1/namespaces/shop/configmaps?")
                && r.contains("labelSelector=tier%3Dodd")
        })
        .count();
    assert_eq!(pages, 7, "20 items in pages of 3");
    let all = cluster
        .list(
            "",
            "ConfigMap",
            None,
            &Selector::parse("tier in (even,odd)").unwrap(),
        )
        .unwrap();
    assert_eq!(all.len(), 40);

    assert_eq!(cluster.app_status("shop").unwrap(), None);
    let st = json!({"phase": "Synced", "revision": "abc"});
    cluster.set_app_status("shop", &st).unwrap();
    assert_eq!(cluster.app_status("shop").unwrap(), Some(st));
    assert!(
        fake.object("", "configmaps", "kascade-system", "kascade-status-shop")
            .is_some()
    );
    assert_eq!(cluster.inventories().unwrap(), vec![]);

    let key = ResourceKey::new("", "ConfigMap", "shop", "cm-07");
    let gone = cluster.delete(&key).unwrap().expect("deleted object");
    assert_eq!(gone["data"]["i"], "7");
    assert_eq!(cluster.delete(&key).unwrap(), None);
    assert_eq!(cluster.get(&key).unwrap(), None);
    assert!(cluster.events_since(0, 10).is_err());
}

// ---------------------------------------------------------------- tests: a real cluster

/// The kubeconfig of a real cluster to test against, or `None` (with a message) to skip.
fn real_cluster() -> Option<()> {
    let enabled = std::env::var("KASCADE_TEST_REAL_KUBE").as_deref() == Ok("1");
    let kubeconfig = std::env::var_os("KUBECONFIG").is_some();
    if enabled && kubeconfig {
        return Some(());
    }
    eprintln!(
        "SKIPPED: real-cluster test; set KASCADE_TEST_REAL_KUBE=1 and KUBECONFIG to run it \
         (it creates and deletes a namespace kascade-it-*)"
    );
    None
}

#[test]
fn real_cluster_sync_resync_diff_prune() {
    if real_cluster().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let ns = format!("kascade-it-{}-{nanos}", std::process::id());
    let app_name = format!("it{nanos}");
    let app = tmp.path().join("app");
    write(&app, "namespace.yaml", &NAMESPACE.replace("shop", &ns));
    write(&app, "configmap.yaml", CONFIGMAP);
    write(
        &app,
        "serviceaccount.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot\n",
    );
    let kubeconfig = PathBuf::from(std::env::var_os("KUBECONFIG").unwrap());
    let app_s = app.to_str().unwrap();
    let base = [
        "-f",
        app_s,
        "--cluster",
        "kube",
        "-n",
        &ns,
        "--app",
        &app_name,
    ];
    let run_cmd = |cmd: &str, extra: &[&str]| {
        let mut args = vec![cmd];
        args.extend_from_slice(&base);
        args.extend_from_slice(extra);
        kascade_kube(tmp.path(), &kubeconfig, &args)
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let run = run_cmd("sync", &[]);
        assert_eq!(run.code, 0, "{run:?}");
        let run = run_cmd("sync", &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(!run.stdout.contains("configured"), "{}", run.stdout);
        assert_eq!(run_cmd("diff", &[]).code, 0);
        write(&app, "configmap.yaml", &CONFIGMAP.replace("blue", "green"));
        let run = run_cmd("diff", &[]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stdout.contains("+  colour: green"), "{}", run.stdout);
        assert_eq!(run_cmd("sync", &[]).code, 0);
        std::fs::remove_file(app.join("serviceaccount.yaml")).unwrap();
        let run = run_cmd("sync", &["--prune"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("serviceaccount/robot pruned"),
            "{}",
            run.stdout
        );
    }));
    // Clean up whatever happened.
    if let Ok(mut cluster) = KubeCluster::connect(&ConnectOptions::default()) {
        let _ = cluster.delete(&ResourceKey::new("", "Namespace", "", &ns));
        let _ = cluster.delete(&ResourceKey::new(
            "",
            "ConfigMap",
            "kascade-system",
            format!("kascade-inventory-{app_name}"),
        ));
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn real_cluster_discovery_knows_the_core_kinds() {
    if real_cluster().is_none() {
        return;
    }
    let cluster = KubeCluster::connect(&ConnectOptions::default()).expect("connect");
    assert!(cluster.is_cluster_scoped("", "Namespace").unwrap());
    assert!(!cluster.is_cluster_scoped("apps", "Deployment").unwrap());
    let kinds = cluster.kinds().unwrap();
    assert!(kinds.contains(&(String::new(), "ConfigMap".to_string())));
    let err = cluster
        .is_cluster_scoped("kascade-test.invalid", "NoSuchKind")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kind NoSuchKind (group kascade-test.invalid) is not served"),
        "{err}"
    );
}

#[test]
fn a_field_dropped_from_a_manifest_is_removed_from_the_cluster() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = shop(tmp.path());
    assert_eq!(sync_shop(&fake, tmp.path(), &[]).code, 0);
    let live = fake.object("", "configmaps", "shop", "settings").unwrap();
    let fields = &live["metadata"]["managedFields"][0];
    assert_eq!(fields["manager"], "kascade");
    assert!(
        fields["fieldsV1"]["f:data"].get("f:size").is_some(),
        "{fields}"
    );

    write(
        &app,
        "configmap.yaml",
        &CONFIGMAP.replace("  size: large\n", ""),
    );
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let diff = [
        "diff",
        "-f",
        app.to_str().unwrap(),
        "--cluster",
        "kube",
        "-n",
        "shop",
    ];
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("-  size: large"), "{}", run.stdout);
    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let live = fake.object("", "configmaps", "shop", "settings").unwrap();
    assert_eq!(live["data"], json!({"colour": "blue"}));
    assert_eq!(kascade_kube(tmp.path(), &kubeconfig, &diff).code, 0);
}

#[test]
fn diff_shows_what_the_server_would_store_not_a_local_guess() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = shop(tmp.path());
    let with_cpu = DEPLOYMENT.replace(
        "        image: quay.io/example/web:1.0\n",
        "        image: quay.io/example/web:1.0\n        resources:\n          requests:\n            cpu: 0.5\n",
    );
    write(&app, "deployment.yaml", &with_cpu);
    assert_eq!(sync_shop(&fake, tmp.path(), &[]).code, 0);
    let live = fake.object("apps", "deployments", "shop", "web").unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "500m"
    );
    // A controller writes status: the resourceVersion moves, the hash fast path no longer
    // applies, and the comparison must not call `0.5` against `500m` drift.
    fake.controller_update(("apps", "deployments", "shop", "web"), |o| {
        o["status"] = json!({"observedGeneration": 1, "replicas": 2});
    });
    let kubeconfig = fake.kubeconfig(tmp.path(), "fake");
    let diff = [
        "diff",
        "-f",
        app.to_str().unwrap(),
        "--cluster",
        "kube",
        "-n",
        "shop",
    ];
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff);
    assert_eq!(run.code, 0, "{run:?}");
    let run = sync_shop(&fake, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("configured"), "{}", run.stdout);

    // A real change shows as the server would store it.
    write(
        &app,
        "deployment.yaml",
        &with_cpu.replace("cpu: 0.5", "cpu: 0.25"),
    );
    let run = kascade_kube(tmp.path(), &kubeconfig, &diff);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("-            cpu: 500m"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+            cpu: 250m"),
        "{}",
        run.stdout
    );
}
