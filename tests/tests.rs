//! The one integration-test binary (STYLE.md): this file only declares the modules.

mod harness;

mod browser;
mod certs;
mod cli;
mod live;
mod net;
mod offline;
mod reports;
mod sim_export;
