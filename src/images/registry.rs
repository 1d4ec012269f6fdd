//! Importing a tag reference over the OCI distribution API: `HEAD /v2/<repo>/manifests/<tag>`
//! with the manifest media types in `Accept`, the digest from `Docker-Content-Digest`, and the
//! registry's authentication challenge answered when it says 401:
//!
//! - `WWW-Authenticate: Bearer realm=…,service=…,scope=…`: a token is fetched from the realm,
//!   with the pull secret's credentials as `Authorization: Basic` when there are some
//!   (anonymously otherwise), and sent as `Authorization: Bearer`;
//! - `WWW-Authenticate: Basic`: the credentials are sent to the registry directly.
//!
//! Credentials are only ever sent over TLS, or over plain HTTP to a registry the tag already
//! reaches over plain HTTP (`importPolicy.insecure`, loopback); they never appear in messages.
//!
//! A manifest list or OCI image index is resolved by `importPolicy.importMode`
//! ([`ImportMode`]): `Legacy` (the default) imports the `linux/amd64` image of the list,
//! `PreserveOriginal` the list itself.
//!
//! Digest-pinned references never reach the network ([`super::stream::import_pinned`]). Plain
//! HTTP is used for `importPolicy.insecure` tags and for loopback registries (`localhost`,
//! `127.0.0.0/8`, `[::1]`), as container tools allow for local registries.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::DockerRef;
use super::auth::Credentials;
use super::stream::{ImportFailure, ImportMode, Imported, import_pinned};

/// The manifest media types asked for, most specific first.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json;q=0.9, application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5";

/// The media types of a manifest list / image index.
const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The platform a `Legacy` import picks from a manifest list, as OpenShift's importer does.
pub const DEFAULT_PLATFORM: (&str, &str) = ("linux", "amd64");

/// The largest token response or manifest body read.
const MAX_BODY: u64 = 4 * 1024 * 1024;

/// The most entries of a manifest list looked at.
const MAX_LIST_ENTRIES: usize = 1024;

/// How one import runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    /// `importPolicy.insecure`: plain HTTP allowed.
    pub insecure: bool,
    /// `importPolicy.importMode`.
    pub mode: ImportMode,
    /// The credentials for the registry, and where they came from (`pull secret "x"`), for
    /// messages.
    pub credentials: Option<(&'a Credentials, &'a str)>,
}
/// A blocking registry client.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    agent: ureq::Agent,
}

impl Default for RegistryClient {
    fn default() -> Self {
        Self::new(Duration::from_secs(15))
    }
}

fn fail(reason: &str, message: String) -> ImportFailure {
    ImportFailure {
        reason: reason.to_string(),
        message,
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host
        .rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    h == "localhost" || h.starts_with("127.") || h == "[::1]"
}

/// The parameters of a `WWW-Authenticate: Bearer k="v",…` challenge.
pub fn parse_challenge(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim();
    let (scheme, params) = rest.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut out = Vec::new();
    let mut chars = params.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
        }
        out.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Some(out)
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The scheme of a `WWW-Authenticate` challenge, lower-case.
fn challenge_scheme(header: &str) -> String {
    header
        .trim()
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Whether a manifest body is a manifest list / image index.
fn body_is_index(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    match v.get("mediaType").and_then(Value::as_str) {
        Some(t) => INDEX_TYPES.contains(&t),
        None => v.get("manifests").is_some_and(Value::is_array) && v.get("layers").is_none(),
    }
}

/// The digest of the `os/arch` entry of a manifest list, or the platforms it has.
fn pick_platform(body: &[u8], os: &str, arch: &str) -> Result<String, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the manifest list is not valid JSON: {e}"))?;
    let entries = v
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or("the manifest list has no manifests array")?;
    let mut found: Vec<String> = Vec::new();
    for m in entries.iter().take(MAX_LIST_ENTRIES) {
        let p = |k: &str| {
            m.pointer(&format!("/platform/{k}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        if p("os") == os && p("architecture") == arch {
            let digest = m
                .get("digest")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("its {os}/{arch} entry has no digest"))?;
            super::check_digest(digest)
                .map_err(|e| format!("its {os}/{arch} entry has an invalid digest: {e}"))?;
            return Ok(digest.to_string());
        }
        if p("os").is_empty() || p("os") == "unknown" {
            continue; // attestation manifests and entries without a platform
        }
        let mut name = format!("{}/{}", p("os"), p("architecture"));
        if !p("variant").is_empty() {
            name = format!("{name}/{}", p("variant"));
        }
        if !found.contains(&name) {
            found.push(name);
        }
    }
    Err(if found.is_empty() {
        format!("the manifest list has no {os}/{arch} image (it names no platforms)")
    } else {
        format!(
            "the manifest list has no {os}/{arch} image; it has {}",
            found.join(", ")
        )
    })
}

fn header_str(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl RegistryClient {
    /// A client whose every request gives up after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(5)
            .build()
            .into();
        RegistryClient { agent }
    }

    /// Resolves `reference` to a digest-pinned reference and image id, anonymously, in
    /// `Legacy` mode: offline when it is pinned, over the registry API otherwise.
    pub fn import(&self, reference: &str, insecure: bool) -> Result<Imported, ImportFailure> {
        self.import_with(
            reference,
            &ImportOptions {
                insecure,
                ..ImportOptions::default()
            },
        )
    }

    /// Resolves `reference` to a digest-pinned reference and image id with `options`:
    /// offline when it is pinned, over the registry API otherwise.
    pub fn import_with(
        &self,
        reference: &str,
        options: &ImportOptions<'_>,
    ) -> Result<Imported, ImportFailure> {
        if let Some(r) = import_pinned(reference) {
            return r;
        }
        let r = DockerRef::parse(reference).map_err(|e| fail("InvalidReference", e.to_string()))?;
        let registry = r.registry_or_default();
        let host = if registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            registry
        };
        let plain = options.insecure || is_loopback(host);
        let scheme = if plain { "http" } else { "https" };
        let repo = r.api_repository();
        let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
        let url = format!("{scheme}://{host}/v2/{repo}/manifests/{tag}");
        let ctx = |m: String| format!("importing {reference:?} from {url}: {m}");
        let who = match options.credentials {
            Some((_, from)) => format!("with the credentials of {from}"),
            None => format!("anonymously (no pull secret matches {registry})"),
        };
        let call = |get: bool, authorization: Option<&str>| {
            let mut req = if get {
                self.agent.get(&url)
            } else {
                self.agent.head(&url)
            }
            .header("Accept", ACCEPT);
            if let Some(a) = authorization {
                req = req.header("Authorization", a);
            }
            req.call()
        };
        let mut resp = call(false, None).map_err(|e| fail("InternalError", ctx(e.to_string())))?;
        let mut authorization = None;
        if resp.status().as_u16() == 401 {
            let challenge = header_str(&resp, "www-authenticate").unwrap_or_default();
            let a = self
                .authorize(&challenge, &repo, options.credentials, plain)
                .map_err(|m| fail("Unauthorized", ctx(m)))?;
            resp = call(false, Some(&a)).map_err(|e| fail("InternalError", ctx(e.to_string())))?;
            authorization = Some(a);
        }
        let status = resp.status().as_u16();
        match status {
            200 => {}
            401 | 403 => {
                return Err(fail(
                    "Unauthorized",
                    ctx(format!("{status}: the registry refused access {who}")),
                ));
            }
            404 => {
                return Err(fail(
                    "NotFound",
                    ctx("404: manifest unknown (no such repository or tag)".into()),
                ));
            }
            s => return Err(fail("InternalError", ctx(format!("unexpected status {s}")))),
        }
        let media_type = header_str(&resp, "content-type")
            .map(|t| t.split(';').next().unwrap_or_default().trim().to_string())
            .unwrap_or_default();
        let mut digest = header_str(&resp, "docker-content-digest");
        let mut is_index = INDEX_TYPES.contains(&media_type.as_str());
        let mut body = None;
        if digest.is_none() || is_index {
            // Some registries omit the digest on HEAD: hash the manifest itself. A list is
            // read to pick its platform.
            let mut resp = call(true, authorization.as_deref())
                .map_err(|e| fail("InternalError", ctx(e.to_string())))?;
            if resp.status().as_u16() != 200 {
                return Err(fail(
                    "InternalError",
                    ctx(format!("GET manifest answered {}", resp.status().as_u16())),
                ));
            }
            let get_digest = header_str(&resp, "docker-content-digest");
            let bytes = resp
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_vec()
                .map_err(|e| fail("InternalError", ctx(e.to_string())))?;
            let computed = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
            let d = get_digest.unwrap_or_else(|| computed.clone());
            if d.starts_with("sha256:") && d != computed {
                return Err(fail(
                    "InternalError",
                    ctx(format!(
                        "the manifest's content does not match its digest {d} (it hashes to {computed})"
                    )),
                ));
            }
            is_index = is_index || body_is_index(&bytes);
            digest = Some(d);
            body = Some(bytes);
        }
        let digest = digest.unwrap_or_default();
        super::check_digest(&digest).map_err(|m| {
            fail(
                "InternalError",
                ctx(format!(
                    "the registry sent an invalid Docker-Content-Digest: {m}"
                )),
            )
        })?;
        let image = match (is_index, options.mode, &body) {
            (true, ImportMode::Legacy, Some(body)) => {
                let (os, arch) = DEFAULT_PLATFORM;
                pick_platform(body, os, arch).map_err(|m| {
                    fail(
                        "NotFound",
                        ctx(format!(
                            "{m} (importMode Legacy imports {os}/{arch}; importMode PreserveOriginal keeps the list {digest})"
                        )),
                    )
                })?
            }
            _ => digest,
        };
        Ok(Imported {
            reference: format!("{}@{image}", r.qualified_name()),
            image,
        })
    }

    /// The `Authorization` header that answers a 401's challenge.
    fn authorize(
        &self,
        challenge: &str,
        repo: &str,
        credentials: Option<(&Credentials, &str)>,
        plain: bool,
    ) -> Result<String, String> {
        match challenge_scheme(challenge).as_str() {
            "bearer" => {
                let token = self.token(challenge, repo, credentials, plain)?;
                Ok(format!("Bearer {token}"))
            }
            "basic" => match credentials {
                Some((c, _)) => Ok(c.basic_header()),
                None => Err(
                    "401: the registry asks for basic credentials and no pull secret matches it"
                        .into(),
                ),
            },
            _ => Err(format!(
                "401 with an unsupported WWW-Authenticate challenge {:?} (Bearer and Basic are supported)",
                challenge.chars().take(200).collect::<String>()
            )),
        }
    }

    /// Fetches a bearer token for the challenge, with the credentials when there are some.
    fn token(
        &self,
        challenge: &str,
        repo: &str,
        credentials: Option<(&Credentials, &str)>,
        plain: bool,
    ) -> Result<String, String> {
        let params = parse_challenge(challenge)
            .ok_or_else(|| format!("401 with a malformed bearer challenge {challenge:?}"))?;
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        let realm = get("realm").ok_or("the bearer challenge has no realm")?;
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(format!("the token realm {realm:?} is not an http(s) URL"));
        }
        let default_scope = format!("repository:{repo}:pull");
        let scope = get("scope").unwrap_or(&default_scope);
        let mut url = format!("{realm}?scope={}", percent(scope));
        if let Some(service) = get("service") {
            url.push_str(&format!("&service={}", percent(service)));
        }
        let mut req = self.agent.get(&url);
        if let Some((c, from)) = credentials {
            if realm.starts_with("http://") && !plain {
                return Err(format!(
                    "refusing to send the credentials of {from} to the plain-HTTP token realm {realm}"
                ));
            }
            url.push_str(&format!("&account={}", percent(&c.username)));
            req = self
                .agent
                .get(&url)
                .header("Authorization", &c.basic_header());
        }
        let mut resp = req
            .call()
            .map_err(|e| format!("token request to {realm}: {e}"))?;
        let status = resp.status().as_u16();
        if status != 200 {
            let who = match credentials {
                Some((_, from)) => format!("the credentials of {from} were refused"),
                None => "anonymous access was refused; add a pull secret for this registry to the image stream's namespace".into(),
            };
            return Err(format!("token request to {realm} answered {status}: {who}"));
        }
        let body: serde_json::Value = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_json()
            .map_err(|e| format!("token response from {realm}: {e}"))?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("the token response from {realm} has no token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        let p = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/centos:pull""#,
        )
        .unwrap();
        assert_eq!(
            p[0],
            ("realm".into(), "https://auth.docker.io/token".into())
        );
        assert_eq!(p[2].1, "repository:library/centos:pull");
        assert!(parse_challenge("Basic realm=\"x\"").is_none());
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("quay.io"));
        assert_eq!(challenge_scheme("Basic realm=\"x\""), "basic");
        assert_eq!(challenge_scheme(" BEARER realm=x"), "bearer");
    }

    #[test]
    fn manifest_lists_pick_the_default_platform_or_name_what_they_have() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let list = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"digest": d('1'), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"digest": d('2'), "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": d('3'), "platform": {"os": "unknown", "architecture": "unknown"}},
            ]
        });
        let body = serde_json::to_vec(&list).unwrap();
        assert!(body_is_index(&body));
        assert_eq!(pick_platform(&body, "linux", "amd64").unwrap(), d('2'));
        let err = pick_platform(&body, "linux", "s390x").unwrap_err();
        assert_eq!(
            err,
            "the manifest list has no linux/s390x image; it has linux/arm64/v8, linux/amd64"
        );
        let bad = serde_json::json!({"manifests": [
            {"digest": "sha256:short", "platform": {"os": "linux", "architecture": "amd64"}}]});
        let bad = serde_json::to_vec(&bad).unwrap();
        assert!(
            body_is_index(&bad),
            "no mediaType, but manifests and no layers"
        );
        assert!(
            pick_platform(&bad, "linux", "amd64")
                .unwrap_err()
                .contains("invalid digest")
        );
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        assert!(!body_is_index(image));
        assert!(!body_is_index(b"not json"));
        assert!(pick_platform(b"{}", "linux", "amd64").is_err());
    }
}
