//! Client identities: a certificate chain with its private key, for the LMS mTLS probes and
//! for `auth = "mtls"` credentials. The key never leaves this type except into rustls; its
//! Debug output names the identity and the certificate's fingerprint, never the key.

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::path::Path;

use super::provider::ring_provider;
use crate::inputs::InputLimits;
use mtls_audit_input::{FileError, read_file};

/// A client certificate (leaf first, then any chain) with its private key.
pub struct ClientIdentity {
    label: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    fingerprint: String,
    warnings: Vec<String>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("label", &self.label)
            .field("sha256", &self.fingerprint)
            .field("chain_len", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Why a client identity could not be loaded. Never carries key material: a key that does
/// not parse is reported by its file name only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The certificate or key file cannot be read (the message names the file and why).
    #[error(transparent)]
    Read(#[from] FileError),
    #[error("{file} holds no PEM certificate")]
    NoCertificate { file: String },
    #[error(
        "{file} holds no readable private key (expected unencrypted PEM: PKCS#8, PKCS#1 or SEC1)"
    )]
    NoKey { file: String },
    #[error("the private key in {key_file} does not belong to the certificate in {cert_file}")]
    KeyMismatch { cert_file: String, key_file: String },
    #[error("the private key in {file} cannot be used: {reason}")]
    UnusableKey { file: String, reason: String },
}

impl ClientIdentity {
    /// Builds an identity from PEM text. `label` names it in messages ("LMS", a credential
    /// name); `cert_file`/`key_file` are only used in error messages.
    pub fn from_pem(
        label: &str,
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_file: &str,
        key_file: &str,
    ) -> Result<ClientIdentity, IdentityError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .filter_map(Result::ok)
            .collect();
        if chain.is_empty() {
            return Err(IdentityError::NoCertificate {
                file: cert_file.to_string(),
            });
        }
        // The parser's own error is dropped on purpose: it may quote the file's content.
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| IdentityError::NoKey {
            file: key_file.to_string(),
        })?;
        // rustls checks that the key loads and matches the leaf's public key.
        CertifiedKey::from_der(chain.clone(), key.clone_key(), &ring_provider()).map_err(|e| {
            match e {
                rustls::Error::InconsistentKeys(_) => IdentityError::KeyMismatch {
                    cert_file: cert_file.to_string(),
                    key_file: key_file.to_string(),
                },
                _ => IdentityError::UnusableKey {
                    file: key_file.to_string(),
                    reason: "unsupported key type".to_string(),
                },
            }
        })?;
        let fingerprint = sha256_hex(chain[0].as_ref());
        Ok(ClientIdentity {
            label: label.to_string(),
            chain,
            key,
            fingerprint,
            warnings: Vec::new(),
        })
    }

    /// Reads the certificate and key files (`--lms-cert/--lms-key`, or a credential's `cert`
    /// and `key`). A key file that group or others can access adds a warning.
    pub fn from_files(
        label: &str,
        cert: &Path,
        key: &Path,
        limits: &InputLimits,
    ) -> Result<ClientIdentity, IdentityError> {
        let cert_pem = read_file(cert, &limits.config("certificate file"))?;
        let key_pem = read_file(key, &limits.config("key file"))?;
        let mut id = ClientIdentity::from_pem(
            label,
            &cert_pem,
            &key_pem,
            &cert.display().to_string(),
            &key.display().to_string(),
        )?;
        id.warnings.extend(file_mode_warning(key, "key file"));
        Ok(id)
    }

    /// The name used in messages.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// The certificates, leaf first.
    pub(crate) fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// SHA-256 of the leaf's DER, lowercase hex: also the key of the client cache.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Things worth telling that do not stop the identity from being used.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    pub(crate) fn certified_key(&self) -> Result<CertifiedKey, rustls::Error> {
        CertifiedKey::from_der(self.chain.clone(), self.key.clone_key(), &ring_provider())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A warning when a file holding a secret or key can be accessed by group or others
/// (`mode & 0o077 != 0`). `what` says what the file holds ("key file", "secret file").
pub(crate) fn file_mode_warning(path: &Path, what: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "{what} {} can be accessed by group or others (mode {mode:03o}); restrict it with chmod 600",
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, what);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use mtls_audit_sim::pki::{Ca, LeafSpec};

    fn issued() -> (mtls_audit_sim::pki::Issued, mtls_audit_sim::pki::Issued) {
        let now = Utc::now();
        let ca = Ca::new("Id CA", now - Duration::days(1), now + Duration::days(10)).unwrap();
        let spec = LeafSpec::client("LMS", now - Duration::days(1), now + Duration::days(5));
        (ca.issue(&spec).unwrap(), ca.issue(&spec).unwrap())
    }

    #[test]
    fn loads_and_redacts() {
        let (a, _) = issued();
        let id = ClientIdentity::from_pem(
            "LMS",
            a.cert_pem.as_bytes(),
            a.key_pem.as_bytes(),
            "lms.pem",
            "lms.key",
        )
        .unwrap();
        assert_eq!(id.chain().len(), 1);
        assert_eq!(id.fingerprint().len(), 64);
        let dbg = format!("{id:?}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
        assert!(!dbg.contains("PRIVATE"), "{dbg}");
        let key_body: String = a.key_pem.lines().nth(1).unwrap().to_string();
        assert!(!dbg.contains(&key_body));
    }

    #[test]
    fn refuses_a_key_of_another_certificate() {
        let (a, b) = issued();
        let e = ClientIdentity::from_pem(
            "LMS",
            a.cert_pem.as_bytes(),
            b.key_pem.as_bytes(),
            "a.pem",
            "b.key",
        )
        .unwrap_err();
        assert!(matches!(e, IdentityError::KeyMismatch { .. }), "{e}");
    }

    #[test]
    fn names_missing_parts_without_quoting_them() {
        let (a, _) = issued();
        let e = ClientIdentity::from_pem("x", b"junk", a.key_pem.as_bytes(), "c.pem", "k.key")
            .unwrap_err();
        assert_eq!(
            e,
            IdentityError::NoCertificate {
                file: "c.pem".into()
            }
        );
        let garbled = a.key_pem.replace('A', "*");
        let e = ClientIdentity::from_pem(
            "x",
            a.cert_pem.as_bytes(),
            garbled.as_bytes(),
            "c.pem",
            "k.key",
        )
        .unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(text.contains("k.key"), "{text}");
        assert!(!text.contains("****"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn warns_about_a_readable_key_file() {
        use std::os::unix::fs::PermissionsExt;
        let (a, _) = issued();
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        let key = dir.path().join("k.key");
        std::fs::write(&cert, &a.cert_pem).unwrap();
        std::fs::write(&key, &a.key_pem).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let id = ClientIdentity::from_files("LMS", &cert, &key, &InputLimits::default()).unwrap();
        assert_eq!(id.warnings().len(), 1, "{:?}", id.warnings());
        assert!(id.warnings()[0].contains("640"));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let id = ClientIdentity::from_files("LMS", &cert, &key, &InputLimits::default()).unwrap();
        assert!(id.warnings().is_empty());
    }
}
