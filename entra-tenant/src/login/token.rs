//! What the token endpoint issues: the claims of access tokens (`AccessTokenClaims`, which the
//! Graph bearer check in `graph::auth` reads back into the same struct) and of ID tokens, the
//! `Grant` a successful request earned, and the token response signed from it, in each
//! endpoint's wire shape.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::request::Endpoint;
use crate::ids::{AppId, ObjectId, TenantId};
use crate::signing::SigningKey;
use crate::tenant::Tenant;

/// Lifetime of issued access tokens, as `expires_in` reports it.
pub const ACCESS_TOKEN_SECONDS: i64 = 3599;
/// Entra back-dates `nbf` and `iat` of the tokens it issues.
const BACKDATE: Duration = Duration::minutes(5);

/// Who an access token was issued to: an application on its own, or a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityType {
    App,
    User,
}

/// The claims of a v1 access token, in the order Entra writes them. Optional claims are left
/// out when absent (`roles` and `wids` when empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub aio: String,
    pub idp: String,
    pub rh: String,
    pub tid: TenantId,
    pub uti: String,
    pub ver: String,
    /// User tokens: how the user signed in (`pwd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    pub app_displayname: String,
    pub appid: AppId,
    /// "2" certificate, "1" secret, "0" public client.
    pub appidacr: String,
    pub idtyp: IdentityType,
    /// User tokens: the user's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user, or the application's service principal.
    pub oid: ObjectId,
    /// App tokens: the app roles granted on the resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// User tokens: the delegated scopes consented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// Directory role template ids (app tokens: the app-only marker).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wids: Vec<Uuid>,
}

/// The one who gets an access token: the client application, and the user it acts for.
pub struct Subject {
    pub app_id: AppId,
    pub app_displayname: String,
    pub appidacr: &'static str,
    pub idtyp: IdentityType,
    pub oid: ObjectId,
    pub sub: String,
}

impl AccessTokenClaims {
    /// The claims every access token carries, for `subject` and the resource `audience` at
    /// `now`; the grant adds what is particular to it.
    pub fn new(tenant: &Tenant, audience: &str, now: OffsetDateTime, subject: Subject) -> Self {
        let issued = (now - BACKDATE).unix_timestamp();
        let sts = format!("https://sts.windows.net/{}/", tenant.id);
        AccessTokenClaims {
            aud: audience.to_string(),
            iss: sts.clone(),
            iat: issued,
            nbf: issued,
            exp: now.unix_timestamp() + ACCESS_TOKEN_SECONDS,
            aio: opaque(24),
            idp: sts,
            rh: format!("0.{}.", opaque(30)),
            tid: tenant.id,
            uti: opaque(16),
            ver: "1.0".into(),
            amr: None,
            app_displayname: subject.app_displayname,
            appid: subject.app_id,
            appidacr: subject.appidacr.into(),
            idtyp: subject.idtyp,
            name: None,
            oid: subject.oid,
            roles: Vec::new(),
            scp: None,
            sub: subject.sub,
            unique_name: None,
            upn: None,
            wids: Vec::new(),
        }
    }
}

/// The claims of a v2 ID token (user sign-ins that asked for `openid`, and v1 user sign-ins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub aud: AppId,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub name: String,
    pub oid: ObjectId,
    pub preferred_username: String,
    pub sub: String,
    pub tid: TenantId,
    pub ver: String,
}

impl IdTokenClaims {
    /// The ID token of `access` (a user's token), issued by the v2 issuer on `base_url`.
    pub fn of(access: &AccessTokenClaims, base_url: &str, now: OffsetDateTime) -> Self {
        let issued = (now - BACKDATE).unix_timestamp();
        IdTokenClaims {
            aud: access.appid,
            iss: format!("{base_url}/{}/v2.0", access.tid),
            iat: issued,
            nbf: issued,
            exp: now.unix_timestamp() + ACCESS_TOKEN_SECONDS,
            name: access.name.clone().unwrap_or_default(),
            oid: access.oid,
            preferred_username: access.upn.clone().unwrap_or_default(),
            sub: access.sub.clone(),
            tid: access.tid,
            ver: "2.0".into(),
        }
    }
}

/// What a successful request earned, before it is signed into tokens.
#[derive(Clone, Debug)]
pub struct Grant {
    pub access_claims: AccessTokenClaims,
    pub id_token_claims: Option<IdTokenClaims>,
    pub issued_at: OffsetDateTime,
    pub endpoint: Endpoint,
    /// The resource as the request named it (the v1 answer's `resource`, the token's `aud`).
    pub resource: String,
    /// User flows: the granted scopes, for the v2 answer's `scope`.
    pub scope: Option<String>,
    /// Whether the answer carries a refresh token (v1 user flows, or `offline_access`).
    pub refresh_token: bool,
    /// User flows: base64url `{"uid","utid"}`, which MSAL needs to make an account.
    pub client_info: Option<String>,
}

/// Random base64url text of `bytes` bytes, for claims that are opaque to clients.
pub(super) fn opaque(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(raw)
}

/// `sub` of user tokens is pairwise per application in Entra.
pub(super) fn pairwise_subject(user: ObjectId, app: AppId) -> String {
    let input = format!("{user}:{app}");
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..32])
}

/// Signs a grant into the token response body, in the endpoint's wire shape (v1 numbers are
/// strings, as Entra sends them).
pub fn token_response(grant: &Grant, key: &SigningKey) -> Value {
    let access_token = key.sign_jwt(&grant.access_claims);
    let expires_on = grant.issued_at.unix_timestamp() + ACCESS_TOKEN_SECONDS;
    let not_before = (grant.issued_at - BACKDATE).unix_timestamp();
    let mut body = match grant.endpoint {
        Endpoint::V2 => json!({
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "ext_expires_in": ACCESS_TOKEN_SECONDS,
            "access_token": access_token,
        }),
        Endpoint::V1 => json!({
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS.to_string(),
            "ext_expires_in": ACCESS_TOKEN_SECONDS.to_string(),
            "expires_on": expires_on.to_string(),
            "not_before": not_before.to_string(),
            "resource": grant.resource,
            "access_token": access_token,
        }),
    };
    let obj = body.as_object_mut().expect("literal object");
    if let (Some(scope), Endpoint::V2) = (&grant.scope, grant.endpoint) {
        obj.insert("scope".into(), json!(scope));
    }
    if grant.refresh_token {
        obj.insert("refresh_token".into(), json!(format!("0.{}", opaque(96))));
    }
    if let Some(id) = &grant.id_token_claims {
        obj.insert("id_token".into(), json!(key.sign_jwt(id)));
    }
    if let Some(ci) = &grant.client_info {
        obj.insert("client_info".into(), json!(ci));
    }
    body
}
