//! Run-to-run comparison (`mtls-audit diff OLD NEW`): which tenants were fixed, which got
//! worse, which were added or removed, and which findings came and went.
//!
//! Files are read leniently, because the two runs may come from different versions of the
//! tool: only the docs/spec.md §6 fields that a comparison needs are read, unknown fields are ignored,
//! missing optional fields are defaulted, and codes, targets and levels are kept as text so a
//! code this version does not know still compares. Tenants are matched by `tenant_id`.
//!
//! "Worse" (exit 1 of the command) means: a tenant's risk level went up, a tenant is newly at
//! or above `AT_RISK` (added tenants included), or a tenant gained a finding at `AT_RISK` or
//! above (a new `CODE@target`, or a known one whose level rose to `AT_RISK` or above).

use crate::findings::{Code, Level};
use mtls_audit_input::{FileError, FileLimit, read_file};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn yes() -> bool {
    true
}

/// Why an `audit.json` given to `diff` cannot be compared; the message starts with the path.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be read: missing, a folder, a FIFO or device, no permission, or over
    /// its size limit (the message names the limit and the option that raises it).
    #[error(transparent)]
    Input(#[from] FileError),
    /// The file was read but is not an `audit.json` (see [`FormatError`]).
    #[error("{path}: not an audit.json: {reason}")]
    Format {
        /// The file as given on the command line.
        path: PathBuf,
        /// What is wrong with its content.
        reason: FormatError,
    },
}

/// Why bytes are not an `audit.json` a comparison can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Nothing but whitespace.
    #[error("the file is empty")]
    Empty,
    /// Not JSON (the parser's reason).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// JSON without a `tenants` array.
    #[error("it has no \"tenants\" list")]
    NoTenants,
}

// ----- Lenient input -----

/// A JSON value as text when it is a string, a number or a boolean (another version may have
/// changed a type); `None` for anything else or a missing field.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The array under `key`, or nothing when it is missing or not an array.
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

// ----- What a comparison reads of a run -----

/// One finding as compared: `CODE@target` at a level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FindingKey {
    /// The finding code as written in the file (`CERT_EXPIRED`, or a code this version does
    /// not know); `UNSPECIFIED` when the finding had none.
    pub code: String,
    /// The target as written in the file (`ias_admin_cert`, …); empty when missing.
    pub target: String,
    /// Its level in that run: as written, else the code's default level; a level this version
    /// does not know is compared as `UNKNOWN`.
    pub level: Level,
}

impl FindingKey {
    /// `CODE@target`, as in the CSV `findings` column.
    pub(crate) fn label(&self) -> String {
        format!("{}@{}", self.code, self.target)
    }
}

/// One tenant of a run as the comparison reads it; text fields are empty when the file
/// lacks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunTenant {
    /// The key tenants are matched by between the two runs (compared exactly).
    pub(crate) tenant_id: String,
    /// `neo` or `converged`, as written in the file.
    pub(crate) ips_type: String,
    /// `preview` or `production`, as written in the file.
    pub(crate) environment: String,
    /// The inventory's `owner` column.
    pub(crate) owner: String,
    /// The tenant's risk; when the file has none, its worst finding's level (a note says so).
    pub(crate) risk: Level,
    /// Keyed by `(code, target)`, each once at its highest level.
    pub(crate) findings: BTreeMap<(String, String), Level>,
    /// `target → sha256` of the evidence certificates.
    pub(crate) certificates: BTreeMap<String, String>,
    /// `readiness.state` as written (`ready`, `not_ready`, `unknown`); `None` in files of
    /// versions without readiness.
    pub(crate) readiness: Option<String>,
}

/// One run as the comparison sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The file as given.
    pub(crate) path: String,
    /// `tool.name` of the file (`mtls-audit`).
    pub(crate) tool: Option<String>,
    /// `tool.version` of the file: the version of the tool that wrote it.
    pub(crate) version: Option<String>,
    /// The run's `as_of` as written (RFC 3339); used to warn when NEW is older than OLD.
    pub(crate) as_of: Option<String>,
    /// The `inventory` path the run audited.
    pub(crate) inventory: Option<String>,
    /// How many rows the run could not audit (length of its `inventory_errors`).
    pub(crate) inventory_errors: u64,
    /// False when the run was interrupted (`complete: false`): its improvements are not taken
    /// on their word.
    pub(crate) complete: bool,
    /// In file order.
    pub(crate) tenants: Vec<RunTenant>,
    /// What was read leniently (defaulted or unknown values), for the diff's notes.
    pub(crate) notes: Vec<String>,
}

fn level_of(s: Option<&str>, what: &str, notes: &mut Vec<String>) -> Option<Level> {
    let s = s?;
    match Level::parse(s) {
        Some(l) => Some(l),
        None => {
            notes.push(format!("{what}: unknown level '{s}' compared as UNKNOWN"));
            Some(Level::Unknown)
        }
    }
}

/// Reads an `audit.json` of any version leniently, within `limit`.
pub fn read(path: &Path, limit: &FileLimit) -> Result<Run, ReadError> {
    let bytes = read_file(path, limit)?;
    parse(&path.display().to_string(), &bytes).map_err(|reason| ReadError::Format {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses the text of an `audit.json`; `name` is how the run is named in the diff. Public for
/// the fuzz target `audit_json`.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Run, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FormatError::Empty);
    }
    let root: Value =
        serde_json::from_slice(bytes).map_err(|e| FormatError::Json(e.to_string()))?;
    let Some(raw_tenants) = root.get("tenants").and_then(Value::as_array) else {
        return Err(FormatError::NoTenants);
    };
    let mut notes = Vec::new();
    let mut tenants = Vec::with_capacity(raw_tenants.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut derived_risk = 0usize;
    for (i, t) in raw_tenants.iter().enumerate() {
        let Some(id) = text(t, "tenant_id").filter(|s| !s.is_empty()) else {
            notes.push(format!(
                "{name}: tenant #{} has no tenant_id and is not compared",
                i + 1
            ));
            continue;
        };
        if seen.contains_key(&id) {
            notes.push(format!(
                "{name}: tenant_id '{id}' appears more than once; the first is compared"
            ));
            continue;
        }
        let mut findings: BTreeMap<(String, String), Level> = BTreeMap::new();
        for f in list(t, "findings") {
            let code = text(f, "code").unwrap_or_else(|| "UNSPECIFIED".to_string());
            let target = text(f, "target").unwrap_or_default();
            let what = format!("{name}: {id} {code}@{target}");
            let level = level_of(text(f, "level").as_deref(), &what, &mut notes)
                .or_else(|| Code::parse(&code).map(|c| c.default_level()))
                .unwrap_or(Level::Unknown);
            let e = findings.entry((code, target)).or_insert(level);
            *e = (*e).max(level);
        }
        let risk = match level_of(
            text(t, "risk").as_deref(),
            &format!("{name}: {id}"),
            &mut notes,
        ) {
            Some(l) => l,
            None => {
                derived_risk += 1;
                findings.values().copied().max().unwrap_or(Level::Ok)
            }
        };
        let certificates = list(t, "certificates")
            .iter()
            .filter_map(|c| Some((text(c, "target")?, text(c, "sha256").unwrap_or_default())))
            .collect();
        seen.insert(id.clone(), tenants.len());
        tenants.push(RunTenant {
            tenant_id: id,
            ips_type: text(t, "ips_type").unwrap_or_default(),
            environment: text(t, "environment").unwrap_or_default(),
            owner: text(t, "owner").unwrap_or_default(),
            risk,
            findings,
            certificates,
            readiness: t.get("readiness").and_then(|r| text(r, "state")),
        });
    }
    if derived_risk > 0 {
        notes.push(format!(
            "{name}: {derived_risk} tenant(s) without a risk; taken as their worst finding"
        ));
    }
    let tool = root.get("tool").cloned().unwrap_or(Value::Null);
    Ok(Run {
        path: name.to_string(),
        tool: text(&tool, "name"),
        version: text(&tool, "version"),
        as_of: text(&root, "as_of"),
        inventory: text(&root, "inventory"),
        inventory_errors: list(&root, "inventory_errors").len() as u64,
        complete: root
            .get("complete")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        tenants,
        notes,
    })
}

// ----- The comparison -----

/// How a tenant changed between the runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Was below `AT_RISK`, now at or above it.
    NewlyAtRisk,
    /// Risk level went up, but not across `AT_RISK`.
    Worse,
    /// Only in the new run.
    Added,
    /// Same risk, different findings.
    FindingsChanged,
    /// Same risk and findings, another certificate.
    CertificateReplaced,
    /// Was at or above `AT_RISK`, now `OK` or `WARN`.
    Fixed,
    /// Risk level went down, but the tenant is not fixed.
    Better,
    /// Only in the old run.
    Removed,
    /// Looks fixed or better, but the new run was interrupted: not taken on its word.
    Unverified,
    /// Same risk, findings and certificates; only the readiness for the cutover changed.
    ReadinessChanged,
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Change::NewlyAtRisk => "newly_at_risk",
            Change::Worse => "worse",
            Change::Added => "added",
            Change::FindingsChanged => "findings_changed",
            Change::CertificateReplaced => "certificate_replaced",
            Change::Fixed => "fixed",
            Change::Better => "better",
            Change::Removed => "removed",
            Change::Unverified => "unverified",
            Change::ReadinessChanged => "readiness_changed",
        }
    }

    /// For people: `newly at risk`, `findings changed`, …
    pub(crate) fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

/// A finding whose level changed between the runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    /// The finding code, as text.
    pub code: String,
    /// The finding target, as text.
    pub target: String,
    /// Its level in the old run.
    pub old: Level,
    /// Its level in the new run.
    pub new: Level,
}

/// A certificate target whose certificate changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertChange {
    /// The certificate's target (`ias_admin_cert`, `ips_inbound_cert`, `ias_server`, …).
    pub target: String,
    /// SHA-256 fingerprint (hex) in the old run; `null` when the target had no certificate.
    pub old_sha256: Option<String>,
    /// SHA-256 fingerprint (hex) in the new run; `null` when the target has no certificate.
    pub new_sha256: Option<String>,
}

/// One tenant that changed between the runs (an element of `changes` in `diff --format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantChange {
    /// The tenant's `tenant_id`.
    pub tenant_id: String,
    /// The kind of change, the most important one when several apply.
    pub change: Change,
    /// Whether this change makes the comparison worse (see the module documentation).
    pub worse: bool,
    /// Why it is worse, one reason per line.
    pub reasons: Vec<String>,
    /// Risk in the old run; `null` for an added tenant.
    pub old_risk: Option<Level>,
    /// Risk in the new run; `null` for a removed tenant.
    pub new_risk: Option<Level>,
    /// The new run's `ips_type`, or the old one's for a removed tenant.
    pub ips_type: String,
    /// The new run's `environment`, or the old one's for a removed tenant.
    pub environment: String,
    /// The new run's owner, or the old one's for a removed tenant.
    pub owner: String,
    /// Findings (`CODE@target`) only in the new run, at their new level.
    pub gained: Vec<FindingKey>,
    /// Findings only in the old run, at their old level.
    pub lost: Vec<FindingKey>,
    /// Findings in both runs at different levels.
    pub level_changed: Vec<LevelChange>,
    /// Evidence or server certificates whose SHA-256 differs between the runs (tenants in both
    /// runs only).
    pub certificates: Vec<CertChange>,
    /// The readiness for the cutover, `[old, new]`, when it changed (tenants in both runs whose
    /// files say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<[String; 2]>,
}

/// What the diff says about one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// The `audit.json` as given on the command line.
    pub path: String,
    /// The tool that wrote it (`tool.name`), when the file says.
    pub tool: Option<String>,
    /// The tool version that wrote it (`tool.version`), when the file says.
    pub version: Option<String>,
    /// The run's `as_of`, as written.
    pub as_of: Option<String>,
    /// The inventory file the run audited.
    pub inventory: Option<String>,
    /// Tenants compared (those with a `tenant_id`, each once).
    pub tenants: u64,
    /// Inventory rows the run could not audit.
    pub inventory_errors: u64,
    /// Tenants per risk level, every level present (zero included).
    pub by_risk: BTreeMap<Level, u64>,
}

impl Side {
    fn of(run: &Run) -> Side {
        let mut by_risk: BTreeMap<Level, u64> = Level::ALL.iter().map(|l| (*l, 0)).collect();
        for t in &run.tenants {
            *by_risk.entry(t.risk).or_default() += 1;
        }
        Side {
            path: run.path.clone(),
            tool: run.tool.clone(),
            version: run.version.clone(),
            as_of: run.as_of.clone(),
            inventory: run.inventory.clone(),
            tenants: run.tenants.len() as u64,
            inventory_errors: run.inventory_errors,
            by_risk,
        }
    }
}

/// How many tenants had each kind of [`Change`] (`summary` in `diff --format json`); every
/// compared tenant is counted once, under its change or as `unchanged`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Tenants [`Change::Fixed`].
    pub fixed: u64,
    /// Tenants [`Change::NewlyAtRisk`].
    pub newly_at_risk: u64,
    /// Tenants [`Change::Worse`].
    pub worse: u64,
    /// Tenants [`Change::Better`].
    pub better: u64,
    /// Tenants [`Change::Added`].
    pub added: u64,
    /// Tenants [`Change::Removed`].
    pub removed: u64,
    /// Tenants [`Change::FindingsChanged`].
    pub findings_changed: u64,
    /// Tenants [`Change::CertificateReplaced`].
    pub certificate_replaced: u64,
    /// Tenants [`Change::Unverified`]: improvements an interrupted new run cannot prove.
    #[serde(default)]
    pub unverified: u64,
    /// Tenants [`Change::ReadinessChanged`].
    #[serde(default)]
    pub readiness_changed: u64,
    /// Tenants (in both runs) that became ready for the cutover, whatever else changed.
    #[serde(default)]
    pub became_ready: u64,
    /// Tenants that were ready and are not any more (counts as worse).
    #[serde(default)]
    pub no_longer_ready: u64,
    /// Tenants in both runs with the same risk, findings and certificates.
    pub unchanged: u64,
    /// Findings gained, summed over tenants in both runs (added and removed tenants are not
    /// counted).
    pub findings_gained: u64,
    /// Findings lost, summed over tenants in both runs.
    pub findings_lost: u64,
}

/// The comparison of two runs: what `diff` renders, and `diff --format json` as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The earlier run (OLD).
    pub old: Side,
    /// The later run (NEW).
    pub new: Side,
    /// Whether anything got worse (exit 1 of `mtls-audit diff`).
    pub worse: bool,
    /// Whether the new run completed; an interrupted one proves no improvement, and `diff`
    /// exits 1 on it too.
    #[serde(default = "yes")]
    pub new_complete: bool,
    /// Tenants per kind of change, and findings gained and lost.
    pub summary: Counts,
    /// Changed tenants, those that got worse first.
    pub changes: Vec<TenantChange>,
    /// What the reader should know about the comparison itself (versions, lenient reads).
    pub notes: Vec<String>,
}

fn keys(m: &BTreeMap<(String, String), Level>) -> BTreeSet<&(String, String)> {
    m.keys().collect()
}

fn compare_tenant(old: Option<&RunTenant>, new: Option<&RunTenant>) -> Option<TenantChange> {
    let empty = BTreeMap::new();
    let fo = old.map(|t| &t.findings).unwrap_or(&empty);
    let fnew = new.map(|t| &t.findings).unwrap_or(&empty);
    let key = |(c, t): &(String, String), level| FindingKey {
        code: c.clone(),
        target: t.clone(),
        level,
    };
    let gained: Vec<FindingKey> = keys(fnew)
        .difference(&keys(fo))
        .map(|k| key(k, fnew[*k]))
        .collect();
    let lost: Vec<FindingKey> = keys(fo)
        .difference(&keys(fnew))
        .map(|k| key(k, fo[*k]))
        .collect();
    let level_changed: Vec<LevelChange> = keys(fo)
        .intersection(&keys(fnew))
        .filter(|k| fo[**k] != fnew[**k])
        .map(|k| LevelChange {
            code: k.0.clone(),
            target: k.1.clone(),
            old: fo[*k],
            new: fnew[*k],
        })
        .collect();
    let mut certificates = Vec::new();
    if let (Some(o), Some(n)) = (old, new) {
        let targets: BTreeSet<&String> =
            o.certificates.keys().chain(n.certificates.keys()).collect();
        for t in targets {
            let (a, b) = (o.certificates.get(t), n.certificates.get(t));
            if a != b {
                certificates.push(CertChange {
                    target: t.clone(),
                    old_sha256: a.cloned(),
                    new_sha256: b.cloned(),
                });
            }
        }
    }
    let readiness = match (
        old.and_then(|t| t.readiness.clone()),
        new.and_then(|t| t.readiness.clone()),
    ) {
        (Some(a), Some(b)) if a != b => Some([a, b]),
        _ => None,
    };
    let (old_risk, new_risk) = (old.map(|t| t.risk), new.map(|t| t.risk));
    let change = match (old_risk, new_risk) {
        (None, Some(_)) => Change::Added,
        (Some(_), None) => Change::Removed,
        (Some(o), Some(n)) if n > o && n >= Level::AtRisk && o < Level::AtRisk => {
            Change::NewlyAtRisk
        }
        (Some(o), Some(n)) if n > o => Change::Worse,
        (Some(o), Some(n)) if o >= Level::AtRisk && n <= Level::Warn => Change::Fixed,
        (Some(o), Some(n)) if n < o => Change::Better,
        (Some(_), Some(_))
            if !gained.is_empty() || !lost.is_empty() || !level_changed.is_empty() =>
        {
            Change::FindingsChanged
        }
        (Some(_), Some(_)) if !certificates.is_empty() => Change::CertificateReplaced,
        (Some(_), Some(_)) if readiness.is_some() => Change::ReadinessChanged,
        _ => return None,
    };
    let mut reasons = Vec::new();
    match (change, old_risk, new_risk) {
        (Change::NewlyAtRisk | Change::Worse, Some(o), Some(n)) => {
            reasons.push(format!("risk {o} → {n}"));
        }
        (Change::Added, _, Some(n)) if n >= Level::AtRisk => {
            reasons.push(format!("new tenant at {n}"));
        }
        _ => {}
    }
    if change != Change::Added {
        for g in gained.iter().filter(|g| g.level >= Level::AtRisk) {
            reasons.push(format!("new finding {} ({})", g.label(), g.level));
        }
        for c in level_changed
            .iter()
            .filter(|c| c.new > c.old && c.new >= Level::AtRisk)
        {
            reasons.push(format!(
                "finding {}@{} {} → {}",
                c.code, c.target, c.old, c.new
            ));
        }
    }
    if let Some([a, b]) = &readiness
        && a == "ready"
        && b == "not_ready"
    {
        reasons.push("no longer ready for the cutover".to_string());
    }
    let shown = new.or(old)?;
    Some(TenantChange {
        readiness,
        tenant_id: shown.tenant_id.clone(),
        change,
        worse: !reasons.is_empty(),
        reasons,
        old_risk,
        new_risk,
        ips_type: shown.ips_type.clone(),
        environment: shown.environment.clone(),
        owner: shown.owner.clone(),
        gained,
        lost,
        level_changed,
        certificates,
    })
}

/// Compares two runs. Tenants are matched by `tenant_id`.
pub fn compare(old: &Run, new: &Run) -> Diff {
    let old_by: HashMap<&str, &RunTenant> = old
        .tenants
        .iter()
        .map(|t| (t.tenant_id.as_str(), t))
        .collect();
    let new_ids: BTreeSet<&str> = new.tenants.iter().map(|t| t.tenant_id.as_str()).collect();
    let mut changes = Vec::new();
    let mut counts = Counts::default();
    // New run order first, then the removed tenants in old run order.
    let pairs = new
        .tenants
        .iter()
        .map(|n| (old_by.get(n.tenant_id.as_str()).copied(), Some(n)))
        .chain(
            old.tenants
                .iter()
                .filter(|o| !new_ids.contains(o.tenant_id.as_str()))
                .map(|o| (Some(o), None)),
        );
    for (o, n) in pairs {
        match compare_tenant(o, n) {
            None => counts.unchanged += 1,
            Some(mut c) => {
                // An interrupted run proves no improvement: its tenants may not have been
                // checked at all (docs/spec.md §12).
                if !new.complete && matches!(c.change, Change::Fixed | Change::Better) {
                    c.change = Change::Unverified;
                    c.reasons.push(
                        "the new run was interrupted: this improvement is not verified".to_string(),
                    );
                }
                match c.change {
                    Change::Unverified => counts.unverified += 1,
                    Change::ReadinessChanged => counts.readiness_changed += 1,
                    Change::Fixed => counts.fixed += 1,
                    Change::NewlyAtRisk => counts.newly_at_risk += 1,
                    Change::Worse => counts.worse += 1,
                    Change::Better => counts.better += 1,
                    Change::Added => counts.added += 1,
                    Change::Removed => counts.removed += 1,
                    Change::FindingsChanged => counts.findings_changed += 1,
                    Change::CertificateReplaced => counts.certificate_replaced += 1,
                }
                match c.readiness.as_ref().map(|[a, b]| (a.as_str(), b.as_str())) {
                    Some((_, "ready")) => counts.became_ready += 1,
                    Some(("ready", _)) => counts.no_longer_ready += 1,
                    _ => {}
                }
                if !matches!(c.change, Change::Added | Change::Removed) {
                    counts.findings_gained += c.gained.len() as u64;
                    counts.findings_lost += c.lost.len() as u64;
                }
                changes.push(c);
            }
        }
    }
    changes.sort_by(|a, b| {
        b.worse
            .cmp(&a.worse)
            .then(a.change.cmp(&b.change))
            .then(b.new_risk.cmp(&a.new_risk))
            .then(b.old_risk.cmp(&a.old_risk))
    });
    let mut notes = Vec::new();
    if !new.complete {
        notes.push(format!(
            "NEW ({}) is an interrupted run (complete: false): no tenant is called fixed or better on its strength; audit again and compare a complete run",
            new.path
        ));
    }
    if !old.complete {
        notes.push(format!(
            "OLD ({}) is an interrupted run (complete: false): tenants it did not finish compare as UNKNOWN",
            old.path
        ));
    }
    if old.version != new.version {
        notes.push(format!(
            "the runs come from different tool versions ({} and {}); findings are compared by code and target as text",
            old.version.as_deref().unwrap_or("unknown"),
            new.version.as_deref().unwrap_or("unknown")
        ));
    }
    let unknown: BTreeSet<&str> = old
        .tenants
        .iter()
        .chain(&new.tenants)
        .flat_map(|t| t.findings.keys())
        .map(|(c, _)| c.as_str())
        .filter(|c| Code::parse(c).is_none())
        .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "codes this version does not know, compared as text: {}",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if let (Some(a), Some(b)) = (&old.as_of, &new.as_of) {
        match (
            chrono::DateTime::parse_from_rfc3339(a),
            chrono::DateTime::parse_from_rfc3339(b),
        ) {
            (Ok(a), Ok(b)) if b < a => notes.push(format!(
                "NEW ({}) is older than OLD ({}): are the arguments swapped?",
                new.path, old.path
            )),
            _ => {}
        }
    }
    if old.inventory != new.inventory && old.inventory.is_some() && new.inventory.is_some() {
        notes.push("the runs audited different inventory files".to_string());
    }
    if new.inventory_errors > old.inventory_errors {
        notes.push(format!(
            "inventory rows not audited went from {} to {}",
            old.inventory_errors, new.inventory_errors
        ));
    }
    notes.extend(old.notes.iter().cloned());
    notes.extend(new.notes.iter().cloned());
    Diff {
        old: Side::of(old),
        new: Side::of(new),
        worse: changes.iter().any(|c| c.worse),
        new_complete: new.complete,
        summary: counts,
        changes,
        notes,
    }
}

impl Diff {
    /// `2 fixed, 1 newly at risk, …; 4 findings gained, 6 lost`, without zero counts.
    pub(crate) fn summary_line(&self) -> String {
        let s = &self.summary;
        let parts: Vec<String> = [
            (s.newly_at_risk, "newly at risk"),
            (s.worse, "worse"),
            (s.added, "added"),
            (s.fixed, "fixed"),
            (s.better, "better"),
            (s.unverified, "unverified (interrupted run)"),
            (s.became_ready, "became ready for the cutover"),
            (s.no_longer_ready, "no longer ready for the cutover"),
            (s.findings_changed, "findings changed"),
            (s.certificate_replaced, "certificate replaced"),
            (s.removed, "removed"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        let mut line = if parts.is_empty() {
            format!("no changes in {} tenants", s.unchanged)
        } else {
            format!("{}; {} unchanged", parts.join(", "), s.unchanged)
        };
        line.push_str(&format!(
            "; findings: {} gained, {} lost",
            s.findings_gained, s.findings_lost
        ));
        line.push_str(if self.worse {
            " — WORSE"
        } else if !self.new_complete {
            " — INCOMPLETE: the new run was interrupted"
        } else {
            " — nothing got worse"
        });
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str, risk: &str, findings: &[(&str, &str, &str)]) -> String {
        let f: Vec<String> = findings
            .iter()
            .map(|(c, t, l)| format!(r#"{{"code":"{c}","target":"{t}","level":"{l}"}}"#))
            .collect();
        format!(
            r#"{{"tenant_id":"{id}","ips_type":"neo","risk":"{risk}","findings":[{}]}}"#,
            f.join(",")
        )
    }

    fn run(name: &str, tenants: &[String]) -> Run {
        parse(
            name,
            format!(
                r#"{{"tool":{{"name":"mtls-audit","version":"0.1.0"}},"as_of":"2025-07-15T00:00:00Z","tenants":[{}]}}"#,
                tenants.join(",")
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn classifies_each_kind_of_change() {
        let old = run(
            "old",
            &[
                tenant(
                    "FIX",
                    "FAILING",
                    &[("CERT_EXPIRED", "ias_admin_cert", "FAILING")],
                ),
                tenant("NEWRISK", "OK", &[]),
                tenant("UP", "OK", &[]),
                tenant(
                    "DOWN",
                    "FAILING",
                    &[
                        ("CERT_EXPIRED", "ias_admin_cert", "FAILING"),
                        ("CERT_NOT_REFERENCE", "ias_admin_cert", "AT_RISK"),
                    ],
                ),
                tenant(
                    "SAME",
                    "WARN",
                    &[("CERT_EXPIRES_SOON", "ias_admin_cert", "WARN")],
                ),
                tenant("GONE", "OK", &[]),
            ],
        );
        let new = run(
            "new",
            &[
                tenant("FIX", "OK", &[]),
                tenant(
                    "NEWRISK",
                    "AT_RISK",
                    &[("CERT_NOT_REFERENCE", "ias_admin_cert", "AT_RISK")],
                ),
                tenant("UP", "WARN", &[("CERT_WEAK_KEY", "ias_admin_cert", "WARN")]),
                tenant(
                    "DOWN",
                    "AT_RISK",
                    &[("CERT_NOT_REFERENCE", "ias_admin_cert", "AT_RISK")],
                ),
                tenant(
                    "SAME",
                    "WARN",
                    &[("CERT_EXPIRES_SOON", "ias_admin_cert", "WARN")],
                ),
                tenant(
                    "ADDED",
                    "FAILING",
                    &[("MTLS_REJECTED", "tech_user", "FAILING")],
                ),
            ],
        );
        let d = compare(&old, &new);
        let kind = |id: &str| {
            d.changes
                .iter()
                .find(|c| c.tenant_id == id)
                .map(|c| (c.change, c.worse))
        };
        assert_eq!(kind("FIX"), Some((Change::Fixed, false)));
        assert_eq!(kind("NEWRISK"), Some((Change::NewlyAtRisk, true)));
        assert_eq!(kind("UP"), Some((Change::Worse, true)));
        assert_eq!(kind("DOWN"), Some((Change::Better, false)));
        assert_eq!(kind("SAME"), None);
        assert_eq!(kind("ADDED"), Some((Change::Added, true)));
        assert_eq!(kind("GONE"), Some((Change::Removed, false)));
        assert!(d.worse);
        assert_eq!(d.summary.unchanged, 1);
        assert_eq!(d.summary.findings_lost, 2);
        // Those that got worse come first.
        assert!(d.changes[0].worse && !d.changes.last().unwrap().worse);
    }

    #[test]
    fn a_new_at_risk_finding_on_an_already_failing_tenant_is_worse() {
        let old = run(
            "o",
            &[tenant(
                "A",
                "FAILING",
                &[("CERT_EXPIRED", "ias_admin_cert", "FAILING")],
            )],
        );
        let new = run(
            "n",
            &[tenant(
                "A",
                "FAILING",
                &[
                    ("CERT_EXPIRED", "ias_admin_cert", "FAILING"),
                    ("SYNC_JOB_FAILED", "sync", "AT_RISK"),
                ],
            )],
        );
        let d = compare(&old, &new);
        assert!(d.worse, "{d:#?}");
        assert_eq!(d.changes[0].change, Change::FindingsChanged);
        // A new WARN finding alone is not worse.
        let new = run(
            "n",
            &[tenant(
                "A",
                "FAILING",
                &[
                    ("CERT_EXPIRED", "ias_admin_cert", "FAILING"),
                    ("SYNC_STALE", "sync", "WARN"),
                ],
            )],
        );
        assert!(!compare(&old, &new).worse);
    }

    #[test]
    fn a_level_rising_to_failing_is_worse() {
        let old = run(
            "o",
            &[tenant(
                "A",
                "AT_RISK",
                &[("CERT_NOT_REFERENCE", "ias_admin_cert", "AT_RISK")],
            )],
        );
        let new = run(
            "n",
            &[tenant(
                "A",
                "FAILING",
                &[("CERT_NOT_REFERENCE", "ias_admin_cert", "FAILING")],
            )],
        );
        let d = compare(&old, &new);
        assert!(d.worse);
        assert_eq!(d.changes[0].level_changed.len(), 1);
        assert!(d.changes[0].gained.is_empty());
    }

    #[test]
    fn identical_runs_are_not_worse() {
        let a = run(
            "a",
            &[tenant(
                "A",
                "FAILING",
                &[("CERT_EXPIRED", "ias_admin_cert", "FAILING")],
            )],
        );
        let d = compare(&a, &a.clone());
        assert!(!d.worse);
        assert!(d.changes.is_empty());
        assert_eq!(d.summary.unchanged, 1);
    }

    #[test]
    fn reads_leniently() {
        let r = parse(
            "x",
            br#"{"tenants":[{"tenant_id":"A","risk":"CRITICAL","future":1,"findings":[{"code":"NEW_CODE","target":"x","level":"AT_RISK"}]},{"tenant_id":"B","findings":[{"code":"CERT_EXPIRED","target":"ias_admin_cert"}]},{"risk":"OK"}],"new_top_level":{}}"#,
        )
        .unwrap();
        assert_eq!(r.tenants.len(), 2);
        assert_eq!(r.tenants[0].risk, Level::Unknown);
        // B: level from the code's default, risk from the findings.
        assert_eq!(r.tenants[1].risk, Level::Failing);
        assert!(
            r.notes.iter().any(|n| n.contains("CRITICAL")),
            "{:?}",
            r.notes
        );
        assert!(r.notes.iter().any(|n| n.contains("no tenant_id")));
        assert!(
            parse("x", b"{}")
                .unwrap_err()
                .to_string()
                .contains("tenants")
        );
        assert!(
            parse("x", br#"{"tenants":{}}"#)
                .unwrap_err()
                .to_string()
                .contains("tenants")
        );
        // Types that drifted: a numeric tenant_id and as_of still compare.
        let r = parse(
            "x",
            br#"{"as_of":20250715,"tenants":[{"tenant_id":42,"risk":"OK","findings":"n/a"}]}"#,
        )
        .unwrap();
        assert_eq!(r.tenants[0].tenant_id, "42");
        assert_eq!(r.as_of.as_deref(), Some("20250715"));
        assert!(parse("x", b"").unwrap_err().to_string().contains("empty"));
        assert!(
            parse("x", b"[1,2")
                .unwrap_err()
                .to_string()
                .contains("invalid JSON")
        );
    }
}
