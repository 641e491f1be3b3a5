//! The first-party service models on the wire (see `mock-graph/SERVICES.md`): the
//! synchronization service under `/adsync/v1/` and the password-writeback service under
//! `/passwordwriteback/v1/`. Bearer tokens are checked as Graph checks them, for the service's
//! own resource; errors use Graph's error format.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::request::Parts;
use http::{Method, header};
use time::OffsetDateTime;

use crate::core::graph::GraphError;
use crate::core::graph::auth;
use crate::core::graph::services::{self, ServiceRequest};
use crate::state::{MockState, lock};

use super::control::ReplicationLag;
use super::graph::{RequestIds, error_response, json_body, json_response, tenant_of_bearer};

pub fn routes() -> Router<MockState> {
    Router::new()
        .route("/adsync/v1/export", post(call))
        .route("/adsync/v1/status", get(call))
        .route("/adsync/v1/registerApplication", post(call))
        .route("/passwordwriteback/v1/registerClientVersion", post(call))
        .route("/passwordwriteback/v1/refresh", post(call))
        .route("/passwordwriteback/v1/offboard", post(call))
        .route("/passwordwriteback/v1/client", get(call))
}

/// The operation name of a service path, for faults and the journal.
pub fn operation_of(method: &Method, path: &str) -> Option<&'static str> {
    Some(match (method.as_str(), path) {
        ("POST", "/adsync/v1/export") => "adsync.export",
        ("GET", "/adsync/v1/status") => "adsync.status",
        ("POST", "/adsync/v1/registerApplication") => "adsync.registerApplication",
        ("POST", "/passwordwriteback/v1/registerClientVersion") => {
            "passwordWriteback.registerClientVersion"
        }
        ("POST", "/passwordwriteback/v1/refresh") => "passwordWriteback.refresh",
        ("POST", "/passwordwriteback/v1/offboard") => "passwordWriteback.offboard",
        ("GET", "/passwordwriteback/v1/client") => "passwordWriteback.get",
        _ => return None,
    })
}

fn request(path: &str, body: serde_json::Value) -> Option<ServiceRequest> {
    Some(match path {
        "/adsync/v1/export" => ServiceRequest::Export(body),
        "/adsync/v1/status" => ServiceRequest::SyncStatus,
        "/adsync/v1/registerApplication" => ServiceRequest::RegisterApplication(body),
        "/passwordwriteback/v1/registerClientVersion" => ServiceRequest::WritebackRegister(body),
        "/passwordwriteback/v1/refresh" => ServiceRequest::WritebackRefresh,
        "/passwordwriteback/v1/offboard" => ServiceRequest::WritebackOffboard,
        "/passwordwriteback/v1/client" => ServiceRequest::WritebackGet,
        _ => return None,
    })
}

async fn call(State(state): State<MockState>, parts: Parts, body: Bytes) -> Response {
    let ids = RequestIds::new(&parts.headers);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let handle = match tenant_of_bearer(&state, authorization) {
        Ok(h) => h,
        Err(e) => return error_response(&e, &ids, OffsetDateTime::now_utc()),
    };
    let lag = parts.extensions.get::<ReplicationLag>().map(|l| l.0);
    let (outcome, now) = {
        let mut t = lock(&handle);
        let now = t.now();
        let outcome = (|| {
            let req = request(parts.uri.path(), json_body(&body)?).ok_or_else(|| {
                GraphError::OData(format!(
                    "Resource not found for the segment '{}'.",
                    parts.uri.path()
                ))
            })?;
            let caller = auth::authenticate(&t, authorization, req.resource(t.cloud))?;
            services::execute(&mut t, &caller, req, lag)
        })();
        (outcome, now)
    };
    match outcome {
        Ok(reply) => json_response(reply.status, reply.body, &ids),
        Err(e) => error_response(&e, &ids, now),
    }
}
