//! A Microsoft Entra tenant as plain data and rules: directory objects, clocks, keys, the login
//! rules and the Microsoft Graph rules. Nothing here knows HTTP (no HTTP crate is in the
//! dependency tree): the `mock-graph` crate parses requests, calls in here and renders what
//! comes back in the services' wire formats.
//!
//! - The tenant: `tenant` (`Tenant`), `directory` (one `Directory` value of every object),
//!   `fixture` (the JSON format of a whole tenant; a snapshot is one), `cloud`, `clock`,
//!   `signing` (the token-signing key), `ids`, `roles` (built-in directory roles).
//! - The rules: `login` (the token endpoint) and `graph` (Microsoft Graph and the service
//!   models), each refusal from one table (`login::LoginError`, `graph::GraphError`) with a
//!   `status::Status`; `jose` and `x509` read tokens and certificates.
//! - The test's controls beside a tenant (`controls`): `faults`, `journal`, `replication`, all
//!   naming requests by `operation::Operation`.
//! - `json`: JSON bodies read so that errors name the member at fault.
//! - `testing` (feature `testing`): a software certificate for tests.

pub mod clock;
pub mod cloud;
pub mod controls;
pub mod directory;
pub mod faults;
pub mod fixture;
pub mod graph;
pub mod ids;
pub mod jose;
pub mod journal;
pub mod json;
pub mod login;
pub mod operation;
pub mod replication;
pub mod roles;
pub mod signing;
pub mod status;
pub mod tenant;
#[cfg(feature = "testing")]
pub mod testing;
pub mod x509;
