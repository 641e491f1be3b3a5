//! Limits on what one request may be, and the service's own answer to everything that never
//! reaches a handler's rules: a body, URI or header block over its limit, a path that does
//! not decode, a method or path the service does not have, a panic. Whatever goes wrong, the
//! client gets a 4xx (a 500 only for a bug) in the format of the service it called: AADSTS
//! JSON on the login side, Graph error JSON on Graph and the service models, `{"error": ...}`
//! on the control plane. Never a bare status from the framework.
//!
//! The layer is the outermost one of each sub-router, which gives it its `Side`; it also sees
//! the answers of the layers inside it (axum's extractor rejections, unknown routes, wrong
//! methods) and renders those that are not in a service format yet (no JSON content type).
//!
//! It is also the one place that reads request bodies off the wire and decides the body limit:
//! every body is read here, whole, before any handler runs. A body over the limit is read on
//! and thrown away up to `DRAIN_LIMIT` before the 413 goes out. Most clients write the whole
//! request before they read the answer; a server that answers early and closes the connection
//! with unread bytes in it makes the kernel reset the connection, and such a client sees a
//! broken pipe or a TLS error instead of the 413.

use std::panic::AssertUnwindSafe;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::BytesMut;
use entra_tenant::login::OAuthError;
use futures::FutureExt;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, Version, header};
use http_body_util::BodyExt;
use time::OffsetDateTime;

use super::control_json;
use super::entra_json::{self, EntraError};
use super::graph_json::{self, RequestIds};
use super::server::DropConnection;
use super::side::Side;

/// The largest request body the mock takes (Entra's token endpoint takes far less). Enforced
/// here, in `enforce`, which reads every body before the handlers run.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The largest header block (names and values) the mock reads. Front ends of the real
/// services refuse far less (HTTP.sys: 16 KiB per header).
pub const HEADER_LIMIT: usize = 64 * 1024;
/// The longest request target (path and query).
pub const URI_LIMIT: usize = 16 * 1024;
/// How much of a framework rejection's text is kept in the rendered message.
const DETAIL_LIMIT: usize = 512;
/// How much of a body over `BODY_LIMIT` the mock reads (and throws away) so that its 413
/// reaches a client that writes the whole request before reading. 16 times the limit: a
/// mistaken upload (a whole snapshot of a large tenant, a log file in a form field) still gets
/// a readable answer, and reading it costs no memory (nothing is kept) and well under a second
/// on loopback, even over TLS in a debug build. Beyond it the client is streaming something that is no request of ours: the
/// mock answers at once and closes the connection rather than read on for ever.
pub const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// The middleware: reads the body within its limit, refuses requests over a limit in the
/// service's format, renders framework answers in that format, and turns a panic into a 500
/// in that format instead of a dropped connection.
pub async fn enforce(State(side): State<Side>, req: Request, next: Next) -> Response {
    // Only the correlation headers and query are echoed in errors: keep them, not the whole
    // request.
    let echo = Echo::of(&req);
    let method = req.method().clone();
    let (parts, body) = req.into_parts();
    let body = match read_body(&parts, body).await {
        BodyRead::Whole(bytes) => bytes,
        BodyRead::TooLarge { read_to_end } => {
            let message = format!("The request body is larger than {BODY_LIMIT} bytes.");
            let resp = render(side, &echo, StatusCode::PAYLOAD_TOO_LARGE, &message);
            return closing_unless(read_to_end, parts.version, resp);
        }
        BodyRead::Broken(reason) => {
            let message = format!("The request body could not be read: {reason}");
            let resp = render(side, &echo, StatusCode::BAD_REQUEST, &message);
            return closing_unless(false, parts.version, resp);
        }
    };
    if let Some((status, message)) = over_limit(&parts) {
        return render(side, &echo, status, &message);
    }
    let req = Request::from_parts(parts, Body::from(body));
    let resp = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::error!("a handler panicked on {method} {side:?}");
            return render(
                side,
                &echo,
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
    // A framework answer (extractor rejection, unknown route, wrong method).
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
    let mut rendered = render(side, &echo, status, &message);
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        rendered.headers_mut().insert(header::ALLOW, allow.clone());
    }
    // What the inner layers said about the request (the journal's error, a fault's verdict).
    rendered.extensions_mut().extend(parts.extensions);
    rendered
}

/// The answer to a path no service has, or a service's path that names nothing: a bare 404,
/// which `enforce` renders in the side's format. Each sub-router answers its part of the paths
/// with it.
pub async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

/// What reading a request body came to.
enum BodyRead {
    /// The whole body, within `BODY_LIMIT`.
    Whole(Bytes),
    /// Over `BODY_LIMIT`. `read_to_end`: the rest was read and thrown away, so the connection
    /// is clean and can carry the next request.
    TooLarge { read_to_end: bool },
    /// The client broke off, or framed the body badly.
    Broken(String),
}

/// Reads the body: kept while within `BODY_LIMIT`, read on and thrown away up to
/// `DRAIN_LIMIT` when over it, not read at all when it cannot end well.
async fn read_body(parts: &Parts, mut body: Body) -> BodyRead {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > BODY_LIMIT as u64) {
        // A client that sent `Expect: 100-continue` waits for our word before it sends the
        // body: the 413 is that word, and it never sends what we would only throw away.
        let waits = parts
            .headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if waits || n > DRAIN_LIMIT {
            return BodyRead::TooLarge { read_to_end: false };
        }
    }
    let mut kept = BytesMut::new();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            // Past the limit the verdict stands, whatever the rest would have been.
            Err(_) if seen > BODY_LIMIT as u64 => return BodyRead::TooLarge { read_to_end: false },
            Err(e) => return BodyRead::Broken(e.to_string()),
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len() as u64);
        if seen > DRAIN_LIMIT {
            return BodyRead::TooLarge { read_to_end: false };
        }
        if seen <= BODY_LIMIT as u64 {
            kept.extend_from_slice(&data);
        } else if !kept.is_empty() {
            kept = BytesMut::new();
        }
    }
    if seen > BODY_LIMIT as u64 {
        BodyRead::TooLarge { read_to_end: true }
    } else {
        BodyRead::Whole(kept.freeze())
    }
}

/// Marks an HTTP/1 answer as the connection's last when unread bytes may still be on their
/// way, so that clients do not send the next request into a connection about to close.
/// HTTP/2 has no such header: there the unread stream is reset after the answer instead.
fn closing_unless(read_to_end: bool, version: Version, mut resp: Response) -> Response {
    if !read_to_end && version <= Version::HTTP_11 {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// A request over the header or URI limits, with its status and message.
fn over_limit(parts: &Parts) -> Option<(StatusCode, String)> {
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > HEADER_LIMIT {
        return Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("The request headers are larger than {HEADER_LIMIT} bytes."),
        ));
    }
    let target = parts.uri.path_and_query().map_or(0, |pq| pq.as_str().len());
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
        _ if detail.trim().is_empty() => format!(
            "The request is not valid ({}).",
            status.canonical_reason().unwrap_or("error")
        ),
        _ => format!("The request is not valid: {}", detail.trim()),
    }
}

/// What a refusal echoes of the request: its correlation headers and its query.
pub struct Echo {
    headers: HeaderMap,
    query: Option<String>,
}

impl Echo {
    fn of(req: &Request) -> Self {
        let mut headers = HeaderMap::new();
        for name in ["client-request-id", "x-ms-client-request-id"] {
            if let Some(v) = req.headers().get(name) {
                headers.insert(name, v.clone());
            }
        }
        Echo {
            headers,
            query: req.uri().query().map(str::to_string),
        }
    }
}

/// Renders a refusal that no rule of the service produced, in the service's format.
pub fn render(side: Side, echo: &Echo, status: StatusCode, message: &str) -> Response {
    let now = OffsetDateTime::now_utc();
    match side {
        Side::Login => {
            // AADSTS90015 QueryStringTooLong, AADSTS900561 BadResourceRequestInvalidRequest (a
            // method the endpoint does not take), AADSTS50000 for our own failures, otherwise
            // AADSTS90023 InvalidRequest.
            let (code, error) = match status {
                StatusCode::URI_TOO_LONG => (90015, OAuthError::InvalidRequest),
                StatusCode::METHOD_NOT_ALLOWED => (900561, OAuthError::InvalidRequest),
                s if s.is_server_error() => (50000, OAuthError::ServerError),
                _ => (90023, OAuthError::InvalidRequest),
            };
            let rendered = EntraError {
                code: Some(code),
                error: error.as_str(),
                message,
            };
            let correlation_id = entra_json::correlation_id(&echo.headers, echo.query.as_deref());
            entra_json::response(status, &rendered, &correlation_id, now)
        }
        Side::Graph => graph_json::error_response(
            status,
            graph_json::ODATA_BAD_REQUEST,
            message,
            &RequestIds::new(&echo.headers),
            now,
        ),
        Side::Control => control_json::error_response(status, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: rewriting a bare answer lost its extensions, so a fault rule's
    /// `drop_connection` (a bare 503 carrying `DropConnection`) was answered instead of dropped.
    #[tokio::test]
    async fn a_dropped_connection_stays_dropped() {
        use axum::response::IntoResponse;
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
            .layer(axum::middleware::from_fn_with_state(Side::Graph, enforce));
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
        let echo = Echo {
            headers: HeaderMap::new(),
            query: None,
        };
        let resp = render(
            Side::Login,
            &echo,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        );
        assert_eq!(resp.status(), 413);
        assert!(is_json(resp.headers()));
    }
}
