//! A small load generator for the IAS/IPS simulator: SCIM GETs over keep-alive connections, or
//! with a new TLS connection (full handshake, no resumption) per request.
//!
//! ```text
//! # against an in-process simulator (rate limits off), 10 s, 32 connections, keep-alive:
//! cargo run --release --example simload -- --duration 10s --connections 32
//! # a full TLS handshake per request:
//! cargo run --release --example simload -- --new-conn
//! # against a running `mtls-audit sim --no-rate-limits --export DIR`:
//! cargo run --release --example simload -- --url https://127.0.0.1:40123 --ca DIR/ca.pem \
//!     --host acme.accounts.ondemand.com --user CLIENT_ID:SECRET
//! ```
//!
//! It speaks HTTP/1.1 over tokio-rustls by hand so that the client costs as little CPU as
//! possible: on a small machine the generator and the simulator share the cores, and the
//! numbers are a lower bound of what the simulator can do.

use base64::Engine as _;
use clap::Parser;
use mtls_audit_sim::{self as sim, Server, SimOptions};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[derive(Debug, Parser)]
struct Args {
    /// A running simulator (`https://127.0.0.1:PORT`); without it one is started in-process
    #[arg(long)]
    url: Option<String>,
    /// The simulator's CA certificate (with --url)
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// The tenant host to send as SNI and Host (with --url)
    #[arg(long)]
    host: Option<String>,
    /// Basic credentials `CLIENT_ID:SECRET` (with --url)
    #[arg(long)]
    user: Option<String>,
    /// The request path
    #[arg(long, default_value = "/scim/Users?count=1")]
    path: String,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Concurrent connections (keep-alive) or concurrent requests (--new-conn)
    #[arg(long, default_value = "32")]
    connections: usize,
    /// Open a new TLS connection (full handshake) for every request
    #[arg(long)]
    new_conn: bool,
    /// Worker threads of the in-process simulator and of the client
    #[arg(long, default_value = "2")]
    threads: usize,
}

struct Target {
    addr: SocketAddr,
    host: String,
    connector: TlsConnector,
    request: Vec<u8>,
}

struct Stats {
    ok: AtomicU64,
    other: AtomicU64,
    errors: AtomicU64,
    latencies: std::sync::Mutex<Vec<u32>>,
}

async fn read_response(
    tls: &mut tokio_rustls::client::TlsStream<TcpStream>,
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        let n = tls.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = tls.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

async fn connect(t: &Target) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(t.addr).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from(t.host.clone()).map_err(std::io::Error::other)?;
    t.connector.connect(name, tcp).await
}

fn record(stats: &Stats, status: u16, started: Instant, lat: &mut Vec<u32>) {
    if status == 200 {
        stats.ok.fetch_add(1, Ordering::Relaxed);
    } else {
        stats.other.fetch_add(1, Ordering::Relaxed);
    }
    lat.push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
}

async fn worker(t: Arc<Target>, stats: Arc<Stats>, stop: Arc<AtomicBool>, new_conn: bool) {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut lat = Vec::new();
    let mut conn = None;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        if conn.is_none() || new_conn {
            conn = match connect(&t).await {
                Ok(c) => Some(c),
                Err(_) => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
        }
        let Some(tls) = conn.as_mut() else { continue };
        let result = async {
            tls.write_all(&t.request).await?;
            read_response(tls, &mut buf).await
        }
        .await;
        match result {
            Ok(status) => record(&stats, status, started, &mut lat),
            Err(_) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
        if new_conn {
            conn = None;
        }
    }
    if let Ok(mut l) = stats.latencies.lock() {
        l.extend(lat);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

// The measurement line on stdout is the example's output.
#[allow(clippy::print_stdout)]
async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut handle = None;
    let (addr, ca_pem, host, user) = match &args.url {
        Some(url) => {
            let addr: SocketAddr = url
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .parse()?;
            let ca = std::fs::read_to_string(args.ca.as_ref().ok_or("--url needs --ca")?)?;
            let host = args.host.clone().ok_or("--url needs --host")?;
            let user = args.user.clone().ok_or("--url needs --user")?;
            (addr, ca, host, user)
        }
        None => {
            let fleet = sim::generate(40, 1, chrono::Utc::now())?;
            let t = fleet
                .tenants
                .iter()
                .find(|t| t.profile == "healthy")
                .ok_or("no healthy tenant")?;
            let spec = fleet.scenario.tenant(&t.tenant_id).ok_or("tenant")?;
            let reader = spec
                .admins
                .iter()
                .find(|a| a.name.starts_with("mtls-audit reader"))
                .ok_or("reader")?;
            let user = format!(
                "{}:{}",
                reader.client_id.clone().unwrap_or_default(),
                reader.secrets[0]
            );
            let h = Server::start(
                fleet.scenario.clone(),
                SimOptions {
                    rate_limits: false,
                    ..SimOptions::default()
                },
            )
            .await?;
            let r = (
                h.addr(),
                h.ca_pem().to_string(),
                spec.ias_host.clone(),
                user,
            );
            handle = Some(h);
            r
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c?)?;
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    // Every new connection is a full handshake.
    cfg.resumption = rustls::client::Resumption::disabled();
    let auth = base64::engine::general_purpose::STANDARD.encode(user.as_bytes());
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\nAccept: application/scim+json\r\n{}\r\n",
        args.path,
        if args.new_conn {
            "Connection: close\r\n"
        } else {
            ""
        }
    );
    let target = Arc::new(Target {
        addr,
        host: host.clone(),
        connector: TlsConnector::from(Arc::new(cfg)),
        request: request.into_bytes(),
    });
    // A first request proves the setup before measuring.
    let mut probe = connect(&target).await?;
    probe.write_all(&target.request).await?;
    let status = read_response(&mut probe, &mut Vec::new()).await?;
    if status != 200 {
        return Err(format!("the first request was answered {status}").into());
    }
    drop(probe);

    let stats = Arc::new(Stats {
        ok: AtomicU64::new(0),
        other: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        latencies: std::sync::Mutex::new(Vec::new()),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        tasks.push(tokio::spawn(worker(
            target.clone(),
            stats.clone(),
            stop.clone(),
            args.new_conn,
        )));
    }
    tokio::time::sleep(args.duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let secs = started.elapsed().as_secs_f64();
    let ok = stats.ok.load(Ordering::Relaxed);
    let mut lat = stats
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{} {} {host}{}: {ok} x 200, {} other, {} errors in {secs:.1} s = {:.0} requests/s; latency p50 {:.2} ms, p99 {:.2} ms ({} {})",
        if args.new_conn {
            "new TLS connection per request"
        } else {
            "keep-alive"
        },
        args.connections,
        args.path,
        stats.other.load(Ordering::Relaxed),
        stats.errors.load(Ordering::Relaxed),
        ok as f64 / secs,
        f64::from(pct(0.50)) / 1000.0,
        f64::from(pct(0.99)) / 1000.0,
        if args.new_conn {
            "concurrent requests"
        } else {
            "connections"
        },
        if handle.is_some() {
            "in-process simulator"
        } else {
            "external simulator"
        },
    );
    if let Some(h) = handle {
        h.shutdown().await;
    }
    Ok(())
}
