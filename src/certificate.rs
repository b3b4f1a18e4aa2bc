//! Certificates as the audit observed them: the facts reports show (SPEC §4), for the target
//! they were found for (an evidence file, a server), with the rest of the bundle as chain.
//! Built from `mtls_audit_cert::CertFacts` at the run's as-of time.

use crate::findings::Target;
use chrono::{DateTime, Utc};
use mtls_audit_cert::CertFacts;
pub use mtls_audit_cert::KeyInfo;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The facts of one certificate as reports show them (SPEC §4), without anything that depends
/// on which target it was found for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub days_left: i64,
    pub sha256: String,
    pub sha1: String,
    pub key: KeyInfo,
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
    #[serde(default)]
    pub chain: Vec<Arc<CertificateView>>,
}

fn empty_str() -> Arc<str> {
    Arc::from("")
}
