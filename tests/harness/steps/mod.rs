//! The step library, one module per domain. `features/README.md` lists every step.

pub mod lifecycle;
pub mod token;
