//! `mtls-audit sim`: the IAS/IPS simulator (docs/spec.md §7). Prints exactly one JSON line to stdout
//! once it listens, logs to stderr, and exits 0 after a clean shutdown on Ctrl-C or SIGTERM.

use super::Exit;
use super::args::parse_date;
use super::signals::Watcher;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use mtls_audit_sim::{self as sim, Scenario, Server, SimOptions};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(
    after_help = "Without --scenario a fleet of --tenants (default 40) is generated from \
--seed (default 1): a healthy majority and one tenant per broken profile, so every verdict of \
the audit appears. With --export DIR the scenario, inventory, credentials, secrets, LMS \
identity, reference certificate and CA are written to DIR and the audit command to run \
against this simulator is printed to stderr and written to DIR/AUDIT_COMMAND.txt.\n\n\
Endpoints under /_sim/ (health, tenants, faults, counters) are the simulator's own, not SAP \
APIs; see docs/simulator.md."
)]
pub(crate) struct SimArgs {
    /// Scenario file (TOML or JSON) with the tenants to simulate
    #[arg(long, value_name = "FILE", conflicts_with_all = ["tenants", "seed", "export"])]
    pub scenario: Option<PathBuf>,
    /// Generate a fleet of N tenants [default: 40]
    #[arg(long, value_name = "N")]
    pub tenants: Option<usize>,
    /// Seed of the generated fleet (same seed, same fleet; keys differ) [default: 1]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Address to listen on; port 0 picks a free port
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Write everything needed to audit the generated fleet to DIR
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Run rate-limit windows and locks X times faster (60: a minute lasts one second)
    #[arg(long, value_name = "X", default_value = "1", value_parser = parse_scale)]
    pub time_scale: f64,
    /// Where to write the simulator's CA certificate [default: DIR/ca.pem with --export, else a
    /// temporary folder]
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
    /// The simulated date (certificates, users and jobs are dated from it) [default: now]
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub today: Option<DateTime<Utc>>,
    /// Do not enforce SAP's rate limits (for throughput benchmarks)
    #[arg(long)]
    pub no_rate_limits: bool,
    /// Delay every TLS handshake and every response by this much (a realistic round trip,
    /// e.g. 50ms)
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = super::args::parse_duration)]
    pub latency: std::time::Duration,
    /// Largest scenario file, and certificate file it names, that is read (e.g. 64MiB)
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = super::args::parse_size_arg)]
    pub max_scenario_size: u64,
    /// More log output on stderr (-v: one line per request; RUST_LOG also works)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_scale(s: &str) -> Result<f64, String> {
    let x: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(format!("{s} must be a positive number"))
    }
}

pub(super) fn run(args: SimArgs) -> anyhow::Result<Exit> {
    super::init_logging(args.verbose);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The handlers first: a SIGTERM right after the listening line (a test, a supervisor) must
    // shut down cleanly, not kill the process as the default action would. The watcher blocks
    // on a runtime of its own, so it waits on a thread of its own.
    let mut watcher = Watcher::install().context("cannot watch Ctrl-C and SIGTERM")?;
    let (signalled, stop) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            watcher.wait();
            let _ = signalled.send(());
        })
        .context("cannot start the signal thread")?;
    rt.block_on(serve(args, stop))
}

async fn serve(args: SimArgs, stop: tokio::sync::oneshot::Receiver<()>) -> anyhow::Result<Exit> {
    let today = args.today.unwrap_or_else(Utc::now);
    let (scenario, generated) = match &args.scenario {
        Some(path) => (Scenario::load_limited(path, args.max_scenario_size)?, None),
        None => {
            let n = args.tenants.unwrap_or(40);
            let seed = args.seed.unwrap_or(1);
            let g = sim::generate(n, seed, today).context("generating the fleet")?;
            (g.scenario.clone(), Some(g))
        }
    };
    let ca_out = match (&args.ca_out, &args.export) {
        (Some(p), _) => p.clone(),
        (None, Some(dir)) => dir.join("ca.pem"),
        (None, None) => std::env::temp_dir()
            .join(format!("mtls-audit-sim-{}", std::process::id()))
            .join("ca.pem"),
    };
    let ca_out = std::path::absolute(&ca_out).unwrap_or(ca_out);
    let handle = Server::start(
        scenario,
        SimOptions {
            listen: args.listen,
            time_scale: args.time_scale,
            ca_out: Some(ca_out),
            rate_limits: !args.no_rate_limits,
            today: Some(today),
            latency: args.latency,
        },
    )
    .await?;
    let mut command = None;
    if let (Some(dir), Some(g)) = (&args.export, &generated) {
        let dir = std::path::absolute(dir).unwrap_or(dir.clone());
        g.write(&dir, handle.ca_pem(), Some(handle.addr()))
            .context("writing the export")?;
        command = Some(g.audit_command(&dir, handle.addr()));
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", handle.listening_line())?;
        out.flush()?;
    }
    if let Some(cmd) = command {
        eprintln!("audit the simulated fleet with:\n{cmd}");
    }
    let _ = stop.await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(Exit::Clean)
}
