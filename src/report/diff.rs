//! Renderers of a run-to-run [`Diff`]: the terminal table (same conventions as
//! [`super::table`]: colour only on a terminal without `NO_COLOR`), CSV, JSON and Markdown.

use super::table::{Options, level_color};
use super::text;
use crate::diff::{Change, Diff, FindingKey, Side, TenantChange};
use crate::findings::Level;
use comfy_table::{
    Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width, presets,
};
use std::fmt::Write as _;
use std::io::Write;

fn risk_text(c: &TenantChange) -> String {
    let s = |l: Option<Level>| l.map(|l| l.as_str()).unwrap_or("-");
    match (c.old_risk, c.new_risk) {
        (Some(o), Some(n)) if o == n => o.as_str().to_string(),
        (o, n) => format!("{} → {}", s(o), s(n)),
    }
}

fn keys(list: &[FindingKey]) -> Vec<String> {
    list.iter().map(|k| k.label()).collect()
}

/// Gained findings, level changes as `CODE@target A → B`, and replaced certificates.
fn gained_text(c: &TenantChange) -> Vec<String> {
    let mut v = keys(&c.gained);
    v.extend(
        c.level_changed
            .iter()
            .map(|l| format!("{}@{} {} → {}", l.code, l.target, l.old, l.new)),
    );
    v
}

fn cert_text(c: &TenantChange) -> Vec<String> {
    c.certificates
        .iter()
        .map(|x| match (&x.old_sha256, &x.new_sha256) {
            (None, _) => format!("{}: certificate added", x.target),
            (_, None) => format!("{}: certificate gone", x.target),
            _ => format!("{}: other certificate", x.target),
        })
        .collect()
}

fn side_line(label: &str, s: &Side) -> String {
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
pub fn table(diff: &Diff, opts: &Options) -> String {
    let mut out = String::new();
    out.push_str(&side_line("old", &diff.old));
    out.push('\n');
    out.push_str(&side_line("new", &diff.new));
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
            t.add_row(vec![
                change,
                Cell::new(text::terminal(&c.tenant_id)),
                risk,
                Cell::new(if lines.is_empty() {
                    "-".to_string()
                } else {
                    lines.join("\n")
                }),
                Cell::new(text::terminal(&c.owner)),
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

pub const CSV_HEADER: [&str; 13] = [
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
pub fn write_csv(diff: &Diff, w: &mut dyn Write) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(CSV_HEADER)?;
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

pub fn write_json(diff: &Diff, w: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, diff)?;
    w.write_all(b"\n")
}

/// For a ticket: the two runs, the summary, what got worse and what got better.
pub fn markdown(diff: &Diff) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = md_body(&mut out, diff);
    out
}

fn md_body(out: &mut String, diff: &Diff) -> std::fmt::Result {
    writeln!(out, "# mtls-audit: changes between two runs\n")?;
    for (label, s) in [("Old", &diff.old), ("New", &diff.new)] {
        writeln!(
            out,
            "- **{label}:** {} — {} {}, as of {}, {} tenants",
            text::markdown(&s.path),
            text::markdown(s.tool.as_deref().unwrap_or("unknown tool")),
            text::markdown(s.version.as_deref().unwrap_or("unknown version")),
            text::markdown(s.as_of.as_deref().unwrap_or("unknown")),
            s.tenants
        )?;
    }
    writeln!(out, "\n**{}**", text::markdown(&diff.summary_line()))?;
    out.push_str("\n| Risk | Old | New |\n|---|---:|---:|\n");
    for level in super::figures::WORST_FIRST {
        writeln!(
            out,
            "| {level} | {} | {} |",
            diff.old.by_risk.get(&level).copied().unwrap_or(0),
            diff.new.by_risk.get(&level).copied().unwrap_or(0)
        )?;
    }
    let sections: [(&str, bool); 2] = [("Got worse", true), ("Other changes", false)];
    for (title, worse) in sections {
        let rows: Vec<&TenantChange> = diff.changes.iter().filter(|c| c.worse == worse).collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(
            out,
            "\n## {title} ({})\n\n| Change | Tenant | Risk | Gained | Lost | Owner |\n|---|---|---|---|---|---|",
            rows.len()
        )?;
        for c in rows {
            let mut gained = gained_text(c);
            gained.extend(cert_text(c));
            let join = |v: Vec<String>| {
                if v.is_empty() {
                    "–".to_string()
                } else {
                    v.iter()
                        .map(|s| text::markdown(s).into_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                c.change.label(),
                text::markdown(&c.tenant_id),
                risk_text(c),
                join(gained),
                join(keys(&c.lost)),
                if c.owner.is_empty() {
                    "–".into()
                } else {
                    text::markdown(&c.owner)
                }
            )?;
        }
    }
    if !diff.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &diff.notes {
            writeln!(out, "- {}", text::markdown(n))?;
        }
    }
    Ok(())
}
