//! Certificates made at run time with rcgen: the simulator's CA and server certificate, the
//! demo fleet's LMS certificates, and test fixtures. ring signs, so keys are ECDSA or Ed25519;
//! RSA-1024 or SHA-1 certificates (weak-key and weak-signature cases) come from `openssl` in
//! tests and from committed fixtures in the demo.

use chrono::{DateTime, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen could not make the key or the certificate.
    #[error("certificate generation failed")]
    Rcgen(#[from] rcgen::Error),
    /// A validity date cannot be written into a certificate.
    #[error("date out of range for a certificate: {0}")]
    Date(DateTime<Utc>),
}

/// Key algorithm of a generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlg {
    /// ECDSA on P-256 with SHA-256 (the default).
    #[default]
    P256,
    /// ECDSA on P-384 with SHA-384.
    P384,
    /// Ed25519.
    Ed25519,
}

impl KeyAlg {
    fn generate(self) -> Result<KeyPair, rcgen::Error> {
        KeyPair::generate_for(match self {
            KeyAlg::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
        })
    }
}

/// Extended key usages a generated leaf can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eku {
    /// TLS client authentication (what an mTLS client certificate needs).
    ClientAuth,
    /// TLS server authentication.
    ServerAuth,
    /// Code signing.
    CodeSigning,
    /// E-mail protection (S/MIME).
    EmailProtection,
}

/// What a leaf certificate should look like.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// The subject's CN.
    pub common_name: String,
    /// The subject's O, if any.
    pub organization: Option<String>,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// Extended key usages; `None`: no EKU extension at all.
    pub ekus: Option<Vec<Eku>>,
    /// DNS names of the subject alternative name (wildcards allowed).
    pub dns_names: Vec<String>,
    /// The key algorithm.
    pub key: KeyAlg,
    /// A fixed serial number; `None` lets rcgen pick a random one.
    pub serial: Option<u64>,
}

impl LeafSpec {
    /// A client certificate valid from `not_before` to `not_after`, with clientAuth.
    pub fn client(cn: &str, not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> LeafSpec {
        LeafSpec {
            common_name: cn.to_string(),
            organization: Some("SAP SE".to_string()),
            not_before,
            not_after,
            ekus: Some(vec![Eku::ClientAuth]),
            dns_names: Vec::new(),
            key: KeyAlg::P256,
            serial: None,
        }
    }

    /// A TLS server certificate for the given DNS names (wildcards allowed).
    pub fn server(
        names: &[String],
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> LeafSpec {
        LeafSpec {
            common_name: names
                .first()
                .cloned()
                .unwrap_or_else(|| "localhost".to_string()),
            organization: None,
            not_before,
            not_after,
            ekus: Some(vec![Eku::ServerAuth]),
            dns_names: names.to_vec(),
            key: KeyAlg::P256,
            serial: None,
        }
    }
}

/// A generated certificate with its private key. The key is PEM (PKCS#8) text; callers write
/// it only where a key belongs (the simulator's export, a test's temp dir) and never print it.
#[derive(Clone)]
pub struct Issued {
    /// The certificate as PEM.
    pub cert_pem: String,
    /// The certificate as DER.
    pub cert_der: Vec<u8>,
    /// The private key as PEM (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_der_len", &self.cert_der.len())
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A certificate authority that can issue leaves.
pub struct Ca {
    /// The CA's own (self-signed) certificate and key.
    pub cert: Issued,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("cert", &self.cert).finish()
    }
}

fn to_time(d: DateTime<Utc>) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(d.timestamp()).map_err(|_| PkiError::Date(d))
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(o) = org {
        dn.push(DnType::OrganizationName, o);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

fn leaf_params(spec: &LeafSpec) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(spec.dns_names.clone())?;
    params.distinguished_name = dn(&spec.common_name, spec.organization.as_deref());
    params.not_before = to_time(spec.not_before)?;
    params.not_after = to_time(spec.not_after)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    if let Some(s) = spec.serial {
        params.serial_number = Some(SerialNumber::from_slice(&s.to_be_bytes()));
    }
    if let Some(ekus) = &spec.ekus {
        params.extended_key_usages = ekus
            .iter()
            .map(|e| match e {
                Eku::ClientAuth => ExtendedKeyUsagePurpose::ClientAuth,
                Eku::ServerAuth => ExtendedKeyUsagePurpose::ServerAuth,
                Eku::CodeSigning => ExtendedKeyUsagePurpose::CodeSigning,
                Eku::EmailProtection => ExtendedKeyUsagePurpose::EmailProtection,
            })
            .collect();
    }
    Ok(params)
}

impl Ca {
    /// A self-signed CA valid from `not_before` to `not_after`.
    pub fn new(
        cn: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Ca, PkiError> {
        let key = KeyAlg::P256.generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = dn(cn, Some("mtls-audit"));
        params.not_before = to_time(not_before)?;
        params.not_after = to_time(not_after)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        let issued = Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
        };
        Ok(Ca {
            cert: issued,
            issuer: Issuer::new(params, key),
        })
    }

    /// Issues a leaf signed by this CA.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Issued, PkiError> {
        let key = spec.key.generate()?;
        let cert = leaf_params(spec)?.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// A self-signed leaf (no CA).
pub fn self_signed(spec: &LeafSpec) -> Result<Issued, PkiError> {
    let key = spec.key.generate()?;
    let cert = leaf_params(spec)?.self_signed(&key)?;
    Ok(Issued {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use chrono::Duration;

    #[test]
    fn issued_leaf_has_the_asked_dates_and_usage() {
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let ca = Ca::new(
            "Test CA",
            now - Duration::days(10),
            now + Duration::days(3650),
        )
        .unwrap();
        let leaf = ca
            .issue(&LeafSpec::client(
                "LMS client",
                now - Duration::days(1),
                now + Duration::days(30),
            ))
            .unwrap();
        let (_, f) = x509_parser::parse_x509_certificate(&leaf.cert_der).unwrap();
        assert_eq!(
            f.validity().not_after.timestamp(),
            (now + Duration::days(30)).timestamp()
        );
        assert_eq!(f.subject().to_string(), "O=SAP SE, CN=LMS client");
        assert_eq!(f.issuer().to_string(), "O=mtls-audit, CN=Test CA");
        let eku = f.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert!(!format!("{leaf:?}").contains("PRIVATE"));
    }
}
