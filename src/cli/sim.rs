//! `mtls-audit sim`: the IAS/IPS simulator (placeholder until the simulator lands).

use super::Exit;
use clap::Args;

#[derive(Debug, Args)]
pub struct SimArgs {}

pub fn run(_args: SimArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("the simulator is not built yet")
}
