//! The image supply chain on the embedded cluster, end to end through the real binary: real
//! git repositories made with git2, real SQLite files, a fake OCI registry on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kascade::cluster::{LocalCluster, Selector};
use kascade::resource::ResourceKey;
use serde_json::Value;

use crate::util::{Workdir, commit};

const BASE: &str = "docker.io/library/centos@sha256:be65f488b7764ad3638f236b7b515b3678369a5124c47b8d32916d6487418ea4";

fn lab_repo(dir: &Path) {
    commit(
        dir,
        &[
            (
                "httpd-base/Dockerfile",
                "FROM centos:7\nRUN yum -y install httpd\n",
            ),
            (
                "app-a/Dockerfile",
                "FROM httpd-base:latest\nCOPY index.html /var/www/html/\n",
            ),
            ("app-a/index.html", "a\n"),
            (
                "app-b/Dockerfile",
                "FROM httpd-base:latest\nCOPY index.html /var/www/html/\n",
            ),
            ("app-b/index.html", "b\n"),
        ],
        "lab",
    );
}

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
    fn new() -> Self {
        let dir = Workdir::new();
        let repo = dir.root().join("repo");
        Lab { dir, repo }
    }

    fn get(&self, group: &str, kind: &str, name: &str) -> Option<Value> {
        self.cluster()
            .get(&ResourceKey::new(group, kind, "default", name))
            .unwrap()
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

    fn versions(&self) -> Vec<(String, String)> {
        self.cluster()
            .all()
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
}

fn dc_image(dc: &Value) -> String {
    dc["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

fn tag_pull_spec(lab: &Lab, stream: &str) -> String {
    let s = lab
        .get("image.openshift.io", "ImageStream", stream)
        .unwrap();
    kascade::images::resolve_tag(&s, "latest").unwrap()
}

fn latest_version(lab: &Lab, dc: &str) -> i64 {
    lab.get("apps.openshift.io", "DeploymentConfig", dc)
        .unwrap()["status"]["latestVersion"]
        .as_i64()
        .unwrap()
}

#[test]
fn seed_lab_builds_in_order_rolls_out_once_and_reruns_change_nothing() {
    let lab = Lab::new();
    lab_repo(&lab.repo);
    let git_url = format!("GIT_URL={}", lab.repo.display());
    let base = format!("BASE_IMAGE={BASE}");
    let sync: Vec<&str> = vec![
        "sync",
        "--template",
        "base-image-example",
        "-p",
        &git_url,
        "-p",
        &base,
    ];
    let run = lab.ok(&sync);
    assert!(
        run.stdout
            .contains("build.build.openshift.io/httpd-base-1 -n default complete"),
        "{}",
        run.stdout
    );
    // Everything built once, in chain order: app-a-1 was triggered by httpd-base's output.
    for bc in ["httpd-base", "app-a", "app-b"] {
        assert_eq!(
            lab.builds(bc),
            BTreeMap::from([(format!("{bc}-1"), "Complete".into())])
        );
    }
    let httpd = tag_pull_spec(&lab, "httpd-base");
    assert!(httpd.starts_with(
        "image-registry.openshift-image-registry.svc:5000/default/httpd-base@sha256:"
    ));
    let a1 = lab.get("build.openshift.io", "Build", "app-a-1").unwrap();
    assert_eq!(
        a1["spec"]["triggeredBy"][0]["imageChangeBuild"]["imageID"],
        httpd.as_str()
    );
    assert_eq!(
        a1["spec"]["strategy"]["dockerStrategy"]["from"]["name"],
        httpd.as_str()
    );
    let h1 = lab
        .get("build.openshift.io", "Build", "httpd-base-1")
        .unwrap();
    assert_eq!(
        h1["spec"]["strategy"]["dockerStrategy"]["from"]["name"],
        BASE
    );
    // Both DeploymentConfigs rolled out once, with digest-pinned images of their builds.
    for app in ["app-a", "app-b"] {
        let dc = lab
            .get("apps.openshift.io", "DeploymentConfig", app)
            .unwrap();
        assert_eq!(dc["status"]["latestVersion"], 1);
        assert_eq!(dc_image(&dc), tag_pull_spec(&lab, app));
        assert!(dc_image(&dc).contains("@sha256:"));
        let rc = lab
            .get("", "ReplicationController", &format!("{app}-1"))
            .unwrap();
        assert_eq!(
            rc["spec"]["template"]["spec"]["containers"][0]["image"],
            dc_image(&dc).as_str()
        );
    }
    // The build log says what the executor did.
    let log = lab.ok(&["logs", "build/app-a-1"]).stdout;
    assert!(
        log.contains("Replaced Dockerfile FROM image httpd-base:latest with"),
        "{log}"
    );
    // Re-running the sync changes nothing, and the diff sees no drift in trigger-owned images.
    let before = lab.versions();
    let run = lab.ok(&sync);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
    assert_eq!(lab.versions(), before);
    let mut diff = vec!["diff"];
    diff.extend_from_slice(&sync[1..]);
    assert_eq!(lab.run(&diff).code, 0);

    // A new commit to httpd-base, then start-build httpd-base: app-a and app-b rebuild exactly
    // once each, each DeploymentConfig rolls out exactly once.
    commit(
        &lab.repo,
        &[(
            "httpd-base/Dockerfile",
            "FROM centos:7\nRUN yum -y install httpd mod_ssl\n",
        )],
        "ssl",
    );
    // The dry runs print the plan and change nothing.
    let before = lab.versions();
    let plan = lab.ok(&["start-build", "httpd-base", "--dry-run"]).stdout;
    let at = |needle: &str| {
        plan.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the plan:\n{plan}"))
    };
    assert!(plan.contains("3 builds, 2 rollouts"), "{plan}");
    assert!(
        at("stage 1  bc/httpd-base") < at("stage 2  bc/app-a"),
        "{plan}"
    );
    assert!(
        at("stage 2  bc/app-b") < at("dc/app-a  on istag/app-a:latest"),
        "{plan}"
    );
    assert!(plan.contains("dc/app-b  on istag/app-b:latest"), "{plan}");
    let plan = lab
        .ok(&["tag", "centos:7", "httpd-base:probe", "--dry-run"])
        .stdout;
    assert!(
        plan.contains("would tag centos:7 into httpd-base:probe"),
        "{plan}"
    );
    assert!(
        plan.contains("no trigger follows httpd-base:probe"),
        "{plan}"
    );
    let plan = lab
        .ok(&["tag", "registry.example.com/centos@sha256:1111111111111111111111111111111111111111111111111111111111111111", "centos:7", "--dry-run"])
        .stdout;
    assert!(plan.contains("3 builds, 2 rollouts"), "{plan}");
    assert_eq!(lab.versions(), before);
    let run = lab.ok(&["start-build", "httpd-base"]);
    assert!(
        run.stdout
            .contains("build.build.openshift.io/httpd-base-2 started"),
        "{}",
        run.stdout
    );
    assert_eq!(lab.builds("app-a").len(), 2);
    assert_eq!(lab.builds("app-b").len(), 2);
    assert_eq!(lab.builds("app-a")["app-a-2"], "Complete");
    assert_eq!(
        (latest_version(&lab, "app-a"), latest_version(&lab, "app-b")),
        (2, 2)
    );
    let a2 = lab.get("build.openshift.io", "Build", "app-a-2").unwrap();
    assert_eq!(
        a2["spec"]["triggeredBy"][0]["imageChangeBuild"]["imageID"],
        tag_pull_spec(&lab, "httpd-base").as_str()
    );
    let dc = lab
        .get("apps.openshift.io", "DeploymentConfig", "app-a")
        .unwrap();
    assert_eq!(dc_image(&dc), tag_pull_spec(&lab, "app-a"));
    let before = lab.versions();
    lab.ok(&sync);
    assert_eq!(
        lab.versions(),
        before,
        "a sync after the cascade must not revert trigger-owned images"
    );

    // A commit touching only app-a, then start-build app-a: only app-a rebuilds and rolls out.
    commit(&lab.repo, &[("app-a/index.html", "a, v2\n")], "a2");
    lab.ok(&["start-build", "app-a"]);
    assert_eq!(lab.builds("app-a").len(), 3);
    assert_eq!(lab.builds("app-b").len(), 2);
    assert_eq!(lab.builds("httpd-base").len(), 2);
    assert_eq!(
        (latest_version(&lab, "app-a"), latest_version(&lab, "app-b")),
        (3, 2)
    );

    // The same inputs give the same image: a rebuild of an unchanged app-a rolls nothing out.
    let image = tag_pull_spec(&lab, "app-a");
    lab.ok(&["start-build", "app-a"]);
    assert_eq!(lab.builds("app-a")["app-a-4"], "Complete");
    assert_eq!(tag_pull_spec(&lab, "app-a"), image);
    assert_eq!(latest_version(&lab, "app-a"), 3);

    // Rollout history and undo.
    let history = lab.ok(&["rollout", "history", "dc/app-a"]).stdout;
    assert_eq!(
        history.lines().filter(|l| l.contains("Complete")).count(),
        3,
        "{history}"
    );
    let undo = lab.ok(&["rollout", "undo", "dc/app-a"]);
    assert!(
        undo.stdout.contains("rolled back to revision 2"),
        "{undo:?}"
    );
    let dc = lab
        .get("apps.openshift.io", "DeploymentConfig", "app-a")
        .unwrap();
    assert_eq!(dc["status"]["latestVersion"], 4);
    let rc2 = lab.get("", "ReplicationController", "app-a-2").unwrap();
    assert_eq!(
        dc_image(&dc),
        rc2["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        dc["spec"]["triggers"][1]["imageChangeParams"]["automatic"],
        false
    );
    // A sync restores the declared trigger, which rolls forward to the latest image again.
    lab.ok(&sync);
    let dc = lab
        .get("apps.openshift.io", "DeploymentConfig", "app-a")
        .unwrap();
    assert_eq!(dc_image(&dc), image);
    assert_eq!(dc["status"]["latestVersion"], 5);
    lab.ok(&["rollout", "latest", "dc/app-b"]);
    assert_eq!(latest_version(&lab, "app-b"), 3);
    assert!(lab.get("", "ReplicationController", "app-b-3").is_some());
    assert_eq!(lab.cluster().integrity_check().unwrap(), "ok");
}

#[test]
fn nodejs_lab_deployment_follows_the_build() {
    let lab = Lab::new();
    commit(
        &lab.repo,
        &[
            ("package.json", "{\"name\": \"web\"}\n"),
            ("server.js", "1\n"),
        ],
        "web",
    );
    let url = format!("SOURCE_REPOSITORY_URL=file://{}", lab.repo.display());
    let image = format!(
        "NODEJS_IMAGE=registry.access.redhat.com/ubi8/nodejs-18@sha256:{}",
        "1".repeat(64)
    );
    let sync = [
        "sync",
        "--template",
        "nodejs-example",
        "-p",
        &url,
        "-p",
        &image,
    ];
    lab.ok(&sync);
    let deployment = || lab.get("apps", "Deployment", "nodejs-example").unwrap();
    let first = tag_pull_spec(&lab, "nodejs-example");
    assert_eq!(dc_image(&deployment()), first);
    let b = lab
        .get("build.openshift.io", "Build", "nodejs-example-1")
        .unwrap();
    assert_eq!(b["status"]["phase"], "Complete");
    assert!(b["status"]["log"].as_str().unwrap().contains("(S2I)"));
    let stamp = deployment()["spec"]["template"]["metadata"]["annotations"]
        ["image.kascade.dev/triggered-images"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stamp.starts_with("nodejs-example=sha256:"), "{stamp}");
    commit(&lab.repo, &[("server.js", "2\n")], "v2");
    lab.ok(&["start-build", "nodejs-example"]);
    let second = tag_pull_spec(&lab, "nodejs-example");
    assert_ne!(first, second);
    assert_eq!(dc_image(&deployment()), second);
    // No drift: the trigger owns the image.
    let before = lab.versions();
    lab.ok(&sync);
    assert_eq!(lab.versions(), before);
    let mut diff = vec!["diff"];
    diff.extend_from_slice(&sync[1..]);
    assert_eq!(lab.run(&diff).code, 0);
}

#[test]
fn bad_input_is_reported_on_the_object_at_fault_and_the_rest_builds() {
    let lab = Lab::new();
    commit(
        &lab.repo,
        &[
            ("good/Dockerfile", "FROM base:latest\nRUN true\n"),
            (
                "nofrom/Dockerfile",
                "# a Dockerfile without FROM\nRUN true\n",
            ),
        ],
        "contexts",
    );
    let repo = lab.repo.display().to_string();
    let stream = |n: &str| {
        format!(
            "{{\"apiVersion\": \"image.openshift.io/v1\", \"kind\": \"ImageStream\", \"metadata\": {{\"name\": \"{n}\"}}, \"spec\": {{\"tags\": [{{\"name\": \"latest\"}}]}}}}"
        )
    };
    let bc = |n: &str, uri: &str, ctx: &str| {
        format!(
        "{{\"apiVersion\": \"build.openshift.io/v1\", \"kind\": \"BuildConfig\", \"metadata\": {{\"name\": \"{n}\"}}, \"spec\": {{
          \"source\": {{\"type\": \"Git\", \"git\": {{\"uri\": \"{uri}\", \"ref\": \"master\"}}, \"contextDir\": \"{ctx}\"}},
          \"strategy\": {{\"type\": \"Docker\", \"dockerStrategy\": {{\"from\": {{\"kind\": \"ImageStreamTag\", \"name\": \"base:latest\"}}}}}},
          \"output\": {{\"to\": {{\"kind\": \"ImageStreamTag\", \"name\": \"{n}:latest\"}}}},
          \"triggers\": [{{\"type\": \"ConfigChange\"}}, {{\"type\": \"ImageChange\", \"imageChange\": {{}}}}]}}}}")
    };
    let dc = |n: &str, from: &str| {
        format!(
        "{{\"apiVersion\": \"apps.openshift.io/v1\", \"kind\": \"DeploymentConfig\", \"metadata\": {{\"name\": \"{n}\"}}, \"spec\": {{\"replicas\": 1,
          \"selector\": {{\"app\": \"{n}\"}}, \"template\": {{\"metadata\": {{\"labels\": {{\"app\": \"{n}\"}}}}, \"spec\": {{\"containers\": [{{\"name\": \"{n}\", \"image\": \"{n}:latest\"}}]}}}},
          \"triggers\": [{{\"type\": \"ConfigChange\"}}, {{\"type\": \"ImageChange\", \"imageChangeParams\": {{\"automatic\": true, \"containerNames\": [\"{n}\"], \"from\": {{\"kind\": \"ImageStreamTag\", \"name\": \"{from}\"}}}}}}]}}}}")
    };
    let deployment = |n: &str, ann: &str| {
        format!(
        "{{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {{\"name\": \"{n}\", \"annotations\": {{\"image.openshift.io/triggers\": {ann}}}}},
          \"spec\": {{\"selector\": {{\"matchLabels\": {{\"app\": \"{n}\"}}}}, \"template\": {{\"metadata\": {{\"labels\": {{\"app\": \"{n}\"}}}}, \"spec\": {{\"containers\": [{{\"name\": \"{n}\", \"image\": \"{n}:latest\"}}]}}}}}}}}")
    };
    let good_trigger = serde_json::to_string(r#"[{"from":{"kind":"ImageStreamTag","name":"good:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#).unwrap();
    let base = format!(
        "{{\"apiVersion\": \"image.openshift.io/v1\", \"kind\": \"ImageStream\", \"metadata\": {{\"name\": \"base\"}}, \"spec\": {{\"tags\": [{{\"name\": \"latest\", \"from\": {{\"kind\": \"DockerImage\", \"name\": \"{BASE}\"}}}}]}}}}"
    );
    let docs = [
        base,
        stream("good"),
        stream("nofrom"),
        stream("unreachable"),
        bc("good", &repo, "good"),
        bc("nofrom", &repo, "nofrom"),
        bc("unreachable", &format!("{repo}/does-not-exist"), "good"),
        dc("good", "good:latest"),
        dc("orphan", "missing:latest"),
        deployment("web", &good_trigger),
        deployment("broken", "\"[{\\\"from\\\": \""),
    ];
    let manifests = lab.cwd.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    for (i, d) in docs.iter().enumerate() {
        std::fs::write(manifests.join(format!("{i:02}.json")), d).unwrap();
    }
    let run = lab.ok(&["sync", "-f", "manifests", "--app", "bad"]);
    // The Dockerfile without FROM fails its build, with a reason.
    let b = lab.get("build.openshift.io", "Build", "nofrom-1").unwrap();
    assert_eq!(b["status"]["phase"], "Failed", "{}", run.stdout);
    assert_eq!(b["status"]["reason"], "DockerBuildFailed");
    assert!(
        b["status"]["message"]
            .as_str()
            .unwrap()
            .contains("nofrom/Dockerfile is invalid: it has no FROM instruction"),
        "{}",
        b["status"]["message"]
    );
    // The unreachable source fails its build.
    let b = lab
        .get("build.openshift.io", "Build", "unreachable-1")
        .unwrap();
    assert_eq!(b["status"]["reason"], "FetchSourceFailed");
    assert!(
        b["status"]["message"]
            .as_str()
            .unwrap()
            .contains("does-not-exist")
    );
    let failed_log = lab.run(&["logs", "bc/unreachable"]);
    assert!(
        failed_log.stdout.contains("error: build error"),
        "{failed_log:?}"
    );
    // Nothing was pushed for them.
    let s = lab
        .get("image.openshift.io", "ImageStream", "nofrom")
        .unwrap();
    assert!(kascade::images::resolve_tag(&s, "latest").is_none());
    // The DeploymentConfig naming a missing stream says so, and never rolled out.
    let orphan = lab
        .get("apps.openshift.io", "DeploymentConfig", "orphan")
        .unwrap();
    let cond = kascade::controllers::conditions::get(&orphan, "ImageTriggers").unwrap();
    assert_eq!(cond["reason"], "ImageStreamNotFound");
    assert!(cond["message"].as_str().unwrap().contains("\"missing\""));
    assert!(orphan["status"].get("latestVersion").is_none());
    // The malformed annotation is reported on its Deployment, which keeps its image.
    let broken = lab.get("apps", "Deployment", "broken").unwrap();
    let cond = kascade::controllers::conditions::get(&broken, "ImageTriggers").unwrap();
    assert!(
        cond["message"]
            .as_str()
            .unwrap()
            .contains("is not valid JSON"),
        "{cond}"
    );
    assert_eq!(dc_image(&broken), "broken:latest");
    // Everything else went through.
    assert_eq!(lab.builds("good")["good-1"], "Complete");
    let good = lab
        .get("apps.openshift.io", "DeploymentConfig", "good")
        .unwrap();
    assert_eq!(good["status"]["latestVersion"], 1);
    assert_eq!(dc_image(&good), tag_pull_spec(&lab, "good"));
    let web = lab.get("apps", "Deployment", "web").unwrap();
    assert_eq!(dc_image(&web), tag_pull_spec(&lab, "good"));
    assert!(kascade::controllers::conditions::get(&web, "ImageTriggers").is_none());
    // And settling again changes nothing.
    let before = lab.versions();
    lab.ok(&["sync", "-f", "manifests", "--app", "bad"]);
    assert_eq!(lab.versions(), before);
}

#[test]
fn a_build_that_feeds_its_own_input_is_stopped_with_the_objects_named() {
    let lab = Lab::new();
    commit(&lab.repo, &[("Dockerfile", "FROM loop:latest\n")], "loop");
    let mut c = lab_cluster(&lab);
    let mut t = c.begin().unwrap();
    t.create(
        serde_json::json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "loop", "namespace": "default"},
        "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": BASE}}]}}),
    )
    .unwrap();
    t.create(serde_json::json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": "loop", "namespace": "default"},
        "spec": {"source": {"git": {"uri": lab.repo.display().to_string()}},
            "strategy": {"dockerStrategy": {"from": {"kind": "ImageStreamTag", "name": "loop:latest"}}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "loop:latest"}},
            "triggers": [{"type": "ImageChange", "imageChange": {}}]}})).unwrap();
    t.commit().unwrap();
    let opts = kascade::controllers::Options {
        max_steps: Some(60),
        ..Default::default()
    };
    let err =
        kascade::controllers::run_until_settled(&mut c, &opts, &mut kascade::controllers::Quiet)
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("did not settle within 60 controller steps"),
        "{err}"
    );
    assert!(err.contains("loop"), "{err}");
    // History limits kept the builds bounded.
    let builds = lab.builds("loop");
    assert!(
        builds.values().filter(|p| *p == "Complete").count() <= 5,
        "{builds:?}"
    );
}

fn lab_cluster(lab: &Lab) -> LocalCluster {
    lab.cluster()
}

mod registry {
    //! A fake OCI registry on 127.0.0.1 with the bearer-token flow.

    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, head};

    #[derive(Clone)]
    pub struct Fake {
        pub digest: Arc<Mutex<String>>,
        pub port: u16,
        _rt: Arc<tokio::runtime::Runtime>,
    }

    async fn manifest(
        State(f): State<Fake>,
        headers: HeaderMap,
        path: axum::extract::Path<(String, String, String)>,
    ) -> Response {
        let (org, repo, tag) = path.0;
        let authorized = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            == Some("Bearer good-token");
        if !authorized {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, format!("Bearer realm=\"http://127.0.0.1:{}/token\",service=\"fake\",scope=\"repository:{org}/{repo}:pull\"", f.port))],
            )
                .into_response();
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if org != "org"
            || repo != "base"
            || tag != "v1"
            || !accept.contains("application/vnd.oci.image.index.v1+json")
        {
            return StatusCode::NOT_FOUND.into_response();
        }
        let d = f.digest.lock().unwrap().clone();
        (StatusCode::OK, [("docker-content-digest", d)]).into_response()
    }

    async fn token(uri: axum::http::Uri) -> Response {
        let q = uri.query().unwrap_or("");
        if q.contains("scope=repository%3Aorg%2Fbase%3Apull") && q.contains("service=fake") {
            axum::Json(serde_json::json!({"token": "good-token"})).into_response()
        } else {
            StatusCode::FORBIDDEN.into_response()
        }
    }

    pub fn start(digest: &str) -> Fake {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let fake = Fake {
            digest: Arc::new(Mutex::new(digest.to_string())),
            port,
            _rt: Arc::new(rt),
        };
        let app = Router::new()
            .route(
                "/v2/{org}/{repo}/manifests/{tag}",
                head(manifest).get(manifest),
            )
            .route("/token", get(token))
            .with_state(fake.clone());
        fake._rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }
}

#[test]
fn import_image_resolves_tags_over_the_registry_api_with_a_bearer_token() {
    let d1 = format!("sha256:{}", "a".repeat(64));
    let d2 = format!("sha256:{}", "b".repeat(64));
    let fake = registry::start(&d1);
    let lab = Lab::new();
    let from = format!("127.0.0.1:{}/org/base:v1", fake.port);
    let run = lab.ok(&[
        "import-image",
        "base:v1",
        "--from",
        &from,
        "--confirm",
        "--scheduled",
    ]);
    assert!(
        run.stdout
            .contains("imagestream.image.openshift.io/base imported"),
        "{run:?}"
    );
    let want = format!("127.0.0.1:{}/org/base@{d1}", fake.port);
    assert!(
        run.stdout.contains(&format!("base:v1 -> {want}")),
        "{run:?}"
    );
    // oc tag semantics: an ImageStreamTag source copies the current image; --alias tracks.
    let run = lab.ok(&["tag", "base:v1", "base:prod"]);
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        format!("Tag base:prod set to base@{d1}.")
    );
    let run = lab.ok(&["tag", "base:v1", "base:follow", "--alias"]);
    assert!(
        run.stdout
            .starts_with("Tag base:follow set up to track base:v1."),
        "{run:?}"
    );
    let resolved = |tag: &str| {
        let s = lab
            .get("image.openshift.io", "ImageStream", "base")
            .unwrap();
        kascade::images::resolve_tag(&s, tag)
    };
    assert_eq!(resolved("prod").as_deref(), Some(want.as_str()));
    assert_eq!(resolved("follow").as_deref(), Some(want.as_str()));
    let refused = lab.run(&["tag", "base:v1", "other:x", "--alias"]);
    crate::util::assert_error(&refused, "cannot set alias across different Image Streams");
    // A scheduled import that comes due picks up the registry's new digest; the alias follows,
    // the copied tag does not.
    *fake.digest.lock().unwrap() = d2.clone();
    let mut c = lab.cluster();
    let mut ctl = kascade::controllers::Controllers::new(
        &c,
        kascade::controllers::Options {
            scheduled_interval: std::time::Duration::ZERO,
            ..Default::default()
        },
    );
    ctl.enqueue_scheduled_imports(&c).unwrap();
    let report = ctl
        .settle(&mut c, 100, &mut kascade::controllers::Quiet)
        .unwrap();
    assert!(
        report
            .activities
            .iter()
            .any(|a| matches!(a, kascade::controllers::Activity::Imported { .. })),
        "{report:?}"
    );
    let want2 = format!("127.0.0.1:{}/org/base@{d2}", fake.port);
    assert_eq!(resolved("v1").as_deref(), Some(want2.as_str()));
    assert_eq!(resolved("follow").as_deref(), Some(want2.as_str()));
    assert_eq!(resolved("prod").as_deref(), Some(want.as_str()));
    // A tag the registry does not have: the import fails with a condition naming the cause.
    let missing = format!("127.0.0.1:{}/org/base:v9", fake.port);
    let run = lab.run(&["import-image", "base:v9", "--from", &missing, "--confirm"]);
    crate::util::assert_error(&run, "import failed (NotFound)");
    assert!(run.stderr.contains("manifest unknown"), "{run:?}");
    assert_eq!(resolved("v9"), None);
    // An unreachable registry leaves the tag unresolved with a condition.
    let dead = "127.0.0.1:9/org/base:v1";
    let run = lab.run(&["import-image", "dead:v1", "--from", dead, "--confirm"]);
    crate::util::assert_error(&run, "import failed (InternalError)");
    let s = lab
        .get("image.openshift.io", "ImageStream", "dead")
        .unwrap();
    let (reason, message) = kascade::controllers::imagestreams::import_failure(&s, "v1").unwrap();
    assert_eq!(reason, "InternalError");
    assert!(message.contains("127.0.0.1:9"), "{message}");
    // import-image without --confirm on a missing stream refuses like oc.
    let run = lab.run(&["import-image", "nothere:v1"]);
    crate::util::assert_error(&run, "pass --confirm to create and import");
}
