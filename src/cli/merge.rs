//! `mtls-audit merge DIR... --out DIR`: the shards of one `audit --shard I/N` into one report
//! set (docs/spec.md §11).

use super::Exit;
use super::audit::{Shown, emit_recorded};
use super::history::{Campaign, CampaignArgs};
use anyhow::Context as _;
use clap::Args;
use mtls_audit::inputs::InputLimits;
use mtls_audit::merge;
use mtls_audit::report;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(
    after_help = "Each DIR is a shard's output folder (its audit.json is read) or an audit.json itself. \
The shards must come from the same inventory file, the same settings and the same N, every shard \
1..N exactly once; otherwise nothing is written and the exit code is 2.\n\n\
Exit codes as for audit, judged by the shards' --fail-on and --allow-unknown: 0 no tenant at or \
above --fail-on; 1 at least one; 2 the shards cannot be merged, or one was interrupted."
)]
pub(crate) struct MergeArgs {
    /// The shards' output folders (or their audit.json files)
    #[arg(value_name = "DIR", required = true)]
    pub shards: Vec<PathBuf>,
    /// Folder for the merged report files
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Comma-separated list of table, csv, json, html, md, prom
    #[arg(long, value_name = "LIST", default_value = "table,csv,json")]
    pub format: String,
    /// Print nothing but errors (reports are still written)
    #[arg(long, short)]
    pub quiet: bool,
    /// Tenants shown in the terminal table, worst first (0: all); files always hold all
    #[arg(long, value_name = "N", default_value = "100")]
    pub table_limit: usize,
    /// Largest audit.json read [default: 2GiB]
    #[arg(long, value_name = "SIZE", value_parser = super::args::parse_size_arg)]
    pub max_report_size: Option<u64>,
    #[command(flatten)]
    pub campaign: CampaignArgs,
}

pub(super) fn run(args: MergeArgs) -> anyhow::Result<Exit> {
    let formats = report::parse_formats(&args.format).map_err(anyhow::Error::msg)?;
    let mut limits = InputLimits::default();
    if let Some(max) = args.max_report_size {
        limits.report = max;
    }
    let mut parts = Vec::with_capacity(args.shards.len());
    for p in &args.shards {
        parts.push(merge::read(p, &limits).context("reading a shard")?);
    }
    let inputs: Vec<PathBuf> = parts.iter().map(|p| p.path.clone()).collect();
    report::check_out(&args.out, &formats, &inputs).context("the output folder cannot be used")?;
    let merged = merge::merge(parts).context("the shards cannot be merged")?;
    // Opened once the shards are known to merge: a refused merge leaves the history alone.
    let mut campaign = Campaign::start(&args.campaign, &args.out)?;
    let last_run = report::prom::LastRun {
        finished: chrono::Utc::now(),
        // The shards' durations are theirs; the merge's own is not the run's.
        duration_seconds: None,
        success: merged.complete,
    };
    let shown = Shown {
        quiet: args.quiet,
        table_limit: args.table_limit,
    };
    emit_recorded(&mut campaign, &merged, &args.out, &formats, last_run, shown)?;
    if !merged.complete {
        eprintln!(
            "incomplete: a shard was interrupted; its tenants whose checks did not finish are UNKNOWN (CHECK_NOT_FINISHED)"
        );
    }
    // Judged by what the shards recorded: merge has no --fail-on of its own.
    let (fail_on, allow_unknown) = (merged.settings.fail_on, merged.settings.allow_unknown);
    Ok(if !merged.complete {
        Exit::Error
    } else if mtls_audit::audit::fails(&merged, fail_on, allow_unknown) {
        Exit::Findings
    } else {
        Exit::Clean
    })
}
