//! The wire: axum routes over the `entra-tenant` rules, one module per wire format and one per
//! service. `router` builds the whole service from four sub-routers, each layered with its own
//! side: `limits` (outermost: body, header and URI limits, and every refusal no rule produced,
//! in the side's format) and, but for the control plane, `observe` (fault rules and the
//! journal). `server` serves the router on a listener, with or without TLS.
//!
//! - Wire formats: `entra_json` (Entra's error JSON), `graph_json` (Graph's JSON, ids and
//!   `@odata.context`), `control_json` (the control plane's JSON and `ControlError`);
//!   `status` (the rule tables' statuses on the wire), `origin` (the URL a request came to).
//! - Services: `login`, `graph`, `services` (the first-party service models), `control` (the
//!   control plane); `bearer` reads the bearer token Graph and the service models share.
//! - Layers: `side`, `limits`, `observe`. The transport: `server`, `tls`.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;

use crate::state::MockState;

mod bearer;
pub mod control;
pub mod control_json;
pub mod entra_json;
pub mod graph;
pub mod graph_json;
pub mod limits;
pub mod login;
pub mod observe;
pub mod origin;
pub mod server;
pub mod services;
pub mod side;
mod status;
pub mod tls;

pub use limits::BODY_LIMIT;
use observe::{Observed, Observer};
pub use origin::{ConnectionInfo, base_url};
use side::Side;

/// The whole service.
pub fn router(state: MockState) -> Router {
    let observed = |routes: Router<MockState>, side: Side, rules: Observed| {
        let observer = Observer {
            state: state.clone(),
            side: rules,
        };
        routes
            .layer(from_fn_with_state(observer, observe::observe))
            .layer(from_fn_with_state(side, limits::enforce))
    };
    Router::new()
        .merge(observed(login::routes(), Side::Login, login::OBSERVED))
        .merge(observed(graph::routes(), Side::Graph, graph::OBSERVED))
        .merge(observed(
            services::routes(),
            Side::Graph,
            services::OBSERVED,
        ))
        .merge(control::routes().layer(from_fn_with_state(Side::Control, limits::enforce)))
        // `limits::enforce` has read the body within BODY_LIMIT already; a second limit here
        // would be a second place deciding it.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use axum::body::Body;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use entra_tenant::fixture::TenantFixture;
    use entra_tenant::operation::Operation;
    use tower::ServiceExt;

    use super::*;

    /// Every operation is some route's: a request for each route of the three tables, to a
    /// tenant, is journaled with its operation, and together they name them all.
    #[tokio::test]
    async fn every_operation_is_reachable_by_some_route() {
        let state = MockState::from_fixtures(vec![TenantFixture::default_fixture()]).unwrap();
        let tid = "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d";
        // A bearer token that names the tenant, unverified: enough to be journaled there.
        let bearer = format!(
            "Bearer {}.{}.",
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode(format!("{{\"tid\":\"{tid}\"}}"))
        );
        let requests = login::examples(tid, "admin@contoso.onmicrosoft.com")
            .into_iter()
            .chain(graph::examples())
            .chain(services::examples());
        for (method, path) in requests {
            let req = http::Request::builder()
                .method(method)
                .uri(&path)
                .header("authorization", &bearer)
                .body(Body::empty())
                .unwrap();
            router(state.clone()).oneshot(req).await.unwrap();
        }
        let id = tid.parse().unwrap();
        let journaled: HashSet<Operation> = state
            .with_tenant(id, |t| t.controls.journal.entries())
            .unwrap()
            .into_iter()
            .filter_map(|e| e.operation)
            .collect();
        for op in Operation::ALL {
            assert!(journaled.contains(op), "no route reaches {op}");
        }
    }
}
