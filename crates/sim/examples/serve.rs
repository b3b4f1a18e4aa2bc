//! Serves a scenario file, like `mtls-audit sim --scenario FILE` without the auditor's binary:
//! `cargo run -p mtls-audit-sim --example serve -- FILE [CA_OUT]`. Prints the listening line,
//! then serves until Ctrl-C. For working on the simulator alone.

#![allow(clippy::print_stdout)]

use mtls_audit_sim::{Scenario, Server, SimOptions};
use std::io::Write as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let file = args.next().ok_or("usage: serve SCENARIO [CA_OUT]")?;
    let ca_out = args.next().unwrap_or_else(|| {
        std::env::temp_dir()
            .join("serve-ca.pem")
            .display()
            .to_string()
    });
    let scenario = Scenario::load(std::path::Path::new(&file))?;
    let handle = Server::start(
        scenario,
        SimOptions {
            ca_out: Some(ca_out.into()),
            ..SimOptions::default()
        },
    )
    .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", handle.listening_line())?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
