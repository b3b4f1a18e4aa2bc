//! The IAS/IPS API calls of the live checks: SCIM user queries (every page), the IPS job-log
//! export, and the mTLS probes. Answers are reduced to what the checks need; of a response,
//! only SCIM's own error fields (`scimType`, `detail`), `X-message-code` and the job log's
//! status and error message reach a finding, each through [`crate::net::scrub`] (docs/spec.md
//! §12). Identifiers from the inventory go into URLs as one percent-encoded path segment each.

use super::Live;
use super::scim::{self, ScimList};
use crate::checks::failure::ApiFailure;
use crate::checks::sync::{JobLog, LmsUsers};
use crate::inventory::Tenant;
use crate::net::{
    Auth, Call, ClientIdentity, CredentialKind, Deadline, NetError, Response, TlsFailure,
    Unreachable, scrub,
};
use crate::sap::{LMS_SOURCE_SYSTEM, TEST_USER};
use mtls_audit_input::zip::{self, Entry, ZipError, ZipLimits};
use reqwest::Url;
use serde_json::Value;
use std::sync::Arc;

pub(super) use crate::checks::mtls::Answer;

/// The SCIM media type.
pub(super) const SCIM: &str = "application/scim+json";
const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";
/// Pages of LMS users read at most (100 each): a tenant with more users than this is judged on
/// the users read, which are plenty to tell whether sync is alive.
const MAX_PAGES: u32 = 500;
/// Users asked for per page (IAS serves at most 100).
const PAGE: u64 = 100;

/// What a server must never get back into a report through us: the client ID and secret of
/// the credential the call authenticated with (it may echo them).
pub(super) fn known_secrets(auth: &Auth) -> Vec<String> {
    match auth {
        Auth::Credential(c) => match c.kind() {
            CredentialKind::Basic { client_id, secret }
            | CredentialKind::OAuth { client_id, secret } => {
                vec![client_id.clone(), secret.expose().to_string()]
            }
            CredentialKind::Mtls { .. } => Vec::new(),
        },
        Auth::None | Auth::Identity(_) => Vec::new(),
    }
}

/// A server's text, fit for a finding.
fn clean(text: &str, known: &[String]) -> String {
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    scrub(text, &known)
}

/// `scimType: detail` of an error body (SCIM's or the other shapes IAS uses), sanitised; empty
/// when the body holds none.
fn error_summary(body: &[u8], known: &[String]) -> String {
    scim::parse_error(body)
        .map(|e| clean(&e.summary(), known))
        .unwrap_or_default()
}

/// An answer of our own credential's call: the response when it is usable, else why not.
fn usable(r: Result<Response, NetError>, known: &[String]) -> Result<Response, ApiFailure> {
    let r = r.map_err(|e| net_failure(&e, known))?;
    match r.status {
        200..=299 => Ok(r),
        401 | 403 => {
            let mut parts = vec![error_summary(&r.body, known)];
            if let Some(code) = r.headers.get("x-message-code") {
                parts.push(clean(&String::from_utf8_lossy(code.as_bytes()), known));
            }
            parts.retain(|p| !p.is_empty());
            Err(ApiFailure::Auth {
                status: r.status,
                detail: parts.join("; "),
            })
        }
        429 => Err(ApiFailure::Throttled {
            attempts: r.attempts,
        }),
        s => {
            let detail = error_summary(&r.body, known);
            Err(ApiFailure::Protocol(format!(
                "HTTP {s} after {} attempt{}{}",
                r.attempts,
                if r.attempts == 1 { "" } else { "s" },
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {detail}")
                }
            )))
        }
    }
}

/// A network error as the checks see it. Its text may carry what a server sent (a body that
/// did not parse, a TLS message), so it is sanitised like any server text; an invalid URL is
/// ours and kept whole.
fn net_failure(e: &NetError, known: &[String]) -> ApiFailure {
    let text = match e {
        NetError::InvalidUrl { .. } => e.to_string(),
        _ => clean(&e.to_string(), known),
    };
    if e.is_auth_failure() {
        return ApiFailure::Auth {
            status: match e {
                NetError::TokenRejected { status, .. } => *status,
                _ => 401,
            },
            detail: text,
        };
    }
    match e {
        NetError::Decode { .. }
        | NetError::BodyTooLarge { .. }
        | NetError::TokenUnusable { .. } => ApiFailure::Protocol(text),
        _ => ApiFailure::Unreachable(text),
    }
}

fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An identifier of the inventory (`ips_source_system_id`, `job_id`) as one URL path segment:
/// every byte but the unreserved characters (RFC 3986 §2.3) percent-encoded, so `/`, `?`, `#`,
/// `%`, `\` and control characters cannot change the URL. `.` and `..` are refused: every URL
/// parser and server resolves them as dot-segments, encoded or not.
pub(super) fn segment(what: &str, id: &str) -> Result<String, ApiFailure> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(ApiFailure::Protocol(format!(
            "the {what} {id:?} cannot be used as a URL path segment"
        )));
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// `base` with `path` (absolute, every identifier in it made a [`segment`]) and `query`; the
/// base's own path, query and fragment are dropped.
pub(super) fn url_with(base: &Url, path: &str, query: &[(&str, &str)]) -> Result<Url, ApiFailure> {
    let mut u = base.clone();
    u.set_path(path);
    u.set_query(None);
    u.set_fragment(None);
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
) -> Result<ScimList, ApiFailure> {
    let known = known_secrets(auth);
    let call = Call::get(url.as_str())
        .map_err(|e| ApiFailure::Protocol(e.to_string()))?
        .auth(auth.clone())
        .deadline(deadline)
        .accept(SCIM);
    let r = usable(live.client.send(call).await, &known)?;
    scim::parse_list(&r.body)
        .map_err(|e| ApiFailure::Protocol(clean(&format!("{}: {e}", r.host), &known)))
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
    let page_size = PAGE.to_string();
    for _ in 0..MAX_PAGES {
        let start_s = start.to_string();
        let url = url_with(
            ias,
            "/scim/Users",
            &[
                ("filter", &filter),
                ("startIndex", &start_s),
                ("count", &page_size),
            ],
        )?;
        let page = scim_get(live, url, auth, deadline).await?;
        let n = page.resources.len() as u64;
        for d in page.resources.iter().filter_map(|u| u.latest_date()) {
            users.latest_change = Some(users.latest_change.map_or(d, |l| l.max(d)));
        }
        users.count = users.count.saturating_add(n);
        let last = match page.total_results {
            // totalResults may be an estimate until the last page; an empty page ends it.
            Some(total) => n == 0 || start.saturating_add(n) > total,
            // Without totalResults (RFC 7644 requires it; be lenient), a short page is the last.
            None => n < PAGE,
        };
        if last {
            break;
        }
        start = start.saturating_add(n);
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
    Ok(page.total_results.unwrap_or(0) > 0 || !page.resources.is_empty())
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
    let known = known_secrets(auth);
    let path = format!(
        "/ips/service/publicapi/v1/jobLogs/{}",
        segment("job_id", job_id)?
    );
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
    let r = usable(live.client.send(call).await, &known)?;
    let log =
        parse_job_log(&r.body).map_err(|e| ApiFailure::Protocol(clean(&e.to_string(), &known)))?;
    Ok(JobLog {
        job_id: job_id.to_string(),
        status: clean(&log.status, &known),
        failed_entities: log.failed_entities,
        error_message: log
            .error_message
            .map(|m| clean(&m, &known))
            .filter(|m| !m.is_empty()),
    })
}

/// What a job's common log says, as read from the export (values as received: sanitise
/// before use).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonLog {
    /// As IPS words it: `Success`, `Finished with Error`, `Running`, … (empty when absent).
    pub status: String,
    /// The `failed` counts of every `statistics` entry, added up (saturating).
    pub failed_entities: u64,
    /// `errorMessage`, when present and not null.
    pub error_message: Option<String>,
}

/// Why the job-log export could not be read. The text never quotes the export's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobLogError {
    /// Not a ZIP, or one beyond the limits.
    // The cause is part of the text (it goes into a finding), so it is not also a `source`.
    #[error("the job log export is not a readable ZIP: {0}")]
    Zip(ZipError),
    /// A ZIP without a `.json` entry.
    #[error("the job log ZIP holds no JSON file")]
    NoJson,
    /// The JSON entry is not the expected shape (what is wrong and where, never the content).
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

/// Reads a job-log export: the first `.json` entry of the ZIP (through the one limited ZIP
/// reader), its attribute names matched case-insensitively. A pure function of the bytes
/// (fuzzed: `fuzz/fuzz_targets/job_log.rs`).
pub fn parse_job_log(zip_bytes: &[u8]) -> Result<CommonLog, JobLogError> {
    let mut budget = JOB_LOG_LIMITS.max_total;
    let mut found: Option<Result<CommonLog, JobLogError>> = None;
    zip::for_each_entry(zip_bytes, &JOB_LOG_LIMITS, &mut budget, |name, entry, _| {
        if found.is_some() || !name.to_ascii_lowercase().ends_with(".json") {
            return Ok::<(), JobLogError>(());
        }
        if let Entry::Data(bytes) = entry {
            found = Some(common_log(bytes));
        }
        Ok(())
    })?;
    found.unwrap_or(Err(JobLogError::NoJson))
}

fn common_log(bytes: &[u8]) -> Result<CommonLog, JobLogError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // serde_json's syntax errors say what and where, never the input.
    let root: Value =
        serde_json::from_slice(bytes).map_err(|e| JobLogError::Json(e.to_string()))?;
    let Value::Object(root) = root else {
        return Err(JobLogError::Json("not a JSON object".into()));
    };
    let status = match scim::attribute(&root, "status") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(JobLogError::Json("status is not a string".into())),
    };
    let error_message = match scim::attribute(&root, "errorMessage") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(JobLogError::Json("errorMessage is not a string".into())),
    };
    let mut failed_entities: u64 = 0;
    match scim::attribute(&root, "statistics") {
        None | Some(Value::Null) => {}
        Some(Value::Array(stats)) => {
            for s in stats {
                let failed = match s {
                    Value::Object(s) => match scim::attribute(s, "failed") {
                        None | Some(Value::Null) => 0,
                        Some(v) => scim::count(v).ok_or_else(|| {
                            JobLogError::Json(
                                "a statistics entry's failed is not a non-negative integer".into(),
                            )
                        })?,
                    },
                    _ => {
                        return Err(JobLogError::Json(
                            "a statistics entry is not an object".into(),
                        ));
                    }
                };
                failed_entities = failed_entities.saturating_add(failed);
            }
        }
        Some(_) => return Err(JobLogError::Json("statistics is not an array".into())),
    }
    Ok(CommonLog {
        status,
        failed_entities,
        error_message,
    })
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
            None => Answer::Failed(net_failure(&e, &[])),
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

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = ::zip::ZipWriter::new(&mut buf);
            let o = ::zip::write::SimpleFileOptions::default();
            for (name, data) in entries {
                z.start_file(*name, o).unwrap();
                std::io::Write::write_all(&mut z, data).unwrap();
            }
            z.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn common_log_is_read_from_the_first_json_entry() {
        let zip = zip_of(&[
            ("readme.txt", b"x"),
            (
                "ips_jobCommonLogs_1.json",
                br#"{"status":"Finished with Error","statistics":[{"failed":1},{"failed":2}]}"#,
            ),
            ("second.json", br#"{"status":"Success"}"#),
        ]);
        let log = parse_job_log(&zip).unwrap();
        assert_eq!(log.status, "Finished with Error");
        assert_eq!(log.failed_entities, 3);
        assert_eq!(log.error_message, None);
        assert!(
            parse_job_log(b"not a zip")
                .unwrap_err()
                .to_string()
                .contains("not a readable ZIP")
        );
        assert_eq!(
            parse_job_log(&zip_of(&[("a.txt", b"{}")])),
            Err(JobLogError::NoJson)
        );
    }

    #[test]
    fn common_log_names_are_case_insensitive_and_counts_saturate() {
        let zip = zip_of(&[(
            "LOG.JSON",
            br#"{"Status":"Success","ERRORMESSAGE":"boom","Statistics":[{"Failed":"18446744073709551615"},{"failed":5},{"failed":null},{}]}"#,
        )]);
        let log = parse_job_log(&zip).unwrap();
        assert_eq!(log.status, "Success");
        assert_eq!(log.error_message.as_deref(), Some("boom"));
        assert_eq!(log.failed_entities, u64::MAX);
    }

    #[test]
    fn common_log_shape_errors_quote_nothing() {
        for (body, want) in [
            (&br#"{"status":1}"#[..], "status is not a string"),
            (
                br#"{"statistics":{"failed":1}}"#,
                "statistics is not an array",
            ),
            (
                br#"{"statistics":[{"failed":"Bearer x"}]}"#,
                "failed is not",
            ),
            (br#"{"statistics":["x"]}"#, "not an object"),
            (
                br#"{"errorMessage":["secret"]}"#,
                "errorMessage is not a string",
            ),
            (br#"["secret"]"#, "not a JSON object"),
            (br#"{"status":"secret"#, "EOF"),
        ] {
            let e = parse_job_log(&zip_of(&[("log.json", body)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("secret") && !e.contains("Bearer"), "{e}");
        }
    }

    #[test]
    fn identifiers_are_one_segment() {
        assert_eq!(segment("id", "lms-src_1.x~").unwrap(), "lms-src_1.x~");
        assert_eq!(segment("id", "../../admin").unwrap(), "..%2F..%2Fadmin");
        assert_eq!(segment("id", "a?b#c%2e").unwrap(), "a%3Fb%23c%252e");
        assert_eq!(segment("id", ".\t.").unwrap(), ".%09.");
        assert_eq!(segment("id", "a\\b").unwrap(), "a%5Cb");
        assert_eq!(segment("id", "é").unwrap(), "%C3%A9");
        assert_eq!(segment("id", "...").unwrap(), "...");
        for bad in ["", ".", ".."] {
            let e = segment("job_id", bad).unwrap_err();
            assert!(
                matches!(&e, ApiFailure::Protocol(m) if m.contains("job_id")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn urls_drop_the_base_path_and_keep_the_segment() {
        let base = Url::parse("https://acme.accounts.ondemand.com/some/path?q=1#f").unwrap();
        let sid = segment("id", "../x?y").unwrap();
        let u = url_with(
            &base,
            &format!("/ipsproxy/service/api/v1/systems/{sid}/entities/user"),
            &[("a", "b c")],
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://acme.accounts.ondemand.com/ipsproxy/service/api/v1/systems/..%2Fx%3Fy/entities/user?a=b+c"
        );
    }

    fn decode(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    proptest::proptest! {
        /// Whatever the identifier, the URL has exactly the path it was built for, with the
        /// identifier as one segment that decodes back to it.
        #[test]
        fn no_identifier_steers_the_url(id in "\\PC{0,30}|[./\\\\?#% \\t\\n]{0,12}") {
            let base = Url::parse("https://acme.accounts.ondemand.com").unwrap();
            match segment("id", &id) {
                Err(_) => proptest::prop_assert!(id.is_empty() || id == "." || id == ".."),
                Ok(seg) => {
                    let u = url_with(&base, &format!("/a/systems/{seg}/entities/user"), &[("k", "v")]).unwrap();
                    let parts: Vec<&str> = u.path_segments().unwrap().collect();
                    proptest::prop_assert_eq!(parts.len(), 5, "{}", u);
                    proptest::prop_assert_eq!(parts[0], "a");
                    proptest::prop_assert_eq!(parts[1], "systems");
                    proptest::prop_assert_eq!(decode(parts[2]), id.as_bytes().to_vec());
                    proptest::prop_assert_eq!(&parts[3..], &["entities", "user"][..]);
                    proptest::prop_assert_eq!(u.query(), Some("k=v"));
                    proptest::prop_assert_eq!(u.host_str(), Some("acme.accounts.ondemand.com"));
                }
            }
        }
    }
}
