//! Credential hygiene: the keyCredentials on the sync application that the client did not
//! create. An Application Administrator can add a credential to the Connect Sync application
//! and act as it; the client cannot prevent that, but it reports every such credential
//! (warning 1016) when an administrator's sign-in lets it read the application.

use serde::Serialize;
use time::OffsetDateTime;

use crate::events::{Level, SOURCE_ADSYNC, ids};
use crate::graph::ObjectRef;
use crate::ids::KeyCredentialId;

use super::error::LifecycleError;
use super::registration::credential_is;
use super::server::{AdminCredentials, SyncServer};

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
}

impl SyncServer {
    /// Lists the application's credentials with the administrator's sign-in and warns (event
    /// 1016) about the ones this server did not create.
    pub async fn application_keys(
        &self,
        admin: &AdminCredentials,
    ) -> Result<Vec<ApplicationKey>, LifecycleError> {
        let config = self.config()?;
        let app = config.active_application().ok_or_else(|| {
            LifecycleError::Precondition(
                "the connector uses its service account; there is no application to inspect".into(),
            )
        })?;
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
        let target = match &app.application_object_id {
            Some(id) => ObjectRef::Id(id.clone()),
            None => ObjectRef::AppId(app.application_app_id.clone()),
        };
        let application = session.graph.get_application(&target).await?;
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
                }
            })
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
}
