//! `inspect`: the facts and findings of individual certificate files (support triage). Its JSON
//! shape is docs/spec.md §2: `{"targets": [{"target", "certificates", "findings", "error"}]}`.

use crate::certificate::CertificateObject;
use crate::checks::cert::{Policy, check};
use crate::findings::{Code, Finding, Level, Target};
use mtls_audit_cert::{Bundle, Limits, LoadError, load_file};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `inspect` found for one target (an element of `targets` in `inspect --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectTarget {
    /// The target as given on the command line.
    pub target: String,
    /// At most one: the leaf, with the rest of the file or presented chain under its `chain`;
    /// empty when nothing could be read.
    pub certificates: Vec<CertificateObject>,
    /// The certificate (and, with the LMS identity, mTLS) findings, worst first; without
    /// remediation steps.
    pub findings: Vec<Finding>,
    /// Why the target could not be read, or `null`.
    pub error: Option<String>,
    /// The container format (`PEM`, `DER`, `PKCS#7 (PEM)`, `ZIP`, …) or the TLS connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Remarks about the file that do not stop it from being read. Never key material.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Subject alternative DNS names of the leaf (servers and server certificates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// How a server answered each LMS identity given (`--lms-cert`, `--next-lms-cert`), side
    /// by side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mtls: Vec<MtlsAnswer>,
}

/// A server's answer to one LMS client identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtlsAnswer {
    /// `current` (`--lms-cert`) or `next` (`--next-lms-cert`).
    pub identity: String,
    /// SHA-256 of the identity's certificate.
    pub sha256: String,
    /// The answer in words: accepted, refused (and how), or none.
    pub answer: String,
}

impl InspectTarget {
    pub(crate) fn risk(&self) -> Level {
        self.findings
            .iter()
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::Ok)
    }
}

/// Everything `inspect` found: `inspect --format json` as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectReport {
    /// One entry per target, in command-line order.
    pub targets: Vec<InspectTarget>,
}

impl InspectReport {
    /// Same rule as the audit's `--fail-on` (docs/spec.md §2: "Its exit codes are those of audit").
    pub fn fails(&self, fail_on: Option<Level>, allow_unknown: bool) -> bool {
        let Some(threshold) = fail_on else {
            return false;
        };
        self.targets.iter().any(|t| {
            let r = t.risk();
            r >= threshold || (!allow_unknown && r == Level::Unknown)
        })
    }
}

/// Inspects one file (any format, zip included).
pub fn file(target: &str, path: &Path, policy: &Policy, limits: &Limits) -> InspectTarget {
    let loaded = load_file(path, limits);
    from_bundle(target, loaded.as_ref(), policy)
}

/// Builds the inspect entry from a load result; shared with the server probe, which hands in
/// the chain it recorded.
pub(crate) fn from_bundle(
    target: &str,
    loaded: Result<&Bundle, &LoadError>,
    policy: &Policy,
) -> InspectTarget {
    let (object, findings) = check(
        Target::Certificate,
        target,
        loaded,
        policy,
        !policy.references.is_empty(),
    );
    let (error, format, notes, dns_names) = match loaded {
        Ok(b) => {
            let (leaf, _) = b.split(|c| policy.references.matches(c));
            (
                None,
                Some(b.format.as_str().to_string()),
                b.notes.clone(),
                leaf.dns_names.clone(),
            )
        }
        Err(e) => (Some(e.to_string()), None, Vec::new(), Vec::new()),
    };
    let mut findings = findings;
    if error.is_some() {
        // The finding already carries the reason; keep its message free of the path twice.
        for f in &mut findings {
            if f.code == Code::CertUnreadable {
                f.message = error.clone().unwrap_or_default().into();
            }
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    InspectTarget {
        target: target.to_string(),
        certificates: object.into_iter().collect(),
        findings,
        error,
        format,
        notes,
        dns_names,
        mtls: Vec::new(),
    }
}

/// What a target of `inspect` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// A certificate file (or ZIP) to load; the path as given.
    File(std::path::PathBuf),
    /// A TLS server to probe.
    Server {
        /// Host name or IP address, without brackets.
        host: String,
        /// The port given, 443 for an `https://` URL without one.
        port: u16,
    },
}

/// Why a target of `inspect` is neither a file nor a server it can reach.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A URL that does not parse.
    #[error("'{target}' is not a valid URL: {reason}")]
    InvalidUrl {
        /// The target as given.
        target: String,
        /// The URL parser's reason.
        reason: String,
    },
    /// A URL without a host.
    #[error("'{0}' has no host name")]
    NoHost(String),
    /// Plain HTTP: there is no TLS to inspect.
    #[error("'{0}': only https:// servers can be inspected")]
    NotHttps(String),
}

/// `https://host[:port][/…]` and `host:port` are servers, unless a file of that name exists;
/// anything else is a file.
pub fn classify(target: &str) -> Result<TargetKind, TargetError> {
    let path = Path::new(target);
    if path.exists() {
        return Ok(TargetKind::File(path.to_path_buf()));
    }
    if target.starts_with("https://") {
        let url = reqwest::Url::parse(target).map_err(|e| TargetError::InvalidUrl {
            target: target.to_string(),
            reason: e.to_string(),
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| TargetError::NoHost(target.to_string()))?;
        return Ok(TargetKind::Server {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: url.port().unwrap_or(443),
        });
    }
    if target.starts_with("http://") {
        return Err(TargetError::NotHttps(target.to_string()));
    }
    if let Some((host, port)) = target.rsplit_once(':')
        && !host.is_empty()
        && !host.contains('/')
        && let Ok(port) = port.parse::<u16>()
    {
        return Ok(TargetKind::Server {
            host: host.to_string(),
            port,
        });
    }
    Ok(TargetKind::File(path.to_path_buf()))
}

/// Inspects a server: the chain it presents (even when invalid), validated against the trusted
/// roots, and with an LMS identity whether it accepts that client certificate.
pub async fn server(
    target: &str,
    host: &str,
    port: u16,
    client: &crate::net::NetClient,
    (lms, next): (
        Option<std::sync::Arc<crate::net::ClientIdentity>>,
        Option<std::sync::Arc<crate::net::ClientIdentity>>,
    ),
    policy: &Policy,
    deadline: crate::net::Deadline,
) -> InspectTarget {
    use crate::checks::mtls::{self, Answer};
    use crate::checks::server_tls::{self, Observation, Seen};
    use crate::net::{Auth, Call};
    let endpoint = format!("{host}:{port}");
    let mut notes = Vec::new();
    let mut format = None;
    let result = match client.probe_tls(host, port, policy.as_of, deadline).await {
        Ok(p) => {
            format = Some(format!(
                "TLS server ({}{})",
                p.protocol.as_deref().unwrap_or("TLS"),
                p.cipher_suite
                    .as_deref()
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default()
            ));
            if p.client_cert_requested {
                notes.push(
                    "the server asks for a client certificate (optional or required)".to_string(),
                );
            }
            if let Some(e) = &p.handshake_error {
                notes.push(format!(
                    "the handshake did not complete without a client certificate: {e}"
                ));
            }
            Ok(Seen::from_probe(&p))
        }
        Err(e) => Err(e),
    };
    let error = result.as_ref().err().map(ToString::to_string);
    let dns_names = match &result {
        Ok(s) => s
            .chain
            .first()
            .map(|c| c.dns_names.clone())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let (object, mut findings) = server_tls::check(
        Target::Server,
        &Observation {
            endpoint: endpoint.clone(),
            result,
        },
        policy.as_of,
        policy.warn_days,
    );
    let mut mtls_answers = Vec::new();
    if error.is_none() && (lms.is_some() || next.is_some()) {
        let url = format!("https://{endpoint}/scim/Users?count=1");
        let ask = |identity: Option<std::sync::Arc<crate::net::ClientIdentity>>| {
            let url = url.clone();
            async move {
                let identity = identity?;
                let answer = match Call::get(&url) {
                    Ok(call) => match client
                        .send(
                            call.auth(Auth::Identity(identity.clone()))
                                .deadline(deadline)
                                .accept("application/scim+json"),
                        )
                        .await
                    {
                        Ok(r) => Answer::Status(r.status),
                        Err(e) => Answer::Failed(crate::checks::failure::ApiFailure::Unreachable(
                            e.to_string(),
                        )),
                    },
                    Err(e) => {
                        Answer::Failed(crate::checks::failure::ApiFailure::Protocol(e.to_string()))
                    }
                };
                Some((identity, answer))
            }
        };
        let (current, next) = tokio::join!(ask(lms), ask(next));
        for (which, probe) in [("current", &current), ("next", &next)] {
            if let Some((identity, answer)) = probe {
                mtls_answers.push(MtlsAnswer {
                    identity: which.to_string(),
                    sha256: identity.fingerprint().to_string(),
                    answer: describe(answer),
                });
            }
        }
        let probes = |p: &Option<(std::sync::Arc<crate::net::ClientIdentity>, Answer)>| {
            p.as_ref().map(|(_, a)| mtls::IdentityProbes {
                scim_read: a.clone(),
                realtime: None,
            })
        };
        findings.extend(
            mtls::check(&mtls::MtlsProbes {
                current: probes(&current),
                next: probes(&next),
                ips_type: crate::inventory::IpsType::Converged,
                scim_url: url.clone(),
                realtime_url: String::new(),
                cutover: policy.cutover,
                as_of: policy.as_of,
            })
            .findings,
        );
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    InspectTarget {
        target: target.to_string(),
        certificates: object.into_iter().collect(),
        findings,
        error,
        format,
        notes,
        dns_names,
        mtls: mtls_answers,
    }
}

/// One identity's answer in words, for the screen and the JSON.
fn describe(a: &crate::checks::mtls::Answer) -> String {
    use crate::checks::mtls::Answer;
    match a {
        Answer::Status(s) if (200..300).contains(s) => {
            format!("accepted (GET /scim/Users answered {s})")
        }
        Answer::Status(403) => "accepted, but the admin record lacks Read Users (403)".to_string(),
        Answer::Status(401) => "refused (GET /scim/Users answered 401)".to_string(),
        Answer::Status(s) => format!("no verdict (GET /scim/Users answered {s})"),
        Answer::Explained(s, d) => match describe(&Answer::Status(*s)) {
            t if (200..300).contains(s) => t,
            t => format!("{t}: {d}"),
        },
        Answer::CertificateRefused(alert) => format!("refused by the TLS handshake ({alert})"),
        Answer::Failed(f) => format!("no answer ({})", f.finding(Target::Server, "probe").message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_classified() {
        assert_eq!(
            classify("https://acme.accounts.ondemand.com").unwrap(),
            TargetKind::Server {
                host: "acme.accounts.ondemand.com".into(),
                port: 443
            }
        );
        assert_eq!(
            classify("https://h:8443/x").unwrap(),
            TargetKind::Server {
                host: "h".into(),
                port: 8443
            }
        );
        assert_eq!(
            classify("acme.accounts.ondemand.com:443").unwrap(),
            TargetKind::Server {
                host: "acme.accounts.ondemand.com".into(),
                port: 443
            }
        );
        assert!(matches!(
            classify("certs/lms.pem").unwrap(),
            TargetKind::File(_)
        ));
        assert!(matches!(classify("C:foo").unwrap(), TargetKind::File(_)));
        assert!(classify("http://x").is_err());
    }
}
