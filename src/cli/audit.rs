//! `mtls-audit audit INVENTORY.csv`: the main job.

use super::Exit;
use super::args::{CertArgs, parse_days, parse_delimiter, parse_duration};
use anyhow::Context as _;
use clap::Args;
use mtls_audit::audit::{self, Options};
use mtls_audit::cert::Limits;
use mtls_audit::inventory;
use mtls_audit::report::{self, Format, table};
use mtls_audit::result::AuditReport;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The tenant inventory (CSV with a header row; see the README for the columns)
    #[arg(value_name = "INVENTORY.csv")]
    pub inventory: PathBuf,
    #[command(flatten)]
    pub cert: CertArgs,
    /// SYNC_STALE when no LMS-provisioned user was created or changed within N days
    #[arg(long, value_name = "N", default_value = "7", value_parser = parse_days)]
    pub sync_stale_days: i64,
    /// Folder for the report files
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Comma-separated list of table, csv, json, html, md
    #[arg(long, value_name = "LIST", default_value = "table,csv,json")]
    pub format: String,
    /// Field delimiter of the inventory (',' or ';' for spreadsheets that use it)
    #[arg(long, value_name = "CHAR", default_value = ",", value_parser = parse_delimiter)]
    pub delimiter: u8,
    /// Make no network connection at all: judge the inventory's evidence files only
    #[arg(long)]
    pub offline: bool,
    /// Tenants audited at the same time
    #[arg(long, value_name = "N", default_value = "64")]
    pub concurrency: usize,
    /// Timeout of each request (connect, TLS and response)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Retries of a request after a connection error, 429 or 5xx (jittered exponential backoff;
    /// Retry-After is honoured)
    #[arg(long, value_name = "N", default_value = "3")]
    pub retries: u32,
    /// Credentials file (TOML) for the inventory's `credential` column
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// The LMS client certificate (enables the mTLS acceptance probes)
    #[arg(long, value_name = "FILE", requires = "lms_key")]
    pub lms_cert: Option<PathBuf>,
    /// The LMS client certificate's private key (PEM, unencrypted)
    #[arg(long, value_name = "FILE", requires = "lms_cert")]
    pub lms_key: Option<PathBuf>,
    /// An extra trust anchor for servers (PEM), e.g. the simulator's CA
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Send every connection to HOST:PORT, keeping the URL's host name for SNI and Host
    #[arg(long, value_name = "HOST:PORT")]
    pub connect_to: Option<String>,
    /// Print nothing but errors (reports are still written)
    #[arg(long, short)]
    pub quiet: bool,
    /// No progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// Tenants shown in the terminal table, worst first (0: all); files always hold all
    #[arg(long, value_name = "N", default_value = "100")]
    pub table_limit: usize,
}

pub fn run(args: AuditArgs) -> anyhow::Result<Exit> {
    let formats = report::parse_formats(&args.format).map_err(anyhow::Error::msg)?;
    let limits = Limits::default();
    let policy = args.cert.policy(&limits)?;
    let inv = inventory::read_file(&args.inventory, args.delimiter)?;
    let opts = Options {
        policy,
        sync_stale_days: args.sync_stale_days,
        fail_on: args.cert.fail_on.0,
        allow_unknown: args.cert.allow_unknown,
        offline: args.offline,
        limits,
    };
    let report = audit::run_offline(&inv, &opts);
    emit(&report, &args.out, &formats, args.quiet, args.table_limit)?;
    Ok(exit_for(&report, &opts))
}

/// Exit code of a finished run.
pub fn exit_for(report: &AuditReport, opts: &Options) -> Exit {
    if !report.complete {
        Exit::Error
    } else if audit::fails(report, opts.fail_on, opts.allow_unknown) {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// Writes the report files and prints the table (stdout) and where the files are (stderr).
pub fn emit(
    report: &AuditReport,
    out: &std::path::Path,
    formats: &[Format],
    quiet: bool,
    table_limit: usize,
) -> anyhow::Result<()> {
    let written = report::write_files(report, out, formats)
        .with_context(|| format!("writing reports to {}", out.display()))?;
    if quiet {
        return Ok(());
    }
    let stdout = std::io::stdout();
    if formats.contains(&Format::Table) {
        let opts = table::Options::detect(stdout.is_terminal(), table_limit);
        let text = table::render(report, &opts);
        let mut lock = stdout.lock();
        // A closed pipe (`| head`) is not an error worth exit code 2.
        if let Err(e) = lock.write_all(text.as_bytes()).and_then(|_| lock.flush())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(e.into());
        }
    } else {
        eprintln!("{}", table::summary_line(report));
    }
    if !written.is_empty() {
        let list: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("reports: {}", list.join(", "));
    }
    Ok(())
}
