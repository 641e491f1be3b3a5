//! Microsoft Graph v1.0 (and the same subset under /beta) on the wire: routes URLs such as
//! `/v1.0/servicePrincipals(appId='...')/appRoleAssignments` (also the documentation's
//! `/servicePrincipals/(appId='...')` and its curly quotes) to `core::graph` requests, and
//! renders answers and errors in Graph's format. `error_response` is the one place a
//! `GraphError` becomes bytes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use crate::core::graph::auth::{self, GRAPH_APP_ID};
use crate::core::graph::objects::AssignmentSide;
use crate::core::graph::query::{QueryOptions, encode_skiptoken};
use crate::core::graph::{Collection, GraphError, GraphRequest, Key, Reply, execute};
use crate::state::{MockState, TenantHandle, lock};

use super::base_url;
use super::control::ReplicationLag;

pub fn routes() -> Router<MockState> {
    Router::new()
        .route("/v1.0/{*rest}", any(graph))
        .route("/beta/{*rest}", any(graph))
}

const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The ids Graph puts on every answer: a fresh `request-id`, and the client's
/// `client-request-id` echoed (or the request id when the client sent none).
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

/// The one place a `GraphError` becomes a response (Graph and the service models alike). The
/// error goes into the response extensions too, for the journal.
pub fn error_response(err: &GraphError, ids: &RequestIds, now: OffsetDateTime) -> Response {
    let body = json!({
        "error": {
            "code": err.code(),
            "message": err.message(),
            "innerError": {
                "date": error_date(now),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON))],
        body.to_string(),
    )
        .into_response();
    ids.apply(&mut resp);
    if let Some(s) = err.retry_after() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    if err.status() == 401 && err.code() == "InvalidAuthenticationToken" {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Bearer realm=\"\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            ),
        );
    }
    resp.extensions_mut().insert(err.clone());
    resp
}

/// A JSON success answer with Graph's headers.
pub fn json_response(status: u16, body: Option<Value>, ids: &RequestIds) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
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

/// The tenant a bearer token names in its (not yet verified) `tid`, or why there is none.
pub fn tenant_of_bearer(
    state: &MockState,
    authorization: Option<&str>,
) -> Result<TenantHandle, GraphError> {
    if authorization.is_none_or(|a| a.trim().is_empty()) {
        return Err(GraphError::TokenMissing);
    }
    let claims = auth::unverified_claims(authorization).ok_or(GraphError::TokenMalformed)?;
    let tid = claims.str("tid").ok_or(GraphError::TokenMalformed)?;
    state.find(tid).ok_or(GraphError::TokenTenant)
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub(crate) fn json_body(body: &Bytes) -> Result<Value, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|_| {
        GraphError::OData(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.".into(),
        )
    })
}

async fn graph(State(state): State<MockState>, parts: Parts, body: Bytes) -> Response {
    let ids = RequestIds::new(&parts.headers);
    let auth_header = authorization(&parts.headers);
    let handle = match tenant_of_bearer(&state, auth_header) {
        Ok(h) => h,
        Err(e) => return error_response(&e, &ids, OffsetDateTime::now_utc()),
    };
    let lag = parts.extensions.get::<ReplicationLag>().map(|l| l.0);
    let (version, path) = split_version(parts.uri.path());
    let pairs = query_pairs(&parts);
    let (outcome, now) = {
        let mut t = lock(&handle);
        let now = t.now();
        let outcome = (|| {
            let caller = auth::authenticate(&t, auth_header, GRAPH_APP_ID)?;
            let q = QueryOptions::parse(&pairs)?;
            let req = route(&parts.method, path, q, json_body(&body)?)?;
            execute(&mut t, &caller, req, lag)
        })();
        (outcome, now)
    };
    match outcome {
        Ok(reply) => render(reply, &parts, version, &pairs, &ids),
        Err(e) => error_response(&e, &ids, now),
    }
}

fn split_version(path: &str) -> (&str, &str) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((v, rest)) => (v, rest),
        None => (trimmed, ""),
    }
}

fn render(
    reply: Reply,
    parts: &Parts,
    version: &str,
    pairs: &[(String, String)],
    ids: &RequestIds,
) -> Response {
    let base = base_url(parts);
    let context = |c: &str| format!("{base}/{version}/$metadata#{c}");
    match reply {
        Reply::NoContent => json_response(204, None, ids),
        Reply::Entity {
            status,
            context: c,
            object,
        } => {
            let mut body = Map::new();
            body.insert("@odata.context".into(), json!(context(&c)));
            body.extend(object);
            json_response(status, Some(Value::Object(body)), ids)
        }
        Reply::Collection {
            context: c,
            items,
            next_skip,
        } => {
            let mut body = Map::new();
            body.insert("@odata.context".into(), json!(context(&c)));
            if let Some(skip) = next_skip {
                let mut query = form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
                {
                    query.append_pair(k, v);
                }
                query.append_pair("$skiptoken", &encode_skiptoken(skip));
                body.insert(
                    "@odata.nextLink".into(),
                    json!(format!("{base}{}?{}", parts.uri.path(), query.finish())),
                );
            }
            body.insert(
                "value".into(),
                Value::Array(items.into_iter().map(Value::Object).collect()),
            );
            json_response(200, Some(Value::Object(body)), ids)
        }
    }
}

/// One path segment: a name with an optional key in parentheses.
#[derive(Debug)]
struct Segment {
    name: String,
    key: Option<Key>,
}

/// Splits the path after the version into segments. Percent-escapes are decoded, typographic
/// quotes (as copy-pasted from the docs) become straight ones, and `x/(key)` reads as `x(key)`.
fn segments(path: &str) -> Vec<Segment> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let normalized = decoded
        .replace(['\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}'], "'")
        .replace("/(", "(");
    normalized
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.find('(') {
            Some(i) if s.ends_with(')') => {
                let inner = &s[i + 1..s.len() - 1];
                let unquote = |v: &str| v.trim().trim_matches('\'').to_string();
                let key = match inner.split_once('=') {
                    Some((p, v)) => Key::Alt {
                        property: p.trim().to_string(),
                        value: unquote(v),
                    },
                    None => Key::Id(unquote(inner)),
                };
                Segment {
                    name: s[..i].to_string(),
                    key: Some(key),
                }
            }
            _ => Segment {
                name: s.to_string(),
                key: None,
            },
        })
        .collect()
}

fn collection(name: &str) -> Option<Collection> {
    match name {
        "applications" => Some(Collection::Applications),
        "serviceprincipals" => Some(Collection::ServicePrincipals),
        "users" => Some(Collection::Users),
        _ => None,
    }
}

fn takes_key(name: &str) -> bool {
    collection(name).is_some() || matches!(name, "directoryroles" | "organization")
}

/// The request a method and path (after the version) name. Segment names are compared
/// without regard to case, as Graph compares them.
pub fn route(
    method: &Method,
    path: &str,
    q: QueryOptions,
    body: Value,
) -> Result<GraphRequest, GraphError> {
    let segs = segments(path);
    let Some((head, tail)) = segs.split_first() else {
        return Err(GraphError::OData(
            "Resource not found for the segment ''.".into(),
        ));
    };
    let name = head.name.to_ascii_lowercase();
    let (key, tail) = match (&head.key, tail.split_first()) {
        (Some(k), _) => (Some(k.clone()), tail),
        (None, Some((s, rest))) if s.key.is_none() && takes_key(&name) => {
            (Some(Key::Id(s.name.clone())), rest)
        }
        _ => (None, tail),
    };
    let mut rest: Vec<String> = Vec::new();
    for s in tail {
        rest.push(s.name.clone());
        if let Some(k) = &s.key {
            rest.push(k.value().to_string());
        }
    }
    let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let found = shape(
        method,
        &name,
        key.clone(),
        &rest,
        &lower,
        q.clone(),
        body.clone(),
    );
    if let Some(req) = found {
        return Ok(req);
    }
    let exists = [Method::GET, Method::POST, Method::PATCH, Method::DELETE]
        .iter()
        .any(|m| shape(m, &name, key.clone(), &rest, &lower, q.clone(), Value::Null).is_some());
    if exists {
        return Err(GraphError::MethodNotAllowed);
    }
    let unknown = if collection(&name).is_some()
        || takes_key(&name)
        || matches!(name.as_str(), "me" | "rolemanagement")
    {
        rest.last().cloned().unwrap_or(head.name.clone())
    } else {
        head.name.clone()
    };
    Err(GraphError::OData(format!(
        "Resource not found for the segment '{unknown}'."
    )))
}

fn side(segment: &str) -> Option<AssignmentSide> {
    match segment {
        "approleassignments" => Some(AssignmentSide::Assignments),
        "approleassignedto" => Some(AssignmentSide::AssignedTo),
        _ => None,
    }
}

fn shape(
    method: &Method,
    name: &str,
    key: Option<Key>,
    rest: &[String],
    lower: &[&str],
    q: QueryOptions,
    body: Value,
) -> Option<GraphRequest> {
    use GraphRequest as R;
    let m = method.as_str();
    if let Some(c) = collection(name) {
        return match (key, lower, m) {
            (None, [], "GET") => Some(R::List(c, q)),
            (None, [], "POST") => Some(R::Create(c, body)),
            (Some(k), [], "GET") => Some(R::Get(c, k, q)),
            (Some(k), [], "PATCH") => Some(R::Update(c, k, body)),
            (Some(k), [], "DELETE") => Some(R::Delete(c, k)),
            (Some(k), ["addkey"], "POST") if c != Collection::Users => Some(R::AddKey(c, k, body)),
            (Some(k), ["removekey"], "POST") if c != Collection::Users => {
                Some(R::RemoveKey(c, k, body))
            }
            (Some(k), [nav], "GET") if c == Collection::ServicePrincipals => {
                side(nav).map(|s| R::ListAssignments(k, s, q))
            }
            (Some(k), [nav], "POST") if c == Collection::ServicePrincipals => {
                side(nav).map(|s| R::CreateAssignment(k, s, body))
            }
            (Some(k), [nav, _], "GET") if c == Collection::ServicePrincipals => {
                side(nav).map(|s| R::GetAssignment(k, s, rest[1].clone()))
            }
            (Some(k), [nav, _], "DELETE") if c == Collection::ServicePrincipals => {
                side(nav).map(|s| R::DeleteAssignment(k, s, rest[1].clone()))
            }
            _ => None,
        };
    }
    match (name, key, lower, m) {
        ("directoryroles", None, [], "GET") => Some(R::ListRoles(q)),
        ("directoryroles", Some(k), [], "GET") => Some(R::GetRole(k, q)),
        ("directoryroles", Some(k), ["members"], "GET") => Some(R::ListRoleMembers(k, q)),
        ("directoryroles", Some(k), ["members", "$ref"], "POST") => Some(R::AddRoleMember(k, body)),
        ("directoryroles", Some(k), ["members", _, "$ref"], "DELETE") => {
            Some(R::RemoveRoleMember(k, rest[1].clone()))
        }
        ("rolemanagement", None, ["directory", "roleassignments"], "GET") => {
            Some(R::ListRoleAssignments(q))
        }
        ("rolemanagement", None, ["directory", "roleassignments"], "POST") => {
            Some(R::CreateRoleAssignment(body))
        }
        ("rolemanagement", None, ["directory", "roleassignments", _], "GET") => {
            Some(R::GetRoleAssignment(rest[2].clone()))
        }
        ("rolemanagement", None, ["directory", "roleassignments", _], "DELETE") => {
            Some(R::DeleteRoleAssignment(rest[2].clone()))
        }
        ("organization", None, [], "GET") => Some(R::Organization(None, q)),
        ("organization", Some(k), [], "GET") => {
            Some(R::Organization(Some(k.value().to_string()), q))
        }
        ("me", None, [], "GET") => Some(R::Me(q)),
        _ => None,
    }
}

/// The operation name of a Graph request (`/v1.0/...` or `/beta/...`), for faults and the
/// journal; `None` for paths Graph would refuse.
pub fn operation_of(method: &Method, path: &str) -> Option<&'static str> {
    let (_, rest) = split_version(path);
    route(method, rest, QueryOptions::default(), Value::Null)
        .ok()
        .map(|r| r.operation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressing_forms() {
        let forms = [
            "servicePrincipals(appId='6bf85cfa-ac8a-4be5-b5de-425a0d0dc016')",
            "servicePrincipals/(appId='6bf85cfa-ac8a-4be5-b5de-425a0d0dc016')",
            "servicePrincipals(appId=\u{2018}6bf85cfa-ac8a-4be5-b5de-425a0d0dc016\u{2019})",
            "servicePrincipals(appId=%276bf85cfa-ac8a-4be5-b5de-425a0d0dc016%27)",
        ];
        for f in forms {
            match route(&Method::GET, f, QueryOptions::default(), Value::Null) {
                Ok(GraphRequest::Get(
                    Collection::ServicePrincipals,
                    Key::Alt { property, value },
                    _,
                )) => {
                    assert_eq!(property, "appId", "{f}");
                    assert_eq!(value, "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016", "{f}");
                }
                other => panic!("{f}: {other:?}"),
            }
        }
        assert_eq!(
            operation_of(&Method::POST, "/v1.0/applications(appId='x')/addKey"),
            Some("addKey")
        );
        assert_eq!(
            operation_of(
                &Method::POST,
                "/beta/servicePrincipals/abc/appRoleAssignments"
            ),
            Some("appRoleAssignments.create")
        );
        assert_eq!(operation_of(&Method::GET, "/v1.0/nothing"), None);
        assert!(matches!(
            route(
                &Method::PUT,
                "applications",
                QueryOptions::default(),
                Value::Null
            ),
            Err(GraphError::MethodNotAllowed)
        ));
    }
}
