//! A sync cycle, as far as authentication goes: get a token for the synchronization service
//! with the connector's identity (the application's certificate, or the legacy account's
//! password) and export the pending changes. Failures become the events an administrator
//! would see: 906 for certificate token failures (MSAL's text with the AADSTS error), 6900 for
//! a refused sign-in or export ("Access Denied").

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cloud::{SYNC_SERVICE_APP_ID, default_scope};
use crate::config::IdentityType;
use crate::events::{Level, SOURCE_ADSYNC, SOURCE_DIRSYNC, ids};
use crate::ids::ClientId;
use crate::token::{AccessToken, TokenError};

use super::error::LifecycleError;
use super::server::{CONNECT_CLIENT_ID, SyncServer};

/// Full or delta synchronization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PolicyType {
    #[default]
    Delta,
    Initial,
}

impl std::str::FromStr for PolicyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "delta" => Ok(PolicyType::Delta),
            "initial" => Ok(PolicyType::Initial),
            other => Err(format!("unknown policy type '{other}' (Delta, Initial)")),
        }
    }
}

/// What a sync cycle did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SyncCycleResult {
    pub policy_type: PolicyType,
    pub identity: IdentityType,
    pub succeeded: bool,
    pub exported_objects: u64,
    /// The error, as the event reports it.
    pub error: Option<String>,
    /// Whether the error was an authorization refusal ("Access Denied").
    pub access_denied: bool,
}

impl SyncServer {
    /// `Start-ADSyncSyncCycle`: one cycle now. Failures are reported as events and in the
    /// result; `Err` only when the server itself is broken (no configuration, no key).
    pub async fn start_sync_cycle(
        &self,
        policy: PolicyType,
    ) -> Result<SyncCycleResult, LifecycleError> {
        let config = self.config()?;
        let identity = config.connector_identity_type;
        let mut result = SyncCycleResult {
            policy_type: policy,
            identity,
            succeeded: false,
            exported_objects: 0,
            error: None,
            access_denied: false,
        };
        let token = match self.sync_token().await {
            Ok(token) => token,
            Err(e) => {
                let message = match (&e, identity) {
                    (LifecycleError::Token(t), IdentityType::Application) => {
                        let text = msal_message(t);
                        self.event(ids::TOKEN_FAILURE, Level::Error, SOURCE_DIRSYNC, &text)?;
                        text
                    }
                    (LifecycleError::Token(_) | LifecycleError::Transport(_), _) => {
                        let text = format!(
                            "The sync cycle could not sign in to Microsoft Entra ID as the service account: {e}"
                        );
                        self.event(ids::SYNC_CYCLE_FAILED, Level::Error, SOURCE_ADSYNC, &text)?;
                        text
                    }
                    _ => return Err(e),
                };
                result.error = Some(message);
                return Ok(result);
            }
        };
        match self
            .services()
            .export(&token, &self.pending_export(policy)?)
            .await
        {
            Ok(answer) => {
                result.succeeded = true;
                result.exported_objects =
                    answer.get("exported").and_then(Value::as_u64).unwrap_or(0);
                self.event(
                    ids::SYNC_CYCLE_COMPLETED,
                    Level::Information,
                    SOURCE_ADSYNC,
                    format!(
                        "The {policy:?} sync cycle completed with the {identity} identity: {} objects exported.",
                        result.exported_objects
                    ),
                )?;
            }
            Err(e) => {
                let e = LifecycleError::from(e);
                let denied = e.graph_status() == Some(403);
                let text = if denied {
                    format!(
                        "The sync cycle failed: Access Denied. Microsoft Entra ID refused the export for the {identity} identity ({e}). A re-created service account can take up to 15 minutes to take effect."
                    )
                } else {
                    format!("The sync cycle failed: the export was refused ({e}).")
                };
                self.event(ids::SYNC_CYCLE_FAILED, Level::Error, SOURCE_ADSYNC, &text)?;
                result.error = Some(text);
                result.access_denied = denied;
            }
        }
        Ok(result)
    }

    /// A token for the synchronization service with the connector's current identity.
    pub async fn sync_token(&self) -> Result<AccessToken, LifecycleError> {
        let config = self.config()?;
        let tenant = Self::tenant(&config)?;
        let client = self.token_client(&tenant);
        match config.active_application() {
            Some(app) => {
                let credential = self.credential(app)?;
                Ok(client
                    .request_app_token(&credential, SYNC_SERVICE_APP_ID)
                    .await?)
            }
            None => {
                let secret = self.service_account_secret()?;
                Ok(client
                    .password_token(
                        &ClientId::from(CONNECT_CLIENT_ID),
                        &secret.user_principal_name,
                        &secret.password,
                        &default_scope(SYNC_SERVICE_APP_ID),
                    )
                    .await?)
            }
        }
    }

    /// What this cycle exports: the connector space's pending changes (`pending_export.json`
    /// in the state directory, an export body), or an empty delta.
    fn pending_export(&self, _policy: PolicyType) -> Result<Value, LifecycleError> {
        let file =
            crate::config::JsonFile::new(self.state_dir().join("pending_export.json"), 0o600);
        Ok(file
            .load::<Value>()?
            .unwrap_or_else(|| json!({"objects": [], "deletions": []})))
    }
}

/// The text of event 906 when no token can be had with the certificate: MSAL.NET's exception
/// text with the AADSTS error. The id and the text are the project's choice (the documentation
/// names no event for this).
pub fn msal_message(error: &TokenError) -> String {
    match error {
        TokenError::Aadsts(e) => format!(
            "[MSAL] AcquireTokenWithCertificate: Exception caught while acquiring token via certificate. [{}] - A configuration issue is preventing authentication - check the error message from the server for details. You can modify the configuration in the application registration portal. See https://aka.ms/msal-net-invalid-client for details. Original exception: {}",
            e.error,
            original_exception(e)
        ),
        other => format!(
            "[MSAL] AcquireTokenWithCertificate: Exception caught while acquiring token via certificate. {other}"
        ),
    }
}

fn original_exception(e: &crate::token::AadstsError) -> String {
    match e.code {
        Some(code) if !e.summary.starts_with("AADSTS") => format!("AADSTS{code}: {}", e.summary),
        _ => e.summary.clone(),
    }
}
