//! The fixture most contract tests share: a running simulator with three tenants (ACME
//! converged, GLOBEX on NEO, INITECH converged with short-lived tokens), the credentials and
//! certificates the tests present, and clients that reach the tenants by their host names.

use crate::harness::{self, as_of, days};
use mtls_audit_sim::pki::{Ca, Issued};
use mtls_audit_sim::{
    AdminKind, AdminSpec, ApplicationSpec, EntityLog, Environment, Faults, GroupSpec, IpsType,
    JobSpec, JobStatistics, JobStatus, JobType, ReadMode, Scenario, Server, SimHandle, SimOptions,
    SystemKind, SystemSpec, TEST_USER, TenantSpec, TriggerType, UserSpec,
};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

pub(crate) const ACME: &str = "acme.accounts.ondemand.com";
pub(crate) const GLOBEX: &str = "globex.accounts.ondemand.com";
pub(crate) const GLOBEX_IPS: &str = "ipsproxyabc-globex.hana.ondemand.com";
pub(crate) const GLOBEX_CERT: &str = "ipsproxyabc-globex.cert.hana.ondemand.com";
pub(crate) const INITECH: &str = "initech.accounts.cloud.sap";
pub(crate) const HOSTS: [&str; 5] = [ACME, GLOBEX, GLOBEX_IPS, GLOBEX_CERT, INITECH];

pub(crate) const READER: (&str, &str) = ("5b3c0f7e-8d1a-4e2b-9c4d-1a2b3c4d5e6f", "reader-secret");
pub(crate) const WEAK: (&str, &str) = ("weak-client", "weak-secret");
pub(crate) const POWER: (&str, &str) = ("power-client", "power-secret");
pub(crate) const GROUPS: (&str, &str) = ("groups-client", "groups-secret");
pub(crate) const G_READER: (&str, &str) = ("globex-client", "globex-secret");
pub(crate) const I_READER: (&str, &str) = ("initech-client", "initech-secret");
pub(crate) const JOB: &str = "cbc1eb01686664856111";
pub(crate) const LMS_USERS: usize = 104;

pub(crate) fn admin(
    name: &str,
    client: Option<(&str, &str)>,
    perms: &[&str],
    certs: &[&Issued],
) -> AdminSpec {
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

pub(crate) fn system(id: &str, kind: SystemKind, inbound: &[&Issued]) -> SystemSpec {
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

pub(crate) fn user(n: usize, source: Option<(u32, &str)>, modified_days_ago: i64) -> UserSpec {
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
        external_id: None,
        attributes: Default::default(),
    }
}

pub(crate) fn tenant(id: &str, ips_type: IpsType, ias_host: &str) -> TenantSpec {
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
        schemas: Vec::new(),
        faults: Faults::default(),
    }
}

/// A running simulator with three tenants and the certificates the tests present.
pub(crate) struct Fx {
    pub(crate) sim: SimHandle,
    pub(crate) ca: Ca,
    pub(crate) lms: Issued,
    /// On GLOBEX's IAS admin record but not among its inbound certificates.
    pub(crate) other: Issued,
    /// On ACME's admin "weak", which lacks Read Users.
    pub(crate) noread: Issued,
    /// On ACME's admin "expired", and expired.
    pub(crate) expired: Issued,
    /// A client without identity, shared so its connections are reused.
    plain: Option<reqwest::Client>,
}

impl Fx {
    pub(crate) async fn start(opts: SimOptions) -> Fx {
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
            admin("groups", Some(GROUPS), &["Manage Groups"], &[]),
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
        leftover.user_name = TEST_USER.to_string();
        acme.users.push(leftover);
        acme.users
            .extend((600..603).map(|n| user(n, Some((100, "acmeprod")), 2)));
        acme.groups = vec![
            GroupSpec {
                id: "g-admins".into(),
                display_name: "Learning Administrators".into(),
                members: vec![acme.users[0].id.clone(), acme.users[1].id.clone()],
                external_id: None,
                attributes: Default::default(),
            },
            GroupSpec {
                id: "g-all".into(),
                display_name: "All Employees".into(),
                members: acme.users.iter().map(|u| u.id.clone()).collect(),
                external_id: None,
                attributes: Default::default(),
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
            chaos: None,
        }
    }

    pub(crate) fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.sim.addr().port())
    }

    pub(crate) fn admin_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.sim.addr().port())
    }

    pub(crate) fn client_with(
        &self,
        identity: Option<&Issued>,
        timeout: Duration,
    ) -> reqwest::Client {
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
    pub(crate) fn client(&self) -> reqwest::Client {
        match &self.plain {
            Some(c) => c.clone(),
            None => self.client_with(None, Duration::from_secs(30)),
        }
    }

    pub(crate) fn mtls(&self, id: &Issued) -> reqwest::Client {
        self.client_with(Some(id), Duration::from_secs(30))
    }

    pub(crate) async fn get(
        &self,
        host: &str,
        path: &str,
        cred: (&str, &str),
    ) -> reqwest::Response {
        self.client()
            .get(self.url(host, path))
            .basic_auth(cred.0, Some(cred.1))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn sim_json(
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

    pub(crate) async fn stop(self) {
        self.sim.shutdown().await;
    }
}

impl Fx {
    /// A request on a new connection (a pooled one would skip the handshake under test).
    pub(crate) async fn get_err(&self, host: &str) -> reqwest::Error {
        self.client_with(None, Duration::from_secs(30))
            .get(self.url(host, "/scim/Users"))
            .send()
            .await
            .unwrap_err()
    }
}
