//! Test harness: a temp dir per test, the real binary, certificates made with rcgen at test
//! time, and failure messages that show stdout, stderr and the files involved.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use mtls_audit_sim::pki::{self, Ca, Issued, LeafSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Installs the ring provider once per test process (ARCHITECTURE.md, pitfalls).
pub(crate) fn crypto() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A fixed as-of time so certificate dates and days_left are reproducible.
pub(crate) fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-07-15T00:00:00Z")
        .expect("constant date parses")
        .with_timezone(&Utc)
}

pub(crate) const AS_OF: &str = "2025-07-15";

pub(crate) fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A per-test working folder, removed when the test ends (kept if KEEP_TEST_DIRS is set).
pub(crate) struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub(crate) fn new() -> TestDir {
        crypto();
        let dir = tempfile::Builder::new()
            .prefix("mtls-audit-test-")
            .tempdir()
            .expect("temp dir");
        TestDir { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating folders) and returns its path.
    pub(crate) fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, contents).expect("write file");
        p
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel))
            .unwrap_or_else(|e| panic!("reading {rel}: {e}\nfiles: {:?}", self.listing()))
    }

    pub(crate) fn listing(&self) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(base, &p, out);
                    } else {
                        out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
                    }
                }
            }
        }
        walk(self.path(), self.path(), &mut out);
        out.sort();
        out
    }

    /// Runs the binary with the folder as working directory.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env_remove("RUST_LOG")
            .output()
            .expect("run mtls-audit");
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            out,
        }
    }
}

/// The result of one run of the binary, with helpful assertion messages.
pub(crate) struct Run {
    pub args: Vec<String>,
    pub out: Output,
}

impl Run {
    pub(crate) fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub(crate) fn describe(&self) -> String {
        format!(
            "mtls-audit {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.out.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
    /// Asserts the exit code and returns self for chaining.
    pub(crate) fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.describe()))
    }
}

/// A test CA valid around the fixed as-of date.
pub(crate) fn ca() -> Ca {
    crypto();
    Ca::new("Test Root CA", as_of() - days(3650), as_of() + days(3650)).expect("CA")
}

/// A client leaf valid from `from` to `to` days relative to the fixed as-of date.
pub(crate) fn client_cert(ca: &Ca, cn: &str, from: i64, to: i64) -> Issued {
    ca.issue(&LeafSpec::client(
        cn,
        as_of() + days(from),
        as_of() + days(to),
    ))
    .expect("issue leaf")
}

pub(crate) fn leaf_with(ca: &Ca, f: impl FnOnce(&mut LeafSpec)) -> Issued {
    let mut spec = LeafSpec::client("LMS client", as_of() - days(30), as_of() + days(335));
    f(&mut spec);
    ca.issue(&spec).expect("issue leaf")
}

pub(crate) fn self_signed(cn: &str, from: i64, to: i64) -> Issued {
    crypto();
    pki::self_signed(&LeafSpec::client(
        cn,
        as_of() + days(from),
        as_of() + days(to),
    ))
    .expect("self-signed")
}

/// Runs `openssl` with the arguments; panics with its stderr if it fails.
pub(crate) fn openssl(args: &[&str], dir: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The real binary, started like hickory-dns's harness does: read the listening line, talk to
/// it, stop it with SIGTERM. A watchdog kills it if the test fails first.
pub(crate) struct Child {
    pub proc: std::process::Child,
    /// Lines the simulator printed to stdout after its listening line.
    pub more: std::sync::mpsc::Receiver<String>,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }
}

pub(crate) fn start_binary(args: &[&str], dir: &Path) -> (Child, serde_json::Value) {
    use std::io::BufRead as _;
    let mut proc = Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mtls-audit sim");
    let stdout = proc.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
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
    let child = Child { proc, more: rx };
    let line = child
        .more
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the simulator prints its listening line");
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
    assert!(
        line.starts_with("{\"listening\":\"https://127.0.0.1:"),
        "{line}"
    );
    (child, v)
}

/// Stops the simulator with SIGTERM, waits for it, and checks it printed nothing more.
pub(crate) fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.proc.id().to_string();
    let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(ok.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.proc.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the simulator did not stop on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // The pipe is closed now; the reader thread ends and the channel disconnects.
    let extra: Vec<String> = child.more.iter().collect();
    assert!(
        extra.is_empty(),
        "stdout holds more than one line: {extra:?}"
    );
    status
}
