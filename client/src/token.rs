//! Token acquisition from the v2.0 token endpoint: client credentials with a certificate
//! (client assertion) for the application identity, username/password (ROPC) for the legacy
//! service account and administrators; a per-resource cache that renews tokens before they
//! expire; bounded retries; Entra's AADSTS errors as typed values.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::assertion::{AssertionAlgorithm, client_assertion};
use crate::cert::Certificate;
use crate::clock::Clock;
use crate::cloud::{Endpoints, default_scope};
use crate::http::{HttpRequest, HttpResponse, HttpTransport, TransportError};
use crate::ids::{ClientId, TenantId};
use crate::keys::{KeyError, Signer};
use crate::retry::{RetryPolicy, Sleeper, send_with_retry};

/// `client_assertion_type` for a JWT bearer assertion (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long before expiry a cached token is renewed.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// An access token. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: String,
    expires_at: OffsetDateTime,
}

impl AccessToken {
    pub fn new(secret: impl Into<String>, expires_at: OffsetDateTime) -> Self {
        Self {
            secret: secret.into(),
            expires_at,
        }
    }

    /// The bearer token value.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// When it stops working, by the client's clock when it was received.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An OAuth error answer from the login service, with Entra's extra fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}{}: {summary} (HTTP {status})", .code.map(|c| format!(" AADSTS{c}")).unwrap_or_default())]
pub struct AadstsError {
    /// OAuth `error` (e.g. `invalid_client`).
    pub error: String,
    /// The AADSTS number from `error_codes[0]`.
    pub code: Option<u32>,
    /// `error_description` in full (with trace and correlation lines).
    pub description: String,
    /// The first line of the description, for messages.
    pub summary: String,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub status: u16,
    /// The body exactly as received.
    pub raw_body: String,
}

impl AadstsError {
    /// Parses an OAuth error body; `None` if it is not one.
    pub fn parse(status: u16, body: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Wire {
            error: String,
            #[serde(default)]
            error_description: String,
            #[serde(default)]
            error_codes: Vec<u32>,
            trace_id: Option<String>,
            correlation_id: Option<String>,
        }
        let wire: Wire = serde_json::from_str(body).ok()?;
        let summary = wire
            .error_description
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        Some(Self {
            error: wire.error,
            code: wire.error_codes.first().copied(),
            description: wire.error_description,
            summary,
            trace_id: wire.trace_id,
            correlation_id: wire.correlation_id,
            status,
            raw_body: body.to_owned(),
        })
    }
}

/// Why no token was obtained. `Aadsts`, `Unexpected` and `NotAToken` are the login service's
/// answer (kept raw); the others say what went wrong on this side.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The login service refused, with an OAuth/AADSTS error.
    #[error(transparent)]
    Aadsts(Box<AadstsError>),
    /// No HTTP answer.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A refusal that is not an OAuth error (proxy pages, gateways).
    #[error("unexpected answer from the token endpoint (HTTP {status}): not an OAuth error body")]
    Unexpected { status: u16, raw_body: String },
    /// A success that is not a usable token (a truncated body, another `token_type`, no
    /// lifetime).
    #[error("the token endpoint's answer is not a usable token (HTTP {status}): {reason}")]
    NotAToken {
        status: u16,
        reason: String,
        raw_body: String,
    },
    /// The client assertion could not be signed.
    #[error("cannot sign the client assertion: {0}")]
    Signing(#[from] KeyError),
    /// The signing task died.
    #[error("the signing task failed: {0}")]
    Join(String),
}

impl From<AadstsError> for TokenError {
    fn from(error: AadstsError) -> Self {
        TokenError::Aadsts(Box::new(error))
    }
}

impl TokenError {
    /// The AADSTS code, when the service gave one.
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            TokenError::Aadsts(e) => e.code,
            _ => None,
        }
    }
}

/// An application identity with a certificate credential.
#[derive(Debug, Clone)]
pub struct CertificateCredential {
    pub client_id: ClientId,
    pub certificate: Certificate,
    pub signer: Arc<dyn Signer>,
    pub algorithm: AssertionAlgorithm,
}

/// Talks to one tenant's token endpoint.
#[derive(Debug)]
pub struct TokenClient {
    http: Arc<dyn HttpTransport>,
    sleeper: Arc<dyn Sleeper>,
    clock: Arc<dyn Clock>,
    endpoints: Endpoints,
    tenant: TenantId,
    retry: RetryPolicy,
    cache: Mutex<HashMap<(ClientId, String), AccessToken>>,
}

impl TokenClient {
    pub fn new(
        http: Arc<dyn HttpTransport>,
        sleeper: Arc<dyn Sleeper>,
        clock: Arc<dyn Clock>,
        endpoints: Endpoints,
        tenant: TenantId,
    ) -> Self {
        Self {
            http,
            sleeper,
            clock,
            endpoints,
            tenant,
            retry: RetryPolicy::default(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The token endpoint URL (and assertion audience).
    pub fn token_url(&self) -> String {
        self.endpoints.token_url_v2(&self.tenant)
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// An app-only token for `resource` (e.g. `https://graph.microsoft.com` or the sync
    /// service's appId): from the cache while it has more than [`REFRESH_MARGIN`] left,
    /// otherwise a fresh client-credentials request.
    pub async fn app_token(
        &self,
        credential: &CertificateCredential,
        resource: &str,
    ) -> Result<AccessToken, TokenError> {
        let key = (credential.client_id.clone(), resource.to_owned());
        if let Some(token) = self.cached(&key) {
            return Ok(token);
        }
        let token = self.request_app_token(credential, resource).await?;
        self.lock_cache().insert(key, token.clone());
        Ok(token)
    }

    /// A client-credentials request, bypassing the cache.
    pub async fn request_app_token(
        &self,
        credential: &CertificateCredential,
        resource: &str,
    ) -> Result<AccessToken, TokenError> {
        let audience = self.token_url();
        let assertion = {
            let credential = credential.clone();
            let clock = self.clock.clone();
            let audience = audience.clone();
            // TPM signing blocks for milliseconds; keep it off the async workers.
            tokio::task::spawn_blocking(move || {
                client_assertion(
                    credential.signer.as_ref(),
                    &credential.certificate,
                    &credential.client_id,
                    &audience,
                    credential.algorithm,
                    clock.as_ref(),
                )
            })
            .await
            .map_err(|e| TokenError::Join(e.to_string()))??
        };
        let scope = default_scope(resource);
        let request = HttpRequest::new(Method::POST, audience).form(&[
            ("client_id", credential.client_id.as_str()),
            ("scope", &scope),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
            ("grant_type", "client_credentials"),
        ]);
        self.execute(&request).await
    }

    /// Username/password sign-in (ROPC) with a public client id, for `scope` (space
    /// separated). Not cached: these are one-off administrative or legacy calls.
    pub async fn password_token(
        &self,
        client_id: &ClientId,
        username: &str,
        password: &str,
        scope: &str,
    ) -> Result<AccessToken, TokenError> {
        let request = HttpRequest::new(Method::POST, self.token_url()).form(&[
            ("client_id", client_id.as_str()),
            ("scope", scope),
            ("username", username),
            ("password", password),
            ("grant_type", "password"),
        ]);
        self.execute(&request).await
    }

    /// Forgets every cached token (after a credential change).
    pub fn clear_cache(&self) {
        self.lock_cache().clear();
    }

    fn cached(&self, key: &(ClientId, String)) -> Option<AccessToken> {
        let now = self.clock.now();
        let mut cache = self.lock_cache();
        match cache.get(key) {
            Some(token) if token.expires_at - REFRESH_MARGIN > now => Some(token.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<(ClientId, String), AccessToken>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn execute(&self, request: &HttpRequest) -> Result<AccessToken, TokenError> {
        let response = send_with_retry(
            self.http.as_ref(),
            self.sleeper.as_ref(),
            &self.retry,
            request,
        )
        .await?;
        parse_token_response(&response, self.clock.now())
    }
}

/// Reads a token endpoint answer: a token on 2xx, a typed AADSTS error otherwise.
pub fn parse_token_response(
    response: &HttpResponse,
    now: OffsetDateTime,
) -> Result<AccessToken, TokenError> {
    let body = response.text();
    if !(200..300).contains(&response.status) {
        return Err(match AadstsError::parse(response.status, &body) {
            Some(error) => error.into(),
            None => TokenError::Unexpected {
                status: response.status,
                raw_body: body,
            },
        });
    }
    #[derive(Deserialize)]
    struct Wire {
        access_token: String,
        #[serde(default)]
        token_type: Option<String>,
        // v2 sends a number; v1 and some proxies send a string.
        expires_in: serde_json::Value,
    }
    let not_a_token = |reason: String| TokenError::NotAToken {
        status: response.status,
        reason,
        raw_body: body.clone(),
    };
    let wire: Wire = serde_json::from_str(&body).map_err(|e| not_a_token(e.to_string()))?;
    if let Some(kind) = &wire.token_type
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(not_a_token(format!("token_type '{kind}'")));
    }
    let expires_in = match &wire.expires_in {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|s| *s > 0)
    .ok_or_else(|| not_a_token(format!("expires_in {}", wire.expires_in)))?;
    Ok(AccessToken::new(
        wire.access_token,
        now + Duration::seconds(expires_in),
    ))
}
