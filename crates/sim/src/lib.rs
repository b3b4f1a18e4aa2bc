//! `mtls-audit-sim`: a simulator of SAP Cloud Identity Services (IAS and IPS) for a whole fleet
//! of SuccessFactors Learning tenants, over real HTTPS with client certificates. It holds the
//! server (SAP's documented API paths, payload shapes, auth rules, errors and rate limits, routed
//! by TLS SNI and Host header, with faults injected per tenant), the scenario format that
//! describes a fleet, a generator of realistic fleets, and the rcgen certificate helpers ([`pki`])
//! the tests of the whole workspace use.
//!
//! It must not know the auditor: it depends on no `mtls-audit` crate (only `mtls-audit-input`),
//! speaks in SAP's terms rather than the auditor's (its own [`IpsType`], no finding types), and
//! what it promises the auditor — that a generated fleet produces every finding — is checked by
//! the root crate's tests. The SAP facts it follows, with their sources, are in
//! `docs/sap-facts.md`; what is faithful and what is invented is listed in `docs/simulator.md`,
//! and every invented shape lives in one module, `crates/sim/src/invented.rs`.
//!
//! # Public API
//!
//! - [`Server::start`]`(scenario, `[`SimOptions`]`) -> `[`SimHandle`]: `addr()`, `url()`,
//!   `ca_pem()`, `listening_line()`, `counters()` and `tenant_counters()` ([`TenantCounters`],
//!   [`FamilyCounters`] per [`Family`]), `set_faults()` ([`Faults`], [`ServerCertMode`]),
//!   `reset_limits()`, `tenant()`, `upsert_tenant()`, `scenario()`, `shutdown().await`. Errors:
//!   [`SimError`] ([`TlsSetupError`]).
//! - [`Scenario`] (serde, TOML or JSON): the fleet's state, [`Scenario::load`], [`Scenario::parse`],
//!   [`Scenario::to_toml`], [`Scenario::validate`]. Its parts: [`TenantSpec`], [`AdminSpec`]
//!   ([`AdminKind`]), [`SystemSpec`] ([`SystemKind`]), [`UserSpec`], [`GroupSpec`],
//!   [`ApplicationSpec`] ([`ApiCertificateSpec`]), [`JobSpec`] ([`JobType`], [`TriggerType`],
//!   [`ReadMode`], [`JobStatus`], [`JobStatistics`], [`EntityLog`]), [`IpsType`],
//!   [`Environment`], and [`TEST_USER`]. Errors: [`ScenarioError`] ([`PemError`]).
//! - [`generate`]`(tenants, seed, today) -> `[`Generated`]: a realistic fleet with a stated mix
//!   of healthy and broken tenants, everything `--export` writes ([`Generated::write`],
//!   [`InventoryRow`], [`GeneratedFile`]), and per tenant the finding codes it was built to
//!   produce ([`GeneratedTenant`]). Errors: [`GenerateError`].
//! - [`pki`]: [`pki::Ca`], [`pki::LeafSpec`], [`pki::Issued`], [`pki::self_signed`].
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
//! # Client certificates
//!
//! Optional at the TLS layer; any certificate passes the handshake if the client proves it holds
//! the key. Per request, a certificate is accepted only if the very certificate (SHA-256 of its
//! DER) is configured on one of the tenant's admin records (IAS host) or among the LMS source
//! system's inbound certificates (NEO `.cert.` host) and is valid on the simulated date;
//! otherwise the answer is 401, as real IAS answers.
//!
//! # Layout
//!
//! `server.rs` (listener, routes, tenant middleware) and `handle.rs` (the in-process handle) sit
//! on `shared.rs` (the state every handler shares) and `state.rs` (tenants at run time, rate
//! limits, counters); the SAP endpoints are `api.rs` (errors, headers, authentication),
//! `scim.rs` (with `filter.rs` and `scim_doc.rs`: documents, PATCH, projection),
//! `discovery.rs` (`/scim/Schemas`, `/scim/ResourceTypes`, `/scim/ServiceProviderConfig`, with
//! the schemas in `schemas.json`), `apps.rs` and `ips.rs`; `admin.rs` serves `/_sim/`; `tls.rs`
//! makes the server certificates and accepts connections; `scenario.rs`, `generate/` and
//! `pki.rs` are the public data, generator and certificates; `files.rs` writes files that hold
//! secrets for the owner only.

pub mod pki;

mod admin;
mod api;
mod apps;
mod chaos;
mod discovery;
mod error;
mod files;
mod filter;
mod generate;
mod handle;
mod ids;
mod invented;
mod ips;
mod latency;
mod scenario;
mod scim;
mod scim_doc;
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
    AdminKind, AdminSpec, ApiCertificateSpec, ApplicationSpec, Chaos, ChaosKind, EntityLog,
    Environment, Family, Faults, GroupSpec, IpsType, JobSpec, JobStatistics, JobStatus, JobType,
    MAX_SCENARIO_BYTES, PemError, ReadMode, Scenario, ScenarioError, ServerCertMode, SystemKind,
    SystemSpec, TEST_USER, TenantSpec, TriggerType, UserSpec,
};
pub use server::{Server, SimOptions};
pub use state::{FamilyCounters, TenantCounters};
pub use tls::TlsSetupError;
