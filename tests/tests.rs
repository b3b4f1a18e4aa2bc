//! The one integration-test binary (STYLE.md): this file only declares the modules.
// Tests unwrap: a panic with the value is the failure message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod architecture;
mod browser;
mod campaign;
mod certs;
mod chaos;
mod cli;
mod live;
mod neo;
mod net;
mod notify;
mod offline;
mod reliability;
mod reports;
mod serve;
mod shard;
mod sim_export;
