//! Importing a tag reference over the OCI distribution API: `HEAD /v2/<repo>/manifests/<tag>`
//! with the manifest media types in `Accept`, the digest from `Docker-Content-Digest`, and the
//! bearer-token flow when the registry answers 401 with `WWW-Authenticate: Bearer realm=…`.
//!
//! Digest-pinned references never reach the network ([`super::stream::import_pinned`]). Plain
//! HTTP is used for `importPolicy.insecure` tags and for loopback registries (`localhost`,
//! `127.0.0.0/8`, `[::1]`), as container tools allow for local registries. No credentials
//! are sent: anonymous tokens only.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::DockerRef;
use super::stream::{ImportFailure, Imported, import_pinned};

/// The manifest media types asked for, most specific first.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json;q=0.9, application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5";

/// The largest token response or manifest body read.
const MAX_BODY: u64 = 4 * 1024 * 1024;

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

    /// Resolves `reference` to a digest-pinned reference and image id: offline when it is
    /// pinned, over the registry API otherwise.
    pub fn import(&self, reference: &str, insecure: bool) -> Result<Imported, ImportFailure> {
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
        let scheme = if insecure || is_loopback(host) {
            "http"
        } else {
            "https"
        };
        let repo = r.api_repository();
        let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
        let url = format!("{scheme}://{host}/v2/{repo}/manifests/{tag}");
        let ctx = |m: String| format!("importing {reference:?} from {url}: {m}");
        let head = |token: Option<&str>| {
            let mut req = self.agent.head(&url).header("Accept", ACCEPT);
            if let Some(t) = token {
                req = req.header("Authorization", &format!("Bearer {t}"));
            }
            req.call()
        };
        let mut resp = head(None).map_err(|e| fail("InternalError", ctx(e.to_string())))?;
        let mut token = None;
        if resp.status().as_u16() == 401 {
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let t = self
                .token(&challenge, &repo)
                .map_err(|m| fail("Unauthorized", ctx(m)))?;
            resp = head(Some(&t)).map_err(|e| fail("InternalError", ctx(e.to_string())))?;
            token = Some(t);
        }
        let status = resp.status().as_u16();
        match status {
            200 => {}
            401 | 403 => {
                return Err(fail(
                    "Unauthorized",
                    ctx(format!("{status}: the registry refused access")),
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
        let header = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let digest = match header {
            Some(d) => d,
            None => {
                // Some registries omit the header on HEAD: hash the manifest itself.
                let mut req = self.agent.get(&url).header("Accept", ACCEPT);
                if let Some(t) = &token {
                    req = req.header("Authorization", &format!("Bearer {t}"));
                }
                let mut resp = req
                    .call()
                    .map_err(|e| fail("InternalError", ctx(e.to_string())))?;
                if resp.status().as_u16() != 200 {
                    return Err(fail(
                        "InternalError",
                        ctx(format!("GET manifest answered {}", resp.status().as_u16())),
                    ));
                }
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_vec()
                    .map_err(|e| fail("InternalError", ctx(e.to_string())))?;
                format!("sha256:{}", hex::encode(Sha256::digest(&body)))
            }
        };
        super::check_digest(&digest).map_err(|m| {
            fail(
                "InternalError",
                ctx(format!(
                    "the registry sent an invalid Docker-Content-Digest: {m}"
                )),
            )
        })?;
        Ok(Imported {
            reference: format!("{}@{digest}", r.qualified_name()),
            image: digest,
        })
    }

    /// Fetches an anonymous bearer token for the challenge.
    fn token(&self, challenge: &str, repo: &str) -> Result<String, String> {
        let params = parse_challenge(challenge).ok_or_else(|| {
            format!("401 with an unsupported WWW-Authenticate challenge {challenge:?} (only anonymous bearer tokens are supported)")
        })?;
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
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| format!("token request to {realm}: {e}"))?;
        if resp.status().as_u16() != 200 {
            return Err(format!(
                "token request to {realm} answered {}",
                resp.status().as_u16()
            ));
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
    }
}
