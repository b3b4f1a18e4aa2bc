//! The terminal table: tenants worst first, coloured only on a terminal, plain when piped.

use crate::findings::{Level, Target};
use crate::result::AuditReport;
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};

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

pub fn level_color(level: Level) -> Color {
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
        Target::IasAdminCert => "ias cert",
        Target::IpsInboundCert => "ips cert",
        Target::IasServer => "ias server",
        Target::IpsServer => "ips server",
        Target::TechUser => "tech user",
        Target::Sync => "sync",
        Target::Inventory => "inventory",
        Target::Certificate => "certificate",
        Target::Server => "server",
    }
}

/// The table and the summary below it, ready to print.
pub fn render(report: &AuditReport, opts: &Options) -> String {
    let mut table = Table::new();
    if opts.color {
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            .enforce_styling();
    } else {
        table
            .load_style(presets::ASCII_FULL_CONDENSED)
            .force_no_tty();
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
        "ENV",
        "DAYS LEFT",
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
        let days = t
            .certificates
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    target_short(c.target).trim_end_matches(" cert"),
                    c.cert.days_left
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let findings = if t.findings.is_empty() {
            "-".to_string()
        } else {
            t.findings
                .iter()
                .map(|f| format!("{} ({})", f.code, target_short(f.target)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        table.add_row(vec![
            risk,
            Cell::new(&t.tenant_id),
            Cell::new(t.ips_type.as_str()),
            Cell::new(t.environment.as_str()),
            Cell::new(if days.is_empty() {
                "-".to_string()
            } else {
                days
            }),
            Cell::new(findings),
            Cell::new(&t.owner),
        ]);
    }
    let mut out = String::new();
    if !report.tenants.is_empty() {
        out.push_str(&table.to_string());
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
        out.push_str(&format!("inventory error: {} {}\n", e.code, e.message));
    }
    out.push_str(&summary_line(report));
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
    if !report.complete {
        line.push_str("; INCOMPLETE: the run was interrupted");
    }
    line
}
