//! Why a Graph call failed. Graph's error answer becomes [`GraphServiceError`] with the raw
//! body kept. [`GraphError`] tells the server's answers (a refusal, in Graph's format or not;
//! a success the client cannot read) from what went wrong on this side (no answer, no token,
//! a proof not signed, a certificate that cannot be read, a bad URL, a paging bound).

use serde::Deserialize;

use crate::cert::CertError;
use crate::http::{HttpResponse, TransportError};
use crate::keys::KeyError;
use crate::token::TokenError;

/// Graph's error answer: `{"error":{"code","message","innerError":{"request-id",...}}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Graph {code} (HTTP {status}): {message}")]
pub struct GraphServiceError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub raw_body: String,
}

impl GraphServiceError {
    /// Parses a Graph error body; the `request-id` header fills in when innerError lacks it.
    pub fn parse(response: &HttpResponse) -> Option<Self> {
        #[derive(Deserialize)]
        struct Wire {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            code: String,
            #[serde(default)]
            message: String,
            #[serde(default, alias = "innererror", rename = "innerError")]
            inner: Option<InnerError>,
        }
        #[derive(Deserialize)]
        struct InnerError {
            #[serde(rename = "request-id")]
            request_id: Option<String>,
            #[serde(rename = "client-request-id")]
            client_request_id: Option<String>,
        }
        let raw_body = response.text();
        let wire: Wire = serde_json::from_str(&raw_body).ok()?;
        let inner = wire.error.inner;
        Some(Self {
            status: response.status,
            code: wire.error.code,
            message: wire.error.message,
            request_id: inner
                .as_ref()
                .and_then(|i| i.request_id.clone())
                .or_else(|| response.header("request-id").map(str::to_owned)),
            client_request_id: inner
                .and_then(|i| i.client_request_id)
                .or_else(|| response.header("client-request-id").map(str::to_owned)),
            raw_body,
        })
    }
}

/// Why a Graph call failed. [`GraphError::Service`], [`GraphError::Unexpected`] and
/// [`GraphError::Decode`] are the server's answer (kept raw); the other variants say what went
/// wrong on this side before or without one.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Graph (or a service model) refused, with its error JSON.
    #[error(transparent)]
    Service(Box<GraphServiceError>),
    /// A refusal whose body is not Graph's error JSON (a proxy page, a gateway).
    #[error("unexpected Graph answer (HTTP {status}): not a Graph error body")]
    Unexpected { status: u16, raw_body: String },
    /// A success whose body is not what the call returns.
    #[error("unreadable Graph answer (HTTP {status}): {reason}")]
    Decode {
        status: u16,
        reason: String,
        raw_body: String,
    },
    /// The organization list came back empty.
    #[error("Graph listed no organization")]
    NoOrganization,
    /// A collection kept handing out `@odata.nextLink`s past the client's bound.
    #[error("more than {pages} pages at {path}")]
    TooManyPages { path: String, pages: usize },
    /// No HTTP answer.
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("cannot get a Graph token: {0}")]
    Token(Box<TokenError>),
    #[error("cannot sign the proof of possession: {0}")]
    Signing(#[from] KeyError),
    /// The certificate to upload cannot be read (its validity and subject go into the
    /// keyCredential).
    #[error("cannot describe the certificate as a keyCredential: {0}")]
    Certificate(CertError),
    /// The endpoints and path do not make a URL.
    #[error("bad URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
}

impl From<GraphServiceError> for GraphError {
    fn from(error: GraphServiceError) -> Self {
        GraphError::Service(Box::new(error))
    }
}

impl From<TokenError> for GraphError {
    fn from(error: TokenError) -> Self {
        GraphError::Token(Box::new(error))
    }
}

impl GraphError {
    /// A refusal (an answer outside 2xx): Graph's error JSON, or an answer that is not one.
    pub fn refusal(response: &HttpResponse) -> Self {
        match GraphServiceError::parse(response) {
            Some(e) => e.into(),
            None => GraphError::Unexpected {
                status: response.status,
                raw_body: response.text(),
            },
        }
    }

    /// Graph's error code, when Graph gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Service(e) => Some(&e.code),
            _ => None,
        }
    }
}
