//! What can stop the demo from running.

use mtls_audit::inventory;
use mtls_audit_sim as sim;
use std::path::PathBuf;

/// Why the demo could not run (setting up the sample fleet, the simulator or its history).
#[derive(Debug, thiserror::Error)]
pub(super) enum DemoError {
    #[error(transparent)]
    Generate(#[from] sim::GenerateError),
    #[error("the simulator did not start")]
    Sim(#[from] sim::SimError),
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the zip {path}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Inventory(#[from] inventory::InventoryFileError),
    #[error(transparent)]
    History(#[from] mtls_audit::history::HistoryError),
}
