//! Where parameter values come from, with `oc process`'s parsing, precedence and messages:
//! `-p K=V` and positional `K=V` (split on the first `=`, never on commas), `--param-file`
//! (dotenv), and `-l` labels.

use std::collections::{BTreeMap, BTreeSet};

/// A parameter input that could not be used. Messages are `oc`'s where the spec quotes them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A `K=V` whose key is not a valid environment variable name, or that has no `=`.
    #[error("invalid parameter assignment in {assignment:?}: {reason}")]
    InvalidAssignment {
        /// The assignment as given.
        assignment: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The same key given twice with `-p` or positionally.
    #[error("The following parameters were provided more than once: {}", .0.join(", "))]
    Duplicate(Vec<String>),
    /// A `--param-file` that does not exist.
    #[error("Cannot stat {path:?}: {reason}")]
    CannotStat {
        /// The path given.
        path: String,
        /// The OS's words.
        reason: String,
    },
    /// A `--param-file` that is a directory or cannot be read.
    #[error("Cannot read variables from {path:?}: {reason}")]
    CannotRead {
        /// The path given.
        path: String,
        /// Why.
        reason: String,
    },
    /// A bad `-l` labels value.
    #[error("error parsing labels: {0}")]
    Labels(String),
}

const ENV_NAME_REASON: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

/// Whether `key` is a valid environment variable name (`[-._a-zA-Z][-._a-zA-Z0-9]*`), the
/// rule `oc` applies to parameter keys.
pub fn is_env_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b"-._".contains(&b))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
}

/// Splits `K=V` on the first `=` and checks the key.
pub fn parse_assignment(s: &str) -> Result<(String, String), ParamError> {
    let Some((key, value)) = s.split_once('=') else {
        return Err(ParamError::InvalidAssignment {
            assignment: s.to_string(),
            reason: "expected KEY=VALUE".to_string(),
        });
    };
    if !is_env_name(key) {
        return Err(ParamError::InvalidAssignment {
            assignment: s.to_string(),
            reason: ENV_NAME_REASON.to_string(),
        });
    }
    Ok((key.to_string(), value.to_string()))
}

/// Whether `oc` would warn that a `-p` value looks like a comma-separated list (`a=b,c=d`).
pub fn looks_like_comma_list(value: &str) -> bool {
    value.contains(',') && value.split(',').skip(1).any(|part| part.contains('='))
}

/// The `-p`/positional assignments, in order, after the duplicate check `oc` makes.
pub fn parse_cli_assignments(assignments: &[String]) -> Result<Vec<(String, String)>, ParamError> {
    let mut seen = BTreeSet::new();
    let mut dups = BTreeSet::new();
    let mut out = Vec::with_capacity(assignments.len());
    for a in assignments {
        let (k, v) = parse_assignment(a)?;
        if !seen.insert(k.clone()) {
            dups.insert(k.clone());
        }
        out.push((k, v));
    }
    if !dups.is_empty() {
        return Err(ParamError::Duplicate(dups.into_iter().collect()));
    }
    Ok(out)
}

/// Parses a dotenv parameter file as `oc --param-file` does (godotenv rules): `#` comments,
/// blank lines, optional `export `, `K=V` or `K: V`, surrounding quotes stripped, and inside
/// double quotes `\n` and `\r` expanded and `\X` unescaped to `X`.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, ParamError> {
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = strip_comment(line);
        let eq = line.find('=');
        let colon = line.find(':');
        let split = match (eq, colon) {
            (Some(e), Some(c)) if c < e => c,
            (None, Some(c)) => c,
            (Some(e), _) => e,
            (None, None) => {
                return Err(ParamError::InvalidAssignment {
                    assignment: line.to_string(),
                    reason: "expected KEY=VALUE".to_string(),
                });
            }
        };
        let key = line[..split].trim();
        let key = key.strip_prefix("export ").map_or(key, str::trim);
        let value = parse_env_value(&line[split + 1..]);
        if !is_env_name(key) {
            return Err(ParamError::InvalidAssignment {
                assignment: line.to_string(),
                reason: ENV_NAME_REASON.to_string(),
            });
        }
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// Drops a `#` comment that is outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return line[..i].trim_end(),
            _ => {}
        }
    }
    line
}

fn parse_env_value(value: &str) -> String {
    let value = value.trim_matches(' ');
    if value.len() > 1 {
        if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            return inner.to_string();
        }
        if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
            }
            return out;
        }
    }
    value.to_string()
}

/// Reads a `--param-file` (`-` is standard input, read by the caller and passed as `stdin`).
pub fn read_env_file(path: &str, stdin: Option<&str>) -> Result<Vec<(String, String)>, ParamError> {
    if path == "-" {
        return parse_env_file(stdin.unwrap_or_default());
    }
    let meta = std::fs::metadata(path).map_err(|e| ParamError::CannotStat {
        path: path.to_string(),
        reason: format!("stat {path}: {}", io_reason(&e)),
    })?;
    if meta.is_dir() {
        return Err(ParamError::CannotRead {
            path: path.to_string(),
            reason: "is a directory".to_string(),
        });
    }
    if meta.len() > 1024 * 1024 {
        return Err(ParamError::CannotRead {
            path: path.to_string(),
            reason: "file is larger than 1 MiB".to_string(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| ParamError::CannotRead {
        path: path.to_string(),
        reason: io_reason(&e),
    })?;
    parse_env_file(&text)
}

/// The OS's description of an I/O error, lower-case, without Rust's "(os error N)".
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Parses `-l k=v,k2=v2` as kubectl's `ParseLabels`, then checks keys and values against
/// Kubernetes' label syntax.
pub fn parse_labels(spec: &str) -> Result<BTreeMap<String, String>, ParamError> {
    let mut labels = BTreeMap::new();
    if spec.trim().is_empty() {
        return Ok(labels);
    }
    for part in spec.split(',') {
        let kv: Vec<&str> = part.split('=').collect();
        let [key, value] = kv.as_slice() else {
            return Err(ParamError::Labels(format!("unexpected label spec: {part}")));
        };
        if key.is_empty() {
            return Err(ParamError::Labels("unexpected empty label key".to_string()));
        }
        if let Err(why) = check_label_key(key) {
            return Err(ParamError::Labels(format!(
                "invalid label key {key:?}: {why}"
            )));
        }
        if !is_label_value(value) {
            return Err(ParamError::Labels(format!(
                "invalid label value {value:?}: must be 63 characters or less, beginning and ending with an alphanumeric character, with dashes, underscores, dots and alphanumerics between"
            )));
        }
        labels.insert((*key).to_string(), (*value).to_string());
    }
    Ok(labels)
}

fn is_label_value(v: &str) -> bool {
    v.is_empty() || is_qualified_name_part(v)
}

fn is_qualified_name_part(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

fn check_label_key(key: &str) -> Result<(), &'static str> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b.len() <= 63
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            });
        if !ok {
            return Err("prefix must be a DNS subdomain");
        }
    }
    if !is_qualified_name_part(name) {
        return Err(
            "name must be 63 characters or less, beginning and ending with an alphanumeric character",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_split_on_first_equals() {
        assert_eq!(
            parse_assignment("required_param=someval=moreval").unwrap(),
            ("required_param".into(), "someval=moreval".into())
        );
        assert_eq!(
            parse_assignment("MYSQL_PASSWORD=my,1%pa=s").unwrap().1,
            "my,1%pa=s"
        );
        let e = parse_assignment("optional_param").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid parameter assignment in \"optional_param\"")
        );
        assert!(parse_assignment("1abc=x").is_err());
        assert!(parse_assignment("a.b-c_d=x").is_ok());
    }

    #[test]
    fn duplicates_are_listed_sorted() {
        let args: Vec<String> = ["key=value", "other=foo", "key=value", "other=baz"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            parse_cli_assignments(&args).unwrap_err().to_string(),
            "The following parameters were provided more than once: key, other"
        );
    }

    #[test]
    fn comma_list_warning_heuristic() {
        assert!(looks_like_comma_list("a,b=c,d"));
        assert!(!looks_like_comma_list("a,b,c,d"));
        assert!(!looks_like_comma_list("plain"));
    }

    #[test]
    fn dotenv_rules() {
        let text = "# comment\n\nADMIN_USERNAME=root\nADMIN_PASSWORD=\"adminpass\"\nREDIS_PASSWORD='redispass'\nexport E=1\nY: yaml style\nQ=\"first\\nsecond\"\nS='no\\nescape'\nC=value # trailing\nH=\"with # hash\"\n";
        let parsed = parse_env_file(text).unwrap();
        let get = |k: &str| parsed.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("ADMIN_USERNAME"), "root");
        assert_eq!(get("ADMIN_PASSWORD"), "adminpass");
        assert_eq!(get("REDIS_PASSWORD"), "redispass");
        assert_eq!(get("E"), "1");
        assert_eq!(get("Y"), "yaml style");
        assert_eq!(get("Q"), "first\nsecond");
        assert_eq!(get("S"), "no\\nescape");
        assert_eq!(get("C"), "value");
        assert_eq!(get("H"), "with # hash");
        assert!(
            parse_env_file("fo%(o=bar\n")
                .unwrap_err()
                .to_string()
                .contains("invalid parameter assignment")
        );
        assert!(
            parse_env_file("S P A C E S=test\n")
                .unwrap_err()
                .to_string()
                .contains("invalid parameter assignment")
        );
    }

    #[test]
    fn labels_parse_like_kubectl() {
        let l = parse_labels("app=guestbook,tier=web").unwrap();
        assert_eq!(l.get("app").map(String::as_str), Some("guestbook"));
        assert!(
            parse_labels("=====")
                .unwrap_err()
                .to_string()
                .starts_with("error parsing labels")
        );
        assert!(parse_labels("a=b=c").is_err());
        assert!(parse_labels("bad key=x").is_err());
        assert!(parse_labels("example.com/app=x").is_ok());
        assert!(parse_labels("").unwrap().is_empty());
    }
}
