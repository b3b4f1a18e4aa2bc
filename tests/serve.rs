//! `serve` and `audit --format prom` (docs/spec.md §11) with the real binary: the listening
//! line, the four endpoints, Accept negotiation, SIGHUP reloads (and an unreadable inventory
//! that keeps the previous one), a failed run that keeps the last complete results, SIGTERM;
//! and, with promtool, the real output checked by `promtool check metrics`, by the metric
//! contract of `scripts/check-deploy.py`, and fed to the shipped alert rules' unit tests.

use crate::harness::{AS_OF, TestDir, as_of};
use mtls_audit::result::AuditReport;
use std::collections::BTreeMap;
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The generated fleet (40 tenants: every verdict) in `dir/fleet`.
fn fleet(dir: &TestDir, tenants: usize) {
    let g = mtls_audit_sim::generate(tenants, 9, as_of()).unwrap();
    g.write(&dir.join("fleet"), "", None).unwrap();
}

/// Judged as of the fixed date, with a cutover 10 days and a deadline 22 days later.
const JUDGING: [&str; 10] = [
    "--as-of",
    AS_OF,
    "--reference-cert",
    "fleet/reference.pem",
    "--cutover",
    "2025-07-25",
    "--deadline",
    "2025-08-06",
    "--fail-on",
    "never",
];

struct Serve {
    proc: std::process::Child,
    addr: String,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::path::PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }
}

impl Serve {
    fn start(dir: &TestDir, extra: &[&str], env: &[(String, String)]) -> Serve {
        let mut args = vec!["serve", "fleet/inventory.csv", "--listen", "127.0.0.1:0"];
        args.extend(JUDGING);
        args.extend(extra);
        let stderr = dir.join("serve.err");
        let mut proc = Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
            .args(&args)
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .envs(env.iter().cloned())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = proc.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no listening line; stderr:\n{}", read(&stderr)));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let url = v["listening"].as_str().unwrap().to_string();
        assert_eq!(v.as_object().unwrap().len(), 1, "{line}");
        let addr = url
            .strip_prefix("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("{line}"));
        assert!(addr.parse::<u16>().unwrap() > 0, "{line}");
        Serve {
            proc,
            addr: format!("127.0.0.1:{addr}"),
            lines,
            stderr,
        }
    }

    fn get(&self, path: &str) -> Response {
        get(&self.addr, path, None)
    }

    fn metrics(&self) -> String {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200);
        r.body
    }

    /// Waits until `/metrics` shows `name` with `value`.
    fn wait_metric(&self, name: &str, value: f64) -> String {
        let start = Instant::now();
        loop {
            let m = self.metrics();
            if sample(&m, name) == Some(value) {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{name} is not {value}:\n{m}\nstderr:\n{}",
                read(&self.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.proc.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// SIGTERM; returns the exit code and stderr. Nothing more may be on stdout.
    fn terminate(mut self) -> (Option<i32>, String) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.proc.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        let extra: Vec<String> = self.lines.iter().collect();
        assert!(extra.is_empty(), "more than one line on stdout: {extra:?}");
        (status.code(), read(&self.stderr))
    }

    fn report(&self) -> AuditReport {
        let r = self.get("/audit.json");
        assert_eq!(r.status, 200, "{}", r.body);
        mtls_audit::report::json::read(r.body.as_bytes()).unwrap()
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

struct Response {
    status: u16,
    head: String,
    body: String,
}

/// A plain HTTP/1.1 GET (the server sends a Content-Length; the connection is closed after).
fn get(addr: &str, path: &str, accept: Option<&str>) -> Response {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Response {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// The value of an unlabelled sample.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// The sample lines of the report's families (the run families depend on the run).
fn report_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            !l.contains("mtls_audit_last_run_")
                && !l.contains("mtls_audit_runs")
                && !l.contains("mtls_audit_inventory_load_errors")
        })
        .collect()
}

#[test]
fn serve_audits_serves_the_last_complete_run_and_stops_on_sigterm() {
    let dir = TestDir::new();
    fleet(&dir, 40);
    let mut args = vec!["audit", "fleet/inventory.csv", "--offline", "-q"];
    args.extend(JUDGING);
    args.extend(["--out", "once", "--format", "json,prom"]);
    dir.run(&args).expect_code(0);

    let serve = Serve::start(
        &dir,
        &["--offline", "--out", "served", "--format", "json"],
        &[],
    );
    let h = serve.get("/healthz");
    assert_eq!((h.status, h.body.as_str()), (200, "ok\n"));
    let m = serve.wait_metric("mtls_audit_last_run_success", 1.0);
    assert_eq!(sample(&m, "mtls_audit_runs_total"), Some(1.0));
    assert_eq!(
        sample(&m, "mtls_audit_inventory_load_errors_total"),
        Some(0.0)
    );
    assert!(sample(&m, "mtls_audit_last_run_duration_seconds").is_some());

    // The same families, series and values as `audit --format prom` of the same run.
    let prom = dir.read("once/audit.prom");
    assert_eq!(report_lines(&m), report_lines(&prom));
    assert_eq!(m.matches("\nmtls_audit_tenant_risk{").count(), 40);
    assert!(sample(&prom, "mtls_audit_last_run_success") == Some(1.0));
    assert!(
        !prom.contains("mtls_audit_runs_total"),
        "a file holds one run"
    );

    let r = serve.get("/metrics");
    assert!(
        r.head.contains("content-type: text/plain; version=0.0.4"),
        "{}",
        r.head
    );
    let om = get(
        &serve.addr,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    );
    assert!(
        om.head
            .contains("content-type: application/openmetrics-text"),
        "{}",
        om.head
    );
    assert!(om.body.ends_with("# EOF\n"));
    assert!(
        om.body
            .contains("# TYPE mtls_audit_runs counter\nmtls_audit_runs_total 1\n")
    );
    assert_eq!(om.body.matches("\nmtls_audit_tenant_risk{").count(), 40);

    let once: AuditReport =
        mtls_audit::report::json::read(dir.read("once/audit.json").as_bytes()).unwrap();
    assert_eq!(serve.report(), once);
    // The report files are written after each complete run, as audit writes them.
    assert_eq!(dir.read("served/audit.json"), dir.read("once/audit.json"));
    let html = serve.get("/report.html");
    assert_eq!(html.status, 200);
    assert!(html.head.contains("content-type: text/html"));
    assert!(html.body.contains("ACME") || html.body.contains("<html"));
    assert_eq!(serve.get("/nope").status, 404);

    let (code, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn sighup_rereads_the_inventory_and_an_unreadable_one_keeps_the_previous() {
    let dir = TestDir::new();
    fleet(&dir, 40);
    let serve = Serve::start(&dir, &["--offline", "--interval", "1h"], &[]);
    serve.wait_metric("mtls_audit_runs_total", 1.0);
    serve.wait_metric("mtls_audit_last_run_success", 1.0);
    assert_eq!(serve.report().tenants.len(), 40);

    let inv = dir.read("fleet/inventory.csv");
    let first11: Vec<&str> = inv.lines().take(11).collect();
    dir.write("fleet/inventory.csv", first11.join("\n") + "\n");
    serve.signal("-HUP");
    serve.wait_metric("mtls_audit_runs_total", 2.0);
    // runs_total counts a run when it starts, and last_run_success is still the first run's:
    // the second has finished when the served report is the new inventory's.
    let start = Instant::now();
    while serve.report().tenants.len() != 10 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the re-read inventory was never audited:\n{}",
            read(&serve.stderr)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let m = serve.metrics();
    assert_eq!(m.matches("\nmtls_audit_tenant_risk{").count(), 10, "{m}");

    std::fs::rename(dir.join("fleet/inventory.csv"), dir.join("fleet/moved.csv")).unwrap();
    serve.signal("-HUP");
    let m = serve.wait_metric("mtls_audit_inventory_load_errors_total", 1.0);
    let m = if sample(&m, "mtls_audit_runs_total") == Some(3.0) {
        serve.wait_metric("mtls_audit_last_run_success", 1.0)
    } else {
        serve.wait_metric("mtls_audit_runs_total", 3.0)
    };
    assert_eq!(
        sample(&m, "mtls_audit_inventory_load_errors_total"),
        Some(1.0)
    );
    assert_eq!(
        serve.report().tenants.len(),
        10,
        "the previous inventory is still audited"
    );

    let (code, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("re-reading the inventory failed") && stderr.contains("inventory.csv"),
        "{stderr}"
    );
}

/// `serve --history` records every run as `audit --history` does (with its retention and owner
/// folders), the served report.html draws the burndown, and a history that cannot be one is
/// refused at start.
#[test]
fn serve_appends_each_run_to_the_history_and_serves_the_burndown() {
    let dir = TestDir::new();
    fleet(&dir, 40);
    dir.write("junk.sqlite", "not a database");
    let mut args = vec!["serve", "fleet/inventory.csv", "--listen", "127.0.0.1:0"];
    args.extend(JUDGING);
    args.extend(["--offline", "--history", "junk.sqlite"]);
    // Under `timeout`: a serve that took the file would keep serving (exit 124 here).
    let out = Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_mtls-audit"))
        .args(&args)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not an SQLite database"), "{stderr}");
    assert!(out.stdout.is_empty(), "it listened");
    // NO_COLOR is not set here, but stderr is a pipe: plain text.
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in the log: {stderr:?}"
    );
    assert_eq!(dir.read("junk.sqlite"), "not a database");

    let serve = Serve::start(
        &dir,
        &[
            "--offline",
            "--interval",
            "1h",
            "--history",
            "h.sqlite",
            "--history-keep-tenants",
            "1",
            "--split-by",
            "owner",
        ],
        &[],
    );
    // The served report draws the burndown of the runs so far; it is published after the run
    // is recorded.
    let burndown_of = |points: usize| {
        let start = Instant::now();
        loop {
            let r = serve.get("/report.html");
            if r.status == 200 && r.body.contains(&format!("data-points=\"{points}\"")) {
                return r.body;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no burndown of {points} runs in /report.html:\n{}",
                read(&serve.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let page = burndown_of(1);
    assert!(page.contains("id=\"burndown-svg\""));
    serve.signal("-HUP");
    burndown_of(2);
    assert!(dir.join("reports/owners/index.csv").exists());
    assert!(dir.join("reports/audit.json").exists());

    let (code, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("history: run appended"), "{stderr}");
    let r = dir.run(&["history", "h.sqlite", "--format", "json"]);
    r.expect_code(0);
    let runs = r.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for (run, rows) in runs.iter().zip([false, true]) {
        assert_eq!(run["complete"], true);
        assert_eq!(run["tenants"], 40);
        assert_eq!(run["tenant_rows"], rows, "--history-keep-tenants 1");
    }
}

#[test]
fn a_failed_run_keeps_serving_the_last_complete_results() {
    let dir = TestDir::new();
    fleet(&dir, 5);
    // Live, against a port where nothing listens: every tenant is UNKNOWN, quickly.
    let secrets: Vec<(String, String)> = dir
        .read("fleet/secrets.env")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let live = [
        "--credentials",
        "fleet/credentials.toml",
        "--connect-to",
        "127.0.0.1:1",
        "--retries",
        "0",
        "--timeout",
        "2s",
        "--no-progress",
    ];
    let serve = Serve::start(&dir, &live, &secrets);
    serve.wait_metric("mtls_audit_last_run_success", 1.0);
    let before = serve.report();
    assert_eq!(before.tenants.len(), 5);

    // The next run cannot read its credentials: it fails, the results stay.
    std::fs::remove_file(dir.join("fleet/credentials.toml")).unwrap();
    serve.signal("-HUP");
    let m = serve.wait_metric("mtls_audit_runs_total", 2.0);
    let m = if sample(&m, "mtls_audit_last_run_success") == Some(0.0) {
        m
    } else {
        serve.wait_metric("mtls_audit_last_run_success", 0.0)
    };
    assert_eq!(m.matches("\nmtls_audit_tenant_risk{").count(), 5, "{m}");
    assert_eq!(serve.report(), before);
    let (code, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("audit failed"), "{stderr}");
}

fn promtool(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package prometheus)");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
#[ignore = "needs promtool (Debian prometheus); .ci/run installs it"]
fn real_metrics_pass_promtool_and_the_metric_contract() {
    let dir = TestDir::new();
    fleet(&dir, 40);
    let mut args = vec!["audit", "fleet/inventory.csv", "--offline", "-q"];
    args.extend(JUDGING);
    args.extend(["--out", "once", "--format", "prom"]);
    dir.run(&args).expect_code(0);
    let serve = Serve::start(&dir, &["--offline"], &[]);
    let m = serve.wait_metric("mtls_audit_last_run_success", 1.0);
    let (code, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    dir.write("metrics.prom", &m);

    for (what, text) in [
        ("/metrics", m.clone()),
        ("audit.prom", dir.read("once/audit.prom")),
    ] {
        let out = promtool(&["check", "metrics"], Some(&text));
        assert!(
            out.status.success(),
            "promtool check metrics on {what}: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The contract deploy/ was written against (families, types, HELP, labels, consistent
    // values), checked by the same script as deploy/prometheus/example.prom.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("/usr/bin/python3")
        .arg(root.join("scripts/check-deploy.py"))
        .arg("example")
        .arg(dir.join("metrics.prom"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // HELP and TYPE lines are those of example.prom, family for family.
    let example = std::fs::read_to_string(root.join("deploy/prometheus/example.prom")).unwrap();
    let meta = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("# "))
            .map(String::from)
            .collect()
    };
    assert_eq!(meta(&m), meta(&example));
}

/// One sample of the exposition: name, labels in order, value.
type Series = (String, Vec<(String, String)>, f64);

fn parse_series(text: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = l.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}').unwrap()),
            None => (series, ""),
        };
        let mut ls = Vec::new();
        let mut rest = labels;
        while !rest.is_empty() {
            let (k, after) = rest.split_once("=\"").unwrap();
            let mut v = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                let (i, c) = chars.next().unwrap();
                match c {
                    '\\' => v.push(chars.next().unwrap().1),
                    '"' => break i,
                    c => v.push(c),
                }
            };
            ls.push((k.to_string(), v));
            rest = after[end + 1..].trim_start_matches(',');
        }
        out.push((name.to_string(), ls, value));
    }
    out
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Go's `time.Time.String()` of a whole-second UTC time, as `humanizeTimestamp` prints it.
fn go_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S +0000 UTC")
        .to_string()
}

/// The shipped alert rules, fed with the real output of `serve`: every series as it is, its
/// timestamps counted from the run's as-of (promtool's clock starts at 0). The expected alerts
/// are computed from the series: FAILING tenants, tenants not ready 10 days before the cutover,
/// expired certificates; a completed run raises no run alert.
#[test]
#[ignore = "needs promtool (Debian prometheus); .ci/run installs it"]
fn the_alert_rules_fire_on_the_real_output() {
    let dir = TestDir::new();
    fleet(&dir, 40);
    let serve = Serve::start(&dir, &["--offline"], &[]);
    let m = serve.wait_metric("mtls_audit_last_run_success", 1.0);
    let (code, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    let origin = as_of().timestamp();
    let eval = 1800i64; // 30m
    let mut input = String::new();
    let mut failing = Vec::new();
    let mut not_ready = Vec::new();
    let mut expired = Vec::new();
    let mut cutover = None;
    let risk: BTreeMap<String, Vec<(String, String)>> = parse_series(&m)
        .into_iter()
        .filter(|(n, _, _)| n == "mtls_audit_tenant_risk")
        .map(|(_, l, _)| (l[0].1.clone(), l))
        .collect();
    for (name, labels, value) in parse_series(&m) {
        let value = if name.ends_with("_timestamp_seconds") {
            value - origin as f64
        } else {
            value
        };
        let sel = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", yaml_str(v)))
            .collect::<Vec<_>>()
            .join(",");
        let values = vec![format!("{value}"); 41].join(" ");
        input.push_str(&format!(
            "      - series: {}\n        values: {}\n",
            yaml_str(&format!("{name}{{{sel}}}")),
            yaml_str(&values)
        ));
        match name.as_str() {
            "mtls_audit_tenant_risk" if value == 4.0 => failing.push(labels),
            "mtls_audit_tenant_ready" if value == 0.0 => not_ready.push(labels),
            "mtls_audit_certificate_not_after_timestamp_seconds" if value as i64 <= eval - 300 => {
                expired.push((labels, value as i64))
            }
            "mtls_audit_cutover_timestamp_seconds" => cutover = Some(value as i64),
            _ => {}
        }
    }
    let cutover = cutover.unwrap();
    assert_eq!(cutover, 10 * 86400);
    assert!(
        !failing.is_empty() && !not_ready.is_empty() && !expired.is_empty(),
        "{m}"
    );
    let labels_yaml = |labels: &[(String, String)], severity: &str| {
        let mut s = format!("              severity: {severity}\n");
        for (k, v) in labels {
            s.push_str(&format!("              {k}: {}\n", yaml_str(v)));
        }
        s
    };
    let mut tests = String::new();
    let alert = |name: &str, alerts: Vec<String>| {
        let mut s = format!("      - eval_time: 30m\n        alertname: {name}\n");
        if alerts.is_empty() {
            s.push_str("        exp_alerts: []\n");
        } else {
            s.push_str("        exp_alerts:\n");
            for a in alerts {
                s.push_str(&a);
            }
        }
        s
    };
    let failing_alerts = failing
        .iter()
        .map(|l| {
            let get = |k: &str| l.iter().find(|(n, _)| n == k).unwrap().1.clone();
            let (id, env, ips, owner) = (get("tenant_id"), get("environment"), get("ips_type"), get("owner"));
            format!(
                "          - exp_labels:\n{}            exp_annotations:\n              summary: {}\n              description: {}\n",
                labels_yaml(l, "critical"),
                yaml_str(&format!("Tenant {id} is FAILING")),
                yaml_str(&format!("mtls-audit rates tenant {id} ({env}, {ips} IPS, owner {owner}) FAILING: Real Time User Sync or the creation of Learning sites is broken now. The findings and the steps to fix them are in /report.html and /audit.json of mtls-audit serve."))
            )
        })
        .collect();
    tests.push_str(&alert("MtlsAuditTenantFailing", failing_alerts));
    let ready_alerts = not_ready
        .iter()
        .map(|l| {
            let id = &l[0].1;
            assert!(risk.contains_key(id));
            format!(
                "          - exp_labels:\n{}            exp_annotations:\n              summary: {}\n              description: {}\n",
                labels_yaml(l, "warning"),
                yaml_str(&format!("Tenant {id} is not ready for the certificate cutover")),
                yaml_str(&format!("Tenant {id} still refuses (or has not imported) the next LMS certificate, and the cutover is on {} (the alert starts 14 days before it). Import the new certificate in every place its IPS type requires; see /report.html.", go_time(cutover)))
            )
        })
        .collect();
    tests.push_str(&alert("MtlsAuditTenantNotReadyForCutover", ready_alerts));
    let expired_alerts = expired
        .iter()
        .map(|(l, at)| {
            let get = |k: &str| l.iter().find(|(n, _)| n == k).unwrap().1.clone();
            let (id, target) = (get("tenant_id"), get("target"));
            format!(
                "          - exp_labels:\n{}            exp_annotations:\n              summary: {}\n              description: {}\n",
                labels_yaml(l, "critical"),
                yaml_str(&format!("Certificate {target} of tenant {id} has expired")),
                yaml_str(&format!("The {target} certificate of tenant {id} expired on {}.", go_time(*at)))
            )
        })
        .collect();
    tests.push_str(&alert("MtlsAuditCertificateExpired", expired_alerts));
    for quiet in [
        "MtlsAuditLastRunFailed",
        "MtlsAuditMetricsAbsent",
        "MtlsAuditResultsStale",
    ] {
        tests.push_str(&alert(quiet, Vec::new()));
    }
    let rules =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/mtls-audit-rules.yml");
    let file = format!(
        "rule_files:\n  - {}\nevaluation_interval: 1m\ntests:\n  - name: the real output of serve\n    interval: 1m\n    input_series:\n{input}    alert_rule_test:\n{tests}",
        yaml_str(rules.to_str().unwrap())
    );
    let path = dir.write("real.test.yml", &file);
    let out = promtool(&["test", "rules", path.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}{}\n{file}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
