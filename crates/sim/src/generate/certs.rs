//! The certificates of a generated fleet: the client CA, the LMS identity presented today and
//! the next one (the new certificate, which tenants must import before the cutover), and per
//! profile the older, expired, not-yet-valid, wrong-usage, weak or inverted certificates its
//! admin record and inbound certificates hold instead, with the evidence files an operator
//! exported.

use crate::pki::{self, Ca, Eku, Issued, LeafSpec, PkiError};
use crate::scenario::IpsType;
use chrono::{DateTime, Duration, Utc};

/// The RSA-1024 / SHA-1 certificate of the weak-key profile (see `fixtures/weak/README.md`).
const WEAK_CERT: &[u8] = include_bytes!("../../../../fixtures/weak/lms-legacy-rsa1024-sha1.pem");

/// The certificates of the fleet: the client CA and the two LMS identities.
pub(crate) struct FleetPki {
    /// The stand-in for "SAP Cloud Platform Client CA".
    pub(crate) client_ca: Ca,
    /// The LMS certificate LMS presents today (until the cutover).
    pub(crate) lms: Issued,
    /// The new LMS certificate, which LMS presents from the cutover: the reference every
    /// tenant must have imported, held by every healthy tenant beside the current one.
    pub(crate) next: Issued,
    pub(crate) today: DateTime<Utc>,
}

impl FleetPki {
    /// A CA valid ten years either side of `today`, the current LMS certificate (from 300 days
    /// ago, valid past the deadline so that it is still presented until the cutover) and the
    /// next one (from a week ago for a year).
    pub(crate) fn new(today: DateTime<Utc>) -> Result<FleetPki, PkiError> {
        let client_ca = Ca::new(
            "SAP Cloud Platform Client CA (simulated)",
            today - Duration::days(3650),
            today + Duration::days(3650),
        )?;
        let lms = client_ca.issue(&LeafSpec::client(
            "lms-mtls.successfactors.com (2025)",
            today - Duration::days(300),
            today + Duration::days(65),
        ))?;
        let next = client_ca.issue(&LeafSpec::client(
            "lms-mtls.successfactors.com (2025-2026)",
            today - Duration::days(7),
            today + Duration::days(358),
        ))?;
        Ok(FleetPki {
            client_ca,
            lms,
            next,
            today,
        })
    }

    /// Another LMS certificate, valid from `from` to `to` days relative to today.
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

    /// An LMS certificate with clientAuth (the usual kind).
    fn client_cert(&self, cn_suffix: &str, from: i64, to: i64) -> Result<String, PkiError> {
        Ok(self
            .lms_cert(cn_suffix, from, to, Some(vec![Eku::ClientAuth]))?
            .cert_pem)
    }
}

/// What a tenant's LMS admin record and LMS source system hold, and what its operator exported.
#[derive(Debug, Clone)]
pub(crate) struct Certificates {
    /// The PEMs on the `SAP LMS – <id>` admin record.
    pub(crate) admin_certs: Vec<String>,
    /// The PEMs among the LMS source system's inbound certificates (used on NEO only).
    pub(crate) inbound_certs: Vec<String>,
    /// The `ias_admin_cert` evidence file's contents; `None`: the row names none.
    pub(crate) admin_evidence: Option<Vec<u8>>,
    /// The `ips_inbound_cert` evidence file's contents; `None`: the row names none.
    pub(crate) inbound_evidence: Option<Vec<u8>>,
}

/// The certificates of a tenant with profile `name`. Healthy: both LMS certificates in every
/// place (the new one first), so the tenant accepts LMS today and after the cutover; the
/// evidence is the new certificate, for both places on NEO. A profile that puts an older or
/// broken certificate in a place puts it there alone: neither LMS certificate is accepted
/// there.
pub(crate) fn certificates(
    name: &str,
    ips_type: IpsType,
    pki: &FleetPki,
) -> Result<Certificates, PkiError> {
    let reference = pki.next.cert_pem.clone();
    let current = pki.lms.cert_pem.clone();
    let both = vec![reference.clone(), current.clone()];
    let mut c = Certificates {
        admin_certs: both.clone(),
        inbound_certs: both,
        admin_evidence: Some(reference.clone().into_bytes()),
        inbound_evidence: (ips_type == IpsType::Neo).then(|| reference.clone().into_bytes()),
    };
    // The admin record's evidence follows what it holds (below) unless the profile says.
    let mut admin_exported: Option<String> = None;
    match name {
        "neo_expired_and_not_yet_valid" => {
            c.admin_certs = vec![pki.client_cert("2024-2025", -400, -5)?];
            c.inbound_certs = vec![pki.client_cert("2026-2027", 3, 368)?];
        }
        "neo_critical_and_soon" => {
            c.admin_certs = vec![pki.client_cert("2024-2025", -355, 10)?];
            c.inbound_certs = vec![pki.client_cert("2024-2025 b", -345, 20)?];
        }
        "before_deadline" => {
            c.admin_certs = vec![pki.client_cert("2024-2025", -325, 40)?];
        }
        "no_client_auth" => {
            c.admin_certs = vec![
                pki.lms_cert("server usage", -30, 335, Some(vec![Eku::ServerAuth]))?
                    .cert_pem,
            ];
        }
        "weak_key_and_signature" => {
            c.admin_certs = vec![String::from_utf8_lossy(WEAK_CERT).into_owned()];
        }
        "mtls_rejected_converged" => {
            // The new certificate imported and the current one removed too early.
            c.admin_certs = vec![reference.clone()];
            c.admin_evidence = None;
        }
        "mtls_rejected_neo" => {
            c.inbound_certs = vec![pki.client_cert("previous", -200, 165)?];
            c.inbound_evidence = None;
        }
        "next_missing_ias" => {
            c.admin_certs = vec![current.clone()];
        }
        "next_missing_inbound" => {
            c.inbound_certs = vec![current.clone()];
            c.inbound_evidence = None;
        }
        "validity_inverted" => {
            // Someone imported (and exported) a broken certificate instead of the new one.
            let inverted = pki.lms_cert("2026 reissue", 300, -30, Some(vec![Eku::ClientAuth]))?;
            c.admin_certs = vec![current.clone(), inverted.cert_pem.clone()];
            admin_exported = Some(inverted.cert_pem);
        }
        _ => {}
    }
    // The evidence is what the place holds: the new certificate where it is there, else the
    // first one.
    let held = |certs: &[String]| {
        if certs.contains(&reference) {
            reference.clone()
        } else {
            certs.first().cloned().unwrap_or_default()
        }
    };
    if c.admin_evidence.is_some() {
        c.admin_evidence = Some(
            admin_exported
                .unwrap_or_else(|| held(&c.admin_certs))
                .into_bytes(),
        );
    }
    if c.inbound_evidence.is_some() {
        c.inbound_evidence = Some(held(&c.inbound_certs).into_bytes());
    }
    if name == "unreadable_evidence" {
        // An operator exported the key of a .p12 instead of its certificate.
        let throwaway = pki::self_signed(&LeafSpec::client(
            "throwaway",
            pki.today,
            pki.today + Duration::days(1),
        ))?;
        c.admin_evidence = Some(throwaway.key_pem.into_bytes());
    }
    Ok(c)
}
