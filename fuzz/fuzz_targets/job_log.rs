//! Any bytes as an IPS job-log export: `live::parse_job_log` must read the common log or return
//! an error with a text, never panic or exhaust memory (the ZIP is read within limits, the
//! failed counts saturate).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_audit::live::parse_job_log;

fuzz_target!(|data: &[u8]| {
    match parse_job_log(data) {
        Ok(log) => {
            let _ = (log.status.len(), log.failed_entities, log.error_message);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
