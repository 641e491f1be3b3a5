//! A token request as the rules see it (which endpoint, the tenant segment, the host it came
//! to, the form, HTTP Basic credentials), and the checks of its shape that come before the
//! tenant's content: the grant type, and no tenant-bound grant over `/common`.

use super::form::Form;
use super::refusal::LoginError;
use super::tenant_segment::TenantSegment;

/// Which token endpoint was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/{tenant}/oauth2/token`, resource named by `resource`.
    V1,
    /// `/{tenant}/oauth2/v2.0/token`, resource named by `scope`.
    V2,
}

/// What the HTTP layer knows about a token request besides its form.
#[derive(Clone, Debug)]
pub struct TokenRequest<'a> {
    pub endpoint: Endpoint,
    /// `{tenant}` exactly as the path gave it.
    pub tenant_segment: &'a str,
    /// `scheme://host[:port]` the request came to: the audience a client assertion must name.
    pub base_url: &'a str,
    pub form: &'a Form,
    /// Client id and secret from an `Authorization: Basic` header.
    pub basic_auth: Option<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
    Password,
}

/// Checks the request's shape that does not depend on the tenant's content.
pub fn check_request_shape(
    req: &TokenRequest<'_>,
    segment: &TenantSegment,
) -> Result<GrantType, LoginError> {
    let grant = match req.form.require("grant_type")? {
        "client_credentials" => GrantType::ClientCredentials,
        "password" => GrantType::Password,
        _ => return Err(LoginError::UnsupportedGrantType),
    };
    if *segment == TenantSegment::MultiTenant {
        return Err(LoginError::GrantNotSupportedOverCommon);
    }
    Ok(grant)
}
