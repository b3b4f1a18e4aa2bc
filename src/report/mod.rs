//! Renderers: one per format, all reading the same [`AuditReport`]. None decides a verdict.

mod changes;
pub mod csv;
pub mod figures;
pub mod html;
pub mod json;
pub mod md;
pub(crate) mod playbook;
pub mod screen;
pub mod svg;
pub mod table;
mod text;

use crate::result::AuditReport;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An output format of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// `table`: the terminal table, on stdout (no file).
    Table,
    /// `csv`: `audit.csv`.
    Csv,
    /// `json`: `audit.json`.
    Json,
    /// `html`: `report.html`.
    Html,
    /// `md` (or `markdown`): `report.md`.
    Md,
}

impl Format {
    /// Every format, table first (what `demo` writes).
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Csv,
        Format::Json,
        Format::Html,
        Format::Md,
    ];

    pub(crate) fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" => Some(Format::Table),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "md" | "markdown" => Some(Format::Md),
            _ => None,
        }
    }

    /// The file a format is written to in the output folder (the table goes to stdout).
    pub(crate) fn file_name(self) -> Option<&'static str> {
        match self {
            Format::Table => None,
            Format::Csv => Some("audit.csv"),
            Format::Json => Some("audit.json"),
            Format::Html => Some("report.html"),
            Format::Md => Some("report.md"),
        }
    }
}

/// Parses a `--format` list such as `table,csv,json`.
pub fn parse_formats(list: &str) -> Result<Vec<Format>, String> {
    let mut out = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        let f = Format::parse(part).ok_or_else(|| {
            format!(
                "unknown format '{}' (expected table, csv, json, html, md)",
                part.trim()
            )
        })?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.is_empty() {
        return Err("--format needs at least one of table, csv, json, html, md".into());
    }
    Ok(out)
}

/// A report file could not be written; no half-written file is left behind.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct WriteError {
    /// The report file that was being written.
    pub path: PathBuf,
    /// The I/O error (creating the folder, writing, or renaming into place), printed as the
    /// cause.
    #[source]
    pub source: std::io::Error,
}

/// Writes a file through a temporary sibling and a rename, so an interrupted run never leaves a
/// half-written report behind.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("report"),
        std::process::id()
    ));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush()?;
        // No fsync: the rename is what protects readers from a half-written file when a run
        // is interrupted, and flushing hundreds of megabytes to disk would dominate big runs.
        drop(w.into_inner().map_err(|e| e.into_error())?);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes every file format of `formats` into `out`; returns the paths written, in order.
pub fn write_files(
    report: &AuditReport,
    out: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>, WriteError> {
    let mut written = Vec::new();
    for f in formats {
        let Some(name) = f.file_name() else { continue };
        let path = out.join(name);
        match f {
            Format::Csv => write_atomic(&path, |w| csv::write(report, w))?,
            Format::Json => write_atomic(&path, |w| json::write(report, w))?,
            Format::Html => write_atomic(&path, |w| w.write_all(html::render(report).as_bytes()))?,
            Format::Md => write_atomic(&path, |w| w.write_all(md::render(report).as_bytes()))?,
            Format::Table => {}
        }
        written.push(path);
    }
    Ok(written)
}
