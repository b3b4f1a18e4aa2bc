//! Unreadable kinds, each with its own message that never shows key material: keys in every
//! form, PKCS#12, CSR, public key, CRL, damaged certificates, missing, directory, empty,
//! blank, text, binary, permission denied, FIFOs, sockets and devices, and the zip kinds
//! (encrypted, damaged, no certificate).

use crate::harness::*;
use mtls_audit_cert::{Limits, LoadError, load_file};
use rcgen::{KeyPair, PublicKeyData};
use std::path::{Path, PathBuf};
use zip::CompressionMethod;

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
    let leaf = issue(&root("Test Root CA"), "LMS", false, 300);
    let key_pem = leaf.key.serialize_pem();
    t.write("c.pem", &leaf.pem);
    t.write("k.pem", &key_pem);
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
    assert_eq!(b.certs[0].sha256, sha256_hex(&leaf.der));
    assert_no_secret(&b.notes.join("\n"), &key_pem);
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

// ----------------------------------------------------------------------------------------------
// Not regular files (docs/spec.md §12): refused by their type, at once, before anything is read

#[test]
fn a_fifo_is_refused_at_once_and_never_opened_for_a_blocking_read() {
    let t = TestDir::new();
    let fifo = t.join("lms.pem");
    mkfifo(&fifo);
    // No writer: a blocking open or read would wait forever, so the call runs under a watchdog.
    let e = within(10, "load_file on a FIFO", move || {
        load_file(&fifo, &Limits::default()).unwrap_err()
    });
    assert_eq!(
        e,
        LoadError::NotRegular {
            kind: "FIFO (named pipe)"
        }
    );
    assert_eq!(
        e.to_string(),
        "it is a FIFO (named pipe), not a regular file; refused (reading it could block or never end)"
    );
}

#[test]
fn sockets_and_devices_are_refused_as_such_whatever_the_limit() {
    let t = TestDir::new();
    let sock = t.join("lms.pem");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind a unix socket");
    let e = load_file(&sock, &Limits::default()).unwrap_err();
    assert_eq!(e, LoadError::NotRegular { kind: "socket" });
    assert!(e.to_string().contains("socket, not a regular file"), "{e}");

    // /dev/zero never ends and /dev/urandom neither: with no size limit at all they would be
    // read until memory runs out. They are refused by their type, before a byte is read.
    let unlimited = Limits {
        max_file_bytes: u64::MAX,
        ..Limits::default()
    };
    let mut checked = 0;
    for dev in ["/dev/zero", "/dev/urandom", "/dev/null"] {
        let path = PathBuf::from(dev);
        if !path.exists() {
            continue;
        }
        let e = within(10, dev, move || load_file(&path, &unlimited).unwrap_err());
        assert_eq!(e, LoadError::NotRegular { kind: "device" }, "{dev}");
        assert!(
            e.to_string()
                .starts_with("it is a device, not a regular file; refused")
        );
        checked += 1;
    }
    assert!(checked > 0, "no device to try here");
}

#[test]
fn a_symlink_to_a_fifo_is_refused_and_to_a_certificate_is_read() {
    let t = TestDir::new();
    let c = chain();
    let fifo = t.join("pipe");
    mkfifo(&fifo);
    let to_fifo = t.join("via-link.pem");
    std::os::unix::fs::symlink(&fifo, &to_fifo).expect("symlink");
    let e = within(10, "load_file on a symlink to a FIFO", move || {
        load_file(&to_fifo, &Limits::default()).unwrap_err()
    });
    assert!(matches!(e, LoadError::NotRegular { .. }), "{e}");

    let real = t.write("leaf.pem", &c.leaf.pem);
    let to_real = t.join("link.pem");
    std::os::unix::fs::symlink(&real, &to_real).expect("symlink");
    let b = load_file(&to_real, &Limits::default()).expect("a symlink to a certificate");
    assert_eq!(b.certs[0].sha256, sha256_hex(&c.leaf.der));
}
