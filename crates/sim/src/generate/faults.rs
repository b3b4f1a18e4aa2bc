//! The faults a generated tenant's simulated hosts inject, per profile.

use crate::scenario::{Family, Faults, ServerCertMode};

/// The faults of a tenant with profile `name`; none for most.
pub(crate) fn faults(name: &str) -> Faults {
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
    faults
}
