//! `report.html` (placeholder until the HTML report lands).

use crate::result::AuditReport;

pub fn render(report: &AuditReport) -> String {
    format!(
        "<!doctype html><title>mtls-audit</title><p>{} tenants</p>",
        report.tenants.len()
    )
}
