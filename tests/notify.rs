//! `mtls-audit notify` (docs/spec.md §10): one message per owner address, as `.eml` files (dry
//! run) and through a real SMTP server (Python's aiosmtpd, Debian's python3-aiosmtpd, started
//! by `tests/smtp/server.py`): recipients, subjects, both MIME parts, each owner's tenants and
//! nobody else's, refusals, dropped connections, 4xx retries, STARTTLS with a login whose
//! password is never printed, and the resend window of `--history`.
//!
//! Messages are read back as a mail client would, MIME-decoded by Python's standard library
//! (`tests/smtp/parts.py`).

use crate::harness::*;
use serde_json::Value;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian's Python: `python3` on PATH may be a build without Debian's packages (aiosmtpd).
const PYTHON: &str = "/usr/bin/python3";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/smtp")
        .join(name)
}

/// An audited fleet with owners and addresses: Anna (two tenants at risk, one of them spelling
/// her address in capitals, and one OK), Bob (one tenant at risk, two addresses), Carol (only
/// an OK tenant: no mail), and with `unmailable`, an owner whose address is not one and an
/// owner without any.
pub(crate) fn audited(unmailable: bool) -> TestDir {
    let t = TestDir::new();
    let ca = ca();
    let new = client_cert(&ca, "LMS 2025-2026", -10, 355);
    let old = client_cert(&ca, "LMS 2024-2025", -340, 200);
    t.write("ref.pem", &new.cert_pem);
    t.write("certs/new.pem", &new.cert_pem);
    t.write("certs/old.pem", &old.cert_pem);
    let mut inv =
        String::from("tenant_id,ips_type,ias_admin_cert,ips_inbound_cert,owner,owner_email\n");
    inv.push_str("ANNA1,converged,certs/old.pem,,Anna Müller,anna@example.com\n");
    inv.push_str("ANNA2,neo,certs/new.pem,certs/old.pem,Anna Müller,Anna@Example.com\n");
    inv.push_str("ANNA3,converged,certs/new.pem,,Anna Müller,anna@example.com\n");
    inv.push_str("BOB1,converged,certs/old.pem,,Bob Stone,bob@example.com; ops@example.com\n");
    inv.push_str("CAROL1,converged,certs/new.pem,,Carol,carol@example.com\n");
    if unmailable {
        inv.push_str(
            "EVIL1,converged,certs/old.pem,,\"Mallory <script>x</script>\",not-an-address\n",
        );
        inv.push_str("NOBODY1,converged,certs/old.pem,,,\n");
    }
    t.write("inventory.csv", inv);
    t.run(&[
        "audit",
        "inventory.csv",
        "--offline",
        "--reference-cert",
        "ref.pem",
        "--as-of",
        AS_OF,
        "--deadline",
        "2025-09-01",
        "--cutover",
        "2025-08-15",
        "--out",
        "out",
        "--fail-on",
        "never",
    ])
    .expect_code(0);
    t
}

/// The messages of `.eml` files, MIME-decoded.
pub(crate) fn parse(files: &[PathBuf]) -> Vec<Value> {
    if files.is_empty() {
        return Vec::new();
    }
    let out = Command::new(PYTHON)
        .arg(script("parts.py"))
        .args(files)
        .output()
        .expect("run /usr/bin/python3");
    assert!(
        out.status.success(),
        "parts.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// `notify out/audit.json --from c@example.com --dry-run DIR` and `extra`.
pub(crate) fn dry_run(t: &TestDir, dir: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "notify",
        "out/audit.json",
        "--from",
        "c@example.com",
        "--dry-run",
        dir,
    ];
    args.extend_from_slice(extra);
    t.run(&args)
}

pub(crate) fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// What every owner's message must say, and must not.
fn check_message(m: &Value, mine: &[&str], others: &[&str]) {
    let text = m["text"].as_str().expect("a text/plain part");
    let html = m["html"].as_str().expect("a text/html part");
    assert_eq!(m["content_type"], "multipart/alternative");
    for id in mine {
        assert!(
            text.contains(id) && html.contains(id),
            "{id} missing in {m:#}"
        );
    }
    for id in others {
        assert!(!text.contains(id) && !html.contains(id), "{id} in {m:#}");
    }
    for part in [text, html] {
        assert!(part.contains("2025-09-01"), "the deadline");
        assert!(part.contains("2025-08-15"), "the cutover");
        assert!(part.contains("NOT READY"), "the readiness");
        assert!(part.contains("KBA 3247849"), "the steps");
    }
    // Self-contained and inert: no script, no image, nothing to load.
    let lower = html.to_lowercase();
    for bad in [
        "<script", "<img", "<link", "src=", "http://", "https://", "<iframe",
    ] {
        assert!(!lower.contains(bad), "{bad} in the HTML part");
    }
}

#[test]
fn a_dry_run_writes_one_message_per_owner_address() {
    let t = audited(true);
    let r = t.run(&[
        "notify",
        "out/audit.json",
        "--from",
        "mTLS campaign <campaign@example.com>",
        "--dry-run",
        "mail",
    ]);
    // Two owners cannot be mailed: exit 1, the others are written.
    r.expect_code(1);
    let files = emls(&t.join("mail"));
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "001-anna-example-com.eml",
            "002-bob-example-com.eml",
            "003-ops-example-com.eml"
        ],
        "{}",
        r.describe()
    );
    let out = r.stdout();
    assert!(
        out.contains("skipped   owner 'Mallory <script>x</script>': 'not-an-address' is not an e-mail address; 1 tenant at or above AT_RISK not mailed: EVIL1"),
        "{out}"
    );
    assert!(
        out.contains("skipped   owner (no owner): no owner_email; 1 tenant at or above AT_RISK not mailed: NOBODY1"),
        "{out}"
    );
    let msgs = parse(&files);
    let anna = &msgs[0];
    for h in ["Message-ID", "Date", "From", "To", "Subject"] {
        assert!(anna["headers"][h].is_string(), "{h} missing: {anna:#}");
    }
    assert_eq!(anna["headers"]["To"], "anna@example.com");
    assert_eq!(
        anna["headers"]["From"],
        "mTLS campaign <campaign@example.com>"
    );
    assert_eq!(
        anna["headers"]["Subject"],
        "[mTLS certificate change] 2 tenants need action before 2025-09-01"
    );
    // Anna: her two tenants at risk (ANNA2 under another spelling of her address), not the OK one.
    check_message(
        anna,
        &["ANNA1", "ANNA2"],
        &["ANNA3", "BOB1", "CAROL1", "EVIL1"],
    );
    assert!(
        anna["text"]
            .as_str()
            .unwrap()
            .starts_with("Hello Anna Müller,")
    );
    // NEO: the steps name the IPS import.
    assert!(
        anna["text"]
            .as_str()
            .unwrap()
            .contains("Inbound Certificates")
    );
    check_message(&msgs[1], &["BOB1"], &["ANNA1", "ANNA2", "CAROL1"]);
    check_message(&msgs[2], &["BOB1"], &["ANNA1", "ANNA2", "CAROL1"]);
    assert_eq!(msgs[2]["headers"]["To"], "ops@example.com");

    // At FAILING nobody has anything: no mail at all, and nobody is unreachable.
    let r = dry_run(&t, "none", &["--min-level", "FAILING"]);
    r.expect_code(0);
    assert!(emls(&t.join("none")).is_empty());

    // Into the first folder again: the earlier messages go (nobody is left to mail at
    // FAILING), what is not ours stays.
    t.write("mail/notes.txt", "mine");
    t.write("mail/draft.eml", "mine");
    let r = dry_run(&t, "mail", &["--min-level", "FAILING"]);
    r.expect_code(0);
    assert!(
        r.stderr()
            .contains("removed 3 messages of an earlier dry run from mail"),
        "{}",
        r.describe()
    );
    assert_eq!(emls(&t.join("mail")), [t.join("mail/draft.eml")]);
    assert_eq!(t.read("mail/notes.txt"), "mine");

    // A dry-run folder that is a file.
    let r = dry_run(&t, "mail/notes.txt", &[]);
    r.expect_code(2);
    assert!(
        r.stderr()
            .contains("--dry-run mail/notes.txt: exists and is not a folder"),
        "{}",
        r.describe()
    );
}

#[test]
fn the_html_part_escapes_what_comes_from_the_inventory() {
    let t = audited(false);
    // An owner that tries to inject markup into the mail.
    let inv = t
        .read("inventory.csv")
        .replace("Bob Stone", "\"<img src=x onerror=alert(1)> & Bob\"");
    t.write("inventory.csv", inv);
    t.run(&[
        "audit",
        "inventory.csv",
        "--offline",
        "--reference-cert",
        "ref.pem",
        "--as-of",
        AS_OF,
        "--out",
        "out",
        "--fail-on",
        "never",
    ])
    .expect_code(0);
    dry_run(&t, "mail", &[]).expect_code(0);
    let msgs = parse(&emls(&t.join("mail")));
    let bob = &msgs[1];
    let html = bob["html"].as_str().unwrap();
    assert!(
        html.contains("Hello &lt;img src=x onerror=alert(1)&gt; &amp; Bob,"),
        "{html}"
    );
    assert!(!html.contains("<img"));
}

#[test]
fn an_interrupted_audit_is_refused_unless_allowed() {
    let t = audited(false);
    let mut audit: Value = serde_json::from_str(&t.read("out/audit.json")).unwrap();
    audit["complete"] = Value::Bool(false);
    t.write("partial.json", serde_json::to_vec(&audit).unwrap());
    let r = t.run(&[
        "notify",
        "partial.json",
        "--from",
        "c@example.com",
        "--dry-run",
        "mail",
    ]);
    r.expect_code(2);
    assert!(
        r.stderr().contains("interrupted audit (complete: false)"),
        "{}",
        r.describe()
    );
    assert!(!t.join("mail").exists());
    t.run(&[
        "notify",
        "partial.json",
        "--from",
        "c@example.com",
        "--dry-run",
        "mail",
        "--allow-incomplete",
    ])
    .expect_code(0);
    // Not an audit.json at all, or over its limit: exit 2.
    t.write("bad.json", "{\"tenants\": 3}");
    let r = t.run(&[
        "notify",
        "bad.json",
        "--from",
        "c@example.com",
        "--dry-run",
        "mail",
    ]);
    r.expect_code(2);
    assert!(
        r.stderr()
            .contains("not an audit.json this mtls-audit can read"),
        "{}",
        r.describe()
    );
    let r = dry_run(&t, "mail", &["--max-report-size", "100"]);
    r.expect_code(2);
    assert!(r.stderr().contains("--max-report-size"), "{}", r.describe());
    let r = t.run(&[
        "notify",
        "out/audit.json",
        "--from",
        "nobody",
        "--dry-run",
        "mail",
    ]);
    r.expect_code(2);
    let r = t.run(&["notify", "out/audit.json", "--from", "c@example.com"]);
    r.expect_code(2);
}

/// `tests/smtp/server.py`, running until dropped.
struct Smtp {
    child: std::process::Child,
    port: u16,
    dir: PathBuf,
}

impl Smtp {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Smtp {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(script("server.py"))
            .arg("--dir")
            .arg(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .expect("start /usr/bin/python3 tests/smtp/server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("server.py said {line:?}: {e} (is python3-aiosmtpd installed?)")
        });
        Smtp {
            child,
            port: v["port"].as_u64().unwrap() as u16,
            dir: dir.to_path_buf(),
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received: its envelope recipients and its decoded parts.
    fn received(&self) -> Vec<(Vec<String>, Value)> {
        let files = emls(&self.dir);
        let msgs = parse(&files);
        files
            .iter()
            .zip(msgs)
            .map(|(f, m)| {
                let env: Value = serde_json::from_str(
                    &std::fs::read_to_string(f.with_extension("json")).unwrap(),
                )
                .unwrap();
                let to = env["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                (to, m)
            })
            .collect()
    }

    fn to(&self, address: &str) -> Option<Value> {
        self.received()
            .into_iter()
            .find(|(to, _)| to.iter().any(|a| a == address))
            .map(|(_, m)| m)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn notify(t: &TestDir, smtp: &Smtp, extra: &[&str]) -> Run {
    let url = smtp.url();
    let mut args = vec![
        "notify",
        "out/audit.json",
        "--from",
        "mTLS campaign <campaign@example.com>",
        "--smtp",
        &url,
        "--rate",
        "100/s",
        "--retry-delay",
        "50ms",
        "--timeout",
        "10s",
    ];
    args.extend_from_slice(extra);
    t.run(&args)
}

#[test]
#[ignore = "needs python3-aiosmtpd (Debian); .ci/run installs it"]
fn notify_sends_each_owner_their_tenants_and_not_the_same_twice() {
    let t = audited(false);
    let smtp = Smtp::start(&t.join("inbox"), &[], &[]);
    let r = notify(&t, &smtp, &["--history", "h.sqlite"]);
    r.expect_code(0);
    let out = r.stdout();
    for a in [
        "anna@example.com  2 tenants  250 OK queued as",
        "bob@example.com  1 tenant  250",
        "ops@example.com  1 tenant  250",
    ] {
        assert!(
            out.contains(&format!("sent      {a}")),
            "{a}\n{}",
            r.describe()
        );
    }
    let got = smtp.received();
    let mut rcpts: Vec<String> = got.iter().flat_map(|(to, _)| to.clone()).collect();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["anna@example.com", "bob@example.com", "ops@example.com"]
    );
    for (to, m) in &got {
        assert_eq!(to.len(), 1, "one recipient per message");
        assert_eq!(m["headers"]["To"], to[0].as_str());
        assert!(m["headers"]["Message-ID"].is_string());
        assert!(
            m["headers"]["Subject"]
                .as_str()
                .unwrap()
                .starts_with("[mTLS certificate change]")
        );
    }
    check_message(
        &smtp.to("anna@example.com").unwrap(),
        &["ANNA1", "ANNA2"],
        &["ANNA3", "BOB1", "CAROL1"],
    );
    check_message(
        &smtp.to("ops@example.com").unwrap(),
        &["BOB1"],
        &["ANNA1", "CAROL1"],
    );
    assert!(
        smtp.to("carol@example.com").is_none(),
        "Carol has nothing at risk"
    );

    // Again with the same history: the same content is not sent again within --resend-after.
    let r = notify(&t, &smtp, &["--history", "h.sqlite"]);
    r.expect_code(0);
    assert_eq!(
        r.stdout().matches("unchanged ").count(),
        3,
        "{}",
        r.describe()
    );
    assert_eq!(smtp.received().len(), 3);
    // With a resend window of zero it is.
    notify(
        &t,
        &smtp,
        &["--history", "h.sqlite", "--resend-after", "0s"],
    )
    .expect_code(0);
    assert_eq!(smtp.received().len(), 6);
}

#[test]
#[ignore = "needs python3-aiosmtpd (Debian); .ci/run installs it"]
fn a_refused_recipient_is_reported_and_the_others_are_sent() {
    let t = audited(false);
    let smtp = Smtp::start(&t.join("inbox"), &["--refuse", "bob@example.com"], &[]);
    let r = notify(&t, &smtp, &[]);
    r.expect_code(1);
    assert!(
        r.stdout().contains(
            "refused   bob@example.com  1 tenant  550 5.1.1 <bob@example.com>: mailbox unavailable"
        ),
        "{}",
        r.describe()
    );
    assert!(
        r.stderr()
            .contains("2 sent, 0 written, 0 unchanged, 1 refused, 0 failed"),
        "{}",
        r.describe()
    );
    assert!(smtp.to("anna@example.com").is_some());
    assert!(smtp.to("ops@example.com").is_some());
    assert!(smtp.to("bob@example.com").is_none());
}

#[test]
#[ignore = "needs python3-aiosmtpd (Debian); .ci/run installs it"]
fn a_connection_dropped_mid_message_is_reported_and_the_other_owners_still_get_theirs() {
    let t = audited(false);
    let smtp = Smtp::start(&t.join("inbox"), &["--drop", "anna@example.com"], &[]);
    let r = notify(&t, &smtp, &[]);
    r.expect_code(1);
    assert!(
        r.stdout()
            .contains("failed    anna@example.com  2 tenants  "),
        "{}",
        r.describe()
    );
    assert!(smtp.to("anna@example.com").is_none());
    assert!(smtp.to("bob@example.com").is_some(), "{}", r.describe());
    assert!(smtp.to("ops@example.com").is_some(), "{}", r.describe());
}

#[test]
#[ignore = "needs python3-aiosmtpd (Debian); .ci/run installs it"]
fn a_4xx_answer_is_retried() {
    let t = audited(false);
    let smtp = Smtp::start(&t.join("inbox"), &["--tempfail", "ops@example.com:2"], &[]);
    let r = notify(&t, &smtp, &[]);
    r.expect_code(0);
    assert!(smtp.to("ops@example.com").is_some(), "{}", r.describe());
    // More 4xx answers than retries: refused with the server's code.
    let smtp = Smtp::start(&t.join("inbox2"), &["--tempfail", "ops@example.com:5"], &[]);
    let r = notify(&t, &smtp, &["--retries", "1"]);
    r.expect_code(1);
    assert!(
        r.stdout()
            .contains("refused   ops@example.com  1 tenant  451 4.3.0 try again later"),
        "{}",
        r.describe()
    );
}

#[test]
#[ignore = "needs python3-aiosmtpd (Debian); .ci/run installs it"]
fn starttls_with_a_login_and_the_password_is_never_printed() {
    let t = audited(false);
    crypto();
    let now = chrono::Utc::now();
    let ca = mtls_audit_sim::pki::Ca::new(
        "SMTP test CA",
        now - chrono::Duration::days(1),
        now + chrono::Duration::days(30),
    )
    .unwrap();
    let leaf = ca
        .issue(&mtls_audit_sim::pki::LeafSpec::server(
            &["127.0.0.1".to_string(), "localhost".to_string()],
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        ))
        .unwrap();
    let cert = t.write("smtp.pem", &leaf.cert_pem);
    let key = t.write("smtp.key", &leaf.key_pem);
    t.write("smtp-ca.pem", &ca.cert.cert_pem);
    const PASSWORD: &str = "s3cret-Pa55word-for-the-test";
    let smtp = Smtp::start(
        &t.join("inbox"),
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--require-starttls",
            "--auth",
            "campaign:TEST_SMTP_PASSWORD",
        ],
        &[("TEST_SMTP_PASSWORD", PASSWORD)],
    );
    let url = smtp.url();
    let run = |extra: &[&str], password: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtls-audit"));
        cmd.args([
            "notify",
            "out/audit.json",
            "--from",
            "campaign@example.com",
            "--smtp",
            &url,
            "--smtp-user",
            "campaign",
            "--rate",
            "100/s",
            "--timeout",
            "10s",
        ])
        .args(extra)
        .current_dir(t.path())
        .env("RUST_LOG", "trace")
        .env_remove("SMTP_PASSWORD");
        if let Some(p) = password {
            cmd.env("SMTP_PASSWORD", p);
        }
        let out = cmd.output().unwrap();
        Run {
            args: extra.iter().map(|s| s.to_string()).collect(),
            out,
        }
    };
    // Without the test CA the server's certificate is not trusted: every message fails.
    let r = run(&[], Some(PASSWORD));
    r.expect_code(1);
    assert!(
        r.stdout().contains("failed    anna@example.com"),
        "{}",
        r.describe()
    );
    // Without the password in the environment: exit 2, nothing sent.
    let r = run(&["--ca-cert", "smtp-ca.pem"], None);
    r.expect_code(2);
    assert!(r.stderr().contains("SMTP_PASSWORD"), "{}", r.describe());
    // A wrong password: refused by the server (535).
    let r = run(&["--ca-cert", "smtp-ca.pem"], Some("wrong"));
    r.expect_code(1);
    assert!(
        r.stdout()
            .contains("refused   anna@example.com  2 tenants  535"),
        "{}",
        r.describe()
    );
    let r = run(&["--ca-cert", "smtp-ca.pem"], Some(PASSWORD));
    r.expect_code(0);
    assert_eq!(smtp.received().len(), 3, "{}", r.describe());
    assert!(!r.stdout().contains(PASSWORD) && !r.stderr().contains(PASSWORD));
}
