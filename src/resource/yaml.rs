//! Reading and writing YAML and JSON: the only file that names the YAML crate.
//!
//! **Reading** follows kubectl and `oc` (go-yaml, YAML 1.1 scalars): `yes`/`on` are booleans,
//! `0755` is the octal number 493, `1_000` is 1000. Duplicate keys are an error, as in
//! kubectl's strict mode, for YAML and JSON alike; merge keys (`<<`) are applied.
//!
//! **Writing** quotes every string that a YAML 1.1 *or* 1.2 reader would take for something
//! else (`"yes"`, `"0755"`, `"1_000"`, `".inf"`), so what kascade writes reads back the same in
//! kubectl, `oc` and kascade.
//!
//! **Speed.** A stream is split at its `---` lines first; a document that starts with `{` is
//! read with serde_json (JSON is YAML, and generated manifests are often JSON), everything else
//! with serde-saphyr. Bytes are parsed once.
//!
//! **Bounds.** Input comes from Git, so every read is bounded: file size ([`MAX_FILE_BYTES`]),
//! documents per file, nesting depth, nodes, aliases (alias bombs fail fast), and UTF-8 is
//! checked before parsing.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The largest file kascade reads (32 MiB). Kubernetes itself refuses objects over 1.5 MiB.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
/// The most documents one file may hold.
pub const MAX_DOCUMENTS: usize = 100_000;
/// The deepest nesting of mappings and sequences accepted (serde_json's own limit is 128).
pub const MAX_DEPTH: usize = 128;

/// One document read from a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's value.
    pub value: Value,
    /// The 1-based line the document starts at in its file.
    pub line: usize,
}

/// A YAML or JSON input that could not be read, with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.headline())]
pub struct YamlError {
    /// The file (or `<stdin>`, or a descriptive name) the input came from.
    pub source_name: String,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// What is wrong, lower-case.
    pub message: String,
    /// A few lines of the input around the problem, for a terminal.
    pub snippet: Option<String>,
}

impl YamlError {
    fn new(source_name: &str, message: impl Into<String>) -> Self {
        YamlError {
            source_name: source_name.to_string(),
            line: None,
            column: None,
            message: message.into(),
            snippet: None,
        }
    }

    fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    fn headline(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", self.source_name, self.message),
            (Some(l), None) => format!("{}:{l}: {}", self.source_name, self.message),
            _ => format!("{}: {}", self.source_name, self.message),
        }
    }
}

fn read_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    budget.max_total_scalar_bytes = MAX_FILE_BYTES;
    budget.max_reader_input_bytes = Some(MAX_FILE_BYTES);
    serde_saphyr::options! {
        legacy_octal_numbers: true,
        budget: Some(budget),
    }
}

/// Checks size and encoding; returns the text.
fn text<'a>(bytes: &'a [u8], source_name: &str) -> Result<&'a str, YamlError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(YamlError::new(
            source_name,
            format!(
                "file is {} bytes, larger than the limit of {} bytes",
                bytes.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = good.len() - good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        YamlError::new(
            source_name,
            format!("input is not valid UTF-8 (byte offset {})", e.valid_up_to()),
        )
        .at(line, column)
    })
}

/// Reads every document of a YAML or JSON stream, skipping empty and null documents.
///
/// ```
/// let docs = kascade::resource::yaml::parse_documents(b"a: 1\n---\n{\"b\": 2}\n", "x.yaml").unwrap();
/// assert_eq!(docs.len(), 2);
/// assert_eq!(docs[1].line, 3);
/// ```
pub fn parse_documents(bytes: &[u8], source_name: &str) -> Result<Vec<Document>, YamlError> {
    let text = text(bytes, source_name)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Directives (`%YAML 1.1`) apply to the document after them: read such a stream whole.
    if text.lines().any(|l| l.starts_with('%')) {
        return parse_yaml_chunk(text, 0, source_name);
    }
    let mut docs = Vec::new();
    for (start_line, chunk) in split_documents(text) {
        let found = parse_chunk(chunk, start_line, source_name)?;
        docs.extend(found);
        if docs.len() > MAX_DOCUMENTS {
            return Err(YamlError::new(
                source_name,
                format!("more than {MAX_DOCUMENTS} documents in one file"),
            ));
        }
    }
    Ok(docs)
}

/// Reads a stream that must hold exactly one document (an empty stream is an error).
pub fn parse_one(bytes: &[u8], source_name: &str) -> Result<Value, YamlError> {
    let mut docs = parse_documents(bytes, source_name)?;
    match docs.len() {
        1 => Ok(docs.remove(0).value),
        0 => Err(YamlError::new(source_name, "no document found")),
        n => Err(
            YamlError::new(source_name, format!("expected one document, found {n}"))
                .at(docs[1].line, 1),
        ),
    }
}

/// Splits a stream at its document markers. Each chunk starts at a `---` line (kept, so that
/// `--- {a: 1}` still parses) and carries the 0-based line it starts on.
///
/// A `---` at column 0 ends any scalar in YAML, so splitting on it is exact.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut chunks = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_line = 0;
    let mut offset = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        if line_no > 0 && is_document_marker(line) {
            chunks.push((chunk_line, &text[chunk_start..offset]));
            chunk_start = offset;
            chunk_line = line_no;
        }
        offset += line.len();
    }
    chunks.push((chunk_line, &text[chunk_start..]));
    chunks
}

fn is_document_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn parse_chunk(
    chunk: &str,
    start_line: usize,
    source_name: &str,
) -> Result<Vec<Document>, YamlError> {
    // Where does the content start? Skip a bare `---` marker line and blank lines.
    let mut body = chunk;
    let mut body_line = start_line;
    if is_document_marker(body) {
        let (marker, rest) = body.split_once('\n').unwrap_or((body, ""));
        if marker.trim_end().len() > 3 {
            // `--- value` on the marker line itself: only YAML can read that.
            return parse_yaml_chunk(chunk, start_line, source_name);
        }
        body = rest;
        body_line += 1;
    }
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        let skipped = &body[..body.len() - trimmed.len()];
        let line = body_line + skipped.matches('\n').count();
        if let Ok(value) = parse_json_strict(trimmed) {
            return Ok(vec![Document {
                value,
                line: line + 1,
            }]);
        }
        // Not JSON after all (a YAML flow mapping, or broken): YAML reads it or explains why.
    }
    parse_yaml_chunk(chunk, start_line, source_name)
}

fn parse_yaml_chunk(
    chunk: &str,
    start_line: usize,
    source_name: &str,
) -> Result<Vec<Document>, YamlError> {
    // A chunk of only comments and blank lines is an empty document.
    if chunk
        .lines()
        .all(|l| matches!(l.trim_start().chars().next(), None | Some('#')) || l.trim_end() == "---")
    {
        return Ok(Vec::new());
    }
    let values: Vec<Value> = serde_saphyr::from_multiple_with_options(chunk, read_options())
        .map_err(|e| {
            let mut err = YamlError::new(source_name, saphyr_message(&e));
            if let Some(loc) = e.location() {
                err = err.at(
                    start_line + usize::try_from(loc.line()).unwrap_or(0),
                    usize::try_from(loc.column()).unwrap_or(0),
                );
            }
            let render = serde_saphyr::render_options! {
                line_offset: start_line as u64,
                source_name: Some(source_name),
            };
            err.snippet = Some(e.render_with_options(render));
            err
        })?;
    let first_content_line = chunk
        .lines()
        .position(|l| {
            let t = l.trim_start();
            !(t.is_empty() || t.starts_with('#') || l.trim_end() == "---")
        })
        .unwrap_or(0);
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|value| Document {
            value,
            line: start_line + first_content_line + 1,
        })
        .collect())
}

/// The message of a serde-saphyr error without its location prefix and snippet.
fn saphyr_message(e: &serde_saphyr::Error) -> String {
    let rendered = e.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 2 column 1: duplicate mapping key: a, set DuplicateKeyPolicy in Options if acceptable"
    let message = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest,
        _ => first,
    };
    let message = message
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(message);
    message.to_string()
}

/// Parses one JSON value, rejecting duplicate keys and trailing content.
fn parse_json_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Parses a JSON document (a whole file), rejecting duplicate keys, with errors naming the
/// line and column.
pub fn parse_json(bytes: &[u8], source_name: &str) -> Result<Value, YamlError> {
    let text = text(bytes, source_name)?;
    parse_json_strict(text)
        .map_err(|e| YamlError::new(source_name, e.to_string()).at(e.line(), e.column()))
}

/// A `serde_json::Value` seed that refuses duplicate object keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate mapping key: {key}"
                )));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Writes one value as a YAML document (no leading `---`).
pub fn to_yaml(value: &Value) -> String {
    // Serializing a serde_json::Value cannot fail: keys are strings and numbers are finite.
    serde_saphyr::to_string(value).unwrap_or_else(|e| format!("# could not write YAML: {e}\n"))
}

/// Writes values as a multi-document YAML stream, each document introduced by `---`.
pub fn to_yaml_documents<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for value in values {
        out.push_str("---\n");
        out.push_str(&to_yaml(value));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn docs(input: &str) -> Vec<Value> {
        parse_documents(input.as_bytes(), "t.yaml")
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .collect()
    }

    #[test]
    fn yaml_11_scalars_read_like_kubectl() {
        assert_eq!(
            docs("a: yes\nb: on\nc: 0755\nd: 1_000\ne: \"yes\"\n"),
            vec![json!({"a": true, "b": true, "c": 493, "d": 1000, "e": "yes"})]
        );
    }

    #[test]
    fn multi_document_streams_keep_start_lines() {
        let input = "# head\na: 1\n---\n\n---\n# only a comment\n---\n{\"b\": 2}\n--- {c: 3}\n---\n~\n---\nd: 4\n";
        let parsed = parse_documents(input.as_bytes(), "t.yaml").unwrap();
        let lines: Vec<usize> = parsed.iter().map(|d| d.line).collect();
        let values: Vec<Value> = parsed.into_iter().map(|d| d.value).collect();
        assert_eq!(
            values,
            vec![
                json!({"a": 1}),
                json!({"b": 2}),
                json!({"c": 3}),
                json!({"d": 4})
            ]
        );
        assert_eq!(lines, vec![2, 8, 9, 13]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = parse_documents(b"a: 1\n---\nb:\n  c: [1,\n  d: e\n", "bad.yaml").unwrap_err();
        assert_eq!(err.source_name, "bad.yaml");
        assert_eq!(err.line, Some(4));
        assert!(err.to_string().starts_with("bad.yaml:4:"), "{err}");
        assert!(err.snippet.unwrap().contains("bad.yaml:4"));
    }

    #[test]
    fn duplicate_keys_are_errors_in_yaml_and_json() {
        let err = parse_documents(b"a: 1\na: 2\n", "d.yaml").unwrap_err();
        assert_eq!(err.to_string(), "d.yaml:2:1: duplicate mapping key: a");
        let err = parse_documents(b"{\"a\": 1, \"a\": 2}", "d.json").unwrap_err();
        assert!(
            err.to_string().contains("duplicate mapping key: a"),
            "{err}"
        );
    }

    #[test]
    fn hostile_inputs_fail_cleanly() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse_documents(deep.as_bytes(), "deep.json").is_err());
        let deep_yaml = (0..10_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect::<String>();
        assert!(parse_documents(deep_yaml.as_bytes(), "deep.yaml").is_err());
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        assert!(parse_documents(bomb.as_bytes(), "bomb.yaml").is_err());
        let err = parse_documents(b"a: 1\nb: \xff\n", "bin.yaml").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("not valid UTF-8"));
        let big = vec![b' '; MAX_FILE_BYTES + 1];
        assert!(
            parse_documents(&big, "big.yaml")
                .unwrap_err()
                .message
                .contains("larger than the limit")
        );
        assert!(parse_documents(b"l: .inf\n", "inf.yaml").is_err());
    }

    #[test]
    fn written_yaml_reads_back_the_same() {
        let v = json!({"s": ["yes", "on", "0755", "1_000", ".inf", "y", "NO", "~", "", "a: b", "multi\nline", "  lead\nx"], "n": 1.5, "i": -3, "b": false, "z": null, "e": {}});
        let text = to_yaml(&v);
        assert_eq!(docs(&text), vec![v.clone()]);
        let stream = to_yaml_documents([&v, &json!({"k": "v"})]);
        assert_eq!(docs(&stream), vec![v, json!({"k": "v"})]);
    }

    #[test]
    fn exactly_one_document() {
        assert_eq!(parse_one(b"a: 1\n", "x").unwrap(), json!({"a": 1}));
        assert!(parse_one(b"", "x").is_err());
        assert!(parse_one(b"a: 1\n---\nb: 2\n", "x").is_err());
    }
}
