//! The server TLS probe: connect once, record the chain the server presents even when it is
//! expired or untrusted (ARCHITECTURE.md, pitfalls), then validate that chain separately.
//!
//! The handshake uses a record-only verifier that accepts any chain but still verifies the
//! handshake signatures, so the peer must hold the key of the certificate we record. This
//! verifier lives here only; the REST client always verifies (see [`super::trust`]).

use chrono::{DateTime, Utc};
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ProtocolVersion, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::connect_to::{ConnectTo, destination, resolve};
use super::failure::{Phase, Unreachable, classify_io};
use super::identity::ClientIdentity;
use super::provider::ring_provider;
use super::trust::{ChainProblem, ChainRecorder, TrustStore, name_matches, validate_chain};

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// `--connect-to`: connect there, keep the host name for SNI.
    pub connect_to: Option<ConnectTo>,
    /// Limit of each stage (name lookup, TCP connect, TLS handshake).
    pub timeout: Duration,
    /// A client identity to present if the server asks for one.
    pub identity: Option<Arc<ClientIdentity>>,
    /// Anchors for the validation.
    pub trust: TrustStore,
    /// The validation time (the audit's as-of).
    pub as_of: DateTime<Utc>,
}

/// What the server presented and what we make of it.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// The host name asked for (also the SNI).
    pub host: String,
    /// The port asked for (443 unless the URL names another); a `--connect-to` port is in
    /// `peer`.
    pub port: u16,
    /// The address actually connected to.
    pub peer: SocketAddr,
    /// The chain as presented, leaf first, DER. Empty only if the server sent none.
    pub chain: Vec<CertificateDer<'static>>,
    /// The chain validated against the trust anchors at the as-of time.
    pub validation: Result<(), ChainProblem>,
    /// Whether the leaf is valid for `host`, apart from trust and dates.
    pub name_matches: bool,
    /// "TLSv1.3", "TLSv1.2".
    pub protocol: Option<String>,
    /// The negotiated cipher suite as rustls names it (`TLS13_AES_256_GCM_SHA384`).
    pub cipher_suite: Option<String>,
    /// Whether the server asked for a client certificate.
    pub client_cert_requested: bool,
    /// The handshake failed after the chain was recorded (for example the server refused our
    /// client certificate): the chain is still good evidence.
    pub handshake_error: Option<Unreachable>,
}

/// Presents the identity (if any) and notes whether the server asked for one.
struct ClientAuthRecorder {
    key: Option<Arc<CertifiedKey>>,
    asked: AtomicBool,
}

impl fmt::Debug for ClientAuthRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuthRecorder")
            .field("has_identity", &self.key.is_some())
            .finish()
    }
}

impl ResolvesClientCert for ClientAuthRecorder {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

fn protocol_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
        other => format!("{other:?}"),
    }
}

/// Connects to `host:port` (or to `--connect-to`, with `host` kept for SNI), records the chain
/// and validates it. Fails only when no chain could be recorded; the failure says which of
/// DNS, refused, timeout, reset, closed or TLS it was.
pub async fn probe(host: &str, port: u16, opts: &ProbeOptions) -> Result<ProbeResult, Unreachable> {
    probe_at(host, port, None, opts).await
}

/// [`probe`], connecting to `addrs` (already resolved, `--connect-to` applied) when given.
pub(crate) async fn probe_at(
    host: &str,
    port: u16,
    addrs: Option<&[SocketAddr]>,
    opts: &ProbeOptions,
) -> Result<ProbeResult, Unreachable> {
    let timeout = opts.timeout;
    let (dest_host, dest_port) = destination(opts.connect_to.as_ref(), host, port);
    let looked_up;
    let addrs = match addrs {
        Some(a) => a,
        None => {
            looked_up = lookup(dest_host, dest_port, timeout).await?;
            &looked_up
        }
    };
    let (tcp, peer) = connect_any(addrs, timeout).await?;

    let name = ServerName::try_from(host.to_string())
        .map_err(|_| Unreachable::Other(format!("{host:?} is not a valid TLS server name")))?;
    let key = match &opts.identity {
        Some(id) => Some(Arc::new(id.certified_key().map_err(|_| {
            Unreachable::Other(format!("client identity {} cannot be used", id.label()))
        })?)),
        None => None,
    };
    // Accepts any chain and records it; the handshake signatures are still verified.
    let recorder = Arc::new(ChainRecorder::default());
    let verifier = super::trust::record_any(recorder.clone());
    let client_auth = Arc::new(ClientAuthRecorder {
        key,
        asked: AtomicBool::new(false),
    });
    let config = ClientConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Unreachable::Other(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(client_auth.clone());
    let connector = TlsConnector::from(Arc::new(config));

    let handshake = tokio::time::timeout(timeout, connector.connect(name, tcp)).await;
    let chain = recorder.get(host);
    let (protocol, cipher_suite, handshake_error) = match handshake {
        Ok(Ok(mut stream)) => {
            let (_, conn) = stream.get_ref();
            let protocol = conn.protocol_version().map(protocol_name);
            let suite = conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()));
            // Say goodbye politely; the answer does not matter.
            let _ = tokio::time::timeout(Duration::from_millis(100), stream.shutdown()).await;
            (protocol, suite, None)
        }
        Ok(Err(e)) => (
            None,
            None,
            Some(classify_io(&e, Phase::TlsHandshake, timeout, Some(peer))),
        ),
        Err(_) => (
            None,
            None,
            Some(Unreachable::Timeout {
                phase: Phase::TlsHandshake,
                after: timeout,
            }),
        ),
    };
    match (chain, handshake_error) {
        (None, Some(err)) => Err(err),
        // A completed handshake always saw a certificate; an empty chain keeps that honest.
        (chain, err) => Ok(finish(
            host,
            port,
            peer,
            chain.unwrap_or_default(),
            opts,
            protocol,
            cipher_suite,
            &client_auth,
            err,
        )),
    }
}

/// The addresses of `host:port`, or why there are none, within `timeout`.
async fn lookup(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, Unreachable> {
    match tokio::time::timeout(timeout, resolve(host, port)).await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(Unreachable::Dns {
            host: e.host().to_string(),
            detail: match &e {
                super::connect_to::ResolveError::Lookup { cause, .. } => cause.to_string(),
                super::connect_to::ResolveError::NoAddress { .. } => "no address".into(),
            },
        }),
        Err(_) => Err(Unreachable::Dns {
            host: host.to_string(),
            detail: format!("no answer within {} ms", timeout.as_millis()),
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    host: &str,
    port: u16,
    peer: SocketAddr,
    chain: Vec<CertificateDer<'static>>,
    opts: &ProbeOptions,
    protocol: Option<String>,
    cipher_suite: Option<String>,
    client_auth: &ClientAuthRecorder,
    handshake_error: Option<Unreachable>,
) -> ProbeResult {
    let validation = validate_chain(&chain, host, &opts.trust, opts.as_of);
    let name_ok = chain.first().is_some_and(|leaf| name_matches(leaf, host));
    ProbeResult {
        host: host.to_string(),
        port,
        peer,
        chain,
        validation,
        name_matches: name_ok,
        protocol,
        cipher_suite,
        client_cert_requested: client_auth.asked.load(Ordering::Relaxed),
        handshake_error,
    }
}

/// TCP connect to the first address that answers, all within one `timeout`.
async fn connect_any(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), Unreachable> {
    let attempt = async {
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => return Ok((s, *addr)),
                Err(e) => last = Some((e, *addr)),
            }
        }
        Err(last)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(ok)) => Ok(ok),
        Ok(Err(Some((e, addr)))) => Err(classify_io(&e, Phase::Connect, timeout, Some(addr))),
        Ok(Err(None)) => Err(Unreachable::Other("no address to connect to".to_string())),
        Err(_) => Err(Unreachable::Timeout {
            phase: Phase::Connect,
            after: timeout,
        }),
    }
}
