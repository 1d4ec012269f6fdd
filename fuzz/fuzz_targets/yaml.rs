//! Arbitrary bytes as a YAML/JSON stream. Errors are fine; a panic is a bug.
#![no_main]

use kascade::resource::yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = yaml::parse_documents(data, "fuzz.yaml");
});
