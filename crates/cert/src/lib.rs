//! Certificates: bytes → a [`Bundle`] of certificates ([`load_bytes`], [`load_file`]), one DER
//! certificate → its [`CertFacts`] ([`CertFacts::from_der`]).
//!
//! The format is detected from content, never from the file name (docs/spec.md §4): PEM with any text
//! around the blocks, DER, PKCS#7 in PEM or DER (over a small TLV walker) and ZIP archives
//! holding any of these. Every byte comes through `mtls-audit-input`, so a certificate file
//! must be a regular file (a FIFO or a device is refused before anything is read) and
//! everything read is capped ([`Limits`]): a huge file or a zip bomb cannot exhaust memory.
//!
//! This crate must know nothing of tenants, inventories, findings or reports: it says what a
//! file holds, or in a [`LoadError`] why it holds no certificate; the auditor turns that into
//! findings and views.

mod der;
mod facts;
mod load;
mod pem;
mod pkcs7;

pub use facts::{CertFacts, FactsError, KeyInfo, days_between};
pub use load::{Bundle, Container, Limits, LoadError, load_bytes, load_file};
pub use pkcs7::{Pkcs7Error, certificates_in as pkcs7_certificates};
