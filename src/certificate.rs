//! Certificates as the audit observed them: the facts reports show (docs/spec.md §4), for the target
//! they were found for (an evidence file, a server), with the rest of the bundle as chain.
//! Built from `mtls_audit_cert::CertFacts` at the run's as-of time.

use crate::findings::Target;
use chrono::{DateTime, Utc};
use mtls_audit_cert::CertFacts;
pub use mtls_audit_cert::KeyInfo;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The facts of one certificate as reports show them (docs/spec.md §4), without anything that depends
/// on which target it was found for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// Subject name in RFC 4514 order, most specific first (`CN=…,O=…`).
    pub subject: String,
    /// Issuer name, written like `subject`; equal to it for a self-signed certificate.
    pub issuer: String,
    /// Serial number as lowercase hex without separators (`-` prefix if negative).
    pub serial: String,
    /// Start of validity (UTC, whole seconds); `"not_before"` in audit.json.
    pub not_before: DateTime<Utc>,
    /// End of validity (UTC, whole seconds); `"not_after"` in audit.json.
    pub not_after: DateTime<Utc>,
    /// Whole days from the run's as-of to `not_after`, rounded down (negative once expired);
    /// `"days_left"` in audit.json.
    pub days_left: i64,
    /// SHA-256 of the DER as lowercase hex, no separators: how certificates are matched
    /// against `--reference-cert` and compared by `diff`.
    pub sha256: String,
    /// SHA-1 of the DER as lowercase hex, no separators (the fingerprint consoles show).
    pub sha1: String,
    /// Public key type and size; `{"type": "RSA", "bits": 2048}` in audit.json.
    pub key: KeyInfo,
    /// OpenSSL's long name of the signature algorithm (`sha256WithRSAEncryption`,
    /// `ecdsa-with-SHA256`).
    pub signature_algorithm: String,
    /// `null` when the certificate has no extended key usage extension (any use allowed).
    pub ekus: Option<Vec<String>>,
}

impl CertificateView {
    /// The view of a certificate's facts at a given as-of time.
    pub(crate) fn of(facts: &CertFacts, as_of: DateTime<Utc>) -> CertificateView {
        CertificateView {
            subject: facts.subject.clone(),
            issuer: facts.issuer.clone(),
            serial: facts.serial.clone(),
            not_before: facts.not_before,
            not_after: facts.not_after,
            days_left: facts.days_left(as_of),
            sha256: facts.sha256.clone(),
            sha1: facts.sha1.clone(),
            key: facts.key.clone(),
            signature_algorithm: facts.signature_algorithm.clone(),
            ekus: facts.ekus.clone(),
        }
    }
}

/// One evidence certificate of a tenant: its leaf with the rest of the bundle under `chain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateObject {
    /// Which evidence slot or server the certificate was found for (`ias_admin_cert`,
    /// `ips_inbound_cert`, `ias_server`, …).
    pub target: Target,
    /// Where it came from: the file as resolved, or `host:port` for a server chain.
    #[serde(default = "empty_str")]
    pub source: Arc<str>,
    /// Shared by every tenant that points at the same file (`days_left` is the same for all:
    /// one as-of per run).
    #[serde(flatten)]
    pub cert: Arc<CertificateView>,
    /// `null` when no `--reference-cert` was given (the comparison did not run).
    pub reference_match: Option<bool>,
    /// The other certificates of the file or of the presented chain, in the order found; the
    /// leaf itself is not repeated.
    #[serde(default)]
    pub chain: Vec<Arc<CertificateView>>,
}

fn empty_str() -> Arc<str> {
    Arc::from("")
}
