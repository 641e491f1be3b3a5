//! The `adsync` binary's own modules: argument parsing and output rendering.

pub mod args;
pub mod render;
