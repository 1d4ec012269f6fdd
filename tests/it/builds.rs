//! Builds on the embedded cluster through the real binary: `cancel-build`, `start-build
//! --follow`, and build sources going through the one git module. Real git repositories
//! written with git2, real SQLite files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kascade::cluster::{LocalCluster, Selector};
use kascade::controllers::{Activity, Controllers, Observer, Options};
use kascade::resource::ResourceKey;
use serde_json::{Value, json};

use crate::util::{Workdir, commit};

const BASE: &str = "docker.io/library/centos@sha256:be65f488b7764ad3638f236b7b515b3678369a5124c47b8d32916d6487418ea4";

struct Lab {
    dir: Workdir,
    repo: PathBuf,
}

impl std::ops::Deref for Lab {
    type Target = Workdir;
    fn deref(&self) -> &Workdir {
        &self.dir
    }
}

impl Lab {
    /// A lab whose repository has the contexts `app` (builds), `down` (built from app's
    /// output) and `nofrom` (a Dockerfile without FROM).
    fn new() -> Self {
        let dir = Workdir::new();
        let repo = dir.root().join("repo");
        commit(
            &repo,
            &[
                ("app/Dockerfile", "FROM base\nRUN make\n"),
                ("down/Dockerfile", "FROM app:latest\nCOPY . /srv\n"),
                ("nofrom/Dockerfile", "# no FROM here\nRUN true\n"),
            ],
            "contexts",
        );
        Lab { dir, repo }
    }

    fn build(&self, name: &str) -> Value {
        self.cluster()
            .get(&ResourceKey::new(
                "build.openshift.io",
                "Build",
                "default",
                name,
            ))
            .unwrap()
            .unwrap_or_else(|| panic!("no build {name}"))
    }

    fn builds(&self, config: &str) -> BTreeMap<String, String> {
        let sel = Selector::parse(&format!("openshift.io/build-config.name={config}")).unwrap();
        self.cluster()
            .list("build.openshift.io", "Build", Some("default"), &sel)
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["metadata"]["name"].as_str().unwrap().to_string(),
                    b["status"]["phase"].as_str().unwrap_or("New").to_string(),
                )
            })
            .collect()
    }

    fn resolved(&self, stream: &str) -> Option<String> {
        let s = self
            .cluster()
            .get(&ResourceKey::new(
                "image.openshift.io",
                "ImageStream",
                "default",
                stream,
            ))
            .unwrap()?;
        kascade::images::resolve_tag(&s, "latest")
    }

    /// Syncs the BuildConfigs: `app` and `nofrom` (no triggers: they build only when started)
    /// and `down` (an ImageChange trigger on app:latest), from `uri`.
    fn sync(&self, uri: &str) {
        let bc = |name: &str, from: Value, triggers: Value| {
            json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
                "metadata": {"name": name},
                "spec": {"source": {"type": "Git", "git": {"uri": uri, "ref": "master"}, "contextDir": name},
                    "strategy": {"type": "Docker", "dockerStrategy": {"from": from}},
                    "output": {"to": {"kind": "ImageStreamTag", "name": format!("{name}:latest")}},
                    "triggers": triggers}})
        };
        let stream = |name: &str| {
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": name}, "spec": {}})
        };
        let docker = json!({"kind": "DockerImage", "name": BASE});
        let docs = [
            stream("app"),
            stream("down"),
            stream("nofrom"),
            bc("app", docker.clone(), json!([])),
            bc("nofrom", docker, json!([])),
            bc(
                "down",
                json!({"kind": "ImageStreamTag", "name": "app:latest"}),
                json!([{"type": "ImageChange", "imageChange": {}}]),
            ),
        ];
        let dir = self.cwd.join("manifests");
        std::fs::create_dir_all(&dir).unwrap();
        for (i, d) in docs.iter().enumerate() {
            std::fs::write(dir.join(format!("{i:02}.json")), d.to_string()).unwrap();
        }
        self.ok(&["sync", "-f", "manifests", "--app", "builds"]);
    }

    fn repo_url(&self) -> String {
        self.repo.display().to_string()
    }
}

/// The byte offset of each needle in `text`, asserting they appear in this order.
#[track_caller]
fn assert_in_order(text: &str, needles: &[&str]) {
    let mut from = 0;
    for n in needles {
        match text[from..].find(n) {
            Some(at) => from += at + n.len(),
            None => panic!("{n:?} missing, or not after the previous lines, in:\n{text}"),
        }
    }
}

#[test]
fn a_queued_build_cancelled_pushes_nothing_and_starts_nothing_downstream() {
    let lab = Lab::new();
    lab.sync(&lab.repo_url());
    assert!(lab.builds("app").is_empty());
    let run = lab.ok(&["start-build", "app", "--no-wait"]);
    assert_eq!(run.stdout, "build.build.openshift.io/app-1 started\n");
    assert_eq!(lab.builds("app")["app-1"], "New");

    let run = lab.ok(&["cancel-build", "app-1"]);
    assert_eq!(
        run.stdout,
        "build.build.openshift.io/app-1 marked for cancellation, waiting to be cancelled\n\
         build.build.openshift.io/app-1 cancelled\n"
    );
    let b = lab.build("app-1");
    assert_eq!(b["status"]["phase"], "Cancelled");
    assert_eq!(b["status"]["cancelled"], true);
    assert_eq!(b["status"]["reason"], "CancelledBuild");
    assert!(b["status"].get("log").is_none(), "it never ran: {b}");
    assert!(b["status"].get("output").is_none(), "{b}");
    // No tag event on the output, so nothing downstream.
    assert_eq!(lab.resolved("app"), None);
    assert!(lab.builds("down").is_empty());
    // Settling again (any state-changing command) neither runs it nor builds downstream.
    lab.sync(&lab.repo_url());
    assert_eq!(lab.builds("app")["app-1"], "Cancelled");
    assert!(lab.builds("down").is_empty());

    // A finished build cannot be cancelled, and says why.
    let again = lab.run(&["cancel-build", "app-1"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert_eq!(
        again.stderr,
        "error: build default/app-1 is already in its terminal phase: Cancelled\n"
    );
    assert!(again.stdout.is_empty(), "{again:?}");
    // The same chain, not cancelled, does push and build downstream: the assertions above
    // were about the cancellation.
    lab.ok(&["start-build", "app"]);
    assert_eq!(lab.builds("app")["app-2"], "Complete");
    assert!(lab.resolved("app").is_some());
    assert_eq!(lab.builds("down")["down-1"], "Complete");
    let done = lab.run(&["cancel-build", "build/app-2"]);
    crate::util::assert_error(
        &done,
        "build default/app-2 is already in its terminal phase: Complete",
    );
    let missing = lab.run(&["cancel-build", "nope-1"]);
    crate::util::assert_error(&missing, "build default/nope-1 not found");
    // Several failures: each named, then oc's summary.
    let both = lab.run(&["cancel-build", "nope-1", "app-2"]);
    assert_eq!(both.code, 2);
    assert_eq!(
        both.stderr,
        "error: build default/nope-1 not found\n\
         error: build default/app-2 is already in its terminal phase: Complete\n\
         error: failure during the build cancellation\n"
    );
}

#[test]
fn cancel_build_of_a_config_honours_state_and_refuses_what_it_cannot_do() {
    let lab = Lab::new();
    lab.sync(&lab.repo_url());
    lab.ok(&["start-build", "app", "--no-wait"]);
    lab.ok(&["start-build", "app", "--no-wait"]);
    assert_eq!(
        lab.builds("app"),
        BTreeMap::from([
            ("app-1".into(), "New".into()),
            ("app-2".into(), "New".into())
        ])
    );
    // No build is running: nothing to cancel, nothing changes.
    let run = lab.ok(&["cancel-build", "bc/app", "--phase", "running"]);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr
            .contains("buildconfig default/app has no builds to cancel in phase running"),
        "{run:?}"
    );
    assert!(lab.builds("app").values().all(|p| p == "New"));
    // --no-wait marks them; the next settle cancels them.
    let run = lab.ok(&["cancel-build", "bc/app", "--phase=new,pending", "--no-wait"]);
    assert_eq!(
        run.stdout,
        "build.build.openshift.io/app-1 marked for cancellation, waiting to be cancelled\n\
         build.build.openshift.io/app-2 marked for cancellation, waiting to be cancelled\n"
    );
    assert!(lab.build("app-1")["status"]["cancelled"] == true);
    assert_eq!(lab.builds("app")["app-1"], "New");
    let run = lab.ok(&["cancel-build", "buildconfig/app"]);
    assert_eq!(
        run.stdout,
        "build.build.openshift.io/app-1 marked for cancellation, waiting to be cancelled\n\
         build.build.openshift.io/app-2 marked for cancellation, waiting to be cancelled\n\
         build.build.openshift.io/app-1 cancelled\n\
         build.build.openshift.io/app-2 cancelled\n"
    );
    assert!(lab.builds("app").values().all(|p| p == "Cancelled"));
    assert_eq!(lab.resolved("app"), None);
    assert!(lab.builds("down").is_empty());

    for (args, needle) in [
        (
            &["cancel-build", "bc/app", "--phase", "done"][..],
            "invalid --phase flag value, must be one of 'new', 'pending', or 'running'",
        ),
        // oc's `--state new` is kascade's state directory: refused rather than opening a
        // cluster in ./new.
        (
            &["cancel-build", "bc/app", "--state", "new"][..],
            "filter builds by phase with --phase new",
        ),
        (
            &["cancel-build", "bc/nothere"][..],
            "buildconfig default/nothere not found",
        ),
        (
            &["cancel-build", "dc/app"][..],
            "invalid resource provided: \"dc\"",
        ),
        (
            &["cancel-build", "app-1", "--cluster", "kube"][..],
            "on OpenShift use `oc cancel-build`",
        ),
    ] {
        let run = lab.run(args);
        crate::util::assert_error(&run, needle);
    }
    let run = lab.run(&["cancel-build"]);
    assert_eq!(run.code, 2, "{run:?}");
    let help = lab.ok(&["cancel-build", "--help"]);
    assert!(
        help.stdout
            .contains("kascade cancel-build bc/app-a --phase new"),
        "{help:?}"
    );
    assert!(!lab.cwd.join("new").exists());
}

/// Marks the build cancelled through a second connection to the cluster while the executor
/// runs it, as `kascade cancel-build` in another process would.
struct CancelWhileRunning {
    state: PathBuf,
    build: ResourceKey,
    lines: Vec<String>,
}

impl Observer for CancelWhileRunning {
    fn activity(&mut self, _: &Activity) {}
    fn build_log(&mut self, build: &ResourceKey, line: &str) {
        if *build != self.build {
            return;
        }
        if self.lines.is_empty() {
            let mut other = LocalCluster::open(&self.state).unwrap();
            let mut txn = other.begin().unwrap();
            let mut b = txn.get(build).unwrap().unwrap();
            assert_eq!(b["status"]["phase"], "Running");
            b["status"]["cancelled"] = json!(true);
            txn.update(b).unwrap();
            txn.commit().unwrap();
        }
        self.lines.push(line.to_string());
    }
}

#[test]
fn a_build_cancelled_while_it_runs_pushes_nothing() {
    let lab = Lab::new();
    lab.sync(&lab.repo_url());
    lab.ok(&["start-build", "app", "--no-wait"]);
    let state = lab.cwd.join(".kascade");
    let mut c = lab.cluster();
    let key = ResourceKey::new("build.openshift.io", "Build", "default", "app-1");
    let mut observer = CancelWhileRunning {
        state,
        build: key.clone(),
        lines: Vec::new(),
    };
    let mut ctl = Controllers::new(&c, Options::default());
    let report = ctl.reconcile_all(&mut c, &mut observer).unwrap();
    // It ran to the end of its log, and was cancelled rather than completed.
    assert!(
        observer.lines[0].starts_with("Cloning"),
        "{:?}",
        observer.lines
    );
    assert!(
        observer.lines.last().unwrap().starts_with("Build complete"),
        "{:?}",
        observer.lines
    );
    assert_eq!(report.finished_builds(), vec![(&key, "Cancelled")]);
    let b = lab.build("app-1");
    assert_eq!(b["status"]["phase"], "Cancelled");
    assert!(b["status"].get("output").is_none(), "{b}");
    assert_eq!(lab.resolved("app"), None);
    assert!(lab.builds("down").is_empty());
}

#[test]
fn start_build_follow_prints_its_own_build_log_as_it_runs_and_fails_with_it() {
    let lab = Lab::new();
    let sha = git2::Repository::open(&lab.repo)
        .unwrap()
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    lab.sync(&lab.repo_url());
    let run = lab.ok(&["start-build", "app", "--follow"]);
    let out = &run.stdout;
    assert_in_order(
        out,
        &[
            "build.build.openshift.io/app-1 started\n",
            &format!("Cloning \"{}\" (master) ...\n", lab.repo_url()),
            &format!("\tCommit:\t{sha} (contexts)\n"),
            "\tAuthor:\tTest <test@example.com>\n",
            "Context directory app/ (tree ",
            &format!("Replaced Dockerfile FROM image base with {BASE}\n"),
            &format!("STEP: FROM {BASE}\n"),
            "Build complete: image sha256:",
            // Then what settling did: this build, and the one it triggered.
            "build.build.openshift.io/app-1 -n default complete",
            "build.build.openshift.io/down-1 -n default complete",
        ],
    );
    // The streamed lines are the build's whole log, once; the downstream build's are not shown.
    let log = lab.build("app-1")["status"]["log"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(out.matches(&log).count(), 1, "{out}\n---\n{log}");
    assert_eq!(out.matches("Cloning").count(), 1, "{out}");
    assert!(!out.contains("Context directory down/"), "{out}");
    assert_eq!(lab.builds("down")["down-1"], "Complete");

    // A Dockerfile without FROM: the log up to the error, then a non-zero exit.
    let run = lab.run(&["start-build", "nofrom", "--follow"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_in_order(
        &run.stdout,
        &[
            "build.build.openshift.io/nofrom-1 started\n",
            "Cloning \"",
            &format!("\tCommit:\t{sha} (contexts)\n"),
            "Context directory nofrom/ (tree ",
            "error: build error: the Dockerfile nofrom/Dockerfile is invalid: it has no FROM instruction (DockerBuildFailed)\n",
            "build.build.openshift.io/nofrom-1 -n default failed",
        ],
    );
    assert!(
        run.stderr
            .contains("error: build nofrom-1 failed (DockerBuildFailed)"),
        "{run:?}"
    );
    let conflict = lab.run(&["start-build", "app", "--follow", "--no-wait"]);
    assert_eq!(conflict.code, 2, "{conflict:?}");
    assert!(
        conflict.stderr.contains("cannot be used with"),
        "{conflict:?}"
    );
}

#[test]
fn build_sources_go_through_the_source_module_checks() {
    let lab = Lab::new();
    // A URL git would run a program for: refused before git sees it, the build failed.
    let marker = lab.root().join("pwned");
    let uri = format!("ext::sh -c touch% {}", marker.display());
    lab.sync(&uri);
    let run = lab.run(&["start-build", "app"]);
    assert_eq!(run.code, 2, "{run:?}");
    let b = lab.build("app-1");
    assert_eq!(b["status"]["reason"], "FetchSourceFailed");
    let message = b["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("refusing the git source: unsupported repository url ext::")
            && message.contains("the ext:: transport runs programs"),
        "{message}"
    );
    assert!(!marker.exists());
    assert_eq!(lab.resolved("app"), None);

    // A local path that is no repository: the URL and the ref named.
    let gone = format!("{}/does-not-exist", lab.repo_url());
    lab.sync(&gone);
    let run = lab.run(&["start-build", "app"]);
    assert_eq!(run.code, 2, "{run:?}");
    let b = lab.build("app-2");
    assert_eq!(b["status"]["reason"], "FetchSourceFailed");
    let message = b["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "failed to fetch master from {gone}: no repository at"
        )),
        "{message}"
    );

    // file:// works offline, --commit builds an older commit, and the build fetched into the
    // state directory's one git cache.
    let first = git2::Repository::open(&lab.repo)
        .unwrap()
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    let second = commit(
        &lab.repo,
        &[("app/Dockerfile", "FROM base\nRUN make all\n")],
        "v2",
    );
    let url = format!("file://{}", lab.repo.display());
    lab.sync(&url);
    lab.ok(&["start-build", "app"]);
    let b3 = lab.build("app-3");
    assert_eq!(b3["spec"]["revision"]["git"]["commit"], second.as_str());
    lab.ok(&["start-build", "app", "--commit", &first[..10]]);
    let b4 = lab.build("app-4");
    assert_eq!(b4["spec"]["revision"]["git"]["commit"], first.as_str());
    assert_ne!(
        b3["status"]["output"]["to"]["imageDigest"],
        b4["status"]["output"]["to"]["imageDigest"]
    );
    let cache = kascade::source::cache_dir(&lab.cwd.join(".kascade"), &url).unwrap();
    assert!(cache.join("HEAD").is_file(), "{}", cache.display());
    assert!(!lab.cwd.join(".kascade/sources").exists());
    // A ref that does not exist names it and the URL.
    let missing = lab.run(&["start-build", "app", "--commit", "0123456789abcdef"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    let b5 = lab.build("app-5");
    let message = b5["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"0123456789abcdef\"") && message.contains(&url),
        "{message}"
    );
}
