//! Bytes → a bundle of certificates. PRELIMINARY: PEM and DER only; PKCS#7, ZIP, caps and
//! the precise unreadable kinds are being written (see the cert-loader work).

use super::facts::CertFacts;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// Caps on what is read, so a multi-gigabyte file or a zip bomb cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read at all.
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

/// The container format the certificates were found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Pem,
    Der,
    Pkcs7Pem,
    Pkcs7Der,
    Zip,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pem => "PEM",
            Format::Der => "DER",
            Format::Pkcs7Pem => "PKCS#7 (PEM)",
            Format::Pkcs7Der => "PKCS#7 (DER)",
            Format::Zip => "ZIP",
        }
    }
}

/// The certificates of one file, in file order.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub format: Format,
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
/// quotes the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("the file does not exist")]
    Missing,
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("the file is empty")]
    Empty,
    #[error(
        "the file is {size} bytes, over the {limit}-byte limit for certificate files; not read"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("the file holds a private key and no certificate (the key is not shown)")]
    PrivateKeyOnly,
    #[error("the zip archive is encrypted; extract it first")]
    EncryptedZip,
    #[error("the zip archive is damaged: {0}")]
    DamagedZip(String),
    #[error("the zip archive holds no certificate (entries: {0})")]
    ZipWithoutCertificate(String),
    #[error("the zip archive is over the limits: {0}")]
    ZipTooLarge(String),
    #[error("damaged certificate: {0}")]
    Damaged(String),
    #[error("not a certificate: {0}")]
    Garbage(String),
}

pub fn load_file(path: &Path, limits: &Limits) -> Result<Bundle, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::Missing,
        _ => LoadError::Io(e.to_string()),
    })?;
    if meta.is_dir() {
        return Err(LoadError::Io("it is a directory".into()));
    }
    if meta.len() > limits.max_file_bytes {
        return Err(LoadError::TooLarge {
            size: meta.len(),
            limit: limits.max_file_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| LoadError::Io(e.to_string()))?;
    load_bytes(&bytes, limits)
}

pub fn load_bytes(bytes: &[u8], limits: &Limits) -> Result<Bundle, LoadError> {
    let _ = limits;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::Empty);
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if text.windows(11).any(|w| w == b"-----BEGIN ") {
        let s = String::from_utf8_lossy(text);
        let mut certs = Vec::new();
        let mut key = false;
        let mut rest = s.as_ref();
        while let Some(start) = rest.find("-----BEGIN ") {
            let after = &rest[start + 11..];
            let Some(label_end) = after.find("-----") else {
                break;
            };
            let label = &after[..label_end];
            let end_marker = format!("-----END {label}-----");
            let body_start = label_end + 5;
            let Some(end) = after[body_start..].find(&end_marker) else {
                return Err(LoadError::Damaged(format!(
                    "PEM block '{label}' has no END line"
                )));
            };
            let body = &after[body_start..body_start + end];
            if label.contains("PRIVATE KEY") {
                key = true;
            } else if label == "CERTIFICATE" {
                let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| LoadError::Damaged(format!("PEM base64: {e}")))?;
                certs.push(Arc::new(
                    CertFacts::from_der(&der).map_err(|e| LoadError::Damaged(e.to_string()))?,
                ));
            }
            rest = &after[body_start + end + end_marker.len()..];
        }
        if certs.is_empty() {
            return Err(if key {
                LoadError::PrivateKeyOnly
            } else {
                LoadError::Garbage("PEM without a CERTIFICATE block".into())
            });
        }
        return Ok(Bundle {
            format: Format::Pem,
            certs,
            notes: Vec::new(),
        });
    }
    match CertFacts::from_der(bytes) {
        Ok(c) => Ok(Bundle {
            format: Format::Der,
            certs: vec![Arc::new(c)],
            notes: Vec::new(),
        }),
        Err(_) => Err(LoadError::Garbage("neither PEM nor DER".into())),
    }
}
