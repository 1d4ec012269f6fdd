//! Arbitrary text as a kascade.yaml duration (`500ms`, `1h30m`) and sync interval. Errors are
//! fine; a panic is a bug.
#![no_main]

use kascade::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = config::parse_duration(text);
    if let Ok(d) = config::parse_interval(text) {
        assert!(d >= std::time::Duration::from_secs(10));
        assert!(d <= std::time::Duration::from_secs(24 * 3600));
    }
});
