//! Certificates through the binary: `inspect` never prints key material, its `days_left`
//! agrees with `openssl x509 -enddate`, and a FIFO or a device given as a certificate file
//! (to `inspect` or in an inventory) is refused at once instead of hanging the run.
//!
//! The loader itself (formats, unreadable kinds, limits and zip bombs, facts against openssl,
//! the x509-limbo corpus, property tests) is tested through its library API in the cert
//! crate's own test binary, `crates/cert/tests/load/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness::*;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

// ----------------------------------------------------------------------------------------------
// Helpers

/// The base64 lines of a PEM body: none of them may ever appear in a message or output.
fn secret_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.contains(':') && l.len() >= 16)
        .map(str::to_string)
        .collect()
}

fn assert_no_secret(text: &str, key_pem: &str) {
    let lines = secret_lines(key_pem);
    assert!(!lines.is_empty(), "the key PEM has a body");
    for l in &lines {
        assert!(!text.contains(l.as_str()), "key material shown in:\n{text}");
        // Not even a fragment of it.
        assert!(!text.contains(&l[..16]), "key material shown in:\n{text}");
    }
}

fn zip_of(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .expect("start zip entry");
        w.write_all(data).expect("write zip entry");
    }
    w.finish().expect("finish zip").into_inner()
}

fn sha256_hex(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_fields(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct Openssl {
    fields: HashMap<String, String>,
}

impl Openssl {
    fn get(&self, k: &str) -> &str {
        self.fields
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("openssl printed no {k}: {:?}", self.fields))
    }
    fn date(&self, k: &str) -> DateTime<Utc> {
        let s = self.get(k).split_whitespace().collect::<Vec<_>>().join(" ");
        NaiveDateTime::parse_from_str(&s, "%b %d %H:%M:%S %Y GMT")
            .unwrap_or_else(|e| panic!("openssl date {s}: {e}"))
            .and_utc()
    }
}

// ----------------------------------------------------------------------------------------------
// Key material never reaches the binary's output

#[test]
fn inspect_never_prints_key_material() {
    let t = TestDir::new();
    let leaf = client_cert(&ca(), "LMS client", -10, 300);
    t.write("key.pem", &leaf.key_pem);
    t.write("both.pem", format!("{}{}", leaf.key_pem, leaf.cert_pem));
    let z = zip_of(
        &[("client.key", leaf.key_pem.as_bytes())],
        CompressionMethod::Deflated,
    );
    t.write("key.zip", &z);
    for format in ["json", "table"] {
        let r = t.run(&[
            "inspect", "key.pem", "both.pem", "key.zip", "--as-of", AS_OF, "--format", format,
        ]);
        let all = format!("{}{}", r.stdout(), r.stderr());
        assert_no_secret(&all, &leaf.key_pem);
        assert!(all.contains("private key"), "{}", r.describe());
    }
    let r = t.run(&[
        "inspect", "both.pem", "key.pem", "--as-of", AS_OF, "--format", "json",
    ]);
    let j = r.json();
    assert_eq!(
        j["targets"][0]["certificates"][0]["sha256"],
        sha256_hex(&leaf.cert_der)
    );
    assert!(
        j["targets"][0]["notes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("private key")
    );
    assert!(
        j["targets"][1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("private key")
    );
}

// ----------------------------------------------------------------------------------------------
// days_left agrees with openssl

#[test]
fn days_left_agrees_with_openssl_enddate() {
    let t = TestDir::new();
    let ca = ca();
    let files = [
        ("soon.pem", client_cert(&ca, "soon", -300, 20).cert_pem),
        (
            "expired.pem",
            client_cert(&ca, "expired", -400, -3).cert_pem,
        ),
        (
            "limbo.pem",
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("fixtures/x509-limbo/negative_serial.pem"),
            )
            .expect("fixture"),
        ),
    ];
    let as_of = "2025-07-15T12:34:56Z";
    let as_of_t = DateTime::parse_from_rfc3339(as_of)
        .unwrap()
        .with_timezone(&Utc);
    for (name, pem) in &files {
        t.write(name, pem);
    }
    let mut args = vec!["inspect", "--as-of", as_of, "--format", "json"];
    args.extend(files.iter().map(|(n, _)| *n));
    let j = t.run(&args).json();
    for (i, (name, _)) in files.iter().enumerate() {
        let end = parse_fields(&openssl(
            &["x509", "-in", name, "-noout", "-enddate"],
            t.path(),
        ));
        let end = Openssl { fields: end }.date("notAfter");
        let want = (end - as_of_t).num_seconds().div_euclid(86_400);
        assert_eq!(
            j["targets"][i]["certificates"][0]["days_left"], want,
            "{name}: {}",
            j["targets"][i]
        );
    }
}

// ----------------------------------------------------------------------------------------------
// FIFOs and devices are refused at once (docs/spec.md §12): the binary never hangs on one

/// Runs the binary like `TestDir::run`, but kills it and fails the test if it has not finished
/// within `secs` seconds (the bug this guards against is a run that never ends).
fn run_within(t: &TestDir, args: &[&str], secs: u64) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
        .args(args)
        .current_dir(t.path())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mtls-audit");
    let started = Instant::now();
    while child.try_wait().expect("wait for mtls-audit").is_none() {
        if started.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output of the killed run");
            let run = Run {
                args: args.iter().map(|s| s.to_string()).collect(),
                out,
            };
            panic!(
                "still running after {secs} s (blocked on a FIFO?); killed\n{}",
                run.describe()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        out: child.wait_with_output().expect("output of mtls-audit"),
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo is installed (coreutils)");
    assert!(status.success(), "mkfifo {} failed", path.display());
}

#[test]
fn inspect_refuses_a_fifo_and_a_device_at_once() {
    let t = TestDir::new();
    mkfifo(&t.join("lms.pem"));
    let mut args = vec!["inspect", "lms.pem", "--as-of", AS_OF, "--format", "json"];
    let zero = Path::new("/dev/zero");
    if zero.exists() {
        args.push("/dev/zero");
    }
    let r = run_within(&t, &args, 30);
    let j = r.json();
    let error = |i: usize| {
        j["targets"][i]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        error(0),
        "it is a FIFO (named pipe), not a regular file; refused (reading it could block or never end)",
        "{}",
        r.describe()
    );
    if zero.exists() {
        assert!(
            error(1).starts_with("it is a device, not a regular file; refused"),
            "{}",
            r.describe()
        );
    }
}

#[test]
fn an_inventory_pointing_at_a_fifo_does_not_hang_the_audit() {
    let t = TestDir::new();
    mkfifo(&t.join("pipe.pem"));
    let ok = client_cert(&ca(), "LMS client", -30, 335);
    t.write("ok.pem", &ok.cert_pem);
    t.write(
        "inventory.csv",
        "tenant_id,ips_type,ias_admin_cert,ips_inbound_cert,tech_user_permissions,owner\n\
         PIPE,converged,pipe.pem,,\"Read Users\",owner-a\n\
         FINE,converged,ok.pem,,\"Read Users\",owner-b\n",
    );
    let r = run_within(
        &t,
        &[
            "audit",
            "inventory.csv",
            "--offline",
            "--as-of",
            AS_OF,
            "--out",
            "out",
        ],
        60,
    );
    let json: serde_json::Value = serde_json::from_str(&t.read("out/audit.json"))
        .unwrap_or_else(|e| panic!("audit.json: {e}\n{}", r.describe()));
    let tenant = |id: &str| {
        json["tenants"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["tenant_id"] == id))
            .unwrap_or_else(|| panic!("tenant {id} missing\n{}", r.describe()))
            .clone()
    };
    let pipe = tenant("PIPE");
    let unreadable: Vec<&serde_json::Value> = pipe["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter(|f| f["code"] == "CERT_UNREADABLE")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(unreadable.len(), 1, "{pipe:#}");
    assert_eq!(
        unreadable[0]["message"],
        "pipe.pem: it is a FIFO (named pipe), not a regular file; refused (reading it could block or never end)",
        "{pipe:#}"
    );
    // The other tenant is audited as usual.
    assert!(
        tenant("FINE")["findings"]
            .as_array()
            .is_some_and(|fs| fs.iter().all(|f| f["code"] != "CERT_UNREADABLE")),
        "{}",
        r.describe()
    );
}
