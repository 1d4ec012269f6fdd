//! Git sources on real repositories made with git2 in a temp dir (a bare "remote" and commits
//! written into it directly), fetched over file:// and plain paths: snapshots, incremental
//! fetches, tags and shas, force-pushes, deleted branches, refused transports and trees, two
//! processes at once, and `kascade sync --repo` end to end into the embedded cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::{ObjectType, Oid, Repository, Signature};
use kascade::cluster::LocalCluster;
use kascade::resource::ResourceKey;
use kascade::source::{self, Auth, SourceError, SourceSpec};

use crate::util::{assert_error, kascade_in};

const BLOB: i32 = 0o100644;
const EXEC: i32 = 0o100755;
const LINK: i32 = 0o120000;
/// A file of a commit: path, mode, content.
type Entry<'a> = (&'a str, i32, &'a [u8]);

const NS_WEB: &[u8] = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n";

/// A bare repository standing in for the remote.
struct Remote {
    _dir: tempfile::TempDir,
    path: PathBuf,
    repo: Repository,
}

impl Remote {
    fn new() -> Remote {
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

    fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Writes a tree from `(path, mode, content)` entries (nested paths allowed).
    fn tree(&self, files: &[(&str, i32, &[u8])]) -> Oid {
        self.subtree(
            &files
                .iter()
                .map(|(p, m, c)| (p.to_string(), *m, c.to_vec()))
                .collect::<Vec<_>>(),
        )
    }

    /// Writes tree objects straight into the object database (not through libgit2's tree
    /// builder), so trees git itself would refuse (`.git` entries) can be made too.
    fn subtree(&self, files: &[(String, i32, Vec<u8>)]) -> Oid {
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
    fn commit_on(
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
    fn commit(&self, message: &str, files: &[(&str, i32, &[u8])]) -> Oid {
        let parent = self.repo.refname_to_id("refs/heads/main").ok();
        self.commit_on("refs/heads/main", parent.as_slice(), message, files)
    }

    fn object_count(&self) -> usize {
        count_objects(&self.repo)
    }
}

fn count_objects(repo: &Repository) -> usize {
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

fn spec(url: &str, reference: Option<&str>, path: Option<&str>) -> SourceSpec {
    SourceSpec {
        url: url.to_string(),
        reference: reference.map(str::to_string),
        path: path.map(str::to_string),
    }
}

fn fetch(state: &Path, s: &SourceSpec) -> Result<source::Snapshot, SourceError> {
    source::fetch(state, s, &Auth::default())
}

fn cm(name: &str, value: &str) -> Vec<u8> {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: {value:?}\n"
    )
    .into_bytes()
}

#[test]
fn first_fetch_exports_the_tree_and_a_new_commit_arrives_incrementally() {
    let remote = Remote::new();
    let state = tempfile::tempdir().unwrap();
    let web = cm("web", "one");
    let c1 = remote.commit(
        "first commit\n\nwith a body",
        &[
            ("apps/web/cm.yaml", BLOB, &web),
            ("apps/web/run.sh", EXEC, b"#!/bin/sh\n"),
            ("apps/web/link.yaml", LINK, b"cm.yaml"),
            ("README.md", BLOB, b"hello\n"),
        ],
    );
    // A plain path as the URL.
    let s = spec(remote.path.to_str().unwrap(), None, None);
    let snap = fetch(state.path(), &s).unwrap();
    assert_eq!(snap.revision, c1.to_string());
    assert_eq!(snap.reference, "refs/heads/main");
    assert_eq!(snap.subject, "first commit");
    assert_eq!(snap.previous, None);
    assert!(!snap.forced);
    assert_eq!(
        std::fs::read(snap.root.join("apps/web/cm.yaml")).unwrap(),
        web
    );
    assert_eq!(
        std::fs::read(snap.root.join("apps/web/link.yaml")).unwrap(),
        web
    );
    assert!(snap.root.starts_with(state.path().join("snapshots")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(snap.root.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("apps/web/cm.yaml"), 0o444);
        assert_eq!(mode("apps/web/run.sh"), 0o555);
    }
    // No working copy anywhere: the cache is bare.
    let cache = source::cache_dir(state.path(), &s.url).unwrap();
    let cached = Repository::open_bare(&cache).unwrap();
    assert!(cached.is_bare());
    let before = count_objects(&cached);
    assert_eq!(before, remote.object_count());

    // A second commit: only its new objects are fetched.
    let remote_before = remote.object_count();
    let web2 = cm("web", "two");
    let c2 = remote.commit(
        "second: change web",
        &[
            ("apps/web/cm.yaml", BLOB, &web2),
            ("apps/web/run.sh", EXEC, b"#!/bin/sh\n"),
            ("apps/web/link.yaml", LINK, b"cm.yaml"),
            ("README.md", BLOB, b"hello\n"),
        ],
    );
    let new_objects = remote.object_count() - remote_before;
    assert_eq!(new_objects, 5, "a commit, three trees and a blob");
    let snap2 = fetch(state.path(), &s).unwrap();
    assert_eq!(snap2.revision, c2.to_string());
    assert_eq!(snap2.previous.as_deref(), Some(c1.to_string().as_str()));
    assert!(!snap2.forced);
    assert_eq!(snap2.fetched_objects, new_objects);
    let cached = Repository::open_bare(&cache).unwrap();
    assert_eq!(count_objects(&cached), before + new_objects);
    assert_eq!(
        std::fs::read(snap2.root.join("apps/web/cm.yaml")).unwrap(),
        web2
    );
    // The old snapshot is still there, untouched.
    assert_eq!(
        std::fs::read(snap.root.join("apps/web/cm.yaml")).unwrap(),
        web
    );
    // Nothing new: nothing fetched, the snapshot reused.
    let again = fetch(state.path(), &s).unwrap();
    assert_eq!(again.fetched_objects, 0);
    assert_eq!(again.root, snap2.root);
    assert_eq!(
        source::commit_subject(state.path(), &s.url, &c1.to_string()).unwrap(),
        Some("first commit".to_string())
    );
    assert_eq!(
        source::is_ancestor(state.path(), &s.url, &c1.to_string(), &c2.to_string()).unwrap(),
        Some(true)
    );
    assert_eq!(
        source::is_ancestor(state.path(), &s.url, &c2.to_string(), &c1.to_string()).unwrap(),
        Some(false)
    );
}

#[test]
fn path_exports_only_that_directory() {
    let remote = Remote::new();
    let state = tempfile::tempdir().unwrap();
    let web = cm("web", "one");
    remote.commit(
        "two apps",
        &[
            ("apps/web/cm.yaml", BLOB, &web),
            ("apps/db/cm.yaml", BLOB, &cm("db", "x")),
        ],
    );
    let snap = fetch(
        state.path(),
        &spec(&remote.url(), Some("main"), Some("apps/web")),
    )
    .unwrap();
    assert!(snap.root.ends_with("apps/web"), "{}", snap.root.display());
    assert_eq!(std::fs::read(snap.root.join("cm.yaml")).unwrap(), web);
    assert!(!snap.root.join("../db").exists());
    let e = fetch(state.path(), &spec(&remote.url(), None, Some("apps/nope")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"apps/nope\" does not exist"), "{e}");
    for bad in ["../x", "/etc", "apps/../../x"] {
        let e = fetch(state.path(), &spec(&remote.url(), None, Some(bad)))
            .unwrap_err()
            .to_string();
        assert!(e.contains(bad) && e.contains("invalid path"), "{e}");
    }
}

#[test]
fn tags_and_shas_as_refs() {
    let remote = Remote::new();
    let state = tempfile::tempdir().unwrap();
    let c1 = remote.commit("v1", &[("a.yaml", BLOB, &cm("a", "1"))]);
    remote
        .repo
        .reference("refs/tags/light", c1, false, "t")
        .unwrap();
    let sig = Signature::now("T", "t@example.com").unwrap();
    let obj = remote
        .repo
        .find_object(c1, Some(ObjectType::Commit))
        .unwrap();
    remote
        .repo
        .tag("v1.0.0", &obj, &sig, "release 1", false)
        .unwrap();
    let c2 = remote.commit("v2", &[("a.yaml", BLOB, &cm("a", "2"))]);
    let url = remote.url();

    let tag = fetch(state.path(), &spec(&url, Some("v1.0.0"), None)).unwrap();
    assert_eq!(tag.reference, "refs/tags/v1.0.0");
    assert_eq!(tag.revision, c1.to_string());
    let light = fetch(state.path(), &spec(&url, Some("light"), None)).unwrap();
    assert_eq!(light.revision, c1.to_string());
    let main = fetch(state.path(), &spec(&url, Some("refs/heads/main"), None)).unwrap();
    assert_eq!(main.revision, c2.to_string());
    // A full sha, and an abbreviated one, of a commit no ref points at any more.
    let c3 = remote.commit("v3", &[("a.yaml", BLOB, &cm("a", "3"))]);
    let full = fetch(state.path(), &spec(&url, Some(&c2.to_string()), None)).unwrap();
    assert_eq!(full.revision, c2.to_string());
    assert_eq!(full.reference, c2.to_string());
    assert_eq!(full.subject, "v2");
    let short = c3.to_string()[..10].to_string();
    let abbrev = fetch(state.path(), &spec(&url, Some(&short), None)).unwrap();
    assert_eq!(abbrev.revision, c3.to_string());
    assert_eq!(
        std::fs::read(abbrev.root.join("a.yaml")).unwrap(),
        cm("a", "3")
    );
    let e = fetch(state.path(), &spec(&url, Some("0000000000abcdef"), None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"0000000000abcdef\" not found in"), "{e}");
}

#[test]
fn force_push_is_reported_and_refusable() {
    let remote = Remote::new();
    let state = tempfile::tempdir().unwrap();
    let url = remote.url();
    let s = spec(&url, Some("main"), None);
    let c1 = remote.commit("base", &[("a.yaml", BLOB, &cm("a", "1"))]);
    let c2 = remote.commit("later", &[("a.yaml", BLOB, &cm("a", "2"))]);
    let snap = fetch(state.path(), &s).unwrap();
    assert_eq!(snap.revision, c2.to_string());
    // Rewrite history: main now points at a sibling of c2.
    let c3 = remote.commit_on(
        "refs/heads/main",
        &[c1],
        "rewritten",
        &[("a.yaml", BLOB, &cm("a", "3"))],
    );
    let forced = fetch(state.path(), &s).unwrap();
    assert_eq!(forced.revision, c3.to_string());
    assert!(forced.forced);
    assert_eq!(forced.previous.as_deref(), Some(c2.to_string().as_str()));
    let e = source::check_fast_forward(state.path(), &forced, Some(&c2.to_string()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("refs/heads/main") && e.contains("force-pushed") && e.contains(&c2.to_string()),
        "{e}"
    );
    // From c1 it is a fast-forward; a first sync and a non-commit revision pass.
    source::check_fast_forward(state.path(), &forced, Some(&c1.to_string())).unwrap();
    source::check_fast_forward(state.path(), &forced, None).unwrap();
    source::check_fast_forward(state.path(), &forced, Some("local:0123")).unwrap();
    // A normal commit on top is a fast-forward again.
    let c4 = remote.commit("on top", &[("a.yaml", BLOB, &cm("a", "4"))]);
    let next = fetch(state.path(), &s).unwrap();
    assert_eq!(next.revision, c4.to_string());
    assert!(!next.forced);
}

#[test]
fn deleted_branch_and_unknown_ref_name_the_ref() {
    let remote = Remote::new();
    let state = tempfile::tempdir().unwrap();
    let url = remote.url();
    remote.commit("base", &[("a.yaml", BLOB, &cm("a", "1"))]);
    let f = remote.commit_on(
        "refs/heads/feature/x",
        &[],
        "feature",
        &[("a.yaml", BLOB, &cm("a", "f"))],
    );
    let s = spec(&url, Some("feature/x"), None);
    assert_eq!(fetch(state.path(), &s).unwrap().revision, f.to_string());
    remote
        .repo
        .find_reference("refs/heads/feature/x")
        .unwrap()
        .delete()
        .unwrap();
    match fetch(state.path(), &s) {
        Err(e @ SourceError::BranchDeleted { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("branch \"feature/x\" was deleted from") && m.contains(&f.to_string()),
                "{m}"
            );
        }
        other => panic!("expected a deleted branch, got {other:?}"),
    }
    let e = fetch(state.path(), &spec(&url, Some("nope"), None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ref \"nope\" not found in") && e.contains(&url),
        "{e}"
    );
    let e = fetch(state.path(), &spec("/nonexistent/repo.git", None, None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/repo.git"), "{e}");
}

#[test]
fn unsafe_trees_are_refused_naming_the_path() {
    let remote = Remote::new();
    let state = tempfile::tempdir().unwrap();
    let url = remote.url();
    let cases: Vec<(&str, Vec<Entry<'_>>, &str)> = vec![
        (
            "escape",
            vec![
                ("apps/ok.yaml", BLOB, b"a: 1\n"),
                ("apps/passwd", LINK, b"../../etc/passwd"),
            ],
            "apps/passwd: symlink to \"../../etc/passwd\" points outside the tree",
        ),
        (
            "absolute",
            vec![("link", LINK, b"/etc/passwd")],
            "link: symlink to \"/etc/passwd\" points outside the tree",
        ),
        (
            "through-a-link",
            vec![("here", LINK, b"."), ("up", LINK, b"here/../x")],
            "up: symlink resolves to a path outside the tree",
        ),
        (
            "dot-git",
            vec![("sub/.git/config", BLOB, b"[core]\n")],
            "sub/.git: entries named .git are refused",
        ),
        (
            "submodule",
            vec![(
                "vendor/lib",
                0o160000,
                b"0123456789012345678901234567890123456789",
            )],
            "vendor/lib: submodules are not supported",
        ),
    ];
    for (branch, files, needle) in cases {
        let refname = format!("refs/heads/{branch}");
        let c = remote.commit_on(&refname, &[], branch, &files);
        let e = fetch(state.path(), &spec(&url, Some(branch), None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(needle) && e.contains(&c.to_string()),
            "{branch}: {e}"
        );
    }
    // Nothing half-exported is left behind.
    for dir in std::fs::read_dir(state.path().join("snapshots")).unwrap() {
        let entries: Vec<_> = std::fs::read_dir(dir.unwrap().path()).unwrap().collect();
        assert!(entries.is_empty(), "{entries:?}");
    }
    // A blob over the single-file bound.
    let big = vec![b'x'; 33 * 1024 * 1024];
    remote.commit_on(
        "refs/heads/big",
        &[],
        "big",
        &[("data/huge.bin", BLOB, &big)],
    );
    let e = fetch(state.path(), &spec(&url, Some("big"), None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("data/huge.bin: a file of 34603008 bytes"), "{e}");
}

#[test]
fn ext_and_other_transports_are_refused_by_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("pwned");
    let ext = format!("ext::sh -c touch% {}", marker.display());
    for (url, needle) in [
        (ext.as_str(), "the ext:: transport"),
        ("fd::3", "the fd:: transport"),
        ("git://example.com/r.git", "git:// transport"),
        ("http://example.com/r.git", "plain http"),
    ] {
        let run = kascade_in(tmp.path(), &["sync", "--repo", url], None);
        assert_error(&run, needle);
        assert!(run.stderr.contains("unsupported repository url"), "{run:?}");
    }
    assert!(!marker.exists(), "ext:: ran a command");
    let remote = Remote::new();
    remote.commit("x", &[("a.yaml", BLOB, &cm("a", "1"))]);
    let run = kascade_in(
        tmp.path(),
        &["sync", "--repo", &remote.url(), "--path", "../x"],
        None,
    );
    assert_error(&run, "invalid path \"../x\"");
}

#[test]
fn two_processes_fetch_into_one_state_dir() {
    let remote = Remote::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..200 {
        files.push((format!("apps/web/cm-{i}.yaml"), cm(&format!("cm-{i}"), "v")));
    }
    let entries: Vec<(&str, i32, &[u8])> = files
        .iter()
        .map(|(p, c)| (p.as_str(), BLOB, c.as_slice()))
        .collect();
    let c1 = remote.commit("many objects", &entries);
    let tmp = tempfile::tempdir().unwrap();
    let url = remote.url();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_kascade"))
            .args([
                "diff", "--repo", &url, "--path", "apps/web", "--app", "web", "-n", "web",
            ])
            .current_dir(tmp.path())
            .env_remove("KASCADE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..3).map(|_| spawn()).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("revision {c1} (first sync): many objects")),
            "{stdout}"
        );
        assert!(stdout.contains("web: 200 to create"), "{stdout}");
    }
    let state = tmp.path().join(".kascade");
    let cache = Repository::open_bare(source::cache_dir(&state, &url).unwrap()).unwrap();
    assert_eq!(cache.refname_to_id("refs/heads/main").unwrap(), c1);
    let odb = cache.odb().unwrap();
    let mut ids = Vec::new();
    odb.foreach(|id| {
        ids.push(*id);
        true
    })
    .unwrap();
    assert_eq!(ids.len(), remote.object_count());
    for id in ids {
        odb.read(id).unwrap();
    }
    // One snapshot, complete.
    let snaps: Vec<_> = std::fs::read_dir(state.join("snapshots"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .collect();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
}

#[test]
fn sync_repo_end_to_end_prints_revision_moves() {
    let remote = Remote::new();
    let tmp = tempfile::tempdir().unwrap();
    let url = remote.url();
    let c1 = remote.commit(
        "add web",
        &[
            ("manifests/ns.yaml", BLOB, NS_WEB),
            ("manifests/web.yaml", BLOB, &cm("web", "one")),
        ],
    );
    let args = [
        "sync",
        "--repo",
        &url,
        "--path",
        "manifests",
        "--app",
        "web",
        "-n",
        "web",
    ];
    let run = kascade_in(tmp.path(), &args, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "app web in namespace web: revision {c1} (first sync): add web"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("configmap/web created"),
        "{}",
        run.stdout
    );
    let c2 = remote.commit(
        "web: value two",
        &[
            ("manifests/ns.yaml", BLOB, NS_WEB),
            ("manifests/web.yaml", BLOB, &cm("web", "two")),
        ],
    );
    let diff = kascade_in(
        tmp.path(),
        &[
            "diff",
            "--repo",
            &url,
            "--path",
            "manifests",
            "--app",
            "web",
            "-n",
            "web",
        ],
        None,
    );
    assert_eq!(diff.code, 1, "{diff:?}");
    assert!(diff.stdout.contains("+  value: two"), "{}", diff.stdout);
    assert!(
        diff.stdout
            .contains(&format!("revision {c1} → {c2}: web: value two")),
        "{}",
        diff.stdout
    );
    let run = kascade_in(tmp.path(), &args, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("revision {c1} → {c2}: web: value two")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("configmap/web configured"),
        "{}",
        run.stdout
    );
    let state = tmp.path().join(".kascade");
    let cluster = LocalCluster::open(&state).unwrap();
    let live = cluster
        .get(&ResourceKey::new("", "ConfigMap", "web", "web"))
        .unwrap()
        .unwrap();
    assert_eq!(live["data"]["value"], "two");
    use kascade::cluster::Cluster as _;
    assert_eq!(
        cluster.inventory("web").unwrap().unwrap().revision,
        Some(c2.to_string())
    );
    drop(cluster);

    // A force-push is refused and leaves the cluster as it was, unless allowed.
    let c3 = remote.commit_on(
        "refs/heads/main",
        &[c1],
        "rewrite",
        &[
            ("manifests/ns.yaml", BLOB, NS_WEB),
            ("manifests/web.yaml", BLOB, &cm("web", "three")),
        ],
    );
    let run = kascade_in(tmp.path(), &args, None);
    assert_error(&run, "force-pushed");
    assert!(run.stderr.contains("--allow-force-push"), "{run:?}");
    let cluster = LocalCluster::open(&state).unwrap();
    assert_eq!(
        cluster.inventory("web").unwrap().unwrap().revision,
        Some(c2.to_string())
    );
    drop(cluster);
    let mut allowed = args.to_vec();
    allowed.push("--allow-force-push");
    let run = kascade_in(tmp.path(), &allowed, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("revision {c2} → {c3}: rewrite")),
        "{}",
        run.stdout
    );

    // The branch is deleted: a clear error, the cluster kept as it was.
    remote
        .repo
        .find_reference("refs/heads/main")
        .unwrap()
        .delete()
        .unwrap();
    remote.commit_on("refs/heads/other", &[], "other", &[("x", BLOB, b"x")]);
    let mut on_main = args.to_vec();
    on_main.extend(["--ref", "main"]);
    let run = kascade_in(tmp.path(), &on_main, None);
    assert_error(&run, "branch \"main\" was deleted from");
}

#[test]
fn kascade_yaml_in_the_repo_and_apps_with_a_source() {
    // The deploy repo: a kascade.yaml at its root.
    let remote = Remote::new();
    let config = b"apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: web\n  namespace: web\n  path: apps/web\n";
    let c1 = remote.commit(
        "deploy repo",
        &[
            ("kascade.yaml", BLOB, config),
            ("apps/web/ns.yaml", BLOB, NS_WEB),
            ("apps/web/cm.yaml", BLOB, &cm("web", "one")),
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let run = kascade_in(tmp.path(), &["sync", "--repo", &remote.url()], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "app web in namespace web: revision {c1} (first sync): deploy repo"
        )),
        "{}",
        run.stdout
    );

    // A local kascade.yaml whose app renders a directory of another repository.
    let other = Remote::new();
    let c2 = other.commit(
        "db",
        &[
            (
                "deploy/db/ns.yaml",
                BLOB,
                b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: db\n",
            ),
            ("deploy/db/cm.yaml", BLOB, &cm("db", "x")),
        ],
    );
    let local = tmp.path().join("kascade.yaml");
    std::fs::write(
        &local,
        format!(
            "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: db\n  namespace: db\n  source:\n    repo: {}\n    ref: main\n    path: deploy/db\n",
            other.url()
        ),
    )
    .unwrap();
    let run = kascade_in(tmp.path(), &["sync"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "app db in namespace db: revision {c2} (first sync): db"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("configmap/db created"),
        "{}",
        run.stdout
    );

    // A kascade.yaml fetched from Git may not name a local repository.
    let sneaky = format!(
        "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: db\n  namespace: db\n  source:\n    repo: {}\n",
        other.path.display()
    );
    remote.commit("sneaky", &[("kascade.yaml", BLOB, sneaky.as_bytes())]);
    let run = kascade_in(tmp.path(), &["sync", "--repo", &remote.url()], None);
    assert_error(&run, "may not name the local repository");
}
