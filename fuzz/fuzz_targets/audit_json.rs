//! Any bytes as an `audit.json` given to `diff`: `diff::parse` reads it leniently or says why
//! not, never panics; a run read compares with itself without a change.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit::diff;

fuzz_target!(|data: &[u8]| {
    match diff::parse("fuzz.json", data) {
        Ok(run) => {
            let _ = diff::compare(&run, &run);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
