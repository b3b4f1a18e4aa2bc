//! Labels of a run-to-run [`Diff`] that several renderers print the same way: the risk
//! change, the gained findings, the replaced certificates, one run's description.

use crate::diff::{FindingKey, Side, TenantChange};
use crate::findings::Level;

pub(crate) fn risk_text(c: &TenantChange) -> String {
    let s = |l: Option<Level>| l.map(|l| l.as_str()).unwrap_or("-");
    match (c.old_risk, c.new_risk) {
        (Some(o), Some(n)) if o == n => o.as_str().to_string(),
        (o, n) => format!("{} → {}", s(o), s(n)),
    }
}

pub(crate) fn keys(list: &[FindingKey]) -> Vec<String> {
    list.iter().map(|k| k.label()).collect()
}

/// Gained findings, level changes as `CODE@target A → B`, and replaced certificates.
pub(crate) fn gained_text(c: &TenantChange) -> Vec<String> {
    let mut v = keys(&c.gained);
    v.extend(
        c.level_changed
            .iter()
            .map(|l| format!("{}@{} {} → {}", l.code, l.target, l.old, l.new)),
    );
    v
}

/// `readiness not_ready → ready`, when the readiness for the cutover changed.
pub(crate) fn readiness_text(c: &TenantChange) -> Option<String> {
    c.readiness
        .as_ref()
        .map(|[a, b]| format!("readiness {a} → {b}"))
}

pub(crate) fn cert_text(c: &TenantChange) -> Vec<String> {
    c.certificates
        .iter()
        .map(|x| match (&x.old_sha256, &x.new_sha256) {
            (None, _) => format!("{}: certificate added", x.target),
            (_, None) => format!("{}: certificate gone", x.target),
            _ => format!("{}: other certificate", x.target),
        })
        .collect()
}

pub(crate) fn side_line(label: &str, s: &Side) -> String {
    format!(
        "{label}: {} ({} {}, as of {}, {} tenants{})",
        s.path,
        s.tool.as_deref().unwrap_or("unknown tool"),
        s.version.as_deref().unwrap_or("unknown version"),
        s.as_of.as_deref().unwrap_or("unknown"),
        s.tenants,
        if s.inventory_errors > 0 {
            format!(", {} rows not audited", s.inventory_errors)
        } else {
            String::new()
        }
    )
}
