//! The network layer against small TLS servers started on 127.0.0.1 by each test: the server
//! TLS probe, connection failures told apart, the REST client's retries, limits, deadlines,
//! auth and `--connect-to`, and secrets kept out of errors and logs.

use crate::harness::{self, crypto};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use axum_server::tls::TlsInfo;
use axum_server::tls_rustls::RustlsConfig;
use chrono::{Duration as Days, Utc};
use mtls_audit::net::tls_probe::{ProbeOptions, probe};
use mtls_audit::net::{
    Auth, Call, ChainProblem, ClientIdentity, ConnectTo, Credential, CredentialKind, Deadline,
    NetClient, NetConfig, NetError, RateBudgets, RateLimit, RetryPolicy, Secret, TlsFailure,
    TrustStore, Unreachable, UnreachableKind,
};
use mtls_audit_sim::pki::{Ca, Issued, LeafSpec};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

const HOST: &str = "acme.accounts.ondemand.com";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn der(i: &Issued) -> CertificateDer<'static> {
    CertificateDer::from(i.cert_der.clone())
}

/// A server leaf for `names`, valid `from`..`to` days around the real now (the REST client
/// validates at the current time).
fn server_leaf(ca: &Ca, names: &[&str], from: i64, to: i64) -> Issued {
    let now = Utc::now();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    ca.issue(&LeafSpec::server(
        &names,
        now + Days::days(from),
        now + Days::days(to),
    ))
    .expect("server leaf")
}

fn client_leaf(ca: &Ca, cn: &str) -> Issued {
    let now = Utc::now();
    ca.issue(&LeafSpec::client(
        cn,
        now - Days::days(1),
        now + Days::days(30),
    ))
    .expect("client leaf")
}

fn identity(i: &Issued, label: &str) -> Arc<ClientIdentity> {
    Arc::new(
        ClientIdentity::from_pem(
            label,
            i.cert_pem.as_bytes(),
            i.key_pem.as_bytes(),
            "c.pem",
            "k.key",
        )
        .expect("identity"),
    )
}

/// Serves one certificate and records the SNI of every handshake.
#[derive(Debug)]
struct SniRecorder {
    key: Arc<CertifiedKey>,
    seen: Arc<Mutex<Vec<Option<String>>>>,
}

impl ResolvesServerCert for SniRecorder {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.seen
            .lock()
            .unwrap()
            .push(hello.server_name().map(str::to_string));
        Some(self.key.clone())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum ClientAuth {
    None,
    Optional,
    Required,
}

struct TlsServer {
    config: Arc<ServerConfig>,
    sni: Arc<Mutex<Vec<Option<String>>>>,
}

impl TlsServer {
    fn handshakes(&self) -> usize {
        self.sni.lock().unwrap().len()
    }
}

/// A rustls server config presenting `leaf` (+ `chain`), with client auth from `client_ca`.
fn tls_server(
    leaf: &Issued,
    chain: &[&Issued],
    client_ca: Option<&Ca>,
    auth: ClientAuth,
) -> TlsServer {
    tls_server_with(leaf, chain, client_ca, auth, rustls::DEFAULT_VERSIONS)
}

fn tls_server_with(
    leaf: &Issued,
    chain: &[&Issued],
    client_ca: Option<&Ca>,
    auth: ClientAuth,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsServer {
    crypto();
    let mut certs = vec![der(leaf)];
    certs.extend(chain.iter().map(|c| der(c)));
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let key = Arc::new(CertifiedKey::from_der(certs, key, &provider()).unwrap());
    let sni = Arc::new(Mutex::new(Vec::new()));
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap();
    let builder = match (client_ca, auth) {
        (Some(ca), ClientAuth::Optional | ClientAuth::Required) => {
            let mut roots = RootCertStore::empty();
            roots.add(der(&ca.cert)).unwrap();
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let v = if auth == ClientAuth::Optional {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(v.build().unwrap())
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SniRecorder {
        key,
        seen: sni.clone(),
    }));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsServer {
        config: Arc::new(config),
        sni,
    }
}

/// What the scripted server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    host: Option<String>,
    sni: Option<String>,
    authorization: Option<String>,
    client_certs: usize,
    at: Instant,
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: String::new(),
    }
}

impl Reply {
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: impl Into<String>) -> Reply {
        self.body = body.into();
        self
    }
}

type Responder = Box<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

struct Scripted {
    seen: Mutex<Vec<Seen>>,
    respond: Responder,
}

#[derive(Clone)]
struct Http {
    state: Arc<Scripted>,
    port: u16,
}

impl Http {
    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
    fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
    fn connect_to(&self) -> ConnectTo {
        ConnectTo::parse(&format!("127.0.0.1:{}", self.port)).unwrap()
    }
}

async fn handle(
    State(s): State<Arc<Scripted>>,
    axum::Extension(info): axum::Extension<Arc<TlsInfo>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> axum::response::Response {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        host: h("host"),
        sni: info.server_name.clone(),
        authorization: h("authorization"),
        client_certs: info.peer_certificates.len(),
        at: Instant::now(),
    };
    let n = {
        let mut all = s.seen.lock().unwrap();
        all.push(seen.clone());
        all.len()
    };
    let r = (s.respond)(&seen, n);
    let mut resp = (axum::http::StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
    for (k, v) in r.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// An HTTPS server on 127.0.0.1 answering every request with `respond(seen, n)` (n from 1).
async fn http_server(tls: &TlsServer, respond: Responder) -> Http {
    let state = Arc::new(Scripted {
        seen: Mutex::new(Vec::new()),
        respond,
    });
    let app = Router::new().fallback(handle).with_state(state.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server =
        axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls.config.clone()))
            .unwrap();
    tokio::spawn(server.serve(app.into_make_service()));
    Http { state, port }
}

/// The usual fixture: a CA, a valid server certificate for HOST, and a config trusting only
/// that CA, with short backoffs so retries are fast.
struct Fixture {
    ca: Ca,
    tls: TlsServer,
}

fn fixture() -> Fixture {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST, "*.accounts.ondemand.com"], -1, 60);
    let tls = tls_server(&leaf, &[&ca.cert], None, ClientAuth::None);
    Fixture { ca, tls }
}

fn config(ca: &Ca, connect_to: Option<ConnectTo>) -> NetConfig {
    NetConfig {
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            retries: 2,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
        },
        connect_to,
        extra_ca: vec![der(&ca.cert)],
        system_roots: false,
        ..NetConfig::default()
    }
}

fn url(path: &str) -> String {
    format!("https://{HOST}{path}")
}

// ---------------------------------------------------------------------------------------------
// The server TLS probe

fn probe_options(ca: &Ca, port: u16, timeout: Duration) -> ProbeOptions {
    ProbeOptions {
        connect_to: Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
        timeout,
        identity: None,
        trust: TrustStore::load(false, &[der(&ca.cert)]).unwrap(),
        as_of: Utc::now(),
    }
}

#[tokio::test]
async fn probe_records_a_valid_chain_with_the_host_as_sni() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&f.ca, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("probe");
    assert_eq!(p.validation, Ok(()));
    assert!(p.name_matches);
    assert_eq!(p.chain.len(), 2, "leaf and CA as served");
    assert_eq!(p.chain[1].as_ref(), &f.ca.cert.cert_der[..]);
    assert_eq!(p.peer.port(), http.port);
    assert_eq!(p.protocol.as_deref(), Some("TLSv1.3"));
    assert!(!p.client_cert_requested);
    assert!(p.handshake_error.is_none());
    assert_eq!(
        f.tls.sni.lock().unwrap().as_slice(),
        &[Some(HOST.to_string())]
    );
}

#[tokio::test]
async fn probe_records_an_expired_chain_and_names_the_problem() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -400, -3);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("an expired chain is still recorded");
    assert_eq!(p.chain[0].as_ref(), &leaf.cert_der[..]);
    match p.validation {
        Err(ChainProblem::Expired { not_after: Some(t) }) => assert!(t < Utc::now()),
        other => panic!("expected Expired, got {other:?}"),
    }
}

#[tokio::test]
async fn probe_records_an_untrusted_chain() {
    let stranger = Ca::new(
        "Stranger CA",
        Utc::now() - Days::days(10),
        Utc::now() + Days::days(100),
    )
    .unwrap();
    let leaf = server_leaf(&stranger, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[&stranger.cert], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let trusted = harness::ca();
    let p = probe(
        HOST,
        443,
        &probe_options(&trusted, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("an untrusted chain is still recorded");
    assert_eq!(p.validation, Err(ChainProblem::UnknownIssuer));
    assert_eq!(p.chain.len(), 2);
    assert!(p.name_matches, "the name is judged apart from trust");
}

#[tokio::test]
async fn probe_names_a_host_name_mismatch() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &["other.example.com"], -1, 60);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert_eq!(p.validation, Err(ChainProblem::NameMismatch));
    assert!(!p.name_matches);
}

#[tokio::test]
async fn probe_notes_a_request_for_a_client_certificate() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[], Some(&ca), ClientAuth::Optional);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert!(p.client_cert_requested);
    assert_eq!(p.validation, Ok(()));
}

#[tokio::test]
async fn probe_keeps_the_chain_when_the_handshake_fails_afterwards() {
    // TLS 1.2: the server sends its chain, asks for a client certificate, and refuses the
    // empty answer before the handshake ends. The chain is still evidence.
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -1, 60);
    let tls = tls_server_with(
        &leaf,
        &[],
        Some(&ca),
        ClientAuth::Required,
        &[&rustls::version::TLS12],
    );
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("the chain was recorded");
    assert_eq!(p.chain[0].as_ref(), &leaf.cert_der[..]);
    assert_eq!(p.validation, Ok(()));
    assert!(p.client_cert_requested);
    let err = p.handshake_error.expect("the handshake failed");
    assert!(
        matches!(
            err.kind(),
            UnreachableKind::Tls | UnreachableKind::Reset | UnreachableKind::Closed
        ),
        "{err}"
    );
}

/// A port nothing listens on: bind, learn the port, close.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn probe_tells_refused_apart() {
    let ca = harness::ca();
    let e = probe(
        HOST,
        443,
        &probe_options(&ca, closed_port(), Duration::from_secs(10)),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), UnreachableKind::Refused, "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
}

#[tokio::test]
async fn probe_tells_dns_failure_apart() {
    let ca = harness::ca();
    let mut opts = probe_options(&ca, 1, Duration::from_secs(10));
    opts.connect_to = None;
    let e = probe("no-such-tenant.invalid", 443, &opts)
        .await
        .unwrap_err();
    match &e {
        Unreachable::Dns { host, .. } => assert_eq!(host, "no-such-tenant.invalid"),
        other => panic!("expected DNS, got {other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with("DNS lookup of no-such-tenant.invalid failed")
    );
}

#[tokio::test]
async fn probe_tells_a_silent_server_apart_as_a_handshake_timeout() {
    let ca = harness::ca();
    // The kernel completes the TCP handshake for a listener that never accepts.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let e = probe(
        HOST,
        443,
        &probe_options(&ca, port, Duration::from_millis(300)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        Unreachable::Timeout {
            phase: mtls_audit::net::Phase::TlsHandshake,
            after: Duration::from_millis(300)
        }
    );
    drop(silent);
}

#[tokio::test]
async fn probe_tells_a_reset_apart() {
    let ca = harness::ca();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            // Read the ClientHello so the client is waiting for an answer, then reset.
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            s.set_zero_linger().unwrap();
            drop(s);
        }
    });
    let e = probe(
        HOST,
        443,
        &probe_options(&ca, port, Duration::from_secs(10)),
    )
    .await
    .unwrap_err();
    assert_eq!(e, Unreachable::Reset, "{e}");
}

#[tokio::test]
async fn the_client_probes_each_host_once() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let as_of = Utc::now();
    let (a, b) = tokio::join!(
        client.probe_tls(HOST, 443, as_of, Deadline::after(Duration::from_secs(20))),
        client.probe_tls(HOST, 443, as_of, Deadline::after(Duration::from_secs(20))),
    );
    let c = client
        .probe_tls("ACME.accounts.ondemand.com", 443, as_of, Deadline::none())
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
    assert_eq!(c.validation, Ok(()));
    assert_eq!(f.tls.handshakes(), 1, "one connection for three callers");
    // Another host is probed on its own.
    client
        .probe_tls("globex.accounts.ondemand.com", 443, as_of, Deadline::none())
        .await
        .unwrap();
    assert_eq!(f.tls.handshakes(), 2);
}

#[tokio::test]
async fn the_client_retries_a_refused_probe_but_not_a_dns_failure() {
    let ca = harness::ca();
    let refused = ConnectTo::parse(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let client = NetClient::new(config(&ca, Some(refused))).unwrap();
    match client
        .probe_tls(HOST, 443, Utc::now(), Deadline::none())
        .await
    {
        Err(NetError::Unreachable {
            failure: Unreachable::Refused { .. },
            attempts: 3,
            ..
        }) => {}
        other => panic!("expected refused after 3 attempts, got {other:?}"),
    }
    let client = NetClient::new(config(&ca, None)).unwrap();
    match client
        .probe_tls("no-such-tenant.invalid", 443, Utc::now(), Deadline::none())
        .await
    {
        Err(NetError::Unreachable {
            failure: Unreachable::Dns { .. },
            attempts: 1,
            ..
        }) => {}
        other => panic!("expected one DNS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn offline_makes_no_connection() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let mut cfg = config(&f.ca, Some(http.connect_to()));
    cfg.offline = true;
    let client = NetClient::new(cfg).unwrap();
    let e = client.send(Call::get(&url("/scim/Users")).unwrap()).await;
    assert!(matches!(e, Err(NetError::Offline)), "{e:?}");
    let e = client
        .probe_tls(HOST, 443, Utc::now(), Deadline::none())
        .await;
    assert!(matches!(e, Err(NetError::Offline)), "{e:?}");
    assert_eq!(f.tls.handshakes(), 0);
    assert!(http.seen().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The REST client: connect-to, verification, failures

#[tokio::test]
async fn connect_to_keeps_the_host_for_sni_and_host_header() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200).body("ok"))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users?filter=userName%20eq%20%22x%22")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.body.as_slice(), r.attempts),
        (200, &b"ok"[..], 1)
    );
    // A port in the URL must not override the connect-to port: it goes to the Host header.
    let r = client
        .send(Call::get("https://globex.accounts.ondemand.com:8443/scim/Users").unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let seen = http.seen();
    assert_eq!(seen[0].host.as_deref(), Some(HOST));
    assert_eq!(seen[0].sni.as_deref(), Some(HOST));
    assert_eq!(seen[0].path, "/scim/Users");
    assert_eq!(
        seen[1].host.as_deref(),
        Some("globex.accounts.ondemand.com:8443")
    );
    assert_eq!(seen[1].sni.as_deref(), Some("globex.accounts.ondemand.com"));
}

#[tokio::test]
async fn the_rest_client_verifies_unless_told_not_to() {
    let stranger = Ca::new(
        "Stranger CA",
        Utc::now() - Days::days(10),
        Utc::now() + Days::days(100),
    )
    .unwrap();
    let leaf = server_leaf(&stranger, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let trusted = harness::ca();
    let client = NetClient::new(config(&trusted, Some(http.connect_to()))).unwrap();
    let e = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.unreachable(),
        Some(&Unreachable::Tls(TlsFailure::Certificate(
            ChainProblem::UnknownIssuer
        ))),
        "{e}"
    );
    if let NetError::Unreachable { attempts, .. } = e {
        assert_eq!(attempts, 1, "a refused certificate is not retried");
    }
    assert!(http.seen().is_empty());

    let mut cfg = config(&trusted, Some(http.connect_to()));
    cfg.insecure = true;
    let client = NetClient::new(cfg).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn rest_failures_are_classified_and_retried_only_when_useful() {
    let f = fixture();
    // Refused: retried (connection trouble), then reported with the count.
    let refused = ConnectTo::parse(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let client = NetClient::new(config(&f.ca, Some(refused))).unwrap();
    match client.send(Call::get(&url("/scim/Users")).unwrap()).await {
        Err(NetError::Unreachable {
            failure: Unreachable::Refused { .. },
            attempts,
            ..
        }) => assert_eq!(attempts, 3),
        other => panic!("expected refused, got {other:?}"),
    }
    // DNS: not retried.
    let client = NetClient::new(config(&f.ca, None)).unwrap();
    match client
        .send(Call::get("https://no-such-tenant.invalid/scim/Users").unwrap())
        .await
    {
        Err(e @ NetError::Unreachable { .. }) => {
            assert_eq!(e.unreachable().unwrap().kind(), UnreachableKind::Dns, "{e}");
            assert!(matches!(e, NetError::Unreachable { attempts: 1, .. }));
        }
        other => panic!("expected DNS failure, got {other:?}"),
    }
}

/// A TLS server that reads one request per connection and then, by connection number, closes
/// without answering, hangs, or answers 200.
#[derive(Clone, Copy)]
enum Raw {
    Close,
    Hang,
    Ok,
}

async fn raw_server(tls: &TlsServer, behaviour: fn(usize) -> Raw) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                match behaviour(n) {
                    Raw::Close => drop(s),
                    Raw::Hang => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        drop(s);
                    }
                    Raw::Ok => {
                        let _ = s
                            .write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                            )
                            .await;
                        let _ = s.shutdown().await;
                    }
                }
            });
        }
    });
    (port, count)
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let f = fixture();
    let (port, count) = raw_server(&f.tls, |n| if n == 1 { Raw::Close } else { Raw::Ok }).await;
    let client = NetClient::new(config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    ))
    .unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 2));
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // Always dropped: reported as closed after the retries.
    let (port, _) = raw_server(&f.tls, |_| Raw::Close).await;
    let client = NetClient::new(config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    ))
    .unwrap();
    let e = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.unreachable(), Some(&Unreachable::Closed), "{e}");
}

#[tokio::test]
async fn a_hanging_tenant_is_cut_at_its_deadline_and_delays_no_one_else() {
    let ca = harness::ca();
    // Addressed by IP so two servers can be reached without --connect-to.
    let leaf = server_leaf(&ca, &["127.0.0.1"], -1, 60);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let (hang_port, accepted) = raw_server(&tls, |_| Raw::Hang).await;
    let healthy = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let mut cfg = config(&ca, None);
    // One request in flight for the whole fleet, and no per-request timeout to speak of:
    // only the hanging tenant's deadline can free the slot.
    cfg.concurrency = 1;
    cfg.timeout = Duration::from_secs(3600);
    let client = NetClient::new(cfg).unwrap();
    let hang_call = Call::get(&format!("https://127.0.0.1:{hang_port}/scim/Users"))
        .unwrap()
        .deadline(Deadline::after(Duration::from_millis(300)));
    let hanging = tokio::spawn({
        let c = client.clone();
        async move { c.send(hang_call).await }
    });
    // Wait until the hanging request holds the only slot.
    while accepted.load(Ordering::SeqCst) == 0 && !hanging.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ok = client
        .send(
            Call::get(&format!("https://127.0.0.1:{}/scim/Users", healthy.port))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(120))),
        )
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    let e = hanging.await.unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Deadline {
                waiting: mtls_audit::net::client::Waiting::Response,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_timeout_without_deadline_is_reported_as_such() {
    let f = fixture();
    let (port, count) = raw_server(&f.tls, |_| Raw::Hang).await;
    let mut cfg = config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    );
    cfg.timeout = Duration::from_millis(300);
    cfg.retry.retries = 1;
    let client = NetClient::new(cfg).unwrap();
    let e = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_err();
    match e {
        NetError::Unreachable {
            failure: Unreachable::Timeout { phase, .. },
            attempts,
            ..
        } => {
            assert_eq!(phase, mtls_audit::net::Phase::Response);
            assert_eq!(attempts, 2);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------------
// Retries by status

#[tokio::test]
async fn a_503_then_200_is_retried() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, n| if n == 1 { reply(503) } else { reply(200) }),
    )
    .await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 2));
}

#[tokio::test]
async fn always_429_returns_the_last_status_and_the_attempts() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(429))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert!(r.is_throttled());
    assert_eq!((r.attempts, r.retries()), (3, 2));
    assert_eq!(http.count("/scim/Users"), 3);
    // 4xx other than 429 are answers, not retried.
    let http = http_server(&f.tls, Box::new(|_, _| reply(403))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (403, 1));
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_succeeds() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, n| if n <= 2 { reply(429) } else { reply(200) }),
    )
    .await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 3));
}

/// A config whose own backoff is so long that only an honoured `Retry-After` lets a retry
/// happen within the deadline.
fn retry_after_config(ca: &Ca, http: &Http) -> NetConfig {
    let mut cfg = config(ca, Some(http.connect_to()));
    cfg.retry = RetryPolicy {
        retries: 3,
        base: Duration::from_secs(3600),
        cap: Duration::from_secs(3600),
        max_retry_after: Duration::from_secs(30),
    };
    cfg
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, n| match n {
            1 => reply(429).header("retry-after", "0"),
            2 => reply(503).header(
                "retry-after",
                (Utc::now() - Days::seconds(5))
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string(),
            ),
            _ => reply(200),
        }),
    )
    .await;
    let client = NetClient::new(retry_after_config(&f.ca, &http)).unwrap();
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(60))),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 3));
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_or_the_cap_is_not_waited_for() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, _| reply(429).header("retry-after", "20")),
    )
    .await;
    let client = NetClient::new(retry_after_config(&f.ca, &http)).unwrap();
    // 20 s is within the cap but beyond this tenant's deadline.
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(5))),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (429, 1));
    // 60 s is beyond the cap of what is honoured at all.
    let http = http_server(
        &f.tls,
        Box::new(|_, _| reply(429).header("retry-after", "60")),
    )
    .await;
    let client = NetClient::new(retry_after_config(&f.ca, &http)).unwrap();
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(60))),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (429, 1));
}

// ---------------------------------------------------------------------------------------------
// Rate budget

#[tokio::test]
async fn the_rate_budget_spaces_requests_to_one_tenant() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let mut cfg = config(&f.ca, Some(http.connect_to()));
    // A shortened window: 5 requests per 250 ms with a burst of 2, i.e. one per 50 ms.
    let limit = RateLimit {
        requests: 5,
        per: Duration::from_millis(250),
        burst: 2,
    };
    cfg.budgets = RateBudgets::uniform(limit);
    cfg.concurrency = 16;
    cfg.per_host = 16;
    let client = NetClient::new(cfg).unwrap();
    let n = 12usize;
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let c = client.clone();
        set.spawn(async move { c.send(Call::get(&url("/scim/Users")).unwrap()).await });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap().status, 200);
    }
    let mut arrivals: Vec<Duration> = http.seen().iter().map(|s| s.at - t0).collect();
    assert_eq!(arrivals.len(), n, "the server counted every request");
    arrivals.sort();
    // The k-th request (from 0) cannot reach the server before its slot: (k - burst + 1)
    // intervals after the first. Load only delays requests, so this bound cannot flake.
    let interval = limit.per / limit.requests;
    for (k, at) in arrivals.iter().enumerate() {
        let slot = interval * (k as u32 + 1).saturating_sub(limit.burst);
        assert!(
            *at >= slot,
            "request {k} arrived after {at:?}, before its slot {slot:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Auth: mTLS identities, Basic, OAuth

#[tokio::test]
async fn an_mtls_identity_is_accepted_and_a_missing_or_foreign_one_rejected() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[], Some(&ca), ClientAuth::Required);
    let http = http_server(
        &tls,
        Box::new(|s, _| reply(if s.client_certs > 0 { 200 } else { 401 })),
    )
    .await;
    let mut cfg = config(&ca, Some(http.connect_to()));
    cfg.retry.retries = 0;
    let client = NetClient::new(cfg).unwrap();

    let lms = identity(&client_leaf(&ca, "LMS"), "LMS");
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Identity(lms.clone())),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(http.seen()[0].client_certs, 1);
    assert_eq!(
        http.seen()[0].authorization,
        None,
        "mTLS sends no Authorization header"
    );

    // The same through an mTLS credential.
    let cred = Arc::new(Credential::new("m", CredentialKind::Mtls { identity: lms }));
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred)),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);

    // TLS 1.3 shows the rejection only after the handshake (STACK.md pitfall 3): it must still
    // come back as a TLS-level failure, never as an answer.
    let stranger = Ca::new(
        "Stranger",
        Utc::now() - Days::days(1),
        Utc::now() + Days::days(9),
    )
    .unwrap();
    let foreign = identity(&client_leaf(&stranger, "LMS"), "foreign");
    for auth in [Auth::None, Auth::Identity(foreign)] {
        let e = client
            .send(Call::get(&url("/scim/Users")).unwrap().auth(auth.clone()))
            .await
            .unwrap_err();
        let kind = e.unreachable().map(Unreachable::kind);
        assert!(
            matches!(
                kind,
                Some(UnreachableKind::Tls | UnreachableKind::Reset | UnreachableKind::Closed)
            ),
            "{auth:?}: {e}"
        );
    }
    assert_eq!(
        http.count("/scim/Users"),
        2,
        "rejected clients never reached HTTP"
    );
}

fn basic_of(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

#[tokio::test]
async fn basic_credentials_send_basic_auth() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = Arc::new(Credential::new(
        "acme",
        CredentialKind::Basic {
            client_id: "8f7d".into(),
            secret: Secret::new("basic-secret"),
        },
    ));
    client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred)),
        )
        .await
        .unwrap();
    assert_eq!(
        http.seen()[0].authorization.as_deref(),
        Some(basic_of("8f7d", "basic-secret").as_str())
    );
}

/// An IAS-like OAuth server: `/oauth2/token` checks the client's Basic auth and the form, and
/// issues `tok-N`; the API accepts only the tokens `accept` allows.
fn oauth_server(
    expires_in: u64,
    accept: fn(token_no: usize, latest: usize) -> bool,
) -> (Responder, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let respond: Responder = Box::new(move |s, _| {
        if s.path == "/oauth2/token" {
            if s.method != "POST"
                || s.authorization.as_deref() != Some(&basic_of("cid", "oauth-secret"))
            {
                return reply(401);
            }
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            return reply(200)
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"access_token":"tok-{n}","token_type":"Bearer","expires_in":{expires_in}}}"#
                ));
        }
        let latest = counter.load(Ordering::SeqCst);
        let presented = s
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer tok-"))
            .and_then(|n| n.parse::<usize>().ok());
        match presented {
            Some(n) if accept(n, latest) => reply(200),
            _ => reply(401),
        }
    });
    (respond, issued)
}

fn oauth_cred(secret: &str) -> Arc<Credential> {
    Arc::new(Credential::new(
        "acme-oauth",
        CredentialKind::OAuth {
            client_id: "cid".into(),
            secret: Secret::new(secret),
        },
    ))
}

#[tokio::test]
async fn oauth_tokens_are_cached_per_tenant() {
    let f = fixture();
    let (respond, issued) = oauth_server(3600, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = oauth_cred("oauth-secret");
    for _ in 0..3 {
        let r = client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(cred.clone())),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "one token for three calls"
    );
    assert_eq!(http.count("/oauth2/token"), 1);
    // Another tenant host gets its own token.
    client
        .send(
            Call::get("https://globex.accounts.ondemand.com/scim/Users")
                .unwrap()
                .auth(Auth::Credential(cred.clone())),
        )
        .await
        .unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    let token_req = http
        .seen()
        .into_iter()
        .find(|s| s.path == "/oauth2/token")
        .unwrap();
    assert_eq!(token_req.host.as_deref(), Some(HOST));
}

#[tokio::test]
async fn a_token_about_to_expire_is_not_reused() {
    let f = fixture();
    let (respond, issued) = oauth_server(0, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = oauth_cred("oauth-secret");
    for _ in 0..3 {
        client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(cred.clone())),
            )
            .await
            .unwrap();
    }
    assert_eq!(issued.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let f = fixture();
    // Only the newest token is good: the first one gets revoked as soon as a second exists,
    // and here the API refuses tok-1 outright.
    let (respond, issued) = oauth_server(3600, |n, _| n >= 2);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = oauth_cred("oauth-secret");
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred.clone())),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 2));
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    // The refreshed token is cached.
    client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred)),
        )
        .await
        .unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 2);

    // An API that refuses every token: one refresh, then the 401 is the answer.
    let (respond, issued) = oauth_server(3600, |_, _| false);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(oauth_cred("oauth-secret"))),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "refreshed once, not in a loop"
    );
}

#[tokio::test]
async fn a_refused_token_request_is_an_auth_failure() {
    let f = fixture();
    let (respond, _) = oauth_server(3600, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let e = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(oauth_cred("wrong-secret"))),
        )
        .await
        .unwrap_err();
    assert!(e.is_auth_failure(), "{e}");
    assert!(
        matches!(e, NetError::TokenRejected { status: 401, .. }),
        "{e}"
    );
    assert_eq!(http.count("/scim/Users"), 0);
}

// ---------------------------------------------------------------------------------------------
// Secrets stay out of errors and logs

const SECRETS: [&str; 3] = ["basic-secret", "oauth-secret", "tok-"];

fn assert_no_secret(text: &str, key_pem: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{s:?} leaked into:\n{text}");
    }
    assert!(
        !text.contains(&basic_of("8f7d", "basic-secret")[6..]),
        "Basic value leaked:\n{text}"
    );
    assert!(
        !text.contains(&basic_of("cid", "oauth-secret")[6..]),
        "Basic value leaked:\n{text}"
    );
    for line in key_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "key material leaked:\n{text}");
    }
    assert!(
        !text.contains("PRIVATE KEY"),
        "key material leaked:\n{text}"
    );
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let f = fixture();
    let lms_leaf = client_leaf(&f.ca, "LMS");
    let lms = identity(&lms_leaf, "LMS");
    let basic = Arc::new(Credential::new(
        "acme",
        CredentialKind::Basic {
            client_id: "8f7d".into(),
            secret: Secret::new("basic-secret"),
        },
    ));
    let mut texts = vec![
        format!("{basic:?}"),
        format!("{lms:?}"),
        format!("{:?}", oauth_cred("oauth-secret")),
        format!(
            "{:?}",
            Call::get(&url("/x"))
                .unwrap()
                .auth(Auth::Credential(basic.clone()))
        ),
    ];
    let mut errors: Vec<NetError> = Vec::new();
    // Unreachable with a Basic credential and with an identity.
    let refused = ConnectTo::parse(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let client = NetClient::new(config(&f.ca, Some(refused))).unwrap();
    for auth in [Auth::Credential(basic.clone()), Auth::Identity(lms.clone())] {
        errors.push(
            client
                .send(Call::get(&url("/scim/Users")).unwrap().auth(auth))
                .await
                .unwrap_err(),
        );
    }
    // Token refused, and a token endpoint answering garbage.
    let (respond, _) = oauth_server(3600, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let wrong = Arc::new(Credential::new(
        "acme-oauth",
        CredentialKind::OAuth {
            client_id: "cid".into(),
            secret: Secret::new("oauth-secret-wrong"),
        },
    ));
    errors.push(
        client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(wrong)),
            )
            .await
            .unwrap_err(),
    );
    let garbage = http_server(
        &f.tls,
        Box::new(|_, _| reply(200).body(r#"{"access_token": 1, "note": "tok-9 oauth-secret"}"#)),
    )
    .await;
    let client = NetClient::new(config(&f.ca, Some(garbage.connect_to()))).unwrap();
    errors.push(
        client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(oauth_cred("oauth-secret"))),
            )
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(errors[3], NetError::TokenUnusable { .. }),
        "{:?}",
        errors[3]
    );
    for e in &errors {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
    }
    assert_no_secret(&texts.join("\n"), &lms_leaf.key_pem);
}

/// A `MakeWriter` collecting everything a subscriber writes.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_never_appear_in_trace_logs() {
    use tracing_subscriber::util::SubscriberInitExt;
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    // With a single registered dispatcher, tracing decides a callsite's interest from the
    // default of whichever thread hits it first, so another test thread would cache "not
    // interested" for callsites this test needs. A second registered dispatcher makes tracing
    // ask every registered dispatcher instead; it is never anyone's default.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    // Thread-local: this test's single-threaded runtime runs the client, the connections
    // and the servers on this thread, so all of them log into the buffer.
    let _guard = subscriber.set_default();

    let f = fixture();
    let (respond, _) = oauth_server(3600, |n, _| n >= 2);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let basic = Arc::new(Credential::new(
        "acme",
        CredentialKind::Basic {
            client_id: "8f7d".into(),
            secret: Secret::new("basic-secret"),
        },
    ));
    let lms_leaf = client_leaf(&f.ca, "LMS");
    // Callsites other threads registered before the dispatchers above keep a stale "not
    // interested": recompute now that every concurrent registration has finished.
    tracing::callsite::rebuild_interest_cache();
    let calls = [
        Auth::Credential(oauth_cred("oauth-secret")),
        Auth::Credential(basic),
        Auth::Identity(identity(&lms_leaf, "LMS")),
    ];
    for auth in calls {
        client
            .send(Call::get(&url("/scim/Users?filter=x")).unwrap().auth(auth))
            .await
            .unwrap();
    }
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("mtls_audit::net::client: request"),
        "the request lines were logged:\n{log}"
    );
    assert!(log.contains("/scim/Users"), "{log}");
    assert!(log.contains("/oauth2/token"), "{log}");
    assert!(
        !log.contains("filter=x"),
        "no query strings in logs:\n{log}"
    );
    assert_no_secret(&log, &lms_leaf.key_pem);
}
