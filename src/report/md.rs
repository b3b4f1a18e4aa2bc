//! `report.md` (placeholder until the Markdown report lands).

use crate::result::AuditReport;

pub fn render(report: &AuditReport) -> String {
    format!("# mtls-audit\n\n{} tenants\n", report.tenants.len())
}
