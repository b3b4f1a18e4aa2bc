//! The certificates of a generated fleet: the client CA and the new LMS identity every healthy
//! tenant holds, and per profile the older, expired, not-yet-valid, wrong-usage or weak
//! certificates its admin record and inbound certificates hold instead, with the evidence files
//! an operator exported.

use crate::pki::{self, Ca, Eku, Issued, LeafSpec, PkiError};
use crate::scenario::IpsType;
use chrono::{DateTime, Duration, Utc};

/// The RSA-1024 / SHA-1 certificate of the weak-key profile (see `fixtures/weak/README.md`).
const WEAK_CERT: &[u8] = include_bytes!("../../../../fixtures/weak/lms-legacy-rsa1024-sha1.pem");

/// The certificates of the fleet: the client CA and the LMS identity.
pub(crate) struct FleetPki {
    /// The stand-in for "SAP Cloud Platform Client CA".
    pub(crate) client_ca: Ca,
    /// The new LMS certificate: what every healthy tenant holds, and the reference.
    pub(crate) lms: Issued,
    pub(crate) today: DateTime<Utc>,
}

impl FleetPki {
    /// A CA valid ten years either side of `today` and an LMS certificate from a week ago for a
    /// year.
    pub(crate) fn new(today: DateTime<Utc>) -> Result<FleetPki, PkiError> {
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
        Ok(FleetPki {
            client_ca,
            lms,
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
    /// The PEM on the `SAP LMS – <id>` admin record.
    pub(crate) admin_cert: String,
    /// The PEM among the LMS source system's inbound certificates (used on NEO only).
    pub(crate) inbound_cert: String,
    /// The `ias_admin_cert` evidence file's contents; `None`: the row names none.
    pub(crate) admin_evidence: Option<Vec<u8>>,
    /// The `ips_inbound_cert` evidence file's contents; `None`: the row names none.
    pub(crate) inbound_evidence: Option<Vec<u8>>,
}

/// The certificates of a tenant with profile `name` (`healthy`: the new LMS certificate
/// everywhere, with evidence for both on NEO).
pub(crate) fn certificates(
    name: &str,
    ips_type: IpsType,
    pki: &FleetPki,
) -> Result<Certificates, PkiError> {
    let reference = pki.lms.cert_pem.clone();
    let mut c = Certificates {
        admin_cert: reference.clone(),
        inbound_cert: reference.clone(),
        admin_evidence: Some(reference.clone().into_bytes()),
        inbound_evidence: (ips_type == IpsType::Neo).then(|| reference.clone().into_bytes()),
    };
    match name {
        "neo_expired_and_not_yet_valid" => {
            c.admin_cert = pki.client_cert("2024-2025", -400, -5)?;
            c.inbound_cert = pki.client_cert("2026-2027", 3, 368)?;
        }
        "neo_critical_and_soon" => {
            c.admin_cert = pki.client_cert("2024-2025", -355, 10)?;
            c.inbound_cert = pki.client_cert("2024-2025 b", -345, 20)?;
        }
        "before_deadline" => {
            c.admin_cert = pki.client_cert("2024-2025", -325, 40)?;
        }
        "no_client_auth" => {
            c.admin_cert = pki
                .lms_cert("server usage", -30, 335, Some(vec![Eku::ServerAuth]))?
                .cert_pem;
        }
        "weak_key_and_signature" => {
            c.admin_cert = String::from_utf8_lossy(WEAK_CERT).into_owned();
        }
        "mtls_rejected_converged" => {
            c.admin_cert = pki.client_cert("previous", -200, 165)?;
            c.admin_evidence = None;
        }
        "mtls_rejected_neo" => {
            c.inbound_cert = pki.client_cert("previous", -200, 165)?;
            c.inbound_evidence = None;
        }
        _ => {}
    }
    // The evidence is what the tenant holds.
    if c.admin_evidence.is_some() && c.admin_cert != reference {
        c.admin_evidence = Some(c.admin_cert.clone().into_bytes());
    }
    if c.inbound_evidence.is_some() && c.inbound_cert != reference {
        c.inbound_evidence = Some(c.inbound_cert.clone().into_bytes());
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
