//! `cargo test --test features_remote`: the feature files against a second mock-graph process
//! reached only by URL, as `ENTRA_HARNESS_TARGET` allows (scenarios tagged `@mock-only` are left
//! out). Runs the harness binary (see `features.rs`).

mod launch;

fn main() {
    launch::harness("features_remote")
}
