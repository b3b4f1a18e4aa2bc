//! The certificate loader end to end: every format loads with the right leaf, every unreadable
//! kind gets its own message and never shows key material, leaf selection in any order, facts
//! that agree with `openssl x509`, the x509-limbo corpus, property tests and zip bombs.
//!
//! Certificates come from rcgen at test time; what rcgen cannot make (RSA keys, SHA-1
//! signatures, multi-valued RDNs, PKCS#7, PKCS#12) comes from the `openssl` CLI.

use crate::harness::*;
use chrono::{DateTime, NaiveDateTime, Utc};
use mtls_audit_cert::{Bundle, CertFacts, Container, Limits, LoadError, load_bytes, load_file};
use proptest::prelude::*;
use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

// ----------------------------------------------------------------------------------------------
// Helpers

fn ok(bytes: &[u8]) -> Bundle {
    load_bytes(bytes, &Limits::default())
        .unwrap_or_else(|e| panic!("expected certificates, got the error: {e}"))
}

fn fail(bytes: &[u8]) -> LoadError {
    match load_bytes(bytes, &Limits::default()) {
        Ok(b) => panic!(
            "expected an error, got {} certificate(s) as {:?}, notes {:?}",
            b.certs.len(),
            b.format,
            b.notes
        ),
        Err(e) => e,
    }
}

fn leaf_of(b: &Bundle) -> String {
    b.split(|_| false).0.subject.clone()
}

/// The base64 lines of a PEM body: none of them may ever appear in a message or output.
fn secret_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.contains(':') && l.len() >= 16)
        .map(str::to_string)
        .collect()
}

fn assert_no_secret(text: &str, key_pem: &str) {
    let lines = secret_lines(key_pem);
    assert!(!lines.is_empty(), "the key PEM has a body");
    for l in &lines {
        assert!(!text.contains(l.as_str()), "key material shown in:\n{text}");
        // Not even a fragment of it.
        assert!(!text.contains(&l[..16]), "key material shown in:\n{text}");
    }
}

fn zip_of(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .expect("start zip entry");
        w.write_all(data).expect("write zip entry");
    }
    w.finish().expect("finish zip").into_inner()
}

fn to_utf16(s: &str, little: bool) -> Vec<u8> {
    let mut out = if little {
        vec![0xff, 0xfe]
    } else {
        vec![0xfe, 0xff]
    };
    for u in s.encode_utf16() {
        out.extend(if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

fn der_to_pem(der: &[u8], label: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn sha256_hex(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A certificate with its key and parameters, so it can issue others.
struct Node {
    der: Vec<u8>,
    pem: String,
    params: CertificateParams,
    key: KeyPair,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Chain Test");
    dn.push(DnType::CommonName, cn);
    dn
}

fn params(cn: &str, ca: bool, days_after: i64) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name = name(cn);
    p.not_before =
        time::OffsetDateTime::from_unix_timestamp((as_of() - days(30)).timestamp()).expect("date");
    p.not_after =
        time::OffsetDateTime::from_unix_timestamp((as_of() + days(days_after)).timestamp())
            .expect("date");
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
    }
    p
}

fn root(cn: &str) -> Node {
    crypto();
    let key = KeyPair::generate().expect("key");
    let params = params(cn, true, 3650);
    let cert = params.self_signed(&key).expect("self-signed");
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

fn issue(parent: &Node, cn: &str, ca: bool, days_after: i64) -> Node {
    let key = KeyPair::generate().expect("key");
    let params = params(cn, ca, days_after);
    let cert = params
        .signed_by(&key, &Issuer::from_params(&parent.params, &parent.key))
        .expect("sign");
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

/// The same subject and key as `node`, signed by another parent (a cross-certificate).
fn cross_sign(node: &Node, parent: &Node) -> Node {
    let params = node.params.clone();
    let cert = params
        .signed_by(&node.key, &Issuer::from_params(&parent.params, &parent.key))
        .expect("cross-sign");
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        // Never used to issue: the cross-certificate's real key is `node.key`.
        key: KeyPair::generate().expect("key"),
    }
}

/// A root, an intermediate and a leaf.
struct Chain {
    root: Node,
    int: Node,
    leaf: Node,
}

fn chain() -> Chain {
    let root = root("Chain Root");
    let int = issue(&root, "Chain Intermediate", true, 1800);
    let leaf = issue(&int, "Chain Leaf", false, 365);
    Chain { root, int, leaf }
}

const LEAF: &str = "CN=Chain Leaf,O=Chain Test";

/// `openssl crl2pkcs7 -nocrl` over the given PEM files, as PEM or DER bytes.
fn pkcs7_of(t: &TestDir, pems: &[&str], der: bool) -> Vec<u8> {
    let mut args = vec!["crl2pkcs7", "-nocrl"];
    let mut names = Vec::new();
    for (i, p) in pems.iter().enumerate() {
        let n = format!("p7in-{i}.pem");
        t.write(&n, p);
        names.push(n);
    }
    for n in &names {
        args.push("-certfile");
        args.push(n);
    }
    let out = if der { "out.p7b" } else { "out.p7c" };
    args.extend(["-outform", if der { "DER" } else { "PEM" }, "-out", out]);
    openssl(&args, t.path());
    std::fs::read(t.join(out)).expect("read p7")
}

// ----------------------------------------------------------------------------------------------
// Formats

#[test]
fn pem_single_multi_crlf_bom_and_utf16_load_with_the_leaf() {
    let c = chain();
    let multi = format!("{}{}{}", c.root.pem, c.leaf.pem, c.int.pem);
    let b = ok(multi.as_bytes());
    assert_eq!(b.format, Container::Pem);
    assert_eq!(b.certs.len(), 3);
    assert_eq!(leaf_of(&b), LEAF);

    let single = ok(c.leaf.pem.as_bytes());
    assert_eq!(single.certs.len(), 1);
    assert_eq!(single.certs[0].sha256, sha256_hex(&c.leaf.der));

    let crlf = multi.replace('\n', "\r\n");
    let bom = [b"\xEF\xBB\xBF".as_slice(), crlf.as_bytes()].concat();
    for (what, bytes) in [
        ("CRLF", crlf.as_bytes().to_vec()),
        ("BOM", bom),
        ("UTF-16LE", to_utf16(&crlf, true)),
        ("UTF-16BE", to_utf16(&multi, false)),
    ] {
        let b = load_bytes(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(b.certs.len(), 3, "{what}");
        assert_eq!(leaf_of(&b), LEAF, "{what}");
        if what.starts_with("UTF-16") {
            assert!(b.notes.iter().any(|n| n.contains("UTF-16")), "{what}");
        }
    }
}

#[test]
fn text_around_blocks_is_ignored_and_labels_vary() {
    let c = chain();
    let text = format!(
        "Bag Attributes\n    friendlyName: lms\n    localKeyID: 01 02 03\nsubject=CN = Chain Leaf, O = Chain Test\n\
         issuer=CN = Chain Intermediate\n{}\n# a comment; the intermediate follows\n{}trailing words\n",
        c.leaf.pem,
        c.int
            .pem
            .replace("BEGIN CERTIFICATE", "BEGIN X509 CERTIFICATE")
            .replace("END CERTIFICATE", "END X509 CERTIFICATE")
    );
    let b = ok(text.as_bytes());
    assert_eq!(b.certs.len(), 2);
    assert_eq!(leaf_of(&b), LEAF);

    // A certificate pasted onto one line (web forms collapse newlines).
    let one_line = c.leaf.pem.replace('\n', " ");
    assert_eq!(
        ok(one_line.as_bytes()).certs[0].sha256,
        sha256_hex(&c.leaf.der)
    );
}

#[test]
fn trusted_certificate_takes_the_certificate_without_the_trust_data() {
    let t = TestDir::new();
    let c = chain();
    t.write("leaf.pem", &c.leaf.pem);
    openssl(
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-trustout",
            "-addtrust",
            "clientAuth",
            "-out",
            "trusted.pem",
        ],
        t.path(),
    );
    let text = t.read("trusted.pem");
    assert!(text.contains("BEGIN TRUSTED CERTIFICATE"), "{text}");
    let b = ok(text.as_bytes());
    assert_eq!(b.certs.len(), 1);
    assert_eq!(b.certs[0].sha256, sha256_hex(&c.leaf.der));
}

#[test]
fn der_single_and_concatenated() {
    let c = chain();
    let b = ok(&c.leaf.der);
    assert_eq!(b.format, Container::Der);
    assert_eq!(b.certs[0].subject, LEAF);
    let cat = [c.int.der.clone(), c.root.der.clone(), c.leaf.der.clone()].concat();
    let b = ok(&cat);
    assert_eq!(b.format, Container::Der);
    assert_eq!(b.certs.len(), 3);
    assert_eq!(leaf_of(&b), LEAF);
    // A trailing newline (editors add one) is fine.
    let nl = [c.leaf.der.clone(), b"\r\n".to_vec()].concat();
    assert!(ok(&nl).notes.is_empty());
}

#[test]
fn pkcs7_pem_and_der_from_openssl() {
    let t = TestDir::new();
    let c = chain();
    let pems = [c.root.pem.as_str(), c.leaf.pem.as_str(), c.int.pem.as_str()];
    let der = pkcs7_of(&t, &pems, true);
    let b = ok(&der);
    assert_eq!(b.format, Container::Pkcs7Der);
    assert_eq!(b.certs.len(), 3);
    assert_eq!(leaf_of(&b), LEAF);

    let pem = pkcs7_of(&t, &pems, false);
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN PKCS7"));
    let b = ok(&pem);
    assert_eq!(b.format, Container::Pkcs7Pem);
    assert_eq!(leaf_of(&b), LEAF);
    // The same certificates as the PEM files, byte for byte.
    let mut got: Vec<String> = b.certs.iter().map(|c| c.sha256.clone()).collect();
    let mut want = vec![
        sha256_hex(&c.root.der),
        sha256_hex(&c.int.der),
        sha256_hex(&c.leaf.der),
    ];
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // A PKCS#7 mislabelled as CERTIFICATE is read too.
    let relabelled = String::from_utf8_lossy(&pem).replace("PKCS7", "CERTIFICATE");
    assert_eq!(ok(relabelled.as_bytes()).certs.len(), 3);
}

#[test]
fn headerless_base64_as_pasted_from_ias() {
    let c = chain();
    let body: String = c
        .leaf
        .pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    let b = ok(body.as_bytes());
    assert_eq!(b.format, Container::Base64);
    assert_eq!(b.certs[0].sha256, sha256_hex(&c.leaf.der));
    // On one line, as a text field gives it.
    let flat = body.replace('\n', "");
    assert_eq!(ok(flat.as_bytes()).certs.len(), 1);
}

#[test]
fn zip_with_every_format_by_content_not_name() {
    let t = TestDir::new();
    let c = chain();
    let p7_der = pkcs7_of(&t, &[c.int.pem.as_str()], true);
    let p7_pem = pkcs7_of(&t, &[c.root.pem.as_str()], false);
    for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
        // Names lie on purpose: content decides.
        let z = zip_of(
            &[
                ("README.txt", &c.leaf.der),
                ("cert.pem", b"see the other files\n"),
                ("chain.der", &p7_der),
                ("root.cer", &p7_pem),
                ("folder/", b""),
            ],
            method,
        );
        let b = ok(&z);
        assert_eq!(b.format, Container::Zip, "{method:?}");
        assert_eq!(b.certs.len(), 3, "{method:?}");
        assert_eq!(leaf_of(&b), LEAF, "{method:?}");
        let notes = b.notes.join("\n");
        assert!(
            notes.contains("README.txt (DER)")
                && notes.contains("chain.der (PKCS#7 (DER))")
                && notes.contains("root.cer (PKCS#7 (PEM))"),
            "{notes}"
        );
        assert!(notes.contains("'cert.pem'"), "{notes}");
    }
    // PEM with a BOM, UTF-16 and headerless base64 inside a zip.
    let body: String = c
        .int
        .pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let z = zip_of(
        &[
            ("a", to_utf16(&c.leaf.pem, true).as_slice()),
            ("b", body.as_bytes()),
            (
                "c",
                [b"\xEF\xBB\xBF".as_slice(), c.root.pem.as_bytes()]
                    .concat()
                    .as_slice(),
            ),
        ],
        CompressionMethod::Deflated,
    );
    let b = ok(&z);
    assert_eq!(b.certs.len(), 3);
    assert_eq!(leaf_of(&b), LEAF);
}

#[test]
fn zip_of_a_zip_is_read_one_level_deep() {
    let c = chain();
    let inner = zip_of(
        &[("cer/new.cer", c.leaf.pem.as_bytes())],
        CompressionMethod::Deflated,
    );
    let outer = zip_of(
        &[("cer.zip", &inner), ("int.der", &c.int.der)],
        CompressionMethod::Deflated,
    );
    let b = ok(&outer);
    assert_eq!(b.format, Container::Zip);
    assert_eq!(b.certs.len(), 2);
    assert_eq!(leaf_of(&b), LEAF);
    assert!(
        b.notes.iter().any(|n| n.contains("cer.zip (ZIP)")),
        "{:?}",
        b.notes
    );

    // Three levels: the innermost is not read, and the message says why.
    let deepest = zip_of(&[("deep.zip", &outer)], CompressionMethod::Stored);
    let e = fail(&zip_of(&[("d.zip", &deepest)], CompressionMethod::Stored));
    assert!(
        matches!(e, LoadError::ZipWithoutCertificate(_)) && e.to_string().contains("nested"),
        "{e}"
    );
}

// ----------------------------------------------------------------------------------------------
// Leaf selection

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x.clone());
            out.push(p);
        }
    }
    out
}

#[test]
fn the_leaf_is_found_in_any_order_with_duplicates_and_cross_signs() {
    let c = chain();
    let other_root = root("Other Root");
    let cross = cross_sign(&c.int, &other_root);
    let sets: Vec<Vec<&Node>> = vec![
        vec![&c.leaf, &c.int, &c.root],
        vec![&c.leaf, &c.int, &c.int, &c.root, &c.leaf],
        vec![&cross, &c.leaf, &c.root, &c.int, &other_root],
    ];
    for set in &sets {
        for order in permutations(set) {
            let pem: String = order.iter().map(|n| n.pem.as_str()).collect();
            let b = ok(pem.as_bytes());
            assert_eq!(
                leaf_of(&b),
                LEAF,
                "order {:?}",
                b.certs.iter().map(|c| &c.subject).collect::<Vec<_>>()
            );
            let der: Vec<u8> = order.iter().flat_map(|n| n.der.clone()).collect();
            assert_eq!(leaf_of(&ok(&der)), LEAF);
        }
    }
    // Duplicates are dropped with a note.
    let dup = format!("{}{}{}", c.leaf.pem, c.int.pem, c.leaf.pem);
    let b = ok(dup.as_bytes());
    assert_eq!(b.certs.len(), 2);
    assert!(
        b.notes.iter().any(|n| n.contains("duplicate")),
        "{:?}",
        b.notes
    );
}

#[test]
fn two_unrelated_leaves_follow_the_split_rule() {
    let r1 = root("Root One");
    let r2 = root("Root Two");
    let early = issue(&r1, "Early", false, 100);
    let late = issue(&r2, "Late", false, 300);
    let pem = format!("{}{}{}{}", early.pem, r1.pem, late.pem, r2.pem);
    let b = ok(pem.as_bytes());
    let candidates: Vec<String> = b
        .leaf_candidates()
        .iter()
        .map(|&i| b.certs[i].subject.clone())
        .collect();
    assert_eq!(candidates.len(), 2, "{candidates:?}");
    // Without a preference the one that expires last wins …
    assert_eq!(b.split(|_| false).0.subject, "CN=Late,O=Chain Test");
    // … and a preferred one (e.g. the reference certificate) beats it.
    let (leaf, chain) = b.split(|c| c.subject.starts_with("CN=Early"));
    assert_eq!(leaf.subject, "CN=Early,O=Chain Test");
    assert_eq!(chain.len(), 3);
}

// ----------------------------------------------------------------------------------------------
// Unreadable kinds

/// Keys in every form the loader must refuse, made with rcgen and openssl.
struct Keys {
    pkcs8_pem: String,
    pkcs8_der: Vec<u8>,
    rsa_pem: String,
    rsa_der: Vec<u8>,
    ec_pem: String,
    ec_der: Vec<u8>,
    encrypted_pem: String,
    encrypted_der: Vec<u8>,
}

fn keys(t: &TestDir) -> Keys {
    let k = KeyPair::generate().expect("key");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            "rsa8.pem",
        ],
        t.path(),
    );
    openssl(
        &["rsa", "-in", "rsa8.pem", "-traditional", "-out", "rsa.pem"],
        t.path(),
    );
    openssl(
        &[
            "rsa",
            "-in",
            "rsa8.pem",
            "-traditional",
            "-outform",
            "DER",
            "-out",
            "rsa.der",
        ],
        t.path(),
    );
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.pem",
        ],
        t.path(),
    );
    openssl(
        &["ec", "-in", "ec.pem", "-outform", "DER", "-out", "ec.der"],
        t.path(),
    );
    for (form, out) in [("PEM", "enc.pem"), ("DER", "enc.der")] {
        openssl(
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "rsa8.pem",
                "-v2",
                "aes-256-cbc",
                "-passout",
                "pass:secret",
                "-outform",
                form,
                "-out",
                out,
            ],
            t.path(),
        );
    }
    let read = |n: &str| std::fs::read(t.join(n)).expect("read key");
    Keys {
        pkcs8_pem: k.serialize_pem(),
        pkcs8_der: k.serialize_der(),
        rsa_pem: t.read("rsa.pem"),
        rsa_der: read("rsa.der"),
        ec_pem: t.read("ec.pem"),
        ec_der: read("ec.der"),
        encrypted_pem: t.read("enc.pem"),
        encrypted_der: read("enc.der"),
    }
}

#[test]
fn a_key_alone_is_refused_in_every_form_and_never_shown() {
    let t = TestDir::new();
    let k = keys(&t);
    assert!(k.rsa_pem.contains("BEGIN RSA PRIVATE KEY"));
    assert!(k.ec_pem.contains("BEGIN EC PRIVATE KEY"));
    assert!(k.encrypted_pem.contains("BEGIN ENCRYPTED PRIVATE KEY"));
    let relabel = |label: &str| {
        k.pkcs8_pem
            .replace("BEGIN PRIVATE KEY", &format!("BEGIN {label}"))
            .replace("END PRIVATE KEY", &format!("END {label}"))
    };
    let pems = [
        k.pkcs8_pem.clone(),
        k.rsa_pem.clone(),
        k.ec_pem.clone(),
        k.encrypted_pem.clone(),
        relabel("DSA PRIVATE KEY"),
        relabel("OPENSSH PRIVATE KEY"),
    ];
    for pem in &pems {
        let e = fail(pem.as_bytes());
        assert_eq!(e, LoadError::PrivateKeyOnly, "{pem:.40}");
        assert!(e.to_string().contains("private key"));
        assert_no_secret(&e.to_string(), pem);
    }
    for der in [&k.pkcs8_der, &k.rsa_der, &k.ec_der, &k.encrypted_der] {
        assert_eq!(fail(der), LoadError::PrivateKeyOnly);
    }
    // A key next to certificates: read the certificates, say a key was there, never show it.
    let c = chain();
    for pem in &pems {
        let both = format!("{}{pem}{}", c.leaf.pem, c.int.pem);
        let b = ok(both.as_bytes());
        assert_eq!(leaf_of(&b), LEAF);
        let notes = b.notes.join("\n");
        assert!(
            notes.contains("private key") && notes.contains("not shown"),
            "{notes}"
        );
        assert_no_secret(&notes, pem);
    }
}

#[test]
fn pkcs12_gets_the_export_hint() {
    let t = TestDir::new();
    let leaf = client_cert(&ca(), "LMS", -1, 300);
    t.write("c.pem", &leaf.cert_pem);
    t.write("k.pem", &leaf.key_pem);
    openssl(
        &[
            "pkcs12", "-export", "-in", "c.pem", "-inkey", "k.pem", "-passout", "pass:pw", "-out",
            "f.p12",
        ],
        t.path(),
    );
    let e = load_file(&t.join("f.p12"), &Limits::default()).unwrap_err();
    assert_eq!(e, LoadError::Pkcs12);
    let msg = e.to_string();
    assert!(msg.contains("PKCS#12") && msg.contains("openssl pkcs12") && msg.contains("-nokeys"));

    // What `openssl pkcs12 -nodes` prints (Bag Attributes, the key, the certificate) loads,
    // with the key ignored.
    let dump = openssl(
        &["pkcs12", "-in", "f.p12", "-passin", "pass:pw", "-nodes"],
        t.path(),
    );
    assert!(dump.contains("Bag Attributes") && dump.contains("PRIVATE KEY"));
    let b = ok(dump.as_bytes());
    assert_eq!(b.certs.len(), 1);
    assert_eq!(b.certs[0].sha256, sha256_hex(&leaf.cert_der));
    assert_no_secret(&b.notes.join("\n"), &leaf.key_pem);
}

#[test]
fn csr_public_key_and_crl_are_named() {
    let key = KeyPair::generate().expect("key");
    let csr = params("Request", false, 10)
        .serialize_request(&key)
        .expect("csr");
    let csr_pem = csr.pem().expect("pem");
    let e = fail(csr_pem.as_bytes());
    assert!(e.to_string().contains("certificate signing request"), "{e}");
    assert!(
        fail(&csr.der()[..])
            .to_string()
            .contains("certificate signing request")
    );
    let new_req = csr_pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
    assert!(
        fail(new_req.as_bytes())
            .to_string()
            .contains("signing request")
    );

    let spki = key.subject_public_key_info();
    assert!(fail(&spki).to_string().contains("public key"));
    let spki_pem = der_to_pem(&spki, "PUBLIC KEY");
    assert!(fail(spki_pem.as_bytes()).to_string().contains("public key"));

    let t = TestDir::new();
    t.write("k.pem", key.serialize_pem());
    t.write(
        "ca.cnf",
        "[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:true\nkeyUsage=keyCertSign,cRLSign\n",
    );
    openssl(
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "k.pem",
            "-subj",
            "/CN=CRL CA",
            "-config",
            "ca.cnf",
            "-extensions",
            "v3",
            "-out",
            "ca.pem",
        ],
        t.path(),
    );
    t.write("index.txt", "");
    t.write(
        "crl.cnf",
        "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ndefault_md=sha256\ndefault_crl_days=30\n",
    );
    openssl(
        &[
            "ca", "-gencrl", "-keyfile", "k.pem", "-cert", "ca.pem", "-config", "crl.cnf", "-out",
            "crl.pem",
        ],
        t.path(),
    );
    let crl = t.read("crl.pem");
    assert!(fail(crl.as_bytes()).to_string().contains("revocation list"));
    openssl(
        &[
            "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
        ],
        t.path(),
    );
    let crl_der = std::fs::read(t.join("crl.der")).expect("crl");
    assert!(fail(&crl_der).to_string().contains("revocation list"));
}

#[test]
fn damaged_certificates_say_why() {
    let c = chain();
    // Flip a byte inside the validity dates: the structure holds, the content does not parse.
    let mut der = c.leaf.der.clone();
    let pos = der
        .windows(2)
        .position(|w| w == [0x17, 0x0d])
        .expect("a UTCTime");
    der[pos + 4] = b'x';
    let e = fail(&der);
    assert!(matches!(e, LoadError::Damaged(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("damaged certificate: not a valid X.509"),
        "{e}"
    );
    let pem = der_to_pem(&der, "CERTIFICATE");
    let e = fail(pem.as_bytes());
    assert!(e.to_string().contains("PEM block 1 (CERTIFICATE)"), "{e}");
    assert!(
        e.to_string().contains("not a valid X.509 certificate"),
        "{e}"
    );

    // Truncated DER, truncated PEM, bad base64.
    let e = fail(&c.leaf.der[..c.leaf.der.len() / 2]);
    assert!(e.to_string().contains("truncated"), "{e}");
    let cut = &c.leaf.pem[..c.leaf.pem.len() - 30];
    assert!(fail(cut.as_bytes()).to_string().contains("no END line"));
    let bad = c.leaf.pem.replacen('M', "*", 1);
    assert!(fail(bad.as_bytes()).to_string().contains("base64"));
    // A damaged certificate inside a PKCS#7 or after a good one fails the file.
    let two = format!("{}{}", c.leaf.pem, pem);
    assert!(fail(two.as_bytes()).to_string().contains("PEM block 2"));
}

#[test]
fn unreadable_files_each_have_their_own_message() {
    let t = TestDir::new();
    let k = KeyPair::generate().expect("key");
    let key_pem = k.serialize_pem();
    t.write("key.pem", &key_pem);
    t.write("empty.crt", "");
    t.write("blank.crt", "  \n\r\n\t ");
    t.write(
        "text.crt",
        "This is the certificate you asked for.\nRegards\n",
    );
    t.write(
        "binary.cer",
        [0x01u8, 0x9c, 0xff, 0x00, 0x42, 0x13, 0x37, 0x00, 0xfe],
    );
    std::fs::create_dir(t.join("dir.pem")).expect("mkdir");
    let limits = Limits::default();
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("missing", t.join("nope.pem"), "does not exist"),
        ("directory", t.join("dir.pem"), "directory"),
        ("empty", t.join("empty.crt"), "empty (0 bytes)"),
        ("blank", t.join("blank.crt"), "only whitespace"),
        ("key", t.join("key.pem"), "private key"),
        ("text", t.join("text.crt"), "text without any PEM block"),
        ("binary", t.join("binary.cer"), "binary data"),
    ];
    let mut messages = Vec::new();
    for (what, path, phrase) in &cases {
        let e = load_file(path, &limits).unwrap_err();
        let m = e.to_string();
        assert!(m.contains(phrase), "{what}: {m}");
        assert_no_secret(&m, &key_pem);
        messages.push(m);
    }
    let mut unique = messages.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), messages.len(), "{messages:#?}");
}

#[test]
fn permission_denied_is_its_own_kind() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    let c = chain();
    let p = t.write("locked.pem", &c.leaf.pem);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let mut checked = 0;
    if std::fs::File::open(&p).is_err() {
        assert_eq!(
            load_file(&p, &Limits::default()).unwrap_err(),
            LoadError::PermissionDenied
        );
        checked += 1;
    }
    // Root reads any file; a write-only sysctl is refused even to root.
    let wo = Path::new("/proc/sys/vm/compact_memory");
    if std::fs::File::open(wo)
        .err()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
    {
        let e = load_file(wo, &Limits::default()).unwrap_err();
        assert_eq!(e, LoadError::PermissionDenied);
        assert!(e.to_string().contains("permission denied"));
        checked += 1;
    }
    assert!(checked > 0, "no way to provoke a permission error here");
}

#[test]
fn oversized_files_are_not_read() {
    let t = TestDir::new();
    let small = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let p = t.write("big.pem", vec![b'A'; 5000]);
    let e = load_file(&p, &small).unwrap_err();
    assert_eq!(
        e,
        LoadError::TooLarge {
            size: Some(5000),
            limit: 1000
        }
    );
    assert!(e.to_string().contains("1000-byte limit"), "{e}");
    assert!(e.to_string().contains("--max-cert-size"), "{e}");
    // A device reports no size and may never end: refused by its type, before any read.
    let zero = Path::new("/dev/zero");
    if zero.exists() {
        let e = load_file(zero, &small).unwrap_err();
        assert_eq!(e, LoadError::NotRegular { kind: "device" });
    }
    assert!(matches!(
        load_bytes(&[b'x'; 1001], &small).unwrap_err(),
        LoadError::TooLarge { .. }
    ));
}

// ----------------------------------------------------------------------------------------------
// Zip kinds

/// Sets the "encrypted" flag of every entry (local and central headers), as `zip -e` would,
/// without encrypting anything: the loader must go by the flag.
fn set_encrypted_flag(z: &mut [u8]) {
    let mut i = 0;
    while i + 10 < z.len() {
        if z[i..].starts_with(b"PK\x03\x04") {
            z[i + 6] |= 1;
        } else if z[i..].starts_with(b"PK\x01\x02") {
            z[i + 8] |= 1;
        }
        i += 1;
    }
}

#[test]
fn encrypted_zip_is_named() {
    let c = chain();
    let mut z = zip_of(
        &[("cer.crt", c.leaf.pem.as_bytes())],
        CompressionMethod::Stored,
    );
    set_encrypted_flag(&mut z);
    assert_eq!(fail(&z), LoadError::EncryptedZip);
    assert!(LoadError::EncryptedZip.to_string().contains("encrypted"));

    // With `zip -e` where it is installed: real ZipCrypto.
    let t = TestDir::new();
    t.write("cer.crt", &c.leaf.pem);
    let made = std::process::Command::new("zip")
        .args(["-q", "-P", "secret", "enc.zip", "cer.crt"])
        .current_dir(t.path())
        .status();
    if made.is_ok_and(|s| s.success()) {
        let e = load_file(&t.join("enc.zip"), &Limits::default()).unwrap_err();
        assert_eq!(e, LoadError::EncryptedZip);
    }

    // An encrypted entry next to a readable certificate: read the rest, note the entry.
    let mut enc = zip_of(
        &[("secret.crt", c.int.pem.as_bytes())],
        CompressionMethod::Stored,
    );
    set_encrypted_flag(&mut enc);
    let outer = zip_of(
        &[("inner.zip", &enc), ("leaf.crt", c.leaf.pem.as_bytes())],
        CompressionMethod::Stored,
    );
    let b = ok(&outer);
    assert_eq!(b.certs.len(), 1);
}

#[test]
fn damaged_zip_is_named() {
    let c = chain();
    let z = zip_of(
        &[("cer.crt", c.leaf.pem.as_bytes())],
        CompressionMethod::Deflated,
    );
    for cut in [z.len() / 3, z.len() - 10] {
        let e = fail(&z[..cut]);
        assert!(matches!(e, LoadError::DamagedZip(_)), "cut {cut}: {e:?}");
        assert!(e.to_string().starts_with("the zip archive is damaged"));
    }
    // A flipped byte in stored data fails the CRC check.
    let mut stored = zip_of(
        &[("cer.crt", c.leaf.pem.as_bytes())],
        CompressionMethod::Stored,
    );
    let pos = stored
        .windows(4)
        .position(|w| w == b"MIIB")
        .expect("PEM body in the zip");
    stored[pos + 10] ^= 0x01;
    let e = fail(&stored);
    assert!(
        matches!(e, LoadError::DamagedZip(_)) && e.to_string().contains("CRC"),
        "{e}"
    );
}

#[test]
fn zip_without_certificate_lists_its_entries() {
    let k = KeyPair::generate().expect("key");
    let key_pem = k.serialize_pem();
    let z = zip_of(
        &[
            ("readme.txt", b"The certificate is attached separately.\n"),
            ("client.key", key_pem.as_bytes()),
            ("empty.crt", b""),
        ],
        CompressionMethod::Deflated,
    );
    let e = fail(&z);
    let m = e.to_string();
    assert!(matches!(e, LoadError::ZipWithoutCertificate(_)), "{m}");
    for n in ["readme.txt", "client.key", "empty.crt", "private key"] {
        assert!(m.contains(n), "{n}: {m}");
    }
    assert_no_secret(&m, &key_pem);
    // Many entries: the list is truncated.
    let names: Vec<String> = (0..30).map(|i| format!("note-{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let m = fail(&zip_of(&entries, CompressionMethod::Stored)).to_string();
    assert!(m.contains("note-0.txt") && m.contains("and 20 more"), "{m}");
    assert!(!m.contains("note-29.txt"), "{m}");
    // An empty archive.
    let empty = zip_of(&[], CompressionMethod::Stored);
    assert!(matches!(fail(&empty), LoadError::ZipWithoutCertificate(_)));
}

#[test]
fn zip_over_the_entry_and_total_limits() {
    let c = chain();
    let names: Vec<String> = (0..5).map(|i| format!("{i}.pem")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), c.leaf.pem.as_bytes()))
        .collect();
    let z = zip_of(&entries, CompressionMethod::Deflated);
    let few = Limits {
        max_zip_entries: 4,
        ..Limits::default()
    };
    let e = load_bytes(&z, &few).unwrap_err();
    assert!(
        matches!(e, LoadError::ZipTooLarge(_)) && e.to_string().contains("5 entries"),
        "{e}"
    );
    let tight = Limits {
        max_total_unzipped: 2 * c.leaf.pem.len() as u64 + 10,
        ..Limits::default()
    };
    let e = load_bytes(&z, &tight).unwrap_err();
    assert!(e.to_string().contains("in all"), "{e}");
    // Nested archives spend the same budget.
    let outer = zip_of(&[("in.zip", &z)], CompressionMethod::Stored);
    let e = load_bytes(&outer, &tight).unwrap_err();
    assert!(e.to_string().contains("in all"), "{e}");
    let many = Limits {
        max_certs: 3,
        ..Limits::default()
    };
    let e = load_bytes(&z, &many).unwrap_err();
    assert_eq!(e, LoadError::TooManyCertificates { limit: 3 });
}

/// A zip whose one entry is `size` zero bytes, deflated by the zip crate.
fn zero_zip(size: u64) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "cer.crt",
        SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1)),
    )
    .expect("start");
    std::io::copy(&mut std::io::repeat(0).take(size), &mut w).expect("deflate zeros");
    w.finish().expect("finish").into_inner()
}

/// A raw DEFLATE stream of `size` zero bytes written directly (one fixed-Huffman block: a
/// literal 0, then "copy 258 bytes from distance 1" codes), so a 256 MiB bomb takes
/// milliseconds to make instead of seconds of compression.
fn deflated_zeros(size: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u8,
        n: u8,
    }
    impl Bits {
        fn bit(&mut self, b: u32) {
            self.acc |= ((b & 1) as u8) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc);
                self.acc = 0;
                self.n = 0;
            }
        }
        /// Huffman codes go most significant bit first; everything else least first.
        fn code(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.bit(code >> i);
            }
        }
    }
    let mut w = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    w.bit(1); // BFINAL
    w.bit(1); // BTYPE = 01 (fixed Huffman), least significant bit first
    w.bit(0);
    let literal_zero = (0x30, 8);
    let mut left = size;
    if left > 0 {
        w.code(literal_zero.0, literal_zero.1);
        left -= 1;
    }
    while left >= 258 {
        w.code(0xC5, 8); // length symbol 285 = 258 bytes
        w.code(0, 5); // distance code 0 = distance 1
        left -= 258;
    }
    for _ in 0..left {
        w.code(literal_zero.0, literal_zero.1);
    }
    w.code(0, 7); // end of block
    if w.n > 0 {
        w.out.push(w.acc);
    }
    w.out
}

fn crc32_of_zeros(size: u64) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for _ in 0..size {
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip holding `deflated` as a Deflate entry that inflates to `size` bytes: written as a
/// stored entry by the zip crate, then the method, CRC and size fields are patched.
fn zip_with_raw_deflate(deflated: &[u8], size: u32, crc: u32) -> Vec<u8> {
    let mut z = zip_of(&[("cer.crt", deflated)], CompressionMethod::Stored);
    let mut i = 0;
    while i + 30 < z.len() {
        // Local header: method at 8, CRC at 14, sizes at 18/22. Central: 10, 16, 20/24.
        let fields = if z[i..].starts_with(b"PK\x03\x04") {
            Some((8, 14, 22))
        } else if z[i..].starts_with(b"PK\x01\x02") {
            Some((10, 16, 24))
        } else {
            None
        };
        if let Some((method, crc_at, size_at)) = fields {
            z[i + method..i + method + 2].copy_from_slice(&8u16.to_le_bytes());
            z[i + crc_at..i + crc_at + 4].copy_from_slice(&crc.to_le_bytes());
            z[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        i += 1;
    }
    z
}

#[test]
fn hand_made_deflate_streams_inflate_to_zeros() {
    for size in [0u32, 1, 258, 259, 100_000] {
        let z = zip_with_raw_deflate(
            &deflated_zeros(u64::from(size)),
            size,
            crc32_of_zeros(u64::from(size)),
        );
        let mut a = zip::ZipArchive::new(Cursor::new(&z)).expect("zip");
        let mut out = Vec::new();
        a.by_index(0)
            .expect("entry")
            .read_to_end(&mut out)
            .expect("inflate");
        assert_eq!(out.len(), size as usize);
        assert!(out.iter().all(|&b| b == 0));
    }
}

#[test]
fn zip_bomb_is_refused_with_the_limits_message() {
    let limits = Limits::default();
    // 256 MiB of zeros in a 1.7 MB zip, the sizes in its headers true. The CRC is left 0: the
    // loader must refuse before it ever gets that far.
    let size: u32 = 256 << 20;
    let stream = deflated_zeros(u64::from(size));
    let bomb = zip_with_raw_deflate(&stream, size, 0);
    assert!(bomb.len() < (2 << 20), "bomb is {} bytes", bomb.len());
    let e = load_bytes(&bomb, &limits).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, LoadError::ZipTooLarge(_)), "{m}");
    assert!(
        m.contains("over the limits") && m.contains(&limits.max_entry_bytes.to_string()),
        "{m}"
    );

    // The same bomb with the size in its headers forged small: still refused, after inflating
    // no more than the forged size.
    let forged = zip_with_raw_deflate(&stream, 4096, 0);
    let e = load_bytes(&forged, &limits).unwrap_err();
    assert!(
        matches!(e, LoadError::DamagedZip(_))
            && e.to_string().contains("more than its header declares"),
        "{e}"
    );

    // A bomb of many entries each under the per-entry cap trips the total. One entry is
    // deflated once and copied raw under six names.
    let tight = Limits {
        max_entry_bytes: 4 << 20,
        max_total_unzipped: 10 << 20,
        ..Limits::default()
    };
    let one = zero_zip(3 << 20);
    let mut src = zip::ZipArchive::new(Cursor::new(&one)).expect("read back");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..6 {
        let f = src.by_index_raw(0).expect("entry");
        w.raw_copy_file_rename(f, format!("{i}.crt")).expect("copy");
    }
    let many = w.finish().expect("finish").into_inner();
    let e = load_bytes(&many, &tight).unwrap_err();
    assert!(
        matches!(e, LoadError::ZipTooLarge(_))
            && e.to_string()
                .contains(&tight.max_total_unzipped.to_string()),
        "{e}"
    );
}

// ----------------------------------------------------------------------------------------------
// Key material never reaches the binary's output

#[test]
fn inspect_never_prints_key_material() {
    let t = TestDir::new();
    let leaf = client_cert(&ca(), "LMS client", -10, 300);
    t.write("key.pem", &leaf.key_pem);
    t.write("both.pem", format!("{}{}", leaf.key_pem, leaf.cert_pem));
    let z = zip_of(
        &[("client.key", leaf.key_pem.as_bytes())],
        CompressionMethod::Deflated,
    );
    t.write("key.zip", &z);
    for format in ["json", "table"] {
        let r = t.run(&[
            "inspect", "key.pem", "both.pem", "key.zip", "--as-of", AS_OF, "--format", format,
        ]);
        let all = format!("{}{}", r.stdout(), r.stderr());
        assert_no_secret(&all, &leaf.key_pem);
        assert!(all.contains("private key"), "{}", r.describe());
    }
    let r = t.run(&[
        "inspect", "both.pem", "key.pem", "--as-of", AS_OF, "--format", "json",
    ]);
    let j = r.json();
    assert_eq!(
        j["targets"][0]["certificates"][0]["sha256"],
        sha256_hex(&leaf.cert_der)
    );
    assert!(
        j["targets"][0]["notes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("private key")
    );
    assert!(
        j["targets"][1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("private key")
    );
}

// ----------------------------------------------------------------------------------------------
// Facts agree with openssl

struct Openssl {
    fields: HashMap<String, String>,
}

impl Openssl {
    fn get(&self, k: &str) -> &str {
        self.fields
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("openssl printed no {k}: {:?}", self.fields))
    }
    fn date(&self, k: &str) -> DateTime<Utc> {
        let s = self.get(k).split_whitespace().collect::<Vec<_>>().join(" ");
        NaiveDateTime::parse_from_str(&s, "%b %d %H:%M:%S %Y GMT")
            .unwrap_or_else(|e| panic!("openssl date {s}: {e}"))
            .and_utc()
    }
    fn fingerprint(&self, k: &str) -> String {
        self.get(k).replace(':', "").to_ascii_lowercase()
    }
}

fn parse_fields(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `openssl x509` on one file: subject and issuer with `-nameopt RFC2253,-esc_msb` (see
/// `facts::dn_string` for that one deliberate difference), serial, dates, fingerprints.
fn openssl_x509(dir: &Path, file: &str, inform: &str, sha1: bool) -> Openssl {
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

fn compare(ours: &CertFacts, o: &Openssl, what: &str) {
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
    crypto();
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
    let ca = ca();
    certs.push((
        "rcgen ECDSA P-256 leaf",
        client_cert(&ca, "LMS client", -30, 335).cert_der,
    ));
    certs.push(("rcgen ECDSA CA", ca.cert.cert_der.clone()));
    certs.extend(rcgen_odd_names());
    certs.extend(openssl_certs(&t));
    let neg = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/x509-limbo/negative_serial.pem"),
    )
    .expect("fixture");
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
    let o = openssl_x509(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        "fixtures/x509-limbo/negative_serial.pem",
        "PEM",
        true,
    );
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
    let t = TestDir::new();
    let ca = ca();
    let files = [
        ("soon.pem", client_cert(&ca, "soon", -300, 20).cert_pem),
        (
            "expired.pem",
            client_cert(&ca, "expired", -400, -3).cert_pem,
        ),
        (
            "limbo.pem",
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("fixtures/x509-limbo/negative_serial.pem"),
            )
            .expect("fixture"),
        ),
    ];
    let as_of = "2025-07-15T12:34:56Z";
    let as_of_t = DateTime::parse_from_rfc3339(as_of)
        .unwrap()
        .with_timezone(&Utc);
    for (name, pem) in &files {
        t.write(name, pem);
    }
    let mut args = vec!["inspect", "--as-of", as_of, "--format", "json"];
    args.extend(files.iter().map(|(n, _)| *n));
    let j = t.run(&args).json();
    for (i, (name, _)) in files.iter().enumerate() {
        let end = parse_fields(&openssl(
            &["x509", "-in", name, "-noout", "-enddate"],
            t.path(),
        ));
        let end = Openssl { fields: end }.date("notAfter");
        let want = (end - as_of_t).num_seconds().div_euclid(86_400);
        assert_eq!(
            j["targets"][i]["certificates"][0]["days_left"], want,
            "{name}: {}",
            j["targets"][i]
        );
    }
}

// ----------------------------------------------------------------------------------------------
// x509-limbo corpus

fn limbo_pems() -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/x509-limbo/certs.pem"),
    )
    .expect("fixtures/x509-limbo/certs.pem");
    limbo_split(&text)
}

/// The PEM blocks of a text, comment lines dropped.
fn limbo_split(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if line.starts_with("-----END") {
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

/// The SHA-256 openssl computes for each certificate (its re-encoding, as
/// `openssl x509 -fingerprint` does), `None` where openssl cannot parse it. One
/// `crl2pkcs7` over many certificates; halves are retried when one of them fails.
fn openssl_fingerprints(t: &TestDir, pems: &[String]) -> Vec<Option<String>> {
    t.write("batch.pem", pems.concat());
    let out = std::process::Command::new("openssl")
        .args([
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "batch.pem",
            "-outform",
            "DER",
            "-out",
            "batch.p7b",
        ])
        .current_dir(t.path())
        .output()
        .expect("openssl");
    if out.status.success() {
        let p7 = std::fs::read(t.join("batch.p7b")).expect("p7b");
        let ders = mtls_audit_cert::pkcs7_certificates(&p7).expect("openssl's PKCS#7");
        if ders.len() == pems.len() {
            return ders.iter().map(|d| Some(sha256_hex(d))).collect();
        }
    }
    if pems.len() == 1 {
        return vec![None];
    }
    let (a, b) = pems.split_at(pems.len() / 2);
    let mut v = openssl_fingerprints(t, a);
    v.extend(openssl_fingerprints(t, b));
    v
}

#[test]
fn limbo_corpus_loads_without_panic_and_fingerprints_agree() {
    let t = TestDir::new();
    let pems = limbo_pems();
    assert!(pems.len() > 900, "{} certificates", pems.len());
    let theirs = openssl_fingerprints(&t, &pems);
    let mut compared = 0;
    let mut problems = Vec::new();
    for (i, pem) in pems.iter().enumerate() {
        let ours = load_bytes(pem.as_bytes(), &Limits::default());
        match (&ours, &theirs[i]) {
            (Ok(b), Some(fp)) => {
                compared += 1;
                if &b.certs[0].sha256 != fp {
                    problems.push(format!(
                        "#{i}: sha256 {} vs openssl {fp}",
                        b.certs[0].sha256
                    ));
                }
            }
            (Err(e), Some(_)) => problems.push(format!("#{i}: openssl reads it, we say: {e}")),
            _ => {}
        }
        // DER of the same certificate too.
        if let Ok(b) = &ours
            && let Some(der) = pem_der(pem)
        {
            let d = ok(&der);
            assert_eq!(d.certs[0].sha256, b.certs[0].sha256);
        }
    }
    // The standalone files beside limbo.json: real chains, explicit curves, negative serial.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/x509-limbo");
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !name.ends_with(".pem") || name == "certs.pem" {
            continue;
        }
        let b = load_file(&path, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(b.certs.len(), limbo_split(&text).len(), "{name}");
        // openssl x509 reads the first certificate of the file.
        let o = openssl_x509(&dir, &name, "PEM", false);
        match b
            .certs
            .iter()
            .find(|c| c.sha256 == o.fingerprint("sha256 Fingerprint"))
        {
            Some(c) => compare(c, &o, &name),
            None => problems.push(format!(
                "{name}: openssl's certificate is not in the bundle"
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(compared > 900, "compared {compared}");
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[test]
fn limbo_sample_agrees_with_openssl_on_every_fact() {
    let t = TestDir::new();
    let pems = limbo_pems();
    // Every 25th certificate: about 37 of the 918, across the whole corpus.
    for (i, pem) in pems.iter().enumerate().step_by(25) {
        let name = format!("l{i}.pem");
        t.write(&name, pem);
        let o = std::process::Command::new("openssl")
            .args([
                "x509",
                "-in",
                &name,
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
            ])
            .current_dir(t.path())
            .output()
            .expect("openssl");
        if !o.status.success() {
            continue;
        }
        let o = Openssl {
            fields: parse_fields(&String::from_utf8_lossy(&o.stdout)),
        };
        let b = ok(pem.as_bytes());
        compare(&b.certs[0], &o, &format!("limbo #{i}"));
    }
}

// ----------------------------------------------------------------------------------------------
// Property tests: nothing panics

struct Samples {
    der: Vec<u8>,
    p7: Vec<u8>,
    zip: Vec<u8>,
    zip_of_zip: Vec<u8>,
    pem: Vec<u8>,
}

fn samples() -> &'static Samples {
    static S: OnceLock<Samples> = OnceLock::new();
    S.get_or_init(|| {
        let t = TestDir::new();
        let c = chain();
        let p7 = pkcs7_of(&t, &[c.leaf.pem.as_str(), c.int.pem.as_str()], true);
        let zip = zip_of(
            &[
                ("a.pem", c.leaf.pem.as_bytes()),
                ("b.der", &c.int.der),
                ("c.p7b", &p7),
            ],
            CompressionMethod::Deflated,
        );
        let zip_of_zip = zip_of(&[("in.zip", &zip)], CompressionMethod::Stored);
        Samples {
            der: c.leaf.der.clone(),
            p7,
            zip,
            zip_of_zip,
            pem: format!("{}{}", c.leaf.pem, c.int.pem).into_bytes(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = load_bytes(&bytes, &Limits::default());
    }

    #[test]
    fn arbitrary_bytes_in_pem_armour_never_panic(
        label in prop::sample::select(vec!["CERTIFICATE", "PKCS7", "TRUSTED CERTIFICATE", "X509 CERTIFICATE", "CMS", "PRIVATE KEY", "WHATEVER"]),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        raw in any::<bool>(),
    ) {
        use base64::Engine;
        let inner = if raw {
            String::from_utf8_lossy(&body).into_owned()
        } else {
            base64::engine::general_purpose::STANDARD.encode(&body)
        };
        let text = format!("-----BEGIN {label}-----\n{inner}\n-----END {label}-----\n");
        let r = load_bytes(text.as_bytes(), &Limits::default());
        if label == "PRIVATE KEY" {
            prop_assert_eq!(r.unwrap_err(), LoadError::PrivateKeyOnly);
        }
    }

    #[test]
    fn mutated_valid_inputs_never_panic(
        which in 0..5usize,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let s = samples();
        let mut bytes = [&s.der, &s.p7, &s.zip, &s.zip_of_zip, &s.pem][which].clone();
        for (at, v) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= v | 1;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        if let Ok(b) = load_bytes(&bytes, &Limits::default()) {
            prop_assert!(!b.certs.is_empty());
            let _ = b.split(|_| false);
        }
    }
}
