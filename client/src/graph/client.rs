//! [`GraphClient`]: where Graph is, how it gets its bearer tokens ([`TokenSource`]), how an
//! object is named in a URL ([`ObjectRef`], percent-encoded path segments), and the calls the
//! operation modules build on (a JSON answer, an empty one), all sent through [`Sender`].

use std::fmt::Debug;
use std::sync::Arc;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use crate::cloud::Endpoints;
use crate::http::{BoxFuture, HttpResponse, HttpTransport};
use crate::ids::{ClientId, ObjectId};
use crate::retry::{RetryPolicy, Sleeper};
use crate::token::{AccessToken, CertificateCredential, TokenClient, TokenError};

use super::error::GraphError;
use super::send::{Sender, decode};

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
    sender: Sender,
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
            sender: Sender::new(http, sleeper, RetryPolicy::default()),
            endpoints,
            token,
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.sender = self.sender.with_retry(retry);
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
        decode(&self.send(method, url, body).await?)
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<&serde_json::Value>,
    ) -> Result<HttpResponse, GraphError> {
        let token = self.token.token().await?;
        self.sender.send(method, url, &token, body).await
    }

    pub(super) fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<String, GraphError> {
        let raw = self.endpoints.graph_url(path);
        let mut url = Url::parse(&raw).map_err(|e| GraphError::BadUrl {
            url: raw.clone(),
            reason: e.to_string(),
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url.into())
    }
}
