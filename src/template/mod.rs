//! Templates in, resource sets out. No cluster access.
//!
//! - [`openshift`]: OpenShift Templates, processed exactly as `oc process` does.
//! - [`jinja`]: minijinja templates with the same parameter model, for logic.
//! - [`catalog`]: the built-in templates and `--templates` directories, by name.
//! - [`render`]: a directory of manifests and templates rendered into one set.

pub mod catalog;
pub mod jinja;
pub mod openshift;
pub mod render;
