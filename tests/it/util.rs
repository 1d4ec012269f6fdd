//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use git2::{ObjectType, Oid, Repository, Signature};

/// `../shared` beside the repository. When it is absent the test fails with a message
/// saying so, unless `KASCADE_SKIP_SHARED=1` asks to skip (printed, never silent).
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("corpus").is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{} is absent: this test reads the shared corpus of real templates",
        dir.display()
    );
    if std::env::var("KASCADE_SKIP_SHARED").as_deref() == Ok("1") {
        eprintln!("SKIPPED (KASCADE_SKIP_SHARED=1): {msg}");
        return None;
    }
    panic!("{msg}; put it beside the repository, or set KASCADE_SKIP_SHARED=1 to skip");
}

/// The path of a file in the shared corpus.
pub fn corpus(shared: &Path, rel: &str) -> PathBuf {
    shared.join("corpus").join(rel)
}

/// What a kascade run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs the kascade binary with `args`, feeding `stdin`, in `cwd`.
pub fn kascade_in(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kascade"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("KASCADE_TEMPLATES")
        .env_remove("KASCADE_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn kascade");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        // A command may exit before reading all of stdin; that is its answer, not ours.
        let _ = pipe.write_all(input);
    }
    child.wait_with_output().expect("wait for kascade").into()
}

/// Runs the kascade binary from the repository root.
pub fn kascade(args: &[&str]) -> Run {
    kascade_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, None)
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Asserts a run failed with exit code 2, printed an `error:` naming `needle`, and did not
/// panic.
#[track_caller]
pub fn assert_error(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "expected exit 2, got {run:?}");
    assert!(
        run.stderr.contains("error: ") && run.stderr.contains(needle),
        "stderr should name {needle:?}: {run:?}"
    );
    assert!(!run.stderr.contains("panicked"), "panic: {run:?}");
    assert!(run.stdout.is_empty(), "nothing on stdout on error: {run:?}");
}

// Git repositories for tests: a bare "remote" with commits written by git2.

pub const BLOB: i32 = 0o100644;
pub const EXEC: i32 = 0o100755;
pub const LINK: i32 = 0o120000;
/// A file of a commit: path, mode, content.
pub type Entry<'a> = (&'a str, i32, &'a [u8]);

pub const NS_WEB: &[u8] = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n";

/// A bare repository standing in for the remote.
pub struct Remote {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub repo: Repository,
}

impl Remote {
    pub fn new() -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remote.git");
        let repo = Repository::init_bare(&path).unwrap();
        repo.set_head("refs/heads/main").unwrap();
        Remote {
            _dir: dir,
            path,
            repo,
        }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Writes a tree from `(path, mode, content)` entries (nested paths allowed).
    pub fn tree(&self, files: &[(&str, i32, &[u8])]) -> Oid {
        self.subtree(
            &files
                .iter()
                .map(|(p, m, c)| (p.to_string(), *m, c.to_vec()))
                .collect::<Vec<_>>(),
        )
    }

    /// Writes tree objects straight into the object database (not through libgit2's tree
    /// builder), so trees git itself would refuse (`.git` entries) can be made too.
    pub fn subtree(&self, files: &[(String, i32, Vec<u8>)]) -> Oid {
        let mut entries: Vec<(String, i32, Oid)> = Vec::new();
        let mut dirs: std::collections::BTreeMap<String, Vec<(String, i32, Vec<u8>)>> =
            Default::default();
        for (path, mode, content) in files {
            match path.split_once('/') {
                Some((dir, rest)) => dirs.entry(dir.to_string()).or_default().push((
                    rest.to_string(),
                    *mode,
                    content.clone(),
                )),
                None => {
                    let oid = if *mode == 0o160000 {
                        Oid::from_str(std::str::from_utf8(content).unwrap()).unwrap()
                    } else {
                        self.repo.blob(content).unwrap()
                    };
                    entries.push((path.clone(), *mode, oid));
                }
            }
        }
        for (dir, sub) in dirs {
            let oid = self.subtree(&sub);
            entries.push((dir, 0o040000, oid));
        }
        // git's order: names compared as bytes, a directory as if it ended with '/'.
        entries.sort_by_key(|(name, mode, _)| {
            let mut k = name.as_bytes().to_vec();
            if *mode == 0o040000 {
                k.push(b'/');
            }
            k
        });
        let mut raw = Vec::new();
        for (name, mode, oid) in entries {
            raw.extend_from_slice(format!("{mode:o} {name}\0").as_bytes());
            raw.extend_from_slice(oid.as_bytes());
        }
        self.repo
            .odb()
            .unwrap()
            .write(ObjectType::Tree, &raw)
            .unwrap()
    }

    /// Commits `files` on `branch` (a full ref) with `parents`; returns the commit.
    pub fn commit_on(
        &self,
        branch: &str,
        parents: &[Oid],
        message: &str,
        files: &[(&str, i32, &[u8])],
    ) -> Oid {
        let tree = self.repo.find_tree(self.tree(files)).unwrap();
        let sig = Signature::new(
            "Test",
            "test@example.com",
            &git2::Time::new(1_700_000_000, 0),
        )
        .unwrap();
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| self.repo.find_commit(*p).unwrap())
            .collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let id = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &refs)
            .unwrap();
        self.repo.reference(branch, id, true, "test").unwrap();
        id
    }

    /// Commits on top of `branch`'s current commit (or as a root commit).
    pub fn commit(&self, message: &str, files: &[(&str, i32, &[u8])]) -> Oid {
        let parent = self.repo.refname_to_id("refs/heads/main").ok();
        self.commit_on("refs/heads/main", parent.as_slice(), message, files)
    }

    pub fn object_count(&self) -> usize {
        count_objects(&self.repo)
    }
}

pub fn count_objects(repo: &Repository) -> usize {
    let mut n = 0;
    repo.odb()
        .unwrap()
        .foreach(|_| {
            n += 1;
            true
        })
        .unwrap();
    n
}

/// A scratch directory to run the real binary in: `cwd` (`<tmp>/work`) with its embedded
/// cluster at `cwd/.kascade`, and room beside it (`root()`) for repositories.
pub struct Workdir {
    tmp: tempfile::TempDir,
    /// Where kascade runs.
    pub cwd: PathBuf,
}

impl Workdir {
    /// A fresh one.
    pub fn new() -> Workdir {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().join("work");
        std::fs::create_dir_all(&cwd).unwrap();
        Workdir { tmp, cwd }
    }

    /// The temporary directory holding `cwd`.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `body` at `rel` under `cwd`, creating directories.
    pub fn write(&self, rel: &str, body: &str) {
        let p = self.cwd.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    /// Runs kascade in `cwd`; it must not panic.
    pub fn run(&self, args: &[&str]) -> Run {
        let run = kascade_in(&self.cwd, args, None);
        assert!(!run.stderr.contains("panicked"), "{run:?}");
        run
    }

    /// Runs kascade in `cwd`; it must succeed.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "kascade {args:?}: {run:?}");
        run
    }

    /// The embedded cluster of `cwd`.
    pub fn cluster(&self) -> kascade::cluster::LocalCluster {
        kascade::cluster::LocalCluster::open(&self.cwd.join(".kascade")).unwrap()
    }
}

/// Commits `files` (path, contents) on branch `master` of the work tree at `dir`, creating
/// the repository; returns the commit id.
pub fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    let repo = match Repository::open(dir) {
        Ok(r) => r,
        Err(_) => {
            let mut opts = git2::RepositoryInitOptions::new();
            opts.initial_head("master");
            Repository::init_opts(dir, &opts).unwrap()
        }
    };
    for (path, body) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("Test", "test@example.com").unwrap();
    let parents: Vec<git2::Commit<'_>> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap()
        .to_string()
}
