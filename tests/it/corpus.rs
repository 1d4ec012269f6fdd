//! Every real template in `../shared/corpus/templates` processes, through the library and
//! through the binary.

use std::path::{Path, PathBuf};

use kascade::resource::{Resource, ResourceKey};
use kascade::template::openshift::{self, Template};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::util::{self, kascade};

fn templates(shared: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            ) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&util::corpus(shared, "templates"), &mut out);
    out
}

/// Parameters that are required and have neither a value nor a generator.
fn blank_required(t: &Template) -> Vec<String> {
    t.parameters
        .iter()
        .filter(|p| p.required && p.value.is_empty() && p.generate.is_empty())
        .map(|p| p.name.clone())
        .collect()
}

/// `${NAME}` references to declared parameters that survived processing.
fn leftover_references(value: &Value, names: &[String], found: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            for n in names {
                if s.contains(&format!("${{{n}}}")) {
                    found.push(format!("{n} in {s:?}"));
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| leftover_references(v, names, found)),
        Value::Object(m) => {
            for (k, v) in m {
                leftover_references(&Value::String(k.clone()), names, found);
                leftover_references(v, names, found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_corpus_template_processes_in_the_library() {
    let Some(shared) = util::shared() else { return };
    let files = templates(&shared);
    assert!(files.len() >= 60, "corpus has {} templates", files.len());
    let mut objects = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let name = file.display().to_string();
        let mut template = openshift::load(&bytes, &name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .templates
            .remove(0);
        for p in blank_required(&template) {
            template.set_parameter(&p, "x");
        }
        let out = openshift::process(&template, &mut StdRng::seed_from_u64(7))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.objects.len(), template.objects.len(), "{name}");
        let names: Vec<String> = out.parameters.iter().map(|p| p.name.clone()).collect();
        let mut leftovers = Vec::new();
        for object in &out.objects {
            // Every processed object has an identity (apiVersion, kind, name).
            let r = Resource::new(object.clone(), Default::default());
            assert!(r.is_ok(), "{name}: {object}");
            // A legacy `v1` OpenShift kind always comes out with its group.
            let key = ResourceKey::of(object).unwrap();
            if kascade::resource::gvk::legacy_group(&key.kind).is_some() {
                assert!(!key.group.is_empty(), "{name}: {key} not groupified");
            }
            leftover_references(object, &names, &mut leftovers);
        }
        assert!(leftovers.is_empty(), "{name}: unsubstituted {leftovers:?}");
        objects += out.objects.len();
    }
    assert!(objects > 300, "only {objects} objects processed");
}

#[test]
fn every_corpus_template_processes_through_the_cli() {
    let Some(shared) = util::shared() else { return };
    for file in templates(&shared) {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.display().to_string();
        let template = openshift::load(&bytes, &name).unwrap().templates.remove(0);
        let mut args = vec![
            "process".to_string(),
            "-f".into(),
            name.clone(),
            "--seed".into(),
            "1".into(),
        ];
        for p in blank_required(&template) {
            args.push("-p".into());
            args.push(format!("{p}=x"));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = kascade(&argv);
        assert_eq!(run.code, 0, "{name}: {run:?}");
        let list: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{name}: output is not JSON: {e}"));
        assert_eq!(list["kind"], "List");
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            template.objects.len(),
            "{name}"
        );
    }
}

#[test]
fn template_instance_reads_its_secret() {
    let Some(shared) = util::shared() else { return };
    let file = util::corpus(
        &shared,
        "templates/origin-testdata/templateinstance_objectkinds.yaml",
    );
    let run = kascade(&["process", "-f", file.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["apiVersion"].as_str().unwrap())
        .collect();
    // The legacy `v1` Route is groupified; route.openshift.io/v1 stays.
    assert_eq!(
        kinds,
        vec![
            "v1",
            "apps/v1",
            "route.openshift.io/v1",
            "route.openshift.io/v1"
        ]
    );
}

#[test]
fn int64_values_survive_processing() {
    let Some(shared) = util::shared() else { return };
    let file = util::corpus(
        &shared,
        "templates/origin-testdata/template-type-precision.json",
    );
    let run = kascade(&["process", "-f", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("9223372036854775807"), "{}", run.stdout);
    assert!(run.stdout.contains("2147483647"));
    assert!(run.stdout.contains("1000030003"));
}
