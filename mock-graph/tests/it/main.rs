//! mock-graph's integration tests, in one binary (one link of axum, tokio and aws-lc instead of
//! one per file): one module per area, and `support`, the helpers the Graph, service and
//! control-plane tests share. `cargo test -p mock-graph --test it <module>::` runs one area.

mod bad_input;
mod concurrency;
mod control_inspect;
mod control_plane;
mod fidelity_matrix;
mod fidelity_rules;
mod graph_api;
mod graph_fixtures;
mod graph_keys;
mod graph_services;
mod import_round_trip;
mod inspector_browser;
mod login;
mod msal_interop;
mod msal_node_interop;
mod prop_assertion;
mod serve_binary;
mod support;
mod webdriver;
