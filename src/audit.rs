//! Runs the checks for every tenant and assembles the [`AuditReport`].
//!
//! Evidence files are loaded once each, in parallel, whatever the number of tenants that share
//! them; tenants are then judged in parallel and kept in inventory order.

use crate::certificate::CertificateObject;
use crate::checks::Check;
use crate::checks::cert::{Policy, References};
use crate::checks::{self, Outcome};
use crate::findings::{Code, Finding, Impact, Level, Target};
use crate::inventory::{Inventory, IpsType, Tenant};
use crate::remediation;
use crate::result::{
    AuditReport, Place, PlaceState, Readiness, ReadinessSource, Settings, Summary, TenantFinding,
    TenantResult, ToolInfo,
};
use mtls_audit_cert::{Limits, LoadError, load_file};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set to stop a run (Ctrl-C, SIGTERM): offline and live audits stop starting work, and what did
/// not finish is reported as `CHECK_NOT_FINISHED`, never as OK.
#[derive(Debug, Default, Clone)]
pub struct StopFlag(Arc<(AtomicBool, tokio::sync::Notify)>);

impl StopFlag {
    /// Stops the run: no tenant starts after this, and those in flight get a short grace
    /// period. Safe to call from a signal handler task, more than once.
    pub fn stop(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.0.0.load(Ordering::SeqCst)
    }

    pub(crate) async fn stopped(&self) {
        let notified = self.0.1.notified();
        if self.is_stopped() {
            return;
        }
        notified.await;
    }
}

/// Everything a run is judged by, apart from the inventory.
#[derive(Debug, Clone)]
pub struct Options {
    /// Dates, thresholds and reference certificates the certificate findings are judged by.
    pub policy: Policy,
    /// `--sync-stale-days`: `SYNC_STALE` when no LMS-provisioned user was created or changed
    /// within this many days of the as-of.
    pub sync_stale_days: i64,
    /// `--fail-on`: the level at which the run fails (exit 1); `None` for `never`.
    pub fail_on: Option<Level>,
    /// `--allow-unknown`: `UNKNOWN` tenants and inventory errors do not fail the run.
    pub allow_unknown: bool,
    /// `--offline`: only the offline checks run; no connection is made.
    pub offline: bool,
    /// Size limits for reading evidence files (and the ZIPs that hold them).
    pub limits: Limits,
}

/// One evidence file judged for one target: the same for every tenant that points at it, so it
/// is computed once and cloned (cheaply: the certificate view and messages are shared).
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub object: Option<CertificateObject>,
    pub findings: Vec<Finding>,
    pub readable: bool,
}

/// Every distinct evidence file of the inventory, loaded and judged once per target.
#[derive(Debug, Default)]
pub struct CertFiles {
    files: HashMap<PathBuf, [Judged; 2]>,
}

fn slot(target: Target) -> usize {
    usize::from(target == Target::IpsInboundCert)
}

impl CertFiles {
    /// Loads and judges every distinct file in parallel.
    pub fn load(
        tenants: &[Tenant],
        policy: &Policy,
        limits: &Limits,
        stop: &StopFlag,
    ) -> CertFiles {
        let mut paths: Vec<&Path> = tenants
            .iter()
            .flat_map(|t| [t.ias_admin_cert.as_deref(), t.ips_inbound_cert.as_deref()])
            .flatten()
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let files = paths
            .par_iter()
            // A stopped run loads no more files; their tenants' checks are unfinished.
            .filter(|_| !stop.is_stopped())
            .map(|p| {
                let loaded = load_file(p, limits);
                let source = p.display().to_string();
                let judge = |target| {
                    // Both targets must hold a reference certificate on NEO, the IAS record on
                    // converged (converged tenants never use the IPS slot).
                    let (object, findings) =
                        checks::cert::check(target, &source, loaded.as_ref(), policy, true);
                    Judged {
                        object,
                        findings,
                        readable: loaded.is_ok(),
                    }
                };
                (
                    p.to_path_buf(),
                    [judge(Target::IasAdminCert), judge(Target::IpsInboundCert)],
                )
            })
            .collect();
        CertFiles { files }
    }

    pub(crate) fn get(&self, path: &Path, target: Target) -> Option<&Judged> {
        self.files.get(path).map(|j| &j[slot(target)])
    }
}

/// The checks that apply to a tenant of this IPS type at all (others are neither run nor
/// "not run": a converged tenant has no IPS inbound certificate, a NEO tenant no job-log API).
pub(crate) fn applicable(t: &Tenant) -> Vec<Check> {
    let mut v = vec![Check::IasAdminCert];
    if t.ips_type == IpsType::Neo {
        v.push(Check::IpsInboundCert);
    }
    v.extend([
        Check::Reference,
        Check::DeclaredPermissions,
        Check::IasServer,
    ]);
    let separate_ips_host = match (&t.ias_url, &t.ips_url) {
        (Some(a), Some(b)) => a.host_str() != b.host_str() || a.port() != b.port(),
        (None, Some(_)) => true,
        _ => t.ips_type == IpsType::Neo,
    };
    if separate_ips_host {
        v.push(Check::IpsServer);
    }
    v.push(Check::Sync);
    if t.ips_type == IpsType::Converged {
        v.push(Check::SyncJob);
    }
    v.push(Check::Mtls);
    v.push(Check::LmsConfig);
    v
}

/// The offline checks of one tenant: certificate files and declared permissions.
pub fn offline_checks(t: &Tenant, evidence: &CertFiles, policy: &Policy) -> Outcome {
    let mut out = Outcome::default();
    let mut targets = vec![(Target::IasAdminCert, Check::IasAdminCert, &t.ias_admin_cert)];
    if t.ips_type == IpsType::Neo {
        targets.push((
            Target::IpsInboundCert,
            Check::IpsInboundCert,
            &t.ips_inbound_cert,
        ));
    }
    let mut any_loaded = false;
    for (target, check, path) in targets {
        let Some(path) = path else {
            out.not_run.push(check);
            continue;
        };
        out.run.push(check);
        match evidence.get(path, target) {
            Some(j) => {
                any_loaded |= j.readable;
                out.certificates.extend(j.object.clone());
                out.findings.extend(j.findings.iter().cloned());
            }
            // Not loaded: the run was stopped before this file was read.
            None => {
                out.run.retain(|c| *c != check);
                out.unfinished.push(check);
            }
        }
    }
    if !policy.references.is_empty() && any_loaded {
        out.run.push(Check::Reference);
    } else {
        out.not_run.push(Check::Reference);
    }
    match &t.tech_user_permissions {
        Some(declared) => {
            out.run.push(Check::DeclaredPermissions);
            out.findings
                .extend(checks::permissions::check(declared, &t.tenant_id));
        }
        None => out.not_run.push(Check::DeclaredPermissions),
    }
    // NEO retirement: a fact of the tenant's IPS type against the as-of date.
    out.findings.extend(checks::neo::check(
        t.ips_type,
        t.learning_only_users,
        policy.as_of,
    ));
    if t.lms_config.is_empty() {
        out.not_run.push(Check::LmsConfig);
    } else {
        out.run.push(Check::LmsConfig);
        out.findings.extend(checks::lms_config::check(
            t.ips_type,
            t.ips_url.as_ref(),
            t.ips_source_system_id.as_deref(),
            &t.lms_config,
        ));
    }
    out
}

/// Turns a tenant's combined outcome into its result: coverage, risk, impacts, remediation.
pub fn finish(t: &Tenant, mut outcome: Outcome) -> TenantResult {
    let applicable = applicable(t);
    // Whatever applies and was neither run nor reported as not run, was not run.
    for c in &applicable {
        if !outcome.run.contains(c) && !outcome.not_run.contains(c) {
            outcome.not_run.push(*c);
        }
    }
    outcome.run.sort();
    outcome.not_run.sort();
    outcome.unfinished.retain(|c| !outcome.run.contains(c));
    outcome.unfinished.sort();
    if !outcome.unfinished.is_empty() {
        let names: Vec<&str> = outcome.unfinished.iter().map(|c| c.as_str()).collect();
        outcome.findings.push(Finding::new(
            Code::CheckNotFinished,
            Target::Run,
            format!(
                "the run was interrupted before these checks finished: {}; the tenant is not known to be OK",
                names.join(", ")
            ),
        ));
    } else if outcome.run.is_empty() {
        outcome.findings.push(Finding::new(
            Code::InventoryNothingToCheck,
            Target::Inventory,
            "no check could run: the row names no certificate file, no tech_user_permissions and no endpoint that was checked",
        ));
    }
    let ctx = Arc::new(remediation::TenantContext {
        tenant_id: t.tenant_id.clone(),
        ips_type: t.ips_type,
        ips_source_system_id: t.ips_source_system_id.clone(),
        job_id: t.job_id.clone(),
        credential: t.credential.clone(),
        converged_ips: converged_ips(t),
    });
    let mut findings: Vec<TenantFinding> = outcome
        .findings
        .into_iter()
        .map(|f| {
            let remediation = remediation::Remediation::For {
                code: f.code,
                target: f.target,
                tenant: ctx.clone(),
            };
            TenantFinding::new(f, remediation)
        })
        .collect();
    merge_live_confirmation(&mut findings);
    // Worst first inside a tenant too, stable for equal levels.
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    let risk = findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    let mut impacts: Vec<Impact> = findings
        .iter()
        .filter(|f| f.level >= Level::AtRisk)
        .flat_map(|f| f.impacts.iter().copied())
        .collect();
    impacts.sort();
    impacts.dedup();
    // Observation wins over evidence (docs/spec.md §8): with the next identity probed, the
    // probes decide; where the file says imported and the tenant refuses, the finding says so.
    let evidence = evidence_readiness(t.ips_type, &outcome.certificates);
    let readiness = match &outcome.next_places {
        Some(probed) => {
            let r = Readiness::of(t.ips_type, ReadinessSource::Probe, |p| {
                probed.get(&p).copied().unwrap_or(PlaceState::Unknown)
            });
            for (place, state) in &r.places {
                if *state == PlaceState::Rejected
                    && evidence.places.get(place) == Some(&PlaceState::Accepted)
                {
                    note_disagreement(&mut findings, *place);
                }
            }
            r
        }
        None => evidence,
    };
    TenantResult {
        line: t.line,
        tenant_id: t.tenant_id.clone(),
        ips_type: t.ips_type,
        environment: t.environment,
        owner: t.owner.clone(),
        owner_email: t.owner_email.clone(),
        learning_only_users: t.learning_only_users,
        lms_config: t.lms_config.clone(),
        readiness,
        ias_url: t
            .ias_url
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default(),
        ips_url: t
            .ips_url
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default(),
        risk,
        impacts,
        checks_run: outcome.run,
        checks_not_run: outcome.not_run,
        certificates: outcome.certificates,
        findings,
        extra: t.extra.clone(),
    }
}

/// The converged IPS of the tenant, or where it will be after leaving NEO: `https://host[:port]`
/// of the IPS URL of a converged tenant, of the IAS URL of a NEO one.
fn converged_ips(t: &Tenant) -> Option<String> {
    let u = match t.ips_type {
        IpsType::Converged => t.ips_url.as_ref(),
        IpsType::Neo => t.ias_url.as_ref(),
    }?;
    Some(checks::lms_config::origin(u))
}

/// The live `ipsAPIUrl` cross-check confirms the offline mismatch on the same column rather than
/// repeating it: its text is appended to that finding (a live-only finding stays as it is).
fn merge_live_confirmation(findings: &mut Vec<TenantFinding>) {
    let live = crate::live::LIVE_PREFIX;
    let Some(i) = findings
        .iter()
        .position(|f| f.code == Code::LmsConfigMismatch && f.message.starts_with(live))
    else {
        return;
    };
    if let Some(j) = findings.iter().position(|f| {
        f.code == Code::LmsConfigMismatch
            && f.message.starts_with("lms_ips_api_url ")
            && !f.message.starts_with(live)
    }) {
        let confirmation = findings[i].message.to_string();
        findings[j].message = format!("{}; {confirmation}", findings[j].message).into();
        findings.remove(i);
    }
}

/// Adds to the refusal at `place` that the evidence file shows the certificate imported.
fn note_disagreement(findings: &mut [TenantFinding], place: Place) {
    let target = match place {
        Place::IasAdminRecord => Target::IasAdminCert,
        Place::IpsInbound => Target::IpsInboundCert,
    };
    // Before the cutover the refusal of the next certificate is MTLS_NEXT_REJECTED at the
    // place; from the cutover it is MTLS_REJECTED of "the new LMS certificate".
    for f in findings.iter_mut().filter(|f| {
        (f.code == Code::MtlsNextRejected && f.target == target)
            || (f.code == Code::MtlsRejected && f.message.contains("new LMS certificate"))
    }) {
        f.message = format!(
            "{}; the file shows the certificate imported, the tenant refuses it",
            f.message
        )
        .into();
    }
}

/// Readiness from the evidence files (docs/spec.md §8): a place whose exported certificate is
/// a reference certificate accepts it, one that holds another certificate does not; a place
/// without a readable file, or a run without `--reference-cert`, is unknown.
fn evidence_readiness(ips_type: IpsType, certificates: &[CertificateObject]) -> Readiness {
    Readiness::of(ips_type, ReadinessSource::Evidence, |place| {
        let target = match place {
            Place::IasAdminRecord => Target::IasAdminCert,
            Place::IpsInbound => Target::IpsInboundCert,
        };
        match certificates
            .iter()
            .find(|c| c.target == target)
            .and_then(|c| c.reference_match)
        {
            Some(true) => PlaceState::Accepted,
            Some(false) => PlaceState::Rejected,
            None => PlaceState::Unknown,
        }
    })
}

/// Builds the report from finished tenants (in inventory order).
pub(crate) fn report(
    inv: &Inventory,
    opts: &Options,
    tenants: Vec<TenantResult>,
    complete: bool,
) -> AuditReport {
    let summary = Summary::from_tenants(&tenants, inv.rows, inv.errors.len() as u64, inv.skipped);
    AuditReport {
        tool: ToolInfo::this(),
        as_of: opts.policy.as_of,
        deadline: opts.policy.deadline,
        cutover: opts.policy.cutover,
        inventory: inv.path.display().to_string(),
        complete,
        settings: Settings {
            warn_days: opts.policy.warn_days,
            critical_days: opts.policy.critical_days,
            sync_stale_days: opts.sync_stale_days,
            fail_on: opts.fail_on,
            allow_unknown: opts.allow_unknown,
            offline: opts.offline,
            reference_certs: opts
                .policy
                .references
                .certs
                .iter()
                .map(|c| c.sha256.clone())
                .collect(),
        },
        summary,
        tenants,
        inventory_errors: inv.errors.clone(),
        shard: None,
    }
}

/// The whole offline audit: no connection is made.
/// A stopped run is reported as incomplete; its unfinished checks make their tenants `UNKNOWN`.
pub fn run_offline(inv: &Inventory, opts: &Options, stop: &StopFlag) -> AuditReport {
    let tenants: Vec<TenantResult> =
        offline_outcomes(&inv.tenants, &opts.policy, &opts.limits, stop)
            .into_par_iter()
            .zip(inv.tenants.par_iter())
            .map(|(o, t)| finish(t, o))
            .collect();
    report(inv, opts, tenants, !stop.is_stopped())
}

/// The offline checks of every tenant, in inventory order: each evidence file is loaded and
/// judged once, tenants are checked in parallel. The live audit starts from these too.
pub(crate) fn offline_outcomes(
    tenants: &[Tenant],
    policy: &Policy,
    limits: &Limits,
    stop: &StopFlag,
) -> Vec<Outcome> {
    let evidence = CertFiles::load(tenants, policy, limits, stop);
    tenants
        .par_iter()
        .map(|t| offline_checks(t, &evidence, policy))
        .collect()
}

/// Whether the run fails `--fail-on` (exit 1): a tenant at or above the level, or, unless
/// `--allow-unknown`, a tenant whose risk is `UNKNOWN` or a row that could not be audited.
pub fn fails(report: &AuditReport, fail_on: Option<Level>, allow_unknown: bool) -> bool {
    let Some(threshold) = fail_on else {
        return false;
    };
    let over = report.tenants.iter().any(|t| t.risk >= threshold);
    let unknown = !allow_unknown
        && (report.tenants.iter().any(|t| t.risk == Level::Unknown)
            || !report.inventory_errors.is_empty());
    over || unknown
}

/// A `--reference-cert` file that gives no certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--reference-cert {}: {error}", path.display())]
pub struct ReferenceError {
    /// The file as given.
    pub path: PathBuf,
    /// Why it gives no certificate (the loader's text, quoted).
    pub error: LoadError,
}

/// Loads `--reference-cert` files: every certificate in each (a zip may hold several).
pub fn load_references(paths: &[PathBuf], limits: &Limits) -> Result<References, ReferenceError> {
    let mut certs = Vec::new();
    for p in paths {
        let bundle = load_file(p, limits).map_err(|error| ReferenceError {
            path: p.clone(),
            error,
        })?;
        // A reference is the LMS client certificate; CA certificates in the same file are its
        // chain, not references.
        let leaves = bundle.leaf_candidates();
        for i in leaves {
            certs.push(bundle.certs[i].clone());
        }
    }
    Ok(References::new(certs))
}
