//! Arbitrary text as a git source: the repository URL classification, the ref and path
//! checks, redaction and the webhook's URL normalization. Errors are fine; a panic is a bug.
#![no_main]

use kascade::daemon::webhook;
use kascade::source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = source::classify(text);
    let _ = source::validate_ref(text);
    let _ = source::clean_path(Some(text));
    let redacted = source::redact(text);
    let _ = webhook::normalize_repo_url(text);
    let _ = webhook::normalize_repo_url(&redacted);
    let _ = webhook::git_ref_matches(text, Some(text));
});
