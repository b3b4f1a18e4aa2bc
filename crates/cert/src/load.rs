//! Bytes → a bundle of certificates, the format told by content, never by file name (docs/spec.md §4).
//!
//! The order of the sniffing matters and is: zip magic; one or more complete DER elements of
//! a kind we recognise (certificate, PKCS#7, PKCS#12, private key, CSR, public key, CRL);
//! text (BOM and UTF-16 handled) with PEM blocks; text that is only base64; then the
//! unreadable kinds. Every failure is a [`LoadError`] whose text says which kind of unreadable
//! the file is and never quotes the file's content.

use crate::der::{self, BIT_STRING, INTEGER, OCTET_STRING, SEQUENCE, Tlv};
use crate::facts::CertFacts;
use crate::pem::{self, Encoding};
use crate::pkcs7::{self, Pkcs7Error};
use mtls_audit_input::zip::{self, Entry, ZipError, ZipLimits};
use mtls_audit_input::{FileError, FileLimit, FileProblem};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// Caps on what is read, so a multi-gigabyte file or a zip bomb cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read at all (raised on the command line with
    /// [`Limits::MAX_FILE_BYTES_OPTION`]).
    pub max_file_bytes: u64,
    /// Most entries looked at in one zip archive.
    pub max_zip_entries: usize,
    /// Largest uncompressed zip entry read.
    pub max_entry_bytes: u64,
    /// Most uncompressed bytes read from one archive in all.
    pub max_total_unzipped: u64,
    /// Most certificates kept from one file.
    pub max_certs: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 16 * 1024 * 1024,
            max_zip_entries: 1024,
            max_entry_bytes: 16 * 1024 * 1024,
            max_total_unzipped: 64 * 1024 * 1024,
            max_certs: 256,
        }
    }
}

impl Limits {
    /// The command-line option that sets [`Limits::max_file_bytes`]. The message of a
    /// certificate file over that limit ([`LoadError::TooLarge`]) names it, so the CLI declares
    /// its option from this constant and the two cannot drift apart.
    pub const MAX_FILE_BYTES_OPTION: &'static str = "--max-cert-size";

    /// The file limit of these limits, for `mtls_audit_input::read_file`.
    fn file(&self) -> FileLimit {
        FileLimit {
            bytes: self.max_file_bytes,
            what: "certificate file",
            option: Limits::MAX_FILE_BYTES_OPTION,
        }
    }

    /// The archive limits of these limits.
    fn zip(&self) -> ZipLimits {
        ZipLimits {
            max_entries: self.max_zip_entries,
            max_entry_bytes: self.max_entry_bytes,
            max_total: self.max_total_unzipped,
        }
    }
}

/// The container format the certificates were found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Container {
    /// PEM blocks (`-----BEGIN CERTIFICATE-----`), any text around them.
    Pem,
    /// One DER certificate, or several written back to back.
    Der,
    /// A PKCS#7 SignedData in PEM (`-----BEGIN PKCS7-----`).
    Pkcs7Pem,
    /// A PKCS#7 SignedData in DER (`.p7b`, `.p7c`).
    Pkcs7Der,
    /// A ZIP archive holding any of the others.
    Zip,
    /// Base64 of a DER certificate or PKCS#7 without PEM header lines.
    Base64,
}

impl Container {
    /// The format's name for people, e.g. `PKCS#7 (DER)`.
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Pem => "PEM",
            Container::Der => "DER",
            Container::Pkcs7Pem => "PKCS#7 (PEM)",
            Container::Pkcs7Der => "PKCS#7 (DER)",
            Container::Zip => "ZIP",
            Container::Base64 => "Base64 (no PEM header)",
        }
    }
}

/// The certificates of one file, in file order.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The format the certificates were found in.
    pub format: Container,
    /// The certificates, duplicates dropped; never empty when returned by [`load_bytes`] or
    /// [`load_file`].
    pub certs: Vec<Arc<CertFacts>>,
    /// Things worth telling about the file that do not stop it from being read (a private key
    /// next to the certificate, entries skipped in a zip, …). Never key material.
    pub notes: Vec<String>,
}

impl Bundle {
    /// Indexes of the certificates that issue no other certificate in the bundle.
    pub fn leaf_candidates(&self) -> Vec<usize> {
        let issues_another = |i: usize| {
            let c = &self.certs[i];
            self.certs
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && !o.self_issued() && o.issuer_der == c.subject_der)
        };
        let v: Vec<usize> = (0..self.certs.len())
            .filter(|&i| !issues_another(i))
            .collect();
        if v.is_empty() {
            // A cycle (two certificates issuing each other): fall back to every one.
            (0..self.certs.len()).collect()
        } else {
            v
        }
    }

    /// The leaf and the rest of the bundle in file order. With several candidates the leaf is
    /// one for which `prefer` holds (e.g. it matches a reference certificate), then the one
    /// that expires last, then the first in the file.
    ///
    /// # Panics
    ///
    /// If the bundle holds no certificate (a bundle from [`load_bytes`] or [`load_file`] always
    /// holds one).
    pub fn split(
        &self,
        prefer: impl Fn(&CertFacts) -> bool,
    ) -> (Arc<CertFacts>, Vec<Arc<CertFacts>>) {
        let candidates = self.leaf_candidates();
        let mut best = candidates[0];
        for &i in &candidates[1..] {
            let (b, c) = (&self.certs[best], &self.certs[i]);
            let key = |x: &CertFacts| (prefer(x), !x.is_ca, x.not_after);
            if key(c) > key(b) {
                best = i;
            }
        }
        let chain = self
            .certs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, c)| c.clone())
            .collect();
        (self.certs[best].clone(), chain)
    }
}

/// Why a file gives no certificate. The text says which kind of unreadable it is; it never
/// quotes the file's content (which could be key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
///
/// The text is copied into reports (`CERT_UNREADABLE: <path>: <this text>`), so it is part of
/// the report format: it names no path (the caller prefixes it) and holds no cause to be
/// printed again, since no variant has a source.
pub enum LoadError {
    /// The file does not exist.
    #[error("the file does not exist")]
    Missing,
    /// The path is a directory.
    #[error("it is a directory, not a certificate file")]
    Directory,
    /// The path is a FIFO, a socket or a device (`kind` says which): reading it could block
    /// or never end, so it is refused before anything is read.
    #[error("it is a {kind}, not a regular file; refused (reading it could block or never end)")]
    NotRegular {
        /// `FIFO (named pipe)`, `socket`, `device` or `special file`.
        kind: &'static str,
    },
    /// This user may not read the file.
    #[error("permission denied: this user may not read the file")]
    PermissionDenied,
    /// Any other I/O error, as the system words it.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The file has no byte.
    #[error("the file is empty (0 bytes)")]
    Empty,
    /// The file holds only whitespace.
    #[error("the file is empty (only whitespace)")]
    Blank,
    /// The file or the bytes are over [`Limits::max_file_bytes`]; the text names the option
    /// that raises it ([`Limits::MAX_FILE_BYTES_OPTION`]).
    #[error("{}", too_large(*.size, *.limit))]
    TooLarge {
        /// The size, when the file system reports it (`None` when only reading found out).
        size: Option<u64>,
        /// The limit in bytes.
        limit: u64,
    },
    /// Only private keys, in any form (PEM, DER, PKCS#1/#8, SEC1, encrypted, PuTTY).
    #[error(
        "the file holds a private key and no certificate (the key is not shown); give the certificate file instead"
    )]
    PrivateKeyOnly,
    /// A PKCS#12 keystore.
    #[error(
        "the file is a PKCS#12 keystore (.p12/.pfx), which bundles the private key; export the certificate alone, e.g. `openssl pkcs12 -in FILE.p12 -nokeys -out cert.pem`"
    )]
    Pkcs12,
    /// Something certificate-like that is not a certificate (CSR, public key, CRL, SSH key,
    /// other PKCS#7 types); the text says what it is.
    #[error("not a certificate: {0}")]
    NotCertificate(String),
    /// Every entry of the archive that could hold a certificate is encrypted.
    #[error("the zip archive is encrypted (password-protected); extract the certificate first")]
    EncryptedZip,
    /// The archive is damaged, truncated or forged; the text says how.
    #[error("the zip archive is damaged: {0}")]
    DamagedZip(String),
    /// The entries use compression methods this build cannot inflate (listed).
    #[error(
        "the zip archive uses a compression method this tool cannot read ({0}); extract the certificate first"
    )]
    UnsupportedZip(String),
    /// No entry of the archive holds a certificate; the text lists the entries and why.
    #[error("the zip archive holds no certificate (entries: {0})")]
    ZipWithoutCertificate(String),
    /// The archive is over one of the zip limits of [`Limits`]; the text says which.
    #[error("the zip archive is over the limits: {0}")]
    ZipTooLarge(String),
    /// More certificates than [`Limits::max_certs`].
    #[error("the file holds more than {limit} certificates, the limit for one file; not read")]
    TooManyCertificates {
        /// The limit.
        limit: usize,
    },
    /// A certificate (or PEM block, PKCS#7) that is there but does not parse; the text says
    /// which one and why.
    #[error("damaged certificate: {0}")]
    Damaged(String),
    /// Neither a certificate nor anything recognisable; the text says text or binary.
    #[error("not a certificate file: {0}")]
    Garbage(String),
}

impl From<ZipError> for LoadError {
    fn from(e: ZipError) -> LoadError {
        match e {
            ZipError::Damaged(why) => LoadError::DamagedZip(why),
            ZipError::OverLimit(why) => LoadError::ZipTooLarge(why),
        }
    }
}

fn too_large(size: Option<u64>, limit: u64) -> String {
    let option = Limits::MAX_FILE_BYTES_OPTION;
    match size {
        Some(s) => format!(
            "the file is {s} bytes, over the {limit}-byte limit for certificate files; not read (raise the limit with {option})"
        ),
        None => format!(
            "the file is over the {limit}-byte limit for certificate files; not read (raise the limit with {option})"
        ),
    }
}

/// The error for a file `mtls_audit_input::read_file` did not read. The path is left out:
/// callers put it in front of the message.
fn file_error(e: FileError) -> LoadError {
    match e.problem {
        FileProblem::Missing => LoadError::Missing,
        FileProblem::Directory => LoadError::Directory,
        FileProblem::NotRegular(kind) => LoadError::NotRegular { kind },
        FileProblem::PermissionDenied => LoadError::PermissionDenied,
        FileProblem::TooLarge { size } => LoadError::TooLarge {
            size,
            limit: e.limit.bytes,
        },
        FileProblem::Io(text) => LoadError::Io(text),
    }
}

/// Reads a certificate file through `mtls_audit_input::read_file`: a FIFO, socket or device is
/// refused before anything is read, and at most `max_file_bytes` are read whatever the
/// metadata says (a file may grow while it is read).
pub fn load_file(path: &Path, limits: &Limits) -> Result<Bundle, LoadError> {
    let bytes = mtls_audit_input::read_file(path, &limits.file()).map_err(file_error)?;
    load_bytes(&bytes, limits)
}

/// Reads the certificates in `bytes`, whatever the format (see the module comment).
pub fn load_bytes(bytes: &[u8], limits: &Limits) -> Result<Bundle, LoadError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(LoadError::TooLarge {
            size: Some(bytes.len() as u64),
            limit: limits.max_file_bytes,
        });
    }
    let mut ctx = Ctx {
        limits,
        budget: limits.max_total_unzipped,
        zip_depth: 0,
    };
    let found = read_content(bytes, &mut ctx)?;
    Ok(finish(found))
}

/// What is being read: the limits, the inflated bytes still allowed, how deep in zips.
struct Ctx<'l> {
    limits: &'l Limits,
    budget: u64,
    zip_depth: u8,
}

/// Zips inside zips are read this deep (SAP's `cer.zip` inside a download zip), no deeper.
const MAX_ZIP_DEPTH: u8 = 2;

/// Certificates found in one piece of content, before duplicates are dropped.
struct Found {
    format: Container,
    certs: Vec<CertFacts>,
    notes: Vec<String>,
}

fn finish(found: Found) -> Bundle {
    let mut seen = HashSet::new();
    let mut certs = Vec::with_capacity(found.certs.len());
    let mut dupes = 0;
    for c in found.certs {
        if seen.insert(c.sha256.clone()) {
            certs.push(Arc::new(c));
        } else {
            dupes += 1;
        }
    }
    let mut notes = found.notes;
    if dupes > 0 {
        notes.push(format!(
            "{dupes} duplicate certificate{} ignored",
            if dupes == 1 { "" } else { "s" }
        ));
    }
    Bundle {
        format: found.format,
        certs,
        notes,
    }
}

fn check_count(n: usize, limits: &Limits) -> Result<(), LoadError> {
    if n > limits.max_certs {
        Err(LoadError::TooManyCertificates {
            limit: limits.max_certs,
        })
    } else {
        Ok(())
    }
}

fn read_content(bytes: &[u8], ctx: &mut Ctx<'_>) -> Result<Found, LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::Blank);
    }
    if zip::is_zip(bytes) {
        return read_zip(bytes, ctx);
    }
    if let Some(found) = read_der(bytes, Container::Der, Container::Pkcs7Der, ctx.limits)? {
        return Ok(found);
    }
    let text = pem::decode_text(bytes);
    let utf16 = matches!(text.encoding, Encoding::Utf16Le | Encoding::Utf16Be);
    if utf16 && text.bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::Blank);
    }
    if pem::has_pem(&text.bytes) {
        let mut found = read_pem(&text.bytes, ctx.limits)?;
        if utf16 {
            found
                .notes
                .push("the file is UTF-16 text; it was converted to read it".to_string());
        }
        return Ok(found);
    }
    if let Some(decoded) = pem::headerless_base64(&text.bytes) {
        return match read_der(&decoded, Container::Base64, Container::Base64, ctx.limits)? {
            Some(found) => Ok(found),
            None => Err(LoadError::Garbage(
                "base64 text that does not decode to a certificate".into(),
            )),
        };
    }
    let trimmed = text.bytes.trim_ascii_start();
    if trimmed.starts_with(b"PuTTY-User-Key-File-") {
        return Err(LoadError::PrivateKeyOnly);
    }
    if [
        &b"ssh-rsa "[..],
        b"ssh-ed25519 ",
        b"ssh-dss ",
        b"ecdsa-sha2-",
    ]
    .iter()
    .any(|p| trimmed.starts_with(p))
    {
        return Err(LoadError::NotCertificate(
            "an SSH public key; give the X.509 certificate (PEM or DER)".into(),
        ));
    }
    if looks_text(&text.bytes) {
        return Err(LoadError::Garbage(
            "text without any PEM block (-----BEGIN …-----) or base64-encoded certificate".into(),
        ));
    }
    match der::parse(bytes) {
        Err(der::DerError::Truncated) if bytes[0] == 0x30 && bytes.len() >= 16 => {
            Err(LoadError::Damaged(
                "the DER data ends before its declared length (truncated file?)".into(),
            ))
        }
        Ok((t, rest)) if t.tag.is_universal(SEQUENCE) && rest.len() <= 2 => {
            Err(LoadError::Garbage(
                "binary DER data of an unrecognised kind (not a certificate, PKCS#7, key or CSR)"
                    .into(),
            ))
        }
        _ => Err(LoadError::Garbage(
            "binary data that is neither a DER certificate, PKCS#7 nor a zip archive".into(),
        )),
    }
}

/// Text if no byte is NUL and almost none are control characters other than whitespace.
fn looks_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(4096)];
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    !sample.contains(&0) && controls * 50 <= sample.len()
}

/// What a complete DER element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DerKind {
    /// Shaped like a signed certificate (it may still fail to parse: damaged).
    Certificate,
    /// A PKCS#7 ContentInfo of this content type (2 = SignedData).
    Pkcs7(u8),
    Pkcs12,
    PrivateKey,
    Csr,
    PublicKey,
    Crl,
    Unknown,
}

fn classify(tlv: &Tlv<'_>) -> DerKind {
    let seq = |t: &Tlv<'_>| t.tag.is_universal(SEQUENCE) && t.tag.constructed;
    let tag = |t: &Tlv<'_>, n| t.tag.is_universal(n) && !t.tag.constructed;
    if !seq(tlv) {
        return DerKind::Unknown;
    }
    if let Some(n) = pkcs7::content_type(tlv) {
        return DerKind::Pkcs7(n);
    }
    let Ok(kids) = tlv.child_vec() else {
        return DerKind::Unknown;
    };
    match kids.as_slice() {
        [tbs, alg, sig] if seq(tbs) && seq(alg) && tag(sig, BIT_STRING) => {
            let Ok(inner) = tbs.child_vec() else {
                return DerKind::Certificate;
            };
            if is_csr_info(&inner) {
                DerKind::Csr
            } else if is_crl_tbs(&inner) {
                DerKind::Crl
            } else {
                DerKind::Certificate
            }
        }
        [alg, key] if seq(alg) && tag(key, BIT_STRING) => DerKind::PublicKey,
        // EncryptedPrivateKeyInfo: algorithm, encrypted data.
        [alg, data] if seq(alg) && tag(data, OCTET_STRING) => DerKind::PrivateKey,
        [version, rest @ ..] if tag(version, INTEGER) => match version.small_uint() {
            Some(3) if rest.first().and_then(pkcs7::content_type).is_some() => DerKind::Pkcs12,
            // PKCS#8 PrivateKeyInfo / OneAsymmetricKey: version, algorithm, key.
            Some(0 | 1) if rest.len() >= 2 && seq(&rest[0]) && tag(&rest[1], OCTET_STRING) => {
                DerKind::PrivateKey
            }
            // SEC1 ECPrivateKey: version 1, key, [0] parameters, [1] public key.
            Some(1) if rest.first().is_some_and(|k| tag(k, OCTET_STRING)) => DerKind::PrivateKey,
            // PKCS#1 RSAPrivateKey (8 integers after the version) or OpenSSL's DSA key (5).
            Some(0) if rest.len() >= 5 && rest.iter().all(|k| tag(k, INTEGER)) => {
                DerKind::PrivateKey
            }
            _ => DerKind::Unknown,
        },
        _ => DerKind::Unknown,
    }
}

/// CertificationRequestInfo: version, subject, subjectPublicKeyInfo, [0] attributes.
fn is_csr_info(inner: &[Tlv<'_>]) -> bool {
    (3..=4).contains(&inner.len())
        && inner[0].tag.is_universal(INTEGER)
        && inner[1].tag.is_universal(SEQUENCE)
        && inner[2].tag.is_universal(SEQUENCE)
        && inner.get(3).is_none_or(|a| a.tag.is_context_constructed(0))
}

/// TBSCertList: [version], signature, issuer, thisUpdate (a time), …
fn is_crl_tbs(inner: &[Tlv<'_>]) -> bool {
    let off = usize::from(inner.first().is_some_and(|v| v.tag.is_universal(INTEGER)));
    inner.get(off + 2).is_some_and(|t| {
        t.tag.is_universal(der::UTC_TIME) || t.tag.is_universal(der::GENERALIZED_TIME)
    })
}

/// Facts of one certificate, `origin` naming it in the error if it is damaged.
fn facts(der: &[u8], origin: &str) -> Result<CertFacts, LoadError> {
    CertFacts::from_der(der).map_err(|e| {
        if origin.is_empty() {
            LoadError::Damaged(e.to_string())
        } else {
            LoadError::Damaged(format!("{origin}: {e}"))
        }
    })
}

/// The certificates of a PKCS#7 SignedData.
fn p7_certs(
    tlv: &Tlv<'_>,
    origin: &str,
    already: usize,
    limits: &Limits,
) -> Result<Vec<CertFacts>, LoadError> {
    let ders = pkcs7::certificates(tlv).map_err(|e| match e {
        Pkcs7Error::NotSignedData(_) => LoadError::NotCertificate(e.to_string()),
        Pkcs7Error::Malformed(_) => LoadError::Damaged(with_origin(origin, &e.to_string())),
    })?;
    check_count(already + ders.len(), limits)?;
    ders.iter()
        .enumerate()
        .map(|(i, d)| {
            let o = with_origin(origin, &format!("certificate {} of the PKCS#7", i + 1));
            facts(d, &o)
        })
        .collect()
}

fn with_origin(origin: &str, what: &str) -> String {
    if origin.is_empty() {
        what.to_string()
    } else {
        format!("{origin}: {what}")
    }
}

/// Binary content: one or more complete DER elements. `Ok(None)` when the bytes are not DER
/// of a recognised kind (the caller goes on to try text).
fn read_der(
    bytes: &[u8],
    single: Container,
    p7: Container,
    limits: &Limits,
) -> Result<Option<Found>, LoadError> {
    let Ok((first, mut rest)) = der::parse(bytes) else {
        return Ok(None);
    };
    match classify(&first) {
        DerKind::Certificate => {
            let mut certs = vec![facts(first.raw, "")?];
            // Certificates written back to back (`cat a.der b.der`) are a bundle too.
            while let Ok((next, after)) = der::parse(rest) {
                if classify(&next) != DerKind::Certificate {
                    break;
                }
                check_count(certs.len() + 1, limits)?;
                certs.push(facts(
                    next.raw,
                    &format!("DER element {}", certs.len() + 1),
                )?);
                rest = after;
            }
            let mut notes = Vec::new();
            let trailing = rest.iter().filter(|&&b| b != 0 && !b.is_ascii_whitespace());
            if trailing.count() > 0 {
                notes.push(format!(
                    "{} bytes after the DER certificate were ignored",
                    rest.len()
                ));
            }
            Ok(Some(Found {
                format: single,
                certs,
                notes,
            }))
        }
        DerKind::Pkcs7(_) => {
            let certs = p7_certs(&first, "", 0, limits)?;
            if certs.is_empty() {
                return Err(LoadError::NotCertificate(
                    "a PKCS#7 file that holds no certificate".into(),
                ));
            }
            Ok(Some(Found {
                format: p7,
                certs,
                notes: Vec::new(),
            }))
        }
        DerKind::Pkcs12 => Err(LoadError::Pkcs12),
        DerKind::PrivateKey => Err(LoadError::PrivateKeyOnly),
        DerKind::Csr => Err(LoadError::NotCertificate(CSR.into())),
        DerKind::PublicKey => Err(LoadError::NotCertificate(PUBLIC_KEY.into())),
        DerKind::Crl => Err(LoadError::NotCertificate(CRL.into())),
        DerKind::Unknown => Ok(None),
    }
}

const CSR: &str =
    "a certificate signing request (CSR); give the certificate the CA issued for it instead";
const PUBLIC_KEY: &str = "a bare public key; give the certificate that holds it instead";
const CRL: &str = "a certificate revocation list (CRL); give the certificate instead";

/// What a PEM label stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Certificate,
    Pkcs7,
    PrivateKey,
    Csr,
    PublicKey,
    Crl,
    Other,
}

fn label_kind(label: &str) -> Label {
    match label {
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => Label::Certificate,
        "PKCS7" | "PKCS #7 SIGNED DATA" | "CMS" => Label::Pkcs7,
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Label::Csr,
        "PUBLIC KEY" | "RSA PUBLIC KEY" | "SSH2 PUBLIC KEY" => Label::PublicKey,
        "X509 CRL" => Label::Crl,
        l if l.contains("PRIVATE KEY") => Label::PrivateKey,
        _ => Label::Other,
    }
}

fn read_pem(text: &[u8], limits: &Limits) -> Result<Found, LoadError> {
    let blocks = pem::blocks(text);
    let mut certs: Vec<CertFacts> = Vec::new();
    let mut from_p7 = 0usize;
    let mut from_plain = 0usize;
    let mut keys = 0usize;
    let mut seen = [false; 7];
    let mut p7_without_certs = false;
    let mut others: Vec<String> = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let kind = label_kind(&block.label);
        seen[kind as usize] = true;
        let origin = format!("PEM block {} ({})", i + 1, block.shown_label());
        match kind {
            Label::Certificate | Label::Pkcs7 => {
                let der = block
                    .der()
                    .map_err(|e| LoadError::Damaged(format!("{origin}: {e}")))?;
                let (tlv, _) =
                    der::parse(&der).map_err(|e| LoadError::Damaged(format!("{origin}: {e}")))?;
                // Some tools label a PKCS#7 as CERTIFICATE; TRUSTED CERTIFICATE has OpenSSL's
                // trust settings after the certificate, which the first element leaves out.
                if pkcs7::content_type(&tlv).is_some() {
                    let got = p7_certs(&tlv, &origin, certs.len(), limits)?;
                    if got.is_empty() {
                        p7_without_certs = true;
                    }
                    from_p7 += got.len();
                    certs.extend(got);
                } else if kind == Label::Pkcs7 {
                    return Err(LoadError::Damaged(format!(
                        "{origin}: not a PKCS#7 ContentInfo"
                    )));
                } else {
                    check_count(certs.len() + 1, limits)?;
                    certs.push(facts(tlv.raw, &origin)?);
                    from_plain += 1;
                }
            }
            Label::PrivateKey => keys += 1,
            Label::Csr | Label::PublicKey | Label::Crl | Label::Other => {
                others.push(block.shown_label().to_string());
            }
        }
    }
    if certs.is_empty() {
        return Err(if keys > 0 {
            LoadError::PrivateKeyOnly
        } else if seen[Label::Csr as usize] {
            LoadError::NotCertificate(CSR.into())
        } else if seen[Label::PublicKey as usize] {
            LoadError::NotCertificate(PUBLIC_KEY.into())
        } else if seen[Label::Crl as usize] {
            LoadError::NotCertificate(CRL.into())
        } else if p7_without_certs {
            LoadError::NotCertificate("a PKCS#7 file that holds no certificate".into())
        } else if others.is_empty() {
            LoadError::Garbage("text with a broken PEM marker".into())
        } else {
            LoadError::Garbage(format!(
                "PEM blocks of other kinds only ({})",
                summarise(&others, 5)
            ))
        });
    }
    let mut notes = Vec::new();
    if keys > 0 {
        notes.push(format!(
            "the file also holds {} private key{}; ignored and not shown",
            if keys == 1 { "a" } else { "several" },
            if keys == 1 { "" } else { "s" }
        ));
    }
    if !others.is_empty() {
        notes.push(format!("ignored PEM blocks: {}", summarise(&others, 5)));
    }
    let format = if from_plain == 0 && from_p7 > 0 {
        Container::Pkcs7Pem
    } else {
        Container::Pem
    };
    Ok(Found {
        format,
        certs,
        notes,
    })
}

/// `a, b, c and 4 more`.
fn summarise(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

fn read_zip(bytes: &[u8], ctx: &mut Ctx<'_>) -> Result<Found, LoadError> {
    let limits = ctx.limits;
    let depth = ctx.zip_depth;
    let mut certs: Vec<CertFacts> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut skipped: Vec<(String, LoadError)> = Vec::new();
    let mut encrypted: Vec<String> = Vec::new();
    let mut unsupported: Vec<(String, String)> = Vec::new();
    let mut budget = ctx.budget;
    zip::for_each_entry(bytes, &limits.zip(), &mut budget, |name, entry, budget| {
        let data = match entry {
            Entry::Data(d) => d,
            Entry::Encrypted => {
                encrypted.push(name.to_string());
                return Ok(());
            }
            Entry::Unsupported(method) => {
                unsupported.push((name.to_string(), method));
                return Ok(());
            }
        };
        if zip::is_zip(data) && depth + 1 >= MAX_ZIP_DEPTH {
            skipped.push((
                name.to_string(),
                LoadError::Garbage("a zip nested too deep; extract it first".into()),
            ));
            return Ok(());
        }
        let mut inner = Ctx {
            limits,
            budget: *budget,
            zip_depth: depth + 1,
        };
        let result = read_content(data, &mut inner);
        *budget = inner.budget;
        match result {
            Ok(found) => {
                check_count(certs.len() + found.certs.len(), limits)?;
                used.push(format!("{name} ({})", found.format.as_str()));
                notes.extend(found.notes.into_iter().map(|n| format!("{name}: {n}")));
                certs.extend(found.certs);
                Ok(())
            }
            // Limits hold for the whole file, nested archives included.
            Err(e @ (LoadError::ZipTooLarge(_) | LoadError::TooManyCertificates { .. })) => Err(e),
            Err(e) => {
                skipped.push((name.to_string(), e));
                Ok(())
            }
        }
    })?;
    ctx.budget = budget;
    if certs.is_empty() {
        if !encrypted.is_empty() {
            return Err(LoadError::EncryptedZip);
        }
        if !unsupported.is_empty() {
            let list: Vec<String> = unsupported
                .iter()
                .map(|(n, m)| format!("{m} for '{n}'"))
                .collect();
            return Err(LoadError::UnsupportedZip(summarise(&list, 5)));
        }
        if let Some((name, LoadError::Damaged(why))) = skipped
            .iter()
            .find(|(_, e)| matches!(e, LoadError::Damaged(_)))
        {
            return Err(LoadError::Damaged(format!("zip entry '{name}': {why}")));
        }
        if skipped.is_empty() {
            return Err(LoadError::ZipWithoutCertificate("none".into()));
        }
        let list: Vec<String> = skipped
            .iter()
            .map(|(n, e)| format!("'{n}': {}", short_reason(e)))
            .collect();
        return Err(LoadError::ZipWithoutCertificate(summarise(&list, 10)));
    }
    let mut all_notes = vec![format!("certificates from: {}", summarise(&used, 10))];
    for n in &encrypted {
        all_notes.push(format!("entry '{n}' is encrypted and was not read"));
    }
    for (n, m) in &unsupported {
        all_notes.push(format!("entry '{n}' uses {m} compression and was not read"));
    }
    let skipped_list: Vec<String> = skipped
        .iter()
        .map(|(n, e)| format!("'{n}' ({})", short_reason(e)))
        .collect();
    if !skipped_list.is_empty() {
        all_notes.push(format!(
            "entries without certificates: {}",
            summarise(&skipped_list, 10)
        ));
    }
    all_notes.extend(notes);
    Ok(Found {
        format: Container::Zip,
        certs,
        notes: all_notes,
    })
}

/// A few words on why a zip entry gave no certificate.
fn short_reason(e: &LoadError) -> String {
    match e {
        LoadError::Empty | LoadError::Blank => "empty".into(),
        LoadError::PrivateKeyOnly => "a private key, not shown".into(),
        LoadError::Pkcs12 => "a PKCS#12 keystore".into(),
        LoadError::NotCertificate(s) => s.split(';').next().unwrap_or(s).to_string(),
        LoadError::Garbage(s) if s.starts_with("text") => "text, no certificate".into(),
        LoadError::Garbage(s) if s.starts_with("binary") => "binary, not a certificate".into(),
        LoadError::Garbage(s) => s.clone(),
        LoadError::ZipWithoutCertificate(list) => format!("a zip holding no certificate ({list})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::der::test_support::tlv;

    #[test]
    fn file_problems_keep_their_texts_and_too_large_names_the_option() {
        let err = |problem| FileError {
            path: "x.pem".into(),
            limit: Limits::default().file(),
            problem,
        };
        let limit = Limits::default().max_file_bytes;
        let cases = [
            (FileProblem::Missing, "the file does not exist"),
            (
                FileProblem::Directory,
                "it is a directory, not a certificate file",
            ),
            (
                FileProblem::PermissionDenied,
                "permission denied: this user may not read the file",
            ),
            (
                FileProblem::NotRegular("FIFO (named pipe)"),
                "it is a FIFO (named pipe), not a regular file; refused (reading it could block or never end)",
            ),
            (
                FileProblem::Io("disk on fire".to_string()),
                "cannot read the file: disk on fire",
            ),
        ];
        for (problem, text) in cases {
            assert_eq!(file_error(err(problem)).to_string(), text);
        }
        let e = file_error(err(FileProblem::TooLarge { size: Some(20) }));
        assert_eq!(
            e,
            LoadError::TooLarge {
                size: Some(20),
                limit
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "the file is 20 bytes, over the {limit}-byte limit for certificate files; not read (raise the limit with --max-cert-size)"
            )
        );
        let e = file_error(err(FileProblem::TooLarge { size: None }));
        assert_eq!(
            e.to_string(),
            format!(
                "the file is over the {limit}-byte limit for certificate files; not read (raise the limit with --max-cert-size)"
            )
        );
        assert_eq!(Limits::MAX_FILE_BYTES_OPTION, "--max-cert-size");
    }

    #[test]
    fn key_shapes_are_recognised() {
        let int = |n: u8| tlv(0x02, &[n]);
        let seq = |parts: &[Vec<u8>]| tlv(0x30, &parts.concat());
        let alg = seq(&[tlv(
            0x06,
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
        )]);
        let pkcs8 = seq(&[int(0), alg.clone(), tlv(0x04, &[1, 2, 3])]);
        let sec1 = seq(&[int(1), tlv(0x04, &[1; 32])]);
        let pkcs1 = seq(&[int(0), int(1), int(2), int(3), int(4), int(5), int(6)]);
        let enc = seq(&[alg.clone(), tlv(0x04, &[9; 16])]);
        for k in [pkcs8, sec1, pkcs1, enc] {
            let (t, _) = der::parse(&k).unwrap();
            assert_eq!(classify(&t), DerKind::PrivateKey);
            assert_eq!(
                load_bytes(&k, &Limits::default()).unwrap_err(),
                LoadError::PrivateKeyOnly
            );
        }
        let spki = seq(&[alg, tlv(0x03, &[0, 1, 2])]);
        let (t, _) = der::parse(&spki).unwrap();
        assert_eq!(classify(&t), DerKind::PublicKey);
    }

    #[test]
    fn empty_and_blank_differ() {
        let l = Limits::default();
        assert_eq!(load_bytes(b"", &l).unwrap_err(), LoadError::Empty);
        assert_eq!(load_bytes(b" \r\n\t", &l).unwrap_err(), LoadError::Blank);
        assert_eq!(
            load_bytes(b"\xff\xfe \x00\n\x00", &l).unwrap_err(),
            LoadError::Blank
        );
    }

    #[test]
    fn text_and_binary_garbage_are_told_apart() {
        let l = Limits::default();
        let text = load_bytes(b"hello, this is not a certificate\n", &l).unwrap_err();
        assert!(
            text.to_string().contains("text without any PEM block"),
            "{text}"
        );
        let bin = load_bytes(&[0x01, 0x02, 0xff, 0x00, 0x13], &l).unwrap_err();
        assert!(bin.to_string().contains("binary data"), "{bin}");
        let text0 =
            load_bytes(b"0000000000000000000000000000000000000000000000000000", &l).unwrap_err();
        assert!(matches!(text0, LoadError::Garbage(_)), "{text0}");
    }
}
