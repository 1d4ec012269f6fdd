//! Printing objects the way `oc` and `kubectl` print them.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::resource::{ResourceKey, list_of, yaml};

/// An output format (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A v1 List as JSON, indented like `oc` (4 spaces, kind first).
    Json,
    /// YAML: a v1 List for `process`, a multi-document stream for `render`.
    Yaml,
    /// `kind.group/name` per object, as `kubectl -o name`.
    Name,
}

/// JSON indented with four spaces, as kubectl's printer writes it.
pub fn json_pretty(value: &impl Serialize) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // A serde_json::Value always serializes.
    let _ = value.serialize(&mut ser);
    String::from_utf8(buf).unwrap_or_default()
}

/// A v1 List as `oc process -o json` prints it: `kind`, `apiVersion`, `metadata`, `items`.
pub fn list_json(items: &[&Value]) -> String {
    let items = json_pretty(&items);
    let mut indented = String::with_capacity(items.len() + items.len() / 8);
    for (i, line) in items.lines().enumerate() {
        if i > 0 {
            indented.push('\n');
            indented.push_str("    ");
        }
        indented.push_str(line);
    }
    format!(
        "{{\n    \"kind\": \"List\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {{}},\n    \"items\": {indented}\n}}\n"
    )
}

/// Writes objects in `format`; `stream` picks a multi-document YAML stream over a List.
pub fn print_objects(objects: &[&Value], format: Format, stream: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Json => out.write_all(list_json(objects).as_bytes())?,
        Format::Yaml if stream => {
            out.write_all(yaml::to_yaml_documents(objects.iter().copied()).as_bytes())?;
        }
        Format::Yaml => {
            out.write_all(yaml::to_yaml(&list_of(objects.iter().copied())).as_bytes())?;
        }
        Format::Name => {
            for object in objects {
                match ResourceKey::of(object) {
                    Ok(key) => writeln!(out, "{}", key.kubectl_name())?,
                    Err(_) => writeln!(out, "<unnamed>")?,
                }
            }
        }
    }
    out.flush()
}

/// Lays out rows as Go's tabwriter does with (minwidth, padding): every column but the last
/// is padded to `max(minwidth, widest cell + padding)`.
pub fn table(rows: &[Vec<String>], min_width: usize, padding: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count() + padding);
        }
    }
    for w in &mut widths {
        *w = (*w).max(min_width);
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_json_matches_oc_layout() {
        let a = json!({"kind": "Service", "apiVersion": "v1"});
        let text = list_json(&[&a]);
        assert_eq!(
            text,
            "{\n    \"kind\": \"List\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {},\n    \"items\": [\n        {\n            \"apiVersion\": \"v1\",\n            \"kind\": \"Service\"\n        }\n    ]\n}\n"
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["items"][0], a);
        assert!(list_json(&[]).contains("\"items\": []"));
    }

    #[test]
    fn tabwriter_layout() {
        let rows = vec![
            vec![
                "NAME".into(),
                "DESCRIPTION".into(),
                "GENERATOR".into(),
                "VALUE".into(),
            ],
            vec![
                "A_VERY_LONG_PARAMETER_NAME".into(),
                "d".into(),
                "".into(),
                "v".into(),
            ],
        ];
        assert_eq!(
            table(&rows, 20, 3),
            "NAME                         DESCRIPTION         GENERATOR           VALUE\nA_VERY_LONG_PARAMETER_NAME   d                                       v\n"
        );
    }
}
