//! A fake OCI registry on 127.0.0.1 for import tests: real HTTP, manifests served by content
//! (the digest is the sha256 of the body), and three ways to authenticate — anonymous bearer
//! tokens, bearer tokens that need Basic credentials at the token endpoint, and Basic
//! credentials asked for by the registry itself. Every request's path and Authorization
//! header is recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use sha2::{Digest, Sha256};

/// How the registry wants to be authenticated.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `WWW-Authenticate: Bearer`; the token endpoint gives a token to anyone.
    AnonymousBearer,
    /// `WWW-Authenticate: Bearer`; the token endpoint wants `Authorization: Basic user:pass`.
    BearerWithBasic { user: String, pass: String },
    /// `WWW-Authenticate: Basic`; the registry wants `Authorization: Basic user:pass`.
    Basic { user: String, pass: String },
}

/// One request the registry saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

/// `repo:reference` (tag or digest) → (media type, body).
type Manifests = HashMap<String, (String, Vec<u8>)>;

#[derive(Clone)]
pub struct Fake {
    pub port: u16,
    auth: Auth,
    manifests: Arc<Mutex<Manifests>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    _rt: Arc<tokio::runtime::Runtime>,
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `sha256:<hex>` of `body`.
pub fn digest_of(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// An image manifest whose content (and so digest) depends on `seed`.
pub fn image_manifest(seed: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(seed.as_bytes()), "size": seed.len()},
        "layers": [],
    }))
    .unwrap()
}

/// An image index over `(os, arch, child manifest body)`.
pub fn index(children: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let manifests: Vec<_> = children
        .iter()
        .map(|(os, arch, body)| {
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": digest_of(body),
                "size": body.len(), "platform": {"os": os, "architecture": arch}})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
    .unwrap()
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        kascade::resource::base64::encode(format!("{user}:{pass}").as_bytes())
    )
}

fn authorization(req: &Request) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn token(State(f): State<Fake>, req: Request) -> Response {
    f.record(&req);
    let granted = match &f.auth {
        Auth::AnonymousBearer => Some("anonymous-token".to_string()),
        Auth::BearerWithBasic { user, pass } => (authorization(&req).as_deref()
            == Some(basic(user, pass).as_str()))
        .then(|| format!("token-for-{user}")),
        Auth::Basic { .. } => None,
    };
    match granted {
        Some(t) => axum::Json(serde_json::json!({"token": t})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn v2(State(f): State<Fake>, req: Request) -> Response {
    f.record(&req);
    let path = req.uri().path().to_string();
    let ok = match &f.auth {
        Auth::AnonymousBearer => authorization(&req).as_deref() == Some("Bearer anonymous-token"),
        Auth::BearerWithBasic { user, .. } => {
            authorization(&req) == Some(format!("Bearer token-for-{user}"))
        }
        Auth::Basic { user, pass } => authorization(&req) == Some(basic(user, pass)),
    };
    let Some((repo, reference)) = path
        .strip_prefix("/v2/")
        .and_then(|p| p.split_once("/manifests/"))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !ok {
        let challenge = match &f.auth {
            Auth::Basic { .. } => "Basic realm=\"fake\"".to_string(),
            _ => format!(
                "Bearer realm=\"http://127.0.0.1:{}/token\",service=\"fake\",scope=\"repository:{repo}:pull\"",
                f.port
            ),
        };
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
        )
            .into_response();
    }
    let found = f
        .manifests
        .lock()
        .unwrap()
        .get(&format!("{repo}:{reference}"))
        .cloned();
    let Some((media_type, body)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, media_type),
        (
            header::HeaderName::from_static("docker-content-digest"),
            digest_of(&body),
        ),
    ];
    if req.method() == axum::http::Method::HEAD {
        (StatusCode::OK, headers).into_response()
    } else {
        (StatusCode::OK, headers, body).into_response()
    }
}

impl Fake {
    fn record(&self, req: &Request) {
        self.seen.lock().unwrap().push(Seen {
            method: req.method().to_string(),
            path: req.uri().to_string(),
            authorization: authorization(req),
        });
    }

    /// Serves `body` as `repo:tag` and as `repo@<its digest>`; returns the digest.
    pub fn put(&self, repo: &str, tag: &str, media_type: &str, body: &[u8]) -> String {
        let d = digest_of(body);
        let mut m = self.manifests.lock().unwrap();
        for r in [tag, d.as_str()] {
            m.insert(format!("{repo}:{r}"), (media_type.into(), body.to_vec()));
        }
        d
    }

    /// `127.0.0.1:<port>/<repo>:<tag>`.
    pub fn reference(&self, repo: &str, tag: &str) -> String {
        format!("127.0.0.1:{}/{repo}:{tag}", self.port)
    }

    /// `127.0.0.1:<port>/<repo>@<digest>`.
    pub fn pinned(&self, repo: &str, digest: &str) -> String {
        format!("127.0.0.1:{}/{repo}@{digest}", self.port)
    }
}

/// Starts a registry on a free port of 127.0.0.1; it stops when the last clone is dropped.
pub fn start(auth: Auth) -> Fake {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = Fake {
        port,
        auth,
        manifests: Arc::default(),
        seen: Arc::default(),
        _rt: Arc::new(rt),
    };
    let app = Router::new()
        .route("/token", get(token))
        .route("/v2/{*rest}", any(v2))
        .with_state(fake.clone());
    fake._rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    fake
}
