//! The test control plane under `/_mock/`: tenants, snapshots, clocks, fault rules and the
//! request journal, in-process on `MockState` and `Tenant` and here over HTTP, with answers and
//! refusals in the control plane's own JSON (`control_json`). Never part of Entra's surface.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{any, get, post};
use entra_tenant::faults::FaultSpec;
use entra_tenant::fixture::TenantFixture;
use entra_tenant::ids::TenantId;
use entra_tenant::json;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::control_json::{self, ControlError};
use super::limits;
use crate::state::{MockState, TenantHandle, lock};

pub fn routes() -> Router<MockState> {
    Router::new()
        .route("/_mock/tenants", post(create_tenant))
        .route(
            "/_mock/tenants/{tid}/snapshot",
            get(get_snapshot).put(put_snapshot),
        )
        .route("/_mock/tenants/{tid}/clock", get(get_clock).post(set_clock))
        .route(
            "/_mock/tenants/{tid}/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route(
            "/_mock/tenants/{tid}/requests",
            get(list_requests).delete(clear_requests),
        )
        // The rest of `/_mock/` is the control plane's too: not found, in its format.
        .route("/_mock", any(limits::not_found))
        .route("/_mock/", any(limits::not_found))
        .route("/_mock/{*rest}", any(limits::not_found))
}

fn tenant(state: &MockState, tid: &str) -> Result<(TenantId, TenantHandle), ControlError> {
    let id: TenantId = tid
        .parse()
        .map_err(|_| ControlError::NotATenantId(tid.to_string()))?;
    state
        .tenant(id)
        .map(|h| (id, h))
        .ok_or(ControlError::NoTenant(id))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

async fn create_tenant(
    State(state): State<MockState>,
    body: Bytes,
) -> Result<Response, ControlError> {
    let value: Value = serde_json::from_slice(&body).map_err(ControlError::NotJson)?;
    let (id, domain) = if value.as_object().is_some_and(|o| o.is_empty()) {
        state.add_default_copy()?
    } else {
        let fixture = TenantFixture::from_json(&value.to_string())?;
        let domain = fixture.tenant.initial_domain.clone();
        (state.add_fixture(fixture)?, domain)
    };
    Ok(control_json::ok(
        StatusCode::CREATED,
        json!({"id": id.to_string(), "domain": domain}),
    ))
}

async fn get_snapshot(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Response, ControlError> {
    let (_, handle) = tenant(&state, &tid)?;
    let snapshot = lock(&handle).to_fixture();
    let value = serde_json::to_value(&snapshot).map_err(ControlError::Snapshot)?;
    Ok(control_json::ok(StatusCode::OK, value))
}

async fn put_snapshot(
    State(state): State<MockState>,
    Path(tid): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ControlError> {
    let (id, _) = tenant(&state, &tid)?;
    let fixture = TenantFixture::from_json(&String::from_utf8_lossy(&body))?;
    state.replace_tenant(id, fixture)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_clock(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Response, ControlError> {
    let (_, h) = tenant(&state, &tid)?;
    let now = lock(&h).now();
    Ok(control_json::ok(
        StatusCode::OK,
        json!({"now": rfc3339(now)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    advance_seconds: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    set: Option<OffsetDateTime>,
}

async fn set_clock(
    State(state): State<MockState>,
    Path(tid): Path<String>,
    body: Bytes,
) -> Result<Response, ControlError> {
    let (_, handle) = tenant(&state, &tid)?;
    let change: ClockChange = json::from_slice(&body).map_err(ControlError::ClockChange)?;
    let mut t = lock(&handle);
    match (change.advance_seconds, change.set) {
        (Some(n), None) => t.try_advance_clock(Duration::seconds(n)).map_err(|error| {
            ControlError::ClockOutOfRange {
                field: "advance_seconds",
                error,
            }
        })?,
        (None, Some(at)) => t
            .set_clock(at)
            .map_err(|error| ControlError::ClockOutOfRange {
                field: "set",
                error,
            })?,
        _ => return Err(ControlError::ClockAmbiguous),
    }
    // Writes held back by replication lag may be due now.
    t.settle_replication();
    Ok(control_json::ok(
        StatusCode::OK,
        json!({"now": rfc3339(t.now())}),
    ))
}

async fn add_fault(
    State(state): State<MockState>,
    Path(tid): Path<String>,
    body: Bytes,
) -> Result<Response, ControlError> {
    let (_, handle) = tenant(&state, &tid)?;
    let spec = FaultSpec::from_json(&body)?;
    let id = lock(&handle).controls.faults.add(spec)?;
    Ok(control_json::ok(StatusCode::CREATED, json!({ "id": id })))
}

async fn list_faults(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Response, ControlError> {
    let (_, h) = tenant(&state, &tid)?;
    let rules = lock(&h).controls.faults.list();
    Ok(control_json::ok(StatusCode::OK, json!({ "value": rules })))
}

async fn clear_faults(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<StatusCode, ControlError> {
    let (_, h) = tenant(&state, &tid)?;
    lock(&h).controls.faults.clear();
    Ok(StatusCode::NO_CONTENT)
}

async fn list_requests(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<Response, ControlError> {
    let (_, h) = tenant(&state, &tid)?;
    let entries = lock(&h).controls.journal.entries();
    Ok(control_json::ok(
        StatusCode::OK,
        json!({ "value": entries }),
    ))
}

async fn clear_requests(
    State(state): State<MockState>,
    Path(tid): Path<String>,
) -> Result<StatusCode, ControlError> {
    let (_, h) = tenant(&state, &tid)?;
    lock(&h).controls.journal.clear();
    Ok(StatusCode::NO_CONTENT)
}
