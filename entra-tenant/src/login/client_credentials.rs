//! The `client_credentials` grant: an application signs in as itself, with a client secret or
//! a certificate assertion, for `{resource}/.default` (v2) or `resource` (v1); its token
//! carries the app roles granted to its service principal on that resource.

use super::client_auth::{Presented, authenticate, client_id, confidential_client, presented};
use super::refusal::LoginError;
use super::request::TokenRequest;
use super::scope::{app_resource, resource_parameter};
use super::token::{AccessTokenClaims, Grant, IdentityType, Subject};
use crate::roles::APP_ONLY_WIDS;
use crate::tenant::Tenant;

pub(super) fn client_credentials(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
) -> Result<Grant, LoginError> {
    let client_id = client_id(req)?;
    let resource_param = resource_parameter(req)?;
    let presented = presented(req)?;
    if matches!(presented, Presented::Nothing) {
        return Err(LoginError::MissingClientCredential);
    }
    let (app_id, client_sp) = confidential_client(tenant, client_id)?;
    let auth = authenticate(tenant, req, app_id, &presented)?;
    let (resource_name, resource) = app_resource(tenant, req.endpoint, resource_param)?;
    let now = tenant.now();
    let subject = Subject {
        app_id,
        app_displayname: client_sp.display_name.clone(),
        appidacr: auth.acr(),
        idtyp: IdentityType::App,
        oid: client_sp.id,
        sub: client_sp.id.to_string(),
    };
    let mut claims = AccessTokenClaims::new(tenant, &resource_name, now, subject);
    claims.roles = tenant.directory.granted_app_roles(client_sp.id, resource);
    claims.wids = vec![APP_ONLY_WIDS];
    Ok(Grant {
        access_claims: claims,
        id_token_claims: None,
        issued_at: now,
        endpoint: req.endpoint,
        resource: resource_name,
        scope: None,
        refresh_token: false,
        client_info: None,
    })
}
