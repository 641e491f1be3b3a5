//! [`GraphClient`]: where Graph is, how it gets its bearer tokens ([`TokenSource`]), how an
//! object is named in a URL ([`ObjectRef`], percent-encoded path segments), and the send path
//! every call goes through (retries honouring `Retry-After`, Graph's error JSON with the raw
//! answer kept).

use std::fmt::Debug;
use std::sync::Arc;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use crate::cloud::Endpoints;
use crate::http::{BoxFuture, HttpRequest, HttpResponse, HttpTransport};
use crate::ids::{ClientId, ObjectId};
use crate::retry::{RetryPolicy, Sleeper, send_with_retry};
use crate::token::{AccessToken, CertificateCredential, TokenClient, TokenError};

use super::error::{GraphError, GraphServiceError};

/// Supplies bearer tokens for Graph.
pub trait TokenSource: Send + Sync + Debug {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>>;
}

/// A token obtained elsewhere (e.g. an administrator's ROPC sign-in).
#[derive(Debug, Clone)]
pub struct StaticToken(pub AccessToken);

impl TokenSource for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// App-only Graph tokens for an application identity, through the token cache.
#[derive(Debug, Clone)]
pub struct AppTokenSource {
    pub client: Arc<TokenClient>,
    pub credential: CertificateCredential,
}

impl TokenSource for AppTokenSource {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            let resource = self.client.endpoints().graph_resource().to_owned();
            self.client.app_token(&self.credential, &resource).await
        })
    }
}

/// An application or service principal named by object id or by appId (alternate key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    Id(ObjectId),
    AppId(ClientId),
}

impl ObjectRef {
    pub(super) fn path(&self, collection: &str) -> String {
        match self {
            ObjectRef::Id(id) => format!("{collection}/{}", segment(id.as_str())),
            // OData string literals double their quotes.
            ObjectRef::AppId(app_id) => format!(
                "{collection}(appId='{}')",
                segment(&app_id.as_str().replace('\'', "''"))
            ),
        }
    }
}

/// What cannot appear raw in a URL path segment (RFC 3986); GUIDs, UPNs and quotes stay
/// readable, which is how Graph's own documentation writes these URLs.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

pub(super) fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// The Graph client.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: Arc<dyn HttpTransport>,
    sleeper: Arc<dyn Sleeper>,
    retry: RetryPolicy,
    pub(super) endpoints: Endpoints,
    token: Arc<dyn TokenSource>,
}

impl GraphClient {
    pub fn new(
        http: Arc<dyn HttpTransport>,
        sleeper: Arc<dyn Sleeper>,
        endpoints: Endpoints,
        token: Arc<dyn TokenSource>,
    ) -> Self {
        Self {
            http,
            sleeper,
            retry: RetryPolicy::default(),
            endpoints,
            token,
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub(super) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, GraphError> {
        let url = self.url(path, query)?;
        self.send_url(method, url, body).await
    }

    pub(super) async fn send_empty(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(), GraphError> {
        let url = self.url(path, &[])?;
        self.send(method, url, body).await.map(|_| ())
    }

    pub(super) async fn send_url<T: DeserializeOwned>(
        &self,
        method: Method,
        url: String,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GraphError> {
        let response = self.send(method, url, body).await?;
        serde_json::from_slice(&response.body).map_err(|e| GraphError::Unexpected {
            status: response.status,
            reason: e.to_string(),
            raw_body: response.text(),
        })
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<&serde_json::Value>,
    ) -> Result<HttpResponse, GraphError> {
        let token = self.token.token().await?;
        let request = build_request(method, url, token.secret(), body);
        let response = send_with_retry(
            self.http.as_ref(),
            self.sleeper.as_ref(),
            &self.retry,
            &request,
        )
        .await?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        Err(match GraphServiceError::parse(&response) {
            Some(e) => e.into(),
            None => GraphError::Unexpected {
                status: response.status,
                reason: "not a Graph error body".into(),
                raw_body: response.text(),
            },
        })
    }

    pub(super) fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<String, GraphError> {
        let raw = self.endpoints.graph_url(path);
        let mut url = Url::parse(&raw).map_err(|e| GraphError::Unexpected {
            status: 0,
            reason: format!("bad URL {raw}: {e}"),
            raw_body: String::new(),
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url.into())
    }
}

/// The HTTP request for one Graph call: bearer token, JSON body, a fresh client-request-id.
pub fn build_request(
    method: Method,
    url: String,
    token: &str,
    body: Option<&serde_json::Value>,
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
