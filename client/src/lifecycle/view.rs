//! What the server shows: `Get-ADSyncEntraConnectorCredential` (the identity in use, and for
//! an application the nine certificate properties of "View or export current configuration"),
//! the whole current configuration, and a registration not linked yet.

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{ApplicationIdentity, IdentityType, ManagedBy, ProductVersion};
// The view shows who manages what in the documentation's words; the type lives with `ManagedBy`.
pub use crate::config::ShownManager;
use crate::ids::{ClientId, KeyCredentialId, Sha256Hash, TenantId, Thumbprint};

use super::error::LifecycleError;
use super::scheduler::SchedulerView;
use super::server::SyncServer;

/// `Get-ADSyncEntraConnectorCredential`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectorCredential {
    pub connector_identity_type: IdentityType,
    pub tenant_id: Option<TenantId>,
    /// The legacy account (ServiceAccount identity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_app_id: Option<ClientId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_managed_by: Option<ShownManager>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateDetails>,
}

/// What `Add-EntraApplicationRegistration` registered, before it is linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisteredApplication {
    pub application_app_id: ClientId,
    pub display_name: Option<String>,
    pub application_managed_by: ShownManager,
    pub certificate_managed_by: ShownManager,
    #[serde(rename = "CertificateSHA256Hash")]
    pub certificate_sha256_hash: Sha256Hash,
    pub certificate_id: Option<KeyCredentialId>,
    /// Always `false`: the connector switches when the registration is linked
    /// (`add-application-registration`).
    pub linked: bool,
}

impl RegisteredApplication {
    pub fn of(identity: &ApplicationIdentity) -> Self {
        Self {
            application_app_id: identity.application_app_id.clone(),
            display_name: identity.display_name.clone(),
            application_managed_by: ShownManager::of_application(identity.application_managed_by),
            certificate_managed_by: ShownManager::of_certificate(identity.certificate_managed_by),
            certificate_sha256_hash: identity.certificate_sha256_hash.clone(),
            certificate_id: identity.certificate_id.clone(),
            linked: false,
        }
    }
}

/// The certificate table of "View or export current configuration".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateDetails {
    pub certificate_managed_by: ShownManager,
    pub automatic_rotation_enabled: bool,
    pub certificate_thumbprint: Thumbprint,
    #[serde(rename = "CertificateSHA256Hash")]
    pub certificate_sha256_hash: Sha256Hash,
    pub subject_name: String,
    pub issued_by: String,
    pub serial_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_valid_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_valid_after: OffsetDateTime,
    /// Beyond the table: the keyCredential id and where the key lives.
    pub certificate_id: Option<KeyCredentialId>,
    pub key_storage: String,
}

/// "View or export current configuration".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CurrentConfiguration {
    pub server_name: String,
    pub sync_machine_identifier: String,
    pub product_version: ProductVersion,
    pub password_writeback_enabled: bool,
    /// The legacy account, while it exists (also after onboarding, until it is removed).
    pub service_account_name: Option<String>,
    pub credential: ConnectorCredential,
    pub scheduler: SchedulerView,
    pub pending_rotation: bool,
    pub stale_credentials: Vec<KeyCredentialId>,
    /// When a server still on its service account switches by itself (2.5.76.0 and later),
    /// once the scheduler has seen it eligible.
    #[serde(with = "time::serde::rfc3339::option")]
    pub automatic_onboarding_not_before: Option<OffsetDateTime>,
}

impl SyncServer {
    /// `Get-ADSyncEntraConnectorCredential`.
    pub fn connector_credential(&self) -> Result<ConnectorCredential, LifecycleError> {
        let config = self.config()?;
        let mut view = ConnectorCredential {
            connector_identity_type: config.connector_identity_type,
            tenant_id: config.tenant_id.clone(),
            service_account_name: None,
            application_app_id: None,
            application_managed_by: None,
            certificate: None,
        };
        match (config.connector_identity_type, config.active_application()) {
            (IdentityType::Application, Some(app)) => {
                let credential = self.credential(app)?;
                let info = credential.certificate.info()?;
                view.application_app_id = Some(app.application_app_id.clone());
                view.application_managed_by =
                    Some(ShownManager::of_application(app.application_managed_by));
                view.certificate = Some(CertificateDetails {
                    certificate_managed_by: ShownManager::of_certificate(
                        app.certificate_managed_by,
                    ),
                    automatic_rotation_enabled: app.certificate_managed_by
                        == ManagedBy::ConnectSync
                        && config.automatic_rotation_enabled,
                    certificate_thumbprint: credential.certificate.thumbprint(),
                    certificate_sha256_hash: credential.certificate.sha256_hash(),
                    subject_name: info.subject,
                    issued_by: info.issuer,
                    serial_number: info.serial,
                    not_valid_before: info.not_before,
                    not_valid_after: info.not_after,
                    certificate_id: app.certificate_id.clone(),
                    key_storage: if credential.signer.is_hardware_backed() {
                        "TPM".into()
                    } else {
                        "Software".into()
                    },
                });
            }
            _ => {
                view.service_account_name = config
                    .service_account
                    .as_ref()
                    .map(|a| a.user_principal_name.clone());
            }
        }
        Ok(view)
    }

    /// The whole current configuration (the wizard's "View or export current configuration").
    pub fn current_configuration(&self) -> Result<CurrentConfiguration, LifecycleError> {
        let config = self.config()?;
        Ok(CurrentConfiguration {
            server_name: config.server_name.clone(),
            sync_machine_identifier: config.sync_machine_identifier.clone(),
            product_version: config.product_version,
            password_writeback_enabled: config.password_writeback_enabled,
            service_account_name: config
                .service_account
                .as_ref()
                .map(|a| a.user_principal_name.clone()),
            credential: self.connector_credential()?,
            scheduler: self.scheduler()?,
            pending_rotation: self.rotation_journal()?.is_some(),
            stale_credentials: config
                .stale_credentials
                .iter()
                .map(|s| s.certificate_id.clone())
                .collect(),
            automatic_onboarding_not_before: config.automatic_onboarding_not_before,
        })
    }
}
