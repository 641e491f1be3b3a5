//! The legacy service account (`Sync_<Server>_<id>`, a user holding the Directory
//! Synchronization Accounts role): created when a version older than 2.5.3.0 is installed
//! ([`super::install`]), re-created by `Add-ADSyncAADServiceAccount` to roll back from
//! application authentication, removed by `Remove-ADSyncAADServiceAccount` once the application
//! works (a custom account that cannot be deleted is deprivileged instead: its role assignment
//! is removed).

use serde::Serialize;
use serde_json::json;

use crate::config::{
    ConnectorConfig, IdentityType, ServiceAccount, ServiceAccountSecret, secret_file,
};
use crate::events::{Level, SOURCE_ADSYNC, ids};
use crate::graph::GraphError;
use crate::ids::{ObjectId, TenantId};

use super::error::{LifecycleError, Precondition};
use super::server::{AdminCredentials, AdminSession, SyncServer};

/// Role template id of Directory Synchronization Accounts.
pub const DIRECTORY_SYNCHRONIZATION_ACCOUNTS: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";

/// How long Entra may take before a (re-)created service account works, per the documents.
pub const SERVICE_ACCOUNT_PROPAGATION: time::Duration = time::Duration::minutes(15);

/// What happened to a removed service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovedAccount {
    pub user_principal_name: String,
    /// `Deleted`, or `Deprivileged` for a custom account that was kept without its role.
    pub action: String,
}

impl SyncServer {
    /// `Add-ADSyncAADServiceAccount`: (re-)creates the service account, or resets its
    /// password, gives it the Directory Synchronization Accounts role, and switches the
    /// connector back to it. The new account can take up to 15 minutes to work.
    pub async fn add_service_account(
        &self,
        admin: &AdminCredentials,
        name: Option<&str>,
    ) -> Result<ServiceAccount, LifecycleError> {
        let mut config = self.config()?;
        let session = self.admin_session(admin).await?;
        let account = self
            .ensure_service_account(&session, &mut config, name)
            .await?;
        let before = config.connector_identity_type;
        config.connector_identity_type = IdentityType::ServiceAccount;
        config.service_account = Some(account.clone());
        self.save_config(&config)?;
        self.event(
            ids::IDENTITY_CHANGED,
            Level::Information,
            SOURCE_ADSYNC,
            format!(
                "The connector identity changed from {before} to ServiceAccount ({}). A re-created service account can take up to {} minutes to take effect; until then sync cycles can fail with Access Denied.",
                account.user_principal_name,
                SERVICE_ACCOUNT_PROPAGATION.whole_minutes()
            ),
        )?;
        Ok(account)
    }

    /// `Remove-ADSyncAADServiceAccount -Name <prefix>`: deletes the legacy account, or, for a
    /// custom account (not `Sync_*`) or one that cannot be deleted, removes its Directory
    /// Synchronization Accounts role. Only once the connector uses an application.
    pub async fn remove_service_account(
        &self,
        admin: &AdminCredentials,
        name: &str,
    ) -> Result<RemovedAccount, LifecycleError> {
        let mut config = self.config()?;
        if config.connector_identity_type != IdentityType::Application {
            return Err(Precondition::ServiceAccountInUse.into());
        }
        let name = name.trim();
        let session = self.admin_session(admin).await?;
        let users = session.graph.list_users(None).await?;
        let user = users
            .iter()
            .find(|u| {
                u.user_principal_name
                    .as_deref()
                    .and_then(|upn| upn.split_once('@'))
                    .is_some_and(|(local, _)| local.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| Precondition::NoSuchUser {
                name: name.to_owned(),
            })?;
        let upn = user.user_principal_name.clone().unwrap_or_default();
        let is_sync_account = name.to_ascii_lowercase().starts_with("sync_");
        let deleted = if is_sync_account {
            match session.graph.delete_user(user.id.as_str()).await {
                Ok(()) => true,
                Err(GraphError::Service(e)) if e.status == 403 || e.status == 400 => false,
                Err(e) => return Err(e.into()),
            }
        } else {
            false
        };
        if !deleted {
            strip_sync_role(&session, &user.id).await?;
        }
        if config
            .service_account
            .as_ref()
            .is_some_and(|a| a.user_principal_name.eq_ignore_ascii_case(&upn))
        {
            config.service_account = None;
            self.save_config(&config)?;
            secret_file(self.state_dir()).remove()?;
        }
        Ok(RemovedAccount {
            user_principal_name: upn,
            action: if deleted { "Deleted" } else { "Deprivileged" }.into(),
        })
    }

    /// The stored password of the service account.
    pub fn service_account_secret(&self) -> Result<ServiceAccountSecret, LifecycleError> {
        secret_file(self.state_dir())
            .load()?
            .ok_or_else(|| Precondition::NoServiceAccountPassword.into())
    }

    /// Creates the service account (or resets its password), gives it the Directory
    /// Synchronization Accounts role, and records the tenant in `config`.
    pub(super) async fn ensure_service_account(
        &self,
        session: &AdminSession,
        config: &mut ConnectorConfig,
        name: Option<&str>,
    ) -> Result<ServiceAccount, LifecycleError> {
        let domain = session.initial_domain();
        config.tenant_id = Some(session.tenant_id.clone());
        config.tenant_domain = Some(domain.clone());
        let local = name
            .map(str::to_owned)
            .unwrap_or_else(|| config.service_account_name());
        let upn = format!("{local}@{domain}");
        let password = generate_password()?;
        let existing = match session.graph.get_user(&upn).await {
            Ok(user) => Some(user),
            Err(GraphError::Service(e)) if e.status == 404 => None,
            Err(e) => return Err(e.into()),
        };
        let user_id = match existing {
            Some(user) => {
                session
                    .graph
                    .update_user(
                        user.id.as_str(),
                        &json!({
                            "accountEnabled": true,
                            "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": false},
                        }),
                    )
                    .await?;
                user.id
            }
            None => {
                session
                    .graph
                    .create_user(&json!({
                        "accountEnabled": true,
                        "displayName": "On-Premises Directory Synchronization Service Account",
                        "mailNickname": local,
                        "userPrincipalName": upn,
                        "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": false},
                    }))
                    .await?
                    .id
            }
        };
        // Keep the password before anything else can fail: the account now has it.
        secret_file(self.state_dir()).save(&ServiceAccountSecret {
            user_principal_name: upn.clone(),
            password,
        })?;
        let assignments = session.graph.list_role_assignments(None).await?;
        let has_role = assignments.iter().any(|a| {
            a.principal_id == user_id
                && a.role_definition_id
                    .eq_ignore_ascii_case(DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
        });
        if !has_role {
            session
                .graph
                .create_role_assignment(&user_id, DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
                .await?;
        }
        Ok(ServiceAccount {
            user_principal_name: upn,
            object_id: Some(user_id),
        })
    }
}

async fn strip_sync_role(session: &AdminSession, user: &ObjectId) -> Result<(), LifecycleError> {
    let assignments = session.graph.list_role_assignments(None).await?;
    for a in assignments.iter().filter(|a| {
        &a.principal_id == user
            && a.role_definition_id
                .eq_ignore_ascii_case(DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
    }) {
        session.graph.delete_role_assignment(&a.id).await?;
    }
    Ok(())
}

/// A long random password with every character class, as the wizard makes for the account.
fn generate_password() -> Result<String, LifecycleError> {
    const SETS: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!#%+-=?@_~",
    ];
    let mut random = [0u8; 40];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| {
        LifecycleError::Key(crate::keys::KeyError::Crypto {
            operation: "random password",
        })
    })?;
    Ok(random
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = SETS[i % SETS.len()];
            char::from(set[usize::from(*b) % set.len()])
        })
        .collect())
}

/// The tenant a service account signs in to.
pub fn tenant_of(config: &ConnectorConfig) -> Result<TenantId, LifecycleError> {
    SyncServer::tenant(config)
}
