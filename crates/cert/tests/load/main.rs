//! The certificate loader end to end through the crate's public API: every format loads with
//! the right leaf, every unreadable kind gets its own message and never shows key material,
//! FIFOs and devices are refused at once, limits and zip bombs, facts that agree with
//! `openssl x509`, the x509-limbo corpus, and property tests that nothing panics.
//!
//! One test binary, modules by topic, a small harness (`harness.rs`): a temp dir per test,
//! certificates made with rcgen at test time; what rcgen cannot make (RSA keys, SHA-1
//! signatures, multi-valued RDNs, PKCS#7, PKCS#12, CRLs) comes from the `openssl` CLI.
//! Tests that need the binary (`inspect`, `audit`) live in the root package's `tests/certs.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod formats;
mod leaf;
mod limbo;
mod limits;
mod openssl;
mod props;
mod unreadable;
