//! The build executor (DESIGN.md "Builds in the embedded cluster"): fetches the source at its
//! ref through [`crate::source`] (the one git module: its URL checks, cache, lock and
//! credentials), checks the context directory and the Dockerfile, puts the strategy's
//! resolved image in the last stage's FROM, and computes the output image's digest as the
//! sha256 of the resolved inputs. It runs no RUN steps and produces no layers; the same inputs
//! always give the same digest, and any changed input a new one. Each log line is handed to
//! the caller as it is written.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::dockerfile;
use crate::images::DockerRef;
use crate::images::registry::RegistryClient;
use crate::resource::hash::canonical_json;
use crate::source::{Fetcher, SourceError, redact};

/// The largest Dockerfile read from a source.
pub const MAX_DOCKERFILE_BYTES: u64 = 1024 * 1024;

/// A build that failed: an OpenShift status reason and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `FetchSourceFailed`, `InvalidContextDirectory`, `DockerBuildFailed`,
    /// `PullBuilderImageFailed`, `GenericBuildFailed`.
    pub reason: String,
    /// What failed, naming the URL, commit, path or image.
    pub message: String,
}

/// What a successful build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The output image id, `sha256:…`.
    pub digest: String,
    /// The source commit, when there is a git source.
    pub commit: Option<String>,
    /// The base (builder) image, digest-pinned.
    pub base: Option<String>,
}

/// The result and the log.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Output or failure.
    pub result: Result<Output, Failure>,
    /// What the executor did, line by line.
    pub log: String,
}

fn fail(reason: &str, message: String) -> Failure {
    Failure {
        reason: reason.to_string(),
        message,
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The digest-pinned form of `image`: as written when pinned, looked up in its registry
/// otherwise; `None` for `scratch`.
fn pin(image: &str, registry: &RegistryClient) -> Result<Option<(String, String)>, Failure> {
    if image == "scratch" {
        return Ok(None);
    }
    let r = DockerRef::parse(image).map_err(|e| fail("PullBuilderImageFailed", e.to_string()))?;
    if let Some(d) = &r.digest {
        return Ok(Some((image.to_string(), d.clone())));
    }
    registry
        .import(image, false)
        .map(|i| Some((i.reference, i.image)))
        .map_err(|f| {
            fail(
                "PullBuilderImageFailed",
                format!(
                    "cannot resolve the base image {image:?} to a digest: {}",
                    f.message
                ),
            )
        })
}

/// The executor's log: kept whole for `status.log`, and handed line by line to a callback as
/// it is written (`start-build --follow` prints the lines as the build runs).
struct Log<'a> {
    text: String,
    on_line: &'a mut dyn FnMut(&str),
}

impl Log<'_> {
    fn line(&mut self, line: impl Into<String>) {
        let line = line.into();
        for l in line.split('\n') {
            (self.on_line)(l);
            self.text.push_str(l);
            self.text.push('\n');
        }
    }
}

/// Runs the build described by `build` (a Build object), calling `on_line` with each line of
/// its log as it is written.
pub fn execute(
    build: &Value,
    sources: &mut Fetcher,
    registry: &RegistryClient,
    on_line: &mut dyn FnMut(&str),
) -> Outcome {
    let mut log = Log {
        text: String::new(),
        on_line,
    };
    let result = run(build, sources, registry, &mut log);
    match &result {
        Ok(o) => log.line(format!("Build complete: image {}", o.digest)),
        Err(f) => log.line(format!("error: build error: {} ({})", f.message, f.reason)),
    }
    Outcome {
        result,
        log: log.text,
    }
}

/// The message of a failed fetch, naming the URL (and the ref, as the source errors do).
fn fetch_message(uri: &str, e: &SourceError) -> String {
    match e {
        SourceError::UnsupportedUrl { .. } => format!("refusing the git source: {e}"),
        SourceError::InvalidRef { .. } => format!("{e} (git source {})", redact(uri)),
        _ => e.to_string(),
    }
}

fn run(
    build: &Value,
    sources: &mut Fetcher,
    registry: &RegistryClient,
    log: &mut Log<'_>,
) -> Result<Output, Failure> {
    let spec = build.get("spec").cloned().unwrap_or(json!({}));
    let context_dir = s(&spec, "/source/contextDir")
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    let inline = s(&spec, "/source/dockerfile").map(str::to_string);
    // Source.
    let mut commit = None;
    let mut tree = None;
    let uri = s(&spec, "/source/git/uri").map(str::to_string);
    if let Some(uri) = &uri {
        let reference = s(&spec, "/source/git/ref")
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let pinned = s(&spec, "/revision/git/commit");
        log.line(format!(
            "Cloning \"{}\" ({}) ...",
            redact(uri),
            pinned.map_or_else(
                || reference.unwrap_or("HEAD").to_string(),
                |c| format!("commit {c}")
            )
        ));
        let fetched = sources
            .revision(uri, reference, pinned)
            .map_err(|e| fail("FetchSourceFailed", fetch_message(uri, &e)))?;
        log.line(format!(
            "\tCommit:\t{} ({})",
            fetched.revision, fetched.subject
        ));
        log.line(format!("\tAuthor:\t{}", fetched.author));
        let sub = (!context_dir.is_empty()).then_some(context_dir.as_str());
        let t = sources
            .tree_id(uri, &fetched.revision, sub)
            .map_err(|e| match e {
                SourceError::InvalidPath { .. } => fail(
                    "InvalidContextDirectory",
                    format!("the context directory of the build is not valid: {e}"),
                ),
                e => fail("FetchSourceFailed", e.to_string()),
            })?
            .ok_or_else(|| {
                fail(
                    "InvalidContextDirectory",
                    format!(
                        "the context directory {context_dir:?} does not exist in commit {} of {:?}",
                        fetched.revision,
                        redact(uri)
                    ),
                )
            })?;
        if !context_dir.is_empty() {
            log.line(format!("Context directory {context_dir}/ (tree {t})"));
        }
        commit = Some(fetched.revision);
        tree = Some(t);
    } else if inline.is_none() {
        return Err(fail(
            "GenericBuildFailed",
            "the build has no git source and no inline Dockerfile (binary builds are not supported by the embedded cluster)".into(),
        ));
    }
    // Strategy.
    let strategy = spec.get("strategy").cloned().unwrap_or(json!({}));
    let mut inputs = json!({
        "commit": commit, "contextDir": context_dir, "tree": tree,
    });
    let base;
    if let Some(ds) = strategy.get("dockerStrategy").filter(|v| v.is_object()) {
        let path = s(ds, "/dockerfilePath").unwrap_or("Dockerfile");
        let full = if context_dir.is_empty() {
            path.to_string()
        } else {
            format!("{context_dir}/{path}")
        };
        let text = match (&inline, &uri, &commit) {
            (Some(t), _, _) => t.clone(),
            (None, Some(u), Some(c)) => {
                let bytes = sources
                    .read_file(u, c, &full, MAX_DOCKERFILE_BYTES)
                    .map_err(|e| fail("DockerBuildFailed", e.to_string()))?
                    .ok_or_else(|| {
                        fail(
                            "DockerBuildFailed",
                            format!(
                                "the Dockerfile {full} does not exist in commit {c} of {:?}",
                                redact(u)
                            ),
                        )
                    })?;
                String::from_utf8(bytes).map_err(|_| {
                    fail(
                        "DockerBuildFailed",
                        format!("the Dockerfile {full} is not UTF-8 text"),
                    )
                })?
            }
            _ => return Err(fail("DockerBuildFailed", "no Dockerfile".into())),
        };
        let shown = if inline.is_some() {
            "the inline Dockerfile".to_string()
        } else {
            format!("the Dockerfile {full}")
        };
        let from = s(ds, "/from/name").map(str::to_string);
        let (text, base_image) = match &from {
            Some(image) => {
                let (t, old) = dockerfile::replace_last_from(&text, image)
                    .map_err(|e| fail("DockerBuildFailed", format!("{shown} is invalid: {e}")))?;
                log.line(format!("Replaced Dockerfile FROM image {old} with {image}"));
                (t, image.clone())
            }
            None => {
                let froms = dockerfile::parse(&text)
                    .map_err(|e| fail("DockerBuildFailed", format!("{shown} is invalid: {e}")))?;
                let last = froms.last().map(|f| f.image.clone()).unwrap_or_default();
                (text, last)
            }
        };
        base = pin(&base_image, registry)?;
        log.line(format!(
            "STEP: FROM {}",
            base.as_ref().map_or("scratch", |b| b.0.as_str())
        ));
        inputs["strategy"] = json!("Docker");
        inputs["dockerfilePath"] = json!(path);
        inputs["dockerfile"] = json!(text);
        inputs["buildArgs"] = ds.get("buildArgs").cloned().unwrap_or(Value::Null);
        inputs["env"] = ds.get("env").cloned().unwrap_or(Value::Null);
    } else if let Some(ss) = strategy.get("sourceStrategy").filter(|v| v.is_object()) {
        let builder = s(ss, "/from/name").ok_or_else(|| {
            fail(
                "PullBuilderImageFailed",
                "the Source strategy names no builder image (from)".into(),
            )
        })?;
        base = pin(builder, registry)?;
        log.line(format!("Using builder image {builder} (S2I)"));
        inputs["strategy"] = json!("Source");
        inputs["env"] = ss.get("env").cloned().unwrap_or(Value::Null);
        inputs["scripts"] = ss.get("scripts").cloned().unwrap_or(Value::Null);
    } else if strategy.get("customStrategy").is_some_and(Value::is_object) {
        return Err(fail(
            "GenericBuildFailed",
            "the Custom strategy is not supported by the embedded cluster".into(),
        ));
    } else {
        return Err(fail(
            "GenericBuildFailed",
            "the build has no strategy".into(),
        ));
    }
    inputs["base"] = json!(base.as_ref().map(|b| b.1.clone()));
    let digest = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical_json(&inputs).as_bytes()))
    );
    Ok(Output {
        digest,
        commit,
        base: base.map(|b| b.0),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::source::Auth;

    fn run_build(build: &Value) -> (Outcome, Vec<String>) {
        let state = tempfile::tempdir().unwrap();
        let mut sources = Fetcher::new(state.path().to_path_buf(), Auth::default());
        let registry = RegistryClient::new(Duration::from_secs(1));
        let mut lines = Vec::new();
        let outcome = execute(build, &mut sources, &registry, &mut |l| {
            lines.push(l.to_string());
        });
        (outcome, lines)
    }

    #[test]
    fn each_log_line_is_handed_over_as_it_is_written() {
        let base = format!("registry.example.com/base@sha256:{}", "1".repeat(64));
        let build = json!({"spec": {
            "source": {"dockerfile": "FROM scratch\nRUN true\n"},
            "strategy": {"dockerStrategy": {"from": {"kind": "DockerImage", "name": base}}}}});
        let (outcome, lines) = run_build(&build);
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        assert_eq!(
            lines,
            [
                format!("Replaced Dockerfile FROM image scratch with {base}"),
                format!("STEP: FROM {base}"),
                format!(
                    "Build complete: image {}",
                    outcome.result.as_ref().unwrap().digest
                ),
            ]
        );
        assert_eq!(format!("{}\n", lines.join("\n")), outcome.log);
    }

    #[test]
    fn a_git_source_the_source_module_refuses_fails_the_build() {
        for (uri, needle) in [
            ("ext::sh -c touch% /tmp/kascade-pwned", "ext:: transport"),
            ("git://example.com/app.git", "git:// transport"),
            (
                "https://deploy:s3cret@example.com/app.git",
                "holds a password",
            ),
        ] {
            let build = json!({"spec": {
                "source": {"git": {"uri": uri, "ref": "main"}},
                "strategy": {"dockerStrategy": {}}}});
            let (outcome, lines) = run_build(&build);
            let f = outcome.result.unwrap_err();
            assert_eq!(f.reason, "FetchSourceFailed");
            assert!(
                f.message
                    .starts_with("refusing the git source: unsupported repository url")
                    && f.message.contains(needle),
                "{uri}: {}",
                f.message
            );
            assert!(!outcome.log.contains("s3cret"), "{}", outcome.log);
            assert!(
                lines
                    .last()
                    .unwrap()
                    .starts_with("error: build error: refusing")
            );
        }
    }
}
