//! The command line: clap types (one file per subcommand) and the glue that turns validated
//! settings into library calls. This is the binary's edge, where errors become `anyhow`.
// The binary prints: this is where results meet the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod audit;
mod demo;
mod diff;
mod history;
mod inspect;
mod merge;
mod notify;
mod progress;
mod serve;
mod signals;
mod sim;
mod trend;

use clap::{Parser, Subcommand};

/// Exit codes (ripgrep style): 0 compliant, 1 findings at or above `--fail-on`, 2 the tool
/// could not do its job (bad arguments, unreadable inventory, interrupted run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Clean = 0,
    Findings = 1,
    Error = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "mtls-audit",
    version,
    about = "Audit SAP SuccessFactors Learning tenants for the LMS <-> IAS/IPS mTLS certificate rollover",
    long_about = "Audit a fleet of SAP SuccessFactors Learning tenants for the yearly mutual-TLS \
certificate rollover between Learning (LMS) and SAP Cloud Identity Services (IAS/IPS), and for the \
integration faults that break Real Time User Sync and the creation of Learning sites.\n\n\
Exit codes: 0 no tenant at or above --fail-on; 1 at least one (or an UNKNOWN tenant without \
--allow-unknown); 2 the tool could not do its job.",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Audit every tenant of an inventory CSV and write reports (the main job)
    Audit(Box<audit::AuditArgs>),
    /// Show everything about certificate files, zips or servers (support triage)
    Inspect(inspect::InspectArgs),
    /// Run the IAS/IPS simulator: a fleet of tenants behind one mTLS server
    Sim(sim::SimArgs),
    /// Run the built-in sample: simulator + sample fleet + audit + every report
    Demo(demo::DemoArgs),
    /// Compare two audit.json files: what got fixed, what got worse
    Diff(diff::DiffArgs),
    /// List the runs of a campaign history (audit --history)
    History(history::HistoryArgs),
    /// Per run and group: ready, not ready, and where the campaign is heading
    Trend(trend::TrendArgs),
    /// Mail each owner the steps for their tenants at risk (from an audit.json)
    Notify(Box<notify::NotifyArgs>),
    /// Audit now and every --interval; serve /metrics, /healthz, /audit.json, /report.html
    Serve(Box<serve::ServeArgs>),
    /// Combine the audit.json of the shards of `audit --shard I/N` into one report set
    Merge(merge::MergeArgs),
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Audit(a) => audit::run(*a),
        Command::Inspect(a) => inspect::run(a),
        Command::Sim(a) => sim::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Diff(a) => diff::run(a),
        Command::History(a) => history::run(a),
        Command::Trend(a) => trend::run(a),
        Command::Notify(a) => notify::run(*a),
        Command::Serve(a) => serve::run(*a),
        Command::Merge(a) => merge::run(a),
    }
}

/// Logs go to stderr: warnings by default, `-v` one line per request, `-vv` everything;
/// `RUST_LOG` overrides. Nothing secret is ever logged (see `net` and `sim`).
pub(crate) fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,mtls_audit=info",
        1 => "warn,mtls_audit=debug",
        _ => "debug,mtls_audit=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: logs collected from a pipe or a file (a
        // container's stderr) must not carry escape codes.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .try_init();
}
