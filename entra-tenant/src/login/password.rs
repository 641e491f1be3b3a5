//! The `password` grant (ROPC): a user signs in with a password through a first-party public
//! client or a tenant application; the token carries the delegated scopes consented for that
//! client on the resource (oauth2PermissionGrants), and the user's directory roles. The checks,
//! in order: the client (700016, 7000229, 7000112) and its credential (700025 for a public
//! client presenting one, 7000218 for a confidential one presenting none); the user (50020 when
//! the name belongs to another tenant, else 50034), the password (50126), the account (50057,
//! then 50055 while the password must be changed); the scope (28000 for several resources,
//! 70011), the resource (500011) and the consent (65001).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::client_auth::{
    ClientAuth, Presented, application_not_found, authenticate, client_id, confidential_client,
    constant_time_eq, presented,
};
use super::refusal::LoginError;
use super::request::{Endpoint, TokenRequest};
use super::scope::{ScopeProblem, ScopeRequest, named_resource, parse_scope, resource_parameter};
use super::token::{
    AccessTokenClaims, Grant, IdTokenClaims, IdentityType, Subject, pairwise_subject,
};
use crate::directory::{ServicePrincipal, User};
use crate::ids::{AppId, TenantId};
use crate::tenant::Tenant;

/// What the rules may ask about the other tenants beside the one signed in to: which one a
/// domain belongs to (a user principal name of another tenant is AADSTS50020, not 50034).
pub trait OtherTenants {
    /// The tenant whose verified domain `domain` is, if it is not the one signing in.
    fn tenant_of_domain(&self, domain: &str) -> Option<TenantId>;
}

/// No other tenant is known.
pub struct NoOtherTenants;

impl OtherTenants for NoOtherTenants {
    fn tenant_of_domain(&self, _domain: &str) -> Option<TenantId> {
        None
    }
}

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
    let not_found = || application_not_found(tenant, client_id);
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

/// The user signing in, once the name, password and account state allow it.
fn signed_in_user<'t>(
    tenant: &'t Tenant,
    client: &PasswordClient<'_>,
    username: &str,
    password: &str,
    others: &dyn OtherTenants,
) -> Result<&'t User, LoginError> {
    let Some(user) = tenant.directory.user_by_upn(username) else {
        let home = username
            .rsplit_once('@')
            .and_then(|(_, domain)| others.tenant_of_domain(domain))
            .filter(|home| *home != tenant.id);
        return Err(match home {
            Some(home) => LoginError::UserOfAnotherTenant {
                home: home.to_string(),
                tenant: tenant.display_name.clone(),
                app_id: client.app_id.to_string(),
                app_name: client.sp.display_name.clone(),
            },
            None => LoginError::UserNotFound {
                tenant: tenant.id.to_string(),
            },
        });
    };
    // A user without a password (imported: Graph gives none out) cannot sign in with one.
    if !user.password_profile.is_set()
        || !constant_time_eq(&user.password_profile.password, password)
    {
        return Err(LoginError::InvalidUsernameOrPassword);
    }
    if !user.account_enabled {
        return Err(LoginError::UserDisabled);
    }
    if user.password_profile.force_change_password_next_sign_in {
        return Err(LoginError::PasswordExpired);
    }
    Ok(user)
}

/// The resource and scopes a delegated request asks for: v1 names the resource (everything
/// consented), v2 a scope whose resource defaults to Microsoft Graph.
fn delegated_scope(
    tenant: &Tenant,
    endpoint: Endpoint,
    param: &str,
) -> Result<ScopeRequest, LoginError> {
    if endpoint == Endpoint::V1 {
        return Ok(ScopeRequest {
            resource: param.trim().to_string(),
            permissions: vec![".default".into()],
            oidc: Vec::new(),
        });
    }
    let default_resource = format!("https://{}", tenant.cloud.graph_host());
    let s = parse_scope(param, Some(&default_resource)).map_err(|p| match p {
        ScopeProblem::SeveralResources => LoginError::SeveralResourcesDelegated {
            scope: param.to_string(),
        },
        ScopeProblem::NoResource => LoginError::InvalidScope {
            scope: param.to_string(),
        },
    })?;
    if s.is_default() && s.permissions.len() > 1 {
        return Err(LoginError::DefaultScopeCombined {
            scope: param.to_string(),
        });
    }
    Ok(s)
}

pub(super) fn password(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    others: &dyn OtherTenants,
) -> Result<Grant, LoginError> {
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
    let user = signed_in_user(tenant, &client, username, password, others)?;

    let requested = delegated_scope(tenant, req.endpoint, resource_param)?;
    let resource = named_resource(tenant, &requested.resource)?;
    let consent_required = || LoginError::ConsentRequired {
        app_id: client.app_id.to_string(),
        app_name: client.sp.display_name.clone(),
    };
    // `.default` gets everything consented for the client on the resource; named permissions
    // must each have been consented (scopes-oidc: "If consent exists, the returned token
    // contains all scopes granted for that resource").
    let scp = tenant
        .directory
        .delegated_scopes(client.sp.id, resource.id, user.id)
        .ok_or_else(consent_required)?;
    let granted: Vec<&str> = scp.split_whitespace().collect();
    if !requested
        .permissions
        .iter()
        .filter(|p| *p != ".default")
        .all(|p| granted.iter().any(|g| g.eq_ignore_ascii_case(p)))
    {
        return Err(consent_required());
    }
    let resource_name = requested.resource;
    let oidc = requested.oidc;

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
