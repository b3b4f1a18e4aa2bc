//! The fleet generator: `generate(tenants, seed, today)` builds a realistic fleet with a stated
//! mix of healthy and broken tenants, plus everything `mtls-audit sim --export DIR` writes, so
//! that the printed audit command works verbatim against the simulator and every finding of the
//! auditor can be produced on purpose (the root crate's tests check that each one is among the
//! expected codes).
//!
//! # The mix
//!
//! Each broken tenant follows one *profile* built to produce specific findings (the table is in
//! `profiles.rs`). With 40 or more tenants every profile appears at least once (24 broken
//! tenants at 40 and at 100) and a fifth of the fleet once that is more (200 of 1000); the
//! rest is healthy. Smaller fleets take the first 45 % of the profiles in the order listed.
//! Which tenant gets which profile is shuffled by the seed.
//!
//! Everything is deterministic for a given `(tenants, seed, today)` except key material: the
//! certificates (and so their fingerprints) are new on every call.
//!
//! # Layout
//!
//! This file holds the public types and [`generate`]; `export.rs` writes them out. A tenant is
//! built by `tenant.rs` from one module per aspect, each taking its seeded draws in turn:
//! `identity.rs`, `systems.rs`, `credentials.rs`, `directory.rs` (users, groups,
//! applications), `jobs.rs`, `certs.rs`, `admins.rs`, `faults.rs` and `inventory.rs`.

mod admins;
mod certs;
mod credentials;
mod directory;
mod export;
mod faults;
mod identity;
mod inventory;
mod jobs;
mod profiles;
mod seeded;
mod systems;
mod tenant;

use crate::pki::{Issued, PkiError};
use crate::scenario::{Scenario, ScenarioError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How far after `today` the rollover deadline lies (passed to the audit as `--deadline`).
const DEADLINE_DAYS: i64 = 45;
/// How long before the deadline LMS starts presenting the next certificate (`--cutover`): the
/// cutover lies ahead of `today`, so the audit judges the current identity and probes the next
/// one for readiness.
const CUTOVER_BEFORE_DEADLINE_DAYS: i64 = 14;

/// Why a fleet could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A certificate could not be made.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The generated scenario is invalid (a bug) or cannot be serialized.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A file of the export could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// The inventory could not be written as CSV.
    #[error("the inventory CSV could not be built")]
    Csv(#[source] csv::Error),
}

/// One inventory row, every column as text, in the column order of the auditor's inventory
/// format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InventoryRow {
    /// The LMS tenant ID.
    pub tenant_id: String,
    /// `neo` or `converged`.
    pub ips_type: String,
    /// `production` or `preview`.
    pub environment: String,
    /// `https://<IAS host>`; empty on a row that names nothing.
    pub ias_url: String,
    /// NEO: `https://<IPS proxy .cert. host>`; empty on converged tenants.
    pub ips_url: String,
    /// The ID of the LMS source system in IPS.
    pub ips_source_system_id: String,
    /// The exported certificate of the LMS admin record (`certs/…`), if any.
    pub ias_admin_cert: String,
    /// The exported inbound certificate of the LMS source system (`certs/…`), if any.
    pub ips_inbound_cert: String,
    /// The LMS admin record's permissions as the operator declared them, `;`-separated.
    pub tech_user_permissions: String,
    /// The name of the audit credential in `credentials.toml`, if any.
    pub credential: String,
    /// The ID of the tenant's last IPS job, if the operator noted it.
    pub job_id: String,
    /// Who answers for the tenant: `Name <e-mail>`.
    pub owner: String,
    /// The owner's e-mail address (what `notify` writes to).
    pub owner_email: String,
    /// NEO tenants: whether the customer has Learning-only users (`yes`, `no`, empty: not
    /// known); empty on converged tenants.
    pub learning_only_users: String,
    /// LMS's System Configuration `ipsSourceSystemID`, as the operator copied it.
    pub lms_ips_source_system_id: String,
    /// LMS's `ipsURL`.
    pub lms_ips_url: String,
    /// LMS's `ipsAPIUrl`.
    pub lms_ips_api_url: String,
}

/// What a generated tenant was built to produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedTenant {
    /// The LMS tenant ID.
    pub tenant_id: String,
    /// `healthy` or the name of the profile it was built by.
    pub profile: String,
    /// What is wrong with it, in a sentence.
    pub description: String,
    /// Finding codes the audit must report (sorted, deduplicated); empty for a healthy tenant.
    pub expected: Vec<String>,
    /// The same as `CODE@target`.
    pub expected_findings: Vec<String>,
    /// Codes that may also appear as follow-on effects.
    pub tolerated: Vec<String>,
    /// The cutover readiness the audit must give with the next LMS identity: `ready`,
    /// `not_ready` or `unknown`.
    pub readiness: String,
}

/// A file of the export, relative to the export folder.
#[derive(Clone)]
pub struct GeneratedFile {
    /// The path relative to the export folder, e.g. `certs/acme-ias_admin_cert.pem`.
    pub path: String,
    /// The bytes to write.
    pub contents: Vec<u8>,
    /// Key material or secrets: written with owner-only permissions.
    pub private: bool,
}

impl std::fmt::Debug for GeneratedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("private", &self.private)
            .finish()
    }
}

/// A generated fleet and everything `--export` writes.
#[derive(Clone)]
pub struct Generated {
    /// The fleet, to serve with [`Server::start`](crate::Server::start).
    pub scenario: Scenario,
    /// The seed it was generated from.
    pub seed: u64,
    /// The date it was generated for (whole seconds).
    pub today: DateTime<Utc>,
    /// The rollover deadline the audit command passes (`today` + 45 days, a date).
    pub deadline: DateTime<Utc>,
    /// When LMS starts presenting the next certificate (`--cutover`): two weeks before the
    /// deadline, a date.
    pub cutover: DateTime<Utc>,
    /// The stand-in for "SAP Cloud Platform Client CA" that issued the LMS certificates.
    pub client_ca_pem: String,
    /// The LMS client identity LMS presents today (`lms.pem`, `lms.key`).
    pub lms: Issued,
    /// The identity LMS presents from the cutover (`next-lms.pem`, `next-lms.key`): the new
    /// LMS certificate, the same as the reference.
    pub next_lms: Issued,
    /// The reference certificate (`reference.pem`): the new LMS certificate, which every
    /// tenant must have imported (`next_lms`'s certificate).
    pub reference_pem: String,
    /// Evidence certificates under `certs/`, credential keys under `keys/`.
    pub files: Vec<GeneratedFile>,
    /// The inventory, one row per tenant in the scenario's order.
    pub inventory: Vec<InventoryRow>,
    /// `credentials.toml`, secrets referenced by `client_secret_env`.
    pub credentials_toml: String,
    /// `secrets.env` entries: variable name and value.
    pub secrets: Vec<(String, String)>,
    /// What each tenant was built to produce, in the scenario's order.
    pub tenants: Vec<GeneratedTenant>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("tenants", &self.tenants.len())
            .field("seed", &self.seed)
            .field("today", &self.today)
            .field("files", &self.files)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

/// Builds a fleet of `tenants` from `seed`, dated `today`. See the module documentation for the
/// mix; the same arguments give the same fleet but for key material.
pub fn generate(
    tenants: usize,
    seed: u64,
    today: DateTime<Utc>,
) -> Result<Generated, GenerateError> {
    let today = DateTime::from_timestamp(today.timestamp(), 0).unwrap_or(today);
    let deadline_date = (today + Duration::days(DEADLINE_DAYS)).date_naive();
    let deadline = deadline_date
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(today + Duration::days(DEADLINE_DAYS));
    let cutover = deadline - Duration::days(CUTOVER_BEFORE_DEADLINE_DAYS);
    let mut rng = fastrand::Rng::with_seed(seed);
    let pki = certs::FleetPki::new(today)?;
    let profile_of = profiles::assign(tenants, &mut rng);
    let broken = profiles::broken_count(tenants);

    let mut out = Generated {
        scenario: Scenario {
            description: format!(
                "generated fleet: {tenants} tenants, seed {seed}, {} healthy, {broken} broken",
                tenants - broken
            ),
            tenants: Vec::new(),
            chaos: None,
        },
        seed,
        today,
        deadline,
        cutover,
        client_ca_pem: pki.client_ca.cert.cert_pem.clone(),
        lms: pki.lms.clone(),
        next_lms: pki.next.clone(),
        reference_pem: pki.next.cert_pem.clone(),
        files: Vec::new(),
        inventory: Vec::new(),
        credentials_toml: String::new(),
        secrets: Vec::new(),
        tenants: Vec::new(),
    };
    let mut credentials: BTreeMap<String, toml::Table> = BTreeMap::new();
    for (i, profile) in profile_of.iter().enumerate() {
        tenant::build_tenant(i, *profile, &pki, &mut rng, &mut out, &mut credentials)?;
    }
    out.credentials_toml = credentials_toml(seed, credentials)?;
    out.scenario.validate()?;
    Ok(out)
}

/// `credentials.toml`: one `[credential.<name>]` table per tenant that has one.
fn credentials_toml(
    seed: u64,
    credentials: BTreeMap<String, toml::Table>,
) -> Result<String, ScenarioError> {
    let mut doc = toml::Table::new();
    doc.insert(
        "credential".to_string(),
        toml::Value::Table(
            credentials
                .into_iter()
                .map(|(k, v)| (k, toml::Value::Table(v)))
                .collect(),
        ),
    );
    Ok(format!(
        "# Audit credentials of the simulated fleet (mtls-audit sim, seed {seed}).\n# Secrets come from secrets.env: set -a; . ./secrets.env; set +a\n\n{}",
        toml::to_string(&doc).map_err(ScenarioError::Serialize)?
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::credentials::env_name;
    use super::profiles::{PROFILES, broken_count};
    use super::*;
    use crate::scenario::IpsType;

    fn today() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-07-15T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn forty_tenants_cover_every_profile_and_the_rest_is_healthy() {
        let g = generate(40, 3, today()).unwrap();
        assert_eq!(g.tenants.len(), 40);
        let healthy: Vec<&GeneratedTenant> = g
            .tenants
            .iter()
            .filter(|t| t.profile == "healthy" || t.profile == tenant::NEO_RETIRING)
            .collect();
        assert_eq!(healthy.len(), 40 - PROFILES.len());
        assert!(healthy.iter().all(|t| t.readiness == "ready"));
        assert!(g.cutover > g.today && g.cutover < g.deadline);
        // Built healthy on NEO: only the NEO retirement is expected.
        for t in g
            .tenants
            .iter()
            .filter(|t| t.profile == tenant::NEO_RETIRING)
        {
            assert_eq!(t.expected_findings, ["IPS_NEO_RETIRING@inventory"]);
        }
        assert!(
            g.tenants
                .iter()
                .filter(|t| t.profile == "mtls_rejected_neo")
                .all(|t| t
                    .expected_findings
                    .iter()
                    .any(|f| f == "IPS_NEO_RETIRING@inventory"))
        );
        for p in PROFILES {
            assert!(g.tenants.iter().any(|t| t.profile == p.name), "{}", p.name);
        }
        let mut codes: Vec<&str> = g
            .tenants
            .iter()
            .flat_map(|t| t.expected.iter().map(String::as_str))
            .collect();
        codes.sort();
        codes.dedup();
        // That every finding code of the auditor is among them is checked by the root crate's
        // integration tests (this crate does not know the auditor's codes).
        assert!(codes.len() >= 20, "{codes:?}");
    }

    #[test]
    fn deterministic_except_key_material() {
        let a = generate(12, 99, today()).unwrap();
        let b = generate(12, 99, today()).unwrap();
        assert_eq!(a.inventory, b.inventory);
        assert_eq!(a.tenants, b.tenants);
        assert_eq!(a.secrets, b.secrets);
        let strip = |s: &Scenario| {
            let mut s = s.clone();
            for t in &mut s.tenants {
                for ad in &mut t.admins {
                    ad.certificates.clear();
                }
                for sy in &mut t.systems {
                    sy.inbound_certificates.clear();
                }
            }
            s
        };
        assert_eq!(strip(&a.scenario), strip(&b.scenario));
        assert_ne!(a.lms.cert_pem, b.lms.cert_pem, "key material is fresh");
        let c = generate(12, 100, today()).unwrap();
        assert_ne!(a.inventory, c.inventory);
    }

    #[test]
    fn evidence_matches_the_profiles() {
        let g = generate(40, 11, today()).unwrap();
        let file = |p: &str| g.files.iter().find(|f| f.path == p).unwrap();
        for (t, row) in g.tenants.iter().zip(&g.inventory) {
            let spec = g.scenario.tenant(&t.tenant_id).unwrap();
            match t.profile.as_str() {
                "before_deadline" => {
                    let pem = &file(&row.ias_admin_cert).contents;
                    let der = rustls_pki_types::pem::PemObject::from_pem_slice(pem)
                        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
                        .unwrap();
                    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
                    let not_after = cert.validity().not_after.timestamp();
                    assert_eq!(not_after, (today() + Duration::days(40)).timestamp());
                    assert!(not_after < g.deadline.timestamp());
                    assert_eq!(spec.admins[0].certificates[0].as_bytes(), &pem[..]);
                }
                "wrong_secret" => {
                    let (_, v) = g
                        .secrets
                        .iter()
                        .find(|(k, _)| k == &env_name(&t.tenant_id))
                        .unwrap();
                    assert!(!spec.admins[1].secrets.contains(v));
                }
                "nothing_to_check" => {
                    assert!(
                        row.ias_url.is_empty()
                            && row.credential.is_empty()
                            && row.tech_user_permissions.is_empty()
                    );
                }
                "healthy" | tenant::NEO_RETIRING => {
                    assert!(!row.ias_url.is_empty());
                    // Both identities are accepted: the current one today, the next one (the
                    // reference) from the cutover.
                    let both = [g.reference_pem.clone(), g.lms.cert_pem.clone()];
                    assert_eq!(spec.admins[0].certificates, both);
                    assert_eq!(g.next_lms.cert_pem, g.reference_pem);
                    assert_ne!(g.lms.cert_pem, g.reference_pem);
                    if spec.ips_type == IpsType::Neo {
                        assert_eq!(spec.systems[0].inbound_certificates, both);
                        assert!(row.ips_url.contains(".cert."), "{}", row.ips_url);
                        assert!(row.lms_ips_api_url.ends_with("/ips"));
                    } else {
                        assert!(row.learning_only_users.is_empty());
                        assert_eq!(
                            row.lms_ips_api_url,
                            format!("{}/ipsproxy/service/api", row.ias_url)
                        );
                        assert_eq!(row.lms_ips_url, row.ias_url);
                    }
                    assert_eq!(row.lms_ips_source_system_id, row.ips_source_system_id);
                    assert!(row.owner.contains(&format!("<{}>", row.owner_email)));
                }
                "validity_inverted" => {
                    let der = rustls_pki_types::pem::PemObject::from_pem_slice(
                        &file(&row.ias_admin_cert).contents,
                    )
                    .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
                    .unwrap();
                    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
                    let v = cert.validity();
                    assert!(v.not_after.timestamp() < v.not_before.timestamp());
                    assert!(!spec.admins[0].certificates.contains(&g.reference_pem));
                    assert!(spec.admins[0].certificates.contains(&g.lms.cert_pem));
                }
                "next_missing_inbound" => {
                    assert_eq!(
                        spec.systems[0].inbound_certificates,
                        std::slice::from_ref(&g.lms.cert_pem)
                    );
                    assert!(spec.admins[0].certificates.contains(&g.reference_pem));
                }
                "lms_config_stale" => {
                    assert_eq!(row.lms_ips_api_url, format!("{}/ips", row.ias_url));
                }
                _ => {}
            }
        }
        let csv = g.inventory_csv().unwrap();
        assert!(csv.starts_with("tenant_id,ips_type,environment,ias_url,ips_url,ips_source_system_id,ias_admin_cert,ips_inbound_cert,tech_user_permissions,credential,job_id,owner,owner_email,learning_only_users,lms_ips_source_system_id,lms_ips_url,lms_ips_api_url\n"));
        // The auditor reading this inventory is tested in the root crate.
        assert_eq!(csv.lines().count(), 41);
        assert!(!format!("{g:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn small_fleets_take_the_first_profiles() {
        assert_eq!(broken_count(10), 4);
        assert_eq!(broken_count(40), PROFILES.len());
        assert_eq!(broken_count(100), PROFILES.len());
        assert_eq!(broken_count(1000), 200);
        let g = generate(10, 1, today()).unwrap();
        let mut names: Vec<&str> = g
            .tenants
            .iter()
            .map(|t| t.profile.as_str())
            .filter(|p| *p != "healthy" && *p != tenant::NEO_RETIRING)
            .collect();
        names.sort();
        let mut want: Vec<&str> = PROFILES[..4].iter().map(|p| p.name).collect();
        want.sort();
        assert_eq!(names, want);
    }
}
