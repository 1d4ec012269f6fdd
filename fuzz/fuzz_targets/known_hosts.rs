//! Arbitrary text as an OpenSSH known_hosts file, checked for a host and key taken from the
//! input's first line (`host port key-bytes…`). Any verdict is fine; a panic is a bug.
#![no_main]

use kascade::source::known_hosts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, file) = text.split_once('\n').unwrap_or((text, ""));
    let mut parts = first.splitn(3, ' ');
    let host = parts.next().unwrap_or("github.com");
    let port = parts.next().and_then(|p| p.parse::<u16>().ok());
    let key = parts.next().unwrap_or("").as_bytes();
    let _ = known_hosts::check_text(file, host, port, key);
    // The same file checked for a well-formed ed25519 key blob.
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[7u8; 32]);
    let _ = known_hosts::check_text(file, host, Some(22), &blob);
});
