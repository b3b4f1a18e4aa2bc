//! PKCS#7 / CMS SignedData (RFC 5652): the certificates of a `.p7b`/`.p7c` file, such as the
//! degenerate "certs-only" message `openssl crl2pkcs7 -nocrl` makes. Only the structure is
//! read; signatures (there usually are none) are not verified.

use crate::der::{self, DerError, OID, SEQUENCE, Tlv};

/// `1.2.840.113549.1.7` (pkcs-7), content octets of the OID without the last arc.
const PKCS7_ARC: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];

/// Why a PKCS#7 gave no list of certificates. The text is copied into [`crate::LoadError`]
/// messages; it never quotes the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pkcs7Error {
    /// A PKCS#7 ContentInfo of another content type (named: `envelopedData`, …).
    #[error("a PKCS#7 {0} message, not SignedData with certificates")]
    NotSignedData(&'static str),
    /// Not a ContentInfo, or a SignedData whose structure is broken; the text says where.
    #[error("damaged PKCS#7 SignedData: {0}")]
    Malformed(String),
}

impl From<DerError> for Pkcs7Error {
    fn from(e: DerError) -> Pkcs7Error {
        Pkcs7Error::Malformed(e.to_string())
    }
}

/// The last arc of a PKCS#7 content type if `tlv` is a ContentInfo
/// (`SEQUENCE { OID 1.2.840.113549.1.7.n, ... }`).
pub(crate) fn content_type(tlv: &Tlv<'_>) -> Option<u8> {
    if !tlv.tag.is_universal(SEQUENCE) || !tlv.tag.constructed {
        return None;
    }
    let first = tlv.children().next()?.ok()?;
    if !first.tag.is_universal(OID) {
        return None;
    }
    let v = first.value;
    if v.len() == PKCS7_ARC.len() + 1 && v.starts_with(PKCS7_ARC) {
        Some(v[PKCS7_ARC.len()])
    } else {
        None
    }
}

fn type_name(n: u8) -> &'static str {
    match n {
        1 => "data",
        3 => "envelopedData",
        4 => "signedAndEnvelopedData",
        5 => "digestedData",
        6 => "encryptedData",
        _ => "unknown-type",
    }
}

/// The DER of every certificate in a PKCS#7 SignedData ContentInfo, in order. Other
/// certificate choices (attribute certificates, …) are skipped. An empty list is not an error
/// here; the caller says "no certificate".
pub(crate) fn certificates<'a>(content_info: &Tlv<'a>) -> Result<Vec<&'a [u8]>, Pkcs7Error> {
    match content_type(content_info) {
        Some(2) => {}
        Some(n) => return Err(Pkcs7Error::NotSignedData(type_name(n))),
        None => return Err(Pkcs7Error::Malformed("not a PKCS#7 ContentInfo".into())),
    }
    let kids = content_info.child_vec()?;
    // [0] EXPLICIT SignedData
    let Some(explicit) = kids.get(1).filter(|k| k.tag.is_context_constructed(0)) else {
        return Err(Pkcs7Error::Malformed(
            "the SignedData content is missing".into(),
        ));
    };
    let signed_data = match explicit.children().next() {
        Some(Ok(sd)) if sd.tag.is_universal(SEQUENCE) => sd,
        Some(Err(e)) => return Err(e.into()),
        _ => return Err(Pkcs7Error::Malformed("SignedData is not a SEQUENCE".into())),
    };
    // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE,
    //   certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }
    let fields = signed_data.child_vec()?;
    if fields.len() < 3 {
        return Err(Pkcs7Error::Malformed(
            "SignedData has too few fields".into(),
        ));
    }
    let mut out = Vec::new();
    for field in &fields[3..] {
        if !field.tag.is_context_constructed(0) {
            continue;
        }
        for choice in field.children() {
            let choice = choice?;
            // CertificateChoices: a plain Certificate is a SEQUENCE; [0]..[3] are other kinds.
            if choice.tag.is_universal(SEQUENCE) {
                out.push(choice.raw);
            }
        }
    }
    Ok(out)
}

/// The DER of every certificate in `bytes`, one DER PKCS#7 SignedData ContentInfo (a `.p7b`),
/// in order; the slices borrow from `bytes`. An empty list is not an error.
pub fn certificates_in(bytes: &[u8]) -> Result<Vec<&[u8]>, Pkcs7Error> {
    let (tlv, _) = der::parse(bytes)?;
    certificates(&tlv)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::der::test_support::tlv;

    fn signed_data(certs: &[Vec<u8>]) -> Vec<u8> {
        let mut oid = PKCS7_ARC.to_vec();
        oid.push(2);
        let mut sd = tlv(0x02, &[1]);
        sd.extend(tlv(0x31, &[]));
        let mut data_oid = PKCS7_ARC.to_vec();
        data_oid.push(1);
        sd.extend(tlv(0x30, &tlv(0x06, &data_oid)));
        sd.extend(tlv(0xa0, &certs.concat()));
        sd.extend(tlv(0x31, &[]));
        let mut ci = tlv(0x06, &oid);
        ci.extend(tlv(0xa0, &tlv(0x30, &sd)));
        tlv(0x30, &ci)
    }

    #[test]
    fn lists_sequence_certificates_and_skips_other_choices() {
        let a = tlv(0x30, &[0x02, 0x01, 0x01]);
        let b = tlv(0x30, &[0x02, 0x01, 0x02]);
        let attr = tlv(0xa1, &[0x05, 0x00]);
        let p7 = signed_data(&[a.clone(), attr, b.clone()]);
        let certs = certificates_in(&p7).unwrap();
        assert_eq!(certs, vec![&a[..], &b[..]]);
    }

    #[test]
    fn other_content_types_are_named() {
        let mut oid = PKCS7_ARC.to_vec();
        oid.push(3);
        let mut ci = tlv(0x06, &oid);
        ci.extend(tlv(0xa0, &tlv(0x30, &[])));
        let p7 = tlv(0x30, &ci);
        assert_eq!(
            certificates_in(&p7).unwrap_err(),
            Pkcs7Error::NotSignedData("envelopedData")
        );
    }

    #[test]
    fn truncated_signed_data_is_malformed() {
        let p7 = signed_data(&[tlv(0x30, &[0x02, 0x01, 0x01])]);
        for cut in 1..p7.len() {
            // Never panics; a cut inside the outer element is an error.
            assert!(certificates_in(&p7[..cut]).is_err(), "cut at {cut}");
        }
    }
}
