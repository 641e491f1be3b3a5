//! Microsoft Graph's rules over a tenant, without HTTP: bearer-token authentication and
//! authorization as Entra decides it (`auth`), OData query options (`query`), keyCredential
//! validation and addKey/removeKey proofs (`keys`), applications, service principals and app
//! role assignments (`objects`), users, directory roles and the organization (`users`), the
//! first-party service models (`services`), replication lag (`replication`), and the one
//! dispatcher (`request`). Every refusal is a `GraphError` from one table (`error`).

pub mod auth;
pub mod error;
pub mod keys;
pub mod objects;
pub mod query;
pub mod replication;
pub mod request;
pub mod services;
pub mod users;

pub use error::GraphError;
pub use request::{Collection, GraphRequest, Key, Reply, execute};

/// Graph's ids for assignments are opaque base64url strings, not GUIDs.
pub(crate) fn opaque_id() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
