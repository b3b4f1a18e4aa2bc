//! The audit result: what one run found, as data. `audit.json` is this structure serialised
//! as it is; every other renderer (CSV, table, HTML, Markdown, diff) reads the same values.
//!
//! Field names follow docs/spec.md §6. Fields the spec does not list (`cutover`, `complete`, `settings`,
//! `ias_url`, `remediation`, …) are additions; readers of older or newer files must tolerate
//! missing and unknown fields, so every addition has a serde default.

use crate::certificate::CertificateObject;
use crate::checks::Check;
use crate::findings::{Code, Finding, Impact, Level, Target};
use crate::inventory::{Environment, InventoryError, IpsType, LmsConfig};
use crate::remediation::Remediation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The tool that wrote a report (`tool` in audit.json), so `diff` can tell versions apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// The package name, `mtls-audit`.
    pub name: String,
    /// The package version (`0.1.0`).
    pub version: String,
}

impl ToolInfo {
    /// The name and version of this build.
    pub fn this() -> ToolInfo {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Where a tenant must have imported the LMS certificate (docs/spec.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The IAS administrator record LMS authenticates as (every tenant).
    IasAdminRecord,
    /// The Inbound Certificates of the LMS source system in NEO IPS (NEO tenants only).
    IpsInbound,
}

impl Place {
    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::IasAdminRecord => "ias_admin_record",
            Place::IpsInbound => "ips_inbound",
        }
    }

    /// The places a tenant of this IPS type must have the certificate in.
    pub fn required(ips_type: IpsType) -> &'static [Place] {
        match ips_type {
            IpsType::Neo => &[Place::IasAdminRecord, Place::IpsInbound],
            IpsType::Converged => &[Place::IasAdminRecord],
        }
    }
}

/// Whether a place accepts the next LMS certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Default)]
pub enum PlaceState {
    /// The next certificate is accepted (probed) or imported (evidence).
    Accepted,
    /// The next certificate is refused (probed: 401 or a TLS alert) or another certificate is
    /// there (evidence).
    Rejected,
    /// Neither observed nor evidenced.
    #[default]
    Unknown,
}

impl PlaceState {
    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceState::Accepted => "accepted",
            PlaceState::Rejected => "rejected",
            PlaceState::Unknown => "unknown",
        }
    }
}

/// A tenant's readiness for the cutover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessState {
    /// The next certificate is accepted in every place the IPS type requires.
    Ready,
    /// It is refused in at least one.
    NotReady,
    /// Neither observed nor evidenced.
    Unknown,
}

impl ReadinessState {
    /// All states, in report order.
    pub const ALL: [ReadinessState; 3] = [
        ReadinessState::Ready,
        ReadinessState::NotReady,
        ReadinessState::Unknown,
    ];

    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadinessState::Ready => "ready",
            ReadinessState::NotReady => "not_ready",
            ReadinessState::Unknown => "unknown",
        }
    }
}

/// Where a readiness comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessSource {
    /// The mTLS probes with the next LMS identity (`--next-lms-cert`).
    Probe,
    /// The evidence files compared with `--reference-cert`.
    Evidence,
    /// Nothing to tell from.
    None,
}

/// `readiness` of a tenant in `audit.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Ready, not ready or unknown.
    pub state: ReadinessState,
    /// What it was decided from.
    pub source: ReadinessSource,
    /// Each required place's state (`ips_inbound` only for NEO tenants).
    pub places: BTreeMap<Place, PlaceState>,
}

impl Default for Readiness {
    fn default() -> Readiness {
        Readiness {
            state: ReadinessState::Unknown,
            source: ReadinessSource::None,
            places: BTreeMap::new(),
        }
    }
}

impl Readiness {
    /// The readiness of the required places of `ips_type`, each from `state_of` (places left
    /// out count as unknown): ready when all accept, not ready when one refuses.
    pub fn of(
        ips_type: IpsType,
        source: ReadinessSource,
        state_of: impl Fn(Place) -> PlaceState,
    ) -> Readiness {
        let places: BTreeMap<Place, PlaceState> = Place::required(ips_type)
            .iter()
            .map(|p| (*p, state_of(*p)))
            .collect();
        let state = if places.values().any(|s| *s == PlaceState::Rejected) {
            ReadinessState::NotReady
        } else if places.values().all(|s| *s == PlaceState::Accepted) {
            ReadinessState::Ready
        } else {
            ReadinessState::Unknown
        };
        let source = if places.values().all(|s| *s == PlaceState::Unknown) {
            ReadinessSource::None
        } else {
            source
        };
        Readiness {
            state,
            source,
            places,
        }
    }

    /// `ias_admin_record=accepted;ips_inbound=rejected`, the CSV `readiness_places` column.
    pub fn places_column(&self) -> String {
        self.places
            .iter()
            .map(|(p, s)| format!("{}={}", p.as_str(), s.as_str()))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The places that refuse the next certificate.
    pub fn missing(&self) -> Vec<Place> {
        self.places
            .iter()
            .filter(|(_, s)| **s == PlaceState::Rejected)
            .map(|(p, _)| *p)
            .collect()
    }
}

/// One audited tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantResult {
    /// Line of the tenant's row in the inventory (the header is line 1).
    pub line: u64,
    /// The inventory's `tenant_id`, as written.
    pub tenant_id: String,
    /// `neo` or `converged`: which remediation steps apply.
    pub ips_type: IpsType,
    /// `preview` or `production`.
    pub environment: Environment,
    /// The inventory's `owner` column (free text, empty when not given).
    pub owner: String,
    /// The inventory's `owner_email` addresses (empty when not given): where `notify` sends.
    #[serde(default)]
    pub owner_email: Vec<String>,
    /// The inventory's `learning_only_users` (`null` when not known).
    #[serde(default)]
    pub learning_only_users: Option<bool>,
    /// LMS's IPS settings as the inventory gives them (absent when none is given).
    #[serde(default, skip_serializing_if = "LmsConfig::is_empty")]
    pub lms_config: LmsConfig,
    /// Whether the tenant is ready for the cutover to the next LMS certificate
    /// (docs/spec.md §8).
    #[serde(default)]
    pub readiness: Readiness,
    /// The IAS URL as normalised (`https://host/`); empty when the row has none.
    #[serde(default)]
    pub ias_url: String,
    /// The IPS URL as normalised; for a converged tenant without one, the IAS URL; empty when
    /// there is none.
    #[serde(default)]
    pub ips_url: String,
    /// The highest level among the tenant's findings; `OK` when it has none.
    pub risk: Level,
    /// The capabilities put at risk by the tenant's `AT_RISK` and `FAILING` findings, sorted,
    /// each once.
    pub impacts: Vec<Impact>,
    /// Checks that ran for this tenant, sorted (`checks_run` column).
    #[serde(default)]
    pub checks_run: Vec<Check>,
    /// Checks that apply to the tenant but did not run, for lack of evidence or because the
    /// run stopped first (`checks_not_run` column); never counted as OK.
    #[serde(default)]
    pub checks_not_run: Vec<Check>,
    /// Every certificate looked at: evidence files and server chains, one per target.
    pub certificates: Vec<CertificateObject>,
    /// What was found, worst first.
    pub findings: Vec<TenantFinding>,
    /// The row's columns the inventory format does not define, by lowercased header name
    /// (`column_N` for a value under an unnamed column).
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// A finding as a report shows it: what the check found and what to do about it, written for
/// this tenant (docs/spec.md §6 `findings[]`).
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
    /// Tenants on which the check ran.
    pub run: u64,
    /// Tenants to which it applies but on which it did not run.
    pub not_run: u64,
}

/// Fleet-wide counts (`summary` in audit.json), derived from the tenants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Data rows read from the inventory (`rows = tenants + inventory_errors + skipped_rows`).
    pub rows: u64,
    /// Tenants audited.
    pub tenants: u64,
    /// Rows that could not be audited (invalid or duplicate).
    pub inventory_errors: u64,
    /// Rows whose fields are all empty (such as `,,`), skipped and counted here.
    #[serde(default)]
    pub skipped_rows: u64,
    /// Tenants per risk level; every level is present, zero included.
    pub by_risk: BTreeMap<Level, u64>,
    /// Findings per code over all tenants; only codes that occur.
    pub by_code: BTreeMap<Code, u64>,
    /// Tenants per impact (a tenant counts once per impact it has).
    #[serde(default)]
    pub by_impact: BTreeMap<Impact, u64>,
    /// Per check, on how many tenants it ran and did not run; every check is present.
    #[serde(default)]
    pub checks: BTreeMap<Check, Coverage>,
    /// Tenants per readiness for the cutover; every state is present.
    #[serde(default)]
    pub readiness: BTreeMap<ReadinessState, u64>,
}

impl Summary {
    /// The counts of `tenants`; `rows`, `inventory_errors` and `skipped_rows` come from the
    /// inventory.
    pub fn from_tenants(
        tenants: &[TenantResult],
        rows: u64,
        inventory_errors: u64,
        skipped_rows: u64,
    ) -> Summary {
        let mut s = Summary {
            rows,
            tenants: tenants.len() as u64,
            inventory_errors,
            skipped_rows,
            ..Summary::default()
        };
        for level in Level::ALL {
            s.by_risk.insert(level, 0);
        }
        for check in Check::ALL {
            s.checks.insert(check, Coverage::default());
        }
        for state in ReadinessState::ALL {
            s.readiness.insert(state, 0);
        }
        for t in tenants {
            *s.by_risk.entry(t.risk).or_default() += 1;
            *s.readiness.entry(t.readiness.state).or_default() += 1;
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
    /// `--warn-days`: `CERT_EXPIRES_SOON` at or below this many days left.
    pub warn_days: i64,
    /// `--critical-days`: `CERT_EXPIRES_CRITICAL` at or below this many days left.
    pub critical_days: i64,
    /// `--sync-stale-days`: `SYNC_STALE` when no LMS-provisioned user changed within this
    /// many days.
    pub sync_stale_days: i64,
    /// `--fail-on`: the level at which the run exits 1; `null` for `never`.
    pub fail_on: Option<Level>,
    /// `--allow-unknown`: `UNKNOWN` tenants and inventory errors do not fail the run.
    pub allow_unknown: bool,
    /// `--offline`: no connection was made, so no live check ran.
    pub offline: bool,
    /// SHA-256 fingerprints of the `--reference-cert` certificates.
    pub reference_certs: Vec<String>,
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The tool and version that wrote the report.
    pub tool: ToolInfo,
    /// The time certificates were judged at (`--as-of`, default the start of the run).
    pub as_of: DateTime<Utc>,
    /// `--deadline`, if given.
    pub deadline: Option<DateTime<Utc>>,
    /// `--cutover`, if given.
    #[serde(default)]
    pub cutover: Option<DateTime<Utc>>,
    /// The inventory file as given on the command line.
    pub inventory: String,
    /// False when the run was interrupted: the tenants listed are those that finished.
    #[serde(default = "default_true")]
    pub complete: bool,
    /// The thresholds and switches the run used.
    #[serde(default)]
    pub settings: Settings,
    /// Fleet-wide counts.
    pub summary: Summary,
    /// Every audited tenant, in inventory order.
    pub tenants: Vec<TenantResult>,
    /// The rows that could not be audited, in file order.
    pub inventory_errors: Vec<InventoryError>,
    /// Which shard of the inventory this run audited (`audit --shard I/N`); absent for a whole
    /// inventory, and so for a merged report (docs/spec.md §11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// What `merge` needs to know about one shard's `audit.json` (`shard` in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// I of `--shard I/N` (1 ≤ I ≤ N).
    pub index: u32,
    /// N of `--shard I/N`.
    pub count: u32,
    /// How tenants are assigned to shards: `fnv1a64-lowercase` (see `shard::shard_of`).
    pub hash: String,
    /// SHA-256 of the inventory file's bytes, lowercase hex.
    pub inventory_sha256: String,
    /// Data rows of the whole inventory (every shard's `summary.rows` adds up to it).
    pub inventory_rows: u64,
    /// SHA-256 of what the tenants were judged by (tool version, settings, deadline,
    /// cutover; not the as-of time), lowercase hex: shards judged differently are not merged.
    pub settings_sha256: String,
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
