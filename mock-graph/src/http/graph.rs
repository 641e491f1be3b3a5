//! Microsoft Graph v1.0 (and the same subset under /beta) on the wire. Every Graph route is
//! declared once, in `ROUTES`: its method, its path pattern, its operation, and how it becomes
//! a core request. `classify` matches a request against the table once, before the handler
//! runs (the operation for fault rules and the journal, the match for the handler); the handler
//! authenticates the bearer token, builds the core request and renders the answer
//! (`graph_json`).
//!
//! Paths are matched as Graph matches them: segment names without regard to case, an object
//! addressed as `/{id}`, `({id})` or `(property='value')` (also the documentation's
//! `/servicePrincipals/(appId='...')` and its curly quotes), percent-escapes decoded.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use entra_tenant::graph::auth::{self, GRAPH_APP_ID};
use entra_tenant::graph::query::QueryOptions;
use entra_tenant::graph::{AssignmentSide, Collection, GraphError, GraphRequest, Key, execute};
use entra_tenant::operation::Operation;
use http::Method;
use http::request::Parts;
use serde_json::Value;
use time::OffsetDateTime;

use super::bearer;
use super::graph_json::{self, Location, RequestIds};
use super::limits;
use super::observe::{Classified, Observed, ReplicationLag};
use super::origin::base_url;
use crate::state::{MockState, lock};

use AssignmentSide::{AssignedTo, Assignments};
use Collection::{Applications, ServicePrincipals, Users};
use GraphRequest as R;

/// What a matched route builds its request from: the object the URL addresses (`{key}`), the id
/// further on (`{id}`), the query options and the payload.
struct Target {
    key: Option<Key>,
    id: Option<String>,
    q: QueryOptions,
    body: Value,
}

impl Target {
    fn key(&mut self) -> Key {
        self.key
            .take()
            .expect("a route whose pattern has {key} matched a key")
    }

    fn id(&mut self) -> String {
        self.id
            .take()
            .expect("a route whose pattern has {id} matched an id")
    }
}

/// One Graph route. The pattern is the path after the version: the entity set, `{key}` for the
/// object it addresses, then literal segments and `{id}`.
struct GraphRoute {
    method: Method,
    pattern: &'static str,
    operation: Operation,
    build: fn(Target) -> GraphRequest,
}

const fn row(
    method: Method,
    pattern: &'static str,
    operation: Operation,
    build: fn(Target) -> GraphRequest,
) -> GraphRoute {
    GraphRoute {
        method,
        pattern,
        operation,
        build,
    }
}

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

/// Every Graph route.
#[rustfmt::skip]
static ROUTES: [GraphRoute; 39] = [
    row(GET, "applications", Operation::ApplicationsList, |t| R::List(Applications, t.q)),
    row(POST, "applications", Operation::ApplicationsCreate, |t| R::Create(Applications, t.body)),
    row(GET, "applications/{key}", Operation::ApplicationsGet, |mut t| R::Get(Applications, t.key(), t.q)),
    row(PATCH, "applications/{key}", Operation::ApplicationsUpdate, |mut t| R::Update(Applications, t.key(), t.body)),
    row(DELETE, "applications/{key}", Operation::ApplicationsDelete, |mut t| R::Delete(Applications, t.key())),
    row(POST, "applications/{key}/addKey", Operation::AddKey, |mut t| R::AddKey(Applications, t.key(), t.body)),
    row(POST, "applications/{key}/removeKey", Operation::RemoveKey, |mut t| R::RemoveKey(Applications, t.key(), t.body)),
    row(GET, "servicePrincipals", Operation::ServicePrincipalsList, |t| R::List(ServicePrincipals, t.q)),
    row(POST, "servicePrincipals", Operation::ServicePrincipalsCreate, |t| R::Create(ServicePrincipals, t.body)),
    row(GET, "servicePrincipals/{key}", Operation::ServicePrincipalsGet, |mut t| R::Get(ServicePrincipals, t.key(), t.q)),
    row(PATCH, "servicePrincipals/{key}", Operation::ServicePrincipalsUpdate, |mut t| R::Update(ServicePrincipals, t.key(), t.body)),
    row(DELETE, "servicePrincipals/{key}", Operation::ServicePrincipalsDelete, |mut t| R::Delete(ServicePrincipals, t.key())),
    row(POST, "servicePrincipals/{key}/addKey", Operation::AddKey, |mut t| R::AddKey(ServicePrincipals, t.key(), t.body)),
    row(POST, "servicePrincipals/{key}/removeKey", Operation::RemoveKey, |mut t| R::RemoveKey(ServicePrincipals, t.key(), t.body)),
    row(GET, "servicePrincipals/{key}/appRoleAssignments", Operation::AppRoleAssignmentsList, |mut t| R::ListAssignments(t.key(), Assignments, t.q)),
    row(POST, "servicePrincipals/{key}/appRoleAssignments", Operation::AppRoleAssignmentsCreate, |mut t| R::CreateAssignment(t.key(), Assignments, t.body)),
    row(GET, "servicePrincipals/{key}/appRoleAssignments/{id}", Operation::AppRoleAssignmentsGet, |mut t| R::GetAssignment(t.key(), Assignments, t.id())),
    row(DELETE, "servicePrincipals/{key}/appRoleAssignments/{id}", Operation::AppRoleAssignmentsDelete, |mut t| R::DeleteAssignment(t.key(), Assignments, t.id())),
    row(GET, "servicePrincipals/{key}/appRoleAssignedTo", Operation::AppRoleAssignedToList, |mut t| R::ListAssignments(t.key(), AssignedTo, t.q)),
    row(POST, "servicePrincipals/{key}/appRoleAssignedTo", Operation::AppRoleAssignedToCreate, |mut t| R::CreateAssignment(t.key(), AssignedTo, t.body)),
    row(GET, "servicePrincipals/{key}/appRoleAssignedTo/{id}", Operation::AppRoleAssignedToGet, |mut t| R::GetAssignment(t.key(), AssignedTo, t.id())),
    row(DELETE, "servicePrincipals/{key}/appRoleAssignedTo/{id}", Operation::AppRoleAssignedToDelete, |mut t| R::DeleteAssignment(t.key(), AssignedTo, t.id())),
    row(GET, "users", Operation::UsersList, |t| R::List(Users, t.q)),
    row(POST, "users", Operation::UsersCreate, |t| R::Create(Users, t.body)),
    row(GET, "users/{key}", Operation::UsersGet, |mut t| R::Get(Users, t.key(), t.q)),
    row(PATCH, "users/{key}", Operation::UsersUpdate, |mut t| R::Update(Users, t.key(), t.body)),
    row(DELETE, "users/{key}", Operation::UsersDelete, |mut t| R::Delete(Users, t.key())),
    row(GET, "directoryRoles", Operation::DirectoryRolesList, |t| R::ListRoles(t.q)),
    row(GET, "directoryRoles/{key}", Operation::DirectoryRolesGet, |mut t| R::GetRole(t.key(), t.q)),
    row(GET, "directoryRoles/{key}/members", Operation::DirectoryRoleMembersList, |mut t| R::ListRoleMembers(t.key(), t.q)),
    row(POST, "directoryRoles/{key}/members/$ref", Operation::DirectoryRoleMembersAdd, |mut t| R::AddRoleMember(t.key(), t.body)),
    row(DELETE, "directoryRoles/{key}/members/{id}/$ref", Operation::DirectoryRoleMembersRemove, |mut t| R::RemoveRoleMember(t.key(), t.id())),
    row(GET, "roleManagement/directory/roleAssignments", Operation::RoleAssignmentsList, |t| R::ListRoleAssignments(t.q)),
    row(POST, "roleManagement/directory/roleAssignments", Operation::RoleAssignmentsCreate, |t| R::CreateRoleAssignment(t.body)),
    row(GET, "roleManagement/directory/roleAssignments/{id}", Operation::RoleAssignmentsGet, |mut t| R::GetRoleAssignment(t.id())),
    row(DELETE, "roleManagement/directory/roleAssignments/{id}", Operation::RoleAssignmentsDelete, |mut t| R::DeleteRoleAssignment(t.id())),
    row(GET, "organization", Operation::OrganizationGet, |t| R::Organization(None, t.q)),
    row(GET, "organization/{key}", Operation::OrganizationGet, |mut t| R::Organization(Some(t.key().value().to_string()), t.q)),
    row(GET, "me", Operation::MeGet, |t| R::Me(t.q)),
];

impl GraphRoute {
    /// The entity set, whether `{key}` follows it, and the segments after that.
    fn shape(&self) -> (&'static str, bool, Vec<&'static str>) {
        let mut parts = self.pattern.split('/');
        let head = parts.next().unwrap_or_default();
        let mut rest: Vec<&str> = parts.collect();
        let keyed = rest.first() == Some(&"{key}");
        if keyed {
            rest.remove(0);
        }
        (head, keyed, rest)
    }

    /// The id `{id}` stands for, when `path` has this route's shape.
    fn matches(&self, path: &Addressed) -> Option<Option<String>> {
        let (head, keyed, rest) = self.shape();
        let fits = head.eq_ignore_ascii_case(&path.name)
            && keyed == path.key.is_some()
            && rest.len() == path.rest.len()
            && rest
                .iter()
                .zip(&path.rest)
                .all(|(p, s)| *p == "{id}" || p.eq_ignore_ascii_case(s));
        let id = rest
            .iter()
            .zip(&path.rest)
            .find(|(p, _)| **p == "{id}")
            .map(|(_, s)| s.clone());
        fits.then_some(id)
    }
}

/// Whether some route's entity set is `name`; and whether some route addresses an object in it.
fn entity_set(name: &str) -> (bool, bool) {
    let mut known = false;
    let mut keyed = false;
    for r in &ROUTES {
        let (head, takes_key, _) = r.shape();
        if head.eq_ignore_ascii_case(name) {
            known = true;
            keyed |= takes_key;
        }
    }
    (known, keyed)
}

/// A path after the version, read as Graph reads it.
struct Addressed {
    /// The entity set, as written.
    name: String,
    key: Option<Key>,
    /// The segments after it (a segment's own key in parentheses follows it as one more).
    rest: Vec<String>,
}

/// One path segment: a name with an optional key in parentheses.
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

fn addressed(path: &str) -> Option<Addressed> {
    let segs = segments(path);
    let (head, tail) = segs.split_first()?;
    let (_, keyed) = entity_set(&head.name);
    // `/users/{id}`: a plain segment after an entity set that has keys is the key.
    let (key, tail) = match (&head.key, tail.split_first()) {
        (Some(k), _) => (Some(k.clone()), tail),
        (None, Some((s, rest))) if s.key.is_none() && keyed => {
            (Some(Key::Id(s.name.clone())), rest)
        }
        _ => (None, tail),
    };
    let mut rest = Vec::new();
    for s in tail {
        rest.push(s.name.clone());
        if let Some(k) = &s.key {
            rest.push(k.value().to_string());
        }
    }
    Some(Addressed {
        name: head.name.clone(),
        key,
        rest,
    })
}

/// A request matched to its route.
#[derive(Clone)]
struct Matched {
    route: &'static GraphRoute,
    key: Option<Key>,
    id: Option<String>,
}

impl Matched {
    fn build(self, q: QueryOptions, body: Value) -> GraphRequest {
        (self.route.build)(Target {
            key: self.key,
            id: self.id,
            q,
            body,
        })
    }
}

/// The route a method and path (after the version) name, or Graph's refusal: a method the
/// target does not take, or the first segment Graph does not know.
fn route(method: &Method, path: &str) -> Result<Matched, GraphError> {
    let Some(path) = addressed(path) else {
        return Err(GraphError::SegmentNotFound {
            segment: String::new(),
        });
    };
    let mut fits = ROUTES
        .iter()
        .filter_map(|r| r.matches(&path).map(|id| (r, id)))
        .peekable();
    if fits.peek().is_none() {
        let (known, _) = entity_set(&path.name);
        let segment = match path.rest.last() {
            Some(last) if known => last.clone(),
            _ => path.name.clone(),
        };
        return Err(GraphError::SegmentNotFound { segment });
    }
    let (route, id) = fits
        .find(|(r, _)| r.method == method)
        .ok_or(GraphError::MethodNotAllowed)?;
    Ok(Matched {
        route,
        key: path.key,
        id,
    })
}

/// A Graph request's route, as `classify` found it (in the request's extensions).
#[derive(Clone)]
struct Routed(Result<Matched, GraphError>);

/// `v1.0` or `beta`, and the path after it.
fn split_version(path: &str) -> (&str, &str) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((v, rest)) => (v, rest),
        None => (trimmed, ""),
    }
}

pub fn routes() -> Router<MockState> {
    Router::new()
        .route("/v1.0/{*rest}", any(graph))
        .route("/beta/{*rest}", any(graph))
        // The versions without a path: no Graph resource, but Graph's side.
        .route("/v1.0", any(limits::not_found))
        .route("/v1.0/", any(limits::not_found))
        .route("/beta", any(limits::not_found))
        .route("/beta/", any(limits::not_found))
}

/// How Graph is observed.
pub const OBSERVED: Observed = Observed {
    classify,
    fault_error: graph_json::fault_code,
    inject: graph_json::injected,
};

/// The route (left in the request's extensions for the handler) and so the operation; the
/// tenant and client the bearer token names.
fn classify(state: &MockState, parts: &mut Parts, _body: &Bytes) -> Classified {
    let (_, path) = split_version(parts.uri.path());
    let routed = route(&parts.method, path);
    let operation = routed.as_ref().ok().map(|m| m.route.operation);
    parts.extensions.insert(Routed(routed));
    let (tenant, client_id) = bearer::identify(state, &parts.headers);
    Classified {
        operation,
        tenant,
        client_id,
    }
}

fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

async fn graph(State(state): State<MockState>, mut parts: Parts, body: Bytes) -> Response {
    let ids = RequestIds::new(&parts.headers);
    let classified = match parts.extensions.get::<Classified>() {
        Some(c) => c.clone(),
        None => classify(&state, &mut parts, &body),
    };
    let handle = match classified.tenant {
        Ok(h) => h,
        Err(why) => {
            return graph_json::refusal(&bearer::refusal(why), &ids, OffsetDateTime::now_utc());
        }
    };
    let routed = parts
        .extensions
        .remove::<Routed>()
        .map(|r| r.0)
        .unwrap_or_else(|| route(&parts.method, split_version(parts.uri.path()).1));
    let lag = parts.extensions.get::<ReplicationLag>().map(|l| l.0);
    let pairs = query_pairs(&parts);
    let (outcome, now) = {
        let mut t = lock(&handle);
        let now = t.now();
        let outcome = (|| {
            let caller = auth::authenticate(&t, bearer::token(&parts.headers), GRAPH_APP_ID)?;
            let q = QueryOptions::parse(&pairs)?;
            let body = graph_json::payload(&body)?;
            let req = routed?.build(q, body);
            execute(&mut t, &caller, req, lag)
        })();
        (outcome, now)
    };
    match outcome {
        Ok(reply) => {
            let base = base_url(&parts);
            let at = Location {
                base: &base,
                version: split_version(parts.uri.path()).0,
                path: parts.uri.path(),
                query: &pairs,
            };
            graph_json::reply(reply, &at, &ids)
        }
        Err(e) => graph_json::refusal(&e, &ids, now),
    }
}

/// A request for every route (method and path), for tests that walk the table.
#[cfg(test)]
pub(super) fn examples() -> Vec<(Method, String)> {
    ROUTES
        .iter()
        .map(|r| {
            let path = r
                .pattern
                .replace("{key}", "11111111-2222-3333-4444-555555555555")
                .replace("{id}", "x");
            (r.method.clone(), format!("/v1.0/{path}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(method: Method, path: &str) -> Option<Operation> {
        route(&method, split_version(path).1)
            .ok()
            .map(|m| m.route.operation)
    }

    #[test]
    fn addressing_forms() {
        let forms = [
            "servicePrincipals(appId='6bf85cfa-ac8a-4be5-b5de-425a0d0dc016')",
            "servicePrincipals/(appId='6bf85cfa-ac8a-4be5-b5de-425a0d0dc016')",
            "servicePrincipals(appId=\u{2018}6bf85cfa-ac8a-4be5-b5de-425a0d0dc016\u{2019})",
            "servicePrincipals(appId=%276bf85cfa-ac8a-4be5-b5de-425a0d0dc016%27)",
        ];
        for f in forms {
            let req = route(&Method::GET, f).map(|m| m.build(QueryOptions::default(), Value::Null));
            match req {
                Ok(GraphRequest::Get(ServicePrincipals, Key::Alt { property, value }, _)) => {
                    assert_eq!(property, "appId", "{f}");
                    assert_eq!(value, "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016", "{f}");
                }
                Ok(other) => panic!("{f}: {other:?}"),
                Err(e) => panic!("{f}: {e:?}"),
            }
        }
        assert_eq!(
            operation(Method::POST, "/v1.0/applications(appId='x')/addKey"),
            Some(Operation::AddKey)
        );
        assert_eq!(
            operation(
                Method::POST,
                "/beta/servicePrincipals/abc/appRoleAssignments"
            ),
            Some(Operation::AppRoleAssignmentsCreate)
        );
        assert_eq!(operation(Method::GET, "/v1.0/nothing"), None);
        assert!(matches!(
            route(&Method::PUT, "applications"),
            Err(GraphError::MethodNotAllowed)
        ));
        assert!(matches!(
            route(&Method::POST, "users/x/addKey"),
            Err(GraphError::SegmentNotFound { segment }) if segment == "addKey"
        ));
    }

    #[test]
    fn every_route_matches_its_own_example() {
        for ((method, path), r) in examples().into_iter().zip(&ROUTES) {
            assert_eq!(operation(method, &path), Some(r.operation), "{path}");
        }
    }
}
