//! The reliability contract (docs/spec.md §12) as a hostile user tries it: inputs that are not
//! regular files or are too large, malformed inventories, interrupted runs, reports that would
//! replace inputs or be left half-written, identifiers that would steer URLs, terminal escapes,
//! and diffs against interrupted runs.

use crate::harness::*;
use mtls_audit::audit::{self, Options, StopFlag};
use mtls_audit::checks::cert::{Policy, References};
use mtls_audit::findings::{Code, Level};
use mtls_audit::inputs::InputLimits;
use mtls_audit::inventory;
use mtls_audit::report::{self, Format};
use std::path::Path;
use std::time::{Duration, Instant};

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// Every kind of input file that is a FIFO or a device is refused at once, naming the file; a
/// blocking read would hang the run forever.
#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_at_once_wherever_they_are_given() {
    let t = TestDir::new();
    mkfifo(&t.join("fifo"));
    t.write("inv.csv", "tenant_id,ips_type\nA,neo\n");
    let c = client_cert(&ca(), "LMS", -30, 300);
    t.write("lms.pem", &c.cert_pem);
    t.write("lms.key", &c.key_pem);
    let cases: Vec<Vec<&str>> = vec![
        vec!["audit", "fifo", "--offline"],
        vec!["audit", "/dev/zero", "--offline"],
        vec!["audit", "inv.csv", "--credentials", "fifo", "--out", "o"],
        vec![
            "audit",
            "inv.csv",
            "--credentials",
            "/dev/zero",
            "--out",
            "o",
        ],
        vec!["audit", "inv.csv", "--ca-cert", "fifo", "--out", "o"],
        vec![
            "audit",
            "inv.csv",
            "--lms-cert",
            "fifo",
            "--lms-key",
            "lms.key",
        ],
        vec![
            "audit",
            "inv.csv",
            "--lms-cert",
            "lms.pem",
            "--lms-key",
            "/dev/zero",
        ],
        vec!["audit", "inv.csv", "--offline", "--reference-cert", "fifo"],
        vec!["diff", "fifo", "inv.csv"],
        vec!["sim", "--scenario", "fifo"],
        vec!["sim", "--scenario", "/dev/zero"],
    ];
    // `inspect` reports an unreadable target as a finding (exit 1), on stdout.
    let r = t.run(&["inspect", "fifo"]);
    r.expect_code(1);
    assert!(r.stdout().contains("FIFO"), "{}", r.describe());
    for args in cases {
        let started = Instant::now();
        let r = t.run(&args);
        r.expect_code(2);
        let err = r.stderr();
        assert!(
            err.contains("FIFO") || err.contains("device") || err.contains("not a regular file"),
            "{}",
            r.describe()
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "did not return at once: {}",
            r.describe()
        );
    }
}

/// The simulator's scenario file, and each certificate file it names, is read under a size
/// limit too: the file, the limit and `--max-scenario-size` are named.
#[test]
fn an_oversized_scenario_or_certificate_file_is_refused_by_the_simulator() {
    let t = TestDir::new();
    t.write("s.toml", "[[tenant]]\nid = \"A\"\n".repeat(200));
    let r = t.run(&["sim", "--scenario", "s.toml", "--max-scenario-size", "1KiB"]);
    r.expect_code(2);
    let err = r.stderr();
    assert!(
        err.contains("s.toml")
            && err.contains("over its limit of 1024 bytes")
            && err.contains("--max-scenario-size"),
        "{}",
        r.describe()
    );
    t.write("big.pem", "x".repeat(4096));
    t.write(
        "c.toml",
        "[[tenant]]\nid = \"A\"\nips_type = \"converged\"\nias_host = \"a.accounts.ondemand.com\"\n[[tenant.admin]]\nname = \"LMS\"\ncertificate_files = [\"big.pem\"]\n",
    );
    let r = t.run(&["sim", "--scenario", "c.toml", "--max-scenario-size", "2KiB"]);
    r.expect_code(2);
    let err = r.stderr();
    assert!(
        err.contains("tenant 'A'")
            && err.contains("big.pem")
            && err.contains("certificate file is 4096 bytes"),
        "{}",
        r.describe()
    );
}

/// A file over its limit is refused with the file, the limit and the option that raises it;
/// raising the limit reads it.
#[test]
fn oversized_inputs_name_the_limit_and_the_option() {
    let t = TestDir::new();
    let mut csv = String::from("tenant_id,ips_type\n");
    for i in 0..200 {
        csv.push_str(&format!("T{i:04},neo\n"));
    }
    t.write("inv.csv", &csv);
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--max-inventory-size",
        "1KiB",
    ]);
    r.expect_code(2);
    let err = r.stderr();
    assert!(err.contains("inv.csv"), "{err}");
    assert!(err.contains("1024 bytes"), "{err}");
    assert!(err.contains("--max-inventory-size"), "{err}");
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--max-inventory-size",
        "1MiB",
        "--fail-on",
        "never",
        "--out",
        "o",
    ]);
    r.expect_code(0);
    t.write("creds.toml", "x".repeat(3000));
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--credentials",
        "creds.toml",
        "--max-config-size",
        "2KiB",
    ]);
    r.expect_code(2);
    assert!(r.stderr().contains("--max-config-size"), "{}", r.describe());
}

/// An unterminated quote would swallow every later row into one field: the file is refused,
/// naming the line where the quote opens. Rows of empty fields are counted, never dropped.
#[test]
fn malformed_csv_is_refused_and_empty_rows_are_counted() {
    let t = TestDir::new();
    t.write(
        "bad.csv",
        "tenant_id,ips_type,owner\nALPHA,neo,\"Ann\nBETA,neo,Bo\nGAMMA,converged,Cy\n",
    );
    let r = t.run(&["audit", "bad.csv", "--offline", "--out", "o"]);
    r.expect_code(2);
    assert!(r.stderr().contains("bad.csv: line 2"), "{}", r.describe());
    assert!(r.stderr().contains("never closed"), "{}", r.describe());
    assert!(
        !t.join("o/audit.json").exists(),
        "no report from a refused inventory"
    );

    // A quoted field with a line break inside is fine.
    t.write(
        "ok.csv",
        "tenant_id,ips_type,owner\nALPHA,neo,\"Ann\nSmith\"\nBETA,neo,Bo\n",
    );
    t.run(&[
        "audit",
        "ok.csv",
        "--offline",
        "--out",
        "o",
        "--fail-on",
        "never",
    ])
    .expect_code(0);

    t.write(
        "blank.csv",
        "tenant_id,ips_type,owner\nALPHA,neo,x\n,,\n ,  ,\nBETA,converged,y\n",
    );
    let r = t.run(&[
        "audit",
        "blank.csv",
        "--offline",
        "--out",
        "b",
        "--format",
        "json,table",
        "--fail-on",
        "never",
    ]);
    r.expect_code(0);
    assert!(
        r.stdout().contains("2 empty rows skipped"),
        "{}",
        r.describe()
    );
    let json: serde_json::Value = serde_json::from_str(&t.read("b/audit.json")).unwrap();
    let s = &json["summary"];
    assert_eq!(s["rows"], 4);
    assert_eq!(s["tenants"], 2);
    assert_eq!(s["inventory_errors"], 0);
    assert_eq!(s["skipped_rows"], 2);
}

fn policy() -> Policy {
    Policy {
        as_of: as_of(),
        deadline: None,
        cutover: None,
        warn_days: 30,
        critical_days: 14,
        references: References::default(),
    }
}

/// A stopped offline run reports every tenant, and none whose checks did not run is OK.
#[test]
fn a_stopped_offline_run_reports_unfinished_tenants_as_unknown() {
    let t = TestDir::new();
    let c = client_cert(&ca(), "LMS", -30, 300);
    t.write("c.pem", &c.cert_pem);
    t.write(
        "inv.csv",
        "tenant_id,ips_type,ias_admin_cert,tech_user_permissions\nA,converged,c.pem,\nB,converged,c.pem,Read Users;Access Real-Time Provisioning API\n",
    );
    let inv = inventory::read_file(
        &t.join("inv.csv"),
        b',',
        &InputLimits::default().inventory(),
    )
    .unwrap();
    let opts = Options {
        policy: policy(),
        sync_stale_days: 7,
        fail_on: Some(Level::AtRisk),
        allow_unknown: false,
        offline: true,
        limits: InputLimits::default().certificates(),
    };
    let full = audit::run_offline(&inv, &opts, &StopFlag::default());
    assert!(full.complete);
    assert_eq!(full.tenants[0].risk, Level::Ok, "{:?}", full.tenants[0]);
    let stop = StopFlag::default();
    stop.stop();
    let stopped = audit::run_offline(&inv, &opts, &stop);
    assert!(!stopped.complete);
    assert_eq!(stopped.tenants.len(), 2, "every tenant is listed");
    for tenant in &stopped.tenants {
        assert_eq!(tenant.risk, Level::Unknown, "{tenant:?}");
        let f = tenant
            .findings
            .iter()
            .find(|f| f.code == Code::CheckNotFinished)
            .expect("CHECK_NOT_FINISHED");
        assert!(f.message.contains("ias_admin_cert"), "{}", f.message);
        assert!(
            !tenant
                .findings
                .iter()
                .any(|f| f.code == Code::InventoryNothingToCheck),
            "{tenant:?}"
        );
    }
}

/// SIGTERM during an offline run: exit 2, reports written and marked incomplete.
#[cfg(unix)]
#[test]
fn an_offline_run_stops_on_sigterm() {
    let t = TestDir::new();
    let ca = ca();
    let mut csv = String::from("tenant_id,ips_type,ias_admin_cert,ips_inbound_cert\n");
    for i in 0..400 {
        let c = client_cert(&ca, &format!("LMS {i}"), -30, 300);
        t.write(&format!("c/{i}.pem"), &c.cert_pem);
    }
    for i in 0..200_000 {
        csv.push_str(&format!(
            "T{i:06},neo,c/{}.pem,c/{}.pem\n",
            i % 400,
            (i + 7) % 400
        ));
    }
    t.write("inv.csv", &csv);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
        .args([
            "audit",
            "inv.csv",
            "--offline",
            "--out",
            "o",
            "--format",
            "json",
            "--quiet",
        ])
        .current_dir(t.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&t.read("o/audit.json")).unwrap();
    assert_eq!(json["complete"], false);
    assert_eq!(json["tenants"].as_array().unwrap().len(), 200_000);
}

/// Reports never replace an input, the check comes before any work, and a failed write leaves
/// the previous report set whole; temporary files of killed runs are removed.
#[test]
fn reports_never_replace_inputs_and_are_replaced_whole() {
    let t = TestDir::new();
    t.write("o/audit.csv", "tenant_id,ips_type\nA,neo\n");
    let r = t.run(&["audit", "o/audit.csv", "--offline", "--out", "o"]);
    r.expect_code(2);
    assert!(
        r.stderr().contains("would replace the input"),
        "{}",
        r.describe()
    );
    assert_eq!(t.read("o/audit.csv"), "tenant_id,ips_type\nA,neo\n");

    // A run writes a set; a second run whose md cannot be written (a full disk) leaves the
    // first set as it was, all of it.
    let dir = t.join("set");
    let fleet = crate::reports::fleet(3);
    let formats = [Format::Csv, Format::Json, Format::Md];
    report::write_files(&fleet, &dir, &formats).unwrap();
    let before: Vec<String> = ["audit.csv", "audit.json", "report.md"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect();
    // A stale temporary file of a run that no longer exists.
    std::fs::write(dir.join(".audit.json.tmp-999999999"), "stale").unwrap();
    #[cfg(unix)]
    {
        let tmp = dir.join(format!(".report.md.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
        let mut other = crate::reports::fleet(5);
        other.tenants[0].owner = "someone else".into();
        let err = report::write_files(&other, &dir, &formats).unwrap_err();
        assert!(err.to_string().contains("report.md"), "{err}");
        let after: Vec<String> = ["audit.csv", "audit.json", "report.md"]
            .iter()
            .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
            .collect();
        assert_eq!(before, after, "the previous set is left whole");
        let leftovers: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// A report set written in steps (what `audit --history` does while it records the run): the
/// previous set stays in place until the commit, and a set dropped without one leaves no
/// temporary file behind.
#[test]
fn a_report_set_written_in_steps_replaces_the_old_one_only_at_the_commit() {
    let t = TestDir::new();
    let dir = t.join("steps");
    let old = crate::reports::fleet(2);
    report::write_files(&old, &dir, &[Format::Csv, Format::Md]).unwrap();
    let before = std::fs::read_to_string(dir.join("audit.csv")).unwrap();
    let last_run = report::prom::LastRun {
        finished: chrono::Utc::now(),
        duration_seconds: None,
        success: true,
    };
    let temps = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    };
    let new = crate::reports::fleet(4);
    {
        let mut set = report::ReportSet::begin(&dir).unwrap();
        set.write(&new, Format::Csv, None, last_run).unwrap();
        set.write(&new, Format::Md, None, last_run).unwrap();
        assert_eq!(temps().len(), 2, "staged under temporary names");
        assert_eq!(
            std::fs::read_to_string(dir.join("audit.csv")).unwrap(),
            before
        );
        // Dropped without a commit: an error between the steps.
    }
    assert!(temps().is_empty(), "{:?}", temps());
    assert_eq!(
        std::fs::read_to_string(dir.join("audit.csv")).unwrap(),
        before
    );

    let mut set = report::ReportSet::begin(&dir).unwrap();
    set.write(&new, Format::Md, None, last_run).unwrap();
    set.write(&new, Format::Csv, None, last_run).unwrap();
    let written = set.commit().unwrap();
    assert_eq!(written, vec![dir.join("report.md"), dir.join("audit.csv")]);
    assert!(temps().is_empty(), "{:?}", temps());
    let after = std::fs::read_to_string(dir.join("audit.csv")).unwrap();
    assert_eq!(after.lines().count(), before.lines().count() + 2, "{after}");
}

/// Identifiers that go into API paths and URLs with a password are refused row by row, and
/// the password is never echoed.
#[test]
fn identifiers_and_urls_that_could_steer_requests_are_row_errors() {
    let t = TestDir::new();
    t.write(
        "inv.csv",
        "tenant_id,ips_type,ias_url,ips_source_system_id,job_id\n\
         A,converged,https://a.example,../../admin,\n\
         B,converged,https://b.example,sys-1,../jobs\n\
         C,converged,https://user:s3cr3tpw@c.example,sys-1,\n\
         D,converged,https://d.example,0a1b-2C_3.d,cbc1eb01686664856111\n",
    );
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--out",
        "o",
        "--format",
        "json,csv,md,html,table",
        "--fail-on",
        "never",
    ]);
    r.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&t.read("o/audit.json")).unwrap();
    let errors = json["inventory_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("ips_source_system_id")
    );
    assert!(errors[1]["message"].as_str().unwrap().contains("job_id"));
    assert!(errors[2]["message"].as_str().unwrap().contains("password"));
    assert_eq!(json["tenants"].as_array().unwrap().len(), 1);
    for f in [
        "o/audit.json",
        "o/audit.csv",
        "o/report.md",
        "o/report.html",
    ] {
        assert!(!t.read(f).contains("s3cr3tpw"), "{f}");
    }
    assert!(!r.stdout().contains("s3cr3tpw") && !r.stderr().contains("s3cr3tpw"));
}

/// Control characters from the inventory never reach the terminal raw, and a huge value is
/// cut in the table (the files hold it whole).
#[test]
fn terminal_output_escapes_control_characters_and_cuts_huge_values() {
    let t = TestDir::new();
    let huge = "H".repeat(1_000_000);
    t.write(
        "inv.csv",
        format!(
            "tenant_id,ips_type,owner\nEVIL\u{1b}[2J\u{7},neo,x\u{1b}]0;title\u{7}\n{huge},neo,y\n"
        ),
    );
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--out",
        "o",
        "--fail-on",
        "never",
        "--table-limit",
        "0",
    ]);
    r.expect_code(0);
    let out = r.stdout();
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("EVIL"), "{out}");
    assert!(out.len() < 20_000, "the table holds {} bytes", out.len());
    let json: serde_json::Value = serde_json::from_str(&t.read("o/audit.json")).unwrap();
    assert_eq!(
        json["tenants"][1]["tenant_id"].as_str().unwrap().len(),
        1_000_000
    );

    // diff prints another run's tool version: escaped too.
    let a = t.read("o/audit.json");
    let b = a.replacen(
        "\"version\": \"",
        "\"version\": \"\u{1b}[31mevil\u{1b}[0m",
        1,
    );
    t.write("b.json", b);
    let r = t.run(&["diff", "o/audit.json", "b.json"]);
    assert!(!r.stdout().contains('\u{1b}'), "{}", r.describe());
}

/// A certificate whose notBefore is after its notAfter is valid on no date: one finding says
/// so, whatever the as-of date.
#[test]
fn an_inverted_validity_is_its_own_finding() {
    let t = TestDir::new();
    let inverted = leaf_with(&ca(), |s| {
        s.not_before = as_of() + days(30);
        s.not_after = as_of() - days(30);
    });
    t.write("inv.pem", &inverted.cert_pem);
    let good = client_cert(&ca(), "LMS", -30, 300);
    t.write("good.pem", &good.cert_pem);
    for (file, fires) in [("inv.pem", true), ("good.pem", false)] {
        let r = t.run(&["inspect", file, "--as-of", AS_OF, "--format", "json"]);
        let json = r.json();
        let codes: Vec<&str> = json["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes.contains(&"CERT_VALIDITY_INVERTED"),
            fires,
            "{file}: {codes:?}"
        );
        if fires {
            assert!(
                !codes.contains(&"CERT_EXPIRED") && !codes.contains(&"CERT_NOT_YET_VALID"),
                "{codes:?}"
            );
        }
    }
}

/// `diff` never calls a tenant fixed on the strength of an interrupted run, and exits 1.
#[test]
fn diff_against_an_interrupted_run_calls_nothing_fixed() {
    let t = TestDir::new();
    let mut full = crate::reports::fleet(14);
    let failing = full
        .tenants
        .iter()
        .position(|x| x.risk >= Level::AtRisk)
        .expect("a failing tenant");
    let mut partial = full.clone();
    partial.complete = false;
    partial.tenants[failing].findings.clear();
    partial.tenants[failing].risk = Level::Ok;
    full.complete = true;
    t.write("full.json", serde_json::to_string(&full).unwrap());
    t.write("partial.json", serde_json::to_string(&partial).unwrap());
    let r = t.run(&["diff", "full.json", "partial.json", "--format", "json"]);
    r.expect_code(1);
    let d = r.json();
    assert_eq!(d["summary"]["fixed"], 0, "{d}");
    assert_eq!(d["summary"]["unverified"], 1, "{d}");
    assert!(
        d["notes"].to_string().contains("interrupted run"),
        "{}",
        d["notes"]
    );
    let r = t.run(&["diff", "full.json", "partial.json"]);
    r.expect_code(1);
    assert!(r.stdout().contains("INCOMPLETE"), "{}", r.describe());
    // Two complete runs with the same fix: fixed, exit 0.
    let mut fixed = partial.clone();
    fixed.complete = true;
    t.write("fixed.json", serde_json::to_string(&fixed).unwrap());
    let r = t.run(&["diff", "full.json", "fixed.json", "--format", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["fixed"], 1);
}

/// The error for a missing inventory names its cause once.
#[test]
fn every_error_names_its_cause_once() {
    let t = TestDir::new();
    let r = t.run(&["audit", "nope.csv"]);
    r.expect_code(2);
    let err = r.stderr();
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");
    assert_eq!(err.matches("nope.csv").count(), 1, "{err}");
    let r = t.run(&["diff", "a.json", "b.json"]);
    r.expect_code(2);
    assert_eq!(
        r.stderr().matches("does not exist").count(),
        1,
        "{}",
        r.stderr()
    );
    let r = t.run(&["audit", "x.csv", "--offline", "--ca-cert", "nope.pem"]);
    r.expect_code(2);
}
