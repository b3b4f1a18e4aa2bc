//! The live audit: the offline checks of every tenant plus, where the inventory gives the
//! evidence, the server TLS check, sync health and mTLS acceptance, run concurrently over the
//! network layer (which keeps every request within its timeout, the tenant's deadline and the
//! documented IAS/IPS rate limits).
//!
//! A tenant that fails, hangs or throttles never delays the rest beyond its own deadline, and
//! its failure is a finding. When the run is stopped (Ctrl-C), no new tenant starts, tenants in
//! flight get a short grace period, and every tenant still appears in the report: those whose
//! live checks did not finish keep their offline findings and list the live checks as not run.

use crate::audit::{self, Options};
use crate::checks::Check;
use crate::checks::Outcome;
use crate::checks::api::ApiFailure;
use crate::checks::mtls::{self, Answer};
use crate::checks::server_tls::{self, Observation, Seen};
use crate::checks::sync::{self, JobLog, LmsUsers};
use crate::findings::Target;
use crate::inventory::{Inventory, IpsType, Tenant};
use crate::net::{
    Auth, Call, ClientIdentity, Credential, Credentials, Deadline, NetClient, NetError, TlsFailure,
    Unreachable,
};
use crate::progress::Progress;
use crate::result::{AuditReport, TenantResult};
use crate::sap::{LMS_SOURCE_SYSTEM, TEST_USER};
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const SCIM: &str = "application/scim+json";
const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";
/// Pages of LMS users read at most (100 each): a tenant with more users than this is judged on
/// the users read, which are plenty to tell whether sync is alive.
const MAX_PAGES: u32 = 500;
/// How long tenants in flight may still finish after a stop.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What the live checks need besides the audit options.
pub struct Live {
    pub client: NetClient,
    pub credentials: Option<Credentials>,
    /// The LMS client identity (`--lms-cert/--lms-key`).
    pub lms: Option<Arc<ClientIdentity>>,
    /// The longest one tenant's live checks may take.
    pub tenant_deadline: Duration,
    /// Tenants checked at the same time.
    pub concurrency: usize,
}

/// Set to stop the run (Ctrl-C).
#[derive(Debug, Default, Clone)]
pub struct StopFlag(Arc<(AtomicBool, tokio::sync::Notify)>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.0.load(Ordering::SeqCst)
    }

    pub async fn stopped(&self) {
        let notified = self.0.1.notified();
        if self.is_stopped() {
            return;
        }
        notified.await;
    }
}

/// Runs the whole audit. Offline checks for everyone first (fast, from files), then the live
/// checks of each tenant that has live evidence.
pub async fn run(
    inv: &Inventory,
    opts: &Options,
    live: Arc<Live>,
    progress: &Progress,
    stop: &StopFlag,
) -> AuditReport {
    let tenants = Arc::new(inv.tenants.clone());
    let policy = opts.policy.clone();
    let limits = opts.limits;
    let offline: Vec<Outcome> = {
        let tenants = tenants.clone();
        // Certificate files are read and parsed on rayon's threads, off the async runtime.
        tokio::task::spawn_blocking(move || audit::offline_outcomes(&tenants, &policy, &limits))
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
                live_checks(t, &opts, &live, deadline),
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
    // Let the tenants in flight finish (all of them, or within the grace period after a stop).
    loop {
        let next = if interrupted {
            match tokio::time::timeout(STOP_GRACE, set.join_next()).await {
                Ok(n) => n,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                n = set.join_next() => n,
                _ = stop.stopped() => { interrupted = true; continue; }
            }
        };
        match next {
            Some(done) => collect(done, &tenants, &mut results, progress),
            None => break,
        }
    }
    set.abort_all();
    // Tenants whose live checks did not run or finish keep their offline findings (computed
    // once, above) and list the live checks as not run: rows in = tenants out + errors holds.
    for (i, base) in offline.into_iter().enumerate() {
        if results[i].is_none() {
            results[i] = Some(audit::finish(&tenants[i], base));
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
    progress: &Progress,
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

/// Every live check of one tenant: the API calls first (concurrently), then the server TLS
/// checks, which reuse the chains those calls were shown where they can.
async fn live_checks(t: &Tenant, opts: &Options, live: &Live, deadline: Deadline) -> Outcome {
    let plan = planned(t, live);
    let as_of = opts.policy.as_of;
    let warn = opts.policy.warn_days;
    let sync = async {
        if plan.contains(&Check::Sync) {
            Some(sync_health(t, opts, live, deadline).await)
        } else {
            None
        }
    };
    let mtls = async {
        if plan.contains(&Check::Mtls) {
            Some(mtls_acceptance(t, live, deadline).await)
        } else {
            None
        }
    };
    let (c, d) = tokio::join!(sync, mtls);
    let ias_server = async {
        match (&t.ias_url, plan.contains(&Check::IasServer)) {
            (Some(u), true) => {
                Some(server(live, u, Target::IasServer, as_of, warn, deadline).await)
            }
            _ => None,
        }
    };
    let ips_server = async {
        match (&t.ips_url, plan.contains(&Check::IpsServer)) {
            (Some(u), true) => {
                Some(server(live, u, Target::IpsServer, as_of, warn, deadline).await)
            }
            _ => None,
        }
    };
    let (a, b) = tokio::join!(ias_server, ips_server);
    let mut out = Outcome::default();
    for o in [a, b, c, d].into_iter().flatten() {
        out.merge(o);
    }
    out
}

fn host_port(u: &Url) -> (String, u16) {
    (
        u.host_str().unwrap_or_default().to_string(),
        u.port_or_known_default().unwrap_or(443),
    )
}

async fn server(
    live: &Live,
    url: &Url,
    target: Target,
    as_of: DateTime<Utc>,
    warn_days: i64,
    deadline: Deadline,
) -> Outcome {
    let (host, port) = host_port(url);
    let endpoint = format!("{host}:{port}");
    // Chains are recorded by server name: reuse one only for the default port, which is the
    // one the tenant's API calls went to.
    let recorded = if url.port().is_none() {
        live.client.recorded_chain(&host, port, as_of)
    } else {
        None
    };
    let probed = match recorded {
        Some(p) => Ok(p),
        None => live.client.probe_tls(&host, port, as_of, deadline).await,
    };
    let result = match probed {
        Ok(p) => Ok(Seen::from_probe(&p)),
        Err(e) => Err(e.to_string()),
    };
    let (object, findings) =
        server_tls::judge(target, &Observation { endpoint, result }, as_of, warn_days);
    let check = if target == Target::IasServer {
        Check::IasServer
    } else {
        Check::IpsServer
    };
    Outcome {
        certificates: object.into_iter().collect(),
        findings,
        run: vec![check],
        not_run: Vec::new(),
    }
}

/// An answer of our own credential's call: the response when it is usable, else why not.
fn usable(r: Result<crate::net::Response, NetError>) -> Result<crate::net::Response, ApiFailure> {
    let r = r.map_err(|e| net_failure(&e))?;
    match r.status {
        200..=299 => Ok(r),
        401 | 403 => {
            let mut detail = scim_detail(&r.body);
            if let Some(code) = r
                .headers
                .get("x-message-code")
                .and_then(|v| v.to_str().ok())
            {
                detail = if detail.is_empty() {
                    code.to_string()
                } else {
                    format!("{detail}; {code}")
                };
            }
            Err(ApiFailure::Auth {
                status: r.status,
                detail,
            })
        }
        429 => Err(ApiFailure::Throttled {
            attempts: r.attempts,
        }),
        s => Err(ApiFailure::Protocol(format!(
            "HTTP {s} after {} attempt{}",
            r.attempts,
            if r.attempts == 1 { "" } else { "s" }
        ))),
    }
}

fn net_failure(e: &NetError) -> ApiFailure {
    if e.is_auth_failure() {
        return ApiFailure::Auth {
            status: match e {
                NetError::TokenRejected { status, .. } => *status,
                _ => 401,
            },
            detail: e.to_string(),
        };
    }
    match e {
        NetError::Decode { .. }
        | NetError::BodyTooLarge { .. }
        | NetError::TokenUnusable { .. } => ApiFailure::Protocol(e.to_string()),
        _ => ApiFailure::Unreachable(e.to_string()),
    }
}

/// The `detail` of a SCIM error body, if it is one (never anything else of the body).
fn scim_detail(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ScimError {
        #[serde(default)]
        detail: String,
    }
    serde_json::from_slice::<ScimError>(body)
        .map(|e| e.detail.chars().take(200).collect())
        .unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(default)]
    total_results: u64,
    #[serde(default, rename = "Resources")]
    resources: Vec<ScimUser>,
}

#[derive(Deserialize)]
struct ScimUser {
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    created: Option<DateTime<Utc>>,
    last_modified: Option<DateTime<Utc>>,
}

fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

fn url_with(base: &Url, path: &str, query: &[(&str, &str)]) -> Result<Url, ApiFailure> {
    let mut u = base
        .join(path)
        .map_err(|e| ApiFailure::Protocol(format!("cannot build the URL {path}: {e}")))?;
    if !query.is_empty() {
        u.query_pairs_mut().extend_pairs(query);
    }
    Ok(u)
}

async fn scim_get(
    live: &Live,
    url: Url,
    auth: &Auth,
    deadline: Deadline,
) -> Result<ListResponse, ApiFailure> {
    let call = Call::get(url.as_str())
        .map_err(|e| ApiFailure::Protocol(e.to_string()))?
        .auth(auth.clone())
        .deadline(deadline)
        .accept(SCIM);
    let r = usable(live.client.send(call).await)?;
    r.json::<ListResponse>()
        .map_err(|e| ApiFailure::Protocol(e.to_string()))
}

/// Every page of the tenant's LMS-provisioned users.
async fn lms_users(
    t: &Tenant,
    ias: &Url,
    live: &Live,
    auth: &Auth,
    deadline: Deadline,
) -> Result<LmsUsers, ApiFailure> {
    let filter = format!(
        "{SAP_USER}:sourceSystem eq {LMS_SOURCE_SYSTEM} and {SAP_USER}:sourceSystemId eq {}",
        quote(&t.tenant_id)
    );
    let mut users = LmsUsers::default();
    let mut start: u64 = 1;
    for _ in 0..MAX_PAGES {
        let start_s = start.to_string();
        let url = url_with(
            ias,
            "/scim/Users",
            &[
                ("filter", &filter),
                ("startIndex", &start_s),
                ("count", "100"),
            ],
        )?;
        let page = scim_get(live, url, auth, deadline).await?;
        let n = page.resources.len() as u64;
        for u in &page.resources {
            let m = u.meta.as_ref();
            for d in [m.and_then(|m| m.created), m.and_then(|m| m.last_modified)]
                .into_iter()
                .flatten()
            {
                users.latest_change = Some(users.latest_change.map_or(d, |l| l.max(d)));
            }
        }
        users.count += n;
        // totalResults may be an estimate until the last page; an empty page ends it.
        if n == 0 || start + n > page.total_results {
            break;
        }
        start += n;
    }
    Ok(users)
}

async fn test_user(
    ias: &Url,
    live: &Live,
    auth: &Auth,
    deadline: Deadline,
) -> Result<bool, ApiFailure> {
    let filter = format!("userName eq {}", quote(TEST_USER));
    let url = url_with(ias, "/scim/Users", &[("filter", &filter), ("count", "1")])?;
    let page = scim_get(live, url, auth, deadline).await?;
    Ok(page.total_results > 0 || !page.resources.is_empty())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonLog {
    #[serde(default)]
    status: String,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    statistics: Vec<Statistic>,
}

#[derive(Debug, Deserialize)]
struct Statistic {
    #[serde(default)]
    failed: u64,
}

/// The job's common log: `GET …/jobLogs/{jobId}?action=export&logType=commonLog` answers a
/// ZIP. SAP does not document what is inside (DOMAIN.md §7 gap 2); we read the first JSON
/// entry as the simulator writes it (docs/simulator.md), and say so when the shape differs.
async fn job_log(
    job_id: &str,
    ias: &Url,
    live: &Live,
    auth: &Auth,
    deadline: Deadline,
) -> Result<JobLog, ApiFailure> {
    let path = format!("/ips/service/publicapi/v1/jobLogs/{job_id}");
    let url = url_with(
        ias,
        &path,
        &[("action", "export"), ("logType", "commonLog")],
    )?;
    let call = Call::get(url.as_str())
        .map_err(|e| ApiFailure::Protocol(e.to_string()))?
        .auth(auth.clone())
        .deadline(deadline)
        .accept("application/zip");
    let r = usable(live.client.send(call).await)?;
    let log = read_common_log(&r.body).map_err(ApiFailure::Protocol)?;
    Ok(JobLog {
        job_id: job_id.to_string(),
        status: log.status,
        failed_entities: log.statistics.iter().map(|s| s.failed).sum(),
        error_message: log.error_message,
    })
}

fn read_common_log(zip_bytes: &[u8]) -> Result<CommonLog, String> {
    const MAX_ENTRY: u64 = 8 * 1024 * 1024;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| format!("the job log export is not a readable ZIP: {e}"))?;
    for i in 0..archive.len().min(64) {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("the job log ZIP is damaged: {e}"))?;
        let is_json = entry.name().map(|n| n.ends_with(".json")).unwrap_or(false);
        if !is_json {
            continue;
        }
        let mut buf = Vec::new();
        (&mut entry)
            .take(MAX_ENTRY + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("the job log ZIP is damaged: {e}"))?;
        if buf.len() as u64 > MAX_ENTRY {
            return Err("the job log is larger than 8 MiB".to_string());
        }
        return serde_json::from_slice(&buf)
            .map_err(|e| format!("the job log is not the expected JSON: {e}"));
    }
    Err("the job log ZIP holds no JSON file".to_string())
}

async fn sync_health(t: &Tenant, opts: &Options, live: &Live, deadline: Deadline) -> Outcome {
    let mut run = vec![Check::Sync];
    let job_applies = t.ips_type == IpsType::Converged && t.job_id.is_some();
    if job_applies {
        run.push(Check::SyncJob);
    }
    let (Some(ias), Some(name)) = (&t.ias_url, &t.credential) else {
        return Outcome::default();
    };
    let cred: Result<Arc<Credential>, ApiFailure> = match &live.credentials {
        Some(c) => c
            .get(name)
            .map_err(|e| ApiFailure::Credential(e.to_string())),
        None => Err(ApiFailure::Credential(format!(
            "the inventory names credential '{name}' but no --credentials file was given"
        ))),
    };
    let evidence = match cred {
        Err(e) => sync::Evidence {
            users: Err(e.clone()),
            test_user_present: Err(e.clone()),
            job: job_applies.then_some(Err(e)),
        },
        Ok(cred) => {
            let auth = Auth::Credential(cred);
            let (users, leftover, job) = tokio::join!(
                lms_users(t, ias, live, &auth, deadline),
                test_user(ias, live, &auth, deadline),
                async {
                    match (&t.job_id, job_applies) {
                        (Some(j), true) => Some(job_log(j, ias, live, &auth, deadline).await),
                        _ => None,
                    }
                }
            );
            sync::Evidence {
                users,
                test_user_present: leftover,
                job,
            }
        }
    };
    Outcome {
        certificates: Vec::new(),
        findings: sync::judge(
            &t.tenant_id,
            &evidence,
            opts.policy.as_of,
            opts.sync_stale_days,
        ),
        run,
        not_run: Vec::new(),
    }
}

/// Alerts with which a server refuses a client certificate (TLS 1.3 reports them on the first
/// read after the handshake, STACK.md pitfall 3). `access_denied` and `handshake_failure` are
/// not among them: a server that refuses every client says nothing about our certificate.
fn refuses_certificate(e: &NetError) -> Option<String> {
    use rustls::AlertDescription as A;
    match e {
        NetError::Unreachable {
            failure: Unreachable::Tls(TlsFailure::AlertReceived(a)),
            ..
        } if matches!(
            a,
            A::BadCertificate
                | A::UnknownCA
                | A::CertificateRequired
                | A::CertificateExpired
                | A::CertificateRevoked
                | A::CertificateUnknown
                | A::UnsupportedCertificate
        ) =>
        {
            Some(format!("{a:?}"))
        }
        _ => None,
    }
}

async fn probe(
    live: &Live,
    call: Result<Call, NetError>,
    identity: &Arc<ClientIdentity>,
    deadline: Deadline,
) -> Answer {
    let call = match call {
        Ok(c) => c.auth(Auth::Identity(identity.clone())).deadline(deadline),
        Err(e) => return Answer::Failed(ApiFailure::Protocol(e.to_string())),
    };
    match live.client.send(call).await {
        Ok(r) if r.status == 429 => Answer::Failed(ApiFailure::Throttled {
            attempts: r.attempts,
        }),
        Ok(r) => Answer::Status(r.status),
        Err(e) => match refuses_certificate(&e) {
            Some(alert) => Answer::CertificateRefused(alert),
            None => Answer::Failed(net_failure(&e)),
        },
    }
}

async fn mtls_acceptance(t: &Tenant, live: &Live, deadline: Deadline) -> Outcome {
    let (Some(ias), Some(lms)) = (&t.ias_url, &live.lms) else {
        return Outcome::default();
    };
    let scim_url = match url_with(ias, "/scim/Users", &[("count", "1")]) {
        Ok(u) => u,
        Err(_) => return Outcome::default(),
    };
    // The real-time endpoint of the LMS source system: on the IAS host (converged) or on the
    // NEO IPS certificate host, exactly as SPEC §5 words it.
    let realtime_url = match (&t.ips_source_system_id, t.ips_type) {
        (Some(sid), IpsType::Converged) => url_with(
            ias,
            &format!("/ipsproxy/service/api/v1/systems/{sid}/entities/user"),
            &[],
        )
        .ok(),
        (Some(sid), IpsType::Neo) => t.ips_url.as_ref().and_then(|u| {
            url_with(
                u,
                &format!("/ipsproxy/certapi/v1/systems/{sid}/entities/user"),
                &[],
            )
            .ok()
        }),
        (None, _) => None,
    };
    let scim = probe(
        live,
        Call::get(scim_url.as_str()).map(|c| c.accept(SCIM)),
        lms,
        deadline,
    );
    let rt = async {
        match &realtime_url {
            Some(u) => Some(
                probe(
                    live,
                    Call::post(u.as_str()).map(|c| c.json(&serde_json::json!({}))),
                    lms,
                    deadline,
                )
                .await,
            ),
            None => None,
        }
    };
    let (scim_read, realtime) = tokio::join!(scim, rt);
    let ev = mtls::Evidence {
        scim_read,
        realtime,
        scim_url: scim_url.to_string(),
        realtime_url: realtime_url.map(|u| u.to_string()).unwrap_or_default(),
    };
    Outcome {
        certificates: Vec::new(),
        findings: mtls::judge(&ev),
        run: vec![Check::Mtls],
        not_run: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_quoted_and_escaped() {
        assert_eq!(quote("ACME"), "\"ACME\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn common_log_is_read_from_the_first_json_entry() {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            z.start_file("readme.txt", o).unwrap();
            std::io::Write::write_all(&mut z, b"x").unwrap();
            z.start_file("ips_jobCommonLogs_1.json", o).unwrap();
            std::io::Write::write_all(
                &mut z,
                br#"{"status":"Finished with Error","statistics":[{"failed":1},{"failed":2}]}"#,
            )
            .unwrap();
            z.finish().unwrap();
        }
        let log = read_common_log(buf.get_ref()).unwrap();
        assert_eq!(log.status, "Finished with Error");
        assert_eq!(log.statistics.iter().map(|s| s.failed).sum::<u64>(), 3);
        assert!(
            read_common_log(b"not a zip")
                .unwrap_err()
                .contains("not a readable ZIP")
        );
    }
}
