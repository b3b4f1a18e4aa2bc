//! Figures the human-readable reports (HTML, Markdown) share: counts the [`Summary`] does not
//! hold (by IPS type and environment, tenants per code), the level of each certificate, and
//! date formatting. They count what the audit decided; they decide nothing.
//!
//! [`Summary`]: crate::result::Summary

use crate::dates::date;
use crate::findings::{Code, Level, Target};
use crate::inventory::{Environment, IpsType};
use crate::result::{AuditReport, TenantResult};
use chrono::{DateTime, Utc};
use mtls_audit_cert::days_between;
use std::collections::BTreeMap;

/// Levels worst first, the order reports list them in.
pub(crate) const WORST_FIRST: [Level; 5] = [
    Level::Failing,
    Level::AtRisk,
    Level::Unknown,
    Level::Warn,
    Level::Ok,
];

/// 0 (`OK`) to 4 (`FAILING`): the sort key and CSS class suffix of a level.
pub(crate) fn rank(level: Level) -> usize {
    match level {
        Level::Ok => 0,
        Level::Warn => 1,
        Level::Unknown => 2,
        Level::AtRisk => 3,
        Level::Failing => 4,
    }
}

/// `in 23 days`, `today`, `5 days ago`: a date relative to the as-of date.
pub(crate) fn relative(as_of: DateTime<Utc>, d: DateTime<Utc>) -> String {
    let n = days_between(as_of, d);
    match n {
        0 => "today".to_string(),
        1 => "in 1 day".to_string(),
        -1 => "1 day ago".to_string(),
        n if n > 0 => format!("in {n} days"),
        n => format!("{} days ago", -n),
    }
}

/// Tenants of one IPS type and environment, counted by risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeEnvRow {
    pub ips_type: IpsType,
    pub environment: Environment,
    pub total: u64,
    /// Indexed by [`rank`].
    pub by_risk: [u64; 5],
}

/// One row per IPS type and environment that occurs, NEO first, production first.
pub(crate) fn by_type_env(report: &AuditReport) -> Vec<TypeEnvRow> {
    let mut map: BTreeMap<(IpsType, std::cmp::Reverse<Environment>), [u64; 5]> = BTreeMap::new();
    for t in &report.tenants {
        let e = map
            .entry((t.ips_type, std::cmp::Reverse(t.environment)))
            .or_default();
        e[rank(t.risk)] += 1;
    }
    map.into_iter()
        .map(|((ips_type, env), by_risk)| TypeEnvRow {
            ips_type,
            environment: env.0,
            total: by_risk.iter().sum(),
            by_risk,
        })
        .collect()
}

/// Per finding code: how many findings, how many distinct tenants, the highest level seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeRow {
    pub code: Code,
    pub findings: u64,
    pub tenants: u64,
    pub level: Level,
}

/// Codes that occur, worst level first, then most tenants.
pub(crate) fn by_code(report: &AuditReport) -> Vec<CodeRow> {
    let mut map: BTreeMap<Code, CodeRow> = BTreeMap::new();
    for t in &report.tenants {
        let mut seen: Vec<Code> = Vec::new();
        for f in &t.findings {
            let row = map.entry(f.code).or_insert(CodeRow {
                code: f.code,
                findings: 0,
                tenants: 0,
                level: f.level,
            });
            row.findings += 1;
            row.level = row.level.max(f.level);
            if !seen.contains(&f.code) {
                seen.push(f.code);
                row.tenants += 1;
            }
        }
    }
    let mut rows: Vec<CodeRow> = map.into_values().collect();
    rows.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.tenants.cmp(&a.tenants))
            .then(a.code.cmp(&b.code))
    });
    rows
}

/// The level a certificate is drawn in: the worst finding of its tenant on its target, `OK`
/// when there is none.
pub(crate) fn cert_level(t: &TenantResult, target: Target) -> Level {
    t.findings
        .iter()
        .filter(|f| f.target == target)
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Ok)
}

/// A window of expiry dates between the as-of date and the anchors after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    /// `expired`, `before cutover 2025-07-31`, `before deadline 2025-08-07`, `later`.
    pub label: String,
    /// The window is `[from, to)`; `None` is open-ended.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The windows certificate expiries are counted in: expired, then up to each of the cutover
/// and the deadline that is still ahead, then later.
pub(crate) fn windows(report: &AuditReport) -> Vec<Window> {
    // Anchors still ahead of the as-of date, one per day (cutover and deadline may coincide).
    let mut anchors: Vec<(DateTime<Utc>, String)> = Vec::new();
    for (d, name) in [(report.cutover, "cutover"), (report.deadline, "deadline")] {
        let Some(d) = d.filter(|d| *d > report.as_of) else {
            continue;
        };
        match anchors.iter_mut().find(|(a, _)| *a == d) {
            Some((_, names)) => {
                names.push_str(" and ");
                names.push_str(name);
            }
            None => anchors.push((d, name.to_string())),
        }
    }
    anchors.sort();
    let mut out = vec![Window {
        label: "expired".to_string(),
        from: None,
        to: Some(report.as_of),
    }];
    let mut from = report.as_of;
    for (d, names) in &anchors {
        out.push(Window {
            label: format!("before {names} {}", date(*d)),
            from: Some(from),
            to: Some(*d),
        });
        from = *d;
    }
    out.push(Window {
        label: if anchors.is_empty() {
            "valid".to_string()
        } else {
            format!("on or after {}", date(from))
        },
        from: Some(from),
        to: None,
    });
    out
}

/// Certificates per target counted by expiry window: `(target, counts per window)`, targets in
/// their natural order.
pub(crate) fn expiry_counts(report: &AuditReport, windows: &[Window]) -> Vec<(Target, Vec<u64>)> {
    let mut map: BTreeMap<Target, Vec<u64>> = BTreeMap::new();
    for t in &report.tenants {
        for c in &t.certificates {
            let counts = map
                .entry(c.target)
                .or_insert_with(|| vec![0; windows.len()]);
            let na = c.cert.not_after;
            if let Some(i) = windows
                .iter()
                .position(|w| w.from.is_none_or(|f| na >= f) && w.to.is_none_or(|to| na < to))
            {
                counts[i] += 1;
            }
        }
    }
    map.into_iter().collect()
}

/// The one sentence every report shows at its top when the run was interrupted (the same
/// words in the table, Markdown and HTML).
pub(crate) fn incomplete_banner(report: &AuditReport) -> Option<String> {
    if report.complete {
        return None;
    }
    let unfinished = report
        .tenants
        .iter()
        .filter(|t| t.findings.iter().any(|f| f.code == Code::CheckNotFinished))
        .count();
    Some(format!(
        "INCOMPLETE: the run was interrupted. Every tenant is listed; {unfinished} whose checks did not finish {} UNKNOWN (CHECK_NOT_FINISHED), not OK. Audit again for a complete result.",
        if unfinished == 1 { "is" } else { "are" }
    ))
}

/// `NEO tenants: 12, of which 4 with Learning-only users past the 2026-07-09 deadline …`: the
/// NEO retirement at a glance (docs/spec.md §9); `None` without NEO tenants.
pub(crate) fn neo_summary(report: &AuditReport) -> Option<String> {
    let neo: Vec<&TenantResult> = report
        .tenants
        .iter()
        .filter(|t| t.ips_type == IpsType::Neo)
        .collect();
    if neo.is_empty() {
        return None;
    }
    let deadline = crate::sap::day_start(crate::sap::NEO_LEARNING_ONLY_DEADLINE);
    let retirement = crate::sap::day_start(crate::sap::NEO_RETIREMENT);
    let with = neo
        .iter()
        .filter(|t| t.learning_only_users == Some(true))
        .count();
    let unknown = neo
        .iter()
        .filter(|t| t.learning_only_users.is_none())
        .count();
    let past = report.as_of >= deadline + chrono::Duration::days(1);
    let with_text = if past {
        format!(
            "{with} with Learning-only users past the {} deadline (their real-time sync has stopped)",
            date(deadline)
        )
    } else {
        format!(
            "{with} with Learning-only users that must migrate by {}",
            date(deadline)
        )
    };
    let retired = if report.as_of >= retirement {
        "NEO IPS was retired on"
    } else {
        "NEO IPS is retired on"
    };
    Some(format!(
        "NEO tenants: {}, of which {with_text} and {unknown} not known (learning_only_users); {retired} {}",
        neo.len(),
        date(retirement)
    ))
}

/// `ready for cutover: 150 of 200 (30 not ready, 20 unknown)`: the campaign's headline
/// (docs/spec.md §8), the same words in every report.
pub(crate) fn readiness_line(report: &AuditReport) -> String {
    use crate::result::ReadinessState as R;
    let n = |s: R| report.summary.readiness.get(&s).copied().unwrap_or(0);
    let total = report.tenants.len();
    let mut line = format!("ready for cutover: {} of {total}", n(R::Ready));
    let (not_ready, unknown) = (n(R::NotReady), n(R::Unknown));
    if not_ready + unknown > 0 {
        line.push_str(&format!(" ({not_ready} not ready, {unknown} unknown)"));
    }
    line
}

/// The short name of a place in the terminal table and lists.
pub(crate) fn place_short(p: crate::result::Place) -> &'static str {
    match p {
        crate::result::Place::IasAdminRecord => "IAS admin record",
        crate::result::Place::IpsInbound => "IPS inbound",
    }
}

/// Not-ready tenants, worst first, with the places that refuse the next certificate.
pub(crate) fn not_ready(report: &AuditReport) -> Vec<(&TenantResult, String)> {
    report
        .worst_first()
        .into_iter()
        .map(|i| &report.tenants[i])
        .filter(|t| t.readiness.state == crate::result::ReadinessState::NotReady)
        .map(|t| {
            let places: Vec<&str> = t.readiness.missing().into_iter().map(place_short).collect();
            (t, places.join(", "))
        })
        .collect()
}

/// Readiness counts of one IPS type and environment.
pub(crate) struct ReadinessRow {
    pub(crate) ips_type: IpsType,
    pub(crate) environment: Environment,
    pub(crate) total: u64,
    pub(crate) ready: u64,
    pub(crate) not_ready: u64,
    pub(crate) unknown: u64,
}

/// Readiness by IPS type and environment, NEO first, production first; only combinations
/// that have tenants.
pub(crate) fn readiness_by_type_env(report: &AuditReport) -> Vec<ReadinessRow> {
    use crate::result::ReadinessState as R;
    let mut rows = Vec::new();
    for ips_type in [IpsType::Neo, IpsType::Converged] {
        for environment in [Environment::Production, Environment::Preview] {
            let ts: Vec<&TenantResult> = report
                .tenants
                .iter()
                .filter(|t| t.ips_type == ips_type && t.environment == environment)
                .collect();
            if ts.is_empty() {
                continue;
            }
            let n = |s: R| ts.iter().filter(|t| t.readiness.state == s).count() as u64;
            rows.push(ReadinessRow {
                ips_type,
                environment,
                total: ts.len() as u64,
                ready: n(R::Ready),
                not_ready: n(R::NotReady),
                unknown: n(R::Unknown),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn relative_dates_read_naturally() {
        let a = Utc.with_ymd_and_hms(2025, 7, 15, 0, 0, 0).unwrap();
        let d = Utc.with_ymd_and_hms(2025, 8, 7, 0, 0, 0).unwrap();
        assert_eq!(relative(a, d), "in 23 days");
        assert_eq!(relative(d, a), "23 days ago");
        assert_eq!(relative(a, a), "today");
        // Part of a day before the as-of date is already a day ago (floor).
        assert_eq!(days_between(a, a - chrono::Duration::hours(1)), -1);
    }

    fn report(cutover: Option<i64>, deadline: Option<i64>) -> AuditReport {
        let as_of = Utc.with_ymd_and_hms(2025, 7, 15, 0, 0, 0).unwrap();
        let day = |n: i64| as_of + chrono::Duration::days(n);
        AuditReport {
            tool: crate::result::ToolInfo::this(),
            as_of,
            deadline: deadline.map(day),
            cutover: cutover.map(day),
            inventory: String::new(),
            complete: true,
            settings: Default::default(),
            summary: Default::default(),
            tenants: Vec::new(),
            inventory_errors: Vec::new(),
            shard: None,
        }
    }

    fn labels(r: &AuditReport) -> Vec<String> {
        windows(r).into_iter().map(|w| w.label).collect()
    }

    #[test]
    fn expiry_windows_follow_the_anchors_still_ahead() {
        assert_eq!(
            labels(&report(Some(16), Some(23))),
            [
                "expired",
                "before cutover 2025-07-31",
                "before deadline 2025-08-07",
                "on or after 2025-08-07"
            ]
        );
        // Same day: one window; an anchor already past: no window.
        assert_eq!(
            labels(&report(Some(23), Some(23))),
            [
                "expired",
                "before cutover and deadline 2025-08-07",
                "on or after 2025-08-07"
            ]
        );
        assert_eq!(labels(&report(Some(-5), None)), ["expired", "valid"]);
    }

    #[test]
    fn ranks_follow_level_order() {
        for w in Level::ALL.windows(2) {
            assert!(rank(w[0]) < rank(w[1]));
        }
        assert_eq!(WORST_FIRST[0], Level::Failing);
    }
}
