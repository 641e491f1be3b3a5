//! The middleware every request to the tenant's own surface passes (the login endpoints, Graph,
//! the service models; not the control plane). It is layered on each of those sub-routers with
//! that side's rules (`Observed`): it works out what the request is once (`Classified`: its
//! operation, tenant and client) and leaves that in the request's extensions for the handler,
//! applies the first matching fault rule of the tenant (delay, dropped connection, an answer in
//! the side's format, replication lag), and writes the request's journal entry. Requests that
//! name no tenant of this mock pass through unrecorded.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use entra_tenant::faults::{FaultRule, RequestKey};
use entra_tenant::graph::GraphError;
use entra_tenant::journal::JournalEntry;
use entra_tenant::login::LoginError;
use entra_tenant::operation::Operation;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::server::DropConnection;
use super::status::fault_status;
use crate::state::{MockState, TenantHandle, lock};

/// Why a request names no tenant of this mock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTenant {
    /// It carries no credential naming one (no `Authorization` header).
    NoCredential,
    /// What should name the tenant cannot be read (a bearer token that is no JWT, or has no
    /// `tid`).
    Malformed,
    /// It names a tenant this mock does not serve.
    Unknown,
}

/// What a request is, worked out once before its handler runs.
#[derive(Clone)]
pub struct Classified {
    /// The operation fault rules match and the journal records; `None` for a path that is no
    /// operation.
    pub operation: Option<Operation>,
    /// The tenant the request concerns, or why it names none.
    pub tenant: Result<TenantHandle, NoTenant>,
    /// The calling application's appId, when the request names one.
    pub client_id: Option<String>,
}

/// How a side takes part: what its requests are (`classify`, which may leave more of what it
/// found in the request's extensions for its handlers), and how a fault rule's status answers
/// in its format: the error code when the rule names none (`fault_error`), and the answer
/// (`inject`, given the status, the error code and the rule).
#[derive(Clone, Copy)]
pub struct Observed {
    pub classify: fn(&MockState, &mut Parts, &Bytes) -> Classified,
    pub fault_error: fn(u16) -> &'static str,
    pub inject: fn(StatusCode, &str, &FaultRule, &Parts, OffsetDateTime) -> Response,
}

/// The middleware's state: the tenants, and the rules of the side it is layered on.
#[derive(Clone)]
pub struct Observer {
    pub state: MockState,
    pub side: Observed,
}

/// Inserted into a request's extensions when a fault rule asks for replication lag: the
/// handler holds its write's effect back by this much tenant time.
#[derive(Clone, Copy, Debug)]
pub struct ReplicationLag(pub Duration);

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The middleware.
pub async fn observe(State(observer): State<Observer>, req: Request, next: Next) -> Response {
    // The body is in memory already, within its limit (`limits::enforce` read it): the
    // classifier may read it (the token endpoint names its client in the form), then it goes on.
    let (mut parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let classified = (observer.side.classify)(&observer.state, &mut parts, &body);
    parts.extensions.insert(classified.clone());
    let Ok(handle) = classified.tenant else {
        return next.run(Request::from_parts(parts, Body::from(body))).await;
    };
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let decoded = percent_encoding::percent_decode_str(&path)
        .decode_utf8_lossy()
        .into_owned();
    let rule = lock(&handle).controls.faults.take_match(&RequestKey {
        operation: classified.operation,
        method: &method,
        path: &decoded,
    });
    let record = |status: Option<u16>, error_code: Option<String>, fault: Option<&FaultRule>| {
        let mut t = lock(&handle);
        let entry = JournalEntry {
            time: rfc3339(t.now()),
            method: method.clone(),
            path: path.clone(),
            operation: classified.operation,
            status,
            error_code,
            client_id: classified.client_id.clone(),
            fault: fault.map(|f| f.id.clone()),
        };
        t.controls.journal.record(entry);
    };
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
            let code = rule
                .spec
                .error
                .clone()
                .unwrap_or_else(|| (observer.side.fault_error)(status).to_string());
            let mut resp = (observer.side.inject)(fault_status(status), &code, rule, &parts, now);
            if let Some(s) = rule.spec.retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            record(Some(status), Some(code), Some(rule));
            return resp;
        }
        if let Some(lag) = rule.spec.lag() {
            parts.extensions.insert(ReplicationLag(lag));
        }
    }
    let resp = next.run(Request::from_parts(parts, Body::from(body))).await;
    let error_code = resp
        .extensions()
        .get::<LoginError>()
        .map(|e| e.code().to_string())
        .or_else(|| {
            resp.extensions()
                .get::<GraphError>()
                .map(|e| e.code().to_string())
        })
        .or_else(|| (!resp.status().is_success()).then(|| resp.status().as_u16().to_string()));
    record(Some(resp.status().as_u16()), error_code, rule.as_ref());
    resp
}
