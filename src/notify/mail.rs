//! One owner's message: a plain-text and an HTML alternative of the same content — the
//! deadline, the cutover, and per tenant its risk, its readiness, its findings at or above the
//! level and the exact steps from `audit.json`. The HTML is self-contained (inline styles, no
//! image, no link to load) and everything from the inventory or a server is escaped.

use super::compose::Recipient;
use crate::dates;
use crate::findings::Level;
use crate::report::text;
use crate::result::{AuditReport, ReadinessState, TenantResult};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use std::fmt::Write as _;

/// A composed message, before it has a sender, a date and an ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The recipient.
    pub to: Mailbox,
    /// The address as the inventory gives it.
    pub address: String,
    /// The owners it is for, joined with `; `.
    pub owners: String,
    /// The subject.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// SHA-256 (hex) of the content without anything that moves with the calendar: per tenant
    /// its ID, IPS type, risk, readiness and missing places, and its findings' code, target,
    /// level and steps. The as-of date, the deadline and cutover, days left and the finding
    /// messages (which quote dates and days) are left out, so an unchanged situation hashes the
    /// same from day to day (`--resend-after`).
    pub content_hash: String,
    /// How many tenants it lists.
    pub tenants: usize,
}

/// The findings of a tenant that the message shows: those at or above the level.
fn shown(
    t: &TenantResult,
    min_level: Level,
) -> impl Iterator<Item = &crate::result::TenantFinding> {
    t.findings.iter().filter(move |f| f.level >= min_level)
}

/// The steps of those findings, each distinct text once, worst first.
fn steps(t: &TenantResult, min_level: Level) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in shown(t, min_level) {
        let s = f.remediation.text().into_owned();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn readiness_line(t: &TenantResult) -> String {
    match t.readiness.state {
        ReadinessState::Ready => "ready (the new certificate is in every place it must be)".into(),
        ReadinessState::Unknown => "unknown (neither probed nor evidenced)".into(),
        ReadinessState::NotReady => {
            let missing: Vec<&str> = t.readiness.missing().iter().map(|p| p.as_str()).collect();
            format!("NOT READY (missing in: {})", missing.join(", "))
        }
    }
}

fn relative(report: &AuditReport, d: chrono::DateTime<chrono::Utc>) -> String {
    crate::report::figures::relative(report.as_of, d)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The content hash of a message for `r` (see [`Composed::content_hash`]).
fn content_hash(report: &AuditReport, r: &Recipient, min_level: Level) -> String {
    let mut ids: Vec<&TenantResult> = r.tenants.iter().map(|&i| &report.tenants[i]).collect();
    ids.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    let mut canon = String::new();
    let _ = writeln!(canon, "to {}", r.mailbox.email.to_string().to_lowercase());
    for t in ids {
        let _ = writeln!(
            canon,
            "tenant {}\t{}\t{}\t{}\t{}",
            t.tenant_id,
            t.ips_type,
            t.risk,
            t.readiness.state.as_str(),
            t.readiness.places_column()
        );
        for f in shown(t, min_level) {
            let _ = writeln!(canon, "finding {}\t{}\t{}", f.code, f.target, f.level);
        }
        for s in steps(t, min_level) {
            let _ = writeln!(canon, "steps {s}");
        }
    }
    let d = ring::digest::digest(&ring::digest::SHA256, canon.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Composes the message for `r`.
pub fn compose(report: &AuditReport, r: &Recipient, min_level: Level) -> Composed {
    let tenants: Vec<&TenantResult> = r.tenants.iter().map(|&i| &report.tenants[i]).collect();
    let owners = r
        .owners
        .iter()
        .filter(|o| !o.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    let not_ready = tenants
        .iter()
        .filter(|t| t.readiness.state == ReadinessState::NotReady)
        .count();
    let subject = format!(
        "[mTLS certificate change] {} need{} action{}",
        plural(tenants.len(), "tenant", "tenants"),
        if tenants.len() == 1 { "s" } else { "" },
        match report.deadline {
            Some(d) => format!(" before {}", dates::date(d)),
            None => String::new(),
        }
    );
    // The subject holds tenant counts and a date only; owner names stay in the body.
    Composed {
        to: r.mailbox.clone(),
        address: r.address.clone(),
        owners: owners.clone(),
        text: text_body(report, &tenants, &owners, not_ready, min_level),
        html: html_body(report, &tenants, &owners, not_ready, min_level),
        subject,
        content_hash: content_hash(report, r, min_level),
        tenants: tenants.len(),
    }
}

fn text_body(
    report: &AuditReport,
    tenants: &[&TenantResult],
    owners: &str,
    not_ready: usize,
    min_level: Level,
) -> String {
    let mut s = String::new();
    let clean = |x: &str| text::terminal(x);
    let _ = writeln!(
        s,
        "Hello{},\n",
        if owners.is_empty() {
            String::new()
        } else {
            format!(" {}", clean(owners))
        }
    );
    let _ = writeln!(s, "{INTRO}\n");
    let _ = writeln!(
        s,
        "{} of yours {} at {} or worse ({} not ready for the cutover):\n",
        plural(tenants.len(), "tenant", "tenants"),
        if tenants.len() == 1 { "is" } else { "are" },
        min_level,
        not_ready
    );
    if let Some(c) = report.cutover {
        let _ = writeln!(
            s,
            "  Cutover:  {} ({}): from this day LMS presents the new certificate.",
            dates::date(c),
            relative(report, c)
        );
    }
    if let Some(d) = report.deadline {
        let _ = writeln!(
            s,
            "  Deadline: {} ({})",
            dates::date(d),
            relative(report, d)
        );
    }
    let _ = writeln!(s, "  Audit as of {}\n", dates::datetime(report.as_of));
    for (n, t) in tenants.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}. {} ({} {}): {}",
            n + 1,
            clean(&t.tenant_id),
            t.ips_type,
            t.environment,
            t.risk
        );
        let _ = writeln!(s, "   Ready for the cutover: {}", readiness_line(t));
        let _ = writeln!(s, "   Findings:");
        for f in shown(t, min_level) {
            let _ = writeln!(
                s,
                "   - {} {} ({}): {}",
                f.level,
                f.code,
                f.target,
                clean(&f.message)
            );
        }
        let below = t.findings.len() - shown(t, min_level).count();
        if below > 0 {
            let _ = writeln!(
                s,
                "   ({} below {min_level} in the full report)",
                plural(below, "finding", "findings")
            );
        }
        let st = steps(t, min_level);
        if !st.is_empty() {
            let _ = writeln!(s, "   What to do:");
            for block in st {
                for line in block.lines() {
                    let _ = writeln!(s, "     {}", clean(line));
                }
            }
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Please audit again once done; this list comes from {} {} (inventory {}).",
        clean(&report.tool.name),
        clean(&report.tool.version),
        clean(&report.inventory)
    );
    s
}

/// Why the owner gets this message, in both parts (no markup, so it is the same text in HTML).
const INTRO: &str = "SAP replaces the client certificate that SuccessFactors Learning (LMS) presents to SAP Cloud Identity Services (IAS/IPS). Every tenant must import the new certificate before LMS starts presenting it, or Real Time User Sync and the creation of Learning sites fail.";

const CELL: &str = "border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top";

fn level_style(level: Level) -> &'static str {
    match level {
        Level::Failing => "color:#fff;background:#c62828",
        Level::AtRisk => "color:#fff;background:#e65100",
        Level::Unknown => "color:#fff;background:#6a1b9a",
        Level::Warn => "color:#1b1b1b;background:#ffd54f",
        Level::Ok => "color:#fff;background:#2e7d32",
    }
}

fn badge(level: Level) -> String {
    format!(
        "<span style=\"{};padding:1px 6px;border-radius:3px;font-weight:600\">{level}</span>",
        level_style(level)
    )
}

fn html_body(
    report: &AuditReport,
    tenants: &[&TenantResult],
    owners: &str,
    not_ready: usize,
    min_level: Level,
) -> String {
    let h = |x: &str| text::html(x).into_owned();
    let mut s = String::with_capacity(8 * 1024);
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body style=\"font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1b1b1b;max-width:820px\">",
        h("mTLS certificate change")
    );
    let _ = write!(
        s,
        "<p>Hello{},</p><p>{INTRO}</p>",
        if owners.is_empty() {
            String::new()
        } else {
            format!(" {}", h(owners))
        }
    );
    let _ = write!(
        s,
        "<p><strong>{} of yours {} at {} or worse</strong> ({} not ready for the cutover).</p><table style=\"border-collapse:collapse\">",
        plural(tenants.len(), "tenant", "tenants"),
        if tenants.len() == 1 { "is" } else { "are" },
        min_level,
        not_ready
    );
    if let Some(c) = report.cutover {
        let _ = write!(
            s,
            "<tr><th style=\"{CELL}\">Cutover</th><td style=\"{CELL}\">{} ({}): from this day LMS presents the new certificate</td></tr>",
            dates::date(c),
            relative(report, c)
        );
    }
    if let Some(d) = report.deadline {
        let _ = write!(
            s,
            "<tr><th style=\"{CELL}\">Deadline</th><td style=\"{CELL}\">{} ({})</td></tr>",
            dates::date(d),
            relative(report, d)
        );
    }
    let _ = write!(
        s,
        "<tr><th style=\"{CELL}\">Audit as of</th><td style=\"{CELL}\">{}</td></tr></table>",
        dates::datetime(report.as_of)
    );
    for t in tenants {
        let _ = write!(
            s,
            "<h2 style=\"font-size:16px;margin:22px 0 6px;border-bottom:1px solid #ddd\">{} <span style=\"font-weight:400;color:#555\">{} {}</span> {}</h2>",
            h(&t.tenant_id),
            t.ips_type,
            t.environment,
            badge(t.risk)
        );
        let _ = write!(
            s,
            "<p style=\"margin:4px 0\"><strong>Ready for the cutover:</strong> {}</p><ul style=\"margin:4px 0 8px;padding-left:20px\">",
            h(&readiness_line(t))
        );
        for f in shown(t, min_level) {
            let _ = write!(
                s,
                "<li>{} <code>{}</code> ({}): {}</li>",
                badge(f.level),
                f.code,
                f.target,
                h(&f.message)
            );
        }
        s.push_str("</ul>");
        let st = steps(t, min_level);
        if !st.is_empty() {
            s.push_str("<p style=\"margin:4px 0\"><strong>What to do:</strong></p>");
            for block in st {
                s.push_str("<ol style=\"margin:4px 0 8px;padding-left:24px\">");
                for line in block.lines() {
                    // Steps are written "1. …": the list numbers them.
                    let step = line
                        .split_once(". ")
                        .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
                        .map_or(line, |(_, rest)| rest);
                    let _ = write!(s, "<li>{}</li>", h(step));
                }
                s.push_str("</ol>");
            }
        }
    }
    let _ = write!(
        s,
        "<p style=\"color:#555;margin-top:22px\">Please audit again once done; this list comes from {} {} (inventory {}).</p></body></html>",
        h(&report.tool.name),
        h(&report.tool.version),
        h(&report.inventory)
    );
    s
}

/// The RFC 5322 message: From, To, Subject, Date (now), a Message-ID, and the two
/// alternatives.
pub fn message(c: &Composed, from: &Mailbox) -> Result<Message, lettre::error::Error> {
    Message::builder()
        .from(from.clone())
        .to(c.to.clone())
        .subject(c.subject.clone())
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            c.text.clone(),
            c.html.clone(),
        ))
}
