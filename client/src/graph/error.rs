//! Why a Graph call failed. Graph's error answer becomes [`GraphServiceError`] with the raw
//! body kept; [`GraphError`] adds the failures that happen before or around it.

use serde::Deserialize;

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

/// Why a Graph call failed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Service(Box<GraphServiceError>),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("cannot get a Graph token: {0}")]
    Token(Box<TokenError>),
    #[error("cannot sign the proof of possession: {0}")]
    Signing(#[from] KeyError),
    #[error("unexpected Graph answer (HTTP {status}): {reason}")]
    Unexpected {
        status: u16,
        reason: String,
        raw_body: String,
    },
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
    /// Graph's error code, when Graph gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Service(e) => Some(&e.code),
            _ => None,
        }
    }
}
