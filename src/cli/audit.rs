//! `mtls-audit audit INVENTORY.csv`: the main job.

use super::Exit;
use super::args::{CertArgs, InputArgs, NetArgs, parse_days, parse_delimiter, parse_duration};
use super::history::{Campaign, Recorded};
use super::progress::Progress;
use super::signals::Signals;
use anyhow::Context as _;
use clap::Args;
use mtls_audit::audit::{self, Options};
use mtls_audit::inputs::InputLimits;
use mtls_audit::inventory;
use mtls_audit::live::{Live, StopFlag};
use mtls_audit::net::{Credentials, NetClient};
use mtls_audit::report::{self, Format, prom, table};
use mtls_audit::result::AuditReport;
use mtls_audit::shard::{self, Shard};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
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
    /// Comma-separated list of table, csv, json, html, md, prom
    #[arg(long, value_name = "LIST", default_value = "table,csv,json")]
    pub format: String,
    /// Audit only shard I of N: the tenants whose tenant_id (case-insensitive) hashes to I;
    /// inventory errors go to shard 1. `mtls-audit merge` puts the shards together
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Field delimiter of the inventory (',' or ';' for spreadsheets that use it)
    #[arg(long, value_name = "CHAR", default_value = ",", value_parser = parse_delimiter)]
    pub delimiter: u8,
    /// Make no network connection at all: judge the inventory's evidence files only
    #[arg(long)]
    pub offline: bool,
    /// Tenants audited at the same time
    #[arg(long, value_name = "N", default_value = "256")]
    pub concurrency: usize,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub campaign: super::history::CampaignArgs,
    /// Credentials file (TOML) for the inventory's `credential` column
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Print nothing but errors (reports are still written)
    #[arg(long, short)]
    pub quiet: bool,
    /// No progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// Tenants shown in the terminal table, worst first (0: all); files always hold all
    #[arg(long, value_name = "N", default_value = "100")]
    pub table_limit: usize,
    /// The longest one tenant's live checks may take, retries included
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub tenant_deadline: Duration,
    /// More log output on stderr (-v: one line per request; RUST_LOG also works)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

pub(super) fn run(args: AuditArgs) -> anyhow::Result<Exit> {
    // First, so that Ctrl-C during a long inventory read already stops cleanly.
    let signals = Signals::watch("no new tenant starts; tenants in flight get a few seconds");
    let prepared = Prepared::from_args(&args)?;
    let mut campaign = Campaign::start(&args.campaign, &args.out)?;
    let started = std::time::Instant::now();
    let report = prepared.audit_once(&args, signals.stop(), true)?;
    let last_run = prom::LastRun {
        finished: chrono::Utc::now(),
        duration_seconds: Some(started.elapsed().as_secs_f64()),
        success: report.complete,
    };
    let shown = Shown {
        quiet: args.quiet,
        table_limit: args.table_limit,
    };
    emit_recorded(
        &mut campaign,
        &report,
        &args.out,
        &prepared.formats,
        last_run,
        shown,
    )?;
    if !report.complete {
        eprintln!(
            "interrupted: the reports hold every tenant; those whose checks did not finish are UNKNOWN (CHECK_NOT_FINISHED)"
        );
    }
    Ok(exit_for(&report, &prepared.opts))
}

/// Everything an audit run needs, read and checked from the arguments before any tenant is
/// looked at (so a bad file or folder is refused at once). `serve` prepares one per run.
pub(super) struct Prepared {
    /// The report formats of `--format`.
    pub(super) formats: Vec<Format>,
    /// The input size limits.
    pub(super) input: InputLimits,
    /// The inventory, read.
    pub(super) inv: inventory::Inventory,
    /// The judging options.
    pub(super) opts: Options,
    /// `--shard`, with the inventory's digest and row count for the report's `shard` record.
    pub(super) shard: Option<(Shard, String, u64)>,
}

impl Prepared {
    /// Reads the inventory and the references, builds the options and checks the output
    /// folder: the folder must be writable and no report may replace an input.
    pub(super) fn from_args(args: &AuditArgs) -> anyhow::Result<Prepared> {
        if let (Some(s), Some(h)) = (args.shard, &args.campaign.history) {
            anyhow::bail!(
                "--shard {s} with --history {}: a shard is a part of a run, and the history \
                 counts whole runs; record the merged run with `mtls-audit merge SHARD_DIR... \
                 --history {}`",
                h.display(),
                h.display()
            );
        }
        let formats = report::parse_formats(&args.format).map_err(anyhow::Error::msg)?;
        let input = args.input.limits();
        let limits = input.certificates();
        let policy = args.cert.policy(&input)?;
        let mut inv = inventory::read_file(&args.inventory, args.delimiter, &input.inventory())?;
        let shard = args.shard.map(|s| {
            let rows = shard::select(&mut inv, s);
            (s, inv.sha256.clone(), rows)
        });
        let opts = Options {
            policy,
            sync_stale_days: args.sync_stale_days,
            fail_on: args.cert.fail_on.0,
            allow_unknown: args.cert.allow_unknown,
            offline: args.offline,
            limits,
        };
        report::check_out(&args.out, &formats, &audit_inputs(args, &inv))
            .context("the output folder cannot be used")?;
        Ok(Prepared {
            formats,
            input,
            inv,
            opts,
            shard,
        })
    }

    /// One audit: offline, or live with the network layer of the arguments. `progress` draws
    /// the bar when stderr is a terminal (and the flags allow it).
    pub(super) fn audit_once(
        &self,
        args: &AuditArgs,
        stop: &StopFlag,
        progress: bool,
    ) -> anyhow::Result<AuditReport> {
        let mut report = self.audit_unsharded(args, stop, progress)?;
        if let Some((s, sha256, rows)) = &self.shard {
            report.shard = Some(shard::info(*s, sha256, *rows, &report));
        }
        Ok(report)
    }

    fn audit_unsharded(
        &self,
        args: &AuditArgs,
        stop: &StopFlag,
        progress: bool,
    ) -> anyhow::Result<AuditReport> {
        if args.offline {
            return Ok(audit::run_offline(&self.inv, &self.opts, stop));
        }
        super::init_logging(args.verbose);
        let live = live_setup(args, &self.input)?;
        if let Some(next) = &live.next_lms
            && !self.opts.policy.references.is_empty()
            && !self
                .opts
                .policy
                .references
                .contains_sha256(next.fingerprint())
        {
            eprintln!(
                "warning: --next-lms-cert is none of the --reference-cert certificates: is it the certificate SAP ships for the cutover?"
            );
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let visible =
            progress && std::io::stderr().is_terminal() && !args.quiet && !args.no_progress;
        let bar = Progress::new(self.inv.tenants.len() as u64, visible);
        let report = rt.block_on(mtls_audit::live::run(
            &self.inv,
            &self.opts,
            Arc::new(live),
            &bar,
            stop,
        ));
        // Blocking work still running (a DNS lookup) must not hold the exit up.
        rt.shutdown_timeout(Duration::from_secs(1));
        Ok(report)
    }
}

/// The files this run reads, which no report may replace.
fn audit_inputs(args: &AuditArgs, inv: &inventory::Inventory) -> Vec<PathBuf> {
    let mut v = vec![args.inventory.clone()];
    v.extend(args.cert.reference_cert.iter().cloned());
    v.extend(args.credentials.iter().cloned());
    v.extend(args.net.ca_cert.iter().cloned());
    v.extend(args.net.lms_cert.iter().cloned());
    v.extend(args.net.lms_key.iter().cloned());
    v.extend(args.net.next_lms_cert.iter().cloned());
    v.extend(args.net.next_lms_key.iter().cloned());
    for t in &inv.tenants {
        v.extend(t.ias_admin_cert.iter().cloned());
        v.extend(t.ips_inbound_cert.iter().cloned());
    }
    v
}

/// The network layer, credentials and LMS identity from the flags. Problems with files the
/// user named are errors (exit 2); warnings (a key readable by others) go to stderr.
fn live_setup(args: &AuditArgs, input: &InputLimits) -> anyhow::Result<Live> {
    let (cfg, lms, next_lms) = args.net.config(args.concurrency, input)?;
    let credentials = match &args.credentials {
        Some(p) => {
            let c = Credentials::load(p, input)?;
            for w in c.warnings() {
                eprintln!("warning: {w}");
            }
            Some(c)
        }
        None => None,
    };
    let client = NetClient::new(cfg)?;
    Ok(Live {
        next_lms,
        client,
        credentials,
        lms,
        tenant_deadline: args.tenant_deadline,
        concurrency: args.concurrency,
    })
}

/// Exit code of a finished run.
pub(super) fn exit_for(report: &AuditReport, opts: &Options) -> Exit {
    if !report.complete {
        Exit::Error
    } else if audit::fails(report, opts.fail_on, opts.allow_unknown) {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// Writes the report set of a run into `out` and appends the run to the campaign's history
/// (when it has one) on a second thread meanwhile: report.html, which draws the burndown,
/// waits for it. Returns what was written and what was recorded, each with its own error.
pub(super) fn write_and_record(
    campaign: &mut Campaign,
    report: &AuditReport,
    out: &Path,
    formats: &[Format],
    last_run: prom::LastRun,
) -> (
    anyhow::Result<Vec<PathBuf>>,
    anyhow::Result<Option<Recorded>>,
) {
    let write_error = reports_error(out);
    let mut set = match report::ReportSet::begin(out) {
        Ok(set) => set,
        Err(e) => return (Err(write_error(e)), Ok(None)),
    };
    let (recorded, early) = campaign.record_while(report, || {
        for f in formats.iter().filter(|f| **f != Format::Html) {
            set.write(report, *f, None, last_run)?;
        }
        Ok::<_, report::WriteError>(())
    });
    let written = early
        .and_then(|()| {
            if formats.contains(&Format::Html) {
                let drawn = recorded
                    .as_ref()
                    .ok()
                    .and_then(|r| r.as_ref())
                    .and_then(Recorded::campaign);
                set.write(report, Format::Html, drawn.as_ref(), last_run)?;
            }
            set.commit()
        })
        .map_err(write_error);
    (written, recorded)
}

/// How much of a run [`emit_recorded`] prints.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shown {
    /// Nothing but errors.
    pub quiet: bool,
    /// Tenants in the terminal table.
    pub table_limit: usize,
}

/// What `audit` and `merge` do with a finished run: [`write_and_record`], then the table and
/// where the files went, the owner folders, and where the run went in the history. A failure
/// of the history still leaves the run's reports written (and is then the error: exit 2).
pub(super) fn emit_recorded(
    campaign: &mut Campaign,
    report: &AuditReport,
    out: &Path,
    formats: &[Format],
    last_run: prom::LastRun,
    shown: Shown,
) -> anyhow::Result<()> {
    let (written, recorded) = write_and_record(campaign, report, out, formats, last_run);
    let written = written?;
    let burndown = recorded.as_ref().ok().and_then(|r| r.as_ref());
    show(report, &written, formats, shown.quiet, shown.table_limit)?;
    campaign.split(report, out, formats, burndown, shown.quiet)?;
    if let Some(r) = recorded? {
        campaign.announce(&r, shown.quiet);
    }
    Ok(())
}

/// Writes the report files, with what a report set holds beyond the report (the demo's
/// burndown, how the run went), and prints the table (stdout) and where they are (stderr).
pub(super) fn emit_with(
    report: &AuditReport,
    extras: report::Extras<'_>,
    out: &Path,
    formats: &[Format],
    quiet: bool,
    table_limit: usize,
) -> anyhow::Result<()> {
    let written =
        report::write_files_with(report, out, formats, extras).map_err(reports_error(out))?;
    show(report, &written, formats, quiet, table_limit)
}

/// A report file that could not be written, with the folder it was going to.
fn reports_error(out: &Path) -> impl Fn(report::WriteError) -> anyhow::Error + Copy + '_ {
    move |e| anyhow::Error::new(e).context(format!("writing reports to {}", out.display()))
}

/// Prints the table (stdout) or the summary line, and where the files are (stderr).
fn show(
    report: &AuditReport,
    written: &[PathBuf],
    formats: &[Format],
    quiet: bool,
    table_limit: usize,
) -> anyhow::Result<()> {
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
