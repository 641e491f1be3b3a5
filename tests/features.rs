//! The conformance suite: every `features/*.feature` file, run by cucumber under `cargo test`.
//!
//! `cargo test --test features -- --name "<regex>"` or `--tags "<expr>"` runs a selection;
//! `--junit <file>` (or env `CUCUMBER_JUNIT=<file>`) also writes a JUnit XML report.
//! Undefined or skipped steps fail the run. A failing scenario prints the tenant's last
//! answers from its journal and saves its final state under `target/harness-snapshots/`.
//! With `ENTRA_HARNESS_TARGET=<url>` the scenarios run against that tenant instead of
//! in-process mocks, except those tagged `@mock-only` (see `harness::target`). The run prints
//! how many scenarios it selected and left out, fails when it selected none, and with
//! `--min-scenarios N` (env `ENTRA_HARNESS_MIN_SCENARIOS`) when it selected fewer than N.

mod harness;

#[tokio::main]
async fn main() {
    if let Err(e) = harness::runner::run().await {
        eprintln!("features: FAILED: {e}");
        std::process::exit(1);
    }
}
