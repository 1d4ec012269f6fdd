//! Arbitrary bytes as a template file: load every Template, process each with a seeded RNG.
//! Errors are fine; a panic is a bug.
#![no_main]

use kascade::template::openshift;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = openshift::load(data, "fuzz.yaml") else {
        return;
    };
    for template in &loaded.templates {
        let mut rng = StdRng::seed_from_u64(1);
        if let Ok(processed) = openshift::process(template, &mut rng) {
            // What `oc process` leaves behind must build too.
            let _ = processed.to_template(template);
        }
    }
});
