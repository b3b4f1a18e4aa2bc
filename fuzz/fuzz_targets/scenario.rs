//! Any text as a simulator scenario (TOML, or JSON when it starts with `{`):
//! `Scenario::parse` and then `validate` return a scenario or an error, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit_sim::Scenario;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = Scenario::parse(text, Path::new("fuzz.toml")) {
        let _ = s.validate();
        for t in &s.tenants {
            let _ = t.hosts();
        }
    }
});
