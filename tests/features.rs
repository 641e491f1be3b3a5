//! The conformance suite: every `features/*.feature` file, run by cucumber under `cargo test`.
//!
//! `cargo test --test features -- --name "<regex>"` or `--tags "<expr>"` runs a selection;
//! `--junit <file>` (or env `CUCUMBER_JUNIT=<file>`) also writes a JUnit XML report.
//! Undefined or skipped steps fail the run. A failing scenario prints the tenant's last
//! answers from its journal and saves its final state under `target/harness-snapshots/`.
//! With `ENTRA_HARNESS_TARGET=<url>` the scenarios run against that tenant instead of
//! in-process mocks, except those tagged `@mock-only` (see `harness::target`).

mod harness;

#[tokio::main]
async fn main() {
    harness::runner::run().await;
}
