//! The IAS/IPS simulator: a whole fleet of SAP Cloud Identity Services tenants behind one real
//! HTTPS server with optional client certificates (SPEC §7). It answers the documented API
//! paths of `DOMAIN.md` with SAP's payload shapes, auth rules, errors and rate limits, routes
//! by TLS SNI and Host header, and injects faults per tenant. What is faithful and what is
//! invented is listed in `docs/simulator.md`; invented shapes live in [`invented`].
//!
//! # Using it in-process (tests, `demo`, the live auditor's tests)
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use mtls_audit_sim::{self as sim, Server, SimOptions};
//! let today = chrono::Utc::now();
//! let fleet = sim::generate(40, 7, today)?;             // deterministic but for key material
//! let handle = Server::start(fleet.scenario.clone(), SimOptions {
//!     time_scale: 60.0,                                 // a rate-limit minute lasts 1 s
//!     today: Some(today),
//!     ..SimOptions::default()
//! }).await?;
//! // Reach a tenant by its real host name on the simulator's port, trusting its CA:
//! //   reqwest::Client::builder()
//! //       .tls_certs_only([reqwest::Certificate::from_pem(handle.ca_pem().as_bytes())?])
//! //       .resolve("acme.accounts.ondemand.com", handle.addr())
//! fleet.write(std::path::Path::new("out"), handle.ca_pem(), Some(handle.addr()))?;  // like --export
//! let per_tenant = handle.counters();                  // requests, 429s, max per minute …
//! handle.set_faults("ACME", sim::Faults { status: Some(503), ..Default::default() })?;
//! handle.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Public API
//!
//! - [`Scenario`] (serde, TOML or JSON): the fleet's state; [`Scenario::load`].
//! - [`generate`]`(tenants, seed, today) -> `[`Generated`]: a realistic fleet with a stated mix of
//!   healthy and broken tenants, everything `--export` writes, and per tenant the verdict codes it
//!   was built to produce ([`GeneratedTenant::expected`]).
//! - [`Server::start`]`(scenario, `[`SimOptions`]`) -> `[`SimHandle`]: `addr()`, `ca_pem()`,
//!   `counters()`, `set_faults()`, `upsert_tenant()`, `reset_limits()`, `shutdown().await`.
//!
//! # Client certificates
//!
//! Optional at the TLS layer; any certificate passes the handshake if the client proves it holds
//! the key. Per request, a certificate is accepted only if the very certificate (SHA-256 of its
//! DER) is configured on one of the tenant's admin records (IAS host) or among the LMS source
//! system's inbound certificates (NEO `.cert.` host) and is valid on the simulated date;
//! otherwise the answer is 401, as real IAS answers.

pub mod pki;

mod admin;
mod api;
mod apps;
mod error;
mod filter;
mod generate;
mod handle;
mod ids;
mod invented;
mod ips;
mod scenario;
mod scim;
mod server;
mod shared;
mod state;
mod tls;

pub use error::SimError;
pub use generate::{
    GenerateError, Generated, GeneratedFile, GeneratedTenant, InventoryRow, generate,
};
pub use handle::SimHandle;
pub use scenario::{
    AdminKind, AdminSpec, ApiCertificateSpec, ApplicationSpec, EntityLog, Environment, Family,
    Faults, GroupSpec, IpsType, JobSpec, JobStatistics, JobStatus, JobType, PemError, ReadMode,
    Scenario, ScenarioError, ServerCertMode, SystemKind, SystemSpec, TEST_USER, TenantSpec,
    TriggerType, UserSpec,
};
pub use server::{Server, SimOptions};
pub use state::{FamilyCounters, TenantCounters};
pub use tls::TlsSetupError;
