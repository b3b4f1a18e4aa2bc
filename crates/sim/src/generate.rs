//! The fleet generator: `generate(tenants, seed, today)` builds a realistic fleet with a stated
//! mix of healthy and broken tenants, plus everything `mtls-audit sim --export DIR` writes, so
//! that the audit command of SPEC §7 works verbatim against it and every verdict of SPEC §5 can
//! be produced on purpose.
//!
//! # The mix
//!
//! Each broken tenant follows one *profile* built to produce specific findings (see
//! [`PROFILES`]). With 40 or more tenants every profile appears at least once (20 broken
//! tenants at 40) and a fifth of the fleet is broken beyond that (20 of 100, 200 of 1000); the
//! rest is healthy. Smaller fleets take the first 45 % of the profiles in the order listed.
//! Which tenant gets which profile is shuffled by the seed.
//!
//! Everything is deterministic for a given `(tenants, seed, today)` except key material: the
//! certificates (and so their fingerprints) are new on every call.

use crate::ids::uuid_from_bytes;
use crate::pki::{self, Ca, Eku, Issued, LeafSpec, PkiError};
use crate::scenario::TEST_USER;
use crate::scenario::{
    AdminKind, AdminSpec, ApiCertificateSpec, ApplicationSpec, EntityLog, Family, Faults,
    GroupSpec, JobSpec, JobStatistics, JobStatus, JobType, ReadMode, Scenario, ScenarioError,
    ServerCertMode, SystemKind, SystemSpec, TenantSpec, TriggerType, UserSpec,
};
use crate::scenario::{Environment, IpsType};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;

/// The RSA-1024 / SHA-1 certificate of the weak-key profile (see `fixtures/weak/README.md`).
const WEAK_CERT: &[u8] = include_bytes!("../../../fixtures/weak/lms-legacy-rsa1024-sha1.pem");

/// How far after `today` the rollover deadline lies (passed to the audit as `--deadline`).
pub(crate) const DEADLINE_DAYS: i64 = 45;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("the inventory CSV could not be built: {0}")]
    Csv(String),
}

/// A profile: how a generated tenant is built and what the audit must say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Profile {
    pub name: &'static str,
    pub ips_type: IpsType,
    pub description: &'static str,
    /// `CODE@target` findings the audit must report.
    pub expected: &'static [&'static str],
    /// Codes that may accompany them as follow-on effects (at any target), e.g. the REST calls
    /// of a tenant whose server certificate is expired fail too.
    pub tolerated: &'static [&'static str],
}

const NEO: IpsType = IpsType::Neo;
const CONV: IpsType = IpsType::Converged;

/// Every broken profile, in the order small fleets take them.
pub(crate) const PROFILES: [Profile; 20] = [
    Profile {
        name: "mtls_rejected_neo",
        ips_type: NEO,
        description: "the new LMS certificate is on the IAS admin record but missing from the IPS inbound certificates (which hold the old one); the inventory has no inbound-certificate evidence",
        expected: &["MTLS_REJECTED@tech_user"],
        tolerated: &[],
    },
    Profile {
        name: "neo_critical_and_soon",
        ips_type: NEO,
        description: "NEO tenant still on old certificates: the IAS record's expires in 10 days, the inbound one in 20",
        expected: &[
            "CERT_EXPIRES_CRITICAL@ias_admin_cert",
            "CERT_EXPIRES_BEFORE_DEADLINE@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "CERT_EXPIRES_SOON@ips_inbound_cert",
            "CERT_EXPIRES_BEFORE_DEADLINE@ips_inbound_cert",
            "CERT_NOT_REFERENCE@ips_inbound_cert",
            "MTLS_REJECTED@tech_user",
        ],
        tolerated: &[],
    },
    Profile {
        name: "stale_with_leftover",
        ips_type: CONV,
        description: "no LMS user changed for 3 weeks and the ias_test_user_27F5AAEA leftover exists",
        expected: &["SYNC_STALE@sync", "SYNC_TEST_USER_LEFTOVER@sync"],
        tolerated: &[],
    },
    Profile {
        name: "missing_permission",
        ips_type: CONV,
        description: "the SAP LMS admin record lacks Access Real-Time Provisioning API (declared and live)",
        expected: &["TECH_USER_MISSING_PERMISSION@tech_user"],
        tolerated: &[],
    },
    Profile {
        name: "server_cert_expiring",
        ips_type: CONV,
        description: "the IAS host presents a server certificate that expires in 10 days",
        expected: &["SERVER_CERT_EXPIRING@ias_server"],
        tolerated: &[],
    },
    Profile {
        name: "job_failed",
        ips_type: CONV,
        description: "the inventory's IPS job finished with error (2 failed entities)",
        expected: &["SYNC_JOB_FAILED@sync"],
        tolerated: &[],
    },
    Profile {
        name: "neo_expired_and_not_yet_valid",
        ips_type: NEO,
        description: "NEO tenant: the IAS record holds an expired certificate, the inbound certificates one not valid for 3 more days",
        expected: &[
            "CERT_EXPIRED@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "CERT_NOT_YET_VALID@ips_inbound_cert",
            "CERT_NOT_REFERENCE@ips_inbound_cert",
            "MTLS_REJECTED@tech_user",
        ],
        tolerated: &[],
    },
    Profile {
        name: "wrong_secret",
        ips_type: CONV,
        description: "secrets.env holds a secret the tenant does not know (the client ID locks after 5 tries)",
        expected: &["API_AUTH_FAILED@sync"],
        tolerated: &[],
    },
    Profile {
        name: "throttled",
        ips_type: CONV,
        description: "the tenant answers 429 (Retry-After: 1) to every call",
        expected: &["API_THROTTLED@sync"],
        tolerated: &["API_THROTTLED"],
    },
    Profile {
        name: "unreachable",
        ips_type: CONV,
        description: "the IAS host refuses the TLS handshake",
        expected: &["ENDPOINT_UNREACHABLE@ias_server"],
        tolerated: &["ENDPOINT_UNREACHABLE"],
    },
    Profile {
        name: "before_deadline",
        ips_type: CONV,
        description: "the IAS record holds the old certificate, which expires in 40 days, before the deadline",
        expected: &[
            "CERT_EXPIRES_BEFORE_DEADLINE@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_REJECTED@tech_user",
        ],
        tolerated: &[],
    },
    Profile {
        name: "mtls_rejected_converged",
        ips_type: CONV,
        description: "the SAP LMS admin record holds only the old certificate; the inventory has no certificate evidence",
        expected: &["MTLS_REJECTED@tech_user"],
        tolerated: &[],
    },
    Profile {
        name: "server_cert_expired",
        ips_type: CONV,
        description: "the IAS host presents an expired server certificate",
        expected: &["SERVER_CERT_EXPIRED@ias_server"],
        tolerated: &["ENDPOINT_UNREACHABLE"],
    },
    Profile {
        name: "server_chain_untrusted",
        ips_type: CONV,
        description: "the IAS host presents a certificate from an unknown CA",
        expected: &["SERVER_CHAIN_UNTRUSTED@ias_server"],
        tolerated: &["ENDPOINT_UNREACHABLE"],
    },
    Profile {
        name: "no_client_auth",
        ips_type: CONV,
        description: "the IAS record holds a certificate whose extended key usage is serverAuth only",
        expected: &[
            "CERT_NO_CLIENT_AUTH@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_REJECTED@tech_user",
        ],
        tolerated: &[],
    },
    Profile {
        name: "weak_key_and_signature",
        ips_type: CONV,
        description: "the IAS record holds a legacy RSA-1024 certificate signed with SHA-1",
        expected: &[
            "CERT_WEAK_KEY@ias_admin_cert",
            "CERT_WEAK_SIGNATURE@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_REJECTED@tech_user",
        ],
        tolerated: &[],
    },
    Profile {
        name: "unreadable_evidence",
        ips_type: CONV,
        description: "the exported evidence file holds a private key, not a certificate (the tenant itself is fine)",
        expected: &["CERT_UNREADABLE@ias_admin_cert"],
        tolerated: &[],
    },
    Profile {
        name: "no_read_users",
        ips_type: CONV,
        description: "the audit credential's administrator lacks Read Users (SCIM answers 403)",
        expected: &["API_AUTH_FAILED@sync"],
        tolerated: &[],
    },
    Profile {
        name: "malformed_answers",
        ips_type: CONV,
        description: "the tenant's SCIM answers are cut in half (malformed JSON) on every call",
        expected: &["API_ERROR@sync"],
        tolerated: &["API_ERROR"],
    },
    Profile {
        name: "nothing_to_check",
        ips_type: NEO,
        description: "the inventory row names no host, certificate, permission or credential",
        expected: &["INVENTORY_NOTHING_TO_CHECK@inventory"],
        tolerated: &[],
    },
];

/// How many tenants of a fleet are broken.
pub(crate) fn broken_count(tenants: usize) -> usize {
    if tenants >= 40 {
        (tenants / 5).max(PROFILES.len())
    } else {
        tenants * 45 / 100
    }
}

/// One inventory row (SPEC §3), every column as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InventoryRow {
    pub tenant_id: String,
    pub ips_type: String,
    pub environment: String,
    pub ias_url: String,
    pub ips_url: String,
    pub ips_source_system_id: String,
    pub ias_admin_cert: String,
    pub ips_inbound_cert: String,
    pub tech_user_permissions: String,
    pub credential: String,
    pub job_id: String,
    pub owner: String,
}

/// What a generated tenant was built to produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedTenant {
    pub tenant_id: String,
    /// `healthy` or a [`Profile`] name.
    pub profile: String,
    pub description: String,
    /// Finding codes the audit must report (sorted, deduplicated); empty for a healthy tenant.
    pub expected: Vec<String>,
    /// The same as `CODE@target`.
    pub expected_findings: Vec<String>,
    /// Codes that may also appear as follow-on effects.
    pub tolerated: Vec<String>,
}

/// A file of the export, relative to the export folder.
#[derive(Clone)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: Vec<u8>,
    /// Key material or secrets: written with owner-only permissions.
    pub private: bool,
}

impl std::fmt::Debug for GeneratedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("private", &self.private)
            .finish()
    }
}

/// A generated fleet and everything `--export` writes.
#[derive(Clone)]
pub struct Generated {
    pub scenario: Scenario,
    pub seed: u64,
    pub today: DateTime<Utc>,
    /// The rollover deadline the audit command passes (`today` + 45 days, a date).
    pub deadline: DateTime<Utc>,
    /// The stand-in for "SAP Cloud Platform Client CA" that issued the LMS certificates.
    pub client_ca_pem: String,
    /// The LMS client identity (`lms.pem`, `lms.key`): the new LMS certificate and its key.
    pub lms: Issued,
    /// The reference certificate (`reference.pem`): the new LMS certificate.
    pub reference_pem: String,
    /// Evidence certificates under `certs/`, credential keys under `keys/`.
    pub files: Vec<GeneratedFile>,
    pub inventory: Vec<InventoryRow>,
    /// `credentials.toml` (SPEC §2), secrets referenced by `client_secret_env`.
    pub credentials_toml: String,
    /// `secrets.env` entries: variable name and value.
    pub secrets: Vec<(String, String)>,
    pub tenants: Vec<GeneratedTenant>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("tenants", &self.tenants.len())
            .field("seed", &self.seed)
            .field("today", &self.today)
            .field("files", &self.files)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

const COMPANIES: [&str; 48] = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "soylent",
    "vandelay",
    "wonka",
    "tyrell",
    "cyberdyne",
    "oscorp",
    "stark",
    "wayne",
    "monarch",
    "gringotts",
    "aperture",
    "blackmesa",
    "contoso",
    "fabrikam",
    "northwind",
    "tailspin",
    "wingtip",
    "adatum",
    "litware",
    "proseware",
    "lucerne",
    "margie",
    "fourthcoffee",
    "alpineski",
    "wideworld",
    "nodpublishers",
    "trey",
    "dunder",
    "sterling",
    "pied",
    "massive",
    "rekall",
    "weyland",
    "yoyodyne",
    "zorg",
    "duff",
    "krusty",
    "planet",
    "virtucon",
    "sirius",
    "encom",
    "omni",
    "bluth",
];

const FIRST: [&str; 16] = [
    "Anna", "Ben", "Chiara", "David", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kofi",
    "Lena", "Mateo", "Nora", "Omar", "Priya",
];
const LAST: [&str; 16] = [
    "Schmidt", "Rossi", "Nakamura", "Okafor", "Novak", "Silva", "Dubois", "Kowalski", "Jensen",
    "Haddad", "Moreau", "Fischer", "Larsen", "Costa", "Yilmaz", "Weber",
];

const IAS_DOMAINS: [&str; 2] = ["accounts.ondemand.com", "accounts.cloud.sap"];
const NEO_REGIONS: [&str; 4] = [
    "hana.ondemand.com",
    "eu2.hana.ondemand.com",
    "us1.hana.ondemand.com",
    "ap1.hana.ondemand.com",
];

const LMS_PERMISSIONS: [&str; 2] = ["Read Users", "Access Real-Time Provisioning API"];
const LMS_SYSTEM_NAME: &str = "SAP SuccessFactors Learning";

fn uuid(rng: &mut fastrand::Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    uuid_from_bytes(b)
}

fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    let mut b = vec![0u8; n];
    rng.fill(&mut b);
    crate::ids::hex(&b)
}

fn secret(rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..32)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect()
}

fn env_name(tenant: &str) -> String {
    let mut s: String = tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    s.push_str("_IAS_SECRET");
    s
}

/// How the audit credential of a tenant authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMode {
    Basic,
    OAuth,
    Mtls,
}

impl AuthMode {
    fn as_str(self) -> &'static str {
        match self {
            AuthMode::Basic => "basic",
            AuthMode::OAuth => "oauth",
            AuthMode::Mtls => "mtls",
        }
    }
}

/// The certificates of the fleet: the client CA and the LMS identity.
struct Pki {
    client_ca: Ca,
    lms: Issued,
    today: DateTime<Utc>,
}

impl Pki {
    fn lms_cert(
        &self,
        cn_suffix: &str,
        from: i64,
        to: i64,
        ekus: Option<Vec<Eku>>,
    ) -> Result<Issued, PkiError> {
        let mut spec = LeafSpec::client(
            &format!("lms-mtls.successfactors.com ({cn_suffix})"),
            self.today + Duration::days(from),
            self.today + Duration::days(to),
        );
        spec.ekus = ekus;
        self.client_ca.issue(&spec)
    }
}

/// Builds the fleet. See the module documentation for the mix.
pub fn generate(
    tenants: usize,
    seed: u64,
    today: DateTime<Utc>,
) -> Result<Generated, GenerateError> {
    let today = DateTime::from_timestamp(today.timestamp(), 0).unwrap_or(today);
    let deadline_date = (today + Duration::days(DEADLINE_DAYS)).date_naive();
    let deadline = deadline_date
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(today + Duration::days(DEADLINE_DAYS));
    let mut rng = fastrand::Rng::with_seed(seed);

    let client_ca = Ca::new(
        "SAP Cloud Platform Client CA (simulated)",
        today - Duration::days(3650),
        today + Duration::days(3650),
    )?;
    let lms = client_ca.issue(&LeafSpec::client(
        "lms-mtls.successfactors.com (2025-2026)",
        today - Duration::days(7),
        today + Duration::days(358),
    ))?;
    let pki = Pki {
        client_ca,
        lms,
        today,
    };

    // Which tenant gets which profile: the first `broken` positions of a seeded shuffle.
    let broken = broken_count(tenants);
    let mut order: Vec<usize> = (0..tenants).collect();
    rng.shuffle(&mut order);
    let mut profile_of: Vec<Option<&'static Profile>> = vec![None; tenants];
    for (k, &pos) in order.iter().take(broken).enumerate() {
        profile_of[pos] = Some(&PROFILES[k % PROFILES.len()]);
    }

    let mut out = Generated {
        scenario: Scenario {
            description: format!(
                "generated fleet: {tenants} tenants, seed {seed}, {} healthy, {broken} broken",
                tenants - broken
            ),
            tenants: Vec::new(),
        },
        seed,
        today,
        deadline,
        client_ca_pem: pki.client_ca.cert.cert_pem.clone(),
        lms: pki.lms.clone(),
        reference_pem: pki.lms.cert_pem.clone(),
        files: Vec::new(),
        inventory: Vec::new(),
        credentials_toml: String::new(),
        secrets: Vec::new(),
        tenants: Vec::new(),
    };
    let mut credentials: BTreeMap<String, toml::Table> = BTreeMap::new();
    for (i, profile) in profile_of.iter().enumerate() {
        build_tenant(i, *profile, &pki, &mut rng, &mut out, &mut credentials)?;
    }
    let mut doc = toml::Table::new();
    doc.insert(
        "credential".to_string(),
        toml::Value::Table(
            credentials
                .into_iter()
                .map(|(k, v)| (k, toml::Value::Table(v)))
                .collect(),
        ),
    );
    out.credentials_toml = format!(
        "# Audit credentials of the simulated fleet (mtls-audit sim, seed {seed}).\n# Secrets come from secrets.env: set -a; . ./secrets.env; set +a\n\n{}",
        toml::to_string(&doc).map_err(ScenarioError::Serialize)?
    );
    out.scenario.validate()?;
    Ok(out)
}

fn day(today: DateTime<Utc>, days: i64, rng: &mut fastrand::Rng) -> DateTime<Utc> {
    today + Duration::days(days) - Duration::seconds(rng.i64(0..86_400))
}

fn build_tenant(
    i: usize,
    profile: Option<&'static Profile>,
    pki: &Pki,
    rng: &mut fastrand::Rng,
    out: &mut Generated,
    credentials: &mut BTreeMap<String, toml::Table>,
) -> Result<(), GenerateError> {
    let today = pki.today;
    let name = profile.map_or("healthy", |p| p.name);
    let base = COMPANIES[i % COMPANIES.len()];
    let slug = match i / COMPANIES.len() {
        0 => base.to_string(),
        n => format!("{base}{}", n + 1),
    };
    let tenant_id = slug.to_uppercase();
    let ips_type = match profile {
        Some(p) => p.ips_type,
        None if rng.u8(0..100) < 35 => IpsType::Neo,
        None => IpsType::Converged,
    };
    let environment = if rng.u8(0..100) < 20 {
        Environment::Preview
    } else {
        Environment::Production
    };
    let ias_host = format!("{slug}.{}", IAS_DOMAINS[usize::from(rng.u8(0..100) >= 80)]);
    let (ips_host, ips_cert_host) = if ips_type == IpsType::Neo {
        let region = NEO_REGIONS[rng.usize(..NEO_REGIONS.len())];
        let provider = format!("a{}", &hex(rng, 4)[..7]);
        (
            Some(format!("ipsproxy{provider}-{slug}.{region}")),
            Some(format!("ipsproxy{provider}-{slug}.cert.{region}")),
        )
    } else {
        (None, None)
    };
    let first = FIRST[rng.usize(..FIRST.len())];
    let last = LAST[rng.usize(..LAST.len())];
    let owner = format!(
        "{first} {last} <{}.{}@{slug}.example>",
        first.to_lowercase(),
        last.to_lowercase()
    );

    // IPS systems: the LMS source, the IAS target, and on some tenants a proxy system.
    let lms_system_id = uuid(rng);
    let mut systems = vec![
        SystemSpec {
            id: lms_system_id.clone(),
            name: LMS_SYSTEM_NAME.to_string(),
            kind: SystemKind::Source,
            connector: "SAP_SUCCESSFACTORS_LEARNING".to_string(),
            inbound_certificates: Vec::new(),
            inbound_certificate_files: Vec::new(),
        },
        SystemSpec {
            id: uuid(rng),
            name: "Identity Authentication".to_string(),
            kind: SystemKind::Target,
            connector: "SAP_CLOUD_IDENTITY".to_string(),
            inbound_certificates: Vec::new(),
            inbound_certificate_files: Vec::new(),
        },
    ];
    if rng.u8(0..100) < 30 {
        systems.push(SystemSpec {
            id: uuid(rng),
            name: "Learning Proxy".to_string(),
            kind: SystemKind::Proxy,
            connector: "SAP_SUCCESSFACTORS_LEARNING".to_string(),
            inbound_certificates: Vec::new(),
            inbound_certificate_files: Vec::new(),
        });
    }

    // The audit credential and its administrator.
    let auth = match name {
        "wrong_secret" | "throttled" => AuthMode::Basic,
        "no_read_users" | "job_failed" => AuthMode::OAuth,
        "stale_with_leftover" => AuthMode::Mtls,
        _ => match rng.u8(0..100) {
            0..50 => AuthMode::Basic,
            50..80 => AuthMode::OAuth,
            _ => AuthMode::Mtls,
        },
    };
    let has_credential = match name {
        "server_cert_expired" | "server_chain_untrusted" | "unreachable" | "nothing_to_check" => {
            false
        }
        "healthy" => rng.u8(0..100) < 85,
        _ => true,
    };
    let reader_id = uuid(rng);
    let reader_secret = secret(rng);
    let mut reader_perms = vec![
        "Read Users".to_string(),
        "Access Identity Provisioning Tenant Admin API".to_string(),
    ];
    if name == "no_read_users" {
        reader_perms.retain(|p| p != "Read Users");
    }

    // Users: LMS-provisioned (sourceSystem 101) and a few from SuccessFactors (100).
    let mut users = Vec::new();
    let lms_users = 3 + rng.usize(..8);
    let stale = name == "stale_with_leftover";
    for k in 0..lms_users {
        let f = FIRST[rng.usize(..FIRST.len())];
        let l = LAST[rng.usize(..LAST.len())];
        let created = day(today, -(30 + rng.i64(0..700)), rng);
        let modified = if stale {
            day(today, -(21 + rng.i64(0..60)), rng)
        } else if k == 0 {
            day(today, -1, rng)
        } else {
            day(today, -rng.i64(1..20), rng)
        };
        let user_name = format!("{}.{}{}", f.to_lowercase(), l.to_lowercase(), k + 1);
        users.push(UserSpec {
            id: uuid(rng),
            emails: vec![format!("{user_name}@{slug}.example")],
            user_name,
            given_name: Some(f.to_string()),
            family_name: Some(l.to_string()),
            display_name: Some(format!("{f} {l}")),
            user_type: "employee".to_string(),
            active: true,
            source_system: Some(101),
            source_system_id: Some(tenant_id.clone()),
            user_id: Some(format!("P{:06}", rng.u32(1..1_000_000))),
            created,
            last_modified: modified.max(created),
        });
    }
    for k in 0..(2 + rng.usize(..4)) {
        let f = FIRST[rng.usize(..FIRST.len())];
        let l = LAST[rng.usize(..LAST.len())];
        let created = day(today, -(10 + rng.i64(0..900)), rng);
        let user_name = format!("{}{}{}", &f[..1].to_lowercase(), l.to_lowercase(), k + 1);
        users.push(UserSpec {
            id: uuid(rng),
            emails: vec![format!("{user_name}@{slug}.example")],
            user_name,
            given_name: Some(f.to_string()),
            family_name: Some(l.to_string()),
            display_name: Some(format!("{f} {l}")),
            user_type: "employee".to_string(),
            active: rng.u8(0..100) < 95,
            source_system: Some(100),
            source_system_id: Some(format!("{slug}prod")),
            user_id: Some(format!("P{:06}", rng.u32(1..1_000_000))),
            created,
            last_modified: created + Duration::days(rng.i64(0..5)),
        });
    }
    if stale {
        let at = day(today, -90, rng);
        users.push(UserSpec {
            id: uuid(rng),
            user_name: TEST_USER.to_string(),
            emails: vec![format!("ias_test_user_27f5aaea@{slug}.example")],
            given_name: None,
            family_name: None,
            display_name: None,
            user_type: "public".to_string(),
            active: true,
            source_system: Some(101),
            source_system_id: Some(tenant_id.clone()),
            user_id: None,
            created: at,
            last_modified: at,
        });
    }
    let admins_group = GroupSpec {
        id: uuid(rng),
        display_name: "Learning Administrators".to_string(),
        members: users.iter().take(2).map(|u| u.id.clone()).collect(),
    };
    let all_group = GroupSpec {
        id: uuid(rng),
        display_name: "All Employees".to_string(),
        members: users.iter().map(|u| u.id.clone()).collect(),
    };
    let applications = vec![
        ApplicationSpec {
            id: uuid(rng),
            name: LMS_SYSTEM_NAME.to_string(),
            description: format!("Learning tenant {tenant_id}"),
            api_certificates: vec![ApiCertificateSpec {
                id: hex(rng, 16),
                dn: "CN=lms-mtls.successfactors.com (2025-2026),O=SAP SE".to_string(),
                all_apis_access: false,
                authorization_scopes: vec!["readUserProfile".to_string()],
            }],
        },
        ApplicationSpec {
            id: uuid(rng),
            name: "SAP SuccessFactors".to_string(),
            description: String::new(),
            api_certificates: Vec::new(),
        },
    ];

    // The last IPS job of the LMS source system (converged tenants only expose job logs).
    let job_id = hex(rng, 10);
    let read_count = lms_users as u64 + rng.u64(0..20);
    let failed = if name == "job_failed" { 2 } else { 0 };
    let start = day(today, 0, rng) - Duration::hours(2);
    let job = JobSpec {
        id: job_id.clone(),
        source_system_id: lms_system_id.clone(),
        job_type: JobType::Read,
        trigger_type: TriggerType::Repeat,
        read_mode: ReadMode::Delta,
        status: if failed > 0 {
            JobStatus::FinishedWithError
        } else {
            JobStatus::Success
        },
        start,
        end: Some(start + Duration::minutes(3 + rng.i64(0..10))),
        triggered_by: "Identity Provisioning Internal API".to_string(),
        error_message: (failed > 0).then(|| format!("{failed} entities failed to be provisioned")),
        statistics: vec![
            JobStatistics {
                entity_type: "user".to_string(),
                system: format!("{LMS_SYSTEM_NAME}.source"),
                read: read_count,
                created: 0,
                updated: 0,
                deleted: 0,
                skipped: 0,
                failed: 0,
            },
            JobStatistics {
                entity_type: "user".to_string(),
                system: "Identity Authentication.target".to_string(),
                read: 0,
                created: rng.u64(0..3),
                updated: rng.u64(0..5),
                deleted: 0,
                skipped: read_count / 4,
                failed,
            },
        ],
        failed_entities: (0..failed)
            .map(|k| EntityLog {
                entity_id: format!("lmsuser{}", 100 + k),
                entity_type: "user".to_string(),
                system: "IAS.target".to_string(),
                operation: "CREATE".to_string(),
                reason: if k == 0 {
                    "HTTP 409 Conflict: User with userName already exists".to_string()
                } else {
                    "HTTP 400 Bad Request: emails[0].value is not a valid e-mail address"
                        .to_string()
                },
            })
            .collect(),
        skipped_entities: Vec::new(),
        restarted_as: None,
    };

    // Certificates: what the LMS admin record and the inbound certificates hold, and the
    // evidence files the operator exported.
    let reference = pki.lms.cert_pem.clone();
    let (mut admin_cert, mut inbound_cert) = (reference.clone(), reference.clone());
    let mut admin_evidence: Option<Vec<u8>> = Some(reference.clone().into_bytes());
    let mut inbound_evidence: Option<Vec<u8>> =
        (ips_type == IpsType::Neo).then(|| reference.clone().into_bytes());
    match name {
        "neo_expired_and_not_yet_valid" => {
            admin_cert = pki
                .lms_cert("2024-2025", -400, -5, Some(vec![Eku::ClientAuth]))?
                .cert_pem;
            inbound_cert = pki
                .lms_cert("2026-2027", 3, 368, Some(vec![Eku::ClientAuth]))?
                .cert_pem;
        }
        "neo_critical_and_soon" => {
            admin_cert = pki
                .lms_cert("2024-2025", -355, 10, Some(vec![Eku::ClientAuth]))?
                .cert_pem;
            inbound_cert = pki
                .lms_cert("2024-2025 b", -345, 20, Some(vec![Eku::ClientAuth]))?
                .cert_pem;
        }
        "before_deadline" => {
            admin_cert = pki
                .lms_cert("2024-2025", -325, 40, Some(vec![Eku::ClientAuth]))?
                .cert_pem;
        }
        "no_client_auth" => {
            admin_cert = pki
                .lms_cert("server usage", -30, 335, Some(vec![Eku::ServerAuth]))?
                .cert_pem;
        }
        "weak_key_and_signature" => {
            admin_cert = String::from_utf8_lossy(WEAK_CERT).into_owned();
        }
        "mtls_rejected_converged" => {
            admin_cert = pki
                .lms_cert("previous", -200, 165, Some(vec![Eku::ClientAuth]))?
                .cert_pem;
            admin_evidence = None;
        }
        "mtls_rejected_neo" => {
            inbound_cert = pki
                .lms_cert("previous", -200, 165, Some(vec![Eku::ClientAuth]))?
                .cert_pem;
            inbound_evidence = None;
        }
        _ => {}
    }
    if admin_evidence.is_some() && admin_cert != reference {
        admin_evidence = Some(admin_cert.clone().into_bytes());
    }
    if inbound_evidence.is_some() && inbound_cert != reference {
        inbound_evidence = Some(inbound_cert.clone().into_bytes());
    }
    if name == "unreadable_evidence" {
        // An operator exported the key of a .p12 instead of its certificate.
        let throwaway = pki::self_signed(&LeafSpec::client(
            "throwaway",
            today,
            today + Duration::days(1),
        ))?;
        admin_evidence = Some(throwaway.key_pem.into_bytes());
    }
    if ips_type == IpsType::Neo {
        systems[0].inbound_certificates = vec![inbound_cert];
    }

    let mut lms_perms: Vec<String> = LMS_PERMISSIONS.iter().map(|s| s.to_string()).collect();
    if name == "missing_permission" {
        lms_perms.retain(|p| p != "Access Real-Time Provisioning API");
    }
    let mut admins = vec![AdminSpec {
        name: format!("SAP LMS – {tenant_id}"),
        kind: AdminKind::System,
        client_id: Some(uuid(rng)),
        secrets: Vec::new(),
        permissions: lms_perms.clone(),
        certificates: vec![admin_cert],
        certificate_files: Vec::new(),
        client_id_lock: true,
    }];
    let reader_cert = if has_credential && auth == AuthMode::Mtls {
        Some(pki.client_ca.issue(&LeafSpec::client(
            &format!("mtls-audit reader ({tenant_id})"),
            today - Duration::days(30),
            today + Duration::days(700),
        ))?)
    } else {
        None
    };
    admins.push(AdminSpec {
        name: format!("mtls-audit reader ({tenant_id})"),
        kind: AdminKind::System,
        client_id: Some(reader_id.clone()),
        secrets: vec![reader_secret.clone()],
        permissions: reader_perms,
        certificates: reader_cert.iter().map(|c| c.cert_pem.clone()).collect(),
        certificate_files: Vec::new(),
        client_id_lock: true,
    });
    admins.push(AdminSpec {
        name: format!("{first} {last}"),
        kind: AdminKind::Human,
        client_id: None,
        secrets: Vec::new(),
        permissions: vec![
            "Manage Users".to_string(),
            "Manage Tenant Configuration".to_string(),
        ],
        certificates: Vec::new(),
        certificate_files: Vec::new(),
        client_id_lock: true,
    });

    let mut faults = Faults::default();
    match name {
        "server_cert_expiring" => faults.server_cert = ServerCertMode::Expiring,
        "server_cert_expired" => faults.server_cert = ServerCertMode::Expired,
        "server_chain_untrusted" => faults.server_cert = ServerCertMode::Untrusted,
        "unreachable" => faults.server_cert = ServerCertMode::Refuse,
        "throttled" => {
            faults.status = Some(429);
            faults.retry_after_secs = Some(1);
        }
        "malformed_answers" => {
            faults.malformed_json = true;
            faults.families = vec![Family::Scim];
        }
        _ => {}
    }

    let spec = TenantSpec {
        id: tenant_id.clone(),
        ips_type,
        environment,
        ias_host: ias_host.clone(),
        ips_host,
        ips_cert_host: ips_cert_host.clone(),
        token_lifetime_secs: 3600,
        admins,
        systems,
        users,
        groups: vec![admins_group, all_group],
        applications,
        jobs: if ips_type == IpsType::Converged {
            vec![job]
        } else {
            Vec::new()
        },
        faults,
    };

    // The inventory row, as an operator fills it in.
    let mut row = InventoryRow {
        tenant_id: tenant_id.clone(),
        ips_type: ips_type.as_str().to_string(),
        environment: environment.as_str().to_string(),
        owner,
        ..InventoryRow::default()
    };
    if name != "nothing_to_check" {
        row.ias_url = format!("https://{ias_host}");
        row.ips_url = ips_cert_host
            .map(|h| format!("https://{h}"))
            .unwrap_or_default();
        row.ips_source_system_id = lms_system_id;
        let mut declared = lms_perms;
        if rng.u8(0..100) < 25 {
            declared.push("Manage Users".to_string());
        }
        row.tech_user_permissions = declared.join(";");
        if ips_type == IpsType::Converged
            && name != "nothing_to_check"
            && (name != "healthy" || rng.u8(0..100) < 80)
        {
            row.job_id = job_id;
        }
        for (target, evidence, col) in [
            ("ias_admin_cert", admin_evidence, &mut row.ias_admin_cert),
            (
                "ips_inbound_cert",
                inbound_evidence,
                &mut row.ips_inbound_cert,
            ),
        ] {
            let Some(pem) = evidence else { continue };
            // Operators export PEM (.crt) or DER (.cer); the audit sniffs the content.
            let der = name == "healthy" && rng.u8(0..100) < 25;
            let (path, contents) = if der {
                let d = rustls_pki_types::pem::PemObject::from_pem_slice(&pem)
                    .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
                    .unwrap_or(pem);
                (format!("certs/{slug}-{target}.cer"), d)
            } else {
                (format!("certs/{slug}-{target}.pem"), pem)
            };
            *col = path.clone();
            out.files.push(GeneratedFile {
                path,
                contents,
                private: false,
            });
        }
        if has_credential {
            let cred = format!("{slug}-reader");
            let mut t = toml::Table::new();
            t.insert("auth".into(), auth.as_str().into());
            t.insert("client_id".into(), reader_id.into());
            if auth == AuthMode::Mtls {
                if let Some(c) = &reader_cert {
                    let (cp, kp) = (format!("keys/{cred}.pem"), format!("keys/{cred}.key"));
                    out.files.push(GeneratedFile {
                        path: cp.clone(),
                        contents: c.cert_pem.clone().into_bytes(),
                        private: false,
                    });
                    out.files.push(GeneratedFile {
                        path: kp.clone(),
                        contents: c.key_pem.clone().into_bytes(),
                        private: true,
                    });
                    t.insert("cert".into(), cp.into());
                    t.insert("key".into(), kp.into());
                }
            } else {
                let env = env_name(&tenant_id);
                t.insert("client_secret_env".into(), env.clone().into());
                let value = if name == "wrong_secret" {
                    secret(rng)
                } else {
                    reader_secret
                };
                out.secrets.push((env, value));
            }
            credentials.insert(cred.clone(), t);
            row.credential = cred;
        }
    }

    let (expected_findings, tolerated, description) = match profile {
        Some(p) => (
            p.expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            p.tolerated
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            p.description.to_string(),
        ),
        None => (
            Vec::new(),
            Vec::new(),
            "healthy: every check passes".to_string(),
        ),
    };
    let mut expected: Vec<String> = expected_findings
        .iter()
        .map(|f| f.split('@').next().unwrap_or(f).to_string())
        .collect();
    expected.sort();
    expected.dedup();
    out.tenants.push(GeneratedTenant {
        tenant_id,
        profile: name.to_string(),
        description,
        expected,
        expected_findings,
        tolerated,
    });
    out.inventory.push(row);
    out.scenario.tenants.push(spec);
    Ok(())
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-:=".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl Generated {
    pub fn inventory_csv(&self) -> Result<String, GenerateError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in &self.inventory {
            w.serialize(row)
                .map_err(|e| GenerateError::Csv(e.to_string()))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| GenerateError::Csv(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| GenerateError::Csv(e.to_string()))
    }

    /// `secrets.env`: one `NAME=value` line per secret the credentials name.
    pub fn secrets_env(&self) -> String {
        let mut s = String::from(
            "# Secrets of the simulated fleet's audit credentials. Load with: set -a; . ./secrets.env; set +a\n",
        );
        for (k, v) in &self.secrets {
            s.push_str(&format!("{k}={v}\n"));
        }
        s
    }

    /// The audit command of SPEC §7 for an export in `dir` and a simulator at `addr`.
    pub fn audit_command(&self, dir: &Path, addr: SocketAddr) -> String {
        let d = |f: &str| shell_quote(&dir.join(f).display().to_string());
        format!(
            "set -a; . {}; set +a; mtls-audit audit {} --credentials {} --lms-cert {} --lms-key {} --reference-cert {} --ca-cert {} --connect-to {addr} --deadline {}",
            d("secrets.env"),
            d("inventory.csv"),
            d("credentials.toml"),
            d("lms.pem"),
            d("lms.key"),
            d("reference.pem"),
            d("ca.pem"),
            self.deadline.format("%Y-%m-%d"),
        )
    }

    /// What each tenant was built to produce, as written to `expected.json`.
    pub fn expected_json(&self) -> serde_json::Value {
        serde_json::json!({
            "seed": self.seed,
            "today": self.today,
            "deadline": self.deadline.format("%Y-%m-%d").to_string(),
            "tenants": self.tenants,
        })
    }

    /// Writes the export (SPEC §7): `scenario.toml`, `inventory.csv`, `credentials.toml`,
    /// `secrets.env`, `lms.pem`, `lms.key`, `reference.pem`, `ca.pem` (the simulator's CA,
    /// `ca_pem`), `client-ca.pem`, `expected.json`, `certs/`, `keys/`, and with the
    /// simulator's address `AUDIT_COMMAND.txt`.
    pub fn write(
        &self,
        dir: &Path,
        ca_pem: &str,
        addr: Option<SocketAddr>,
    ) -> Result<(), GenerateError> {
        let put = |rel: &str, contents: &[u8], private: bool| -> Result<(), GenerateError> {
            let err = |source| GenerateError::Write {
                path: dir.join(rel).display().to_string(),
                source,
            };
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(err)?;
            }
            write_file(&path, contents, private).map_err(err)
        };
        put("scenario.toml", self.scenario.to_toml()?.as_bytes(), false)?;
        put("inventory.csv", self.inventory_csv()?.as_bytes(), false)?;
        put("credentials.toml", self.credentials_toml.as_bytes(), false)?;
        put("secrets.env", self.secrets_env().as_bytes(), true)?;
        put("lms.pem", self.lms.cert_pem.as_bytes(), false)?;
        put("lms.key", self.lms.key_pem.as_bytes(), true)?;
        put("reference.pem", self.reference_pem.as_bytes(), false)?;
        put("ca.pem", ca_pem.as_bytes(), false)?;
        put("client-ca.pem", self.client_ca_pem.as_bytes(), false)?;
        let expected = serde_json::to_string_pretty(&self.expected_json()).unwrap_or_default();
        put("expected.json", expected.as_bytes(), false)?;
        for f in &self.files {
            put(&f.path, &f.contents, f.private)?;
        }
        if let Some(addr) = addr {
            put(
                "AUDIT_COMMAND.txt",
                format!("{}\n", self.audit_command(dir, addr)).as_bytes(),
                false,
            )?;
        }
        Ok(())
    }
}

fn write_file(path: &Path, contents: &[u8], private: bool) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(if private { 0o600 } else { 0o644 })
            .open(path)?;
        f.write_all(contents)
    }
    #[cfg(not(unix))]
    {
        let _ = private;
        std::fs::write(path, contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-07-15T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn forty_tenants_cover_every_profile_with_a_healthy_majority() {
        let g = generate(40, 3, today()).unwrap();
        assert_eq!(g.tenants.len(), 40);
        let healthy = g.tenants.iter().filter(|t| t.profile == "healthy").count();
        assert_eq!(healthy, 20);
        for p in PROFILES {
            assert!(g.tenants.iter().any(|t| t.profile == p.name), "{}", p.name);
        }
        let mut codes: Vec<&str> = g
            .tenants
            .iter()
            .flat_map(|t| t.expected.iter().map(String::as_str))
            .collect();
        codes.sort();
        codes.dedup();
        // That every finding code of the auditor is among them is checked by the root crate's
        // integration tests (this crate does not know the auditor's codes).
        assert!(codes.len() >= 20, "{codes:?}");
    }

    #[test]
    fn deterministic_except_key_material() {
        let a = generate(12, 99, today()).unwrap();
        let b = generate(12, 99, today()).unwrap();
        assert_eq!(a.inventory, b.inventory);
        assert_eq!(a.tenants, b.tenants);
        assert_eq!(a.secrets, b.secrets);
        let strip = |s: &Scenario| {
            let mut s = s.clone();
            for t in &mut s.tenants {
                for ad in &mut t.admins {
                    ad.certificates.clear();
                }
                for sy in &mut t.systems {
                    sy.inbound_certificates.clear();
                }
            }
            s
        };
        assert_eq!(strip(&a.scenario), strip(&b.scenario));
        assert_ne!(a.lms.cert_pem, b.lms.cert_pem, "key material is fresh");
        let c = generate(12, 100, today()).unwrap();
        assert_ne!(a.inventory, c.inventory);
    }

    #[test]
    fn evidence_matches_the_profiles() {
        let g = generate(40, 11, today()).unwrap();
        let file = |p: &str| g.files.iter().find(|f| f.path == p).unwrap();
        for (t, row) in g.tenants.iter().zip(&g.inventory) {
            let spec = g.scenario.tenant(&t.tenant_id).unwrap();
            match t.profile.as_str() {
                "before_deadline" => {
                    let pem = &file(&row.ias_admin_cert).contents;
                    let der = rustls_pki_types::pem::PemObject::from_pem_slice(pem)
                        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
                        .unwrap();
                    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
                    let not_after = cert.validity().not_after.timestamp();
                    assert_eq!(not_after, (today() + Duration::days(40)).timestamp());
                    assert!(not_after < g.deadline.timestamp());
                    assert_eq!(spec.admins[0].certificates[0].as_bytes(), &pem[..]);
                }
                "wrong_secret" => {
                    let (_, v) = g
                        .secrets
                        .iter()
                        .find(|(k, _)| k == &env_name(&t.tenant_id))
                        .unwrap();
                    assert!(!spec.admins[1].secrets.contains(v));
                }
                "nothing_to_check" => {
                    assert!(
                        row.ias_url.is_empty()
                            && row.credential.is_empty()
                            && row.tech_user_permissions.is_empty()
                    );
                }
                "healthy" => {
                    assert!(!row.ias_url.is_empty());
                    assert_eq!(spec.admins[0].certificates[0], g.reference_pem);
                    if spec.ips_type == IpsType::Neo {
                        assert_eq!(spec.systems[0].inbound_certificates[0], g.reference_pem);
                        assert!(row.ips_url.contains(".cert."), "{}", row.ips_url);
                    }
                }
                _ => {}
            }
        }
        let csv = g.inventory_csv().unwrap();
        assert!(csv.starts_with("tenant_id,ips_type,environment,ias_url,ips_url,ips_source_system_id,ias_admin_cert,ips_inbound_cert,tech_user_permissions,credential,job_id,owner\n"));
        // The auditor reading this inventory is tested in the root crate.
        assert_eq!(csv.lines().count(), 41);
        assert!(!format!("{g:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn small_fleets_take_the_first_profiles() {
        assert_eq!(broken_count(10), 4);
        assert_eq!(broken_count(40), 20);
        assert_eq!(broken_count(100), 20);
        assert_eq!(broken_count(1000), 200);
        let g = generate(10, 1, today()).unwrap();
        let mut names: Vec<&str> = g
            .tenants
            .iter()
            .map(|t| t.profile.as_str())
            .filter(|p| *p != "healthy")
            .collect();
        names.sort();
        let mut want: Vec<&str> = PROFILES[..4].iter().map(|p| p.name).collect();
        want.sort();
        assert_eq!(names, want);
    }
}
