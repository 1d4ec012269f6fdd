//! The git2 side of [`crate::source`]: a cache of bare repositories under
//! `<state>/git/<sha256 of url>`, fetched incrementally and under a lock, and the export of
//! one commit's tree into a read-only snapshot directory. The only file that names git2.
//!
//! - **Refs in the cache.** A branch is fetched into `refs/heads/<branch>`, a tag into
//!   `refs/tags/<tag>` (just that ref: `+refs/heads/main:refs/heads/main`). A commit sha the
//!   cache does not hold makes one full fetch of every branch and tag into
//!   `refs/kascade/all/…`, which leaves the per-branch refs (and so force-push detection)
//!   alone.
//! - **Shallow.** The first fetch of a branch or tag over the network asks for depth 1 and
//!   falls back to a full fetch when the server cannot; later fetches are incremental without a
//!   depth, so the history between the last fetched commit and the new one arrives and
//!   ancestry can be checked. libgit2's local transport (file:// and paths) cannot fetch
//!   shallow, so local repositories are fetched whole (it copies objects, it does not clone
//!   over the network).
//! - **Lock.** `<state>/git/<sha256 of url>.lock` is held (an OS file lock, released when
//!   the process exits, even by a crash) for the fetch, the export and the snapshot pruning.
//! - **Export.** The tree is walked from git objects; each blob is written under a temporary
//!   directory that is renamed into place once complete, so a snapshot directory either does
//!   not exist or is whole. Files are written read-only (0444, 0555 when executable).
//!   Refused, naming the path: `.git` entries, names that are not file names, submodules,
//!   symlinks that are absolute or leave the exported directory (lexically, and again after
//!   the export by resolving them), more than [`MAX_FILES`] entries, blobs over
//!   [`MAX_BLOB_BYTES`], more than [`MAX_TOTAL_BYTES`] in all, trees nested deeper than
//!   [`MAX_DEPTH`].
//! - **Snapshots kept.** `<state>/snapshots/<url hash>/<revision>[-<path hash>]`; the
//!   [`KEEP_SNAPSHOTS`] most recently used per repository are kept.
//!
//! Not done: network timeouts (libgit2's are process-global and only settable through an
//! `unsafe` call, which this crate forbids), host certificates (`@cert-authority`), ssh keys
//! with a passphrase, and repacking the cache (each fetch adds one pack).

use std::cell::{Cell, RefCell};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use git2::{
    AutotagOption, CertificateCheckStatus, Cred, CredentialType, Direction, ErrorCode,
    FetchOptions, ObjectType, Oid, RemoteCallbacks, RemoteRedirect, Repository,
};

use super::known_hosts::{self, Verdict};
use super::{
    Auth, RepoUrl, Revision, Snapshot, SourceError, SourceSpec, Token, Transport, cache_key,
    classify, clean_path, is_hex_sha, redact, sha256_hex, validate_ref,
};

/// The most bytes one snapshot may hold.
pub const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// The most entries (files, symlinks, directories) one snapshot may hold.
pub const MAX_FILES: usize = 100_000;
/// The largest single file exported.
pub const MAX_BLOB_BYTES: u64 = 32 * 1024 * 1024;
/// The deepest directory nesting exported.
pub const MAX_DEPTH: usize = 128;
/// Snapshots kept per repository (the most recently used).
pub const KEEP_SNAPSHOTS: usize = 5;
/// The longest symlink target read.
const MAX_LINK_BYTES: u64 = 4096;

/// What the user's ref resolved to on the remote.
#[derive(Debug, Clone)]
enum Target {
    /// `refs/heads/<branch>` at this object.
    Branch(String, Oid),
    /// `refs/tags/<tag>` (or another full ref) at this object.
    Tag(String, Oid),
    /// A commit sha (full or abbreviated).
    Commit(String),
}

/// Everything the remote callbacks need; kept outside the callbacks so that they can be
/// built again for a second connection.
struct CallbackCtx<'a> {
    url: &'a str,
    repo: &'a RepoUrl,
    token: Option<Token>,
    auth: &'a Auth,
    tried_secret: Cell<bool>,
    tried_username: Cell<bool>,
    /// Our own error message from a callback (libgit2 may wrap it).
    failure: RefCell<Option<String>>,
}

impl CallbackCtx<'_> {
    fn fail(&self, message: String) -> git2::Error {
        *self.failure.borrow_mut() = Some(message.clone());
        git2::Error::from_str(&message)
    }

    fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut cbs = RemoteCallbacks::new();
        cbs.credentials(|_url, user_from_url, allowed| self.credentials(user_from_url, allowed));
        cbs.certificate_check(|cert, host| {
            let Some(hostkey) = cert.as_hostkey() else {
                // An https certificate: libgit2 checks it against the system's CAs.
                return Ok(CertificateCheckStatus::CertificatePassthrough);
            };
            let Some(key) = hostkey.hostkey() else {
                return Err(self.fail(format!("the ssh server {host} sent no host key")));
            };
            let Some(path) = self.auth.known_hosts_path() else {
                return Err(self.fail(
                    "no known_hosts file to check the ssh host key against (HOME is not set); give --known-hosts FILE".into(),
                ));
            };
            let shown = path.display();
            match known_hosts::check(&path, host, self.repo.port, key) {
                Ok(Verdict::Trusted) => Ok(CertificateCheckStatus::CertificateOk),
                Ok(Verdict::Revoked) => Err(self.fail(format!(
                    "the host key of {host} is marked @revoked in {shown}"
                ))),
                Ok(Verdict::Mismatch) => Err(self.fail(format!(
                    "the host key of {host} does not match the one in {shown}: it changed, or someone is intercepting the connection"
                ))),
                Ok(Verdict::Unknown) => {
                    let kind = hostkey.hostkey_type().map_or("unknown", |t| t.name());
                    Err(self.fail(format!(
                        "the {kind} host key of {host} is not in {shown}; check its fingerprint and add it (ssh-keyscan {host} >> {shown})"
                    )))
                }
                Err(e) => Err(self.fail(e)),
            }
        });
        cbs
    }

    fn credentials(
        &self,
        user_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let ssh_user = user_from_url
            .map(str::to_string)
            .or_else(|| self.repo.user.clone())
            .unwrap_or_else(|| "git".to_string());
        if allowed.contains(CredentialType::USERNAME) {
            if self.tried_username.replace(true) {
                return Err(self.fail(format!("the server refused the user name {ssh_user:?}")));
            }
            return Cred::username(&ssh_user);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            if self.tried_secret.replace(true) {
                let with = self.auth.ssh_key.as_ref().map_or_else(
                    || "the keys of the ssh-agent".to_string(),
                    |k| format!("the ssh key {}", k.display()),
                );
                return Err(self.fail(format!(
                    "ssh authentication to {} as {ssh_user:?} failed with {with}",
                    self.url
                )));
            }
            return match &self.auth.ssh_key {
                Some(key) => Cred::ssh_key(&ssh_user, None, key, None),
                None => Cred::ssh_key_from_agent(&ssh_user),
            };
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            let Some(token) = &self.token else {
                return Err(self.fail(format!(
                    "{} asks for credentials; give the token with --token-env NAME or --token-file FILE",
                    self.url
                )));
            };
            if self.tried_secret.replace(true) {
                return Err(self.fail(format!(
                    "{} refused the token from {}",
                    self.url,
                    token.origin()
                )));
            }
            let user = user_from_url.unwrap_or("x-access-token");
            return Cred::userpass_plaintext(user, token.value());
        }
        Err(self.fail(format!(
            "{} asks for an authentication method kascade does not support",
            self.url
        )))
    }

    /// The message of a git2 error, preferring our own callback's.
    fn reason(&self, e: &git2::Error) -> String {
        self.failure
            .borrow()
            .clone()
            .unwrap_or_else(|| e.message().to_string())
    }
}

/// Holds the cache lock of one repository until dropped.
struct CacheLock {
    _file: File,
}

fn lock_cache(path: &Path, url: &str) -> Result<CacheLock, SourceError> {
    let state = |source| SourceError::State {
        path: path.display().to_string(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(state)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            tracing::info!(
                url,
                "waiting for another kascade fetching the same repository"
            );
            file.lock().map_err(state)?;
        }
        Err(TryLockError::Error(e)) => return Err(state(e)),
    }
    Ok(CacheLock { _file: file })
}

fn open_cache(dir: &Path, url: &str) -> Result<Repository, SourceError> {
    if dir.exists() {
        match Repository::open_bare(dir) {
            Ok(r) => return Ok(r),
            Err(e) => {
                // Only possible after a crash during the first init: we hold the lock.
                tracing::warn!(url, cache = %dir.display(), error = %e.message(), "starting an unusable git cache again");
                fs::remove_dir_all(dir).map_err(|source| SourceError::State {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        }
    }
    let repo = Repository::init_bare(dir).map_err(|e| SourceError::Cache {
        url: url.to_string(),
        reason: format!("cannot create {}: {}", dir.display(), e.message()),
    })?;
    // For people looking at the state directory.
    let _ = fs::write(dir.join("kascade-url"), format!("{url}\n"));
    Ok(repo)
}

/// A commit brought into the cache of one repository, the cache still locked.
struct InCache {
    /// The cache repository.
    repo: Repository,
    /// The cache's name: the sha256 of the repository's cache key.
    key: String,
    /// The URL for messages (any password replaced by `***`).
    url: String,
    /// The ref resolved: `refs/heads/…`, `refs/tags/…`, or the commit sha asked for.
    reference: String,
    /// The commit.
    commit: Oid,
    /// The commit the cache held for the ref before this fetch.
    previous: Option<Oid>,
    /// Objects received.
    fetched_objects: usize,
    /// Held until the caller is done with the cache.
    _lock: CacheLock,
}

/// Whether `s` can name a commit given by the user (`--commit`): 4 to 40 hex digits, as git
/// abbreviates.
fn is_commit_id(s: &str) -> bool {
    (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Classifies `raw_url`, locks its cache, resolves `reference` against the remote (or takes
/// `commit` as it is) and fetches what the cache lacks. An explicit `commit` the cache already
/// holds needs no connection at all.
fn fetch_into_cache(
    state_dir: &Path,
    raw_url: &str,
    reference: Option<&str>,
    commit: Option<&str>,
    auth: &Auth,
) -> Result<InCache, SourceError> {
    let url = redact(raw_url);
    let repo_url = classify(raw_url)?;
    if let Some(r) = reference {
        validate_ref(r)?;
    }
    if let Some(c) = commit
        && !is_commit_id(c)
    {
        return Err(SourceError::InvalidRef {
            reference: c.to_string(),
            reason: "a commit is 4 to 40 hex digits".into(),
        });
    }
    let shown_ref = commit
        .map(|c| format!("commit {c}"))
        .or_else(|| reference.map(str::to_string))
        .unwrap_or_else(|| "HEAD".into());
    // A local repository that is gone only matters when something must be fetched from it.
    let location = match repo_url.transport {
        Transport::Local => {
            let p = Path::new(&repo_url.location);
            p.canonicalize()
                .map(|abs| abs.to_string_lossy().into_owned())
                .map_err(|e| SourceError::Fetch {
                    url: url.clone(),
                    reference: shown_ref.clone(),
                    reason: format!("no repository at {}: {e}", p.display()),
                })
        }
        _ => Ok(repo_url.location.clone()),
    };
    let key = sha256_hex(cache_key(raw_url, &repo_url).as_bytes());
    let git_dir = state_dir.join("git");
    fs::create_dir_all(&git_dir).map_err(|source| SourceError::State {
        path: git_dir.display().to_string(),
        source,
    })?;
    let lock = lock_cache(&git_dir.join(format!("{key}.lock")), &url)?;
    let repo = open_cache(&git_dir.join(&key), &url)?;
    if let Some(id) = commit.and_then(|c| find_commit_hex(&repo, &c.to_ascii_lowercase())) {
        // The commit asked for is in the cache already: no connection.
        return Ok(InCache {
            repo,
            key,
            url,
            reference: id.to_string(),
            commit: id,
            previous: None,
            fetched_objects: 0,
            _lock: lock,
        });
    }
    let location = location?;

    let token = match repo_url.transport {
        Transport::Https | Transport::HttpLocal => auth.token(&url)?,
        Transport::Ssh | Transport::Local => None,
    };
    let ctx = CallbackCtx {
        url: &url,
        repo: &repo_url,
        token,
        auth,
        tried_secret: Cell::new(false),
        tried_username: Cell::new(false),
        failure: RefCell::new(None),
    };
    let fetch_err = |e: &git2::Error| SourceError::Fetch {
        url: url.clone(),
        reference: shown_ref.clone(),
        reason: ctx.reason(e),
    };

    let (reference, commit_id, previous, fetched_objects) = {
        let mut remote = repo
            .remote_anonymous(&location)
            .map_err(|e| fetch_err(&e))?;
        let target = match commit {
            Some(c) => Target::Commit(c.to_ascii_lowercase()),
            None => {
                // List the remote's refs and resolve ours.
                let (heads, default_branch) = {
                    let conn = remote
                        .connect_auth(Direction::Fetch, Some(ctx.callbacks()), None)
                        .map_err(|e| fetch_err(&e))?;
                    let heads: Vec<(String, Oid)> = conn
                        .list()
                        .map_err(|e| fetch_err(&e))?
                        .iter()
                        .map(|h| (h.name().to_string(), h.oid()))
                        .collect();
                    let default = conn
                        .default_branch()
                        .ok()
                        .and_then(|b| b.as_str().ok().map(str::to_string));
                    (heads, default)
                };
                resolve(&repo, &url, reference, &heads, default_branch)?
            }
        };

        let shallow_ok = repo_url.transport != Transport::Local;
        let mut fetched_objects = 0;
        let mut download = |refspecs: &[String], depth: i32| -> Result<(), SourceError> {
            let mut opts = FetchOptions::new();
            opts.remote_callbacks(ctx.callbacks())
                .download_tags(AutotagOption::None)
                .update_fetchhead(false)
                .depth(depth);
            if ctx.token.is_some() {
                // A redirect to another host must not take the token with it.
                opts.follow_redirects(RemoteRedirect::None);
            }
            remote
                .fetch(refspecs, Some(&mut opts), None)
                .map_err(|e| fetch_err(&e))?;
            fetched_objects += remote.stats().received_objects();
            Ok(())
        };

        let (reference, commit_id, previous) = match &target {
            Target::Branch(name, oid) | Target::Tag(name, oid) => {
                let previous = repo
                    .refname_to_id(name)
                    .ok()
                    .and_then(|id| peel_commit(&repo, id));
                let cached = repo.refname_to_id(name).ok();
                if cached != Some(*oid) {
                    if repo.odb().map(|o| o.exists(*oid)).unwrap_or(false) {
                        // Another ref already brought the object: just move ours.
                        repo.reference(name, *oid, true, "kascade: fetch")
                            .map_err(|e| fetch_err(&e))?;
                    } else {
                        let refspec = vec![format!("+{name}:{name}")];
                        if previous.is_none() && shallow_ok {
                            match download(&refspec, 1) {
                                Ok(()) => {}
                                Err(SourceError::Fetch { reason, .. })
                                    if reason.contains("shallow") =>
                                {
                                    tracing::info!(url = %url, reason, "shallow fetch refused; fetching the whole history");
                                    download(&refspec, 0)?;
                                }
                                Err(e) => return Err(e),
                            }
                        } else {
                            download(&refspec, 0)?;
                        }
                    }
                }
                let id = repo.refname_to_id(name).map_err(|e| fetch_err(&e))?;
                let commit = peel_commit(&repo, id).ok_or_else(|| SourceError::Fetch {
                    url: url.clone(),
                    reference: name.clone(),
                    reason: format!("{name} does not point at a commit"),
                })?;
                (name.clone(), commit, previous)
            }
            Target::Commit(hex) => {
                let mut found = find_commit_hex(&repo, hex);
                if found.is_none() {
                    let refspecs = vec![
                        "+refs/heads/*:refs/kascade/all/heads/*".to_string(),
                        "+refs/tags/*:refs/kascade/all/tags/*".to_string(),
                    ];
                    // A shallow cache must be deepened for an older commit to arrive.
                    let depth = if repo.is_shallow() { i32::MAX } else { 0 };
                    download(&refspecs, depth)?;
                    found = find_commit_hex(&repo, hex);
                }
                let commit = found.ok_or_else(|| SourceError::RefNotFound {
                    url: url.clone(),
                    reference: hex.clone(),
                })?;
                (commit.to_string(), commit, None)
            }
        };
        (reference, commit_id, previous, fetched_objects)
    };
    Ok(InCache {
        repo,
        key,
        url,
        reference,
        commit: commit_id,
        previous,
        fetched_objects,
        _lock: lock,
    })
}

/// Fetches `spec` and exports its tree; see [`crate::source::fetch`].
pub(crate) fn fetch(
    state_dir: &Path,
    spec: &SourceSpec,
    auth: &Auth,
) -> Result<Snapshot, SourceError> {
    // Every input is checked before anything is fetched.
    classify(&spec.url)?;
    if let Some(r) = &spec.reference {
        validate_ref(r)?;
    }
    let sub = clean_path(spec.path.as_deref())?;
    let InCache {
        repo,
        key,
        url,
        reference,
        commit: commit_id,
        previous,
        fetched_objects,
        _lock,
    } = fetch_into_cache(state_dir, &spec.url, spec.reference.as_deref(), None, auth)?;
    let commit = repo
        .find_commit(commit_id)
        .map_err(|e| SourceError::Fetch {
            url: url.clone(),
            reference: reference.clone(),
            reason: e.message().to_string(),
        })?;
    let revision = commit_id.to_string();
    let subject = commit
        .summary_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let forced = match previous {
        Some(p) if p != commit_id => !repo.graph_descendant_of(commit_id, p).unwrap_or(false),
        _ => false,
    };
    if forced {
        tracing::warn!(url = %url, reference, previous = %previous.map(|p| p.to_string()).unwrap_or_default(), revision, "the ref moved to a commit that does not descend from the one fetched before");
    }

    let snap_dir = state_dir.join("snapshots").join(&key[..16]);
    let name = match &sub {
        Some(p) => format!("{revision}-{}", &sha256_hex(p.as_bytes())[..12]),
        None => revision.clone(),
    };
    let dest = snap_dir.join(&name);
    if dest.is_dir() {
        touch(&dest);
    } else {
        fs::create_dir_all(&snap_dir).map_err(|source| SourceError::State {
            path: snap_dir.display().to_string(),
            source,
        })?;
        let tmp = snap_dir.join(format!(".tmp-{name}-{}", std::process::id()));
        let result = Exporter::new(&repo, &url, &revision).export(&commit, sub.as_deref(), &tmp);
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        fs::rename(&tmp, &dest).map_err(|source| SourceError::State {
            path: dest.display().to_string(),
            source,
        })?;
    }
    prune_snapshots(&snap_dir, &name);
    tracing::info!(url = %url, reference, revision, fetched_objects, "fetched");
    let root = match &sub {
        Some(p) => dest.join(p),
        None => dest,
    };
    Ok(Snapshot {
        url: spec.url.clone(),
        reference,
        revision,
        subject,
        root,
        previous: previous.map(|p| p.to_string()),
        forced,
        fetched_objects,
    })
}

/// Resolves the user's ref against the remote's advertised refs.
fn resolve(
    repo: &Repository,
    url: &str,
    reference: Option<&str>,
    heads: &[(String, Oid)],
    default_branch: Option<String>,
) -> Result<Target, SourceError> {
    let listed = |name: &str| heads.iter().find(|(n, _)| n == name).map(|(_, o)| *o);
    let as_target = |name: &str, oid: Oid| {
        if name.starts_with("refs/heads/") {
            Target::Branch(name.to_string(), oid)
        } else {
            Target::Tag(name.to_string(), oid)
        }
    };
    let wanted = match reference {
        None | Some("HEAD") => {
            let branch = default_branch
                .filter(|b| b.starts_with("refs/heads/"))
                .or_else(|| {
                    // No HEAD symref advertised: a branch at HEAD's commit.
                    let head = listed("HEAD")?;
                    heads
                        .iter()
                        .filter(|(n, o)| *o == head && n.starts_with("refs/heads/"))
                        .map(|(n, _)| n.clone())
                        .min_by_key(|n| {
                            (n != "refs/heads/main", n != "refs/heads/master", n.clone())
                        })
                });
            let Some(branch) = branch else {
                return Err(SourceError::RefNotFound {
                    url: url.to_string(),
                    reference: "HEAD (the remote's default branch; is the repository empty?)"
                        .into(),
                });
            };
            return match listed(&branch) {
                Some(oid) => Ok(Target::Branch(branch, oid)),
                None => Err(SourceError::RefNotFound {
                    url: url.to_string(),
                    reference: branch,
                }),
            };
        }
        Some(r) => r,
    };
    let mut candidates = Vec::new();
    if wanted.starts_with("refs/") {
        candidates.push(wanted.to_string());
    } else {
        candidates.push(format!("refs/heads/{wanted}"));
        candidates.push(format!("refs/tags/{wanted}"));
    }
    for c in &candidates {
        if let Some(oid) = listed(c) {
            return Ok(as_target(c, oid));
        }
    }
    if is_hex_sha(wanted) {
        return Ok(Target::Commit(wanted.to_ascii_lowercase()));
    }
    let branch = if wanted.starts_with("refs/heads/") {
        wanted.to_string()
    } else {
        format!("refs/heads/{wanted}")
    };
    if let Ok(last) = repo.refname_to_id(&branch) {
        return Err(SourceError::BranchDeleted {
            url: url.to_string(),
            branch: branch.trim_start_matches("refs/heads/").to_string(),
            last: last.to_string(),
        });
    }
    Err(SourceError::RefNotFound {
        url: url.to_string(),
        reference: wanted.to_string(),
    })
}

fn peel_commit(repo: &Repository, id: Oid) -> Option<Oid> {
    repo.find_object(id, None)
        .ok()?
        .peel_to_commit()
        .ok()
        .map(|c| c.id())
}

fn find_commit_hex(repo: &Repository, hex: &str) -> Option<Oid> {
    if hex.len() == 40 {
        let oid = Oid::from_str(hex).ok()?;
        return repo.find_commit(oid).ok().map(|c| c.id());
    }
    repo.revparse_single(hex)
        .ok()?
        .peel_to_commit()
        .ok()
        .map(|c| c.id())
}

/// Marks a reused snapshot as recently used, so pruning keeps it.
fn touch(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Removes leftover temporary exports and all but the [`KEEP_SNAPSHOTS`] most recently used
/// snapshots of one repository (never `keep`). Runs under the repository's lock.
fn prune_snapshots(dir: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut snaps = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            let _ = fs::remove_dir_all(e.path());
            continue;
        }
        if name == keep {
            continue;
        }
        let mtime = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        snaps.push((mtime, e.path()));
    }
    snaps.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (_, path) in snaps.into_iter().skip(KEEP_SNAPSHOTS.saturating_sub(1)) {
        if let Err(e) = fs::remove_dir_all(&path) {
            tracing::warn!(snapshot = %path.display(), error = %e, "failed to remove an old snapshot");
        }
    }
}

/// Writes one commit's tree (or a part of it) to disk, checked and bounded.
struct Exporter<'r> {
    repo: &'r Repository,
    url: &'r str,
    revision: &'r str,
    entries: usize,
    bytes: u64,
    /// Symlinks written: (path in the repository, path on disk).
    links: Vec<(String, PathBuf)>,
}

impl<'r> Exporter<'r> {
    fn new(repo: &'r Repository, url: &'r str, revision: &'r str) -> Self {
        Exporter {
            repo,
            url,
            revision,
            entries: 0,
            bytes: 0,
            links: Vec::new(),
        }
    }

    fn unsafe_tree(&self, path: &str, reason: impl Into<String>) -> SourceError {
        SourceError::UnsafeTree {
            url: self.url.to_string(),
            revision: self.revision.to_string(),
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    fn too_large(&self, path: &str, reason: String) -> SourceError {
        SourceError::TooLarge {
            url: self.url.to_string(),
            revision: self.revision.to_string(),
            path: path.to_string(),
            reason,
        }
    }

    fn git(&self, path: &str, e: &git2::Error) -> SourceError {
        SourceError::Cache {
            url: self.url.to_string(),
            reason: format!("cannot read {path} at {}: {}", self.revision, e.message()),
        }
    }

    fn io(path: &Path, source: std::io::Error) -> SourceError {
        SourceError::State {
            path: path.display().to_string(),
            source,
        }
    }

    /// Exports the tree of `commit` (or the entry at `sub`) under `tmp`, at `tmp/<sub>`.
    fn export(
        mut self,
        commit: &git2::Commit<'_>,
        sub: Option<&str>,
        tmp: &Path,
    ) -> Result<(), SourceError> {
        let _ = fs::remove_dir_all(tmp);
        fs::create_dir_all(tmp).map_err(|e| Self::io(tmp, e))?;
        let tree = commit.tree().map_err(|e| self.git("the root tree", &e))?;
        let export_root = match sub {
            None => {
                self.tree(&tree, tmp, "", 0)?;
                tmp.to_path_buf()
            }
            Some(p) => {
                let entry = tree.get_path(Path::new(p)).map_err(|e| {
                    if e.code() == ErrorCode::NotFound {
                        SourceError::PathNotFound {
                            url: self.url.to_string(),
                            revision: self.revision.to_string(),
                            path: p.to_string(),
                        }
                    } else {
                        self.git(p, &e)
                    }
                })?;
                let dest = tmp.join(p);
                if let Some(parent) = dest.parent() {
                    fs::create_dir_all(parent).map_err(|e| Self::io(parent, e))?;
                }
                match entry.kind() {
                    Some(ObjectType::Tree) => {
                        let sub_tree = self
                            .repo
                            .find_tree(entry.id())
                            .map_err(|e| self.git(p, &e))?;
                        fs::create_dir(&dest).map_err(|e| Self::io(&dest, e))?;
                        self.tree(&sub_tree, &dest, p, 0)?;
                    }
                    Some(ObjectType::Blob) if entry.filemode() == 0o120000 => {
                        return Err(self.unsafe_tree(
                            p,
                            "the path is a symlink; give the directory it points to",
                        ));
                    }
                    Some(ObjectType::Blob) => {
                        self.blob(entry.id(), entry.filemode(), &dest, p)?;
                    }
                    _ => {
                        return Err(self.unsafe_tree(p, "submodules are not supported"));
                    }
                }
                dest
            }
        };
        self.check_links(&export_root)
    }

    fn tree(
        &mut self,
        tree: &git2::Tree<'_>,
        dir: &Path,
        prefix: &str,
        depth: usize,
    ) -> Result<(), SourceError> {
        if depth >= MAX_DEPTH {
            return Err(self.too_large(
                prefix,
                format!("directories nested deeper than {MAX_DEPTH}"),
            ));
        }
        for entry in tree.iter() {
            let raw = entry.name_bytes();
            let shown = String::from_utf8_lossy(raw);
            let path = if prefix.is_empty() {
                shown.to_string()
            } else {
                format!("{prefix}/{shown}")
            };
            if raw.is_empty()
                || raw == b"."
                || raw == b".."
                || raw.contains(&b'/')
                || raw.contains(&0)
            {
                return Err(self.unsafe_tree(&path, "not a valid file name"));
            }
            if raw.eq_ignore_ascii_case(b".git") {
                return Err(self.unsafe_tree(&path, "entries named .git are refused"));
            }
            self.entries += 1;
            if self.entries > MAX_FILES {
                return Err(self.too_large(
                    &path,
                    format!("more than {MAX_FILES} files and directories"),
                ));
            }
            let dest = dir.join(
                file_name(raw)
                    .ok_or_else(|| self.unsafe_tree(&path, "not a valid UTF-8 file name"))?,
            );
            match (entry.kind(), entry.filemode()) {
                (Some(ObjectType::Tree), _) => {
                    let sub = self
                        .repo
                        .find_tree(entry.id())
                        .map_err(|e| self.git(&path, &e))?;
                    fs::create_dir(&dest).map_err(|e| Self::io(&dest, e))?;
                    self.tree(&sub, &dest, &path, depth + 1)?;
                }
                (Some(ObjectType::Blob), 0o120000) => {
                    self.symlink(entry.id(), &dest, &path, prefix)?
                }
                (Some(ObjectType::Blob), mode) => self.blob(entry.id(), mode, &dest, &path)?,
                (Some(ObjectType::Commit), _) => {
                    return Err(self.unsafe_tree(&path, "submodules are not supported"));
                }
                _ => return Err(self.unsafe_tree(&path, "unknown kind of tree entry")),
            }
        }
        Ok(())
    }

    fn blob(&mut self, id: Oid, mode: i32, dest: &Path, path: &str) -> Result<(), SourceError> {
        let odb = self.repo.odb().map_err(|e| self.git(path, &e))?;
        let (size, _) = odb.read_header(id).map_err(|e| self.git(path, &e))?;
        let size = size as u64;
        if size > MAX_BLOB_BYTES {
            return Err(self.too_large(
                path,
                format!("a file of {size} bytes; the limit is {MAX_BLOB_BYTES}"),
            ));
        }
        self.bytes += size;
        if self.bytes > MAX_TOTAL_BYTES {
            return Err(self.too_large(path, format!("more than {MAX_TOTAL_BYTES} bytes in all")));
        }
        let blob = self.repo.find_blob(id).map_err(|e| self.git(path, &e))?;
        let mut f = File::create(dest).map_err(|e| Self::io(dest, e))?;
        f.write_all(blob.content()).map_err(|e| Self::io(dest, e))?;
        set_read_only(&f, mode == 0o100755).map_err(|e| Self::io(dest, e))?;
        Ok(())
    }

    fn symlink(&mut self, id: Oid, dest: &Path, path: &str, dir: &str) -> Result<(), SourceError> {
        let odb = self.repo.odb().map_err(|e| self.git(path, &e))?;
        let (size, _) = odb.read_header(id).map_err(|e| self.git(path, &e))?;
        if size as u64 > MAX_LINK_BYTES {
            return Err(self.unsafe_tree(path, "a symlink target longer than 4096 bytes"));
        }
        let blob = self.repo.find_blob(id).map_err(|e| self.git(path, &e))?;
        let target = std::str::from_utf8(blob.content())
            .map_err(|_| self.unsafe_tree(path, "a symlink target that is not UTF-8"))?
            .to_string();
        if !stays_inside(dir, &target) {
            return Err(self.unsafe_tree(
                path,
                format!("symlink to {target:?} points outside the tree"),
            ));
        }
        make_symlink(&target, dest).map_err(|e| Self::io(dest, e))?;
        self.links.push((path.to_string(), dest.to_path_buf()));
        Ok(())
    }

    /// Resolves every symlink written: one that leads out through other symlinks (`a -> b/..`
    /// with `b -> .`) is refused too, dangling or not.
    fn check_links(&self, root: &Path) -> Result<(), SourceError> {
        if self.links.is_empty() {
            return Ok(());
        }
        let real_root = root.canonicalize().map_err(|e| Self::io(root, e))?;
        for (path, disk) in &self.links {
            if !resolves_inside(disk, &real_root) {
                return Err(self.unsafe_tree(path, "symlink resolves to a path outside the tree"));
            }
        }
        Ok(())
    }
}

/// Whether the symlink at `link` leads inside `real_root`. A dangling link is judged by the
/// longest part of its target that exists.
fn resolves_inside(link: &Path, real_root: &Path) -> bool {
    if let Ok(real) = link.canonicalize() {
        return real.starts_with(real_root);
    }
    let (Ok(target), Some(dir)) = (fs::read_link(link), link.parent()) else {
        return false;
    };
    let mut p = dir.join(target);
    while p.pop() {
        if let Ok(real) = p.canonicalize() {
            return real.starts_with(real_root);
        }
    }
    false
}

/// Whether a symlink in directory `dir` (relative to the exported root) with `target` stays
/// inside the root after lexical normalisation.
fn stays_inside(dir: &str, target: &str) -> bool {
    if target.is_empty()
        || target.starts_with('/')
        || target.starts_with('\\')
        || target.contains('\0')
    {
        return false;
    }
    let mut depth: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            other => {
                if other.eq_ignore_ascii_case(".git") {
                    return false;
                }
                depth.push(other);
            }
        }
    }
    true
}

#[cfg(unix)]
fn file_name(raw: &[u8]) -> Option<&std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    Some(std::ffi::OsStr::from_bytes(raw))
}

#[cfg(not(unix))]
fn file_name(raw: &[u8]) -> Option<&std::ffi::OsStr> {
    std::str::from_utf8(raw).ok().map(std::ffi::OsStr::new)
}

#[cfg(unix)]
fn set_read_only(f: &File, executable: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(fs::Permissions::from_mode(if executable {
        0o555
    } else {
        0o444
    }))
}

#[cfg(not(unix))]
fn set_read_only(f: &File, _executable: bool) -> std::io::Result<()> {
    let mut p = f.metadata()?.permissions();
    p.set_readonly(true);
    f.set_permissions(p)
}

#[cfg(unix)]
fn make_symlink(target: &str, dest: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, dest)
}

#[cfg(not(unix))]
fn make_symlink(_target: &str, _dest: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "symlinks in repositories are only exported on unix",
    ))
}

fn open_existing(state_dir: &Path, url: &str) -> Result<Option<Repository>, SourceError> {
    let dir = super::cache_dir(state_dir, url)?;
    if !dir.exists() {
        return Ok(None);
    }
    Repository::open_bare(&dir)
        .map(Some)
        .map_err(|e| SourceError::Cache {
            url: redact(url),
            reason: format!("cannot open {}: {}", dir.display(), e.message()),
        })
}

/// See [`crate::source::is_ancestor`].
pub(crate) fn is_ancestor(
    state_dir: &Path,
    url: &str,
    ancestor: &str,
    descendant: &str,
) -> Result<Option<bool>, SourceError> {
    let Some(repo) = open_existing(state_dir, url)? else {
        return Ok(None);
    };
    let (Some(a), Some(d)) = (
        find_commit_hex(&repo, ancestor),
        find_commit_hex(&repo, descendant),
    ) else {
        return Ok(None);
    };
    if a == d {
        return Ok(Some(true));
    }
    repo.graph_descendant_of(d, a)
        .map(Some)
        .map_err(|e| SourceError::Cache {
            url: redact(url),
            reason: format!(
                "cannot compare {ancestor} and {descendant}: {}",
                e.message()
            ),
        })
}

/// See [`crate::source::commit_subject`].
pub(crate) fn commit_subject(
    state_dir: &Path,
    url: &str,
    revision: &str,
) -> Result<Option<String>, SourceError> {
    if !is_hex_sha(revision) {
        return Ok(None);
    }
    let Some(repo) = open_existing(state_dir, url)? else {
        return Ok(None);
    };
    Ok(find_commit_hex(&repo, revision)
        .and_then(|id| repo.find_commit(id).ok())
        .map(|c| {
            c.summary_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        }))
}

/// The git work tree a local directory is in, for the build environment of apps rendered
/// from a checkout (see [`super::WorkTree`]). `None` when `dir` is in no work tree (or only
/// in a bare repository).
pub(crate) fn discover_work_tree(dir: &Path) -> Option<super::WorkTree> {
    let repo = Repository::discover(dir).ok()?;
    let root = repo.workdir()?.canonicalize().ok()?;
    let head = repo.head().ok();
    let branch = head
        .as_ref()
        .filter(|h| h.is_branch())
        .and_then(|h| h.shorthand().ok().map(str::to_string));
    let commit = head
        .as_ref()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string());
    Some(super::WorkTree {
        root,
        branch,
        commit,
    })
}

/// See [`crate::source::fetch_revision`].
pub(crate) fn fetch_revision(
    state_dir: &Path,
    url: &str,
    reference: Option<&str>,
    commit: Option<&str>,
    auth: &Auth,
) -> Result<Revision, SourceError> {
    let fetched = fetch_into_cache(state_dir, url, reference, commit, auth)?;
    let c = fetched
        .repo
        .find_commit(fetched.commit)
        .map_err(|e| SourceError::Cache {
            url: fetched.url.clone(),
            reason: format!("cannot read commit {}: {}", fetched.commit, e.message()),
        })?;
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let subject = c.summary_bytes().map(lossy).unwrap_or_default();
    let sig = c.author();
    let author = format!("{} <{}>", lossy(sig.name_bytes()), lossy(sig.email_bytes()));
    tracing::info!(url = %fetched.url, reference = %fetched.reference, revision = %fetched.commit, fetched_objects = fetched.fetched_objects, "fetched");
    Ok(Revision {
        url: url.to_string(),
        reference: fetched.reference.clone(),
        revision: fetched.commit.to_string(),
        subject,
        author,
        fetched_objects: fetched.fetched_objects,
    })
}

/// The root tree of commit `revision` in the cache of `url`.
fn commit_tree<'r>(
    repo: &'r Repository,
    url: &str,
    revision: &str,
) -> Result<git2::Tree<'r>, SourceError> {
    let id = find_commit_hex(repo, revision).ok_or_else(|| SourceError::Cache {
        url: redact(url),
        reason: format!("commit {revision} is not in the cache; fetch it first"),
    })?;
    repo.find_commit(id)
        .and_then(|c| c.tree())
        .map_err(|e| SourceError::Cache {
            url: redact(url),
            reason: format!("cannot read the tree of {revision}: {}", e.message()),
        })
}

fn cached_repo(state_dir: &Path, url: &str, revision: &str) -> Result<Repository, SourceError> {
    open_existing(state_dir, url)?.ok_or_else(|| SourceError::Cache {
        url: redact(url),
        reason: format!("commit {revision} is not in the cache (nothing was fetched from it)"),
    })
}

/// See [`crate::source::tree_id`].
pub(crate) fn tree_id(
    state_dir: &Path,
    url: &str,
    revision: &str,
    path: Option<&str>,
) -> Result<Option<String>, SourceError> {
    let sub = clean_path(path)?;
    let repo = cached_repo(state_dir, url, revision)?;
    let tree = commit_tree(&repo, url, revision)?;
    let Some(p) = sub else {
        return Ok(Some(tree.id().to_string()));
    };
    match tree.get_path(Path::new(&p)) {
        Ok(e) if e.kind() == Some(ObjectType::Tree) => Ok(Some(e.id().to_string())),
        Ok(_) => Ok(None),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(SourceError::Cache {
            url: redact(url),
            reason: format!("cannot read {p} at {revision}: {}", e.message()),
        }),
    }
}

/// See [`crate::source::read_file`].
pub(crate) fn read_file(
    state_dir: &Path,
    url: &str,
    revision: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Option<Vec<u8>>, SourceError> {
    let Some(p) = clean_path(Some(path))? else {
        return Err(SourceError::InvalidPath {
            path: path.to_string(),
            reason: "names the whole tree, not a file".into(),
        });
    };
    let repo = cached_repo(state_dir, url, revision)?;
    let tree = commit_tree(&repo, url, revision)?;
    let cache_err = |e: &git2::Error| SourceError::Cache {
        url: redact(url),
        reason: format!("cannot read {p} at {revision}: {}", e.message()),
    };
    let entry = match tree.get_path(Path::new(&p)) {
        Ok(e) => e,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(cache_err(&e)),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    if entry.filemode() == 0o120000 {
        return Err(SourceError::UnsafeTree {
            url: redact(url),
            revision: revision.to_string(),
            path: p,
            reason: "a symlink; only regular files are read".into(),
        });
    }
    let odb = repo.odb().map_err(|e| cache_err(&e))?;
    let (size, _) = odb.read_header(entry.id()).map_err(|e| cache_err(&e))?;
    let limit = max_bytes.min(MAX_BLOB_BYTES);
    if size as u64 > limit {
        return Err(SourceError::TooLarge {
            url: redact(url),
            revision: revision.to_string(),
            path: p,
            reason: format!("a file of {size} bytes; the limit is {limit}"),
        });
    }
    let blob = repo.find_blob(entry.id()).map_err(|e| cache_err(&e))?;
    Ok(Some(blob.content().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_targets() {
        assert!(stays_inside("", "a/b"));
        assert!(stays_inside("apps/web", "../common/x.yaml"));
        assert!(stays_inside("apps", "./x/../y"));
        assert!(!stays_inside("", "../x"));
        assert!(!stays_inside("apps", "../../etc/passwd"));
        assert!(!stays_inside("apps", "/etc/passwd"));
        assert!(!stays_inside("", "a/../../b"));
        assert!(!stays_inside("", ".git/config"));
        assert!(!stays_inside("", ""));
    }
}

/// The build side of the module ([`crate::source::fetch_revision`], [`crate::source::tree_id`],
/// [`crate::source::read_file`], [`crate::source::Fetcher`]) on real repositories written with
/// git2 in a temporary directory.
#[cfg(test)]
mod build_source_tests {
    use std::collections::BTreeMap;

    use git2::{Oid, Repository, Signature};

    use crate::source::{Auth, Fetcher, SourceError, fetch_revision, read_file, redact, tree_id};

    type File<'a> = (&'a str, i32, &'a [u8]);

    fn tree(repo: &Repository, files: &[File<'_>]) -> Oid {
        let mut b = repo.treebuilder(None).unwrap();
        let mut dirs: BTreeMap<&str, Vec<File<'_>>> = BTreeMap::new();
        for &(path, mode, data) in files {
            match path.split_once('/') {
                Some((dir, rest)) => dirs.entry(dir).or_default().push((rest, mode, data)),
                None => {
                    let id = repo.blob(data).unwrap();
                    b.insert(path, id, mode).unwrap();
                }
            }
        }
        for (dir, sub) in dirs {
            let id = tree(repo, &sub);
            b.insert(dir, id, 0o040000).unwrap();
        }
        b.write().unwrap()
    }

    /// Commits `files` on `branch` (on top of its commit, if any).
    fn commit(repo: &Repository, branch: &str, message: &str, files: &[File<'_>]) -> Oid {
        let tree = repo.find_tree(tree(repo, files)).unwrap();
        let sig = Signature::new(
            "Test",
            "test@example.com",
            &git2::Time::new(1_700_000_000, 0),
        )
        .unwrap();
        let parent = repo
            .refname_to_id(branch)
            .ok()
            .map(|id| repo.find_commit(id).unwrap());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let id = repo
            .commit(None, &sig, &sig, message, &tree, &parents)
            .unwrap();
        repo.reference(branch, id, true, "test").unwrap();
        id
    }

    struct Remote {
        dir: tempfile::TempDir,
        repo: Repository,
        url: String,
    }

    fn remote() -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remote.git");
        let repo = Repository::init_bare(&path).unwrap();
        repo.set_head("refs/heads/main").unwrap();
        let url = format!("file://{}", path.display());
        Remote { dir, repo, url }
    }

    const DOCKERFILE: &[u8] = b"FROM centos:7\nRUN true\n";

    #[test]
    fn refs_tags_commits_and_the_remote_head_resolve() {
        let r = remote();
        let c1 = commit(
            &r.repo,
            "refs/heads/main",
            "first\n\nbody",
            &[
                ("app/Dockerfile", 0o100644, DOCKERFILE),
                ("README", 0o100644, b"x"),
            ],
        );
        r.repo.reference("refs/tags/v1", c1, false, "test").unwrap();
        let c2 = commit(
            &r.repo,
            "refs/heads/dev",
            "dev",
            &[("README", 0o100644, b"dev")],
        );
        let state = tempfile::tempdir().unwrap();
        let st = state.path();
        let auth = Auth::default();

        let head = fetch_revision(st, &r.url, None, None, &auth).unwrap();
        assert_eq!(head.revision, c1.to_string());
        assert_eq!(head.reference, "refs/heads/main");
        assert_eq!(head.subject, "first");
        assert_eq!(head.author, "Test <test@example.com>");
        assert!(head.fetched_objects > 0);
        let dev = fetch_revision(st, &r.url, Some("dev"), None, &auth).unwrap();
        assert_eq!(dev.revision, c2.to_string());
        let tag = fetch_revision(st, &r.url, Some("v1"), None, &auth).unwrap();
        assert_eq!(
            (tag.revision.as_str(), tag.reference.as_str()),
            (c1.to_string().as_str(), "refs/tags/v1")
        );
        // A commit wins over the ref, abbreviated or not.
        let short = &c2.to_string()[..7];
        let pinned = fetch_revision(st, &r.url, Some("main"), Some(short), &auth).unwrap();
        assert_eq!(pinned.revision, c2.to_string());
        assert_eq!(pinned.reference, c2.to_string());
        // Everything went into the one cache of source::git.
        assert!(
            crate::source::cache_dir(st, &r.url)
                .unwrap()
                .join("HEAD")
                .is_file()
        );

        let missing = fetch_revision(st, &r.url, Some("nope"), None, &auth).unwrap_err();
        assert!(
            matches!(missing, SourceError::RefNotFound { .. }),
            "{missing}"
        );
        let msg = missing.to_string();
        assert!(msg.contains("\"nope\"") && msg.contains(&r.url), "{msg}");
        for bad in [
            "xyz1234",
            "abc",
            "0123456789012345678901234567890123456789a",
        ] {
            let e = fetch_revision(st, &r.url, None, Some(bad), &auth).unwrap_err();
            assert!(matches!(e, SourceError::InvalidRef { .. }), "{bad}: {e}");
        }
        let unknown = "0123456789abcdef0123456789abcdef01234567";
        let e = fetch_revision(st, &r.url, None, Some(unknown), &auth).unwrap_err();
        assert!(e.to_string().contains(unknown), "{e}");
    }

    #[test]
    fn the_tree_is_read_from_git_objects_checked_and_bounded() {
        let r = remote();
        let c1 = commit(
            &r.repo,
            "refs/heads/main",
            "tree",
            &[
                ("app/Dockerfile", 0o100644, DOCKERFILE),
                ("app/link", 0o120000, b"Dockerfile"),
                ("README", 0o100644, b"x"),
            ],
        );
        let state = tempfile::tempdir().unwrap();
        let st = state.path();
        let rev = fetch_revision(st, &r.url, Some("main"), None, &Auth::default()).unwrap();
        let c = rev.revision.as_str();
        let root = r.repo.find_commit(c1).unwrap().tree_id().to_string();
        assert_eq!(tree_id(st, &r.url, c, None).unwrap(), Some(root));
        let app = tree_id(st, &r.url, c, Some("./app/")).unwrap().unwrap();
        assert_eq!(
            r.repo
                .find_tree(Oid::from_str(&app).unwrap())
                .unwrap()
                .len(),
            2
        );
        assert_eq!(tree_id(st, &r.url, c, Some("README")).unwrap(), None);
        assert_eq!(tree_id(st, &r.url, c, Some("nope")).unwrap(), None);
        let e = tree_id(st, &r.url, c, Some("../etc")).unwrap_err();
        assert!(matches!(e, SourceError::InvalidPath { .. }), "{e}");

        let max = 1024;
        assert_eq!(
            read_file(st, &r.url, c, "app/Dockerfile", max)
                .unwrap()
                .as_deref(),
            Some(DOCKERFILE)
        );
        assert_eq!(read_file(st, &r.url, c, "app", max).unwrap(), None);
        assert_eq!(read_file(st, &r.url, c, "app/nope", max).unwrap(), None);
        let e = read_file(st, &r.url, c, "app/Dockerfile", 4).unwrap_err();
        assert!(matches!(e, SourceError::TooLarge { .. }), "{e}");
        assert!(
            e.to_string().contains("app/Dockerfile") && e.to_string().contains("the limit is 4"),
            "{e}"
        );
        let e = read_file(st, &r.url, c, "app/link", max).unwrap_err();
        assert!(matches!(e, SourceError::UnsafeTree { .. }), "{e}");
        for bad in ["/etc/passwd", "../x", ".git/config", "."] {
            let e = read_file(st, &r.url, c, bad, max).unwrap_err();
            assert!(matches!(e, SourceError::InvalidPath { .. }), "{bad}: {e}");
        }
        // A commit the cache does not hold, or a repository never fetched: said so.
        let other = "0123456789abcdef0123456789abcdef01234567";
        let e = tree_id(st, &r.url, other, None).unwrap_err();
        assert!(e.to_string().contains("not in the cache"), "{e}");
        let e = read_file(st, "file:///nowhere/repo.git", c, "README", max).unwrap_err();
        assert!(e.to_string().contains("not in the cache"), "{e}");
    }

    #[test]
    fn a_cached_commit_builds_offline_and_an_unreachable_remote_names_url_and_ref() {
        let r = remote();
        let c1 = commit(
            &r.repo,
            "refs/heads/main",
            "one",
            &[("README", 0o100644, b"1")],
        );
        let state = tempfile::tempdir().unwrap();
        let st = state.path();
        let auth = Auth::default();
        fetch_revision(st, &r.url, Some("main"), None, &auth).unwrap();
        let url = r.url.clone();
        drop(r.repo);
        drop(r.dir);
        let again = fetch_revision(st, &url, Some("main"), Some(&c1.to_string()), &auth).unwrap();
        assert_eq!(again.revision, c1.to_string());
        assert_eq!(again.fetched_objects, 0);
        let e = fetch_revision(st, &url, Some("main"), None, &auth).unwrap_err();
        assert!(matches!(e, SourceError::Fetch { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains(&url) && msg.contains("main"), "{msg}");
    }

    #[test]
    fn refused_urls_fail_before_anything_is_written() {
        let state = tempfile::tempdir().unwrap();
        let st = state.path();
        for (url, needle) in [
            ("ext::sh -c touch% /tmp/kascade-pwned", "ext:: transport"),
            ("fd::3", "fd:: transport"),
            ("git://example.com/r.git", "git:// transport"),
            ("https://user:s3cret@example.com/r.git", "password"),
            ("http://example.com/r.git", "plain http"),
        ] {
            let e = fetch_revision(st, url, None, None, &Auth::default()).unwrap_err();
            assert!(
                matches!(e, SourceError::UnsupportedUrl { .. }),
                "{url}: {e}"
            );
            let msg = e.to_string();
            assert!(
                msg.contains(needle) && !msg.contains("s3cret"),
                "{url}: {msg}"
            );
            assert!(msg.contains(&redact(url)), "{msg}");
        }
        assert!(
            !st.join("git").exists(),
            "nothing may be written for a refused url"
        );
    }

    #[test]
    fn a_fetcher_fetches_each_source_once_per_pass() {
        let r = remote();
        let c1 = commit(
            &r.repo,
            "refs/heads/main",
            "one",
            &[("README", 0o100644, b"1")],
        );
        let state = tempfile::tempdir().unwrap();
        let mut f = Fetcher::new(state.path().to_path_buf(), Auth::default());
        assert_eq!(
            f.revision(&r.url, Some("main"), None).unwrap().revision,
            c1.to_string()
        );
        let c2 = commit(
            &r.repo,
            "refs/heads/main",
            "two",
            &[("README", 0o100644, b"2")],
        );
        assert_eq!(
            f.revision(&r.url, Some("main"), None).unwrap().revision,
            c1.to_string(),
            "the same pass remembers the first fetch"
        );
        // A failure is remembered for the pass too.
        let later = r.dir.path().join("later.git");
        let later_url = format!("file://{}", later.display());
        let e1 = f.revision(&later_url, None, None).unwrap_err().to_string();
        let other = Repository::init_bare(&later).unwrap();
        other.set_head("refs/heads/main").unwrap();
        let c3 = commit(&other, "refs/heads/main", "later", &[("a", 0o100644, b"a")]);
        assert_eq!(
            f.revision(&later_url, None, None).unwrap_err().to_string(),
            e1
        );

        f.new_pass();
        assert_eq!(
            f.revision(&r.url, Some("main"), None).unwrap().revision,
            c2.to_string()
        );
        assert_eq!(
            f.revision(&later_url, None, None).unwrap().revision,
            c3.to_string()
        );
        assert!(
            f.read_file(&later_url, &c3.to_string(), "a", 10)
                .unwrap()
                .is_some()
        );
        assert!(f.tree_id(&r.url, &c2.to_string(), None).unwrap().is_some());
    }
}
