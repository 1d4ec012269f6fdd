//! Arbitrary text as an image reference (`registry/repo:tag@sha256:…`), a digest and an
//! ImageStreamTag name. Errors are fine; a panic is a bug.
#![no_main]

use kascade::images::{self, DockerRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = images::check_digest(text);
    let _ = images::split_stream_tag(text);
    if let Ok(r) = DockerRef::parse(text) {
        let _ = r.registry_or_default();
        let _ = r.api_repository();
        let _ = r.pinned();
        // The qualified name (`docker.io/library/…` spelled out) is a fixed point: it parses
        // (unless spelling out the defaults made it too long) to the same qualified name.
        let name = r.qualified_name();
        if let Ok(again) = DockerRef::parse(&name) {
            assert_eq!(again.qualified_name(), name);
        }
    }
});
