//! The mock tenant's core: directory objects, clocks, keys and the rules Entra applies, in
//! plain Rust. Architecture invariant: nothing here knows HTTP; handlers in `crate::http` parse
//! requests, call into this module and render what it returns.

pub mod clock;
pub mod directory;
pub mod faults;
pub mod fixture;
pub mod graph;
pub mod ids;
pub mod jose;
pub mod journal;
pub mod json;
pub mod login;
pub mod login_error;
pub mod roles;
pub mod signing;
pub mod tenant;
pub mod x509;
