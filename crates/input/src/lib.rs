//! Every byte `mtls-audit` reads from a file or an archive comes through this crate, so the
//! rule "every input is size-limited and must be a regular file" (docs/spec.md §12) holds in one place:
//!
//! - [`read_file`] reads a file only if it is a regular file (a FIFO would block forever, a
//!   device never ends) and no larger than its [`FileLimit`], whose error names the file, the
//!   limit and the option that raises it;
//! - [`zip::for_each_entry`] walks a ZIP archive within [`zip::ZipLimits`] (entries, bytes
//!   inflated per entry and in all), never trusting the sizes the archive declares.
//!
//! It must know nothing of certificates, inventories or reports: it hands bytes over, or an
//! error that says which file, which limit and which option.

mod file;
// A public module rather than re-exports: `zip::for_each_entry`, `zip::Entry`,
// `zip::ZipLimits` read better with their namespace than flattened next to `read_file`.
pub mod zip;

pub use file::{FileError, FileLimit, FileProblem, read_file, regular_file};
