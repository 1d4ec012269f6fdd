//! kascade keeps a cluster in step with a Git repository of OpenShift-style templates.
//!
//! # Layout
//!
//! Data flows one way through the stages, each a module:
//!
//! - [`resource`]: the shared model — objects as `serde_json::Value`, [`resource::ResourceKey`],
//!   [`resource::ResourceSet`], YAML/JSON reading and writing, content hashes. Depends on nothing.
//! - [`template`]: turns templates into resource sets — OpenShift Templates exactly as
//!   `oc process` does ([`template::openshift`]), minijinja templates ([`template::jinja`]),
//!   directories of plain manifests ([`template::render`]), the built-in catalog
//!   ([`template::catalog`]). Depends only on `resource`.
//! - [`cluster`]: where live state is — the embedded cluster, one SQLite file with Kubernetes
//!   object semantics ([`cluster::LocalCluster`]).
//! - [`diff`]: desired against live — three-way prediction, trigger-owned fields,
//!   normalization, unified YAML diffs with Secret values masked. Depends only on `resource`.
//! - [`reconcile`]: plan and apply one app's resource set — ownership marks, inventory, prune
//!   guards, kind order, one transaction ([`reconcile::sync_once`]).
//! - [`triggers`]: the trigger graph — which ImageStreamTag fires which build and rollout,
//!   cycle refusal, cascade plans, tree/DOT/JSON/SVG output. Depends only on `resource`.
//! - [`config`] reads `kascade.yaml` (the apps of a repository); [`app`] renders one app,
//!   keeping generated parameter values stable across syncs; [`newapp`] adds what
//!   `oc new-app --template` adds and records a new-app app's source; [`buildenv`] gives
//!   parameter values the `${KASCADE_APP_…}` variables of where an app comes from.
//! - [`source`]: Git repositories — a cache of bare repositories under the state dir, fetched
//!   incrementally under a lock, and read-only snapshots of one commit's tree
//!   ([`source::fetch`]). Only [`source::git`] names git2.
//! - [`images`]: ImageStream semantics — references, tag history, resolving a tag to a pull
//!   spec, imports over the OCI distribution API, `oc tag`.
//! - [`controllers`]: the embedded cluster's controllers — image streams, build configs, the
//!   build executor, DeploymentConfig rollouts, the `image.openshift.io/triggers` annotation —
//!   run until the cluster settles.
//! - [`paths`]: the one check that keeps paths written in a repository inside it.
//! - [`daemon`]: `kascade run` — per-app sync loops, controllers, the HTTP server with
//!   health, metrics, status and webhooks.
//! - [`cli`]: the command line on top; the only place that uses clap and anyhow.
//!
//! Newcomers: start with [`template::render::render_path`] (what `kascade render` runs) and
//! [`template::openshift::process`] (what `kascade process` runs).

pub mod app;
pub mod buildenv;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod controllers;
pub mod daemon;
pub mod diff;
pub mod images;
pub mod newapp;
pub mod paths;
pub mod reconcile;
pub mod resource;
pub mod source;
pub mod template;
pub mod triggers;
