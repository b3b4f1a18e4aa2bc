//! The live audit: the offline checks of every tenant plus, where the inventory gives the
//! evidence, the server TLS check, sync health and mTLS acceptance, run concurrently over the
//! network layer (which keeps every request within its timeout, the tenant's deadline and the
//! documented IAS/IPS rate limits).
//!
//! A tenant that fails, hangs or throttles never delays the rest beyond its own deadline, and
//! its failure is a finding. When the run is stopped (Ctrl-C), no new tenant starts, tenants in
//! flight get a short grace period, and every tenant still appears in the report: those whose
//! live checks did not finish keep their offline findings and list the live checks as not run.

mod api;
pub mod scim;
mod tenant;

pub use crate::audit::StopFlag;
pub use api::{CommonLog, JobLogError, parse_job_log};

use crate::audit::{self, Options};
use crate::checks::Check;
use crate::checks::Outcome;
use crate::checks::failure::ApiFailure;
use crate::findings::Level;
use crate::findings::Target;
use crate::inventory::{Inventory, IpsType, Tenant};
use crate::net::{ClientIdentity, Credentials, Deadline, NetClient};
use crate::result::{AuditReport, TenantResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How long tenants in flight may still finish after a stop.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What the live checks need besides the audit options.
pub struct Live {
    /// The one network client of the run, shared by every tenant (limits, token cache, probe
    /// results).
    pub client: NetClient,
    /// `--credentials`: the API credentials the inventory's `credential` column names; `None`
    /// when no file was given (tenants that name one get `API_AUTH_FAILED`).
    pub credentials: Option<Credentials>,
    /// The LMS client identity (`--lms-cert/--lms-key`).
    pub lms: Option<Arc<ClientIdentity>>,
    /// The longest one tenant's live checks may take.
    pub tenant_deadline: Duration,
    /// Tenants checked at the same time.
    pub concurrency: usize,
}

/// Told as tenants finish (a progress bar, a counter). Checks never print; whoever shows
/// progress implements this.
pub trait Progress: Sync {
    /// One tenant finished with this risk.
    fn tenant_done(&self, risk: Level);
    /// Every tenant finished (or the run stopped).
    fn finish(&self) {}
}

/// No progress shown.
impl Progress for () {
    fn tenant_done(&self, _risk: Level) {}
}

/// Runs the whole audit. Offline checks for everyone first (fast, from files), then the live
/// checks of each tenant that has live evidence.
pub async fn run(
    inv: &Inventory,
    opts: &Options,
    live: Arc<Live>,
    progress: &dyn Progress,
    stop: &StopFlag,
) -> AuditReport {
    let tenants = Arc::new(inv.tenants.clone());
    let policy = opts.policy.clone();
    let limits = opts.limits;
    let offline: Vec<Outcome> = {
        let (tenants, stop) = (tenants.clone(), stop.clone());
        // Certificate files are read and parsed on rayon's threads, off the async runtime.
        tokio::task::spawn_blocking(move || {
            audit::offline_outcomes(&tenants, &policy, &limits, &stop)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    };
    let opts = Arc::new(opts.clone());
    let mut results: Vec<Option<TenantResult>> = vec![None; tenants.len()];
    let mut set: JoinSet<(usize, Outcome)> = JoinSet::new();
    let slots = Arc::new(Semaphore::new(live.concurrency.max(1)));
    let mut interrupted = false;
    for (i, base) in offline.iter().cloned().enumerate() {
        let t = &tenants[i];
        if opts.offline || planned(t, &live).is_empty() {
            let r = audit::finish(t, base);
            progress.tenant_done(r.risk);
            results[i] = Some(r);
            continue;
        }
        // Wait for a slot, collecting finished tenants meanwhile; a stop ends the scheduling.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p,
            _ = stop.stopped() => { interrupted = true; break; }
        };
        let Ok(permit) = permit else { break };
        let (all, opts, live) = (tenants.clone(), opts.clone(), live.clone());
        set.spawn(async move {
            let _permit = permit;
            let t = &all[i];
            let mut outcome = base;
            let budget = live.tenant_deadline;
            let deadline = Deadline::after(budget);
            // The network layer honours the deadline call by call; this is the backstop for
            // anything that would still hang.
            match tokio::time::timeout(
                budget + Duration::from_secs(2),
                tenant::live_checks(t, &opts, &live, deadline),
            )
            .await
            {
                Ok(o) => outcome.merge(o),
                Err(_) => outcome.merge(deadline_passed(t, &live, budget)),
            }
            (i, outcome)
        });
        while let Some(done) = set.try_join_next() {
            collect(done, &tenants, &mut results, progress);
        }
    }
    if stop.is_stopped() {
        interrupted = true;
    }
    // Let the tenants in flight finish: all of them, or those that finish within one grace
    // period after a stop (one deadline for all, so a stop ends the run in bounded time).
    let mut grace_ends = interrupted.then(|| tokio::time::Instant::now() + STOP_GRACE);
    loop {
        let next = if let Some(end) = grace_ends {
            match tokio::time::timeout_at(end, set.join_next()).await {
                Ok(n) => n,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                n = set.join_next() => n,
                _ = stop.stopped() => {
                    interrupted = true;
                    grace_ends = Some(tokio::time::Instant::now() + STOP_GRACE);
                    continue;
                }
            }
        };
        match next {
            Some(done) => collect(done, &tenants, &mut results, progress),
            None => break,
        }
    }
    set.abort_all();
    // Tenants whose live checks did not run or finish keep their offline findings (computed
    // once, above) and their live checks are unfinished, so they come out UNKNOWN
    // (CHECK_NOT_FINISHED), never OK: rows in = tenants out + errors + skipped holds.
    for (i, mut base) in offline.into_iter().enumerate() {
        if results[i].is_none() {
            let t = &tenants[i];
            base.unfinished.extend(planned(t, &live));
            results[i] = Some(audit::finish(t, base));
        }
    }
    progress.finish();
    let tenants_out: Vec<TenantResult> = results.into_iter().flatten().collect();
    audit::report(inv, &opts, tenants_out, !interrupted)
}

fn collect(
    done: Result<(usize, Outcome), tokio::task::JoinError>,
    tenants: &[Tenant],
    results: &mut [Option<TenantResult>],
    progress: &dyn Progress,
) {
    match done {
        Ok((i, outcome)) => {
            let r = audit::finish(&tenants[i], outcome);
            progress.tenant_done(r.risk);
            results[i] = Some(r);
        }
        // A panicking tenant task is a bug; its tenant is reported from offline evidence.
        Err(e) if e.is_panic() => tracing::error!("a tenant's live checks panicked: {e}"),
        Err(_) => {}
    }
}

/// What a tenant's checks say when even the backstop timeout fired.
fn deadline_passed(t: &Tenant, live: &Live, budget: Duration) -> Outcome {
    let mut o = Outcome::default();
    let msg = format!(
        "gave up: the tenant's checks did not finish within its deadline of {}",
        humantime::format_duration(budget)
    );
    let target = if t.ias_url.is_some() {
        Target::IasServer
    } else {
        Target::IpsServer
    };
    o.findings
        .push(ApiFailure::Unreachable(msg).finding(target, "live checks"));
    for c in planned(t, live) {
        o.run.push(c);
    }
    o
}

/// The live checks that apply to a tenant and have their evidence.
fn planned(t: &Tenant, live: &Live) -> Vec<Check> {
    let applicable = audit::applicable(t);
    let mut v = Vec::new();
    if t.ias_url.is_some() {
        v.push(Check::IasServer);
    }
    if applicable.contains(&Check::IpsServer) && t.ips_url.is_some() {
        v.push(Check::IpsServer);
    }
    if t.credential.is_some() && t.ias_url.is_some() {
        v.push(Check::Sync);
        if t.ips_type == IpsType::Converged && t.job_id.is_some() {
            v.push(Check::SyncJob);
        }
    }
    if live.lms.is_some() && t.ias_url.is_some() {
        v.push(Check::Mtls);
    }
    v
}
