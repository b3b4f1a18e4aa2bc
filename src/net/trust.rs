//! Trust anchors (the system roots plus `--ca-cert`), validation of a recorded server chain, and
//! the rustls configuration of the REST client.
//!
//! The TLS probe records whatever chain a server presents and validates it here, at the audit's
//! as-of time, with rustls' own `WebPkiServerVerifier`; the REST client verifies with the same
//! anchors during the handshake and so never talks to an untrusted server (unless `insecure`).

use chrono::{DateTime, Utc};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::identity::ClientIdentity;
use super::provider::ring_provider;
use crate::inputs::InputLimits;
use mtls_audit_input::{FileError, read_file};

/// Why trust anchors could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The `--ca-cert` file cannot be read (the message names the file, the limit and why).
    #[error(transparent)]
    Read(#[from] FileError),
    /// The `--ca-cert` file holds neither PEM certificates nor one DER certificate.
    #[error("CA file {file} holds no certificate (expected PEM or DER)")]
    NoCertificate {
        /// The file as given.
        file: String,
    },
    /// A `--ca-cert` certificate was refused as a trust anchor.
    #[error("a CA certificate cannot be used as a trust anchor: {reason}")]
    BadAnchor {
        /// rustls' reason.
        reason: String,
    },
    /// There is nothing to validate a server against: no system roots and no `--ca-cert`.
    #[error("no trust anchors: the system has none and no --ca-cert was given")]
    NoAnchors,
    /// rustls refused to build the verifier or the client configuration.
    #[error("TLS configuration failed: {reason}")]
    Config {
        /// rustls' reason.
        reason: String,
    },
}

/// Reads a `--ca-cert` file: PEM with any number of certificates, or one DER certificate.
pub fn read_ca_file(
    path: &Path,
    limits: &InputLimits,
) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let file = path.display().to_string();
    let bytes = read_file(path, &limits.config("CA file"))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .collect();
    if !certs.is_empty() {
        return Ok(certs);
    }
    // A DER certificate starts with a SEQUENCE tag; anything else is not one.
    if bytes.first() == Some(&0x30) && mtls_audit_cert::CertFacts::from_der(&bytes).is_ok() {
        return Ok(vec![CertificateDer::from(bytes)]);
    }
    Err(TrustError::NoCertificate { file })
}

/// The anchors a server chain is validated against, with the verifier built from them.
#[derive(Clone)]
pub struct TrustStore {
    verifier: Option<Arc<WebPkiServerVerifier>>,
    system: usize,
    extra: usize,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("system_anchors", &self.system)
            .field("extra_anchors", &self.extra)
            .finish()
    }
}

impl TrustStore {
    /// The platform's anchors (when `system`) plus `extra` (the `--ca-cert` certificates).
    /// Unreadable system anchors are skipped: a host without any simply trusts only `extra`.
    pub fn load(system: bool, extra: &[CertificateDer<'static>]) -> Result<TrustStore, TrustError> {
        let mut roots = RootCertStore::empty();
        let mut system_count = 0;
        if system {
            let native = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(native.certs);
            system_count = added;
        }
        for cert in extra {
            roots.add(cert.clone()).map_err(|e| TrustError::BadAnchor {
                reason: e.to_string(),
            })?;
        }
        let roots = Arc::new(roots);
        let verifier = if roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(roots.clone(), ring_provider())
                    .build()
                    .map_err(|e| TrustError::Config {
                        reason: e.to_string(),
                    })?,
            )
        };
        Ok(TrustStore {
            verifier,
            system: system_count,
            extra: extra.len(),
        })
    }
}

/// Why a server's chain is not valid, precisely enough for a finding to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// The server presented no certificate at all.
    NoCertificate,
    /// A certificate of the chain had expired at the validation time.
    Expired {
        /// When it expired, if the verifier said.
        not_after: Option<DateTime<Utc>>,
    },
    /// A certificate of the chain was not valid yet at the validation time.
    NotYetValid {
        /// When it becomes valid, if the verifier said.
        not_before: Option<DateTime<Utc>>,
    },
    /// The chain does not lead to a trusted anchor (system roots and `--ca-cert`).
    UnknownIssuer,
    /// The leaf is not valid for the host name that was asked for.
    NameMismatch,
    /// A certificate is revoked.
    Revoked,
    /// A signature in the chain does not verify.
    BadSignature,
    /// Anything else the verifier refused (wrong key usage, a CA as leaf, bad encoding, …).
    Other(String),
}

impl ChainProblem {
    /// Maps a rustls verification error to the problem it names.
    pub(crate) fn from_rustls(err: &rustls::Error) -> ChainProblem {
        let rustls::Error::InvalidCertificate(ce) = err else {
            return ChainProblem::Other(err.to_string());
        };
        match ce {
            CertificateError::Expired => ChainProblem::Expired { not_after: None },
            CertificateError::ExpiredContext { not_after, .. } => ChainProblem::Expired {
                not_after: to_chrono(*not_after),
            },
            CertificateError::NotValidYet => ChainProblem::NotYetValid { not_before: None },
            CertificateError::NotValidYetContext { not_before, .. } => ChainProblem::NotYetValid {
                not_before: to_chrono(*not_before),
            },
            CertificateError::UnknownIssuer => ChainProblem::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                ChainProblem::NameMismatch
            }
            CertificateError::Revoked => ChainProblem::Revoked,
            CertificateError::BadSignature => ChainProblem::BadSignature,
            _ => ChainProblem::Other(err.to_string()),
        }
    }
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainProblem::NoCertificate => f.write_str("the server presented no certificate"),
            ChainProblem::Expired { not_after: Some(t) } => {
                write!(
                    f,
                    "certificate expired on {}",
                    t.format("%Y-%m-%dT%H:%M:%SZ")
                )
            }
            ChainProblem::Expired { not_after: None } => f.write_str("certificate expired"),
            ChainProblem::NotYetValid {
                not_before: Some(t),
            } => write!(
                f,
                "certificate not valid before {}",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            ),
            ChainProblem::NotYetValid { not_before: None } => {
                f.write_str("certificate not valid yet")
            }
            ChainProblem::UnknownIssuer => {
                f.write_str("chain does not lead to a trusted CA (system roots and --ca-cert)")
            }
            ChainProblem::NameMismatch => f.write_str("certificate is not valid for the host name"),
            ChainProblem::Revoked => f.write_str("certificate is revoked"),
            ChainProblem::BadSignature => f.write_str("a signature in the chain does not verify"),
            ChainProblem::Other(s) => write!(f, "certificate refused: {s}"),
        }
    }
}

fn to_chrono(t: UnixTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(t.as_secs()).ok()?, 0)
}

fn to_unix_time(at: DateTime<Utc>) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(at.timestamp()).unwrap_or(0),
    ))
}

/// Validates a chain (leaf first, as presented) for `host` at time `at` against `trust`, the
/// way a client connecting at that time would.
pub(crate) fn validate_chain(
    chain: &[CertificateDer<'_>],
    host: &str,
    trust: &TrustStore,
    at: DateTime<Utc>,
) -> Result<(), ChainProblem> {
    let (leaf, intermediates) = chain.split_first().ok_or(ChainProblem::NoCertificate)?;
    let name = ServerName::try_from(host)
        .map_err(|_| ChainProblem::Other(format!("{host:?} is not a valid server name")))?;
    let Some(verifier) = &trust.verifier else {
        return Err(ChainProblem::UnknownIssuer);
    };
    verifier
        .verify_server_cert(leaf, intermediates, &name, &[], to_unix_time(at))
        .map(|_| ())
        .map_err(|e| ChainProblem::from_rustls(&e))
}

/// Whether the leaf is valid for `host`, judged apart from trust and dates (the verifier stops
/// at the first problem, so an untrusted chain would otherwise hide a wrong name).
pub(crate) fn name_matches(leaf: &CertificateDer<'_>, host: &str) -> bool {
    let Ok(name) = ServerName::try_from(host) else {
        return false;
    };
    match rustls::server::ParsedCertificate::try_from(leaf) {
        Ok(parsed) => rustls::client::verify_server_name(&parsed, &name).is_ok(),
        Err(_) => false,
    }
}

/// Checks handshake signatures with the provider's algorithms: the part of verification the
/// record-only and the insecure verifiers keep, so the peer must still hold the leaf's key.
#[derive(Debug)]
pub(crate) struct HandshakeSignatures {
    provider: Arc<CryptoProvider>,
}

impl HandshakeSignatures {
    pub(crate) fn new() -> HandshakeSignatures {
        HandshakeSignatures {
            provider: ring_provider(),
        }
    }

    pub(crate) fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    pub(crate) fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    pub(crate) fn schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `NetConfig::insecure`: accepts any server certificate but still checks the handshake
/// signatures. Used by the REST client only when explicitly asked for.
#[derive(Debug)]
struct AcceptAnyServerCert(HandshakeSignatures);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.schemes()
    }
}

/// The rustls configuration of the REST client: full verification against `trust` (unless
/// `insecure`), and the client identity when one is given.
pub(crate) fn rest_tls_config(
    trust: &TrustStore,
    identity: Option<&ClientIdentity>,
    insecure: bool,
    recorder: Option<Arc<ChainRecorder>>,
) -> Result<ClientConfig, TrustError> {
    let config_err = |e: rustls::Error| TrustError::Config {
        reason: e.to_string(),
    };
    let builder = ClientConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .map_err(config_err)?;
    let verifier: Arc<dyn ServerCertVerifier> = if insecure {
        Arc::new(AcceptAnyServerCert(HandshakeSignatures::new()))
    } else {
        trust.verifier.clone().ok_or(TrustError::NoAnchors)?
    };
    let verifier: Arc<dyn ServerCertVerifier> = match recorder {
        Some(recorder) => Arc::new(Recording {
            inner: verifier,
            recorder,
        }),
        None => verifier,
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain().to_vec(), id.private_key())
            .map_err(config_err)?,
        None => builder.with_no_client_auth(),
    };
    // The client speaks HTTP/1.1 only (reqwest is built without http2).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A verifier that accepts any chain, records it, and still checks the handshake signatures
/// (the TLS probe's: it must see bad chains to report them, ARCHITECTURE.md, pitfalls).
pub(crate) fn record_any(recorder: Arc<ChainRecorder>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(Recording {
        inner: Arc::new(AcceptAnyServerCert(HandshakeSignatures::new())),
        recorder,
    })
}

/// The chains servers presented to the REST client, by server name. The server-TLS check uses
/// them instead of a handshake of its own when the audit already talked to the host: with a
/// host per tenant, that saves one full TLS handshake per tenant.
#[derive(Debug, Default)]
pub(crate) struct ChainRecorder {
    chains: std::sync::Mutex<std::collections::HashMap<String, Vec<CertificateDer<'static>>>>,
}

impl ChainRecorder {
    fn record(&self, name: &ServerName<'_>, chain: Vec<CertificateDer<'static>>) {
        let key = match name {
            ServerName::DnsName(d) => d.as_ref().to_ascii_lowercase(),
            other => other.to_str().into_owned(),
        };
        self.chains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, chain);
    }

    /// The chain last presented for `host`, if any.
    pub(crate) fn get(&self, host: &str) -> Option<Vec<CertificateDer<'static>>> {
        self.chains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host.to_ascii_lowercase())
            .cloned()
    }
}

/// Records the presented chain, then verifies it exactly as the wrapped verifier does: the
/// record is made before the verdict, so a refused chain is still evidence.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    recorder: Arc<ChainRecorder>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        self.recorder.record(server_name, chain);
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as Days;
    use mtls_audit_sim::pki::{Ca, LeafSpec};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    struct Fixture {
        trust: TrustStore,
        ca: Ca,
        now: DateTime<Utc>,
    }

    fn fixture() -> Fixture {
        let now = at("2025-07-15T00:00:00Z");
        let ca = Ca::new(
            "Trust Test CA",
            now - Days::days(100),
            now + Days::days(3000),
        )
        .unwrap();
        let trust =
            TrustStore::load(false, &[CertificateDer::from(ca.cert.cert_der.clone())]).unwrap();
        Fixture { trust, ca, now }
    }

    fn server_leaf(f: &Fixture, name: &str, from: i64, to: i64) -> Vec<CertificateDer<'static>> {
        let leaf =
            f.ca.issue(&LeafSpec::server(
                &[name.to_string()],
                f.now + Days::days(from),
                f.now + Days::days(to),
            ))
            .unwrap();
        vec![CertificateDer::from(leaf.cert_der)]
    }

    #[test]
    fn a_good_chain_validates() {
        let f = fixture();
        let chain = server_leaf(&f, "acme.accounts.ondemand.com", -10, 300);
        assert_eq!(
            validate_chain(&chain, "acme.accounts.ondemand.com", &f.trust, f.now),
            Ok(())
        );
        assert!(name_matches(&chain[0], "acme.accounts.ondemand.com"));
    }

    #[test]
    fn each_problem_is_named() {
        let f = fixture();
        let host = "acme.accounts.ondemand.com";
        let expired = server_leaf(&f, host, -300, -1);
        match validate_chain(&expired, host, &f.trust, f.now) {
            Err(ChainProblem::Expired { not_after: Some(t) }) => {
                assert_eq!(t, f.now - Days::days(1))
            }
            other => panic!("expected Expired, got {other:?}"),
        }
        let future = server_leaf(&f, host, 5, 300);
        assert!(matches!(
            validate_chain(&future, host, &f.trust, f.now),
            Err(ChainProblem::NotYetValid { .. })
        ));
        let wrong = server_leaf(&f, "other.example.com", -1, 300);
        assert_eq!(
            validate_chain(&wrong, host, &f.trust, f.now),
            Err(ChainProblem::NameMismatch)
        );
        assert!(!name_matches(&wrong[0], host));
        let stranger = Ca::new(
            "Stranger CA",
            f.now - Days::days(10),
            f.now + Days::days(10),
        )
        .unwrap()
        .issue(&LeafSpec::server(
            &[host.to_string()],
            f.now - Days::days(1),
            f.now + Days::days(5),
        ))
        .unwrap();
        let stranger = vec![CertificateDer::from(stranger.cert_der)];
        assert_eq!(
            validate_chain(&stranger, host, &f.trust, f.now),
            Err(ChainProblem::UnknownIssuer)
        );
        assert_eq!(
            validate_chain(&[], host, &f.trust, f.now),
            Err(ChainProblem::NoCertificate)
        );
    }

    #[test]
    fn validation_time_is_the_given_as_of() {
        let f = fixture();
        let chain = server_leaf(&f, "h.example", -10, 10);
        assert_eq!(validate_chain(&chain, "h.example", &f.trust, f.now), Ok(()));
        assert!(matches!(
            validate_chain(&chain, "h.example", &f.trust, f.now + Days::days(11)),
            Err(ChainProblem::Expired { .. })
        ));
    }

    #[test]
    fn without_anchors_everything_is_unknown_issuer_and_rest_config_fails() {
        let f = fixture();
        let empty = TrustStore::load(false, &[]).unwrap();
        let chain = server_leaf(&f, "h.example", -10, 10);
        assert_eq!(
            validate_chain(&chain, "h.example", &empty, f.now),
            Err(ChainProblem::UnknownIssuer)
        );
        assert!(matches!(
            rest_tls_config(&empty, None, false, None),
            Err(TrustError::NoAnchors)
        ));
        assert!(rest_tls_config(&empty, None, true, None).is_ok());
    }

    #[test]
    fn ca_files_in_pem_and_der_are_read() {
        let f = fixture();
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        std::fs::write(&pem, format!("comment\n{}", f.ca.cert.cert_pem)).unwrap();
        assert_eq!(
            read_ca_file(&pem, &InputLimits::default()).unwrap().len(),
            1
        );
        let der = dir.path().join("ca.cer");
        std::fs::write(&der, &f.ca.cert.cert_der).unwrap();
        assert_eq!(
            read_ca_file(&der, &InputLimits::default()).unwrap()[0].as_ref(),
            &f.ca.cert.cert_der[..]
        );
        let junk = dir.path().join("junk");
        std::fs::write(&junk, "nothing here").unwrap();
        assert!(matches!(
            read_ca_file(&junk, &InputLimits::default()),
            Err(TrustError::NoCertificate { .. })
        ));
    }
}
