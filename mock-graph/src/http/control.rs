//! The test control plane under `/_mock/` (tenants, snapshots, clocks, fault rules, the
//! request journal), and the middleware that applies fault rules to every other request and
//! journals it. Never part of Entra's surface.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::core::faults::{FaultRule, FaultSpec, RequestKey};
use crate::core::fixture::TenantFixture;
use crate::core::graph::GraphError;
use crate::core::graph::auth;
use crate::core::ids::TenantId;
use crate::core::journal::JournalEntry;
use crate::core::json;
use crate::core::login_error::LoginError;
use crate::state::{MockState, ReplaceTenantError, TenantHandle, lock};

use super::graph::{RequestIds, error_response};
use super::server::DropConnection;

/// Inserted into a request's extensions when a fault rule asks for replication lag: the
/// handler holds its write's effect back by this much tenant time.
#[derive(Clone, Copy, Debug)]
pub struct ReplicationLag(pub Duration);

pub fn routes() -> Router<MockState> {
    Router::new()
        .route("/_mock/tenants", post(create_tenant))
        .route(
            "/_mock/tenants/{tid}/snapshot",
            get(get_snapshot).put(put_snapshot),
        )
        .route("/_mock/tenants/{tid}/clock", get(get_clock).post(set_clock))
        .route(
            "/_mock/tenants/{tid}/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route(
            "/_mock/tenants/{tid}/requests",
            get(list_requests).delete(clear_requests),
        )
}

/// A control-plane refusal: `{"error": "<what is wrong>"}`.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": message.into()}).to_string(),
    )
        .into_response()
}

fn ok_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A control-plane request that names no tenant of this mock.
struct UnknownTenant(StatusCode, String);

impl IntoResponse for UnknownTenant {
    fn into_response(self) -> Response {
        refuse(self.0, self.1)
    }
}

fn tenant(state: &MockState, tid: &str) -> Result<(TenantId, TenantHandle), UnknownTenant> {
    let id: TenantId = tid.parse().map_err(|_| {
        UnknownTenant(
            StatusCode::BAD_REQUEST,
            format!("`{tid}` is not a tenant id (a GUID)"),
        )
    })?;
    state
        .tenant(id)
        .map(|h| (id, h))
        .ok_or_else(|| UnknownTenant(StatusCode::NOT_FOUND, format!("no tenant {id}")))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

async fn create_tenant(State(state): State<MockState>, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            );
        }
    };
    let empty = value.as_object().is_some_and(|o| o.is_empty());
    let added = if empty {
        state.add_default_copy()
    } else {
        match TenantFixture::from_json(&value.to_string()) {
            Ok(f) => {
                let domain = f.tenant.initial_domain.clone();
                state.add_fixture(f).map(|id| (id, domain))
            }
            Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
        }
    };
    match added {
        Ok((id, domain)) => ok_json(
            StatusCode::CREATED,
            json!({"id": id.to_string(), "domain": domain}),
        ),
        Err(e @ crate::state::AddTenantError::Duplicate(_)) => {
            refuse(StatusCode::CONFLICT, e.to_string())
        }
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn get_snapshot(State(state): State<MockState>, Path(tid): Path<String>) -> Response {
    let (_, handle) = match tenant(&state, &tid) {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let snapshot = lock(&handle).to_fixture();
    match serde_json::to_value(&snapshot) {
        Ok(v) => ok_json(StatusCode::OK, v),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn put_snapshot(
    State(state): State<MockState>,
    Path(tid): Path<String>,
    body: Bytes,
) -> Response {
    let (id, _) = match tenant(&state, &tid) {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let text = String::from_utf8_lossy(&body);
    let fixture = match TenantFixture::from_json(&text) {
        Ok(f) => f,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match state.replace_tenant(id, fixture) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(ReplaceTenantError::NotFound(_)) => {
            refuse(StatusCode::NOT_FOUND, format!("no tenant {id}"))
        }
        Err(e @ ReplaceTenantError::Duplicate(_)) => refuse(StatusCode::CONFLICT, e.to_string()),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn get_clock(State(state): State<MockState>, Path(tid): Path<String>) -> Response {
    match tenant(&state, &tid) {
        Ok((_, h)) => ok_json(StatusCode::OK, json!({"now": rfc3339(lock(&h).now())})),
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    advance_seconds: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    set: Option<OffsetDateTime>,
}

async fn set_clock(
    State(state): State<MockState>,
    Path(tid): Path<String>,
    body: Bytes,
) -> Response {
    let (_, handle) = match tenant(&state, &tid) {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let change: ClockChange = match json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"advance_seconds\": N}} or {{\"set\": \"<RFC 3339>\"}}: {e}"),
            );
        }
    };
    let mut t = lock(&handle);
    let moved = match (change.advance_seconds, change.set) {
        (Some(n), None) => t
            .try_advance_clock(Duration::seconds(n))
            .map_err(|e| format!("`advance_seconds`: {e}")),
        (None, Some(at)) => t.set_clock(at).map_err(|e| format!("`set`: {e}")),
        _ => Err("give exactly one of `advance_seconds` and `set`".to_string()),
    };
    if let Err(message) = moved {
        return refuse(StatusCode::BAD_REQUEST, message);
    }
    // Writes held back by replication lag may be due now.
    t.settle_replication();
    ok_json(StatusCode::OK, json!({"now": rfc3339(t.now())}))
}

async fn add_fault(
    State(state): State<MockState>,
    Path(tid): Path<String>,
    body: Bytes,
) -> Response {
    let (_, handle) = match tenant(&state, &tid) {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let spec = match FaultSpec::from_json(&body) {
        Ok(s) => s,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match lock(&handle).faults.add(spec) {
        Ok(id) => ok_json(StatusCode::CREATED, json!({"id": id})),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn list_faults(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Response, UnknownTenant> {
    let (_, h) = tenant(&state, &tid)?;
    Ok(ok_json(
        StatusCode::OK,
        json!({"value": lock(&h).faults.list()}),
    ))
}

async fn clear_faults(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<StatusCode, UnknownTenant> {
    let (_, h) = tenant(&state, &tid)?;
    lock(&h).faults.clear();
    Ok(StatusCode::NO_CONTENT)
}

async fn list_requests(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Response, UnknownTenant> {
    let (_, h) = tenant(&state, &tid)?;
    Ok(ok_json(
        StatusCode::OK,
        json!({"value": lock(&h).journal.entries()}),
    ))
}

async fn clear_requests(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<StatusCode, UnknownTenant> {
    let (_, h) = tenant(&state, &tid)?;
    lock(&h).journal.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// Which service a path belongs to, for the shape of injected errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Login,
    /// Graph and the service models: bearer tokens, Graph error JSON.
    Graph,
}

fn side_of(path: &str) -> Side {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if matches!(first, "v1.0" | "beta" | "adsync" | "passwordwriteback") {
        Side::Graph
    } else {
        Side::Login
    }
}

/// The operation name of any request, as fault rules and the journal name it.
pub fn operation_of(method: &Method, path: &str) -> Option<&'static str> {
    if side_of(path) == Side::Graph {
        return super::graph::operation_of(method, path)
            .or_else(|| super::services::operation_of(method, path));
    }
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(str::to_ascii_lowercase)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [_, "oauth2", "token"] | [_, "oauth2", "v2.0", "token"] => Some("token"),
        ["common", "discovery", "instance"]
        | [_, ".well-known", "openid-configuration"]
        | [_, "v2.0", ".well-known", "openid-configuration"] => Some("discovery"),
        [_, "discovery", "keys"] | [_, "discovery", "v2.0", "keys"] => Some("keys"),
        ["common", "userrealm", _] => Some("userrealm"),
        _ => None,
    }
}

/// The tenant a request concerns and the client it names, read without trusting anything.
fn identify(
    state: &MockState,
    path: &str,
    headers: &http::HeaderMap,
    form: Option<&[u8]>,
) -> (Option<TenantHandle>, Option<String>) {
    if side_of(path) == Side::Graph {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let claims = auth::unverified_claims(authorization);
        let handle = claims
            .as_ref()
            .and_then(|c| c.str("tid"))
            .and_then(|tid| state.find(tid));
        let client = claims
            .as_ref()
            .and_then(|c| c.str("appid").or_else(|| c.str("azp")).map(str::to_string));
        return (handle, client);
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let handle = match segs.as_slice() {
        [c, u, upn] if c.eq_ignore_ascii_case("common") && u.eq_ignore_ascii_case("userrealm") => {
            let decoded = percent_encoding::percent_decode_str(upn)
                .decode_utf8_lossy()
                .into_owned();
            decoded.rsplit_once('@').and_then(|(_, d)| state.find(d))
        }
        [first, ..] => state.find(first),
        [] => None,
    };
    let client = form.and_then(|body| {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.into_owned())
    });
    (handle, client)
}

/// Applies fault rules to every request outside `/_mock/` and records it in its tenant's
/// journal. Requests that name no known tenant pass through unrecorded.
pub async fn observe(State(state): State<MockState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path == "/_mock" || path.starts_with("/_mock/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let operation = operation_of(&method, &path);
    // The token endpoint names its client in the form body: read it, then hand it on. The
    // body is in memory already, within its limit (`limits::enforce` read it).
    let (req, form) = if operation == Some("token") {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => (
                Request::from_parts(parts, Body::from(bytes.clone())),
                Some(bytes),
            ),
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
    } else {
        (req, None)
    };
    let (handle, client_id) = identify(&state, &path, req.headers(), form.as_deref());
    let Some(handle) = handle else {
        return next.run(req).await;
    };
    let decoded = percent_encoding::percent_decode_str(&path)
        .decode_utf8_lossy()
        .into_owned();
    let rule = lock(&handle).faults.take_match(&RequestKey {
        operation,
        method: method.as_str(),
        path: &decoded,
    });
    let record = |status: Option<u16>, error_code: Option<String>, fault: Option<&FaultRule>| {
        let mut t = lock(&handle);
        let entry = JournalEntry {
            time: rfc3339(t.now()),
            method: method.to_string(),
            path: path.clone(),
            operation: operation.map(str::to_string),
            status,
            error_code,
            client_id: client_id.clone(),
            fault: fault.map(|f| f.id.clone()),
        };
        t.journal.record(entry);
    };
    let mut req = req;
    if let Some(rule) = &rule {
        if let Some(delay) = rule.spec.delay() {
            // Latency, not simulated time: a real delay is what the client must live with.
            tokio::time::sleep(delay).await;
        }
        if rule.spec.drop_connection {
            record(None, None, Some(rule));
            let mut resp = StatusCode::SERVICE_UNAVAILABLE.into_response();
            resp.extensions_mut().insert(DropConnection);
            return resp;
        }
        if let Some(status) = rule.spec.status {
            let now = lock(&handle).now();
            let (resp, code) = injected_response(side_of(&path), status, rule, req.headers(), now);
            record(Some(status), Some(code), Some(rule));
            return resp;
        }
        if let Some(lag) = rule.spec.lag() {
            req.extensions_mut().insert(ReplicationLag(lag));
        }
    }
    let resp = next.run(req).await;
    let error_code = resp
        .extensions()
        .get::<LoginError>()
        .map(|e| e.code().to_string())
        .or_else(|| {
            resp.extensions()
                .get::<GraphError>()
                .map(|e| e.code().to_string())
        });
    let error_code = error_code
        .or_else(|| (!resp.status().is_success()).then(|| resp.status().as_u16().to_string()));
    record(Some(resp.status().as_u16()), error_code, rule.as_ref());
    resp
}

fn default_code(side: Side, status: u16) -> &'static str {
    match (side, status) {
        (Side::Login, 429 | 503) => "temporarily_unavailable",
        (Side::Login, 500..=599) => "server_error",
        (Side::Login, 401) => "invalid_client",
        (Side::Login, _) => "invalid_request",
        (Side::Graph, 400) => "BadRequest",
        (Side::Graph, 401) => "InvalidAuthenticationToken",
        (Side::Graph, 403) => "Authorization_RequestDenied",
        (Side::Graph, 404) => "Request_ResourceNotFound",
        (Side::Graph, 409) => "Conflict",
        (Side::Graph, 429) => "TooManyRequests",
        (Side::Graph, 500) => "InternalServerError",
        (Side::Graph, 502) => "BadGateway",
        (Side::Graph, 503) => "ServiceUnavailable",
        (Side::Graph, 504) => "GatewayTimeout",
        (Side::Graph, _) => "UnknownError",
    }
}

/// The answer a fault rule with `status` gives, in the service's own error format.
fn injected_response(
    side: Side,
    status: u16,
    rule: &FaultRule,
    headers: &http::HeaderMap,
    now: OffsetDateTime,
) -> (Response, String) {
    let code = rule
        .spec
        .error
        .clone()
        .unwrap_or_else(|| default_code(side, status).to_string());
    let retry_after = rule.spec.retry_after;
    match side {
        Side::Graph => {
            let err = GraphError::Injected {
                status,
                code: code.clone(),
                retry_after,
            };
            (error_response(&err, &RequestIds::new(headers), now), code)
        }
        Side::Login => {
            let trace_id = Uuid::new_v4().to_string();
            let correlation_id = headers
                .get("client-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .unwrap_or_else(|| Uuid::new_v4().to_string());
            let timestamp = now
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                ))
                .unwrap_or_default();
            let body = json!({
                "error": code,
                "error_description": format!(
                    "{code}: The mock's fault injection answered this request (rule {}).\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                    rule.id
                ),
                "error_codes": [],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
            });
            let status_code =
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut resp = (
                status_code,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                body.to_string(),
            )
                .into_response();
            if let Some(s) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            (resp, code)
        }
    }
}
