//! Certificates: bytes → bundle (`load`), certificate → facts (`facts`).
//!
//! Format is detected from content, never from the file name (SPEC §4): PEM with any text around
//! the blocks, DER, PKCS#7 (PEM or DER) and ZIP archives holding any of these. Everything read is
//! capped (see [`Limits`]) so a huge file or a zip bomb cannot exhaust memory.

pub mod facts;
pub mod load;

pub use facts::{CertFacts, FactsError};
pub use load::{Bundle, Format, Limits, LoadError, load_bytes, load_file};
