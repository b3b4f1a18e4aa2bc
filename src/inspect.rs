//! `inspect`: the facts and findings of individual certificate files (support triage). Its JSON
//! shape is SPEC §2: `{"targets": [{"target", "certificates", "findings", "error"}]}`.

use crate::cert::{Bundle, Limits, LoadError, load_file};
use crate::checks::cert::{Policy, check};
use crate::findings::{Code, Finding, Level, Target};
use crate::result::CertificateObject;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectTarget {
    /// The target as given on the command line.
    pub target: String,
    pub certificates: Vec<CertificateObject>,
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
}

impl InspectTarget {
    pub fn risk(&self) -> Level {
        self.findings
            .iter()
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::Ok)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectReport {
    pub targets: Vec<InspectTarget>,
}

impl InspectReport {
    /// Same rule as the audit's `--fail-on` (SPEC §2: "Its exit codes are those of audit").
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
pub fn from_bundle(
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
    InspectTarget {
        target: target.to_string(),
        certificates: object.into_iter().collect(),
        findings,
        error,
        format,
        notes,
        dns_names,
    }
}
