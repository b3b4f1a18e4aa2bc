//! The profile table: every way a generated tenant is broken on purpose, the findings the audit
//! must report for it, and which tenants of a fleet get which profile.

use crate::scenario::IpsType;

/// A profile: how a generated tenant is built and what the audit must say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Profile {
    /// The name tenants report as their `profile`.
    pub(crate) name: &'static str,
    /// Every profile fixes the IPS type it needs.
    pub(crate) ips_type: IpsType,
    /// What is broken, in a sentence (`expected.json`).
    pub(crate) description: &'static str,
    /// `CODE@target` findings the audit must report.
    pub(crate) expected: &'static [&'static str],
    /// Codes that may accompany them as follow-on effects (at any target), e.g. the REST calls
    /// of a tenant whose server certificate is expired fail too.
    pub(crate) tolerated: &'static [&'static str],
    /// The cutover readiness the audit must give when it probes with the next LMS identity
    /// (docs/spec.md §8): `ready`, `not_ready`, or `unknown` where no probe gets an answer.
    pub(crate) readiness: &'static str,
}

const NEO: IpsType = IpsType::Neo;
const CONV: IpsType = IpsType::Converged;
pub(crate) const READY: &str = "ready";
const NOT_READY: &str = "not_ready";
/// No probe gets an answer (throttled, unreachable, bad server certificate) or none is made.
const UNKNOWN: &str = "unknown";

/// Every broken profile, in the order small fleets take them.
pub(crate) const PROFILES: [Profile; 24] = [
    Profile {
        name: "mtls_rejected_neo",
        ips_type: NEO,
        description: "both LMS certificates are on the IAS admin record, but the IPS inbound certificates hold only an older one; the inventory has no inbound-certificate evidence",
        expected: &[
            "MTLS_REJECTED@tech_user",
            "MTLS_NEXT_REJECTED@ips_inbound_cert",
        ],
        readiness: NOT_READY,
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
            "MTLS_NEXT_REJECTED@ias_admin_cert",
            "MTLS_NEXT_REJECTED@ips_inbound_cert",
        ],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "stale_with_leftover",
        ips_type: CONV,
        description: "no LMS user changed for 3 weeks and the ias_test_user_27F5AAEA leftover exists",
        expected: &["SYNC_STALE@sync", "SYNC_TEST_USER_LEFTOVER@sync"],
        readiness: READY,
        tolerated: &[],
    },
    Profile {
        name: "missing_permission",
        ips_type: CONV,
        description: "the SAP LMS admin record lacks Access Real-Time Provisioning API (declared and live)",
        expected: &["TECH_USER_MISSING_PERMISSION@tech_user"],
        readiness: READY,
        tolerated: &[],
    },
    Profile {
        name: "server_cert_expiring",
        ips_type: CONV,
        description: "the IAS host presents a server certificate that expires in 10 days",
        expected: &["SERVER_CERT_EXPIRING@ias_server"],
        readiness: READY,
        tolerated: &[],
    },
    Profile {
        name: "job_failed",
        ips_type: CONV,
        description: "the inventory's IPS job finished with error (2 failed entities)",
        expected: &["SYNC_JOB_FAILED@sync"],
        readiness: READY,
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
            "MTLS_NEXT_REJECTED@ias_admin_cert",
            "MTLS_NEXT_REJECTED@ips_inbound_cert",
        ],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "wrong_secret",
        ips_type: CONV,
        description: "secrets.env holds a secret the tenant does not know (the client ID locks after 5 tries)",
        expected: &["API_AUTH_FAILED@sync"],
        readiness: READY,
        tolerated: &[],
    },
    Profile {
        name: "throttled",
        ips_type: CONV,
        description: "the tenant answers 429 (Retry-After: 1) to every call",
        expected: &["API_THROTTLED@sync"],
        readiness: UNKNOWN,
        tolerated: &["API_THROTTLED"],
    },
    Profile {
        name: "unreachable",
        ips_type: CONV,
        description: "the IAS host refuses the TLS handshake",
        expected: &["ENDPOINT_UNREACHABLE@ias_server"],
        readiness: UNKNOWN,
        tolerated: &["ENDPOINT_UNREACHABLE"],
    },
    Profile {
        name: "before_deadline",
        ips_type: CONV,
        description: "the IAS record holds only an old certificate, which expires in 40 days, before the deadline",
        expected: &[
            "CERT_EXPIRES_BEFORE_DEADLINE@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_REJECTED@tech_user",
            "MTLS_NEXT_REJECTED@ias_admin_cert",
        ],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "mtls_rejected_converged",
        ips_type: CONV,
        description: "the SAP LMS admin record holds only the new certificate (the current one was removed too early): LMS is refused today, ready for the cutover; the inventory has no certificate evidence",
        expected: &["MTLS_REJECTED@tech_user"],
        readiness: READY,
        tolerated: &[],
    },
    Profile {
        name: "server_cert_expired",
        ips_type: CONV,
        description: "the IAS host presents an expired server certificate",
        expected: &["SERVER_CERT_EXPIRED@ias_server"],
        readiness: UNKNOWN,
        tolerated: &["ENDPOINT_UNREACHABLE"],
    },
    Profile {
        name: "server_chain_untrusted",
        ips_type: CONV,
        description: "the IAS host presents a certificate from an unknown CA",
        expected: &["SERVER_CHAIN_UNTRUSTED@ias_server"],
        readiness: UNKNOWN,
        tolerated: &["ENDPOINT_UNREACHABLE"],
    },
    Profile {
        name: "no_client_auth",
        ips_type: CONV,
        description: "the IAS record holds only a certificate whose extended key usage is serverAuth only",
        expected: &[
            "CERT_NO_CLIENT_AUTH@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_REJECTED@tech_user",
            "MTLS_NEXT_REJECTED@ias_admin_cert",
        ],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "weak_key_and_signature",
        ips_type: CONV,
        description: "the IAS record holds only a legacy RSA-1024 certificate signed with SHA-1",
        expected: &[
            "CERT_WEAK_KEY@ias_admin_cert",
            "CERT_WEAK_SIGNATURE@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_REJECTED@tech_user",
            "MTLS_NEXT_REJECTED@ias_admin_cert",
        ],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "unreadable_evidence",
        ips_type: CONV,
        description: "the exported evidence file holds a private key, not a certificate (the tenant itself is fine)",
        expected: &["CERT_UNREADABLE@ias_admin_cert"],
        readiness: READY,
        tolerated: &[],
    },
    Profile {
        name: "no_read_users",
        ips_type: CONV,
        description: "the audit credential's administrator lacks Read Users (SCIM answers 403)",
        expected: &["API_AUTH_FAILED@sync"],
        readiness: READY,
        tolerated: &[],
    },
    Profile {
        name: "malformed_answers",
        ips_type: CONV,
        description: "the tenant's SCIM answers are cut in half (malformed JSON) on every call",
        expected: &["API_ERROR@sync"],
        readiness: READY,
        tolerated: &["API_ERROR"],
    },
    Profile {
        name: "nothing_to_check",
        ips_type: NEO,
        description: "the inventory row names no host, certificate, permission or credential",
        expected: &["INVENTORY_NOTHING_TO_CHECK@inventory"],
        readiness: UNKNOWN,
        tolerated: &[],
    },
    Profile {
        name: "next_missing_ias",
        ips_type: CONV,
        description: "the SAP LMS admin record holds only the current LMS certificate: the new one was never imported, so LMS is refused from the cutover",
        expected: &[
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_NEXT_REJECTED@ias_admin_cert",
        ],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "next_missing_inbound",
        ips_type: NEO,
        description: "NEO tenant: both LMS certificates are on the IAS admin record, but the IPS inbound certificates hold only the current one; the inventory has no inbound-certificate evidence, only the probe with the next certificate finds it",
        expected: &["MTLS_NEXT_REJECTED@ips_inbound_cert"],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "validity_inverted",
        ips_type: CONV,
        description: "instead of the new LMS certificate, a broken one (notAfter before notBefore) was imported on the admin record beside the current one, and exported as evidence",
        expected: &[
            "CERT_VALIDITY_INVERTED@ias_admin_cert",
            "CERT_NOT_REFERENCE@ias_admin_cert",
            "MTLS_NEXT_REJECTED@ias_admin_cert",
        ],
        readiness: NOT_READY,
        tolerated: &[],
    },
    Profile {
        name: "lms_config_stale",
        ips_type: CONV,
        description: "migrated from NEO, but LMS's ipsAPIUrl still has the NEO form ending in /ips (the simulator answers 404 there)",
        expected: &["LMS_CONFIG_MISMATCH@lms_config"],
        readiness: READY,
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

/// Which profile each of `tenants` positions gets (`None`: healthy): the first
/// [`broken_count`] positions of a seeded shuffle, taking the profiles in the order listed.
pub(crate) fn assign(tenants: usize, rng: &mut fastrand::Rng) -> Vec<Option<&'static Profile>> {
    let broken = broken_count(tenants);
    let mut order: Vec<usize> = (0..tenants).collect();
    rng.shuffle(&mut order);
    let mut profile_of: Vec<Option<&'static Profile>> = vec![None; tenants];
    for (k, &pos) in order.iter().take(broken).enumerate() {
        profile_of[pos] = Some(&PROFILES[k % PROFILES.len()]);
    }
    profile_of
}
