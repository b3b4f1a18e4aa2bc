//! The checks. Each turns one kind of evidence into findings (data) and prints nothing; the
//! audit decides which run for which tenant and combines what they return.

pub mod cert;
pub(crate) mod failure;
pub(crate) mod lms_config;
pub(crate) mod mtls;
pub(crate) mod neo;
pub(crate) mod permissions;
pub(crate) mod server_tls;
pub(crate) mod sync;

use crate::certificate::CertificateObject;
use crate::findings::Finding;
use serde::{Deserialize, Serialize};

/// What some checks said about one tenant: merged by the audit into a tenant result.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// The certificates the checks looked at (evidence files, server chains).
    pub(crate) certificates: Vec<CertificateObject>,
    /// What the checks found, without remediation yet.
    pub(crate) findings: Vec<Finding>,
    /// Checks that ran (had their evidence), each once.
    pub(crate) run: Vec<Check>,
    /// Checks that apply but did not run for lack of evidence; never also in `run`.
    pub(crate) not_run: Vec<Check>,
    /// Checks that apply and were due but did not finish because the run was stopped: the
    /// tenant is then `UNKNOWN` (`CHECK_NOT_FINISHED`), never OK.
    pub(crate) unfinished: Vec<Check>,
}

impl Outcome {
    pub(crate) fn merge(&mut self, other: Outcome) {
        self.certificates.extend(other.certificates);
        for c in other.unfinished {
            if !self.unfinished.contains(&c) {
                self.unfinished.push(c);
            }
        }
        self.findings.extend(other.findings);
        for c in other.run {
            if !self.run.contains(&c) {
                self.run.push(c);
            }
        }
        for c in other.not_run {
            if !self.not_run.contains(&c) && !self.run.contains(&c) {
                self.not_run.push(c);
            }
        }
        // A check that ran anywhere is not "not run".
        let run = self.run.clone();
        self.not_run.retain(|c| !run.contains(c));
    }
}

/// The checks a tenant can have run, for the coverage columns (`checks_run`, `checks_not_run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The certificate on the IAS admin record `SAP LMS – <tenant>` (file evidence).
    IasAdminCert,
    /// The certificate in the NEO IPS LMS source system's Inbound Certificates (file evidence).
    IpsInboundCert,
    /// Whether the evidence certificates are the new LMS certificate (`--reference-cert`).
    Reference,
    /// The `tech_user_permissions` column.
    DeclaredPermissions,
    /// The TLS chain the IAS host presents (live, needs `ias_url`).
    IasServer,
    /// The TLS chain the IPS host presents (live, needs an `ips_url` on a host other than
    /// the IAS one).
    IpsServer,
    /// Sync health in IAS: LMS-provisioned users and the leftover test user (live, needs
    /// `ias_url` and a `credential`).
    Sync,
    /// The IPS job log of `job_id` (live, converged tenants with a `job_id` and a
    /// `credential`).
    SyncJob,
    /// Whether the tenant accepts the LMS client certificate (live, needs `--lms-cert` and
    /// `--lms-key`).
    Mtls,
    /// LMS's IPS settings against the tenant (the `lms_ips_*` columns).
    LmsConfig,
}

impl Check {
    pub(crate) const ALL: [Check; 10] = [
        Check::IasAdminCert,
        Check::IpsInboundCert,
        Check::Reference,
        Check::DeclaredPermissions,
        Check::IasServer,
        Check::IpsServer,
        Check::Sync,
        Check::SyncJob,
        Check::Mtls,
        Check::LmsConfig,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Check::IasAdminCert => "ias_admin_cert",
            Check::IpsInboundCert => "ips_inbound_cert",
            Check::Reference => "reference",
            Check::DeclaredPermissions => "declared_permissions",
            Check::IasServer => "ias_server",
            Check::IpsServer => "ips_server",
            Check::Sync => "sync",
            Check::SyncJob => "sync_job",
            Check::Mtls => "mtls",
            Check::LmsConfig => "lms_config",
        }
    }
}
