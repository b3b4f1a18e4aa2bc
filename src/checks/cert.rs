//! Certificate findings (docs/spec.md §5) for one evidence target: expiry against the as-of date, the
//! deadline and the warning windows, the reference certificate and the cutover, client-auth
//! usage, key and signature strength.

use crate::certificate::{CertificateObject, CertificateView};
use crate::dates::date;
use crate::findings::{Code, Finding, Level, Target};
use chrono::{DateTime, Utc};
use mtls_audit_cert::{Bundle, CertFacts, LoadError};
use std::collections::HashSet;
use std::sync::Arc;

/// The new LMS certificate(s) given with `--reference-cert`.
#[derive(Debug, Clone, Default)]
pub struct References {
    /// The leaf certificates of the `--reference-cert` files (CA certificates in the same
    /// files are left out), in the order given.
    pub(crate) certs: Vec<Arc<CertFacts>>,
    sha256: HashSet<String>,
}

impl References {
    /// The references `certs`; evidence matches one when its SHA-256 fingerprint is equal.
    pub fn new(certs: Vec<Arc<CertFacts>>) -> References {
        let sha256 = certs.iter().map(|c| c.sha256.clone()).collect();
        References { certs, sha256 }
    }

    /// Whether a certificate of this SHA-256 (lowercase hex) is a reference.
    pub fn contains_sha256(&self, sha256: &str) -> bool {
        self.sha256.contains(sha256)
    }

    /// Whether no reference was given.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub(crate) fn matches(&self, c: &CertFacts) -> bool {
        self.sha256.contains(&c.sha256)
    }
}

/// Dates and thresholds the certificate findings are judged by.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `--as-of` (default: now, whole seconds): the time every certificate is judged at and
    /// `days_left` counted from.
    pub as_of: DateTime<Utc>,
    /// `--deadline`: a certificate whose `notAfter` is before it gets
    /// `CERT_EXPIRES_BEFORE_DEADLINE`.
    pub deadline: Option<DateTime<Utc>>,
    /// `--cutover`: when LMS starts presenting the new certificate; from then on
    /// `CERT_NOT_REFERENCE` is `FAILING` instead of `AT_RISK`.
    pub cutover: Option<DateTime<Utc>>,
    /// `--warn-days`: `CERT_EXPIRES_SOON` when `days_left` is at most this.
    pub warn_days: i64,
    /// `--critical-days`: `CERT_EXPIRES_CRITICAL` when `days_left` is at most this (no more
    /// than `warn_days`).
    pub critical_days: i64,
    /// `--reference-cert`: the new LMS certificate(s); empty when none was given (the
    /// reference check does not run).
    pub references: References,
}

fn short(sha256: &str) -> &str {
    &sha256[..sha256.len().min(16)]
}

/// Judges one evidence file. `source` names it in messages (the path as resolved).
pub(crate) fn check(
    target: Target,
    source: &str,
    evidence: Result<&Bundle, &LoadError>,
    policy: &Policy,
    require_reference: bool,
) -> (Option<CertificateObject>, Vec<Finding>) {
    let bundle = match evidence {
        Ok(b) => b,
        Err(e) => {
            let f = Finding::new(Code::CertUnreadable, target, format!("{source}: {e}"));
            return (None, vec![f]);
        }
    };
    let refs = &policy.references;
    let (leaf, chain) = bundle.split(|c| refs.matches(c));
    let mut findings = check_facts(target, &leaf, policy);
    let reference_match = if refs.is_empty() {
        None
    } else {
        Some(refs.matches(&leaf))
    };
    if require_reference && reference_match == Some(false) {
        let cut = policy.cutover.filter(|c| policy.as_of >= *c);
        let mut msg = format!(
            "not the new LMS certificate: {} (sha256 {}…, expires {}) matches none of the {} reference certificate{}",
            leaf.subject,
            short(&leaf.sha256),
            date(leaf.not_after),
            refs.certs.len(),
            if refs.certs.len() == 1 { "" } else { "s" }
        );
        let level = match (cut, policy.cutover) {
            (Some(c), _) => {
                msg.push_str(&format!(
                    "; LMS presents the new certificate since the cutover {}, so calls already fail",
                    date(c)
                ));
                Level::Failing
            }
            (None, Some(c)) => {
                msg.push_str(&format!(
                    "; LMS switches to the new certificate on {} ({} days)",
                    date(c),
                    mtls_audit_cert::days_between(policy.as_of, c)
                ));
                Level::AtRisk
            }
            (None, None) => Level::AtRisk,
        };
        findings.push(Finding::new(Code::CertNotReference, target, msg).with_level(level));
    }
    let object = CertificateObject {
        target,
        source: source.into(),
        cert: Arc::new(CertificateView::of(&leaf, policy.as_of)),
        reference_match,
        chain: chain
            .iter()
            .map(|c| Arc::new(CertificateView::of(c, policy.as_of)))
            .collect(),
    };
    (Some(object), findings)
}

/// The findings about one certificate that do not depend on references: validity window,
/// deadline, warning windows, client-auth usage, key and signature strength.
pub fn check_facts(target: Target, c: &CertFacts, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    let days = c.days_left(policy.as_of);
    let who = &c.subject;
    if c.not_before > c.not_after {
        // Valid on no date at all: one finding says so, instead of "expired" or "not yet valid"
        // depending on the as-of date.
        out.push(Finding::new(
            Code::CertValidityInverted,
            target,
            format!(
                "notBefore {} is after notAfter {}: the certificate is valid on no date: {who}",
                c.not_before.format("%Y-%m-%d %H:%M:%S UTC"),
                c.not_after.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        ));
    } else if policy.as_of > c.not_after {
        out.push(Finding::new(
            Code::CertExpired,
            target,
            format!(
                "expired on {} ({} day{} ago): {who}",
                date(c.not_after),
                -days,
                if days == -1 { "" } else { "s" }
            ),
        ));
    } else {
        if policy.as_of < c.not_before {
            out.push(Finding::new(
                Code::CertNotYetValid,
                target,
                format!(
                    "not valid before {}: {who}",
                    c.not_before.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            ));
        }
        if let Some(deadline) = policy.deadline
            && c.not_after < deadline
        {
            out.push(Finding::new(
                Code::CertExpiresBeforeDeadline,
                target,
                format!(
                    "expires on {}, before the deadline {}: {who}",
                    date(c.not_after),
                    date(deadline)
                ),
            ));
        }
        if days <= policy.critical_days {
            out.push(Finding::new(
                Code::CertExpiresCritical,
                target,
                format!(
                    "expires on {}, in {days} day{} (critical at {} days or fewer): {who}",
                    date(c.not_after),
                    if days == 1 { "" } else { "s" },
                    policy.critical_days
                ),
            ));
        } else if days <= policy.warn_days {
            out.push(Finding::new(
                Code::CertExpiresSoon,
                target,
                format!(
                    "expires on {}, in {days} days (warning at {} days or fewer): {who}",
                    date(c.not_after),
                    policy.warn_days
                ),
            ));
        }
    }
    if !c.allows_client_auth() {
        let ekus = c.ekus.as_deref().unwrap_or_default().join(", ");
        out.push(Finding::new(
            Code::CertNoClientAuth,
            target,
            format!(
                "the extended key usage ({ekus}) does not allow TLS client authentication: {who}"
            ),
        ));
    }
    if c.weak_key() {
        out.push(Finding::new(
            Code::CertWeakKey,
            target,
            format!("weak key {}: {who}", c.key),
        ));
    }
    if c.weak_signature() {
        out.push(Finding::new(
            Code::CertWeakSignature,
            target,
            format!("weak signature algorithm {}: {who}", c.signature_algorithm),
        ));
    }
    out
}
