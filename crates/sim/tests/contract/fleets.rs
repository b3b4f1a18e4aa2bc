//! Generated fleets and scenario files: the example scenario serves, a generated fleet answers
//! as its profiles promise and its export is complete, and one fleet is pinned.

use crate::harness::{self, TestDir, as_of, days, filter_q, unzip_json};
use chrono::{DateTime, Utc};
use mtls_audit_sim::{IpsType, Scenario, Server, ServerCertMode, SimOptions, TEST_USER, generate};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

/// The HTTP status a request gets (it must get one).
async fn status(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The scenario without key material (certificates are new on every call).
fn without_certificates(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    for t in &mut s.tenants {
        for a in &mut t.admins {
            a.certificates.clear();
        }
        for sy in &mut t.systems {
            sy.inbound_certificates.clear();
        }
    }
    s
}

/// `generate(60, 7, 2025-07-15T09:30:00Z)` is pinned: the inventory CSV, every tenant's
/// profile and expected codes, and digests of the scenario (certificates stripped), the
/// secrets, the credentials file and the export's file list. Only key material may change
/// between versions of the generator; anything else showing up here is a change of behaviour.
#[test]
fn a_generated_fleet_is_pinned() {
    let today: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-07-15T09:30:00Z")
        .expect("constant date")
        .with_timezone(&Utc);
    let g = generate(60, 7, today).expect("the fleet generates");
    let scenario = without_certificates(&g.scenario);

    let mut tenants = String::new();
    for (t, spec) in g.tenants.iter().zip(&scenario.tenants) {
        let json = serde_json::to_vec(spec).expect("a tenant serializes");
        let _ = writeln!(
            tenants,
            "{:<14} {:<30} {:<9} {} {}",
            t.tenant_id,
            t.profile,
            spec.ips_type.as_str(),
            &sha256_hex(&json)[..16],
            if t.expected.is_empty() {
                "-".to_string()
            } else {
                t.expected.join(",")
            },
        );
    }
    insta::assert_snapshot!("fleet_60_7_tenants", tenants);
    insta::assert_snapshot!(
        "fleet_60_7_inventory",
        g.inventory_csv().expect("the inventory serializes")
    );

    let files: Vec<String> = g
        .files
        .iter()
        .map(|f| format!("{}{}", f.path, if f.private { " (private)" } else { "" }))
        .collect();
    let secrets: Vec<String> = g.secrets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let digests = serde_json::json!({
        "description": g.scenario.description,
        "deadline": g.deadline,
        "scenario_without_certificates": sha256_hex(&serde_json::to_vec(&scenario).expect("json")),
        "tenants": sha256_hex(&serde_json::to_vec(&g.tenants).expect("json")),
        "secrets": sha256_hex(secrets.join("\n").as_bytes()),
        "credentials_toml": sha256_hex(g.credentials_toml.as_bytes()),
        "files": sha256_hex(files.join("\n").as_bytes()),
        "file_count": files.len(),
    });
    insta::assert_json_snapshot!("fleet_60_7_digests", digests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_scenario_loads_and_serves() {
    harness::crypto();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/scenario.example.toml");
    let scenario = Scenario::load(&path).expect("the example scenario is valid");
    assert!(scenario.tenants.len() >= 2);
    let sim = Server::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let t = &scenario.tenants[0];
    let admin = t.admins.iter().find(|a| !a.secrets.is_empty()).unwrap();
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(sim.ca_pem().as_bytes()).unwrap()])
        .resolve(&t.ias_host, sim.addr())
        .build()
        .unwrap();
    let r = c
        .get(format!(
            "https://{}:{}/scim/Users",
            t.ias_host,
            sim.addr().port()
        ))
        .basic_auth(admin.client_id.as_deref().unwrap(), Some(&admin.secrets[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sim.shutdown().await;
}

/// A small auditor of our own: the generator's promises hold against the simulator's live
/// answers for every tenant of a 40-tenant fleet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_fleets_answer_as_their_profiles_promise() {
    harness::crypto();
    let today = as_of();
    let g = generate(40, 20250715, today).unwrap();
    let sim = Server::start(
        g.scenario.clone(),
        SimOptions {
            today: Some(today),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let dir = TestDir::new();
    g.write(dir.path(), sim.ca_pem(), Some(sim.addr())).unwrap();
    let creds: toml::Table = toml::from_str(&g.credentials_toml).unwrap();
    let port = sim.addr().port();
    let ca = reqwest::Certificate::from_pem(sim.ca_pem().as_bytes()).unwrap();
    let client = |identity: Option<(&str, &str)>| {
        let mut b = reqwest::Client::builder()
            .tls_certs_only([ca.clone()])
            .timeout(Duration::from_secs(20));
        for t in &g.scenario.tenants {
            for h in t.hosts() {
                b = b.resolve(h, sim.addr());
            }
        }
        if let Some((cert, key)) = identity {
            b = b.identity(reqwest::Identity::from_pem(format!("{key}{cert}").as_bytes()).unwrap());
        }
        b.build().unwrap()
    };
    let lms = client(Some((&g.lms.cert_pem, &g.lms.key_pem)));
    let next = client(Some((&g.next_lms.cert_pem, &g.next_lms.key_pem)));
    let plain = client(None);
    let mut checked = 0;
    for (t, row) in g.tenants.iter().zip(&g.inventory) {
        let has = |c: &str| t.expected.iter().any(|e| e == c);
        let has_at = |f: &str| t.expected_findings.iter().any(|e| e == f);
        let spec = g.scenario.tenant(&t.tenant_id).unwrap();
        if row.ias_url.is_empty() {
            assert!(has("INVENTORY_NOTHING_TO_CHECK"));
            continue;
        }
        let ias = format!("{}:{port}", row.ias_url);
        let server_fault = spec.faults.server_cert != ServerCertMode::Valid
            && spec.faults.server_cert != ServerCertMode::Expiring;
        let probe = lms.get(format!("{ias}/scim/Users?count=1")).send().await;
        if server_fault {
            assert!(probe.is_err(), "{}: TLS must fail", t.tenant_id);
            assert!(
                has("SERVER_CERT_EXPIRED")
                    || has("SERVER_CHAIN_UNTRUSTED")
                    || has("ENDPOINT_UNREACHABLE")
            );
            continue;
        }
        assert_eq!(
            spec.faults.server_cert == ServerCertMode::Expiring,
            has("SERVER_CERT_EXPIRING"),
            "{}",
            t.tenant_id
        );
        let get = probe.unwrap().status().as_u16();
        if has("API_THROTTLED") {
            assert_eq!(get, 429);
            continue;
        }
        let rt = match spec.ips_type {
            IpsType::Converged => format!(
                "{ias}/ipsproxy/service/api/v1/systems/{}/entities/user",
                row.ips_source_system_id
            ),
            IpsType::Neo => format!(
                "{}:{port}/ipsproxy/certapi/v1/systems/{}/entities/user",
                row.ips_url, row.ips_source_system_id
            ),
        };
        let post = status(lms.post(&rt).json(&json!({}))).await;
        // The next identity, per place: the SCIM read lands on the admin record, the real-time
        // POST on the admin record (converged) or the inbound certificates (NEO).
        let next_get = status(next.get(format!("{ias}/scim/Users?count=1"))).await;
        let next_post = status(next.post(&rt).json(&json!({}))).await;
        let (ias_refuses, inbound_refuses) = match spec.ips_type {
            IpsType::Converged => (next_get == 401 || next_post == 401, false),
            IpsType::Neo => (next_get == 401, next_post == 401),
        };
        assert_eq!(
            ias_refuses,
            has_at("MTLS_NEXT_REJECTED@ias_admin_cert"),
            "{} {}: next GET {next_get}, POST {next_post}",
            t.tenant_id,
            t.profile
        );
        assert_eq!(
            inbound_refuses,
            has_at("MTLS_NEXT_REJECTED@ips_inbound_cert"),
            "{} {}: next POST {next_post}",
            t.tenant_id,
            t.profile
        );
        assert_eq!(
            ias_refuses || inbound_refuses,
            t.readiness == "not_ready",
            "{} {}",
            t.tenant_id,
            t.profile
        );
        if spec.ips_type == IpsType::Converged {
            // LMS's ipsAPIUrl, as the auditor probes it: the real-time endpoint under it.
            let api = row.lms_ips_api_url.replacen(&row.ias_url, &ias, 1);
            let status = lms
                .post(format!(
                    "{api}/v1/systems/{}/entities/user",
                    row.lms_ips_source_system_id
                ))
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert_eq!(
                status == 404,
                has("LMS_CONFIG_MISMATCH"),
                "{} {}: {api} answered {status}",
                t.tenant_id,
                t.profile
            );
        }
        let rejected = get == 401 || post == 401;
        let missing = !rejected && (get == 403 || post == 403);
        assert_eq!(
            rejected,
            has("MTLS_REJECTED"),
            "{} {}: GET {get}, POST {post}",
            t.tenant_id,
            t.profile
        );
        assert_eq!(
            missing,
            has("TECH_USER_MISSING_PERMISSION"),
            "{}: GET {get}, POST {post}",
            t.tenant_id
        );
        if !rejected && !missing {
            assert_eq!(post, 400, "{}: accepted and permitted", t.tenant_id);
        }
        if row.credential.is_empty() {
            continue;
        }
        // The sync check with the tenant's own audit credential.
        let cred = creds["credential"][&row.credential].as_table().unwrap();
        let auth = cred["auth"].as_str().unwrap();
        let (c, bearer, basic) = match auth {
            "mtls" => {
                let read = |k: &str| dir.read(cred[k].as_str().unwrap());
                (client(Some((&read("cert"), &read("key")))), None, None)
            }
            _ => {
                let env = cred["client_secret_env"].as_str().unwrap();
                let secret = g.secrets.iter().find(|(k, _)| k == env).unwrap().1.clone();
                let id = cred["client_id"].as_str().unwrap().to_string();
                if auth == "oauth" {
                    let r = plain
                        .post(format!("{ias}/oauth2/token"))
                        .basic_auth(&id, Some(&secret))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body("grant_type=client_credentials")
                        .send()
                        .await
                        .unwrap();
                    let token = if r.status() == 200 {
                        r.json::<Value>().await.unwrap()["access_token"]
                            .as_str()
                            .map(str::to_string)
                    } else {
                        None
                    };
                    match token {
                        Some(tok) => (plain.clone(), Some(tok), None),
                        None => {
                            assert!(has("API_AUTH_FAILED"), "{}", t.tenant_id);
                            continue;
                        }
                    }
                } else {
                    (plain.clone(), None, Some((id, secret)))
                }
            }
        };
        let send = |url: String| {
            let mut rb = c.get(url);
            if let Some(t) = &bearer {
                rb = rb.bearer_auth(t);
            }
            if let Some((id, s)) = &basic {
                rb = rb.basic_auth(id, Some(s));
            }
            rb.send()
        };
        let f = filter_q(&format!(
            r#"sourceSystem eq 101 and sourceSystemId eq "{}""#,
            t.tenant_id
        ));
        let r = send(format!("{ias}/scim/Users?filter={f}")).await.unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            matches!(status, 401 | 403),
            has("API_AUTH_FAILED"),
            "{}: {status}",
            t.tenant_id
        );
        if status != 200 {
            continue;
        }
        let v: Value = match r.json().await {
            Ok(v) => v,
            Err(_) => {
                assert!(has("API_ERROR"), "{}: malformed SCIM answer", t.tenant_id);
                continue;
            }
        };
        assert!(!has("API_ERROR"), "{}", t.tenant_id);
        let recent = v["Resources"].as_array().unwrap().iter().any(|u| {
            let m =
                DateTime::parse_from_rfc3339(u["meta"]["lastModified"].as_str().unwrap()).unwrap();
            m > today - days(7)
        });
        assert_eq!(!recent, has("SYNC_STALE"), "{}", t.tenant_id);
        let leftover = v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["userName"] == TEST_USER);
        assert_eq!(leftover, has("SYNC_TEST_USER_LEFTOVER"), "{}", t.tenant_id);
        if !row.job_id.is_empty() {
            let r = send(format!(
                "{ias}/ips/service/publicapi/v1/jobLogs/{}?action=export&logType=commonLog",
                row.job_id
            ))
            .await
            .unwrap();
            assert_eq!(r.status(), 200);
            let common = unzip_json(r.bytes().await.unwrap().to_vec());
            let failed = common["status"] == "Finished with Error"
                || common["statistics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["failed"].as_u64() > Some(0));
            assert_eq!(failed, has("SYNC_JOB_FAILED"), "{}", t.tenant_id);
        } else {
            assert!(!has("SYNC_JOB_FAILED"));
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} tenants fully checked");
    let listing = dir.listing();
    for f in [
        "scenario.toml",
        "inventory.csv",
        "credentials.toml",
        "secrets.env",
        "lms.pem",
        "lms.key",
        "next-lms.pem",
        "next-lms.key",
        "reference.pem",
        "ca.pem",
        "expected.json",
        "AUDIT_COMMAND.txt",
    ] {
        assert!(listing.contains(&f.to_string()), "{f} missing: {listing:?}");
    }
    let command = dir.read("AUDIT_COMMAND.txt");
    assert!(command.contains(&format!("--connect-to {}", sim.addr())));
    assert!(
        command.contains(&format!("--cutover {}", g.cutover.format("%Y-%m-%d")))
            && command.contains("next-lms.key"),
        "{command}"
    );
    sim.shutdown().await;
}
