//! Any text as a credentials file: `net::Credentials::parse` (no environment, a path that does
//! not exist, so relative files are not found) returns credentials or an error with a text,
//! never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit::inputs::InputLimits;
use mtls_audit::net::Credentials;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/nonexistent-mtls-audit-fuzz/credentials.toml");
    match Credentials::parse(text, path, &InputLimits::default(), |_| None) {
        Ok(c) => {
            for w in c.warnings() {
                assert!(!w.is_empty());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
