//! The one error type of the lifecycle operations. Each variant keeps what the failing layer
//! returned (the server's raw answer stays inside the Graph and token errors), so the CLI can
//! print it and tests can match on it.

use crate::cert::{ByocError, CertError};
use crate::config::ConfigError;
use crate::graph::GraphError;
use crate::http::TransportError;
use crate::ids::{ClientId, Sha256Hash};
use crate::keys::KeyError;
use crate::store::StoreError;
use crate::token::TokenError;

/// Why a lifecycle operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Certificate(#[from] CertError),
    #[error("the certificate {hash} cannot be used: {reason}")]
    Byoc {
        hash: Sha256Hash,
        #[source]
        reason: ByocError,
    },
    #[error(transparent)]
    Token(Box<TokenError>),
    #[error(transparent)]
    Graph(Box<GraphError>),
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The server is not in the state the operation needs (the message says which, and what
    /// to do).
    #[error("{0}")]
    Precondition(String),
    /// BYOA: the application lacks permissions; every missing one is named.
    #[error(
        "the application {app_id} is missing required permissions: {}. Grant them (app role assignments on the application's service principal) and run again",
        missing.join(", ")
    )]
    MissingPermissions {
        app_id: ClientId,
        missing: Vec<String>,
    },
    /// A blocking job (key generation, TPM commands) did not finish: it panicked or the
    /// runtime is shutting down.
    #[error("a background key operation did not finish: {0}")]
    Background(String),
    /// An answer the client cannot use.
    #[error("unexpected answer from {what}: {reason}")]
    Unexpected { what: String, reason: String },
}

impl From<TokenError> for LifecycleError {
    fn from(e: TokenError) -> Self {
        LifecycleError::Token(Box::new(e))
    }
}

impl From<GraphError> for LifecycleError {
    fn from(e: GraphError) -> Self {
        LifecycleError::Graph(Box::new(e))
    }
}

impl LifecycleError {
    /// The AADSTS code behind a token failure, also when it happened while getting a token
    /// for Graph.
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            LifecycleError::Token(e) => e.aadsts_code(),
            LifecycleError::Graph(g) => match g.as_ref() {
                GraphError::Token(t) => t.aadsts_code(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Graph's (or a service model's) error code, when it gave one.
    pub fn graph_code(&self) -> Option<&str> {
        match self {
            LifecycleError::Graph(g) => g.code(),
            _ => None,
        }
    }

    /// The HTTP status of a Graph or service refusal.
    pub fn graph_status(&self) -> Option<u16> {
        match self {
            LifecycleError::Graph(g) => match g.as_ref() {
                GraphError::Service(s) => Some(s.status),
                _ => None,
            },
            _ => None,
        }
    }
}
