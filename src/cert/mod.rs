//! Certificates: bytes → bundle (`load`), certificate → facts (`facts`).
//!
//! Format is detected from content, never from the file name (SPEC §4): PEM with any text around
//! the blocks (`pem`), DER, PKCS#7 in PEM or DER (`pkcs7`, over the small TLV walker in `der`)
//! and ZIP archives holding any of these (`zip`). Everything read is capped (see [`Limits`]) so
//! a huge file or a zip bomb cannot exhaust memory.

pub mod der;
pub mod facts;
pub mod load;
pub mod pem;
pub mod pkcs7;
pub mod zip;

pub use facts::{CertFacts, FactsError};
pub use load::{Bundle, Format, Limits, LoadError, load_bytes, load_file};
