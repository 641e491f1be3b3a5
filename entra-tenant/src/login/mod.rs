//! The token endpoint's rules, without HTTP: which tenant a path names, how a
//! `client_credentials` or `password` request is authenticated and authorized, and what the
//! issued tokens say. Checks run in a fixed order (documented in ARCHITECTURE.md) and each
//! failure is one `LoginError` from the rule table (`refusal`). One module per job:
//!
//! - `request`: the request as the rules see it, and the checks of its shape;
//! - `form`: the form body; `tenant_segment`: the `{tenant}` path segment;
//! - `client_auth`: the client and its secret or certificate assertion;
//! - `scope`: the resource a request names;
//! - `client_credentials`, `password`: the two grants;
//! - `token`: the claims issued (`AccessTokenClaims`), the grant, the token response;
//! - `refusal`: the rule table.

mod client_auth;
mod client_credentials;
mod form;
mod password;
mod refusal;
mod request;
mod scope;
mod tenant_segment;
mod token;

pub use client_auth::{
    ASSERTION_SKEW, JWT_BEARER, accepted_audiences, instant, verify_client_assertion,
};
pub use form::Form;
pub use refusal::{LoginError, OAuthError, RefusalSpec};
pub use request::{Endpoint, GrantType, TokenRequest, check_request_shape};
pub use tenant_segment::{TenantSegment, classify_tenant_segment};
pub use token::{
    ACCESS_TOKEN_SECONDS, AccessTokenClaims, Grant, IdTokenClaims, IdentityType, token_response,
};

use crate::tenant::Tenant;

/// Authenticates and authorizes a token request against `tenant`.
pub fn authorize(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    grant: GrantType,
) -> Result<Grant, LoginError> {
    match grant {
        GrantType::ClientCredentials => client_credentials::client_credentials(tenant, req),
        GrantType::Password => password::password(tenant, req),
    }
}
