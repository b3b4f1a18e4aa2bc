//! `mtls-audit inspect TARGET...`: everything about certificate files, zips and servers.

use super::Exit;
use super::args::CertArgs;
use clap::{Args, ValueEnum};
use mtls_audit::cert::Limits;
use mtls_audit::inspect::{self, InspectReport};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InspectFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Certificate files (PEM, DER, PKCS#7, ZIP)
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub cert: CertArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: InspectFormat,
}

pub fn run(args: InspectArgs) -> anyhow::Result<Exit> {
    let limits = Limits::default();
    let policy = args.cert.policy(&limits)?;
    let targets = args
        .targets
        .iter()
        .map(|t| inspect::file(t, Path::new(t), &policy, &limits))
        .collect();
    let report = InspectReport { targets };
    let text = match args.format {
        InspectFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        InspectFormat::Table => mtls_audit::report::inspect::render(&report),
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    Ok(
        if report.fails(args.cert.fail_on.0, args.cert.allow_unknown) {
            Exit::Findings
        } else {
            Exit::Clean
        },
    )
}
