//! The one integration-test binary (STYLE.md): this file only declares the modules.

mod harness;

mod cli;
mod offline;
mod sim;
