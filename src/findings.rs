//! Finding codes, levels, targets and impacts: the vocabulary every check speaks and every
//! renderer reads. A code is added here, once, and every report picks it up.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Severity of a finding, lowest to highest. The derive order is the ranking (docs/spec.md §5):
/// a known problem (`AT_RISK`, `FAILING`) outranks a check that could not run (`UNKNOWN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// `OK`: nothing wrong was found (the risk of a tenant without findings).
    Ok,
    /// `WARN`: worth attention, not known to break anything yet (a certificate expiring within
    /// `--warn-days`, a weak key, a stale sync).
    Warn,
    /// `UNKNOWN`: a check that had its evidence could not run (unreadable file, unreachable
    /// endpoint, refused credential); the answer is not known.
    Unknown,
    /// `AT_RISK`: a known problem that puts user sync or site creation at risk (an expiry
    /// before the deadline, a missing reference certificate or permission, …).
    AtRisk,
    /// `FAILING`: a known problem that breaks them now (an expired certificate, the LMS
    /// certificate rejected).
    Failing,
}

impl Level {
    pub(crate) const ALL: [Level; 5] = [
        Level::Ok,
        Level::Warn,
        Level::Unknown,
        Level::AtRisk,
        Level::Failing,
    ];

    /// The spelling in reports and on the command line: `OK`, `WARN`, `UNKNOWN`, `AT_RISK`,
    /// `FAILING`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Unknown => "UNKNOWN",
            Level::AtRisk => "AT_RISK",
            Level::Failing => "FAILING",
        }
    }

    /// Parses the spelling used on the command line and in reports, case-insensitively.
    pub fn parse(s: &str) -> Option<Level> {
        let norm = s.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        Level::ALL.into_iter().find(|l| l.as_str() == norm)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about (docs/spec.md §5 `target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// `ias_admin_cert`: the certificate on the IAS admin record `SAP LMS – <tenant>`.
    IasAdminCert,
    /// `ips_inbound_cert`: the certificate in the NEO IPS LMS source system's Inbound
    /// Certificates.
    IpsInboundCert,
    /// `ias_server`: the TLS server of the tenant's IAS host.
    IasServer,
    /// `ips_server`: the TLS server of the tenant's IPS host.
    IpsServer,
    /// `tech_user`: the SAP LMS admin record as LMS uses it (its permissions, whether the LMS
    /// certificate is accepted).
    TechUser,
    /// `sync`: user provisioning from LMS to IAS (provisioned users, test user, IPS job).
    Sync,
    /// `inventory`: the tenant's inventory row itself.
    Inventory,
    /// A certificate file given to `inspect`.
    Certificate,
    /// A server given to `inspect` as `https://host[:port]` or `host:port`.
    Server,
    /// `run`: the audit run itself (checks it did not finish because it was interrupted).
    Run,
    /// `lms_config`: LMS's IPS settings (System Configuration, SAP CLOUD IDENTITY SERVICES).
    LmsConfig,
}

impl Target {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Target::IasAdminCert => "ias_admin_cert",
            Target::IpsInboundCert => "ips_inbound_cert",
            Target::IasServer => "ias_server",
            Target::IpsServer => "ips_server",
            Target::TechUser => "tech_user",
            Target::Sync => "sync",
            Target::Inventory => "inventory",
            Target::Certificate => "certificate",
            Target::Server => "server",
            Target::Run => "run",
            Target::LmsConfig => "lms_config",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A capability of the tenant that a finding puts at risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// `user_sync`: Real Time User Sync from LMS to IAS (new Learning users reach IAS).
    UserSync,
    /// `site_creation`: the creation of Learning sites.
    SiteCreation,
}

impl Impact {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Impact::UserSync => "user_sync",
            Impact::SiteCreation => "site_creation",
        }
    }
}

const BOTH: &[Impact] = &[Impact::UserSync, Impact::SiteCreation];
const SYNC_ONLY: &[Impact] = &[Impact::UserSync];
const NONE: &[Impact] = &[];

macro_rules! codes {
    ($( $variant:ident = $name:literal, $level:ident, $impacts:ident, $summary:literal; )*) => {
        /// Every finding code of docs/spec.md §5, with its default level, its impacts and a one-line
        /// description used in `--help`, the README table and the HTML legend.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Code {
            $( #[doc = concat!("`", $name, "`: ", $summary, ".")] #[serde(rename = $name)] $variant, )*
        }

        impl Code {
            /// Every code, in the order the README's findings table lists them.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The spelling in reports: `CERT_EXPIRED`, ….
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The level this code has unless the check says otherwise (only
            /// `CERT_NOT_REFERENCE` changes: FAILING on or after the cutover).
            pub fn default_level(self) -> Level {
                match self { $( Code::$variant => Level::$level, )* }
            }

            /// The capabilities a finding with this code puts at risk (none for the codes
            /// that say a check could not run).
            pub fn impacts(self) -> &'static [Impact] {
                match self { $( Code::$variant => $impacts, )* }
            }

            /// One line saying what the code means (the HTML legend, report.md, the README
            /// table).
            pub(crate) fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }

            /// The code of an exact spelling (`CERT_EXPIRED`; surrounding spaces ignored).
            pub fn parse(s: &str) -> Option<Code> {
                match s.trim() { $( $name => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

codes! {
    CertExpired = "CERT_EXPIRED", Failing, BOTH, "the certificate's notAfter is in the past";
    CertNotYetValid = "CERT_NOT_YET_VALID", Failing, BOTH, "the certificate's notBefore is in the future";
    CertValidityInverted = "CERT_VALIDITY_INVERTED", Failing, BOTH, "notBefore is after notAfter: the certificate is valid on no date";
    CertExpiresBeforeDeadline = "CERT_EXPIRES_BEFORE_DEADLINE", AtRisk, BOTH, "the certificate expires before --deadline";
    CertExpiresCritical = "CERT_EXPIRES_CRITICAL", AtRisk, BOTH, "days_left <= --critical-days";
    CertExpiresSoon = "CERT_EXPIRES_SOON", Warn, BOTH, "days_left <= --warn-days";
    CertNotReference = "CERT_NOT_REFERENCE", AtRisk, BOTH, "the certificate is not the new LMS certificate (--reference-cert); FAILING from --cutover";
    CertNoClientAuth = "CERT_NO_CLIENT_AUTH", AtRisk, BOTH, "an extended key usage extension without clientAuth";
    CertWeakKey = "CERT_WEAK_KEY", Warn, BOTH, "RSA key under 2048 bits or EC key under 256 bits";
    CertWeakSignature = "CERT_WEAK_SIGNATURE", Warn, BOTH, "signed with MD5 or SHA-1";
    CertUnreadable = "CERT_UNREADABLE", Unknown, NONE, "the certificate file is missing, empty, a private key only, damaged or not a certificate";
    ServerCertExpired = "SERVER_CERT_EXPIRED", Failing, BOTH, "the server presents an expired certificate";
    ServerCertExpiring = "SERVER_CERT_EXPIRING", Warn, BOTH, "the server certificate expires within --warn-days";
    ServerChainUntrusted = "SERVER_CHAIN_UNTRUSTED", AtRisk, BOTH, "the server's chain does not validate against the trusted roots";
    EndpointUnreachable = "ENDPOINT_UNREACHABLE", Unknown, NONE, "DNS failure, connection refused, TLS failure or timeout";
    SyncStale = "SYNC_STALE", Warn, SYNC_ONLY, "no LMS-provisioned user created or changed within --sync-stale-days";
    SyncTestUserLeftover = "SYNC_TEST_USER_LEFTOVER", AtRisk, SYNC_ONLY, "the IAS user ias_test_user_27F5AAEA from a failed activation exists";
    SyncJobFailed = "SYNC_JOB_FAILED", AtRisk, SYNC_ONLY, "the IPS job finished with error or has failed entities";
    ApiAuthFailed = "API_AUTH_FAILED", Unknown, NONE, "the audit's own credential was rejected (401/403)";
    ApiThrottled = "API_THROTTLED", Unknown, NONE, "still throttled (429) after retries";
    ApiError = "API_ERROR", Unknown, NONE, "the API kept failing (5xx, malformed or unexpected answer) after retries";
    MtlsRejected = "MTLS_REJECTED", Failing, BOTH, "the tenant does not accept the LMS client certificate";
    TechUserMissingPermission = "TECH_USER_MISSING_PERMISSION", AtRisk, BOTH, "the SAP LMS admin record lacks Read Users or Access Real-Time Provisioning API";
    InventoryDuplicateTenant = "INVENTORY_DUPLICATE_TENANT", Unknown, NONE, "a later row repeats a tenant_id; it is not audited";
    InventoryInvalidRow = "INVENTORY_INVALID_ROW", Unknown, NONE, "a row without tenant_id, with an unknown ips_type or malformed";
    IpsNeoRetiring = "IPS_NEO_RETIRING", Warn, SYNC_ONLY, "the tenant is on NEO IPS: Learning-only users lost real-time sync after 2026-07-09, NEO IPS is retired on 2028-12-31 (KBA 3718271)";
    LmsConfigMismatch = "LMS_CONFIG_MISMATCH", Failing, SYNC_ONLY, "LMS's ipsSourceSystemID, ipsURL or ipsAPIUrl does not match the tenant's IPS (KBA 3394484)";
    InventoryNothingToCheck = "INVENTORY_NOTHING_TO_CHECK", Unknown, NONE, "the row gives no evidence any check can use";
    CheckNotFinished = "CHECK_NOT_FINISHED", Unknown, NONE, "the run was interrupted before a check that applies to the tenant finished";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: data only. Checks make them; renderers show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub code: Code,
    /// What it was found about.
    pub target: Target,
    /// The code's default level, unless the check raised it (`CERT_NOT_REFERENCE` after the
    /// cutover).
    pub level: Level,
    /// The code's impacts.
    pub impacts: Vec<Impact>,
    /// Shared between tenants that point at the same evidence (one allocation per file).
    pub message: std::sync::Arc<str>,
}

impl Finding {
    /// A finding at the code's default level. What to do about it is written by
    /// `remediation` once the tenant is known; checks only say what they found.
    pub fn new(code: Code, target: Target, message: impl Into<std::sync::Arc<str>>) -> Finding {
        Finding {
            code,
            target,
            level: code.default_level(),
            impacts: code.impacts().to_vec(),
            message: message.into(),
        }
    }

    /// The same finding at another level.
    pub fn with_level(mut self, level: Level) -> Finding {
        self.level = level;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rank_as_the_spec_says() {
        assert!(Level::Ok < Level::Warn);
        assert!(Level::Warn < Level::Unknown);
        assert!(Level::Unknown < Level::AtRisk);
        assert!(Level::AtRisk < Level::Failing);
    }

    #[test]
    fn level_parse_accepts_cli_spellings() {
        assert_eq!(Level::parse("at_risk"), Some(Level::AtRisk));
        assert_eq!(Level::parse("AT-RISK"), Some(Level::AtRisk));
        assert_eq!(Level::parse("failing"), Some(Level::Failing));
        assert_eq!(Level::parse("bogus"), None);
    }

    #[test]
    fn codes_round_trip_through_serde_and_parse() {
        for &code in Code::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(Code::parse(code.as_str()), Some(code));
        }
        assert_eq!(Code::ALL.len(), 29);
    }
}
