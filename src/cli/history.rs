//! The campaign history (docs/spec.md §10): `audit --history FILE` and `--split-by owner`
//! (the [`Campaign`] an audit run carries), and `mtls-audit history FILE`, which lists the runs.

use super::Exit;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use mtls_audit::history::{History, Open, RunTimes};
use mtls_audit::report::{self, Format, campaign, owners, terminal_line};
use mtls_audit::result::AuditReport;
use mtls_audit::trend::{self, GroupBy, Trend};
use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

/// What `--split-by` splits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SplitBy {
    // No doc comments on the values: clap would switch the whole `audit --help` to its long
    // form to list them.
    Owner,
}

/// The campaign options of `audit`.
#[derive(Debug, Clone, Args)]
pub(crate) struct CampaignArgs {
    /// Append the run to this campaign history (SQLite, created if missing) and draw the
    /// burndown in report.html
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Also write OUT/owners/<owner>/ with audit.csv, report.md (and report.html) of each
    /// owner's tenants
    #[arg(long, value_name = "owner", value_enum)]
    pub split_by: Option<SplitBy>,
    /// Keep the tenant rows of only the newest N runs in the history; older runs keep their
    /// counts, so history, trend and the burndown are unchanged
    #[arg(long, value_name = "N", requires = "history")]
    pub history_keep_tenants: Option<NonZeroUsize>,
}

/// What an audit run does besides auditing: the history it appends to and the owner folders.
pub(super) struct Campaign {
    history: Option<History>,
    split: bool,
    started_at: DateTime<Utc>,
}

/// A run appended to the history, with the trends its reports draw.
pub(super) struct Recorded {
    /// The run's id.
    pub run: i64,
    /// The fleet's trend.
    pub all: Trend,
    /// Per owner, for the owner folders.
    pub by_owner: Option<Trend>,
    /// The history file.
    pub path: PathBuf,
}

impl Recorded {
    /// The fleet's burndown for `report.html`.
    pub(super) fn campaign(&self) -> Option<report::Campaign<'_>> {
        self.all
            .group(trend::ALL_GROUP)
            .map(|group| report::Campaign {
                trend: &self.all,
                group,
            })
    }
}

impl Campaign {
    /// Opens the history before any tenant is audited, so a file that cannot be one is refused
    /// at once (exit 2) and left as it is.
    pub(super) fn start(args: &CampaignArgs, out: &Path) -> anyhow::Result<Campaign> {
        let history = match &args.history {
            Some(p) => {
                // A report of this run must not replace the history.
                let reports: Vec<PathBuf> = Format::ALL
                    .iter()
                    .filter_map(|f| f.file_name())
                    .map(|n| out.join(n))
                    .collect();
                if let Some(r) = reports.iter().find(|r| same_file(r, p)) {
                    anyhow::bail!(
                        "--history {} is where the report {} goes; choose another file",
                        p.display(),
                        r.display()
                    );
                }
                let mut h = History::open(p, Open::Create)?;
                if let Some(n) = args.history_keep_tenants {
                    h.keep_tenants_of(n);
                }
                Some(h)
            }
            None => None,
        };
        Ok(Campaign {
            history,
            ..Campaign::without_history(args)
        })
    }

    /// The campaign of `args` with no history to record into (owner folders only): what a
    /// `serve` run falls back to when its history cannot be opened.
    pub(super) fn without_history(args: &CampaignArgs) -> Campaign {
        Campaign {
            history: None,
            split: args.split_by == Some(SplitBy::Owner),
            started_at: Utc::now(),
        }
    }

    /// Appends the run (complete or not) in one transaction, reads the trends back and closes
    /// the history.
    pub(super) fn record(&mut self, report: &AuditReport) -> anyhow::Result<Option<Recorded>> {
        // Taken, so the file is closed (SQLite's last checkpoint) on the recording thread of
        // `record_while`, not at exit after the reports.
        let Some(mut h) = self.history.take() else {
            return Ok(None);
        };
        let times = RunTimes {
            started_at: self.started_at,
            finished_at: Utc::now(),
        };
        let run = h.append(report, times)?;
        let all = trend::build(&h.run_counts(GroupBy::All)?, trend::DEFAULT_WINDOW);
        let by_owner = if self.split {
            Some(trend::build(
                &h.run_counts(GroupBy::Owner)?,
                trend::DEFAULT_WINDOW,
            ))
        } else {
            None
        };
        Ok(Some(Recorded {
            run,
            all,
            by_owner,
            path: h.path().to_path_buf(),
        }))
    }

    /// [`Campaign::record`] on a second thread while `meanwhile` runs on this one (the report
    /// files that do not draw the burndown are written while the history is): on a
    /// 100,000-tenant fleet the history's write is most of a second and a half (BENCHMARKS.md).
    pub(super) fn record_while<R>(
        &mut self,
        report: &AuditReport,
        meanwhile: impl FnOnce() -> R,
    ) -> (anyhow::Result<Option<Recorded>>, R) {
        if self.history.is_none() {
            return (Ok(None), meanwhile());
        }
        let (recorded, r) = side_by_side(|| self.record(report), meanwhile);
        let recorded = recorded
            .unwrap_or_else(|_| Err(anyhow::anyhow!("writing the history failed unexpectedly")));
        (recorded, r)
    }

    /// Says where the run went (stderr), unless quiet.
    pub(super) fn announce(&self, recorded: &Recorded, quiet: bool) {
        if quiet {
            return;
        }
        let mut line = format!(
            "history: run {} appended to {}",
            recorded.run,
            recorded.path.display()
        );
        if let Some(g) = recorded.all.group(trend::ALL_GROUP) {
            let p = &g.projection;
            if let Some(last) = g.points.last() {
                line.push_str(&format!(
                    "; {} not ready of {} ({} complete runs)",
                    last.counts.not_ready,
                    last.counts.tenants,
                    g.points.len()
                ));
            }
            if let (Some(n), Some(d)) = (p.not_ready_at_deadline, recorded.all.deadline) {
                line.push_str(&format!(
                    ", projected {n} at the deadline {}",
                    d.format("%Y-%m-%d")
                ));
            }
            if let Some(f) = p.finish {
                line.push_str(&format!(", finish {f}"));
            }
        }
        eprintln!("{}", terminal_line(&line, 400));
    }

    /// Writes `OUT/owners/` when `--split-by owner` was given.
    pub(super) fn split(
        &self,
        report: &AuditReport,
        out: &Path,
        formats: &[Format],
        recorded: Option<&Recorded>,
        quiet: bool,
    ) -> anyhow::Result<()> {
        if !self.split {
            return Ok(());
        }
        let folders = owners::write(
            report,
            out,
            formats,
            recorded.and_then(|r| r.by_owner.as_ref()),
        )
        .with_context(|| format!("writing the owner folders to {}", out.display()))?;
        if !quiet {
            eprintln!(
                "owners: {} folders in {}",
                folders.len(),
                out.join(owners::FOLDER).display()
            );
        }
        Ok(())
    }
}

/// Runs `second` on a new thread while `first` runs on this one, and waits for both (a panic
/// on the second thread is its `Err`).
fn side_by_side<A: Send, B>(
    second: impl FnOnce() -> A + Send,
    first: impl FnOnce() -> B,
) -> (std::thread::Result<A>, B) {
    std::thread::scope(|s| {
        let other = s.spawn(second);
        let b = first();
        (other.join(), b)
    })
}

/// Whether two paths name the same file (the second may not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = std::fs::canonicalize(p) {
            return Some(c);
        }
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
    };
    matches!((canon(a), canon(b)), (Some(x), Some(y)) if x == y)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HistoryFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Interrupted runs are listed with complete = false; trend never counts them.\n\n\
Exit codes: 0 listed; 2 the file is missing, not an mtls-audit history, or of a newer schema."
)]
pub(crate) struct HistoryArgs {
    /// The history file written by `audit --history`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format (to stdout)
    #[arg(long, value_enum, default_value = "table")]
    pub format: HistoryFormat,
    /// First delete the tenant rows of all but the newest N runs and compact the file (their
    /// counts stay; see audit --history-keep-tenants)
    #[arg(long, value_name = "N")]
    pub keep_tenants: Option<NonZeroUsize>,
}

pub(super) fn run(args: HistoryArgs) -> anyhow::Result<Exit> {
    let mut h = History::open(&args.file, Open::Existing)?;
    if let Some(n) = args.keep_tenants {
        let removed = h.prune_tenants(n)?;
        eprintln!(
            "history: removed {removed} tenant rows of runs older than the newest {n} from {}",
            args.file.display()
        );
    }
    let runs = h.runs()?;
    let text = match args.format {
        HistoryFormat::Json => {
            let mut s = serde_json::to_string_pretty(&serde_json::json!({ "runs": runs }))?;
            s.push('\n');
            s
        }
        HistoryFormat::Table => campaign::history_table(&runs),
    };
    print_stdout(&text)?;
    Ok(Exit::Clean)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth exit code 2.
pub(super) fn print_stdout(text: &str) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if let Err(e) = lock.write_all(text.as_bytes()).and_then(|_| lock.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    // Each side hands the other a token and waits for the other's: run one after the other,
    // the first to run would wait for a side that has not started (a deadlock the timeout
    // turns into a failure). Not a timing assertion: 30 s is only the deadlock's guard.
    #[test]
    fn both_sides_run_at_once() {
        let wait = Duration::from_secs(30);
        let (to_first, from_second) = mpsc::channel();
        let (to_second, from_first) = mpsc::channel();
        let (second, first) = side_by_side(
            move || {
                let _ = to_first.send(());
                from_first.recv_timeout(wait).is_ok()
            },
            move || {
                let _ = to_second.send(());
                from_second.recv_timeout(wait).is_ok()
            },
        );
        assert!(first, "the side on this thread never heard from the other");
        assert!(
            matches!(second, Ok(true)),
            "the other side never heard from this one"
        );
    }

    #[test]
    fn a_panic_on_the_second_thread_is_an_error_not_a_crash() {
        let (second, first) = side_by_side(|| -> u8 { panic!("boom") }, || 7);
        assert!(second.is_err());
        assert_eq!(first, 7);
    }

    // The run is in the file while the reports are still being written: `meanwhile` waits for
    // a second connection to see it, which it never would if the run were recorded after.
    #[test]
    fn the_history_is_written_while_the_reports_are() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.sqlite");
        let args = CampaignArgs {
            history: Some(file.clone()),
            split_by: None,
            history_keep_tenants: None,
        };
        let mut campaign = Campaign::start(&args, dir.path()).unwrap();
        let report = AuditReport {
            tool: mtls_audit::result::ToolInfo::this(),
            as_of: Utc::now(),
            deadline: None,
            cutover: None,
            inventory: "inv.csv".into(),
            complete: true,
            settings: Default::default(),
            summary: mtls_audit::result::Summary::from_tenants(&[], 0, 0, 0),
            tenants: Vec::new(),
            inventory_errors: Vec::new(),
            shard: None,
        };
        let (recorded, seen) = campaign.record_while(&report, || {
            let give_up = std::time::Instant::now() + Duration::from_secs(30);
            while std::time::Instant::now() < give_up {
                if let Ok(h) = History::open(&file, Open::Existing)
                    && h.runs().map(|r| r.len()).unwrap_or(0) == 1
                {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            false
        });
        assert!(
            seen,
            "the run was not in the history while the reports were written"
        );
        assert_eq!(recorded.unwrap().unwrap().run, 1);
    }
}
