//! Registry credentials from pull secrets, as OpenShift's importer reads them: every Secret of
//! type `kubernetes.io/dockerconfigjson` (key `.dockerconfigjson`, `{"auths": {…}}`) or
//! `kubernetes.io/dockercfg` (key `.dockercfg`, the entries at the top level) in the
//! ImageStream's namespace, in name order.
//!
//! An entry's key names the registry the way docker config files do, and matches a reference
//! when, after dropping an `http://`/`https://` scheme, a trailing `/v1/` or `/v2/` and
//! trailing slashes, it is the reference's registry host (with its port, case-insensitive) or
//! that host followed by a leading part of the repository path (`quay.io/org`); the most
//! specific key wins, then the first secret. Docker Hub's names (`docker.io`,
//! `index.docker.io`, `registry-1.docker.io`, `registry.hub.docker.com`, and the classic
//! `https://index.docker.io/v1/`) all name the same registry. Wildcard keys (`*.example.com`)
//! are not matched.
//!
//! An entry gives `auth` (base64 of `user:password`, preferred) or `username` and `password`;
//! identity tokens are ignored. Credentials never appear in messages or `Debug` output.

use std::fmt;

use serde_json::Value;

use crate::resource::base64;

/// The largest Secret value (decoded) read as a docker config.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// The most Secrets of a namespace read for one import.
pub const MAX_SECRETS: usize = 256;

/// The most registry entries kept from all of a namespace's pull secrets.
const MAX_ENTRIES: usize = 4096;

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &"<redacted>")
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The `Authorization: Basic …` header value.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            base64::encode(format!("{}:{}", self.username, self.password).as_bytes())
        )
    }
}

/// One matching rule: registry host, optional repository path prefix, the credentials and the
/// secret they came from.
#[derive(Clone)]
struct Entry {
    host: String,
    path: String,
    credentials: Credentials,
    secret: String,
}

/// The credentials of a namespace's pull secrets.
#[derive(Clone, Default)]
pub struct Keyring {
    entries: Vec<Entry>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|e| format!("{}/{} (secret {})", e.host, e.path, e.secret)),
            )
            .finish()
    }
}

/// The names Docker Hub goes by, all meaning `docker.io`.
const DOCKER_HUB: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// A registry host as matched: lower-case, Docker Hub's aliases folded to `docker.io`.
pub fn canonical_host(host: &str) -> String {
    let h = host.to_ascii_lowercase();
    if DOCKER_HUB.contains(&h.as_str()) {
        "docker.io".into()
    } else {
        h
    }
}

/// Splits a docker config key into (host, path prefix), `None` when it names no host.
fn parse_key(key: &str) -> Option<(String, String)> {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let mut k = k.trim_end_matches('/');
    for suffix in ["/v1", "/v2"] {
        if let Some(stripped) = k.strip_suffix(suffix) {
            k = stripped.trim_end_matches('/');
        }
    }
    let (host, path) = k.split_once('/').unwrap_or((k, ""));
    if host.is_empty() || host.contains('*') || host.chars().any(char::is_whitespace) {
        return None;
    }
    Some((canonical_host(host), path.trim_matches('/').to_string()))
}

/// The credentials of one docker config entry.
fn entry_credentials(v: &Value) -> Option<Credentials> {
    if let Some(auth) = v
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let raw = base64::decode(auth)?;
        let text = String::from_utf8(raw).ok()?;
        let (u, p) = text.split_once(':')?;
        return Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        });
    }
    let u = v.get("username").and_then(Value::as_str)?;
    let p = v.get("password").and_then(Value::as_str)?;
    (!u.is_empty() || !p.is_empty()).then(|| Credentials {
        username: u.to_string(),
        password: p.to_string(),
    })
}

/// The value of `key` in a Secret: `data` (base64) first, then `stringData`; bounded.
fn secret_value(secret: &Value, key: &str) -> Result<Option<Vec<u8>>, String> {
    if let Some(b64) = secret
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    {
        if b64.len() > MAX_CONFIG_BYTES / 3 * 4 + 4 {
            return Err(format!("{key} is larger than {MAX_CONFIG_BYTES} bytes"));
        }
        return base64::decode(b64)
            .map(Some)
            .ok_or_else(|| format!("{key} is not valid base64"));
    }
    if let Some(s) = secret
        .get("stringData")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    {
        if s.len() > MAX_CONFIG_BYTES {
            return Err(format!("{key} is larger than {MAX_CONFIG_BYTES} bytes"));
        }
        return Ok(Some(s.as_bytes().to_vec()));
    }
    Ok(None)
}

impl Keyring {
    /// A keyring with no credentials (anonymous access).
    pub fn empty() -> Self {
        Keyring::default()
    }

    /// Whether it holds no credentials.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reads the pull secrets among `secrets` (other Secrets are ignored), in name order.
    /// Returns the keyring and one problem per pull secret that could not be read, naming the
    /// secret and what is wrong, never its content.
    pub fn from_secrets(secrets: &[Value]) -> (Keyring, Vec<String>) {
        let mut sorted: Vec<&Value> = secrets
            .iter()
            .filter(|s| {
                matches!(
                    s.get("type").and_then(Value::as_str),
                    Some("kubernetes.io/dockerconfigjson" | "kubernetes.io/dockercfg")
                )
            })
            .collect();
        sorted.sort_by_key(|s| s.pointer("/metadata/name").and_then(Value::as_str));
        let mut problems = Vec::new();
        if sorted.len() > MAX_SECRETS {
            problems.push(format!(
                "only the first {MAX_SECRETS} of {} pull secrets are read",
                sorted.len()
            ));
            sorted.truncate(MAX_SECRETS);
        }
        let mut keyring = Keyring::default();
        for s in sorted {
            let name = s
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Err(m) = keyring.add_secret(s, &name) {
                problems.push(format!("pull secret {name:?}: {m}"));
            }
        }
        (keyring, problems)
    }

    fn add_secret(&mut self, secret: &Value, name: &str) -> Result<(), String> {
        let json_type =
            secret.get("type").and_then(Value::as_str) == Some("kubernetes.io/dockerconfigjson");
        let key = if json_type {
            ".dockerconfigjson"
        } else {
            ".dockercfg"
        };
        let Some(raw) = secret_value(secret, key)? else {
            return Err(format!("it has no {key} key"));
        };
        let config: Value =
            serde_json::from_slice(&raw).map_err(|_| format!("{key} is not a JSON object"))?;
        let auths = if json_type {
            config.get("auths")
        } else {
            Some(&config)
        };
        let Some(auths) = auths.and_then(Value::as_object) else {
            return Err(if json_type {
                format!("{key} has no \"auths\" object")
            } else {
                format!("{key} is not a JSON object")
            });
        };
        for (k, v) in auths {
            if self.entries.len() >= MAX_ENTRIES {
                return Err(format!("more than {MAX_ENTRIES} registry entries"));
            }
            let (Some((host, path)), Some(credentials)) = (parse_key(k), entry_credentials(v))
            else {
                continue;
            };
            self.entries.push(Entry {
                host,
                path,
                credentials,
                secret: name.to_string(),
            });
        }
        Ok(())
    }

    /// The credentials for `repository` (as the registry API names it) on `registry` (as
    /// written in the reference, `docker.io` for Docker Hub), and the secret they came from.
    pub fn lookup(&self, registry: &str, repository: &str) -> Option<(&Credentials, &str)> {
        let host = canonical_host(registry);
        let mut best: Option<&Entry> = None;
        for e in &self.entries {
            if e.host != host {
                continue;
            }
            let matches = e.path.is_empty()
                || repository == e.path
                || repository
                    .strip_prefix(e.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
            if matches && best.is_none_or(|b| e.path.len() > b.path.len()) {
                best = Some(e);
            }
        }
        best.map(|e| (&e.credentials, e.secret.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(s: &str) -> String {
        base64::encode(s.as_bytes())
    }

    fn dockerconfigjson(name: &str, auths: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name},
            "data": {".dockerconfigjson": b64(&json!({"auths": auths}).to_string())}})
    }

    #[test]
    fn keys_match_as_docker_config_does() {
        let auth = |u: &str| json!({"auth": b64(&format!("{u}:pw-{u}"))});
        let secrets = vec![
            dockerconfigjson(
                "a",
                json!({
                    "https://index.docker.io/v1/": auth("hub"),
                    "quay.io": auth("quay"),
                    "https://quay.io/org/team": auth("team"),
                    "localhost:5000/v2/": auth("local"),
                    "*.example.com": auth("wild"),
                }),
            ),
            json!({"kind": "Secret", "type": "kubernetes.io/dockercfg", "metadata": {"name": "b"},
                "stringData": {".dockercfg": json!({"Registry.Example.com": {"username": "u", "password": "p"}}).to_string()}}),
            json!({"kind": "Secret", "type": "Opaque", "metadata": {"name": "c"},
                "data": {".dockerconfigjson": "!!"}}),
        ];
        let (k, problems) = Keyring::from_secrets(&secrets);
        assert!(problems.is_empty(), "{problems:?}");
        let user = |reg: &str, repo: &str| k.lookup(reg, repo).map(|(c, _)| c.username.clone());
        assert_eq!(user("docker.io", "library/centos").as_deref(), Some("hub"));
        assert_eq!(user("index.docker.io", "x/y").as_deref(), Some("hub"));
        assert_eq!(user("quay.io", "org/app").as_deref(), Some("quay"));
        assert_eq!(user("QUAY.io", "org/team/app").as_deref(), Some("team"));
        assert_eq!(user("quay.io", "org/teamx").as_deref(), Some("quay"));
        assert_eq!(user("localhost:5000", "a").as_deref(), Some("local"));
        assert_eq!(user("localhost:5001", "a"), None);
        assert_eq!(user("registry.example.com", "a").as_deref(), Some("u"));
        assert_eq!(user("other.example.com", "a"), None);
        assert_eq!(k.lookup("quay.io", "org/app").unwrap().1, "a");
        let c = k.lookup("quay.io", "x").unwrap().0;
        assert_eq!(c.basic_header(), format!("Basic {}", b64("quay:pw-quay")));
        let shown = format!("{c:?} {k:?}");
        assert!(!shown.contains("pw-"), "{shown}");
    }

    #[test]
    fn broken_pull_secrets_are_named_without_their_content() {
        let secrets = vec![
            json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": {"name": "bad64"},
                "data": {".dockerconfigjson": "not base64!"}}),
            json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": {"name": "nokey"},
                "data": {}}),
            json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": {"name": "notjson"},
                "data": {".dockerconfigjson": b64("hunter2 {")}}),
            json!({"kind": "Secret", "type": "kubernetes.io/dockercfg", "metadata": {"name": "huge"},
                "data": {".dockercfg": "A".repeat(MAX_CONFIG_BYTES * 2)}}),
        ];
        let (k, problems) = Keyring::from_secrets(&secrets);
        assert!(k.is_empty());
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("\"bad64\"") && problems[0].contains("not valid base64"));
        assert!(problems[1].contains("\"huge\"") && problems[1].contains("larger than"));
        assert!(problems[2].contains("no .dockerconfigjson key"));
        assert!(problems[3].contains("\"notjson\""));
        assert!(problems.iter().all(|p| !p.contains("hunter2")));
    }
}
