//! A mock Microsoft Entra tenant for testing application-identity authentication offline: the
//! tenant's rules (the `entra-tenant` crate) served over HTTP.
//!
//! Layout:
//! - [`core`]: the `entra-tenant` crate: tenants, directory objects, clocks, signing keys and
//!   Entra's rules, without HTTP.
//! - [`state`]: the cloneable handle to every tenant the mock serves.
//! - [`http`]: axum routes that render the rules in the services' wire formats, and the server
//!   loop (TLS or plain) that takes an already-bound listener and a shutdown future.
//! - [`serve`]: what `mock-graph serve` does, reusable in-process.
//! - [`testing`]: a one-call HTTPS server on port 0, and the shared test certificate.

pub mod http;
pub mod serve;
pub mod state;
pub mod testing;

/// The tenant and its rules live in the `entra-tenant` crate; `mock_graph::core` names it.
pub use entra_tenant as core;

pub use crate::state::MockState;
pub use entra_tenant::fixture::TenantFixture;
