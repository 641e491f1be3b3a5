//! The control plane's endpoints for people (the inspector page) and the page itself. Like the
//! rest of `/_mock/`, they answer in the control plane's JSON, and the page does everything
//! through them and the other control-plane endpoints, so it holds no state of its own:
//!
//! - `GET /_mock/tenants`: every tenant (id, names, cloud);
//! - `GET /_mock/operations`: the operation names fault rules match;
//! - `GET /_mock/tenants/{tid}/summary`: the tenant as a person reads it
//!   (`entra_tenant::summary`: credentials with thumbprints, time left on the tenant's clock,
//!   expired / expiring / foreign marks; assignments, grants, users and their roles);
//! - `DELETE /_mock/tenants/{tid}/faults/{id}`: removes one fault rule;
//! - `GET /_mock/tenants/{tid}/requests/events`: the journal as server-sent events, a
//!   `snapshot` first (`{"value": [entries, oldest first]}`), then an `entry` per request and
//!   `cleared` when the journal is cleared;
//! - `GET /_mock/ui/`: the inspector page (`ui/` in this crate, embedded in the binary).

use std::convert::Infallible;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get};
use entra_tenant::operation::Operation;
use entra_tenant::summary::{TenantHeading, TenantSummary};
use futures::Stream;
use futures::stream::{self, StreamExt};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::control::tenant;
use super::control_json::{self, ControlError};
use crate::state::{JournalChange, MockState, lock};

pub fn routes() -> Router<MockState> {
    Router::new()
        .route("/_mock/tenants", get(list_tenants))
        .route("/_mock/operations", get(list_operations))
        .route("/_mock/tenants/{tid}/summary", get(summary))
        .route("/_mock/tenants/{tid}/faults/{id}", delete(remove_fault))
        .route("/_mock/tenants/{tid}/requests/events", get(journal_events))
        .route(
            "/_mock/ui",
            get(|| async { Redirect::permanent("/_mock/ui/") }),
        )
        .route("/_mock/ui/", get(|| async { asset(INDEX_HTML) }))
        .route(
            "/_mock/ui/inspector.js",
            get(|| async { asset(INSPECTOR_JS) }),
        )
        .route(
            "/_mock/ui/inspector.css",
            get(|| async { asset(INSPECTOR_CSS) }),
        )
}

async fn list_tenants(State(state): State<MockState>) -> Response {
    let tenants: Vec<TenantHeading> = state
        .tenants()
        .iter()
        .map(|h| TenantHeading::of(&lock(h)))
        .collect();
    control_json::ok(StatusCode::OK, json!({ "value": tenants }))
}

async fn list_operations() -> Response {
    let names: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
    control_json::ok(StatusCode::OK, json!({ "value": names }))
}

async fn summary(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Response, ControlError> {
    let (_, h) = tenant(&state, &tid)?;
    let summary = TenantSummary::of(&lock(&h));
    let value = serde_json::to_value(&summary).map_err(ControlError::Snapshot)?;
    Ok(control_json::ok(StatusCode::OK, value))
}

async fn remove_fault(
    State(state): State<MockState>,
    Path((tid, id)): Path<(String, String)>,
) -> Result<StatusCode, ControlError> {
    let (tenant_id, h) = tenant(&state, &tid)?;
    if lock(&h).controls.faults.remove(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ControlError::NoFaultRule {
            tenant: tenant_id,
            id,
        })
    }
}

/// How long a browser waits before it opens the stream again after it ended.
const RECONNECT: std::time::Duration = std::time::Duration::from_millis(500);

/// The journal, live. The snapshot is read and the feed joined under the tenant's lock, the
/// lock the journal is written under, so no request is missed or told twice. A listener that
/// falls behind the feed gets `restart` and the stream ends: the browser opens it again and
/// starts from a fresh snapshot. The stream also ends when the server closes.
async fn journal_events(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ControlError> {
    let (id, h) = tenant(&state, &tid)?;
    let (entries, feed) = {
        let t = lock(&h);
        (t.controls.journal.entries(), state.journal_feed())
    };
    let first = Event::default()
        .event("snapshot")
        .retry(RECONNECT)
        .data(json!({ "value": entries }).to_string());
    let changes = stream::unfold(
        (feed, state.closing(), false),
        move |(mut feed, mut closing, done)| async move {
            if done {
                return None;
            }
            loop {
                let received = tokio::select! {
                    r = feed.recv() => r,
                    _ = closing.wait_for(|c| *c) => return None,
                };
                let event = match received {
                    Ok(e) if e.tenant != id => continue,
                    Ok(e) => match e.change {
                        JournalChange::Recorded(entry) => Event::default()
                            .event("entry")
                            .data(json!(entry).to_string()),
                        JournalChange::Cleared => Event::default().event("cleared").data("{}"),
                    },
                    Err(RecvError::Lagged(_)) => {
                        let restart = Event::default().event("restart").data("{}");
                        return Some((Ok(restart), (feed, closing, true)));
                    }
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), (feed, closing, false)));
            }
        },
    );
    Ok(
        Sse::new(stream::once(async move { Ok(first) }).chain(changes))
            .keep_alive(KeepAlive::new()),
    )
}

/// An embedded file of the page.
struct Asset {
    content_type: &'static str,
    text: &'static str,
}

const INDEX_HTML: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    text: include_str!("../../ui/index.html"),
};
const INSPECTOR_JS: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    text: include_str!("../../ui/inspector.js"),
};
const INSPECTOR_CSS: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    text: include_str!("../../ui/inspector.css"),
};

/// The page talks to this origin only: no CDN, no inline script, no external font.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; \
     base-uri 'none'";

fn asset(a: Asset) -> Response {
    let mut resp = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        )],
        a.text,
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
