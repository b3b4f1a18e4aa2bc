//! The scenario: every simulated tenant's state as data (TOML or JSON). This is what
//! `--scenario FILE` reads, what `--export DIR` writes as `scenario.toml`, what
//! `GET /_sim/tenants/{id}` returns and what `PUT /_sim/tenants/{id}` takes.
//!
//! Names follow the SAP vocabulary of `docs/sap-facts.md`: permission toggles are the exact
//! console labels, job statuses the UI's, `source_system = 101` marks users provisioned from
//! SuccessFactors Learning. The format is documented with an example in
//! `fixtures/scenario.example.toml` and in `docs/simulator.md`.

use chrono::{DateTime, Utc};
use mtls_audit_input::{FileError, FileLimit, FileProblem, read_file};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The `userName` of the test user a failed real-time sync activation leaves behind in IAS
/// (KBA 3248892); generated fleets plant it on purpose.
pub const TEST_USER: &str = "ias_test_user_27F5AAEA";

/// Why a scenario cannot be used. Each variant's text says what failed; the cause, where there is
/// one, is its [`source`](std::error::Error::source) and is not repeated in the text.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario file could not be read: missing, not a regular file, over its size limit,
    /// not readable, not UTF-8 (the text names the file and the reason).
    #[error(transparent)]
    Read(#[from] FileError),
    /// The file is not a valid TOML scenario.
    #[error("{path}: not a valid TOML scenario")]
    Toml {
        /// The scenario file.
        path: PathBuf,
        /// What the TOML parser says (line, column and the offending text).
        #[source]
        source: toml::de::Error,
    },
    /// The file is not a valid JSON scenario.
    #[error("{path}: not a valid JSON scenario")]
    Json {
        /// The scenario file.
        path: PathBuf,
        /// What the JSON parser says.
        #[source]
        source: serde_json::Error,
    },
    /// The `[chaos]` settings are out of range.
    #[error("chaos: {0}")]
    Chaos(String),
    /// A tenant breaks a rule the server relies on.
    #[error("tenant '{tenant}': {message}")]
    Invalid {
        /// The tenant's ID.
        tenant: String,
        /// The rule it breaks.
        message: String,
    },
    /// A certificate of a tenant (on an admin record or among a system's inbound certificates)
    /// cannot be used.
    #[error("tenant '{tenant}': {owner}: unusable certificate")]
    Certificate {
        /// The tenant's ID.
        tenant: String,
        /// Whose certificate: `admin '<name>'` or `system '<name>'`.
        owner: String,
        /// What is wrong with it.
        #[source]
        source: PemError,
    },
    /// A `certificate_files` entry could not be read (the source names the file, resolved
    /// against the scenario's folder, and why).
    #[error("tenant '{tenant}': cannot read a certificate file")]
    CertificateFile {
        /// The tenant's ID.
        tenant: String,
        /// Why reading failed.
        #[source]
        source: FileError,
    },
    /// The scenario could not be written as TOML.
    #[error("the scenario cannot be written as TOML")]
    Serialize(#[source] toml::ser::Error),
}

/// Why a PEM text is not a usable certificate.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// A PEM block is malformed.
    #[error("not a PEM certificate")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// The text holds no `CERTIFICATE` block.
    #[error("no PEM certificate block found")]
    Empty,
    /// A block is not an X.509 certificate.
    #[error("not a valid X.509 certificate")]
    X509(#[source] x509_parser::nom::Err<x509_parser::error::X509Error>),
}

fn invalid(tenant: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        tenant: tenant.to_string(),
        message: message.into(),
    }
}

/// A whole simulated fleet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Free text shown by `/_sim/health`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The tenants (`[[tenant]]` in TOML).
    #[serde(default, rename = "tenant", alias = "tenants")]
    pub tenants: Vec<TenantSpec>,
    /// Random faults on a share of every tenant's requests (`[chaos]`); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos: Option<Chaos>,
}

/// Random faults for a share of all requests to tenant hosts, seeded so that a run can be
/// repeated: the `n`-th request of a tenant to an endpoint gets the same fault for the same seed.
/// Set in a scenario (`[chaos]`), with `PUT /_sim/chaos` or `SimHandle::set_chaos`. A tenant's
/// own request faults ([`Faults`]) take precedence; `/_sim/` is never faulted. Counted per
/// tenant and kind in [`crate::TenantCounters::chaos`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chaos {
    /// The share of requests that get a fault, from 0 to 1 (0.2: one in five).
    pub rate: f64,
    /// Seeds the draws.
    #[serde(default)]
    pub seed: u64,
    /// The kinds of fault drawn from, with equal odds; all of them when absent.
    #[serde(default = "ChaosKind::all")]
    pub kinds: Vec<ChaosKind>,
    /// `latency`: how long the answer is held, in milliseconds of real time. Set it past the
    /// client's request timeout to make the client give up.
    #[serde(default = "default_chaos_latency_ms")]
    pub latency_ms: u64,
    /// `stall`: how long the request is held before it is answered normally, in milliseconds;
    /// 0 holds it until the client gives up or the simulator stops.
    #[serde(default)]
    pub stall_ms: u64,
    /// `throttled_retry_after`: the `Retry-After` value, in seconds.
    #[serde(default = "default_chaos_retry_after")]
    pub retry_after_secs: u64,
    /// The API families faulted; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<Family>,
}

fn default_chaos_latency_ms() -> u64 {
    3_000
}

fn default_chaos_retry_after() -> u64 {
    1
}

impl Chaos {
    /// Every kind at `rate`, seeded with `seed`, the other settings at their defaults.
    pub fn new(rate: f64, seed: u64) -> Chaos {
        Chaos {
            rate,
            seed,
            kinds: ChaosKind::all(),
            latency_ms: default_chaos_latency_ms(),
            stall_ms: 0,
            retry_after_secs: default_chaos_retry_after(),
            families: Vec::new(),
        }
    }

    /// Refuses a rate outside 0..=1, an empty list of kinds, a zero latency.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rate.is_finite() && (0.0..=1.0).contains(&self.rate)) {
            return Err(format!(
                "chaos rate must be between 0 and 1, not {}",
                self.rate
            ));
        }
        if self.kinds.is_empty() {
            return Err("chaos kinds must not be empty".into());
        }
        if self.latency_ms == 0 && self.kinds.contains(&ChaosKind::Latency) {
            return Err("chaos latency_ms must be above 0".into());
        }
        Ok(())
    }
}

/// A kind of fault [`Chaos`] injects, with what the client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChaosKind {
    /// The answer comes `latency_ms` late (past the client's timeout).
    Latency,
    /// The connection is reset (TCP RST) instead of answering.
    Reset,
    /// 429 with `Retry-After`.
    ThrottledRetryAfter,
    /// 429 without `Retry-After`.
    Throttled,
    /// 500, 502 or 503 with the family's error body.
    ServerError,
    /// The JSON body is cut in half (status and headers unchanged); other bodies pass.
    MalformedJson,
    /// No answer until `stall_ms` passes, the client gives up or the simulator stops.
    Stall,
}

impl ChaosKind {
    /// Every kind.
    pub fn all() -> Vec<ChaosKind> {
        vec![
            ChaosKind::Latency,
            ChaosKind::Reset,
            ChaosKind::ThrottledRetryAfter,
            ChaosKind::Throttled,
            ChaosKind::ServerError,
            ChaosKind::MalformedJson,
            ChaosKind::Stall,
        ]
    }

    /// The spelling in scenario files and counters, e.g. `server_error`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChaosKind::Latency => "latency",
            ChaosKind::Reset => "reset",
            ChaosKind::ThrottledRetryAfter => "throttled_retry_after",
            ChaosKind::Throttled => "throttled",
            ChaosKind::ServerError => "server_error",
            ChaosKind::MalformedJson => "malformed_json",
            ChaosKind::Stall => "stall",
        }
    }
}

/// The IPS generation of a simulated tenant: NEO (its own IPS hosts, inbound certificates in
/// IPS) or converged (IPS on the IAS host). The simulator's own type: it shares no code with
/// the auditor, only the spelling in files (`neo`, `converged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpsType {
    /// SAP BTP Neo IPS.
    Neo,
    /// IPS inside SAP Cloud Identity Services, on the IAS host.
    Converged,
}

impl IpsType {
    /// The spelling in scenario files and inventories.
    pub fn as_str(self) -> &'static str {
        match self {
            IpsType::Neo => "neo",
            IpsType::Converged => "converged",
        }
    }
}

impl std::fmt::Display for IpsType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The landscape of a simulated tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A preview (test) tenant.
    Preview,
    /// A production tenant.
    Production,
}

impl Environment {
    /// The spelling in scenario files and inventories.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Preview => "preview",
            Environment::Production => "production",
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One LMS tenant and its IAS/IPS tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// The LMS tenant ID (the `sourceSystemId` of its users, the `<id>` of `SAP LMS – <id>`).
    pub id: String,
    /// NEO or converged IPS: which hosts and paths serve IPS.
    pub ips_type: IpsType,
    /// Preview or production (inventory and reports only).
    #[serde(default = "production")]
    pub environment: Environment,
    /// The IAS host, e.g. `acme.accounts.ondemand.com`. Converged IPS lives here too.
    pub ias_host: String,
    /// NEO only: the IPS proxy host `ipsproxy<provider>-<consumer>.<region host>` (OAuth paths
    /// `/ipsproxy/api/v1/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips_host: Option<String>,
    /// NEO only: the certificate variant `ipsproxy<provider>-<consumer>.cert.<region host>`
    /// (paths `/ipsproxy/certapi/v1/…`, client certificate checked against inbound certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips_cert_host: Option<String>,
    /// `expires_in` of tokens from `POST /oauth2/token`, in seconds.
    #[serde(default = "token_lifetime")]
    pub token_lifetime_secs: u64,
    /// Administrator records (`[[tenant.admin]]`): system users with client IDs, secrets and
    /// certificates, and human administrators.
    #[serde(default, rename = "admin", alias = "admins")]
    pub admins: Vec<AdminSpec>,
    /// IPS systems (`[[tenant.system]]`): the LMS source, the IAS target, proxy systems.
    #[serde(default, rename = "system", alias = "systems")]
    pub systems: Vec<SystemSpec>,
    /// Identity Directory users (`[[tenant.user]]`).
    #[serde(default, rename = "user", alias = "users")]
    pub users: Vec<UserSpec>,
    /// Identity Directory groups (`[[tenant.group]]`).
    #[serde(default, rename = "group", alias = "groups")]
    pub groups: Vec<GroupSpec>,
    /// Applications of the Applications API (`[[tenant.application]]`).
    #[serde(default, rename = "application", alias = "applications")]
    pub applications: Vec<ApplicationSpec>,
    /// IPS jobs whose logs `jobLogs` exports (`[[tenant.job]]`).
    #[serde(default, rename = "job", alias = "jobs")]
    pub jobs: Vec<JobSpec>,
    /// Custom SCIM schemas created with `POST /scim/Schemas` (`[[tenant.schema]]`, RFC 7643 §7
    /// JSON); `/scim/Schemas` lists them after the built-in ones.
    #[serde(
        default,
        rename = "schema",
        alias = "schemas",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub schemas: Vec<serde_json::Value>,
    /// Faults injected into the tenant's answers; none by default.
    #[serde(default, skip_serializing_if = "Faults::is_none")]
    pub faults: Faults,
}

fn production() -> Environment {
    Environment::Production
}

fn token_lifetime() -> u64 {
    3600
}

fn yes() -> bool {
    true
}

/// An IAS administrator record (Users & Authorizations → Administrators).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSpec {
    /// Display name, e.g. `SAP LMS – ACME` (en dash, as KBA 3247849 writes it).
    pub name: String,
    /// A system (technical user) or a person.
    #[serde(default)]
    pub kind: AdminKind,
    /// The system's client ID (a UUID, or a legacy `T000003`); `None` for certificate-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secrets (up to two in IAS). Simulated values, not real credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Permission toggles that are on, with the exact console labels (docs/sap-facts.md:
    /// administrator permissions).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Certificates configured under Configure System Authentication → Certificate (PEM).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
    /// Certificate files, relative to the scenario file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_files: Vec<PathBuf>,
    /// Client ID lock: 5 failed secrets lock the client ID for 60 minutes.
    #[serde(default = "yes")]
    pub client_id_lock: bool,
}

/// Whether an administrator record is a system (technical user) or a person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminKind {
    /// A system administrator (technical user, e.g. `SAP LMS – <id>`).
    #[default]
    System,
    /// A person.
    Human,
}

/// An IPS system (source, target or proxy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSpec {
    /// The ID at the end of the system's URL in the console (UUID-like).
    pub id: String,
    /// The system's display name, e.g. `SAP SuccessFactors Learning`.
    pub name: String,
    /// Source, target or proxy.
    pub kind: SystemKind,
    /// `connectorTypeString` of the system export (docs/sap-facts.md: NEO and converged IPS).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub connector: String,
    /// NEO: certificates imported under Inbound Certificates (PEM).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbound_certificates: Vec<String>,
    /// Inbound certificate files, relative to the scenario file (inlined on load).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbound_certificate_files: Vec<PathBuf>,
}

/// The role of an IPS system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemKind {
    /// Reads identities from a system (the LMS source system).
    Source,
    /// Writes identities to a system (the IAS target).
    Target,
    /// Exposes a system to a client through the proxy-system SCIM API.
    Proxy,
}

/// An IAS user (Identity Directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The user's UUID (`id` and the SAP extension's `userUuid`).
    pub id: String,
    /// The `userName` (unique per tenant, matched case-insensitively).
    pub user_name: String,
    /// E-mail addresses; the first is primary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// `name.givenName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `name.familyName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `displayName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `userType`, e.g. `employee` or `public`.
    #[serde(default = "employee")]
    pub user_type: String,
    /// `active`; inactive users are listed with status `inactive`.
    #[serde(default = "yes")]
    pub active: bool,
    /// SAP extension `sourceSystem`: 101 SuccessFactors Learning, 100 SuccessFactors, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_system: Option<u32>,
    /// SAP extension `sourceSystemId`: for LMS users, the LMS tenant ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_system_id: Option<String>,
    /// SAP extension `userId`: the legacy `P000000` ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `meta.created`.
    pub created: DateTime<Utc>,
    /// `meta.lastModified`: what a sync-freshness check reads.
    pub last_modified: DateTime<Utc>,
    /// `externalId`: the client's own identifier of the user (case-exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The user as a SCIM client last wrote it (POST, PUT, PATCH): core attributes by name,
    /// extension attributes in an object under the extension's URN, read-only ones left out.
    /// Where it names an attribute the fields above also hold, it agrees with them; responses
    /// show it over what the fields above render. Empty for users that no SCIM client wrote.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

fn employee() -> String {
    "employee".to_string()
}

/// An IAS group (Identity Directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's ID.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// IDs of the members: users (UUIDs) or groups.
    #[serde(default)]
    pub members: Vec<String>,
    /// `externalId`: the client's own identifier of the group (case-exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The group as a SCIM client last wrote it (like [`UserSpec::attributes`]).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// An application of the Applications API (docs/sap-facts.md: Applications API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSpec {
    /// The application's ID.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Certificates configured for API access to the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_certificates: Vec<ApiCertificateSpec>,
}

/// A certificate an application accepts for API access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiCertificateSpec {
    /// The certificate entry's ID.
    pub id: String,
    /// The certificate's subject DN.
    pub dn: String,
    /// Whether the certificate may call every API.
    #[serde(default)]
    pub all_apis_access: bool,
    /// The scopes granted when not all APIs.
    #[serde(default)]
    pub authorization_scopes: Vec<String>,
}

/// An IPS provisioning job as the job-log UI shows it (docs/sap-facts.md: IPS job logs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// 20 hex characters, e.g. `cbc1eb01686664856111`.
    pub id: String,
    /// The ID of the source system the job reads.
    pub source_system_id: String,
    /// Read, resync or simulate.
    #[serde(default)]
    pub job_type: JobType,
    /// Scheduled (`REPEAT`) or started by hand or API (`IMMEDIATE`).
    #[serde(default)]
    pub trigger_type: TriggerType,
    /// Full or delta read.
    #[serde(default)]
    pub read_mode: ReadMode,
    /// The job's status, spelled as the UI shows it.
    pub status: JobStatus,
    /// When the job started.
    pub start: DateTime<Utc>,
    /// When it ended; `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// `P000000`, `Identity Provisioning API – <uuid>` or `Identity Provisioning Internal API`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub triggered_by: String,
    /// The job's error message, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Counts per entity type and system.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<JobStatistics>,
    /// Entities that failed (the `failedEntitiesLog`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_entities: Vec<EntityLog>,
    /// Entities that were skipped (the `skippedEntitiesLog`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_entities: Vec<EntityLog>,
    /// A `Pending Restart` job resumes with a new job ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted_as: Option<String>,
}

/// What a job does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobType {
    /// `READ`: a (delta) read of the source.
    #[default]
    Read,
    /// `RESYNC`: a full read.
    Resync,
    /// `SIMULATE`: a dry run (only in scenarios; `startJob` refuses it).
    Simulate,
}

impl JobType {
    /// The API spelling: `READ`, `RESYNC`, `SIMULATE`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobType::Read => "READ",
            JobType::Resync => "RESYNC",
            JobType::Simulate => "SIMULATE",
        }
    }
}

/// How a job was started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TriggerType {
    /// Started by hand or through the API.
    Immediate,
    /// Run on the system's schedule.
    #[default]
    Repeat,
}

impl TriggerType {
    /// The API spelling: `IMMEDIATE`, `REPEAT`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TriggerType::Immediate => "IMMEDIATE",
            TriggerType::Repeat => "REPEAT",
        }
    }
}

/// How much of the source a job reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadMode {
    /// Every entity is read.
    #[serde(rename = "Full Read")]
    Full,
    /// Only entities changed since the last run are read.
    #[default]
    #[serde(rename = "Delta Read")]
    Delta,
}

impl ReadMode {
    /// The UI spelling: `Full Read`, `Delta Read`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReadMode::Full => "Full Read",
            ReadMode::Delta => "Delta Read",
        }
    }
}

/// Job statuses with the UI's exact spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    /// `Success`.
    #[serde(rename = "Success")]
    Success,
    /// `Finished with Error`: the job ended, some entities failed.
    #[serde(rename = "Finished with Error")]
    FinishedWithError,
    /// `Running`.
    #[serde(rename = "Running")]
    Running,
    /// `Running with Error`.
    #[serde(rename = "Running with Error")]
    RunningWithError,
    /// `Manually Terminated`.
    #[serde(rename = "Manually Terminated")]
    ManuallyTerminated,
    /// `Pending Restart`: it resumes with a new job ID.
    #[serde(rename = "Pending Restart")]
    PendingRestart,
}

impl JobStatus {
    /// The UI spelling, e.g. `Finished with Error`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobStatus::Success => "Success",
            JobStatus::FinishedWithError => "Finished with Error",
            JobStatus::Running => "Running",
            JobStatus::RunningWithError => "Running with Error",
            JobStatus::ManuallyTerminated => "Manually Terminated",
            JobStatus::PendingRestart => "Pending Restart",
        }
    }
}

/// Statistics per entity type × system (Read / Created / Updated / Deleted / Skipped / Failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobStatistics {
    /// The entity type, `user` by default.
    #[serde(default = "user_entity")]
    pub entity_type: String,
    /// e.g. `SAP SuccessFactors Learning.source` or `Identity Authentication.target`.
    pub system: String,
    /// Entities read.
    #[serde(default)]
    pub read: u64,
    /// Entities created.
    #[serde(default)]
    pub created: u64,
    /// Entities updated.
    #[serde(default)]
    pub updated: u64,
    /// Entities deleted.
    #[serde(default)]
    pub deleted: u64,
    /// Entities skipped.
    #[serde(default)]
    pub skipped: u64,
    /// Entities that failed.
    #[serde(default)]
    pub failed: u64,
}

fn user_entity() -> String {
    "user".to_string()
}

/// One failed or skipped entity of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityLog {
    /// The entity's ID in the source system.
    pub entity_id: String,
    /// The entity type, `user` by default.
    #[serde(default = "user_entity")]
    pub entity_type: String,
    /// e.g. `IAS.target`.
    pub system: String,
    /// What was tried: `CREATE`, `UPDATE`, `DELETE`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// Why it failed or was skipped, as the log says it.
    pub reason: String,
}

/// API families: what rate limits, counters and faults are kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `/oauth2/*`
    Oauth,
    /// `/scim/*` (Identity Directory SCIM)
    Scim,
    /// `/Applications/v1`
    Applications,
    /// `/ips/service/publicapi/v1/*` (IPS tenant admin API: jobs, job logs)
    IpsAdmin,
    /// `…/systems/{id}/entities/{type}` (real-time provisioning)
    Realtime,
    /// `…/scim/{systemId}/Users|Groups` (proxy systems)
    Proxy,
    /// Anything else on a tenant host (answered 404).
    Other,
}

impl Family {
    /// The spelling in counters, logs and scenario files, e.g. `ips_admin`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Family::Oauth => "oauth",
            Family::Scim => "scim",
            Family::Applications => "applications",
            Family::IpsAdmin => "ips_admin",
            Family::Realtime => "realtime",
            Family::Proxy => "proxy",
            Family::Other => "other",
        }
    }
}

/// What certificate a tenant's hosts present in the TLS handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerCertMode {
    /// The simulator's shared certificate (wildcards over every tenant host).
    #[default]
    Valid,
    /// Issued by the simulator CA, expired five days ago.
    Expired,
    /// Issued by the simulator CA, valid but expiring in ten days.
    Expiring,
    /// Valid dates, issued by a CA nobody trusts.
    Untrusted,
    /// No certificate at all for this host: the handshake fails (an unreachable endpoint).
    Refuse,
}

/// Faults injected into a tenant's answers. The default is no fault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer, in milliseconds (real time, not scaled).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latency_ms: u64,
    /// Answer with this status instead (429, 500, 503, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// With `status = 429`: the `Retry-After` value in seconds; absent means no header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Reset the connection (TCP RST) instead of answering.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reset: bool,
    /// Never answer (until `stall_ms` passes, the client gives up or the simulator stops).
    #[serde(default, skip_serializing_if = "is_false")]
    pub stall: bool,
    /// With `stall`: answer normally after this many milliseconds; 0 means never.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stall_ms: u64,
    /// Cut every JSON body in half (status and headers unchanged).
    #[serde(default, skip_serializing_if = "is_false")]
    pub malformed_json: bool,
    /// The certificate the tenant's hosts present.
    #[serde(default, skip_serializing_if = "is_valid_cert")]
    pub server_cert: ServerCertMode,
    /// Request faults apply only to these families; empty means every API family.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<Family>,
    /// Request faults apply to this many more requests, then stop; absent means forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

fn is_valid_cert(m: &ServerCertMode) -> bool {
    *m == ServerCertMode::Valid
}

impl Faults {
    /// No fault at all (scenario files omit `[tenant.faults]` then).
    pub(crate) fn is_none(&self) -> bool {
        *self == Faults::default()
    }

    /// Whether any per-request fault (everything but the server certificate) is set.
    pub(crate) fn has_request_fault(&self) -> bool {
        self.latency_ms > 0
            || self.status.is_some()
            || self.reset
            || self.stall
            || self.malformed_json
    }

    /// Whether the request faults apply to requests of `family`.
    pub(crate) fn applies_to(&self, family: Family) -> bool {
        self.families.is_empty() || self.families.contains(&family)
    }
}

/// The permission toggles of an IAS administrator, with the console's labels (docs/sap-facts.md:
/// administrator permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Permission {
    ManageApplications,
    ManageCorporateIdentityProviders,
    ManageUsers,
    ReadUsers,
    ManageGroups,
    ManageTenantConfiguration,
    AccessProxySystemApi,
    AccessRealTimeProvisioningApi,
    AccessIdentityProvisioningTenantAdminApi,
    ManageIdentityProvisioning,
    ManageBlockedUsers,
}

impl Permission {
    pub(crate) const ALL: [Permission; 11] = [
        Permission::ManageApplications,
        Permission::ManageCorporateIdentityProviders,
        Permission::ManageUsers,
        Permission::ReadUsers,
        Permission::ManageGroups,
        Permission::ManageTenantConfiguration,
        Permission::AccessProxySystemApi,
        Permission::AccessRealTimeProvisioningApi,
        Permission::AccessIdentityProvisioningTenantAdminApi,
        Permission::ManageIdentityProvisioning,
        Permission::ManageBlockedUsers,
    ];

    /// The exact console label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Permission::ManageApplications => "Manage Applications",
            Permission::ManageCorporateIdentityProviders => "Manage Corporate Identity Providers",
            Permission::ManageUsers => "Manage Users",
            Permission::ReadUsers => "Read Users",
            Permission::ManageGroups => "Manage Groups",
            Permission::ManageTenantConfiguration => "Manage Tenant Configuration",
            Permission::AccessProxySystemApi => "Access Proxy System API",
            Permission::AccessRealTimeProvisioningApi => "Access Real-Time Provisioning API",
            Permission::AccessIdentityProvisioningTenantAdminApi => {
                "Access Identity Provisioning Tenant Admin API"
            }
            Permission::ManageIdentityProvisioning => "Manage Identity Provisioning",
            Permission::ManageBlockedUsers => "Manage Blocked Users (Restricted Availability)",
        }
    }

    /// Matches a label as people copy it: case, runs of spaces and hyphens are loose
    /// (KBA 3394484 writes "Access Real-Time provisioning API").
    pub(crate) fn parse(label: &str) -> Option<Permission> {
        let norm = |s: &str| {
            s.to_lowercase()
                .replace(['-', '_'], " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let want = norm(label);
        Permission::ALL.into_iter().find(|p| {
            norm(p.label()) == want
                || (*p == Permission::ManageBlockedUsers && want == "manage blocked users")
        })
    }
}

/// Parses every certificate of a PEM text (one or more blocks).
pub(crate) fn pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(PemError::Pem)?;
    if certs.is_empty() {
        return Err(PemError::Empty);
    }
    for c in &certs {
        x509_parser::parse_x509_certificate(c.as_ref()).map_err(PemError::X509)?;
    }
    Ok(certs)
}

/// The default size limit of a scenario file and of each certificate file it names: a
/// generated fleet of 10,000 tenants exports about 40 MB.
pub const MAX_SCENARIO_BYTES: u64 = 256 * 1024 * 1024;

/// A file's text, read under `limit`; text that is not UTF-8 is refused like an unreadable file.
fn read_text(path: &Path, limit: &FileLimit) -> Result<String, FileError> {
    let bytes = read_file(path, limit)?;
    String::from_utf8(bytes).map_err(|_| FileError {
        path: path.to_path_buf(),
        limit: *limit,
        problem: FileProblem::Io("not UTF-8 text".to_string()),
    })
}

impl Scenario {
    /// Reads a scenario file: JSON when the content starts with `{`, TOML otherwise.
    /// `certificate_files` are resolved against the file's folder and inlined.
    /// The scenario file and each certificate file may be at most [`MAX_SCENARIO_BYTES`].
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_limited(path, MAX_SCENARIO_BYTES)
    }

    /// [`Scenario::load`] with another size limit for the scenario and its certificate files
    /// (`sim --max-scenario-size`). Only regular files are read.
    pub fn load_limited(path: &Path, max_bytes: u64) -> Result<Scenario, ScenarioError> {
        let limit = FileLimit {
            bytes: max_bytes,
            what: "scenario",
            option: "--max-scenario-size",
        };
        let text = read_text(path, &limit)?;
        let mut s = Scenario::parse(&text, path)?;
        let limit = FileLimit {
            what: "certificate file",
            ..limit
        };
        s.inline_files(path.parent().unwrap_or(Path::new(".")), &limit)?;
        s.validate()?;
        Ok(s)
    }

    /// Parses scenario text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|source| ScenarioError::Json {
                path: path.to_path_buf(),
                source,
            })
        } else {
            toml::from_str(text).map_err(|source| ScenarioError::Toml {
                path: path.to_path_buf(),
                source,
            })
        }
    }

    /// The scenario as TOML, as `--export` writes `scenario.toml`.
    pub fn to_toml(&self) -> Result<String, ScenarioError> {
        toml::to_string(self).map_err(ScenarioError::Serialize)
    }

    /// Reads `certificate_files` / `inbound_certificate_files` into the PEM lists.
    pub(crate) fn inline_files(
        &mut self,
        base: &Path,
        limit: &FileLimit,
    ) -> Result<(), ScenarioError> {
        for t in &mut self.tenants {
            let read = |p: &PathBuf| -> Result<String, ScenarioError> {
                read_text(&base.join(p), limit).map_err(|source| ScenarioError::CertificateFile {
                    tenant: t.id.clone(),
                    source,
                })
            };
            let mut admin_pems = Vec::new();
            for a in &t.admins {
                admin_pems.push(
                    a.certificate_files
                        .iter()
                        .map(read)
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            let mut system_pems = Vec::new();
            for s in &t.systems {
                system_pems.push(
                    s.inbound_certificate_files
                        .iter()
                        .map(read)
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            for (a, pems) in t.admins.iter_mut().zip(admin_pems) {
                a.certificates.extend(pems);
                a.certificate_files.clear();
            }
            for (s, pems) in t.systems.iter_mut().zip(system_pems) {
                s.inbound_certificates.extend(pems);
                s.inbound_certificate_files.clear();
            }
        }
        Ok(())
    }

    /// Checks what the server relies on: unique tenant IDs and hosts, NEO hosts present,
    /// known permission labels, parseable certificates, unique client IDs per tenant.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if let Some(c) = &self.chaos {
            c.validate().map_err(ScenarioError::Chaos)?;
        }
        let mut ids = HashSet::new();
        let mut hosts = HashSet::new();
        for t in &self.tenants {
            t.validate()?;
            if !ids.insert(t.id.to_lowercase()) {
                return Err(invalid(&t.id, "the tenant ID appears twice"));
            }
            for h in t.hosts() {
                if !hosts.insert(h.to_ascii_lowercase()) {
                    return Err(invalid(&t.id, format!("host {h} belongs to two tenants")));
                }
            }
        }
        Ok(())
    }

    /// The tenant with this ID (case-insensitive).
    pub fn tenant(&self, id: &str) -> Option<&TenantSpec> {
        self.tenants.iter().find(|t| t.id.eq_ignore_ascii_case(id))
    }
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl TenantSpec {
    /// Every host name of the tenant (IAS, and for NEO the two IPS proxy hosts).
    pub fn hosts(&self) -> Vec<&str> {
        let mut v = vec![self.ias_host.as_str()];
        v.extend(self.ips_host.as_deref());
        v.extend(self.ips_cert_host.as_deref());
        v
    }

    /// Checks one tenant: ID and host names, the hosts its IPS type needs, permission labels,
    /// client IDs, secrets and certificates.
    pub(crate) fn validate(&self) -> Result<(), ScenarioError> {
        let id = &self.id;
        if id.trim().is_empty() {
            return Err(invalid(id, "the tenant ID is empty"));
        }
        for h in self.hosts() {
            if !valid_host(h) {
                return Err(invalid(id, format!("'{h}' is not a host name")));
            }
        }
        match self.ips_type {
            IpsType::Neo if self.ips_cert_host.is_none() => {
                return Err(invalid(
                    id,
                    "a NEO tenant needs ips_cert_host (ipsproxy<p>-<c>.cert.<region host>)",
                ));
            }
            IpsType::Converged if self.ips_host.is_some() || self.ips_cert_host.is_some() => {
                return Err(invalid(
                    id,
                    "a converged tenant's IPS lives on its IAS host; remove ips_host/ips_cert_host",
                ));
            }
            _ => {}
        }
        let mut client_ids = HashSet::new();
        for a in &self.admins {
            for p in &a.permissions {
                if Permission::parse(p).is_none() {
                    return Err(invalid(
                        id,
                        format!(
                            "admin '{}': unknown permission '{p}' (console labels: {})",
                            a.name,
                            Permission::ALL.map(Permission::label).join(", ")
                        ),
                    ));
                }
            }
            if let Some(c) = &a.client_id
                && !client_ids.insert(c.as_str())
            {
                return Err(invalid(id, format!("client ID {c} belongs to two admins")));
            }
            if a.secrets.len() > 2 {
                return Err(invalid(
                    id,
                    format!("admin '{}': IAS keeps at most 2 secrets", a.name),
                ));
            }
            for pem in &a.certificates {
                pem_certs(pem).map_err(|source| ScenarioError::Certificate {
                    tenant: id.clone(),
                    owner: format!("admin '{}'", a.name),
                    source,
                })?;
            }
        }
        for s in &self.systems {
            for pem in &s.inbound_certificates {
                pem_certs(pem).map_err(|source| ScenarioError::Certificate {
                    tenant: id.clone(),
                    owner: format!("system '{}'", s.name),
                    source,
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const MIN: &str = r#"
[[tenant]]
id = "ACME"
ips_type = "converged"
ias_host = "acme.accounts.ondemand.com"

[[tenant.admin]]
name = "SAP LMS – ACME"
client_id = "6f1e1c7a-1111-4222-8333-944455556666"
permissions = ["Read Users", "access real-time provisioning api"]

[tenant.faults]
status = 429
families = ["scim"]
"#;

    #[test]
    fn minimal_toml_parses_with_defaults() {
        let s = Scenario::parse(MIN, Path::new("x.toml")).unwrap();
        s.validate().unwrap();
        let t = &s.tenants[0];
        assert_eq!(t.environment, Environment::Production);
        assert_eq!(t.token_lifetime_secs, 3600);
        assert!(t.admins[0].client_id_lock);
        assert_eq!(t.faults.status, Some(429));
        assert!(t.faults.applies_to(Family::Scim));
        assert!(!t.faults.applies_to(Family::Oauth));
        // Round trip through TOML and JSON.
        let again = Scenario::parse(&s.to_toml().unwrap(), Path::new("y.toml")).unwrap();
        assert_eq!(again, s);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(Scenario::parse(&json, Path::new("y.json")).unwrap(), s);
    }

    #[test]
    fn bad_labels_hosts_and_duplicates_are_refused() {
        let bad = MIN.replace("\"Read Users\"", "\"Read Everything\"");
        let e = Scenario::parse(&bad, Path::new("x"))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown permission 'Read Everything'"),
            "{e}"
        );
        let neo = MIN.replace("\"converged\"", "\"neo\"");
        let e = Scenario::parse(&neo, Path::new("x"))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("ips_cert_host"), "{e}");
        let twice = format!(
            "{MIN}\n{}",
            MIN.replace("[tenant.faults]\nstatus = 429\nfamilies = [\"scim\"]\n", "")
        );
        let e = Scenario::parse(&twice, Path::new("x"))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let e = Scenario::parse("[[tenant]]\nid = 1", Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().contains("x.toml"), "{e}");
    }

    #[test]
    fn permission_labels_match_loosely() {
        assert_eq!(
            Permission::parse("Access Real-Time provisioning API"),
            Some(Permission::AccessRealTimeProvisioningApi)
        );
        assert_eq!(
            Permission::parse("read  users"),
            Some(Permission::ReadUsers)
        );
        assert_eq!(
            Permission::parse("Manage Blocked Users"),
            Some(Permission::ManageBlockedUsers)
        );
        assert_eq!(Permission::parse("Root"), None);
    }
}
