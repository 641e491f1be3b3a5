//! `cargo test --test features_remote`: the feature files against a second mock-graph process
//! reached only by URL, as `ENTRA_HARNESS_TARGET` allows, each scenario in a tenant of its own
//! made through the mock's control plane. Runs the harness binary (see `features.rs`).

mod launch;

fn main() {
    launch::harness("features_remote")
}
