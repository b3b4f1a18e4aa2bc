//! Any bytes given as a certificate file: `load_bytes` with the default limits must return a
//! bundle or an error, never panic, hang or exhaust memory; a bundle is never empty and its
//! leaf can always be chosen.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit_cert::{Limits, load_bytes};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    match load_bytes(data, &limits) {
        Ok(bundle) => {
            assert!(!bundle.certs.is_empty(), "a bundle without certificates");
            assert!(bundle.certs.len() <= limits.max_certs);
            let (_leaf, chain) = bundle.split(|_| false);
            assert_eq!(chain.len() + 1, bundle.certs.len());
        }
        Err(e) => {
            // Every error has a text (it goes into reports).
            assert!(!e.to_string().is_empty());
        }
    }
});
