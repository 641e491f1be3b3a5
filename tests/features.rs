//! The conformance suite: every `features/*.feature` file, run by cucumber under `cargo test`.
//!
//! `cargo test --test features -- --name "<regex>"` or `--tags "<expr>"` runs a selection;
//! `--junit <file>` (or env `CUCUMBER_JUNIT=<file>`) also writes a JUnit XML report.
//! Undefined or skipped steps fail the run.

mod harness;

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use cucumber::{World as _, WriterExt as _, cli, writer};
use harness::world::EntraWorld;

#[derive(clap::Args)]
struct HarnessOptions {
    /// Also write a JUnit XML report to this file (env: CUCUMBER_JUNIT).
    #[arg(long, value_name = "FILE", env = "CUCUMBER_JUNIT")]
    junit: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    let opts = cli::Opts::<_, _, _, HarnessOptions>::parsed();
    let junit: Box<dyn Write> = match &opts.custom.junit {
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("cannot write the JUnit report {}: {e}", path.display());
                std::process::exit(2);
            }
        },
        None => Box::new(io::sink()),
    };
    let features = concat!(env!("CARGO_MANIFEST_DIR"), "/features");
    EntraWorld::cucumber()
        .with_writer(
            writer::Basic::stdout()
                .summarized()
                .tee::<EntraWorld, _>(writer::JUnit::for_tee(junit, 0))
                .normalized(),
        )
        .fail_on_skipped()
        .with_cli(opts)
        .run_and_exit(features)
        .await;
}
