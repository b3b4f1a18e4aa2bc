//! The x509-limbo corpus (fixtures/x509-limbo): every certificate loads without panic and its
//! fingerprint agrees with openssl's, the standalone files (real chains, explicit curves,
//! negative serial) load whole, and a sample agrees with `openssl x509` on every fact.

use crate::harness::*;
use crate::openssl::{Openssl, compare, openssl_x509, parse_fields};
use mtls_audit_cert::{Limits, load_bytes, load_file};

fn limbo_pems() -> Vec<String> {
    let text = std::fs::read_to_string(fixture("x509-limbo/certs.pem"))
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
    let dir = fixture("x509-limbo");
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
