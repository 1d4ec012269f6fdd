//! Arbitrary text as the Dockerfile of a build: split it into instructions, find the stages'
//! FROMs and replace the last one. Errors are fine; a panic is a bug.
#![no_main]

use kascade::controllers::build::dockerfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let instructions = dockerfile::instructions(text);
    let lines = text.lines().count();
    for i in &instructions {
        assert!(i.start <= i.end && i.end < lines.max(1));
    }
    if let Ok(froms) = dockerfile::parse(text) {
        assert!(!froms.is_empty());
        let image = "registry.example.com/ns/base@sha256:0000000000000000000000000000000000000000000000000000000000000000";
        let (rewritten, replaced) = dockerfile::replace_last_from(text, image)
            .expect("a Dockerfile that parses has a last FROM to replace");
        assert_eq!(replaced, froms[froms.len() - 1].image);
        // The rewritten file parses, with the new image last.
        let again = dockerfile::parse(&rewritten).expect("the rewritten Dockerfile parses");
        assert_eq!(again.last().map(|f| f.image.as_str()), Some(image));
    }
});
