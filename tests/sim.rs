//! Contract tests of the IAS/IPS simulator over real TLS with reqwest: every endpoint, every auth
//! mode and its failures, paging and filters, permission 403s, NEO vs converged, inbound
//! certificates, the ZIP job log, each fault, the rate-limit windows (with a time scale), the
//! `/_sim/` endpoints, the generator's promises, and the real binary (hickory-dns style).

use crate::harness::{self, TestDir, as_of, days, start_binary, terminate};
use mtls_audit_sim::pki::{Ca, Issued};
use mtls_audit_sim::{
    self as sim, self, AdminKind, AdminSpec, ApplicationSpec, EntityLog, Faults, GroupSpec,
    JobSpec, JobStatistics, JobStatus, JobType, ReadMode, Scenario, Server, ServerCertMode,
    SimHandle, SimOptions, SystemKind, SystemSpec, TenantSpec, TriggerType, UserSpec,
};
use mtls_audit_sim::{Environment, IpsType};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

const ACME: &str = "acme.accounts.ondemand.com";
const GLOBEX: &str = "globex.accounts.ondemand.com";
const GLOBEX_IPS: &str = "ipsproxyabc-globex.hana.ondemand.com";
const GLOBEX_CERT: &str = "ipsproxyabc-globex.cert.hana.ondemand.com";
const INITECH: &str = "initech.accounts.cloud.sap";
const HOSTS: [&str; 5] = [ACME, GLOBEX, GLOBEX_IPS, GLOBEX_CERT, INITECH];

const READER: (&str, &str) = ("5b3c0f7e-8d1a-4e2b-9c4d-1a2b3c4d5e6f", "reader-secret");
const WEAK: (&str, &str) = ("weak-client", "weak-secret");
const POWER: (&str, &str) = ("power-client", "power-secret");
const G_READER: (&str, &str) = ("globex-client", "globex-secret");
const I_READER: (&str, &str) = ("initech-client", "initech-secret");
const JOB: &str = "cbc1eb01686664856111";
const LMS_USERS: usize = 104;

fn admin(name: &str, client: Option<(&str, &str)>, perms: &[&str], certs: &[&Issued]) -> AdminSpec {
    AdminSpec {
        name: name.to_string(),
        kind: AdminKind::System,
        client_id: client.map(|c| c.0.to_string()),
        secrets: client.map(|c| vec![c.1.to_string()]).unwrap_or_default(),
        permissions: perms.iter().map(|p| p.to_string()).collect(),
        certificates: certs.iter().map(|c| c.cert_pem.clone()).collect(),
        certificate_files: Vec::new(),
        client_id_lock: true,
    }
}

fn system(id: &str, kind: SystemKind, inbound: &[&Issued]) -> SystemSpec {
    SystemSpec {
        id: id.to_string(),
        name: match kind {
            SystemKind::Source => "SAP SuccessFactors Learning",
            SystemKind::Target => "Identity Authentication",
            SystemKind::Proxy => "Learning Proxy",
        }
        .to_string(),
        kind,
        connector: String::new(),
        inbound_certificates: inbound.iter().map(|c| c.cert_pem.clone()).collect(),
        inbound_certificate_files: Vec::new(),
    }
}

fn user(n: usize, source: Option<(u32, &str)>, modified_days_ago: i64) -> UserSpec {
    UserSpec {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        user_name: format!("user{n:03}"),
        emails: vec![format!("user{n:03}@acme.example")],
        given_name: Some("Test".into()),
        family_name: Some(format!("User {n}")),
        display_name: None,
        user_type: "employee".into(),
        active: true,
        source_system: source.map(|s| s.0),
        source_system_id: source.map(|s| s.1.to_string()),
        user_id: Some(format!("P{n:06}")),
        created: as_of() - days(400),
        last_modified: as_of() - days(modified_days_ago),
    }
}

fn tenant(id: &str, ips_type: IpsType, ias_host: &str) -> TenantSpec {
    TenantSpec {
        id: id.to_string(),
        ips_type,
        environment: Environment::Production,
        ias_host: ias_host.to_string(),
        ips_host: None,
        ips_cert_host: None,
        token_lifetime_secs: 3600,
        admins: Vec::new(),
        systems: Vec::new(),
        users: Vec::new(),
        groups: Vec::new(),
        applications: Vec::new(),
        jobs: Vec::new(),
        faults: Faults::default(),
    }
}

/// A running simulator with three tenants and the certificates the tests present.
struct Fx {
    sim: SimHandle,
    ca: Ca,
    lms: Issued,
    /// On GLOBEX's IAS admin record but not among its inbound certificates.
    other: Issued,
    /// On ACME's admin "weak", which lacks Read Users.
    noread: Issued,
    /// On ACME's admin "expired", and expired.
    expired: Issued,
    /// A client without identity, shared so its connections are reused.
    plain: Option<reqwest::Client>,
}

impl Fx {
    async fn start(opts: SimOptions) -> Fx {
        harness::crypto();
        let ca = harness::ca();
        let lms = harness::client_cert(&ca, "LMS client", -10, 350);
        let other = harness::client_cert(&ca, "Other client", -10, 350);
        let noread = harness::client_cert(&ca, "No read", -10, 350);
        let expired = harness::client_cert(&ca, "Expired client", -400, -5);
        let sim = Server::start(
            Fx::scenario(&lms, &other, &noread, &expired),
            SimOptions {
                today: Some(as_of()),
                ..opts
            },
        )
        .await
        .expect("simulator starts");
        let mut fx = Fx {
            sim,
            ca,
            lms,
            other,
            noread,
            expired,
            plain: None,
        };
        fx.plain = Some(fx.client_with(None, Duration::from_secs(30)));
        fx
    }

    fn scenario(lms: &Issued, other: &Issued, noread: &Issued, expired: &Issued) -> Scenario {
        let mut acme = tenant("ACME", IpsType::Converged, ACME);
        acme.admins = vec![
            admin(
                "SAP LMS – ACME",
                None,
                &["Read Users", "Access Real-Time Provisioning API"],
                &[lms],
            ),
            admin(
                "reader",
                Some(READER),
                &[
                    "Read Users",
                    "Access Identity Provisioning Tenant Admin API",
                ],
                &[],
            ),
            admin("weak", Some(WEAK), &["Manage Groups"], &[noread]),
            admin(
                "power",
                Some(POWER),
                &[
                    "Manage Applications",
                    "Manage Users",
                    "Access Proxy System API",
                ],
                &[],
            ),
            admin("expired", None, &["Read Users"], &[expired]),
        ];
        acme.systems = vec![
            system("sys-lms", SystemKind::Source, &[]),
            system("sys-ias", SystemKind::Target, &[]),
            system("sys-proxy", SystemKind::Proxy, &[]),
        ];
        acme.users = (1..=LMS_USERS)
            .map(|n| user(n, Some((101, "ACME")), (n % 5) as i64))
            .collect();
        let mut leftover = user(500, Some((101, "ACME")), 90);
        leftover.user_name = sim::TEST_USER.to_string();
        acme.users.push(leftover);
        acme.users
            .extend((600..603).map(|n| user(n, Some((100, "acmeprod")), 2)));
        acme.groups = vec![
            GroupSpec {
                id: "g-admins".into(),
                display_name: "Learning Administrators".into(),
                members: vec![acme.users[0].id.clone(), acme.users[1].id.clone()],
            },
            GroupSpec {
                id: "g-all".into(),
                display_name: "All Employees".into(),
                members: acme.users.iter().map(|u| u.id.clone()).collect(),
            },
        ];
        acme.applications = (0..25)
            .map(|n| ApplicationSpec {
                id: format!("app-{n:02}"),
                name: format!("Application {n}"),
                description: String::new(),
                api_certificates: Vec::new(),
            })
            .collect();
        acme.jobs = vec![JobSpec {
            id: JOB.into(),
            source_system_id: "sys-lms".into(),
            job_type: JobType::Read,
            trigger_type: TriggerType::Repeat,
            read_mode: ReadMode::Delta,
            status: JobStatus::FinishedWithError,
            start: as_of() - days(1),
            end: Some(as_of() - days(1) + chrono::Duration::minutes(4)),
            triggered_by: "Identity Provisioning Internal API".into(),
            error_message: Some("1 entity failed".into()),
            statistics: vec![JobStatistics {
                entity_type: "user".into(),
                system: "Identity Authentication.target".into(),
                read: 0,
                created: 3,
                updated: 1,
                deleted: 0,
                skipped: 0,
                failed: 1,
            }],
            failed_entities: vec![EntityLog {
                entity_id: "lmsuser7".into(),
                entity_type: "user".into(),
                system: "IAS.target".into(),
                operation: "CREATE".into(),
                reason: "HTTP 409 Conflict".into(),
            }],
            skipped_entities: Vec::new(),
            restarted_as: None,
        }];

        let mut globex = tenant("GLOBEX", IpsType::Neo, GLOBEX);
        globex.ips_host = Some(GLOBEX_IPS.into());
        globex.ips_cert_host = Some(GLOBEX_CERT.into());
        globex.admins = vec![
            admin(
                "SAP LMS – GLOBEX",
                None,
                &["Read Users", "Access Real-Time Provisioning API"],
                &[lms, other],
            ),
            admin(
                "reader",
                Some(G_READER),
                &[
                    "Read Users",
                    "Access Real-Time Provisioning API",
                    "Access Proxy System API",
                ],
                &[],
            ),
        ];
        globex.systems = vec![
            system("sys-neo", SystemKind::Source, &[lms]),
            system("sys-neo-proxy", SystemKind::Proxy, &[lms]),
        ];
        globex.users = (1..=3).map(|n| user(n, Some((101, "GLOBEX")), 1)).collect();

        let mut initech = tenant("INITECH", IpsType::Converged, INITECH);
        initech.token_lifetime_secs = 2;
        initech.admins = vec![admin("reader", Some(I_READER), &["Read Users"], &[])];
        initech.users = (1..=2)
            .map(|n| user(n, Some((101, "INITECH")), 1))
            .collect();
        Scenario {
            description: "contract tests".into(),
            tenants: vec![acme, globex, initech],
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.sim.addr().port())
    }

    fn admin_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.sim.addr().port())
    }

    fn client_with(&self, identity: Option<&Issued>, timeout: Duration) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.sim.ca_pem().as_bytes()).unwrap()])
            .timeout(timeout);
        for h in HOSTS {
            b = b.resolve(h, self.sim.addr());
        }
        if let Some(id) = identity {
            b = b.identity(
                reqwest::Identity::from_pem(format!("{}{}", id.key_pem, id.cert_pem).as_bytes())
                    .unwrap(),
            );
        }
        b.build().unwrap()
    }

    /// The shared client; tests that need a connection of their own use `client_with`.
    fn client(&self) -> reqwest::Client {
        match &self.plain {
            Some(c) => c.clone(),
            None => self.client_with(None, Duration::from_secs(30)),
        }
    }

    fn mtls(&self, id: &Issued) -> reqwest::Client {
        self.client_with(Some(id), Duration::from_secs(30))
    }

    async fn get(&self, host: &str, path: &str, cred: (&str, &str)) -> reqwest::Response {
        self.client()
            .get(self.url(host, path))
            .basic_auth(cred.0, Some(cred.1))
            .send()
            .await
            .unwrap()
    }

    async fn sim_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.client().request(method, self.admin_url(path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status();
        let text = r.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn stop(self) {
        self.sim.shutdown().await;
    }
}

async fn body(r: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let s = r.status();
    let h = r.headers().clone();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{s}: not JSON ({e}): {text}"));
    (s, h, v)
}

fn scim_error(v: &Value, status: &str) {
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{v}"
    );
    assert_eq!(v["status"], status, "status is a string: {v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
}

fn ctype(h: &reqwest::header::HeaderMap) -> &str {
    h.get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn filter_q(f: &str) -> String {
    let mut s = String::new();
    for b in f.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_the_ca_on_the_bare_address() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/health", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["status"].as_str(), v["tenants"].as_u64()),
        (Some("ok"), Some(3))
    );
    let pem = fx
        .client()
        .get(fx.admin_url("/_sim/ca.pem"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pem, fx.sim.ca_pem());
    let line: Value = serde_json::from_str(&fx.sim.listening_line()).unwrap();
    assert_eq!(line["listening"], fx.sim.url());
    // A host no tenant has is misdirected, not served.
    let r = fx
        .client()
        .get(fx.admin_url("/scim/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_users_list_pages_and_headers_like_ias() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, h, v) = body(fx.get(ACME, "/scim/Users", READER).await).await;
    assert_eq!(s, 200);
    assert_eq!(ctype(&h), "application/scim+json");
    assert_eq!(h.get("cache-control").unwrap(), "private,no-cache,no-store");
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let total = LMS_USERS + 1 + 3;
    assert_eq!(v["totalResults"], total);
    assert_eq!(
        (v["itemsPerPage"].as_u64(), v["startIndex"].as_u64()),
        (Some(100), Some(1))
    );
    assert_eq!(v["Resources"].as_array().unwrap().len(), 100);
    let u = &v["Resources"][0];
    assert_eq!(u["userName"], "user001");
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_eq!(
        u["meta"]["location"],
        format!("https://{ACME}/scim/Users/{}", u["id"].as_str().unwrap())
    );
    assert_eq!(u["meta"]["groups.cnt"], 2);
    assert!(u["meta"]["created"].as_str().unwrap().ends_with('Z'));
    let ext = &u["urn:ietf:params:scim:schemas:extension:sap:2.0:User"];
    assert_eq!(
        (ext["sourceSystem"].as_u64(), ext["sourceSystemId"].as_str()),
        (Some(101), Some("ACME"))
    );
    assert_eq!(ext["userUuid"], u["id"]);

    // Index paging: the second page, counts capped at 100, count=0 for the total only.
    let (_, _, v) = body(
        fx.get(ACME, "/scim/Users?startIndex=101&count=50", READER)
            .await,
    )
    .await;
    assert_eq!(v["Resources"].as_array().unwrap().len(), total - 100);
    assert_eq!(v["startIndex"], 101);
    let (_, _, v) = body(fx.get(ACME, "/scim/Users?count=1000", READER).await).await;
    assert_eq!(v["Resources"].as_array().unwrap().len(), 100);
    let (_, _, v) = body(fx.get(ACME, "/scim/Users?count=0", READER).await).await;
    assert_eq!(
        (
            v["totalResults"].as_u64(),
            v["Resources"].as_array().unwrap().len()
        ),
        (Some(total as u64), 0)
    );
    let (s, _, v) = body(fx.get(ACME, "/scim/Users?count=lots", READER).await).await;
    assert_eq!(s, 400);
    scim_error(&v, "400");

    // Cursor paging visits every user once.
    let mut seen = std::collections::HashSet::new();
    let mut start = "initial".to_string();
    for _ in 0..20 {
        let (_, _, v) = body(
            fx.get(
                ACME,
                &format!("/scim/Users?startId={start}&count=40"),
                READER,
            )
            .await,
        )
        .await;
        for r in v["Resources"].as_array().unwrap() {
            assert!(seen.insert(r["id"].as_str().unwrap().to_string()));
        }
        match v["nextId"].as_str() {
            Some(n) => start = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_filters_single_users_and_groups() {
    let fx = Fx::start(SimOptions::default()).await;
    let lms = filter_q(
        r#"urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystem eq 101 and urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystemId eq "ACME""#,
    );
    let (s, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={lms}"), READER)
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["totalResults"], LMS_USERS + 1);
    let short = filter_q(r#"sourceSystem eq 100 and sourceSystemId eq "acmeprod""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={short}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["totalResults"], 3);
    let test_user = filter_q(&format!(r#"userName eq "{}""#, sim::TEST_USER));
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={test_user}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["Resources"][0]["userName"], sim::TEST_USER);
    let mail = filter_q(r#"emails.value eq "USER042@acme.example""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={mail}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["Resources"][0]["userName"], "user042");
    let recent = filter_q(&format!(
        r#"meta.lastModified gt "{}" and sourceSystemId eq "ACME""#,
        (as_of() - days(2)).format("%Y-%m-%dT%H:%M:%SZ")
    ));
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={recent}"), READER)
            .await,
    )
    .await;
    // Users n % 5 in {0, 1} were modified 0 or 1 days ago.
    let want = (1..=LMS_USERS).filter(|n| n % 5 < 2).count();
    assert_eq!(v["totalResults"], want);
    for bad in [
        r#"userName eq"#,
        r#"userName like "x""#,
        r#"nickName eq "x""#,
    ] {
        let (s, _, v) = body(
            fx.get(
                ACME,
                &format!("/scim/Users?filter={}", filter_q(bad)),
                READER,
            )
            .await,
        )
        .await;
        assert_eq!(s, 400, "{bad}");
        scim_error(&v, "400");
        assert_eq!(v["scimType"], "invalidFilter");
    }

    let id = "00000000-0000-4000-8000-000000000007";
    let (s, _, v) = body(fx.get(ACME, &format!("/scim/Users/{id}"), READER).await).await;
    assert_eq!((s.as_u16(), v["userName"].as_str()), (200, Some("user007")));
    let (s, _, v) = body(
        fx.get(
            ACME,
            "/scim/Users/af2f7963-0000-0000-0000-000000000000",
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(s, 404);
    scim_error(&v, "404");
    assert_eq!(
        v["detail"],
        "User af2f7963-0000-0000-0000-000000000000 not found"
    );

    let (_, _, v) = body(fx.get(ACME, "/scim/Groups", READER).await).await;
    assert_eq!(v["totalResults"], 2);
    assert_eq!(v["Resources"][0]["members"][0]["type"], "User");
    let q = filter_q(r#"displayName eq "All Employees""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Groups?filter={q}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["Resources"][0]["id"], "g-all");
    let (s, _, v) = body(fx.get(ACME, "/scim/Groups/g-admins", READER).await).await;
    assert_eq!(
        (s.as_u16(), v["displayName"].as_str()),
        (200, Some("Learning Administrators"))
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_failures_403s_and_the_client_id_lock() {
    // 720x: the 60-minute lock lasts five seconds.
    let fx = Fx::start(SimOptions {
        time_scale: 720.0,
        ..SimOptions::default()
    })
    .await;
    let r = fx
        .client()
        .get(fx.url(ACME, "/scim/Users"))
        .send()
        .await
        .unwrap();
    let (s, h, v) = body(r).await;
    assert_eq!(s, 401);
    assert_eq!(ctype(&h), "application/scim+json");
    scim_error(&v, "401");
    let (s, _, _) = body(fx.get(ACME, "/scim/Users", ("unknown-client", "x")).await).await;
    assert_eq!(s, 401);
    let (s, _, v) = body(fx.get(ACME, "/scim/Users", WEAK).await).await;
    assert_eq!(s, 403);
    scim_error(&v, "403");
    assert!(v["detail"].as_str().unwrap().contains("Read Users"), "{v}");
    // Credentials of one tenant mean nothing on another.
    let (s, _, _) = body(fx.get(GLOBEX, "/scim/Users", READER).await).await;
    assert_eq!(s, 401);

    for i in 1..=5 {
        let r = fx.get(ACME, "/scim/Users", (READER.0, "wrong")).await;
        assert_eq!(r.status(), 401);
        let code = r
            .headers()
            .get("x-message-code")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            code.as_deref(),
            (i == 5).then_some("PASSWORD_LOCKED"),
            "attempt {i}"
        );
    }
    let r = fx.get(ACME, "/scim/Users", READER).await;
    assert_eq!(r.status(), 401, "locked even with the right secret");
    assert_eq!(
        r.headers().get("x-message-code").unwrap(),
        "PASSWORD_LOCKED"
    );
    // Other client IDs are not affected.
    assert_eq!(fx.get(ACME, "/scim/Users", POWER).await.status(), 200);
    // The lock expires (one scaled hour).
    tokio::time::sleep(Duration::from_millis(6000)).await;
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 200);
    // And /_sim/ can clear it at once.
    for _ in 0..5 {
        fx.get(ACME, "/scim/Users", (READER.0, "wrong")).await;
    }
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 401);
    let (s, _) = fx
        .sim_json(reqwest::Method::DELETE, "/_sim/tenants/ACME/limits", None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 200);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_client_credentials_tokens_and_their_lifetime() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.client();
    let token_url = fx.url(ACME, "/oauth2/token");
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some(READER.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (s, h, v) = body(r).await;
    assert_eq!(s, 200);
    assert!(ctype(&h).starts_with("application/json"));
    assert_eq!(
        (v["token_type"].as_str(), v["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    let token = v["access_token"].as_str().unwrap().to_string();
    let r = c
        .get(fx.url(ACME, "/scim/Users?count=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The token is ACME's only.
    let r = c
        .get(fx.url(INITECH, "/scim/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(fx.url(ACME, "/scim/Users"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Credentials in the form (what SAP's Terraform provider sends).
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        I_READER.0, I_READER.1
    );
    let r = c
        .post(fx.url(INITECH, "/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!((s.as_u16(), v["expires_in"].as_u64()), (200, Some(2)));
    let short = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        c.get(fx.url(INITECH, "/scim/Users"))
            .bearer_auth(&short)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let r = c
        .get(fx.url(INITECH, "/scim/Users"))
        .bearer_auth(&short)
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(s, 401, "expires_in is honoured");
    assert!(v["detail"].as_str().unwrap().contains("expired"));

    // Errors of the token endpoint.
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some(READER.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some("bad"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some(READER.1))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A token by client certificate.
    let r = fx
        .mtls(&fx.lms)
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_map_to_admin_records() {
    let fx = Fx::start(SimOptions::default()).await;
    let probe = |c: reqwest::Client| {
        let url = fx.url(ACME, "/scim/Users?count=1");
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(probe(fx.mtls(&fx.lms)).await, 200);
    // Unknown certificates get through the handshake and are answered 401, as IAS does.
    let stranger = harness::client_cert(&fx.ca, "Stranger", -1, 100);
    assert_eq!(probe(fx.mtls(&stranger)).await, 401);
    assert_eq!(
        probe(fx.mtls(&harness::self_signed("Self", -1, 100))).await,
        401
    );
    assert_eq!(probe(fx.mtls(&fx.noread)).await, 403);
    assert_eq!(probe(fx.mtls(&fx.expired)).await, 401);
    assert_eq!(probe(fx.client()).await, 401);
    // The same certificate means nothing on a tenant whose records do not hold it.
    let r = fx
        .mtls(&fx.lms)
        .get(fx.url(INITECH, "/scim/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_provisioning_converged() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.mtls(&fx.lms);
    let url = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-lms/entities/user",
    );
    let users = |fx: &Fx| fx.sim.tenant("ACME").unwrap().users.len();
    let before = users(&fx);
    for payload in [
        "{}",
        "",
        "[]",
        "{\"userName\":\"\"}",
        "not json",
        "{\"userName\":\"x\",\"emails\":[{\"value\":\"nope\"}]}",
    ] {
        let r = c
            .post(&url)
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await
            .unwrap();
        let (s, _, v) = body(r).await;
        assert_eq!(s, 400, "payload {payload:?}: {v}");
        assert_eq!(v["error"]["code"], 400);
    }
    assert_eq!(users(&fx), before, "a 400 changes nothing");
    let r = c
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    let new_user = json!({"userName": "learner.new", "emails": [{"value": "learner.new@acme.example"}],
                          "name": {"givenName": "Lea", "familyName": "Rner"}});
    let (s, _, v) = body(c.post(&url).json(&new_user).send().await.unwrap()).await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (201, Some("Entity Created"))
    );
    assert_eq!(users(&fx), before + 1);
    let q = filter_q(r#"userName eq "learner.new""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={q}"), READER)
            .await,
    )
    .await;
    let ext = &v["Resources"][0]["urn:ietf:params:scim:schemas:extension:sap:2.0:User"];
    assert_eq!(
        (ext["sourceSystem"].as_u64(), ext["sourceSystemId"].as_str()),
        (Some(101), Some("ACME"))
    );
    let (s, _, v) = body(c.post(&url).json(&new_user).send().await.unwrap()).await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (200, Some("Entity Updated"))
    );
    let (s, _, v) = body(
        c.delete(&url)
            .json(&json!({"userName": "learner.new"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (200, Some("Entity Deleted"))
    );
    assert_eq!(users(&fx), before);

    // Auth and routing errors.
    assert_eq!(
        fx.client()
            .post(&url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let stranger = harness::client_cert(&fx.ca, "Stranger", -1, 100);
    assert_eq!(
        fx.mtls(&stranger)
            .post(&url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = fx
        .client()
        .post(&url)
        .basic_auth(POWER.0, Some(POWER.1))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "power lacks Access Real-Time Provisioning API"
    );
    let other = fx.url(ACME, "/ipsproxy/service/api/v1/systems/nope/entities/user");
    assert_eq!(
        c.post(&other)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let group = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-lms/entities/group",
    );
    assert_eq!(
        c.post(&group)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let target = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-ias/entities/user",
    );
    assert_eq!(
        c.post(&target)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    // Converged tenants have no NEO paths.
    let neo = fx.url(ACME, "/ipsproxy/certapi/v1/systems/sys-lms/entities/user");
    assert_eq!(
        c.post(&neo).json(&json!({})).send().await.unwrap().status(),
        404
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neo_differs_from_converged() {
    let fx = Fx::start(SimOptions::default()).await;
    let lms = fx.mtls(&fx.lms);
    // IAS works on the NEO tenant's IAS host.
    assert_eq!(
        lms.get(fx.url(GLOBEX, "/scim/Users?count=1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // No tenant admin API and no IPS on the IAS host of a NEO tenant.
    for path in [
        "/ips/service/publicapi/v1/jobLogs/x?action=export&logType=commonLog",
        "/ipsproxy/service/api/v1/systems/sys-neo/entities/user",
    ] {
        let r = fx
            .client()
            .post(fx.url(GLOBEX, path))
            .basic_auth(G_READER.0, Some(G_READER.1))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 404 || r.status() == 405,
            "{path}: {}",
            r.status()
        );
        let r = fx
            .client()
            .get(fx.url(GLOBEX, path))
            .basic_auth(G_READER.0, Some(G_READER.1))
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 404 || r.status() == 405,
            "{path}: {}",
            r.status()
        );
    }
    // The cert host checks the LMS source system's inbound certificates.
    let cert_url = fx.url(
        GLOBEX_CERT,
        "/ipsproxy/certapi/v1/systems/sys-neo/entities/user",
    );
    assert_eq!(
        lms.post(&cert_url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let r = fx
        .mtls(&fx.other)
        .post(&cert_url)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "on the IAS admin record, not among the inbound certificates"
    );
    assert_eq!(
        fx.mtls(&fx.other)
            .get(fx.url(GLOBEX, "/scim/Users?count=1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        fx.client()
            .post(&cert_url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let missing = fx.url(
        GLOBEX_CERT,
        "/ipsproxy/certapi/v1/systems/nope/entities/user",
    );
    assert_eq!(
        lms.post(&missing)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let (s, _, v) = body(
        lms.post(&cert_url)
            .json(&json!({"userName": "neo.learner"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (201, Some("Entity Created"))
    );
    // The OAuth host serves /ipsproxy/api/v1 to administrators; not certapi, not SCIM.
    let oauth_url = fx.url(GLOBEX_IPS, "/ipsproxy/api/v1/systems/sys-neo/entities/user");
    let r = fx
        .client()
        .post(&oauth_url)
        .basic_auth(G_READER.0, Some(G_READER.1))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = lms
        .post(fx.url(
            GLOBEX_IPS,
            "/ipsproxy/certapi/v1/systems/sys-neo/entities/user",
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = fx.get(GLOBEX_IPS, "/scim/Users", G_READER).await;
    assert_eq!(r.status(), 404);
    // Proxy on NEO: certificate and OAuth doors.
    let r = lms
        .get(fx.url(GLOBEX_CERT, "/ipsproxy/certapi/v1/scim/sys-neo-proxy/Users"))
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!((s.as_u16(), v["itemsPerPage"].as_u64()), (200, Some(25)));
    let r = fx
        .get(
            GLOBEX_IPS,
            "/ipsproxy/api/v1/scim/sys-neo-proxy/Users?count=2",
            G_READER,
        )
        .await;
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["Resources"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_the_zip_job_log() {
    let fx = Fx::start(SimOptions {
        time_scale: 60.0,
        ..SimOptions::default()
    })
    .await;
    let c = fx.client();
    let logs = |job: &str, q: &str| {
        fx.url(
            ACME,
            &format!("/ips/service/publicapi/v1/jobLogs/{job}?{q}"),
        )
    };
    let r = c
        .get(logs(JOB, "action=export&logType=commonLog"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-type").unwrap(), "application/zip");
    let common = unzip_json(r.bytes().await.unwrap().to_vec());
    assert_eq!(common["status"], "Finished with Error");
    assert_eq!(common["statistics"][0]["failed"], 1);
    let r = c
        .get(logs(JOB, "action=export&logType=failedEntitiesLog"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    let failed = unzip_json(r.bytes().await.unwrap().to_vec());
    assert_eq!(failed["entities"][0]["entityId"], "lmsuser7");
    for (q, status) in [
        ("logType=commonLog", 400),
        ("action=import&logType=commonLog", 400),
        ("action=export&logType=everything", 400),
    ] {
        let r = c
            .get(logs(JOB, q))
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{q}");
        let (_, h, v) = body(r).await;
        assert!(ctype(&h).starts_with("application/json"));
        assert_eq!(v["error"]["code"], status);
    }
    let r = c
        .get(logs(
            "ffffffffffffffffffff",
            "action=export&logType=commonLog",
        ))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(logs(JOB, "action=export&logType=commonLog"))
        .basic_auth(WEAK.0, Some(WEAK.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Start a job; it runs for 30 simulated seconds (0.5 s at 60x), then succeeds.
    let start = |path: &str| fx.url(ACME, path);
    let r = c
        .post(start(
            "/ips/service/publicapi/v1/startJob/sys-lms/jobs/READ",
        ))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["status"].as_str(), v["jobType"].as_str()),
        (202, Some("Running"), Some("READ"))
    );
    let id = v["jobId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 20);
    assert!(v["triggeredBy"].as_str().unwrap().contains(READER.0));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = c
        .get(logs(&id, "action=export&logType=commonLog"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unzip_json(r.bytes().await.unwrap().to_vec())["status"],
        "Success"
    );
    let r = c
        .post(start("/ips/publicapi/v1/startJob/sys-lms/jobs/RESYNC"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "the path without /service is accepted too");
    for (path, status) in [
        (
            "/ips/service/publicapi/v1/startJob/sys-lms/jobs/SIMULATE",
            400,
        ),
        ("/ips/service/publicapi/v1/startJob/nope/jobs/READ", 404),
        ("/ips/service/publicapi/v1/startJob/sys-ias/jobs/READ", 400),
    ] {
        let r = c
            .post(start(path))
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
    }
    let r = c
        .post(start(
            "/ips/service/publicapi/v1/startJob/sys-lms/jobs/READ",
        ))
        .basic_auth(POWER.0, Some(POWER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    fx.stop().await;
}

fn unzip_json(bytes: Vec<u8>) -> Value {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    assert_eq!(z.len(), 1);
    let mut f = z.by_index(0).unwrap();
    let name = f.name().unwrap().to_string();
    assert!(
        name.starts_with("ips_job") && name.ends_with(".json"),
        "{name}"
    );
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    serde_json::from_str(&s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_cursor_paging_and_proxy_systems() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, h, v) = body(fx.get(ACME, "/Applications/v1/", POWER).await).await;
    assert_eq!(s, 200);
    assert!(ctype(&h).starts_with("application/json"));
    assert_eq!(
        (
            v["totalResults"].as_u64(),
            v["applications"].as_array().unwrap().len()
        ),
        (Some(25), 20)
    );
    let cursor = v["nextCursor"].as_str().unwrap().to_string();
    let (_, _, v) = body(
        fx.get(ACME, &format!("/Applications/v1/?cursor={cursor}"), POWER)
            .await,
    )
    .await;
    assert_eq!(v["applications"].as_array().unwrap().len(), 5);
    assert!(v.get("nextCursor").is_none());
    let (s, _, v) = body(fx.get(ACME, "/Applications/v1/app-03", POWER).await).await;
    assert_eq!(
        (s.as_u16(), v["name"].as_str()),
        (200, Some("Application 3"))
    );
    let (s, _, v) = body(fx.get(ACME, "/Applications/v1", READER).await).await;
    assert_eq!(s, 403);
    assert_eq!(v["error"]["code"], 403, "the non-SCIM error shape");
    let (s, _, v) = body(fx.get(ACME, "/Applications/v1/nope", POWER).await).await;
    assert_eq!((s.as_u16(), v["error"]["code"].as_u64()), (404, Some(404)));

    let (s, _, v) = body(
        fx.get(ACME, "/ipsproxy/service/api/v1/scim/sys-proxy/Users", POWER)
            .await,
    )
    .await;
    assert_eq!((s.as_u16(), v["itemsPerPage"].as_u64()), (200, Some(25)));
    assert_eq!(v["Resources"].as_array().unwrap().len(), 25);
    let (s, _, _) = body(
        fx.get(ACME, "/ipsproxy/service/api/v1/scim/sys-lms/Users", POWER)
            .await,
    )
    .await;
    assert_eq!(s, 404, "not a proxy system");
    let (s, _, _) = body(
        fx.get(
            ACME,
            "/ipsproxy/service/api/v1/scim/sys-proxy/Users",
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(s, 403);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_faults() {
    let fx = Fx::start(SimOptions::default()).await;
    let set = |f: Faults| fx.sim.set_faults("INITECH", f).unwrap();
    let get = || fx.get(INITECH, "/scim/Users", I_READER);

    set(Faults {
        status: Some(503),
        ..Faults::default()
    });
    let (s, h, v) = body(get().await).await;
    assert_eq!(s, 503);
    assert_eq!(ctype(&h), "application/scim+json");
    scim_error(&v, "503");
    set(Faults {
        status: Some(500),
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 500);
    set(Faults {
        status: Some(429),
        retry_after_secs: Some(7),
        ..Faults::default()
    });
    let r = get().await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string())
        ),
        (429, Some("7".to_string()))
    );
    set(Faults {
        status: Some(429),
        ..Faults::default()
    });
    let r = get().await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());

    // Faults limited to a family and to a number of requests.
    set(Faults {
        status: Some(503),
        families: vec![sim::Family::Oauth],
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 200);
    set(Faults {
        status: Some(503),
        remaining: Some(2),
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 503);
    assert_eq!(get().await.status(), 503);
    assert_eq!(get().await.status(), 200);

    set(Faults {
        malformed_json: true,
        ..Faults::default()
    });
    let r = get().await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with('{'));

    set(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let t = std::time::Instant::now();
    assert_eq!(get().await.status(), 200);
    // A lower bound only: the answer cannot come before the added latency.
    assert!(t.elapsed() >= Duration::from_millis(300));

    set(Faults {
        reset: true,
        ..Faults::default()
    });
    let e = fx
        .client_with(None, Duration::from_secs(30))
        .get(fx.url(INITECH, "/scim/Users"))
        .basic_auth(I_READER.0, Some(I_READER.1))
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_timeout() && e.status().is_none(), "{e:?}");

    set(Faults {
        stall: true,
        ..Faults::default()
    });
    let e = fx
        .client_with(None, Duration::from_millis(800))
        .get(fx.url(INITECH, "/scim/Users"))
        .basic_auth(I_READER.0, Some(I_READER.1))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    set(Faults {
        stall: true,
        stall_ms: 200,
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 200, "a bounded stall answers late");

    let c = fx
        .sim
        .tenant_counters("INITECH")
        .unwrap()
        .family(sim::Family::Scim);
    // 503, 500, two 429s, two of `remaining`, malformed, reset, the bounded stall; the endless
    // stall is still open, and latency alone is not a replaced answer.
    assert_eq!(c.faulted, 9, "{c:?}");
    assert_eq!(c.requests, 13);
    assert_eq!(c.statuses[&503], 3);
    // Other tenants are unaffected.
    assert_eq!(
        fx.get(ACME, "/scim/Users?count=1", READER).await.status(),
        200
    );
    // The stalled request is still open; shutdown ends it.
    fx.stop().await;
}

/// The chain a server presents for `sni`, read without validating it.
async fn presented(fx: &Fx, sni: &str) -> Result<Vec<mtls_audit_cert::CertFacts>, String> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    #[derive(Debug)]
    struct Record(
        std::sync::Mutex<Vec<Vec<u8>>>,
        Arc<rustls::crypto::CryptoProvider>,
    );
    impl ServerCertVerifier for Record {
        fn verify_server_cert(
            &self,
            ee: &CertificateDer<'_>,
            im: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let mut v = self.0.lock().unwrap();
            v.push(ee.to_vec());
            v.extend(im.iter().map(|c| c.to_vec()));
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.1.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.1.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.1.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let rec = Arc::new(Record(Default::default(), provider.clone()));
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(rec.clone())
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(fx.sim.addr()).await.unwrap();
    let name = ServerName::try_from(sni.to_string()).unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let ders = rec.0.lock().unwrap().clone();
    Ok(ders
        .iter()
        .map(|d| mtls_audit_cert::CertFacts::from_der(d).unwrap())
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificate_faults_per_tenant_host() {
    let fx = Fx::start(SimOptions::default()).await;
    let now = chrono::Utc::now();
    let shared = presented(&fx, ACME).await.unwrap();
    assert!(
        shared[0]
            .dns_names
            .contains(&"*.accounts.ondemand.com".to_string()),
        "{:?}",
        shared[0].dns_names
    );
    assert!(
        shared[0]
            .dns_names
            .contains(&"*.cert.hana.ondemand.com".to_string())
    );
    assert!(shared[0].not_after > now + days(300));

    let mode = |m: ServerCertMode| {
        fx.sim
            .set_faults(
                "INITECH",
                Faults {
                    server_cert: m,
                    ..Faults::default()
                },
            )
            .unwrap();
    };
    mode(ServerCertMode::Expired);
    let c = presented(&fx, INITECH).await.unwrap();
    assert!(
        c[0].not_after < now && c[0].dns_names == [INITECH],
        "{:?}",
        c[0]
    );
    assert_eq!(
        c[0].issuer, shared[0].issuer,
        "expired, but from the trusted CA"
    );
    let e = fx.get_err(INITECH).await;
    assert!(e.is_connect(), "{e:?}");
    mode(ServerCertMode::Expiring);
    let c = presented(&fx, INITECH).await.unwrap();
    let left = (c[0].not_after - now).num_days();
    assert!((1..=10).contains(&left), "{left}");
    assert_eq!(
        fx.get(INITECH, "/scim/Users", I_READER).await.status(),
        200,
        "still valid"
    );
    mode(ServerCertMode::Untrusted);
    let c = presented(&fx, INITECH).await.unwrap();
    assert!(c[0].issuer.contains("Untrusted Test CA") && c[0].not_after > now);
    assert!(fx.get_err(INITECH).await.is_connect());
    mode(ServerCertMode::Refuse);
    assert!(presented(&fx, INITECH).await.is_err());
    // Every other host keeps the shared certificate.
    assert_eq!(
        fx.get(ACME, "/scim/Users?count=1", READER).await.status(),
        200
    );
    mode(ServerCertMode::Valid);
    assert_eq!(fx.get(INITECH, "/scim/Users", I_READER).await.status(), 200);
    fx.stop().await;
}

impl Fx {
    /// A request on a new connection (a pooled one would skip the handshake under test).
    async fn get_err(&self, host: &str) -> reqwest::Error {
        self.client_with(None, Duration::from_secs(30))
            .get(self.url(host, "/scim/Users"))
            .send()
            .await
            .unwrap_err()
    }
}

/// Sends `n` requests with up to `parallel` at a time and returns their statuses and the
/// Retry-After values of the 429s.
async fn burst<F, Fut>(n: usize, parallel: usize, f: F) -> (Vec<u16>, Vec<u64>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let fut = f(i);
        set.spawn(async move {
            let r = fut.await;
            drop(permit);
            let ra = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            (r.status().as_u16(), ra)
        });
    }
    let mut statuses = Vec::new();
    let mut retry = Vec::new();
    while let Some(res) = set.join_next().await {
        let (s, ra) = res.unwrap();
        statuses.push(s);
        retry.extend(ra);
    }
    (statuses, retry)
}

fn count(v: &[u16], s: u16) -> usize {
    v.iter().filter(|&&x| x == s).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_rate_limit_windows() {
    // 3x: a rate-limit minute lasts 20 s, long enough for 300 requests on a loaded machine.
    let fx = Fx::start(SimOptions {
        time_scale: 3.0,
        ..SimOptions::default()
    })
    .await;
    let c = fx.client();
    let url = fx.url(ACME, "/scim/Users?count=1");
    let (statuses, retry) = burst(300, 20, |_| {
        c.get(&url)
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .map_ok()
    })
    .await;
    assert_eq!(count(&statuses, 200), 280, "200 served and 80 delayed");
    assert_eq!(count(&statuses, 429), 20, "blocked from the 281st");
    assert!(retry.iter().all(|s| (1..=20).contains(s)), "{retry:?}");
    let f = fx
        .sim
        .tenant_counters("ACME")
        .unwrap()
        .family(sim::Family::Scim);
    assert_eq!(
        (f.requests, f.delayed, f.throttled, f.max_per_minute),
        (300, 80, 20, 300),
        "{f:?}"
    );
    // Still blocked (the block lasts a scaled minute) ...
    assert_eq!(
        c.get(&url)
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
    // ... and other tenants are not.
    assert_eq!(fx.get(INITECH, "/scim/Users", I_READER).await.status(), 200);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/counters", None)
        .await;
    assert_eq!(v["tenants"]["ACME"]["families"]["scim"]["throttled"], 21);
    assert_eq!(v["tenants"]["ACME"]["endpoints"]["GET /scim/Users"], 301);
    fx.sim_json(reqwest::Method::DELETE, "/_sim/tenants/ACME/limits", None)
        .await;
    assert_eq!(
        c.get(&url)
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_rate_limit_windows() {
    let fx = Fx::start(SimOptions {
        time_scale: 3.0,
        ..SimOptions::default()
    })
    .await;
    let c = fx.mtls(&fx.lms);
    let url = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-lms/entities/user",
    );
    let (statuses, _) = burst(201, 20, |_| c.post(&url).json(&json!({})).send().map_ok()).await;
    assert_eq!(count(&statuses, 400), 200);
    assert_eq!(count(&statuses, 429), 1);
    let f = fx
        .sim
        .tenant_counters("ACME")
        .unwrap()
        .family(sim::Family::Realtime);
    assert_eq!(
        (f.delayed, f.throttled, f.max_per_minute),
        (50, 1, 201),
        "{f:?}"
    );
    // Proxy calls share the window.
    let (s, _, _) = body(
        fx.get(ACME, "/ipsproxy/service/api/v1/scim/sys-proxy/Users", POWER)
            .await,
    )
    .await;
    assert_eq!(s, 429);
    fx.stop().await;
}

/// `.send()` futures, boxed into `'static` ones that panic on transport errors.
trait MapOk {
    fn map_ok(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = reqwest::Response> + Send>>;
}

impl<F> MapOk for F
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    fn map_ok(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = reqwest::Response> + Send>> {
        Box::pin(async move { self.await.expect("request") })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_endpoints_change_state_at_run_time() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[1]["hosts"], json!([GLOBEX, GLOBEX_IPS, GLOBEX_CERT]));

    // Take Read Users away from the reader: SCIM answers 403 at once.
    let (s, mut t) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants/ACME", None)
        .await;
    assert_eq!(s, 200);
    t["admin"][1]["permissions"] = json!(["Access Identity Provisioning Tenant Admin API"]);
    let (s, _) = fx
        .sim_json(reqwest::Method::PUT, "/_sim/tenants/ACME", Some(t.clone()))
        .await;
    assert_eq!(s, 200);
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 403);
    t["admin"][1]["permissions"] = json!(["Read Everything"]);
    let (s, v) = fx
        .sim_json(reqwest::Method::PUT, "/_sim/tenants/ACME", Some(t))
        .await;
    assert_eq!(s, 400, "{v}");

    // Faults through /_sim/.
    let (s, _) = fx
        .sim_json(
            reqwest::Method::PUT,
            "/_sim/tenants/ACME/faults",
            Some(json!({"status": 503})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(fx.get(ACME, "/scim/Users", POWER).await.status(), 503);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants/ACME/faults", None)
        .await;
    assert_eq!(v["status"], 503);
    fx.sim_json(reqwest::Method::DELETE, "/_sim/tenants/ACME/faults", None)
        .await;
    assert_eq!(fx.get(ACME, "/scim/Users", POWER).await.status(), 200);

    // A new tenant on a new domain is reachable by its name with a valid certificate.
    let mut newco = tenant("NEWCO", IpsType::Converged, "newco.example.org");
    newco.admins = vec![admin(
        "reader",
        Some(("newco-client", "newco-secret")),
        &["Read Users"],
        &[],
    )];
    let (s, v) = fx
        .sim_json(
            reqwest::Method::POST,
            "/_sim/tenants",
            Some(serde_json::to_value(&newco).unwrap()),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = fx
        .sim_json(
            reqwest::Method::POST,
            "/_sim/tenants",
            Some(serde_json::to_value(&newco).unwrap()),
        )
        .await;
    assert_eq!(s, 409);
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(fx.sim.ca_pem().as_bytes()).unwrap()])
        .resolve("newco.example.org", fx.sim.addr())
        .build()
        .unwrap();
    let r = c
        .get(fx.url("newco.example.org", "/scim/Users"))
        .basic_auth("newco-client", Some("newco-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Counters per tenant and endpoint, and their reset.
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/counters/ACME", None)
        .await;
    assert_eq!(v["endpoints"]["GET /scim/Users"], 3);
    assert_eq!(v["families"]["scim"]["statuses"]["503"], 1);
    let (s, _) = fx
        .sim_json(reqwest::Method::DELETE, "/_sim/counters", None)
        .await;
    assert_eq!(s, 204);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/counters/ACME", None)
        .await;
    assert_eq!(v["endpoints"], json!({}));
    let (s, _) = fx
        .sim_json(reqwest::Method::DELETE, "/_sim/tenants/NEWCO", None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants/NEWCO", None)
        .await;
    assert_eq!(s, 404);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/scenario", None)
        .await;
    assert_eq!(v["tenant"].as_array().unwrap().len(), 3);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_scenario_loads_and_serves() {
    harness::crypto();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenario.example.toml");
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
    let g = sim::generate(40, 20250715, today).unwrap();
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
    let plain = client(None);
    let mut checked = 0;
    for (t, row) in g.tenants.iter().zip(&g.inventory) {
        let has = |c: &str| t.expected.iter().any(|e| e == c);
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
        let post = lms
            .post(rt)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
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
                chrono::DateTime::parse_from_rfc3339(u["meta"]["lastModified"].as_str().unwrap())
                    .unwrap();
            m > today - days(7)
        });
        assert_eq!(!recent, has("SYNC_STALE"), "{}", t.tenant_id);
        let leftover = v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["userName"] == sim::TEST_USER);
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
        "reference.pem",
        "ca.pem",
        "expected.json",
        "AUDIT_COMMAND.txt",
    ] {
        assert!(listing.contains(&f.to_string()), "{f} missing: {listing:?}");
    }
    assert!(
        dir.read("AUDIT_COMMAND.txt")
            .contains(&format!("--connect-to {}", sim.addr()))
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exports_a_fleet_serves_it_and_stops_cleanly() {
    let dir = TestDir::new();
    let (child, line) = start_binary(
        &[
            "sim",
            "--tenants",
            "40",
            "--seed",
            "5",
            "--export",
            "out",
            "--time-scale",
            "60",
        ],
        dir.path(),
    );
    let url = line["listening"].as_str().unwrap().to_string();
    let addr: std::net::SocketAddr = url.trim_start_matches("https://").parse().unwrap();
    let ca_path = std::path::PathBuf::from(line["ca"].as_str().unwrap());
    assert_eq!(ca_path, dir.join("out/ca.pem"));
    let ca = std::fs::read(&ca_path).unwrap();
    let cmd = dir.read("out/AUDIT_COMMAND.txt");
    assert!(
        cmd.contains(&format!("--connect-to {addr}")) && cmd.contains("--lms-key"),
        "{cmd}"
    );

    let inv = mtls_audit::inventory::read_file(&dir.join("out/inventory.csv"), b',').unwrap();
    assert_eq!((inv.tenants.len(), inv.errors.len()), (40, 0));
    let expected: Value = serde_json::from_str(&dir.read("out/expected.json")).unwrap();
    let healthy = expected["tenants"].as_array().unwrap().iter().find(|t| {
        t["profile"] == "healthy" && {
            let id = t["tenant_id"].as_str().unwrap();
            inv.tenants.iter().any(|r| {
                r.tenant_id == id && r.ips_type == mtls_audit::inventory::IpsType::Converged
            })
        }
    });
    let healthy = healthy.expect("a healthy converged tenant");
    let row = inv
        .tenants
        .iter()
        .find(|r| r.tenant_id == healthy["tenant_id"])
        .unwrap();
    let host = row
        .ias_url
        .as_ref()
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let lms = format!("{}{}", dir.read("out/lms.key"), dir.read("out/lms.pem"));
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .identity(reqwest::Identity::from_pem(lms.as_bytes()).unwrap())
        .resolve(&host, addr)
        .build()
        .unwrap();
    let r = c
        .get(format!("https://{host}:{}/scim/Users?count=1", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sid = row.ips_source_system_id.as_deref().unwrap();
    let r = c
        .post(format!(
            "https://{host}:{}/ipsproxy/service/api/v1/systems/{sid}/entities/user",
            addr.port()
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let status = tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "exit 0 after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_a_scenario_file_and_logs_requests() {
    let dir = TestDir::new();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenario.example.toml");
    let example = example.display().to_string();
    let (mut child, line) = start_binary(
        &["sim", "--scenario", &example, "--ca-out", "ca.pem", "-v"],
        dir.path(),
    );
    assert_eq!(
        std::path::PathBuf::from(line["ca"].as_str().unwrap()),
        dir.join("ca.pem")
    );
    let url = line["listening"].as_str().unwrap();
    let r = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(dir.read("ca.pem").as_bytes()).unwrap()])
        .build()
        .unwrap()
        .get(format!("{url}/_sim/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stderr = child.proc.stderr.take().unwrap();
    let status = tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut log = String::new();
    std::io::BufReader::new(stderr)
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("simulator listening"), "{log}");
    let r = harness::TestDir::new().run(&["sim", "--scenario", "missing.toml"]);
    r.expect_code(2);
    assert!(r.stderr().contains("missing.toml"), "{}", r.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_writes_need_manage_users() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.client();
    let url = fx.url(ACME, "/scim/Users");
    let new = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new.hire",
                     "emails": [{"value": "new.hire@acme.example"}]});
    let post = |cred: (&'static str, &'static str), ctype: &'static str, body: String| {
        c.post(&url)
            .basic_auth(cred.0, Some(cred.1))
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let (s, _, v) = body(
        post(READER, "application/scim+json", new.to_string())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 403, "Read Users cannot write");
    scim_error(&v, "403");
    let r = post(POWER, "text/plain", new.to_string()).await.unwrap();
    assert_eq!(r.status(), 415);
    let (s, _, v) = body(
        post(POWER, "application/scim+json", "{}".to_string())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let r = post(POWER, "application/scim+json", new.to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let (_, _, v) = body(r).await;
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("https://{ACME}/scim/Users/{id}"));
    assert_eq!(v["meta"]["created"], v["meta"]["lastModified"]);
    let (s, _, v) = body(
        post(POWER, "application/scim+json", new.to_string())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    assert_eq!(
        fx.get(ACME, &format!("/scim/Users/{id}"), READER)
            .await
            .status(),
        200
    );
    let del = |cred: (&'static str, &'static str)| {
        c.delete(fx.url(ACME, &format!("/scim/Users/{id}")))
            .basic_auth(cred.0, Some(cred.1))
            .send()
    };
    assert_eq!(del(READER).await.unwrap().status(), 403);
    assert_eq!(del(POWER).await.unwrap().status(), 204);
    assert_eq!(del(POWER).await.unwrap().status(), 404);
    assert_eq!(
        fx.get(ACME, &format!("/scim/Users/{id}"), READER)
            .await
            .status(),
        404
    );
    // PUT and PATCH are not simulated.
    let r = c
        .put(fx.url(ACME, "/scim/Users/x"))
        .basic_auth(POWER.0, Some(POWER.1))
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    fx.stop().await;
}
