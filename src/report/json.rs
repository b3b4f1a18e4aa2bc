//! `audit.json`: the [`AuditReport`] as it is (docs/spec.md §6).

use crate::diff::Diff;
use crate::result::AuditReport;
use std::io::Write;

/// Writes `audit.json`: the report pretty-printed, with a final newline.
pub fn write(report: &AuditReport, w: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report)?;
    w.write_all(b"\n")
}

/// Reads an `audit.json` written by this or another version of the tool.
pub fn read(bytes: &[u8]) -> Result<AuditReport, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// `diff --format json`: the comparison as it is.
pub fn write_diff(diff: &Diff, w: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, diff)?;
    w.write_all(b"\n")
}
