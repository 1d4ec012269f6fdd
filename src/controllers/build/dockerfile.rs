//! Just enough Dockerfile parsing for the build executor: instructions (with line
//! continuations, comments and the `escape` directive), the `FROM` of every stage, and
//! replacing the last stage's image with the strategy's resolved image, as OpenShift's docker
//! builder does (`replaceLastFrom`).

/// A Dockerfile that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileError {
    /// No FROM at all.
    #[error("it has no FROM instruction")]
    NoFrom,
    /// An instruction other than ARG before the first FROM.
    #[error("line {line}: {instruction} comes before the first FROM (only ARG may)")]
    BeforeFrom {
        /// 1-based line.
        line: usize,
        /// The instruction.
        instruction: String,
    },
    /// A FROM without an image.
    #[error("line {line}: FROM names no image")]
    EmptyFrom {
        /// 1-based line.
        line: usize,
    },
    /// An unknown instruction.
    #[error("line {line}: unknown instruction {instruction}")]
    Unknown {
        /// 1-based line.
        line: usize,
        /// The instruction.
        instruction: String,
    },
    /// Not UTF-8.
    #[error("it is not UTF-8 text")]
    NotText,
}

const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// One instruction: its keyword (upper case), its arguments joined from continuation lines,
/// and the 0-based line range it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// `FROM`, `RUN`, …
    pub keyword: String,
    /// Everything after the keyword.
    pub args: String,
    /// First line (0-based).
    pub start: usize,
    /// Last line (0-based, inclusive).
    pub end: usize,
}

/// A stage's FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// Flags such as `--platform=linux/amd64`.
    pub flags: Vec<String>,
    /// The image.
    pub image: String,
    /// The stage name after `AS`.
    pub alias: Option<String>,
    /// The instruction's first line (0-based).
    pub start: usize,
    /// Its last line.
    pub end: usize,
}

/// Splits a Dockerfile into instructions.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let lines: Vec<&str> = text.lines().collect();
    let mut escape = '\\';
    // Parser directives: leading `# key=value` comments.
    for l in &lines {
        let t = l.trim();
        let Some(d) = t.strip_prefix('#') else { break };
        let Some((k, v)) = d.split_once('=') else {
            break;
        };
        if k.trim().eq_ignore_ascii_case("escape") && v.trim() == "`" {
            escape = '`';
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        if t.is_empty() || t.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut joined = String::new();
        loop {
            let l = lines[i].trim_end();
            let lt = l.trim_start();
            if !(i > start && lt.starts_with('#')) {
                match l.strip_suffix(escape) {
                    Some(body) => {
                        joined.push_str(body);
                        joined.push(' ');
                    }
                    None => {
                        joined.push_str(l);
                        break;
                    }
                }
            }
            i += 1;
            if i >= lines.len() {
                break;
            }
        }
        let joined = joined.trim();
        let (kw, args) = joined
            .split_once(char::is_whitespace)
            .unwrap_or((joined, ""));
        out.push(Instruction {
            keyword: kw.to_ascii_uppercase(),
            args: args.trim().to_string(),
            start,
            end: i.min(lines.len().saturating_sub(1)),
        });
        i += 1;
    }
    out
}

/// Checks the instructions and returns every stage's FROM.
pub fn parse(text: &str) -> Result<Vec<From>, DockerfileError> {
    let all = instructions(text);
    if !all.iter().any(|i| i.keyword == "FROM") {
        return Err(DockerfileError::NoFrom);
    }
    let mut froms = Vec::new();
    for ins in all {
        let line = ins.start + 1;
        if !INSTRUCTIONS.contains(&ins.keyword.as_str()) {
            return Err(DockerfileError::Unknown {
                line,
                instruction: ins.keyword,
            });
        }
        if ins.keyword == "FROM" {
            let mut words = ins.args.split_whitespace();
            let mut flags = Vec::new();
            let mut image = None;
            for w in words.by_ref() {
                if w.starts_with("--") {
                    flags.push(w.to_string());
                } else {
                    image = Some(w.to_string());
                    break;
                }
            }
            let image = image.ok_or(DockerfileError::EmptyFrom { line })?;
            let alias = match (words.next(), words.next()) {
                (Some(a), Some(name)) if a.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            froms.push(From {
                flags,
                image,
                alias,
                start: ins.start,
                end: ins.end,
            });
        } else if froms.is_empty() && ins.keyword != "ARG" {
            return Err(DockerfileError::BeforeFrom {
                line,
                instruction: ins.keyword,
            });
        }
    }
    if froms.is_empty() {
        return Err(DockerfileError::NoFrom);
    }
    Ok(froms)
}

/// The Dockerfile with the last stage's image replaced by `image` (flags and stage name
/// kept), and the image it replaced.
pub fn replace_last_from(text: &str, image: &str) -> Result<(String, String), DockerfileError> {
    let froms = parse(text)?;
    let last = froms.last().ok_or(DockerfileError::NoFrom)?;
    let mut line = String::from("FROM ");
    for f in &last.flags {
        line.push_str(f);
        line.push(' ');
    }
    line.push_str(image);
    if let Some(a) = &last.alias {
        line.push_str(" AS ");
        line.push_str(a);
    }
    let mut out: Vec<String> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if i == last.start {
            out.push(line.clone());
        } else if i > last.start && i <= last.end {
            continue;
        } else {
            out.push(l.to_string());
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok((s, last.image.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_from_is_replaced() {
        let text = "# syntax=docker/dockerfile:1\nARG V=1\nFROM golang:1.22 AS build\nRUN make \\\n  all\nFROM --platform=linux/amd64 \\\n   centos:7 AS run\nCOPY --from=build /x /x\n";
        let froms = parse(text).unwrap();
        assert_eq!(froms.len(), 2);
        assert_eq!(froms[1].image, "centos:7");
        let (out, old) = replace_last_from(text, "r/base@sha256:1").unwrap();
        assert_eq!(old, "centos:7");
        assert!(
            out.contains("FROM --platform=linux/amd64 r/base@sha256:1 AS run\nCOPY"),
            "{out}"
        );
        assert!(out.contains("FROM golang:1.22 AS build"));
    }

    #[test]
    fn bad_dockerfiles() {
        assert_eq!(
            parse("RUN echo\nFROM a\n"),
            Err(DockerfileError::BeforeFrom {
                line: 1,
                instruction: "RUN".into()
            })
        );
        assert_eq!(parse("RUN echo\n"), Err(DockerfileError::NoFrom));
        assert_eq!(parse("# only a comment\n\n"), Err(DockerfileError::NoFrom));
        assert_eq!(parse("FROM\n"), Err(DockerfileError::EmptyFrom { line: 1 }));
        assert!(matches!(
            parse("FROM a\nBOGUS x\n"),
            Err(DockerfileError::Unknown { line: 2, .. })
        ));
        assert_eq!(parse("from a\nrun x\n").unwrap()[0].image, "a");
    }
}
