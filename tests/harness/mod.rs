//! Test harness: a temp dir per test, the real binary, certificates made with rcgen at test
//! time, and failure messages that show stdout, stderr and the files involved.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use mtls_audit::pki::{self, Ca, Issued, LeafSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Installs the ring provider once per test process (STACK.md pitfall 1).
pub fn crypto() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A fixed as-of time so certificate dates and days_left are reproducible.
pub fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-07-15T00:00:00Z")
        .expect("constant date parses")
        .with_timezone(&Utc)
}

pub const AS_OF: &str = "2025-07-15";

pub fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A per-test working folder, removed when the test ends (kept if KEEP_TEST_DIRS is set).
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        crypto();
        let dir = tempfile::Builder::new()
            .prefix("mtls-audit-test-")
            .tempdir()
            .expect("temp dir");
        TestDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating folders) and returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, contents).expect("write file");
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel))
            .unwrap_or_else(|e| panic!("reading {rel}: {e}\nfiles: {:?}", self.listing()))
    }

    pub fn listing(&self) -> Vec<String> {
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
    pub fn run(&self, args: &[&str]) -> Run {
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
pub struct Run {
    pub args: Vec<String>,
    pub out: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn describe(&self) -> String {
        format!(
            "mtls-audit {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.out.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
    /// Asserts the exit code and returns self for chaining.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.describe()))
    }
}

/// A test CA valid around the fixed as-of date.
pub fn ca() -> Ca {
    crypto();
    Ca::new("Test Root CA", as_of() - days(3650), as_of() + days(3650)).expect("CA")
}

/// A client leaf valid from `from` to `to` days relative to the fixed as-of date.
pub fn client_cert(ca: &Ca, cn: &str, from: i64, to: i64) -> Issued {
    ca.issue(&LeafSpec::client(
        cn,
        as_of() + days(from),
        as_of() + days(to),
    ))
    .expect("issue leaf")
}

pub fn leaf_with(ca: &Ca, f: impl FnOnce(&mut LeafSpec)) -> Issued {
    let mut spec = LeafSpec::client("LMS client", as_of() - days(30), as_of() + days(335));
    f(&mut spec);
    ca.issue(&spec).expect("issue leaf")
}

pub fn self_signed(cn: &str, from: i64, to: i64) -> Issued {
    crypto();
    pki::self_signed(&LeafSpec::client(
        cn,
        as_of() + days(from),
        as_of() + days(to),
    ))
    .expect("self-signed")
}

/// Runs `openssl` with the arguments; panics with its stderr if it fails.
pub fn openssl(args: &[&str], dir: &Path) -> String {
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
