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
//! - [`import`]: what `mock-graph import` does: a tenant read through Graph, as a fixture.
//! - [`testing`] (feature `testing`, on by default): a one-call HTTPS server on port 0 for tests
//!   of your own, and the shared test certificate. Its surface (`TestServer`: `start`,
//!   `start_with`, `url`, `tenant_id`, `ca_pem_text`, `token_url_v2`, `with_tenant`; and
//!   `TestCertificate`) is what the README's "The mock as a library" documents and keeps stable.

pub mod http;
pub mod import;
pub mod serve;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;

/// The tenant and its rules live in the `entra-tenant` crate; `mock_graph::core` names it.
pub use entra_tenant as core;

pub use crate::state::MockState;
pub use entra_tenant::fixture::TenantFixture;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
