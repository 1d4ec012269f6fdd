//! Where desired state and build sources come from: Git repositories, fetched into a cache
//! under the state directory and exported, one revision at a time, as read-only snapshots.
//!
//! ```text
//! fetch(state, SourceSpec{url, ref, path}, auth)
//!   classify the URL     https · http (localhost only) · ssh:// · git@host:path · file:// · a path
//!                        anything else (ext::, fd::, git://, …) is refused before git sees it
//!   lock                 <state>/git/<sha256(url)>.lock, so two processes never fetch at once
//!   list the remote      resolve the ref: a branch, a tag, or a commit sha (default: remote HEAD)
//!   fetch                into the bare cache <state>/git/<sha256(url)>, just that ref;
//!                        depth 1 the first time a branch or tag is fetched over the network
//!   export               the tree at the commit, read from git objects (never a working copy),
//!                        into <state>/snapshots/<url hash>/<revision>[-<path hash>], checked
//!                        and bounded, renamed into place at once; reused when already there
//! ```
//!
//! [`fetch`] is blocking (the Git library works in the calling thread): async callers run it
//! in `spawn_blocking`. It reports, it does not decide: a branch moved by a force-push comes
//! back with [`Snapshot::forced`] set, and [`check_fast_forward`] turns "not a descendant of
//! the last synced revision" into a [`SourceError::ForcePush`] for callers that refuse it
//! (`kascade sync` does, unless `--allow-force-push`). A deleted branch is [`SourceError::BranchDeleted`].
//!
//! The embedded cluster's build executor uses the same cache without exporting anything:
//! [`fetch_revision`] fetches one commit (a ref, or a `--commit` sha), [`tree_id`] and
//! [`read_file`] read its context directory and Dockerfile straight from git objects, and a
//! [`Fetcher`] remembers each fetch for one controller pass. Build sources go through the
//! same URL classification, lock, credentials and bounds as `kascade sync`'s.
//!
//! Only [`git`] names the Git library crate.
//!
//! Credentials ([`Auth`]) never come from the command line: an https token is read from an
//! environment variable or a file when the server asks for it; ssh uses a key file or the
//! ssh-agent and checks the server's host key against a known_hosts file.

pub mod git;
/// known_hosts checking; public only so the fuzz targets reach it.
#[doc(hidden)]
pub mod known_hosts;

use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// The largest token read from an environment variable or a file.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest URL accepted.
const MAX_URL_BYTES: usize = 4096;
/// The longest ref or path accepted.
const MAX_NAME_BYTES: usize = 1024;

/// What to fetch: a repository, a ref in it and optionally a directory of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceSpec {
    /// The repository: `https://…`, `http://localhost…`, `ssh://…`, `git@host:path`,
    /// `file://…` or a local path.
    pub url: String,
    /// A branch, a tag or a commit sha (full, or at least 7 hex digits); default: the branch
    /// the remote's HEAD points at.
    pub reference: Option<String>,
    /// A directory (or file) inside the repository to export instead of the whole tree.
    pub path: Option<String>,
}

/// A revision of a repository exported to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The repository, as given.
    pub url: String,
    /// The ref that was resolved: `refs/heads/<branch>`, `refs/tags/<tag>`, or the commit
    /// sha when a commit was asked for.
    pub reference: String,
    /// The full commit sha.
    pub revision: String,
    /// The first line of the commit message.
    pub subject: String,
    /// The tree at `revision`, exported read-only under the state dir, joined with `path`.
    pub root: PathBuf,
    /// The revision the cache held for this ref before this fetch, if it held one.
    pub previous: Option<String>,
    /// Whether `previous` is not an ancestor of `revision` (a force-push of a branch, or a
    /// moved tag). Decide with [`check_fast_forward`] against the last *synced* revision.
    pub forced: bool,
    /// Objects received by this fetch (0 when the cache already had the revision).
    pub fetched_objects: usize,
}

impl Snapshot {
    /// Whether the snapshot follows a branch (the only kind of ref that moves normally).
    pub fn is_branch(&self) -> bool {
        self.reference.starts_with("refs/heads/")
    }
}

/// Credentials for fetching. Holds where secrets are, never the secrets themselves, so it
/// can be logged and kept in memory freely; the token is read when the server asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// An environment variable holding an https token (sent as the password; the user name
    /// is the URL's, or `x-access-token`).
    pub token_env: Option<String>,
    /// A file holding an https token (surrounding whitespace ignored).
    pub token_file: Option<PathBuf>,
    /// An ssh private key file (without a passphrase); default: the ssh-agent.
    pub ssh_key: Option<PathBuf>,
    /// The known_hosts file that ssh host keys are checked against; default
    /// `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
}

/// A secret read for one fetch. Its `Debug` never shows the value.
#[derive(Clone)]
pub(crate) struct Token {
    value: String,
    /// Where it came from (`$NAME` or the file), for messages.
    origin: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(from {}, redacted)", self.origin)
    }
}

impl Token {
    pub(crate) fn value(&self) -> &str {
        &self.value
    }
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }
}

impl Auth {
    /// Reads the https token, if one is configured. Messages name the variable or file,
    /// never the value.
    pub(crate) fn token(&self, url: &str) -> Result<Option<Token>, SourceError> {
        let fail = |reason: String| SourceError::Credentials {
            url: url.to_string(),
            reason,
        };
        let (raw, origin) = match (&self.token_env, &self.token_file) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    "give a token variable or a token file, not both".into(),
                ));
            }
            (None, None) => return Ok(None),
            (Some(name), None) => {
                let origin = format!("${name}");
                match std::env::var(name) {
                    Ok(v) => (v, origin),
                    Err(std::env::VarError::NotPresent) => {
                        return Err(fail(format!("environment variable {name} is not set")));
                    }
                    Err(std::env::VarError::NotUnicode(_)) => {
                        return Err(fail(format!("environment variable {name} is not UTF-8")));
                    }
                }
            }
            (None, Some(file)) => {
                let origin = file.display().to_string();
                let meta = std::fs::metadata(file)
                    .map_err(|e| fail(format!("cannot read token file {origin}: {e}")))?;
                if meta.len() > MAX_TOKEN_BYTES as u64 {
                    return Err(fail(format!(
                        "token file {origin} is larger than {MAX_TOKEN_BYTES} bytes"
                    )));
                }
                let v = std::fs::read_to_string(file)
                    .map_err(|e| fail(format!("cannot read token file {origin}: {e}")))?;
                (v, origin)
            }
        };
        let value = raw.trim().to_string();
        if value.is_empty() {
            return Err(fail(format!("the token in {origin} is empty")));
        }
        if value.len() > MAX_TOKEN_BYTES || value.chars().any(char::is_control) {
            return Err(fail(format!(
                "the token in {origin} is not a single line of at most {MAX_TOKEN_BYTES} bytes"
            )));
        }
        Ok(Some(Token { value, origin }))
    }

    /// The known_hosts file to check ssh host keys against.
    pub(crate) fn known_hosts_path(&self) -> Option<PathBuf> {
        self.known_hosts.clone().or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh").join("known_hosts"))
        })
    }
}

/// A fetch or export that failed. Messages name the URL, ref or path; they never contain a
/// token.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The URL uses a transport kascade refuses, or is malformed.
    #[error("unsupported repository url {url}: {reason}")]
    UnsupportedUrl {
        /// The URL (any password in it replaced by `***`).
        url: String,
        /// Why.
        reason: String,
    },
    /// The ref is not a valid branch, tag or sha.
    #[error("invalid ref {reference:?}: {reason}")]
    InvalidRef {
        /// The ref.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The path inside the repository is not acceptable.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The state directory could not be prepared or written.
    #[error("failed to write {path}: {source}")]
    State {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The token could not be read.
    #[error("credentials for {url}: {reason}")]
    Credentials {
        /// The repository.
        url: String,
        /// Why (names the variable or file, never the value).
        reason: String,
    },
    /// Connecting, listing or fetching failed.
    #[error("failed to fetch {reference} from {url}: {reason}")]
    Fetch {
        /// The repository.
        url: String,
        /// The ref.
        reference: String,
        /// The cause.
        reason: String,
    },
    /// The remote has no branch, tag or commit of that name.
    #[error("ref {reference:?} not found in {url} (no branch, tag or commit of that name)")]
    RefNotFound {
        /// The repository.
        url: String,
        /// The ref.
        reference: String,
    },
    /// A branch that was fetched before is gone from the remote.
    #[error("branch {branch:?} was deleted from {url} (last fetched at {last})")]
    BranchDeleted {
        /// The repository.
        url: String,
        /// The branch.
        branch: String,
        /// The revision the cache last saw.
        last: String,
    },
    /// The new revision does not descend from the last synced one.
    #[error(
        "{reference} of {url} was force-pushed: {new} does not descend from the last synced revision {old}"
    )]
    ForcePush {
        /// The repository.
        url: String,
        /// The ref.
        reference: String,
        /// The last synced revision.
        old: String,
        /// The fetched revision.
        new: String,
    },
    /// The path is not in the tree at that revision.
    #[error("path {path:?} does not exist in {url} at {revision}")]
    PathNotFound {
        /// The repository.
        url: String,
        /// The commit.
        revision: String,
        /// The path.
        path: String,
    },
    /// The tree holds something kascade will not export (an escaping symlink, a `.git`
    /// entry, a submodule, a name that is not a file name).
    #[error("refusing {url} at {revision}: {path}: {reason}")]
    UnsafeTree {
        /// The repository.
        url: String,
        /// The commit.
        revision: String,
        /// The entry.
        path: String,
        /// Why.
        reason: String,
    },
    /// The export would exceed a bound.
    #[error("refusing {url} at {revision}: {path}: {reason}")]
    TooLarge {
        /// The repository.
        url: String,
        /// The commit.
        revision: String,
        /// The entry that crossed the bound.
        path: String,
        /// Which bound.
        reason: String,
    },
    /// The cache repository could not be opened or read.
    #[error("git cache of {url}: {reason}")]
    Cache {
        /// The repository.
        url: String,
        /// The cause.
        reason: String,
    },
}

/// A copy of the error, for results remembered by [`Fetcher`]; an I/O cause keeps its kind
/// and message.
impl Clone for SourceError {
    fn clone(&self) -> Self {
        use SourceError as E;
        match self {
            E::UnsupportedUrl { url, reason } => E::UnsupportedUrl {
                url: url.clone(),
                reason: reason.clone(),
            },
            E::InvalidRef { reference, reason } => E::InvalidRef {
                reference: reference.clone(),
                reason: reason.clone(),
            },
            E::InvalidPath { path, reason } => E::InvalidPath {
                path: path.clone(),
                reason: reason.clone(),
            },
            E::State { path, source } => E::State {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            E::Credentials { url, reason } => E::Credentials {
                url: url.clone(),
                reason: reason.clone(),
            },
            E::Fetch {
                url,
                reference,
                reason,
            } => E::Fetch {
                url: url.clone(),
                reference: reference.clone(),
                reason: reason.clone(),
            },
            E::RefNotFound { url, reference } => E::RefNotFound {
                url: url.clone(),
                reference: reference.clone(),
            },
            E::BranchDeleted { url, branch, last } => E::BranchDeleted {
                url: url.clone(),
                branch: branch.clone(),
                last: last.clone(),
            },
            E::ForcePush {
                url,
                reference,
                old,
                new,
            } => E::ForcePush {
                url: url.clone(),
                reference: reference.clone(),
                old: old.clone(),
                new: new.clone(),
            },
            E::PathNotFound {
                url,
                revision,
                path,
            } => E::PathNotFound {
                url: url.clone(),
                revision: revision.clone(),
                path: path.clone(),
            },
            E::UnsafeTree {
                url,
                revision,
                path,
                reason,
            } => E::UnsafeTree {
                url: url.clone(),
                revision: revision.clone(),
                path: path.clone(),
                reason: reason.clone(),
            },
            E::TooLarge {
                url,
                revision,
                path,
                reason,
            } => E::TooLarge {
                url: url.clone(),
                revision: revision.clone(),
                path: path.clone(),
                reason: reason.clone(),
            },
            E::Cache { url, reason } => E::Cache {
                url: url.clone(),
                reason: reason.clone(),
            },
        }
    }
}

/// How a repository is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `https://`.
    Https,
    /// `http://` to `localhost`, `127.0.0.1` or `[::1]` only.
    HttpLocal,
    /// `ssh://` or scp-like `user@host:path`.
    Ssh,
    /// `file://` or a local path.
    Local,
}

/// A classified repository URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    /// How it is reached.
    pub transport: Transport,
    /// The host (none for local repositories).
    pub host: Option<String>,
    /// The port, when the URL names one.
    pub port: Option<u16>,
    /// The user name in the URL, if any.
    pub user: Option<String>,
    /// What the Git library is given: the URL, or the local path.
    pub location: String,
}

/// Replaces a password in a URL's userinfo with `***` (for messages).
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) if authority[..at].contains(':') => {
            let user = &authority[..authority[..at].find(':').unwrap_or(at)];
            format!("{}{user}:***{}", &url[..scheme_end + 3], &rest[at..])
        }
        _ => url.to_string(),
    }
}

fn unsupported(url: &str, reason: impl Into<String>) -> SourceError {
    SourceError::UnsupportedUrl {
        url: redact(url),
        reason: reason.into(),
    }
}

fn is_local_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost" || h == "127.0.0.1" || h == "[::1]"
}

/// Classifies a repository URL, refusing every transport other than https, http to
/// localhost, ssh, file:// and local paths (git's `ext::` and `fd::` helpers, `git://`, …),
/// and passwords written in the URL.
pub fn classify(url: &str) -> Result<RepoUrl, SourceError> {
    if url.is_empty() {
        return Err(unsupported(url, "the url is empty"));
    }
    if url.len() > MAX_URL_BYTES {
        // The first 64 characters (not bytes: a multi-byte character may straddle byte 64).
        let head: String = url.chars().take(64).collect();
        return Err(unsupported(
            &head,
            format!("longer than {MAX_URL_BYTES} bytes"),
        ));
    }
    // git's remote-helper syntax `<transport>::<address>` (ext::sh -c …, fd::3).
    if let Some(pos) = url.find("::") {
        let helper = &url[..pos];
        if !helper.is_empty() && !helper.contains('/') && !helper.contains(':') {
            return Err(unsupported(
                url,
                format!(
                    "the {helper}:: transport runs programs or reads file descriptors; only https, ssh, file:// and local paths are allowed"
                ),
            ));
        }
    }
    if url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(unsupported(
            url,
            "the url contains spaces or control characters",
        ));
    }
    if url.starts_with('-') {
        return Err(unsupported(url, "a url may not start with '-'"));
    }
    if let Some(scheme_end) = url.find("://") {
        let scheme = url[..scheme_end].to_ascii_lowercase();
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let (user, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        if let Some(u) = user
            && u.contains(':')
        {
            return Err(unsupported(
                url,
                "the url holds a password; give the token with --token-env or --token-file instead",
            ));
        }
        let host = if hostport.starts_with('[') {
            hostport.find(']').map_or(hostport, |end| &hostport[..=end])
        } else {
            hostport.split(':').next().unwrap_or(hostport)
        };
        let port = match hostport[host.len()..].strip_prefix(':') {
            None | Some("") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| unsupported(url, format!("port {p:?} is not a number")))?,
            ),
        };
        let remote = |transport| -> Result<RepoUrl, SourceError> {
            if host.is_empty() {
                return Err(unsupported(url, "the url names no host"));
            }
            Ok(RepoUrl {
                transport,
                host: Some(host.to_string()),
                port,
                user: user.map(str::to_string),
                location: url.to_string(),
            })
        };
        return match scheme.as_str() {
            "https" => remote(Transport::Https),
            "http" if is_local_host(host) => remote(Transport::HttpLocal),
            "http" => Err(unsupported(
                url,
                "plain http sends the token and the content unprotected; use https (http is only allowed to localhost)",
            )),
            "ssh" | "ssh+git" | "git+ssh" => remote(Transport::Ssh),
            "file" => {
                let path = if rest.starts_with('/') {
                    rest
                } else if let Some(p) = rest.strip_prefix("localhost/") {
                    // file://localhost/abs → /abs
                    &rest[rest.len() - p.len() - 1..]
                } else {
                    return Err(unsupported(
                        url,
                        "a file:// url needs an absolute path (file:///path/to/repo)",
                    ));
                };
                Ok(RepoUrl {
                    transport: Transport::Local,
                    host: None,
                    port: None,
                    user: None,
                    location: path.to_string(),
                })
            }
            other => Err(unsupported(
                url,
                format!(
                    "the {other}:// transport is not supported; use https, ssh, file:// or a local path"
                ),
            )),
        };
    }
    // scp-like `[user@]host:path`: a ':' before any '/', and more than one character before it
    // (so `C:\repo` stays a path).
    if let Some(colon) = url.find(':') {
        let before = &url[..colon];
        if !before.contains('/') && before.len() > 1 {
            let (user, host) = match before.rfind('@') {
                Some(at) => (Some(&before[..at]), &before[at + 1..]),
                None => (None, before),
            };
            if host.is_empty() || url.len() == colon + 1 {
                return Err(unsupported(url, "expected user@host:path"));
            }
            return Ok(RepoUrl {
                transport: Transport::Ssh,
                host: Some(host.to_string()),
                port: None,
                user: user.map(str::to_string),
                location: url.to_string(),
            });
        }
    }
    Ok(RepoUrl {
        transport: Transport::Local,
        host: None,
        port: None,
        user: None,
        location: url.to_string(),
    })
}

/// Checks a ref given by the user: a branch or tag name git accepts, a full ref name, or a
/// hex sha.
pub fn validate_ref(reference: &str) -> Result<(), SourceError> {
    let bad = |reason: &str| SourceError::InvalidRef {
        reference: reference.to_string(),
        reason: reason.to_string(),
    };
    if reference.is_empty() {
        return Err(bad("empty"));
    }
    if reference.len() > MAX_NAME_BYTES {
        return Err(bad("too long"));
    }
    if reference.starts_with('-') {
        return Err(bad("a ref may not start with '-'"));
    }
    if reference
        .chars()
        .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
        || reference.contains("..")
        || reference.contains("@{")
        || reference.contains("//")
        || reference.ends_with('/')
        || reference.ends_with(".lock")
        || reference.ends_with('.')
        || reference.split('/').any(|c| c.starts_with('.'))
    {
        return Err(bad("not a valid branch, tag or commit name"));
    }
    Ok(())
}

/// Whether `s` looks like a commit sha (7 to 40 hex digits).
pub(crate) fn is_hex_sha(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Cleans `path` (a directory or file inside the repository): `/`-separated normal
/// components; `..`, absolute paths and `.git` are refused. `None` or `.` is the whole tree.
pub fn clean_path(path: Option<&str>) -> Result<Option<String>, SourceError> {
    let Some(p) = path else { return Ok(None) };
    let bad = |reason: &str| SourceError::InvalidPath {
        path: p.to_string(),
        reason: reason.to_string(),
    };
    if p.len() > MAX_NAME_BYTES {
        return Err(bad("too long"));
    }
    if p.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(part) => {
                let s = part.to_str().ok_or_else(|| bad("not valid UTF-8"))?;
                if s.eq_ignore_ascii_case(".git") {
                    return Err(bad("paths inside .git are not part of the tree"));
                }
                parts.push(s.to_string());
            }
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(bad(
                    "'..' leaves the repository; paths are relative to its root",
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(bad("absolute; paths are relative to the repository root"));
            }
        }
    }
    Ok(if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    })
}

/// The lower-case hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The key of a repository in the cache: local paths are made absolute first, so the same
/// repository named from two directories shares one cache.
pub(crate) fn cache_key(url: &str, repo: &RepoUrl) -> String {
    if repo.transport == Transport::Local {
        let abs =
            std::path::absolute(&repo.location).unwrap_or_else(|_| PathBuf::from(&repo.location));
        let canon = abs.canonicalize().unwrap_or(abs);
        return format!("file://{}", canon.display());
    }
    url.to_string()
}

/// Where the bare cache repository of `url` lives: `<state>/git/<sha256 of url>`.
pub fn cache_dir(state_dir: &Path, url: &str) -> Result<PathBuf, SourceError> {
    let repo = classify(url)?;
    Ok(state_dir
        .join("git")
        .join(sha256_hex(cache_key(url, &repo).as_bytes())))
}

/// Fetches `spec` into the cache under `state_dir` and exports its tree. Blocking.
///
/// ```no_run
/// use std::path::Path;
/// use kascade::source::{self, Auth, SourceSpec};
///
/// let spec = SourceSpec {
///     url: "https://github.com/example/gitops.git".into(),
///     reference: Some("main".into()),
///     path: Some("apps/web".into()),
/// };
/// let auth = Auth { token_env: Some("GITHUB_TOKEN".into()), ..Auth::default() };
/// let snap = source::fetch(Path::new(".kascade"), &spec, &auth)?;
/// println!("{} {}: {}", snap.reference, snap.revision, snap.subject);
/// # Ok::<(), source::SourceError>(())
/// ```
pub fn fetch(state_dir: &Path, spec: &SourceSpec, auth: &Auth) -> Result<Snapshot, SourceError> {
    git::fetch(state_dir, spec, auth)
}

/// A git work tree on this machine: where a local directory's files are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkTree {
    /// Its top directory, absolute (what `git clone` and a build fetch accept as URL).
    pub root: PathBuf,
    /// The branch checked out; `None` on a detached HEAD.
    pub branch: Option<String>,
    /// The commit HEAD points at; `None` in a repository without commits.
    pub commit: Option<String>,
}

/// The git work tree `dir` is in, if any (found as `git` finds it, walking up from `dir`).
pub fn discover_work_tree(dir: &Path) -> Option<WorkTree> {
    git::discover_work_tree(dir)
}

/// Whether commit `ancestor` is an ancestor of (or equal to) `descendant` in the cache of
/// `url`; `None` when either commit is not in the cache (nothing can be said).
pub fn is_ancestor(
    state_dir: &Path,
    url: &str,
    ancestor: &str,
    descendant: &str,
) -> Result<Option<bool>, SourceError> {
    git::is_ancestor(state_dir, url, ancestor, descendant)
}

/// The first line of the message of commit `revision` in the cache of `url`, if the cache
/// has it.
pub fn commit_subject(
    state_dir: &Path,
    url: &str,
    revision: &str,
) -> Result<Option<String>, SourceError> {
    git::commit_subject(state_dir, url, revision)
}

/// One commit of a repository, fetched into the cache without exporting its tree (what a
/// build needs: the commit, and a few reads from its tree with [`tree_id`] and [`read_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The repository, as given.
    pub url: String,
    /// The ref that was resolved: `refs/heads/<branch>`, `refs/tags/<tag>`, or the commit
    /// sha when a commit was asked for.
    pub reference: String,
    /// The full commit sha.
    pub revision: String,
    /// The first line of the commit message.
    pub subject: String,
    /// The commit's author, `Name <email>`.
    pub author: String,
    /// Objects received by this fetch (0 when the cache already had the commit).
    pub fetched_objects: usize,
}

/// Fetches one commit of `url` into the cache under `state_dir`, without exporting it.
/// Blocking. `commit` (4 to 40 hex digits, as `oc start-build --commit` takes it) wins over
/// `reference` and needs no connection when the cache already holds it; otherwise the
/// remote's refs are listed and `reference` (a branch, a tag, `refs/…` or a sha; default:
/// the branch the remote's HEAD points at) is resolved and fetched as [`fetch`] does. The URL
/// is classified first, so `ext::`, `fd::`, `git://` and URLs holding a password are refused
/// before git sees them.
///
/// ```no_run
/// use std::path::Path;
/// use kascade::source::{self, Auth};
///
/// let state = Path::new(".kascade");
/// let url = "https://github.com/example/app.git";
/// let rev = source::fetch_revision(state, url, Some("main"), None, &Auth::default())?;
/// let tree = source::tree_id(state, url, &rev.revision, Some("web"))?;
/// let dockerfile = source::read_file(state, url, &rev.revision, "web/Dockerfile", 1 << 20)?;
/// println!("{} {:?} {}", rev.revision, tree, dockerfile.is_some());
/// # Ok::<(), source::SourceError>(())
/// ```
pub fn fetch_revision(
    state_dir: &Path,
    url: &str,
    reference: Option<&str>,
    commit: Option<&str>,
    auth: &Auth,
) -> Result<Revision, SourceError> {
    git::fetch_revision(state_dir, url, reference, commit, auth)
}

/// The tree id of directory `path` (the root when `None`) in commit `revision` of `url`'s
/// cache, or `None` when there is no directory there. `path` is checked as [`clean_path`]
/// checks it. The commit must have been fetched.
pub fn tree_id(
    state_dir: &Path,
    url: &str,
    revision: &str,
    path: Option<&str>,
) -> Result<Option<String>, SourceError> {
    git::tree_id(state_dir, url, revision, path)
}

/// The contents of file `path` in commit `revision` of `url`'s cache, or `None` when there
/// is no file there (a directory, a submodule). A symlink is refused
/// ([`SourceError::UnsafeTree`]), a file over `max_bytes` (or [`git::MAX_BLOB_BYTES`]) is
/// [`SourceError::TooLarge`] and is not read. The commit must have been fetched.
pub fn read_file(
    state_dir: &Path,
    url: &str,
    revision: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Option<Vec<u8>>, SourceError> {
    git::read_file(state_dir, url, revision, path, max_bytes)
}

/// What a [`Fetcher`] remembers a fetch by: the URL, the ref and the commit asked for.
type FetchKey = (String, Option<String>, Option<String>);

/// Fetches for many users in one pass (the build controller's): each `(url, ref, commit)` is
/// fetched at most once until [`Fetcher::new_pass`], its result — success or failure —
/// remembered, so ten builds of one repository make one fetch and an unreachable repository
/// is tried once.
#[derive(Debug)]
pub struct Fetcher {
    state_dir: PathBuf,
    auth: Auth,
    fetched: HashMap<FetchKey, Result<Revision, SourceError>>,
}

impl Fetcher {
    /// A fetcher using the cache under `state_dir` and `auth`'s credentials.
    pub fn new(state_dir: PathBuf, auth: Auth) -> Self {
        Fetcher {
            state_dir,
            auth,
            fetched: HashMap::new(),
        }
    }

    /// Forgets what was fetched: the next [`Fetcher::revision`] fetches again.
    pub fn new_pass(&mut self) {
        self.fetched.clear();
    }

    /// [`fetch_revision`], once per pass for the same arguments.
    pub fn revision(
        &mut self,
        url: &str,
        reference: Option<&str>,
        commit: Option<&str>,
    ) -> Result<Revision, SourceError> {
        let key = (
            url.to_string(),
            reference.map(str::to_string),
            commit.map(str::to_string),
        );
        if let Some(r) = self.fetched.get(&key) {
            return r.clone();
        }
        let r = fetch_revision(&self.state_dir, url, reference, commit, &self.auth);
        self.fetched.insert(key, r.clone());
        r
    }

    /// [`tree_id`] in this fetcher's cache.
    pub fn tree_id(
        &self,
        url: &str,
        revision: &str,
        path: Option<&str>,
    ) -> Result<Option<String>, SourceError> {
        tree_id(&self.state_dir, url, revision, path)
    }

    /// [`read_file`] in this fetcher's cache.
    pub fn read_file(
        &self,
        url: &str,
        revision: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        read_file(&self.state_dir, url, revision, path, max_bytes)
    }
}

/// Refuses a branch snapshot whose revision does not descend from `last_synced` (a
/// force-push), with [`SourceError::ForcePush`]. Tags and commits, a first sync (`None`), a
/// `last_synced` that is not a commit sha, and a commit the cache does not hold pass.
pub fn check_fast_forward(
    state_dir: &Path,
    snapshot: &Snapshot,
    last_synced: Option<&str>,
) -> Result<(), SourceError> {
    let Some(old) = last_synced else {
        return Ok(());
    };
    if !snapshot.is_branch() || old == snapshot.revision || old.len() != 40 || !is_hex_sha(old) {
        return Ok(());
    }
    match is_ancestor(state_dir, &snapshot.url, old, &snapshot.revision)? {
        Some(false) => Err(SourceError::ForcePush {
            url: snapshot.url.clone(),
            reference: snapshot.reference.clone(),
            old: old.to_string(),
            new: snapshot.revision.clone(),
        }),
        Some(true) | None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_urls_are_refused_at_any_character_boundary() {
        // Byte 64 falls inside an `é` (11 ASCII bytes, then 2-byte characters): the message
        // used to slice there and panic.
        let url = format!("https://ab/{}", "é".repeat(MAX_URL_BYTES));
        let err = classify(&url).unwrap_err().to_string();
        assert!(err.contains("longer than 4096 bytes"), "{err}");
        assert!(err.contains("https://ab/é"), "{err}");
    }

    #[test]
    fn urls() {
        let t = |u: &str| classify(u).map(|r| r.transport);
        assert_eq!(t("https://github.com/a/b.git").unwrap(), Transport::Https);
        assert_eq!(t("HTTPS://github.com/a/b").unwrap(), Transport::Https);
        assert_eq!(
            t("http://127.0.0.1:8080/r.git").unwrap(),
            Transport::HttpLocal
        );
        assert_eq!(t("http://localhost/r.git").unwrap(), Transport::HttpLocal);
        assert_eq!(t("http://[::1]:9/r").unwrap(), Transport::HttpLocal);
        assert_eq!(t("ssh://git@github.com/a/b.git").unwrap(), Transport::Ssh);
        assert_eq!(t("git@github.com:a/b.git").unwrap(), Transport::Ssh);
        assert_eq!(t("file:///srv/git/r.git").unwrap(), Transport::Local);
        assert_eq!(t("/srv/git/r.git").unwrap(), Transport::Local);
        assert_eq!(t("./r").unwrap(), Transport::Local);
        assert_eq!(t("C:/r").unwrap(), Transport::Local);
        let scp = classify("deploy@git.example.com:team/repo.git").unwrap();
        assert_eq!(scp.host.as_deref(), Some("git.example.com"));
        assert_eq!(scp.user.as_deref(), Some("deploy"));
        assert_eq!(
            classify("file:///srv/r.git").unwrap().location,
            "/srv/r.git"
        );
        assert_eq!(
            classify("file://localhost/srv/r.git").unwrap().location,
            "/srv/r.git"
        );
        for (bad, needle) in [
            ("ext::sh -c touch% /tmp/pwned", "ext:: transport"),
            ("https://h/a b", "spaces"),
            ("ext::sh", "ext:: transport"),
            ("fd::3", "fd:: transport"),
            ("git://example.com/r.git", "git:// transport"),
            ("ftp://example.com/r.git", "ftp:// transport"),
            ("http://example.com/r.git", "plain http"),
            ("http://127.0.0.1.evil.com/r", "plain http"),
            ("https://user:s3cret@example.com/r", "password"),
            ("file://r.git", "absolute path"),
            ("-uhttps://x", "start with '-'"),
            ("", "empty"),
            ("https:///r", "no host"),
        ] {
            let e = classify(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e} should contain {needle}");
            assert!(!e.contains("s3cret"), "{e} leaks the password");
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("https://u:p@h/r"), "https://u:***@h/r");
        assert_eq!(redact("https://u@h/r"), "https://u@h/r");
        assert_eq!(redact("git@h:r"), "git@h:r");
    }

    #[test]
    fn refs_and_paths() {
        for ok in ["main", "feature/x", "v1.2.3", "refs/heads/main", "0123abc"] {
            validate_ref(ok).unwrap();
        }
        for bad in ["", "a..b", "-x", "a b", "x.lock", "a/.b", "HEAD@{1}", "a:b"] {
            assert!(validate_ref(bad).is_err(), "{bad}");
        }
        assert!(is_hex_sha("0123abc"));
        assert!(!is_hex_sha("0123ab"));
        assert!(!is_hex_sha("main"));
        assert_eq!(
            clean_path(Some("./apps//web/")).unwrap().as_deref(),
            Some("apps/web")
        );
        assert_eq!(clean_path(Some(".")).unwrap(), None);
        assert_eq!(clean_path(None).unwrap(), None);
        for (bad, needle) in [
            ("../x", "leaves the repository"),
            ("apps/../../x", "leaves the repository"),
            ("/etc", "absolute"),
            ("a/.git/config", ".git"),
        ] {
            let e = clean_path(Some(bad)).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn tokens_are_read_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  tok-123\n").unwrap();
        let auth = Auth {
            token_file: Some(file.clone()),
            ..Auth::default()
        };
        let t = auth.token("https://h/r").unwrap().unwrap();
        assert_eq!(t.value(), "tok-123");
        assert!(!format!("{t:?}").contains("tok-123"));
        assert!(!format!("{auth:?}").contains("tok-123"));
        std::fs::write(&file, "\n").unwrap();
        let e = auth.token("https://h/r").unwrap_err().to_string();
        assert!(
            e.contains("empty") && e.contains(&file.display().to_string()),
            "{e}"
        );
        let missing = Auth {
            token_env: Some("KASCADE_TEST_TOKEN_THAT_IS_NOT_SET".into()),
            ..Auth::default()
        };
        let e = missing.token("https://h/r").unwrap_err().to_string();
        assert!(e.contains("KASCADE_TEST_TOKEN_THAT_IS_NOT_SET"), "{e}");
        assert_eq!(
            Auth::default()
                .token("https://h/r")
                .unwrap()
                .map(|t| t.origin().to_string()),
            None
        );
    }
}
