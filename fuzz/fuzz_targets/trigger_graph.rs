//! Arbitrary JSON (an object, or an array of objects, or `{"items": [...]}`) as the rendered
//! objects of an app: every object with a name and kind goes into a ResourceSet, and the
//! trigger graph is built and checked for cycles. Errors are fine; a panic or hang is a bug.
#![no_main]

use kascade::resource::{Origin, Resource, ResourceSet};
use kascade::triggers;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let objects = match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("items") {
            Some(Value::Array(a)) => a,
            _ => vec![Value::Object(o)],
        },
        _ => return,
    };
    let mut set = ResourceSet::new();
    for (i, object) in objects.into_iter().enumerate() {
        if let Ok(r) = Resource::new(object, Origin::new("fuzz.json", i + 1)) {
            let _ = set.insert(r);
        }
    }
    let _ = triggers::check(&set);
    // What `kascade graph` prints and plans from the same objects.
    let graph = triggers::Graph::from_set(&set);
    let all: Vec<_> = (0..graph.len()).map(triggers::NodeId).collect();
    let _ = graph.downstream(&all);
    let _ = triggers::plan(&graph, &all);
    let roots = triggers::output::tree_roots(&graph);
    let _ = triggers::output::tree(&graph, &roots);
    let _ = triggers::output::dot(&graph);
});
