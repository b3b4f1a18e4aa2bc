//! The in-process handle of a running simulator: its address and CA, the fleet's state and
//! counters, faults and tenants changed at run time, and shutdown.

use crate::error::SimError;
use crate::scenario::{Chaos, Faults, Scenario, ScenarioError, TenantSpec};
use crate::shared::Shared;
use crate::state::{TenantCounters, lock, read, write};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long shutdown waits for answers in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running simulator, returned by [`Server::start`](crate::Server::start). Dropping it stops
/// accepting and starts a graceful shutdown without waiting for it; [`SimHandle::shutdown`]
/// waits.
pub struct SimHandle {
    pub(crate) addr: SocketAddr,
    pub(crate) ca_pem: String,
    /// Where the CA was written, if `ca_out` was set.
    pub(crate) ca_path: Option<PathBuf>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SimHandle {
    /// The bound address (the real port when listening on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA certificate (PEM) that issued the server certificates: the trust anchor clients
    /// need (`--ca-cert`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The one machine-readable line the CLI prints: `{"listening":"https://…","ca":"…"}`.
    pub fn listening_line(&self) -> String {
        // Written by hand so "listening" comes first, as the CLI documents it.
        let ca = match &self.ca_path {
            Some(p) => serde_json::Value::from(p.display().to_string()),
            None => serde_json::Value::Null,
        };
        format!(
            "{{\"listening\":{},\"ca\":{}}}",
            serde_json::Value::from(self.url()),
            ca
        )
    }

    /// Request counters of every tenant, by tenant ID.
    pub fn counters(&self) -> BTreeMap<String, TenantCounters> {
        self.shared.counters()
    }

    /// One tenant's request counters; `None` if no tenant has this ID.
    pub fn tenant_counters(&self, id: &str) -> Option<TenantCounters> {
        let w = read(&self.shared.world);
        w.tenant(id).map(|t| lock(&t.counters).counters.clone())
    }

    /// Clears a tenant's rate-limit windows, client-ID locks and tokens.
    pub fn reset_limits(&self, id: &str) -> Result<(), SimError> {
        let w = read(&self.shared.world);
        let t = w
            .tenant(id)
            .ok_or_else(|| SimError::NoTenant(id.to_string()))?;
        t.reset_limits();
        Ok(())
    }

    /// Replaces a tenant's faults.
    pub fn set_faults(&self, id: &str, faults: Faults) -> Result<(), SimError> {
        let w = read(&self.shared.world);
        let t = w
            .tenant(id)
            .ok_or_else(|| SimError::NoTenant(id.to_string()))?;
        *lock(&t.faults) = faults;
        Ok(())
    }

    /// Sets (or, with `None`, clears) the random faults of every tenant's requests.
    pub fn set_chaos(&self, chaos: Option<Chaos>) -> Result<(), SimError> {
        if let Some(c) = &chaos {
            c.validate()
                .map_err(|m| SimError::Scenario(ScenarioError::Chaos(m)))?;
        }
        write(&self.shared.world).chaos = chaos;
        Ok(())
    }

    /// A tenant's current state (as a scenario entry, with its faults).
    pub fn tenant(&self, id: &str) -> Option<TenantSpec> {
        read(&self.shared.world).tenant(id).map(|t| t.snapshot())
    }

    /// Replaces a tenant (matched by ID) or adds it; counters and rate limits are kept.
    pub fn upsert_tenant(&self, spec: TenantSpec) -> Result<(), SimError> {
        self.shared.upsert(spec)
    }

    /// The whole current state as a scenario.
    pub fn scenario(&self) -> Scenario {
        read(&self.shared.world).scenario()
    }

    /// Stops accepting, lets answers in flight finish (stalled ones end with 503), and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for mut t in self.tasks {
            // A client that keeps a half-sent request open must not hold the exit forever.
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut t).await.is_err() {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
                t.abort();
            }
        }
        tracing::info!("simulator stopped");
    }
}
