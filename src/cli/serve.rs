//! `mtls-audit serve INVENTORY`: audits at start and every `--interval`, and serves the last
//! complete run over plain HTTP (docs/spec.md §11): `/metrics` (Prometheus text, OpenMetrics
//! when `Accept` asks for it), `/healthz`, `/audit.json`, `/report.html`.
//!
//! Two threads of control: the HTTP server on a tokio runtime of its own, and a runner thread
//! that does one audit at a time through `audit`'s own steps (`Prepared::from_args`,
//! `Prepared::audit_once`, `emit`). They share the published results (swapped whole when a run
//! completes) and a small control block (reload queued, shutdown, the running audit's stop
//! flag). SIGHUP queues a reload (one, however many arrive during a run); SIGTERM or Ctrl-C
//! stops the run in flight, lets the responses in flight finish, and exits 0.

use super::Exit;
use super::args::parse_duration;
use super::audit::{AuditArgs, Prepared, write_and_record};
use super::history::{Campaign, Recorded};
use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use mtls_audit::audit::StopFlag;
use mtls_audit::report::prom::{self, Exposition, LastRun};
use mtls_audit::result::AuditReport;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
#[command(
    after_help = "Serves, on --listen: /metrics (Prometheus text format 0.0.4; OpenMetrics when the Accept \
header asks for application/openmetrics-text), /healthz, and /audit.json and /report.html of the last \
complete run. Prints one JSON line on start: {\"listening\":\"http://ADDR\"}. After each complete run the \
--format files are also written to --out, as audit writes them.\n\n\
SIGHUP re-reads the inventory and the reference certificates and audits now (an unreadable inventory \
keeps the previous one: see mtls_audit_inventory_load_errors_total); SIGTERM or Ctrl-C stops the \
run in flight and exits 0 once the responses in flight are sent."
)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Address to serve on (plain HTTP; port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9750")]
    pub listen: SocketAddr,
    /// Time from the start of one audit to the start of the next
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub interval: Duration,
}

/// The results of the last complete run, with its renderings made on first request.
struct Published {
    report: Arc<AuditReport>,
    /// The run in the history (`--history`): the burndown of `/report.html`.
    recorded: Option<Recorded>,
    json: OnceLock<Bytes>,
    html: OnceLock<Bytes>,
}

/// What the HTTP side reads.
#[derive(Default)]
struct Results {
    published: Option<Arc<Published>>,
    last_run: Option<LastRun>,
    runs_total: u64,
    inventory_load_errors_total: u64,
}

/// What the signal handlers tell the runner.
#[derive(Default)]
struct Control {
    reload: bool,
    shutdown: bool,
    running: Option<StopFlag>,
}

#[derive(Default)]
struct Shared {
    results: Mutex<Results>,
    control: Mutex<Control>,
    wake: Condvar,
}

/// A poisoned lock means a panic elsewhere already; the data is still the last consistent one.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn exposition(&self) -> Exposition {
        let r = lock(&self.results);
        Exposition {
            report: r.published.as_ref().map(|p| p.report.clone()),
            last_run: r.last_run,
            runs_total: Some(r.runs_total),
            inventory_load_errors_total: Some(r.inventory_load_errors_total),
        }
    }

    fn reload(&self) {
        lock(&self.control).reload = true;
        self.wake.notify_all();
    }

    fn shutdown(&self) {
        let mut c = lock(&self.control);
        c.shutdown = true;
        if let Some(stop) = &c.running {
            stop.stop();
        }
        drop(c);
        self.wake.notify_all();
    }
}

pub(super) fn run(args: ServeArgs) -> anyhow::Result<Exit> {
    super::init_logging(args.audit.verbose);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The handlers first: a signal right after the listening line must not kill the process.
    let signals = rt.block_on(async { Signals::install() })?;
    let prepared = Prepared::from_args(&args.audit)?;
    // A history that cannot be one is refused now (exit 2), not at the first run.
    Campaign::start(&args.audit.campaign, &args.audit.out)?;
    let shared = Arc::new(Shared::default());
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let ServeArgs {
        audit,
        listen,
        interval,
    } = args;
    let runner = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("audit-runner".into())
            .spawn(move || {
                runner(&shared, &audit, prepared, interval);
                let _ = done_tx.send(());
            })
            .context("cannot start the audit thread")?
    };
    let served = rt.block_on(serve(shared.clone(), listen, signals));
    // Whatever ended the server, the runner stops too (the run in flight is interrupted).
    shared.shutdown();
    // A live run's tenants in flight get a few seconds' grace; do not wait much longer.
    if done_rx.recv_timeout(Duration::from_secs(20)).is_ok() {
        let _ = runner.join();
    } else {
        tracing::warn!("the audit in flight did not stop within 20 s; exiting without it");
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    served?;
    Ok(Exit::Clean)
}

/// SIGTERM, SIGINT (Ctrl-C) and SIGHUP, registered eagerly.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
                hup: signal(SignalKind::hangup()).context("cannot watch SIGHUP")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for SIGTERM or SIGINT, queuing a reload on each SIGHUP meanwhile.
    async fn until_shutdown(&mut self, shared: &Shared) {
        #[cfg(unix)]
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
                _ = self.hup.recv() => {
                    tracing::info!("SIGHUP: re-reading the inventory and auditing now");
                    shared.reload();
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = shared;
            let _ = tokio::signal::ctrl_c().await;
        }
    }

    /// After the first stop signal, a second one exits at once.
    async fn second(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(
    shared: Arc<Shared>,
    listen: SocketAddr,
    mut signals: Signals,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr().context("the listening address")?;
    let line = serde_json::json!({ "listening": format!("http://{addr}") });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").and_then(|_| out.flush())?;
    }
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/audit.json", get(audit_json))
        .route("/report.html", get(report_html))
        .with_state(shared.clone());
    let stopping = {
        let shared = shared.clone();
        async move {
            signals.until_shutdown(&shared).await;
            tracing::info!(
                "stopping: the audit in flight is interrupted, responses in flight are finished; a second signal quits at once"
            );
            shared.shutdown();
            tokio::spawn(async move {
                signals.second().await;
                eprintln!("quitting at once");
                std::process::exit(2);
            });
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stopping)
        .await
        .context("serving HTTP")
}

/// The runner: one audit at a time, at start, every `interval` and on SIGHUP, until shutdown.
fn runner(shared: &Shared, args: &AuditArgs, mut prepared: Prepared, interval: Duration) {
    let mut due = Instant::now();
    loop {
        let reload = {
            let mut c = lock(&shared.control);
            loop {
                if c.shutdown {
                    return;
                }
                if c.reload {
                    c.reload = false;
                    break true;
                }
                let now = Instant::now();
                if now >= due {
                    break false;
                }
                c = shared
                    .wake
                    .wait_timeout(c, due - now)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
        };
        if reload {
            match Prepared::from_args(args) {
                Ok(p) => {
                    tracing::info!(
                        tenants = p.inv.tenants.len(),
                        "inventory re-read: {}",
                        args.inventory.display()
                    );
                    prepared = p;
                }
                Err(e) => {
                    lock(&shared.results).inventory_load_errors_total += 1;
                    tracing::error!(
                        "re-reading the inventory failed; auditing the previous one: {e:#}"
                    );
                }
            }
        }
        if args.cert.as_of.is_none() {
            // Each run judges certificates as of its own start, in whole seconds.
            let now = chrono::Utc::now();
            if let Some(t) = chrono::DateTime::from_timestamp(now.timestamp(), 0) {
                prepared.opts.policy.as_of = t;
            }
        }
        let stop = StopFlag::default();
        {
            let mut c = lock(&shared.control);
            if c.shutdown {
                return;
            }
            c.running = Some(stop.clone());
        }
        lock(&shared.results).runs_total += 1;
        // Opened per run, as `audit` does: the run's start time, and a history file that went
        // bad since the last run costs this run's record, not the service.
        let mut campaign = Campaign::start(&args.campaign, &args.out).unwrap_or_else(|e| {
            tracing::error!("{e:#}; this run is not recorded");
            Campaign::without_history(&args.campaign)
        });
        let started = Instant::now();
        due = started + interval;
        tracing::info!(tenants = prepared.inv.tenants.len(), "audit started");
        let result = prepared.audit_once(args, &stop, false);
        lock(&shared.control).running = None;
        let finished = chrono::Utc::now();
        let duration = started.elapsed().as_secs_f64();
        let success = match result {
            Ok(report) if report.complete => {
                let run = LastRun {
                    finished,
                    duration_seconds: Some(duration),
                    success: true,
                };
                // The report files and the history, as audit writes them (quietly): a failure
                // is logged, the results are still served.
                let recorded = write_recorded(&mut campaign, &report, args, &prepared, run);
                tracing::info!(
                    tenants = report.tenants.len(),
                    seconds = duration,
                    "audit complete"
                );
                lock(&shared.results).published = Some(Arc::new(Published {
                    report: Arc::new(report),
                    recorded,
                    json: OnceLock::new(),
                    html: OnceLock::new(),
                }));
                true
            }
            Ok(report) => {
                tracing::warn!("audit interrupted; serving the previous complete run");
                // Recorded as interrupted, as `audit` does: never counted as progress.
                if let Err(e) = campaign.record(&report) {
                    tracing::error!("the interrupted run is not in the history: {e:#}");
                }
                false
            }
            Err(e) => {
                tracing::error!("audit failed; serving the previous complete run: {e:#}");
                false
            }
        };
        lock(&shared.results).last_run = Some(LastRun {
            finished,
            duration_seconds: Some(duration),
            success,
        });
    }
}

/// The report set of a complete run, the run in the history and the owner folders; errors are
/// logged. Returns the run as recorded, for the burndown of `/report.html`.
fn write_recorded(
    campaign: &mut Campaign,
    report: &AuditReport,
    args: &AuditArgs,
    prepared: &Prepared,
    run: LastRun,
) -> Option<Recorded> {
    let (written, recorded) = write_and_record(campaign, report, &args.out, &prepared.formats, run);
    if let Err(e) = written {
        tracing::error!("{e:#}");
    }
    let recorded = recorded.unwrap_or_else(|e| {
        tracing::error!("the run is not in the history: {e:#}");
        None
    });
    if let Some(r) = &recorded {
        tracing::info!(run = r.run, "history: run appended to {}", r.path.display());
    }
    if let Err(e) = campaign.split(
        report,
        &args.out,
        &prepared.formats,
        recorded.as_ref(),
        true,
    ) {
        tracing::error!("{e:#}");
    }
    recorded
}

/// Whether `Accept` prefers OpenMetrics to the Prometheus text format (q-values honoured;
/// Prometheus itself asks for OpenMetrics first).
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    let mut best_om = 0.0f32;
    let mut best_text = 0.0f32;
    for value in headers.get_all(header::ACCEPT) {
        let Ok(v) = value.to_str() else { continue };
        for range in v.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if media == "application/openmetrics-text" {
                best_om = best_om.max(q);
            } else if media == "text/plain" || media == "*/*" || media == "text/*" {
                best_text = best_text.max(q);
            }
        }
    }
    best_om > 0.0 && best_om >= best_text
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let e = shared.exposition();
    let om = wants_openmetrics(&headers);
    let body = tokio::task::spawn_blocking(move || {
        if om {
            e.openmetrics()
        } else {
            e.prometheus_text()
        }
    })
    .await;
    match body {
        Ok(body) => {
            let ct = if om {
                prom::OPENMETRICS_TEXT
            } else {
                prom::PROMETHEUS_TEXT
            };
            ([(header::CONTENT_TYPE, HeaderValue::from_static(ct))], body).into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn healthz() -> impl IntoResponse {
    "ok\n"
}

fn not_yet() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("60"))],
        "no audit run has completed yet\n",
    )
        .into_response()
}

async fn rendered(
    shared: &Shared,
    pick: fn(&Published) -> &OnceLock<Bytes>,
    render: fn(&Published) -> Vec<u8>,
) -> Option<Bytes> {
    let published = lock(&shared.results).published.clone()?;
    if let Some(b) = pick(&published).get() {
        return Some(b.clone());
    }
    tokio::task::spawn_blocking(move || {
        pick(&published)
            .get_or_init(|| Bytes::from(render(&published)))
            .clone()
    })
    .await
    .ok()
}

fn bytes_response(ct: &'static str, body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(ct))], body).into_response()
}

async fn audit_json(State(shared): State<Arc<Shared>>) -> Response {
    let render = |p: &Published| {
        let mut v = Vec::new();
        // Writing to a Vec fails only on a serialisation bug; an empty body would show it.
        let _ = mtls_audit::report::json::write(&p.report, &mut v);
        v
    };
    match rendered(&shared, |p| &p.json, render).await {
        Some(b) => bytes_response("application/json", b),
        None => not_yet(),
    }
}

async fn report_html(State(shared): State<Arc<Shared>>) -> Response {
    let render = |p: &Published| {
        let burndown = p.recorded.as_ref().and_then(Recorded::campaign);
        mtls_audit::report::html::render_with(&p.report, burndown.as_ref()).into_bytes()
    };
    match rendered(&shared, |p| &p.html, render).await {
        Some(b) => bytes_response("text/html; charset=utf-8", b),
        None => not_yet(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn accept_negotiation() {
        assert!(!wants_openmetrics(&HeaderMap::new()));
        assert!(!wants_openmetrics(&accept("text/plain")));
        assert!(wants_openmetrics(&accept("application/openmetrics-text")));
        // What Prometheus 2.x sends.
        assert!(wants_openmetrics(&accept(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )));
        assert!(!wants_openmetrics(&accept(
            "text/plain;version=0.0.4,application/openmetrics-text;q=0.5"
        )));
        assert!(!wants_openmetrics(&accept(
            "application/openmetrics-text;q=0"
        )));
    }
}
