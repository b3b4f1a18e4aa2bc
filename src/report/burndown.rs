//! The campaign burndown of `report.html` (docs/spec.md §10): not-ready tenants per complete
//! run against the cutover and the deadline, with the projected line, as inline SVG (no script,
//! no external resource). Like the expiry timeline ([`super::svg`]) it draws what it is given:
//! the points and the fitted line come from [`crate::trend`], never from here, and every text
//! from outside (a group name is an owner) goes through [`text::html`].

use super::text;
use crate::dates;
use crate::trend::{Group, Trend};
use chrono::{DateTime, Duration, Utc};
use std::fmt::Write as _;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 34.0;

struct Frame {
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
    max: f64,
}

impl Frame {
    fn x(&self, d: DateTime<Utc>) -> f64 {
        let d = d.clamp(self.lo, self.hi);
        let span = (self.hi - self.lo).num_seconds().max(1) as f64;
        LEFT + (d - self.lo).num_seconds() as f64 / span * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        let v = v.clamp(0.0, self.max);
        HEIGHT - BOTTOM - v / self.max * (HEIGHT - TOP - BOTTOM)
    }
}

/// A round step for about five gridlines up to `max`.
fn step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn frame(trend: &Trend, group: &Group) -> Frame {
    let mut dates: Vec<DateTime<Utc>> = group.points.iter().map(|p| p.as_of).collect();
    dates.extend(trend.incomplete.iter().map(|r| r.as_of));
    dates.extend(trend.deadline);
    dates.extend(trend.cutover);
    if let Some(f) = group.projection.fit {
        dates.push(f.to);
    }
    let lo = dates.iter().copied().min().unwrap_or_else(Utc::now);
    let mut hi = dates.iter().copied().max().unwrap_or(lo);
    if hi - lo < Duration::days(14) {
        hi = lo + Duration::days(14);
    }
    let pad = (hi - lo) / 30;
    let top = group
        .points
        .iter()
        .map(|p| p.counts.not_ready as f64)
        .chain(group.projection.fit.map(|f| f.from_value.max(f.to_value)))
        .fold(1.0, f64::max);
    let s = step(top * 1.1);
    Frame {
        lo: lo - pad,
        hi: hi + pad,
        max: (top * 1.1 / s).ceil() * s,
    }
}

/// The sentence the chart's `<desc>` and the page's caption share.
pub(crate) fn describe(trend: &Trend, group: &Group) -> String {
    let mut s = String::from("Not-ready tenants per complete run: ");
    let shown: Vec<String> = group
        .points
        .iter()
        .map(|p| format!("{} on {}", p.counts.not_ready, dates::date(p.as_of)))
        .collect();
    s.push_str(&shown.join(", "));
    s.push('.');
    let p = &group.projection;
    match (trend.deadline, p.not_ready_at_deadline) {
        (Some(d), Some(n)) => {
            let _ = write!(
                s,
                " At this pace, {n} not ready at the deadline {}.",
                dates::date(d)
            );
        }
        _ => s.push_str(" No deadline was given."),
    }
    match p.finish {
        Some(f) => {
            let _ = write!(s, " Finish (none left not ready): {f}.");
        }
        None if group.points.len() < 2 => s.push_str(" One run so far: no pace yet."),
        None => s.push_str(" Not heading to zero at this pace."),
    }
    match trend.incomplete.len() {
        0 => {}
        1 => s.push_str(" 1 interrupted run is marked, not counted."),
        n => {
            let _ = write!(s, " {n} interrupted runs are marked, not counted.");
        }
    }
    s
}

/// The burndown chart of one group.
pub(crate) fn svg(trend: &Trend, group: &Group) -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing into a String cannot fail.
    let _ = draw(&mut out, trend, group);
    out
}

fn draw(out: &mut String, trend: &Trend, group: &Group) -> std::fmt::Result {
    let f = frame(trend, group);
    let bottom = HEIGHT - BOTTOM;
    write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"burndown-svg\" class=\"timeline\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"burndown-title burndown-desc\" data-points=\"{}\"><title id=\"burndown-title\">Campaign burndown: {}</title><desc id=\"burndown-desc\">{}</desc>",
        group.points.len(),
        text::html(&group.group),
        text::html(&describe(trend, group))
    )?;
    // Horizontal gridlines with counts.
    out.push_str("<g class=\"ax\">");
    let s = step(f.max);
    let mut v = 0.0;
    while v <= f.max + 0.5 {
        let y = f.y(v);
        write!(
            out,
            "<line class=\"{}\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            if v == 0.0 { "g1" } else { "g0" },
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0
        )?;
        v += s;
    }
    // Date ticks: five, evenly spaced.
    for i in 0..=4 {
        let d = f.lo + (f.hi - f.lo) * i / 4;
        let x = f.x(d);
        write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{}\">{}</text>",
            bottom + 18.0,
            match i {
                0 => "start",
                4 => "end",
                _ => "middle",
            },
            dates::date(d)
        )?;
    }
    write!(
        out,
        "<text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">not ready</text></g>",
        (TOP + bottom) / 2.0,
        (TOP + bottom) / 2.0
    )?;
    // Cutover and deadline, each label on its own row.
    let mut anchors: Vec<(DateTime<Utc>, &str, &str)> = Vec::new();
    if let Some(c) = trend.cutover {
        anchors.push((c, "cutover", "cut"));
    }
    if let Some(d) = trend.deadline {
        anchors.push((d, "deadline", "dl"));
    }
    super::svg::date_lines(out, anchors, |d| f.x(d), bottom)?;
    // The projection, dashed, under the points.
    if let Some(fit) = group.projection.fit {
        write!(
            out,
            "<g class=\"proj\"><title>projection over the last {} runs: {:+.2} not-ready tenants a day</title><line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#1565c0\" stroke-width=\"2\" stroke-dasharray=\"7 5\"/></g>",
            fit.runs,
            fit.per_day,
            f.x(fit.from),
            f.y(fit.from_value),
            f.x(fit.to),
            f.y(fit.to_value)
        )?;
    }
    // The points and the line through them.
    if group.points.len() > 1 {
        let pts: Vec<String> = group
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", f.x(p.as_of), f.y(p.counts.not_ready as f64)))
            .collect();
        write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#1b1b1b\" stroke-width=\"2\"/>",
            pts.join(" ")
        )?;
    }
    for p in &group.points {
        write!(
            out,
            "<g class=\"pt\"><title>run {} as of {}: {} not ready, {} ready, {} unknown of {} tenants</title><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"#1b1b1b\"/></g>",
            p.run,
            dates::date(p.as_of),
            p.counts.not_ready,
            p.counts.ready,
            p.counts.unknown,
            p.counts.tenants,
            f.x(p.as_of),
            f.y(p.counts.not_ready as f64)
        )?;
    }
    // Interrupted runs: a hollow mark on the axis, never a point.
    for r in &trend.incomplete {
        let x = f.x(r.as_of);
        write!(
            out,
            "<g class=\"inc\"><title>run {} as of {} was interrupted: not counted</title><path d=\"M{x:.1} {:.1}L{:.1} {bottom:.1}L{x:.1} {:.1}L{:.1} {bottom:.1}Z\" fill=\"#fff\" stroke=\"#6a1b9a\" stroke-width=\"2\"/></g>",
            r.run,
            dates::date(r.as_of),
            bottom - 6.0,
            x + 6.0,
            bottom + 6.0,
            x - 6.0
        )?;
    }
    out.push_str("</svg>");
    Ok(())
}

/// The `report.html` section: caption, chart, legend and the points as a table.
pub(crate) fn section(out: &mut String, trend: &Trend, group: &Group) -> std::fmt::Result {
    out.push_str("<section id=\"burndown\">\n<h2>Campaign burndown</h2>\n");
    writeln!(
        out,
        "<p class=\"muted\">From the history: tenants not ready for the cutover in each complete run{}; the dashed line is a least-squares fit over the last {} complete runs, projected to the deadline.</p>",
        if group.group == crate::trend::ALL_GROUP {
            String::new()
        } else {
            format!(" of {}", text::html(&group.group))
        },
        trend.window
    )?;
    out.push_str(&svg(trend, group));
    out.push_str("\n<ul class=\"legend\"><li><svg viewBox=\"-7 -7 14 14\" width=\"14\" height=\"14\" aria-hidden=\"true\"><circle r=\"5\" fill=\"#1b1b1b\"/></svg> not ready in a complete run</li><li><span class=\"k\" style=\"border-top:2px dashed #1565c0\"></span> projection</li>");
    if !trend.incomplete.is_empty() {
        out.push_str("<li><svg viewBox=\"-7 -7 14 14\" width=\"14\" height=\"14\" aria-hidden=\"true\"><path d=\"M0 -6L6 0L0 6L-6 0Z\" fill=\"#fff\" stroke=\"#6a1b9a\" stroke-width=\"2\"/></svg> interrupted run (not counted)</li>");
    }
    out.push_str("<li><span class=\"k cut\"></span> cutover</li><li><span class=\"k dl\"></span> deadline</li></ul>\n");
    writeln!(
        out,
        "<p class=\"lead\" id=\"burndown-summary\">{}</p>",
        text::html(&describe(trend, group))
    )?;
    out.push_str("<table id=\"burndown-table\"><thead><tr><th class=\"n\">Run</th><th>As of</th><th class=\"n\">Tenants</th><th class=\"n\">Ready</th><th class=\"n\">Not ready</th><th class=\"n\">Unknown</th></tr></thead><tbody>");
    for p in &group.points {
        write!(
            out,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            p.run,
            dates::date(p.as_of),
            p.counts.tenants,
            p.counts.ready,
            p.counts.not_ready,
            p.counts.unknown
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}
