//! The one crypto provider of the network layer: ring, passed explicitly to every rustls
//! builder so the layer never depends on a process-wide default being installed.

use rustls::crypto::CryptoProvider;
use std::sync::{Arc, OnceLock};

/// The ring provider, built once.
pub(crate) fn ring_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}
