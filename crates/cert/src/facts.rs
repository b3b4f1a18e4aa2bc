//! One DER certificate → the facts the reports give (docs/spec.md §4).
//!
//! Facts are computed once per certificate and shared (`Arc`) by every tenant that points at
//! the same file; anything that depends on the run (`days_left`, reference match) is derived
//! later from these values.

use crate::der;
use chrono::{DateTime, Utc};
use ring::digest;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::*;

/// Why DER gave no facts. The text is copied into [`crate::LoadError::Damaged`] messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    /// x509-parser refused the certificate (or its extended key usage); the text says why.
    #[error("not a valid X.509 certificate: {0}")]
    Invalid(String),
    /// A validity date chrono cannot represent.
    #[error("the certificate's validity dates are out of range")]
    DateRange,
}

/// Key type and size of a certificate's public key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyInfo {
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA` or the algorithm OID when unknown.
    #[serde(rename = "type")]
    pub kind: String,
    /// Modulus size for RSA/DSA, field size for EC; `None` when it cannot be told.
    pub bits: Option<u32>,
    /// Named curve for EC keys (`P-256`, `P-384`, `P-521`, or the OID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

impl std::fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.bits, &self.curve) {
            (_, Some(curve)) => write!(f, "{} {}", self.kind, curve),
            (Some(bits), None) => write!(f, "{} {}", self.kind, bits),
            (None, None) => f.write_str(&self.kind),
        }
    }
}

/// The facts of one certificate. Strings are ready to print; DER names are kept for chain
/// building (which certificate issued which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// RFC 4514 order (most specific first, as `openssl -nameopt RFC2253` prints it).
    pub subject: String,
    /// The issuer's name, as [`CertFacts::subject`].
    pub issuer: String,
    /// Lowercase hex of the serial number's magnitude, no separators, `-` prefix if negative.
    pub serial: String,
    /// Start of validity (second precision, UTC).
    pub not_before: DateTime<Utc>,
    /// End of validity (second precision, UTC).
    pub not_after: DateTime<Utc>,
    /// Lowercase hex SHA-256 of the DER, no separators.
    pub sha256: String,
    /// Lowercase hex SHA-1 of the DER, no separators.
    pub sha1: String,
    /// Key type and size.
    pub key: KeyInfo,
    /// OpenSSL's long name, e.g. `sha256WithRSAEncryption`, `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// `None` when the certificate has no extended key usage extension.
    pub ekus: Option<Vec<String>>,
    /// DNS names of the subject alternative name extension (server certificates).
    pub dns_names: Vec<String>,
    /// Whether basic constraints say CA.
    pub is_ca: bool,
    /// The DER of the subject name, to tell which certificate issued which.
    pub subject_der: Vec<u8>,
    /// The DER of the issuer name.
    pub issuer_der: Vec<u8>,
}

impl CertFacts {
    /// The facts of one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<CertFacts, FactsError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| FactsError::Invalid(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let not_before = DateTime::from_timestamp(tbs.validity.not_before.timestamp(), 0)
            .ok_or(FactsError::DateRange)?;
        let not_after = DateTime::from_timestamp(tbs.validity.not_after.timestamp(), 0)
            .ok_or(FactsError::DateRange)?;
        let ekus = match cert.extended_key_usage() {
            Ok(Some(ext)) => Some(eku_names(ext.value)),
            Ok(None) => None,
            Err(e) => return Err(FactsError::Invalid(format!("extended key usage: {e}"))),
        };
        let dns_names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(CertFacts {
            subject: dn_string(tbs.subject()),
            issuer: dn_string(tbs.issuer()),
            serial: serial_hex(tbs.raw_serial()),
            not_before,
            not_after,
            sha256: hex(digest::digest(&digest::SHA256, der).as_ref()),
            sha1: hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
            key: key_info(tbs.public_key()),
            signature_algorithm: sig_name(&cert.signature_algorithm.algorithm),
            ekus,
            dns_names,
            is_ca: cert.is_ca(),
            subject_der: tbs.subject().as_raw().to_vec(),
            issuer_der: tbs.issuer().as_raw().to_vec(),
        })
    }

    /// floor((not_after − as_of) / 1 day), negative once expired (docs/spec.md §4).
    pub fn days_left(&self, as_of: DateTime<Utc>) -> i64 {
        days_between(as_of, self.not_after)
    }

    /// Whether the certificate may be used for TLS client authentication: `true` without an EKU
    /// extension, otherwise only if it lists clientAuth or anyExtendedKeyUsage.
    pub fn allows_client_auth(&self) -> bool {
        match &self.ekus {
            None => true,
            Some(list) => list
                .iter()
                .any(|e| e == "clientAuth" || e == "anyExtendedKeyUsage"),
        }
    }

    /// RSA under 2048 bits, EC under 256 bits, DSA under 2048 bits.
    pub fn weak_key(&self) -> bool {
        let min = match self.key.kind.as_str() {
            "RSA" | "DSA" => 2048,
            "EC" => 256,
            _ => return false,
        };
        self.key.bits.is_some_and(|b| b < min)
    }

    /// Signed with MD2, MD4, MD5 or SHA-1.
    pub fn weak_signature(&self) -> bool {
        let s = self.signature_algorithm.to_ascii_lowercase();
        s.starts_with("md2") || s.starts_with("md4") || s.starts_with("md5") || s.contains("sha1")
    }

    /// Whether subject and issuer are the same name (a root, or a self-signed certificate).
    pub fn self_issued(&self) -> bool {
        self.subject_der == self.issuer_der
    }
}

/// Whole days from `from` to `to`, rounded down (so one second past expiry is day −1).
pub fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().div_euclid(86_400)
}

/// Lowercase hex, no separators.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

fn serial_hex(raw: &[u8]) -> String {
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        // Negative (invalid per RFC 5280 but seen in the wild): print the magnitude as OpenSSL
        // does, from the two's complement.
        let mut mag: Vec<u8> = raw.iter().map(|b| !b).collect();
        for byte in mag.iter_mut().rev() {
            let (v, carry) = byte.overflowing_add(1);
            *byte = v;
            if !carry {
                break;
            }
        }
        return format!("-{}", serial_hex(&mag));
    }
    let trimmed: &[u8] = match raw.iter().position(|&b| b != 0) {
        Some(i) => &raw[i..],
        None => &[0],
    };
    hex(trimmed)
}

fn eku_names(eku: &ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let flags = [
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
        (eku.any, "anyExtendedKeyUsage"),
    ];
    for (set, name) in flags {
        if set {
            out.push(name.to_string());
        }
    }
    out.extend(eku.other.iter().map(|o| o.to_id_string()));
    out
}

fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    let alg = spki.algorithm.algorithm.to_id_string();
    let param_oid = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let bits = match spki.parsed() {
                Ok(public_key::PublicKey::RSA(rsa)) => Some(bit_len(rsa.modulus)),
                _ => None,
            };
            KeyInfo {
                kind: "RSA".into(),
                bits,
                curve: None,
            }
        }
        "1.2.840.10045.2.1" => {
            let (curve, bits) = match param_oid.as_deref() {
                Some("1.2.840.10045.3.1.7") => (Some("P-256".to_string()), Some(256)),
                Some("1.3.132.0.34") => (Some("P-384".to_string()), Some(384)),
                Some("1.3.132.0.35") => (Some("P-521".to_string()), Some(521)),
                Some("1.3.132.0.10") => (Some("secp256k1".to_string()), Some(256)),
                Some("1.2.840.10045.3.1.1") => (Some("P-192".to_string()), Some(192)),
                Some("1.3.132.0.33") => (Some("P-224".to_string()), Some(224)),
                other => {
                    // Explicit or unknown curve parameters: fall back to the point size.
                    let bits = match spki.parsed() {
                        Ok(pk) => u32::try_from(pk.key_size()).ok().filter(|b| *b > 0),
                        Err(_) => None,
                    };
                    (other.map(str::to_string), bits)
                }
            };
            KeyInfo {
                kind: "EC".into(),
                bits,
                curve,
            }
        }
        "1.3.101.112" => KeyInfo {
            kind: "Ed25519".into(),
            bits: Some(256),
            curve: None,
        },
        "1.3.101.113" => KeyInfo {
            kind: "Ed448".into(),
            bits: Some(456),
            curve: None,
        },
        "1.2.840.10040.4.1" => {
            // DSA: the size is that of the prime p in the parameters; the public value Y is a
            // fair stand-in (same length up to leading zeros) and needs no parameter parsing.
            let bits = match spki.parsed() {
                Ok(public_key::PublicKey::DSA(y)) => Some(bit_len(y)),
                _ => None,
            };
            KeyInfo {
                kind: "DSA".into(),
                bits,
                curve: None,
            }
        }
        other => KeyInfo {
            kind: other.to_string(),
            bits: None,
            curve: None,
        },
    }
}

/// Bit length of a big-endian unsigned integer, ignoring leading zero bytes and bits.
fn bit_len(bytes: &[u8]) -> u32 {
    let Some(i) = bytes.iter().position(|&b| b != 0) else {
        return 0;
    };
    let rest = &bytes[i..];
    let top = 8 - rest[0].leading_zeros();
    (rest.len() as u32 - 1) * 8 + top
}

fn sig_name(oid: &Oid<'_>) -> String {
    let id = oid.to_id_string();
    let name = match id.as_str() {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.3" => "md4WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        _ => return id,
    };
    name.to_string()
}

/// RFC 4514 string of a name exactly as `openssl x509 -noout -subject -nameopt RFC2253`
/// prints it, with one deliberate difference: characters outside ASCII are written as UTF-8
/// rather than as `\XX` escapes of their UTF-8 bytes (so `CN=Müller`, not `CN=M\C3\BCller`),
/// which is what `-nameopt RFC2253,-esc_msb` prints. Like OpenSSL:
///
/// * the attributes are listed last to first, `,` between RDNs and `+` inside one; OpenSSL
///   reverses the whole attribute list, so the values of a multi-valued RDN come out in reverse
///   encoded order too;
/// * attribute types have OpenSSL's short names (`CN`, `emailAddress`, `jurisdictionC`, …), and
///   an unknown type is the dotted OID with its value as `#` and the uppercase hex of its DER;
/// * string values are decoded by their ASN.1 type (T61String as Latin-1, BMPString as UCS-2,
///   UniversalString as UCS-4), other types are dumped as `#` hex DER;
/// * `,+"\<>;` are escaped with a backslash, as are a leading space or `#` and a trailing space;
///   control characters become `\XX`.
pub(crate) fn dn_string(name: &X509Name<'_>) -> String {
    dn_from_der(name.as_raw()).unwrap_or_else(|| name.to_string())
}

/// [`dn_string`] of the DER of a Name; `None` if it is not a well-formed Name.
pub(crate) fn dn_from_der(raw: &[u8]) -> Option<String> {
    let (seq, _) = der::parse(raw).ok()?;
    if !seq.tag.is_universal(der::SEQUENCE) {
        return None;
    }
    let mut entries: Vec<(usize, String)> = Vec::new();
    for (set_index, rdn) in seq.children().enumerate() {
        let rdn = rdn.ok()?;
        for atv in rdn.children() {
            let atv = atv.ok()?;
            let mut kids = atv.children();
            let oid = kids.next()?.ok()?;
            let value = kids.next()?.ok()?;
            if !oid.tag.is_universal(der::OID) {
                return None;
            }
            entries.push((set_index, attribute_string(oid.value, &value)?));
        }
    }
    let mut out = String::new();
    let mut prev: Option<usize> = None;
    for (set_index, text) in entries.iter().rev() {
        if let Some(p) = prev {
            out.push(if p == *set_index { '+' } else { ',' });
        }
        out.push_str(text);
        prev = Some(*set_index);
    }
    Some(out)
}

fn attribute_string(oid: &[u8], value: &der::Tlv<'_>) -> Option<String> {
    let dotted = der::oid_string(oid)?;
    let short = ATTRIBUTE_NAMES
        .iter()
        .find(|(o, _)| *o == dotted)
        .map(|(_, n)| *n);
    Some(match (short, decode_string(value)) {
        (Some(name), Some(text)) => format!("{name}={}", escape_dn_value(&text)),
        (Some(name), None) => format!("{name}=#{}", hex_upper(value.raw)),
        (None, _) => format!("{dotted}=#{}", hex_upper(value.raw)),
    })
}

/// The text of a string-typed value as OpenSSL reads it, `None` for other types.
fn decode_string(value: &der::Tlv<'_>) -> Option<String> {
    if value.tag.class != der::Class::Universal || value.tag.constructed {
        return None;
    }
    let v = value.value;
    match value.tag.number {
        // UTF8String
        12 => std::str::from_utf8(v).ok().map(str::to_string),
        // Numeric, Printable, T61, IA5, UTCTime, GeneralizedTime, Visible: one byte a char.
        18 | 19 | 20 | 22 | 23 | 24 | 26 => Some(v.iter().map(|&b| char::from(b)).collect()),
        // UniversalString: UCS-4 big-endian.
        28 if v.len().is_multiple_of(4) => v
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        // BMPString: UCS-2 big-endian.
        30 if v.len().is_multiple_of(2) => v
            .chunks_exact(2)
            .map(|c| char::from_u32(u32::from(u16::from_be_bytes([c[0], c[1]]))))
            .collect(),
        _ => None,
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    hex(bytes).to_ascii_uppercase()
}

/// OpenSSL's short names (`OBJ_nid2sn`, falling back to the long name where it has no short
/// one) for the attribute types of the X.520, PKCS#9, pilot (RFC 1274) and EV jurisdiction arcs,
/// taken from OpenSSL 3.0's `obj_mac.h`. Types outside this table print as dotted OIDs.
const ATTRIBUTE_NAMES: &[(&str, &str)] = &[
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.2", "textEncodedORAddress"),
    ("0.9.2342.19200300.100.1.3", "mail"),
    ("0.9.2342.19200300.100.1.4", "info"),
    ("0.9.2342.19200300.100.1.5", "favouriteDrink"),
    ("0.9.2342.19200300.100.1.6", "roomNumber"),
    ("0.9.2342.19200300.100.1.7", "photo"),
    ("0.9.2342.19200300.100.1.8", "userClass"),
    ("0.9.2342.19200300.100.1.9", "host"),
    ("0.9.2342.19200300.100.1.10", "manager"),
    ("0.9.2342.19200300.100.1.11", "documentIdentifier"),
    ("0.9.2342.19200300.100.1.12", "documentTitle"),
    ("0.9.2342.19200300.100.1.13", "documentVersion"),
    ("0.9.2342.19200300.100.1.14", "documentAuthor"),
    ("0.9.2342.19200300.100.1.15", "documentLocation"),
    ("0.9.2342.19200300.100.1.20", "homeTelephoneNumber"),
    ("0.9.2342.19200300.100.1.21", "secretary"),
    ("0.9.2342.19200300.100.1.22", "otherMailbox"),
    ("0.9.2342.19200300.100.1.23", "lastModifiedTime"),
    ("0.9.2342.19200300.100.1.24", "lastModifiedBy"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.26", "aRecord"),
    ("0.9.2342.19200300.100.1.27", "pilotAttributeType27"),
    ("0.9.2342.19200300.100.1.28", "mXRecord"),
    ("0.9.2342.19200300.100.1.29", "nSRecord"),
    ("0.9.2342.19200300.100.1.30", "sOARecord"),
    ("0.9.2342.19200300.100.1.31", "cNAMERecord"),
    ("0.9.2342.19200300.100.1.37", "associatedDomain"),
    ("0.9.2342.19200300.100.1.38", "associatedName"),
    ("0.9.2342.19200300.100.1.39", "homePostalAddress"),
    ("0.9.2342.19200300.100.1.40", "personalTitle"),
    ("0.9.2342.19200300.100.1.41", "mobileTelephoneNumber"),
    ("0.9.2342.19200300.100.1.42", "pagerTelephoneNumber"),
    ("0.9.2342.19200300.100.1.43", "friendlyCountryName"),
    ("0.9.2342.19200300.100.1.44", "uid"),
    ("0.9.2342.19200300.100.1.45", "organizationalStatus"),
    ("0.9.2342.19200300.100.1.46", "janetMailbox"),
    ("0.9.2342.19200300.100.1.47", "mailPreferenceOption"),
    ("0.9.2342.19200300.100.1.48", "buildingName"),
    ("0.9.2342.19200300.100.1.49", "dSAQuality"),
    ("0.9.2342.19200300.100.1.50", "singleLevelQuality"),
    ("0.9.2342.19200300.100.1.51", "subtreeMinimumQuality"),
    ("0.9.2342.19200300.100.1.52", "subtreeMaximumQuality"),
    ("0.9.2342.19200300.100.1.53", "personalSignature"),
    ("0.9.2342.19200300.100.1.54", "dITRedirect"),
    ("0.9.2342.19200300.100.1.55", "audio"),
    ("0.9.2342.19200300.100.1.56", "documentPublisher"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("1.2.840.113549.1.9.2", "unstructuredName"),
    ("1.2.840.113549.1.9.3", "contentType"),
    ("1.2.840.113549.1.9.4", "messageDigest"),
    ("1.2.840.113549.1.9.5", "signingTime"),
    ("1.2.840.113549.1.9.6", "countersignature"),
    ("1.2.840.113549.1.9.7", "challengePassword"),
    ("1.2.840.113549.1.9.8", "unstructuredAddress"),
    ("1.2.840.113549.1.9.9", "extendedCertificateAttributes"),
    ("1.2.840.113549.1.9.14", "extReq"),
    ("1.2.840.113549.1.9.15", "SMIME-CAPS"),
    ("1.2.840.113549.1.9.20", "friendlyName"),
    ("1.2.840.113549.1.9.21", "localKeyID"),
    ("1.2.840.113549.1.9.22.1", "x509Certificate"),
    ("1.2.840.113549.1.9.22.2", "sdsiCertificate"),
    ("1.2.840.113549.1.9.23.1", "x509Crl"),
    ("1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"),
    ("1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"),
    ("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"),
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "street"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "title"),
    ("2.5.4.13", "description"),
    ("2.5.4.14", "searchGuide"),
    ("2.5.4.15", "businessCategory"),
    ("2.5.4.16", "postalAddress"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.18", "postOfficeBox"),
    ("2.5.4.19", "physicalDeliveryOfficeName"),
    ("2.5.4.20", "telephoneNumber"),
    ("2.5.4.21", "telexNumber"),
    ("2.5.4.22", "teletexTerminalIdentifier"),
    ("2.5.4.23", "facsimileTelephoneNumber"),
    ("2.5.4.24", "x121Address"),
    ("2.5.4.25", "internationaliSDNNumber"),
    ("2.5.4.26", "registeredAddress"),
    ("2.5.4.27", "destinationIndicator"),
    ("2.5.4.28", "preferredDeliveryMethod"),
    ("2.5.4.29", "presentationAddress"),
    ("2.5.4.30", "supportedApplicationContext"),
    ("2.5.4.31", "member"),
    ("2.5.4.32", "owner"),
    ("2.5.4.33", "roleOccupant"),
    ("2.5.4.34", "seeAlso"),
    ("2.5.4.35", "userPassword"),
    ("2.5.4.36", "userCertificate"),
    ("2.5.4.37", "cACertificate"),
    ("2.5.4.38", "authorityRevocationList"),
    ("2.5.4.39", "certificateRevocationList"),
    ("2.5.4.40", "crossCertificatePair"),
    ("2.5.4.41", "name"),
    ("2.5.4.42", "GN"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.45", "x500UniqueIdentifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.47", "enhancedSearchGuide"),
    ("2.5.4.48", "protocolInformation"),
    ("2.5.4.49", "distinguishedName"),
    ("2.5.4.50", "uniqueMember"),
    ("2.5.4.51", "houseIdentifier"),
    ("2.5.4.52", "supportedAlgorithms"),
    ("2.5.4.53", "deltaRevocationList"),
    ("2.5.4.54", "dmdName"),
    ("2.5.4.65", "pseudonym"),
    ("2.5.4.72", "role"),
    ("2.5.4.97", "organizationIdentifier"),
    ("2.5.4.98", "c3"),
    ("2.5.4.99", "n3"),
    ("2.5.4.100", "dnsName"),
];

fn escape_dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let backslash = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if backslash {
            out.push('\\');
            out.push(c);
        } else if c.is_ascii_control() {
            out.push_str(&format!("\\{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::der::test_support::tlv;
    use chrono::TimeZone;

    #[test]
    fn days_left_rounds_down_and_goes_negative() {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        assert_eq!(days_between(at(0), at(86_400)), 1);
        assert_eq!(days_between(at(0), at(86_399)), 0);
        assert_eq!(days_between(at(1), at(0)), -1);
        assert_eq!(days_between(at(86_400 * 3), at(0)), -3);
    }

    #[test]
    fn serial_hex_strips_sign_byte_and_handles_negative() {
        assert_eq!(serial_hex(&[0x00, 0x8f, 0x01]), "8f01");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[0xff]), "-01");
        assert_eq!(serial_hex(&[0x12, 0x34]), "1234");
    }

    #[test]
    fn bit_len_ignores_leading_zeros() {
        assert_eq!(bit_len(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(bit_len(&[]), 0);
    }

    #[test]
    fn dn_matches_openssl_rfc2253_order_and_dumps() {
        let atv =
            |oid: &[u8], tag: u8, v: &[u8]| tlv(0x30, &[tlv(0x06, oid), tlv(tag, v)].concat());
        let cn = [0x55, 0x04, 0x03];
        let o = [0x55, 0x04, 0x0a];
        let name = tlv(
            0x30,
            &[
                tlv(0x31, &[atv(&cn, 0x0c, b"a"), atv(&o, 0x13, b"b")].concat()),
                tlv(0x31, &atv(&[0x2a, 0x03, 0x04], 0x0c, b"x")),
                tlv(0x31, &atv(&cn, 0x1e, &[0x00, 0xfc])),
                tlv(0x31, &atv(&cn, 0x02, &[0x05])),
            ]
            .concat(),
        );
        assert_eq!(
            dn_from_der(&name).as_deref(),
            Some("CN=#020105,CN=\u{fc},1.2.3.4=#0C0178,O=b+CN=a")
        );
        assert_eq!(dn_from_der(&[0x30, 0x03, 0x31, 0x01]), None);
    }

    #[test]
    fn dn_values_are_escaped() {
        assert_eq!(escape_dn_value("a,b"), "a\\,b");
        assert_eq!(escape_dn_value(" x "), "\\ x\\ ");
        assert_eq!(escape_dn_value("#1"), "\\#1");
        assert_eq!(escape_dn_value("a\u{1}b#"), "a\\01b#");
    }
}
