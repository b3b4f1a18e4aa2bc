//! One tenant's live checks: gather the evidence over the network (through [`super::api`])
//! and hand it to the checks, which decide the findings.

use super::api::{self, SCIM, url_with};
use super::{Live, planned};
use crate::audit::Options;
use crate::checks::failure::ApiFailure;
use crate::checks::server_tls::{self, Observation, Seen};
use crate::checks::{Check, Outcome, mtls, sync};
use crate::findings::{Code, Finding, Target};
use crate::inventory::{IpsType, Tenant};
use crate::net::{Auth, Call, ClientIdentity, Credential, Deadline};
use chrono::{DateTime, Utc};
use reqwest::Url;
use std::sync::Arc;

/// Every live check of one tenant: the API calls first (concurrently), then the server TLS
/// checks, which reuse the chains those calls were shown where they can.
pub(super) async fn live_checks(
    t: &Tenant,
    opts: &Options,
    live: &Live,
    deadline: Deadline,
) -> Outcome {
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
            Some(mtls_acceptance(t, live, opts, deadline).await)
        } else {
            None
        }
    };
    let lms_api = async {
        match live.lms.as_ref().or(live.next_lms.as_ref()) {
            Some(identity) if t.ips_type == IpsType::Converged => {
                lms_api_url(t, live, identity, deadline).await
            }
            _ => None,
        }
    };
    let (c, d, e) = tokio::join!(sync, mtls, lms_api);
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
    for o in [a, b, c, d, e].into_iter().flatten() {
        out.merge(o);
    }
    out
}

/// The live cross-check of LMS's `ipsAPIUrl` (docs/spec.md §9): the real-time endpoint of the
/// LMS source system at the URL LMS is configured with, with the LMS identity. An answer from
/// the wrong place (404), or none at all from a host other than the tenant's IPS, confirms
/// `LMS_CONFIG_MISMATCH`; any other answer means the endpoint is there.
async fn lms_api_url(
    t: &Tenant,
    live: &Live,
    identity: &Arc<ClientIdentity>,
    deadline: Deadline,
) -> Option<Outcome> {
    let configured = t.lms_config.ips_api_url.as_deref()?;
    let sid = t
        .lms_config
        .ips_source_system_id
        .as_deref()
        .or(t.ips_source_system_id.as_deref())?;
    let base = configured.trim_end_matches('/');
    let url = api::segment("lms_ips_source_system_id", sid)
        .map(|sid| format!("{base}/v1/systems/{sid}/entities/user"));
    let answer = match &url {
        Ok(u) => {
            api::probe(
                live,
                Call::post(u).map(|c| c.json(&serde_json::json!({}))),
                identity,
                deadline,
            )
            .await
        }
        Err(e) => mtls::Answer::Failed(e.clone()),
    };
    let why = match answer {
        mtls::Answer::Status(404) | mtls::Answer::Explained(404, _) => {
            "answered 404: there is no real-time endpoint for the LMS source system there"
                .to_string()
        }
        // On the tenant's own IPS host, no answer says the host is unreachable (the other
        // checks report that), not that LMS is configured with the wrong place.
        mtls::Answer::Failed(ApiFailure::Unreachable(_)) if on_tenant_ips(t, configured) => {
            return None;
        }
        mtls::Answer::Failed(ApiFailure::Unreachable(reason)) => {
            format!("could not be reached ({reason})")
        }
        _ => return None,
    };
    let finding = Finding::new(
        Code::LmsConfigMismatch,
        Target::LmsConfig,
        format!(
            "{LIVE_PREFIX} lms_ips_api_url '{configured}': the real-time endpoint {} {why}; LMS's real-time user sync calls go to the wrong place (KBA 3394484)",
            url.as_deref().unwrap_or(configured)
        ),
    );
    Some(Outcome {
        findings: vec![finding],
        ..Outcome::default()
    })
}

/// Whether the configured `ipsAPIUrl` is on the tenant's converged IPS (its `ips_url`, else its
/// `ias_url`), compared as the offline check compares origins.
fn on_tenant_ips(t: &Tenant, configured: &str) -> bool {
    let Some(ips) = t.ips_url.as_ref().or(t.ias_url.as_ref()) else {
        return false;
    };
    Url::parse(configured).is_ok_and(|u| {
        crate::checks::lms_config::origin(&u)
            .eq_ignore_ascii_case(&crate::checks::lms_config::origin(ips))
    })
}

/// How a finding of the live `ipsAPIUrl` cross-check starts (the audit merges it into the
/// offline finding on the same column when there is one).
pub(crate) const LIVE_PREFIX: &str = "confirmed live:";

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
        Err(e) => Err(e),
    };
    let (object, findings) =
        server_tls::check(target, &Observation { endpoint, result }, as_of, warn_days);
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
        unfinished: Vec::new(),
        next_places: None,
    }
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
        Err(e) => sync::SyncCalls {
            users: Err(e.clone()),
            test_user_present: Err(e.clone()),
            job: job_applies.then_some(Err(e)),
        },
        Ok(cred) => {
            let auth = Auth::Credential(cred);
            let (users, leftover, job) = tokio::join!(
                api::lms_users(t, ias, live, &auth, deadline),
                api::test_user(ias, live, &auth, deadline),
                async {
                    match (&t.job_id, job_applies) {
                        (Some(j), true) => Some(api::job_log(j, ias, live, &auth, deadline).await),
                        _ => None,
                    }
                }
            );
            sync::SyncCalls {
                users,
                test_user_present: leftover,
                job,
            }
        }
    };
    Outcome {
        certificates: Vec::new(),
        findings: sync::check(
            &t.tenant_id,
            &evidence,
            opts.policy.as_of,
            opts.sync_stale_days,
        ),
        run,
        not_run: Vec::new(),
        unfinished: Vec::new(),
        next_places: None,
    }
}

async fn mtls_acceptance(t: &Tenant, live: &Live, opts: &Options, deadline: Deadline) -> Outcome {
    let Some(ias) = &t.ias_url else {
        return Outcome::default();
    };
    if live.lms.is_none() && live.next_lms.is_none() {
        return Outcome::default();
    }
    let scim_url = match url_with(ias, "/scim/Users", &[("count", "1")]) {
        Ok(u) => u,
        Err(_) => return Outcome::default(),
    };
    // The real-time endpoint of the LMS source system: on the IAS host (converged) or on the
    // NEO IPS certificate host, exactly as docs/spec.md §5 words it. The system ID is one
    // encoded path segment; one that cannot be (`..`) is an API_ERROR, not a silent skip.
    let realtime_url = match (&t.ips_source_system_id, t.ips_type) {
        (Some(sid), IpsType::Converged) => {
            Some(api::segment("ips_source_system_id", sid).and_then(|sid| {
                url_with(
                    ias,
                    &format!("/ipsproxy/service/api/v1/systems/{sid}/entities/user"),
                    &[],
                )
            }))
        }
        (Some(sid), IpsType::Neo) => t.ips_url.as_ref().map(|u| {
            api::segment("ips_source_system_id", sid).and_then(|sid| {
                url_with(
                    u,
                    &format!("/ipsproxy/certapi/v1/systems/{sid}/entities/user"),
                    &[],
                )
            })
        }),
        (None, _) => None,
    };
    // One identity's probes. Each identity has its own connections (a client certificate
    // belongs to a connection), and every request counts in the tenant's rate budget.
    let probe_with = |identity: Option<Arc<ClientIdentity>>| {
        let (scim_url, realtime_url) = (&scim_url, &realtime_url);
        async move {
            let identity = identity?;
            let scim = api::probe(
                live,
                Call::get(scim_url.as_str()).map(|c| c.accept(SCIM)),
                &identity,
                deadline,
            );
            let rt = async {
                match realtime_url {
                    Some(Ok(u)) => Some(
                        api::probe(
                            live,
                            Call::post(u.as_str()).map(|c| c.json(&serde_json::json!({}))),
                            &identity,
                            deadline,
                        )
                        .await,
                    ),
                    Some(Err(e)) => Some(mtls::Answer::Failed(e.clone())),
                    None => None,
                }
            };
            let (scim_read, realtime) = tokio::join!(scim, rt);
            Some(mtls::IdentityProbes {
                scim_read,
                realtime,
            })
        }
    };
    let (current, next) = tokio::join!(
        probe_with(live.lms.clone()),
        probe_with(live.next_lms.clone())
    );
    let probes = mtls::MtlsProbes {
        current,
        next,
        ips_type: t.ips_type,
        scim_url: scim_url.to_string(),
        realtime_url: match realtime_url {
            Some(Ok(u)) => u.to_string(),
            _ => String::new(),
        },
        cutover: opts.policy.cutover,
        as_of: opts.policy.as_of,
    };
    let verdict = mtls::check(&probes);
    Outcome {
        findings: verdict.findings,
        run: vec![Check::Mtls],
        next_places: verdict.next_places,
        ..Outcome::default()
    }
}
