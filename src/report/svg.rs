//! The expiry timeline of `report.html`: inline SVG, no script, no external resource.
//!
//! Every certificate's `not_after` is placed against the as-of date, the cutover and the
//! deadline, in one lane per target. A few certificates are drawn one per row (label, validity
//! bar, a marker whose shape and colour give the level); many are aggregated into a stacked
//! histogram per lane, so 10,000 tenants draw a few hundred shapes, not 10,000. Levels are told
//! apart without colour too: shapes for markers, fill patterns for bars, text in the legend and
//! in every tooltip.

use super::figures::{self, WORST_FIRST, rank};
use super::text;
use crate::dates;
use crate::findings::{Level, Target};
use crate::result::AuditReport;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::fmt::Write as _;

/// Up to this many certificates are drawn one per row; more are binned.
pub(crate) const DETAIL_MAX: usize = 60;

const WIDTH: f64 = 1000.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 52.0;
const AXIS: f64 = 28.0;
const LANE_HEAD: f64 = 22.0;
const ROW: f64 = 17.0;
const HIST: f64 = 110.0;

/// Colours of the levels, indexed by [`rank`] (shared with the page's CSS).
pub(crate) const COLORS: [&str; 5] = ["#2e7d32", "#a67c00", "#6a1b9a", "#e65100", "#c62828"];

struct Item {
    tenant: usize,
    target: Target,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    days_left: i64,
    level: Level,
}

/// The time axis: a domain and its mapping to x.
struct Axis {
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
    left: f64,
}

impl Axis {
    fn x(&self, d: DateTime<Utc>) -> f64 {
        let d = d.clamp(self.lo, self.hi);
        let span = (self.hi - self.lo).num_seconds().max(1) as f64;
        self.left + (d - self.lo).num_seconds() as f64 / span * (WIDTH - self.left - RIGHT)
    }

    fn contains(&self, d: DateTime<Utc>) -> bool {
        d >= self.lo && d <= self.hi
    }
}

/// The domain: the anchors and the expiries, but not years away from the anchors (outliers are
/// drawn at the edge and say so), at least 60 days wide, with a little padding.
fn domain(report: &AuditReport, items: &[Item]) -> (DateTime<Utc>, DateTime<Utc>) {
    let anchors: Vec<DateTime<Utc>> = [Some(report.as_of), report.deadline, report.cutover]
        .into_iter()
        .flatten()
        .collect();
    let a_lo = anchors.iter().copied().min().unwrap_or(report.as_of);
    let a_hi = anchors.iter().copied().max().unwrap_or(report.as_of);
    let p_lo = items.iter().map(|i| i.not_after).min().unwrap_or(a_lo);
    let p_hi = items.iter().map(|i| i.not_after).max().unwrap_or(a_hi);
    let lo = p_lo.min(a_lo).max(a_lo - Duration::days(180));
    let mut hi = p_hi.max(a_hi).min(a_hi + Duration::days(730));
    if hi - lo < Duration::days(60) {
        hi = lo + Duration::days(60);
    }
    let pad = (hi - lo) / 40;
    (lo - pad, hi + pad)
}

fn month_start(d: DateTime<Utc>) -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1)
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

fn next_month(d: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

/// Month grid lines; labels every month, quarter or year depending on the span.
fn ticks(out: &mut String, axis: &Axis, bottom: f64) -> std::fmt::Result {
    let months = (axis.hi - axis.lo).num_days() / 30;
    let every = match months {
        0..=14 => 1,
        15..=40 => 3,
        _ => 12,
    };
    let mut d = month_start(axis.lo).and_then(next_month);
    let mut guard = 0;
    out.push_str("<g class=\"ax\">");
    while let Some(m) = d {
        if m > axis.hi || guard > 400 {
            break;
        }
        guard += 1;
        let x = axis.x(m);
        let labelled = (m.month0() as i64) % every == 0;
        write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" class=\"{}\"/>",
            if labelled { "g1" } else { "g0" }
        )?;
        if labelled {
            let label = if every == 12 {
                m.format("%Y").to_string()
            } else {
                m.format("%Y-%m").to_string()
            };
            write!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
                bottom + 16.0
            )?;
        }
        d = next_month(m);
    }
    out.push_str("</g>");
    Ok(())
}

/// The as-of, cutover and deadline lines, each label on its own row so close dates stay legible.
fn anchors(out: &mut String, report: &AuditReport, axis: &Axis, bottom: f64) -> std::fmt::Result {
    let mut list: Vec<(DateTime<Utc>, &str, &str)> = vec![(report.as_of, "as of", "asof")];
    if let Some(c) = report.cutover {
        list.push((c, "cutover", "cut"));
    }
    if let Some(d) = report.deadline {
        list.push((d, "deadline", "dl"));
    }
    date_lines(out, list, |d| axis.x(d), bottom)
}

/// Vertical lines at named dates (`(date, label, CSS class)`), sorted by date, each label on
/// its own row so close dates stay legible; labels near the right edge end at their line.
/// Shared by the expiry timeline and the campaign burndown.
pub(crate) fn date_lines(
    out: &mut String,
    mut list: Vec<(DateTime<Utc>, &str, &str)>,
    x_of: impl Fn(DateTime<Utc>) -> f64,
    bottom: f64,
) -> std::fmt::Result {
    list.sort_by_key(|(d, _, _)| *d);
    for (row, (d, name, class)) in list.into_iter().enumerate() {
        let x = x_of(d);
        let y = 14.0 + row as f64 * 14.0;
        let anchor_end = x > WIDTH - 180.0;
        write!(
            out,
            "<g class=\"an {class}\"><title>{name} {}</title><line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\"/><text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"{}\">{name} {}</text></g>",
            dates::datetime(d),
            y + 3.0,
            if anchor_end { x - 3.0 } else { x + 3.0 },
            if anchor_end { "end" } else { "start" },
            dates::date(d),
        )?;
    }
    Ok(())
}

/// A marker for one certificate: the shape tells the level without colour.
fn marker(out: &mut String, level: Level, x: f64, y: f64) -> std::fmt::Result {
    let c = rank(level);
    match level {
        Level::Ok => write!(
            out,
            "<circle class=\"m{c}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\"/>"
        ),
        Level::Warn => write!(
            out,
            "<path class=\"m{c}\" d=\"M{x:.1} {:.1}L{:.1} {:.1}H{:.1}Z\"/>",
            y - 5.0,
            x + 5.0,
            y + 4.0,
            x - 5.0
        ),
        Level::Unknown => write!(
            out,
            "<rect class=\"m{c}\" x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\"/>",
            x - 4.0,
            y - 4.0
        ),
        Level::AtRisk => write!(
            out,
            "<path class=\"m{c}\" d=\"M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z\"/>",
            y - 6.0,
            x + 6.0,
            y + 6.0,
            x - 6.0
        ),
        Level::Failing => write!(
            out,
            "<path class=\"m{c} x\" d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\"/>",
            x - 5.0,
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0,
            y + 5.0,
            x + 5.0,
            y - 5.0
        ),
    }
}

/// Fill patterns per level for the histogram (printable in black and white).
fn patterns(out: &mut String) {
    out.push_str("<defs>");
    for level in Level::ALL {
        let r = rank(level);
        let color = COLORS[r];
        let overlay = match level {
            Level::Ok | Level::Failing => "",
            Level::Warn => {
                "<line x1=\"0\" y1=\"3\" x2=\"6\" y2=\"3\" stroke=\"#fff\" stroke-width=\"1.5\"/>"
            }
            Level::Unknown => "<circle cx=\"3\" cy=\"3\" r=\"1.3\" fill=\"#fff\"/>",
            Level::AtRisk => {
                "<line x1=\"0\" y1=\"6\" x2=\"6\" y2=\"0\" stroke=\"#fff\" stroke-width=\"1.5\"/>"
            }
        };
        let _ = write!(
            out,
            "<pattern id=\"mtla-p{r}\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"><rect width=\"6\" height=\"6\" fill=\"{color}\"/>{overlay}</pattern>"
        );
    }
    out.push_str("</defs>");
}

fn lane_title(target: Target, count: usize) -> String {
    format!("{} ({count})", target.as_str())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn detail(
    out: &mut String,
    report: &AuditReport,
    lanes: &[(Target, Vec<&Item>)],
    (lo, hi): (DateTime<Utc>, DateTime<Utc>),
) -> std::fmt::Result {
    let rows: usize = lanes.iter().map(|(_, v)| v.len()).sum();
    let height = TOP + lanes.len() as f64 * LANE_HEAD + rows as f64 * ROW + AXIS;
    let bottom = height - AXIS;
    let axis = Axis {
        lo,
        hi,
        left: 210.0,
    };
    open_svg(out, height, report, rows)?;
    ticks(out, &axis, bottom)?;
    let mut y = TOP;
    for (target, items) in lanes {
        write!(
            out,
            "<text class=\"lane\" x=\"4\" y=\"{:.1}\">{}</text>",
            y + 15.0,
            text::html(&lane_title(*target, items.len()))
        )?;
        y += LANE_HEAD;
        for it in items {
            let t = &report.tenants[it.tenant];
            let cy = y + ROW / 2.0;
            let clipped = if it.not_after < axis.lo {
                " (earlier than shown)"
            } else if it.not_after > axis.hi {
                " (later than shown)"
            } else {
                ""
            };
            write!(
                out,
                "<g class=\"c\"><title>{} · {} · expires {} ({} days left){clipped} · {}</title>",
                text::html(&t.tenant_id),
                target.as_str(),
                dates::date(it.not_after),
                it.days_left,
                it.level
            )?;
            write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                axis.left - 8.0,
                cy + 4.0,
                text::html(&truncate(&t.tenant_id, 28))
            )?;
            let x0 = axis.x(it.not_before);
            let x1 = axis.x(it.not_after);
            write!(
                out,
                "<line class=\"v{}\" x1=\"{x0:.1}\" y1=\"{cy:.1}\" x2=\"{x1:.1}\" y2=\"{cy:.1}\"/>",
                rank(it.level)
            )?;
            marker(out, it.level, x1, cy)?;
            // The date beside the marker, on the side with room.
            let label = format!(
                "{}{} {} d",
                if it.not_after < axis.lo { "◀ " } else { "" },
                dates::date(it.not_after),
                it.days_left
            );
            let label = if axis.contains(it.not_after) || it.not_after < axis.lo {
                label
            } else {
                format!("{label} ▶")
            };
            let (lx, anchor) = if x1 > WIDTH - 170.0 {
                (x1 - 9.0, "end")
            } else {
                (x1 + 9.0, "start")
            };
            write!(
                out,
                "<text class=\"d\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{label}</text></g>",
                cy + 4.0
            )?;
            y += ROW;
        }
    }
    anchors(out, report, &axis, bottom)?;
    out.push_str("</svg>");
    Ok(())
}

/// Bin width in days: about 60 bins over the domain, rounded up to a calendar-friendly size.
fn bin_days(span_days: i64) -> i64 {
    let want = (span_days + 59) / 60;
    [1, 2, 7, 14, 28, 56, 91, 182, 364]
        .into_iter()
        .find(|&w| w >= want)
        .unwrap_or(364)
}

fn histogram(
    out: &mut String,
    report: &AuditReport,
    lanes: &[(Target, Vec<&Item>)],
    (lo, hi): (DateTime<Utc>, DateTime<Utc>),
) -> std::fmt::Result {
    let axis = Axis {
        lo,
        hi,
        left: 150.0,
    };
    let w = bin_days((hi - lo).num_days());
    let width = Duration::days(w);
    // Bins are aligned on the as-of date so "expired" and "still valid" never share a bar.
    let before = (report.as_of - lo).num_days().max(0);
    let first = report.as_of - Duration::days((before + w - 1) / w * w);
    let nbins = (((hi - first).num_days() + w - 1) / w).max(1) as usize;
    let total: usize = lanes.iter().map(|(_, v)| v.len()).sum();
    let height = TOP + lanes.len() as f64 * (LANE_HEAD + HIST + 8.0) + AXIS;
    let bottom = height - AXIS;
    open_svg(out, height, report, total)?;
    patterns(out);
    ticks(out, &axis, bottom)?;
    let mut y = TOP;
    for (target, items) in lanes {
        let mut bins = vec![[0u64; 5]; nbins];
        let (mut early, mut late) = (0u64, 0u64);
        for it in items {
            let idx = (it.not_after - first)
                .num_seconds()
                .div_euclid(width.num_seconds());
            let idx = idx.clamp(0, nbins as i64 - 1) as usize;
            bins[idx][rank(it.level)] += 1;
            if it.not_after < lo {
                early += 1;
            } else if it.not_after > hi {
                late += 1;
            }
        }
        let max = bins
            .iter()
            .map(|b| b.iter().sum::<u64>())
            .max()
            .unwrap_or(0)
            .max(1);
        write!(
            out,
            "<text class=\"lane\" x=\"4\" y=\"{:.1}\">{}</text>",
            y + 15.0,
            text::html(&lane_title(*target, items.len()))
        )?;
        y += LANE_HEAD;
        let base = y + HIST;
        write!(
            out,
            "<text class=\"d\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{max}</text><text class=\"d\" x=\"{:.1}\" y=\"{base:.1}\" text-anchor=\"end\">0</text><line class=\"base\" x1=\"{:.1}\" y1=\"{base:.1}\" x2=\"{:.1}\" y2=\"{base:.1}\"/>",
            axis.left - 6.0,
            y + 9.0,
            axis.left - 6.0,
            axis.left,
            WIDTH - RIGHT
        )?;
        for (i, counts) in bins.iter().enumerate() {
            let n: u64 = counts.iter().sum();
            if n == 0 {
                continue;
            }
            let start = first + width * i as i32;
            let end = start + width;
            let x0 = axis.x(start);
            let x1 = axis.x(end);
            let bw = (x1 - x0 - 1.0).max(1.5);
            let mut parts = Vec::new();
            for level in WORST_FIRST {
                let k = counts[rank(level)];
                if k > 0 {
                    parts.push(format!("{k} {level}"));
                }
            }
            let range = if i == 0 && early > 0 {
                format!("on or before {}", dates::date(end - Duration::days(1)))
            } else if i + 1 == nbins && late > 0 {
                format!("on or after {}", dates::date(start))
            } else {
                format!(
                    "{} to {}",
                    dates::date(start),
                    dates::date(end - Duration::days(1))
                )
            };
            write!(
                out,
                "<g class=\"b\"><title>{} expiring {range}: {n} ({})</title>",
                target.as_str(),
                parts.join(", ")
            )?;
            // Worst at the bottom, so the eye meets it first.
            let mut top = base;
            for level in WORST_FIRST {
                let k = counts[rank(level)];
                if k == 0 {
                    continue;
                }
                let h = k as f64 / max as f64 * HIST;
                top -= h;
                write!(
                    out,
                    "<rect x=\"{x0:.1}\" y=\"{top:.2}\" width=\"{bw:.1}\" height=\"{h:.2}\" fill=\"url(#mtla-p{})\"/>",
                    rank(level)
                )?;
            }
            out.push_str("</g>");
        }
        if early > 0 {
            write!(
                out,
                "<text class=\"d\" x=\"{:.1}\" y=\"{:.1}\">◀ {early} earlier</text>",
                axis.left + 2.0,
                y + 9.0
            )?;
        }
        if late > 0 {
            write!(
                out,
                "<text class=\"d\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{late} later ▶</text>",
                WIDTH - RIGHT,
                y + 9.0
            )?;
        }
        y += HIST + 8.0;
    }
    anchors(out, report, &axis, bottom)?;
    out.push_str("</svg>");
    Ok(())
}

fn open_svg(out: &mut String, height: f64, report: &AuditReport, count: usize) -> std::fmt::Result {
    let expired = report
        .tenants
        .iter()
        .flat_map(|t| &t.certificates)
        .filter(|c| c.cert.not_after < report.as_of)
        .count();
    write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-svg\" class=\"timeline\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" aria-labelledby=\"timeline-desc\" data-certificates=\"{count}\"><desc id=\"timeline-desc\">Expiry of {count} certificates against the as-of date {}: {expired} already expired</desc>",
        dates::date(report.as_of)
    )
}

/// The legend, as HTML next to the chart so it wraps and prints with text.
pub(crate) fn legend(binned: bool) -> String {
    let mut out = String::from("<ul class=\"legend\">");
    for level in WORST_FIRST {
        let r = rank(level);
        let mut swatch = String::new();
        let _ = write!(
            swatch,
            "<svg viewBox=\"-7 -7 14 14\" width=\"14\" height=\"14\" aria-hidden=\"true\">"
        );
        if binned {
            patterns(&mut swatch);
            let _ = write!(
                swatch,
                "<rect x=\"-7\" y=\"-7\" width=\"14\" height=\"14\" fill=\"url(#mtla-p{r})\"/>"
            );
        } else {
            let _ = marker(&mut swatch, level, 0.0, 0.0);
        }
        swatch.push_str("</svg>");
        let _ = write!(out, "<li>{swatch} {level}</li>");
    }
    out.push_str(
        "<li><span class=\"k asof\"></span> as of</li><li><span class=\"k cut\"></span> cutover</li><li><span class=\"k dl\"></span> deadline</li></ul>",
    );
    out
}

/// The timeline chart, or `None` when no certificate was read. The flag says whether it is
/// binned (for the legend).
pub(crate) fn timeline(report: &AuditReport) -> Option<(String, bool)> {
    let mut items: Vec<Item> = Vec::new();
    for &ti in &report.worst_first() {
        let t = &report.tenants[ti];
        for c in &t.certificates {
            items.push(Item {
                tenant: ti,
                target: c.target,
                not_before: c.cert.not_before,
                not_after: c.cert.not_after,
                days_left: c.cert.days_left,
                level: figures::cert_level(t, c.target),
            });
        }
    }
    if items.is_empty() {
        return None;
    }
    // Soonest expiry first inside a lane (stable: worst tenant first on equal dates).
    items.sort_by_key(|i| (i.target, i.not_after));
    let mut lanes: Vec<(Target, Vec<&Item>)> = Vec::new();
    for it in &items {
        match lanes.last_mut() {
            Some((t, v)) if *t == it.target => v.push(it),
            _ => lanes.push((it.target, vec![it])),
        }
    }
    let mut out = String::with_capacity(16 * 1024);
    let binned = items.len() > DETAIL_MAX;
    let dom = domain(report, &items);
    // Writing into a String cannot fail.
    let _ = if binned {
        histogram(&mut out, report, &lanes, dom)
    } else {
        detail(&mut out, report, &lanes, dom)
    };
    Some((out, binned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_calendar_sized() {
        assert_eq!(bin_days(30), 1);
        assert_eq!(bin_days(400), 7);
        assert_eq!(bin_days(1000), 28);
        assert_eq!(bin_days(100_000), 364);
    }

    #[test]
    fn truncate_keeps_short_names() {
        assert_eq!(truncate("ACME", 28), "ACME");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
