//! `mtls-audit demo` (placeholder until the demo lands).

use super::Exit;
use clap::Args;

#[derive(Debug, Args)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("demo is not built yet")
}
