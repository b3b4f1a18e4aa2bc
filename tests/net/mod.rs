//! The network layer against small TLS servers started on 127.0.0.1 by each test, by topic:
//!
//! - `tls_probe`: the server TLS probe records the chain a server presents and validates it;
//! - `failures`: refused, DNS, timeout and reset told apart, and retried only when useful;
//! - `connect`: `--connect-to`, server verification and `--insecure`, `--offline`;
//! - `retries`: dropped connections and 429/5xx retried with backoff, `Retry-After`;
//! - `limits`: the tenant deadline, the request timeout and the rate budget;
//! - `auth`: mTLS identities, Basic and OAuth credentials;
//! - `secrets`: secrets kept out of errors, logs and reports, even when a server echoes them;
//! - `live_api`: the live audit's API client against scripted servers: identifiers cannot steer
//!   URLs, SCIM answers are read as RFC 7643/7644 allow, server text is sanitised.
//!
//! This file holds what they share: certificates, a scripted HTTPS server, a raw TLS server,
//! the usual fixture and config, and an IAS-like OAuth server.

mod auth;
mod connect;
mod failures;
mod limits;
mod live_api;
mod retries;
mod secrets;
mod tls_probe;

use crate::harness::{self, crypto};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use axum_server::tls::TlsInfo;
use axum_server::tls_rustls::RustlsConfig;
use chrono::{Duration as Days, Utc};
use mtls_audit::net::tls_probe::ProbeOptions;
use mtls_audit::net::{
    ClientIdentity, ConnectTo, Credential, CredentialKind, NetConfig, RetryPolicy, Secret,
    TrustStore,
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
    /// The raw query string, if any.
    query: Option<String>,
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
        query: uri.query().map(str::to_string),
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

/// Probe options that connect to 127.0.0.1:`port`, trust only `ca` and judge at the real now.
fn probe_options(ca: &Ca, port: u16, timeout: Duration) -> ProbeOptions {
    ProbeOptions {
        connect_to: Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
        timeout,
        identity: None,
        trust: TrustStore::load(false, &[der(&ca.cert)]).unwrap(),
        as_of: Utc::now(),
    }
}

/// A port nothing listens on: bind, learn the port, close.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A TLS server that reads one request per connection and then, by connection number, closes
/// without answering, hangs, or answers 200; or never starts the TLS handshake at all.
#[derive(Clone, Copy)]
enum Raw {
    Close,
    Hang,
    Ok,
    /// Accept the TCP connection but never answer the ClientHello (a front end too busy to
    /// handshake), then close it after a minute.
    NoHandshake,
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
                if let Raw::NoHandshake = behaviour(n) {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    drop(tcp);
                    return;
                }
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
                    Raw::NoHandshake => {}
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

/// The `Authorization` header value of Basic auth with `id` and `secret`.
fn basic_of(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
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
