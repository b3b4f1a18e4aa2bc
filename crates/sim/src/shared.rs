//! The state every request handler and the in-process handle share: the fleet, the server PKI,
//! the simulated clock and the run-time options. Handlers and the server both import this
//! module; it imports neither.

use crate::error::SimError;
use crate::scenario::TenantSpec;
use crate::state::{Clock, TenantCounters, World, lock, read, write};
use crate::tls::{self, ServerPki};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// State shared by every request.
pub(crate) struct Shared {
    pub(crate) world: Arc<RwLock<World>>,
    pub(crate) pki: Arc<ServerPki>,
    pub(crate) clock: Clock,
    /// The length of a rate-limit minute in real time.
    pub(crate) minute: Duration,
    pub(crate) time_scale: f64,
    pub(crate) rate_limits: bool,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) started: Instant,
}

impl Shared {
    /// A simulated duration in real time.
    pub(crate) fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.time_scale)
    }

    /// Sleeps `d` (`None`: until stopped), or less if the simulator is stopping. Returns false
    /// when stopped.
    pub(crate) async fn sleep(&self, d: Option<Duration>) -> bool {
        let mut stop = self.stop.clone();
        if *stop.borrow() {
            return false;
        }
        let stopped = async move {
            while stop.changed().await.is_ok() {
                if *stop.borrow() {
                    return;
                }
            }
        };
        match d {
            Some(d) => tokio::select! {
                _ = tokio::time::sleep(d) => true,
                _ = stopped => false,
            },
            None => {
                stopped.await;
                false
            }
        }
    }

    /// The names the shared server certificate must cover for the current fleet.
    fn server_names(&self) -> Vec<String> {
        let w = read(&self.world);
        tls::server_names(w.hosts.keys().map(String::as_str))
    }

    /// Adds or replaces a tenant, re-issuing the shared server certificate when new host names
    /// need it.
    pub(crate) fn upsert(&self, spec: TenantSpec) -> Result<(), SimError> {
        let id = spec.id.clone();
        write(&self.world).upsert(spec)?;
        self.pki.forget(&id);
        self.pki.ensure_names(self.server_names())?;
        Ok(())
    }

    /// Request counters of every tenant, by tenant ID.
    pub(crate) fn counters(&self) -> BTreeMap<String, TenantCounters> {
        read(&self.world)
            .tenants
            .iter()
            .map(|t| (t.id.clone(), lock(&t.counters).counters.clone()))
            .collect()
    }
}
