//! Installation and in-place upgrade, as the wizard does them.
//!
//! - A new installation with the express settings: from 2.5.3.0 on, the managed application
//!   and its certificate are set up during installation (the connector starts on its
//!   application identity, and no `Sync_*` account is made: nothing in the article has a new
//!   installation make one, and the article recommends removing it once the application
//!   works). Older versions install with the legacy service account, as they did.
//! - An in-place upgrade keeps the connector's identity unless the administrator ticks
//!   "Configure application-based authentication to Microsoft Entra ID" (then the managed
//!   application is set up as the wizard's task does, with their sign-in); without it the
//!   upgrade ends with the wizard's recommendation to switch, which can be done later
//!   (`configure-application-authentication`). From 2.5.76.0 a server still on its service
//!   account also switches by itself within six hours ([`super::onboarding`]).

use serde::Serialize;

use crate::config::{ConnectorConfig, IdentityType, ProductVersion};

use super::error::{LifecycleError, Precondition};
use super::onboarding::check_can_onboard;
use super::server::{AdminCredentials, SyncServer};

/// What `adsync install` is told about the server.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub server_name: String,
    /// Generated when absent.
    pub sync_machine_identifier: Option<String>,
    pub version: ProductVersion,
    pub password_writeback: bool,
}

/// What `adsync upgrade` is told.
#[derive(Debug, Clone)]
pub struct UpgradeOptions {
    pub version: ProductVersion,
    /// The upgrade's checkbox "Configure application-based authentication to Microsoft Entra
    /// ID": needs an administrator's sign-in.
    pub configure_application_authentication: bool,
}

/// What an upgrade did, and what the wizard shows at its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpgradeReport {
    pub previous_version: ProductVersion,
    pub product_version: ProductVersion,
    pub connector_identity_type: IdentityType,
    /// Set when the connector is still on its service account at a version that can switch:
    /// the recommendation the wizard shows at the end of such an upgrade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
}

/// The recommendation at the end of an upgrade that left the connector on its service account
/// (the article shows it as a screenshot; these words are the project's).
pub fn upgrade_recommendation(version: ProductVersion) -> String {
    let mut text = String::from(
        "Recommended: configure application-based authentication to Microsoft Entra ID (adsync configure-application-authentication --admin-upn <UPN>).",
    );
    if version >= ProductVersion::AUTOMATIC_ONBOARDING {
        text.push_str(
            " This version also switches by itself within six hours while maintenance is enabled and the scheduler is not suspended.",
        );
    }
    text
}

impl SyncServer {
    /// A new installation with express settings, signed in as `admin` (checked before anything
    /// is written). From 2.5.3.0 the connector is set up on the managed application; older
    /// versions get the `Sync_*` service account.
    pub async fn install(
        &self,
        options: &InstallOptions,
        admin: &AdminCredentials,
    ) -> Result<ConnectorConfig, LifecycleError> {
        if self.config_store().load()?.is_some() {
            return Err(Precondition::AlreadyInstalled {
                state_dir: self.state_dir().to_path_buf(),
            }
            .into());
        }
        let machine_id = options
            .sync_machine_identifier
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut config = ConnectorConfig::new(&options.server_name, &machine_id, options.version);
        config.password_writeback_enabled = options.password_writeback;
        let session = self.admin_session(admin).await?;
        if options.version >= ProductVersion::MANUAL_ONBOARDING {
            // The registration writes the configuration once the application is registered: an
            // installation that fails before leaves nothing installed.
            self.register(&session, config, None).await?;
            self.add_adsync_application_registration(None, None, None)
                .await?;
            return self.config();
        }
        let account = self
            .ensure_service_account(&session, &mut config, None)
            .await?;
        config.connector_identity_type = IdentityType::ServiceAccount;
        config.service_account = Some(account);
        self.save_config(&config)?;
        Ok(config)
    }

    /// An in-place upgrade to `options.version`, with or without the checkbox. The version,
    /// the checkbox's needs and the administrator's sign-in are checked before anything is
    /// written.
    pub async fn upgrade(
        &self,
        options: &UpgradeOptions,
        admin: Option<&AdminCredentials>,
    ) -> Result<UpgradeReport, LifecycleError> {
        let mut config = self.config()?;
        let previous = config.product_version;
        if options.version <= previous {
            return Err(Precondition::NotAnUpgrade {
                installed: previous,
                given: options.version,
            }
            .into());
        }
        config.product_version = options.version;
        let switch = options.configure_application_authentication
            && config.connector_identity_type == IdentityType::ServiceAccount;
        let session = match (options.configure_application_authentication, admin) {
            (false, _) => None,
            (true, None) => return Err(Precondition::AdministratorNeededToConfigure.into()),
            (true, Some(admin)) => {
                if switch {
                    check_can_onboard(&config)?;
                }
                Some(self.admin_session(admin).await?)
            }
        };
        match (switch, &session) {
            // The registration writes the upgraded configuration once the application is
            // registered: an upgrade whose registration fails leaves the version as it was.
            (true, Some(session)) => {
                self.register(session, config, None).await?;
                self.add_adsync_application_registration(None, None, None)
                    .await?;
            }
            _ => self.save_config(&config)?,
        }
        let config = self.config()?;
        let on_service_account = config.connector_identity_type == IdentityType::ServiceAccount;
        Ok(UpgradeReport {
            previous_version: previous,
            product_version: config.product_version,
            connector_identity_type: config.connector_identity_type,
            recommendation: (on_service_account
                && config.product_version >= ProductVersion::MANUAL_ONBOARDING)
                .then(|| upgrade_recommendation(config.product_version)),
        })
    }
}
