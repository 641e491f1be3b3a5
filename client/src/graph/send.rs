//! The one send path of Graph-style calls: [`GraphClient`](super::GraphClient) and the
//! first-party service models' client both go through [`Sender`]. A request carries the bearer
//! token, `Accept: application/json`, its JSON body and a fresh `client-request-id`; 429 and
//! 5xx answers are retried within the [`RetryPolicy`], honouring `Retry-After`; a refusal
//! becomes [`GraphError::Service`] or [`GraphError::Unexpected`], and a success body that does
//! not parse [`GraphError::Decode`], each with the raw answer kept.

use std::sync::Arc;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::http::{HttpRequest, HttpResponse, HttpTransport};
use crate::retry::{RetryPolicy, Sleeper, send_with_retry};
use crate::token::AccessToken;

use super::error::GraphError;

/// Sends Graph-style requests over one transport, with one retry policy.
#[derive(Debug, Clone)]
pub struct Sender {
    http: Arc<dyn HttpTransport>,
    sleeper: Arc<dyn Sleeper>,
    retry: RetryPolicy,
}

impl Sender {
    pub fn new(
        http: Arc<dyn HttpTransport>,
        sleeper: Arc<dyn Sleeper>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            sleeper,
            retry,
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sends one call: its answer when the status is 2xx, otherwise the refusal as an error.
    pub async fn send(
        &self,
        method: Method,
        url: String,
        token: &AccessToken,
        body: Option<&Value>,
    ) -> Result<HttpResponse, GraphError> {
        let request = build_request(method, url, token.secret(), body);
        let response = send_with_retry(
            self.http.as_ref(),
            self.sleeper.as_ref(),
            &self.retry,
            &request,
        )
        .await?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(GraphError::refusal(&response))
        }
    }
}

/// Reads a success answer's JSON body as `T`; when it does not parse, the error keeps the body.
pub fn decode<T: DeserializeOwned>(response: &HttpResponse) -> Result<T, GraphError> {
    serde_json::from_slice(&response.body).map_err(|e| GraphError::Decode {
        status: response.status,
        reason: e.to_string(),
        raw_body: response.text(),
    })
}

/// The HTTP request for one call: bearer token, JSON body, a fresh client-request-id.
pub fn build_request(
    method: Method,
    url: String,
    token: &str,
    body: Option<&Value>,
) -> HttpRequest {
    let request = HttpRequest::new(method, url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json")
        .header("client-request-id", uuid::Uuid::new_v4().to_string());
    match body {
        Some(body) => request.json(body),
        None => request,
    }
}
