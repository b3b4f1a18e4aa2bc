//! The campaign over time (docs/spec.md §10): per complete run and group, how many tenants are
//! ready for the cutover, and a projection of where the group will be at the deadline.
//!
//! This module only computes: it takes each run's counts (read from the history by
//! [`crate::history`]) and gives a [`Trend`], which `trend` prints and `report.html` draws as a
//! burndown. It never reads a file.
//!
//! The projection is an ordinary least-squares line of `not_ready` against the run's as-of
//! time (in days) over the last `window` complete runs in which the group has tenants:
//!
//! - the group's last run has no not-ready tenant: it is finished, on the date of the first
//!   run of its last stretch at zero; at the deadline 0;
//! - fewer than two runs in the window, or all on the same instant: no pace is known; at the
//!   deadline the last count (nothing changes), no finish date;
//! - a falling line: it finishes where the line reaches zero (not before the last run); at the
//!   deadline the line's value there, rounded, at least 0;
//! - a flat or rising line: no finish date; at the deadline the line's value, rounded, between 0
//!   and the group's tenants.
//!
//! A deadline already passed (on or before the last run) projects the last count. Incomplete
//! runs are never points: an interrupted run proves nothing about the tenants it did not
//! finish (docs/spec.md §12).

use crate::findings::Level;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many complete runs the projection looks at by default (`--window`).
pub const DEFAULT_WINDOW: usize = 5;

/// What a trend is grouped by (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupBy {
    /// The whole fleet, one group named `all`.
    All,
    /// The inventory's `owner` (free text; empty for tenants without one).
    Owner,
    /// `preview` or `production`.
    Environment,
    /// `neo` or `converged`.
    IpsType,
}

impl GroupBy {
    /// Every grouping, in the order the history stores them.
    pub const ALL: [GroupBy; 4] = [
        GroupBy::All,
        GroupBy::Owner,
        GroupBy::Environment,
        GroupBy::IpsType,
    ];

    /// The spelling on the command line and in the history (`all`, `owner`, `environment`,
    /// `ips_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::All => "all",
            GroupBy::Owner => "owner",
            GroupBy::Environment => "environment",
            GroupBy::IpsType => "ips_type",
        }
    }
}

/// The name of the one group of [`GroupBy::All`].
pub const ALL_GROUP: &str = "all";

/// One run's counts for one group of tenants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Tenants in the group.
    pub tenants: u64,
    /// Ready for the cutover.
    pub ready: u64,
    /// Not ready (refused, or another certificate in a required place).
    pub not_ready: u64,
    /// Readiness not known.
    pub unknown: u64,
    /// Tenants per risk level; every level is present.
    pub by_risk: BTreeMap<Level, u64>,
}

impl Counts {
    /// Zero tenants, every level present.
    pub fn zero() -> Counts {
        Counts {
            by_risk: Level::ALL.into_iter().map(|l| (l, 0)).collect(),
            ..Counts::default()
        }
    }
}

/// A run as the trend sees it: when, against which deadline, whether it finished, and the
/// counts of each group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCounts {
    /// The run's id in the history.
    pub run: i64,
    /// The run's as-of time.
    pub as_of: DateTime<Utc>,
    /// The run's `--deadline`.
    pub deadline: Option<DateTime<Utc>>,
    /// The run's `--cutover`.
    pub cutover: Option<DateTime<Utc>>,
    /// False for an interrupted run: listed, never a point.
    pub complete: bool,
    /// Counts by group name.
    pub groups: BTreeMap<String, Counts>,
}

/// One complete run of one group (`points[]` in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    /// The run's id in the history.
    pub run: i64,
    /// The run's as-of time.
    pub as_of: DateTime<Utc>,
    /// The counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// The fitted line the projection comes from, for drawing: from the first run of the window to
/// where the projection ends (the deadline, or the finish when that is earlier; the last run
/// when there is neither).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Where the drawn line starts.
    pub from: DateTime<Utc>,
    /// The line's value there.
    pub from_value: f64,
    /// Where it ends.
    pub to: DateTime<Utc>,
    /// The line's value there (at least 0).
    pub to_value: f64,
    /// Not-ready tenants per day (negative: falling).
    pub per_day: f64,
    /// How many runs the line was fitted to.
    pub runs: usize,
}

/// Where a group is heading (`projection` in the JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// Not-ready tenants expected at the deadline; `null` without a deadline.
    pub not_ready_at_deadline: Option<u64>,
    /// The day not-ready reaches 0; `null` when it is not heading there.
    pub finish: Option<NaiveDate>,
    /// The fitted line, when there is one (not in the JSON).
    #[serde(skip)]
    pub fit: Option<Fit>,
}

/// One group's points and projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The group's name: `all`, an owner (empty for tenants without one), an environment or an
    /// IPS type.
    pub group: String,
    /// One point per complete run in which the group has tenants, oldest first.
    pub points: Vec<Point>,
    /// Where it is heading.
    pub projection: Projection,
}

/// A run that was interrupted: shown, never counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incomplete {
    /// The run's id in the history.
    pub run: i64,
    /// Its as-of time.
    pub as_of: DateTime<Utc>,
}

/// The whole trend (`trend --format json`, docs/spec.md §10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// The deadline of the latest complete run that has one.
    pub deadline: Option<DateTime<Utc>>,
    /// The cutover of the latest complete run that has one (not in the JSON).
    #[serde(skip)]
    pub cutover: Option<DateTime<Utc>>,
    /// Groups, sorted by name.
    pub groups: Vec<Group>,
    /// Interrupted runs, oldest first (not in the JSON).
    #[serde(skip)]
    pub incomplete: Vec<Incomplete>,
    /// The projection's window: at most this many of the last complete runs (not in the JSON).
    #[serde(skip)]
    pub window: usize,
}

impl Trend {
    /// The group of this name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.group == name)
    }
}

/// The trend of `runs` (any order), projecting over the last `window` complete runs (at least
/// 1).
pub fn build(runs: &[RunCounts], window: usize) -> Trend {
    let window = window.max(1);
    let mut runs: Vec<&RunCounts> = runs.iter().collect();
    runs.sort_by_key(|r| (r.as_of, r.run));
    let complete: Vec<&RunCounts> = runs.iter().copied().filter(|r| r.complete).collect();
    let deadline = complete.iter().rev().find_map(|r| r.deadline);
    let cutover = complete.iter().rev().find_map(|r| r.cutover);
    let incomplete = runs
        .iter()
        .filter(|r| !r.complete)
        .map(|r| Incomplete {
            run: r.run,
            as_of: r.as_of,
        })
        .collect();
    let recent: Vec<i64> = complete.iter().rev().take(window).map(|r| r.run).collect();
    let mut points: BTreeMap<&str, Vec<Point>> = BTreeMap::new();
    for r in &complete {
        for (name, counts) in &r.groups {
            if counts.tenants == 0 {
                continue;
            }
            points.entry(name.as_str()).or_default().push(Point {
                run: r.run,
                as_of: r.as_of,
                counts: counts.clone(),
            });
        }
    }
    let groups = points
        .into_iter()
        .map(|(name, points)| {
            let in_window: Vec<&Point> =
                points.iter().filter(|p| recent.contains(&p.run)).collect();
            let projection = project(&points, &in_window, deadline);
            Group {
                group: name.to_string(),
                points,
                projection,
            }
        })
        .collect();
    Trend {
        deadline,
        cutover,
        groups,
        incomplete,
        window,
    }
}

/// Seconds in a day, as the fit's unit of time.
const DAY: f64 = 86_400.0;

/// Ordinary least squares of not-ready against time: (intercept at `t0`, slope per day).
fn ols(points: &[&Point], t0: DateTime<Utc>) -> Option<(f64, f64)> {
    if points.len() < 2 {
        return None;
    }
    let xs: Vec<f64> = points
        .iter()
        .map(|p| (p.as_of - t0).num_seconds() as f64 / DAY)
        .collect();
    let ys: Vec<f64> = points.iter().map(|p| p.counts.not_ready as f64).collect();
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if sxx <= f64::EPSILON {
        return None;
    }
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    Some((my - slope * mx, slope))
}

/// `t0 + days`, or `None` when that is out of chrono's range.
fn at(t0: DateTime<Utc>, days: f64) -> Option<DateTime<Utc>> {
    let secs = (days * DAY).ceil();
    if !secs.is_finite() || secs.abs() > 1e12 {
        return None;
    }
    t0.checked_add_signed(Duration::seconds(secs as i64))
}

fn days(t0: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    (t - t0).num_seconds() as f64 / DAY
}

fn project(all: &[Point], window: &[&Point], deadline: Option<DateTime<Utc>>) -> Projection {
    let Some(last) = all.last() else {
        return Projection {
            not_ready_at_deadline: None,
            finish: None,
            fit: None,
        };
    };
    let tenants = last.counts.tenants as f64;
    if last.counts.not_ready == 0 {
        // Finished: on the first run of the last stretch at zero.
        let since = all
            .iter()
            .rev()
            .take_while(|p| p.counts.not_ready == 0)
            .last()
            .unwrap_or(last);
        return Projection {
            not_ready_at_deadline: deadline.map(|_| 0),
            finish: Some(since.as_of.date_naive()),
            fit: None,
        };
    }
    let Some(first) = window.first() else {
        return Projection {
            not_ready_at_deadline: deadline.map(|_| last.counts.not_ready),
            finish: None,
            fit: None,
        };
    };
    let t0 = first.as_of;
    let Some((a, b)) = ols(window, t0) else {
        return Projection {
            not_ready_at_deadline: deadline.map(|_| last.counts.not_ready),
            finish: None,
            fit: None,
        };
    };
    let line = |t: DateTime<Utc>| a + b * days(t0, t);
    let finish = if b < 0.0 {
        at(t0, -a / b).map(|t| t.max(last.as_of))
    } else {
        None
    };
    let at_deadline = deadline.map(|d| {
        if d <= last.as_of {
            last.counts.not_ready
        } else {
            // Rounded to the nearest tenant; never below 0 nor above the group.
            line(d).round().clamp(0.0, tenants) as u64
        }
    });
    let end = match (deadline.filter(|d| *d > last.as_of), finish) {
        (Some(d), Some(f)) => d.min(f),
        (Some(d), None) => d,
        (None, Some(f)) => f,
        (None, None) => last.as_of,
    };
    Projection {
        not_ready_at_deadline: at_deadline,
        finish: finish.map(|f| f.date_naive()),
        fit: Some(Fit {
            from: t0,
            from_value: line(t0).clamp(0.0, f64::MAX),
            to: end,
            to_value: line(end).clamp(0.0, f64::MAX),
            per_day: b,
            runs: window.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn day(d: &str) -> DateTime<Utc> {
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
    }

    fn run(id: i64, as_of: &str, not_ready: u64, complete: bool) -> RunCounts {
        let mut c = Counts::zero();
        c.tenants = 100;
        c.not_ready = not_ready;
        c.ready = 100 - not_ready;
        RunCounts {
            run: id,
            as_of: day(as_of),
            deadline: Some(day("2026-03-01")),
            cutover: Some(day("2026-02-15")),
            complete,
            groups: [(ALL_GROUP.to_string(), c)].into_iter().collect(),
        }
    }

    #[test]
    fn a_steady_burndown_finishes_where_the_line_meets_zero() {
        // 60, 50, 40 a week apart: 10 a week, zero four weeks after the last.
        let t = build(
            &[
                run(1, "2026-01-01", 60, true),
                run(2, "2026-01-08", 50, true),
                run(3, "2026-01-15", 40, true),
            ],
            5,
        );
        let g = t.group("all").unwrap();
        assert_eq!(g.points.len(), 3);
        assert_eq!(g.projection.finish, Some(day("2026-02-12").date_naive()));
        // 2026-03-01 is past the finish: none left.
        assert_eq!(g.projection.not_ready_at_deadline, Some(0));
        let fit = g.projection.fit.unwrap();
        assert!((fit.per_day + 10.0 / 7.0).abs() < 1e-9);
        assert_eq!(fit.to, day("2026-02-12"));
    }

    #[test]
    fn a_slow_burndown_leaves_tenants_at_the_deadline() {
        // 2 a week from 40: on 2026-03-01 (6 weeks 3 days after the last) about 27 left.
        let t = build(
            &[
                run(1, "2026-01-01", 44, true),
                run(2, "2026-01-08", 42, true),
                run(3, "2026-01-15", 40, true),
            ],
            5,
        );
        let p = &t.groups[0].projection;
        assert_eq!(p.not_ready_at_deadline, Some(27));
        assert_eq!(p.finish, Some(day("2026-06-04").date_naive()));
    }

    #[test]
    fn flat_rising_single_and_finished_groups() {
        let flat = build(
            &[
                run(1, "2026-01-01", 30, true),
                run(2, "2026-01-08", 30, true),
            ],
            5,
        );
        assert_eq!(flat.groups[0].projection.finish, None);
        assert_eq!(flat.groups[0].projection.not_ready_at_deadline, Some(30));
        let rising = build(
            &[
                run(1, "2026-01-01", 30, true),
                run(2, "2026-01-08", 40, true),
            ],
            5,
        );
        assert_eq!(rising.groups[0].projection.finish, None);
        // 10 a week for 7.4 more weeks, capped at the group's 100 tenants.
        assert_eq!(rising.groups[0].projection.not_ready_at_deadline, Some(100));
        let single = build(&[run(1, "2026-01-01", 30, true)], 5);
        assert_eq!(single.groups[0].projection.finish, None);
        assert_eq!(single.groups[0].projection.not_ready_at_deadline, Some(30));
        assert!(single.groups[0].projection.fit.is_none());
        let done = build(
            &[
                run(1, "2026-01-01", 30, true),
                run(2, "2026-01-08", 0, true),
                run(3, "2026-01-15", 0, true),
            ],
            5,
        );
        assert_eq!(
            done.groups[0].projection.finish,
            Some(day("2026-01-08").date_naive())
        );
        assert_eq!(done.groups[0].projection.not_ready_at_deadline, Some(0));
    }

    #[test]
    fn no_deadline_gives_null_at_the_deadline() {
        let mut a = run(1, "2026-01-01", 30, true);
        let mut b = run(2, "2026-01-08", 20, true);
        a.deadline = None;
        b.deadline = None;
        let t = build(&[a, b], 5);
        assert_eq!(t.deadline, None);
        assert_eq!(t.groups[0].projection.not_ready_at_deadline, None);
        assert_eq!(
            t.groups[0].projection.finish,
            Some(day("2026-01-22").date_naive())
        );
    }

    #[test]
    fn incomplete_runs_are_never_points_and_the_window_counts_complete_runs() {
        // The interrupted run claims 0 not ready: it must change nothing.
        let t = build(
            &[
                run(1, "2026-01-01", 90, true),
                run(2, "2026-01-08", 60, true),
                run(3, "2026-01-15", 50, true),
                run(4, "2026-01-16", 0, false),
                run(5, "2026-01-22", 40, true),
            ],
            3,
        );
        let g = &t.groups[0];
        assert_eq!(
            g.points.iter().map(|p| p.run).collect::<Vec<_>>(),
            [1, 2, 3, 5]
        );
        assert_eq!(t.incomplete.len(), 1);
        // The window is runs 2, 3 and 5: 10 a week, so zero four weeks after 2026-01-22.
        let fit = g.projection.fit.unwrap();
        assert_eq!(fit.runs, 3);
        assert_eq!(fit.from, day("2026-01-08"));
        assert_eq!(g.projection.finish, Some(day("2026-02-19").date_naive()));
    }

    #[test]
    fn runs_on_the_same_instant_give_no_pace() {
        let t = build(
            &[
                run(1, "2026-01-01", 30, true),
                run(2, "2026-01-01", 20, true),
            ],
            5,
        );
        assert_eq!(t.groups[0].projection.finish, None);
        assert_eq!(t.groups[0].projection.not_ready_at_deadline, Some(20));
    }

    #[test]
    fn the_json_has_the_spec_shape() {
        let t = build(
            &[
                run(1, "2026-01-01", 30, true),
                run(2, "2026-01-08", 20, true),
            ],
            5,
        );
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["deadline"], "2026-03-01T00:00:00Z");
        let g = &v["groups"][0];
        assert_eq!(g["group"], "all");
        let p = &g["points"][1];
        assert_eq!(p["run"], 2);
        assert_eq!(p["as_of"], "2026-01-08T00:00:00Z");
        for k in ["tenants", "ready", "not_ready", "unknown"] {
            assert!(p[k].is_u64(), "{k}");
        }
        assert_eq!(p["by_risk"]["AT_RISK"], 0);
        assert_eq!(g["projection"]["finish"], "2026-01-22");
        assert_eq!(g["projection"]["not_ready_at_deadline"], 0);
        let keys: Vec<&str> = g["projection"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["finish", "not_ready_at_deadline"]);
    }
}
