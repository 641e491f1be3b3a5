//! Microsoft Graph's wire format, for Graph and the first-party service models alike: JSON
//! answers with Graph's headers (a fresh `request-id`, the client's `client-request-id` echoed,
//! `OData-Version`), `@odata.context` and `@odata.nextLink` rendered from the core's typed
//! `Context`, and the error JSON `{"error":{"code","message","innerError":{...}}}` — the one
//! place a refusal (a `GraphError`, an injected fault, a limit) becomes Graph's bytes.

use axum::response::{IntoResponse, Response};
use entra_tenant::faults::FaultRule;
use entra_tenant::graph::query::{Object, encode_skiptoken};
use entra_tenant::graph::{AssignmentSide, Collection, Context, EntitySet, GraphError, Reply};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use super::status::status_code;

const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Graph's code for the refusals of its OData layer, which the framework's answers take too.
pub const ODATA_BAD_REQUEST: &str = "BadRequest";

/// The ids Graph puts on every answer: a fresh `request-id`, and the client's
/// `client-request-id` echoed (any value up to 200 characters), or the request id when the
/// client sent none.
#[derive(Clone, Debug)]
pub struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

impl RequestIds {
    pub fn new(headers: &HeaderMap) -> Self {
        let request_id = Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(str::to_string)
            .unwrap_or_else(|| request_id.clone());
        RequestIds {
            request_id,
            client_request_id,
        }
    }

    fn apply(&self, resp: &mut Response) {
        let h = resp.headers_mut();
        for (name, value) in [
            ("request-id", &self.request_id),
            ("client-request-id", &self.client_request_id),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        }
    }
}

/// Graph's error date: `2020-11-15T01:32:03`, without an offset.
fn error_date(now: OffsetDateTime) -> String {
    now.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

/// An error answer in Graph's format. A 401 `InvalidAuthenticationToken` says how to get a
/// token (`WWW-Authenticate`), as Graph's does.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    ids: &RequestIds,
    now: OffsetDateTime,
) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": error_date(now),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON))],
        body.to_string(),
    )
        .into_response();
    ids.apply(&mut resp);
    if status == StatusCode::UNAUTHORIZED && code == "InvalidAuthenticationToken" {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Bearer realm=\"\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            ),
        );
    }
    resp
}

/// A refusal of the rule table. The error goes into the response's extensions too, for the
/// journal.
pub fn refusal(err: &GraphError, ids: &RequestIds, now: OffsetDateTime) -> Response {
    let mut resp = error_response(
        status_code(err.status()),
        err.code(),
        &err.message(),
        ids,
        now,
    );
    resp.extensions_mut().insert(err.clone());
    resp
}

/// A fault rule's answer on Graph or a service model: its error as `code`, and Graph's
/// throttling words for 429.
pub fn injected(
    status: StatusCode,
    code: &str,
    rule: &FaultRule,
    parts: &Parts,
    now: OffsetDateTime,
) -> Response {
    let message = match (status.as_u16(), rule.spec.retry_after) {
        (429, Some(s)) => {
            format!("Your request is throttled temporarily. Please try after {s} seconds.")
        }
        (429, None) => "Your request is throttled temporarily.".into(),
        _ => "The mock's fault injection answered this request.".into(),
    };
    error_response(
        status,
        code,
        &message,
        &RequestIds::new(&parts.headers),
        now,
    )
}

/// The `code` of a fault rule's answer that names none, by its status.
pub fn fault_code(status: u16) -> &'static str {
    match status {
        400 => ODATA_BAD_REQUEST,
        401 => "InvalidAuthenticationToken",
        403 => "Authorization_RequestDenied",
        404 => "Request_ResourceNotFound",
        409 => "Conflict",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "UnknownError",
    }
}

/// A request's JSON payload (`Null` when there is none), or Graph's "Unable to read JSON
/// request payload".
pub fn payload(body: &[u8]) -> Result<Value, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|_| GraphError::UnreadablePayload)
}

/// A JSON success answer with Graph's headers.
pub fn json_response(status: StatusCode, body: Option<Value>, ids: &RequestIds) -> Response {
    let mut resp = match body {
        Some(b) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON))],
            b.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    ids.apply(&mut resp);
    resp.headers_mut()
        .insert("odata-version", HeaderValue::from_static("4.0"));
    resp
}

/// Where a Graph answer is: the base URL and version it was asked at, and its path and query
/// (for `@odata.nextLink`).
pub struct Location<'a> {
    /// `scheme://host[:port]`.
    pub base: &'a str,
    /// `v1.0` or `beta`.
    pub version: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
}

/// What follows `$metadata#` in `@odata.context`; `entity` adds `/$entity` to an entity set.
fn context_fragment(context: &Context, entity: bool) -> String {
    let Context::Set { set, select } = context else {
        return "microsoft.graph.keyCredential".into();
    };
    let set = match set {
        EntitySet::Collection(Collection::Applications) => "applications".to_string(),
        EntitySet::Collection(Collection::ServicePrincipals) => "servicePrincipals".to_string(),
        EntitySet::Collection(Collection::Users) => "users".to_string(),
        EntitySet::Assignments {
            service_principal,
            side,
        } => {
            let segment = match side {
                AssignmentSide::Assignments => "appRoleAssignments",
                AssignmentSide::AssignedTo => "appRoleAssignedTo",
            };
            format!("servicePrincipals('{service_principal}')/{segment}")
        }
        EntitySet::DirectoryRoles => "directoryRoles".to_string(),
        EntitySet::DirectoryObjects => "directoryObjects".to_string(),
        EntitySet::RoleAssignments => "roleManagement/directory/roleAssignments".to_string(),
        EntitySet::Organization => "organization".to_string(),
    };
    let select = select
        .as_ref()
        .map(|names| format!("({})", names.join(",")))
        .unwrap_or_default();
    let entity = if entity { "/$entity" } else { "" };
    format!("{set}{select}{entity}")
}

fn with_context(at: &Location<'_>, context: &Context, entity: bool, object: Object) -> Value {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/{}/$metadata#{}",
            at.base,
            at.version,
            context_fragment(context, entity)
        )),
    );
    body.extend(object);
    Value::Object(body)
}

/// A Graph answer in Graph's format, at `at`.
pub fn reply(reply: Reply, at: &Location<'_>, ids: &RequestIds) -> Response {
    let status = status_code(reply.status());
    match reply {
        Reply::NoContent => json_response(status, None, ids),
        Reply::Entity {
            context, object, ..
        } => {
            let entity = matches!(context, Context::Set { .. });
            json_response(
                status,
                Some(with_context(at, &context, entity, object)),
                ids,
            )
        }
        Reply::Collection {
            context,
            items,
            next_skip,
        } => {
            let mut page = Map::new();
            if let Some(skip) = next_skip {
                let mut query = form_urlencoded::Serializer::new(String::new());
                for (k, v) in at
                    .query
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
                {
                    query.append_pair(k, v);
                }
                query.append_pair("$skiptoken", &encode_skiptoken(skip));
                page.insert(
                    "@odata.nextLink".into(),
                    json!(format!("{}{}?{}", at.base, at.path, query.finish())),
                );
            }
            page.insert(
                "value".into(),
                Value::Array(items.into_iter().map(Value::Object).collect()),
            );
            json_response(status, Some(with_context(at, &context, false, page)), ids)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entra_tenant::ids::ObjectId;

    #[test]
    fn contexts_as_graph_writes_them() {
        let sp: ObjectId = "11111111-2222-3333-4444-555555555555".parse().unwrap();
        let cases = [
            (
                Context::Set {
                    set: EntitySet::Collection(Collection::Applications),
                    select: Some(vec!["id".into(), "appId".into()]),
                },
                true,
                "applications(id,appId)/$entity",
            ),
            (
                Context::whole(EntitySet::Assignments {
                    service_principal: sp,
                    side: AssignmentSide::AssignedTo,
                }),
                false,
                "servicePrincipals('11111111-2222-3333-4444-555555555555')/appRoleAssignedTo",
            ),
            (
                Context::whole(EntitySet::RoleAssignments),
                true,
                "roleManagement/directory/roleAssignments/$entity",
            ),
            (
                Context::KeyCredential,
                false,
                "microsoft.graph.keyCredential",
            ),
        ];
        for (context, entity, want) in cases {
            assert_eq!(context_fragment(&context, entity), want);
        }
    }
}
