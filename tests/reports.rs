//! The reports people read (`report.html`, `report.md`) and `mtls-audit diff`: rendering tests
//! on fixed audit results (hostile strings included), the real binary end to end, and diffs of
//! the same fleet before and after fixes.

use crate::harness::*;
use chrono::{DateTime, Duration, Utc};
use mtls_audit::certificate::{CertificateObject, CertificateView, KeyInfo};
use mtls_audit::checks::Check;
use mtls_audit::findings::{Code, Finding, Impact, Level, Target};
use mtls_audit::inventory::{Environment, InventoryError, IpsType};
use mtls_audit::remediation;
use mtls_audit::report::{html, md};
use mtls_audit::result::{AuditReport, Settings, Summary, TenantFinding, TenantResult, ToolInfo};
use std::collections::BTreeMap;

// ----- Fixed audit results -----

pub(crate) fn deadline() -> DateTime<Utc> {
    as_of() + Duration::days(23)
}

pub(crate) fn cutover() -> DateTime<Utc> {
    as_of() + Duration::days(16)
}

/// A certificate object expiring `days` after the fixed as-of date.
pub(crate) fn cert(
    target: Target,
    subject: &str,
    days: i64,
    reference: Option<bool>,
) -> CertificateObject {
    let not_after = as_of() + Duration::days(days);
    // A fingerprint that differs per subject and expiry, like a real one would.
    let seed = subject.bytes().fold(days as u64 ^ 0x9e37_79b9, |h, b| {
        h.rotate_left(5) ^ b as u64
    });
    CertificateObject {
        target,
        source: format!("certs/{}.pem", subject.len()).into(),
        cert: std::sync::Arc::new(CertificateView {
            subject: subject.to_string(),
            issuer: "CN=SAP Cloud Root CA,O=SAP SE".to_string(),
            serial: format!("{seed:x}"),
            not_before: not_after - Duration::days(365),
            not_after,
            days_left: days,
            sha256: format!("{seed:016x}{:048x}", days.unsigned_abs()),
            sha1: format!("{seed:040x}"),
            key: KeyInfo {
                kind: "EC".to_string(),
                bits: Some(256),
                curve: Some("P-256".to_string()),
            },
            signature_algorithm: "ecdsa-with-SHA256".to_string(),
            ekus: Some(vec!["clientAuth".to_string()]),
        }),
        reference_match: reference,
        chain: Vec::new(),
    }
}

pub(crate) fn finding(code: Code, target: Target, level: Option<Level>, message: &str) -> Finding {
    let f = Finding::new(code, target, message);
    match level {
        Some(l) => f.with_level(l),
        None => f,
    }
}

/// A tenant as the audit would finish it: remediation for its IPS type, risk, impacts.
pub(crate) fn tenant(
    line: u64,
    id: &str,
    ips_type: IpsType,
    environment: Environment,
    owner: &str,
    certificates: Vec<CertificateObject>,
    findings: Vec<Finding>,
) -> TenantResult {
    let ctx = remediation::Context {
        tenant_id: id,
        ips_type,
        ips_source_system_id: Some("lms-source"),
        job_id: None,
        credential: None,
        converged_ips: None,
    };
    let mut findings: Vec<TenantFinding> = findings
        .into_iter()
        .map(|f| {
            let steps = remediation::for_code(f.code, f.target, &ctx);
            TenantFinding::new(f, remediation::Remediation::Text(steps))
        })
        .collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    let risk = findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    let mut impacts: Vec<Impact> = findings
        .iter()
        .filter(|f| f.level >= Level::AtRisk)
        .flat_map(|f| f.impacts.clone())
        .collect();
    impacts.sort();
    impacts.dedup();
    let mut run = vec![Check::IasAdminCert, Check::Reference];
    if ips_type == IpsType::Neo {
        run.push(Check::IpsInboundCert);
    }
    run.sort();
    TenantResult {
        line,
        tenant_id: id.to_string(),
        ips_type,
        environment,
        owner: owner.to_string(),
        owner_email: Vec::new(),
        learning_only_users: None,
        lms_config: Default::default(),
        readiness: Default::default(),
        ias_url: format!("https://{}.accounts.ondemand.com", id.to_lowercase()),
        ips_url: String::new(),
        risk,
        impacts,
        checks_run: run,
        checks_not_run: vec![Check::DeclaredPermissions, Check::IasServer, Check::Sync],
        certificates,
        findings,
        extra: BTreeMap::new(),
    }
}

pub(crate) fn report_of(tenants: Vec<TenantResult>, errors: Vec<InventoryError>) -> AuditReport {
    let rows = (tenants.len() + errors.len()) as u64;
    let summary = Summary::from_tenants(&tenants, rows, errors.len() as u64, 0);
    AuditReport {
        tool: ToolInfo::this(),
        as_of: as_of(),
        deadline: Some(deadline()),
        cutover: Some(cutover()),
        inventory: "fleet/inventory.csv".to_string(),
        complete: true,
        settings: Settings {
            warn_days: 30,
            critical_days: 14,
            sync_stale_days: 7,
            fail_on: Some(Level::AtRisk),
            allow_unknown: false,
            offline: true,
            reference_certs: vec!["ab".repeat(32)],
        },
        summary,
        tenants,
        inventory_errors: errors,
        shard: None,
    }
}

/// Tenant `i` of a synthetic fleet: seven kinds of tenant in turn, expiries spread over a
/// year. Kind is `i % 7`: 0 OK, 1 FAILING (expired), 2 AT_RISK (not the new certificate),
/// 3 WARN, 4 UNKNOWN, 5 AT_RISK (permission), 6 FAILING preview.
pub(crate) fn fleet_tenant(i: usize) -> TenantResult {
    use Code::*;
    use Target::*;
    let id = format!("T{i:05}");
    let line = i as u64 + 2;
    let spread = ((i * 37) % 300) as i64;
    let new = |t| cert(t, "CN=LMS 2025,O=SAP SE", 380 + spread % 20, Some(true));
    let old = |t, d| cert(t, "CN=LMS 2024,O=SAP SE", d, Some(false));
    let owner = format!("team-{}", i % 13);
    let (e, p) = (Environment::Production, Environment::Preview);
    match i % 7 {
        0 => tenant(
            line,
            &id,
            IpsType::Converged,
            e,
            &owner,
            vec![new(IasAdminCert)],
            vec![],
        ),
        1 => tenant(
            line,
            &id,
            IpsType::Neo,
            e,
            &owner,
            vec![old(IasAdminCert, -1 - spread % 40), new(IpsInboundCert)],
            vec![
                finding(CertExpired, IasAdminCert, None, "expired"),
                finding(
                    CertNotReference,
                    IasAdminCert,
                    None,
                    "not the new LMS certificate",
                ),
            ],
        ),
        2 => tenant(
            line,
            &id,
            IpsType::Neo,
            e,
            &owner,
            vec![new(IasAdminCert), old(IpsInboundCert, 20 + spread)],
            vec![finding(
                CertNotReference,
                IpsInboundCert,
                None,
                "not the new LMS certificate",
            )],
        ),
        3 => tenant(
            line,
            &id,
            IpsType::Converged,
            e,
            &owner,
            vec![new(IasAdminCert)],
            vec![finding(
                CertWeakSignature,
                IasAdminCert,
                None,
                "signed with SHA-1",
            )],
        ),
        4 => tenant(
            line,
            &id,
            IpsType::Converged,
            e,
            &owner,
            vec![],
            vec![finding(
                CertUnreadable,
                IasAdminCert,
                None,
                "certs/x.pem: the file does not exist",
            )],
        ),
        5 => tenant(
            line,
            &id,
            IpsType::Converged,
            e,
            &owner,
            vec![new(IasAdminCert)],
            vec![finding(
                TechUserMissingPermission,
                TechUser,
                None,
                "'Read Users' is not among the permissions declared",
            )],
        ),
        _ => tenant(
            line,
            &id,
            IpsType::Neo,
            p,
            &owner,
            vec![new(IasAdminCert), old(IpsInboundCert, -5)],
            vec![
                finding(CertExpired, IpsInboundCert, None, "expired"),
                finding(
                    CertNotReference,
                    IpsInboundCert,
                    Some(Level::Failing),
                    "not the new LMS certificate",
                ),
            ],
        ),
    }
}

pub(crate) fn fleet(n: usize) -> AuditReport {
    report_of((0..n).map(fleet_tenant).collect(), Vec::new())
}

pub(crate) const HOSTILE_OWNER: &str = "Mallory <script>document.documentElement.setAttribute('data-pwned','owner')</script> | `x` *y*";
pub(crate) const HOSTILE_SUBJECT: &str = "CN=<script>document.documentElement.setAttribute('data-pwned','subject')</script>,O=Evil | Corp";
pub(crate) const HOSTILE_ID: &str = "EVIL<img src=x onerror=alert(1)>";

/// A small fleet with one tenant whose strings try to inject markup everywhere they appear.
pub(crate) fn hostile_fleet() -> AuditReport {
    let mut tenants: Vec<TenantResult> = (0..9).map(fleet_tenant).collect();
    let mut evil = tenant(
        20,
        HOSTILE_ID,
        IpsType::Neo,
        Environment::Production,
        HOSTILE_OWNER,
        vec![cert(Target::IasAdminCert, HOSTILE_SUBJECT, 10, Some(false))],
        vec![finding(
            Code::CertExpiresCritical,
            Target::IasAdminCert,
            None,
            &format!("expires in 10 days: {HOSTILE_SUBJECT}\nsecond line"),
        )],
    );
    evil.extra.insert(
        "note<b>".to_string(),
        "<iframe src=\"https://evil.example\"></iframe>".to_string(),
    );
    tenants.push(evil);
    let errors = vec![InventoryError {
        line: 21,
        code: Code::InventoryInvalidRow,
        message: "unknown ips_type '<script>x</script>'".to_string(),
    }];
    let mut r = report_of(tenants, errors);
    r.inventory = "inv<script>.csv".to_string();
    r
}

// ----- HTML -----

/// `target/test-artifacts/`, where tests leave files worth a look (reports, screenshots).
pub(crate) fn artifacts() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn html_escapes_everything_from_the_inventory_and_certificates() {
    let page = html::render(&hostile_fleet());
    // Exactly one script element: the page's own.
    assert_eq!(count(&page, "<script"), 1, "a script element was injected");
    assert!(!page.contains("<img"), "an img element was injected");
    assert!(!page.contains("<iframe"), "an iframe was injected");
    assert!(
        !page.contains("note<b>"),
        "an extra column name was not escaped"
    );
    assert!(page.contains("note&lt;b&gt;: &lt;iframe"));
    assert!(page.contains("Mallory &lt;script&gt;document.documentElement.setAttribute(&#39;data-pwned&#39;,&#39;owner&#39;)&lt;/script&gt;"));
    assert!(
        page.contains("CN=&lt;script&gt;"),
        "the subject is shown, escaped"
    );
    assert!(page.contains("EVIL&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("unknown ips_type &#39;&lt;script&gt;x&lt;/script&gt;&#39;"));
    assert!(page.contains("inv&lt;script&gt;.csv"));
}

#[test]
fn html_is_self_contained_with_a_strict_policy() {
    let page = html::render(&fleet(30));
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    ));
    for banned in [
        "<link",
        " src=",
        "@import",
        "url(http",
        "@font-face",
        "<iframe",
        "<object",
    ] {
        assert!(!page.contains(banned), "the page loads something: {banned}");
    }
    // The only URL is the SVG namespace, which is a name, not a fetch.
    let urls: Vec<&str> = page
        .match_indices("http://")
        .chain(page.match_indices("https://"))
        .map(|(i, _)| &page[i..(i + 40).min(page.len())])
        .filter(|u| !u.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(
        urls.iter().all(|u| u.contains(".accounts.ondemand.com")),
        "unexpected URLs: {urls:?}"
    );
}

#[test]
fn html_has_header_summary_timeline_table_and_details() {
    let r = fleet(14);
    let page = html::render(&r);
    // Header.
    assert!(page.contains("<dd id=\"as-of\">2025-07-15 00:00 UTC</dd>"));
    assert!(page.contains("<dt>Deadline</dt><dd>2025-08-07 (in 23 days)</dd>"));
    assert!(page.contains("<dt>Cutover</dt><dd>2025-07-31 (in 16 days)</dd>"));
    assert!(page.contains("fleet/inventory.csv"));
    assert!(page.contains(&format!("mtls-audit {}", env!("CARGO_PKG_VERSION"))));
    // Summary figures: 14 tenants, two of each kind; FAILING = kinds 1 and 6.
    assert!(
        page.contains("data-level=\"FAILING\"><span class=\"n\">4</span>"),
        "risk cards"
    );
    assert!(page.contains("id=\"by-type\""));
    assert!(page.contains("<tr><td>neo</td><td>preview</td><td class=\"n\">2</td>"));
    assert!(page.contains("id=\"by-code\""));
    assert!(page.contains("<tr data-check=\"ias_admin_cert\"><td>IAS admin record certificate</td><td class=\"n\">14</td>"));
    // Timeline: one row per certificate for a small fleet, as SVG.
    let certs: usize = r.tenants.iter().map(|t| t.certificates.len()).sum();
    assert!(page.contains(&format!("data-certificates=\"{certs}\"")));
    assert_eq!(count(&page, "<g class=\"c\">"), certs);
    assert!(page.contains("deadline 2025-08-07") && page.contains("cutover 2025-07-31"));
    // Table: every tenant, worst first.
    assert_eq!(count(&page, "<tr data-t="), 14);
    let first = page.find("<tr data-t=").unwrap();
    assert!(
        page[first..].starts_with("<tr data-t=\"1\" data-ready=\"unknown\"><td data-v=\"4\">"),
        "worst first: {}",
        &page[first..first + 80]
    );
    // Details for each tenant with findings, with the steps for its IPS type inline.
    let with_findings = r.tenants.iter().filter(|t| !t.findings.is_empty()).count();
    assert_eq!(count(&page, "<details class=\"tenant"), with_findings);
    assert!(page.contains("Inbound Certificates → Import"), "NEO steps");
    assert!(
        page.contains("Configure System Authentication → Certificate → Browse"),
        "converged steps"
    );
    assert!(
        page.contains("named like &#39;SAP LMS – T00002&#39;"),
        "steps name the tenant's admin record"
    );
    // Playbook groups the same action across tenants.
    assert!(page.contains("id=\"p1\""));
    // Printing hides the controls and shows every row.
    assert!(page.contains("@media print{\n  form.controls,.noprint{display:none!important}\n  tr.off,tr.pg{display:table-row!important}"));
}

#[test]
fn html_levels_read_without_colour() {
    let page = html::render(&fleet(7));
    // Every level badge carries its name; the legend names each level next to its shape.
    for level in ["FAILING", "AT_RISK", "UNKNOWN", "WARN", "OK"] {
        assert!(
            page.contains(&format!("\">{level}</span>")),
            "{level} badge"
        );
        assert!(
            page.contains(&format!("</svg> {level}</li>")),
            "{level} legend"
        );
    }
}

#[test]
fn html_for_ten_thousand_tenants_is_binned_deduplicated_and_fast() {
    let r = fleet(10_000);
    let started = std::time::Instant::now();
    let page = html::render(&r);
    let took = started.elapsed();
    let dir = artifacts();
    std::fs::write(dir.join("report-10k.html"), &page).unwrap();
    let started = std::time::Instant::now();
    let text = md::render(&r);
    let md_took = started.elapsed();
    let json = serde_json::to_vec(&r).unwrap().len();
    eprintln!(
        "10,000 tenants: report.html {} bytes in {took:?}, report.md {} bytes in {md_took:?} (audit.json of the same: {json} bytes)",
        page.len(),
        text.len(),
    );
    // The chart aggregates: a few hundred shapes, not one per certificate.
    assert!(page.contains("<pattern id=\"mtla-p4\""), "binned chart");
    assert_eq!(count(&page, "<g class=\"c\">"), 0);
    assert!(count(&page, "<rect ") < 2_000);
    // All tenants are in the table.
    assert_eq!(count(&page, "<tr data-t="), 10_000);
    // Steps are written once per action, not once per tenant.
    assert!(count(&page, "Download the new LMS certificate") < 20);
    assert!(page.contains("<a href=\"#p2\">steps P2</a>"));
    // The table lays out the first rows only; the rest wait for "Show all" (print shows all).
    assert_eq!(
        count(&page, "<tr data-t=") - count(&page, "class=\"pg\""),
        html::PAGE_ROWS
    );
    // Certificates are listed once each.
    assert!(count(&page, "<tr id=\"c") < 1_000);
    assert!(page.len() < 12 * 1024 * 1024, "{} bytes", page.len());
}

#[test]
fn an_interrupted_run_says_so() {
    let mut r = fleet(3);
    r.complete = false;
    // One sentence, the same in every report (the reports once said different things).
    let sentence = "INCOMPLETE: the run was interrupted. Every tenant is listed; 0 whose checks did not finish are UNKNOWN (CHECK_NOT_FINISHED), not OK. Audit again for a complete result.";
    let page = html::render(&r);
    assert!(
        page.contains(&format!("<p class=\"banner\">{sentence}</p>")),
        "{page}"
    );
    let text = md::render(&r);
    assert!(text.contains(&format!("> **{sentence}**")), "{text}");
    let table = mtls_audit::report::table::summary_line(&r);
    assert!(table.ends_with(sentence), "{table}");
}

#[test]
fn html_renders_an_empty_audit() {
    let page = html::render(&report_of(Vec::new(), Vec::new()));
    assert!(page.contains("No tenant was audited."));
    assert!(page.contains("No certificate was read"));
    assert!(page.ends_with("</html>\n"));
}

// ----- Markdown -----

#[test]
fn md_lists_tenants_at_risk_with_codes_and_owners_and_groups_steps() {
    let r = fleet(14);
    let text = md::render(&r);
    assert!(text.starts_with("# LMS ↔ IAS/IPS mTLS certificate audit, as of 2025-07-15\n"));
    assert!(text.contains("- **Deadline:** 2025-08-07 (in 23 days)"));
    assert!(text.contains("**14 tenants: 4 FAILING, 4 AT_RISK, 2 UNKNOWN, 2 WARN, 2 OK**"));
    let at_risk_section = text
        .split("## Tenants at risk or worse (8)")
        .nth(1)
        .expect("section with the count")
        .split("\n## ")
        .next()
        .unwrap();
    // FAILING and AT_RISK tenants are there with codes and owners; OK/WARN/UNKNOWN are not.
    assert!(at_risk_section.contains(
        "| FAILING | T00001 | neo | production | team-1 | `CERT_EXPIRED` ias_admin_cert"
    ));
    assert!(at_risk_section.contains("| AT_RISK | T00005 | converged | production | team-5 | `TECH_USER_MISSING_PERMISSION` tech_user |"));
    for ok in ["T00000", "T00003", "T00004"] {
        assert!(!at_risk_section.contains(ok), "{ok} is not at risk");
    }
    // Steps grouped by action: the NEO inbound import is one group for all NEO tenants.
    let what = text.split("## What to do").nth(1).expect("steps section");
    assert_eq!(count(what, "Inbound Certificates → Import"), 1, "{what}");
    assert!(
        what.contains("Tenants: T00006, T00013, T00002, T00009"),
        "{what}"
    );
}

#[test]
fn md_escapes_hostile_strings_and_keeps_tables_intact() {
    let text = md::render(&hostile_fleet());
    assert!(!text.contains("<script"), "raw markup in Markdown");
    assert!(!text.contains("<img"));
    let row = text
        .lines()
        .find(|l| l.contains("EVIL"))
        .expect("the hostile tenant is listed");
    // Six cells: seven unescaped pipes, none from the owner's text.
    let unescaped = row
        .match_indices('|')
        .filter(|(i, _)| !row[..*i].ends_with('\\'))
        .count();
    assert_eq!(unescaped, 7, "{row}");
    assert!(row.contains("Mallory &lt;script&gt;"));
    assert!(row.contains("\\| \\`x\\` \\*y\\*"));
    assert!(
        text.contains(
            "| 21 | `INVENTORY_INVALID_ROW` | unknown ips_type '&lt;script&gt;x&lt;/script&gt;' |"
        ),
        "{text}"
    );
}

// ----- The real binary -----

/// A small inventory with rcgen certificates: the new certificate (reference), the old one
/// expiring before the deadline, a missing file, and hostile text.
fn fleet_dir() -> TestDir {
    let t = TestDir::new();
    let ca = ca();
    let new = client_cert(&ca, "LMS 2025", -10, 355);
    let old = client_cert(&ca, "LMS 2024", -345, 20);
    t.write("certs/new.pem", &new.cert_pem);
    t.write("certs/old.pem", &old.cert_pem);
    t.write("reference.pem", &new.cert_pem);
    write_inventory(&t, false);
    t
}

/// The inventory before the fixes, or after ACME01 and INITECH got the new certificate.
fn write_inventory(t: &TestDir, fixed: bool) {
    let (acme, initech) = if fixed {
        ("certs/new.pem", "certs/new.pem")
    } else {
        ("certs/old.pem", "certs/missing.pem")
    };
    t.write(
        "inv.csv",
        format!(
            "tenant_id,ips_type,environment,ias_admin_cert,ips_inbound_cert,tech_user_permissions,owner\n\
             ACME01,neo,production,{acme},{acme},Read Users;Access Real-Time Provisioning API,\"Jane <script>alert(1)</script> | ops\"\n\
             GLOBEX,converged,preview,certs/new.pem,,Read Users;Access Real-Time Provisioning API,bob@globex.example\n\
             INITECH,converged,,{initech},,Read Users;Access Real-Time Provisioning API,\n\
             UMBRELLA,neo,,certs/new.pem,certs/new.pem,Read Users,\n"
        ),
    );
}

fn audit(t: &TestDir, out: &str) -> Run {
    t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--as-of",
        AS_OF,
        "--deadline",
        "2025-08-07",
        "--cutover",
        "2025-07-31",
        "--reference-cert",
        "reference.pem",
        "--format",
        "html,md,csv,json",
        "--out",
        out,
    ])
}

#[test]
fn audit_writes_html_and_md_from_real_certificates() {
    let t = fleet_dir();
    audit(&t, "out").expect_code(1);
    let page = t.read("out/report.html");
    let text = t.read("out/report.md");
    assert!(t.join("out/audit.csv").exists() && t.join("out/audit.json").exists());
    assert_eq!(count(&page, "<tr data-t="), 4, "every tenant in the table");
    assert_eq!(count(&page, "<script"), 1);
    assert!(page.contains("Jane &lt;script&gt;alert(1)&lt;/script&gt; | ops"));
    assert!(
        page.contains("CN=LMS 2024"),
        "subjects from the rcgen certificates"
    );
    assert!(page.contains("id=\"timeline-svg\""));
    assert!(page.contains("CERT_EXPIRES_BEFORE_DEADLINE"));
    assert!(text.contains("| AT_RISK | ACME01 | neo | production | Jane &lt;script&gt;alert(1)&lt;/script&gt; \\| ops |"), "{text}");
    assert!(text.contains("`CERT_UNREADABLE`"));
    assert!(!text.contains("| OK | GLOBEX"));
}

// ----- diff -----

#[test]
fn diff_before_and_after_fixes() {
    let before = fleet_dir();
    audit(&before, "before").expect_code(1);
    write_inventory(&before, true);
    audit(&before, "after").expect_code(1); // UMBRELLA still lacks a permission.
    std::fs::copy(before.join("after/audit.json"), before.join("after.json")).unwrap();

    // Fixes only: exit 0, the fixed tenants named.
    let r = before.run(&["diff", "before/audit.json", "after.json"]);
    r.expect_code(0);
    let out = r.stdout();
    assert!(out.contains("old: before/audit.json"), "{}", r.describe());
    assert!(
        out.lines()
            .any(|l| l.contains("fixed") && l.contains("ACME01")),
        "{}",
        r.describe()
    );
    assert!(
        out.lines()
            .any(|l| l.contains("better") && l.contains("INITECH")),
        "{}",
        r.describe()
    );
    assert!(
        !out.contains("UMBRELLA"),
        "unchanged tenants are not listed\n{out}"
    );
    assert!(out.contains("nothing got worse"));
    assert!(!out.contains('\u{1b}'), "plain when piped");

    // The other way round everything that was fixed got worse: exit 1.
    let r = before.run(&["diff", "after.json", "before/audit.json"]);
    r.expect_code(1);
    assert!(r.stdout().contains("WORSE"), "{}", r.describe());
    assert!(r.stdout().contains("! newly at risk"), "{}", r.describe());

    // JSON: the same verdict as data.
    let r = before.run(&[
        "diff",
        "after.json",
        "before/audit.json",
        "--format",
        "json",
    ]);
    r.expect_code(1);
    let j = r.json();
    assert_eq!(j["worse"], true);
    assert_eq!(j["summary"]["newly_at_risk"], 1, "{j:#}");
    let acme = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant_id"] == "ACME01")
        .expect("ACME01 changed");
    assert_eq!(acme["change"], "newly_at_risk");
    assert_eq!(acme["old_risk"], "WARN"); // a NEO tenant: IPS_NEO_RETIRING
    assert_eq!(acme["new_risk"], "AT_RISK");
    let gained: Vec<&str> = acme["gained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    assert!(gained.contains(&"CERT_NOT_REFERENCE"), "{gained:?}");
    assert!(!acme["certificates"].as_array().unwrap().is_empty());

    // CSV: one row per changed tenant, injection-safe.
    let r = before.run(&["diff", "after.json", "before/audit.json", "--format", "csv"]);
    r.expect_code(1);
    let csv = r.stdout();
    assert!(csv.starts_with("change,worse,tenant_id,"));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("newly_at_risk,yes,ACME01,neo,production,")),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "header + ACME01 + INITECH\n{csv}");

    // Markdown: escaped owner, worse section first.
    let r = before.run(&["diff", "after.json", "before/audit.json", "--format", "md"]);
    r.expect_code(1);
    let text = r.stdout();
    assert!(text.contains("## Got worse (2)"), "{text}");
    assert!(text.contains("Jane &lt;script&gt;alert(1)&lt;/script&gt; \\| ops"));
}

#[test]
fn diff_reads_a_minimal_spec_only_audit_json_from_another_version() {
    let t = TestDir::new();
    // Only the docs/spec.md §6 fields, from a "future" version with a code and a field we do not know.
    t.write(
        "old.json",
        r#"{"tool":{"name":"mtls-audit","version":"0.0.9"},"as_of":"2025-07-01T00:00:00Z","deadline":null,
            "inventory":"inv.csv","summary":{"by_risk":{"OK":2},"by_code":{}},
            "tenants":[
              {"line":2,"tenant_id":"A","ips_type":"neo","environment":"production","owner":"x","risk":"OK",
               "impacts":[],"certificates":[],"findings":[],"extra":{}},
              {"line":3,"tenant_id":"B","ips_type":"converged","environment":"production","owner":"","risk":"OK",
               "impacts":[],"certificates":[],"findings":[],"extra":{}}],
            "inventory_errors":[]}"#,
    );
    t.write(
        "new.json",
        r#"{"tool":{"name":"mtls-audit","version":"9.0.0"},"as_of":"2025-07-15T00:00:00Z",
            "inventory":"inv.csv","summary":{},"brand_new_section":{"x":1},
            "tenants":[
              {"line":2,"tenant_id":"A","ips_type":"neo","environment":"production","owner":"x","risk":"AT_RISK",
               "impacts":["user_sync"],"certificates":[],"extra":{},"confidence":0.9,
               "findings":[{"code":"CERT_QUANTUM_WEAK","target":"ias_admin_cert","level":"AT_RISK","impacts":[],
                            "message":"m","remediation":"r"}]},
              {"line":3,"tenant_id":"B","ips_type":"converged","risk":"OK","findings":[]}],
            "inventory_errors":[]}"#,
    );
    let r = t.run(&["diff", "old.json", "new.json"]);
    r.expect_code(1);
    assert!(
        r.stdout().contains("CERT_QUANTUM_WEAK@ias_admin_cert"),
        "{}",
        r.describe()
    );
    assert!(
        r.stderr()
            .contains("different tool versions (0.0.9 and 9.0.0)"),
        "{}",
        r.describe()
    );
    assert!(r.stderr().contains("CERT_QUANTUM_WEAK"), "{}", r.describe());
    // The same file against itself: nothing changed.
    t.run(&["diff", "new.json", "new.json"]).expect_code(0);
}

#[test]
fn diff_of_unreadable_input_is_exit_2_and_names_the_file() {
    let t = TestDir::new();
    t.write("good.json", r#"{"tenants":[]}"#);
    t.write("broken.json", "{\"tenants\": [");
    t.write("other.json", r#"{"targets":[]}"#);
    let r = t.run(&["diff", "good.json", "missing.json"]);
    r.expect_code(2);
    assert!(r.stderr().contains("missing.json"), "{}", r.describe());
    let r = t.run(&["diff", "broken.json", "good.json"]);
    r.expect_code(2);
    assert!(
        r.stderr().contains("broken.json") && r.stderr().contains("invalid JSON"),
        "{}",
        r.describe()
    );
    let r = t.run(&["diff", "good.json", "other.json"]);
    r.expect_code(2);
    assert!(
        r.stderr().contains("other.json") && r.stderr().contains("no \"tenants\" list"),
        "{}",
        r.describe()
    );
    t.run(&["diff", "good.json", "good.json"]).expect_code(0);
}

/// Readiness (docs/spec.md §8) in every report and in `diff`: the headline "ready for cutover:
/// N of M", the not-ready list with the places that refuse, the breakdown, the filter, the CSV
/// columns, the table's READY column; and `diff` counts tenants that became ready or stopped
/// being ready (the latter is worse).
#[test]
fn readiness_in_every_report_and_in_diff() {
    use mtls_audit::diff;
    use mtls_audit::report::{csv, json, table};
    use mtls_audit::result::{Place, PlaceState, Readiness, ReadinessSource};
    let with = |mut t: TenantResult, f: &dyn Fn(Place) -> PlaceState| {
        t.readiness = Readiness::of(t.ips_type, ReadinessSource::Probe, f);
        t
    };
    let mk = |ready_b: bool, neo_ready: bool| {
        let a = with(
            tenant(
                2,
                "READY1",
                IpsType::Converged,
                Environment::Production,
                "a",
                vec![],
                vec![],
            ),
            &|_| PlaceState::Accepted,
        );
        let b = with(
            tenant(
                3,
                "HALFNEO",
                IpsType::Neo,
                Environment::Preview,
                "b",
                vec![],
                vec![],
            ),
            &move |p| match p {
                Place::IpsInbound if !neo_ready => PlaceState::Rejected,
                _ => PlaceState::Accepted,
            },
        );
        let c = with(
            tenant(
                4,
                "NOIDEA",
                IpsType::Converged,
                Environment::Production,
                "c",
                vec![],
                vec![],
            ),
            &move |_| {
                if ready_b {
                    PlaceState::Accepted
                } else {
                    PlaceState::Unknown
                }
            },
        );
        report_of(vec![a, b, c], vec![])
    };
    let old = mk(false, false);
    let md = md::render(&old);
    assert!(
        md.contains("ready for cutover: 1 of 3 (1 not ready, 1 unknown)"),
        "{md}"
    );
    assert!(
        md.lines()
            .any(|l| l.contains("HALFNEO") && l.contains("IPS inbound")),
        "{md}"
    );
    let html = html::render(&old);
    assert!(html.contains("ready for cutover: 1 of 3"), "no headline");
    assert!(html.contains("id=\"f-ready\""), "no readiness filter");
    assert_eq!(count(&html, "data-ready=\"not_ready\""), 1);
    assert_eq!(count(&html, "data-ready=\"ready\""), 1);
    let mut out = Vec::new();
    csv::write(&old, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"readiness") && header.contains(&"readiness_places"));
    assert!(
        text.lines().any(|l| l.contains("HALFNEO")
            && l.contains("not_ready,ias_admin_record=accepted;ips_inbound=rejected")),
        "{text}"
    );
    let tbl = table::render(
        &old,
        &table::Options {
            color: false,
            width: None,
            limit: 0,
        },
    );
    assert!(tbl.contains("READY"), "{tbl}");

    // HALFNEO imports the certificate into IPS and NOIDEA is found ready: both became ready.
    let new = mk(true, true);
    let as_run = |r: &AuditReport, name: &str| {
        let mut b = Vec::new();
        json::write(r, &mut b).unwrap();
        diff::parse(name, &b).unwrap()
    };
    let d = diff::compare(&as_run(&old, "old"), &as_run(&new, "new"));
    assert_eq!(d.summary.became_ready, 2, "{:?}", d.summary);
    assert_eq!(d.summary.no_longer_ready, 0);
    assert!(!d.worse);
    // And back: a tenant that stops being ready is worse.
    let d = diff::compare(&as_run(&new, "new"), &as_run(&old, "old"));
    assert_eq!(d.summary.no_longer_ready, 2, "{:?}", d.summary);
    assert!(d.worse);
    let md = md::render_diff(&d);
    assert!(md.contains("HALFNEO"), "{md}");
}
