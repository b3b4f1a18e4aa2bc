//! Every format loads, detected by content: PEM (multi, CRLF, BOM, UTF-16, text around the
//! blocks, one line, TRUSTED CERTIFICATE), DER (single, concatenated), PKCS#7 (PEM, DER,
//! mislabelled), headerless base64, and zips of all of these, nested one level.

use crate::harness::*;
use mtls_audit_cert::{Container, Limits, LoadError, load_bytes};
use zip::CompressionMethod;

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
