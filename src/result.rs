//! The audit result: what one run found, as data. `audit.json` is this structure serialised
//! as it is; every other renderer (CSV, table, HTML, Markdown, diff) reads the same values.
//!
//! Field names follow SPEC §6. Fields the spec does not list (`cutover`, `complete`, `settings`,
//! `ias_url`, `remediation`, …) are additions; readers of older or newer files must tolerate
//! missing and unknown fields, so every addition has a serde default.

use crate::certificate::CertificateObject;
use crate::checks::Check;
use crate::findings::{Code, Finding, Impact, Level, Target};
use crate::inventory::{Environment, InventoryError, IpsType};
use crate::remediation::Remediation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    pub fn this() -> ToolInfo {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// One audited tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantResult {
    pub line: u64,
    pub tenant_id: String,
    pub ips_type: IpsType,
    pub environment: Environment,
    pub owner: String,
    #[serde(default)]
    pub ias_url: String,
    #[serde(default)]
    pub ips_url: String,
    pub risk: Level,
    pub impacts: Vec<Impact>,
    #[serde(default)]
    pub checks_run: Vec<Check>,
    #[serde(default)]
    pub checks_not_run: Vec<Check>,
    pub certificates: Vec<CertificateObject>,
    pub findings: Vec<TenantFinding>,
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// A finding as a report shows it: what the check found and what to do about it, written for
/// this tenant (SPEC §6 `findings[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantFinding {
    /// The finding code.
    pub code: Code,
    /// What the finding is about.
    pub target: Target,
    /// Its level.
    pub level: Level,
    /// The capabilities it puts at risk.
    pub impacts: Vec<Impact>,
    /// One line saying what was found.
    pub message: Arc<str>,
    /// Numbered steps for this tenant's IPS type.
    #[serde(default)]
    pub remediation: Remediation,
}

impl TenantFinding {
    /// A check's finding with its remediation.
    pub fn new(f: Finding, remediation: Remediation) -> TenantFinding {
        TenantFinding {
            code: f.code,
            target: f.target,
            level: f.level,
            impacts: f.impacts,
            message: f.message,
            remediation,
        }
    }
}

impl TenantResult {
    /// `CODE@target;CODE@target`, the CSV `findings` column.
    pub(crate) fn findings_column(&self) -> String {
        let mut out = String::new();
        for (i, f) in self.findings.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(f.code.as_str());
            out.push('@');
            out.push_str(f.target.as_str());
        }
        out
    }

    /// The tenant's remediation, one block per distinct text, worst finding first (the CSV's
    /// `remediation` column).
    pub(crate) fn remediation_steps(&self) -> Vec<std::borrow::Cow<'_, str>> {
        let mut out: Vec<std::borrow::Cow<'_, str>> = Vec::new();
        for f in &self.findings {
            let text = f.remediation.text();
            if !text.is_empty() && !out.contains(&text) {
                out.push(text);
            }
        }
        out
    }

    pub(crate) fn certificate(&self, target: Target) -> Option<&CertificateObject> {
        self.certificates.iter().find(|c| c.target == target)
    }
}

/// Coverage of one check across the fleet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub run: u64,
    pub not_run: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Data rows read from the inventory (`rows = tenants + inventory_errors`).
    pub rows: u64,
    pub tenants: u64,
    pub inventory_errors: u64,
    pub by_risk: BTreeMap<Level, u64>,
    pub by_code: BTreeMap<Code, u64>,
    #[serde(default)]
    pub by_impact: BTreeMap<Impact, u64>,
    #[serde(default)]
    pub checks: BTreeMap<Check, Coverage>,
}

impl Summary {
    pub fn from_tenants(tenants: &[TenantResult], rows: u64, inventory_errors: u64) -> Summary {
        let mut s = Summary {
            rows,
            tenants: tenants.len() as u64,
            inventory_errors,
            ..Summary::default()
        };
        for level in Level::ALL {
            s.by_risk.insert(level, 0);
        }
        for check in Check::ALL {
            s.checks.insert(check, Coverage::default());
        }
        for t in tenants {
            *s.by_risk.entry(t.risk).or_default() += 1;
            for f in &t.findings {
                *s.by_code.entry(f.code).or_default() += 1;
            }
            for i in &t.impacts {
                *s.by_impact.entry(*i).or_default() += 1;
            }
            for c in &t.checks_run {
                s.checks.entry(*c).or_default().run += 1;
            }
            for c in &t.checks_not_run {
                s.checks.entry(*c).or_default().not_run += 1;
            }
        }
        s
    }
}

/// The settings a run used, so a report can be read without its command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub warn_days: i64,
    pub critical_days: i64,
    pub sync_stale_days: i64,
    pub fail_on: Option<Level>,
    pub allow_unknown: bool,
    pub offline: bool,
    /// SHA-256 fingerprints of the `--reference-cert` certificates.
    pub reference_certs: Vec<String>,
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    pub tool: ToolInfo,
    pub as_of: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cutover: Option<DateTime<Utc>>,
    pub inventory: String,
    /// False when the run was interrupted: the tenants listed are those that finished.
    #[serde(default = "default_true")]
    pub complete: bool,
    #[serde(default)]
    pub settings: Settings,
    pub summary: Summary,
    pub tenants: Vec<TenantResult>,
    pub inventory_errors: Vec<InventoryError>,
}

fn default_true() -> bool {
    true
}

impl AuditReport {
    /// Tenant indexes sorted worst first: risk descending, then more findings, then inventory
    /// order. Renderers that list "worst first" use this one ordering.
    pub(crate) fn worst_first(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.tenants.len()).collect();
        idx.sort_by(|&a, &b| {
            let (ta, tb) = (&self.tenants[a], &self.tenants[b]);
            tb.risk
                .cmp(&ta.risk)
                .then_with(|| {
                    let wa = ta.findings.iter().map(|f| f.level).max();
                    let wb = tb.findings.iter().map(|f| f.level).max();
                    wb.cmp(&wa)
                })
                .then_with(|| tb.findings.len().cmp(&ta.findings.len()))
                .then_with(|| ta.line.cmp(&tb.line))
        });
        idx
    }
}
