//! Limits on what one request may be, and the service's own answer to everything that never
//! reaches a handler's rules: a body, URI or header block over its limit, a path that does
//! not decode, a method or path the service does not have, a panic. Whatever goes wrong, the
//! client gets a 4xx (a 500 only for a bug) in the format of the service it called: AADSTS
//! JSON on the login side, Graph error JSON on Graph and the service models, `{"error": ...}`
//! on the control plane. Never a bare status from the framework.
//!
//! The layer is the outermost one, so it also sees the answers of the other layers (the
//! journal's body limit, axum's extractor rejections) and renders those that are not in a
//! service format yet (no JSON content type).

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::BODY_LIMIT;
use super::graph::{RequestIds, error_response};
use super::server::DropConnection;
use crate::core::graph::GraphError;

/// The largest header block (names and values) the mock reads. Front ends of the real
/// services refuse far less (HTTP.sys: 16 KiB per header).
pub const HEADER_LIMIT: usize = 64 * 1024;
/// The longest request target (path and query).
pub const URI_LIMIT: usize = 16 * 1024;
/// How much of a framework rejection's text is kept in the rendered message.
const DETAIL_LIMIT: usize = 512;

/// Which service a path belongs to, for the shape of its errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Login,
    /// Graph and the first-party service models.
    Graph,
    /// The test control plane under `/_mock/`.
    Control,
}

pub fn side_of(path: &str) -> Side {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    match first {
        "_mock" => Side::Control,
        "v1.0" | "beta" | "adsync" | "passwordwriteback" => Side::Graph,
        _ => Side::Login,
    }
}

/// The middleware: refuses requests over a limit before anything reads them, renders
/// framework answers in the service's format, and turns a panic into a 500 in that format
/// instead of a dropped connection.
pub async fn enforce(req: Request, next: Next) -> Response {
    let side = side_of(req.uri().path());
    // Only the correlation header is echoed in errors: keep it, not the whole header map.
    let mut headers = HeaderMap::new();
    if let Some(v) = req.headers().get("client-request-id") {
        headers.insert("client-request-id", v.clone());
    }
    let method = req.method().clone();
    if let Some(refusal) = over_limit(&req) {
        return render(side, &headers, refusal.0, &refusal.1);
    }
    let resp = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::error!("a handler panicked on {method} {side:?}");
            return render(
                side,
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The mock failed while handling this request (a bug: please report it).",
            );
        }
    };
    let status = resp.status();
    let dropped = resp.extensions().get::<DropConnection>().is_some();
    if dropped || !(status.is_client_error() || status.is_server_error()) || is_json(resp.headers())
    {
        return resp;
    }
    // A framework answer (extractor rejection, unknown route, wrong method, body limit).
    let (parts, body) = resp.into_parts();
    let detail: String = axum::body::to_bytes(body, DETAIL_LIMIT * 4)
        .await
        .map(|b| {
            String::from_utf8_lossy(&b)
                .chars()
                .take(DETAIL_LIMIT)
                .collect()
        })
        .unwrap_or_default();
    let message = framework_message(status, &method, &detail);
    let mut rendered = render(side, &headers, status, &message);
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        rendered.headers_mut().insert(header::ALLOW, allow.clone());
    }
    // What the inner layers said about the request (the journal's error, a fault's verdict).
    rendered.extensions_mut().extend(parts.extensions);
    rendered
}

/// A request over one of the limits, with its status and message.
fn over_limit(req: &Request) -> Option<(StatusCode, String)> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than {BODY_LIMIT} bytes."),
        ));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > HEADER_LIMIT {
        return Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("The request headers are larger than {HEADER_LIMIT} bytes."),
        ));
    }
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > URI_LIMIT {
        return Some((
            StatusCode::URI_TOO_LONG,
            format!("The request URL is longer than {URI_LIMIT} characters."),
        ));
    }
    None
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

fn framework_message(status: StatusCode, method: &http::Method, detail: &str) -> String {
    match status {
        StatusCode::NOT_FOUND => "The requested endpoint does not exist.".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("The endpoint does not accept {method} requests.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("The request body is larger than {BODY_LIMIT} bytes.")
        }
        _ if detail.trim().is_empty() => format!(
            "The request is not valid ({}).",
            status.canonical_reason().unwrap_or("error")
        ),
        _ => format!("The request is not valid: {}", detail.trim()),
    }
}

/// Renders a refusal that no rule of the service produced, in the service's format.
pub fn render(side: Side, headers: &HeaderMap, status: StatusCode, message: &str) -> Response {
    let now = OffsetDateTime::now_utc();
    match side {
        Side::Login => {
            // AADSTS90015 QueryStringTooLong, AADSTS900561 BadResourceRequestInvalidRequest (a
            // method the endpoint does not take), AADSTS50000 for our own failures, otherwise
            // AADSTS90023 InvalidRequest.
            let (code, error) = match status {
                StatusCode::URI_TOO_LONG => (90015, "invalid_request"),
                StatusCode::METHOD_NOT_ALLOWED => (900561, "invalid_request"),
                s if s.is_server_error() => (50000, "server_error"),
                _ => (90023, "invalid_request"),
            };
            let correlation_id = headers
                .get("client-request-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| Uuid::parse_str(v).is_ok())
                .map(str::to_string)
                .unwrap_or_else(|| Uuid::new_v4().to_string());
            let body = super::login::raw_error_body(code, error, message, &correlation_id, now);
            (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                )],
                body.to_string(),
            )
                .into_response()
        }
        Side::Graph => {
            let mut resp = error_response(
                &GraphError::OData(message.to_string()),
                &RequestIds::new(headers),
                now,
            );
            *resp.status_mut() = status;
            resp
        }
        Side::Control => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error": message}).to_string(),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides() {
        assert_eq!(side_of("/contoso.com/oauth2/v2.0/token"), Side::Login);
        assert_eq!(side_of("/v1.0/applications"), Side::Graph);
        assert_eq!(side_of("/beta/me"), Side::Graph);
        assert_eq!(side_of("/_mock/tenants"), Side::Control);
        assert_eq!(side_of("/"), Side::Login);
    }

    /// Regression: rewriting a bare answer lost its extensions, so a fault rule's
    /// `drop_connection` (a bare 503 carrying `DropConnection`) was answered instead of dropped.
    #[tokio::test]
    async fn a_dropped_connection_stays_dropped() {
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route(
                "/v1.0/x",
                axum::routing::get(|| async {
                    let mut resp = StatusCode::SERVICE_UNAVAILABLE.into_response();
                    resp.extensions_mut().insert(DropConnection);
                    resp
                }),
            )
            .route(
                "/v1.0/y",
                axum::routing::get(|| async {
                    let mut resp = StatusCode::BAD_REQUEST.into_response();
                    resp.extensions_mut().insert(7u32);
                    resp
                }),
            )
            .layer(axum::middleware::from_fn(enforce));
        let get = |path: &str| {
            http::Request::get(path)
                .body(axum::body::Body::empty())
                .expect("request")
        };
        let resp = app.clone().oneshot(get("/v1.0/x")).await.expect("answer");
        assert!(resp.extensions().get::<DropConnection>().is_some());
        let resp = app.oneshot(get("/v1.0/y")).await.expect("answer");
        assert!(is_json(resp.headers()));
        assert_eq!(resp.extensions().get::<u32>(), Some(&7));
    }

    #[test]
    fn login_refusals_are_aadsts_json() {
        let resp = render(
            Side::Login,
            &HeaderMap::new(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        );
        assert_eq!(resp.status(), 413);
        assert!(is_json(resp.headers()));
    }
}
