//! Paths from Git stay inside their root: one check for every place that resolves a path
//! written in a repository (app paths and parameter files in `kascade.yaml`, minijinja
//! includes).

use std::path::{Component, Path, PathBuf};

/// Why a relative path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path is absolute.
    Absolute,
    /// The path climbs out with `..`.
    Escapes,
    /// The root cannot be opened.
    Root(String),
    /// Nothing exists at the path.
    NotFound,
    /// The path exists but resolves (through a symlink) outside the root.
    Outside(PathBuf),
}

/// Resolves `rel` under `root`, refusing absolute paths, `..` and symlinks that lead out.
/// Returns `root` joined with the cleaned path (`.` components dropped).
pub fn confine(root: &Path, rel: &str) -> Result<PathBuf, PathError> {
    let mut clean = PathBuf::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(PathError::Escapes),
            Component::RootDir | Component::Prefix(_) => return Err(PathError::Absolute),
        }
    }
    let real_root = root
        .canonicalize()
        .map_err(|e| PathError::Root(e.to_string()))?;
    let joined = root.join(&clean);
    let real = joined.canonicalize().map_err(|_| PathError::NotFound)?;
    if !real.starts_with(&real_root) {
        return Err(PathError::Outside(real));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confinement() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        assert_eq!(confine(dir.path(), "./a").unwrap(), dir.path().join("a"));
        assert_eq!(confine(dir.path(), "/etc"), Err(PathError::Absolute));
        assert_eq!(confine(dir.path(), "a/../../x"), Err(PathError::Escapes));
        assert_eq!(confine(dir.path(), "missing"), Err(PathError::NotFound));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
            assert!(matches!(
                confine(dir.path(), "out"),
                Err(PathError::Outside(_))
            ));
        }
    }
}
