//! Revision records of Deployments, StatefulSets and DaemonSets on the embedded cluster, and
//! `kascade rollout history|undo|restart` for them, through the real binary on real SQLite
//! files: one ReplicaSet / ControllerRevision per pod template, none for a no-op sync.

use kascade::controllers::workloads::{POD_TEMPLATE_HASH, REVISION, REVISION_HISTORY};
use kascade::resource::ResourceKey;
use serde_json::Value;

use crate::util::{Run, Workdir};

struct Work {
    dir: Workdir,
}

impl std::ops::Deref for Work {
    type Target = Workdir;
    fn deref(&self) -> &Workdir {
        &self.dir
    }
}

impl Work {
    fn new() -> Self {
        let w = Work {
            dir: Workdir::new(),
        };
        w.write(
            "app/ns.json",
            r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab"}}"#,
        );
        w
    }

    fn sync(&self) -> Run {
        self.ok(&["sync", "-f", "app", "--app", "app", "-n", "lab"])
    }

    fn diff(&self) -> Run {
        self.run(&["diff", "-f", "app", "--app", "app", "-n", "lab"])
    }

    fn get(&self, kind: &str, name: &str) -> Value {
        self.cluster()
            .get(&ResourceKey::new("apps", kind, "lab", name))
            .unwrap()
            .unwrap_or_else(|| panic!("{kind} {name} missing"))
    }

    /// The records of a workload, `(name, revision, replicas)`, by revision.
    fn records(&self, kind: &str, owner: &str) -> Vec<(String, i64, Option<i64>)> {
        let mut out: Vec<(String, i64, Option<i64>)> = self
            .cluster()
            .list_prefix("apps", kind, "lab", &format!("{owner}-"))
            .unwrap()
            .iter()
            .map(|r| {
                let revision = match kind {
                    "ReplicaSet" => r["metadata"]["annotations"][REVISION]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap(),
                    _ => r["revision"].as_i64().unwrap(),
                };
                (
                    r["metadata"]["name"].as_str().unwrap().to_string(),
                    revision,
                    r["spec"]["replicas"].as_i64(),
                )
            })
            .collect();
        out.sort_by_key(|r| r.1);
        out
    }

    fn versions(&self) -> Vec<String> {
        self.cluster()
            .all()
            .unwrap()
            .iter()
            .map(|o| {
                format!(
                    "{}/{}@{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap(),
                    o["metadata"]["resourceVersion"].as_str().unwrap()
                )
            })
            .collect()
    }
}

fn workload(kind: &str, name: &str, image: &str, extra_spec: &str) -> String {
    format!(
        r#"{{"apiVersion": "apps/v1", "kind": "{kind}", "metadata": {{"name": "{name}"}},
  "spec": {{{extra_spec}"selector": {{"matchLabels": {{"app": "{name}"}}}},
    "template": {{"metadata": {{"labels": {{"app": "{name}"}}}},
      "spec": {{"containers": [{{"name": "{name}", "image": "{image}"}}]}}}}}}}}"#
    )
}

fn image(o: &Value) -> &str {
    o["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

fn revision(o: &Value) -> &str {
    o["metadata"]["annotations"][REVISION].as_str().unwrap()
}

#[test]
fn a_deployment_gets_one_replicaset_per_pod_template_and_rolls_back() {
    let w = Work::new();
    w.write(
        "app/web.json",
        &workload("Deployment", "web", "nginx:1", r#""replicas": 2, "#),
    );
    let run = w.sync();
    assert!(
        run.stdout
            .contains("deployment.apps/web -n lab rolled out version 1"),
        "{run:?}"
    );
    let recs = w.records("ReplicaSet", "web");
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!((recs[0].1, recs[0].2), (1, Some(2)));
    let rs1 = w.get("ReplicaSet", &recs[0].0);
    let hash = rs1["metadata"]["labels"][POD_TEMPLATE_HASH]
        .as_str()
        .unwrap();
    assert_eq!(recs[0].0, format!("web-{hash}"));
    assert_eq!(
        rs1["spec"]["selector"]["matchLabels"][POD_TEMPLATE_HASH],
        hash
    );
    assert_eq!(rs1["spec"]["template"]["metadata"]["labels"]["app"], "web");
    let owner = &rs1["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Deployment");
    assert_eq!(owner["controller"], true);
    let web = w.get("Deployment", "web");
    assert_eq!(owner["uid"], web["metadata"]["uid"]);
    assert_eq!(revision(&web), "1");
    assert_eq!(
        web["status"]["observedGeneration"],
        web["metadata"]["generation"]
    );
    // The records are not the app's: not labelled, so never pruned or diffed.
    assert!(
        rs1["metadata"]["labels"]
            .get("app.kascade.dev/instance")
            .is_none()
    );

    // A new image in the repository: revision 2, the old ReplicaSet scaled to 0.
    w.write(
        "app/web.json",
        &workload("Deployment", "web", "nginx:2", r#""replicas": 2, "#),
    );
    w.sync();
    let recs = w.records("ReplicaSet", "web");
    assert_eq!(
        recs.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        vec![(1, Some(0)), (2, Some(2))]
    );
    assert_eq!(revision(&w.get("Deployment", "web")), "2");
    let (first, second) = (recs[0].0.clone(), recs[1].0.clone());

    // A re-sync of the same repository makes nothing new and writes nothing; diff is clean.
    let before = w.versions();
    let again = w.sync();
    assert!(!again.stdout.contains("rolled out"), "{again:?}");
    assert_eq!(w.versions(), before);
    assert_eq!(w.diff().code, 0);
    w.sync();
    assert_eq!(w.versions(), before);

    let history = w.ok(&["rollout", "history", "deployment/web", "-n", "lab"]);
    assert_eq!(
        history.stdout,
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
    );

    // Undo: revision 1's template is back, and its ReplicaSet becomes revision 3.
    let undo = w.ok(&["rollout", "undo", "deployment/web", "-n", "lab"]);
    assert!(
        undo.stdout.starts_with("deployment.apps/web rolled back\n"),
        "{undo:?}"
    );
    assert!(
        undo.stdout
            .contains("rolled out version 3 (replicaset web-"),
        "{undo:?}"
    );
    let web = w.get("Deployment", "web");
    assert_eq!(image(&web), "nginx:1");
    assert_eq!(revision(&web), "3");
    let recs = w.records("ReplicaSet", "web");
    assert_eq!(
        recs,
        vec![(second.clone(), 2, Some(0)), (first.clone(), 3, Some(2))]
    );
    assert_eq!(
        w.get("ReplicaSet", &first)["metadata"]["annotations"][REVISION_HISTORY],
        "1"
    );
    let history = w.ok(&["rollout", "history", "deploy/web", "-n", "lab"]);
    assert!(
        history
            .stdout
            .ends_with("2         <none>\n3         <none>\n\n"),
        "{history:?}"
    );
    let skipped = w.ok(&[
        "rollout",
        "undo",
        "deployment/web",
        "--to-revision",
        "3",
        "-n",
        "lab",
    ]);
    assert_eq!(
        skipped.stdout,
        "deployment.apps/web skipped rollback (current template already matches revision 3)\n"
    );
    let missing = w.run(&[
        "rollout",
        "undo",
        "deployment/web",
        "--to-revision",
        "9",
        "-n",
        "lab",
    ]);
    crate::util::assert_error(&missing, "unable to find specified revision 9 in history");

    // Restart: the same template stamped with restartedAt, a new revision.
    let restart = w.ok(&["rollout", "restart", "deployment/web", "-n", "lab"]);
    assert!(
        restart
            .stdout
            .starts_with("deployment.apps/web restarted\n"),
        "{restart:?}"
    );
    let web = w.get("Deployment", "web");
    assert!(
        web["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(revision(&web), "4");
    assert_eq!(w.records("ReplicaSet", "web").len(), 3);

    // The repository still says nginx:2: a sync puts it back (GitOps), keeping the restart
    // stamp, which nobody declared.
    w.sync();
    let web = w.get("Deployment", "web");
    assert_eq!(image(&web), "nginx:2");
    assert_eq!(revision(&web), "5");
    let before = w.versions();
    w.sync();
    assert_eq!(w.versions(), before);
    assert_eq!(w.diff().code, 0);

    // DeploymentConfig-only and workload-only commands say so.
    let latest = w.run(&["rollout", "latest", "deployment/web", "-n", "lab"]);
    crate::util::assert_error(&latest, "use `kascade rollout restart`");
    let gone = w.run(&["rollout", "history", "sts/nope", "-n", "lab"]);
    crate::util::assert_error(&gone, "statefulsets.apps \"nope\" not found");
}

#[test]
fn the_history_limit_prunes_old_replicasets_and_scaling_makes_no_revision() {
    let w = Work::new();
    for i in 1..=5 {
        w.write(
            "app/web.json",
            &workload(
                "Deployment",
                "web",
                &format!("nginx:{i}"),
                r#""revisionHistoryLimit": 2, "#,
            ),
        );
        w.sync();
    }
    let recs = w.records("ReplicaSet", "web");
    assert_eq!(
        recs.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        vec![(3, Some(0)), (4, Some(0)), (5, Some(1))]
    );
    // Scaling changes the newest ReplicaSet's replicas, not the revision.
    w.write(
        "app/web.json",
        &workload(
            "Deployment",
            "web",
            "nginx:5",
            r#""revisionHistoryLimit": 2, "replicas": 4, "#,
        ),
    );
    w.sync();
    let recs = w.records("ReplicaSet", "web");
    assert_eq!(recs.len(), 3);
    assert_eq!((recs[2].1, recs[2].2), (5, Some(4)));
    assert_eq!(revision(&w.get("Deployment", "web")), "5");
}

#[test]
fn statefulsets_and_daemonsets_get_controller_revisions() {
    let w = Work::new();
    w.write(
        "app/db.json",
        &workload(
            "StatefulSet",
            "db",
            "postgres:15",
            r#""serviceName": "db", "#,
        ),
    );
    w.write(
        "app/agent.json",
        &workload("DaemonSet", "agent", "agent:1", ""),
    );
    w.sync();
    let recs = w.records("ControllerRevision", "db");
    assert_eq!(recs.len(), 1, "{recs:?}");
    let cr = w.get("ControllerRevision", &recs[0].0);
    assert_eq!(cr["revision"], 1);
    assert_eq!(
        cr["data"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "postgres:15"
    );
    assert_eq!(cr["data"]["spec"]["template"]["$patch"], "replace");
    assert_eq!(cr["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    let db = w.get("StatefulSet", "db");
    assert_eq!(db["status"]["currentRevision"], recs[0].0);
    assert_eq!(db["status"]["updateRevision"], recs[0].0);
    let agent = w.records("ControllerRevision", "agent");
    assert_eq!(agent.len(), 1);
    let ds = w.get("DaemonSet", "agent");
    assert_eq!(
        ds["status"]["observedGeneration"],
        ds["metadata"]["generation"]
    );

    w.write(
        "app/db.json",
        &workload(
            "StatefulSet",
            "db",
            "postgres:16",
            r#""serviceName": "db", "#,
        ),
    );
    w.sync();
    let recs = w.records("ControllerRevision", "db");
    assert_eq!(recs.iter().map(|r| r.1).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(
        w.get("StatefulSet", "db")["status"]["updateRevision"],
        recs[1].0
    );
    let before = w.versions();
    w.sync();
    assert_eq!(w.versions(), before);
    assert_eq!(w.diff().code, 0);
    let history = w.ok(&["rollout", "history", "sts/db", "-n", "lab"]);
    assert_eq!(
        history.stdout,
        "statefulset.apps/db \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
    );
    let undo = w.ok(&[
        "rollout",
        "undo",
        "statefulset/db",
        "--to-revision",
        "1",
        "-n",
        "lab",
    ]);
    assert!(
        undo.stdout.starts_with("statefulset.apps/db rolled back\n"),
        "{undo:?}"
    );
    let db = w.get("StatefulSet", "db");
    assert_eq!(image(&db), "postgres:15");
    assert_eq!(db["status"]["updateRevision"], recs[0].0);
    let recs = w.records("ControllerRevision", "db");
    assert_eq!(recs.iter().map(|r| r.1).collect::<Vec<_>>(), vec![2, 3]);
    let restart = w.ok(&["rollout", "restart", "ds/agent", "-n", "lab"]);
    assert!(
        restart
            .stdout
            .starts_with("daemonset.apps/agent restarted\n"),
        "{restart:?}"
    );
    assert_eq!(w.records("ControllerRevision", "agent").len(), 2);
}

#[test]
fn a_triggered_deployment_makes_one_replicaset_per_tag_change() {
    let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let w = Work::new();
    w.ok(&["sync", "-f", "app", "--app", "app", "-n", "lab"]);
    w.ok(&[
        "tag",
        &format!("quay.io/org/web@{}", d('1')),
        "web:v1",
        "-n",
        "lab",
    ]);
    let trigger = r#"[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"web:v1\"},\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"web\\\")].image\"}]"#;
    w.write(
        "app/web.json",
        &workload("Deployment", "web", "web:v1", "").replace(
            r#""metadata": {"name": "web"}"#,
            &format!(r#""metadata": {{"name": "web", "annotations": {{"image.openshift.io/triggers": "{trigger}"}}}}"#),
        ),
    );
    w.sync();
    // The trigger set the image before the first revision was recorded: one ReplicaSet.
    let recs = w.records("ReplicaSet", "web");
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        image(&w.get("ReplicaSet", &recs[0].0)),
        format!("quay.io/org/web@{}", d('1'))
    );
    for (n, c) in [(2, '2'), (3, '3')] {
        let run = w.ok(&[
            "tag",
            &format!("quay.io/org/web@{}", d(c)),
            "web:v1",
            "-n",
            "lab",
        ]);
        assert!(
            run.stdout.contains(&format!(
                "deployment.apps/web -n lab rolled out version {n}"
            )),
            "{run:?}"
        );
        let recs = w.records("ReplicaSet", "web");
        assert_eq!(recs.len(), n as usize, "{recs:?}");
        let newest = w.get("ReplicaSet", &recs[n as usize - 1].0);
        assert_eq!(image(&newest), format!("quay.io/org/web@{}", d(c)));
        assert_eq!(newest["spec"]["replicas"], 1);
    }
    // The trigger owns the image: a sync and a diff see no change, and nothing rolls.
    let before = w.versions();
    w.sync();
    assert_eq!(w.versions(), before);
    assert_eq!(w.diff().code, 0);
}
