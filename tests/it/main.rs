//! kascade's integration tests: one binary (`cargo test --test it`), one module per area.
//!
//! Tests that read `../shared` (the corpus of real templates and upstream golden files) say so
//! when it is absent: they print why and, when `KASCADE_REQUIRE_SHARED=1` (set by `.ci/run`),
//! fail instead of skipping.

mod cli;
mod corpus;
mod golden;
mod props;
mod render;
mod util;
