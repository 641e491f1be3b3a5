//! The real client against the mock, in one binary: one module per area.
//! `cargo test -p entra-conformance --test it <module>::` runs one area; `tidy` checks the
//! repository itself (the code map, the refusal scenarios, no outside references).

mod cli;
mod cli_import;
mod cli_procedures;
mod cli_walkthrough;
mod client_tokens;
mod files;
mod model_rotation;
mod tidy;
