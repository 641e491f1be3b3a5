//! The bearer token of a Graph or service-model request: taken from the `Authorization`
//! header, and the tenant and client it names read without trusting it, to find the tenant
//! whose rules then verify it (`entra_tenant::graph::auth::authenticate`).

use entra_tenant::graph::GraphError;
use entra_tenant::jose;
use http::{HeaderMap, header};

use super::observe::NoTenant;
use crate::state::{MockState, TenantHandle};

/// The token of `Authorization: Bearer <token>`; `None` when there is none.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    let header = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The tenant a request's bearer token names in its (not yet verified) `tid`, or why there is
/// none, and the client it names (`appid`, or `azp`).
pub fn identify(
    state: &MockState,
    headers: &HeaderMap,
) -> (Result<TenantHandle, NoTenant>, Option<String>) {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if sent.is_none_or(|a| a.trim().is_empty()) {
        return (Err(NoTenant::NoCredential), None);
    }
    let Some(jws) = token(headers).and_then(|t| jose::parse(t).ok()) else {
        return (Err(NoTenant::Malformed), None);
    };
    let claims = jws.claims;
    let client = claims
        .str("appid")
        .or_else(|| claims.str("azp"))
        .map(str::to_string);
    let tenant = match claims.str("tid") {
        None => Err(NoTenant::Malformed),
        Some(tid) => state.find(tid).ok_or(NoTenant::Unknown),
    };
    (tenant, client)
}

/// Graph's answer to a request whose token names no tenant of this mock.
pub fn refusal(why: NoTenant) -> GraphError {
    match why {
        NoTenant::NoCredential => GraphError::TokenMissing,
        NoTenant::Malformed => GraphError::TokenMalformed,
        NoTenant::Unknown => GraphError::TokenTenant,
    }
}
