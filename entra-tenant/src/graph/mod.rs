//! Microsoft Graph's rules over a tenant, without HTTP. One module per job:
//!
//! - `request`: a routed request, its `Key`s and `Collection`s, and the `Reply` (with a typed
//!   `@odata.context`); `dispatch`: `execute`, the one entry point that applies a request;
//! - `auth`: bearer-token authentication and authorization as Entra decides it;
//! - `applications`, `service_principals`, `assignments` (app role assignments), `users`,
//!   `roles` (directory roles and role assignments), `organization`: the operations;
//! - `keys`: keyCredential validation; `proofs`: addKey / removeKey and their proofs;
//! - `query`: the OData query options; `payload`: reading request bodies;
//! - `services`: the first-party service models (`SERVICES.md`);
//! - `error`: the rule table every refusal comes from (`GraphError`).

pub mod applications;
pub mod assignments;
pub mod auth;
pub mod dispatch;
pub mod error;
pub mod keys;
pub mod organization;
pub mod payload;
pub mod proofs;
pub mod query;
pub mod request;
pub mod roles;
pub mod service_principals;
pub mod services;
pub mod users;

pub use dispatch::execute;
pub use error::GraphError;
pub use request::{AssignmentSide, Collection, Context, EntitySet, GraphRequest, Key, Reply};
