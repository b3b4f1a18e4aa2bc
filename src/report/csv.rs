//! `audit.csv`: one row per tenant in inventory order (docs/spec.md §6).

use super::text;
use crate::certificate::CertificateObject;
use crate::diff::{Diff, FindingKey};
use crate::findings::{Level, Target};
use crate::result::{AuditReport, TenantResult};
use std::io::Write;

pub(crate) const HEADER: [&str; 20] = [
    "line",
    "tenant_id",
    "ips_type",
    "environment",
    "owner",
    "risk",
    "impacts",
    "checks_run",
    "checks_not_run",
    "ias_admin_cert_sha256",
    "ias_admin_cert_not_after",
    "ias_admin_cert_days_left",
    "ips_inbound_cert_sha256",
    "ips_inbound_cert_not_after",
    "ips_inbound_cert_days_left",
    "reference_match",
    "findings",
    "remediation",
    // Added after docs/spec.md §6's columns (§8), so scripts that read by position still work.
    "readiness",
    "readiness_places",
];

fn cert_cols(c: Option<&CertificateObject>) -> [String; 3] {
    match c {
        Some(c) => [
            c.cert.sha256.clone(),
            c.cert.not_after.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            c.cert.days_left.to_string(),
        ],
        None => Default::default(),
    }
}

/// `yes` when every evidence certificate matched a reference, `no` when any did not, empty when
/// the comparison did not run.
pub(crate) fn reference_match(t: &TenantResult) -> &'static str {
    let vals: Vec<bool> = t
        .certificates
        .iter()
        .filter_map(|c| c.reference_match)
        .collect();
    if vals.is_empty() {
        ""
    } else if vals.iter().all(|v| *v) {
        "yes"
    } else {
        "no"
    }
}

fn join<T>(items: &[T], f: impl Fn(&T) -> &str) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(";")
}

/// Writes `audit.csv`: the header, then one row per tenant in inventory order.
pub fn write(report: &AuditReport, w: &mut dyn Write) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(HEADER)?;
    for t in &report.tenants {
        let ias = cert_cols(t.certificate(Target::IasAdminCert));
        let ips = cert_cols(t.certificate(Target::IpsInboundCert));
        // Steps stay one line per cell so the file greps well; findings are separated by ' | '.
        let remediation = t
            .remediation_steps()
            .iter()
            .map(|r| r.replace('\n', " "))
            .collect::<Vec<_>>()
            .join(" | ");
        let line = t.line.to_string();
        let places = t.readiness.places_column();
        let record: [&str; 20] = [
            &line,
            &text::spreadsheet(&t.tenant_id),
            t.ips_type.as_str(),
            t.environment.as_str(),
            &text::spreadsheet(&t.owner),
            t.risk.as_str(),
            &join(&t.impacts, |i| i.as_str()),
            &join(&t.checks_run, |c| c.as_str()),
            &join(&t.checks_not_run, |c| c.as_str()),
            &ias[0],
            &ias[1],
            &ias[2],
            &ips[0],
            &ips[1],
            &ips[2],
            reference_match(t),
            &t.findings_column(),
            &text::spreadsheet(&remediation),
            t.readiness.state.as_str(),
            &places,
        ];
        out.write_record(record)?;
    }
    out.flush()?;
    Ok(())
}

/// The columns of `diff --format csv`.
pub(crate) const DIFF_HEADER: [&str; 13] = [
    "change",
    "worse",
    "tenant_id",
    "ips_type",
    "environment",
    "owner",
    "old_risk",
    "new_risk",
    "gained",
    "lost",
    "level_changed",
    "certificates_changed",
    "reasons",
];

/// One row per changed tenant; lists are `;`-separated as in `audit.csv`.
pub fn write_diff(diff: &Diff, w: &mut dyn Write) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(DIFF_HEADER)?;
    for c in &diff.changes {
        let lvl = |l: Option<Level>| l.map(|l| l.as_str()).unwrap_or("");
        let labels = |v: &[FindingKey]| v.iter().map(|k| k.label()).collect::<Vec<_>>().join(";");
        let level_changed = c
            .level_changed
            .iter()
            .map(|l| format!("{}@{}:{}>{}", l.code, l.target, l.old, l.new))
            .collect::<Vec<_>>()
            .join(";");
        let certs = c
            .certificates
            .iter()
            .map(|x| {
                format!(
                    "{}:{}>{}",
                    x.target,
                    x.old_sha256.as_deref().unwrap_or(""),
                    x.new_sha256.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(";");
        let reasons = c.reasons.join("; ");
        let record: [&str; 13] = [
            c.change.as_str(),
            if c.worse { "yes" } else { "no" },
            &text::spreadsheet(&c.tenant_id),
            &text::spreadsheet(&c.ips_type),
            &text::spreadsheet(&c.environment),
            &text::spreadsheet(&c.owner),
            lvl(c.old_risk),
            lvl(c.new_risk),
            &labels(&c.gained),
            &labels(&c.lost),
            &level_changed,
            &certs,
            &text::spreadsheet(&reasons),
        ];
        out.write_record(record)?;
    }
    out.flush()?;
    Ok(())
}
