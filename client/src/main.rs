//! `adsync`: the command-line mirror of the ADSync PowerShell cmdlets.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("adsync: no subcommands yet")
}
