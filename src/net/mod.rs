//! The network layer of the live audit: everything the live checks (`server_tls`, `sync`,
//! `mtls`) need to talk to IAS/IPS, and nothing that decides a verdict.
//!
//! - [`credentials`]: the credentials file (docs/spec.md §2) with one result per credential, and the
//!   [`Secret`] type that never prints its value.
//! - [`identity`]: client certificates with their keys (the LMS identity, mTLS credentials).
//! - [`trust`]: the trust anchors (system roots plus `--ca-cert`) and chain validation.
//! - [`tls_probe`]: connect once, record the chain the server presents even when it is invalid,
//!   then validate it separately.
//! - [`client`]: the fleet HTTP client — limits, retries, deadlines, auth.
//! - [`limits`], [`retry`]: deadlines, rate budgets and backoff, small and testable alone.
//! - [`failure`]: why a host could not be reached, classified from typed errors only.
//! - [`scrub`]: the one sanitiser of text received from a server before it enters a finding.
//!
//! Secrets and keys are never logged, printed or put in an error: [`Secret`] and
//! [`ClientIdentity`] redact themselves, and every error here is built from typed causes.

pub mod client;
mod connect_to;
mod credentials;
mod failure;
mod identity;
mod limits;
mod oauth;
mod provider;
mod retry;
mod scrub;
pub mod tls_probe;
pub mod trust;

pub use client::{Auth, Call, NetClient, NetError, Response};
pub use connect_to::ConnectTo;
pub use credentials::{Credential, CredentialKind, Credentials, Secret};
pub use failure::{Phase, TlsFailure, Unreachable, UnreachableKind};
pub use identity::ClientIdentity;
pub use limits::{Deadline, RateBudgets, RateLimit};
pub use retry::RetryPolicy;
pub use scrub::{MAX_CHARS as MAX_SERVER_TEXT, scrub};
pub use tls_probe::ProbeResult;
pub use trust::{ChainProblem, TrustStore};

use std::sync::Arc;
use std::time::Duration;

/// Settings of the network layer. The `audit` command's flags map onto it one to one
/// (`--timeout`, `--retries`, `--concurrency`, `--connect-to`, `--ca-cert`, `--lms-cert/--lms-key`,
/// `--offline`); the rest are defaults that stay below the documented IAS/IPS limits.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// `--offline`: no connection is made at all; every call fails with [`NetError::Offline`].
    pub offline: bool,
    /// `--timeout`: the longest one request may take (connect, TLS and response).
    pub timeout: Duration,
    /// The longest the TCP connect of one request may take; `None` means [`Self::timeout`].
    pub connect_timeout: Option<Duration>,
    /// `--retries` and the backoff between them.
    pub retry: RetryPolicy,
    /// `--concurrency`: requests in flight at once over the whole fleet.
    pub concurrency: usize,
    /// Requests (hence connections) in flight at once to one host.
    pub per_host: usize,
    /// Requests (hence connections) in flight at once to one resolved socket address (after
    /// `--connect-to` and DNS), whatever host names share it: with `--connect-to`, or
    /// behind one front end, many tenants' hosts are one address. Default 128.
    pub per_address: usize,
    /// `--connect-to HOST:PORT`.
    pub connect_to: Option<ConnectTo>,
    /// `--ca-cert`: trust anchors added to the system roots (see [`trust::read_ca_file`]).
    pub extra_ca: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// Whether the platform's trust anchors are used (tests turn this off).
    pub system_roots: bool,
    /// Accept any server certificate in the REST client. Only ever set explicitly; the TLS
    /// probe validates and reports regardless.
    pub insecure: bool,
    /// `--lms-cert/--lms-key`: the LMS client identity for the mTLS acceptance probes.
    pub lms_identity: Option<Arc<ClientIdentity>>,
    /// Rate budgets per tenant and API family, and per host.
    pub budgets: RateBudgets,
    /// Largest response body read; a job-log ZIP is the biggest expected.
    pub max_body_bytes: usize,
    /// How long before `expires_in` an OAuth token is fetched anew.
    pub token_margin: Duration,
}

impl Default for NetConfig {
    fn default() -> NetConfig {
        NetConfig {
            offline: false,
            timeout: Duration::from_secs(10),
            connect_timeout: None,
            retry: RetryPolicy::default(),
            // Measured (BENCHMARKS.md, "Where the network is the limit"): at 50 ms per round
            // trip, 64 tenants and 16 requests per address kept 17 % of the loopback throughput;
            // 256 and 128 keep over 90 %, each tenant inside its rate budget, each host at 4.
            concurrency: 256,
            per_host: 4,
            per_address: 128,
            connect_to: None,
            extra_ca: Vec::new(),
            system_roots: true,
            insecure: false,
            lms_identity: None,
            budgets: RateBudgets::default(),
            max_body_bytes: 32 * 1024 * 1024,
            token_margin: Duration::from_secs(60),
        }
    }
}
