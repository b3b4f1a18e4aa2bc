//! The progress bar of a live audit: done/total, rate, ETA and failures so far, on stderr, only
//! when stderr is a terminal and neither `--quiet` nor `--no-progress` is given.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mtls_audit::findings::Level;
use mtls_audit::live::Progress as Observer;
use std::sync::atomic::{AtomicU64, Ordering};

/// The indicatif bar, fed by the live audit as tenants finish.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    failing: AtomicU64,
    at_risk: AtomicU64,
    unknown: AtomicU64,
}

impl Progress {
    /// A bar that draws only when `visible`.
    pub(crate) fn new(total: u64, visible: bool) -> Progress {
        let bar = visible.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            // The template is a constant; if indicatif ever rejected it the bar would simply be
            // drawn in its default style.
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} tenants  {per_sec}  ETA {eta}  {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            bar,
            failing: AtomicU64::new(0),
            at_risk: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
        }
    }
}

impl Observer for Progress {
    fn tenant_done(&self, risk: Level) {
        match risk {
            Level::Failing => self.failing.fetch_add(1, Ordering::Relaxed),
            Level::AtRisk => self.at_risk.fetch_add(1, Ordering::Relaxed),
            Level::Unknown => self.unknown.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} failing, {} at risk, {} unknown",
                self.failing.load(Ordering::Relaxed),
                self.at_risk.load(Ordering::Relaxed),
                self.unknown.load(Ordering::Relaxed)
            ));
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
