//! Any bytes given as a ZIP archive: `for_each_entry` with small limits must visit entries or
//! return an error, never panic, and never hand the visitor more than the limits allow.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit_input::zip::{Entry, ZipError, ZipLimits, for_each_entry};

const LIMITS: ZipLimits = ZipLimits {
    max_entries: 64,
    max_entry_bytes: 1 << 20,
    max_total: 4 << 20,
};

fuzz_target!(|data: &[u8]| {
    let mut budget = LIMITS.max_total;
    let mut entries = 0usize;
    let mut inflated = 0u64;
    let _ = for_each_entry(data, &LIMITS, &mut budget, |name, entry, left| {
        entries += 1;
        assert!(name.chars().count() <= 81, "entry name not shortened");
        assert!(
            !name.chars().any(char::is_control),
            "control character in a name"
        );
        if let Entry::Data(d) = entry {
            assert!(d.len() as u64 <= LIMITS.max_entry_bytes);
            inflated += d.len() as u64;
        }
        assert_eq!(*left, LIMITS.max_total - inflated, "budget out of step");
        Ok::<(), ZipError>(())
    });
    assert!(entries <= LIMITS.max_entries);
    assert!(inflated <= LIMITS.max_total);
    assert_eq!(budget, LIMITS.max_total - inflated);
});
