//! A typed Microsoft Graph v1.0 client for what the application lifecycle needs, one module
//! per job:
//!
//! - [`client`]: [`GraphClient`], its token sources, and how objects are named in URLs
//!   ([`ObjectRef`]).
//! - [`send`]: the one send path of Graph-style calls (bearer token, retries honouring
//!   `Retry-After`, errors with the raw answer), also used by the service models' client.
//! - [`applications`]: applications (by object id or `(appId='...')`) and their
//!   `requiredResourceAccess`.
//! - [`key_credentials`]: keyCredentials through PATCH, and addKey/removeKey with a proof
//!   signed over a [`Signer`](crate::keys::Signer).
//! - [`service_principals`]: service principals, their app roles and app role assignments.
//! - [`users`]: users, directory roles and role assignments, and the organization.
//! - [`paging`]: collections followed through `@odata.nextLink`, within a bound.
//! - [`error`]: Graph's error JSON as [`GraphServiceError`] (raw body kept) and [`GraphError`].
//!
//! Every type is re-exported here, so callers write `crate::graph::GraphClient`.

pub mod applications;
pub mod client;
pub mod error;
pub mod key_credentials;
pub mod paging;
pub mod send;
pub mod service_principals;
pub mod users;

pub use applications::{Application, RequiredResourceAccess, ResourceAccess};
pub use client::{AppTokenSource, GraphClient, ObjectRef, StaticToken, TokenSource};
pub use error::{GraphError, GraphServiceError};
pub use key_credentials::KeyCredential;
pub use send::Sender;
pub use service_principals::{AppRole, AppRoleAssignment, ServicePrincipal};
pub use users::{
    DirectoryObject, DirectoryRole, Organization, UnifiedRoleAssignment, User, VerifiedDomain,
};
