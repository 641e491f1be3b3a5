//! Onboarding to application authentication, each path as the documents describe it:
//!
//! - managed (default): a new key (TPM when there is one, software otherwise) and a
//!   self-signed certificate in the sync account's CURRENT_USER store; the application
//!   registered in Entra with the administrator's sign-in; then the connector switches to it.
//! - BYOC: the administrator's certificate, found in LOCAL_MACHINE by SHA-256 hash and
//!   validated (RSA 2048, SHA-256, private key present, non-exportable, usable by the sync
//!   account).
//! - BYOA: the administrator's application and certificate; its permissions are checked and
//!   every missing one named.
//! - automatic (2.5.76.0+): a server still on its service account registers a managed
//!   application through the synchronization service, within six hours.
//!
//! Registering (`Add-EntraApplicationRegistration`) and linking
//! (`Add-ADSyncApplicationRegistration`) are separate steps, as in the cmdlets; the link only
//! switches once a token was obtained with the new credential. The certificates themselves
//! come from [`super::certificates`].

use serde_json::json;
use time::Duration;

use crate::cert::Certificate;
use crate::cloud::{SYNC_SERVICE_APP_ID, default_scope};
use crate::config::{
    ApplicationIdentity, ConnectorConfig, CredentialOption, IdentityType, ManagedBy,
    ProductVersion, ShownManager, StoreKind,
};
use crate::events::{Level, SOURCE_ADSYNC, ids};
use crate::graph::ObjectRef;
use crate::ids::{ClientId, KeyCredentialId, ObjectId, Sha256Hash};

use super::error::{LifecycleError, Precondition};
use super::journal::JournalCertificate;
use super::registration::{check_byoa, credential_is, register_application};
use super::rotation::RotationOutcome;
use super::server::{AdminCredentials, AdminSession, CONNECT_CLIENT_ID, SyncServer};

/// The window within which an eligible server onboards itself.
pub const AUTOMATIC_ONBOARDING_WINDOW: Duration = Duration::hours(6);

/// What automatic onboarding did in one scheduler run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutomaticOnboarding {
    /// Not applicable: already on an application, or a version without it.
    NotApplicable,
    /// Eligible, waiting for its moment in the six-hour window.
    Scheduled { not_before: time::OffsetDateTime },
    /// Switched to a managed application.
    Onboarded { app_id: ClientId },
}

/// What `Add-EntraApplicationRegistration` did, which depends on the server's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntraRegistration {
    /// Registered the sync application (managed or BYOC); linking is the next step.
    Registered(ApplicationIdentity),
    /// Linked the administrator's application (BYOA, with `-ApplicationAppId`, the newer
    /// revision's form) and switched to it.
    Linked(ApplicationIdentity),
    /// BYOA rotation: the connector moved to the administrator's new certificate.
    Rotated(RotationOutcome),
}

impl SyncServer {
    /// `Add-EntraApplicationRegistration [-CertificateSHA256Hash [-ApplicationAppId]]`, as the
    /// article's newer revision uses it: on a server still on its service account it registers
    /// the sync application in Entra with the administrator's sign-in (managed certificate when
    /// no hash is given, else the BYOC certificate; the connector does not switch yet), or, with
    /// an application id, links the administrator's application (BYOA). On a server onboarded
    /// with BYOA it rotates to the administrator's new certificate
    /// ([`SyncServer::rotate_credential`] with their sign-in, which also registers the new
    /// certificate on their application when they have not).
    pub async fn add_entra_application_registration(
        &self,
        admin: &AdminCredentials,
        certificate: Option<&Sha256Hash>,
        application: Option<&ClientId>,
    ) -> Result<EntraRegistration, LifecycleError> {
        let config = self.config()?;
        if let (Some(app), Some(hash)) = (config.active_application(), certificate)
            && app.option() == CredentialOption::Byoa
            && application.is_none_or(|a| a == &app.application_app_id)
        {
            let outcome = self.rotate_credential(Some(hash), Some(admin)).await?;
            return Ok(EntraRegistration::Rotated(outcome));
        }
        if application.is_some() {
            let linked = self
                .add_adsync_application_registration(Some(admin), certificate, application)
                .await?;
            return Ok(EntraRegistration::Linked(linked));
        }
        let registered = self.register_checked(admin, certificate).await?;
        Ok(EntraRegistration::Registered(registered))
    }

    /// Registers the sync application for a server still on its service account: checks the
    /// version, the identity and the certificate named, then the administrator's sign-in,
    /// before anything is made or written.
    async fn register_checked(
        &self,
        admin: &AdminCredentials,
        certificate: Option<&Sha256Hash>,
    ) -> Result<ApplicationIdentity, LifecycleError> {
        let config = self.config()?;
        check_can_onboard(&config)?;
        let byoc = match certificate {
            Some(hash) => Some(self.byoc_certificate(hash)?.0),
            None => None,
        };
        let session = self.admin_session(admin).await?;
        self.register(&session, config, byoc).await
    }

    /// Registers the sync application in Entra with an administrator's session: the BYOC
    /// certificate, or a managed one (the unlinked registration's, or a new one). The
    /// registration is remembered until it is linked.
    pub(super) async fn register(
        &self,
        session: &AdminSession,
        config: ConnectorConfig,
        byoc: Option<Certificate>,
    ) -> Result<ApplicationIdentity, LifecycleError> {
        let mut made = None;
        let (cert, store, cert_managed_by) = match byoc {
            Some(cert) => (cert, StoreKind::LocalMachine, ManagedBy::Customer),
            None => (
                match self.reusable_pending_managed_certificate(&config)? {
                    Some(cert) => cert,
                    None => {
                        let cert = self.create_managed_certificate().await?;
                        made = Some(cert.sha256_hash());
                        cert
                    }
                },
                StoreKind::CurrentUser,
                ManagedBy::ConnectSync,
            ),
        };
        let result = self
            .register_certificate(session, config, cert, store, cert_managed_by)
            .await;
        // A certificate made for a registration that failed goes again: nothing names it.
        if let (Err(_), Some(hash)) = (&result, made) {
            self.retire_certificate(&JournalCertificate {
                certificate_sha256_hash: hash,
                store: StoreKind::CurrentUser,
                managed: true,
                certificate_id: None,
            })?;
        }
        result
    }

    async fn register_certificate(
        &self,
        session: &AdminSession,
        mut config: ConnectorConfig,
        cert: Certificate,
        store: StoreKind,
        cert_managed_by: ManagedBy,
    ) -> Result<ApplicationIdentity, LifecycleError> {
        config.tenant_id = Some(session.tenant_id.clone());
        if config.tenant_domain.is_none() {
            config.tenant_domain = Some(session.initial_domain());
        }
        let display_name = config.application_display_name();
        let registered = register_application(
            &session.graph,
            &display_name,
            &cert,
            config.password_writeback_enabled,
        )
        .await?;
        let identity = ApplicationIdentity {
            application_app_id: registered.application.app_id.clone(),
            application_object_id: Some(registered.application.id.clone()),
            service_principal_id: Some(registered.service_principal.id.clone()),
            display_name: Some(display_name),
            application_managed_by: ManagedBy::ConnectSync,
            certificate_managed_by: cert_managed_by,
            certificate_sha256_hash: cert.sha256_hash(),
            certificate_store: store,
            certificate_id: registered.certificate_id,
        };
        // Onboarding again after a rollback replaces the earlier identity on the same
        // application: its certificate, and those of a rotation it left unfinished, go from the
        // application now (nothing would name them later) and, when Connect Sync made them,
        // from the store.
        let mut retired: Vec<JournalCertificate> = Vec::new();
        if let Some(p) = config
            .application
            .take_if(|p| p.application_app_id == identity.application_app_id)
        {
            retired.push(JournalCertificate {
                certificate_sha256_hash: p.certificate_sha256_hash,
                store: p.certificate_store,
                managed: p.certificate_managed_by == ManagedBy::ConnectSync,
                certificate_id: p.certificate_id,
            });
        }
        let journal = self.rotation_journal()?;
        if let Some(j) = &journal {
            retired.extend([j.old.clone(), j.new.clone()]);
            retired.extend(j.abandoned.iter().cloned());
        }
        retired.retain(|r| r.certificate_sha256_hash != identity.certificate_sha256_hash);
        if !retired.is_empty() {
            let target = ObjectRef::Id(registered.application.id.clone());
            let mut certs = Vec::new();
            for r in &retired {
                if let Some(e) = self.store(r.store).get(&r.certificate_sha256_hash)? {
                    certs.push(e.certificate);
                }
            }
            let current = session.graph.get_application(&target).await?;
            let keep: Vec<_> = current
                .key_credentials
                .iter()
                .filter(|k| {
                    let by_id =
                        k.key_id.is_some() && retired.iter().any(|r| r.certificate_id == k.key_id);
                    !(by_id || certs.iter().any(|c| credential_is(k, c)))
                })
                .cloned()
                .collect();
            if keep.len() != current.key_credentials.len() {
                session.graph.set_key_credentials(&target, &keep).await?;
            }
        }
        config.pending_registration = Some(identity.clone());
        self.save_config(&config)?;
        if journal.is_some() {
            self.discard_rotation_journal()?;
        }
        for r in &retired {
            self.retire_certificate(r)?;
        }
        Ok(identity)
    }

    /// `Add-ADSyncApplicationRegistration [-CertificateSHA256Hash [-ApplicationAppId]]`:
    /// links an application to the sync engine and switches the connector to it. Managed and
    /// BYOC link what `add_entra_application_registration` registered; BYOA checks the
    /// administrator's application (permissions, certificate) with their sign-in.
    pub async fn add_adsync_application_registration(
        &self,
        admin: Option<&AdminCredentials>,
        certificate: Option<&Sha256Hash>,
        application: Option<&ClientId>,
    ) -> Result<ApplicationIdentity, LifecycleError> {
        let mut config = self.config()?;
        check_can_onboard(&config)?;
        let identity = match (certificate, application) {
            (Some(hash), Some(app_id)) => {
                let admin = admin.ok_or(Precondition::AdministratorNeededToLink)?;
                let (cert, _) = self.byoc_certificate(hash)?;
                let session = self.admin_session(admin).await?;
                config.tenant_id = Some(session.tenant_id.clone());
                let check = check_byoa(
                    &session.graph,
                    app_id,
                    &cert,
                    config.password_writeback_enabled,
                )
                .await?;
                ApplicationIdentity {
                    application_app_id: app_id.clone(),
                    application_object_id: Some(check.application.id.clone()),
                    service_principal_id: Some(check.service_principal.id.clone()),
                    display_name: check.application.display_name.clone(),
                    application_managed_by: ManagedBy::Customer,
                    certificate_managed_by: ManagedBy::Customer,
                    certificate_sha256_hash: hash.clone(),
                    certificate_store: StoreKind::LocalMachine,
                    certificate_id: check.certificate_id,
                }
            }
            (None, Some(_)) => {
                return Err(Precondition::ApplicationWithoutCertificate.into());
            }
            (hash, None) => {
                let pending = config
                    .pending_registration
                    .clone()
                    .ok_or(Precondition::NotRegistered)?;
                if let Some(hash) = hash
                    && &pending.certificate_sha256_hash != hash
                {
                    return Err(Precondition::RegisteredWithOtherCertificate {
                        registered: pending.certificate_sha256_hash,
                        given: hash.clone(),
                    }
                    .into());
                }
                if hash.is_none() && pending.certificate_managed_by == ManagedBy::Customer {
                    return Err(Precondition::CertificateHashNeeded {
                        registered: pending.certificate_sha256_hash,
                    }
                    .into());
                }
                pending
            }
        };
        self.switch_to_application(&mut config, identity.clone())
            .await?;
        Ok(identity)
    }

    /// The wizard's "Configure application-based authentication": register and link in one.
    pub async fn onboard(
        &self,
        admin: &AdminCredentials,
        certificate: Option<&Sha256Hash>,
        application: Option<&ClientId>,
    ) -> Result<ApplicationIdentity, LifecycleError> {
        if application.is_none() {
            self.register_checked(admin, certificate).await?;
        }
        self.add_adsync_application_registration(Some(admin), certificate, application)
            .await
    }

    /// Proves the credential works (a token for the sync service), then switches.
    async fn switch_to_application(
        &self,
        config: &mut ConnectorConfig,
        identity: ApplicationIdentity,
    ) -> Result<(), LifecycleError> {
        let tenant = Self::tenant(config)?;
        let credential = self.credential(&identity)?;
        self.token_client(&tenant)
            .request_app_token(&credential, SYNC_SERVICE_APP_ID)
            .await?;
        let before = config.connector_identity_type;
        config.application = Some(identity.clone());
        config.pending_registration = None;
        config.connector_identity_type = IdentityType::Application;
        self.save_config(config)?;
        self.event(
            ids::IDENTITY_CHANGED,
            Level::Information,
            SOURCE_ADSYNC,
            format!(
                "The connector identity changed from {before} to Application: application {} ({}), certificate {} managed by {}.",
                identity.application_app_id,
                identity.option(),
                identity.certificate_sha256_hash,
                ShownManager::of_certificate(identity.certificate_managed_by)
            ),
        )?;
        Ok(())
    }

    /// One scheduler run's part of automatic onboarding.
    pub(crate) async fn automatic_onboarding(&self) -> Result<AutomaticOnboarding, LifecycleError> {
        let mut config = self.config()?;
        if config.connector_identity_type != IdentityType::ServiceAccount
            || config.product_version < ProductVersion::AUTOMATIC_ONBOARDING
        {
            return Ok(AutomaticOnboarding::NotApplicable);
        }
        let now = self.now();
        let not_before = match config.automatic_onboarding_not_before {
            Some(t) => t,
            None => {
                let t = now + window_offset(&config.sync_machine_identifier);
                config.automatic_onboarding_not_before = Some(t);
                self.save_config(&config)?;
                t
            }
        };
        if now < not_before {
            return Ok(AutomaticOnboarding::Scheduled { not_before });
        }
        let identity = self.register_through_sync_service(&mut config).await?;
        let app_id = identity.application_app_id.clone();
        self.switch_to_application(&mut config, identity).await?;
        Ok(AutomaticOnboarding::Onboarded { app_id })
    }

    /// The sync account asks the synchronization service to register its application, saying
    /// whether password writeback is enabled (the writeback roles are for that case only).
    async fn register_through_sync_service(
        &self,
        config: &mut ConnectorConfig,
    ) -> Result<ApplicationIdentity, LifecycleError> {
        let tenant = Self::tenant(config)?;
        let secret = self.service_account_secret()?;
        let token = self
            .token_client(&tenant)
            .password_token(
                &ClientId::from(CONNECT_CLIENT_ID),
                &secret.user_principal_name,
                &secret.password,
                &default_scope(SYNC_SERVICE_APP_ID),
            )
            .await?;
        let cert = match self.reusable_pending_managed_certificate(config)? {
            Some(cert) => cert,
            None => self.create_managed_certificate().await?,
        };
        let display_name = config.application_display_name();
        let key = crate::graph::KeyCredential::for_certificate(&cert)?;
        let answer = self
            .services()
            .register_application(
                &token,
                &json!({
                    "displayName": display_name,
                    "keyCredential": {"type": key.kind, "usage": key.usage, "key": key.key},
                    // The password-writeback roles only when writeback is enabled, as the
                    // article's procedure grants them.
                    "passwordWriteback": config.password_writeback_enabled,
                }),
            )
            .await?;
        let text = |name: &str| answer.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let app_id = text("appId").ok_or_else(|| LifecycleError::Unexpected {
            what: "the synchronization service".into(),
            reason: format!("registerApplication answered without appId: {answer}"),
        })?;
        let identity = ApplicationIdentity {
            application_app_id: ClientId::from(app_id),
            application_object_id: text("applicationId").map(ObjectId::from),
            service_principal_id: text("servicePrincipalId").map(ObjectId::from),
            display_name: Some(display_name),
            application_managed_by: ManagedBy::ConnectSync,
            certificate_managed_by: ManagedBy::ConnectSync,
            certificate_sha256_hash: cert.sha256_hash(),
            certificate_store: StoreKind::CurrentUser,
            certificate_id: text("keyId").map(KeyCredentialId::from),
        };
        // Remembered before switching, so a crash here reuses this registration next run.
        config.pending_registration = Some(identity.clone());
        self.save_config(config)?;
        Ok(identity)
    }
}

/// Manual onboarding needs 2.5.3.0 or later and a connector still on its service account.
pub(super) fn check_can_onboard(config: &ConnectorConfig) -> Result<(), LifecycleError> {
    if config.product_version < ProductVersion::MANUAL_ONBOARDING {
        return Err(Precondition::VersionTooOld {
            version: config.product_version,
            needed: ProductVersion::MANUAL_ONBOARDING,
        }
        .into());
    }
    if config.connector_identity_type != IdentityType::ServiceAccount {
        return Err(Precondition::AlreadyOnApplication.into());
    }
    Ok(())
}

/// Where in the six-hour window this server onboards: fixed per machine, so every run agrees.
fn window_offset(machine_id: &str) -> Duration {
    let digest = crate::keys::Sha256Digest::of(machine_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.0[..8]);
    let seconds = u64::from_be_bytes(first) % AUTOMATIC_ONBOARDING_WINDOW.whole_seconds() as u64;
    Duration::seconds(seconds as i64)
}
