//! ImageStream imports against a fake OCI registry on 127.0.0.1 (real HTTP): pull-secret
//! credentials (Basic at the token endpoint, Basic asked for by the registry), manifest lists
//! imported by `importMode`, and scheduled imports under the rate limit.

use std::path::{Path, PathBuf};

use kascade::cluster::LocalCluster;
use kascade::controllers::imagestreams::import_failure;
use kascade::resource::ResourceKey;
use serde_json::Value;

use crate::fake_registry::{self, Auth, OCI_INDEX, OCI_MANIFEST};
use crate::util::{Run, assert_error, kascade_in};

struct Lab {
    _tmp: tempfile::TempDir,
    cwd: PathBuf,
    /// Everything every run printed, to check no secret ever shows.
    printed: std::cell::RefCell<String>,
}

impl Lab {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().to_path_buf();
        Lab {
            _tmp: tmp,
            cwd,
            printed: Default::default(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let run = kascade_in(&self.cwd, args, None);
        assert!(!run.stderr.contains("panicked"), "{run:?}");
        self.printed.borrow_mut().push_str(&run.all());
        run
    }

    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "kascade {args:?}: {run:?}");
        run
    }

    /// Applies `yaml` with `kascade sync -f` as app `name`.
    fn apply(&self, name: &str, yaml: &str) {
        let file = self.cwd.join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        self.ok(&["sync", "-f", file.to_str().unwrap(), "--app", name]);
    }

    fn stream(&self, name: &str) -> Value {
        LocalCluster::open(&self.cwd.join(".kascade"))
            .unwrap()
            .get(&ResourceKey::new(
                "image.openshift.io",
                "ImageStream",
                "default",
                name,
            ))
            .unwrap()
            .unwrap()
    }

    fn state(&self) -> &Path {
        &self.cwd
    }
}

fn b64(s: &str) -> String {
    kascade::resource::base64::encode(s.as_bytes())
}

/// A `kubernetes.io/dockerconfigjson` Secret, its config in `stringData`.
fn dockerconfigjson(name: &str, key: &str, user: &str, pass: &str) -> String {
    let config = serde_json::json!({"auths": {key: {"auth": b64(&format!("{user}:{pass}"))}}});
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{config}'\n"
    )
}

/// A `kubernetes.io/dockercfg` Secret, its config base64 in `data`.
fn dockercfg(name: &str, key: &str, user: &str, pass: &str) -> String {
    let config = serde_json::json!({key: {"username": user, "password": pass}});
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: {}\n",
        b64(&config.to_string())
    )
}

#[test]
fn pull_secrets_authenticate_at_the_token_endpoint() {
    let password = "pw-7f3a9c-never-printed";
    let fake = fake_registry::start(Auth::BearerWithBasic {
        user: "robot".into(),
        pass: password.into(),
    });
    let d = fake.put(
        "team/private",
        "v1",
        OCI_MANIFEST,
        &fake_registry::image_manifest("private v1"),
    );
    let lab = Lab::new();
    let from = fake.reference("team/private", "v1");
    // Without a pull secret the token endpoint refuses: the tag stays unresolved with an
    // Unauthorized condition.
    let run = lab.run(&["import-image", "priv:v1", "--from", &from, "--confirm"]);
    assert_error(&run, "import failed (Unauthorized)");
    assert!(run.stderr.contains("/token answered 401"), "{run:?}");
    assert!(
        run.stderr.contains("anonymous access was refused"),
        "{run:?}"
    );
    let s = lab.stream("priv");
    assert_eq!(kascade::images::resolve_tag(&s, "v1"), None);
    assert_eq!(import_failure(&s, "v1").unwrap().0, "Unauthorized");
    // A pull secret whose key is the registry host, in stringData as a repository would
    // write it; an unrelated registry's secret and an Opaque secret are ignored.
    let host = format!("127.0.0.1:{}", fake.port);
    lab.apply(
        "secrets",
        &format!(
            "{}---\n{}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: opaque\ntype: Opaque\nstringData:\n  .dockerconfigjson: x\n",
            dockerconfigjson("a-other", "quay.io", "someone", "else"),
            dockerconfigjson("regcred", &host, "robot", password),
        ),
    );
    let run = lab.ok(&["import-image", "priv:v1"]);
    let want = fake.pinned("team/private", &d);
    assert!(
        run.stdout.contains(&format!("priv:v1 -> {want}")),
        "{run:?}"
    );
    let s = lab.stream("priv");
    assert_eq!(kascade::images::resolve_tag(&s, "v1").unwrap(), want);
    assert!(
        import_failure(&s, "v1").is_none(),
        "the condition is cleared"
    );
    // The credentials went to the token endpoint as Basic, and only there.
    let seen = fake.seen.lock().unwrap().clone();
    let basic = format!("Basic {}", b64(&format!("robot:{password}")));
    assert!(
        seen.iter().any(|r| r.path.starts_with("/token?")
            && r.path.contains("account=robot")
            && r.authorization.as_deref() == Some(basic.as_str())),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .filter(|r| r.path.starts_with("/v2/"))
            .all(|r| r.authorization.as_deref() != Some(basic.as_str())),
        "{seen:?}"
    );
    // A single image: HEAD gives the digest, no GET needed.
    assert!(
        seen.iter()
            .filter(|r| r.path.starts_with("/v2/"))
            .all(|r| r.method == "HEAD"),
        "{seen:?}"
    );
    // No run printed the password, and the stream does not hold it.
    assert!(!lab.printed.borrow().contains(password));
    assert!(!s.to_string().contains(password));
    assert!(!s.to_string().contains(&b64(&format!("robot:{password}"))));
}

#[test]
fn registries_asking_for_basic_get_the_dockercfg_credentials() {
    let fake = fake_registry::start(Auth::Basic {
        user: "deploy".into(),
        pass: "right".into(),
    });
    let d = fake.put(
        "app",
        "2",
        OCI_MANIFEST,
        &fake_registry::image_manifest("app 2"),
    );
    let lab = Lab::new();
    let from = fake.reference("app", "2");
    let run = lab.run(&["import-image", "app:2", "--from", &from, "--confirm"]);
    assert_error(&run, "import failed (Unauthorized)");
    assert!(run.stderr.contains("asks for basic credentials"), "{run:?}");
    // The classic https://host/v1/ key form, base64 in data; a wrong password is refused and
    // the message names the secret, not its content.
    let key = format!("https://127.0.0.1:{}/v1/", fake.port);
    lab.apply("pull", &dockercfg("pull", &key, "deploy", "wrong-pw-xyz"));
    let run = lab.run(&["import-image", "app:2"]);
    assert_error(&run, "import failed (Unauthorized)");
    assert!(
        run.stderr
            .contains("refused access with the credentials of pull secret \"pull\""),
        "{run:?}"
    );
    assert!(!run.stderr.contains("wrong-pw-xyz"), "{run:?}");
    lab.apply("pull", &dockercfg("pull", &key, "deploy", "right"));
    let run = lab.ok(&["import-image", "app:2"]);
    assert!(
        run.stdout
            .contains(&format!("app:2 -> {}", fake.pinned("app", &d))),
        "{run:?}"
    );
}

#[test]
fn manifest_lists_import_by_import_mode() {
    let fake = fake_registry::start(Auth::AnonymousBearer);
    let amd64 = fake_registry::image_manifest("multi amd64");
    let arm64 = fake_registry::image_manifest("multi arm64");
    let amd64_digest = fake.put("org/multi", "amd64", OCI_MANIFEST, &amd64);
    fake.put("org/multi", "arm64", OCI_MANIFEST, &arm64);
    let list = fake_registry::index(&[("linux", "arm64", &arm64), ("linux", "amd64", &amd64)]);
    let list_digest = fake.put("org/multi", "v1", OCI_INDEX, &list);
    let lab = Lab::new();
    let from = fake.reference("org/multi", "v1");
    // Legacy (the default): the linux/amd64 image of the list.
    let run = lab.ok(&["import-image", "multi:v1", "--from", &from, "--confirm"]);
    let legacy = fake.pinned("org/multi", &amd64_digest);
    assert!(
        run.stdout.contains(&format!("multi:v1 -> {legacy}")),
        "{run:?}"
    );
    let s = lab.stream("multi");
    assert_eq!(s["status"]["tags"][0]["items"][0]["image"], amd64_digest);
    // PreserveOriginal keeps the list; oc tag's flag sets it.
    lab.ok(&[
        "tag",
        &from,
        "multi:list",
        "--import-mode",
        "PreserveOriginal",
    ]);
    let s = lab.stream("multi");
    assert_eq!(
        s["spec"]["tags"][1]["importPolicy"]["importMode"],
        "PreserveOriginal"
    );
    assert_eq!(
        kascade::images::resolve_tag(&s, "list").unwrap(),
        fake.pinned("org/multi", &list_digest)
    );
    // Changing a tag's mode imports it again.
    lab.ok(&[
        "import-image",
        "multi:v1",
        "--import-mode",
        "PreserveOriginal",
    ]);
    let s = lab.stream("multi");
    assert_eq!(
        kascade::images::resolve_tag(&s, "v1").unwrap(),
        fake.pinned("org/multi", &list_digest)
    );
    // A list without linux/amd64: the condition names the platforms it has.
    let arm_only = fake_registry::index(&[("linux", "arm64", &arm64)]);
    fake.put("org/multi", "arm", OCI_INDEX, &arm_only);
    let run = lab.run(&[
        "import-image",
        "arm:v1",
        "--from",
        &fake.reference("org/multi", "arm"),
        "--confirm",
    ]);
    assert_error(&run, "import failed (NotFound)");
    let (_, message) = import_failure(&lab.stream("arm"), "v1").unwrap();
    assert!(
        message.contains("has no linux/amd64 image; it has linux/arm64"),
        "{message}"
    );
    assert_eq!(kascade::images::resolve_tag(&lab.stream("arm"), "v1"), None);
}

#[test]
fn scheduled_imports_are_rate_limited_per_minute() {
    let fake = fake_registry::start(Auth::AnonymousBearer);
    let lab = Lab::new();
    let mut first = Vec::new();
    for i in 0..3 {
        let repo = format!("org/s{i}");
        first.push(fake.put(
            &repo,
            "v1",
            OCI_MANIFEST,
            &fake_registry::image_manifest(&format!("{repo} one")),
        ));
        lab.ok(&[
            "import-image",
            &format!("s{i}:v1"),
            "--from",
            &fake.reference(&repo, "v1"),
            "--confirm",
            "--scheduled",
        ]);
    }
    // Every registry tag moves; a pinned scheduled tag is never re-imported.
    let mut second = Vec::new();
    for i in 0..3 {
        let repo = format!("org/s{i}");
        second.push(fake.put(
            &repo,
            "v1",
            OCI_MANIFEST,
            &fake_registry::image_manifest(&format!("{repo} two")),
        ));
    }
    lab.ok(&[
        "tag",
        &fake.pinned("org/s0", &first[0]),
        "s0:pinned",
        "--scheduled",
    ]);
    let mut c = LocalCluster::open(&lab.state().join(".kascade")).unwrap();
    let controllers = |interval: u64, per_minute: u32, c: &LocalCluster| {
        kascade::controllers::Controllers::new(
            c,
            kascade::controllers::Options {
                scheduled_interval: std::time::Duration::from_secs(interval),
                max_scheduled_imports_per_minute: per_minute,
                ..Default::default()
            },
        )
    };
    let moved = || {
        (0..3)
            .filter(|i| {
                kascade::images::resolve_tag(&lab.stream(&format!("s{i}")), "v1")
                    .is_some_and(|r| r.ends_with(&second[*i]))
            })
            .count()
    };
    // Nothing is due within the hour.
    assert_eq!(
        controllers(3600, 60, &c)
            .enqueue_scheduled_imports(&c)
            .unwrap(),
        0
    );
    // All three are due now, one a minute fits: one stream is queued and re-imported; the
    // others, reconciled as the change feed names them, are refused a token and stay due.
    let mut ctl = controllers(0, 1, &c);
    assert_eq!(ctl.enqueue_scheduled_imports(&c).unwrap(), 1);
    let report = ctl
        .settle(&mut c, 100, &mut kascade::controllers::Quiet)
        .unwrap();
    let imported: Vec<_> = report
        .activities
        .iter()
        .filter_map(|a| match a {
            kascade::controllers::Activity::Imported { tag, .. } => Some(tag.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(imported.len(), 1, "{report:?}");
    assert!(imported[0].ends_with(":v1"), "{imported:?}");
    assert_eq!(moved(), 1);
    // The bucket is empty: nothing more is queued.
    assert_eq!(ctl.enqueue_scheduled_imports(&c).unwrap(), 0);
    // With room for all, the two left are imported (and the first again, unchanged).
    let mut ctl = controllers(0, 60, &c);
    assert_eq!(ctl.enqueue_scheduled_imports(&c).unwrap(), 3);
    ctl.settle(&mut c, 100, &mut kascade::controllers::Quiet)
        .unwrap();
    assert_eq!(moved(), 3);
    // The pinned scheduled tag was imported once and never again.
    assert_eq!(
        kascade::images::resolve_tag(&lab.stream("s0"), "pinned").unwrap(),
        fake.pinned("org/s0", &first[0])
    );
    let pinned_items = lab.stream("s0")["status"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tag"] == "pinned")
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(pinned_items, 1);
}

#[test]
fn run_flags_for_scheduled_imports_are_checked() {
    let lab = Lab::new();
    std::fs::write(lab.cwd.join("kascade.yaml"), "apps: []\n").unwrap();
    let run = lab.run(&["run", "--scheduled-import-interval", "1s"]);
    assert_error(&run, "--scheduled-import-interval: \"1s\" is out of range");
    let run = lab.run(&["run", "--max-scheduled-imports-per-minute", "0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("0 is not in 1..=10000"), "{run:?}");
    let help = lab.ok(&["run", "--help"]);
    assert!(
        help.stdout
            .contains("--scheduled-import-interval <DURATION>")
    );
    assert!(help.stdout.contains("[default: 15m]"));
    assert!(help.stdout.contains("[default: 60]"));
}
