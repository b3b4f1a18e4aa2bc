//! Any bytes as an inventory CSV: `inventory::parse` must give tenants, row errors and skipped
//! rows that add up to the rows read (docs/spec.md §12), or a file-level error with a text; never
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit::inventory;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    match inventory::parse(data, b',', Path::new(".")) {
        Ok(inv) => {
            assert_eq!(
                inv.rows,
                inv.tenants.len() as u64 + inv.errors.len() as u64 + inv.skipped,
                "rows in != tenants out + errors + skipped"
            );
            let mut ids: Vec<String> = inv
                .tenants
                .iter()
                .map(|t| t.tenant_id.to_lowercase())
                .collect();
            ids.sort();
            let before = ids.len();
            ids.dedup();
            assert_eq!(before, ids.len(), "a tenant_id audited twice");
        }
        // A file-level problem (no header, malformed CSV) is an answer too.
        Err(e) => assert!(!format!("{e:?}").is_empty()),
    }
});
