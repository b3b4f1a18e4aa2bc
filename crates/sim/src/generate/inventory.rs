//! A generated tenant's inventory row, as an operator fills it in: URLs, the LMS source system,
//! declared permissions, the last job, exported certificate evidence and the audit credential.

use super::certs::Certificates;
use super::credentials::{self, Reader};
use super::identity::Identity;
use super::{GeneratedFile, InventoryRow};
use crate::pki::Issued;
use crate::scenario::IpsType;

/// What the row is made from.
pub(crate) struct RowFacts<'a> {
    /// The profile's name, or `healthy`.
    pub(crate) name: &'a str,
    pub(crate) who: &'a Identity,
    pub(crate) lms_system_id: &'a str,
    pub(crate) lms_permissions: &'a [String],
    /// The ID of the tenant's last job.
    pub(crate) job_id: &'a str,
    pub(crate) certificates: &'a Certificates,
    pub(crate) reader: &'a Reader,
    pub(crate) reader_cert: Option<&'a Issued>,
}

/// A row and what it brings into the export.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub(crate) row: InventoryRow,
    /// Evidence files under `certs/`, then the credential's files under `keys/`.
    pub(crate) files: Vec<GeneratedFile>,
    /// The `credentials.toml` entry: its name and table.
    pub(crate) credential: Option<(String, toml::Table)>,
    /// The `secrets.env` entry.
    pub(crate) secret: Option<(String, String)>,
}

/// The row. `nothing_to_check` names nothing but the tenant and its owner; a quarter of the rows
/// declare one permission more than needed; healthy converged tenants name their last job four
/// times in five, and a quarter of healthy tenants' evidence is DER instead of PEM. Every other
/// row has LMS's IPS settings (right but for `lms_config_stale`) and, on NEO, whether the
/// customer has Learning-only users (yes, no or not known, a third each).
pub(crate) fn row(f: &RowFacts<'_>, rng: &mut fastrand::Rng) -> Row {
    let who = f.who;
    let mut out = Row {
        row: InventoryRow {
            tenant_id: who.tenant_id.clone(),
            ips_type: who.ips_type.as_str().to_string(),
            environment: who.environment.as_str().to_string(),
            owner: who.owner(),
            owner_email: who.email(),
            ..InventoryRow::default()
        },
        ..Row::default()
    };
    if f.name == "nothing_to_check" {
        return out;
    }
    let row = &mut out.row;
    row.ias_url = format!("https://{}", who.ias_host);
    row.ips_url = who
        .ips_cert_host
        .as_ref()
        .map(|h| format!("https://{h}"))
        .unwrap_or_default();
    row.ips_source_system_id = f.lms_system_id.to_string();
    let mut declared = f.lms_permissions.to_vec();
    if rng.u8(0..100) < 25 {
        declared.push("Manage Users".to_string());
    }
    row.tech_user_permissions = declared.join(";");
    if who.ips_type == IpsType::Converged && (f.name != "healthy" || rng.u8(0..100) < 80) {
        row.job_id = f.job_id.to_string();
    }
    for (target, evidence) in [
        ("ias_admin_cert", &f.certificates.admin_evidence),
        ("ips_inbound_cert", &f.certificates.inbound_evidence),
    ] {
        let Some(pem) = evidence else { continue };
        let file = evidence_file(f.name, &who.slug, target, pem.clone(), rng);
        match target {
            "ias_admin_cert" => row.ias_admin_cert = file.path.clone(),
            _ => row.ips_inbound_cert = file.path.clone(),
        }
        out.files.push(file);
    }
    lms_settings(row, f);
    if who.ips_type == IpsType::Neo {
        row.learning_only_users = ["yes", "no", ""][rng.usize(..3)].to_string();
    }
    if f.reader.has_credential {
        let name = format!("{}-reader", who.slug);
        let (table, extra) = credentials::entry(
            f.name,
            &who.slug,
            &who.tenant_id,
            f.reader,
            f.reader_cert,
            rng,
        );
        out.files.extend(extra.files);
        out.secret = extra.secret;
        out.row.credential = name.clone();
        out.credential = Some((name, table));
    }
    out
}

/// LMS's System Configuration "SAP CLOUD IDENTITY SERVICES" as the operator copied it: the LMS
/// source system, and the IPS URLs — on a converged tenant its IAS host and the real-time API
/// under `/ipsproxy/service/api` (docs/spec.md §9); on NEO the NEO IPS host and the NEO form,
/// which ends in `/ips`. `lms_config_stale` migrated but kept the NEO form of `ipsAPIUrl`.
fn lms_settings(row: &mut InventoryRow, f: &RowFacts<'_>) {
    let who = f.who;
    row.lms_ips_source_system_id = f.lms_system_id.to_string();
    let (ips, api) = match (&who.ips_host, who.ips_type) {
        (Some(neo), IpsType::Neo) => (format!("https://{neo}"), format!("https://{neo}/ips")),
        _ => {
            let ips = format!("https://{}", who.ias_host);
            let api = if f.name == "lms_config_stale" {
                format!("{ips}/ips")
            } else {
                format!("{ips}/ipsproxy/service/api")
            };
            (ips, api)
        }
    };
    row.lms_ips_url = ips;
    row.lms_ips_api_url = api;
}

/// The evidence file for `target` (`certs/<slug>-<target>.pem`). Operators export PEM (.crt) or
/// DER (.cer); the audit sniffs the content, so a quarter of healthy tenants' files are DER.
fn evidence_file(
    name: &str,
    slug: &str,
    target: &str,
    pem: Vec<u8>,
    rng: &mut fastrand::Rng,
) -> GeneratedFile {
    let der = name == "healthy" && rng.u8(0..100) < 25;
    let (path, contents) = if der {
        let d = rustls_pki_types::pem::PemObject::from_pem_slice(&pem)
            .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
            .unwrap_or(pem);
        (format!("certs/{slug}-{target}.cer"), d)
    } else {
        (format!("certs/{slug}-{target}.pem"), pem)
    };
    GeneratedFile {
        path,
        contents,
        private: false,
    }
}
