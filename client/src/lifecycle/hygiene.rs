//! Credential hygiene: the keyCredentials on the sync application besides the one the connector
//! uses. Reviewing them: an Application Administrator can add a credential to the Connect Sync
//! application and act as it; the client cannot prevent that, but it reports every credential
//! it did not create (warning 1016) when an administrator's sign-in lets it read the
//! application and its service principal (a credential held on the service principal
//! authenticates the application too, and does not show on the application). Removing one (`Remove-EntraApplicationKey`): the stale credentials a rotation
//! could not remove (event 1015), as the application itself or with an administrator's sign-in.

use serde::Serialize;
use time::OffsetDateTime;

use crate::events::{Level, SOURCE_ADSYNC, ids};
use crate::graph::ObjectRef;
use crate::ids::KeyCredentialId;

use super::error::{LifecycleError, Precondition};
use super::registration::credential_is;
use super::server::{AdminCredentials, SyncServer, active, object_ref};

/// One credential of the application, and whether the client knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationKey {
    pub certificate_id: Option<KeyCredentialId>,
    pub display_name: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub end_date_time: Option<OffsetDateTime>,
    /// `Current`, `Stale` (an old one the client failed to remove), `Rotating` (the new one
    /// of an unfinished rotation) or `Foreign` (not created by this server).
    pub status: String,
    /// `Application`, or `ServicePrincipal` for one held on the application's service principal
    /// (the client never puts one there: those are always `Foreign`).
    pub held_by: String,
}

impl SyncServer {
    /// Lists the application's credentials with the administrator's sign-in and warns (event
    /// 1016) about the ones this server did not create.
    pub async fn application_keys(
        &self,
        admin: &AdminCredentials,
    ) -> Result<Vec<ApplicationKey>, LifecycleError> {
        let config = self.config()?;
        let app = config
            .active_application()
            .ok_or(Precondition::NoApplicationToInspect)?;
        let current_cert = self.credential(app)?.certificate;
        let journal = self.rotation_journal()?;
        let rotating = match &journal {
            Some(j) => self
                .store(j.new.store)
                .get(&j.new.certificate_sha256_hash)?
                .map(|e| e.certificate),
            None => None,
        };
        let session = self.admin_session(admin).await?;
        let application = session.graph.get_application(&object_ref(app)).await?;
        let keys: Vec<ApplicationKey> = application
            .key_credentials
            .iter()
            .map(|k| {
                let status = if credential_is(k, &current_cert)
                    || (k.key_id.is_some() && k.key_id == app.certificate_id)
                {
                    "Current"
                } else if config
                    .stale_credentials
                    .iter()
                    .any(|s| Some(&s.certificate_id) == k.key_id.as_ref())
                {
                    "Stale"
                } else if rotating.as_ref().is_some_and(|c| credential_is(k, c)) {
                    "Rotating"
                } else {
                    "Foreign"
                };
                ApplicationKey {
                    certificate_id: k.key_id.clone(),
                    display_name: k.display_name.clone(),
                    end_date_time: k.end_date_time,
                    status: status.into(),
                    held_by: "Application".into(),
                }
            })
            .collect();
        let keys: Vec<ApplicationKey> = keys
            .into_iter()
            .chain(
                session
                    .graph
                    .get_service_principal(&ObjectRef::AppId(app.application_app_id.clone()))
                    .await?
                    .key_credentials
                    .iter()
                    .map(|k| ApplicationKey {
                        certificate_id: k.key_id.clone(),
                        display_name: k.display_name.clone(),
                        end_date_time: k.end_date_time,
                        status: "Foreign".into(),
                        held_by: "ServicePrincipal".into(),
                    }),
            )
            .collect();
        let foreign: Vec<String> = keys
            .iter()
            .filter(|k| k.status == "Foreign")
            .map(|k| {
                k.certificate_id
                    .as_ref()
                    .map_or_else(|| "<no id>".to_owned(), |id| id.to_string())
            })
            .collect();
        if !foreign.is_empty() {
            self.event(
                ids::FOREIGN_CREDENTIALS,
                Level::Warning,
                SOURCE_ADSYNC,
                format!(
                    "Application {} has {} credential(s) that Microsoft Entra Connect Sync did not create (CertificateId {}). Anyone holding them can act as the sync application; remove those you do not recognise (Remove-EntraApplicationKey -CertificateId <id>).",
                    app.application_app_id,
                    foreign.len(),
                    foreign.join(", ")
                ),
            )?;
        }
        Ok(keys)
    }

    /// `Remove-EntraApplicationKey -CertificateId <id>`: removes an old credential from the
    /// application — with removeKey and a proof signed by the current key, or with an
    /// administrator's sign-in when given.
    pub async fn remove_application_key(
        &self,
        certificate_id: &KeyCredentialId,
        admin: Option<&AdminCredentials>,
    ) -> Result<(), LifecycleError> {
        let mut config = self.config()?;
        let app = active(&config)?.clone();
        if app.certificate_id.as_ref() == Some(certificate_id) {
            return Err(Precondition::CredentialInUse {
                certificate_id: certificate_id.clone(),
            }
            .into());
        }
        match admin {
            Some(admin) => {
                let session = self.admin_session(admin).await?;
                let target = object_ref(&app);
                let current = session.graph.get_application(&target).await?;
                if !current
                    .key_credentials
                    .iter()
                    .any(|k| k.key_id.as_ref() == Some(certificate_id))
                {
                    return Err(Precondition::NoSuchCredential {
                        app_id: app.application_app_id.clone(),
                        certificate_id: certificate_id.clone(),
                    }
                    .into());
                }
                let keep: Vec<_> = current
                    .key_credentials
                    .into_iter()
                    .filter(|k| k.key_id.as_ref() != Some(certificate_id))
                    .collect();
                session.graph.set_key_credentials(&target, &keep).await?;
            }
            None => self.remove_key_as_app(&app, certificate_id).await?,
        }
        config
            .stale_credentials
            .retain(|s| &s.certificate_id != certificate_id);
        self.save_config(&config)?;
        self.event(
            ids::CREDENTIAL_REMOVED,
            Level::Information,
            SOURCE_ADSYNC,
            format!(
                "The certificate credential {certificate_id} was removed from application {}.",
                app.application_app_id
            ),
        )?;
        Ok(())
    }
}
