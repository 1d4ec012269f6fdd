//! Whatever kascade reads, it must write so that it reads back the same:
//! `parse(emit(v)) == v` for every document of an accepted stream.
#![no_main]

use kascade::resource::yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(docs) = yaml::parse_documents(data, "fuzz.yaml") else {
        return;
    };
    for doc in docs {
        let emitted = yaml::to_yaml(&doc.value);
        let reread = match yaml::parse_one(emitted.as_bytes(), "emitted.yaml") {
            Ok(v) => v,
            Err(e) => panic!("emitted YAML does not parse: {e}\n--- emitted:\n{emitted}"),
        };
        assert_eq!(
            reread, doc.value,
            "round trip changed the value\n--- emitted:\n{emitted}"
        );
    }
});
