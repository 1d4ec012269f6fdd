//! OpenSSH `known_hosts` checking for ssh remotes: plain and hashed (`|1|salt|hash`) host
//! patterns, `[host]:port`, `*`/`?` wildcards, `!` negation and `@revoked` keys.
//! `@cert-authority` lines are ignored (host certificates are not supported).

use std::path::Path;

use crate::resource::base64;

/// The largest known_hosts file read.
const MAX_KNOWN_HOSTS_BYTES: u64 = 16 * 1024 * 1024;

/// What a known_hosts file says about a host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line names the host with this key.
    Trusted,
    /// The key is marked `@revoked`.
    Revoked,
    /// The host is listed with other keys of the same type: the key changed.
    Mismatch,
    /// The host (with this key type) is not listed.
    Unknown,
}

/// Checks the raw host `key` (the ssh wire-format blob) of `host` (and `port`, when not 22)
/// against the known_hosts file at `path`.
pub(crate) fn check(
    path: &Path,
    host: &str,
    port: Option<u16>,
    key: &[u8],
) -> Result<Verdict, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read known_hosts file {}: {e}", path.display()))?;
    if meta.len() > MAX_KNOWN_HOSTS_BYTES {
        return Err(format!(
            "known_hosts file {} is larger than {MAX_KNOWN_HOSTS_BYTES} bytes",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read known_hosts file {}: {e}", path.display()))?;
    Ok(check_text(&text, host, port, key))
}

/// [`check`] on the file's text.
pub fn check_text(text: &str, host: &str, port: Option<u16>, key: &[u8]) -> Verdict {
    let host = host.to_ascii_lowercase();
    let name = match port {
        Some(p) if p != 22 => format!("[{host}]:{p}"),
        _ => host,
    };
    let wanted_type = key_type(key);
    let mut trusted = false;
    let mut other_key = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or("");
        let mut revoked = false;
        if first.starts_with('@') {
            match first {
                "@revoked" => revoked = true,
                _ => continue, // @cert-authority and unknown markers
            }
            first = fields.next().unwrap_or("");
        }
        let (Some(_type_name), Some(b64)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !hosts_match(first, &name) {
            continue;
        }
        let Some(line_key) = base64::decode(b64) else {
            continue;
        };
        if line_key == key {
            if revoked {
                return Verdict::Revoked;
            }
            trusted = true;
        } else if !revoked && wanted_type.is_some() && key_type(&line_key) == wanted_type {
            other_key = true;
        }
    }
    if trusted {
        Verdict::Trusted
    } else if other_key {
        Verdict::Mismatch
    } else {
        Verdict::Unknown
    }
}

/// The key type named at the start of an ssh public key blob.
fn key_type(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    blob.get(4..4usize.checked_add(len)?)
}

/// Whether the comma-separated `patterns` of a line match `name` (negations win).
fn hosts_match(patterns: &str, name: &str) -> bool {
    if let Some(hashed) = patterns.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Some(salt), Some(hash)) = (base64::decode(salt), base64::decode(hash)) else {
            return false;
        };
        return hmac_sha1(&salt, name.as_bytes()).as_slice() == hash.as_slice();
    }
    let mut matched = false;
    for p in patterns.split(',') {
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard(&neg.to_ascii_lowercase(), name) {
                return false;
            }
        } else if wildcard(&p.to_ascii_lowercase(), name) {
            matched = true;
        }
    }
    matched
}

/// `*` and `?` glob matching, as OpenSSH's `match_pattern`.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// HMAC-SHA1, for hashed known_hosts names (OpenSSH's `HashKnownHosts`). SHA-1 here only
/// looks a name up; the trust decision is the comparison of the whole key.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Vec::with_capacity(64 + message.len());
    inner.extend(k.iter().map(|b| b ^ 0x36));
    inner.extend_from_slice(message);
    let mut outer = Vec::with_capacity(84);
    outer.extend(k.iter().map(|b| b ^ 0x5c));
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer)
}

/// SHA-1 (FIPS 180-4).
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -t ed25519` and hashed with `ssh-keygen -H`.
    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIAF7nRx8la2ElOACM1b4sAMoU/lCf6LOalNjjdEcW3YM";
    const HASHED: &str = "|1|4CI/7sTl0RRc34uq5wBybl5c7Uc=|GnQ445mEMO41x+H5G14/4jujODE= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAF7nRx8la2ElOACM1b4sAMoU/lCf6LOalNjjdEcW3YM
|1|9eEGy3HfDhVBG1INUbPiOo43IVA=|cFXT4qiLAwcMVPxDn00S8Ub3nHI= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAF7nRx8la2ElOACM1b4sAMoU/lCf6LOalNjjdEcW3YM";

    #[test]
    fn sha1_vectors() {
        assert_eq!(
            hex::encode(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(sha1(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex::encode(sha1(&[b'a'; 1000])),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
        // RFC 2202 test case 2.
        assert_eq!(
            hex::encode(hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn plain_and_hashed_entries() {
        let key = base64::decode(KEY).unwrap();
        let plain = format!("# comment\ngit.example.com,other ssh-ed25519 {KEY}\n");
        assert_eq!(
            check_text(&plain, "git.example.com", None, &key),
            Verdict::Trusted
        );
        assert_eq!(
            check_text(&plain, "GIT.example.com", Some(22), &key),
            Verdict::Trusted
        );
        assert_eq!(
            check_text(&plain, "evil.example.com", None, &key),
            Verdict::Unknown
        );
        assert_eq!(
            check_text(HASHED, "git.example.com", None, &key),
            Verdict::Trusted
        );
        assert_eq!(
            check_text(HASHED, "git.example.com", Some(2222), &key),
            Verdict::Trusted
        );
        assert_eq!(
            check_text(HASHED, "git.example.org", None, &key),
            Verdict::Unknown
        );
        let mut other = key.clone();
        let last = other.len() - 1;
        other[last] ^= 1;
        assert_eq!(
            check_text(&plain, "git.example.com", None, &other),
            Verdict::Mismatch
        );
        assert_eq!(
            check_text(HASHED, "git.example.com", None, &other),
            Verdict::Mismatch
        );
        let wild = format!("*.example.com,!bad.example.com ssh-ed25519 {KEY}\n");
        assert_eq!(
            check_text(&wild, "git.example.com", None, &key),
            Verdict::Trusted
        );
        assert_eq!(
            check_text(&wild, "bad.example.com", None, &key),
            Verdict::Unknown
        );
        let revoked = format!("{plain}@revoked * ssh-ed25519 {KEY}\n");
        assert_eq!(
            check_text(&revoked, "git.example.com", None, &key),
            Verdict::Revoked
        );
    }
}
