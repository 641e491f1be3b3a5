//! The token endpoint's rules, without HTTP: which tenant a path names, how a
//! `client_credentials` or `password` request is authenticated and authorized, and what the
//! issued tokens say. Checks run in a fixed order (documented in ARCHITECTURE.md) and each
//! failure is one `LoginError` from the rule table.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::directory::ServicePrincipal;
use super::ids::{AppId, ObjectId};
use super::jose::{self, RsaAlgorithm};
use super::login_error::LoginError;
use super::roles::APP_ONLY_WIDS;
use super::signing::SigningKey;
use super::tenant::Tenant;
use super::x509::rsa_public_key;

/// The client assertion type of RFC 7523, the only one Entra takes.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew allowed on assertion `nbf`/`exp`.
pub const ASSERTION_SKEW: Duration = Duration::minutes(5);
/// Lifetime of issued access tokens, as `expires_in` reports it.
pub const ACCESS_TOKEN_SECONDS: i64 = 3599;
/// Entra back-dates `nbf` and `iat` of the tokens it issues.
const BACKDATE: Duration = Duration::minutes(5);

/// Scopes that ask for OpenID Connect artefacts, not for a resource.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// Which token endpoint was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/{tenant}/oauth2/token`, resource named by `resource`.
    V1,
    /// `/{tenant}/oauth2/v2.0/token`, resource named by `scope`.
    V2,
}

/// A decoded `application/x-www-form-urlencoded` body. The first occurrence of a field wins.
#[derive(Clone, Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// A field's value; an empty value counts as absent, as it does for Entra.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn require(&self, name: &'static str) -> Result<&str, LoginError> {
        self.get(name).ok_or(LoginError::MissingParameter { name })
    }
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

/// What a successful request earned, before it is signed into tokens.
#[derive(Clone, Debug)]
pub struct Grant {
    pub access_claims: Map<String, Value>,
    pub id_token_claims: Option<Map<String, Value>>,
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

/// The tenant-independent names a path segment can hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantSegment {
    /// A GUID or a domain name: look it up.
    Specific,
    /// `common`, `organizations` or `consumers`.
    MultiTenant,
}

/// Classifies `{tenant}` before any lookup: malformed identifiers fail with AADSTS900023.
pub fn classify_tenant_segment(segment: &str) -> Result<TenantSegment, LoginError> {
    let lower = segment.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "organizations" | "consumers") {
        return Ok(TenantSegment::MultiTenant);
    }
    if segment.parse::<uuid::Uuid>().is_ok() || looks_like_domain(segment) {
        return Ok(TenantSegment::Specific);
    }
    Err(LoginError::InvalidTenantIdentifier {
        tenant: segment.to_string(),
    })
}

fn looks_like_domain(s: &str) -> bool {
    s.contains('.')
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
    Password,
}

/// Authenticates and authorizes a token request against `tenant`.
pub fn authorize(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    grant: GrantType,
) -> Result<Grant, LoginError> {
    match grant {
        GrantType::ClientCredentials => client_credentials(tenant, req),
        GrantType::Password => password(tenant, req),
    }
}

/// How the client proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientAuth {
    Certificate,
    Secret,
    None,
}

impl ClientAuth {
    /// `appidacr`: "2" certificate, "1" secret, "0" public client.
    fn acr(self) -> &'static str {
        match self {
            ClientAuth::Certificate => "2",
            ClientAuth::Secret => "1",
            ClientAuth::None => "0",
        }
    }
}

/// A client credential as presented in the request.
enum Presented<'f> {
    Assertion(&'f str),
    Secret(String),
    Nothing,
}

fn client_id<'f>(req: &'f TokenRequest<'_>) -> Result<&'f str, LoginError> {
    match (req.form.get("client_id"), &req.basic_auth) {
        (Some(id), _) => Ok(id),
        (None, Some((id, _))) if !id.is_empty() => Ok(id.as_str()),
        _ => Err(LoginError::MissingParameter { name: "client_id" }),
    }
}

fn presented<'f>(req: &'f TokenRequest<'_>) -> Result<Presented<'f>, LoginError> {
    if let Some(assertion) = req.form.get("client_assertion") {
        return match req.form.get("client_assertion_type") {
            None => Err(LoginError::MissingParameter {
                name: "client_assertion_type",
            }),
            Some(t) if t == JWT_BEARER => Ok(Presented::Assertion(assertion)),
            Some(_) => Err(LoginError::UnexpectedAssertionType),
        };
    }
    if let Some(secret) = req.form.get("client_secret") {
        return Ok(Presented::Secret(secret.to_string()));
    }
    if let Some((_, secret)) = &req.basic_auth {
        return Ok(Presented::Secret(secret.clone()));
    }
    Ok(Presented::Nothing)
}

/// The tenant's application and service principal for `client_id`.
fn confidential_client<'t>(
    tenant: &'t Tenant,
    client_id: &str,
) -> Result<(AppId, &'t ServicePrincipal), LoginError> {
    let not_found = || LoginError::ApplicationNotFound {
        app_id: client_id.to_string(),
        tenant: tenant.id.to_string(),
    };
    let app_id: AppId = client_id.parse().map_err(|_| not_found())?;
    tenant.application_by_app_id(app_id).ok_or_else(not_found)?;
    let sp = tenant.service_principal_by_app_id(app_id).ok_or_else(|| {
        LoginError::MissingServicePrincipal {
            app_id: app_id.to_string(),
            tenant_id: tenant.id.to_string(),
        }
    })?;
    if !sp.account_enabled {
        return Err(LoginError::ApplicationDisabled {
            app_id: app_id.to_string(),
        });
    }
    Ok((app_id, sp))
}

fn client_credentials(tenant: &Tenant, req: &TokenRequest<'_>) -> Result<Grant, LoginError> {
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
    let roles = tenant.granted_app_roles(client_sp.id, resource);
    let mut claims = common_claims(tenant, &resource_name, now);
    claims.insert("app_displayname".into(), json!(client_sp.display_name));
    claims.insert("appid".into(), json!(app_id.to_string()));
    claims.insert("appidacr".into(), json!(auth.acr()));
    claims.insert("idtyp".into(), json!("app"));
    claims.insert("oid".into(), json!(client_sp.id.to_string()));
    if !roles.is_empty() {
        claims.insert("roles".into(), json!(roles));
    }
    claims.insert("sub".into(), json!(client_sp.id.to_string()));
    claims.insert("wids".into(), json!([APP_ONLY_WIDS.to_string()]));
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

/// `resource` (v1) or `scope` (v2), which must be present.
fn resource_parameter<'f>(req: &'f TokenRequest<'_>) -> Result<&'f str, LoginError> {
    match req.endpoint {
        Endpoint::V1 => req.form.require("resource"),
        Endpoint::V2 => req.form.require("scope"),
    }
}

/// Verifies the presented credential of a confidential client.
fn authenticate(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    app_id: AppId,
    presented: &Presented<'_>,
) -> Result<ClientAuth, LoginError> {
    match presented {
        Presented::Assertion(token) => {
            verify_client_assertion(tenant, req, app_id, token)?;
            Ok(ClientAuth::Certificate)
        }
        Presented::Secret(secret) => {
            verify_client_secret(tenant, app_id, secret)?;
            Ok(ClientAuth::Secret)
        }
        Presented::Nothing => Err(LoginError::ConfidentialClientWithoutCredential),
    }
}

fn verify_client_secret(tenant: &Tenant, app_id: AppId, secret: &str) -> Result<(), LoginError> {
    let app = tenant
        .application_by_app_id(app_id)
        .ok_or(LoginError::InvalidClientSecret {
            app_id: app_id.to_string(),
        })?;
    let now = tenant.now();
    let matching: Vec<_> = app
        .password_credentials
        .iter()
        .filter(|p| constant_time_eq(&p.secret_text, secret))
        .collect();
    if matching.is_empty() {
        return Err(LoginError::InvalidClientSecret {
            app_id: app_id.to_string(),
        });
    }
    if matching
        .iter()
        .any(|p| p.start_date_time <= now && now < p.end_date_time)
    {
        Ok(())
    } else {
        Err(LoginError::ClientSecretExpired {
            app_id: app_id.to_string(),
        })
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// The certificate client assertion rules, in Entra's order: parse, who, for whom, which key,
/// key window, signature, assertion window.
pub fn verify_client_assertion(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    app_id: AppId,
    token: &str,
) -> Result<(), LoginError> {
    let malformed = |reason: &str| LoginError::MalformedAssertion {
        reason: reason.to_string(),
    };
    let jws = jose::parse(token).map_err(|_| malformed(""))?;
    let alg = RsaAlgorithm::from_header(jws.header.str("alg"))
        .ok_or_else(|| malformed("The token's signing algorithm is not supported."))?;
    let thumbprint = match (jws.header.get("x5t#S256"), jws.header.get("x5t")) {
        (Some(v), _) => jose::thumbprint(v, true),
        (None, Some(v)) => jose::thumbprint(v, false),
        (None, None) => None,
    }
    .ok_or_else(|| malformed("No certificate thumbprint specified in token header."))?;

    let claim_str = |name: &str| match jws.claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(malformed("")),
    };
    let iss = claim_str("iss")?;
    let sub = claim_str("sub")?;
    let aud = claim_str("aud")?.ok_or_else(|| malformed(""))?;
    let exp = match jws.claims.get("exp") {
        Some(v) => jose::numeric_date(v).ok_or_else(|| malformed(""))?,
        None => return Err(malformed("")),
    };
    let nbf = match jws.claims.get("nbf") {
        Some(v) => Some(jose::numeric_date(v).ok_or_else(|| malformed(""))?),
        None => None,
    };

    if iss != sub {
        return Err(LoginError::SubjectMismatchesIssuer);
    }
    if !iss.is_some_and(|i| i.eq_ignore_ascii_case(&app_id.to_string())) {
        return Err(LoginError::AssertionClientIdMismatch);
    }
    if !audience_accepted(tenant, req.base_url, aud) {
        return Err(LoginError::AudienceMismatch);
    }

    let app =
        tenant
            .application_by_app_id(app_id)
            .ok_or_else(|| LoginError::ApplicationNotFound {
                app_id: app_id.to_string(),
                tenant: tenant.id.to_string(),
            })?;
    let key = app
        .key_credentials
        .iter()
        .filter(|k| k.verifies_assertions() && k.has_thumbprint(&thumbprint))
        // Several registrations of one certificate: prefer one that is valid now.
        .max_by_key(|k| k.is_valid_at(tenant.now()))
        .ok_or_else(|| LoginError::KeyNotFound {
            thumbprint: thumbprint.to_hex(),
            app_id: app_id.to_string(),
        })?;
    let now = tenant.now();
    if !key.is_valid_at(now) {
        return Err(LoginError::KeyExpired {
            thumbprint: thumbprint.to_hex(),
            start: key.start_date_time,
            end: key.end_date_time,
        });
    }
    let signature_invalid = || LoginError::SignatureInvalid {
        thumbprint: thumbprint.to_hex(),
        start: key.start_date_time,
        end: key.end_date_time,
    };
    let public = key
        .key
        .as_deref()
        .map(rsa_public_key)
        .and_then(Result::ok)
        .ok_or_else(signature_invalid)?;
    if !alg.verify(
        &public.pkcs1_der,
        jws.signing_input.as_bytes(),
        &jws.signature,
    ) {
        return Err(signature_invalid());
    }

    let now_s = now.unix_timestamp() as f64;
    let skew = ASSERTION_SKEW.whole_seconds() as f64;
    let not_yet = nbf.is_some_and(|n| now_s < n - skew);
    let expired = now_s >= exp + skew;
    if not_yet || expired {
        return Err(LoginError::AssertionOutsideTimeRange {
            now,
            nbf: instant(nbf.unwrap_or(0.0)),
            exp: instant(exp),
        });
    }
    Ok(())
}

/// A NumericDate as an instant for AADSTS700024's message. A NumericDate can be any finite
/// number; one outside .NET's calendar (years 1 to 9999, what Entra prints) is shown at that
/// calendar's end rather than as some other date.
pub fn instant(seconds: f64) -> OffsetDateTime {
    const FIRST: OffsetDateTime = time::macros::datetime!(0001-01-01 0:00 UTC);
    const LAST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59.9999999 UTC);
    // `as` saturates at i128's ends, far outside the calendar either way.
    let nanos = (seconds * 1e9) as i128;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_or(if seconds < 0.0 { FIRST } else { LAST }, |t| {
            t.clamp(FIRST, LAST)
        })
}

/// The audiences Entra accepts for a tenant: its token endpoints (v1 and v2) and its issuer
/// URLs, under any name of the tenant, on the host the request came to. Compared without
/// regard to case or a trailing slash.
pub fn accepted_audiences(tenant: &Tenant, base_url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for name in tenant.names() {
        for suffix in ["/oauth2/v2.0/token", "/oauth2/token", "/v2.0", ""] {
            out.push(format!("{base_url}/{name}{suffix}"));
        }
    }
    out
}

fn audience_accepted(tenant: &Tenant, base_url: &str, aud: &str) -> bool {
    // One trailing slash, not any number of them: `…/token//` names no token endpoint.
    let aud = aud.strip_suffix('/').unwrap_or(aud);
    accepted_audiences(tenant, base_url)
        .iter()
        .any(|a| a.eq_ignore_ascii_case(aud))
}

/// Splits a v2 `scope` into the resource it names and its OpenID scopes.
struct ScopeRequest {
    resource: String,
    oidc: Vec<String>,
}

fn parse_scope(scope: &str, default_resource: Option<&str>) -> Result<ScopeRequest, LoginError> {
    let mut resource: Option<String> = None;
    let mut oidc = Vec::new();
    for item in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&item.to_ascii_lowercase().as_str()) {
            oidc.push(item.to_ascii_lowercase());
            continue;
        }
        let res = match item.rfind('/') {
            Some(i) if i > 0 && i + 1 < item.len() => item[..i].to_string(),
            Some(_) => {
                return Err(LoginError::InvalidScope {
                    scope: scope.to_string(),
                });
            }
            None => match default_resource {
                Some(d) => d.to_string(),
                None => {
                    return Err(LoginError::InvalidScope {
                        scope: scope.to_string(),
                    });
                }
            },
        };
        match &resource {
            Some(r)
                if !r
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(res.trim_end_matches('/')) =>
            {
                return Err(LoginError::MultipleResources);
            }
            _ => resource = Some(res),
        }
    }
    let resource = resource.ok_or_else(|| LoginError::InvalidScope {
        scope: scope.to_string(),
    })?;
    Ok(ScopeRequest { resource, oidc })
}

/// Whether a v2 `scope` asks for a permission other than `.default` on a named resource.
fn names_a_permission(scope: &str) -> bool {
    scope
        .split_whitespace()
        .filter(|item| !OIDC_SCOPES.contains(&item.to_ascii_lowercase().as_str()))
        .filter_map(|item| match item.rfind('/') {
            Some(i) if i > 0 && i + 1 < item.len() => Some(&item[i + 1..]),
            _ => None,
        })
        .any(|permission| permission != ".default")
}

/// The resource of an app-only request: `{resource}/.default` on v2, `resource` on v1.
fn app_resource<'t>(
    tenant: &'t Tenant,
    endpoint: Endpoint,
    param: &str,
) -> Result<(String, &'t ServicePrincipal), LoginError> {
    let name = match endpoint {
        Endpoint::V1 => param.trim().to_string(),
        Endpoint::V2 => {
            // A named permission is refused before the resources are compared (1002012, then
            // 700022), in the documented order of checks.
            if names_a_permission(param) {
                return Err(LoginError::ScopeWithoutDefault {
                    scope: param.to_string(),
                });
            }
            parse_scope(param, None)?.resource
        }
    };
    let sp = tenant
        .resource(&name)
        .ok_or_else(|| LoginError::ResourceNotFound {
            resource: name.clone(),
            tenant: tenant.id.to_string(),
        })?;
    Ok((name, sp))
}

/// Claims every v1 access token carries.
fn common_claims(tenant: &Tenant, audience: &str, now: OffsetDateTime) -> Map<String, Value> {
    let issued = (now - BACKDATE).unix_timestamp();
    let sts = format!("https://sts.windows.net/{}/", tenant.id);
    let mut claims = Map::new();
    claims.insert("aud".into(), json!(audience));
    claims.insert("iss".into(), json!(sts));
    claims.insert("iat".into(), json!(issued));
    claims.insert("nbf".into(), json!(issued));
    claims.insert(
        "exp".into(),
        json!(now.unix_timestamp() + ACCESS_TOKEN_SECONDS),
    );
    claims.insert("aio".into(), json!(opaque(24)));
    claims.insert("idp".into(), json!(sts));
    claims.insert("rh".into(), json!(format!("0.{}.", opaque(30))));
    claims.insert("tid".into(), json!(tenant.id.to_string()));
    claims.insert("uti".into(), json!(opaque(16)));
    claims.insert("ver".into(), json!("1.0"));
    claims
}

fn opaque(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(raw)
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
    let not_found = || LoginError::ApplicationNotFound {
        app_id: client_id.to_string(),
        tenant: tenant.id.to_string(),
    };
    let app_id: AppId = client_id.parse().map_err(|_| not_found())?;
    if let Some(app) = tenant.application_by_app_id(app_id) {
        let (_, sp) = confidential_client(tenant, client_id)?;
        return Ok(PasswordClient {
            app_id,
            sp,
            public: app.is_fallback_public_client == Some(true),
        });
    }
    match tenant.service_principal_by_app_id(app_id) {
        Some(sp) if sp.is_public_client => Ok(PasswordClient {
            app_id,
            sp,
            public: true,
        }),
        _ => Err(not_found()),
    }
}

fn password(tenant: &Tenant, req: &TokenRequest<'_>) -> Result<Grant, LoginError> {
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
    let resource = tenant
        .resource(&resource_name)
        .ok_or_else(|| LoginError::ResourceNotFound {
            resource: resource_name.clone(),
            tenant: tenant.id.to_string(),
        })?;
    let scp = tenant
        .delegated_scopes(client.sp.id, resource.id, user.id)
        .ok_or_else(|| LoginError::ConsentRequired {
            app_id: client.app_id.to_string(),
            app_name: client.sp.display_name.clone(),
        })?;

    let now = tenant.now();
    let wids: Vec<String> = tenant
        .directory_roles_of(user.id)
        .iter()
        .map(|w| w.to_string())
        .collect();
    let mut claims = common_claims(tenant, &resource_name, now);
    claims.insert("amr".into(), json!(["pwd"]));
    claims.insert("app_displayname".into(), json!(client.sp.display_name));
    claims.insert("appid".into(), json!(client.app_id.to_string()));
    claims.insert("appidacr".into(), json!(auth.acr()));
    claims.insert("idtyp".into(), json!("user"));
    claims.insert("name".into(), json!(user.display_name));
    claims.insert("oid".into(), json!(user.id.to_string()));
    claims.insert("scp".into(), json!(scp));
    claims.insert(
        "sub".into(),
        json!(pairwise_subject(user.id, client.app_id)),
    );
    claims.insert("unique_name".into(), json!(user.user_principal_name));
    claims.insert("upn".into(), json!(user.user_principal_name));
    if !wids.is_empty() {
        claims.insert("wids".into(), json!(wids));
    }

    let wants_id_token = req.endpoint == Endpoint::V1 || oidc.iter().any(|s| s == "openid");
    let id_token_claims = wants_id_token.then(|| {
        let mut id = Map::new();
        id.insert("aud".into(), json!(client.app_id.to_string()));
        id.insert(
            "iss".into(),
            json!(format!("{}/{}/v2.0", req.base_url, tenant.id)),
        );
        id.insert("iat".into(), json!((now - BACKDATE).unix_timestamp()));
        id.insert("nbf".into(), json!((now - BACKDATE).unix_timestamp()));
        id.insert(
            "exp".into(),
            json!(now.unix_timestamp() + ACCESS_TOKEN_SECONDS),
        );
        id.insert("name".into(), json!(user.display_name));
        id.insert("oid".into(), json!(user.id.to_string()));
        id.insert("preferred_username".into(), json!(user.user_principal_name));
        id.insert(
            "sub".into(),
            json!(pairwise_subject(user.id, client.app_id)),
        );
        id.insert("tid".into(), json!(tenant.id.to_string()));
        id.insert("ver".into(), json!("2.0"));
        id
    });
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

/// `sub` of user tokens is pairwise per application in Entra.
fn pairwise_subject(user: ObjectId, app: AppId) -> String {
    let input = format!("{user}:{app}");
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..32])
}

/// Signs a grant into the token response body, in the endpoint's wire shape (v1 numbers are
/// strings, as Entra sends them).
pub fn token_response(grant: &Grant, key: &SigningKey) -> Value {
    let access_token = key.sign_jwt(&Value::Object(grant.access_claims.clone()));
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
        obj.insert(
            "id_token".into(),
            json!(key.sign_jwt(&Value::Object(id.clone()))),
        );
    }
    if let Some(ci) = &grant.client_info {
        obj.insert("client_info".into(), json!(ci));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_segments() {
        assert_eq!(
            classify_tenant_segment("common"),
            Ok(TenantSegment::MultiTenant)
        );
        assert_eq!(
            classify_tenant_segment("contoso.onmicrosoft.com"),
            Ok(TenantSegment::Specific)
        );
        assert_eq!(
            classify_tenant_segment("b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d"),
            Ok(TenantSegment::Specific)
        );
        assert!(matches!(
            classify_tenant_segment("not_a_tenant"),
            Err(LoginError::InvalidTenantIdentifier { .. })
        ));
    }

    /// Regression (found by `tests/prop_assertion.rs`): a named permission and a second
    /// resource in one scope gave 700022; the documented order says 1002012 comes first.
    #[test]
    fn named_permission_is_refused_before_multiple_resources() {
        let tenant =
            Tenant::from_fixture(crate::fixture::TenantFixture::default_fixture()).unwrap();
        let scope = "https://graph.microsoft.com/User.Read https://unknown.example.com/.default";
        assert!(matches!(
            app_resource(&tenant, Endpoint::V2, scope),
            Err(LoginError::ScopeWithoutDefault { .. })
        ));
        assert!(matches!(
            app_resource(
                &tenant,
                Endpoint::V2,
                "https://graph.microsoft.com/.default https://unknown.example.com/.default"
            ),
            Err(LoginError::MultipleResources)
        ));
    }

    /// Regression (found by `tests/prop_assertion.rs`): any number of trailing slashes was
    /// trimmed from `aud`, so `…/oauth2/v2.0/token//` was taken for the token endpoint.
    #[test]
    fn audience_tolerates_one_trailing_slash_only() {
        let tenant =
            Tenant::from_fixture(crate::fixture::TenantFixture::default_fixture()).unwrap();
        let base = "https://127.0.0.1:8443";
        let endpoint = format!("{base}/{}/oauth2/v2.0/token", tenant.id);
        assert!(audience_accepted(&tenant, base, &endpoint));
        assert!(audience_accepted(&tenant, base, &format!("{endpoint}/")));
        assert!(!audience_accepted(&tenant, base, &format!("{endpoint}//")));
    }

    #[test]
    fn scopes() {
        let s = parse_scope("https://graph.microsoft.com/.default openid", None)
            .ok()
            .unwrap();
        assert_eq!(s.resource, "https://graph.microsoft.com");
        assert!(!names_a_permission(
            "https://graph.microsoft.com/.default openid"
        ));
        assert!(names_a_permission(
            "https://graph.microsoft.com/User.Read openid"
        ));
        assert_eq!(s.oidc, vec!["openid"]);
        assert!(matches!(
            parse_scope(
                "https://a.example/.default https://b.example/.default",
                None
            ),
            Err(LoginError::MultipleResources)
        ));
        assert!(matches!(
            parse_scope("openid", None),
            Err(LoginError::InvalidScope { .. })
        ));
        let d = parse_scope("User.Read", Some("https://graph.microsoft.com"))
            .ok()
            .unwrap();
        assert_eq!(d.resource, "https://graph.microsoft.com");
    }
}
