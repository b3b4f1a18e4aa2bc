//! The campaign over time (docs/spec.md §10): `audit --history` and its SQLite file (one
//! transaction per run, WAL readers, versioned schema and migration, refusals that leave a file
//! untouched), `history`, `trend` and its projection, the burndown in report.html, and
//! `audit --split-by owner`.

use crate::harness::*;
use crate::reports::{fleet, report_of, tenant};
use mtls_audit::history::{History, Open, RunTimes, schema};
use mtls_audit::inventory::{Environment, IpsType};
use mtls_audit::result::{AuditReport, PlaceState, Readiness, ReadinessSource};
use mtls_audit::trend::{self, GroupBy};
use serde_json::Value;
use std::path::Path;

/// A converged fleet judged offline from evidence: a tenant holding the reference certificate
/// is ready, one holding the old certificate is not.
pub(crate) struct Campaign {
    pub dir: TestDir,
    pub tenants: usize,
    pub owners: Vec<(String, String)>,
}

impl Campaign {
    pub(crate) fn new(tenants: usize) -> Campaign {
        let dir = TestDir::new();
        let ca = ca();
        let new = client_cert(&ca, "LMS 2025-2026", -10, 355);
        let old = client_cert(&ca, "LMS 2024-2025", -340, 25);
        dir.write("ref.pem", &new.cert_pem);
        dir.write("certs/new.pem", &new.cert_pem);
        dir.write("certs/old.pem", &old.cert_pem);
        Campaign {
            dir,
            tenants,
            owners: vec![
                ("Anna Müller".into(), "anna@example.com".into()),
                ("Bob Stone".into(), "bob@example.com;ops@example.com".into()),
                ("".into(), "".into()),
            ],
        }
    }

    /// Writes the inventory: the first `fixed` tenants hold the new certificate.
    pub(crate) fn inventory(&self, fixed: usize) {
        let mut s =
            String::from("tenant_id,ips_type,environment,ias_admin_cert,owner,owner_email\n");
        for i in 0..self.tenants {
            let (owner, email) = &self.owners[i % self.owners.len()];
            let env = if i % 4 == 3 { "preview" } else { "production" };
            let cert = if i < fixed {
                "certs/new.pem"
            } else {
                "certs/old.pem"
            };
            s.push_str(&format!("T{i:03},converged,{env},{cert},{owner},{email}\n"));
        }
        self.dir.write("inventory.csv", s);
    }

    /// One offline audit as of `as_of` with `--history h.sqlite`.
    pub(crate) fn audit(&self, as_of: &str, fixed: usize, extra: &[&str]) -> Run {
        self.inventory(fixed);
        let mut args = vec![
            "audit",
            "inventory.csv",
            "--offline",
            "--reference-cert",
            "ref.pem",
            "--as-of",
            as_of,
            "--deadline",
            "2025-09-01",
            "--cutover",
            "2025-08-15",
            "--history",
            "h.sqlite",
            "--out",
            "out",
            "--fail-on",
            "never",
        ];
        args.extend_from_slice(extra);
        self.dir.run(&args)
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let r = self.dir.run(args);
        r.expect_code(0);
        r.json()
    }
}

fn sqlite(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn audit_history_appends_each_run_and_history_lists_them() {
    let c = Campaign::new(12);
    c.audit("2025-07-01", 3, &[]).expect_code(0);
    let r = c.audit("2025-07-08", 6, &[]);
    r.expect_code(0);
    assert!(
        r.stderr().contains("history: run 2 appended to h.sqlite"),
        "{}",
        r.describe()
    );
    let h = c.json(&["history", "h.sqlite", "--format", "json"]);
    let runs = h["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run"], 1);
    assert_eq!(runs[0]["as_of"], "2025-07-01T00:00:00Z");
    assert_eq!(runs[0]["deadline"], "2025-09-01T00:00:00Z");
    assert_eq!(runs[0]["complete"], true);
    assert_eq!(runs[0]["inventory"], "inventory.csv");
    assert_eq!(runs[0]["tenants"], 12);
    assert_eq!(runs[0]["ready"], 3);
    assert_eq!(runs[0]["not_ready"], 9);
    assert_eq!(runs[1]["ready"], 6);
    assert_eq!(runs[1]["not_ready"], 6);
    // Old certificates are AT_RISK (CERT_NOT_REFERENCE before the cutover).
    assert_eq!(runs[1]["by_risk"]["AT_RISK"], 6);
    assert_eq!(runs[1]["by_risk"]["OK"], 6);
    let table = c.dir.run(&["history", "h.sqlite"]);
    table.expect_code(0);
    let out = table.stdout();
    assert!(out.starts_with("RUN  AS OF"), "{out}");
    assert!(
        out.lines()
            .nth(2)
            .unwrap()
            .starts_with("2    2025-07-08 00:00"),
        "{out}"
    );

    // What the run stored per tenant: risk, readiness and its places, findings, fingerprints,
    // owner, addresses, environment, IPS type.
    let db = sqlite(&c.dir.join("h.sqlite"));
    let (risk, ready, place, owner, email, env, ips): (String, String, String, String, String, String, String) = db
        .query_row(
            "SELECT risk, readiness, place_ias_admin_record, owner, owner_email, environment, ips_type \
             FROM tenant WHERE run_id = 2 AND tenant_id = 'T007'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    assert_eq!(
        (risk.as_str(), ready.as_str(), place.as_str()),
        ("AT_RISK", "not_ready", "rejected")
    );
    assert_eq!(owner, "Bob Stone");
    assert_eq!(email, "bob@example.com;ops@example.com");
    assert_eq!((env.as_str(), ips.as_str()), ("preview", "converged"));
    let codes: Vec<String> = db
        .prepare(
            "SELECT (f.value ->> 0) || '@' || (f.value ->> 1) || ':' || (f.value ->> 2) \
             FROM tenant t, json_each(t.findings) f WHERE t.run_id = 2 AND t.tenant_id = 'T007'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // The old certificate also expires before the deadline.
    assert_eq!(
        codes,
        [
            "CERT_EXPIRES_BEFORE_DEADLINE@ias_admin_cert:AT_RISK",
            "CERT_NOT_REFERENCE@ias_admin_cert:AT_RISK"
        ]
    );
    // The certificates column is JSON that a JSON parser reads as the report does.
    let certs: String = db
        .query_row(
            "SELECT certificates FROM tenant WHERE run_id = 2 AND tenant_id = 'T000'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let certs: Value = serde_json::from_str(&certs).unwrap();
    let audit: Value = serde_json::from_str(&c.dir.read("out/audit.json")).unwrap();
    let t000 = audit["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant_id"] == "T000")
        .unwrap();
    let stored: Vec<[String; 4]> = certs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c.as_array().unwrap().len(), 5, "{c}");
            assert!(c[4].is_null() || c[4] == 1 || c[4] == 0, "{c}");
            [0, 1, 2, 3].map(|i| c[i].as_str().unwrap().to_string())
        })
        .collect();
    let reported: Vec<[String; 4]> = t000["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            ["target", "sha256", "sha1", "not_after"].map(|k| c[k].as_str().unwrap().to_string())
        })
        .collect();
    assert!(!stored.is_empty());
    assert_eq!(stored, reported);
    assert_eq!(stored[0][1].len(), 64);
    let (settings, complete, version): (String, bool, String) = db
        .query_row(
            "SELECT settings, complete, tool_version FROM run WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(settings.contains("\"offline\":true"), "{settings}");
    assert!(complete);
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// `--history-keep-tenants`: the tenant rows of older runs go in the run's own transaction,
/// their counts stay, so `trend` (every grouping) says exactly what it says without pruning.
#[test]
fn older_runs_keep_their_counts_when_their_tenant_rows_are_pruned() {
    let kept = Campaign::new(12);
    let all = Campaign::new(12);
    for (day, fixed) in [("2025-07-01", 3), ("2025-07-08", 6), ("2025-07-15", 9)] {
        kept.audit(day, fixed, &["--history-keep-tenants", "2"])
            .expect_code(0);
        all.audit(day, fixed, &[]).expect_code(0);
    }
    let rows = |c: &Campaign| -> Vec<(i64, i64)> {
        let conn = sqlite(&c.dir.join("h.sqlite"));
        let mut stmt = conn
            .prepare("SELECT run_id, count(*) FROM tenant GROUP BY run_id ORDER BY run_id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(rows(&kept), [(2, 12), (3, 12)]);
    assert_eq!(rows(&all), [(1, 12), (2, 12), (3, 12)]);
    for by in [None, Some("owner"), Some("environment"), Some("ips_type")] {
        let mut args = vec!["trend", "h.sqlite", "--format", "json"];
        args.extend(by.iter().flat_map(|b| ["--by", *b]));
        assert_eq!(kept.json(&args), all.json(&args), "trend {by:?}");
    }
    let listed = kept.json(&["history", "h.sqlite", "--format", "json"]);
    let flags: Vec<&Value> = listed["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["tenant_rows"])
        .collect();
    assert_eq!(flags, [false, true, true]);
    let table = kept.dir.run(&["history", "h.sqlite"]);
    assert!(
        table
            .stdout()
            .contains("1 of 3 runs keep only their counts (their tenant rows were pruned)"),
        "{}",
        table.describe()
    );
    assert!(
        !all.dir
            .run(&["history", "h.sqlite"])
            .stdout()
            .contains("pruned")
    );

    // Pruning an existing file by hand: `history --keep-tenants` deletes and compacts.
    let before = std::fs::metadata(all.dir.join("h.sqlite")).unwrap().len();
    let r = all.dir.run(&[
        "history",
        "h.sqlite",
        "--keep-tenants",
        "1",
        "--format",
        "json",
    ]);
    r.expect_code(0);
    assert!(
        r.stderr()
            .contains("removed 24 tenant rows of runs older than the newest 1"),
        "{}",
        r.describe()
    );
    assert_eq!(rows(&all), [(3, 12)]);
    assert!(std::fs::metadata(all.dir.join("h.sqlite")).unwrap().len() <= before);
    let flags: Vec<bool> = r.json()["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tenant_rows"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, false, true]);
    // The counts are untouched, so the trend is too.
    assert_eq!(
        all.json(&["trend", "h.sqlite", "--format", "json"]),
        kept.json(&["trend", "h.sqlite", "--format", "json"])
    );

    // N is at least 1, and only means something with a history.
    kept.dir
        .run(&["history", "h.sqlite", "--keep-tenants", "0"])
        .expect_code(2);
    let r = kept.dir.run(&[
        "audit",
        "inventory.csv",
        "--offline",
        "--history-keep-tenants",
        "3",
    ]);
    r.expect_code(2);
    assert!(r.stderr().contains("--history <FILE>"), "{}", r.describe());
}

#[test]
fn trend_projects_each_group_and_has_the_spec_shape() {
    let c = Campaign::new(12);
    // 9, 6, 3 not ready a week apart: zero a week after the last run.
    c.audit("2025-07-01", 3, &[]).expect_code(0);
    c.audit("2025-07-08", 6, &[]).expect_code(0);
    c.audit("2025-07-15", 9, &[]).expect_code(0);
    let t = c.json(&["trend", "h.sqlite", "--format", "json"]);
    assert_eq!(t["deadline"], "2025-09-01T00:00:00Z");
    let groups = t["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g["group"], "all");
    let points = g["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    let not_ready: Vec<u64> = points
        .iter()
        .map(|p| p["not_ready"].as_u64().unwrap())
        .collect();
    assert_eq!(not_ready, [9, 6, 3]);
    for p in points {
        let keys: Vec<&str> = p.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "as_of",
                "by_risk",
                "not_ready",
                "ready",
                "run",
                "tenants",
                "unknown"
            ]
        );
        assert_eq!(p["by_risk"].as_object().unwrap().len(), 5);
    }
    assert_eq!(g["projection"]["finish"], "2025-07-22");
    assert_eq!(g["projection"]["not_ready_at_deadline"], 0);

    // By owner: three groups (the empty owner is a group of its own).
    let t = c.json(&["trend", "h.sqlite", "--by", "owner", "--format", "json"]);
    let names: Vec<&str> = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["", "Anna Müller", "Bob Stone"]);
    let t = c.json(&[
        "trend",
        "h.sqlite",
        "--by",
        "environment",
        "--format",
        "json",
    ]);
    assert_eq!(t["groups"][0]["group"], "preview");
    assert_eq!(t["groups"][1]["group"], "production");
    let t = c.json(&["trend", "h.sqlite", "--by", "ips_type", "--format", "json"]);
    assert_eq!(t["groups"][0]["group"], "converged");
    assert_eq!(t["groups"][0]["points"][0]["tenants"], 12);

    // A window of one run gives no pace.
    let t = c.json(&["trend", "h.sqlite", "--window", "1", "--format", "json"]);
    assert_eq!(t["groups"][0]["projection"]["finish"], Value::Null);
    assert_eq!(t["groups"][0]["projection"]["not_ready_at_deadline"], 3);

    let csv = c
        .dir
        .run(&["trend", "h.sqlite", "--format", "csv", "--by", "owner"]);
    csv.expect_code(0);
    let lines: Vec<String> = csv.stdout().lines().map(String::from).collect();
    assert_eq!(
        lines[0],
        "group,run,as_of,tenants,ready,not_ready,unknown,risk_failing,risk_at_risk,risk_unknown,risk_warn,risk_ok,projected_not_ready_at_deadline,projected_finish"
    );
    assert_eq!(lines.len(), 1 + 3 * 3);
    assert!(
        lines[1].starts_with(",1,2025-07-01T00:00:00Z,4,"),
        "{}",
        lines[1]
    );

    let table = c.dir.run(&["trend", "h.sqlite"]);
    table.expect_code(0);
    let out = table.stdout();
    assert!(out.contains("== all tenants"), "{out}");
    assert!(
        out.contains("projection: 0 not ready at the deadline 2025-09-01; finish 2025-07-22 (pace -0.43/day over 3 runs)"),
        "{out}"
    );
}

/// A report of `tenants` (converged) of which `not_ready` are not ready, as of `day`.
fn synthetic(day: &str, tenants: usize, not_ready: usize, complete: bool) -> AuditReport {
    let mut r = report_of(
        (0..tenants)
            .map(|i| {
                let mut t = tenant(
                    i as u64 + 2,
                    &format!("S{i:03}"),
                    IpsType::Converged,
                    Environment::Production,
                    if i % 2 == 0 { "even" } else { "odd" },
                    vec![],
                    vec![],
                );
                let state = if i < not_ready {
                    PlaceState::Rejected
                } else {
                    PlaceState::Accepted
                };
                t.readiness =
                    Readiness::of(IpsType::Converged, ReadinessSource::Evidence, |_| state);
                t
            })
            .collect(),
        vec![],
    );
    r.as_of = chrono::DateTime::parse_from_rfc3339(&format!("{day}T00:00:00Z"))
        .unwrap()
        .with_timezone(&chrono::Utc);
    r.complete = complete;
    r
}

fn times() -> RunTimes {
    RunTimes {
        started_at: chrono::Utc::now(),
        finished_at: chrono::Utc::now(),
    }
}

#[test]
fn interrupted_runs_are_stored_incomplete_and_never_counted() {
    let t = TestDir::new();
    let path = t.join("h.sqlite");
    let mut h = History::open(&path, Open::Create).unwrap();
    h.append(&synthetic("2025-07-01", 10, 8, true), times())
        .unwrap();
    // Interrupted: it claims everyone is ready, which must change nothing.
    h.append(&synthetic("2025-07-05", 10, 0, false), times())
        .unwrap();
    h.append(&synthetic("2025-07-08", 10, 6, true), times())
        .unwrap();
    drop(h);
    let runs = t.run(&["history", "h.sqlite", "--format", "json"]).json();
    assert_eq!(runs["runs"][1]["complete"], false);
    assert!(
        t.run(&["history", "h.sqlite"])
            .stdout()
            .contains("no (interrupted)")
    );
    let tr = t.run(&["trend", "h.sqlite", "--format", "json"]).json();
    let points = tr["groups"][0]["points"].as_array().unwrap();
    assert_eq!(
        points
            .iter()
            .map(|p| p["run"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 3]
    );
    // 8 then 6 a week later: 2 a week, zero three weeks after the last run.
    assert_eq!(tr["groups"][0]["projection"]["finish"], "2025-07-29");
    // The burndown marks it, and does not draw it as a point.
    let h = History::open(&path, Open::Existing).unwrap();
    let trend = trend::build(&h.run_counts(GroupBy::All).unwrap(), 5);
    let group = trend.group("all").unwrap();
    let page = mtls_audit::report::html::render_with(
        &synthetic("2025-07-08", 10, 6, true),
        Some(&mtls_audit::report::Campaign {
            trend: &trend,
            group,
        }),
    );
    assert!(page.contains("data-points=\"2\""), "two points");
    assert!(page.contains("run 2 as of 2025-07-05 was interrupted: not counted"));
    assert!(page.contains("1 interrupted run is marked, not counted."));
}

#[test]
fn an_injected_failure_mid_transaction_leaves_the_history_as_it_was() {
    let c = Campaign::new(30);
    c.audit("2025-07-01", 3, &[]).expect_code(0);
    let path = c.dir.join("h.sqlite");
    let before = {
        let db = sqlite(&path);
        // The counts are the last thing a run writes, after every tenant with its findings
        // and certificates: failing there proves the rest is rolled back with it.
        db.execute_batch(
            "CREATE TRIGGER fail_mid_run BEFORE INSERT ON run_group BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
        ["run", "tenant", "run_group"].map(|t| count(&db, t))
    };
    let r = c.audit("2025-07-08", 6, &[]);
    r.expect_code(2);
    assert!(
        r.stderr()
            .contains("h.sqlite: cannot append the run's counts"),
        "{}",
        r.describe()
    );
    assert!(r.stderr().contains("injected failure"), "{}", r.describe());
    // The run's reports are still written.
    assert!(c.dir.read("out/audit.json").contains("2025-07-08"));
    let db = sqlite(&path);
    let after = ["run", "tenant", "run_group"].map(|t| count(&db, t));
    assert_eq!(before, after);
    db.execute_batch("DROP TRIGGER fail_mid_run").unwrap();
    drop(db);
    c.audit("2025-07-08", 6, &[]).expect_code(0);
    let h = c.json(&["history", "h.sqlite", "--format", "json"]);
    assert_eq!(h["runs"].as_array().unwrap().len(), 2);
    assert_eq!(h["runs"][1]["run"], 2);
}

#[test]
fn a_killed_writer_leaves_the_history_as_it_was() {
    // Big enough that appending the run takes a while and spills into the WAL before commit.
    let c = Campaign::new(20_000);
    c.audit("2025-07-01", 3, &[]).expect_code(0);
    let path = c.dir.join("h.sqlite");
    let wal = c.dir.join("h.sqlite-wal");
    let mut killed_mid_write = false;
    for _ in 0..3 {
        c.inventory(5);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
            .args([
                "audit",
                "inventory.csv",
                "--offline",
                "--reference-cert",
                "ref.pem",
                "--as-of",
                "2025-07-08",
                "--history",
                "h.sqlite",
                "--out",
                "out",
                "--format",
                "csv",
                "--quiet",
            ])
            .current_dir(c.dir.path())
            .spawn()
            .unwrap();
        let base = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        // Kill it once the WAL grows: the run's transaction is being written.
        let started = std::time::Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let grown = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            if grown > base + 256 * 1024 {
                let _ = child.kill();
                killed_mid_write = true;
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(120));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = child.wait();
        let db = sqlite(&path);
        let ok: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        // Either the run is all there, or not at all.
        let runs = count(&db, "run");
        let tenants = count(&db, "tenant");
        assert_eq!(tenants, runs * 20_000, "runs {runs}, tenants {tenants}");
        let groups: i64 = db
            .query_row(
                "SELECT count(*) FROM run_group WHERE dimension = 'all'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(groups, runs);
        if killed_mid_write {
            assert_eq!(runs, 1, "killed before the commit");
            break;
        }
    }
    assert!(
        killed_mid_write,
        "the writer always finished before the WAL grew"
    );
    // The file works on: the next run is appended.
    c.audit("2025-07-08", 5, &["--format", "csv", "--quiet"])
        .expect_code(0);
    let h = c.json(&["history", "h.sqlite", "--format", "json"]);
    assert_eq!(h["runs"].as_array().unwrap().len(), 2);
}

#[test]
fn readers_are_not_blocked_by_a_writer_and_see_only_committed_runs() {
    let c = Campaign::new(10);
    c.audit("2025-07-01", 3, &[]).expect_code(0);
    let path = c.dir.join("h.sqlite");
    let mut writer = sqlite(&path);
    let tx = writer
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute(
        "INSERT INTO run (as_of, settings, inventory, tool_name, tool_version, complete, started_at, finished_at, inventory_errors) \
         VALUES ('2025-07-08T00:00:00Z', '{}', 'x', 'mtls-audit', '0', 1, '2025-07-08T00:00:00Z', '2025-07-08T00:00:00Z', 0)",
        [],
    )
    .unwrap();
    // The write lock is held: readers still answer, at once, with what is committed.
    let started = std::time::Instant::now();
    let h = c.json(&["history", "h.sqlite", "--format", "json"]);
    assert_eq!(h["runs"].as_array().unwrap().len(), 1);
    let t = c.json(&["trend", "h.sqlite", "--format", "json"]);
    assert_eq!(t["groups"][0]["points"].as_array().unwrap().len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    tx.commit().unwrap();
    drop(writer);
    let h = c.json(&["history", "h.sqlite", "--format", "json"]);
    assert_eq!(h["runs"].as_array().unwrap().len(), 2);
}

#[test]
fn a_version_1_history_is_migrated_forward_with_its_data() {
    let t = TestDir::new();
    let path = t.join("v1.sqlite");
    {
        let db = sqlite(&path);
        db.execute_batch(schema::SCHEMA_V1).unwrap();
        db.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO run VALUES (1, '2025-07-01T00:00:00Z', '2025-09-01T00:00:00Z', NULL, '{}', 'inv.csv', 'mtls-audit', '0.0.9', 1, '2025-07-01T00:00:00Z', '2025-07-01T00:01:00Z', 0);
             INSERT INTO run VALUES (2, '2025-07-08T00:00:00Z', '2025-09-01T00:00:00Z', NULL, '{}', 'inv.csv', 'mtls-audit', '0.0.9', 1, '2025-07-08T00:00:00Z', '2025-07-08T00:01:00Z', 0);
             INSERT INTO run VALUES (3, '2025-07-09T00:00:00Z', NULL, NULL, '{}', 'inv.csv', 'mtls-audit', '0.0.9', 0, '2025-07-09T00:00:00Z', '2025-07-09T00:01:00Z', 0);
             INSERT INTO tenant (run_id, line, tenant_id, ips_type, environment, owner, owner_email, risk, readiness, readiness_source, place_ias_admin_record)
               VALUES (1, 2, 'A', 'converged', 'production', 'Ann', '', 'AT_RISK', 'not_ready', 'evidence', 'rejected'),
                      (1, 3, 'B', 'converged', 'preview', 'Bo', '', 'AT_RISK', 'not_ready', 'evidence', 'rejected'),
                      (1, 4, 'C', 'neo', 'production', 'Bo', '', 'OK', 'ready', 'evidence', 'accepted'),
                      (2, 2, 'A', 'converged', 'production', 'Ann', '', 'OK', 'ready', 'evidence', 'accepted'),
                      (2, 3, 'B', 'converged', 'preview', 'Bo', '', 'AT_RISK', 'not_ready', 'evidence', 'rejected'),
                      (2, 4, 'C', 'neo', 'production', 'Bo', '', 'UNKNOWN', 'unknown', 'none', 'unknown');
             INSERT INTO finding VALUES (1, 'CERT_NOT_REFERENCE', 'ias_admin_cert', 'AT_RISK');
             INSERT INTO finding VALUES (1, 'CERT_EXPIRES_SOON', 'ias_admin_cert', 'WARN');
             INSERT INTO certificate VALUES (1, 'ias_admin_cert', 'ab12', 'cd34', '2025-08-01T00:00:00Z', 0);
             INSERT INTO certificate VALUES (3, 'ias_admin_cert', 'ef56', '0789', '2026-01-01T00:00:00Z', NULL);",
        )
        .unwrap();
    }
    // Opened by the current code (a reader here): migrated, data intact and counted.
    let h = t.run(&["history", "v1.sqlite", "--format", "json"]);
    h.expect_code(0);
    let h = h.json();
    let runs = h["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        (
            &runs[0]["tenants"],
            &runs[0]["ready"],
            &runs[0]["not_ready"]
        ),
        (&Value::from(3), &Value::from(1), &Value::from(2))
    );
    assert_eq!(runs[0]["by_risk"]["AT_RISK"], 2);
    assert_eq!(runs[1]["unknown"], 1);
    assert_eq!(runs[1]["by_risk"]["UNKNOWN"], 1);
    // A run without tenants is listed with zeros, and the interrupted one stays so.
    assert_eq!(runs[2]["tenants"], 0);
    assert_eq!(runs[2]["complete"], false);
    let db = sqlite(&path);
    let v: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::CURRENT);
    // Findings and certificates moved into their tenant's row (version 3), in order.
    let stored = |tenant: i64| -> (String, String) {
        db.query_row(
            "SELECT findings, certificates FROM tenant WHERE id = ?",
            [tenant],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    assert_eq!(
        stored(1),
        (
            r#"[["CERT_NOT_REFERENCE","ias_admin_cert","AT_RISK"],["CERT_EXPIRES_SOON","ias_admin_cert","WARN"]]"#.to_string(),
            r#"[["ias_admin_cert","ab12","cd34","2025-08-01T00:00:00Z",0]]"#.to_string()
        )
    );
    assert_eq!(stored(2), ("[]".to_string(), "[]".to_string()));
    assert_eq!(
        stored(3).1,
        r#"[["ias_admin_cert","ef56","0789","2026-01-01T00:00:00Z",null]]"#
    );
    let tables: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('finding', 'certificate')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);
    assert_eq!(count(&db, "notification"), 0);
    drop(db);
    let tr = t
        .run(&["trend", "v1.sqlite", "--by", "owner", "--format", "json"])
        .json();
    let bo = &tr["groups"][1];
    assert_eq!(bo["group"], "Bo");
    assert_eq!(bo["points"][1]["tenants"], 2);
    assert_eq!(bo["points"][1]["not_ready"], 1);
    // And written to by the current code.
    let mut h = History::open(&path, Open::Create).unwrap();
    assert_eq!(h.version().unwrap(), schema::CURRENT);
    assert_eq!(h.append(&fleet(3), times()).unwrap(), 4);
}

/// The previous version (2, with `finding` and `certificate` tables) opened by the current
/// code: the rows move into their tenants' JSON columns, the stored counts stay, and a new run
/// appends.
#[test]
fn a_version_2_history_is_migrated_forward_with_its_findings_and_certificates() {
    let t = TestDir::new();
    let path = t.join("v2.sqlite");
    {
        let db = sqlite(&path);
        db.execute_batch(schema::SCHEMA_V1).unwrap();
        db.execute_batch(schema::MIGRATION_V2).unwrap();
        db.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO run VALUES (1, '2025-07-01T00:00:00Z', '2025-09-01T00:00:00Z', NULL, '{}', 'inv.csv', 'mtls-audit', '0.1.0', 1, '2025-07-01T00:00:00Z', '2025-07-01T00:01:00Z', 0);
             INSERT INTO tenant (run_id, line, tenant_id, ips_type, environment, owner, owner_email, risk, readiness, readiness_source, place_ias_admin_record)
               VALUES (1, 2, 'A', 'converged', 'production', 'Ann', 'ann@example.com', 'FAILING', 'not_ready', 'probe', 'rejected'),
                      (1, 3, 'B', 'converged', 'production', 'Ann', 'ann@example.com', 'OK', 'ready', 'probe', 'accepted');
             INSERT INTO finding VALUES (1, 'MTLS_REJECTED', 'ias_admin_cert', 'FAILING');
             INSERT INTO certificate VALUES (1, 'ias_admin_cert', 'aa', 'bb', '2025-08-01T00:00:00Z', 1);
             INSERT INTO certificate VALUES (2, 'ias_admin_cert', 'cc', 'dd', '2026-08-01T00:00:00Z', 1);
             INSERT INTO run_group VALUES (1, 'all', 'all', 2, 1, 1, 0, 1, 0, 0, 0, 1);
             INSERT INTO run_group VALUES (1, 'owner', 'Ann', 2, 1, 1, 0, 1, 0, 0, 0, 1);",
        )
        .unwrap();
    }
    let tr = t
        .run(&["trend", "v2.sqlite", "--by", "owner", "--format", "json"])
        .json();
    assert_eq!(tr["groups"][0]["group"], "Ann");
    assert_eq!(tr["groups"][0]["points"][0]["not_ready"], 1);
    let db = sqlite(&path);
    let rows: Vec<(String, String)> = db
        .prepare("SELECT findings, certificates FROM tenant ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            (
                r#"[["MTLS_REJECTED","ias_admin_cert","FAILING"]]"#.to_string(),
                r#"[["ias_admin_cert","aa","bb","2025-08-01T00:00:00Z",1]]"#.to_string()
            ),
            (
                "[]".to_string(),
                r#"[["ias_admin_cert","cc","dd","2026-08-01T00:00:00Z",1]]"#.to_string()
            )
        ]
    );
    // The dropped tables' pages are given back (VACUUM after the migration).
    let free: i64 = db
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0);
    drop(db);
    let mut h = History::open(&path, Open::Create).unwrap();
    assert_eq!(h.version().unwrap(), schema::CURRENT);
    assert_eq!(h.append(&fleet(3), times()).unwrap(), 2);
    assert_eq!(h.runs().unwrap()[1].counts.tenants, 3);
}

fn assert_refused(t: &TestDir, file: &str, words: &str) {
    let path = t.join(file);
    let before = std::fs::read(&path).unwrap();
    t.write("inv.csv", "tenant_id,ips_type\nA,converged\n");
    for args in [
        &[
            "audit",
            "inv.csv",
            "--offline",
            "--history",
            file,
            "--out",
            "out",
        ][..],
        &["history", file][..],
        &["trend", file][..],
    ] {
        let r = t.run(args);
        r.expect_code(2);
        assert!(r.stderr().contains(words), "{}", r.describe());
        assert!(r.stderr().contains("left as it is"), "{}", r.describe());
        assert_eq!(std::fs::read(&path).unwrap(), before, "{file} was changed");
    }
    // Refused before any tenant was audited.
    assert!(!t.join("out/audit.csv").exists());
    let names: Vec<String> = t.listing();
    assert!(
        !names.iter().any(|n| n.starts_with(&format!("{file}-"))),
        "{names:?}"
    );
}

#[test]
fn a_file_that_is_not_an_sqlite_history_is_refused_and_left_untouched() {
    let t = TestDir::new();
    t.write("notes.txt", "tenant_id,ips_type\nthis is not a database\n");
    assert_refused(&t, "notes.txt", "not an SQLite database");
    // Someone else's SQLite database.
    {
        let db = sqlite(&t.join("other.db"));
        db.execute_batch("CREATE TABLE things (x); INSERT INTO things VALUES (1);")
            .unwrap();
    }
    assert_refused(
        &t,
        "other.db",
        "an SQLite database, but not an mtls-audit history",
    );
}

#[test]
fn a_history_of_a_newer_schema_is_refused_and_left_untouched() {
    let t = TestDir::new();
    {
        let db = sqlite(&t.join("new.sqlite"));
        db.execute_batch(schema::SCHEMA_V1).unwrap();
        db.execute_batch("PRAGMA user_version = 99;").unwrap();
    }
    assert_refused(
        &t,
        "new.sqlite",
        &format!(
            "history schema version 99 is newer than this mtls-audit knows ({})",
            schema::CURRENT
        ),
    );
}

#[test]
fn readers_need_an_existing_regular_file() {
    let t = TestDir::new();
    for sub in ["history", "trend"] {
        let r = t.run(&[sub, "missing.sqlite"]);
        r.expect_code(2);
        assert!(
            r.stderr().contains("the history file does not exist"),
            "{}",
            r.describe()
        );
    }
    assert!(
        !t.join("missing.sqlite").exists(),
        "a reader created the file"
    );
    let fifo = t.join("fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    for args in [
        &["history", "fifo"][..],
        &["audit", "x.csv", "--offline", "--history", "fifo"][..],
    ] {
        t.write("x.csv", "tenant_id,ips_type\nA,neo\n");
        let r = t.run(args);
        r.expect_code(2);
        assert!(r.stderr().contains("FIFO"), "{}", r.describe());
    }
    // An empty file (`mktemp`) is a history without runs: readers say so and leave it empty;
    // `audit --history` makes it one.
    t.write("empty.sqlite", "");
    let r = t.run(&["history", "empty.sqlite", "--format", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["runs"], serde_json::json!([]), "{}", r.describe());
    let r = t.run(&["trend", "empty.sqlite"]);
    r.expect_code(0);
    assert!(
        r.stdout().contains("no complete run yet"),
        "{}",
        r.describe()
    );
    assert_eq!(
        std::fs::metadata(t.join("empty.sqlite")).unwrap().len(),
        0,
        "a reader wrote to the file"
    );
    assert!(!t.join("empty.sqlite-wal").exists());
    t.run(&[
        "audit",
        "x.csv",
        "--offline",
        "--out",
        "out",
        "--history",
        "empty.sqlite",
    ])
    .expect_code(1);
    let r = t.run(&["history", "empty.sqlite", "--format", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["runs"].as_array().map(Vec::len), Some(1));
    // The history is not a report of the run.
    let r = t.run(&[
        "audit",
        "x.csv",
        "--offline",
        "--history",
        "out/audit.json",
        "--out",
        "out",
    ]);
    r.expect_code(2);
    assert!(
        r.stderr().contains("is where the report"),
        "{}",
        r.describe()
    );
}

#[test]
fn report_html_of_a_run_with_history_has_the_burndown() {
    let c = Campaign::new(12);
    c.audit("2025-07-01", 3, &["--format", "html"])
        .expect_code(0);
    c.audit("2025-07-08", 6, &["--format", "html"])
        .expect_code(0);
    let page = c.dir.read("out/report.html");
    let svg = &page[page
        .find("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"burndown-svg\"")
        .expect("burndown svg")..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert!(svg.contains("data-points=\"2\""));
    assert!(svg.contains("role=\"img\""));
    assert!(svg.contains("<desc id=\"burndown-desc\">Not-ready tenants per complete run: 9 on 2025-07-01, 6 on 2025-07-08."));
    assert!(svg.contains("class=\"an dl\""), "deadline line");
    assert!(svg.contains("class=\"an cut\""), "cutover line");
    assert!(svg.contains("class=\"proj\""), "projection");
    assert!(
        !svg.contains("<script") && !svg.contains("href"),
        "no script, no link"
    );
    // Without --history, no burndown.
    c.dir
        .run(&[
            "audit",
            "inventory.csv",
            "--offline",
            "--out",
            "plain",
            "--format",
            "html",
            "--fail-on",
            "never",
        ])
        .expect_code(0);
    assert!(!c.dir.read("plain/report.html").contains("burndown"));
}

#[test]
fn split_by_owner_writes_each_owners_tenants_and_nobody_elses() {
    let c = Campaign::new(0);
    let mut inv = String::from("tenant_id,ips_type,ias_admin_cert,owner,owner_email\n");
    let owners = [
        "Anna Müller",
        "Anna Muller",
        "anna-muller",
        "Bob <b@x.example>",
        "",
        "=HYPERLINK(\"http://evil\")",
    ];
    for (i, o) in owners.iter().enumerate() {
        let o = o.replace('"', "\"\"");
        inv.push_str(&format!("T{i}A,converged,certs/old.pem,\"{o}\",\n"));
        inv.push_str(&format!("T{i}B,converged,certs/new.pem,\"{o}\",\n"));
    }
    c.dir.write("inventory.csv", inv);
    let r = c.dir.run(&[
        "audit",
        "inventory.csv",
        "--offline",
        "--reference-cert",
        "ref.pem",
        "--as-of",
        AS_OF,
        "--out",
        "out",
        "--split-by",
        "owner",
        "--format",
        "csv,html",
        "--fail-on",
        "never",
    ]);
    r.expect_code(0);
    assert!(
        r.stderr().contains("owners: 6 folders in out/owners"),
        "{}",
        r.describe()
    );
    let index = c.dir.read("out/owners/index.csv");
    // folder → owner as the index gives it.
    let rows: Vec<(String, String)> = csv::Reader::from_reader(index.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect();
    let folders: Vec<&String> = rows.iter().map(|(f, _)| f).collect();
    assert_eq!(folders.len(), 6, "{index}");
    let unique: std::collections::BTreeSet<&&String> = folders.iter().collect();
    assert_eq!(unique.len(), 6, "two owners share a folder: {index}");
    for f in &folders {
        assert!(
            *f == "_unassigned"
                || f.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{f}"
        );
    }
    assert_eq!(
        folders
            .iter()
            .filter(|f| f.starts_with("anna-muller-"))
            .count(),
        3,
        "{index}"
    );
    // The spreadsheet-formula owner is neutralised in the index.
    assert!(
        rows.iter()
            .any(|(f, o)| f == "hyperlink-http-evil" && o.starts_with("'=")),
        "{index}"
    );
    // Each folder holds exactly its owner's two tenants.
    for (i, o) in owners.iter().enumerate() {
        let (folder, _) = rows
            .iter()
            .find(|(_, owner)| owner.trim_start_matches('\'') == *o)
            .unwrap_or_else(|| panic!("{o} not in {index}"));
        if o.is_empty() {
            assert_eq!(folder, "_unassigned");
        }
        if o.starts_with("Bob") {
            assert_eq!(folder, "bob-b-x-example");
        }
        let audit = c.dir.read(&format!("out/owners/{folder}/audit.csv"));
        let ids: Vec<String> = csv::Reader::from_reader(audit.as_bytes())
            .records()
            .map(|r| r.unwrap()[1].to_string())
            .collect();
        assert_eq!(ids, [format!("T{i}A"), format!("T{i}B")], "{folder}");
        assert!(
            c.dir
                .join(&format!("out/owners/{folder}/report.md"))
                .exists()
        );
        let html = c.dir.read(&format!("out/owners/{folder}/report.html"));
        let other = format!("T{}A", (i + 1) % owners.len());
        assert!(
            html.contains(&format!("T{i}A")) && !html.contains(&other),
            "{folder}"
        );
    }
    // Without html among the formats: no report.html; the owners/ set is replaced whole, so a
    // folder of an owner who is gone goes too.
    let inv = c
        .dir
        .read("inventory.csv")
        .replace("Bob <b@x.example>", "Carol");
    c.dir.write("inventory.csv", inv);
    c.dir
        .run(&[
            "audit",
            "inventory.csv",
            "--offline",
            "--out",
            "out",
            "--split-by",
            "owner",
            "--format",
            "csv",
            "--fail-on",
            "never",
        ])
        .expect_code(0);
    assert!(!c.dir.join("out/owners/bob-b-x-example").exists());
    assert!(c.dir.join("out/owners/carol/audit.csv").exists());
    assert!(!c.dir.join("out/owners/carol/report.html").exists());
    assert!(
        !c.dir.listing().iter().any(|f| f.contains(".owners.")),
        "{:?}",
        c.dir.listing()
    );
}

#[test]
fn owner_reports_with_history_draw_the_owners_burndown() {
    let c = Campaign::new(12);
    c.audit(
        "2025-07-01",
        3,
        &["--format", "html", "--split-by", "owner"],
    )
    .expect_code(0);
    c.audit(
        "2025-07-08",
        6,
        &["--format", "html", "--split-by", "owner"],
    )
    .expect_code(0);
    let page = c.dir.read("out/owners/bob-stone/report.html");
    assert!(page.contains("id=\"burndown-svg\""));
    assert!(page.contains("Campaign burndown: Bob Stone"));
    // Bob has T001, T004, T007, T010: 3 then 2 not ready.
    assert!(
        page.contains("Not-ready tenants per complete run: 3 on 2025-07-01, 2 on 2025-07-08."),
        "{}",
        &page[page.find("burndown-desc").unwrap()..][..300]
    );
}

#[test]
fn help_of_the_campaign_commands() {
    let t = TestDir::new();
    for sub in ["history", "trend", "notify"] {
        let r = t.run(&[sub, "--help"]);
        r.expect_code(0);
        insta::assert_snapshot!(format!("help-{sub}"), r.stdout());
    }
}

#[test]
fn the_history_library_refuses_a_newer_file() {
    let t = TestDir::new();
    let path = t.join("h.sqlite");
    History::open(&path, Open::Create).unwrap();
    sqlite(&path)
        .execute_batch(&format!("PRAGMA user_version = {}", schema::CURRENT + 1))
        .unwrap();
    let e = History::open(&path, Open::Existing)
        .unwrap_err()
        .to_string();
    assert!(e.contains("newer than this mtls-audit knows"), "{e}");
}
