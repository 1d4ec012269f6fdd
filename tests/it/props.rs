//! Property tests: generated values lie in the expression's language, processing is
//! deterministic for a seed, written YAML reads back the same.

use kascade::resource::yaml;
use kascade::template::openshift::generate::{self, Segment};
use kascade::template::openshift::{self, Template};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

fn arb_expression() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z]{0,4}".prop_map(|s| s),
        (
            prop_oneof![
                Just("\\w".to_string()),
                Just("\\d".to_string()),
                Just("\\a".to_string()),
                Just("\\A".to_string()),
                Just("a-z".to_string()),
                Just("A-Z0-9".to_string()),
                Just("0-9".to_string()),
                Just("a-zA-Z".to_string()),
            ],
            1u32..=255
        )
            .prop_map(|(class, n)| format!("[{class}]{{{n}}}")),
    ];
    proptest::collection::vec(piece, 1..5).prop_map(|v| v.concat())
}

fn in_language(value: &str, segments: &[Segment]) -> bool {
    let mut rest = value;
    for s in segments {
        match s {
            Segment::Literal(l) => match rest.strip_prefix(l.as_str()) {
                Some(r) => rest = r,
                None => return false,
            },
            Segment::Random { alphabet, len } => {
                let taken: String = rest.chars().take(*len).collect();
                if taken.chars().count() != *len || !taken.chars().all(|c| alphabet.contains(&c)) {
                    return false;
                }
                rest = &rest[taken.len()..];
            }
        }
    }
    rest.is_empty()
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(Value::from),
        prop_oneof![
            Just("yes".to_string()),
            Just("on".to_string()),
            Just("0755".to_string()),
            Just("1_000".to_string()),
            Just(".inf".to_string()),
            Just("~".to_string()),
            Just("null".to_string()),
            Just("y".to_string()),
            Just("NO".to_string()),
            Just("0x1F".to_string()),
            Just("1e3".to_string()),
            Just("2001-12-14".to_string()),
            Just("- item".to_string()),
            Just("a: b".to_string()),
            Just("#x".to_string()),
            Just("".to_string()),
            Just(" lead".to_string()),
            Just("trail ".to_string()),
            "\\PC{0,40}",
            "[ a-z\n\t:#'\"-]{0,60}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z0-9_./-]{1,12}|yes|on|0755", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn generated_values_lie_in_the_language(from in arb_expression(), seed in any::<u64>()) {
        let segments = generate::parse(&from).unwrap();
        let value = generate::generate(&from, &mut StdRng::seed_from_u64(seed)).unwrap();
        prop_assert!(in_language(&value, &segments), "{} produced {:?}", from, value);
    }

    #[test]
    fn processing_is_deterministic_for_a_seed(from in arb_expression(), seed in any::<u64>()) {
        let t = Template::from_value(json!({
            "kind": "Template", "metadata": {"name": "p"},
            "parameters": [{"name": "A", "generate": "expression", "from": from}, {"name": "B", "generate": "expression", "from": "[a-z]{8}"}],
            "objects": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "${A}", "b": "${B}"}}]
        }), "p").unwrap();
        let a = openshift::process(&t, &mut StdRng::seed_from_u64(seed)).unwrap();
        let b = openshift::process(&t, &mut StdRng::seed_from_u64(seed)).unwrap();
        prop_assert_eq!(&a, &b);
        let value = a.objects[0]["stringData"]["a"].as_str().unwrap();
        prop_assert!(in_language(value, &generate::parse(&from).unwrap()));
    }

    #[test]
    fn yaml_round_trips(value in arb_json()) {
        let text = yaml::to_yaml(&value);
        let back = yaml::parse_documents(text.as_bytes(), "roundtrip").unwrap();
        let back = back.into_iter().map(|d| d.value).next().unwrap_or(Value::Null);
        prop_assert_eq!(&back, &value, "written as:\n{}", text);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = yaml::parse_documents(&bytes, "fuzz");
        if let Ok(loaded) = openshift::load(&bytes, "fuzz") {
            for t in loaded.templates {
                let _ = openshift::process(&t, &mut StdRng::seed_from_u64(1));
            }
        }
    }
}
