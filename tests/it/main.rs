//! kascade's integration tests: one binary (`cargo test --test it`), one module per area.
//!
//! Tests that read `../shared` (the corpus of real templates and upstream golden files) fail
//! with a message when it is absent; `KASCADE_SKIP_SHARED=1` turns that into a printed skip.

mod buildenv;
mod builds;
mod cascade;
mod cli;
mod corpus;
mod daemon;
mod diff;
mod fake_registry;
mod git;
mod gitops;
mod golden;
mod graph;
#[cfg(feature = "kube")]
mod kube;
mod lookup;
mod objects;
mod props;
mod registry;
mod render;
mod sync;
mod util;
mod webhook;
mod workloads;
