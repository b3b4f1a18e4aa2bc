//! Differential tests: subject, issuer, serial, dates and fingerprints agree with
//! `openssl x509` on the same files, for rcgen and openssl certificates with odd names, RSA,
//! SHA-1, serial 0, Ed25519, a high-bit and a negative serial.

use crate::harness::*;
use chrono::{DateTime, NaiveDateTime, Utc};
use mtls_audit_cert::{CertFacts, Container, Limits, load_file};
use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair};
use std::collections::HashMap;
use std::path::Path;

pub(crate) struct Openssl {
    pub(crate) fields: HashMap<String, String>,
}

impl Openssl {
    pub(crate) fn get(&self, k: &str) -> &str {
        self.fields
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("openssl printed no {k}: {:?}", self.fields))
    }
    pub(crate) fn date(&self, k: &str) -> DateTime<Utc> {
        let s = self.get(k).split_whitespace().collect::<Vec<_>>().join(" ");
        NaiveDateTime::parse_from_str(&s, "%b %d %H:%M:%S %Y GMT")
            .unwrap_or_else(|e| panic!("openssl date {s}: {e}"))
            .and_utc()
    }
    pub(crate) fn fingerprint(&self, k: &str) -> String {
        self.get(k).replace(':', "").to_ascii_lowercase()
    }
}

pub(crate) fn parse_fields(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `openssl x509` on one file: subject and issuer with `-nameopt RFC2253,-esc_msb` (see
/// `facts::dn_string` for that one deliberate difference), serial, dates, fingerprints.
pub(crate) fn openssl_x509(dir: &Path, file: &str, inform: &str, sha1: bool) -> Openssl {
    let mut args = vec![
        "x509",
        "-in",
        file,
        "-inform",
        inform,
        "-noout",
        "-subject",
        "-issuer",
        "-serial",
        "-startdate",
        "-enddate",
        "-nameopt",
        "RFC2253,-esc_msb",
        "-fingerprint",
        "-sha256",
    ];
    let mut fields = parse_fields(&openssl(&args, dir));
    if sha1 {
        args.pop();
        args.push("-sha1");
        fields.extend(parse_fields(&openssl(&args, dir)));
        // Plain RFC 2253 too: identical to ours whenever the name is ASCII.
        let plain = openssl(
            &[
                "x509", "-in", file, "-inform", inform, "-noout", "-subject", "-nameopt", "RFC2253",
            ],
            dir,
        );
        fields.extend(
            parse_fields(&plain)
                .into_iter()
                .map(|(k, v)| (format!("{k}-plain"), v)),
        );
    }
    Openssl { fields }
}

pub(crate) fn compare(ours: &CertFacts, o: &Openssl, what: &str) {
    assert_eq!(ours.subject, o.get("subject"), "{what}: subject");
    assert_eq!(ours.issuer, o.get("issuer"), "{what}: issuer");
    assert_eq!(
        ours.serial.to_ascii_lowercase(),
        o.get("serial").to_ascii_lowercase(),
        "{what}: serial"
    );
    assert_eq!(ours.not_before, o.date("notBefore"), "{what}: notBefore");
    assert_eq!(ours.not_after, o.date("notAfter"), "{what}: notAfter");
    assert_eq!(
        ours.sha256,
        o.fingerprint("sha256 Fingerprint"),
        "{what}: sha256"
    );
    if let Some(sha1) = o.fields.get("SHA1 Fingerprint") {
        assert_eq!(
            ours.sha1,
            sha1.replace(':', "").to_ascii_lowercase(),
            "{what}: sha1"
        );
    }
    if let Some(plain) = o.fields.get("subject-plain")
        && ours.subject.is_ascii()
    {
        assert_eq!(&ours.subject, plain, "{what}: subject (plain RFC2253)");
    }
}

/// rcgen certificates with names that exercise every string type and escape.
fn rcgen_odd_names() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString(PrintableString::try_from("DE").unwrap()),
    );
    dn.push(
        DnType::OrganizationName,
        DnValue::BmpString(BmpString::try_from("Société Générale ✓").unwrap()),
    );
    dn.push(
        DnType::OrganizationalUnitName,
        DnValue::UniversalString(UniversalString::try_from("Zürich 𝄞").unwrap()),
    );
    dn.push(
        DnType::LocalityName,
        DnValue::TeletexString(TeletexString::try_from("Walldorf").unwrap()),
    );
    dn.push(
        DnType::StateOrProvinceName,
        DnValue::Ia5String(Ia5String::try_from("BW").unwrap()),
    );
    dn.push(DnType::CustomDnType(vec![1, 2, 3, 4]), "custom value");
    dn.push(
        DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        DnValue::Ia5String(Ia5String::try_from("lms@example.com").unwrap()),
    );
    dn.push(DnType::CommonName, " #Jürgen, \"Ops\" + <LMS>; a\\b\u{1}c ");
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = dn;
    let key = KeyPair::generate().unwrap();
    out.push((
        "rcgen odd names",
        p.self_signed(&key).unwrap().der().to_vec(),
    ));

    let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let mut p = CertificateParams::new(vec!["lms.example.com".to_string()]).unwrap();
    p.distinguished_name = name("Ed25519 leaf");
    p.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x80, 0, 0, 1]));
    out.push((
        "rcgen Ed25519, high-bit serial",
        p.self_signed(&ed).unwrap().der().to_vec(),
    ));
    out
}

/// openssl-made certificates: RSA 2048 (multi-valued RDN, UTF-8, GeneralizedTime), RSA 1024
/// with SHA-1, serial 0.
fn openssl_certs(t: &TestDir) -> Vec<(&'static str, Vec<u8>)> {
    let mk = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "req",
            "-x509",
            "-nodes",
            "-keyout",
            "/dev/null",
            "-out",
            out,
        ];
        args.extend_from_slice(extra);
        openssl(&args, t.path());
        openssl(
            &[
                "x509",
                "-in",
                out,
                "-outform",
                "DER",
                "-out",
                &format!("{out}.der"),
            ],
            t.path(),
        );
        std::fs::read(t.join(&format!("{out}.der"))).expect("der")
    };
    vec![
        (
            "openssl RSA 2048, multi-valued RDN, UTF-8, 100 years",
            mk(
                "rsa2048.pem",
                &[
                    "-newkey",
                    "rsa:2048",
                    "-days",
                    "36500",
                    "-utf8",
                    "-subj",
                    "/C=DE/O=Société Générale/OU=Ops+UID=u123/CN=Jürgen Müller+emailAddress=j@example.com",
                ],
            ),
        ),
        (
            "openssl RSA 1024, SHA-1",
            mk(
                "rsa1024.pem",
                &[
                    "-newkey",
                    "rsa:1024",
                    "-sha1",
                    "-days",
                    "30",
                    "-subj",
                    "/CN=old\\, weak/O=x",
                ],
            ),
        ),
        (
            "openssl serial 0",
            mk(
                "serial0.pem",
                &[
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-set_serial",
                    "0",
                    "-subj",
                    "/CN=zero",
                ],
            ),
        ),
    ]
}

#[test]
fn facts_agree_with_openssl_x509() {
    let t = TestDir::new();
    let mut certs: Vec<(&str, Vec<u8>)> = Vec::new();
    let ca = root("Test Root CA");
    certs.push((
        "rcgen ECDSA P-256 leaf",
        issue(&ca, "LMS client", false, 335).der,
    ));
    certs.push(("rcgen ECDSA CA", ca.der.clone()));
    certs.extend(rcgen_odd_names());
    certs.extend(openssl_certs(&t));
    let neg = std::fs::read(fixture("x509-limbo/negative_serial.pem")).expect("fixture");
    let neg = ok(&neg);
    assert!(neg.certs[0].serial.starts_with('-'));
    for (i, (what, der)) in certs.iter().enumerate() {
        let der_name = format!("c{i}.der");
        let pem_name = format!("c{i}.pem");
        t.write(&der_name, der);
        t.write(&pem_name, der_to_pem(der, "CERTIFICATE"));
        let o = openssl_x509(t.path(), &der_name, "DER", true);
        for (file, format) in [(&der_name, Container::Der), (&pem_name, Container::Pem)] {
            let b = load_file(&t.join(file), &Limits::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(b.format, format);
            compare(&b.certs[0], &o, what);
        }
    }
    // The cases really exercise what they are named for.
    let subject = |what: &str| {
        let der = &certs
            .iter()
            .find(|(w, _)| w.contains(what))
            .expect("case")
            .1;
        CertFacts::from_der(der).expect("facts").subject
    };
    let multi = subject("multi-valued");
    assert!(
        multi.contains('+') && multi.contains("Jürgen Müller"),
        "{multi}"
    );
    let odd = subject("odd names");
    assert!(
        odd.starts_with(r#"CN=\ #Jürgen\, \"Ops\" \+ \<LMS\>\; a\\b\01c\ ,"#)
            && odd.contains("1.2.3.4=#0C")
            && odd.contains("emailAddress=lms@example.com")
            && odd.contains("Zürich 𝄞"),
        "{odd}"
    );
    // The negative serial from x509-limbo.
    let o = openssl_x509(&fixture("x509-limbo"), "negative_serial.pem", "PEM", true);
    compare(&neg.certs[0], &o, "negative serial");
    // Weak key and signature are seen for what they are.
    let weak = certs
        .iter()
        .find(|(w, _)| w.contains("SHA-1"))
        .expect("case");
    let f = CertFacts::from_der(&weak.1).expect("facts");
    assert!(f.weak_key() && f.weak_signature(), "{f:?}");
    assert_eq!(f.key.kind, "RSA");
    assert_eq!(f.key.bits, Some(1024));
}

#[test]
fn days_left_agrees_with_openssl_enddate() {
    // The same arithmetic the binary's `inspect` is checked for in the root tests, on the
    // facts directly: floor((notAfter - as_of) / 1 day), negative once expired.
    let t = TestDir::new();
    let ca = root("Test Root CA");
    let files = [
        ("soon.pem", issue(&ca, "soon", false, 20).pem),
        ("expired.pem", issue(&ca, "expired", false, -3).pem),
        (
            "limbo.pem",
            std::fs::read_to_string(fixture("x509-limbo/negative_serial.pem")).expect("fixture"),
        ),
    ];
    let as_of = DateTime::parse_from_rfc3339("2025-07-15T12:34:56Z")
        .expect("date")
        .with_timezone(&Utc);
    for (name, pem) in &files {
        let path = t.write(name, pem);
        let end = parse_fields(&openssl(
            &["x509", "-in", name, "-noout", "-enddate"],
            t.path(),
        ));
        let end = Openssl { fields: end }.date("notAfter");
        let want = (end - as_of).num_seconds().div_euclid(86_400);
        let b = load_file(&path, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(b.certs[0].days_left(as_of), want, "{name}");
    }
}
