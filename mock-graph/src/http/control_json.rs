//! The control plane's wire format: JSON answers, and `{"error": "<what is wrong>"}` for every
//! refusal. `ControlError` is every refusal the control plane gives, each with its status.

use axum::response::{IntoResponse, Response};
use entra_tenant::clock::ClockOutOfRange;
use entra_tenant::faults::FaultError;
use entra_tenant::fixture::FixtureError;
use entra_tenant::ids::TenantId;
use http::{StatusCode, header};
use serde_json::{Value, json};

use crate::state::{AddTenantError, ReplaceTenantError};

/// A JSON answer.
pub fn ok(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A refusal: `{"error": message}`.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    ok(status, json!({ "error": message }))
}

/// A refused control-plane request.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("`{0}` is not a tenant id (a GUID)")]
    NotATenantId(String),
    #[error("no tenant {0}")]
    NoTenant(TenantId),
    #[error("the body is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    #[error(transparent)]
    AddTenant(#[from] AddTenantError),
    #[error(transparent)]
    ReplaceTenant(#[from] ReplaceTenantError),
    /// The snapshot could not be written as JSON (a bug).
    #[error("{0}")]
    Snapshot(serde_json::Error),
    #[error("expected {{\"advance_seconds\": N}} or {{\"set\": \"<RFC 3339>\"}}: {0}")]
    ClockChange(String),
    #[error("give exactly one of `advance_seconds` and `set`")]
    ClockAmbiguous,
    /// A clock move out of range; `field` is the member that asked for it.
    #[error("`{field}`: {error}")]
    ClockOutOfRange {
        field: &'static str,
        error: ClockOutOfRange,
    },
    #[error(transparent)]
    Fault(#[from] FaultError),
}

impl ControlError {
    pub fn status(&self) -> StatusCode {
        match self {
            ControlError::NotATenantId(_)
            | ControlError::NotJson(_)
            | ControlError::Fixture(_)
            | ControlError::ClockChange(_)
            | ControlError::ClockAmbiguous
            | ControlError::ClockOutOfRange { .. }
            | ControlError::Fault(_) => StatusCode::BAD_REQUEST,
            ControlError::NoTenant(_) => StatusCode::NOT_FOUND,
            ControlError::AddTenant(e) => match e {
                AddTenantError::Duplicate(_) => StatusCode::CONFLICT,
                AddTenantError::Fixture(_) => StatusCode::BAD_REQUEST,
            },
            ControlError::ReplaceTenant(e) => match e {
                ReplaceTenantError::NotFound(_) => StatusCode::NOT_FOUND,
                ReplaceTenantError::Duplicate(_) => StatusCode::CONFLICT,
                ReplaceTenantError::OtherTenant { .. } | ReplaceTenantError::Fixture(_) => {
                    StatusCode::BAD_REQUEST
                }
            },
            ControlError::Snapshot(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        error_response(self.status(), &self.to_string())
    }
}
