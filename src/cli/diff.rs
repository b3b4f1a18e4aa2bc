//! `mtls-audit diff OLD/audit.json NEW/audit.json`: what got fixed and what got worse between
//! two runs. Exit 0 when nothing got worse, 1 when something did (so it can gate a pipeline),
//! 2 when a file cannot be read.

use super::Exit;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use mtls_audit::diff;
use mtls_audit::inputs::InputLimits;
use mtls_audit::report::{csv, json, md, table};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    Table,
    Csv,
    Json,
    Md,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Tenants are matched by tenant_id; files of other tool versions are read leniently.\n\
Worse means: a tenant's risk level went up, a tenant is newly at or above AT_RISK (an added tenant \
too), or a tenant gained a finding at AT_RISK or above.\n\n\
Exit codes: 0 nothing got worse; 1 something got worse; 2 a file could not be read."
)]
pub(crate) struct DiffArgs {
    /// The earlier run's audit.json
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The later run's audit.json
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Output format (to stdout)
    #[arg(long, value_enum, default_value = "table")]
    pub format: DiffFormat,
    /// Changed tenants shown in the table, worse first (0: all); csv, json and md list all
    #[arg(long, value_name = "N", default_value = "200")]
    pub table_limit: usize,
    /// Largest audit.json read [default: 2GiB]
    #[arg(long, value_name = "SIZE", value_parser = super::args::parse_size_arg)]
    pub max_report_size: Option<u64>,
}

pub(super) fn run(args: DiffArgs) -> anyhow::Result<Exit> {
    let mut limits = InputLimits::default();
    if let Some(max) = args.max_report_size {
        limits.report = max;
    }
    let old = diff::read(&args.old, &limits.report()).context("reading OLD")?;
    let new = diff::read(&args.new, &limits.report()).context("reading NEW")?;
    let d = diff::compare(&old, &new);
    let stdout = std::io::stdout();
    let mut buf: Vec<u8> = Vec::new();
    match args.format {
        DiffFormat::Table => {
            let opts = table::Options::detect(stdout.is_terminal(), args.table_limit);
            buf.extend_from_slice(table::diff(&d, &opts).as_bytes());
        }
        DiffFormat::Csv => csv::write_diff(&d, &mut buf)?,
        DiffFormat::Json => json::write_diff(&d, &mut buf)?,
        DiffFormat::Md => buf.extend_from_slice(md::render_diff(&d).as_bytes()),
    }
    let mut lock = stdout.lock();
    // A closed pipe (`| head`) is not an error worth exit code 2.
    if let Err(e) = lock.write_all(&buf).and_then(|_| lock.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    // JSON and Markdown carry the notes; for the others they go to stderr, away from the data.
    if matches!(args.format, DiffFormat::Table | DiffFormat::Csv) {
        for n in &d.notes {
            eprintln!("note: {}", mtls_audit::report::terminal_line(n, 500));
        }
    }
    // An interrupted new run proves nothing: a pipeline gating on `diff` must not pass it.
    Ok(if d.worse || !d.new_complete {
        Exit::Findings
    } else {
        Exit::Clean
    })
}
