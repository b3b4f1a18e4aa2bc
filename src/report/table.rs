//! The terminal table: tenants worst first, coloured only on a terminal, plain when piped.

use super::changes::{cert_text, readiness_text, risk_text, side_line};
use super::text;
use crate::diff::{Change, Diff, TenantChange};
use crate::findings::{Level, Target};
use crate::result::AuditReport;
use comfy_table::{
    Attribute, Cell, Color, ColumnConstraint, ContentArrangement, LineStyle, Table, TableStyle,
    Width, presets,
};
use std::fmt::Write as _;

/// How the terminal table is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// ANSI colours and UTF-8 borders (a terminal without `NO_COLOR`).
    pub color: bool,
    /// Wrap to this many columns; `None` lets rows run as long as they are.
    pub width: Option<u16>,
    /// Show at most this many tenants (worst first); 0 shows all.
    pub limit: usize,
}

impl Options {
    /// Colour on a terminal unless `NO_COLOR` is set; wrap to the terminal's width, or 100
    /// columns when piped so files stay readable.
    pub fn detect(is_terminal: bool, limit: usize) -> Options {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = if is_terminal {
            terminal_width().or(Some(80))
        } else {
            Some(100)
        };
        Options {
            color: is_terminal && !no_color,
            width,
            limit,
        }
    }
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| {
            let t = Table::new();
            t.width()
        })
}

pub(crate) fn level_color(level: Level) -> Color {
    match level {
        Level::Ok => Color::Green,
        Level::Warn => Color::Yellow,
        Level::Unknown => Color::Magenta,
        Level::AtRisk => Color::DarkYellow,
        Level::Failing => Color::Red,
    }
}

fn target_short(t: Target) -> &'static str {
    match t {
        Target::IasAdminCert => "ias",
        Target::IpsInboundCert => "ips",
        Target::IasServer => "ias server",
        Target::IpsServer => "ips server",
        Target::TechUser => "tech user",
        Target::Sync => "sync",
        Target::Inventory => "row",
        Target::Certificate => "cert",
        Target::Run => "run",
        Target::LmsConfig => "lms",
        Target::Server => "server",
    }
}

/// A tenant ID longer than this is cut in the table (the files hold it whole).
const TENANT_WIDTH: usize = 64;

/// Borderless, like `kubectl get`: a rule under the header and a blank line between tenants,
/// so multi-line cells stay readable and lines grep well.
fn style(utf8: bool) -> TableStyle {
    let rule = if utf8 { '─' } else { '-' };
    TableStyle::new()
        .header_separator(LineStyle::none().fill(rule).junction(rule))
        .row_separator(LineStyle::none().fill(' ').junction(' '))
}

/// The owner as the table shows it: a name without its `<e-mail>` when there is a name,
/// cut to 24 characters (the files hold it whole). Control characters become spaces.
fn owner_short(owner: &str) -> String {
    let name = match owner.split_once('<') {
        Some((name, _)) if !name.trim().is_empty() => name.trim(),
        _ => owner.trim(),
    };
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() > 24 {
        let cut: String = clean.chars().take(23).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

/// `yes`, `no` with the places that refuse the next certificate (`no: ips`), or `?`.
fn ready_cell(t: &crate::result::TenantResult) -> String {
    use crate::result::{Place, ReadinessState};
    match t.readiness.state {
        ReadinessState::Ready => "yes".to_string(),
        ReadinessState::Unknown => "?".to_string(),
        ReadinessState::NotReady => {
            let places: Vec<&str> = t
                .readiness
                .missing()
                .into_iter()
                .map(|p| match p {
                    Place::IasAdminRecord => "ias",
                    Place::IpsInbound => "ips",
                })
                .collect();
            format!("NO: {}", places.join(", "))
        }
    }
}

/// Findings grouped by code: `CERT_EXPIRED (ias cert, ips cert)`.
fn findings_cell(t: &crate::result::TenantResult) -> String {
    let mut groups: Vec<(crate::findings::Code, Vec<&'static str>)> = Vec::new();
    for f in &t.findings {
        match groups.iter_mut().find(|(c, _)| *c == f.code) {
            Some((_, targets)) if targets.contains(&target_short(f.target)) => {}
            Some((_, targets)) => targets.push(target_short(f.target)),
            None => groups.push((f.code, vec![target_short(f.target)])),
        }
    }
    if groups.is_empty() {
        return "-".to_string();
    }
    groups
        .iter()
        .map(|(code, targets)| format!("{code} ({})", targets.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The table and the summary below it, ready to print.
pub fn render(report: &AuditReport, opts: &Options) -> String {
    let mut table = Table::new();
    table.load_style(style(opts.color));
    if opts.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    match opts.width {
        Some(w) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let header = [
        "RISK",
        "TENANT",
        "IPS",
        "DAYS LEFT",
        "READY",
        "FINDINGS",
        "OWNER",
    ];
    table.set_header(header.iter().map(|h| {
        let c = Cell::new(h);
        if opts.color {
            c.add_attribute(Attribute::Bold)
        } else {
            c
        }
    }));
    let order = report.worst_first();
    let shown = if opts.limit == 0 {
        order.len()
    } else {
        opts.limit.min(order.len())
    };
    for &i in &order[..shown] {
        let t = &report.tenants[i];
        let mut risk = Cell::new(t.risk.as_str());
        if opts.color {
            risk = risk.fg(level_color(t.risk)).add_attribute(Attribute::Bold);
        }
        // Evidence certificates only; a server's expiry shows through its findings.
        let days = t
            .certificates
            .iter()
            .filter(|c| matches!(c.target, Target::IasAdminCert | Target::IpsInboundCert))
            .map(|c| format!("{} {}", target_short(c.target), c.cert.days_left))
            .collect::<Vec<_>>()
            .join("\n");
        let id = text::terminal_cut(&t.tenant_id, TENANT_WIDTH);
        let tenant = match t.environment {
            crate::inventory::Environment::Production => id,
            crate::inventory::Environment::Preview => format!("{id}\n(preview)"),
        };
        table.add_row(vec![
            risk,
            Cell::new(tenant),
            Cell::new(t.ips_type.as_str()),
            Cell::new(if days.is_empty() {
                "-".to_string()
            } else {
                days
            }),
            Cell::new(ready_cell(t)),
            Cell::new(findings_cell(t)),
            Cell::new(owner_short(&t.owner)),
        ]);
    }
    // Codes must not be broken mid-word at 80 columns: the findings column keeps room for the
    // longest code and its target.
    if let Some(col) = table.column_mut(5) {
        col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(34)));
    }
    let mut out = String::new();
    if !report.tenants.is_empty() {
        out.push_str(&table.trim_fmt());
        out.push('\n');
    }
    if shown < order.len() {
        let rest = &order[shown..];
        let mut counts = [0usize; 5];
        for &i in rest {
            counts[Level::ALL
                .iter()
                .position(|l| *l == report.tenants[i].risk)
                .unwrap_or(0)] += 1;
        }
        let parts: Vec<String> = Level::ALL
            .iter()
            .rev()
            .zip(counts.iter().rev())
            .filter(|(_, n)| **n > 0)
            .map(|(l, n)| format!("{n} {l}"))
            .collect();
        out.push_str(&format!(
            "… and {} more tenant{} not shown ({}); every tenant is in audit.csv and audit.json\n",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" },
            parts.join(", ")
        ));
    }
    for e in &report.inventory_errors {
        out.push_str(&format!(
            "inventory error: {} {}\n",
            e.code,
            text::terminal_cut(&e.message, 300)
        ));
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out.push_str(&super::figures::readiness_line(report));
    out.push('\n');
    out
}

/// `12 tenants: 1 FAILING, 2 AT_RISK, …` with the inventory errors and completeness.
pub fn summary_line(report: &AuditReport) -> String {
    let s = &report.summary;
    let by: Vec<String> = Level::ALL
        .iter()
        .rev()
        .map(|l| format!("{} {l}", s.by_risk.get(l).copied().unwrap_or(0)))
        .collect();
    let mut line = format!(
        "{} tenant{}: {}",
        s.tenants,
        if s.tenants == 1 { "" } else { "s" },
        by.join(", ")
    );
    if s.inventory_errors > 0 {
        line.push_str(&format!(
            "; {} inventory row{} not audited",
            s.inventory_errors,
            if s.inventory_errors == 1 { "" } else { "s" }
        ));
    }
    line.push_str(&text::skipped_note(s.skipped_rows).replacen(',', ";", 1));
    if let Some(banner) = super::figures::incomplete_banner(report) {
        line.push('\n');
        line.push_str(&banner);
    }
    line
}

fn change_color(c: &TenantChange) -> Option<Color> {
    if c.worse {
        return Some(Color::Red);
    }
    match c.change {
        Change::Fixed | Change::Better => Some(Color::Green),
        _ => None,
    }
}

/// The terminal view: the two runs, the changed tenants (worse first) and a summary line.
pub fn diff(diff: &Diff, opts: &Options) -> String {
    let mut out = String::new();
    // The runs' descriptions come from files: nothing in them reaches the terminal raw.
    out.push_str(&text::terminal_cut(&side_line("old", &diff.old), 600));
    out.push('\n');
    out.push_str(&text::terminal_cut(&side_line("new", &diff.new), 600));
    out.push('\n');
    if !diff.changes.is_empty() {
        let mut t = Table::new();
        if opts.color {
            t.load_style(presets::UTF8_FULL_CONDENSED).enforce_styling();
        } else {
            t.load_style(presets::ASCII_FULL_CONDENSED).force_no_tty();
        }
        match opts.width {
            Some(w) => {
                t.set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(w);
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        t.set_header(
            [
                "CHANGE",
                "TENANT",
                "RISK",
                "FINDINGS (+ gained, - lost)",
                "OWNER",
            ]
            .iter()
            .map(|h| {
                let c = Cell::new(h);
                if opts.color {
                    c.add_attribute(Attribute::Bold)
                } else {
                    c
                }
            }),
        );
        let shown = if opts.limit == 0 {
            diff.changes.len()
        } else {
            opts.limit.min(diff.changes.len())
        };
        for c in &diff.changes[..shown] {
            // "!" marks what got worse, so it reads without colour too.
            let mut change = Cell::new(format!(
                "{}{}",
                if c.worse { "! " } else { "" },
                c.change.label()
            ));
            let mut risk = Cell::new(risk_text(c));
            if opts.color {
                if let Some(col) = change_color(c) {
                    change = change.fg(col).add_attribute(Attribute::Bold);
                }
                if let Some(n) = c.new_risk.or(c.old_risk) {
                    risk = risk.fg(level_color(n));
                }
            }
            let mut lines: Vec<String> = c
                .gained
                .iter()
                .map(|k| format!("+ {}", k.label()))
                .collect();
            lines.extend(c.lost.iter().map(|k| format!("- {}", k.label())));
            lines.extend(
                c.level_changed
                    .iter()
                    .map(|l| format!("~ {}@{} {} → {}", l.code, l.target, l.old, l.new)),
            );
            lines.extend(cert_text(c).into_iter().map(|x| format!("~ {x}")));
            lines.extend(readiness_text(c).map(|x| format!("~ {x}")));
            t.add_row(vec![
                change,
                Cell::new(text::terminal_cut(&c.tenant_id, TENANT_WIDTH)),
                risk,
                Cell::new(if lines.is_empty() {
                    "-".to_string()
                } else {
                    lines.join("\n")
                }),
                Cell::new(text::terminal_cut(&c.owner, 40)),
            ]);
        }
        // Finding labels are long words (CODE@target); keep them on one line when there is room.
        if opts.width.is_some() {
            for (i, w) in [(0, 18), (3, 44)] {
                if let Some(col) = t.column_mut(i) {
                    col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(w)));
                }
            }
        }
        out.push_str(&t.to_string());
        out.push('\n');
        if shown < diff.changes.len() {
            let _ = writeln!(
                out,
                "… and {} more changed tenants not shown (--format csv or json lists all)",
                diff.changes.len() - shown
            );
        }
    }
    out.push_str(&diff.summary_line());
    out.push('\n');
    if diff.changes.iter().any(|c| c.worse) {
        out.push_str("(! marks a tenant that got worse)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Options, owner_short, render};
    use crate::result::{AuditReport, Summary, ToolInfo};

    fn empty_report() -> AuditReport {
        AuditReport {
            tool: ToolInfo::this(),
            as_of: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            deadline: None,
            cutover: None,
            inventory: "inv.csv".into(),
            complete: true,
            settings: Default::default(),
            summary: Summary::from_tenants(&[], 0, 0, 0),
            tenants: Vec::new(),
            inventory_errors: Vec::new(),
            shard: None,
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let mut report = empty_report();
        let json = serde_json::json!({"line":2,"tenant_id":"A","ips_type":"neo","environment":"production","owner":"o","risk":"FAILING","impacts":[],"certificates":[],"findings":[]});
        report.tenants.push(serde_json::from_value(json).unwrap());
        let coloured = render(
            &report,
            &Options {
                color: true,
                width: Some(80),
                limit: 0,
            },
        );
        assert!(coloured.contains("\u{1b}["), "{coloured}");
        let plain = render(
            &report,
            &Options {
                color: false,
                width: Some(80),
                limit: 0,
            },
        );
        assert!(!plain.contains('\u{1b}'), "{plain}");
        assert!(plain.lines().all(|l| l.chars().count() <= 80), "{plain}");
    }

    #[test]
    fn owners_are_shortened_for_the_table_only() {
        assert_eq!(
            owner_short("Greta Costa <greta.costa@umbrella.example>"),
            "Greta Costa"
        );
        assert_eq!(owner_short("<ops@x.example>"), "<ops@x.example>");
        assert_eq!(owner_short("a\nb"), "a b");
        assert_eq!(owner_short(&"x".repeat(30)).chars().count(), 24);
    }
}
