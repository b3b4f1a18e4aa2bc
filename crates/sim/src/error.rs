//! Why the simulator could not start, or why a change of its fleet was refused.

use crate::scenario::ScenarioError;
use crate::tls::TlsSetupError;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not start or a change was refused. Each variant's text says what
/// failed; the cause, where there is one, is its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario (or a tenant given at run time) is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The CA or a server certificate could not be made, or rustls refused the configuration.
    #[error("TLS setup failed")]
    Tls(#[from] TlsSetupError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// [`SimOptions::ca_out`](crate::SimOptions::ca_out) could not be written.
    #[error("cannot write the CA certificate to {path}")]
    CaOut {
        /// Where the CA was to be written.
        path: PathBuf,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// No tenant has this ID.
    #[error("no tenant '{0}'")]
    NoTenant(String),
    /// [`SimOptions::time_scale`](crate::SimOptions::time_scale) is not a positive number.
    #[error("time_scale must be a positive number, got {0}")]
    TimeScale(f64),
}

/// An error and its causes joined by ": ", as `{:#}` prints an `anyhow` chain: for answers of
/// the `/_sim/` endpoints, which have no other way to show the cause.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
