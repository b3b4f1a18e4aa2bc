//! `mtls-audit demo`: the whole product on a built-in sample, with no setup and no network.
//!
//! It generates a fleet (both IPS types, every failure mode, certificates dated relative to
//! today), starts the simulator in-process on loopback, writes the fleet's inventory,
//! evidence, credentials and LMS identities (the current one and the next, which LMS presents
//! from the cutover) the way an operator would hold them, ships the new LMS certificate as a
//! zip the way SAP ships `cer.zip`, appends three rows that cannot be audited (to show how they
//! are reported), and audits the fleet live with both identities, so the reports show each
//! tenant's readiness for the cutover.

use super::campaign;
pub(super) use super::error::DemoError;
use chrono::{DateTime, Duration, Utc};
use mtls_audit::audit::{Options, load_references};
use mtls_audit::checks::cert::Policy;
use mtls_audit::findings::Level;
use mtls_audit::inputs::InputLimits;
use mtls_audit::inventory;
use mtls_audit::live::Progress;
use mtls_audit::live::{self, Live, StopFlag};
use mtls_audit::net::{ClientIdentity, ConnectTo, Credentials, NetClient, NetConfig, RetryPolicy};
use mtls_audit::result::AuditReport;
use mtls_audit_cert::Limits;
use mtls_audit_sim::{self as sim, Server, SimOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the sample is made.
#[derive(Debug, Clone)]
pub(super) struct DemoOptions {
    pub out: PathBuf,
    pub tenants: usize,
    pub seed: u64,
    pub today: DateTime<Utc>,
}

/// What the demo produced.
#[derive(Debug)]
pub(super) struct DemoRun {
    pub report: AuditReport,
    pub options: Options,
    pub inventory: PathBuf,
    pub reference_zip: PathBuf,
    pub sim_addr: std::net::SocketAddr,
    /// The campaign's trend over the runs (the last one is `report`).
    pub trend: Option<mtls_audit::trend::Trend>,
    /// The history every run was appended to.
    pub history: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A zip holding one file, as SAP's `cer.zip`.
pub(super) fn write_zip(path: &Path, name: &str, bytes: &[u8]) -> Result<(), DemoError> {
    let zerr = |source| DemoError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io(path))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(name, opts).map_err(zerr)?;
    zip.write_all(bytes).map_err(io(path))?;
    zip.finish().map_err(zerr)?;
    Ok(())
}

/// Three rows that cannot be audited: no tenant ID, a repeated one, an unknown IPS type.
fn bad_rows(first_id: &str) -> String {
    format!(
        ",neo,,,,,,,,,,Row without a tenant ID\n{first_id},converged,,,,,,,,,,Repeated row\nLEGACY01,neo-classic,,,,,,,,,,Mo Ali <mo.ali@legacy.example>\n"
    )
}

/// Generates the sample and runs the campaign: the fleet is served and audited at each of the
/// campaign's dates, one simulator per date with its clock set to it and the fleet as it was
/// then (laggards without the new certificate yet), each run reading that date's inventory. The
/// runs are independent, so they run at the same time; they are appended to
/// `OUT/history.sqlite` oldest first. The simulators are stopped before returning.
pub(super) async fn run(
    opts: &DemoOptions,
    progress: &dyn Progress,
    stop: &StopFlag,
) -> Result<DemoRun, DemoError> {
    use mtls_audit::history::{History, Open, RunTimes};
    let fleet = sim::generate(opts.tenants, opts.seed, opts.today)?;
    let plan = campaign::Plan::new(&fleet, opts.today)?;
    let history_path = opts.out.join("history.sqlite");
    // Each demo is a campaign of its own.
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", history_path.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let mut history = History::open(&history_path, Open::Create)?;
    let dates: Vec<DateTime<Utc>> = campaign::RUN_DAYS_AGO
        .iter()
        .map(|d| opts.today - Duration::days(*d))
        .collect();
    let mut servers = Vec::new();
    for (run, as_of) in dates.iter().enumerate() {
        // Rate-limit windows run 60 times faster so the throttled tenant's block ends quickly;
        // the limits themselves are SAP's.
        let started = Server::start(
            fleet.scenario.clone(),
            SimOptions {
                time_scale: 60.0,
                today: Some(*as_of),
                ..SimOptions::default()
            },
        )
        .await;
        let server = match started {
            Ok(s) => s,
            Err(e) => {
                for s in servers {
                    sim::SimHandle::shutdown(s).await;
                }
                return Err(e.into());
            }
        };
        // On this date the laggards have not imported the new certificate yet.
        for t in plan.lagging_at(&fleet, run) {
            server.upsert_tenant(t)?;
        }
        servers.push(server);
    }
    let started_at = Utc::now();
    let result = async {
        let dir = opts.out.join("fleet");
        let last = servers.last().map(|s| s.ca_pem()).unwrap_or_default();
        write_fleet(&fleet, &dir, last)?;
        let inventories = plan.write_inventories(&dir, &dates)?;
        let audit = |run: usize| {
            audit_fleet(
                opts,
                &fleet,
                &servers[run],
                dates[run],
                &inventories[run],
                progress,
                stop,
            )
        };
        let (a, b, c) = tokio::join!(audit(0), audit(1), audit(2));
        Ok::<_, DemoError>([a?, b?, c?])
    }
    .await;
    for s in servers {
        s.shutdown().await;
    }
    let runs = result?;
    let finished_at = Utc::now();
    for r in &runs {
        history.append(
            &r.report,
            RunTimes {
                started_at,
                finished_at,
            },
        )?;
    }
    let [_, _, mut done] = runs;
    let counts = history.run_counts(mtls_audit::trend::GroupBy::All)?;
    done.trend = Some(mtls_audit::trend::build(
        &counts,
        mtls_audit::trend::DEFAULT_WINDOW,
    ));
    done.history = history_path;
    Ok(done)
}

/// The fleet folder as an operator holds it: inventory (with the campaign's owners and three
/// rows that cannot be audited), evidence, credentials, the LMS identity, and the new LMS
/// certificate as SAP ships it.
fn write_fleet(fleet: &sim::Generated, dir: &Path, ca_pem: &str) -> Result<(), DemoError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    fleet.write(dir, ca_pem, None)?;
    write_zip(
        &dir.join("cer.zip"),
        "lms-mtls.cer",
        fleet.reference_pem.as_bytes(),
    )?;
    let inventory_path = dir.join("inventory.csv");
    campaign::assign_owners(&inventory_path)?;
    let mut inv_file = std::fs::OpenOptions::new()
        .append(true)
        .open(&inventory_path)
        .map_err(io(&inventory_path))?;
    let first = fleet
        .inventory
        .first()
        .map(|r| r.tenant_id.clone())
        .unwrap_or_default();
    inv_file
        .write_all(bad_rows(&first).as_bytes())
        .map_err(io(&inventory_path))?;
    Ok(())
}

/// Audits the fleet served by `server` live, as of `as_of`.
async fn audit_fleet(
    opts: &DemoOptions,
    fleet: &sim::Generated,
    server: &sim::SimHandle,
    as_of: DateTime<Utc>,
    inventory_path: &Path,
    progress: &dyn Progress,
    stop: &StopFlag,
) -> Result<DemoRun, DemoError> {
    let dir = opts.out.join("fleet");
    let reference_zip = dir.join("cer.zip");

    let limits = Limits::default();
    let references = load_references(std::slice::from_ref(&reference_zip), &limits)
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let options = Options {
        policy: Policy {
            as_of,
            deadline: Some(fleet.deadline),
            // LMS switches to the new certificate two weeks before the deadline (the generated
            // fleet's cutover, as its audit command passes it).
            cutover: Some(fleet.cutover),
            warn_days: 30,
            critical_days: 14,
            references,
        },
        sync_stale_days: 7,
        fail_on: Some(Level::AtRisk),
        allow_unknown: false,
        offline: false,
        limits,
    };
    let inputs = InputLimits::default();
    let inv = inventory::read_file(inventory_path, b',', &inputs.inventory())?;
    // The operator's secrets.env, without touching this process's environment.
    let secrets = fleet.secrets.clone();
    let credentials = Credentials::load_with_env(&dir.join("credentials.toml"), &inputs, |name| {
        secrets
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    let lms =
        ClientIdentity::from_files("LMS", &dir.join("lms.pem"), &dir.join("lms.key"), &inputs)
            .map_err(|e| DemoError::Setup(e.to_string()))?;
    let lms = Arc::new(lms);
    let next_lms = ClientIdentity::from_files(
        "next LMS",
        &dir.join("next-lms.pem"),
        &dir.join("next-lms.key"),
        &inputs,
    )
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    let connect_to = ConnectTo::parse(&server.addr().to_string())
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    // This date's simulator has a CA of its own (fleet/ca.pem is the latest one's).
    let extra_ca: Vec<_> =
        rustls_pki_types::pem::PemObject::pem_slice_iter(server.ca_pem().as_bytes())
            .filter_map(Result::ok)
            .collect();
    let client = NetClient::new(NetConfig {
        timeout: std::time::Duration::from_secs(3),
        retry: RetryPolicy {
            retries: 2,
            ..RetryPolicy::default()
        },
        connect_to: Some(connect_to),
        extra_ca,
        // The simulated fleet only trusts the simulator's CA: the demo needs nothing else.
        system_roots: false,
        lms_identity: Some(lms.clone()),
        ..NetConfig::default()
    })
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    let live = Arc::new(Live {
        next_lms: Some(Arc::new(next_lms)),
        client,
        credentials: Some(credentials),
        lms: Some(lms),
        tenant_deadline: std::time::Duration::from_secs(20),
        concurrency: 64,
    });
    let report = live::run(&inv, &options, live, progress, stop).await;
    Ok(DemoRun {
        report,
        options,
        inventory: inventory_path.to_path_buf(),
        reference_zip,
        sim_addr: server.addr(),
        trend: None,
        history: PathBuf::new(),
    })
}
