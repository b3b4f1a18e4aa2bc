//! The demo's campaign (docs/spec.md §10): the sample fleet audited at three simulated dates,
//! each run appended to `OUT/history.sqlite`, while tenants that started on the old LMS
//! certificate import the new one between runs, so the report has a burndown; the fleet has a
//! handful of owners with e-mail addresses, so the owner folders and the mail have something
//! to show.

use super::fleet::DemoError;
use chrono::{DateTime, Duration, Utc};
use mtls_audit_sim::pki::{self, Issued, LeafSpec};
use mtls_audit_sim::{Generated, TenantSpec};
use std::path::Path;

/// Days before today of each run, oldest first; the last run is today, so the final report is
/// the fleet as generated. Three days apart: the current LMS certificate is valid from a week
/// ago, so every run sees it valid.
pub(super) const RUN_DAYS_AGO: [i64; 3] = [6, 3, 0];

/// The campaign's owners: a partner's consultants, each responsible for some tenants. One has
/// two addresses (`;`-separated), as a shared mailbox often is.
const OWNERS: [(&str, &str); 8] = [
    ("Anna Jensen", "anna.jensen@partner.example"),
    ("Omar Haddad", "omar.haddad@partner.example"),
    (
        "Lena Nakamura",
        "lena.nakamura@partner.example;learning-admins@customer.example",
    ),
    ("Jonas Yilmaz", "jonas.yilmaz@partner.example"),
    ("Greta Costa", "greta.costa@partner.example"),
    ("Mateo Rossi", "mateo.rossi@partner.example"),
    ("Priya Nair", "priya.nair@partner.example"),
    ("Chloé Martin", "chloe.martin@partner.example"),
];

/// Which healthy tenants start the campaign on the old certificate, and when each imports the
/// new one.
pub(super) struct Plan {
    /// The old LMS certificate the laggards still hold.
    old: Issued,
    /// Tenant IDs and the run from which each holds the new certificate (1 or 2).
    laggards: Vec<(String, usize)>,
}

impl Plan {
    /// Two in five healthy tenants start on the old certificate; half of them import the new
    /// one before the second run, the rest before the third.
    pub(super) fn new(fleet: &Generated, today: DateTime<Utc>) -> Result<Plan, DemoError> {
        let old = pki::self_signed(&LeafSpec::client(
            "lms-mtls.successfactors.com (2024-2025)",
            today - Duration::days(340),
            today + Duration::days(25),
        ))
        .map_err(|e| DemoError::Setup(format!("cannot make the old LMS certificate: {e}")))?;
        let healthy = fleet.tenants.iter().filter(|t| t.profile == "healthy");
        let laggards = healthy
            .enumerate()
            .filter(|(i, _)| i % 5 < 2)
            .map(|(i, t)| (t.tenant_id.clone(), if i % 2 == 0 { 1 } else { 2 }))
            .collect();
        Ok(Plan { old, laggards })
    }

    /// The laggards that hold the new certificate from run `run` on, but not before.
    pub(super) fn fixed_at(&self, run: usize) -> impl Iterator<Item = &str> {
        self.laggards
            .iter()
            .filter(move |(_, r)| *r == run)
            .map(|(id, _)| id.as_str())
    }

    /// Whether `id` still holds the old certificate in run `run`.
    fn lags(&self, id: &str, run: usize) -> bool {
        self.laggards.iter().any(|(t, r)| t == id && run < *r)
    }

    /// The fleet as it is in run `run`: laggards' admin records and inbound certificates hold
    /// the old certificate where the reference is.
    pub(super) fn scenario_at(&self, fleet: &Generated, run: usize) -> mtls_audit_sim::Scenario {
        let mut s = fleet.scenario.clone();
        for t in &mut s.tenants {
            if self.lags(&t.id, run) {
                *t = with_cert(t, &fleet.reference_pem, &self.old.cert_pem);
            }
        }
        s
    }

    /// A laggard as it is once it imported the new certificate: as generated.
    pub(super) fn fixed<'a>(&self, fleet: &'a Generated, id: &str) -> Option<&'a TenantSpec> {
        fleet.scenario.tenants.iter().find(|t| t.id == id)
    }

    /// Writes every laggard's evidence files for run `run`: the old certificate while it
    /// lags, the generated file (the new one) from the run it imported it.
    pub(super) fn write_evidence(
        &self,
        fleet: &Generated,
        dir: &Path,
        run: usize,
    ) -> Result<(), DemoError> {
        for (id, _) in &self.laggards {
            let Some(row) = fleet.inventory.iter().find(|r| &r.tenant_id == id) else {
                continue;
            };
            for rel in [&row.ias_admin_cert, &row.ips_inbound_cert] {
                if rel.is_empty() {
                    continue;
                }
                let Some(file) = fleet.files.iter().find(|f| &f.path == rel) else {
                    continue;
                };
                let bytes = if self.lags(id, run) {
                    // The export keeps the file's format: DER files (.cer) stay DER.
                    if rel.ends_with(".cer") {
                        self.old.cert_der.clone()
                    } else {
                        self.old.cert_pem.clone().into_bytes()
                    }
                } else {
                    file.contents.clone()
                };
                let path = dir.join(rel);
                std::fs::write(&path, bytes).map_err(|source| DemoError::Io { path, source })?;
            }
        }
        Ok(())
    }
}

/// `spec` with `to` wherever it holds `from` (admin records and inbound certificates).
fn with_cert(spec: &TenantSpec, from: &str, to: &str) -> TenantSpec {
    let mut t = spec.clone();
    let swap = |v: &mut Vec<String>| {
        for c in v.iter_mut() {
            if c.trim() == from.trim() {
                *c = to.to_string();
            }
        }
    };
    for a in &mut t.admins {
        swap(&mut a.certificates);
    }
    for s in &mut t.systems {
        swap(&mut s.inbound_certificates);
    }
    t
}

/// Gives the inventory the campaign's owners and an `owner_email` column: tenant `i` belongs
/// to one of eight owners, and every 25th tenant to nobody (it shows up in `owners/_unassigned`
/// and as an owner `notify` cannot mail).
pub(super) fn assign_owners(inventory: &Path) -> Result<(), DemoError> {
    let err =
        |e: csv::Error| DemoError::Setup(format!("cannot rewrite {}: {e}", inventory.display()));
    let mut r = csv::Reader::from_path(inventory).map_err(err)?;
    let mut header: Vec<String> = r.headers().map_err(err)?.iter().map(String::from).collect();
    let owner = header.iter().position(|h| h == "owner");
    header.push("owner_email".to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(err)?;
    for (i, rec) in r.records().enumerate() {
        let mut rec: Vec<String> = rec.map_err(err)?.iter().map(String::from).collect();
        let (name, email) = if i % 25 == 24 {
            ("", "")
        } else {
            OWNERS[i % OWNERS.len()]
        };
        if let Some(o) = owner.and_then(|o| rec.get_mut(o)) {
            *o = name.to_string();
        }
        rec.push(email.to_string());
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| DemoError::Setup(format!("cannot rewrite {}: {e}", inventory.display())))?;
    std::fs::write(inventory, bytes).map_err(|source| DemoError::Io {
        path: inventory.to_path_buf(),
        source,
    })
}

/// After the last run: the owner folders (with each owner's burndown) and the owners' mail
/// as `.eml` files (a dry run: nothing is sent). Returns what to tell the user.
pub(super) fn show(
    report: &mtls_audit::result::AuditReport,
    out: &Path,
    history: &Path,
) -> anyhow::Result<String> {
    use mtls_audit::findings::Level;
    use mtls_audit::history::{History, Open};
    use mtls_audit::notify::{compose, mail, write_eml};
    use mtls_audit::report::{Format, owners};
    use mtls_audit::trend::{self, GroupBy};
    let h = History::open(history, Open::Existing)?;
    let by_owner = trend::build(&h.run_counts(GroupBy::Owner)?, trend::DEFAULT_WINDOW);
    let folders = owners::write(report, out, &Format::ALL, Some(&by_owner))?;
    let mail_dir = out.join("mail");
    // The demo's own folder: last demo's messages go.
    if let Ok(entries) = std::fs::read_dir(&mail_dir) {
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "eml") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let from = compose::parse_address("mTLS campaign <mtls-campaign@partner.example>")
        .ok_or_else(|| anyhow::anyhow!("the demo's sender is not an address"))?;
    let plan = compose::plan(report, Level::AtRisk);
    for (i, r) in plan.recipients.iter().enumerate() {
        let c = mail::compose(report, r, Level::AtRisk);
        let m = mail::message(&c, &from)?;
        write_eml(&mail_dir, i + 1, &c, &m)?;
    }
    Ok(format!(
        "campaign: {} runs in {}; {} owner folders in {}; {} messages to owners in {} (not sent; {} owner without an address)",
        h.runs()?.len(),
        history.display(),
        folders.len(),
        out.join(owners::FOLDER).display(),
        plan.recipients.len(),
        mail_dir.display(),
        plan.skipped.len()
    ))
}
