//! The client's integration tests, in one binary: one module per area. Fixed certificates are
//! in `tests/data/`. `cargo test -p adsync-client --test it <module>::` runs one area.

mod automatic_onboarding;
mod certificates;
mod graph_requests;
mod token_flow;
mod tpm_keys;
