//! A generated tenant's administrator records: the LMS system's (which holds the LMS
//! certificate), the auditor's reader, and a person.

use super::certs::FleetPki;
use super::credentials::{AuthMode, Reader};
use super::identity::Identity;
use super::seeded::uuid;
use crate::pki::{Issued, LeafSpec, PkiError};
use crate::scenario::{AdminKind, AdminSpec};
use chrono::Duration;

/// The permissions LMS needs on its admin record.
const LMS_PERMISSIONS: [&str; 2] = ["Read Users", "Access Real-Time Provisioning API"];

/// The permissions the `SAP LMS – <id>` record has; `missing_permission` lacks real-time
/// provisioning.
pub(crate) fn lms_permissions(name: &str) -> Vec<String> {
    let mut perms: Vec<String> = LMS_PERMISSIONS.iter().map(|s| s.to_string()).collect();
    if name == "missing_permission" {
        perms.retain(|p| p != "Access Real-Time Provisioning API");
    }
    perms
}

/// The records, in this order: `SAP LMS – <id>` holding `lms_certs`, the reader (with a
/// certificate of its own when it authenticates by mTLS, returned too), and the owner.
pub(crate) fn admin_records(
    who: &Identity,
    lms_permissions: &[String],
    lms_certs: Vec<String>,
    reader: &Reader,
    pki: &FleetPki,
    rng: &mut fastrand::Rng,
) -> Result<(Vec<AdminSpec>, Option<Issued>), PkiError> {
    let tenant_id = &who.tenant_id;
    let lms = AdminSpec {
        name: format!("SAP LMS – {tenant_id}"),
        kind: AdminKind::System,
        client_id: Some(uuid(rng)),
        secrets: Vec::new(),
        permissions: lms_permissions.to_vec(),
        certificates: lms_certs,
        certificate_files: Vec::new(),
        client_id_lock: true,
    };
    let reader_cert = if reader.has_credential && reader.auth == AuthMode::Mtls {
        Some(pki.client_ca.issue(&LeafSpec::client(
            &format!("mtls-audit reader ({tenant_id})"),
            pki.today - Duration::days(30),
            pki.today + Duration::days(700),
        ))?)
    } else {
        None
    };
    let reader_record = AdminSpec {
        name: format!("mtls-audit reader ({tenant_id})"),
        kind: AdminKind::System,
        client_id: Some(reader.client_id.clone()),
        secrets: vec![reader.secret.clone()],
        permissions: reader.permissions.clone(),
        certificates: reader_cert.iter().map(|c| c.cert_pem.clone()).collect(),
        certificate_files: Vec::new(),
        client_id_lock: true,
    };
    let person = AdminSpec {
        name: format!("{} {}", who.first, who.last),
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
    };
    Ok((vec![lms, reader_record, person], reader_cert))
}
