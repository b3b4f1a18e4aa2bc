//! The IAS/IPS API calls of the live checks: SCIM user queries (every page), the IPS job-log
//! export, and the mTLS probes. Answers are reduced to what the checks need; nothing of a
//! response body reaches a report except SCIM's own error fields.

use super::Live;
use crate::checks::failure::ApiFailure;
use crate::checks::sync::{JobLog, LmsUsers};
use crate::inventory::Tenant;
use crate::net::{Auth, Call, ClientIdentity, Deadline, NetError, TlsFailure, Unreachable};
use crate::sap::{LMS_SOURCE_SYSTEM, TEST_USER};
use chrono::{DateTime, Utc};
use mtls_audit_input::zip::{self, Entry, ZipError, ZipLimits};
use reqwest::Url;
use serde::Deserialize;
use std::sync::Arc;

pub(super) use crate::checks::mtls::Answer;

/// The SCIM media type.
pub(super) const SCIM: &str = "application/scim+json";
const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";
/// Pages of LMS users read at most (100 each): a tenant with more users than this is judged on
/// the users read, which are plenty to tell whether sync is alive.
const MAX_PAGES: u32 = 500;

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

pub(super) fn url_with(base: &Url, path: &str, query: &[(&str, &str)]) -> Result<Url, ApiFailure> {
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
pub(super) async fn lms_users(
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

pub(super) async fn test_user(
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
/// ZIP. SAP does not document what is inside (docs/sap-facts.md §7, gap 2); we read the first JSON
/// entry as the simulator writes it (docs/simulator.md), and say so when the shape differs.
pub(super) async fn job_log(
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
    let log = read_common_log(&r.body).map_err(|e| ApiFailure::Protocol(e.to_string()))?;
    Ok(JobLog {
        job_id: job_id.to_string(),
        status: log.status,
        failed_entities: log.statistics.iter().map(|s| s.failed).sum(),
        error_message: log.error_message,
    })
}

/// Why the job-log export could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum JobLogError {
    // The cause is part of the text (it goes into a finding), so it is not also a `source`.
    #[error("the job log export is not a readable ZIP: {0}")]
    Zip(ZipError),
    #[error("the job log ZIP holds no JSON file")]
    NoJson,
    #[error("the job log is not the expected JSON: {0}")]
    Json(String),
}

impl From<ZipError> for JobLogError {
    fn from(e: ZipError) -> JobLogError {
        JobLogError::Zip(e)
    }
}

/// What a job-log export may inflate to: it is one small JSON file (and perhaps a few others).
const JOB_LOG_LIMITS: ZipLimits = ZipLimits {
    max_entries: 64,
    max_entry_bytes: 8 * 1024 * 1024,
    max_total: 32 * 1024 * 1024,
};

/// The first `.json` entry of the export, parsed (through the one limited ZIP reader).
fn read_common_log(zip_bytes: &[u8]) -> Result<CommonLog, JobLogError> {
    let mut budget = JOB_LOG_LIMITS.max_total;
    let mut found: Option<Result<CommonLog, JobLogError>> = None;
    zip::for_each_entry(zip_bytes, &JOB_LOG_LIMITS, &mut budget, |name, entry, _| {
        if found.is_some() || !name.ends_with(".json") {
            return Ok::<(), JobLogError>(());
        }
        if let Entry::Data(bytes) = entry {
            found =
                Some(serde_json::from_slice(bytes).map_err(|e| JobLogError::Json(e.to_string())));
        }
        Ok(())
    })?;
    found.unwrap_or(Err(JobLogError::NoJson))
}

/// Alerts with which a server refuses a client certificate (TLS 1.3 reports them on the first
/// read after the handshake, ARCHITECTURE.md, pitfalls). `access_denied` and `handshake_failure` are
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

pub(super) async fn probe(
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
            let mut z = ::zip::ZipWriter::new(&mut buf);
            let o = ::zip::write::SimpleFileOptions::default();
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
                .to_string()
                .contains("not a readable ZIP")
        );
    }
}
