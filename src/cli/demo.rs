//! `mtls-audit demo`: the built-in sample, end to end, with no setup and no network.

use super::Exit;
use super::audit::emit;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use mtls_audit::audit::{self, Options, load_references};
use mtls_audit::cert::Limits;
use mtls_audit::checks::cert::Policy;
use mtls_audit::demo;
use mtls_audit::findings::Level;
use mtls_audit::inventory;
use mtls_audit::report::Format;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the sample fleet and every report format
    #[arg(long, value_name = "DIR", default_value = "reports/demo")]
    pub out: PathBuf,
    /// Tenants shown in the terminal table, worst first (0: all)
    #[arg(long, value_name = "N", default_value = "0")]
    pub table_limit: usize,
}

pub fn run(args: DemoArgs) -> anyhow::Result<Exit> {
    let now = Utc::now();
    let today =
        DateTime::from_timestamp(now.timestamp(), 0).context("the clock is out of range")?;
    let fleet_dir = args.out.join("fleet");
    let fleet = demo::write_sample_fleet(&fleet_dir, today)
        .with_context(|| format!("writing the sample fleet to {}", fleet_dir.display()))?;
    let limits = Limits::default();
    let references = load_references(std::slice::from_ref(&fleet.reference_zip), &limits)
        .map_err(anyhow::Error::msg)?;
    let opts = Options {
        policy: Policy {
            as_of: today,
            deadline: Some(fleet.timeline.deadline),
            cutover: Some(fleet.timeline.cutover),
            warn_days: 30,
            critical_days: 14,
            references,
        },
        sync_stale_days: 7,
        fail_on: Some(Level::AtRisk),
        allow_unknown: false,
        offline: true,
        limits,
    };
    let inv = inventory::read_file(&fleet.inventory, b',')?;
    let report = audit::run_offline(&inv, &opts);
    emit(&report, &args.out, &Format::ALL, false, args.table_limit)?;
    eprintln!(
        "sample fleet: {} (reference certificate {}, deadline {}, cutover {})",
        fleet.inventory.display(),
        fleet.reference_zip.display(),
        fleet.timeline.deadline.format("%Y-%m-%d"),
        fleet.timeline.cutover.format("%Y-%m-%d")
    );
    Ok(Exit::Clean)
}
