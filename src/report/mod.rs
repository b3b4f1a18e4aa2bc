//! Renderers: one per format, all reading the same [`AuditReport`]. None decides a verdict.

pub(crate) mod burndown;
pub mod campaign;
mod changes;
pub mod csv;
pub mod figures;
pub mod html;
pub mod json;
pub mod md;
pub mod owners;
pub(crate) mod playbook;
pub mod prom;
pub mod screen;
pub mod svg;
pub mod table;
pub(crate) mod text;

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
    /// `prom`: `audit.prom`, the metric families of docs/spec.md §11 in the Prometheus text
    /// format (for the node_exporter textfile collector).
    Prom,
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

    /// Every format that has a file, for cleaning up temporary files.
    const FILES: [Format; 5] = [
        Format::Csv,
        Format::Json,
        Format::Html,
        Format::Md,
        Format::Prom,
    ];

    pub(crate) fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" => Some(Format::Table),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "md" | "markdown" => Some(Format::Md),
            "prom" | "prometheus" => Some(Format::Prom),
            _ => None,
        }
    }

    /// The file a format is written to in the output folder (the table goes to stdout).
    pub fn file_name(self) -> Option<&'static str> {
        match self {
            Format::Table => None,
            Format::Csv => Some("audit.csv"),
            Format::Json => Some("audit.json"),
            Format::Html => Some("report.html"),
            Format::Md => Some("report.md"),
            Format::Prom => Some("audit.prom"),
        }
    }
}

/// Parses a `--format` list such as `table,csv,json`.
pub fn parse_formats(list: &str) -> Result<Vec<Format>, String> {
    let mut out = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        let f = Format::parse(part).ok_or_else(|| {
            format!(
                "unknown format '{}' (expected table, csv, json, html, md, prom)",
                part.trim()
            )
        })?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.is_empty() {
        return Err("--format needs at least one of table, csv, json, html, md, prom".into());
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

/// A line of text from a file or a server made safe for a terminal (no control character, at
/// most `max` characters): for the binary's own messages about such text.
pub fn terminal_line(s: &str, max: usize) -> String {
    text::terminal_cut(s, max)
}

/// Why the output folder cannot take this run's reports; found before any tenant is audited.
#[derive(Debug, thiserror::Error)]
pub enum OutError {
    /// The folder cannot be created or written to.
    #[error("{path} cannot be written to")]
    NotWritable {
        /// The folder.
        path: PathBuf,
        /// Why (printed as the cause).
        #[source]
        source: std::io::Error,
    },
    /// A report would replace a file the run reads.
    #[error("the report {report} would replace the input {input}; choose another --out")]
    WouldReplaceInput {
        /// The report file.
        report: PathBuf,
        /// The input it is.
        input: PathBuf,
    },
}

/// Checks, before a run starts, that `out` can take the report files of `formats` and that
/// none of them is one of `inputs` (the same file under any name).
pub fn check_out(out: &Path, formats: &[Format], inputs: &[PathBuf]) -> Result<(), OutError> {
    let not_writable = |source| OutError::NotWritable {
        path: out.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out).map_err(not_writable)?;
    let probe = out.join(format!(".mtls-audit-probe-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(not_writable)?;
    let _ = std::fs::remove_file(&probe);
    let inputs: Vec<(PathBuf, PathBuf)> = inputs
        .iter()
        .filter_map(|p| Some((p.clone(), std::fs::canonicalize(p).ok()?)))
        .collect();
    for name in formats.iter().filter_map(|f| f.file_name()) {
        let report = out.join(name);
        let Ok(canonical) = std::fs::canonicalize(&report) else {
            continue;
        };
        if let Some((input, _)) = inputs.iter().find(|(_, c)| *c == canonical) {
            return Err(OutError::WouldReplaceInput {
                report,
                input: input.clone(),
            });
        }
    }
    Ok(())
}

/// The temporary name a report file is written under before it replaces the old one.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.tmp-{pid}")
}

/// Removes temporary report files that runs which no longer exist left behind (a killed run
/// cannot clean up after itself).
fn remove_stale_temps(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    let ours = std::process::id();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((base, pid)) = name.strip_prefix('.').and_then(|n| n.rsplit_once(".tmp-")) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let ours_kind = Format::FILES.iter().any(|f| f.file_name() == Some(base));
        if ours_kind && pid != ours && !process_alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether a process with this ID runs (Linux `/proc`; elsewhere assume it does not, so a
/// temporary file of another run is removed only where that can be told).
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// The campaign a report belongs to (docs/spec.md §10): the trend from the history and the
/// group whose burndown `report.html` draws.
#[derive(Debug, Clone, Copy)]
pub struct Campaign<'a> {
    /// The trend, this run included.
    pub trend: &'a crate::trend::Trend,
    /// The group to draw (`all`, or an owner for an owner's report).
    pub group: &'a crate::trend::Group,
}

/// Writes the report files of `formats` into `out` as one set: every file is first written
/// under a temporary name; only when all are complete do they replace the previous set (so a
/// full disk leaves the previous run's reports, all of them, in place). Stale temporary files
/// of killed runs are removed. Returns the paths written, in order.
pub fn write_files(
    report: &AuditReport,
    out: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>, WriteError> {
    write_files_with(report, out, formats, Extras::default())
}

/// What a report set holds beyond the report itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// The campaign burndown drawn in `report.html` (`--history`).
    pub campaign: Option<Campaign<'a>>,
    /// How the run went, for `audit.prom`'s `last_run_*` families; without it they say the run
    /// finished now, complete as the report says, duration unknown.
    pub last_run: Option<prom::LastRun>,
}

/// [`write_files`], with the campaign burndown and how the run went.
pub fn write_files_with(
    report: &AuditReport,
    out: &Path,
    formats: &[Format],
    extras: Extras<'_>,
) -> Result<Vec<PathBuf>, WriteError> {
    let campaign = extras.campaign;
    let last_run = extras.last_run.unwrap_or_else(|| prom::LastRun {
        finished: chrono::Utc::now(),
        duration_seconds: None,
        success: report.complete,
    });
    let mut set = ReportSet::begin(out)?;
    for f in formats {
        set.write(report, *f, campaign.as_ref(), last_run)?;
    }
    set.commit()
}

/// A report set being written (what [`write_files_with`] does, in steps): each file goes under
/// a temporary name; [`ReportSet::commit`] puts them all in place at once. Dropped without a
/// commit (an error, an early return), it removes its temporary files and the previous set
/// stays as it was. The steps let a caller write the other files while it works out what
/// `report.html` draws (`audit --history` records the run meanwhile).
#[derive(Debug)]
pub struct ReportSet {
    out: PathBuf,
    pid: u32,
    /// (temporary, final) path of each file written so far, in the order written.
    staged: Vec<(PathBuf, PathBuf)>,
}

impl ReportSet {
    /// Creates the folder when missing and removes the temporary files of killed runs.
    pub fn begin(out: &Path) -> Result<ReportSet, WriteError> {
        std::fs::create_dir_all(out).map_err(|source| WriteError {
            path: out.to_path_buf(),
            source,
        })?;
        remove_stale_temps(out);
        Ok(ReportSet {
            out: out.to_path_buf(),
            pid: std::process::id(),
            staged: Vec::new(),
        })
    }

    /// Writes one format's file under its temporary name (the table has no file: nothing).
    pub fn write(
        &mut self,
        report: &AuditReport,
        format: Format,
        campaign: Option<&Campaign<'_>>,
        last_run: prom::LastRun,
    ) -> Result<(), WriteError> {
        let Some(name) = format.file_name() else {
            return Ok(());
        };
        let path = self.out.join(name);
        let tmp = self.out.join(temp_name(name, self.pid));
        let written = write_temp(&tmp, |w| match format {
            Format::Csv => csv::write(report, w),
            Format::Json => json::write(report, w),
            Format::Html => w.write_all(html::render_with(report, campaign).as_bytes()),
            Format::Md => w.write_all(md::render(report).as_bytes()),
            Format::Prom => prom::write(report, last_run, w),
            Format::Table => Ok(()),
        });
        self.staged.push((tmp, path.clone()));
        written.map_err(|source| WriteError { path, source })
    }

    /// Puts every file written in place of the previous set's and returns their paths, in
    /// the order written.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, WriteError> {
        let mut written = Vec::new();
        for (tmp, path) in std::mem::take(&mut self.staged) {
            std::fs::rename(&tmp, &path).map_err(|source| {
                let _ = std::fs::remove_file(&tmp);
                WriteError {
                    path: path.clone(),
                    source,
                }
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

impl Drop for ReportSet {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes one temporary file. No fsync: the rename is what protects readers from a
/// half-written file when a run is interrupted, and flushing hundreds of megabytes to disk
/// would dominate big runs.
fn write_temp(
    tmp: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file = std::fs::File::create(tmp)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    write(&mut w)?;
    w.flush()?;
    drop(w.into_inner().map_err(|e| e.into_error())?);
    Ok(())
}
