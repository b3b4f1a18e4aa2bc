//! `mtls-audit demo`: the built-in sample, end to end, with no setup and no network.

mod campaign;
mod error;
mod fleet;

use super::Exit;
use super::audit::emit_with;
use super::progress::Progress;
use super::signals::Signals;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use fleet::DemoOptions;
use mtls_audit::report::Format;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Folder for the sample fleet and every report format
    #[arg(long, value_name = "DIR", default_value = "reports/demo")]
    pub out: PathBuf,
    /// Tenants in the sample fleet
    #[arg(long, value_name = "N", default_value = "200")]
    pub tenants: usize,
    /// Seed of the sample fleet
    #[arg(long, value_name = "S", default_value = "2026")]
    pub seed: u64,
    /// Tenants shown in the terminal table, worst first (0: all)
    #[arg(long, value_name = "N", default_value = "40")]
    pub table_limit: usize,
}

pub(super) fn run(args: DemoArgs) -> anyhow::Result<Exit> {
    if args.tenants == 0 {
        anyhow::bail!("--tenants must be at least 1");
    }
    let now = Utc::now();
    let today =
        DateTime::from_timestamp(now.timestamp(), 0).context("the clock is out of range")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let opts = DemoOptions {
        out: args.out.clone(),
        tenants: args.tenants,
        seed: args.seed,
        today,
    };
    let started = std::time::Instant::now();
    let signals = Signals::watch("the demo audit stops");
    let runs = campaign::RUN_DAYS_AGO.len() as u64;
    let progress = Progress::new(
        (args.tenants as u64 + 3) * runs,
        std::io::stderr().is_terminal(),
    );
    let run = rt
        .block_on(fleet::run(&opts, &progress, signals.stop()))
        .context("the demo could not run")?;
    let burndown = run.trend.as_ref().and_then(|t| {
        t.group(mtls_audit::trend::ALL_GROUP)
            .map(|group| mtls_audit::report::Campaign { trend: t, group })
    });
    emit_with(
        &run.report,
        mtls_audit::report::Extras {
            campaign: burndown,
            last_run: None,
        },
        &args.out,
        &Format::ALL,
        false,
        args.table_limit,
    )?;
    let shown = campaign::show(&run.report, &args.out, &run.history)?;
    eprintln!(
        "demo: {} tenants audited live against the simulator at {} in {:.1} s",
        run.report.tenants.len(),
        run.sim_addr,
        started.elapsed().as_secs_f64()
    );
    eprintln!("{shown}");
    eprintln!(
        "sample fleet: {} (reference certificate {}, deadline {}, cutover {})",
        run.inventory.display(),
        run.reference_zip.display(),
        run.options
            .policy
            .deadline
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        run.options
            .policy
            .cutover
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    );
    // The demo shows findings; it succeeded if it ran.
    Ok(Exit::Clean)
}
