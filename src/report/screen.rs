//! The `inspect` screen: one block per target with the leaf's facts, the chain, the findings
//! and, for an unreadable file, why.

use crate::certificate::CertificateView;
use crate::inspect::{InspectReport, InspectTarget};
use std::fmt::Write as _;

fn facts(out: &mut String, c: &CertificateView) {
    let rows: [(&str, String); 10] = [
        ("subject", c.subject.clone()),
        ("issuer", c.issuer.clone()),
        ("serial", c.serial.clone()),
        (
            "not before",
            c.not_before.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        (
            "not after",
            format!(
                "{} ({} days left)",
                c.not_after.format("%Y-%m-%dT%H:%M:%SZ"),
                c.days_left
            ),
        ),
        ("sha256", c.sha256.clone()),
        ("sha1", c.sha1.clone()),
        ("key", c.key.to_string()),
        ("signature", c.signature_algorithm.clone()),
        (
            "ekus",
            match &c.ekus {
                None => "(no extension: any use)".to_string(),
                Some(v) if v.is_empty() => "(empty)".to_string(),
                Some(v) => v.join(", "),
            },
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<12} {v}");
    }
}

fn target(out: &mut String, t: &InspectTarget) {
    let _ = writeln!(out, "== {}", t.target);
    if let Some(e) = &t.error {
        let _ = writeln!(out, "  UNREADABLE   {e}");
    }
    if let Some(f) = &t.format {
        let n = t
            .certificates
            .first()
            .map(|c| c.chain.len() + 1)
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "  format       {f}, {n} certificate{}",
            if n == 1 { "" } else { "s" }
        );
    }
    for c in &t.certificates {
        facts(out, &c.cert);
        if !t.dns_names.is_empty() {
            let _ = writeln!(out, "  {:<12} {}", "dns names", t.dns_names.join(", "));
        }
        match c.reference_match {
            Some(true) => {
                let _ = writeln!(out, "  {:<12} yes", "reference");
            }
            Some(false) => {
                let _ = writeln!(out, "  {:<12} NO", "reference");
            }
            None => {}
        }
        for (i, ch) in c.chain.iter().enumerate() {
            let _ = writeln!(
                out,
                "  chain[{i}]     {} (issuer {}; expires {}, {} days; sha256 {})",
                ch.subject,
                ch.issuer,
                ch.not_after.format("%Y-%m-%d"),
                ch.days_left,
                &ch.sha256[..ch.sha256.len().min(16)]
            );
        }
    }
    for n in &t.notes {
        let _ = writeln!(out, "  note         {n}");
    }
    // The LMS identities side by side: what the server says to each.
    if !t.mtls.is_empty() {
        let answers: Vec<String> = t
            .mtls
            .iter()
            .map(|m| format!("{}: {}", m.identity, m.answer))
            .collect();
        let _ = writeln!(out, "  {:<12} {}", "lms mtls", answers.join("  |  "));
    }
    if t.findings.is_empty() && t.error.is_none() {
        let _ = writeln!(out, "  verdict      OK");
    }
    for f in &t.findings {
        let _ = writeln!(
            out,
            "  {:<12} {} {}: {}",
            "finding", f.level, f.code, f.message
        );
    }
}

/// The `inspect` screen: one block per target, blank lines between them.
pub fn render(report: &InspectReport) -> String {
    let mut out = String::new();
    for (i, t) in report.targets.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        target(&mut out, t);
    }
    // Subjects, names and notes come from files and servers: no control character (an escape
    // sequence) reaches the terminal; line breaks are the screen's own.
    out.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}
