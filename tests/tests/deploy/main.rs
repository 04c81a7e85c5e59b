//! Deployment beyond one machine, checked offline (no Docker daemon, no cluster here):
//! the Dockerfile parsed, deploy/compose.yaml through Docker Compose's `config`,
//! deploy/k8s rendered by kustomize and validated against the Kubernetes schemas, and
//! every binary's environment in each of them read by the binary's own `Config`.
//!
//! - [`env`]: the binaries' settings parsers and the variable check.
//! - [`tools`]: repository files and the pinned tools, run with deadlines.
//! - [`manifests`]: the Kubernetes overlays rendered and read.
//! - [`dockerfile`], [`compose`], [`k8s`], [`netpol`]: the checks of each file.
//! - [`health`]: `shopctl health`, the images' health check, against real servers.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod compose;
mod dockerfile;
mod env;
mod health;
mod k8s;
mod manifests;
mod netpol;
mod tools;
