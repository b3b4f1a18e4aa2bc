//! `mtls-audit merge DIR...` (docs/spec.md §11): the `audit.json` of every shard of one
//! `audit --shard I/N` back into one report, equal (timestamps aside) to the unsharded run.
//!
//! Shards are refused, with the reason, when they are not shards, come from different
//! inventories (SHA-256 of the file), were judged by different settings (see
//! [`crate::shard::settings_sha256`]) or split the inventory in a different number of shards,
//! or when a shard is missing or given twice.

use crate::inputs::InputLimits;
use crate::result::{AuditReport, Summary};
use mtls_audit_input::FileError;
use std::path::{Path, PathBuf};

/// One shard's report and where it was read from.
#[derive(Debug, Clone)]
pub struct Part {
    /// The `audit.json` read.
    pub path: PathBuf,
    /// Its content.
    pub report: AuditReport,
}

/// A shard's `audit.json` cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be read (missing, not a regular file, over `--max-report-size`).
    #[error(transparent)]
    Input(#[from] FileError),
    /// The file is not an `audit.json` of this tool.
    #[error("{path}: not an audit.json: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The JSON reader's reason.
        reason: String,
    },
}

/// Reads one shard: `DIR/audit.json`, or the file itself when `path` is not a folder.
pub fn read(path: &Path, limits: &InputLimits) -> Result<Part, ReadError> {
    let file = if path.is_dir() {
        path.join("audit.json")
    } else {
        path.to_path_buf()
    };
    let bytes = mtls_audit_input::read_file(&file, &limits.report())?;
    let report = crate::report::json::read(&bytes).map_err(|e| ReadError::Format {
        path: file.clone(),
        reason: e.to_string(),
    })?;
    Ok(Part { path: file, report })
}

/// Why shards are not merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No file was given.
    #[error("no shard to merge")]
    Nothing,
    /// A report without a `shard` record (written without `--shard`).
    #[error("{path} is not a shard: it has no \"shard\" record (written without --shard)")]
    NotAShard {
        /// The file.
        path: PathBuf,
    },
    /// Two shards disagree on something that must be the same.
    #[error("{first} and {other} are shards of different {what}")]
    Different {
        /// What differs: `inventories`, `settings`, `shard counts`, `shard hashes`.
        what: &'static str,
        /// The first shard given.
        first: PathBuf,
        /// The shard that differs from it.
        other: PathBuf,
    },
    /// The same shard twice.
    #[error("shard {index} is given twice: {first} and {other}")]
    Duplicate {
        /// I.
        index: u32,
        /// Where it was first.
        first: PathBuf,
        /// Where it was again.
        other: PathBuf,
    },
    /// Shards are missing.
    #[error(
        "shard{} {} of {count} {} missing",
        if missing.len() == 1 { "" } else { "s" },
        list(missing),
        if missing.len() == 1 { "is" } else { "are" }
    )]
    Missing {
        /// The missing indexes.
        missing: Vec<u32>,
        /// N.
        count: u32,
    },
    /// The shards' rows do not add up to the inventory's.
    #[error("the shards hold {got} inventory rows, the inventory has {want}")]
    Rows {
        /// Rows in the shards.
        got: u64,
        /// Rows in the inventory.
        want: u64,
    },
}

fn list(v: &[u32]) -> String {
    v.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Merges the shards of one run: tenants and inventory errors in inventory order, the summary
/// recomputed, complete when every shard is. The merged report has the earliest as-of of the
/// shards and no `shard` record.
pub fn merge(parts: Vec<Part>) -> Result<AuditReport, MergeError> {
    let Some(first) = parts.first() else {
        return Err(MergeError::Nothing);
    };
    let shard_of = |p: &Part| {
        p.report.shard.clone().ok_or_else(|| MergeError::NotAShard {
            path: p.path.clone(),
        })
    };
    let head = shard_of(first)?;
    let mut seen: Vec<Option<&Path>> = vec![None; usize::try_from(head.count).unwrap_or(0)];
    for p in &parts {
        let s = shard_of(p)?;
        let differ = |what| MergeError::Different {
            what,
            first: first.path.clone(),
            other: p.path.clone(),
        };
        if s.hash != head.hash {
            return Err(differ("shard hashes"));
        }
        if s.inventory_sha256 != head.inventory_sha256 || s.inventory_rows != head.inventory_rows {
            return Err(differ("inventories"));
        }
        if s.settings_sha256 != head.settings_sha256 {
            return Err(differ("settings"));
        }
        if s.count != head.count {
            return Err(differ("shard counts"));
        }
        let slot = usize::try_from(s.index)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| seen.get_mut(i))
            .ok_or_else(|| differ("shard counts"))?;
        if let Some(before) = slot {
            return Err(MergeError::Duplicate {
                index: s.index,
                first: before.to_path_buf(),
                other: p.path.clone(),
            });
        }
        *slot = Some(&p.path);
    }
    let missing: Vec<u32> = (1..=head.count)
        .zip(&seen)
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i)
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            count: head.count,
        });
    }
    let rows: u64 = parts.iter().map(|p| p.report.summary.rows).sum();
    if rows != head.inventory_rows {
        return Err(MergeError::Rows {
            got: rows,
            want: head.inventory_rows,
        });
    }
    let skipped: u64 = parts.iter().map(|p| p.report.summary.skipped_rows).sum();
    let complete = parts.iter().all(|p| p.report.complete);
    let as_of = parts
        .iter()
        .map(|p| p.report.as_of)
        .min()
        .unwrap_or(first.report.as_of);
    let mut parts = parts;
    let mut base = parts.remove(0).report;
    for p in parts {
        base.tenants.extend(p.report.tenants);
        base.inventory_errors.extend(p.report.inventory_errors);
    }
    base.tenants.sort_by_key(|t| t.line);
    base.inventory_errors.sort_by_key(|e| e.line);
    base.summary = Summary::from_tenants(
        &base.tenants,
        rows,
        base.inventory_errors.len() as u64,
        skipped,
    );
    base.as_of = as_of;
    base.complete = complete;
    base.shard = None;
    Ok(base)
}
