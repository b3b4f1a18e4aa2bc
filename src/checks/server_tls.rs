//! Server TLS (`ias_server`, `ips_server`): the chain a tenant's host presents, judged for
//! expiry and trust. The probe (in `net`) records the chain even when it is invalid; this module
//! only turns what was seen into findings.

use crate::certificate::{CertificateObject, CertificateView};
use crate::dates::date;
use crate::findings::{Code, Finding, Target};
use crate::net::{ChainProblem, NetError};
use chrono::{DateTime, Utc};
use mtls_audit_cert::CertFacts;
use std::sync::Arc;

/// What the probe saw at one host.
#[derive(Debug)]
pub(crate) struct Observation {
    /// `host:port` as connected (by name; a `--connect-to` address is not shown).
    pub endpoint: String,
    /// The chain and its validation, or why no chain could be read: the network layer's
    /// error, which says whether it was DNS, refused, a timeout, a reset or TLS.
    pub result: Result<Seen, NetError>,
}

#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// Leaf first, as presented.
    pub chain: Vec<Arc<CertFacts>>,
    /// The chain validated against the trusted roots at the as-of time.
    pub validation: Result<(), ChainProblem>,
    /// Whether the leaf names the host (checked apart from trust and dates).
    pub name_matches: bool,
}

impl Seen {
    /// What the TLS probe recorded. A certificate that does not parse is left out of the chain
    /// (the validation result still reflects it).
    pub(crate) fn from_probe(p: &crate::net::ProbeResult) -> Seen {
        Seen {
            chain: p
                .chain
                .iter()
                .filter_map(|d| CertFacts::from_der(d.as_ref()).ok().map(Arc::new))
                .collect(),
            validation: p.validation.clone(),
            name_matches: p.name_matches,
        }
    }
}

/// Findings and the chain as a certificate object for the report.
pub(crate) fn check(
    target: Target,
    obs: &Observation,
    as_of: DateTime<Utc>,
    warn_days: i64,
) -> (Option<CertificateObject>, Vec<Finding>) {
    let seen = match &obs.result {
        Ok(s) => s,
        Err(why) => {
            let f = Finding::new(Code::EndpointUnreachable, target, why.to_string());
            return (None, vec![f]);
        }
    };
    let Some(leaf) = seen.chain.first() else {
        let f = Finding::new(
            Code::EndpointUnreachable,
            target,
            format!("{}: the server presented no certificate", obs.endpoint),
        );
        return (None, vec![f]);
    };
    let mut out = Vec::new();
    let days = leaf.days_left(as_of);
    let expired =
        as_of > leaf.not_after || matches!(seen.validation, Err(ChainProblem::Expired { .. }));
    if expired {
        // The leaf or a certificate of its chain is past notAfter.
        let which = seen
            .chain
            .iter()
            .find(|c| as_of > c.not_after)
            .unwrap_or(leaf);
        out.push(Finding::new(
            Code::ServerCertExpired,
            target,
            format!(
                "{}: the server certificate {} expired on {}",
                obs.endpoint,
                which.subject,
                date(which.not_after)
            ),
        ));
    } else if days <= warn_days {
        out.push(Finding::new(
            Code::ServerCertExpiring,
            target,
            format!(
                "{}: the server certificate {} expires on {}, in {days} days",
                obs.endpoint,
                leaf.subject,
                date(leaf.not_after)
            ),
        ));
    }
    let untrusted = match &seen.validation {
        Ok(()) | Err(ChainProblem::Expired { .. }) => None,
        Err(ChainProblem::UnknownIssuer) => Some(format!(
            "the chain does not lead to a trusted root (its top issuer is {})",
            seen.chain.last().map(|c| c.issuer.as_str()).unwrap_or("?")
        )),
        Err(ChainProblem::NameMismatch) => None,
        Err(other) => Some(other.to_string()),
    };
    let untrusted = untrusted.or_else(|| {
        (!seen.name_matches).then(|| {
            format!(
                "the certificate does not name the host (it names {})",
                if leaf.dns_names.is_empty() {
                    leaf.subject.clone()
                } else {
                    leaf.dns_names.join(", ")
                }
            )
        })
    });
    if let Some(why) = untrusted {
        out.push(Finding::new(
            Code::ServerChainUntrusted,
            target,
            format!("{}: {why}", obs.endpoint),
        ));
    }
    let object = CertificateObject {
        target,
        source: obs.endpoint.as_str().into(),
        cert: Arc::new(CertificateView::of(leaf, as_of)),
        reference_match: None,
        chain: seen.chain[1..]
            .iter()
            .map(|c| Arc::new(CertificateView::of(c, as_of)))
            .collect(),
    };
    (Some(object), out)
}
