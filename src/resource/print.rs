//! How `oc get` names kinds and lays out their tables: kind aliases (`cm`, `dc`, `is`, …),
//! plural, singular and `kind.group` forms, and the kind-specific columns of the main
//! Kubernetes and OpenShift kinds. Pure functions over objects; no I/O.

use std::collections::BTreeSet;

use serde_json::Value;

/// A built-in kind: group, kind, plural resource name and short names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// API group (empty for core).
    pub group: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Resource name (`configmaps`).
    pub plural: &'static str,
    /// Short names (`cm`).
    pub short: &'static [&'static str],
}

const fn k(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
) -> KindInfo {
    KindInfo {
        group,
        kind,
        plural,
        short,
    }
}

/// The kinds kascade knows by name, with oc's short names.
pub const KINDS: &[KindInfo] = &[
    k("", "ConfigMap", "configmaps", &["cm"]),
    k("", "Secret", "secrets", &[]),
    k("", "Service", "services", &["svc"]),
    k("", "Namespace", "namespaces", &["ns"]),
    k("", "Pod", "pods", &["po"]),
    k(
        "",
        "ReplicationController",
        "replicationcontrollers",
        &["rc"],
    ),
    k("", "ServiceAccount", "serviceaccounts", &["sa"]),
    k(
        "",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        &["pvc"],
    ),
    k("", "PersistentVolume", "persistentvolumes", &["pv"]),
    k("", "Endpoints", "endpoints", &["ep"]),
    k("", "Event", "events", &["ev"]),
    k("", "LimitRange", "limitranges", &["limits"]),
    k("", "ResourceQuota", "resourcequotas", &["quota"]),
    k("apps", "Deployment", "deployments", &["deploy"]),
    k("apps", "StatefulSet", "statefulsets", &["sts"]),
    k("apps", "DaemonSet", "daemonsets", &["ds"]),
    k("apps", "ReplicaSet", "replicasets", &["rs"]),
    k("batch", "Job", "jobs", &[]),
    k("batch", "CronJob", "cronjobs", &["cj"]),
    k(
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        &["hpa"],
    ),
    k("networking.k8s.io", "Ingress", "ingresses", &["ing"]),
    k(
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        &["netpol"],
    ),
    k("rbac.authorization.k8s.io", "Role", "roles", &[]),
    k(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        &[],
    ),
    k(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        &[],
    ),
    k(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        &[],
    ),
    k(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        &["crd", "crds"],
    ),
    k(
        "apps.openshift.io",
        "DeploymentConfig",
        "deploymentconfigs",
        &["dc"],
    ),
    k("build.openshift.io", "BuildConfig", "buildconfigs", &["bc"]),
    k("build.openshift.io", "Build", "builds", &[]),
    k("image.openshift.io", "ImageStream", "imagestreams", &["is"]),
    k(
        "image.openshift.io",
        "ImageStreamTag",
        "imagestreamtags",
        &["istag"],
    ),
    k("image.openshift.io", "Image", "images", &[]),
    k("route.openshift.io", "Route", "routes", &[]),
    k("template.openshift.io", "Template", "templates", &[]),
    k("project.openshift.io", "Project", "projects", &[]),
];

/// What `get all` lists, in oc's order.
pub const ALL: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "ReplicationController"),
    ("", "Service"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "CronJob"),
    ("batch", "Job"),
    ("apps.openshift.io", "DeploymentConfig"),
    ("build.openshift.io", "BuildConfig"),
    ("build.openshift.io", "Build"),
    ("image.openshift.io", "ImageStream"),
    ("route.openshift.io", "Route"),
];

/// A kind as a command names it, resolved to group and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindRef {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

impl KindRef {
    /// A kind.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        KindRef {
            group: group.into(),
            kind: kind.into(),
        }
    }

    /// The resource name: `configmaps`, or a guessed plural for kinds kascade does not know.
    pub fn plural(&self) -> String {
        KINDS
            .iter()
            .find(|i| i.group == self.group && i.kind == self.kind)
            .map(|i| i.plural.to_string())
            .unwrap_or_else(|| guess_plural(&self.kind.to_ascii_lowercase()))
    }

    /// `configmaps` or `deploymentconfigs.apps.openshift.io`, as kubectl's NotFound error
    /// names a resource.
    pub fn resource(&self) -> String {
        if self.group.is_empty() {
            self.plural()
        } else {
            format!("{}.{}", self.plural(), self.group)
        }
    }
}

fn guess_plural(kind: &str) -> String {
    if kind.ends_with('s') || kind.ends_with('x') || kind.ends_with("ch") {
        format!("{kind}es")
    } else if let Some(stem) = kind.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{kind}s")
    }
}

/// `configmap` or `imagestream.image.openshift.io`: how oc names an object's kind in
/// `created`/`deleted` lines.
pub fn qualified_kind(group: &str, kind: &str) -> String {
    let kind = kind.to_ascii_lowercase();
    if group.is_empty() {
        kind
    } else {
        format!("{kind}.{group}")
    }
}

/// A kind name that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server doesn't have a resource type {0:?}")]
pub struct UnknownKind(pub String);

/// Resolves what a user typed (`cm`, `configmaps`, `ConfigMap`, `deployment.apps`, `all`,
/// `dc.apps.openshift.io`) to kinds. `served` are the (group, kind) pairs the cluster holds
/// or serves, consulted for kinds kascade does not know by name (custom resources).
pub fn resolve(input: &str, served: &[(String, String)]) -> Result<Vec<KindRef>, UnknownKind> {
    let lower = input.trim().to_ascii_lowercase();
    if lower == "all" {
        return Ok(ALL.iter().map(|(g, k)| KindRef::new(*g, *k)).collect());
    }
    let (res, group) = match lower.split_once('.') {
        Some((r, g)) => (r, Some(g)),
        None => (lower.as_str(), None),
    };
    let group_ok = |g: &str| group.is_none_or(|want| want == g);
    if let Some(info) = KINDS.iter().find(|i| {
        group_ok(i.group)
            && (i.kind.eq_ignore_ascii_case(res) || i.plural == res || i.short.contains(&res))
    }) {
        return Ok(vec![KindRef::new(info.group, info.kind)]);
    }
    if let Some((g, kind)) = served.iter().find(|(g, kind)| {
        let kl = kind.to_ascii_lowercase();
        group_ok(g) && (kl == res || guess_plural(&kl) == res)
    }) {
        return Ok(vec![KindRef::new(g.clone(), kind.clone())]);
    }
    Err(UnknownKind(input.to_string()))
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    Some(cur)
}

fn text(v: &Value, path: &[&str]) -> String {
    match s(v, path) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    s(v, path).and_then(Value::as_i64)
}

fn count(v: &Value, path: &[&str]) -> usize {
    match s(v, path) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn or_none(x: String) -> String {
    if x.is_empty() { "<none>".into() } else { x }
}

/// Parses an RFC 3339 timestamp (`2024-05-01T10:00:00Z`, offsets and fractions allowed) into
/// seconds since the Unix epoch.
pub fn parse_rfc3339(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { ts.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &ts[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// A duration as kubectl's `HumanDuration` prints ages: `45s`, `3m2s`, `5h`, `3d4h`, `2y`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let sec = seconds % 60;
        return if sec == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{sec}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// A Go `time.Duration` string for whole seconds: `5s`, `1m30s`, `2h0m5s`.
pub fn go_duration(seconds: i64) -> String {
    let (h, m, sec) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    }
}

/// The age of a timestamp at `now` (seconds since the epoch), or `<unknown>`.
pub fn age(timestamp: &str, now: i64) -> String {
    match parse_rfc3339(timestamp) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".into(),
    }
}

fn object_age(v: &Value, now: i64) -> String {
    age(&text(v, &["metadata", "creationTimestamp"]), now)
}

fn ago(timestamp: &str, now: i64) -> String {
    match parse_rfc3339(timestamp) {
        Some(t) => format!("{} ago", human_duration(now - t)),
        None => String::new(),
    }
}

/// The columns after NAME for a kind (with `wide`, the extra ones too).
pub fn headers(kind: &KindRef, wide: bool) -> Vec<&'static str> {
    let (base, extra): (&[&str], &[&str]) = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "ConfigMap") => (&["DATA", "AGE"], &[]),
        ("", "Secret") => (&["TYPE", "DATA", "AGE"], &[]),
        ("", "Service") => (
            &["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
            &["SELECTOR"],
        ),
        ("", "Namespace") => (&["STATUS", "AGE"], &[]),
        ("", "Pod") => (&["READY", "STATUS", "RESTARTS", "AGE"], &[]),
        ("", "ReplicationController") | ("apps", "ReplicaSet") => (
            &["DESIRED", "CURRENT", "READY", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        ("apps", "Deployment") => (
            &["READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        ("apps", "StatefulSet") => (&["READY", "AGE"], &["CONTAINERS", "IMAGES"]),
        ("apps.openshift.io", "DeploymentConfig") => {
            (&["REVISION", "DESIRED", "CURRENT", "TRIGGERED BY"], &[])
        }
        ("build.openshift.io", "BuildConfig") => (&["TYPE", "FROM", "LATEST"], &[]),
        ("build.openshift.io", "Build") => {
            (&["TYPE", "FROM", "STATUS", "STARTED", "DURATION"], &[])
        }
        ("image.openshift.io", "ImageStream") => (&["IMAGE REPOSITORY", "TAGS", "UPDATED"], &[]),
        ("image.openshift.io", "ImageStreamTag") => (&["IMAGE REFERENCE", "UPDATED"], &[]),
        ("route.openshift.io", "Route") => (
            &[
                "HOST/PORT",
                "PATH",
                "SERVICES",
                "PORT",
                "TERMINATION",
                "WILDCARD",
            ],
            &[],
        ),
        _ => (&["AGE"], &[]),
    };
    let mut out = base.to_vec();
    if wide {
        out.extend_from_slice(extra);
    }
    out
}

fn containers(v: &Value, path: &[&str]) -> (String, String) {
    let list = s(v, path).and_then(Value::as_array);
    let names: Vec<String> = list
        .into_iter()
        .flatten()
        .map(|c| text(c, &["name"]))
        .collect();
    let images: Vec<String> = list
        .into_iter()
        .flatten()
        .map(|c| text(c, &["image"]))
        .collect();
    (names.join(","), images.join(","))
}

fn selector_text(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return "<none>".into();
    };
    let parts: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    or_none(parts.join(","))
}

fn service_ports(v: &Value) -> String {
    let parts: Vec<String> = s(v, &["spec", "ports"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = match text(p, &["protocol"]) {
                x if x.is_empty() => "TCP".to_string(),
                x => x,
            };
            match int(p, &["nodePort"]) {
                Some(n) => format!("{}:{n}/{proto}", text(p, &["port"])),
                None => format!("{}/{proto}", text(p, &["port"])),
            }
        })
        .collect();
    or_none(parts.join(","))
}

fn external_ip(v: &Value) -> String {
    let mut ips: Vec<String> = s(v, &["spec", "externalIPs"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    match text(v, &["spec", "type"]).as_str() {
        "ExternalName" => return text(v, &["spec", "externalName"]),
        "LoadBalancer" => {
            for i in s(v, &["status", "loadBalancer", "ingress"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let ip = text(i, &["ip"]);
                ips.push(if ip.is_empty() {
                    text(i, &["hostname"])
                } else {
                    ip
                });
            }
            if ips.is_empty() {
                return "<pending>".into();
            }
        }
        _ => {}
    }
    or_none(ips.join(","))
}

/// The short description of a build source (`Git@master`, `Dockerfile`, `Binary`), as oc's
/// `describeSourceShort`; `spec` is a BuildConfig's or a Build's spec.
pub fn source_short(spec: &Value) -> String {
    let mut rev = text(spec, &["revision", "git", "commit"]);
    if rev.is_empty() {
        rev = text(spec, &["source", "git", "ref"]);
    }
    if rev.len() == 40 {
        rev.truncate(7);
    }
    let with_rev = |base: &str| {
        if rev.is_empty() {
            base.to_string()
        } else {
            format!("{base}@{rev}")
        }
    };
    let has = |k: &str| s(spec, &["source", k]).is_some_and(|x| !x.is_null());
    if has("binary") {
        with_rev("Binary")
    } else if has("dockerfile") && has("git") {
        with_rev("Dockerfile,Git")
    } else if has("dockerfile") {
        "Dockerfile".into()
    } else if has("git") {
        with_rev("Git")
    } else {
        text(spec, &["source", "type"])
    }
}

/// `config,image(app:latest)`: a DeploymentConfig's triggers as `oc get dc` shows them.
pub fn dc_triggers(v: &Value) -> String {
    let containers: BTreeSet<String> = s(v, &["spec", "template", "spec", "containers"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| text(c, &["name"]))
        .collect();
    let mut out = BTreeSet::new();
    for t in s(v, &["spec", "triggers"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match text(t, &["type"]).as_str() {
            "ConfigChange" => {
                out.insert("config".to_string());
            }
            "ImageChange" => {
                let p = s(t, &["imageChangeParams"]);
                if p.and_then(|p| p.get("automatic")).and_then(Value::as_bool) != Some(true) {
                    continue;
                }
                let p = p.unwrap_or(&Value::Null);
                let mut names: Vec<String> = s(p, &["containerNames"])
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect();
                names.sort();
                let prefix =
                    if containers.len() != 1 && !names.iter().all(|n| containers.contains(n)) {
                        format!("{}:", names.join(","))
                    } else {
                        String::new()
                    };
                out.insert(format!("image({prefix}{})", text(p, &["from", "name"])));
            }
            other => {
                out.insert(other.to_string());
            }
        }
    }
    out.into_iter().collect::<Vec<_>>().join(",")
}

fn imagestream_row(v: &Value, now: i64) -> Vec<String> {
    let mut repo = text(v, &["status", "publicDockerImageRepository"]);
    if repo.is_empty() {
        repo = text(v, &["status", "dockerImageRepository"]);
    }
    let mut tags: Vec<(i64, String)> = Vec::new();
    for t in s(v, &["status", "tags"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let created = s(t, &["items"])
            .and_then(Value::as_array)
            .and_then(|i| i.first())
            .map(|e| text(e, &["created"]))
            .and_then(|c| parse_rfc3339(&c))
            .unwrap_or(i64::MIN);
        tags.push((created, text(t, &["tag"])));
    }
    let latest = tags
        .iter()
        .map(|(c, _)| *c)
        .max()
        .filter(|c| *c != i64::MIN);
    tags.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let total = tags.len();
    let mut shown: Vec<String> = tags.into_iter().take(3).map(|(_, t)| t).collect();
    let mut tag_text = shown.join(",");
    if total > 3 {
        shown.clear();
        tag_text = format!("{tag_text} + {} more...", total - 3);
    }
    vec![
        repo,
        tag_text,
        latest
            .map(|t| format!("{} ago", human_duration(now - t)))
            .unwrap_or_default(),
    ]
}

fn route_row(v: &Value) -> Vec<String> {
    let tls = match text(v, &["spec", "tls", "termination"]) {
        t if t.is_empty() => String::new(),
        t => match text(v, &["spec", "tls", "insecureEdgeTerminationPolicy"]) {
            p if p.is_empty() => t,
            p => format!("{t}/{p}"),
        },
    };
    let port = match text(v, &["spec", "port", "targetPort"]) {
        p if p.is_empty() => "<all>".to_string(),
        p => p,
    };
    let wildcard = match text(v, &["spec", "wildcardPolicy"]) {
        w if w.is_empty() => "None".to_string(),
        w => w,
    };
    vec![
        text(v, &["spec", "host"]),
        text(v, &["spec", "path"]),
        text(v, &["spec", "to", "name"]),
        port,
        tls,
        wildcard,
    ]
}

/// The cells after NAME of one object, in the order of [`headers`]; `now` is seconds since
/// the epoch.
pub fn row(kind: &KindRef, v: &Value, now: i64, wide: bool) -> Vec<String> {
    let a = object_age(v, now);
    let n = |path: &[&str]| int(v, path).unwrap_or(0).to_string();
    let mut cells = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "ConfigMap") => vec![
            (count(v, &["data"]) + count(v, &["binaryData"])).to_string(),
            a,
        ],
        ("", "Secret") => vec![
            match text(v, &["type"]) {
                t if t.is_empty() => "Opaque".into(),
                t => t,
            },
            (count(v, &["data"]) + count(v, &["stringData"])).to_string(),
            a,
        ],
        ("", "Service") => {
            let mut cells = vec![
                match text(v, &["spec", "type"]) {
                    t if t.is_empty() => "ClusterIP".into(),
                    t => t,
                },
                or_none(text(v, &["spec", "clusterIP"])),
                external_ip(v),
                service_ports(v),
                a,
            ];
            if wide {
                cells.push(selector_text(s(v, &["spec", "selector"])));
            }
            return cells;
        }
        ("", "Namespace") => vec![
            match text(v, &["status", "phase"]) {
                p if p.is_empty() => "Active".into(),
                p => p,
            },
            a,
        ],
        ("", "Pod") => {
            let statuses = s(v, &["status", "containerStatuses"]).and_then(Value::as_array);
            let ready = statuses
                .into_iter()
                .flatten()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                .count();
            let restarts: i64 = statuses
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .sum();
            let status = match text(v, &["status", "reason"]) {
                r if r.is_empty() => text(v, &["status", "phase"]),
                r => r,
            };
            vec![
                format!("{ready}/{}", count(v, &["spec", "containers"])),
                status,
                restarts.to_string(),
                a,
            ]
        }
        ("", "ReplicationController") | ("apps", "ReplicaSet") => {
            let mut cells = vec![
                int(v, &["spec", "replicas"]).unwrap_or(1).to_string(),
                n(&["status", "replicas"]),
                n(&["status", "readyReplicas"]),
                a,
            ];
            if wide {
                let (c, i) = containers(v, &["spec", "template", "spec", "containers"]);
                let sel = match s(v, &["spec", "selector", "matchLabels"]) {
                    Some(m) => selector_text(Some(m)),
                    None => selector_text(s(v, &["spec", "selector"])),
                };
                cells.extend([c, i, sel]);
            }
            return cells;
        }
        ("apps", "Deployment") => {
            let mut cells = vec![
                format!(
                    "{}/{}",
                    n(&["status", "readyReplicas"]),
                    int(v, &["spec", "replicas"]).unwrap_or(1)
                ),
                n(&["status", "updatedReplicas"]),
                n(&["status", "availableReplicas"]),
                a,
            ];
            if wide {
                let (c, i) = containers(v, &["spec", "template", "spec", "containers"]);
                cells.extend([
                    c,
                    i,
                    selector_text(s(v, &["spec", "selector", "matchLabels"])),
                ]);
            }
            return cells;
        }
        ("apps", "StatefulSet") => {
            let mut cells = vec![
                format!(
                    "{}/{}",
                    n(&["status", "readyReplicas"]),
                    int(v, &["spec", "replicas"]).unwrap_or(1)
                ),
                a,
            ];
            if wide {
                let (c, i) = containers(v, &["spec", "template", "spec", "containers"]);
                cells.extend([c, i]);
            }
            return cells;
        }
        ("apps.openshift.io", "DeploymentConfig") => vec![
            n(&["status", "latestVersion"]),
            int(v, &["spec", "replicas"]).unwrap_or(1).to_string(),
            n(&["status", "replicas"]),
            dc_triggers(v),
        ],
        ("build.openshift.io", "BuildConfig") => vec![
            text(v, &["spec", "strategy", "type"]),
            source_short(s(v, &["spec"]).unwrap_or(&Value::Null)),
            n(&["status", "lastVersion"]),
        ],
        ("build.openshift.io", "Build") => {
            let status = match text(v, &["status", "reason"]) {
                r if r.is_empty() => text(v, &["status", "phase"]),
                r => format!("{} ({r})", text(v, &["status", "phase"])),
            };
            let started = text(v, &["status", "startTimestamp"]);
            let duration = match int(v, &["status", "duration"]) {
                Some(ns) if ns > 0 => go_duration(ns / 1_000_000_000),
                _ => match (
                    parse_rfc3339(&started),
                    parse_rfc3339(&text(v, &["status", "completionTimestamp"])),
                ) {
                    (Some(b), Some(e)) if e >= b => go_duration(e - b),
                    _ => String::new(),
                },
            };
            vec![
                text(v, &["spec", "strategy", "type"]),
                source_short(s(v, &["spec"]).unwrap_or(&Value::Null)),
                status,
                ago(&started, now),
                duration,
            ]
        }
        ("image.openshift.io", "ImageStream") => imagestream_row(v, now),
        ("image.openshift.io", "ImageStreamTag") => vec![
            text(v, &["image", "dockerImageReference"]),
            ago(&text(v, &["metadata", "creationTimestamp"]), now),
        ],
        ("route.openshift.io", "Route") => route_row(v),
        _ => vec![a],
    };
    cells.truncate(headers(kind, wide).len());
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_resolve_like_oc() {
        let one = |s: &str| resolve(s, &[]).unwrap().remove(0);
        assert_eq!(one("cm"), KindRef::new("", "ConfigMap"));
        assert_eq!(one("ConfigMaps"), KindRef::new("", "ConfigMap"));
        assert_eq!(one("configmap"), KindRef::new("", "ConfigMap"));
        assert_eq!(
            one("dc"),
            KindRef::new("apps.openshift.io", "DeploymentConfig")
        );
        assert_eq!(
            one("deploymentconfigs.apps.openshift.io"),
            KindRef::new("apps.openshift.io", "DeploymentConfig")
        );
        assert_eq!(one("deployment.apps"), KindRef::new("apps", "Deployment"));
        assert_eq!(one("is"), KindRef::new("image.openshift.io", "ImageStream"));
        assert_eq!(one("bc"), KindRef::new("build.openshift.io", "BuildConfig"));
        assert_eq!(resolve("all", &[]).unwrap().len(), ALL.len());
        assert_eq!(
            resolve("deployment.example.com", &[])
                .unwrap_err()
                .to_string(),
            "the server doesn't have a resource type \"deployment.example.com\""
        );
        let served = vec![("example.com".to_string(), "Widget".to_string())];
        assert_eq!(
            resolve("widgets", &served).unwrap(),
            vec![KindRef::new("example.com", "Widget")]
        );
        assert_eq!(
            KindRef::new("example.com", "Policy").resource(),
            "policies.example.com"
        );
        assert_eq!(KindRef::new("", "ConfigMap").resource(), "configmaps");
    }

    #[test]
    fn timestamps_and_ages() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-03-01T00:00:00Z"), Some(1_709_251_200));
        assert_eq!(
            parse_rfc3339("2024-03-01T01:00:00+01:00"),
            Some(1_709_251_200)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00.123Z"),
            Some(1_709_251_200)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 120, "3h2m"),
            (20 * 3600, "20h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400, "3y"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
        assert_eq!(go_duration(90), "1m30s");
    }

    #[test]
    fn rows_of_the_main_kinds() {
        let now = parse_rfc3339("2024-03-01T00:10:00Z").unwrap();
        let meta = json!({"name": "x", "creationTimestamp": "2024-03-01T00:00:00Z"});
        let svc = json!({"metadata": meta, "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "nodePort": 30053}], "selector": {"app": "x"}}});
        assert_eq!(
            row(&KindRef::new("", "Service"), &svc, now, true),
            vec![
                "ClusterIP",
                "<none>",
                "<none>",
                "80/TCP,53:30053/UDP",
                "10m",
                "app=x"
            ]
        );
        let dc = json!({"metadata": meta, "spec": {"replicas": 2,
            "template": {"spec": {"containers": [{"name": "a"}]}},
            "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {"automatic": true, "containerNames": ["a"], "from": {"name": "a:latest"}}}]},
            "status": {"latestVersion": 3, "replicas": 2}});
        assert_eq!(
            row(
                &KindRef::new("apps.openshift.io", "DeploymentConfig"),
                &dc,
                now,
                false
            ),
            vec!["3", "2", "2", "config,image(a:latest)"]
        );
        let bc = json!({"metadata": meta, "spec": {"source": {"git": {"uri": "u", "ref": "master"}}, "strategy": {"type": "Docker"}}, "status": {"lastVersion": 1}});
        assert_eq!(
            row(
                &KindRef::new("build.openshift.io", "BuildConfig"),
                &bc,
                now,
                false
            ),
            vec!["Docker", "Git@master", "1"]
        );
        let is = json!({"metadata": meta, "status": {"dockerImageRepository": "r/ns/x", "tags": [
            {"tag": "old", "items": [{"created": "2024-03-01T00:01:00Z"}]},
            {"tag": "new", "items": [{"created": "2024-03-01T00:05:00Z"}]}]}});
        assert_eq!(
            row(
                &KindRef::new("image.openshift.io", "ImageStream"),
                &is,
                now,
                false
            ),
            vec!["r/ns/x", "new,old", "5m ago"]
        );
        let deploy = json!({"metadata": meta, "spec": {"replicas": 3}, "status": {"readyReplicas": 1, "updatedReplicas": 3, "availableReplicas": 1}});
        assert_eq!(
            row(&KindRef::new("apps", "Deployment"), &deploy, now, false),
            vec!["1/3", "3", "1", "10m"]
        );
        let cm = json!({"metadata": meta, "data": {"a": "1", "b": "2"}});
        assert_eq!(
            row(&KindRef::new("", "ConfigMap"), &cm, now, false),
            vec!["2", "10m"]
        );
        assert_eq!(
            row(&KindRef::new("example.com", "Widget"), &cm, now, false),
            vec!["10m"]
        );
    }
}
