//! The `password` grant (ROPC): a user signs in with a password through a first-party public
//! client or a tenant application; the token carries the delegated scopes consented for that
//! client on the resource, and the user's directory roles.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::client_auth::{
    ClientAuth, Presented, authenticate, client_id, confidential_client, constant_time_eq,
    presented,
};
use super::refusal::LoginError;
use super::request::{Endpoint, TokenRequest};
use super::scope::{named_resource, parse_scope, resource_parameter};
use super::token::{
    AccessTokenClaims, Grant, IdTokenClaims, IdentityType, Subject, pairwise_subject,
};
use crate::directory::ServicePrincipal;
use crate::ids::AppId;
use crate::tenant::Tenant;

/// The client of a password sign-in: a first-party public client, or a tenant application.
struct PasswordClient<'t> {
    app_id: AppId,
    sp: &'t ServicePrincipal,
    public: bool,
}

fn password_client<'t>(
    tenant: &'t Tenant,
    client_id: &str,
) -> Result<PasswordClient<'t>, LoginError> {
    let not_found = || LoginError::ApplicationNotFound {
        app_id: client_id.to_string(),
        tenant: tenant.id.to_string(),
    };
    let app_id: AppId = client_id.parse().map_err(|_| not_found())?;
    if let Some(app) = tenant.directory.application_by_app_id(app_id) {
        let (_, sp) = confidential_client(tenant, client_id)?;
        return Ok(PasswordClient {
            app_id,
            sp,
            public: app.is_fallback_public_client == Some(true),
        });
    }
    match tenant.directory.service_principal_by_app_id(app_id) {
        Some(sp) if sp.is_public_client => Ok(PasswordClient {
            app_id,
            sp,
            public: true,
        }),
        _ => Err(not_found()),
    }
}

pub(super) fn password(tenant: &Tenant, req: &TokenRequest<'_>) -> Result<Grant, LoginError> {
    let client_id = client_id(req)?;
    let username = req.form.require("username")?;
    let password = req.form.require("password")?;
    let resource_param = resource_parameter(req)?;
    let client = password_client(tenant, client_id)?;
    let presented = presented(req)?;
    let auth = match (client.public, &presented) {
        (true, Presented::Nothing) => ClientAuth::None,
        (true, _) => return Err(LoginError::PublicClientWithCredential),
        (false, _) => authenticate(tenant, req, client.app_id, &presented)?,
    };

    let user = tenant
        .directory
        .user_by_upn(username)
        .ok_or_else(|| LoginError::UserNotFound {
            upn: username.to_string(),
            tenant: tenant.id.to_string(),
        })?;
    if !constant_time_eq(&user.password_profile.password, password) {
        return Err(LoginError::InvalidUsernameOrPassword);
    }
    if !user.account_enabled {
        return Err(LoginError::UserDisabled);
    }

    let graph = tenant.cloud.graph_host();
    let default_resource = format!("https://{graph}");
    let (resource_name, oidc) = match req.endpoint {
        Endpoint::V1 => (resource_param.trim().to_string(), Vec::new()),
        Endpoint::V2 => {
            let s = parse_scope(resource_param, Some(&default_resource))?;
            (s.resource, s.oidc)
        }
    };
    let resource = named_resource(tenant, &resource_name)?;
    let scp = tenant
        .directory
        .delegated_scopes(client.sp.id, resource.id, user.id)
        .ok_or_else(|| LoginError::ConsentRequired {
            app_id: client.app_id.to_string(),
            app_name: client.sp.display_name.clone(),
        })?;

    let now = tenant.now();
    let subject = Subject {
        app_id: client.app_id,
        app_displayname: client.sp.display_name.clone(),
        appidacr: auth.acr(),
        idtyp: IdentityType::User,
        oid: user.id,
        sub: pairwise_subject(user.id, client.app_id),
    };
    let mut claims = AccessTokenClaims::new(tenant, &resource_name, now, subject);
    claims.amr = Some(vec!["pwd".into()]);
    claims.name = Some(user.display_name.clone());
    claims.scp = Some(scp.clone());
    claims.unique_name = Some(user.user_principal_name.clone());
    claims.upn = Some(user.user_principal_name.clone());
    claims.wids = tenant.directory.directory_roles_of(user.id);

    let wants_id_token = req.endpoint == Endpoint::V1 || oidc.iter().any(|s| s == "openid");
    let id_token_claims = wants_id_token.then(|| IdTokenClaims::of(&claims, req.base_url, now));
    let granted_scope = scp
        .split_whitespace()
        .map(|s| format!("{}/{s}", resource_name.trim_end_matches('/')))
        .chain(oidc.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let client_info = URL_SAFE_NO_PAD
        .encode(json!({"uid": user.id.to_string(), "utid": tenant.id.to_string()}).to_string());
    Ok(Grant {
        access_claims: claims,
        id_token_claims,
        issued_at: now,
        endpoint: req.endpoint,
        resource: resource_name,
        scope: Some(granted_scope),
        refresh_token: req.endpoint == Endpoint::V1 || oidc.iter().any(|s| s == "offline_access"),
        client_info: Some(client_info),
    })
}
