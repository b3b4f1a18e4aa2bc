//! `report.html` (docs/spec.md §6): one self-contained page a person reads, prints or attaches to a
//! compliance review. No external font, script or image; a strict Content-Security-Policy that
//! allows only the page's own inline style and script.
//!
//! Sections: header (as-of, deadline, cutover, inventory, tool), summary figures, the expiry
//! timeline (inline SVG, [`super::svg`]), the tenant table (worst first; sorting and filtering
//! by a small inline script that works on the rendered rows), per-tenant findings with their
//! remediation, the certificates seen, the remediation playbook grouped by what to do, and
//! the inventory rows that could not be audited.
//!
//! Size: a large fleet repeats the same certificates and the same steps on every tenant. The
//! certificates are listed once each and referenced from the tenants; the steps are written
//! out under each finding only for fleets of up to [`INLINE_STEPS_MAX`] tenants with findings,
//! larger fleets reference the playbook entry (the per-tenant text is in audit.json/csv).
//!
//! Everything that comes from the inventory or a certificate goes through [`escape`].

use super::figures::{self, WORST_FIRST, rank};
use super::playbook::{self, Playbook};
use super::svg;
use super::table::summary_line;
use super::text;
use crate::certificate::CertificateObject;
use crate::checks::Check;
use crate::dates;
use crate::findings::{Level, Target};
use crate::inventory::{Environment, IpsType};
use crate::result::{AuditReport, TenantResult};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Fleets with up to this many tenants with findings get every step under every finding.
pub(crate) const INLINE_STEPS_MAX: usize = 500;
/// Up to this many tenants with findings, their details are open when the page loads.
pub(crate) const OPEN_DETAILS_MAX: usize = 25;
/// A playbook entry names up to this many tenants (worst first); the table filter finds the rest.
pub const PLAYBOOK_TENANTS: usize = 50;
/// The tenant table shows this many matching rows until "Show all" is pressed: laying out a
/// 10,000-row table takes a browser seconds, the first rows (worst first) take nothing. Print
/// shows every row regardless.
pub const PAGE_ROWS: usize = 500;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/report.js");

fn lv(level: Level) -> String {
    format!("<span class=\"lv l{}\">{}</span>", rank(level), level)
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The whole `report.html` page.
pub fn render(report: &AuditReport) -> String {
    // About 1 KiB per tenant; reserving avoids repeated copies of a multi-megabyte string.
    let mut out = String::with_capacity(64 * 1024 + report.tenants.len() * 1200);
    // Writing into a String cannot fail.
    let _ = page(&mut out, report);
    out
}

/// Shared state of one rendering.
struct Ctx<'a> {
    report: &'a AuditReport,
    order: Vec<usize>,
    playbook: Playbook,
    /// sha256 → certificate id (`c1`, `c2`, …) and the certificate it stands for.
    certs: Vec<(&'a CertificateObject, Vec<(usize, Target)>)>,
    cert_id: HashMap<&'a str, usize>,
    with_findings: usize,
}

impl<'a> Ctx<'a> {
    fn new(report: &'a AuditReport) -> Ctx<'a> {
        let order = report.worst_first();
        let mut certs: Vec<(&CertificateObject, Vec<(usize, Target)>)> = Vec::new();
        let mut cert_id: HashMap<&str, usize> = HashMap::new();
        for &ti in &order {
            for c in &report.tenants[ti].certificates {
                let id = *cert_id.entry(c.cert.sha256.as_str()).or_insert_with(|| {
                    certs.push((c, Vec::new()));
                    certs.len() - 1
                });
                certs[id].1.push((ti, c.target));
            }
        }
        let with_findings = report
            .tenants
            .iter()
            .filter(|t| !t.findings.is_empty())
            .count();
        Ctx {
            report,
            order,
            playbook: playbook::build(report),
            certs,
            cert_id,
            with_findings,
        }
    }
}

fn page(out: &mut String, report: &AuditReport) -> std::fmt::Result {
    let cx = Ctx::new(report);
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"{} {}\">\n<title>mTLS rollover audit — as of {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        text::html(&report.tool.name),
        text::html(&report.tool.version),
        dates::date(report.as_of)
    )?;
    header(out, report)?;
    out.push_str("<main>\n");
    summary(out, &cx)?;
    timeline(out, report)?;
    tenant_table(out, &cx)?;
    details(out, &cx)?;
    certificates(out, &cx)?;
    playbook_section(out, &cx)?;
    inventory_errors(out, report)?;
    out.push_str("</main>\n");
    writeln!(
        out,
        "<footer>Generated by {} {} from {}. Levels, lowest to highest: OK &lt; WARN &lt; UNKNOWN &lt; AT_RISK &lt; FAILING; a tenant's risk is its worst finding. The same results are in audit.json and audit.csv.</footer>",
        text::html(&report.tool.name),
        text::html(&report.tool.version),
        text::html(&report.inventory)
    )?;
    write!(out, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n")
}

fn header(out: &mut String, report: &AuditReport) -> std::fmt::Result {
    out.push_str("<header>\n<h1>LMS ↔ SAP Cloud Identity Services mTLS certificate audit</h1>\n<dl class=\"meta\">");
    write!(
        out,
        "<dt>As of</dt><dd id=\"as-of\">{}</dd>",
        dates::datetime(report.as_of)
    )?;
    let anchor = |name: &str, d: Option<chrono::DateTime<chrono::Utc>>| match d {
        Some(d) => format!(
            "<dt>{name}</dt><dd>{} ({})</dd>",
            dates::date(d),
            figures::relative(report.as_of, d)
        ),
        None => format!("<dt>{name}</dt><dd class=\"muted\">not set</dd>"),
    };
    out.push_str(&anchor("Cutover", report.cutover));
    out.push_str(&anchor("Deadline", report.deadline));
    write!(
        out,
        "<dt>Inventory</dt><dd class=\"wrap\">{} ({} rows: {} tenants, {} not audited{})</dd>",
        text::html(&report.inventory),
        report.summary.rows,
        report.summary.tenants,
        report.summary.inventory_errors,
        text::skipped_note(report.summary.skipped_rows)
    )?;
    let s = &report.settings;
    let refs = match s.reference_certs.len() {
        0 => "no reference certificate given (the new certificate was not compared)".to_string(),
        n => format!(
            "{} ({})",
            plural(n as u64, "reference certificate", "reference certificates"),
            s.reference_certs
                .iter()
                .map(|h| format!("sha256 {}…", text::html(&h[..h.len().min(16)])))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    write!(
        out,
        "<dt>Settings</dt><dd>warn at {} days, critical at {} days, sync stale after {} days; fail on {}{}; {}; {}</dd>",
        s.warn_days,
        s.critical_days,
        s.sync_stale_days,
        s.fail_on.map(|l| l.as_str()).unwrap_or("never"),
        if s.allow_unknown {
            " (UNKNOWN allowed)"
        } else {
            ""
        },
        if s.offline {
            "offline (no live checks)"
        } else {
            "live checks where evidence exists"
        },
        refs
    )?;
    writeln!(
        out,
        "<dt>Tool</dt><dd>{} {}</dd></dl>",
        text::html(&report.tool.name),
        text::html(&report.tool.version)
    )?;
    if let Some(banner) = figures::incomplete_banner(report) {
        writeln!(out, "<p class=\"banner\">{}</p>", text::html(&banner))?;
    }
    out.push_str("</header>\n");
    Ok(())
}

fn summary(out: &mut String, cx: &Ctx<'_>) -> std::fmt::Result {
    let report = cx.report;
    let s = &report.summary;
    write!(
        out,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"lead\">{}</p>\n<ul class=\"cards\" id=\"risk-cards\">",
        text::html(&summary_line(report))
    )?;
    for level in WORST_FIRST {
        let n = s.by_risk.get(&level).copied().unwrap_or(0);
        write!(
            out,
            "<li class=\"card l{}\" data-level=\"{level}\"><span class=\"n\">{n}</span>{}</li>",
            rank(level),
            lv(level)
        )?;
    }
    out.push_str("</ul>\n");
    if let Some(neo) = figures::neo_summary(report) {
        writeln!(out, "<p id=\"neo\">{}</p>", text::html(&neo))?;
    }
    let at_risk: u64 = s
        .by_risk
        .iter()
        .filter(|(l, _)| **l >= Level::AtRisk)
        .map(|(_, n)| n)
        .sum();
    if !s.by_impact.is_empty() || at_risk > 0 {
        let parts: Vec<String> = s
            .by_impact
            .iter()
            .map(|(i, n)| {
                format!(
                    "{} ({})",
                    plural(*n, "tenant", "tenants"),
                    match i {
                        crate::findings::Impact::UserSync => "Real Time User Sync",
                        crate::findings::Impact::SiteCreation => "creation of Learning sites",
                    }
                )
            })
            .collect();
        writeln!(
            out,
            "<p>At risk or failing: {}{}.</p>",
            plural(at_risk, "tenant", "tenants"),
            if parts.is_empty() {
                String::new()
            } else {
                format!("; what breaks: {}", parts.join(", "))
            }
        )?;
    }
    // By IPS type and environment: a wide table of its own, above the grid.
    out.push_str("<div class=\"wide\"><h3>By IPS type and environment</h3><table id=\"by-type\"><thead><tr><th>IPS type</th><th>Environment</th><th class=\"n\">Tenants</th>");
    for level in WORST_FIRST {
        write!(out, "<th class=\"n\">{level}</th>")?;
    }
    out.push_str("</tr></thead><tbody>");
    for row in figures::by_type_env(report) {
        write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td>",
            row.ips_type, row.environment, row.total
        )?;
        for level in WORST_FIRST {
            let n = row.by_risk[rank(level)];
            write!(
                out,
                "<td class=\"n{}\">{n}</td>",
                if n == 0 { " z" } else { "" }
            )?;
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n<div class=\"grid\">\n");
    // Check coverage.
    out.push_str("<div><h3>Check coverage</h3><table id=\"coverage\"><thead><tr><th>Check</th><th class=\"n\">Ran on</th><th class=\"n\">Not run</th><th>Coverage</th></tr></thead><tbody>");
    for check in Check::ALL {
        let cov = s.checks.get(&check).copied().unwrap_or_default();
        let applicable = cov.run + cov.not_run;
        if applicable == 0 {
            continue;
        }
        let pct = cov.run as f64 * 100.0 / applicable as f64;
        write!(
            out,
            "<tr data-check=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><div class=\"bar\" title=\"{pct:.0}% of {applicable} tenants where it applies\"><span style=\"width:{pct:.1}%\"></span></div></td></tr>",
            check.as_str(),
            check_label(check),
            cov.run,
            cov.not_run
        )?;
    }
    out.push_str("</tbody></table><p class=\"muted\">A check that had no evidence for a tenant is counted as not run, never as OK.</p></div>\n");
    // Certificates by expiry window.
    let windows = figures::windows(report);
    let counts = figures::expiry_counts(report, &windows);
    out.push_str("<div><h3>Certificates by expiry</h3>");
    if counts.is_empty() {
        out.push_str("<p>No certificate was read.</p>");
    } else {
        out.push_str("<table id=\"by-expiry\"><thead><tr><th>Target</th>");
        for w in &windows {
            write!(out, "<th class=\"n\">{}</th>", text::html(&w.label))?;
        }
        out.push_str("</tr></thead><tbody>");
        for (target, row) in &counts {
            write!(out, "<tr><td>{target}</td>")?;
            for n in row {
                write!(
                    out,
                    "<td class=\"n{}\">{n}</td>",
                    if *n == 0 { " z" } else { "" }
                )?;
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</div>\n</div>\n");
    // By finding code.
    let codes = figures::by_code(report);
    out.push_str("<div><h3>By finding code</h3>");
    if codes.is_empty() {
        out.push_str("<p>No findings.</p>");
    } else {
        out.push_str("<table id=\"by-code\"><thead><tr><th>Code</th><th>Level</th><th class=\"n\">Tenants</th><th class=\"n\">Findings</th><th>Meaning</th></tr></thead><tbody>");
        for row in &codes {
            write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                row.code,
                lv(row.level),
                row.tenants,
                row.findings,
                text::html(row.code.summary())
            )?;
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</div>\n");
    out.push_str("</section>\n");
    Ok(())
}

fn check_label(c: Check) -> &'static str {
    match c {
        Check::IasAdminCert => "IAS admin record certificate",
        Check::IpsInboundCert => "IPS inbound certificate (NEO)",
        Check::Reference => "is the new LMS certificate",
        Check::DeclaredPermissions => "declared permissions",
        Check::IasServer => "IAS server TLS",
        Check::IpsServer => "IPS server TLS",
        Check::Sync => "sync health (SCIM)",
        Check::SyncJob => "IPS job log",
        Check::Mtls => "mTLS acceptance",
        Check::LmsConfig => "LMS IPS settings",
    }
}

fn timeline(out: &mut String, report: &AuditReport) -> std::fmt::Result {
    out.push_str("<section id=\"timeline\">\n<h2>Certificate expiry timeline</h2>\n");
    match svg::timeline(report) {
        Some((chart, binned)) => {
            writeln!(
                out,
                "<p class=\"muted\">{}</p>",
                if binned {
                    "Each bar counts the certificates expiring in that period, stacked by level (worst at the bottom); hover a bar for its counts."
                } else {
                    "One row per certificate: the bar is its validity, the marker its expiry; shape and colour give the level."
                }
            )?;
            out.push_str(&chart);
            out.push('\n');
            out.push_str(&svg::legend(binned));
        }
        None => out.push_str("<p>No certificate was read, so there is no timeline.</p>"),
    }
    out.push_str("\n</section>\n");
    Ok(())
}

fn days_cell(c: Option<&CertificateObject>) -> String {
    match c {
        Some(c) => format!(
            "<td class=\"n\" data-v=\"{}\">{}</td>",
            c.cert.days_left, c.cert.days_left
        ),
        None => "<td class=\"n z\" data-v=\"\">–</td>".to_string(),
    }
}

fn tenant_table(out: &mut String, cx: &Ctx<'_>) -> std::fmt::Result {
    let report = cx.report;
    write!(
        out,
        "<section id=\"tenants\">\n<h2>Tenants</h2>\n<form class=\"controls\" id=\"filters\" role=\"search\" autocomplete=\"off\">"
    )?;
    out.push_str("<label>Risk<select id=\"f-risk\"><option value=\"\">any</option>");
    let at_least: u64 = report
        .summary
        .by_risk
        .iter()
        .filter(|(l, _)| **l >= Level::AtRisk)
        .map(|(_, n)| n)
        .sum();
    write!(
        out,
        "<option value=\"ge3\">AT_RISK or worse ({at_least})</option>"
    )?;
    for level in WORST_FIRST {
        write!(
            out,
            "<option value=\"{}\">{level} ({})</option>",
            rank(level),
            report.summary.by_risk.get(&level).copied().unwrap_or(0)
        )?;
    }
    out.push_str(
        "</select></label><label>IPS type<select id=\"f-ips\"><option value=\"\">any</option>",
    );
    for t in [IpsType::Neo, IpsType::Converged] {
        let n = report.tenants.iter().filter(|x| x.ips_type == t).count();
        write!(out, "<option value=\"{t}\">{t} ({n})</option>")?;
    }
    out.push_str(
        "</select></label><label>Environment<select id=\"f-env\"><option value=\"\">any</option>",
    );
    for e in [Environment::Production, Environment::Preview] {
        let n = report.tenants.iter().filter(|x| x.environment == e).count();
        write!(out, "<option value=\"{e}\">{e} ({n})</option>")?;
    }
    out.push_str(
        "</select></label><label>Finding code<select id=\"f-code\"><option value=\"\">any</option>",
    );
    for row in figures::by_code(report) {
        write!(
            out,
            "<option value=\"{}\">{} ({})</option>",
            row.code, row.code, row.tenants
        )?;
    }
    writeln!(
        out,
        "</select></label><label>Text<input id=\"f-text\" type=\"search\" placeholder=\"tenant, owner, code…\"></label><button type=\"reset\">Reset</button><output id=\"shown\" data-shown=\"{n}\">{n} tenants</output></form>",
        n = report.tenants.len()
    )?;
    write!(
        out,
        "<table id=\"tenant-table\" data-page=\"{PAGE_ROWS}\"><thead><tr>"
    )?;
    // data-dir: the first click sorts risk and findings descending, everything else ascending.
    for (label, dir, class) in [
        ("Risk", -1, ""),
        ("Tenant", 1, ""),
        ("IPS", 1, ""),
        ("Env", 1, ""),
        ("IAS cert days", 1, " class=\"n\""),
        ("IPS cert days", 1, " class=\"n\""),
        ("Findings", -1, ""),
        ("Owner", 1, ""),
    ] {
        write!(
            out,
            "<th{class} data-dir=\"{dir}\"><button type=\"button\" title=\"Sort by {label}\">{label}</button></th>"
        )?;
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (k, &ti) in cx.order.iter().enumerate() {
        row(out, ti, &report.tenants[ti], k >= PAGE_ROWS)?;
    }
    out.push_str("</tbody></table>\n");
    writeln!(
        out,
        "<p class=\"noprint\" id=\"more\"{}><button type=\"button\" id=\"show-all\">Show all matching tenants</button> (the table shows the first {PAGE_ROWS}; print shows all)</p>",
        if report.tenants.len() > PAGE_ROWS {
            ""
        } else {
            " hidden"
        }
    )?;
    if report.tenants.is_empty() {
        out.push_str("<p>No tenant was audited.</p>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

fn row(out: &mut String, ti: usize, t: &TenantResult, paged: bool) -> std::fmt::Result {
    let r = rank(t.risk);
    write!(
        out,
        "<tr data-t=\"{ti}\"{}><td data-v=\"{r}\">{}</td><td>",
        if paged { " class=\"pg\"" } else { "" },
        lv(t.risk)
    )?;
    if t.findings.is_empty() {
        write!(out, "{}", text::html(&t.tenant_id))?;
    } else {
        write!(out, "<a href=\"#t{ti}\">{}</a>", text::html(&t.tenant_id))?;
    }
    write!(
        out,
        "</td><td>{}</td><td>{}</td>{}{}<td class=\"f\" data-v=\"{}\">",
        t.ips_type,
        t.environment,
        days_cell(t.certificate(Target::IasAdminCert)),
        days_cell(t.certificate(Target::IpsInboundCert)),
        t.findings.len()
    )?;
    for f in &t.findings {
        write!(out, "<span>{}@{}</span> ", f.code, f.target)?;
    }
    writeln!(out, "</td><td>{}</td></tr>", text::html(&t.owner))
}

fn details(out: &mut String, cx: &Ctx<'_>) -> std::fmt::Result {
    let report = cx.report;
    let inline = cx.with_findings <= INLINE_STEPS_MAX;
    let open = cx.with_findings <= OPEN_DETAILS_MAX;
    write!(
        out,
        "<section id=\"details\">\n<h2>Findings and remediation by tenant</h2>\n<p class=\"muted\">{} with findings, worst first{}.{}</p>\n",
        plural(cx.with_findings as u64, "tenant", "tenants"),
        match report.tenants.len() - cx.with_findings {
            0 => String::new(),
            n => format!(
                "; {} without findings not listed",
                plural(n as u64, "tenant", "tenants")
            ),
        },
        if inline {
            ""
        } else {
            " Each finding links to its steps in “What to do” below (written for <code>&lt;LMSTenantID&gt;</code>); each tenant's own wording is in audit.json and audit.csv."
        }
    )?;
    for &ti in &cx.order {
        let t = &report.tenants[ti];
        if t.findings.is_empty() {
            continue;
        }
        tenant_details(out, cx, ti, t, inline, open)?;
    }
    out.push_str("</section>\n");
    Ok(())
}

fn tenant_details(
    out: &mut String,
    cx: &Ctx<'_>,
    ti: usize,
    t: &TenantResult,
    inline: bool,
    open: bool,
) -> std::fmt::Result {
    writeln!(
        out,
        "<details class=\"tenant l{}\" id=\"t{ti}\"{}><summary>{} <b>{}</b> · {} · {}{}</summary>",
        rank(t.risk),
        if open { " open" } else { "" },
        lv(t.risk),
        text::html(&t.tenant_id),
        t.ips_type,
        t.environment,
        if t.owner.is_empty() {
            String::new()
        } else {
            format!(" · {}", text::html(&t.owner))
        }
    )?;
    // Facts of the row; what ran is the complement of what did not.
    let mut facts: Vec<String> = vec![format!("line {}", t.line)];
    if !t.ias_url.is_empty() {
        facts.push(format!("IAS {}", text::html(&t.ias_url)));
    }
    if !t.ips_url.is_empty() {
        facts.push(format!("IPS {}", text::html(&t.ips_url)));
    }
    if !t.impacts.is_empty() {
        let list: Vec<&str> = t.impacts.iter().map(|i| i.as_str()).collect();
        facts.push(format!("breaks {}", list.join(", ")));
    }
    if !t.checks_not_run.is_empty() {
        let list: Vec<&str> = t.checks_not_run.iter().map(|c| c.as_str()).collect();
        facts.push(format!("not checked: {}", list.join(", ")));
    }
    for (k, v) in t.extra.iter().filter(|(_, v)| !v.is_empty()) {
        facts.push(format!("{}: {}", text::html(k), text::html(v)));
    }
    write!(out, "<p class=\"muted\">{}</p>", facts.join(" · "))?;
    if !t.certificates.is_empty() {
        out.push_str("<ul class=\"certs\">");
        for c in &t.certificates {
            let id = cx.cert_id.get(c.cert.sha256.as_str()).copied().unwrap_or(0) + 1;
            write!(
                out,
                "<li>{}: {} · expires {} ({} d) · new LMS certificate: {} · <a href=\"#c{id}\">C{id}</a></li>",
                c.target,
                text::html(&c.cert.subject),
                dates::date(c.cert.not_after),
                c.cert.days_left,
                reference_text(c.reference_match)
            )?;
        }
        out.push_str("</ul>");
    }
    out.push_str("<ol class=\"findings\">");
    let groups = cx.playbook.of_finding.get(ti);
    let mut shown_steps: Vec<std::borrow::Cow<'_, str>> = Vec::new();
    for (fi, f) in t.findings.iter().enumerate() {
        write!(
            out,
            "<li>{} <code>{}</code> {}: {}",
            lv(f.level),
            f.code,
            f.target,
            text::html(&f.message)
        )?;
        let gid = groups.and_then(|g| g.get(fi)).map(|g| g + 1);
        if inline && !f.remediation.is_empty() {
            let text = f.remediation.text();
            if shown_steps.contains(&text) {
                out.push_str("<br><span class=\"muted\">Same steps as above.</span>");
            } else {
                out.push_str("<ol class=\"steps\">");
                for step in playbook::step_lines(&text) {
                    write!(out, "<li>{}</li>", text::html(step))?;
                }
                out.push_str("</ol>");
                shown_steps.push(text);
            }
        } else if let Some(g) = gid {
            write!(out, " <a href=\"#p{g}\">steps P{g}</a>")?;
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>\n</details>\n");
    Ok(())
}

fn reference_text(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not compared",
    }
}

fn certificates(out: &mut String, cx: &Ctx<'_>) -> std::fmt::Result {
    if cx.certs.is_empty() {
        return Ok(());
    }
    write!(
        out,
        "<section id=\"certificates\">\n<h2>Certificates seen</h2>\n<p class=\"muted\">{} distinct, by SHA-256 fingerprint, soonest expiry first.</p>\n<table id=\"cert-table\"><thead><tr><th>Id</th><th>Subject / issuer</th><th>Valid</th><th class=\"n\">Days left</th><th>New LMS certificate</th><th>Key, signature, EKU</th><th>SHA-256</th><th class=\"n\">Used by</th></tr></thead><tbody>\n",
        plural(cx.certs.len() as u64, "certificate", "certificates")
    )?;
    let mut order: Vec<usize> = (0..cx.certs.len()).collect();
    order.sort_by_key(|&i| (cx.certs[i].0.cert.not_after, i));
    for i in order {
        let (c, users) = &cx.certs[i];
        let v = &c.cert;
        let ekus = match &v.ekus {
            None => "any use".to_string(),
            Some(list) if list.is_empty() => "none".to_string(),
            Some(list) => list.join(", "),
        };
        let mut targets: Vec<Target> = users.iter().map(|(_, t)| *t).collect();
        targets.sort();
        targets.dedup();
        let mut tenants: Vec<usize> = users.iter().map(|(t, _)| *t).collect();
        tenants.dedup();
        let chain = if c.chain.is_empty() {
            String::new()
        } else {
            format!(
                "<br><span class=\"muted\">chain: {}</span>",
                c.chain
                    .iter()
                    .map(|x| text::html(&x.subject).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ← ")
            )
        };
        writeln!(
            out,
            "<tr id=\"c{id}\"><td>C{id}</td><td class=\"wrap\">{}<br><span class=\"muted\">issuer: {}</span>{chain}<br><span class=\"muted\">serial {}</span></td><td>{} to {}</td><td class=\"n\">{}</td><td>{}</td><td>{}; {}; {}</td><td><code class=\"wrap\">{}</code></td><td class=\"n\">{} ({})</td></tr>",
            text::html(&v.subject),
            text::html(&v.issuer),
            text::html(&v.serial),
            dates::date(v.not_before),
            dates::date(v.not_after),
            v.days_left,
            reference_text(c.reference_match),
            text::html(&v.key.to_string()),
            text::html(&v.signature_algorithm),
            text::html(&ekus),
            text::html(&v.sha256),
            plural(tenants.len() as u64, "tenant", "tenants"),
            targets
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            id = i + 1,
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

fn playbook_section(out: &mut String, cx: &Ctx<'_>) -> std::fmt::Result {
    let groups = &cx.playbook.groups;
    if groups.is_empty() {
        return Ok(());
    }
    write!(
        out,
        "<section id=\"playbook\">\n<h2>What to do</h2>\n<p class=\"muted\">{} grouped by the action they need, worst first. Steps are written for <code>&lt;LMSTenantID&gt;</code>: use each tenant's own ID.</p>\n",
        plural(
            cx.playbook.groups.iter().map(|g| g.findings).sum::<u64>(),
            "finding",
            "findings"
        )
    )?;
    for (i, g) in groups.iter().enumerate() {
        let id = i + 1;
        write!(
            out,
            "<article class=\"play l{}\" id=\"p{id}\"><h3>P{id}. {} {}</h3><p>{}: ",
            rank(g.level),
            lv(g.level),
            text::html(&g.title()),
            plural(g.tenants.len() as u64, "tenant", "tenants")
        )?;
        for (k, &ti) in g.tenants.iter().take(PLAYBOOK_TENANTS).enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            write!(
                out,
                "<a href=\"#t{ti}\">{}</a>",
                text::html(&cx.report.tenants[ti].tenant_id)
            )?;
        }
        if g.tenants.len() > PLAYBOOK_TENANTS {
            write!(
                out,
                " and {} more (filter the tenant table by finding code)",
                g.tenants.len() - PLAYBOOK_TENANTS
            )?;
        }
        out.push_str("</p><ol class=\"steps\">");
        for step in g.step_lines() {
            write!(out, "<li>{}</li>", text::html(step))?;
        }
        out.push_str("</ol></article>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

fn inventory_errors(out: &mut String, report: &AuditReport) -> std::fmt::Result {
    if report.inventory_errors.is_empty() {
        return Ok(());
    }
    write!(
        out,
        "<section id=\"inventory-errors\">\n<h2>Inventory rows not audited</h2>\n<p>{} could not be audited; correct them in the inventory and audit again.</p>\n<table><thead><tr><th class=\"n\">Line</th><th>Code</th><th>Reason</th></tr></thead><tbody>",
        plural(report.inventory_errors.len() as u64, "row", "rows")
    )?;
    for e in &report.inventory_errors {
        write!(
            out,
            "<tr><td class=\"n\">{}</td><td><code>{}</code></td><td class=\"wrap\">{}</td></tr>",
            e.line,
            e.code,
            text::html(&e.message)
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            text::html("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert!(matches!(text::html("plain text – ok"), Cow::Borrowed(_)));
        assert_eq!(text::html("a\u{0}b\u{1b}[31m"), "a\u{FFFD}b\u{FFFD}[31m");
    }

    #[test]
    fn assets_cannot_break_out_of_their_elements() {
        assert!(!SCRIPT.contains("</"), "the script must not contain '</'");
        assert!(!STYLE.contains("</"), "the style must not contain '</'");
    }
}
