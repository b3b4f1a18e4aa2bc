//! `report.html` in a real browser: Debian's chromium renders a generated report headless,
//! offline, as root. `--dump-dom` shows the DOM after the page's script ran; chromedriver
//! (WebDriver over HTTP, driven with reqwest) clicks the filters, sorts, counts the rows a
//! person would see and saves a screenshot to `target/test-artifacts/report.png`. The owner's
//! mail (`notify`'s HTML part) is rendered the same way: what it shows, that it loads nothing,
//! and that it fits a phone's width (`mail.png`, `mail-phone.png`).
//!
//! These tests fail, never skip, when chromium or chromedriver is missing: `.ci/run` installs
//! both.

use crate::harness::*;
use crate::reports::{artifacts, fleet, hostile_fleet};
use base64::Engine as _;
use mtls_audit::report::html;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What chromium needs to run headless as root, offline, with nothing from a previous run.
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn require(names: &[&str], package: &str) -> PathBuf {
    on_path(names).unwrap_or_else(|| {
        panic!(
            "{} is not installed: the browser tests need Debian's chromium and chromium-driver; \
             .ci/run installs them (apt-get install -y chromium chromium-driver). Missing package: {package}",
            names[0]
        )
    })
}

fn chromium() -> PathBuf {
    require(&["chromium", "chromium-browser"], "chromium")
}

fn chromedriver() -> PathBuf {
    require(&["chromedriver"], "chromium-driver")
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Runs a command to completion, killing it after `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let pid = child.id();
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = stdout;
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut buf);
        buf
    });
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            let stdout = reader.join().expect("stdout reader");
            let mut stderr = Vec::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_end(&mut e, &mut stderr);
            }
            return std::process::Output {
                status,
                stdout,
                stderr,
            };
        }
        if started.elapsed() > limit {
            kill_group(pid);
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ends a process group this test started (the browser's helpers live in it).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs ignored tests"]
fn chromium_renders_the_report_and_runs_its_script() {
    let t = TestDir::new();
    let report = hostile_fleet();
    let page = t.join("report.html");
    std::fs::write(&page, html::render(&report)).unwrap();
    let out = output_within(
        Command::new(chromium())
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", t.join("profile").display()))
            .arg("--dump-dom")
            .arg(file_url(&page)),
        Duration::from_secs(90),
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium failed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // The page's own script ran to its end and counted the tenants.
    assert!(
        dom.contains("data-ready=\"1\""),
        "the script did not finish"
    );
    let n = report.tenants.len();
    assert!(
        dom.contains(&format!("data-shown=\"{n}\">{n} of {n} tenants match")),
        "the filter counter is wrong"
    );
    assert_eq!(dom.matches("<tr data-t=").count(), n);
    assert!(dom.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-svg\""));
    // No hostile string turned into markup that ran.
    assert!(!dom.contains("data-pwned=\""), "an injected script ran");
    assert!(!dom.contains("<img"), "an injected element exists");
    assert!(dom.contains("Mallory &lt;script&gt;"));
}

// ----- WebDriver -----

/// chromedriver on a free port, in its own process group, ended when dropped.
struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Driver {
    async fn start() -> Driver {
        crypto();
        let bin = chromedriver();
        // A free port: bind, read it, release; chromedriver takes it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(90))
                .no_proxy()
                .build()
                .expect("HTTP client"),
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return driver;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not become ready on {}",
                driver.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        assert!(
            status.is_success(),
            "{method} {path} ({body:?}) failed: {status} {v:#}"
        );
        v["value"].clone()
    }

    async fn session(&self, profile: &Path) -> Session<'_> {
        let mut args: Vec<String> = FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push("--window-size=1280,1800".to_string());
        let v = self
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "goog:chromeOptions": {"binary": chromium().display().to_string(), "args": args}
                }}})),
            )
            .await;
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v:#}"))
            .to_string();
        Session { d: self, id }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    d: &'a Driver,
    id: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Session<'_> {
    async fn post(&self, path: &str, body: Value) -> Value {
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}{path}", self.id),
                Some(body),
            )
            .await
    }

    async fn open(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
        // The script marks the page ready once the table is wired up.
        let started = Instant::now();
        while self
            .js("return document.documentElement.getAttribute('data-ready')")
            .await
            != "1"
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the page's script never finished"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// A Chrome DevTools command through chromedriver (for what WebDriver has no verb for).
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.post("/goog/cdp/execute", json!({"cmd": cmd, "params": params}))
            .await
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v:#}"))
            .to_string()
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.post(&format!("/element/{el}/click"), json!({})).await;
    }

    async fn select(&self, select: &str, value: &str) {
        self.click(&format!("{select} option[value=\"{value}\"]"))
            .await;
    }

    async fn type_text(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.post(&format!("/element/{el}/clear"), json!({})).await;
        self.post(&format!("/element/{el}/value"), json!({ "text": text }))
            .await;
    }

    /// Rows a person sees: laid out (not filtered out, not beyond the page limit).
    async fn visible(&self) -> Vec<String> {
        let v = self
            .js("return Array.from(document.querySelectorAll('#tenant-table tbody tr')).filter(function(r){return r.getClientRects().length>0}).map(function(r){return r.cells[0].textContent+'|'+r.cells[1].textContent+'|'+r.cells[2].textContent+'|'+r.cells[4].getAttribute('data-v')})")
            .await;
        v.as_array()
            .expect("array of rows")
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Waits for the debounced text filter to settle on `n` rows.
    async fn wait_rows(&self, n: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let rows = self.visible().await;
            if rows.len() == n || started.elapsed() > Duration::from_secs(10) {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn screenshot(&self, path: &Path) {
        let v = self
            .d
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/screenshot", self.id),
                None,
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).expect("write screenshot");
    }

    async fn close(self) {
        self.d
            .call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.id),
                None,
            )
            .await;
    }
}

fn risks(rows: &[String]) -> Vec<&str> {
    rows.iter()
        .map(|r| r.split('|').next().unwrap_or(""))
        .collect()
}

fn ids(rows: &[String]) -> Vec<&str> {
    rows.iter()
        .map(|r| r.split('|').nth(1).unwrap_or(""))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run installs them and runs ignored tests"]
async fn filters_and_sorting_work_in_a_real_browser() {
    let t = TestDir::new();
    // 21 tenants, three of each kind: 6 FAILING, 6 AT_RISK, 3 UNKNOWN, 3 WARN, 3 OK; 9 NEO.
    let small = fleet(21);
    let small_page = t.join("small/report.html");
    std::fs::create_dir_all(small_page.parent().unwrap()).unwrap();
    std::fs::write(&small_page, html::render(&small)).unwrap();
    let big_page = t.join("big/report.html");
    std::fs::create_dir_all(big_page.parent().unwrap()).unwrap();
    std::fs::write(&big_page, html::render(&fleet(10_000))).unwrap();

    let driver = Driver::start().await;
    let s = driver.session(&t.join("profile")).await;
    s.open(&file_url(&small_page)).await;

    let all = s.visible().await;
    assert_eq!(all.len(), 21);
    assert_eq!(risks(&all)[0], "FAILING", "worst first");
    assert_eq!(risks(&all)[20], "OK");
    s.screenshot(&artifacts().join("report.png")).await;

    // Risk filter.
    s.select("#f-risk", "4").await;
    let rows = s.visible().await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(risks(&rows).iter().all(|r| *r == "FAILING"));
    let details = s
        .js("return Array.from(document.querySelectorAll('details.tenant')).filter(function(d){return d.getClientRects().length>0}).length")
        .await;
    assert_eq!(details, 6, "the per-tenant details follow the filter");
    s.select("#f-risk", "ge3").await;
    assert_eq!(s.visible().await.len(), 12);
    // IPS type on top of risk: NEO tenants at risk or worse (kinds 1, 2, 6).
    s.select("#f-ips", "neo").await;
    let rows = s.visible().await;
    assert_eq!(rows.len(), 9, "{rows:?}");
    assert!(rows.iter().all(|r| r.split('|').nth(2) == Some("neo")));
    s.select("#f-ips", "").await;
    s.select("#f-risk", "").await;
    // Finding code.
    s.select("#f-code", "CERT_UNREADABLE").await;
    assert_eq!(risks(&s.visible().await), vec!["UNKNOWN"; 3]);
    s.select("#f-code", "").await;
    // Free text.
    s.type_text("#f-text", "t0001").await;
    let rows = s.wait_rows(10).await;
    let mut got: Vec<&str> = ids(&rows);
    got.sort();
    assert_eq!(
        got,
        (10..20).map(|i| format!("T{i:05}")).collect::<Vec<_>>(),
        "text filter"
    );
    // Reset brings every tenant back in worst-first order.
    s.click("button[type=reset]").await;
    let rows = s.wait_rows(21).await;
    assert_eq!(rows, all, "reset restores the filters and the order");

    // Sorting: tenant ascending, then descending.
    s.click("#tenant-table th:nth-child(2) button").await;
    let rows = s.visible().await;
    assert_eq!(ids(&rows)[0], "T00000");
    assert_eq!(ids(&rows)[20], "T00020");
    s.click("#tenant-table th:nth-child(2) button").await;
    assert_eq!(ids(&s.visible().await)[0], "T00020");
    // Days left on the IAS certificate: ascending numbers, tenants without one last.
    s.click("#tenant-table th:nth-child(5) button").await;
    let days: Vec<Option<i64>> = s
        .visible()
        .await
        .iter()
        .map(|r| r.rsplit('|').next().and_then(|d| d.parse().ok()))
        .collect();
    let numbers: Vec<i64> = days.iter().flatten().copied().collect();
    assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "{days:?}");
    assert_eq!(days.iter().filter(|d| d.is_none()).count(), 3);
    assert!(
        days[days.len() - 3..].iter().all(|d| d.is_none()),
        "{days:?}"
    );
    let sorted = s
        .js("return document.querySelector('#tenant-table th:nth-child(5)').getAttribute('aria-sort')")
        .await;
    assert_eq!(sorted, "ascending");

    // Print: the controls disappear and every tenant is there, whatever the filter.
    s.select("#f-risk", "4").await;
    assert_eq!(s.visible().await.len(), 6);
    s.cdp("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await;
    assert_eq!(s.visible().await.len(), 21, "print shows every tenant");
    let controls = s
        .js("return document.getElementById('filters').getClientRects().length")
        .await;
    assert_eq!(controls, 0, "print hides the filters");
    s.cdp("Emulation.setEmulatedMedia", json!({"media": ""}))
        .await;
    assert_eq!(s.visible().await.len(), 6);

    // 10,000 tenants: the page opens, lays out the first rows, and "Show all" lifts the limit.
    let started = Instant::now();
    s.open(&file_url(&big_page)).await;
    let load = started.elapsed();
    let nav = s
        .js("var n=performance.getEntriesByType('navigation')[0];return [Math.round(n.domContentLoadedEventEnd),Math.round(n.loadEventEnd)]")
        .await;
    eprintln!(
        "report.html with 10,000 tenants: ready after {load:?} (DOMContentLoaded, load in ms: {nav})"
    );
    assert_eq!(s.visible().await.len(), html::PAGE_ROWS);
    s.screenshot(&artifacts().join("report-10k.png")).await;
    s.select("#f-risk", "4").await;
    let failing = s
        .js("return +document.getElementById('shown').getAttribute('data-shown')")
        .await;
    let failing = failing.as_u64().expect("a count") as usize;
    assert_eq!(
        failing,
        (0..10_000).filter(|i| i % 7 == 1 || i % 7 == 6).count()
    );
    assert_eq!(s.visible().await.len(), html::PAGE_ROWS);
    s.click("#show-all").await;
    let rows = s.visible().await;
    assert_eq!(rows.len(), failing);
    assert!(risks(&rows).iter().all(|r| *r == "FAILING"));
    s.close().await;
}

// ----- the owner's mail -----

/// The HTML part of an owner's message, as a mail client shows it: rendered, nothing loaded
/// from anywhere, readable on a phone's width without scrolling sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run installs them and runs ignored tests"]
async fn the_owner_mail_renders_loads_nothing_and_fits_a_phone() {
    let t = crate::notify::audited(false);
    crate::notify::dry_run(&t, "mail", &[]).expect_code(0);
    let msgs = crate::notify::parse(&crate::notify::emls(&t.join("mail")));
    let anna = msgs
        .iter()
        .find(|m| m["headers"]["To"] == "anna@example.com")
        .expect("Anna's message");
    let page = t.join("anna.html");
    std::fs::write(&page, anna["html"].as_str().expect("an HTML part")).unwrap();

    let driver = Driver::start().await;
    let s = driver.session(&t.join("profile")).await;
    s.post("/url", json!({ "url": file_url(&page) })).await;
    let shown = s.js("return document.body.innerText").await;
    let shown = shown.as_str().expect("the page's text");
    // What she sees, in her own spelling (the part's charset was honoured).
    for words in [
        "Hello Anna Müller,",
        "ANNA1",
        "ANNA2",
        "2025-09-01",
        "2025-08-15",
        "KBA 3247849",
    ] {
        assert!(shown.contains(words), "{words:?} not shown:\n{shown}");
    }
    assert!(
        !shown.contains("BOB1") && !shown.contains("ANNA3"),
        "{shown}"
    );
    // Self-contained: the page asked for nothing beyond itself.
    let fetched = s
        .js("return performance.getEntriesByType('resource').map(function(e){return e.name})")
        .await;
    assert_eq!(fetched, json!([]), "the mail loaded something");
    s.screenshot(&artifacts().join("mail.png")).await;

    // A phone: nothing wider than the screen (long fingerprints and file names wrap).
    s.post("/window/rect", json!({"width": 390, "height": 844}))
        .await;
    let widths = s
        .js("return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        .await;
    let (client, scroll) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(client <= 400, "the window did not narrow: {widths}");
    assert!(
        scroll <= client,
        "the mail scrolls sideways on a phone: {scroll} px of content in {client} px"
    );
    s.screenshot(&artifacts().join("mail-phone.png")).await;
    s.close().await;
}
