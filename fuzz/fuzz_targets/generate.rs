//! Arbitrary `from` strings for `generate: expression`. Errors are fine; a panic is a bug.
#![no_main]

use kascade::template::openshift::generate;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

fuzz_target!(|data: &[u8]| {
    let Ok(from) = std::str::from_utf8(data) else {
        return;
    };
    let _ = generate::generate(from, &mut StdRng::seed_from_u64(1));
});
