//! `adsync`: the command-line mirror of the ADSync PowerShell cmdlets.

fn main() -> anyhow::Result<()> {
    // ESYS logs expected TPM failures to stderr; quiet it unless the user asked for logs.
    // Set before any thread exists, which is what makes `set_var` sound here.
    if std::env::var_os("TSS2_LOG").is_none() {
        unsafe { std::env::set_var("TSS2_LOG", "all+none") };
    }
    anyhow::bail!("adsync: no subcommands yet")
}
