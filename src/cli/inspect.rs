//! `mtls-audit inspect TARGET...`: everything about certificate files, zips and servers.

use super::Exit;
use super::args::{CertArgs, InputArgs, NetArgs};
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use mtls_audit::inspect::{self, InspectReport, InspectTarget, TargetKind};
use mtls_audit::net::{Deadline, NetClient};
use std::io::Write;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum InspectFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Certificate files (PEM, DER, PKCS#7, ZIP) or servers (https://host[:port], host:port)
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub cert: CertArgs,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: InspectFormat,
}

pub(super) fn run(args: InspectArgs) -> anyhow::Result<Exit> {
    let input = args.input.limits();
    let limits = input.certificates();
    let policy = args.cert.policy(&input)?;
    let kinds: Vec<TargetKind> = args
        .targets
        .iter()
        .map(|t| inspect::classify(t).map_err(anyhow::Error::from))
        .collect::<anyhow::Result<_>>()?;
    let servers = kinds.iter().any(|k| matches!(k, TargetKind::Server { .. }));
    let mut out: Vec<Option<InspectTarget>> = vec![None; kinds.len()];
    for (i, k) in kinds.iter().enumerate() {
        if let TargetKind::File(p) = k {
            out[i] = Some(inspect::file(&args.targets[i], p, &policy, &limits));
        }
    }
    if servers {
        let (cfg, lms, next) = args.net.config(8, &input)?;
        let client = NetClient::new(cfg)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        // Each server gets the request timeout for each of its steps, with retries.
        let budget = args.net.timeout * (args.net.retries + 1) * 2;
        rt.block_on(async {
            for (i, k) in kinds.iter().enumerate() {
                if let TargetKind::Server { host, port } = k {
                    let deadline = Deadline::after(budget);
                    out[i] = Some(
                        inspect::server(
                            &args.targets[i],
                            host,
                            *port,
                            &client,
                            (lms.clone(), next.clone()),
                            &policy,
                            deadline,
                        )
                        .await,
                    );
                }
            }
        });
    }
    let report = InspectReport {
        targets: out.into_iter().flatten().collect(),
    };
    let text = match args.format {
        InspectFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        InspectFormat::Table => mtls_audit::report::screen::render(&report),
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
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
