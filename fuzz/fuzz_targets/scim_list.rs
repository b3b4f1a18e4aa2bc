//! Any bytes as a SCIM answer: `live::scim::parse_list` and `parse_error` must return a list, an
//! error body or an error, never panic; what they return, made fit for a report by
//! `net::scrub`, is short and free of control characters.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit::live::scim::{parse_date_time, parse_error, parse_list};
use mtls_audit::net::{MAX_SERVER_TEXT, scrub};

fn check_scrubbed(s: &str) {
    assert!(s.chars().count() <= MAX_SERVER_TEXT + 1, "not cut short");
    assert!(!s.chars().any(char::is_control), "a control character survived");
}

fuzz_target!(|data: &[u8]| {
    match parse_list(data) {
        Ok(list) => {
            // Every resource came from the body: at least two bytes (`{}` or `[]`, `""`, …) each.
            assert!(list.resources.len() <= data.len());
            for r in &list.resources {
                let _ = r.latest_date();
                if let Some(id) = &r.id {
                    check_scrubbed(&scrub(id, &[]));
                }
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty());
            check_scrubbed(&scrub(&text, &[]));
        }
    }
    if let Some(e) = parse_error(data) {
        let s = scrub(&e.summary(), &["fuzz-secret"]);
        check_scrubbed(&s);
        assert!(!s.to_ascii_lowercase().contains("fuzz-secret"), "a known secret survived");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_date_time(text);
        check_scrubbed(&scrub(text, &[]));
    }
});
