//! The live audit's API client (`live::run`) against scripted servers that answer the way SAP
//! might, or the way RFC 7643/7644 allow, or the way a hostile server would: identifiers in URLs
//! are percent-encoded as one segment, SCIM is read case-insensitively with or without zones,
//! an error's `scimType`/`detail` reach the finding, and what a server says is sanitised.

use super::{
    Fixture, HOST, Http, Seen, client_leaf, config, fixture, http_server, identity, reply,
};
use crate::harness::TestDir;
use mtls_audit::audit::{Options, load_references};
use mtls_audit::checks::cert::Policy;
use mtls_audit::findings::Level;
use mtls_audit::inventory::{self, Inventory};
use mtls_audit::live::{self, Live, StopFlag};
use mtls_audit::net::{Credentials, NetClient};
use mtls_audit::result::TenantResult;
use mtls_audit_cert::Limits;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "basic-secret-Zq9";
const CLIENT_ID: &str = "8f7d2c1e-client";

/// One converged tenant on HOST with a Basic credential (and, with `lms`, the LMS identity),
/// audited live against `http`; `tweak` may change the parsed tenant (identifiers the
/// inventory would not let through are set here).
async fn audit(
    f: &Fixture,
    http: &Http,
    lms: bool,
    tweak: impl FnOnce(&mut Inventory),
) -> TenantResult {
    let dir = TestDir::new();
    dir.write(
        "credentials.toml",
        format!(
            "[credential.acme]\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"ACME_SECRET\"\nauth = \"basic\"\n"
        ),
    );
    let csv = format!(
        "tenant_id,ips_type,ias_url,ips_source_system_id,credential,job_id\nACME,converged,https://{HOST},lms-src,acme,cbc1eb01686664856111\n"
    );
    let mut inv: Inventory = inventory::parse(csv.as_bytes(), b',', dir.path()).unwrap();
    tweak(&mut inv);
    let credentials = Credentials::load_with_env(
        &dir.join("credentials.toml"),
        &mtls_audit::inputs::InputLimits::default(),
        |n| (n == "ACME_SECRET").then(|| SECRET.to_string()),
    )
    .unwrap();
    let lms = lms.then(|| identity(&client_leaf(&f.ca, "LMS"), "LMS"));
    let live = Live {
        client: NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap(),
        credentials: Some(credentials),
        lms,
        tenant_deadline: Duration::from_secs(20),
        concurrency: 4,
    };
    let limits = Limits::default();
    let opts = Options {
        policy: Policy {
            as_of: chrono::Utc::now(),
            deadline: None,
            cutover: None,
            warn_days: 30,
            critical_days: 14,
            references: load_references(&[], &limits).unwrap(),
        },
        sync_stale_days: 7,
        fail_on: Some(Level::AtRisk),
        allow_unknown: false,
        offline: false,
        limits,
    };
    let report = live::run(&inv, &opts, Arc::new(live), &(), &StopFlag::default()).await;
    assert_eq!(report.tenants.len(), 1);
    report.tenants[0].clone()
}

fn findings(t: &TenantResult) -> String {
    t.findings
        .iter()
        .map(|f| format!("{} {} {}: {}\n", f.level, f.code, f.target, f.message))
        .collect()
}

fn has(t: &TenantResult, code: &str, target: &str) -> bool {
    t.findings
        .iter()
        .any(|f| f.code.to_string() == code && f.target.to_string() == target)
}

/// A date `days` ago as `2025-05-08T09:01:28.123` (no zone: UTC by RFC 7643 §2.3.5).
fn zoneless(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days))
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

fn is_test_user_query(s: &Seen) -> bool {
    s.query.as_deref().is_some_and(|q| q.contains("userName"))
}

#[tokio::test]
async fn identifiers_are_one_encoded_path_segment() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(404))).await;
    let t = audit(&f, &http, true, |inv| {
        inv.tenants[0].ips_source_system_id = Some("../../admin".into());
        inv.tenants[0].job_id = Some("../../../x?y#z".into());
    })
    .await;
    let paths: Vec<String> = http.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        paths.contains(&"/ipsproxy/service/api/v1/systems/..%2F..%2Fadmin/entities/user".into()),
        "{paths:#?}"
    );
    assert!(
        paths.contains(&"/ips/service/publicapi/v1/jobLogs/..%2F..%2F..%2Fx%3Fy%23z".into()),
        "{paths:#?}"
    );
    for p in &paths {
        assert!(
            p.starts_with("/scim/Users")
                || p.starts_with("/ipsproxy/service/api/v1/systems/")
                || p.starts_with("/ips/service/publicapi/v1/jobLogs/"),
            "a request left its API: {p}\n{}",
            findings(&t)
        );
    }
    // No query string of ours was cut short by a `#` or extended by a `?` in the job ID.
    let job = http
        .seen()
        .into_iter()
        .find(|s| s.path.starts_with("/ips/"))
        .unwrap();
    assert_eq!(
        job.query.as_deref(),
        Some("action=export&logType=commonLog")
    );
}

#[tokio::test]
async fn dot_segments_are_refused_without_a_request() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|s, _| {
            if s.path.starts_with("/scim/") {
                reply(200).body(r#"{"totalResults":0}"#)
            } else {
                reply(404)
            }
        }),
    )
    .await;
    let t = audit(&f, &http, true, |inv| {
        inv.tenants[0].ips_source_system_id = Some("..".into());
        inv.tenants[0].job_id = Some(".".into());
    })
    .await;
    let paths: Vec<String> = http.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/scim/Users")),
        "{paths:#?}"
    );
    let msgs = findings(&t);
    assert!(has(&t, "API_ERROR", "tech_user"), "{msgs}");
    assert!(has(&t, "API_ERROR", "sync"), "{msgs}");
    assert!(msgs.contains("ips_source_system_id"), "{msgs}");
    assert!(msgs.contains("job_id"), "{msgs}");
}

#[tokio::test]
async fn scim_names_are_read_case_insensitively() {
    let f = fixture();
    let recent = zoneless(1);
    let http = http_server(
        &f.tls,
        Box::new(move |s, _| {
            if is_test_user_query(s) {
                return reply(200).body(
                    r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalresults":1,"itemsperpage":1,"startindex":1,"resources":[{"id":"t1","username":"ias_test_user_27F5AAEA"}]}"#,
                );
            }
            reply(200).body(format!(
                r#"{{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"TotalResults":2,"ItemsPerPage":100,"StartIndex":1,"resources":[{{"id":"u1","META":{{"Created":"2024-01-01T00:00:00Z","LASTMODIFIED":"{recent}Z"}}}},{{"id":"u2","meta":{{"lastmodified":"2024-02-01T00:00:00+01:00"}}}}]}}"#
            ))
        }),
    )
    .await;
    let t = audit(&f, &http, false, |inv| inv.tenants[0].job_id = None).await;
    let msgs = findings(&t);
    assert!(!has(&t, "SYNC_STALE", "sync"), "{msgs}");
    assert!(has(&t, "SYNC_TEST_USER_LEFTOVER", "sync"), "{msgs}");
    assert!(!has(&t, "API_ERROR", "sync"), "{msgs}");
}

#[tokio::test]
async fn scim_dates_without_a_zone_are_utc() {
    let f = fixture();
    let recent = zoneless(2);
    let http = http_server(
        &f.tls,
        Box::new(move |s, _| {
            if is_test_user_query(s) {
                // `Resources` may be absent when there are none (RFC 7644 §3.4.2).
                return reply(200).body(r#"{"totalResults":0,"itemsPerPage":0,"startIndex":1}"#);
            }
            reply(200).body(format!(
                r#"{{"totalResults":1,"Resources":[{{"id":"u1","meta":{{"created":"2024-05-21T07:21:59","lastModified":"{recent}"}}}}]}}"#
            ))
        }),
    )
    .await;
    let t = audit(&f, &http, false, |inv| inv.tenants[0].job_id = None).await;
    assert!(t.findings.is_empty(), "{}", findings(&t));
}

#[tokio::test]
async fn users_without_dates_are_unknown_not_stale() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(move |s, _| {
            if is_test_user_query(s) {
                return reply(200).body(r#"{"totalResults":0,"Resources":[]}"#);
            }
            reply(200).body(r#"{"totalResults":2,"Resources":[{"id":"u1"},{"id":"u2","meta":{"resourceType":"User"}}]}"#)
        }),
    )
    .await;
    let t = audit(&f, &http, false, |inv| inv.tenants[0].job_id = None).await;
    let msgs = findings(&t);
    assert!(!has(&t, "SYNC_STALE", "sync"), "{msgs}");
    let f = t
        .findings
        .iter()
        .find(|f| f.target.to_string() == "sync")
        .unwrap_or_else(|| panic!("no sync finding: {msgs}"));
    assert_eq!(f.level, Level::Unknown, "{msgs}");
    assert!(f.message.contains("2 "), "{msgs}");
    assert!(f.message.contains("date"), "{msgs}");
}

#[tokio::test]
async fn an_error_s_scim_type_and_detail_reach_the_finding() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, _| {
            reply(400).header("content-type", "application/scim+json").body(
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"The filter is not supported on attribute sourceSystemId"}"#,
            )
        }),
    )
    .await;
    let t = audit(&f, &http, false, |inv| inv.tenants[0].job_id = None).await;
    let msgs = findings(&t);
    assert!(has(&t, "API_ERROR", "sync"), "{msgs}");
    assert!(msgs.contains("invalidFilter"), "{msgs}");
    assert!(
        msgs.contains("The filter is not supported on attribute sourceSystemId"),
        "{msgs}"
    );
    // The non-SCIM error shape of the other IAS APIs (docs/sap-facts.md §1.5) is read too.
    let http = http_server(
        &f.tls,
        Box::new(|_, _| {
            reply(404).body(r#"{"error":{"code":404,"message":"Unable to find identity providers.","details":[]}}"#)
        }),
    )
    .await;
    let t = audit(&f, &http, false, |inv| inv.tenants[0].job_id = None).await;
    assert!(
        findings(&t).contains("Unable to find identity providers."),
        "{}",
        findings(&t)
    );
}

/// The Basic value of our credential, as the server received it.
fn basic_value() -> String {
    super::basic_of(CLIENT_ID, SECRET)
}

#[tokio::test]
async fn what_a_server_echoes_is_sanitised_before_it_reaches_a_finding() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|s, _| {
            let authz = s.authorization.clone().unwrap_or_default();
            reply(401)
                .header("x-message-code", format!("BAD_CREDENTIALS {authz}"))
                .body(format!(
                    "{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"401\",\"detail\":\"Rejected\\u0007 Authorization: {authz} for client {CLIENT_ID} with password={SECRET} and token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U and access_token=abc123&client_secret={SECRET}\\n{}\"}}",
                    "x".repeat(500)
                ))
        }),
    )
    .await;
    let t = audit(&f, &http, false, |inv| inv.tenants[0].job_id = None).await;
    let msgs = findings(&t);
    assert!(has(&t, "API_AUTH_FAILED", "sync"), "{msgs}");
    assert!(
        msgs.contains("Rejected"),
        "the detail is still shown: {msgs}"
    );
    assert!(msgs.contains("BAD_CREDENTIALS"), "{msgs}");
    for leak in [
        SECRET,
        CLIENT_ID,
        &basic_value()[6..],
        "eyJhbGciOiJIUzI1NiJ9",
        "abc123",
        "\u{7}",
    ] {
        assert!(!msgs.contains(leak), "{leak:?} leaked into {msgs}");
    }
    for f in &t.findings {
        assert!(
            f.message.chars().count() < 600,
            "a server's text is cut short: {}",
            f.message
        );
    }
}
