//! Fetching a build's git source with git2: a bare cache repository per URL under the state
//! directory (`<state>/sources/<sha256(url)>`), fetched once per controller pass, the ref
//! resolved to a commit.
//!
//! Any URL libgit2 reaches works: local paths and `file://` offline, `https://` and `ssh://`
//! when the network allows (no credentials are configured). This is the build executor's own
//! small fetch; `source::git` (the repository source of `kascade sync`) is the place to unify
//! it with once both exist.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::{FetchOptions, Oid, Repository};
use sha2::{Digest, Sha256};

/// The largest file (Dockerfile) read from a source.
pub const MAX_FILE: usize = 1024 * 1024;

/// A fetch or lookup that failed, with a message naming the URL and ref.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Cache repositories and what was fetched in this pass.
pub struct SourceCache {
    root: PathBuf,
    repos: HashMap<String, Repository>,
    fetched: HashMap<String, Result<(), SourceError>>,
    resolved: HashMap<(String, String), Result<Oid, SourceError>>,
}

impl std::fmt::Debug for SourceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceCache")
            .field("root", &self.root)
            .finish()
    }
}

/// A commit of a fetched source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The commit id.
    pub commit: String,
    /// Its summary line and author, for the log.
    pub summary: String,
    /// Its author.
    pub author: String,
}

impl SourceCache {
    /// A cache in `root` (created on first use).
    pub fn new(root: PathBuf) -> Self {
        SourceCache {
            root,
            repos: HashMap::new(),
            fetched: HashMap::new(),
            resolved: HashMap::new(),
        }
    }

    /// Forgets what was fetched, so the next use fetches again.
    pub fn new_pass(&mut self) {
        self.fetched.clear();
        self.resolved.clear();
    }

    fn repo(&mut self, url: &str) -> Result<&Repository, SourceError> {
        if !self.repos.contains_key(url) {
            let dir = self
                .root
                .join(hex::encode(&Sha256::digest(url.as_bytes())[..12]));
            let repo = if dir.join("HEAD").exists() {
                Repository::open_bare(&dir)
            } else {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    SourceError(format!(
                        "cannot create the source cache {}: {e}",
                        dir.display()
                    ))
                })?;
                Repository::init_bare(&dir)
            }
            .map_err(|e| SourceError(format!("source cache {}: {}", dir.display(), e.message())))?;
            self.repos.insert(url.to_string(), repo);
        }
        self.repos
            .get(url)
            .ok_or_else(|| SourceError("source cache lost its repository".into()))
    }

    /// Fetches `url` (once per pass).
    fn fetch(&mut self, url: &str) -> Result<(), SourceError> {
        if let Some(r) = self.fetched.get(url) {
            return r.clone();
        }
        let result = (|| {
            let repo = self.repo(url)?;
            let mut remote = repo
                .remote_anonymous(url)
                .map_err(|e| SourceError(format!("invalid git URL {url:?}: {}", e.message())))?;
            let mut opts = FetchOptions::new();
            opts.download_tags(git2::AutotagOption::None);
            remote
                .fetch(
                    &[
                        "+refs/heads/*:refs/remotes/origin/*",
                        "+refs/tags/*:refs/tags/*",
                        "+HEAD:refs/remotes/origin/HEAD",
                    ],
                    Some(&mut opts),
                    None,
                )
                .map_err(|e| SourceError(format!("failed to fetch {url:?}: {}", e.message())))
        })();
        self.fetched.insert(url.to_string(), result.clone());
        result
    }

    /// Fetches `url` and resolves `reference` (a branch, a tag, `refs/…`, or a commit id;
    /// the remote's HEAD when empty) — or `commit` when given — to a commit.
    pub fn resolve(
        &mut self,
        url: &str,
        reference: &str,
        commit: Option<&str>,
    ) -> Result<Fetched, SourceError> {
        self.fetch(url)?;
        let want = commit.unwrap_or(reference).to_string();
        let cache_key = (url.to_string(), want.clone());
        let oid = match self.resolved.get(&cache_key) {
            Some(r) => r.clone()?,
            None => {
                let repo = self.repo(url)?;
                let r = resolve_in(repo, url, reference, commit);
                self.resolved.insert(cache_key, r.clone());
                r?
            }
        };
        let repo = self.repo(url)?;
        let c = repo
            .find_commit(oid)
            .map_err(|e| SourceError(format!("commit {oid} of {url:?}: {}", e.message())))?;
        let author = c.author();
        Ok(Fetched {
            commit: oid.to_string(),
            summary: c.summary().ok().flatten().unwrap_or_default().to_string(),
            author: format!(
                "{} <{}>",
                author.name().unwrap_or_default(),
                author.email().unwrap_or_default()
            ),
        })
    }

    /// The tree id of `path` (`""` for the root) in `commit`, or `None` when it is not a
    /// directory there.
    pub fn tree_id(
        &mut self,
        url: &str,
        commit: &str,
        path: &str,
    ) -> Result<Option<String>, SourceError> {
        let repo = self.repo(url)?;
        let tree = commit_tree(repo, commit)?;
        let path = path.trim_matches('/');
        if path.is_empty() || path == "." {
            return Ok(Some(tree.id().to_string()));
        }
        match tree.get_path(Path::new(path)) {
            Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => Ok(Some(e.id().to_string())),
            _ => Ok(None),
        }
    }

    /// The contents of file `path` in `commit`, or `None` when it is not a file there.
    pub fn read_file(
        &mut self,
        url: &str,
        commit: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let repo = self.repo(url)?;
        let tree = commit_tree(repo, commit)?;
        let Ok(entry) = tree.get_path(Path::new(path.trim_matches('/'))) else {
            return Ok(None);
        };
        if entry.kind() != Some(git2::ObjectType::Blob) {
            return Ok(None);
        }
        let blob = repo
            .find_blob(entry.id())
            .map_err(|e| SourceError(format!("{path} in {commit}: {}", e.message())))?;
        if blob.size() > MAX_FILE {
            return Err(SourceError(format!(
                "{path} in commit {commit} is larger than {MAX_FILE} bytes"
            )));
        }
        Ok(Some(blob.content().to_vec()))
    }
}

fn commit_tree<'r>(repo: &'r Repository, commit: &str) -> Result<git2::Tree<'r>, SourceError> {
    let oid = Oid::from_str(commit).map_err(|e| SourceError(e.message().to_string()))?;
    repo.find_commit(oid)
        .and_then(|c| c.tree())
        .map_err(|e| SourceError(format!("commit {commit}: {}", e.message())))
}

fn resolve_in(
    repo: &Repository,
    url: &str,
    reference: &str,
    commit: Option<&str>,
) -> Result<Oid, SourceError> {
    if let Some(c) = commit {
        return repo
            .revparse_single(c)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|_| {
                SourceError(format!(
                    "commit {c:?} is not in {url:?} (fetched its branches and tags)"
                ))
            });
    }
    let r = reference.trim();
    let short = r.strip_prefix("refs/heads/").unwrap_or(r);
    let candidates: Vec<String> = if r.is_empty() {
        vec!["refs/remotes/origin/HEAD".into()]
    } else if r.starts_with("refs/tags/") {
        vec![r.to_string()]
    } else {
        vec![
            format!("refs/remotes/origin/{short}"),
            format!("refs/tags/{short}"),
        ]
    };
    for c in &candidates {
        if let Ok(reference) = repo.find_reference(c)
            && let Ok(commit) = reference.peel_to_commit()
        {
            return Ok(commit.id());
        }
    }
    if r.len() >= 4
        && r.chars().all(|c| c.is_ascii_hexdigit())
        && let Ok(c) = repo.revparse_single(r).and_then(|o| o.peel_to_commit())
    {
        return Ok(c.id());
    }
    Err(SourceError(format!(
        "ref {:?} does not exist in {url:?}",
        if r.is_empty() { "HEAD" } else { r }
    )))
}
