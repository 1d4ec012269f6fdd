//! Diff golden cases: `tests/fixtures/diff/<case>/{desired,live}.yaml` (and `last-applied.yaml`
//! when kascade applied the object before) against `expected.diff`. An empty expected diff
//! means "no difference". `KASCADE_BLESS=1` rewrites the expected files; review them in git.

use std::path::Path;

use kascade::diff::{self, Action};
use kascade::resource::{ResourceKey, yaml};

fn read(dir: &Path, name: &str) -> Option<serde_json::Value> {
    let p = dir.join(name);
    p.exists()
        .then(|| yaml::parse_one(&std::fs::read(&p).unwrap(), &p.display().to_string()).unwrap())
}

#[test]
fn diff_golden_cases() {
    let root = crate::util::root().join("tests/fixtures/diff");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 6);
    for dir in cases {
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let desired = read(&dir, "desired.yaml").unwrap();
        let live = read(&dir, "live.yaml").unwrap();
        let last = read(&dir, "last-applied.yaml");
        let key = ResourceKey::of(&desired).unwrap();
        let d = diff::compare(&key, Some(&desired), Some(&live), last.as_ref());
        let text = d.unified(3);
        let expected_path = dir.join("expected.diff");
        if std::env::var("KASCADE_BLESS").as_deref() == Ok("1") {
            std::fs::write(&expected_path, &text).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap();
        assert_eq!(text, expected, "case {case}");
        assert_eq!(
            d.action == Action::Unchanged,
            expected.is_empty(),
            "case {case}"
        );
    }
}

#[test]
fn golden_cases_mean_what_they_say() {
    let root = crate::util::root().join("tests/fixtures/diff");
    let text = |case: &str| std::fs::read_to_string(root.join(case).join("expected.diff")).unwrap();
    // Server defaults and server fields are not differences.
    assert!(text("defaulted-fields").is_empty());
    // The image a DeploymentConfig trigger resolved is not drift against `app-a:latest`.
    assert!(text("trigger-owned-dc-image").is_empty());
    // The annotation-triggered container keeps its resolved image; the other one changes.
    let t = text("annotation-trigger-image");
    assert!(
        t.lines()
            .any(|l| l.starts_with('-') && l.ends_with("proxy:1.1")),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with('+') && l.ends_with("proxy:1.2")),
        "{t}"
    );
    assert!(!t.contains("web:latest"), "{t}");
    // A field kascade applied and dropped is removed; a field someone else added stays.
    let t = text("removed-field");
    assert!(t.contains("-  FEATURE_X: \"on\""), "{t}");
    assert!(!t.contains("-  INJECTED"), "{t}");
    // Secret values never appear.
    let t = text("masked-secret");
    for secret in ["n3w-pa55w0rd", "b2xkLXBhc3N3b3Jk", "admin", "YWRtaW4="] {
        assert!(!t.contains(secret), "{secret} leaked: {t}");
    }
    assert!(
        t.contains("*** (before)") && t.contains("*** (after)"),
        "{t}"
    );
    let t = text("changed-replicas");
    assert!(
        t.contains("-  replicas: 2") && t.contains("+  replicas: 4"),
        "{t}"
    );
}
