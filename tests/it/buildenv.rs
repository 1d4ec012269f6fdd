//! The build environment (`${KASCADE_APP_…}` in kascade.yaml `parameters:`): templates that
//! build from the repository they live in, from a local work tree and from a `source:`.
//! Real git repositories made with git2, the real binary, real SQLite files.

use std::path::Path;

use kascade::cluster::{Cluster, LocalCluster};
use kascade::resource::ResourceKey;
use serde_json::Value;

use crate::util::{Remote, commit, kascade_in, root};

/// The files of `examples/base-image` (relative path, contents), lab included.
fn example_files() -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let base = root().join("examples/base-image");
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    assert!(
        out.iter()
            .any(|(p, _)| p == "apps/base-image/lab/httpd-base/Dockerfile"),
        "the example's lab is missing: {out:?}"
    );
    out
}

fn bc(state: &Path, name: &str) -> Value {
    LocalCluster::open(state)
        .unwrap()
        .get(&ResourceKey::new(
            "build.openshift.io",
            "BuildConfig",
            "base-image-example",
            name,
        ))
        .unwrap()
        .unwrap_or_else(|| panic!("no BuildConfig {name}"))
}

#[test]
fn the_example_builds_its_lab_from_the_work_tree_it_is_committed_in() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("gitops");
    let files = example_files();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_str()))
        .collect();
    commit(&repo, &refs, "the example");
    // The state lives outside the work tree, so that later commits do not pick it up.
    let state = tmp.path().join("state");
    let state_arg = state.to_str().unwrap();
    let run = kascade_in(
        &repo,
        &["sync", "--config", "kascade.yaml", "--state", state_arg],
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    for line in [
        "build.build.openshift.io/httpd-base-1 -n base-image-example complete",
        "build.build.openshift.io/app-a-1 -n base-image-example complete",
        "build.build.openshift.io/app-b-1 -n base-image-example complete",
        "deploymentconfig.apps.openshift.io/app-a -n base-image-example rolled out version 1",
        "deploymentconfig.apps.openshift.io/app-b -n base-image-example rolled out version 1",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    let httpd = bc(&state, "httpd-base");
    let top = repo.canonicalize().unwrap();
    assert_eq!(
        httpd["spec"]["source"]["git"]["uri"],
        top.to_string_lossy().as_ref()
    );
    // The branch checked out (the commit helper makes `master`), not the template's default.
    assert_eq!(httpd["spec"]["source"]["git"]["ref"], "master");
    assert_eq!(
        httpd["spec"]["source"]["contextDir"],
        "apps/base-image/lab/httpd-base"
    );
    // Re-running changes nothing: the variables render to the same values.
    let again = kascade_in(
        &repo,
        &["sync", "--config", "kascade.yaml", "--state", state_arg],
        None,
    );
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        !again.stdout.contains("created")
            && !again.stdout.contains("configured")
            && !again.stdout.contains("complete"),
        "{}",
        again.stdout
    );
    // A commit to the lab, then start-build: the new Dockerfile is the one built.
    commit(
        &repo,
        &[(
            "apps/base-image/lab/httpd-base/Dockerfile",
            "FROM centos:7\nRUN yum -y install httpd mod_ssl\n",
        )],
        "httpd-base: mod_ssl",
    );
    let run = kascade_in(
        &repo,
        &[
            "start-build",
            "httpd-base",
            "-n",
            "base-image-example",
            "--state",
            state_arg,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    let log = kascade_in(
        &repo,
        &[
            "logs",
            "build/httpd-base-2",
            "-n",
            "base-image-example",
            "--state",
            state_arg,
        ],
        None,
    );
    assert!(log.stdout.contains("httpd-base: mod_ssl"), "{log:?}");
}

#[test]
fn outside_a_work_tree_the_variable_is_an_error_naming_the_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("copy");
    for (p, body) in example_files() {
        let path = dir.join(&p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let run = kascade_in(&dir, &["sync", "--config", "kascade.yaml"], None);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("base-image")
            && run.stderr.contains(": ${KASCADE_APP_SOURCE_")
            && run.stderr.contains("has no value")
            && run.stderr.contains("not in a git work tree"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // Nothing of the failing app was applied.
    let c = LocalCluster::open(&dir.join(".kascade")).unwrap();
    assert!(c.inventory("base-image").unwrap().is_none());
}

#[test]
fn a_source_app_sees_its_repository_url_and_path() {
    let remote = Remote::new();
    let work = tempfile::tempdir().unwrap();
    // The remote holds the lab under deploy/: a template and the build contexts.
    let template =
        std::fs::read_to_string(root().join("examples/base-image/apps/base-image/template.yaml"))
            .unwrap();
    let env =
        std::fs::read_to_string(root().join("examples/base-image/apps/base-image/template.env"))
            .unwrap();
    let mut files = vec![
        ("deploy/template.yaml".to_string(), template),
        ("deploy/template.env".to_string(), env),
    ];
    for (p, body) in example_files() {
        if let Some(rest) = p.strip_prefix("apps/base-image/lab/") {
            files.push((format!("deploy/lab/{rest}"), body));
        }
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_str()))
        .collect();
    let checkout = work.path().join("checkout");
    commit(&checkout, &refs, "lab");
    let repo = git2::Repository::open(&checkout).unwrap();
    repo.remote("origin", &remote.url()).unwrap();
    repo.find_remote("origin")
        .unwrap()
        .push(&["refs/heads/master:refs/heads/main"], None)
        .unwrap();
    let config = format!(
        "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: lab\n  namespace: base-image-example\n  source: {{repo: {url}, ref: main, path: deploy}}\n  parameters:\n    GIT_URL: ${{KASCADE_APP_SOURCE_REPO_URL}}\n    GIT_REF: ${{KASCADE_APP_SOURCE_TARGET_REVISION}}\n    SOURCE_DIR: ${{KASCADE_APP_SOURCE_PATH}}/lab/\n",
        url = remote.url()
    );
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: base-image-example}\n";
    let dir = work.path().join("ops");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kascade.yaml"), config).unwrap();
    std::fs::write(dir.join("ns.yaml"), ns).unwrap();
    assert_eq!(kascade_in(&dir, &["sync", "-f", "ns.yaml"], None).code, 0);
    let run = kascade_in(&dir, &["sync", "--config", "kascade.yaml"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("build.build.openshift.io/app-b-1 -n base-image-example complete"),
        "{}",
        run.stdout
    );
    let httpd = bc(&dir.join(".kascade"), "httpd-base");
    assert_eq!(httpd["spec"]["source"]["git"]["uri"], remote.url().as_str());
    assert_eq!(httpd["spec"]["source"]["git"]["ref"], "main");
    assert_eq!(
        httpd["spec"]["source"]["contextDir"],
        "deploy/lab/httpd-base"
    );
}

#[test]
fn a_parameter_no_template_declares_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/cm.yaml"),
        "apiVersion: template.openshift.io/v1\nkind: Template\nmetadata: {name: t}\nobjects:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm}\n  data: {app: \"${APP}\"}\nparameters:\n- name: APP\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("kascade.yaml"),
        "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: a\n  namespace: default\n  path: app\n  parameters:\n    APP: ${KASCADE_APP_NAME}-${KASCADE_APP_NAMESPACE}\n    TYPO: x\n",
    )
    .unwrap();
    let run = kascade_in(dir, &["sync", "--config", "kascade.yaml"], None);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("parameter \"TYPO\" is set for the app but no template declares it"),
        "{}",
        run.stderr
    );
    std::fs::write(
        dir.join("kascade.yaml"),
        "apiVersion: kascade.dev/v1alpha1\nkind: Config\napps:\n- name: a\n  namespace: default\n  path: app\n  parameters:\n    APP: ${KASCADE_APP_NAME}-${KASCADE_APP_NAMESPACE}\n",
    )
    .unwrap();
    let run = kascade_in(dir, &["sync", "--config", "kascade.yaml"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let cm = LocalCluster::open(&dir.join(".kascade"))
        .unwrap()
        .get(&ResourceKey::new("", "ConfigMap", "default", "cm"))
        .unwrap()
        .unwrap();
    assert_eq!(cm["data"]["app"], "a-default");
}
