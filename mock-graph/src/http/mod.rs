//! The wire: axum routes over the core. Handlers parse a request, call the core, and render
//! the answer in the service's own format. `router` builds the whole service, so tests can
//! drive it without a socket; `server` serves it on a listener, with or without TLS.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use http::HeaderMap;
use http::request::Parts;

use crate::state::MockState;

pub mod control;
pub mod graph;
pub mod limits;
pub mod login;
pub mod server;
pub mod services;
pub mod tls;

/// The largest request body the mock takes (Entra's token endpoint takes far less). Enforced
/// in one place, `limits::enforce`, which reads every body before the handlers run.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What the connection told about a request: whether it came over TLS. Inserted by the server
/// loop; absent when a test drives the router directly, which then counts as plain HTTP.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionInfo {
    pub tls: bool,
}

/// The whole service.
pub fn router(state: MockState) -> Router {
    Router::new()
        .merge(login::routes())
        .merge(graph::routes())
        .merge(services::routes())
        .merge(control::routes())
        // Fault rules and the journal see every request but those of the control plane.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            control::observe,
        ))
        // `limits::enforce` has read the body within BODY_LIMIT already; a second limit here
        // would be a second place deciding it.
        .layer(DefaultBodyLimit::disable())
        // Outermost: limits, and every refusal in the service's own format.
        .layer(axum::middleware::from_fn(limits::enforce))
        .with_state(state)
}

/// `scheme://host[:port]` the request came to, so that every URL the mock hands out keeps the
/// client on the mock.
pub fn base_url(parts: &Parts) -> String {
    let tls = parts
        .extensions
        .get::<ConnectionInfo>()
        .is_some_and(|c| c.tls);
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", host(&parts.headers, &parts.uri))
}

fn host(headers: &HeaderMap, uri: &http::Uri) -> String {
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_string())
}
