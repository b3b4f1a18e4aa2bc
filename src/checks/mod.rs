//! The checks. Each turns one kind of evidence into findings (data) and prints nothing; the
//! audit decides which run for which tenant and combines what they return.

pub mod api;
pub mod cert;
pub mod mtls;
pub mod permissions;
pub mod server_tls;
pub mod sync;

use crate::findings::Finding;
use crate::result::{CertificateObject, Check};

/// What some checks said about one tenant: merged by the audit into a tenant result.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub certificates: Vec<CertificateObject>,
    pub findings: Vec<Finding>,
    pub run: Vec<Check>,
    pub not_run: Vec<Check>,
}

impl Outcome {
    pub fn merge(&mut self, other: Outcome) {
        self.certificates.extend(other.certificates);
        self.findings.extend(other.findings);
        for c in other.run {
            if !self.run.contains(&c) {
                self.run.push(c);
            }
        }
        for c in other.not_run {
            if !self.not_run.contains(&c) && !self.run.contains(&c) {
                self.not_run.push(c);
            }
        }
        // A check that ran anywhere is not "not run".
        let run = self.run.clone();
        self.not_run.retain(|c| !run.contains(c));
    }
}
