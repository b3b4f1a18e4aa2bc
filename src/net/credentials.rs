//! The credentials file (docs/spec.md §2): one `[credential.NAME]` table per API credential that the
//! inventory's `credential` column names.
//!
//! ```toml
//! [credential.acme-admin]
//! auth = "basic"                            # basic | oauth | mtls
//! client_id = "8f7d2c1e-0b6a-4c1f-9d3e-2a4b5c6d7e8f"
//! client_secret_env = "ACME_IAS_SECRET"     # or: client_secret_file = "secrets/acme"
//!
//! [credential.globex-admin]
//! auth = "mtls"
//! cert = "keys/globex-admin.pem"            # relative to this file
//! key = "keys/globex-admin.key"
//! ```
//!
//! Secrets are never inline. Each credential is loaded on its own: a problem with one becomes a
//! [`CredentialError`] for the tenants that use it, and the others stay usable.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::identity::{ClientIdentity, file_mode_warning};
use crate::inputs::InputLimits;
use mtls_audit_input::{FileError, read_file};

/// A secret value (client secret, access token). Debug and Display print `<redacted>`; the
/// value is only reachable through [`Secret::expose`], at the point where it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a credential authenticates (the `auth` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    Basic,
    OAuth,
    Mtls,
}

impl AuthMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthMode::Basic => "basic",
            AuthMode::OAuth => "oauth",
            AuthMode::Mtls => "mtls",
        }
    }
}

/// What a usable credential holds.
#[derive(Debug)]
pub enum CredentialKind {
    /// `Authorization: Basic base64(client_id:secret)` on every request.
    Basic {
        /// `client_id` from the credentials file (an IAS system administrator's ID).
        client_id: String,
        /// From `client_secret_env` or `client_secret_file`.
        secret: Secret,
    },
    /// Client credentials at `<ias>/oauth2/token` (Basic client auth), then a Bearer token.
    OAuth {
        /// `client_id` of the credential, sent as the Basic user of the token request.
        client_id: String,
        /// From `client_secret_env` or `client_secret_file`.
        secret: Secret,
    },
    /// A client certificate presented in the TLS handshake; no Authorization header.
    Mtls {
        /// The `cert` and `key` files of the credential.
        identity: Arc<ClientIdentity>,
    },
}

/// A credential ready to use.
#[derive(Debug)]
pub struct Credential {
    name: String,
    kind: CredentialKind,
}

impl Credential {
    /// Builds a credential in code (the simulator, tests).
    pub fn new(name: &str, kind: CredentialKind) -> Credential {
        Credential {
            name: name.to_string(),
            kind,
        }
    }

    /// Its name in the credentials file.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// What it holds.
    pub(crate) fn kind(&self) -> &CredentialKind {
        &self.kind
    }

    /// Its auth mode.
    pub(crate) fn mode(&self) -> AuthMode {
        match self.kind {
            CredentialKind::Basic { .. } => AuthMode::Basic,
            CredentialKind::OAuth { .. } => AuthMode::OAuth,
            CredentialKind::Mtls { .. } => AuthMode::Mtls,
        }
    }
}

/// What is wrong with one credential. The Display never holds a secret value: only names of
/// keys, variables and files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CredentialProblem {
    /// The inventory names a credential the file does not define.
    NotDefined,
    /// `[credential.NAME]` is not a table.
    NotATable,
    /// No `auth` key.
    MissingAuth,
    /// `auth` is not basic, oauth or mtls.
    UnknownAuth(String),
    /// A required key is missing.
    MissingKey(&'static str),
    /// A key has the wrong TOML type.
    NotAString(String),
    /// A key this credential does not take (the mode is named, to say why).
    UnexpectedKey { key: String, mode: AuthMode },
    /// A key no credential takes.
    UnknownKey(String),
    /// `client_secret = "…"` inline.
    InlineSecret,
    /// Both `client_secret_env` and `client_secret_file`.
    BothSecretSources,
    /// Neither `client_secret_env` nor `client_secret_file`.
    NoSecretSource,
    /// `client_secret_env` names a variable that is not set (or not UTF-8).
    MissingEnv(String),
    /// The secret is empty.
    EmptySecret { source: String },
    /// A file (secret, cert or key) cannot be read.
    UnreadableFile { path: String, reason: String },
    /// The certificate or key of an mTLS credential is not usable.
    Identity(String),
}

impl fmt::Display for CredentialProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialProblem::NotDefined => f.write_str("not defined in the credentials file"),
            CredentialProblem::NotATable => f.write_str("must be a table of keys"),
            CredentialProblem::MissingAuth => {
                f.write_str("missing `auth` (one of basic, oauth, mtls)")
            }
            CredentialProblem::UnknownAuth(a) => {
                write!(f, "unknown auth {a:?} (expected basic, oauth or mtls)")
            }
            CredentialProblem::MissingKey(k) => write!(f, "missing `{k}`"),
            CredentialProblem::NotAString(k) => write!(f, "`{k}` must be a string"),
            CredentialProblem::UnexpectedKey { key, mode } => {
                write!(f, "`{key}` is not used with auth = \"{}\"", mode.as_str())
            }
            CredentialProblem::UnknownKey(k) => write!(f, "unknown key `{k}`"),
            CredentialProblem::InlineSecret => f.write_str(
                "inline `client_secret` is refused: put the secret in an environment variable \
                 (`client_secret_env`) or a file (`client_secret_file`)",
            ),
            CredentialProblem::BothSecretSources => {
                f.write_str("give either `client_secret_env` or `client_secret_file`, not both")
            }
            CredentialProblem::NoSecretSource => {
                f.write_str("missing the secret: give `client_secret_env` or `client_secret_file`")
            }
            CredentialProblem::MissingEnv(v) => {
                write!(f, "environment variable {v} is not set")
            }
            CredentialProblem::EmptySecret { source } => {
                write!(f, "the secret in {source} is empty")
            }
            CredentialProblem::UnreadableFile { path, reason } => {
                write!(f, "cannot read {path}: {reason}")
            }
            CredentialProblem::Identity(s) => f.write_str(s),
        }
    }
}

/// One credential that cannot be used, naming the file, the credential and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: credential '{name}': {problem}")]
pub(crate) struct CredentialError {
    pub file: String,
    pub name: String,
    pub problem: CredentialProblem,
}

/// The credentials file itself cannot be used (unreadable, not TOML).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsFileError {
    /// The credentials file cannot be read (the message names it, the limit and why).
    #[error(transparent)]
    Read(#[from] FileError),
    /// The credentials file is not UTF-8 text.
    #[error("credentials file {file} is not UTF-8 text")]
    NotUtf8 {
        /// The file as given.
        file: String,
    },
    /// Only the parser's message and the line: its usual excerpt of the file could quote a
    /// secret someone pasted inline.
    #[error("credentials file {file} is not valid TOML (line {line}): {message}")]
    Toml {
        file: String,
        line: usize,
        message: String,
    },
    #[error("credentials file {file}: `credential` must be a table of [credential.NAME] tables")]
    Shape { file: String },
}

/// Every credential of a file, each loaded on its own.
#[derive(Debug)]
pub struct Credentials {
    file: PathBuf,
    entries: BTreeMap<String, Result<Arc<Credential>, CredentialError>>,
    warnings: Vec<String>,
}

const SECRET_KEYS: [&str; 2] = ["client_secret_env", "client_secret_file"];
const KNOWN_KEYS: [&str; 7] = [
    "auth",
    "client_id",
    "client_secret_env",
    "client_secret_file",
    "cert",
    "key",
    "client_secret",
];

impl Credentials {
    /// Loads `path`, taking `client_secret_env` values from the process environment.
    pub fn load(path: &Path, limits: &InputLimits) -> Result<Credentials, CredentialsFileError> {
        Credentials::load_with_env(path, limits, |name| {
            std::env::var_os(name)?.into_string().ok()
        })
    }

    /// Loads `path` with `env` as the environment (tests, and callers that stage variables).
    pub fn load_with_env(
        path: &Path,
        limits: &InputLimits,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsFileError> {
        let bytes = read_file(path, &limits.config("credentials file"))?;
        let text = String::from_utf8(bytes).map_err(|_| CredentialsFileError::NotUtf8 {
            file: path.display().to_string(),
        })?;
        Credentials::parse(&text, path, limits, env)
    }

    /// Parses the text of a credentials file found at `path` (relative paths inside it are
    /// taken from `path`'s folder) with `env` as the environment. Public for the fuzz target
    /// `credentials`; callers read the file with [`Credentials::load`].
    pub fn parse(
        text: &str,
        path: &Path,
        limits: &InputLimits,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsFileError> {
        let file = path.display().to_string();
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
                .unwrap_or(0);
            CredentialsFileError::Toml {
                file: file.clone(),
                line,
                message: e.message().trim_end().to_string(),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut warnings = Vec::new();
        for key in table.keys().filter(|k| *k != "credential") {
            warnings.push(format!("{file}: unknown top-level key `{key}` ignored"));
        }
        let mut entries = BTreeMap::new();
        match table.get("credential") {
            None => warnings.push(format!("{file}: no [credential.NAME] entries")),
            Some(toml::Value::Table(creds)) => {
                for (name, value) in creds {
                    let loaded = load_one(name, value, &base, limits, &env, &mut warnings).map_err(
                        |problem| CredentialError {
                            file: file.clone(),
                            name: name.clone(),
                            problem,
                        },
                    );
                    entries.insert(name.clone(), loaded.map(Arc::new));
                }
            }
            Some(_) => return Err(CredentialsFileError::Shape { file }),
        }
        // Warnings about one credential are prefixed like its errors.
        let warnings = warnings
            .into_iter()
            .map(|w| {
                if w.starts_with(&file) {
                    w
                } else {
                    format!("{file}: {w}")
                }
            })
            .collect();
        Ok(Credentials {
            file: path.to_path_buf(),
            entries,
            warnings,
        })
    }

    /// The credential named `name`, or why it cannot be used (including "not defined").
    pub(crate) fn get(&self, name: &str) -> Result<Arc<Credential>, CredentialError> {
        match self.entries.get(name) {
            Some(r) => r.clone(),
            None => Err(CredentialError {
                file: self.file.display().to_string(),
                name: name.to_string(),
                problem: CredentialProblem::NotDefined,
            }),
        }
    }

    /// Every entry, by name, with its result.
    #[cfg(test)]
    fn entries(&self) -> impl Iterator<Item = (&str, &Result<Arc<Credential>, CredentialError>)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Warnings that do not make a credential unusable (a key file others can read, unknown
    /// top-level keys). Never hold a secret.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

fn string_key<'a>(
    t: &'a toml::Table,
    key: &'static str,
) -> Result<Option<&'a str>, CredentialProblem> {
    match t.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(CredentialProblem::NotAString(key.to_string())),
    }
}

fn load_one(
    name: &str,
    value: &toml::Value,
    base: &Path,
    limits: &InputLimits,
    env: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Credential, CredentialProblem> {
    let t = value.as_table().ok_or(CredentialProblem::NotATable)?;
    if t.contains_key("client_secret") {
        return Err(CredentialProblem::InlineSecret);
    }
    if let Some(k) = t.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(CredentialProblem::UnknownKey(k.clone()));
    }
    let mode = match string_key(t, "auth")? {
        None => return Err(CredentialProblem::MissingAuth),
        Some(a) => match a.trim().to_ascii_lowercase().as_str() {
            "basic" => AuthMode::Basic,
            "oauth" => AuthMode::OAuth,
            "mtls" => AuthMode::Mtls,
            _ => return Err(CredentialProblem::UnknownAuth(a.to_string())),
        },
    };
    let unexpected = |keys: &[&str]| {
        keys.iter()
            .find(|k| t.contains_key(**k))
            .map(|k| CredentialProblem::UnexpectedKey {
                key: k.to_string(),
                mode,
            })
    };
    match mode {
        AuthMode::Basic | AuthMode::OAuth => {
            if let Some(p) = unexpected(&["cert", "key"]) {
                return Err(p);
            }
            let client_id = string_key(t, "client_id")?
                .filter(|s| !s.trim().is_empty())
                .ok_or(CredentialProblem::MissingKey("client_id"))?
                .trim()
                .to_string();
            let secret = read_secret(t, name, base, limits, env, warnings)?;
            Ok(Credential::new(
                name,
                if mode == AuthMode::Basic {
                    CredentialKind::Basic { client_id, secret }
                } else {
                    CredentialKind::OAuth { client_id, secret }
                },
            ))
        }
        AuthMode::Mtls => {
            if let Some(p) = unexpected(&SECRET_KEYS) {
                return Err(p);
            }
            let cert = string_key(t, "cert")?.ok_or(CredentialProblem::MissingKey("cert"))?;
            let key = string_key(t, "key")?.ok_or(CredentialProblem::MissingKey("key"))?;
            let identity =
                ClientIdentity::from_files(name, &base.join(cert), &base.join(key), limits)
                    .map_err(|e| CredentialProblem::Identity(e.to_string()))?;
            warnings.extend(
                identity
                    .warnings()
                    .iter()
                    .map(|w| format!("credential '{name}': {w}")),
            );
            Ok(Credential::new(
                name,
                CredentialKind::Mtls {
                    identity: Arc::new(identity),
                },
            ))
        }
    }
}

fn read_secret(
    t: &toml::Table,
    name: &str,
    base: &Path,
    limits: &InputLimits,
    env: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Secret, CredentialProblem> {
    let from_env = string_key(t, "client_secret_env")?;
    let from_file = string_key(t, "client_secret_file")?;
    let (value, source) = match (from_env, from_file) {
        (Some(_), Some(_)) => return Err(CredentialProblem::BothSecretSources),
        (None, None) => return Err(CredentialProblem::NoSecretSource),
        (Some(var), None) => {
            let var = var.trim();
            let v = env(var).ok_or_else(|| CredentialProblem::MissingEnv(var.to_string()))?;
            (v, format!("environment variable {var}"))
        }
        (None, Some(file)) => {
            let path = base.join(file);
            let unreadable = |reason: String| CredentialProblem::UnreadableFile {
                path: path.display().to_string(),
                reason,
            };
            let bytes = read_file(&path, &limits.config("secret file"))
                .map_err(|e| unreadable(e.problem_text()))?;
            let v = String::from_utf8(bytes)
                .map_err(|_| unreadable("the file is not UTF-8 text".to_string()))?;
            if let Some(w) = file_mode_warning(&path, "secret file") {
                warnings.push(format!("credential '{name}': {w}"));
            }
            // A trailing newline from an editor or `echo` is not part of the secret.
            let v = v.trim_end_matches(['\r', '\n']).to_string();
            (v, format!("file {}", path.display()))
        }
    };
    if value.is_empty() {
        return Err(CredentialProblem::EmptySecret { source });
    }
    Ok(Secret(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn parse(text: &str, e: impl Fn(&str) -> Option<String>) -> Credentials {
        Credentials::parse(
            text,
            Path::new("/etc/audit/creds.toml"),
            &InputLimits::default(),
            e,
        )
        .unwrap()
    }

    fn problem(c: &Credentials, name: &str) -> CredentialProblem {
        c.get(name).unwrap_err().problem
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn basic_and_oauth_from_env() {
        let c = parse(
            r#"
            [credential.acme]
            client_id = " 8f7d "
            client_secret_env = "ACME"
            auth = "basic"
            [credential.globex]
            auth = "OAuth"
            client_id = "g"
            client_secret_env = "GLOBEX"
            "#,
            env(&[("ACME", "s3cret-acme"), ("GLOBEX", "s3cret-globex")]),
        );
        let acme = c.get("acme").unwrap();
        match acme.kind() {
            CredentialKind::Basic { client_id, secret } => {
                assert_eq!(client_id, "8f7d");
                assert_eq!(secret.expose(), "s3cret-acme");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.get("globex").unwrap().mode(), AuthMode::OAuth);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
    }

    #[test]
    fn one_bad_credential_leaves_the_others_usable() {
        let c = parse(
            r#"
            [credential.good]
            auth = "basic"
            client_id = "a"
            client_secret_env = "GOOD"
            [credential.unset]
            auth = "basic"
            client_id = "b"
            client_secret_env = "NOT_SET"
            [credential.weird]
            auth = "kerberos"
            [credential.both]
            auth = "oauth"
            client_id = "c"
            client_secret_env = "GOOD"
            client_secret_file = "x"
            [credential.neither]
            auth = "basic"
            client_id = "d"
            [credential.inline]
            auth = "basic"
            client_id = "e"
            client_secret = "pasted-secret-value"
            [credential.noauth]
            client_id = "f"
            client_secret_env = "GOOD"
            [credential.typo]
            auth = "basic"
            client_id = "g"
            client_secret_evn = "GOOD"
            [credential.mixed]
            auth = "basic"
            client_id = "h"
            client_secret_env = "GOOD"
            cert = "c.pem"
            "#,
            env(&[("GOOD", "value-good")]),
        );
        assert!(c.get("good").is_ok());
        assert_eq!(
            problem(&c, "unset"),
            CredentialProblem::MissingEnv("NOT_SET".into())
        );
        assert_eq!(
            problem(&c, "weird"),
            CredentialProblem::UnknownAuth("kerberos".into())
        );
        assert_eq!(problem(&c, "both"), CredentialProblem::BothSecretSources);
        assert_eq!(problem(&c, "neither"), CredentialProblem::NoSecretSource);
        assert_eq!(problem(&c, "inline"), CredentialProblem::InlineSecret);
        assert_eq!(problem(&c, "noauth"), CredentialProblem::MissingAuth);
        assert_eq!(
            problem(&c, "typo"),
            CredentialProblem::UnknownKey("client_secret_evn".into())
        );
        assert!(matches!(
            problem(&c, "mixed"),
            CredentialProblem::UnexpectedKey { .. }
        ));
        assert_eq!(problem(&c, "absent"), CredentialProblem::NotDefined);

        let e = c.get("inline").unwrap_err().to_string();
        assert!(
            e.starts_with("/etc/audit/creds.toml: credential 'inline': "),
            "{e}"
        );
        assert!(
            e.contains("client_secret_env") && e.contains("client_secret_file"),
            "{e}"
        );
        let all = format!(
            "{c:?} {}",
            c.entries()
                .map(|(_, r)| format!("{r:?}"))
                .collect::<String>()
        );
        assert!(!all.contains("pasted-secret-value"), "{all}");
        assert!(!all.contains("value-good"), "{all}");
        let e = c.get("unset").unwrap_err().to_string();
        assert!(e.contains("NOT_SET") && e.contains("'unset'"), "{e}");
    }

    #[test]
    fn secret_from_a_file_relative_to_the_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        let secret = dir.path().join("secrets/acme");
        std::fs::write(&secret, "from-file\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let path = dir.path().join("creds.toml");
        std::fs::write(
            &path,
            "[credential.acme]\nauth='basic'\nclient_id='x'\nclient_secret_file='secrets/acme'\n\
             [credential.gone]\nauth='basic'\nclient_id='x'\nclient_secret_file='secrets/gone'\n\
             [credential.empty]\nauth='basic'\nclient_id='x'\nclient_secret_env='EMPTY'\n",
        )
        .unwrap();
        let c = Credentials::load_with_env(&path, &InputLimits::default(), env(&[("EMPTY", "")]))
            .unwrap();
        match c.get("acme").unwrap().kind() {
            CredentialKind::Basic { secret, .. } => assert_eq!(secret.expose(), "from-file"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            problem(&c, "gone"),
            CredentialProblem::UnreadableFile { .. }
        ));
        assert!(matches!(
            problem(&c, "empty"),
            CredentialProblem::EmptySecret { .. }
        ));
        #[cfg(unix)]
        {
            assert_eq!(c.warnings().len(), 1, "{:?}", c.warnings());
            assert!(c.warnings()[0].contains("'acme'"));
            assert!(!c.warnings()[0].contains("from-file"));
        }
    }

    #[test]
    fn mtls_paths_are_relative_to_the_file() {
        use chrono::{Duration, Utc};
        use mtls_audit_sim::pki::{Ca, LeafSpec};
        let now = Utc::now();
        let ca = Ca::new("C", now - Duration::days(1), now + Duration::days(9)).unwrap();
        let leaf = ca
            .issue(&LeafSpec::client(
                "admin",
                now - Duration::days(1),
                now + Duration::days(9),
            ))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/a.pem"), &leaf.cert_pem).unwrap();
        std::fs::write(dir.path().join("keys/a.key"), &leaf.key_pem).unwrap();
        let path = dir.path().join("creds.toml");
        std::fs::write(
            &path,
            "[credential.m]\nauth='mtls'\ncert='keys/a.pem'\nkey='keys/a.key'\n\
             [credential.nokey]\nauth='mtls'\ncert='keys/a.pem'\n\
             [credential.badkey]\nauth='mtls'\ncert='keys/a.pem'\nkey='keys/a.pem'\n\
             [credential.withsecret]\nauth='mtls'\ncert='keys/a.pem'\nkey='keys/a.key'\nclient_secret_env='X'\n",
        )
        .unwrap();
        let c = Credentials::load_with_env(&path, &InputLimits::default(), env(&[])).unwrap();
        match c.get("m").unwrap().kind() {
            CredentialKind::Mtls { identity } => assert_eq!(identity.label(), "m"),
            other => panic!("{other:?}"),
        }
        assert_eq!(problem(&c, "nokey"), CredentialProblem::MissingKey("key"));
        assert!(matches!(
            problem(&c, "badkey"),
            CredentialProblem::Identity(_)
        ));
        assert!(matches!(
            problem(&c, "withsecret"),
            CredentialProblem::UnexpectedKey { .. }
        ));
    }

    #[test]
    fn toml_errors_give_the_line_but_never_the_text() {
        let text = "[credential.a]\nauth = \"basic\"\nclient_secret = \"leaked-value\n";
        let e = Credentials::parse(text, Path::new("c.toml"), &InputLimits::default(), env(&[]))
            .unwrap_err();
        let s = format!("{e} {e:?}");
        assert!(!s.contains("leaked-value"), "{s}");
        assert!(
            matches!(e, CredentialsFileError::Toml { line: 3, .. }),
            "{s}"
        );
        let e = Credentials::parse(
            "credential = 1",
            Path::new("c.toml"),
            &InputLimits::default(),
            env(&[]),
        )
        .unwrap_err();
        assert!(matches!(e, CredentialsFileError::Shape { .. }));
    }
}
