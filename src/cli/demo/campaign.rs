//! The demo's campaign (docs/spec.md §10): the sample fleet audited at three simulated dates,
//! each run appended to `OUT/history.sqlite`. Two in five healthy tenants start with an old LMS
//! certificate where the new one belongs (beside the current one, so LMS works today but not
//! from the cutover) and import the new one by the second or the third run: each date has its
//! simulator (clock and tenants as they were then) and its inventory export
//! (`fleet/inventory-<date>.csv`, the laggards' evidence files being the old certificate), so
//! the report has a burndown of tenants not ready for the cutover. The fleet gets a handful of owners with e-mail addresses, so the
//! owner folders and the mail have something to show.

use super::error::DemoError;
use chrono::{DateTime, Duration, Utc};
use mtls_audit_sim::pki::{self, Issued, LeafSpec};
use mtls_audit_sim::{Generated, TenantSpec};
use std::path::{Path, PathBuf};

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

    /// Whether `id` still holds the old certificate in run `run`.
    fn lags(&self, id: &str, run: usize) -> bool {
        self.laggards.iter().any(|(t, r)| t == id && run < *r)
    }

    /// The laggards as they are in run `run`: their admin records and inbound certificates
    /// hold the old certificate where the generated fleet has the new one.
    pub(super) fn lagging_at(&self, fleet: &Generated, run: usize) -> Vec<TenantSpec> {
        fleet
            .scenario
            .tenants
            .iter()
            .filter(|t| self.lags(&t.id, run))
            .map(|t| with_cert(t, &fleet.reference_pem, &self.old.cert_pem))
            .collect()
    }

    /// The inventory of each run: `inventory.csv` (the fleet as generated) for the last, and
    /// for the earlier ones `inventory-<date>.csv`, the export of that date, whose laggards'
    /// evidence is the old certificate (`certs/<file>-old.<ext>`, same format as the file it
    /// stands for).
    pub(super) fn write_inventories(
        &self,
        dir: &Path,
        dates: &[DateTime<Utc>],
    ) -> Result<Vec<PathBuf>, DemoError> {
        let current = dir.join("inventory.csv");
        let mut out = Vec::new();
        for (run, date) in dates.iter().enumerate() {
            if run + 1 == dates.len() {
                out.push(current.clone());
                continue;
            }
            let path = dir.join(format!("inventory-{}.csv", date.format("%Y-%m-%d")));
            let lagging: Vec<&str> = self
                .laggards
                .iter()
                .filter(|(id, _)| self.lags(id, run))
                .map(|(id, _)| id.as_str())
                .collect();
            self.write_inventory(dir, &current, &path, &lagging)?;
            out.push(path);
        }
        Ok(out)
    }

    fn write_inventory(
        &self,
        dir: &Path,
        from: &Path,
        to: &Path,
        lagging: &[&str],
    ) -> Result<(), DemoError> {
        let err = |e: csv::Error| DemoError::Setup(format!("cannot write {}: {e}", to.display()));
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(from)
            .map_err(err)?;
        let header: Vec<String> = r.headers().map_err(err)?.iter().map(String::from).collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let (id_col, evidence) = (
            col("tenant_id"),
            [col("ias_admin_cert"), col("ips_inbound_cert")],
        );
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(&header).map_err(err)?;
        for rec in r.records() {
            let mut rec: Vec<String> = rec.map_err(err)?.iter().map(String::from).collect();
            let lags = id_col
                .and_then(|i| rec.get(i))
                .is_some_and(|id| lagging.contains(&id.as_str()));
            if lags {
                for c in evidence.into_iter().flatten() {
                    let Some(rel) = rec.get(c).filter(|v| !v.is_empty()).cloned() else {
                        continue;
                    };
                    let old = old_name(&rel);
                    let bytes = if rel.ends_with(".cer") {
                        self.old.cert_der.clone()
                    } else {
                        self.old.cert_pem.clone().into_bytes()
                    };
                    let path = dir.join(&old);
                    std::fs::write(&path, bytes)
                        .map_err(|source| DemoError::Io { path, source })?;
                    rec[c] = old;
                }
            }
            w.write_record(&rec).map_err(err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| DemoError::Setup(format!("cannot write {}: {e}", to.display())))?;
        std::fs::write(to, bytes).map_err(|source| DemoError::Io {
            path: to.to_path_buf(),
            source,
        })
    }
}

/// `certs/acme-ias_admin_cert.pem` → `certs/acme-ias_admin_cert-old.pem`.
fn old_name(rel: &str) -> String {
    match rel.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => format!("{stem}-old.{ext}"),
        _ => format!("{rel}-old"),
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

/// Gives the inventory the campaign's owners in `owner` and `owner_email` (the column is added
/// when the inventory has none): tenant `i` belongs to one of eight owners, and every 25th
/// tenant to nobody (it shows up in `owners/_unassigned` and as an owner `notify` cannot mail).
pub(super) fn assign_owners(inventory: &Path) -> Result<(), DemoError> {
    let err =
        |e: csv::Error| DemoError::Setup(format!("cannot rewrite {}: {e}", inventory.display()));
    let mut r = csv::Reader::from_path(inventory).map_err(err)?;
    let mut header: Vec<String> = r.headers().map_err(err)?.iter().map(String::from).collect();
    let owner = header.iter().position(|h| h == "owner");
    let email_col = header.iter().position(|h| h == "owner_email");
    if email_col.is_none() {
        header.push("owner_email".to_string());
    }
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
        match email_col.and_then(|c| rec.get_mut(c)) {
            Some(e) => *e = email.to_string(),
            None => rec.push(email.to_string()),
        }
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
    use mtls_audit::notify::{clear_earlier, compose, mail, write_eml};
    use mtls_audit::report::{Format, owners};
    use mtls_audit::trend::{self, GroupBy};
    let h = History::open(history, Open::Existing)?;
    let by_owner = trend::build(&h.run_counts(GroupBy::Owner)?, trend::DEFAULT_WINDOW);
    let folders = owners::write(report, out, &Format::ALL, Some(&by_owner))?;
    let mail_dir = out.join("mail");
    clear_earlier(&mail_dir)?;
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
