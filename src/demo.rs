//! The built-in sample fleet of `mtls-audit demo`: about fifty tenants of both IPS types whose
//! evidence covers every certificate state, with certificates dated relative to today and the
//! new LMS certificate shipped as a zip, the way SAP ships `cer.zip`.

use crate::pki::{Ca, Eku, Issued, LeafSpec, PkiError};
use chrono::{DateTime, Duration, Utc};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the zip {path}: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
}

/// The dates the sample fleet is built around, all relative to `today`.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    pub today: DateTime<Utc>,
    /// When the old LMS certificate expires: the deadline.
    pub deadline: DateTime<Utc>,
    /// When LMS starts presenting the new certificate.
    pub cutover: DateTime<Utc>,
}

impl Timeline {
    pub fn around(today: DateTime<Utc>) -> Timeline {
        Timeline {
            today,
            deadline: today + Duration::days(25),
            cutover: today + Duration::days(20),
        }
    }
}

/// What was written, for the caller to audit.
#[derive(Debug, Clone)]
pub struct SampleFleet {
    pub inventory: PathBuf,
    pub reference_zip: PathBuf,
    pub timeline: Timeline,
    pub tenants: usize,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), DemoError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, bytes).map_err(io(path))
}

/// A zip holding one file, as SAP's `cer.zip`.
pub fn write_zip(path: &Path, name: &str, bytes: &[u8]) -> Result<(), DemoError> {
    let zerr = |source| DemoError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io(path))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(name, opts).map_err(zerr)?;
    zip.write_all(bytes).map_err(io(path))?;
    zip.finish().map_err(zerr)?;
    Ok(())
}

/// One kind of tenant in the sample, and how many of it.
struct Kind {
    prefix: &'static str,
    count: usize,
    ips_type: &'static str,
    ias: Evidence,
    ips: Evidence,
    perms: &'static str,
    owner: &'static str,
}

#[derive(Clone, Copy)]
enum Evidence {
    None,
    New,
    NewDer,
    Old,
    Expired,
    NotYetValid,
    Critical,
    ServerOnly,
    Missing,
    Empty,
    KeyOnly,
    Garbage,
    ZipWithoutCert,
    Bundle,
}

const ALL_PERMS: &str = "Read Users;Access Real-Time Provisioning API";

fn kinds() -> Vec<Kind> {
    use Evidence::*;
    let k = |prefix, count, ips_type, ias, ips, perms, owner| Kind {
        prefix,
        count,
        ips_type,
        ias,
        ips,
        perms,
        owner,
    };
    vec![
        k("NEOOK", 10, "neo", New, New, ALL_PERMS, "Ana Souza"),
        k("CONVOK", 12, "converged", New, None, ALL_PERMS, "Bo Chen"),
        k(
            "CONVDER",
            2,
            "converged",
            NewDer,
            None,
            ALL_PERMS,
            "Bo Chen",
        ),
        k(
            "CHAIN",
            2,
            "converged",
            Bundle,
            None,
            ALL_PERMS,
            "Chiara Rossi",
        ),
        k("NEOHALF", 3, "neo", New, Old, ALL_PERMS, "Dev Patel"),
        k("NEOOLD", 3, "neo", Old, Old, ALL_PERMS, "Dev Patel"),
        k(
            "CONVOLD",
            3,
            "converged",
            Old,
            None,
            ALL_PERMS,
            "Emma Müller",
        ),
        k(
            "EXPIRED",
            2,
            "neo",
            Expired,
            Expired,
            ALL_PERMS,
            "Femi Adeyemi",
        ),
        k(
            "CONVEXP",
            1,
            "converged",
            Expired,
            None,
            ALL_PERMS,
            "Femi Adeyemi",
        ),
        k(
            "EARLY",
            1,
            "converged",
            NotYetValid,
            None,
            ALL_PERMS,
            "Gao Lin",
        ),
        k("CRIT", 1, "neo", New, Critical, ALL_PERMS, "Hana Sato"),
        k(
            "SRVONLY",
            1,
            "converged",
            ServerOnly,
            None,
            ALL_PERMS,
            "Ivan Petrov",
        ),
        k(
            "NOPERM",
            2,
            "converged",
            New,
            None,
            "Read Users",
            "Jo Smith",
        ),
        k("NOPERMNEO", 1, "neo", New, New, "Manage Users", "Jo Smith"),
        k("MISSING", 1, "neo", New, Missing, ALL_PERMS, "Kim Park"),
        k("EMPTYF", 1, "converged", Empty, None, ALL_PERMS, "Kim Park"),
        k(
            "KEYONLY",
            1,
            "converged",
            KeyOnly,
            None,
            ALL_PERMS,
            "Kim Park",
        ),
        k("GARBAGE", 1, "neo", Garbage, New, ALL_PERMS, "Kim Park"),
        k(
            "ZIPNOCERT",
            1,
            "converged",
            ZipWithoutCert,
            None,
            ALL_PERMS,
            "Kim Park",
        ),
        k("BLANK", 1, "neo", None, None, "", "Lea Dubois"),
    ]
}

/// Writes the sample fleet under `dir` and returns where its inventory is.
pub fn write_sample_fleet(dir: &Path, today: DateTime<Utc>) -> Result<SampleFleet, DemoError> {
    let t = Timeline::around(today);
    let d = Duration::days;
    let ca = Ca::new(
        "SAP Cloud Platform Client CA (demo)",
        today - d(3650),
        today + d(3650),
    )?;
    let lms = |cn: &str, from: i64, to: i64| -> Result<Issued, PkiError> {
        ca.issue(&LeafSpec::client(cn, today + d(from), today + d(to)))
    };
    let new = lms("lms-mtls.successfactors.com (2026)", -5, 360)?;
    let old = lms("lms-mtls.successfactors.com (2025)", -340, 25)?;
    let expired = lms("lms-mtls.successfactors.com (2024)", -700, -3)?;
    let early = lms("lms-mtls.successfactors.com (2027)", 40, 400)?;
    let critical = lms("lms-mtls.successfactors.com (short)", -300, 9)?;
    let mut srv = LeafSpec::client("lms-www.successfactors.com", today - d(30), today + d(300));
    srv.ekus = Some(vec![Eku::ServerAuth]);
    let server_only = ca.issue(&srv)?;

    let certs = dir.join("certs");
    let file = |name: &str| certs.join(name);
    write(&file("lms-2026.pem"), &new.cert_pem)?;
    write(&file("lms-2026.cer"), &new.cert_der)?;
    write(&file("lms-2025.pem"), &old.cert_pem)?;
    write(&file("lms-2024.pem"), &expired.cert_pem)?;
    write(&file("lms-2027.pem"), &early.cert_pem)?;
    write(&file("lms-short.pem"), &critical.cert_pem)?;
    write(&file("lms-www.pem"), &server_only.cert_pem)?;
    write(
        &file("lms-2026-chain.pem"),
        format!("{}{}", ca.cert.cert_pem, new.cert_pem),
    )?;
    write(&file("empty.pem"), "")?;
    // A key exported by mistake instead of the certificate: generated here, never the LMS key.
    write(&file("exported-key.pem"), &server_only.key_pem)?;
    write(&file("notes.txt"), "certificate: see ticket 4711\n")?;
    let nocert = file("export.zip");
    write_zip(
        &nocert,
        "readme.txt",
        b"the certificate is attached to the ticket\n",
    )?;
    let reference_zip = dir.join("cer.zip");
    write_zip(&reference_zip, "lms-mtls-2026.cer", &new.cert_der)?;

    let path_of = |e: Evidence| -> &'static str {
        match e {
            Evidence::None => "",
            Evidence::New => "certs/lms-2026.pem",
            Evidence::NewDer => "certs/lms-2026.cer",
            Evidence::Old => "certs/lms-2025.pem",
            Evidence::Expired => "certs/lms-2024.pem",
            Evidence::NotYetValid => "certs/lms-2027.pem",
            Evidence::Critical => "certs/lms-short.pem",
            Evidence::ServerOnly => "certs/lms-www.pem",
            Evidence::Missing => "certs/lost.pem",
            Evidence::Empty => "certs/empty.pem",
            Evidence::KeyOnly => "certs/exported-key.pem",
            Evidence::Garbage => "certs/notes.txt",
            Evidence::ZipWithoutCert => "certs/export.zip",
            Evidence::Bundle => "certs/lms-2026-chain.pem",
        }
    };
    let mut inv = String::from(
        "tenant_id,ips_type,environment,ias_url,ips_url,ips_source_system_id,ias_admin_cert,ips_inbound_cert,tech_user_permissions,owner,region\n",
    );
    let mut n = 0;
    for kind in kinds() {
        for i in 1..=kind.count {
            n += 1;
            let id = format!("{}{i:02}", kind.prefix);
            let host = id.to_lowercase();
            let env = if n % 5 == 0 { "preview" } else { "production" };
            let ips_url = if kind.ips_type == "neo" {
                format!("https://ipsproxyabc-{host}.hana.ondemand.com")
            } else {
                String::new()
            };
            let _ = writeln!(
                inv,
                "{id},{},{env},https://{host}.accounts.ondemand.com,{ips_url},{:08x}-5a1e-4c0d-9f00-{n:012x},{},{},\"{}\",\"{}, Learning Ops\",{}",
                kind.ips_type,
                n * 7919,
                path_of(kind.ias),
                path_of(kind.ips),
                kind.perms,
                kind.owner,
                if n % 2 == 0 { "EU10" } else { "US10" }
            );
        }
    }
    // Three rows that cannot be audited, to show how they are reported.
    inv.push_str(",neo,,,,,,,,Nobody,EU10\n");
    inv.push_str("NEOOK01,neo,,,,,,,,Duplicate row,EU10\n");
    inv.push_str("LEGACY01,neo-classic,,,,,,,,Mo Ali,EU10\n");
    let inventory = dir.join("inventory.csv");
    write(&inventory, inv)?;
    Ok(SampleFleet {
        inventory,
        reference_zip,
        timeline: t,
        tenants: n,
    })
}
