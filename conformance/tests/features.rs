//! `cargo test --test features`: every `features/*.feature` file, against in-process mocks or
//! the tenant `ENTRA_HARNESS_TARGET` names. The harness is the `entra-conformance` binary
//! (`src/main.rs`), compiled once for this target and `features_remote`; this target runs it in
//! its own place, with its own arguments (`-- --name "<regex>"`, `--tags`, `--junit <file>`,
//! `--min-scenarios N`).

mod launch;

fn main() {
    launch::harness("features")
}
