//! `mtls-audit trend FILE`: per complete run and group, how many tenants are ready for the
//! cutover, and where each group is heading (docs/spec.md §10).

use super::Exit;
use super::history::print_stdout;
use clap::{Args, ValueEnum};
use mtls_audit::history::{History, Open};
use mtls_audit::report::campaign;
use mtls_audit::trend::{self, GroupBy};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum By {
    /// The inventory's owner column
    Owner,
    /// preview or production
    Environment,
    /// neo or converged
    #[value(name = "ips_type", alias = "ips-type")]
    IpsType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TrendFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The projection is an ordinary least-squares line of not_ready against the \
run's as-of time over the last --window complete runs: not_ready_at_deadline is the line's \
value at the deadline (rounded, between 0 and the group's tenants), finish the day it reaches \
0 (null when the line is flat or rising, or there is only one run). Interrupted runs are never \
counted.\n\nExit codes: 0 printed; 2 the file is missing, not an mtls-audit history, or of a \
newer schema."
)]
pub(crate) struct TrendArgs {
    /// The history file written by `audit --history`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Group the fleet (default: the whole fleet as one group, `all`)
    #[arg(long, value_enum)]
    pub by: Option<By>,
    /// Output format (to stdout)
    #[arg(long, value_enum, default_value = "table")]
    pub format: TrendFormat,
    /// Complete runs the projection is fitted to (the most recent ones)
    #[arg(long, value_name = "K", default_value_t = trend::DEFAULT_WINDOW, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    pub window: usize,
}

pub(super) fn run(args: TrendArgs) -> anyhow::Result<Exit> {
    let by = match args.by {
        None => GroupBy::All,
        Some(By::Owner) => GroupBy::Owner,
        Some(By::Environment) => GroupBy::Environment,
        Some(By::IpsType) => GroupBy::IpsType,
    };
    let h = History::open(&args.file, Open::Existing)?;
    let t = trend::build(&h.run_counts(by)?, args.window);
    let text = match args.format {
        TrendFormat::Json => {
            let mut s = serde_json::to_string_pretty(&t)?;
            s.push('\n');
            s
        }
        TrendFormat::Csv => campaign::trend_csv(&t)?,
        TrendFormat::Table => campaign::trend_table(&t, by),
    };
    print_stdout(&text)?;
    Ok(Exit::Clean)
}
