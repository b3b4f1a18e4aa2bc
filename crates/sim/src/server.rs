//! The server: one TLS listener for every tenant, the routes, and the tenant middleware (host →
//! tenant, counters, faults, rate limits, one debug log line per request). The handle it
//! returns is in `handle.rs`, the state its handlers share in `shared.rs`.

use crate::api::{ApiError, Ctx, Style, TenantCtx};
use crate::error::SimError;
use crate::handle::SimHandle;
use crate::scenario::{Family, Faults, Scenario};
use crate::shared::Shared;
use crate::state::{Clock, Limit, World, lock, rate_limit, read};
use crate::tls::{self, Conn, ServerPki, SniResolver, TlsListener};
use crate::{admin, apps, discovery, ips, scim};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen; port 0 picks a free port (see [`SimHandle::addr`]).
    pub listen: SocketAddr,
    /// How much faster than real time rate-limit windows, blocks, delays and client-ID locks
    /// run: 60 makes a minute last one second. Latency faults and token lifetimes stay real.
    pub time_scale: f64,
    /// Where to write the CA certificate (PEM) that signs the server certificates.
    pub ca_out: Option<PathBuf>,
    /// Enforce the documented rate limits (off for throughput benchmarks).
    pub rate_limits: bool,
    /// The simulated date (certificate validity, user and job timestamps); default now.
    pub today: Option<DateTime<Utc>>,
    /// Added to every TLS handshake and every response (`sim --latency`): a realistic round
    /// trip; zero by default.
    pub latency: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: 1.0,
            ca_out: None,
            rate_limits: true,
            today: None,
            latency: Duration::ZERO,
        }
    }
}

/// The simulator: one HTTPS listener that serves every tenant of a scenario.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Starts serving `scenario` and returns once the port is bound, the CA is written and the
    /// server accepts connections.
    pub async fn start(scenario: Scenario, opts: SimOptions) -> Result<SimHandle, SimError> {
        if !(opts.time_scale.is_finite() && opts.time_scale > 0.0) {
            return Err(SimError::TimeScale(opts.time_scale));
        }
        let world = Arc::new(RwLock::new(World::new(&scenario)?));
        let today = opts.today.unwrap_or_else(Utc::now);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let names = tls::server_names(read(&world).hosts.keys().map(String::as_str));
        let pki = Arc::new(ServerPki::new(provider.clone(), today, names)?);
        let resolver = Arc::new(SniResolver {
            world: world.clone(),
            pki: pki.clone(),
        });
        let cfg = tls::server_config(provider, resolver)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));

        let tcp = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| SimError::Listen {
                addr: opts.listen,
                source,
            })?;
        let addr = tcp.local_addr().map_err(|source| SimError::Listen {
            addr: opts.listen,
            source,
        })?;
        let ca_pem = pki.ca.cert.cert_pem.clone();
        if let Some(path) = &opts.ca_out {
            write_ca(path, &ca_pem)?;
        }

        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            world,
            pki,
            clock: Clock::new(today),
            minute: Duration::from_secs(60).div_f64(opts.time_scale),
            time_scale: opts.time_scale,
            rate_limits: opts.rate_limits,
            stop: stop_rx.clone(),
            started: Instant::now(),
        });
        let app = crate::latency::wrap(router(shared.clone()), opts.latency);
        let (tx, rx) = mpsc::channel(1024);
        let accept = tokio::spawn(tls::accept_loop(
            tcp,
            acceptor,
            tx,
            stop_rx.clone(),
            opts.latency,
        ));
        let listener = TlsListener { rx, local: addr };
        let mut graceful = stop_rx;
        let serve = tokio::spawn(async move {
            let signal = async move {
                while graceful.changed().await.is_ok() {
                    if *graceful.borrow() {
                        return;
                    }
                }
            };
            let make = app.into_make_service_with_connect_info::<Conn>();
            if let Err(e) = axum::serve(listener, make)
                .with_graceful_shutdown(signal)
                .await
            {
                tracing::error!("the simulator stopped serving: {e}");
            }
        });
        tracing::info!(%addr, tenants = read(&shared.world).tenants.len(), "simulator listening");
        Ok(SimHandle {
            addr,
            ca_pem,
            ca_path: opts.ca_out,
            shared,
            stop: stop_tx,
            tasks: vec![accept, serve],
        })
    }
}

fn write_ca(path: &Path, pem: &str) -> Result<(), SimError> {
    let err = |source| SimError::CaOut {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Often the export folder (`--export DIR` writes `DIR/ca.pem` first): created 0700.
        crate::files::create_private_dir(parent).map_err(err)?;
    }
    crate::files::write_file(path, pem.as_bytes(), false).map_err(err)
}

/// The fallback of a route for the methods it does not serve: 401 or 405 (see
/// [`crate::api::method_not_allowed`]), with `allow` in the `Allow` header.
fn refuse(
    allow: &'static str,
) -> impl Fn(
    State<Arc<Shared>>,
    Ctx,
    axum::http::Method,
    axum::http::Uri,
) -> std::future::Ready<Response>
+ Clone
+ Send
+ Sync
+ 'static {
    move |State(sh): State<Arc<Shared>>, ctx: Ctx, method, uri: axum::http::Uri| {
        let style = style_of(family_of(uri.path()));
        std::future::ready(crate::api::method_not_allowed(
            &sh, &ctx, &method, style, allow,
        ))
    }
}

fn router(shared: Arc<Shared>) -> Router {
    const GET: &str = "GET, HEAD";
    const GET_POST: &str = "GET, HEAD, POST";
    const POST: &str = "POST";
    const POST_DELETE: &str = "POST, DELETE";
    const RESOURCE: &str = "GET, HEAD, PUT, PATCH, DELETE";
    let api = Router::new()
        .route("/oauth2/token", post(apps::token).fallback(refuse(POST)))
        .route(
            "/scim/Users",
            get(scim::list_users)
                .post(scim::create_user)
                .fallback(refuse(GET_POST)),
        )
        .route(
            "/scim/Users/",
            get(scim::list_users)
                .post(scim::create_user)
                .fallback(refuse(GET_POST)),
        )
        .route(
            "/scim/Users/{id}",
            get(scim::get_user)
                .put(scim::replace_user)
                .patch(scim::patch_user)
                .delete(scim::delete_user)
                .fallback(refuse(RESOURCE)),
        )
        .route(
            "/scim/Groups",
            get(scim::list_groups)
                .post(scim::create_group)
                .fallback(refuse(GET_POST)),
        )
        .route(
            "/scim/Groups/",
            get(scim::list_groups)
                .post(scim::create_group)
                .fallback(refuse(GET_POST)),
        )
        .route(
            "/scim/Groups/{id}",
            get(scim::get_group)
                .put(scim::replace_group)
                .patch(scim::patch_group)
                .delete(scim::delete_group)
                .fallback(refuse(RESOURCE)),
        )
        .route("/scim/.search", post(scim::search).fallback(refuse(POST)))
        .route(
            "/scim/Users/.search",
            post(scim::search).fallback(refuse(POST)),
        )
        .route(
            "/scim/Groups/.search",
            post(scim::search).fallback(refuse(POST)),
        )
        .route(
            "/scim/Schemas",
            get(discovery::list_schemas)
                .post(discovery::create_schema)
                .fallback(refuse(GET_POST)),
        )
        .route(
            "/scim/Schemas/",
            get(discovery::list_schemas)
                .post(discovery::create_schema)
                .fallback(refuse(GET_POST)),
        )
        .route(
            "/scim/Schemas/{id}",
            get(discovery::get_schema)
                .delete(discovery::delete_schema)
                .fallback(refuse("GET, HEAD, DELETE")),
        )
        .route(
            "/scim/ResourceTypes",
            get(discovery::list_resource_types).fallback(refuse(GET)),
        )
        .route(
            "/scim/ResourceTypes/",
            get(discovery::list_resource_types).fallback(refuse(GET)),
        )
        .route(
            "/scim/ResourceTypes/{id}",
            get(discovery::get_resource_type).fallback(refuse(GET)),
        )
        .route(
            "/scim/ServiceProviderConfig",
            get(discovery::get_service_provider_config).fallback(refuse(GET)),
        )
        .route("/Applications/v1", get(apps::list).fallback(refuse(GET)))
        .route("/Applications/v1/", get(apps::list).fallback(refuse(GET)))
        .route(
            "/Applications/v1/{id}",
            get(apps::get).fallback(refuse(GET)),
        )
        .route(
            "/ips/service/publicapi/v1/startJob/{sid}/jobs/{job_type}",
            post(ips::start_job).fallback(refuse(POST)),
        )
        .route(
            "/ips/publicapi/v1/startJob/{sid}/jobs/{job_type}",
            post(ips::start_job).fallback(refuse(POST)),
        )
        .route(
            "/ips/service/publicapi/v1/jobLogs/{job_id}",
            get(ips::job_logs).fallback(refuse(GET)),
        )
        .route(
            "/ips/publicapi/v1/jobLogs/{job_id}",
            get(ips::job_logs).fallback(refuse(GET)),
        )
        .route(
            "/ipsproxy/service/api/v1/systems/{sid}/entities/{entity}",
            post(ips::realtime_converged)
                .delete(ips::realtime_converged)
                .fallback(refuse(POST_DELETE)),
        )
        .route(
            "/ipsproxy/api/v1/systems/{sid}/entities/{entity}",
            post(ips::realtime_neo)
                .delete(ips::realtime_neo)
                .fallback(refuse(POST_DELETE)),
        )
        .route(
            "/ipsproxy/certapi/v1/systems/{sid}/entities/{entity}",
            post(ips::realtime_neo_cert)
                .delete(ips::realtime_neo_cert)
                .fallback(refuse(POST_DELETE)),
        )
        .route(
            "/ipsproxy/service/api/v1/scim/{sid}/{resource}",
            get(ips::proxy_converged).fallback(refuse(GET)),
        )
        .route(
            "/ipsproxy/api/v1/scim/{sid}/{resource}",
            get(ips::proxy_neo).fallback(refuse(GET)),
        )
        .route(
            "/ipsproxy/certapi/v1/scim/{sid}/{resource}",
            get(ips::proxy_neo_cert).fallback(refuse(GET)),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), tenant_layer));
    admin::routes().merge(api).with_state(shared)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    let style = if uri.path().starts_with("/scim/") {
        Style::Scim
    } else {
        Style::Json
    };
    ApiError::not_found(style, "Not Found").into_response()
}

/// The API family of a path, for counters, limits and fault filters.
pub(crate) fn family_of(path: &str) -> Family {
    if path.starts_with("/oauth2/") {
        Family::Oauth
    } else if path.starts_with("/scim/") || path.starts_with("/service/scim/") {
        Family::Scim
    } else if path.starts_with("/Applications/") {
        Family::Applications
    } else if path.starts_with("/ips/") {
        Family::IpsAdmin
    } else if path.starts_with("/ipsproxy/") && path.contains("/entities/") {
        Family::Realtime
    } else if path.starts_with("/ipsproxy/") && path.contains("/scim/") {
        Family::Proxy
    } else {
        Family::Other
    }
}

/// The routes of the SAP APIs, for per-endpoint counters (`{x}` matches one segment).
const TEMPLATES: [&str; 30] = [
    "/oauth2/token",
    "/scim/Users",
    "/scim/Users/",
    "/scim/Users/.search",
    "/scim/Users/{id}",
    "/scim/Groups",
    "/scim/Groups/",
    "/scim/Groups/.search",
    "/scim/Groups/{id}",
    "/scim/.search",
    "/scim/Schemas",
    "/scim/Schemas/",
    "/scim/Schemas/{id}",
    "/scim/ResourceTypes",
    "/scim/ResourceTypes/",
    "/scim/ResourceTypes/{id}",
    "/scim/ServiceProviderConfig",
    "/Applications/v1",
    "/Applications/v1/",
    "/Applications/v1/{id}",
    "/ips/service/publicapi/v1/startJob/{sid}/jobs/{job_type}",
    "/ips/publicapi/v1/startJob/{sid}/jobs/{job_type}",
    "/ips/service/publicapi/v1/jobLogs/{job_id}",
    "/ips/publicapi/v1/jobLogs/{job_id}",
    "/ipsproxy/service/api/v1/systems/{sid}/entities/{entity}",
    "/ipsproxy/api/v1/systems/{sid}/entities/{entity}",
    "/ipsproxy/certapi/v1/systems/{sid}/entities/{entity}",
    "/ipsproxy/service/api/v1/scim/{sid}/{resource}",
    "/ipsproxy/api/v1/scim/{sid}/{resource}",
    "/ipsproxy/certapi/v1/scim/{sid}/{resource}",
];

/// The route template a path matches, or `(other)`.
pub(crate) fn endpoint_of(path: &str) -> &'static str {
    let segs: Vec<&str> = path.split('/').collect();
    TEMPLATES
        .iter()
        .find(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segs.len()
                && ts
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .copied()
        .unwrap_or("(other)")
}

fn style_of(family: Family) -> Style {
    match family {
        Family::Scim | Family::Proxy => Style::Scim,
        Family::Oauth => Style::OAuth,
        _ => Style::Json,
    }
}

/// The host a request is for: the Host header (or the URI's authority), lowercase, no port.
fn host_of(req: &Request) -> Option<String> {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_string()))?;
    let host = if let Some(rest) = raw.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest).to_string()
    } else {
        raw.split(':').next().unwrap_or(&raw).to_string()
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// The request faults that apply to this request, consuming one of `remaining`.
fn take_faults(cell: &std::sync::Mutex<Faults>, family: Family) -> Option<Faults> {
    let mut f = lock(cell);
    if !f.has_request_fault() || !f.applies_to(family) {
        return None;
    }
    match f.remaining {
        Some(0) => return None,
        Some(n) => f.remaining = Some(n - 1),
        None => {}
    }
    Some(f.clone())
}

fn fault_response(status: u16, retry_after: Option<u64>, family: Family) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let detail = match status.as_u16() {
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let mut e = ApiError::new(status, style_of(family), detail);
    if status == StatusCode::TOO_MANY_REQUESTS {
        e = e.oauth("too_many_requests");
    }
    e.retry_after = retry_after;
    e.into_response()
}

/// Cuts a JSON body in half so it no longer parses; other bodies pass unchanged.
async fn malform(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let cut = if bytes.len() < 2 {
        axum::body::Bytes::from_static(b"{\"")
    } else {
        bytes.slice(..bytes.len() / 2)
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(cut))
}

/// Everything that happens to a request on a tenant host before and after its handler.
async fn tenant_layer(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let host = host_of(&req).unwrap_or_default();
    let (found, chaos) = {
        let w = read(&sh.world);
        (w.by_host(&host), w.chaos.clone())
    };
    let Some((tenant, kind)) = found else {
        tracing::debug!(%method, host, path, status = 421, "request for a host no tenant has");
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            Style::Json,
            format!("no simulated tenant has the host '{host}'"),
        )
        .into_response();
    };
    // A connection opened for one tenant (SNI) must not be used for another.
    if let Some(sni) = &conn.0.sni
        && sni != &host
        && read(&sh.world)
            .by_host(sni)
            .is_some_and(|(other, _)| !Arc::ptr_eq(&other, &tenant))
    {
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            Style::Json,
            format!("the connection was opened for {sni}, not {host}"),
        )
        .into_response();
    }
    let family = family_of(&path);
    let endpoint = format!("{method} {}", endpoint_of(&path));
    let nth = lock(&tenant.counters).begin(family, &endpoint, started, sh.minute);

    let (mut throttled, mut delayed, mut faulted) = (false, false, false);
    let mut faults = take_faults(&tenant.faults, family);
    // Chaos draws for requests the tenant's own faults leave alone.
    if faults.is_none()
        && let Some(c) = &chaos
        && let Some(d) = crate::chaos::draw(c, &tenant.id, &endpoint, nth, family)
    {
        lock(&tenant.counters).injected(d.kind);
        faulted = true;
        faults = Some(d.faults);
    }
    let response = 'answer: {
        if let Some(f) = &faults {
            if f.latency_ms > 0 && !sh.sleep(Some(Duration::from_millis(f.latency_ms))).await {
                break 'answer fault_response(503, None, family);
            }
            if f.stall {
                faulted = true;
                let wait = (f.stall_ms > 0).then(|| Duration::from_millis(f.stall_ms));
                if !sh.sleep(wait).await {
                    break 'answer fault_response(503, None, family);
                }
            }
            if f.reset {
                faulted = true;
                conn.0.reset.store(true, Ordering::Relaxed);
                break 'answer StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            if let Some(status) = f.status {
                faulted = true;
                break 'answer fault_response(status, f.retry_after_secs, family);
            }
        }
        if sh.rate_limits {
            let verdict = {
                let mut limits = lock(&tenant.limits);
                rate_limit(&mut limits, family, Instant::now(), sh.minute)
            };
            match verdict {
                Limit::Serve => {}
                Limit::Delay(d) => {
                    delayed = true;
                    sh.sleep(Some(d)).await;
                }
                Limit::Reject { retry_after } => {
                    throttled = true;
                    // Retry-After is whole seconds of real time, at least 1.
                    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                    break 'answer fault_response(429, Some(secs), family);
                }
            }
        }
        req.extensions_mut().insert(TenantCtx {
            tenant: tenant.clone(),
            kind,
            host: host.clone(),
        });
        let resp = next.run(req).await;
        match &faults {
            Some(f) if f.malformed_json => {
                faulted = true;
                malform(resp).await
            }
            _ => resp,
        }
    };
    let status = response.status().as_u16();
    lock(&tenant.counters).end(family, status, throttled, delayed, faulted);
    // Never the Authorization header, the query (it may carry e-mail addresses) or bodies.
    tracing::debug!(
        tenant = %tenant.id,
        host,
        kind = ?kind,
        %method,
        path,
        status,
        family = family.as_str(),
        ms = started.elapsed().as_millis() as u64,
        remote = %conn.0.remote,
        client_cert = conn.0.peer.as_ref().map(|p| p.subject.as_str()),
        "request"
    );
    response
}
