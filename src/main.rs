//! The `mtls-audit` binary: parse, install the crypto provider, run, exit with a code that
//! means something (0 compliant, 1 findings at or above --fail-on, 2 the tool could not do
//! its job). Everything else is in `cli` and the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // One crypto provider for every TLS user in the process (STACK.md pitfall 1). It can only
    // fail if one is installed already, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = <cli::Cli as clap::Parser>::parse();
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
