//! What the first-party service models remember about a tenant (the synchronization service's
//! export status, the registered password-writeback client): part of the directory, so that it
//! is in snapshots and replication lag holds its writes back like any other. The rules that
//! change it are in `graph::services`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The service models' state (a snapshot's `services`). A member at its default value is left
/// out when written, so the empty state is `{}` and a directory without a `services` member is
/// the same JSON as one with an empty state (replication compares directories as JSON).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_premises_sync_enabled: bool,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_export: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exported_objects: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_writeback: Option<WritebackClient>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ServiceState {
    pub fn is_empty(&self) -> bool {
        *self == ServiceState::default()
    }
}

/// The registered password-writeback client.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WritebackClient {
    pub client_version: String,
    /// The appId (application callers) or user id (sync account) that registered it.
    pub registered_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_date_time: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_refresh_date_time: Option<OffsetDateTime>,
}
