//! The simulator's contract tests over real TLS with reqwest: every endpoint, every auth mode
//! and its failures, paging and filters, permission 403s, NEO vs converged, inbound
//! certificates, the ZIP job log, each fault, the rate-limit windows (with a time scale), the
//! `/_sim/` endpoints and the generator's promises. One integration-test binary, one module per
//! topic; `harness` and `fixture` are what they share. Tests that need the auditor (its
//! inventory reader, its binary, its finding codes) are in the root crate's
//! `tests/sim_export.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod auth;
mod chaos;
mod faults;
mod fixture;
mod fleets;
mod harness;
mod ips;
mod rfc;
mod scim;
