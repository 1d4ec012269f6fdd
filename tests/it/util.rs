//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `../shared` beside the repository. When it is absent the test fails with a message
/// saying so, unless `KASCADE_SKIP_SHARED=1` asks to skip (printed, never silent).
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("corpus").is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{} is absent: this test reads the shared corpus of real templates",
        dir.display()
    );
    if std::env::var("KASCADE_SKIP_SHARED").as_deref() == Ok("1") {
        eprintln!("SKIPPED (KASCADE_SKIP_SHARED=1): {msg}");
        return None;
    }
    panic!("{msg}; put it beside the repository, or set KASCADE_SKIP_SHARED=1 to skip");
}

/// The path of a file in the shared corpus.
pub fn corpus(shared: &Path, rel: &str) -> PathBuf {
    shared.join("corpus").join(rel)
}

/// What a kascade run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs the kascade binary with `args`, feeding `stdin`, in `cwd`.
pub fn kascade_in(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kascade"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("KASCADE_TEMPLATES")
        .env_remove("KASCADE_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn kascade");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        // A command may exit before reading all of stdin; that is its answer, not ours.
        let _ = pipe.write_all(input);
    }
    child.wait_with_output().expect("wait for kascade").into()
}

/// Runs the kascade binary from the repository root.
pub fn kascade(args: &[&str]) -> Run {
    kascade_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, None)
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Asserts a run failed with exit code 2, printed an `error:` naming `needle`, and did not
/// panic.
#[track_caller]
pub fn assert_error(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "expected exit 2, got {run:?}");
    assert!(
        run.stderr.contains("error: ") && run.stderr.contains(needle),
        "stderr should name {needle:?}: {run:?}"
    );
    assert!(!run.stderr.contains("panicked"), "panic: {run:?}");
    assert!(run.stdout.is_empty(), "nothing on stdout on error: {run:?}");
}
