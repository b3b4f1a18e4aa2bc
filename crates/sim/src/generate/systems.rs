//! A generated tenant's IPS systems: the LMS source, the IAS target, and on some tenants a proxy
//! system.

use super::seeded::uuid;
use crate::scenario::{SystemKind, SystemSpec};

/// The display name of the LMS source system (and of its IAS application).
pub(crate) const LMS_SYSTEM_NAME: &str = "SAP SuccessFactors Learning";

fn system(id: String, name: &str, kind: SystemKind, connector: &str) -> SystemSpec {
    SystemSpec {
        id,
        name: name.to_string(),
        kind,
        connector: connector.to_string(),
        inbound_certificates: Vec::new(),
        inbound_certificate_files: Vec::new(),
    }
}

/// The systems, the LMS source first (its inbound certificates are set later, with the
/// tenant's certificates). Three in ten tenants also have a proxy system.
pub(crate) fn ips_systems(rng: &mut fastrand::Rng) -> Vec<SystemSpec> {
    let mut systems = vec![
        system(
            uuid(rng),
            LMS_SYSTEM_NAME,
            SystemKind::Source,
            "SAP_SUCCESSFACTORS_LEARNING",
        ),
        system(
            uuid(rng),
            "Identity Authentication",
            SystemKind::Target,
            "SAP_CLOUD_IDENTITY",
        ),
    ];
    if rng.u8(0..100) < 30 {
        systems.push(system(
            uuid(rng),
            "Learning Proxy",
            SystemKind::Proxy,
            "SAP_SUCCESSFACTORS_LEARNING",
        ));
    }
    systems
}
