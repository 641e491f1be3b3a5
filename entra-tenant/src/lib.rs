//! A Microsoft Entra tenant as plain data and rules: directory objects, clocks, keys, the login
//! rules and the Microsoft Graph rules. Nothing here knows HTTP (no HTTP crate is in the
//! dependency tree): the `mock-graph` crate parses requests, calls in here and renders what
//! comes back in the services' wire formats.

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
#[cfg(feature = "testing")]
pub mod testing;
pub mod x509;
