//! TLS for the simulator: its own CA, one server certificate covering every tenant host (SAP's
//! wildcards), per-SNI certificates for tenants with a server-certificate fault, optional client
//! certificates, and the accept loop that hands finished handshakes to axum.
//!
//! Client certificates are optional at the TLS layer and any certificate is let through the
//! handshake as long as the client proves it holds the key (the handshake signature is still
//! verified). Whether the certificate is *accepted* is decided per request at the HTTP layer,
//! where the tenant is known: real IAS answers an unknown certificate with 401, not with a
//! handshake failure, and so does the simulator.

use crate::pki::{Ca, Issued, LeafSpec, PkiError};
use crate::scenario::ServerCertMode;
use crate::state::{PeerCert, World, lock, read};
use chrono::{DateTime, Duration as Days, Utc};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// Why the simulator's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The CA or a server certificate could not be made.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// rustls refused the configuration or a certificate.
    #[error("rustls refused the TLS configuration")]
    Rustls(#[from] rustls::Error),
    /// A key just generated could not be parsed back.
    #[error("a generated key could not be read back")]
    Key(#[source] rustls_pki_types::pem::Error),
}

/// The parent domain a wildcard for `host` would cover, if SAP would use one there: every
/// tenant host under a domain of at least two labels (`*.accounts.ondemand.com`,
/// `*.hana.ondemand.com`, `*.cert.hana.ondemand.com`).
fn wildcard_for(host: &str) -> Option<String> {
    let (_, parent) = host.split_once('.')?;
    (parent.split('.').count() >= 2).then(|| format!("*.{parent}"))
}

/// The names the shared server certificate covers.
pub(crate) fn server_names<'a>(hosts: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names = BTreeSet::new();
    for h in hosts {
        let h = h.to_ascii_lowercase();
        match wildcard_for(&h) {
            Some(w) => names.insert(w),
            None => names.insert(h),
        };
    }
    let mut v: Vec<String> = names.into_iter().collect();
    v.extend([
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ]);
    v
}

fn certified(
    issued: &Issued,
    ca: &Issued,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsSetupError> {
    let key =
        PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).map_err(TlsSetupError::Key)?;
    let chain = vec![
        CertificateDer::from(issued.cert_der.clone()),
        CertificateDer::from(ca.cert_der.clone()),
    ];
    Ok(Arc::new(CertifiedKey::from_der(chain, key, provider)?))
}

/// The simulator's server-side PKI.
pub(crate) struct ServerPki {
    pub(crate) ca: Ca,
    untrusted: Ca,
    provider: Arc<CryptoProvider>,
    default: RwLock<Arc<CertifiedKey>>,
    default_names: RwLock<Vec<String>>,
    /// Per tenant ID and mode, the certificate its hosts present under a fault.
    special: Mutex<HashMap<(String, ServerCertMode), Arc<CertifiedKey>>>,
    today: DateTime<Utc>,
}

impl std::fmt::Debug for ServerPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerPki").field("ca", &self.ca).finish()
    }
}

/// Server certificates are valid around both the simulated date and the real clock, so a
/// simulator dated in the past still passes a client's real-time validity check.
fn validity(today: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let real = Utc::now();
    (
        today.min(real) - Days::days(30),
        today.max(real) + Days::days(365),
    )
}

impl ServerPki {
    pub(crate) fn new(
        provider: Arc<CryptoProvider>,
        today: DateTime<Utc>,
        names: Vec<String>,
    ) -> Result<ServerPki, TlsSetupError> {
        let (from, to) = validity(today);
        let ca = Ca::new(
            "mtls-audit simulator CA",
            from - Days::days(1),
            to + Days::days(3650),
        )?;
        let untrusted = Ca::new(
            "Untrusted Test CA",
            from - Days::days(1),
            to + Days::days(3650),
        )?;
        let leaf = ca.issue(&LeafSpec::server(&names, from, to))?;
        let default = certified(&leaf, &ca.cert, &provider)?;
        Ok(ServerPki {
            ca,
            untrusted,
            provider,
            default: RwLock::new(default),
            default_names: RwLock::new(names),
            special: Mutex::new(HashMap::new()),
            today,
        })
    }

    /// Re-issues the shared certificate when tenants with new host names were added.
    pub(crate) fn ensure_names(&self, names: Vec<String>) -> Result<(), TlsSetupError> {
        if names.iter().all(|n| read(&self.default_names).contains(n)) {
            return Ok(());
        }
        let (from, to) = validity(self.today);
        let leaf = self.ca.issue(&LeafSpec::server(&names, from, to))?;
        let key = certified(&leaf, &self.ca.cert, &self.provider)?;
        *crate::state::write(&self.default) = key;
        *crate::state::write(&self.default_names) = names;
        Ok(())
    }

    /// Drops a tenant's fault certificates (its hosts may have changed).
    pub(crate) fn forget(&self, tenant: &str) {
        let id = tenant.to_ascii_lowercase();
        lock(&self.special).retain(|(t, _), _| *t != id);
    }

    fn special(
        &self,
        tenant: &str,
        hosts: Vec<String>,
        mode: ServerCertMode,
    ) -> Option<Arc<CertifiedKey>> {
        let key = (tenant.to_ascii_lowercase(), mode);
        if let Some(k) = lock(&self.special).get(&key) {
            return Some(k.clone());
        }
        let now = self.today.max(Utc::now());
        let (spec, ca) = match mode {
            ServerCertMode::Expired => (
                LeafSpec::server(&hosts, now - Days::days(370), now - Days::days(5)),
                &self.ca,
            ),
            ServerCertMode::Expiring => (
                LeafSpec::server(&hosts, now - Days::days(355), now + Days::days(10)),
                &self.ca,
            ),
            ServerCertMode::Untrusted => {
                let (from, to) = validity(self.today);
                (LeafSpec::server(&hosts, from, to), &self.untrusted)
            }
            ServerCertMode::Valid | ServerCertMode::Refuse => return None,
        };
        let issued = ca.issue(&spec).ok()?;
        let ck = certified(&issued, &ca.cert, &self.provider).ok()?;
        lock(&self.special).insert(key, ck.clone());
        Some(ck)
    }
}

/// Picks the certificate by SNI: the shared one, a tenant's fault certificate, or none.
pub(crate) struct SniResolver {
    pub(crate) world: Arc<RwLock<World>>,
    pub(crate) pki: Arc<ServerPki>,
}

impl std::fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SniResolver")
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let shared = || Some(read(&self.pki.default).clone());
        let Some(sni) = hello.server_name() else {
            return shared();
        };
        let found = read(&self.world).by_host(&sni.to_ascii_lowercase());
        let Some((tenant, _)) = found else {
            return shared();
        };
        let mode = lock(&tenant.faults).server_cert;
        match mode {
            ServerCertMode::Valid => shared(),
            ServerCertMode::Refuse => {
                tracing::debug!(sni, tenant = %tenant.id, "refusing the handshake (server_cert = refuse)");
                None
            }
            _ => {
                let hosts = read(&tenant.data)
                    .spec
                    .hosts()
                    .into_iter()
                    .map(str::to_ascii_lowercase)
                    .collect();
                self.pki.special(&tenant.id, hosts, mode)
            }
        }
    }
}

/// Lets any client certificate through the handshake, but still checks the handshake signature
/// so a client cannot present a certificate whose key it does not hold.
#[derive(Debug)]
pub(crate) struct AnyClientCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

pub(crate) fn server_config(
    provider: Arc<CryptoProvider>,
    resolver: Arc<SniResolver>,
) -> Result<ServerConfig, TlsSetupError> {
    let verifier = Arc::new(AnyClientCert {
        algs: provider.signature_verification_algorithms,
    });
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// What a request can learn about its connection.
#[derive(Debug)]
pub(crate) struct ConnInfo {
    pub(crate) remote: SocketAddr,
    pub(crate) sni: Option<String>,
    pub(crate) peer: Option<PeerCert>,
    /// Set by the reset fault: the connection is dropped with a TCP RST at the next I/O.
    pub(crate) reset: AtomicBool,
}

/// The connection info as an axum `ConnectInfo` (a local newtype for the `Connected` impl).
#[derive(Debug, Clone)]
pub(crate) struct Conn(pub(crate) Arc<ConnInfo>);

/// A TLS stream that can be reset on request.
pub(crate) struct SimIo {
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    pub(crate) conn: Conn,
}

impl SimIo {
    fn check_reset(&self) -> io::Result<()> {
        if self.conn.0.reset.load(Ordering::Relaxed) {
            // Zero linger turns the close into a RST, which is what "connection reset" means.
            let _ = self.tls.get_ref().0.set_zero_linger();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "reset fault",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for SimIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.check_reset() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = this.check_reset() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.tls).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.check_reset() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.tls).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.check_reset() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.tls).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = this.check_reset() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }
}

/// The listener axum serves: finished TLS handshakes arrive from the accept loop, so a slow or
/// stalled handshake never holds up the others.
pub(crate) struct TlsListener {
    pub(crate) rx: mpsc::Receiver<(SimIo, SocketAddr)>,
    pub(crate) local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = SimIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop has stopped (shutdown): wait for axum to notice its own signal.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for Conn {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        stream.io().conn.clone()
    }
}

const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts TCP connections until `stop` fires, runs each handshake in its own task and passes
/// finished ones to the listener.
pub(crate) async fn accept_loop(
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    tx: mpsc::Sender<(SimIo, SocketAddr)>,
    mut stop: watch::Receiver<bool>,
    latency: std::time::Duration,
) {
    loop {
        tokio::select! {
            r = tcp.accept() => match r {
                Ok((stream, remote)) => {
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        crate::latency::handshake(latency).await;
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => {
                                let (_, session) = tls.get_ref();
                                let info = ConnInfo {
                                    remote,
                                    sni: session.server_name().map(str::to_ascii_lowercase),
                                    peer: session
                                        .peer_certificates()
                                        .and_then(|c| c.first())
                                        .and_then(|c| PeerCert::from_der(c.as_ref())),
                                    reset: AtomicBool::new(false),
                                };
                                let io = SimIo { tls, conn: Conn(Arc::new(info)) };
                                let _ = tx.send((io, remote)).await;
                            }
                            Ok(Err(e)) => tracing::debug!(%remote, "TLS handshake failed: {e}"),
                            Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn wildcards_follow_sap_hosts() {
        let names = server_names(
            [
                "acme.accounts.ondemand.com",
                "globex.accounts.ondemand.com",
                "ipsproxyabc-acme.hana.ondemand.com",
                "ipsproxyabc-acme.cert.hana.ondemand.com",
                "example.com",
            ]
            .into_iter(),
        );
        assert_eq!(
            names,
            [
                "*.accounts.ondemand.com",
                "*.cert.hana.ondemand.com",
                "*.hana.ondemand.com",
                "example.com",
                "localhost",
                "127.0.0.1",
                "::1"
            ]
        );
    }
}
