//! The build environment of an app: `${KASCADE_APP_…}` variables that the `parameters:` of
//! a kascade.yaml app (and `-p` values) may use, as Argo CD offers `$ARGOCD_APP_…` to the
//! tools it renders with.
//!
//! | variable | value |
//! |---|---|
//! | `KASCADE_APP_NAME` | the app's name |
//! | `KASCADE_APP_NAMESPACE` | its namespace |
//! | `KASCADE_APP_SOURCE_REPO_URL` | the git repository its files come from: the URL of a `source:` or `--repo`, or the top directory of the work tree a local path is in |
//! | `KASCADE_APP_SOURCE_TARGET_REVISION` | the ref followed: the branch (or tag, or commit) asked for, or the branch checked out |
//! | `KASCADE_APP_REVISION` | the commit rendered (for a work tree, its HEAD: uncommitted edits are not in it) |
//! | `KASCADE_APP_SOURCE_PATH` | the app's directory inside that repository (`.` for its top) |
//!
//! The point is templates that build from the repository they live in, like the OpenShift
//! labs whose Template and Dockerfiles share one repository: `GIT_URL:
//! ${KASCADE_APP_SOURCE_REPO_URL}` instead of a URL written twice. Only these names are
//! substituted; any other `${…}` is left for the template (`${{X}}` and unknown names keep
//! their OpenShift meaning). A variable that has no value (a local path in no git work tree)
//! is an error naming it, never an empty string.

use std::path::{Component, Path, PathBuf};

use crate::source::{self, Snapshot};

/// The variables, in the order the module documentation lists them.
pub const VARIABLES: [&str; 6] = [
    "KASCADE_APP_NAME",
    "KASCADE_APP_NAMESPACE",
    "KASCADE_APP_SOURCE_REPO_URL",
    "KASCADE_APP_SOURCE_TARGET_REVISION",
    "KASCADE_APP_REVISION",
    "KASCADE_APP_SOURCE_PATH",
];

const PREFIX: &str = "${KASCADE_APP_";

/// Where the files being rendered come from in git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOrigin {
    /// The repository URL (or a work tree's top directory).
    pub repo_url: String,
    /// The ref followed (short: `main`, `v1.2`, or a commit).
    pub target_revision: String,
    /// The commit.
    pub revision: String,
    /// The local directory holding the repository's directory `path`.
    pub local_root: PathBuf,
    /// That directory inside the repository (empty for its top).
    pub path: String,
}

impl SourceOrigin {
    /// The origin of a fetched snapshot whose `root` is the repository's `path`.
    pub fn from_snapshot(snap: &Snapshot, path: Option<&str>) -> Self {
        let target = snap
            .reference
            .strip_prefix("refs/heads/")
            .or_else(|| snap.reference.strip_prefix("refs/tags/"))
            .unwrap_or(&snap.reference);
        SourceOrigin {
            repo_url: snap.url.clone(),
            target_revision: target.to_string(),
            revision: snap.revision.clone(),
            local_root: snap.root.clone(),
            path: path.unwrap_or("").trim_matches('/').to_string(),
        }
    }

    /// The origin of a local directory: the git work tree it is in, if any.
    pub fn discover(dir: &Path) -> Option<Self> {
        let tree = source::discover_work_tree(dir)?;
        let commit = tree.commit.clone()?;
        Some(SourceOrigin {
            repo_url: tree.root.to_string_lossy().into_owned(),
            target_revision: tree.branch.unwrap_or_else(|| commit.clone()),
            revision: commit,
            local_root: tree.root,
            path: String::new(),
        })
    }

    /// The repository path of local directory `dir` (`.` for the top), if `dir` is inside
    /// [`SourceOrigin::local_root`].
    pub fn path_of(&self, dir: &Path) -> Option<String> {
        let dir = dir.canonicalize().ok()?;
        let root = self.local_root.canonicalize().ok()?;
        let rel = dir.strip_prefix(&root).ok()?;
        let mut parts: Vec<String> = self
            .path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        for c in rel.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_str()?.to_string()),
                _ => return None,
            }
        }
        Some(if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        })
    }
}

/// The values of the variables for one app, computed on first use.
#[derive(Debug)]
pub struct BuildEnv<'a> {
    name: &'a str,
    namespace: &'a str,
    /// The app's directory (its path, or the kascade.yaml's directory).
    dir: &'a Path,
    origin: Option<Option<SourceOrigin>>,
}

impl<'a> BuildEnv<'a> {
    /// The environment of app `name` in `namespace` whose files are in `dir`, from `origin`
    /// when the caller knows it (a fetched snapshot) or else from the work tree `dir` is in.
    pub fn new(
        name: &'a str,
        namespace: &'a str,
        dir: &'a Path,
        origin: Option<SourceOrigin>,
    ) -> Self {
        BuildEnv {
            name,
            namespace,
            dir,
            origin: origin.map(Some),
        }
    }

    /// The app's directory (the one holding it, when its path is a file).
    fn app_dir(&self) -> &'a Path {
        let dir = self.dir;
        if dir.is_file() {
            dir.parent().unwrap_or(dir)
        } else {
            dir
        }
    }

    fn origin(&mut self, variable: &str) -> Result<&SourceOrigin, String> {
        let dir = self.dir;
        let app_dir = self.app_dir();
        self.origin
            .get_or_insert_with(|| SourceOrigin::discover(app_dir))
            .as_ref()
            .ok_or_else(|| {
                format!(
                    "${{{variable}}} has no value: {} is not in a git work tree with a commit (and the app has no source:)",
                    dir.display()
                )
            })
    }

    /// The value of `variable`.
    pub fn get(&mut self, variable: &str) -> Result<String, String> {
        match variable {
            "KASCADE_APP_NAME" => Ok(self.name.to_string()),
            "KASCADE_APP_NAMESPACE" => Ok(self.namespace.to_string()),
            "KASCADE_APP_SOURCE_REPO_URL" => Ok(self.origin(variable)?.repo_url.clone()),
            "KASCADE_APP_SOURCE_TARGET_REVISION" => {
                Ok(self.origin(variable)?.target_revision.clone())
            }
            "KASCADE_APP_REVISION" => Ok(self.origin(variable)?.revision.clone()),
            "KASCADE_APP_SOURCE_PATH" => {
                let (dir, app_dir) = (self.dir, self.app_dir());
                let origin = self.origin(variable)?;
                origin.path_of(app_dir).ok_or_else(|| {
                    format!(
                        "${{{variable}}} has no value: {} is not inside {}",
                        dir.display(),
                        origin.local_root.display()
                    )
                })
            }
            other => Err(format!(
                "${{{other}}} is not a build variable (known: {})",
                VARIABLES.join(", ")
            )),
        }
    }

    /// `value` with every `${KASCADE_APP_…}` replaced by its value; other text, including
    /// other `${…}`, unchanged.
    pub fn expand(&mut self, value: &str) -> Result<String, String> {
        if !value.contains(PREFIX) {
            return Ok(value.to_string());
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find(PREFIX) {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            out.push_str(&self.get(&after[..end])?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Expands the values of `parameters`, naming the parameter that failed.
    pub fn expand_all(
        &mut self,
        parameters: &[(String, String)],
    ) -> Result<Vec<(String, String)>, String> {
        parameters
            .iter()
            .map(|(k, v)| {
                self.expand(v)
                    .map(|v| (k.clone(), v))
                    .map_err(|e| format!("parameter {k}: {e}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(root: &Path, path: &str) -> SourceOrigin {
        SourceOrigin {
            repo_url: "https://git.example.com/lab.git".into(),
            target_revision: "main".into(),
            revision: "0123456789abcdef0123456789abcdef01234567".into(),
            local_root: root.to_path_buf(),
            path: path.into(),
        }
    }

    #[test]
    fn expands_only_build_variables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("apps/lab")).unwrap();
        let app_dir = dir.path().join("apps/lab");
        let mut env = BuildEnv::new("lab", "ns", &app_dir, Some(origin(dir.path(), "")));
        assert_eq!(
            env.expand("${KASCADE_APP_SOURCE_REPO_URL}#${KASCADE_APP_SOURCE_TARGET_REVISION}")
                .unwrap(),
            "https://git.example.com/lab.git#main"
        );
        assert_eq!(
            env.expand("${KASCADE_APP_SOURCE_PATH}/src/").unwrap(),
            "apps/lab/src/"
        );
        assert_eq!(
            env.expand("${NAME} ${{REPLICAS}} ${KASCADE_APP_NAME}.${KASCADE_APP_NAMESPACE}")
                .unwrap(),
            "${NAME} ${{REPLICAS}} lab.ns"
        );
        assert_eq!(
            env.expand("${KASCADE_APP_NAME").unwrap(),
            "${KASCADE_APP_NAME"
        );
        let err = env.expand("${KASCADE_APP_TYPO}").unwrap_err();
        assert!(err.contains("KASCADE_APP_TYPO") && err.contains("not a build variable"));
    }

    #[test]
    fn snapshot_path_prefixes_the_app_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        let o = origin(dir.path(), "deploy/");
        assert_eq!(o.path_of(dir.path()).unwrap(), "deploy");
        assert_eq!(o.path_of(&dir.path().join("web")).unwrap(), "deploy/web");
        let top = origin(dir.path(), "");
        assert_eq!(top.path_of(dir.path()).unwrap(), ".");
        assert!(top.path_of(Path::new("/")).is_none());
    }

    #[test]
    fn outside_a_work_tree_is_an_error_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = BuildEnv::new("a", "ns", dir.path(), None);
        assert_eq!(env.expand("${KASCADE_APP_NAME}").unwrap(), "a");
        let err = env
            .expand_all(&[("GIT_URL".into(), "${KASCADE_APP_SOURCE_REPO_URL}".into())])
            .unwrap_err();
        assert!(err.starts_with("parameter GIT_URL: ${KASCADE_APP_SOURCE_REPO_URL} has no value"));
    }
}
