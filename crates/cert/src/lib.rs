//! Certificates: bytes → a [`Bundle`] of certificates (`load`), one DER certificate → its
//! [`CertFacts`] (`facts`).
//!
//! The format is detected from content, never from the file name (SPEC §4): PEM with any text
//! around the blocks (`pem`), DER, PKCS#7 in PEM or DER (`pkcs7`, over the small TLV walker in
//! `der`) and ZIP archives holding any of these (read through `mtls-audit-input`). Everything
//! read is capped (see [`Limits`]) so a huge file or a zip bomb cannot exhaust memory.
//!
//! This crate knows nothing of tenants, findings or reports: the auditor turns facts into
//! findings and views.

mod der;
mod facts;
mod load;
mod pem;
mod pkcs7;

pub use facts::{CertFacts, FactsError, KeyInfo, days_between, dn_from_der, hex};
pub use load::{Bundle, Container, Limits, LoadError, load_bytes, load_file};
pub use pkcs7::certificates_in as pkcs7_certificates;
