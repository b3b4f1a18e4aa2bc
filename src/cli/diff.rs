//! `mtls-audit diff OLD NEW` (placeholder until the diff lands).

use super::Exit;
use clap::Args;

#[derive(Debug, Args)]
pub struct DiffArgs {}

pub fn run(_args: DiffArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("diff is not built yet")
}
