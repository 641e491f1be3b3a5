//! The first-party services the sync server calls besides Graph: the synchronization service
//! (exports, and application registration for automatic onboarding) and the password-writeback
//! service. Their real protocols are not public; the client speaks the documented models of
//! `mock-graph/SERVICES.md` at a configurable base URL. What matters for authentication is
//! real: each call carries a bearer token for the service's own resource, and goes through
//! Graph's send path ([`Sender`]: retries, refusals as Graph-style errors with the raw answer
//! kept).

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;

use crate::graph::GraphError;
use crate::graph::send::{Sender, decode};
use crate::http::HttpTransport;
use crate::retry::{RetryPolicy, Sleeper};
use crate::token::AccessToken;

/// appId of the Microsoft password reset service in every cloud but US Government.
pub const PASSWORD_RESET_APP_ID: &str = "93625bc8-bfe2-437a-97e0-3d0060024faa";
/// appId of the Microsoft password reset service in the US Government cloud.
pub const PASSWORD_RESET_APP_ID_USGOV: &str = "2e5ecfc8-ea79-48bd-8140-c19324acb278";

/// Calls the service models at one base URL.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    sender: Sender,
    base: String,
}

impl ServiceClient {
    pub fn new(
        http: Arc<dyn HttpTransport>,
        sleeper: Arc<dyn Sleeper>,
        retry: RetryPolicy,
        base: &str,
    ) -> Self {
        Self {
            sender: Sender::new(http, sleeper, retry),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// `POST /adsync/v1/export`: one delta of directory objects.
    pub async fn export(&self, token: &AccessToken, body: &Value) -> Result<Value, GraphError> {
        self.call(Method::POST, "/adsync/v1/export", token, Some(body))
            .await
    }

    /// `POST /adsync/v1/registerApplication`: automatic onboarding, as the sync account.
    pub async fn register_application(
        &self,
        token: &AccessToken,
        body: &Value,
    ) -> Result<Value, GraphError> {
        self.call(
            Method::POST,
            "/adsync/v1/registerApplication",
            token,
            Some(body),
        )
        .await
    }

    /// `POST /passwordwriteback/v1/registerClientVersion`.
    pub async fn register_writeback_client(
        &self,
        token: &AccessToken,
        version: &str,
    ) -> Result<Value, GraphError> {
        let body = serde_json::json!({ "clientVersion": version });
        self.call(
            Method::POST,
            "/passwordwriteback/v1/registerClientVersion",
            token,
            Some(&body),
        )
        .await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &AccessToken,
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let url = format!("{}{path}", self.base);
        let response = self.sender.send(method, url, token, body).await?;
        if response.body.is_empty() {
            return Ok(Value::Null);
        }
        decode(&response)
    }
}
