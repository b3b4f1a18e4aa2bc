//! Certificate loading: bytes → bundle with facts (`load_bytes`), for each format the loader
//! reads, plus how fast a zip bomb is refused.
//!
//! Run: `cargo bench -p mtls-audit-cert --bench load -- --warm-up-time 1 --measurement-time 3`
//!
//! The certificates are made with rcgen here (ECDSA P-256, as the simulator's PKI makes them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mtls_audit_cert::{Limits, load_bytes};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::hint::black_box;
use std::io::{Cursor, Read, Write};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

/// A degenerate "certs-only" SignedData, the shape `openssl crl2pkcs7 -nocrl` writes.
fn pkcs7(certs: &[&[u8]]) -> Vec<u8> {
    const PKCS7: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];
    let oid = |n: u8| {
        let mut v = PKCS7.to_vec();
        v.push(n);
        tlv(0x06, &v)
    };
    let mut sd = tlv(0x02, &[1]);
    sd.extend(tlv(0x31, &[]));
    sd.extend(tlv(0x30, &oid(1)));
    sd.extend(tlv(0xa0, &certs.concat()));
    sd.extend(tlv(0x31, &[]));
    let mut ci = oid(2);
    ci.extend(tlv(0xa0, &tlv(0x30, &sd)));
    tlv(0x30, &ci)
}

fn pem(der: &[u8], label: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A certificate as the benchmark needs it.
struct Made {
    cert_der: Vec<u8>,
    cert_pem: String,
}

/// Parameters for `cn`, valid from `from` to `to` days around now; a CA or a client leaf.
fn params(cn: &str, from: i64, to: i64, ca: bool) -> CertificateParams {
    let now = Utc::now();
    let at = |d: i64| {
        time::OffsetDateTime::from_unix_timestamp((now + Duration::days(d)).timestamp()).unwrap()
    };
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = at(from);
    p.not_after = at(to);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    p
}

fn benches(c: &mut Criterion) {
    let ca_key = KeyPair::generate().unwrap();
    let ca_params = params("Bench Root", -3650, 3650, true);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = Made {
        cert_der: ca_cert.der().to_vec(),
        cert_pem: ca_cert.pem(),
    };
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf_cert = params("LMS client", -30, 335, false)
        .signed_by(&KeyPair::generate().unwrap(), &issuer)
        .unwrap();
    let leaf = Made {
        cert_der: leaf_cert.der().to_vec(),
        cert_pem: leaf_cert.pem(),
    };
    let other = params("Other", -1, 100, false)
        .self_signed(&KeyPair::generate().unwrap())
        .unwrap()
        .pem();
    let p7 = pkcs7(&[&leaf.cert_der, &ca.cert_der]);
    let bundle = format!("{}{}{}", other, leaf.cert_pem, ca.cert_pem);
    let headerless: String = leaf
        .cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let zip = zip_of(&[
        ("cer/new.cer", &leaf.cert_der),
        ("cer/chain.pem", ca.cert_pem.as_bytes()),
        ("readme.txt", b"Import the certificate into IPS and IAS.\n"),
    ]);
    let limits = Limits::default();
    // 32 MiB of zeros in one entry, over the 16 MiB per-entry cap.
    let bomb = {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file(
            "cer.crt",
            SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
        )
        .unwrap();
        std::io::copy(&mut std::io::repeat(0).take(32 << 20), &mut w).unwrap();
        w.finish().unwrap().into_inner()
    };

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("pem", leaf.cert_pem.clone().into_bytes()),
        ("der", leaf.cert_der.clone()),
        ("pkcs7_pem", pem(&p7, "PKCS7").into_bytes()),
        ("pkcs7_der", p7.clone()),
        ("zip", zip),
        ("pem_bundle_3", bundle.into_bytes()),
        ("base64_headerless", headerless.into_bytes()),
    ];
    let mut g = c.benchmark_group("load");
    for (name, bytes) in &cases {
        // Every case must really load, or the figure means nothing.
        assert!(!load_bytes(bytes, &limits).unwrap().certs.is_empty());
        g.bench_function(*name, |b| {
            b.iter(|| load_bytes(black_box(bytes), &limits).unwrap())
        });
    }
    assert!(load_bytes(&bomb, &limits).is_err());
    g.bench_function("zip_bomb_refused", |b| {
        b.iter(|| load_bytes(black_box(&bomb), &limits).unwrap_err())
    });
    g.finish();
}

criterion_group!(load, benches);
criterion_main!(load);
