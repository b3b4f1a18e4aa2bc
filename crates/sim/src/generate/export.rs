//! Writing a generated fleet: the inventory CSV, `secrets.env`, `expected.json`, the audit
//! command, and the whole export folder.

use super::{GenerateError, Generated};
use crate::files::{create_private_dir, holds_private_key, write_file};
use std::net::SocketAddr;
use std::path::Path;

/// `s` as one shell word: unchanged when it is safe, else single-quoted.
fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-:=".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl Generated {
    /// `inventory.csv`: a header and one row per tenant, in the order of the inventory columns.
    pub fn inventory_csv(&self) -> Result<String, GenerateError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in &self.inventory {
            w.serialize(row).map_err(GenerateError::Csv)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| GenerateError::Csv(csv::Error::from(e.into_error())))?;
        // Every field is a String, so the bytes are UTF-8; nothing is lost.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `secrets.env`: one `NAME=value` line per secret the credentials name.
    pub fn secrets_env(&self) -> String {
        let mut s = String::from(
            "# Secrets of the simulated fleet's audit credentials. Load with: set -a; . ./secrets.env; set +a\n",
        );
        for (k, v) in &self.secrets {
            s.push_str(&format!("{k}={v}\n"));
        }
        s
    }

    /// The audit command (as `mtls-audit sim --export` prints it) for an export in `dir` and a
    /// simulator at `addr`: the current LMS identity, the next one with the cutover date (for
    /// readiness), the reference certificate and the deadline.
    pub fn audit_command(&self, dir: &Path, addr: SocketAddr) -> String {
        let d = |f: &str| shell_quote(&dir.join(f).display().to_string());
        format!(
            "set -a; . {}; set +a; mtls-audit audit {} --credentials {} --lms-cert {} --lms-key {} --next-lms-cert {} --next-lms-key {} --reference-cert {} --ca-cert {} --connect-to {addr} --deadline {} --cutover {}",
            d("secrets.env"),
            d("inventory.csv"),
            d("credentials.toml"),
            d("lms.pem"),
            d("lms.key"),
            d("next-lms.pem"),
            d("next-lms.key"),
            d("reference.pem"),
            d("ca.pem"),
            self.deadline.format("%Y-%m-%d"),
            self.cutover.format("%Y-%m-%d"),
        )
    }

    /// What each tenant was built to produce, as written to `expected.json`.
    pub fn expected_json(&self) -> serde_json::Value {
        serde_json::json!({
            "seed": self.seed,
            "today": self.today,
            "deadline": self.deadline.format("%Y-%m-%d").to_string(),
            "cutover": self.cutover.format("%Y-%m-%d").to_string(),
            "tenants": self.tenants,
        })
    }

    /// Writes the export (`--export DIR`, see `docs/simulator.md`): `scenario.toml`,
    /// `inventory.csv`, `credentials.toml`, `secrets.env`, `lms.pem`, `lms.key`, `next-lms.pem`,
    /// `next-lms.key`, `reference.pem`,
    /// `ca.pem` (the simulator's CA, `ca_pem`), `client-ca.pem`, `expected.json`, `certs/`,
    /// `keys/`, and with the simulator's address `AUDIT_COMMAND.txt`.
    ///
    /// Files that hold a secret or a private key (`scenario.toml` holds the admins' client
    /// secrets, `secrets.env`, `lms.key`, `next-lms.key`, `keys/*.key`, and any evidence file that
    /// is a key) are written for the owner only (0600 on Unix), also over files an earlier export
    /// left; folders the export creates are 0700.
    pub fn write(
        &self,
        dir: &Path,
        ca_pem: &str,
        addr: Option<SocketAddr>,
    ) -> Result<(), GenerateError> {
        let put = |rel: &str, contents: &[u8], private: bool| -> Result<(), GenerateError> {
            let path = dir.join(rel);
            let err = |source| GenerateError::Write {
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                create_private_dir(parent).map_err(err)?;
            }
            write_file(&path, contents, private || holds_private_key(contents)).map_err(err)
        };
        // The scenario holds every admin's client secrets.
        put("scenario.toml", self.scenario.to_toml()?.as_bytes(), true)?;
        put("inventory.csv", self.inventory_csv()?.as_bytes(), false)?;
        put("credentials.toml", self.credentials_toml.as_bytes(), false)?;
        put("secrets.env", self.secrets_env().as_bytes(), true)?;
        put("lms.pem", self.lms.cert_pem.as_bytes(), false)?;
        put("lms.key", self.lms.key_pem.as_bytes(), true)?;
        put("next-lms.pem", self.next_lms.cert_pem.as_bytes(), false)?;
        put("next-lms.key", self.next_lms.key_pem.as_bytes(), true)?;
        put("reference.pem", self.reference_pem.as_bytes(), false)?;
        put("ca.pem", ca_pem.as_bytes(), false)?;
        put("client-ca.pem", self.client_ca_pem.as_bytes(), false)?;
        let expected = serde_json::to_string_pretty(&self.expected_json()).unwrap_or_default();
        put("expected.json", expected.as_bytes(), false)?;
        for f in &self.files {
            put(&f.path, &f.contents, f.private)?;
        }
        if let Some(addr) = addr {
            put(
                "AUDIT_COMMAND.txt",
                format!("{}\n", self.audit_command(dir, addr)).as_bytes(),
                false,
            )?;
        }
        Ok(())
    }
}
