//! The audit credential of a generated tenant: how the auditor's reader authenticates, its
//! administrator's client ID, secret and permissions, and its entry in `credentials.toml` with
//! the secret in `secrets.env` or the certificate and key under `keys/`.

use super::GeneratedFile;
use super::seeded::{secret, uuid};
use crate::pki::Issued;

/// How the audit credential of a tenant authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    Basic,
    OAuth,
    Mtls,
}

impl AuthMode {
    /// The `auth` value in `credentials.toml`.
    fn as_str(self) -> &'static str {
        match self {
            AuthMode::Basic => "basic",
            AuthMode::OAuth => "oauth",
            AuthMode::Mtls => "mtls",
        }
    }
}

/// The auditor's reader on a tenant: an administrator record the audit credential names.
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    pub(crate) auth: AuthMode,
    /// Whether the inventory row names a credential at all.
    pub(crate) has_credential: bool,
    pub(crate) client_id: String,
    /// The secret the tenant knows (`secrets.env` holds another one on `wrong_secret`).
    pub(crate) secret: String,
    pub(crate) permissions: Vec<String>,
}

/// The reader of a tenant with profile `name`. Profiles that test an auth mode fix it; the
/// others get Basic half the time, OAuth 30 % and mTLS 20 %.
pub(crate) fn reader(name: &str, rng: &mut fastrand::Rng) -> Reader {
    let auth = match name {
        "wrong_secret" | "throttled" => AuthMode::Basic,
        "no_read_users" | "job_failed" => AuthMode::OAuth,
        "stale_with_leftover" => AuthMode::Mtls,
        _ => match rng.u8(0..100) {
            0..50 => AuthMode::Basic,
            50..80 => AuthMode::OAuth,
            _ => AuthMode::Mtls,
        },
    };
    let has_credential = match name {
        "server_cert_expired" | "server_chain_untrusted" | "unreachable" | "nothing_to_check" => {
            false
        }
        "healthy" => rng.u8(0..100) < 85,
        _ => true,
    };
    let client_id = uuid(rng);
    let secret = secret(rng);
    let mut permissions = vec![
        "Read Users".to_string(),
        "Access Identity Provisioning Tenant Admin API".to_string(),
    ];
    if name == "no_read_users" {
        permissions.retain(|p| p != "Read Users");
    }
    Reader {
        auth,
        has_credential,
        client_id,
        secret,
        permissions,
    }
}

/// The `secrets.env` variable of a tenant's secret: `ACME_IAS_SECRET`.
pub(crate) fn env_name(tenant: &str) -> String {
    let mut s: String = tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    s.push_str("_IAS_SECRET");
    s
}

/// What a credential adds to the export besides its `credentials.toml` entry.
#[derive(Debug, Default)]
pub(crate) struct CredentialFiles {
    /// The certificate and key of an mTLS credential.
    pub(crate) files: Vec<GeneratedFile>,
    /// The `secrets.env` entry of a secret credential.
    pub(crate) secret: Option<(String, String)>,
}

/// The `credentials.toml` entry of the reader of tenant `tenant_id` (file names from `slug`),
/// and the files or secret it refers to. On `wrong_secret` the secret is one the tenant does
/// not know.
pub(crate) fn entry(
    name: &str,
    slug: &str,
    tenant_id: &str,
    reader: &Reader,
    reader_cert: Option<&Issued>,
    rng: &mut fastrand::Rng,
) -> (toml::Table, CredentialFiles) {
    let mut out = CredentialFiles::default();
    let mut t = toml::Table::new();
    t.insert("auth".into(), reader.auth.as_str().into());
    t.insert("client_id".into(), reader.client_id.clone().into());
    if reader.auth == AuthMode::Mtls {
        if let Some(c) = reader_cert {
            let (cp, kp) = (
                format!("keys/{slug}-reader.pem"),
                format!("keys/{slug}-reader.key"),
            );
            out.files.push(GeneratedFile {
                path: cp.clone(),
                contents: c.cert_pem.clone().into_bytes(),
                private: false,
            });
            out.files.push(GeneratedFile {
                path: kp.clone(),
                contents: c.key_pem.clone().into_bytes(),
                private: true,
            });
            t.insert("cert".into(), cp.into());
            t.insert("key".into(), kp.into());
        }
    } else {
        let env = env_name(tenant_id);
        t.insert("client_secret_env".into(), env.clone().into());
        let value = if name == "wrong_secret" {
            secret(rng)
        } else {
            reader.secret.clone()
        };
        out.secret = Some((env, value));
    }
    (t, out)
}
