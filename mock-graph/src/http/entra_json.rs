//! Entra's error JSON, the login side's wire format for refusals: the one renderer of AADSTS
//! bodies, whether the refusal is a row of the rule table (`LoginError`), a fault rule's
//! injected answer, or a limit (`limits`). One timestamp format (`yyyy-MM-dd HH:mm:ssZ`) and one
//! correlation-id rule for all of them.

use axum::response::{IntoResponse, Response};
use entra_tenant::faults::FaultRule;
use entra_tenant::login::{LoginError, OAuthError};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use super::status::status_code;

/// The headers of Entra's JSON answers.
pub fn json_headers() -> [(header::HeaderName, HeaderValue); 4] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache"),
        ),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
        (header::EXPIRES, HeaderValue::from_static("-1")),
    ]
}

/// The correlation id an answer echoes: a GUID the client sent as `client-request-id` (or
/// `x-ms-client-request-id`) header, or as `client-request-id` query parameter, as Entra echoes
/// it; otherwise a new one.
pub fn correlation_id(headers: &HeaderMap, query: Option<&str>) -> String {
    let from_header = ["client-request-id", "x-ms-client-request-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_string);
    from_header
        .or_else(|| {
            query.and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "client-request-id")
                    .map(|(_, v)| v.into_owned())
            })
        })
        .filter(|v| Uuid::parse_str(v).is_ok())
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

/// Entra's `timestamp` format: `yyyy-MM-dd HH:mm:ssZ`.
fn timestamp(t: OffsetDateTime) -> String {
    let base = t
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("{base}Z")
}

/// What an error body says.
pub struct EntraError<'a> {
    /// The AADSTS number; `None` for an answer that no AADSTS rule gave (an injected fault),
    /// whose description then starts with the `error` value instead.
    pub code: Option<u32>,
    /// The OAuth `error` value.
    pub error: &'a str,
    pub message: &'a str,
}

/// The error body: `error`, `error_description` (`AADSTS<code>: <message>` and the trace lines),
/// `error_codes`, `timestamp` (at `now`, the tenant's time when the request reached a tenant),
/// `trace_id`, `correlation_id`, and `error_uri` for an AADSTS code.
pub fn body(e: &EntraError<'_>, correlation_id: &str, now: OffsetDateTime) -> Value {
    let trace_id = Uuid::new_v4().to_string();
    let timestamp = timestamp(now);
    let prefix = match e.code {
        Some(code) => format!("AADSTS{code}"),
        None => e.error.to_string(),
    };
    let mut body = json!({
        "error": e.error,
        "error_description": format!(
            "{prefix}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            e.message
        ),
        "error_codes": e.code.into_iter().collect::<Vec<_>>(),
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
    });
    if let (Some(code), Some(o)) = (e.code, body.as_object_mut()) {
        o.insert(
            "error_uri".into(),
            json!(format!(
                "https://login.microsoftonline.com/error?code={code}"
            )),
        );
    }
    body
}

/// An error answer with Entra's headers.
pub fn response(
    status: StatusCode,
    e: &EntraError<'_>,
    correlation_id: &str,
    now: OffsetDateTime,
) -> Response {
    (
        status,
        json_headers(),
        body(e, correlation_id, now).to_string(),
    )
        .into_response()
}

/// A refusal of the rule table. `error_override` replaces the row's OAuth `error` (discovery
/// says `invalid_tenant` where the token endpoint says `invalid_request`). The refusal goes into
/// the response's extensions too, for the journal.
pub fn refusal(
    error: LoginError,
    error_override: Option<OAuthError>,
    correlation_id: &str,
    now: OffsetDateTime,
) -> Response {
    let spec = error.spec();
    let message = error.message();
    let rendered = EntraError {
        code: Some(spec.code),
        error: error_override.unwrap_or(spec.error).as_str(),
        message: &message,
    };
    let mut resp = response(status_code(spec.status), &rendered, correlation_id, now);
    resp.extensions_mut().insert(error);
    resp
}

/// A fault rule's answer on the login side: its `error` and no AADSTS code.
pub fn injected(
    status: StatusCode,
    error: &str,
    rule: &FaultRule,
    parts: &Parts,
    now: OffsetDateTime,
) -> Response {
    let message = format!(
        "The mock's fault injection answered this request (rule {}).",
        rule.id
    );
    let rendered = EntraError {
        code: None,
        error,
        message: &message,
    };
    response(
        status,
        &rendered,
        &correlation_id(&parts.headers, parts.uri.query()),
        now,
    )
}

/// The OAuth `error` of a fault rule's answer that names none, by its status.
pub fn fault_error(status: u16) -> &'static str {
    let error = match status {
        429 | 503 => OAuthError::TemporarilyUnavailable,
        500..=599 => OAuthError::ServerError,
        401 => OAuthError::InvalidClient,
        _ => OAuthError::InvalidRequest,
    };
    error.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correlation_id_is_echoed_only_when_it_is_a_guid() {
        let guid = "11111111-2222-3333-4444-555555555555";
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-client-request-id", HeaderValue::from_static(guid));
        assert_eq!(correlation_id(&headers, None), guid);
        let query = format!("a=b&client-request-id={guid}");
        assert_eq!(correlation_id(&HeaderMap::new(), Some(&query)), guid);
        headers.insert("client-request-id", HeaderValue::from_static("not-a-guid"));
        assert_ne!(correlation_id(&headers, None), "not-a-guid");
    }

    #[test]
    fn a_body_without_an_aadsts_code_starts_with_its_error() {
        let e = EntraError {
            code: None,
            error: "temporarily_unavailable",
            message: "try later",
        };
        let b = body(&e, "c", OffsetDateTime::UNIX_EPOCH);
        assert!(
            b["error_description"]
                .as_str()
                .unwrap()
                .starts_with("temporarily_unavailable: try later\r\nTrace ID: ")
        );
        assert_eq!(b["error_codes"], json!([]));
        assert!(b.get("error_uri").is_none());
        assert_eq!(b["timestamp"], "1970-01-01 00:00:00Z");
    }
}
