//! The step library, one module per domain. `features/README.md` lists every step.

pub mod graph;
pub mod lifecycle;
pub mod token;
pub mod tpm;
