//! The campaign's text renderers (docs/spec.md §10): `history` and `trend` as a terminal table
//! and `trend` as CSV. The burndown chart is [`super::burndown`]; JSON is the data serialised.
//! Group names are owners from the inventory: they go through [`text`] like every other text
//! from outside.

use super::text;
use crate::findings::Level;
use crate::history::RunSummary;
use crate::trend::{GroupBy, Trend};

const RISKS: [Level; 5] = [
    Level::Failing,
    Level::AtRisk,
    Level::Unknown,
    Level::Warn,
    Level::Ok,
];

/// `history --format table`: one line per run.
pub fn history_table(runs: &[RunSummary]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "RUN",
            "AS OF",
            "TENANTS",
            "FAILING",
            "AT_RISK",
            "UNKNOWN",
            "WARN",
            "OK",
            "READY",
            "NOT READY",
            "NOT KNOWN",
            "COMPLETE",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    ];
    for r in runs {
        let risk = |l: Level| r.counts.by_risk.get(&l).copied().unwrap_or(0).to_string();
        rows.push(vec![
            r.run.to_string(),
            r.as_of.format("%Y-%m-%d %H:%M").to_string(),
            r.counts.tenants.to_string(),
            risk(Level::Failing),
            risk(Level::AtRisk),
            risk(Level::Unknown),
            risk(Level::Warn),
            risk(Level::Ok),
            r.counts.ready.to_string(),
            r.counts.not_ready.to_string(),
            r.counts.unknown.to_string(),
            if r.complete {
                "yes"
            } else {
                "no (interrupted)"
            }
            .to_string(),
        ]);
    }
    let mut out = columns(&rows, 1);
    if runs.is_empty() {
        out.push_str("no runs yet\n");
    }
    let pruned = runs.iter().filter(|r| !r.tenant_rows).count();
    if pruned > 0 {
        out.push_str(&format!(
            "{pruned} of {} runs keep only their counts (their tenant rows were pruned); trend reads the counts\n",
            runs.len()
        ));
    }
    out
}

/// Rows as left-aligned text columns (the first `left` columns) and right-aligned numbers.
fn columns(rows: &[Vec<String>], left: usize) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i].saturating_sub(c.chars().count());
            if i <= left || i + 1 == r.len() {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `trend --format csv`: one row per group and complete run, the projection repeated on each.
pub fn trend_csv(t: &Trend) -> Result<String, ::csv::Error> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "group".to_string(),
        "run".into(),
        "as_of".into(),
        "tenants".into(),
        "ready".into(),
        "not_ready".into(),
        "unknown".into(),
    ];
    header.extend(
        RISKS
            .iter()
            .map(|l| format!("risk_{}", l.as_str().to_ascii_lowercase())),
    );
    header.extend([
        "projected_not_ready_at_deadline".to_string(),
        "projected_finish".into(),
    ]);
    w.write_record(&header)?;
    for g in &t.groups {
        for p in &g.points {
            // Owner names come from the inventory: no formula reaches a spreadsheet.
            let group = text::spreadsheet(&g.group).into_owned();
            let mut row = vec![
                group,
                p.run.to_string(),
                p.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                p.counts.tenants.to_string(),
                p.counts.ready.to_string(),
                p.counts.not_ready.to_string(),
                p.counts.unknown.to_string(),
            ];
            row.extend(
                RISKS
                    .iter()
                    .map(|l| p.counts.by_risk.get(l).copied().unwrap_or(0).to_string()),
            );
            row.push(
                g.projection
                    .not_ready_at_deadline
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            );
            row.push(
                g.projection
                    .finish
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            );
            w.write_record(&row)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ::csv::Error::from(std::io::Error::other(e.to_string())))?;
    // Every cell is valid UTF-8, so the whole is.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `trend --format table`: per group its runs, then its projection.
pub fn trend_table(t: &Trend, by: GroupBy) -> String {
    let mut out = String::new();
    match t.deadline {
        Some(d) => out.push_str(&format!("deadline {}\n", d.format("%Y-%m-%d"))),
        None => out.push_str("no deadline in the history's runs\n"),
    }
    if !t.incomplete.is_empty() {
        let ids: Vec<String> = t.incomplete.iter().map(|r| r.run.to_string()).collect();
        out.push_str(&format!(
            "interrupted runs, not counted: {}\n",
            ids.join(", ")
        ));
    }
    if t.groups.is_empty() {
        out.push_str("no complete run yet\n");
        return out;
    }
    for g in &t.groups {
        let name = match (by, g.group.as_str()) {
            (GroupBy::All, _) => "all tenants".to_string(),
            (GroupBy::Owner, "") => "owner: (none)".to_string(),
            _ => format!("{}: {}", by.as_str(), text::terminal_cut(&g.group, 120)),
        };
        out.push_str(&format!("\n== {name}\n"));
        let mut rows: Vec<Vec<String>> = vec![
            [
                "RUN",
                "AS OF",
                "TENANTS",
                "READY",
                "NOT READY",
                "NOT KNOWN",
                "FAILING",
                "AT_RISK",
                "UNKNOWN",
                "WARN",
                "OK",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ];
        for p in &g.points {
            let mut row = vec![
                p.run.to_string(),
                p.as_of.format("%Y-%m-%d").to_string(),
                p.counts.tenants.to_string(),
                p.counts.ready.to_string(),
                p.counts.not_ready.to_string(),
                p.counts.unknown.to_string(),
            ];
            row.extend(
                RISKS
                    .iter()
                    .map(|l| p.counts.by_risk.get(l).copied().unwrap_or(0).to_string()),
            );
            rows.push(row);
        }
        // The last column is numeric too: pad it like the others.
        rows.iter_mut().for_each(|r| r.push(String::new()));
        out.push_str(&columns(&rows, 1));
        let p = &g.projection;
        let at = match (p.not_ready_at_deadline, t.deadline) {
            (Some(n), Some(d)) => format!("{n} not ready at the deadline {}", d.format("%Y-%m-%d")),
            _ => "no deadline".to_string(),
        };
        let finish = match p.finish {
            Some(f) => format!("finish {f}"),
            None if g.points.len() < 2 => "finish unknown (one run)".to_string(),
            None => "not heading to 0 (finish unknown)".to_string(),
        };
        let pace = match p.fit {
            Some(f) => format!(" (pace {:+.2}/day over {} runs)", f.per_day, f.runs),
            None => String::new(),
        };
        out.push_str(&format!("projection: {at}; {finish}{pace}\n"));
    }
    out
}
