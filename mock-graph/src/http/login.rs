//! The login endpoints on the wire: instance and OpenID discovery, JWKS, the v1 and v2 token
//! endpoints and user realm discovery. The routes are declared once (`ROUTES`: path, operation,
//! handler); `classify` names a request's operation from the route that matched, its tenant
//! from the path and its client from the token form. Refusals are Entra's error JSON
//! (`entra_json`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use base64::Engine;
use entra_tenant::cloud::Cloud;
use entra_tenant::login::{
    self, Endpoint, Form, LoginError, OAuthError, TenantSegment, TokenRequest,
};
use entra_tenant::operation::Operation;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::entra_json;
use super::limits;
use super::observe::{Classified, NoTenant, Observed};
use super::origin::base_url;
use crate::state::{MockState, TenantHandle, lock};

/// One login route.
struct LoginRoute {
    path: &'static str,
    operation: Operation,
    handler: fn() -> MethodRouter<MockState>,
}

/// Every login route, as Entra has them.
static ROUTES: [LoginRoute; 8] = [
    LoginRoute {
        path: "/common/discovery/instance",
        operation: Operation::Discovery,
        handler: || get(instance_discovery),
    },
    LoginRoute {
        path: "/common/userrealm/{upn}",
        operation: Operation::UserRealm,
        handler: || get(user_realm),
    },
    LoginRoute {
        path: "/{tenant}/.well-known/openid-configuration",
        operation: Operation::Discovery,
        handler: || get(openid_configuration_v1),
    },
    LoginRoute {
        path: "/{tenant}/v2.0/.well-known/openid-configuration",
        operation: Operation::Discovery,
        handler: || get(openid_configuration_v2),
    },
    LoginRoute {
        path: "/{tenant}/discovery/keys",
        operation: Operation::Keys,
        handler: || get(keys),
    },
    LoginRoute {
        path: "/{tenant}/discovery/v2.0/keys",
        operation: Operation::Keys,
        handler: || get(keys),
    },
    LoginRoute {
        path: "/{tenant}/oauth2/token",
        operation: Operation::Token,
        handler: || post(token_v1),
    },
    LoginRoute {
        path: "/{tenant}/oauth2/v2.0/token",
        operation: Operation::Token,
        handler: || post(token_v2),
    },
];

/// The login side: every path that is not another side's is the login service's, so its router
/// also answers the paths no service has.
pub fn routes() -> Router<MockState> {
    ROUTES
        .iter()
        .fold(Router::new(), |router, r| {
            router.route(r.path, (r.handler)())
        })
        .fallback(limits::not_found)
}

/// How the login side is observed.
pub const OBSERVED: Observed = Observed {
    classify,
    fault_error: entra_json::fault_error,
    inject: entra_json::injected,
};

/// The operation of the route that matched, the tenant the path names (the user realm's
/// domain, or the first segment) and the client the token form names.
fn classify(state: &MockState, parts: &mut Parts, body: &Bytes) -> Classified {
    let operation = parts.extensions.get::<MatchedPath>().and_then(|matched| {
        ROUTES
            .iter()
            .find(|r| r.path == matched.as_str())
            .map(|r| r.operation)
    });
    let segs: Vec<&str> = parts
        .uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .collect();
    let tenant = match segs.as_slice() {
        [c, u, upn] if c.eq_ignore_ascii_case("common") && u.eq_ignore_ascii_case("userrealm") => {
            let decoded = percent_encoding::percent_decode_str(upn)
                .decode_utf8_lossy()
                .into_owned();
            decoded.rsplit_once('@').and_then(|(_, d)| state.find(d))
        }
        [first, ..] => state.find(first),
        [] => None,
    };
    let client_id = (operation == Some(Operation::Token))
        .then(|| {
            form_urlencoded::parse(body)
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    Classified {
        operation,
        tenant: tenant.ok_or(NoTenant::Unknown),
        client_id,
    }
}

/// A request for every route (method and path) on `tenant`, for tests that walk the table.
#[cfg(test)]
pub(super) fn examples(tenant: &str, upn: &str) -> Vec<(http::Method, String)> {
    ROUTES
        .iter()
        .map(|r| {
            let method = if r.operation == Operation::Token {
                http::Method::POST
            } else {
                http::Method::GET
            };
            let path = r.path.replace("{tenant}", tenant).replace("{upn}", upn);
            (method, path)
        })
        .collect()
}

fn metadata_response(body: Value) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=86400, private"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Finds the tenant a path segment names, or the AADSTS error Entra gives.
fn resolve_tenant(state: &MockState, segment: &str) -> Result<Option<TenantHandle>, LoginError> {
    match login::classify_tenant_segment(segment)? {
        TenantSegment::MultiTenant => Ok(None),
        TenantSegment::Specific => {
            state
                .find(segment)
                .map(Some)
                .ok_or_else(|| LoginError::TenantNotFound {
                    tenant: segment.to_string(),
                })
        }
    }
}

/// A refused discovery request. Discovery answers an unknown tenant with `invalid_tenant`
/// where the token endpoint says `invalid_request`.
struct DiscoveryRefusal {
    error: LoginError,
    correlation_id: String,
}

fn discovery_refusal(error: LoginError, parts: &Parts) -> DiscoveryRefusal {
    DiscoveryRefusal {
        error,
        correlation_id: entra_json::correlation_id(&parts.headers, parts.uri.query()),
    }
}

impl IntoResponse for DiscoveryRefusal {
    fn into_response(self) -> Response {
        let error_override = matches!(
            self.error,
            LoginError::TenantNotFound { .. } | LoginError::InvalidTenantIdentifier { .. }
        )
        .then_some(OAuthError::InvalidTenant);
        entra_json::refusal(
            self.error,
            error_override,
            &self.correlation_id,
            OffsetDateTime::now_utc(),
        )
    }
}

async fn instance_discovery(State(_): State<MockState>, parts: Parts) -> Response {
    let base = base_url(&parts);
    let host = base
        .split_once("://")
        .map(|(_, h)| h.to_string())
        .unwrap_or_default();
    let tenant = parts
        .uri
        .query()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "authorization_endpoint")
                .map(|(_, v)| v.into_owned())
        })
        .and_then(|endpoint| {
            let path = endpoint
                .split_once("://")
                .map(|(_, rest)| rest.to_string())?;
            path.split('/').nth(1).map(str::to_string)
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "common".to_string());
    metadata_response(json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
}

/// What a discovery document names: URLs on the host the request came to, under the tenant's
/// id (or `/common`'s `{tenantid}` placeholder for the issuer), and the tenant's cloud.
struct Discovery {
    /// `scheme://host[:port]`.
    base: String,
    /// `host[:port]`.
    host: String,
    /// `{base}/{tenant id}` (or `{base}/common`).
    tenant_url: String,
    issuer_tenant: String,
    cloud: Cloud,
}

fn discovery(
    state: &MockState,
    segment: &str,
    parts: &Parts,
) -> Result<Discovery, DiscoveryRefusal> {
    let handle = resolve_tenant(state, segment).map_err(|e| discovery_refusal(e, parts))?;
    let base = base_url(parts);
    let host = base
        .split_once("://")
        .map(|(_, h)| h.to_string())
        .unwrap_or_default();
    let (path_tenant, issuer_tenant, cloud) = match handle {
        Some(h) => {
            let t = lock(&h);
            (t.id.to_string(), t.id.to_string(), t.cloud)
        }
        None => (
            segment.to_ascii_lowercase(),
            "{tenantid}".to_string(),
            Cloud::default(),
        ),
    };
    Ok(Discovery {
        tenant_url: format!("{base}/{path_tenant}"),
        base,
        host,
        issuer_tenant,
        cloud,
    })
}

async fn openid_configuration_v2(
    State(state): State<MockState>,
    Path(segment): Path<String>,
    parts: Parts,
) -> Result<Response, DiscoveryRefusal> {
    let Discovery {
        base,
        host,
        tenant_url: t,
        issuer_tenant,
        cloud,
    } = discovery(&state, &segment, &parts)?;
    Ok(metadata_response(json!({
        "token_endpoint": format!("{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{t}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": cloud.instance_name(),
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": host,
        "rbac_url": "https://pas.windows.net",
    })))
}

async fn openid_configuration_v1(
    State(state): State<MockState>,
    Path(segment): Path<String>,
    parts: Parts,
) -> Result<Response, DiscoveryRefusal> {
    let Discovery {
        base: _,
        host,
        tenant_url: t,
        issuer_tenant,
        cloud,
    } = discovery(&state, &segment, &parts)?;
    Ok(metadata_response(json!({
        "token_endpoint": format!("{t}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{t}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": format!("https://sts.windows.net/{issuer_tenant}/"),
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{t}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{t}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{t}/oauth2/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "check_session_iframe": format!("{t}/oauth2/checksession"),
        "userinfo_endpoint": format!("{t}/openid/userinfo"),
        "kerberos_endpoint": format!("{t}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": cloud.instance_name(),
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": host,
        "rbac_url": "https://pas.windows.net",
    })))
}

async fn keys(
    State(state): State<MockState>,
    Path(segment): Path<String>,
    parts: Parts,
) -> Result<Response, DiscoveryRefusal> {
    let base = base_url(&parts);
    let tenants =
        match resolve_tenant(&state, &segment).map_err(|e| discovery_refusal(e, &parts))? {
            Some(t) => vec![t],
            None => state.tenants(),
        };
    let keys: Vec<Value> = tenants
        .iter()
        .map(|h| {
            let t = lock(h);
            t.signing_key.jwk(&format!("{base}/{}/v2.0", t.id))
        })
        .collect();
    Ok(metadata_response(json!({ "keys": keys })))
}

async fn user_realm(
    State(state): State<MockState>,
    Path(upn): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let domain = upn
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let tenant = (!domain.is_empty()).then(|| state.find(&domain)).flatten();
    let cloud = tenant.as_ref().map(|h| lock(h).cloud).unwrap_or_default();
    let v2 = query
        .iter()
        .any(|(k, v)| k == "api-version" && v.starts_with('2'));
    let body = match (v2, tenant.is_some()) {
        (false, true) => json!({
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": domain,
            "cloud_instance_name": cloud.instance_name(),
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }),
        (false, false) => json!({
            "ver": "1.0",
            "account_type": "Unknown",
            "cloud_instance_name": cloud.instance_name(),
        }),
        (true, known) => json!({
            "NameSpaceType": if known { "Managed" } else { "Unknown" },
            "Login": upn,
            "DomainName": domain,
            "FederationBrandName": null,
            "TenantBrandingInfo": null,
            "cloud_instance_name": cloud.instance_name(),
        }),
    };
    metadata_response(body)
}

async fn token_v1(
    state: State<MockState>,
    path: Path<String>,
    parts: Parts,
    body: Bytes,
) -> Response {
    token(state, path, parts, body, Endpoint::V1)
}

async fn token_v2(
    state: State<MockState>,
    path: Path<String>,
    parts: Parts,
    body: Bytes,
) -> Response {
    token(state, path, parts, body, Endpoint::V2)
}

/// Both token endpoints. The tenant is locked only while the request is checked; the token is
/// signed after the lock is released so that concurrent requests do not queue on RSA.
fn token(
    State(state): State<MockState>,
    Path(segment): Path<String>,
    parts: Parts,
    body: Bytes,
    endpoint: Endpoint,
) -> Response {
    let correlation_id = entra_json::correlation_id(&parts.headers, parts.uri.query());
    // Entra reads the body as a form whatever the Content-Type says; a JSON body simply lacks
    // the form fields and fails on the first required one.
    let form = if is_form(&parts.headers) {
        Form::parse(&body)
    } else {
        Form::default()
    };
    let base = base_url(&parts);
    let request = TokenRequest {
        endpoint,
        tenant_segment: &segment,
        base_url: &base,
        form: &form,
        basic_auth: basic_auth(&parts.headers),
    };
    let mut tenant_time = None;
    let mut outcome = || {
        let tenant = resolve_tenant(&state, &segment)?;
        let segment_kind = if tenant.is_some() {
            TenantSegment::Specific
        } else {
            TenantSegment::MultiTenant
        };
        let grant_type = login::check_request_shape(&request, &segment_kind)?;
        let Some(handle) = tenant else {
            return Err(LoginError::GrantNotSupportedOverCommon);
        };
        let (grant, key) = {
            let t = lock(&handle);
            tenant_time = Some(t.now());
            (
                login::authorize(&t, &request, grant_type)?,
                t.signing_key.clone(),
            )
        };
        Ok(login::token_response(&grant, &key))
    };
    match outcome() {
        Ok(body) => (StatusCode::OK, entra_json::json_headers(), body.to_string()).into_response(),
        Err(error) => entra_json::refusal(
            error,
            None,
            &correlation_id,
            tenant_time.unwrap_or_else(OffsetDateTime::now_utc),
        ),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `Authorization: Basic base64(client_id:client_secret)`, form-encoded parts per RFC 6749.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((unescape(id), unescape(secret)))
}
