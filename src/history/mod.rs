//! The campaign history (docs/spec.md §10): one SQLite file that every `audit --history` run
//! appends to, and that `history`, `trend`, `report.html`'s burndown and `notify --history`
//! read.
//!
//! - **One transaction per run.** A run, all its tenants (with their findings and
//!   certificates) and its counts are written in one `BEGIN IMMEDIATE … COMMIT`: a killed
//!   writer leaves the database as it was.
//! - **Concurrent readers.** The file is in WAL mode, so `trend` or `serve` read while an audit
//!   writes; writers wait for each other (busy timeout).
//! - **Versioned.** `PRAGMA user_version` is the schema version ([`schema::CURRENT`]); older
//!   files are migrated forward when opened, a file of a newer version is refused, as is a file
//!   that is not SQLite or not an mtls-audit history. Refused files are left byte for byte as
//!   they were: they are checked from their header, then through a read-only connection,
//!   before anything opens them for writing.
//! - **Interrupted runs** are stored with `complete = 0`; [`crate::trend`] never counts them.

pub mod schema;

use crate::findings::Level;
use crate::result::{AuditReport, Place, ReadinessSource, ReadinessState, TenantResult};
use crate::trend::{ALL_GROUP, Counts, GroupBy, RunCounts};
use chrono::{DateTime, SecondsFormat, Utc};
use mtls_audit_input::{FileError, FileLimit, FileProblem};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::io::Read;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another one (two audits appending at once).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The history file is opened by SQLite, never read whole: the limit only names it in
/// messages, the type check (a regular file, not a FIFO or a device) is what matters.
const LIMIT: FileLimit = FileLimit {
    bytes: u64::MAX,
    what: "history file",
    option: "--history",
};

/// The first 16 bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Why the history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Missing (for commands that only read), a FIFO, a device, a directory, unreadable.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file is not an SQLite database.
    #[error(
        "{path}: not an SQLite database, so not an mtls-audit history; refused and left as it is (give a new file name to start a history)"
    )]
    NotSqlite {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database of another application.
    #[error("{path}: an SQLite database, but not an mtls-audit history; refused and left as it is")]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer mtls-audit.
    #[error(
        "{path}: history schema version {found} is newer than this mtls-audit knows ({known}); refused and left as it is (use a newer mtls-audit)"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// SQLite failed.
    #[error("{path}: cannot {action}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What was being done ("append the run", "read the runs").
        action: &'static str,
        /// SQLite's error, printed as the cause.
        #[source]
        source: rusqlite::Error,
    },
}

/// Whether [`History::open`] may create the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create it when missing (`audit --history`, `notify --history`).
    Create,
    /// It must exist (`history`, `trend`).
    Existing,
}

/// When a run was made, besides what its report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunTimes {
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When it finished (or was interrupted).
    pub finished_at: DateTime<Utc>,
}

/// One run as `history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// The run's id (1, 2, …).
    pub run: i64,
    /// Its as-of time.
    pub as_of: DateTime<Utc>,
    /// Its `--deadline`.
    pub deadline: Option<DateTime<Utc>>,
    /// Its `--cutover`.
    pub cutover: Option<DateTime<Utc>>,
    /// The inventory as given on its command line.
    pub inventory: String,
    /// The version of mtls-audit that made it.
    pub tool_version: String,
    /// False when the run was interrupted.
    pub complete: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Its counts over the whole fleet.
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether its tenant rows (risk, codes, fingerprints per tenant) are still in the file;
    /// false once pruned by `--history-keep-tenants` (its counts stay).
    pub tenant_rows: bool,
}

/// An open history file.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
    /// Keep the tenant rows of only this many newest runs ([`History::keep_tenants_of`]).
    keep: Option<NonZeroUsize>,
}

/// Deletes the tenant rows of every run but the newest `?1`. A run's counts (`run`,
/// `run_group`) stay, so `history`, `trend` and the burndown read the same after.
const PRUNE_TENANTS: &str = "DELETE FROM tenant WHERE run_id < \
    (SELECT min(id) FROM (SELECT id FROM run ORDER BY id DESC LIMIT ?1))";

/// SQLite's LIMIT of `n` runs.
fn limit(n: NonZeroUsize) -> i64 {
    i64::try_from(n.get()).unwrap_or(i64::MAX)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_time(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
}

fn source_str(s: ReadinessSource) -> &'static str {
    match s {
        ReadinessSource::Probe => "probe",
        ReadinessSource::Evidence => "evidence",
        ReadinessSource::None => "none",
    }
}

/// What the file's header says, read before SQLite opens it.
enum Header {
    /// Empty: SQLite takes it as a new database.
    Empty,
    /// An SQLite database (the header's version may lag behind a WAL file; checked again
    /// through SQLite).
    Sqlite {
        user_version: i64,
        application_id: i64,
    },
}

fn read_header(path: &Path) -> Result<Header, HistoryError> {
    let size = mtls_audit_input::regular_file(path, &LIMIT)?;
    if size == 0 {
        return Ok(Header::Empty);
    }
    let mut head = [0u8; 100];
    let read = std::fs::File::open(path)
        .and_then(|f| {
            let mut n = 0;
            let mut f = f.take(100);
            loop {
                let k = f.read(&mut head[n..])?;
                if k == 0 {
                    return Ok(n);
                }
                n += k;
            }
        })
        .map_err(|e| FileError {
            path: path.to_path_buf(),
            limit: LIMIT,
            problem: FileProblem::Io(e.to_string()),
        })?;
    if read < 100 || &head[..16] != MAGIC {
        return Err(HistoryError::NotSqlite {
            path: path.to_path_buf(),
        });
    }
    let be = |at: usize| {
        i64::from(u32::from_be_bytes([
            head[at],
            head[at + 1],
            head[at + 2],
            head[at + 3],
        ]))
    };
    Ok(Header::Sqlite {
        user_version: be(60),
        application_id: be(68),
    })
}

impl History {
    /// Opens (or, with [`Open::Create`], creates) a history file and migrates it to the current
    /// schema. Refuses, leaving it untouched, a file that is not a regular file, not SQLite, not
    /// an mtls-audit history or of a newer schema.
    pub fn open(path: &Path, mode: Open) -> Result<History, HistoryError> {
        let mut empty = false;
        let exists = match read_header(path) {
            Ok(Header::Empty) => {
                empty = true;
                true
            }
            Ok(Header::Sqlite {
                user_version,
                application_id,
            }) => {
                check_identity(path, user_version, application_id, None)?;
                inspect(path)?;
                true
            }
            Err(HistoryError::File(FileError {
                problem: FileProblem::Missing,
                ..
            })) if mode == Open::Create => false,
            Err(e) => return Err(e),
        };
        if !exists && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| FileError {
                path: dir.to_path_buf(),
                limit: LIMIT,
                problem: FileProblem::Io(e.to_string()),
            })?;
        }
        let sql = |action| sqlite_error(path, action);
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if mode == Open::Create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        // An empty file is a history without runs. A reader (`history`, `trend`) answers so from
        // an empty schema in memory and leaves the file as it is: a command that only reads
        // never turns a stray empty file into a database.
        let conn = if empty && mode == Open::Existing {
            Connection::open_in_memory()
        } else {
            Connection::open_with_flags(path, flags)
        }
        .map_err(sql("open the history"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql("set the busy timeout"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(sql("read the journal mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map_err(sql("switch to WAL mode"))?;
        }
        // WAL with synchronous=NORMAL: a committed run may be lost on power failure, never
        // half-written.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql("set synchronous"))?;
        let mut h = History {
            conn,
            path: path.to_path_buf(),
            keep: None,
        };
        h.migrate()?;
        Ok(h)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> HistoryError + '_ {
        sqlite_error(&self.path, action)
    }

    /// The schema version of the open file.
    pub fn version(&self) -> Result<i64, HistoryError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.err("read the schema version"))
    }

    /// Brings the schema to [`schema::CURRENT`], one migration per version, in one
    /// transaction that re-reads the version under the write lock (another process may have
    /// migrated it meanwhile).
    fn migrate(&mut self) -> Result<(), HistoryError> {
        if self.version()? == schema::CURRENT {
            return Ok(());
        }
        let path = self.path.clone();
        let sql = |action| sqlite_error(&path, action);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("start the migration"))?;
        let (found, app, tables): (i64, i64, i64) = tx
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), \
                 (SELECT application_id FROM pragma_application_id), \
                 (SELECT count(*) FROM sqlite_master)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(sql("read the schema version"))?;
        check_identity(&path, found, app, Some(tables))?;
        let mut v = found;
        while v < schema::CURRENT {
            let Some(step) = schema::migration(v) else {
                break;
            };
            tx.execute_batch(&step).map_err(sql("migrate the schema"))?;
            v += 1;
        }
        tx.pragma_update(None, "user_version", v)
            .map_err(sql("set the schema version"))?;
        tx.commit().map_err(sql("commit the migration"))?;
        // Version 3 dropped the `finding` and `certificate` tables and rewrote every tenant
        // row: rewritten once, a long campaign's file is about half the size (a 50-run,
        // 10,000-tenant history: 445 MB → 233 MB, 3.4 s). Should this fail (a full disk), the
        // free pages are reused by later runs instead.
        if (1..3).contains(&found) {
            let _ = self.conn.execute_batch("VACUUM");
        }
        Ok(())
    }

    /// From now on, [`History::append`] keeps the tenant rows of only the newest `runs` runs (the
    /// new one included), in the same transaction: a history recorded every hour by `serve`
    /// stays the size of `runs` runs' tenants instead of growing without end.
    pub fn keep_tenants_of(&mut self, runs: NonZeroUsize) {
        self.keep = Some(runs);
    }

    /// Deletes now the tenant rows of every run but the newest `runs`, then compacts the file
    /// (`VACUUM`; without it the freed pages are only reused by later runs). Returns how many
    /// tenant rows went.
    pub fn prune_tenants(&mut self, runs: NonZeroUsize) -> Result<usize, HistoryError> {
        let path = self.path.clone();
        let fail = |action| sqlite_error(&path, action);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("start pruning"))?;
        let removed = tx
            .execute(PRUNE_TENANTS, [limit(runs)])
            .map_err(fail("delete the older runs' tenant rows"))?;
        tx.commit().map_err(fail("commit the pruning"))?;
        if removed > 0 {
            self.conn
                .execute_batch("VACUUM")
                .map_err(fail("compact the file"))?;
        }
        Ok(removed)
    }

    /// Appends one run in one transaction and returns its id. Nothing of the run is stored if
    /// any part fails.
    pub fn append(&mut self, report: &AuditReport, times: RunTimes) -> Result<i64, HistoryError> {
        let path = self.path.clone();
        let fail = |action| sqlite_error(&path, action);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("start writing the run"))?;
        let settings = serde_json::to_string(&report.settings).unwrap_or_default();
        tx.execute(
            "INSERT INTO run (as_of, deadline, cutover, settings, inventory, tool_name, tool_version, \
             complete, started_at, finished_at, inventory_errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                time(report.as_of),
                report.deadline.map(time),
                report.cutover.map(time),
                settings,
                report.inventory,
                report.tool.name,
                report.tool.version,
                report.complete,
                time(times.started_at),
                time(times.finished_at),
                report.summary.inventory_errors as i64,
            ],
        )
        .map_err(fail("append the run"))?;
        let run = tx.last_insert_rowid();
        {
            let mut tenant = tx
                .prepare_cached(
                    "INSERT INTO tenant (run_id, line, tenant_id, ips_type, environment, owner, owner_email, \
                     risk, readiness, readiness_source, place_ias_admin_record, place_ips_inbound, \
                     findings, certificates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .map_err(fail("append the run's tenants"))?;
            let (mut findings, mut certificates) = (String::new(), String::new());
            for t in &report.tenants {
                let place = |p: Place| t.readiness.places.get(&p).map(|s| s.as_str());
                tenant
                    .execute(params![
                        run,
                        t.line as i64,
                        t.tenant_id,
                        t.ips_type.as_str(),
                        t.environment.as_str(),
                        t.owner,
                        t.owner_email.join(";"),
                        t.risk.as_str(),
                        t.readiness.state.as_str(),
                        source_str(t.readiness.source),
                        place(Place::IasAdminRecord),
                        place(Place::IpsInbound),
                        findings_json(t, &mut findings),
                        certificates_json(t, &mut certificates),
                    ])
                    .map_err(fail("append the run's tenants"))?;
            }
            let mut group = tx
                .prepare_cached(
                    "INSERT INTO run_group (run_id, dimension, grp, tenants, ready, not_ready, readiness_unknown, \
                     risk_ok, risk_warn, risk_unknown, risk_at_risk, risk_failing) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .map_err(fail("append the run's counts"))?;
            for by in GroupBy::ALL {
                for (name, c) in count_groups(&report.tenants, by) {
                    let risk = |l: Level| c.by_risk.get(&l).copied().unwrap_or(0) as i64;
                    group
                        .execute(params![
                            run,
                            by.as_str(),
                            name,
                            c.tenants as i64,
                            c.ready as i64,
                            c.not_ready as i64,
                            c.unknown as i64,
                            risk(Level::Ok),
                            risk(Level::Warn),
                            risk(Level::Unknown),
                            risk(Level::AtRisk),
                            risk(Level::Failing),
                        ])
                        .map_err(fail("append the run's counts"))?;
                }
            }
        }
        if let Some(keep) = self.keep {
            tx.execute(PRUNE_TENANTS, [limit(keep)])
                .map_err(fail("delete the older runs' tenant rows"))?;
        }
        tx.commit().map_err(fail("commit the run"))?;
        Ok(run)
    }

    /// Every run, oldest first, with its counts over the whole fleet.
    pub fn runs(&self) -> Result<Vec<RunSummary>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.as_of, r.deadline, r.cutover, r.inventory, r.tool_version, r.complete, \
                 r.started_at, r.finished_at, g.tenants, g.ready, g.not_ready, g.readiness_unknown, \
                 g.risk_ok, g.risk_warn, g.risk_unknown, g.risk_at_risk, g.risk_failing, \
                 EXISTS (SELECT 1 FROM tenant t WHERE t.run_id = r.id) \
                 FROM run r LEFT JOIN run_group g ON g.run_id = r.id AND g.dimension = 'all' \
                 ORDER BY r.id",
            )
            .map_err(self.err("read the runs"))?;
        let rows = stmt
            .query_map([], |r| {
                let opt_time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
                    r.get::<_, Option<String>>(i)?
                        .map(|s| parse_time(&s))
                        .transpose()
                };
                let counts = counts_at(r, 9)?;
                Ok(RunSummary {
                    run: r.get(0)?,
                    as_of: parse_time(&r.get::<_, String>(1)?)?,
                    deadline: opt_time(2)?,
                    cutover: opt_time(3)?,
                    inventory: r.get(4)?,
                    tool_version: r.get(5)?,
                    complete: r.get(6)?,
                    started_at: parse_time(&r.get::<_, String>(7)?)?,
                    finished_at: parse_time(&r.get::<_, String>(8)?)?,
                    // A run of no tenants has all of its (zero) rows.
                    tenant_rows: counts.tenants == 0 || r.get::<_, bool>(18)?,
                    counts,
                })
            })
            .map_err(self.err("read the runs"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(self.err("read the runs"))
    }

    /// Every run with its counts per group of `by`: what [`crate::trend::build`] takes.
    pub fn run_counts(&self, by: GroupBy) -> Result<Vec<RunCounts>, HistoryError> {
        let mut runs: BTreeMap<i64, RunCounts> = BTreeMap::new();
        for r in self.runs()? {
            runs.insert(
                r.run,
                RunCounts {
                    run: r.run,
                    as_of: r.as_of,
                    deadline: r.deadline,
                    cutover: r.cutover,
                    complete: r.complete,
                    groups: BTreeMap::new(),
                },
            );
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, grp, tenants, ready, not_ready, readiness_unknown, risk_ok, risk_warn, \
                 risk_unknown, risk_at_risk, risk_failing FROM run_group WHERE dimension = ?",
            )
            .map_err(self.err("read the counts"))?;
        let rows = stmt
            .query_map([by.as_str()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    counts_at(r, 2)?,
                ))
            })
            .map_err(self.err("read the counts"))?;
        for row in rows {
            let (run, grp, counts) = row.map_err(self.err("read the counts"))?;
            if let Some(r) = runs.get_mut(&run) {
                r.groups.insert(grp, counts);
            }
        }
        Ok(runs.into_values().collect())
    }

    /// When `content_hash` was last sent to `address` (`notify --history`).
    pub fn last_sent(
        &self,
        address: &str,
        content_hash: &str,
    ) -> Result<Option<DateTime<Utc>>, HistoryError> {
        let last: Option<String> = self
            .conn
            .query_row(
                "SELECT max(sent_at) FROM notification WHERE address = ? AND content_hash = ?",
                [address, content_hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("read the notification log"))?
            .flatten();
        last.map(|s| parse_time(&s))
            .transpose()
            .map_err(self.err("read the notification log"))
    }

    /// Records a message that was sent.
    pub fn record_sent(&mut self, sent: &Sent<'_>) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT INTO notification (sent_at, address, owner, content_hash, subject, audit_as_of, tenants) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![
                    time(sent.sent_at),
                    sent.address,
                    sent.owner,
                    sent.content_hash,
                    sent.subject,
                    time(sent.audit_as_of),
                    sent.tenants as i64,
                ],
            )
            .map(|_| ())
            .map_err(self.err("record the notification"))
    }
}

/// A tenant's findings as stored (schema version 3), `[["code","target","level"],…]`, written
/// into `buf`. Every string here is one of ours (codes, targets and levels are identifiers,
/// fingerprints hex, times RFC 3339), so nothing needs escaping; written by hand because a
/// JSON serialiser's escaping scan was a fifth of the history's time on 100,000 tenants.
fn findings_json<'b>(t: &TenantResult, buf: &'b mut String) -> &'b str {
    buf.clear();
    push_array(buf, &t.findings, |b, f| {
        push_array(
            b,
            [f.code.as_str(), f.target.as_str(), f.level.as_str()],
            push_json_str,
        )
    });
    buf
}

/// A tenant's certificates as stored (schema version 3),
/// `[["target","sha256","sha1","not_after",reference_match],…]` with reference_match 1, 0 or
/// null, written into `buf` (see [`findings_json`]).
fn certificates_json<'b>(t: &TenantResult, buf: &'b mut String) -> &'b str {
    buf.clear();
    push_array(buf, &t.certificates, |b, c| {
        b.push('[');
        for s in [
            c.target.as_str(),
            &c.cert.sha256,
            &c.cert.sha1,
            &time(c.cert.not_after),
        ] {
            push_json_str(b, s);
            b.push(',');
        }
        b.push_str(match c.reference_match {
            Some(true) => "1]",
            Some(false) => "0]",
            None => "null]",
        });
    });
    buf
}

/// `[item,item,…]` into `buf`, each item written by `each`.
fn push_array<T>(
    buf: &mut String,
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(&mut String, T),
) {
    buf.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        each(buf, item);
    }
    buf.push(']');
}

/// `"s"`, for a string that needs no escaping (checked in debug builds).
fn push_json_str(buf: &mut String, s: &str) {
    debug_assert!(
        s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'),
        "{s:?} needs escaping"
    );
    buf.push('"');
    buf.push_str(s);
    buf.push('"');
}

/// A message `notify` sent, for the notification log.
#[derive(Debug, Clone, Copy)]
pub struct Sent<'a> {
    /// When.
    pub sent_at: DateTime<Utc>,
    /// To whom.
    pub address: &'a str,
    /// The owners it was for.
    pub owner: &'a str,
    /// The hash of its content without dates.
    pub content_hash: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// The as-of of the audit it was made from.
    pub audit_as_of: DateTime<Utc>,
    /// How many tenants it listed.
    pub tenants: usize,
}

/// Counts read from nine columns starting at `at`: tenants, ready, not ready, unknown, then
/// OK to FAILING.
fn counts_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Counts> {
    let n = |i: usize| -> rusqlite::Result<u64> {
        Ok(r.get::<_, Option<i64>>(at + i)?.unwrap_or(0).max(0) as u64)
    };
    let mut c = Counts::zero();
    c.tenants = n(0)?;
    c.ready = n(1)?;
    c.not_ready = n(2)?;
    c.unknown = n(3)?;
    for (i, level) in Level::ALL.into_iter().enumerate() {
        c.by_risk.insert(level, n(4 + i)?);
    }
    Ok(c)
}

/// The counts of `tenants` per group of `by` (the fleet always has its one group, even
/// empty).
pub fn count_groups(tenants: &[TenantResult], by: GroupBy) -> BTreeMap<String, Counts> {
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    if by == GroupBy::All {
        out.insert(ALL_GROUP.to_string(), Counts::zero());
    }
    for t in tenants {
        let key: &str = match by {
            GroupBy::All => ALL_GROUP,
            GroupBy::Owner => &t.owner,
            GroupBy::Environment => t.environment.as_str(),
            GroupBy::IpsType => t.ips_type.as_str(),
        };
        let c = match out.get_mut(key) {
            Some(c) => c,
            None => out.entry(key.to_string()).or_insert_with(Counts::zero),
        };
        c.tenants += 1;
        match t.readiness.state {
            ReadinessState::Ready => c.ready += 1,
            ReadinessState::NotReady => c.not_ready += 1,
            ReadinessState::Unknown => c.unknown += 1,
        }
        *c.by_risk.entry(t.risk).or_default() += 1;
    }
    out
}

/// An SQLite failure while doing `action` on the history at `path` (for `map_err`; owns its
/// path so the borrow of the connection's transaction is free).
fn sqlite_error(path: &Path, action: &'static str) -> impl FnOnce(rusqlite::Error) -> HistoryError {
    let path = path.to_path_buf();
    move |source| HistoryError::Sqlite {
        path,
        action,
        source,
    }
}

/// Refuses what is not an mtls-audit history of a version this build knows. `tables` is the
/// number of schema objects, when known: a database with objects but neither our application
/// id nor a version is someone else's.
fn check_identity(
    path: &Path,
    user_version: i64,
    application_id: i64,
    tables: Option<i64>,
) -> Result<(), HistoryError> {
    // Ours carries our application id; a fresh file carries nothing at all.
    let ours = application_id == schema::APPLICATION_ID;
    let empty = application_id == 0 && user_version == 0 && tables.unwrap_or(0) == 0;
    let foreign = !ours && !empty;
    if foreign {
        return Err(HistoryError::Foreign {
            path: path.to_path_buf(),
        });
    }
    if user_version > schema::CURRENT {
        return Err(HistoryError::Newer {
            path: path.to_path_buf(),
            found: user_version,
            known: schema::CURRENT,
        });
    }
    Ok(())
}

/// Looks at an existing database through a read-only connection (which never writes the file,
/// not even a WAL checkpoint on close) before anything opens it for writing: the header of a
/// WAL database may lag behind its last commits.
fn inspect(path: &Path) -> Result<(), HistoryError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| HistoryError::Sqlite {
        path: path.to_path_buf(),
        action: "open the history",
        source,
    })?;
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
    let got = conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version), \
         (SELECT application_id FROM pragma_application_id), \
         (SELECT count(*) FROM sqlite_master)",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    );
    match got {
        Ok((version, app, tables)) => check_identity(path, version, app, Some(tables)),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(HistoryError::NotSqlite {
                path: path.to_path_buf(),
            })
        }
        Err(source) => Err(HistoryError::Sqlite {
            path: path.to_path_buf(),
            action: "read the schema version",
            source,
        }),
    }
}
