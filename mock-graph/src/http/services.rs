//! The first-party service models on the wire (see `mock-graph/SERVICES.md`): the
//! synchronization service under `/adsync/v1/` and the password-writeback service under
//! `/passwordwriteback/v1/`. Every route is declared once, in `ROUTES` (method, path,
//! operation, core request); `classify` names a request's operation from the route that
//! matched. Bearer tokens are checked as Graph checks them, for the service's own resource;
//! answers and errors use Graph's format.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, State};
use axum::response::Response;
use axum::routing::{MethodFilter, any, on};
use entra_tenant::graph::auth;
use entra_tenant::graph::services::{self, ServiceRequest};
use entra_tenant::operation::Operation;
use http::Method;
use http::request::Parts;
use serde_json::Value;
use time::OffsetDateTime;

use super::bearer;
use super::graph_json::{self, RequestIds};
use super::limits;
use super::observe::{Classified, Observed, ReplicationLag};
use super::status::status_code;
use crate::state::{MockState, lock};

/// One service route.
struct ServiceRoute {
    method: Method,
    path: &'static str,
    operation: Operation,
    request: fn(Value) -> ServiceRequest,
}

/// Every service route.
static ROUTES: [ServiceRoute; 7] = [
    ServiceRoute {
        method: Method::POST,
        path: "/adsync/v1/export",
        operation: Operation::AdsyncExport,
        request: ServiceRequest::Export,
    },
    ServiceRoute {
        method: Method::GET,
        path: "/adsync/v1/status",
        operation: Operation::AdsyncStatus,
        request: |_| ServiceRequest::SyncStatus,
    },
    ServiceRoute {
        method: Method::POST,
        path: "/adsync/v1/registerApplication",
        operation: Operation::AdsyncRegisterApplication,
        request: ServiceRequest::RegisterApplication,
    },
    ServiceRoute {
        method: Method::POST,
        path: "/passwordwriteback/v1/registerClientVersion",
        operation: Operation::PasswordWritebackRegisterClientVersion,
        request: ServiceRequest::WritebackRegister,
    },
    ServiceRoute {
        method: Method::POST,
        path: "/passwordwriteback/v1/refresh",
        operation: Operation::PasswordWritebackRefresh,
        request: |_| ServiceRequest::WritebackRefresh,
    },
    ServiceRoute {
        method: Method::POST,
        path: "/passwordwriteback/v1/offboard",
        operation: Operation::PasswordWritebackOffboard,
        request: |_| ServiceRequest::WritebackOffboard,
    },
    ServiceRoute {
        method: Method::GET,
        path: "/passwordwriteback/v1/client",
        operation: Operation::PasswordWritebackGet,
        request: |_| ServiceRequest::WritebackGet,
    },
];

/// The service models' routes, and the rest of their paths (answered as not found, in
/// Graph's format).
pub fn routes() -> Router<MockState> {
    let router = ROUTES.iter().fold(Router::new(), |router, r| {
        let filter = MethodFilter::try_from(r.method.clone())
            .expect("a service route's method is a standard one");
        router.route(
            r.path,
            on(filter, move |state, parts, body| {
                call(r, state, parts, body)
            }),
        )
    });
    ["/adsync", "/passwordwriteback"]
        .into_iter()
        .fold(router, |router, prefix| {
            router
                .route(prefix, any(limits::not_found))
                .route(&format!("{prefix}/"), any(limits::not_found))
                .route(&format!("{prefix}/{{*rest}}"), any(limits::not_found))
        })
}

/// How the service models are observed.
pub const OBSERVED: Observed = Observed {
    classify,
    fault_error: graph_json::fault_code,
    inject: graph_json::injected,
};

/// The operation of the route that matched; the tenant and client the bearer token names.
fn classify(state: &MockState, parts: &mut Parts, _body: &Bytes) -> Classified {
    let operation = parts.extensions.get::<MatchedPath>().and_then(|matched| {
        ROUTES
            .iter()
            .find(|r| r.path == matched.as_str() && r.method == parts.method)
            .map(|r| r.operation)
    });
    let (tenant, client_id) = bearer::identify(state, &parts.headers);
    Classified {
        operation,
        tenant,
        client_id,
    }
}

async fn call(
    route: &'static ServiceRoute,
    State(state): State<MockState>,
    parts: Parts,
    body: Bytes,
) -> Response {
    let ids = RequestIds::new(&parts.headers);
    let tenant = match parts.extensions.get::<Classified>() {
        Some(c) => c.tenant.clone(),
        None => bearer::identify(&state, &parts.headers).0,
    };
    let handle = match tenant {
        Ok(h) => h,
        Err(why) => {
            return graph_json::refusal(&bearer::refusal(why), &ids, OffsetDateTime::now_utc());
        }
    };
    let lag = parts.extensions.get::<ReplicationLag>().map(|l| l.0);
    let (outcome, now) = {
        let mut t = lock(&handle);
        let now = t.now();
        let outcome = (|| {
            let req = (route.request)(graph_json::payload(&body)?);
            let caller =
                auth::authenticate(&t, bearer::token(&parts.headers), req.resource(t.cloud))?;
            services::execute(&mut t, &caller, req, lag)
        })();
        (outcome, now)
    };
    match outcome {
        Ok(reply) => graph_json::json_response(status_code(reply.status), reply.body, &ids),
        Err(e) => graph_json::refusal(&e, &ids, now),
    }
}

/// A request for every route (method and path), for tests that walk the table.
#[cfg(test)]
pub(super) fn examples() -> Vec<(Method, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method.clone(), r.path.to_string()))
        .collect()
}
