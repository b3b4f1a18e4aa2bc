//! mtls-audit: audits a fleet of SAP SuccessFactors Learning tenants for the yearly LMS ↔ SAP
//! Cloud Identity Services (IAS/IPS) mutual-TLS certificate rollover.
//!
//! The data flows one way:
//!
//! ```text
//! inventory.csv ─▶ inventory ─▶ audit ─┬─▶ checks::cert ◀── cert::load / cert::facts
//!                                      ├─▶ checks::{server_tls, sync, mtls} ◀── net
//!                                      └─▶ findings ─▶ risk ─▶ report::{csv,json,table,html,md}
//! ```
//!
//! Checks turn evidence into [`findings::Finding`]s and never print; renderers turn an
//! [`result::AuditReport`] into text and never decide a verdict. The simulator (`sim`) stands
//! apart and shares only the PKI helpers.

pub mod audit;
pub mod certificate;
pub mod checks;
mod dates;

pub mod diff;
pub mod findings;
pub mod history;
pub mod inputs;
pub mod inspect;
pub mod inventory;
pub mod live;
pub mod merge;
pub mod net;
pub mod notify;
pub mod remediation;
pub mod report;
pub mod result;
mod sap;
pub mod shard;
pub mod trend;
