//! The harness: a temp dir per test, `openssl` with its stderr on failure, rcgen chains, zips,
//! and `ok`/`fail` wrappers whose panics say what the loader returned instead.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use mtls_audit_cert::{Bundle, Limits, LoadError, load_bytes};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration as StdDuration;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// A fixed as-of time so certificate dates are reproducible.
pub(crate) fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-07-15T00:00:00Z")
        .expect("constant date parses")
        .with_timezone(&Utc)
}

pub(crate) fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A file of the repository's `fixtures/` folder.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

/// A per-test working folder, removed when the test ends (kept if KEEP_TEST_DIRS is set).
pub(crate) struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub(crate) fn new() -> TestDir {
        let dir = tempfile::Builder::new()
            .prefix("mtls-audit-cert-test-")
            .tempdir()
            .expect("temp dir");
        TestDir { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating folders) and returns its path.
    pub(crate) fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("writing {rel}: {e}"));
        p
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel))
            .unwrap_or_else(|e| panic!("reading {rel}: {e}\nfiles: {:?}", self.listing()))
    }

    pub(crate) fn read_bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.join(rel))
            .unwrap_or_else(|e| panic!("reading {rel}: {e}\nfiles: {:?}", self.listing()))
    }

    /// The files in the folder, for failure messages.
    pub(crate) fn listing(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.path())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

impl Drop for TestDir {
    // Telling where a kept folder is, is the point of KEEP_TEST_DIRS.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_DIRS").is_some() {
            let kept = std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().expect("placeholder temp dir"),
            );
            eprintln!("kept {}", kept.keep().display());
        }
    }
}

/// Runs `openssl` with the arguments in `dir`; panics with its stderr if it fails.
pub(crate) fn openssl(args: &[&str], dir: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `f` on another thread and panics if it takes longer than `secs` (a refusal that
/// blocks, on a FIFO for instance, must fail the test, not hang the run).
pub(crate) fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(StdDuration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what}: still running after {secs} s (blocked?)"))
}

/// The bundle in `bytes`, or a panic with the error.
pub(crate) fn ok(bytes: &[u8]) -> Bundle {
    load_bytes(bytes, &Limits::default())
        .unwrap_or_else(|e| panic!("expected certificates, got the error: {e}"))
}

/// The error for `bytes`, or a panic describing what was loaded instead.
pub(crate) fn fail(bytes: &[u8]) -> LoadError {
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

pub(crate) fn leaf_of(b: &Bundle) -> String {
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

pub(crate) fn assert_no_secret(text: &str, key_pem: &str) {
    let lines = secret_lines(key_pem);
    assert!(!lines.is_empty(), "the key PEM has a body");
    for l in &lines {
        assert!(!text.contains(l.as_str()), "key material shown in:\n{text}");
        // Not even a fragment of it.
        assert!(!text.contains(&l[..16]), "key material shown in:\n{text}");
    }
}

pub(crate) fn zip_of(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
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

pub(crate) fn to_utf16(s: &str, little: bool) -> Vec<u8> {
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

pub(crate) fn der_to_pem(der: &[u8], label: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// The DER of a one-certificate PEM text.
pub(crate) fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

pub(crate) fn sha256_hex(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A certificate with its key and parameters, so it can issue others.
pub(crate) struct Node {
    pub(crate) der: Vec<u8>,
    pub(crate) pem: String,
    pub(crate) params: CertificateParams,
    pub(crate) key: KeyPair,
}

pub(crate) fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Chain Test");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Parameters valid from 30 days before the as-of date to `days_after` days after it.
pub(crate) fn params(cn: &str, ca: bool, days_after: i64) -> CertificateParams {
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

/// A self-signed ECDSA P-256 root CA valid for ten years.
pub(crate) fn root(cn: &str) -> Node {
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

/// A certificate issued by `parent` (a CA if `ca`), expiring `days_after` days after as-of.
pub(crate) fn issue(parent: &Node, cn: &str, ca: bool, days_after: i64) -> Node {
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
pub(crate) fn cross_sign(node: &Node, parent: &Node) -> Node {
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
pub(crate) struct Chain {
    pub(crate) root: Node,
    pub(crate) int: Node,
    pub(crate) leaf: Node,
}

pub(crate) fn chain() -> Chain {
    let root = root("Chain Root");
    let int = issue(&root, "Chain Intermediate", true, 1800);
    let leaf = issue(&int, "Chain Leaf", false, 365);
    Chain { root, int, leaf }
}

/// The subject of [`chain`]'s leaf, as the loader prints it.
pub(crate) const LEAF: &str = "CN=Chain Leaf,O=Chain Test";

/// `openssl crl2pkcs7 -nocrl` over the given PEM texts, as PEM or DER bytes.
pub(crate) fn pkcs7_of(t: &TestDir, pems: &[&str], der: bool) -> Vec<u8> {
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
    t.read_bytes(out)
}

/// Makes a FIFO with `mkfifo` (coreutils), so the tests need no unsafe code.
pub(crate) fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo is installed (coreutils)");
    assert!(status.success(), "mkfifo {} failed", path.display());
}
