//! `kascade sync` and `diff` on real SQLite files: idempotence, atomicity, prune guards,
//! ownership, two processes at once, and SIGKILL in the middle of a 5,000-object sync.

use std::path::Path;
use std::process::{Command, Stdio};

use kascade::cluster::{LocalCluster, Selector};
use kascade::resource::ResourceKey;
use serde_json::Value;

use crate::util::{assert_error, kascade_in, root};

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn versions(state: &Path) -> Vec<(String, String)> {
    let c = LocalCluster::open(state).unwrap();
    c.all()
        .unwrap()
        .iter()
        .map(|o| {
            (
                format!("{}/{}", o["kind"], o["metadata"]["name"]),
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn example_repo_syncs_then_twenty_resyncs_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = root().join("examples/base-image/kascade.yaml");
    let config = config.to_str().unwrap();
    let run = kascade_in(tmp.path(), &["sync", "--config", config], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("deploymentconfig.apps.openshift.io/app-a created"),
        "{}",
        run.stdout
    );
    // The README's first command: the lab builds from this checkout, offline, and both
    // DeploymentConfigs roll out (the crate must be a git clone, as CI's is).
    for line in [
        "build.build.openshift.io/httpd-base-1 -n base-image-example complete",
        "deploymentconfig.apps.openshift.io/app-a -n base-image-example rolled out version 1",
        "deploymentconfig.apps.openshift.io/app-b -n base-image-example rolled out version 1",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    let state = tmp.path().join(".kascade");
    let before = versions(&state);
    assert!(before.len() > 20);
    for _ in 0..20 {
        let run = kascade_in(tmp.path(), &["sync", "--config", config], None);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            !run.stdout.contains("configured") && !run.stdout.contains("created"),
            "{}",
            run.stdout
        );
    }
    assert_eq!(versions(&state), before, "a no-op sync must not write");
    let diff = kascade_in(tmp.path(), &["diff", "--config", config], None);
    assert_eq!(diff.code, 0, "{diff:?}");
    // Generated parameters were stored once and reused: the webhook secret never rotated.
    let c = LocalCluster::open(&state).unwrap();
    let bc = c
        .get(&ResourceKey::new(
            "build.openshift.io",
            "BuildConfig",
            "base-image-example",
            "app-a",
        ))
        .unwrap()
        .unwrap();
    let secret = bc["spec"]["triggers"][0]["github"]["secret"]
        .as_str()
        .unwrap();
    assert_eq!(secret.len(), 40);
    assert_eq!(c.integrity_check().unwrap(), "ok");
}

#[test]
fn template_app_then_diff_reports_no_difference() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n",
    );
    assert_eq!(
        kascade_in(tmp.path(), &["sync", "-f", "ns.yaml"], None).code,
        0
    );
    let args = [
        "--template",
        "base-image-example",
        "-p",
        "GIT_URL=https://example.com/lab.git",
        "-n",
        "lab",
    ];
    let mut sync = vec!["sync"];
    sync.extend(args);
    let run = kascade_in(tmp.path(), &sync, None);
    assert_eq!(run.code, 0, "{run:?}");
    let mut diff = vec!["diff"];
    diff.extend(args);
    let run = kascade_in(tmp.path(), &diff, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("0 to create, 0 to update, 0 to prune, 14 unchanged"),
        "{}",
        run.stdout
    );
    // A changed parameter is an update, shown as a diff, exit 1.
    let run = kascade_in(
        tmp.path(),
        &[
            "diff",
            "--template",
            "base-image-example",
            "-p",
            "GIT_URL=https://example.com/other.git",
            "-n",
            "lab",
        ],
        None,
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("+      uri: https://example.com/other.git"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("0 to create, 3 to update"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_error_on_the_900th_object_applies_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::new();
    for i in 0..899 {
        body.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:04}}}\ndata: {{i: \"{i}\"}}\n"));
    }
    body.push_str("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-0899, namespace: does-not-exist}\n");
    write(tmp.path(), "set/all.yaml", &body);
    let run = kascade_in(tmp.path(), &["sync", "-f", "set", "--app", "big"], None);
    assert_error(&run, "namespace \"does-not-exist\" not found");
    let c = LocalCluster::open(&tmp.path().join(".kascade")).unwrap();
    let cms = c
        .list("", "ConfigMap", None, &Selector::everything())
        .unwrap();
    assert!(cms.is_empty(), "{} objects were applied", cms.len());
    assert!(
        kascade::cluster::Cluster::inventory(&c, "big")
            .unwrap()
            .is_none()
    );
}

#[test]
fn prune_only_when_asked_and_guards_hold() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "app/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    write(
        tmp.path(),
        "app/b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
    );
    write(
        tmp.path(),
        "app/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n",
    );
    write(
        tmp.path(),
        "app/pvc.yaml",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {resources: {requests: {storage: 1Gi}}}\n",
    );
    let sync = |extra: &[&str]| {
        let mut a = vec!["sync", "-f", "app", "--app", "demo"];
        a.extend(extra);
        kascade_in(tmp.path(), &a, None)
    };
    assert_eq!(sync(&[]).code, 0);
    for f in ["b.yaml", "ns.yaml", "pvc.yaml"] {
        std::fs::remove_file(tmp.path().join("app").join(f)).unwrap();
    }
    let run = sync(&[]);
    assert!(
        run.stdout
            .contains("configmap/b not pruned: no longer rendered; pruning is off"),
        "{}",
        run.stdout
    );
    let run = sync(&["--prune", "--max-deletions", "0"]);
    assert_error(&run, "deletes 1 objects, more than --max-deletions 0");
    let run = sync(&["--prune"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("configmap/b pruned"), "{}", run.stdout);
    assert!(
        run.stdout.contains("namespace/extra not pruned"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("persistentvolumeclaim/data not pruned"),
        "{}",
        run.stdout
    );
    let c = LocalCluster::open(&tmp.path().join(".kascade")).unwrap();
    assert!(
        c.get(&ResourceKey::new("", "ConfigMap", "default", "b"))
            .unwrap()
            .is_none()
    );
    assert!(
        c.get(&ResourceKey::new("", "Namespace", "", "extra"))
            .unwrap()
            .is_some()
    );
    drop(c);
    // An empty render never prunes without --allow-empty.
    std::fs::remove_file(tmp.path().join("app/a.yaml")).unwrap();
    assert_error(&sync(&["--prune"]), "is empty; refusing to prune");
    assert_eq!(sync(&["--prune", "--allow-empty"]).code, 0);
}

#[test]
fn objects_of_another_app_are_not_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "one/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {by: one}\n",
    );
    write(
        tmp.path(),
        "two/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {by: two}\n",
    );
    assert_eq!(kascade_in(tmp.path(), &["sync", "-f", "one"], None).code, 0);
    assert_error(
        &kascade_in(tmp.path(), &["sync", "-f", "two"], None),
        "belongs to app \"one\"",
    );
}

#[test]
fn dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "app/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    let run = kascade_in(tmp.path(), &["sync", "-f", "app", "--dry-run"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("configmap/a created (dry run)"),
        "{}",
        run.stdout
    );
    let c = LocalCluster::open(&tmp.path().join(".kascade")).unwrap();
    assert!(
        c.get(&ResourceKey::new("", "ConfigMap", "default", "a"))
            .unwrap()
            .is_none()
    );
    let json = kascade_in(tmp.path(), &["diff", "-f", "app", "-o", "json"], None);
    assert_eq!(json.code, 1);
    let plans: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plans[0]["summary"]["create"], 1);
    assert_eq!(plans[0]["objects"][0]["action"], "create");
}

#[test]
fn two_processes_sync_the_same_file_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    for app in ["left", "right"] {
        let mut body = String::new();
        for i in 0..300 {
            body.push_str(&format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {app}-{i}}}\n"
            ));
        }
        write(tmp.path(), &format!("{app}/all.yaml"), &body);
    }
    for round in 0..3 {
        let children: Vec<_> = ["left", "right"]
            .iter()
            .map(|app| {
                Command::new(env!("CARGO_BIN_EXE_kascade"))
                    .args(["sync", "-f", app])
                    .current_dir(tmp.path())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let c = LocalCluster::open(&tmp.path().join(".kascade")).unwrap();
    assert_eq!(c.integrity_check().unwrap(), "ok");
    assert_eq!(
        c.list("", "ConfigMap", None, &Selector::everything())
            .unwrap()
            .len(),
        600
    );
}

/// Writes `n` ConfigMaps all carrying `marker`.
fn workload(dir: &Path, n: usize, marker: &str) {
    let mut body = String::with_capacity(n * 120);
    for i in 0..n {
        body.push_str(&format!(
            "---\n{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"cm-{i:05}\"}}, \"data\": {{\"marker\": \"{marker}\", \"i\": \"{i}\"}}}}\n"
        ));
    }
    write(dir, "app/all.yaml", &body);
}

#[cfg(unix)]
#[test]
fn sigkill_in_the_middle_of_a_5000_object_sync_leaves_old_or_new_state() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".kascade");
    // Calibrate: how long does a sync that updates all 5,000 objects take here? Kills are
    // spread over that span.
    workload(tmp.path(), 5000, "m-initial");
    let run = kascade_in(tmp.path(), &["sync", "-f", "app", "--app", "crash"], None);
    assert_eq!(run.code, 0, "{run:?}");
    workload(tmp.path(), 5000, "m-calibrate");
    let started = std::time::Instant::now();
    let run = kascade_in(tmp.path(), &["sync", "-f", "app", "--app", "crash"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let full = started.elapsed();
    let mut committed: Option<String> = Some("m-calibrate".to_string());
    let mut changed = 0;
    for round in 0..20u32 {
        let marker = format!("m{round}");
        workload(tmp.path(), 5000, &marker);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kascade"))
            .args(["sync", "-f", "app", "--app", "crash"])
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a different moment each round: while rendering, planning or applying.
        std::thread::sleep(full.mul_f64(f64::from(round + 1) / 12.0));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let c = LocalCluster::open(&state).unwrap();
        assert_eq!(c.integrity_check().unwrap(), "ok", "round {round}");
        let cms = c
            .list("", "ConfigMap", Some("default"), &Selector::everything())
            .unwrap();
        let markers: std::collections::BTreeSet<&str> = cms
            .iter()
            .map(|o| o["data"]["marker"].as_str().unwrap())
            .collect();
        match markers.len() {
            0 => panic!("round {round}: the committed state vanished"),
            1 => {
                assert_eq!(cms.len(), 5000, "round {round}: a partial sync is visible");
                let m = markers.into_iter().next().unwrap().to_string();
                assert!(
                    m == marker || Some(&m) == committed.as_ref(),
                    "round {round}: unexpected {m}"
                );
                if Some(&m) != committed.as_ref() {
                    changed += 1;
                }
                committed = Some(m);
            }
            _ => panic!("round {round}: mixed states {markers:?}"),
        }
        let _ = status;
    }
    // The next sync converges.
    workload(tmp.path(), 5000, "final");
    let run = kascade_in(tmp.path(), &["sync", "-f", "app", "--app", "crash"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let c = LocalCluster::open(&state).unwrap();
    let cms = c
        .list("", "ConfigMap", Some("default"), &Selector::everything())
        .unwrap();
    assert_eq!(cms.len(), 5000);
    assert!(cms.iter().all(|o| o["data"]["marker"] == "final"));
    // Kills at 1/12 … 20/12 of a full sync: the late ones commit, the early ones do not.
    assert!(
        changed > 0,
        "no killed sync got far enough to commit (full sync took {full:?})"
    );
    assert!(
        changed < 20,
        "every killed sync committed: no kill landed mid-sync (full sync took {full:?})"
    );
}
