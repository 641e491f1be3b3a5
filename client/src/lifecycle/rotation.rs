//! Credential rotation as a journaled sequence of steps, so a crash at any step leaves a state
//! the next run finishes:
//!
//! 1. `Created`: the new certificate exists (managed: new key and certificate in CURRENT_USER;
//!    BYOC/BYOA: the administrator's, in LOCAL_MACHINE). The journal names old and new.
//! 2. `KeyAdded`: the new certificate is on the application — through `addKey` with a proof
//!    signed by the current key (the application rolls its own keys), or, when that cannot
//!    work (the current certificate expired or was revoked), through an administrator's PATCH
//!    of keyCredentials that also drops the old one if it has expired (one that still works
//!    stays until step 4, so the connector always has a working credential).
//! 3. `Switched`: a token was obtained with the new certificate and the configuration names it.
//!    Until that token works (replication lag), the connector keeps the old certificate and
//!    the next run retries.
//! 4. The old credential is removed with `removeKey` (proof signed by the new key); when that
//!    fails the rotation still succeeds, and error 1015 names the old `CertificateId` for
//!    `Remove-EntraApplicationKey`. A managed old certificate leaves the store; the journal
//!    goes.
//!
//! The journal's format and the crash points are in [`super::journal`]. For crash testing,
//! [`SyncServer::rotate_credential_until`] stops a rotation at a [`RotationPoint`] as if the
//! process had died there; a test then re-opens the state directory with a new [`SyncServer`]
//! and checks that the next run recovers. Removing a stale credential later
//! (`Remove-EntraApplicationKey`) is credential hygiene's job (`hygiene.rs`).

use serde::Serialize;

use crate::cert::Certificate;
use crate::cloud::SYNC_SERVICE_APP_ID;
use crate::config::{ApplicationIdentity, ManagedBy, StaleCredential, StoreKind};
use crate::events::{Level, SOURCE_ADSYNC, ids};
use crate::graph::GraphError;
use crate::ids::{KeyCredentialId, ObjectId, Sha256Hash};

use super::error::{LifecycleError, Precondition};
use super::journal::journal_file;
pub use super::journal::{JournalCertificate, RotationJournal, RotationPoint, RotationStep};
use super::registration::{credential_is, replace_certificate};
use super::server::{AdminCredentials, SyncServer, active, object_ref};

/// How a rotation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationOutcome {
    pub old_certificate_sha256_hash: Sha256Hash,
    pub new_certificate_sha256_hash: Sha256Hash,
    pub new_certificate_id: Option<KeyCredentialId>,
    /// `false` when the old credential is still on the application (event 1015 says which).
    pub old_credential_removed: bool,
    /// `false` while the new key is not yet accepted (the next run resumes).
    pub completed: bool,
}

/// Stops the rotation at `point` when it is the one asked for (crash testing only).
fn checkpoint(stop: Option<RotationPoint>, point: RotationPoint) -> Result<(), LifecycleError> {
    if stop == Some(point) {
        return Err(LifecycleError::Stopped { at: point });
    }
    Ok(())
}

/// AADSTS700027: no credential of the application matches the assertion's certificate.
const KEY_NOT_FOUND: u32 = 700027;

impl SyncServer {
    /// The unfinished rotation, if any.
    pub fn rotation_journal(&self) -> Result<Option<RotationJournal>, LifecycleError> {
        Ok(journal_file(self.state_dir()).load()?)
    }

    /// Forgets an unfinished rotation (onboarding again replaces the identity it was for).
    pub(crate) fn discard_rotation_journal(&self) -> Result<(), LifecycleError> {
        Ok(journal_file(self.state_dir()).remove()?)
    }

    /// `Invoke-ADSyncApplicationCredentialRotation [-CertificateSHA256Hash]`: rotates now,
    /// whether or not rotation is due, also when the current certificate has expired (then
    /// only with an administrator's sign-in). An unfinished rotation is finished first.
    pub async fn rotate_credential(
        &self,
        new_certificate: Option<&Sha256Hash>,
        admin: Option<&AdminCredentials>,
    ) -> Result<RotationOutcome, LifecycleError> {
        self.rotate_credential_until(new_certificate, admin, None)
            .await
    }

    /// [`Self::rotate_credential`] that, for crash testing, stops at `stop` as if the process
    /// had died there (it returns an error and leaves the state directory as it is then).
    pub async fn rotate_credential_until(
        &self,
        new_certificate: Option<&Sha256Hash>,
        admin: Option<&AdminCredentials>,
        stop: Option<RotationPoint>,
    ) -> Result<RotationOutcome, LifecycleError> {
        if let Some(journal) = self.rotation_journal()? {
            let outcome = self
                .advance_rotation_until(journal, admin, true, stop)
                .await?;
            if new_certificate.is_none_or(|h| h == &outcome.new_certificate_sha256_hash) {
                return Ok(outcome);
            }
            if !outcome.completed {
                return Err(Precondition::RotationWaiting.into());
            }
        }
        let config = self.config()?;
        let app = active(&config)?;
        let new = match new_certificate {
            Some(hash) => {
                if hash == &app.certificate_sha256_hash {
                    return Err(Precondition::AlreadyTheCertificate { hash: hash.clone() }.into());
                }
                self.byoc_certificate(hash)?;
                JournalCertificate {
                    certificate_sha256_hash: hash.clone(),
                    store: StoreKind::LocalMachine,
                    managed: false,
                    certificate_id: None,
                }
            }
            None => {
                if app.certificate_managed_by == ManagedBy::Customer {
                    return Err(Precondition::CertificateManagedByCustomer.into());
                }
                let cert = self.create_managed_certificate().await?;
                JournalCertificate {
                    certificate_sha256_hash: cert.sha256_hash(),
                    store: StoreKind::CurrentUser,
                    managed: true,
                    certificate_id: None,
                }
            }
        };
        let journal = RotationJournal {
            started: self.now(),
            old: JournalCertificate {
                certificate_sha256_hash: app.certificate_sha256_hash.clone(),
                store: app.certificate_store,
                managed: app.certificate_managed_by == ManagedBy::ConnectSync,
                certificate_id: app.certificate_id.clone(),
            },
            new,
            step: RotationStep::Created,
        };
        journal_file(self.state_dir()).save(&journal)?;
        checkpoint(stop, RotationPoint::Created)?;
        self.advance_rotation_until(journal, admin, false, stop)
            .await
    }

    /// Runs the remaining steps of `journal`. `resumed`: the journal comes from an earlier
    /// run, whose last step may have happened without being written down.
    pub(crate) async fn advance_rotation(
        &self,
        journal: RotationJournal,
        admin: Option<&AdminCredentials>,
        resumed: bool,
    ) -> Result<RotationOutcome, LifecycleError> {
        self.advance_rotation_until(journal, admin, resumed, None)
            .await
    }

    async fn advance_rotation_until(
        &self,
        mut journal: RotationJournal,
        admin: Option<&AdminCredentials>,
        resumed: bool,
        stop: Option<RotationPoint>,
    ) -> Result<RotationOutcome, LifecycleError> {
        let file = journal_file(self.state_dir());
        loop {
            match journal.step.clone() {
                RotationStep::Created => {
                    journal.step = self.add_new_key(&journal, admin, resumed).await?;
                    checkpoint(stop, RotationPoint::KeyAddedUnrecorded)?;
                    file.save(&journal)?;
                    checkpoint(stop, RotationPoint::KeyAdded)?;
                }
                RotationStep::KeyAdded {
                    key_id,
                    old_removed,
                } => {
                    if !self.new_key_works(&journal).await? {
                        return Ok(outcome(&journal, false, false));
                    }
                    self.switch_certificate(&journal, key_id.clone())?;
                    checkpoint(stop, RotationPoint::SwitchedUnrecorded)?;
                    journal.new.certificate_id = key_id;
                    journal.step = RotationStep::Switched { old_removed };
                    file.save(&journal)?;
                    checkpoint(stop, RotationPoint::Switched)?;
                }
                RotationStep::Switched { old_removed } => {
                    let removed = old_removed || self.remove_old_key(&journal).await?;
                    self.retire_certificate(&journal.old)?;
                    checkpoint(stop, RotationPoint::RetiredUnrecorded)?;
                    file.remove()?;
                    self.event(
                        ids::ROTATION_COMPLETED,
                        Level::Information,
                        SOURCE_ADSYNC,
                        format!(
                            "The application credential was rotated: certificate {} replaces {}.",
                            journal.new.certificate_sha256_hash,
                            journal.old.certificate_sha256_hash
                        ),
                    )?;
                    return Ok(outcome(&journal, removed, true));
                }
            }
        }
    }

    /// Step 1 → 2: puts the new certificate on the application.
    async fn add_new_key(
        &self,
        journal: &RotationJournal,
        admin: Option<&AdminCredentials>,
        resumed: bool,
    ) -> Result<RotationStep, LifecycleError> {
        let config = self.config()?;
        let app = active(&config)?;
        let new_cert = self.journal_certificate(&journal.new)?;
        if let Some(admin) = admin {
            let old_cert = self.journal_certificate(&journal.old).ok();
            let session = self.admin_session(admin).await?;
            let target = object_ref(app);
            let current = session.graph.get_application(&target).await?;
            let old: Vec<_> = current
                .key_credentials
                .iter()
                .filter(|k| {
                    k.key_id.is_some()
                        && (k.key_id == journal.old.certificate_id
                            || old_cert.as_ref().is_some_and(|c| credential_is(k, c)))
                })
                .collect();
            // An old credential that still works stays until the connector has switched (step
            // 4 removes it), so that neither a lagging new key nor a crash before the switch
            // leaves the connector without a working credential. Expired ones go now.
            let now = self.now();
            let expired: Vec<KeyCredentialId> = old
                .iter()
                .filter(|k| k.end_date_time.is_some_and(|end| end <= now))
                .filter_map(|k| k.key_id.clone())
                .collect();
            let key_id = replace_certificate(&session.graph, &target, &expired, &new_cert).await?;
            return Ok(RotationStep::KeyAdded {
                key_id,
                old_removed: expired.len() == old.len(),
            });
        }
        if resumed {
            match self.token_with(&journal.new).await {
                // The crash came after addKey succeeded: the key is there, its id is lost.
                Ok(()) => {
                    return Ok(RotationStep::KeyAdded {
                        key_id: None,
                        old_removed: false,
                    });
                }
                // Not on the application: add it.
                Err(e) if e.aadsts_code() == Some(KEY_NOT_FOUND) => {}
                // No answer either way: adding it again could put it there twice (the second
                // copy would outlive the rotation away from it), so the next run asks again.
                Err(e) => return Err(e),
            }
        }
        let object_id = app_object_id(app)?;
        let tenant = Self::tenant(&config)?;
        let current = self.credential(app)?;
        let graph = self.graph_as_app(&tenant, current.clone());
        let added = graph
            .add_key_with_proof(
                &object_id,
                &new_cert,
                &current.certificate,
                current.signer.as_ref(),
                self.clock().as_ref(),
            )
            .await
            .map_err(|e| cannot_add_key(e.into()))?;
        Ok(RotationStep::KeyAdded {
            key_id: added.key_id,
            old_removed: false,
        })
    }

    async fn token_with(&self, which: &JournalCertificate) -> Result<(), LifecycleError> {
        let config = self.config()?;
        let app = active(&config)?;
        let identity = with_certificate(app, which, None);
        let credential = self.credential(&identity)?;
        self.token_client(&Self::tenant(&config)?)
            .request_app_token(&credential, SYNC_SERVICE_APP_ID)
            .await?;
        Ok(())
    }

    /// Whether the new certificate already gets tokens (replication can lag behind addKey).
    async fn new_key_works(&self, journal: &RotationJournal) -> Result<bool, LifecycleError> {
        match self.token_with(&journal.new).await {
            Ok(()) => Ok(true),
            Err(e) if e.aadsts_code().is_some() => {
                self.event(
                    ids::ROTATION_FAILED,
                    Level::Warning,
                    SOURCE_ADSYNC,
                    format!(
                        "The new certificate {} is on the application but not accepted yet ({e}); the connector keeps its current certificate and the next run finishes the rotation.",
                        journal.new.certificate_sha256_hash
                    ),
                )?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn switch_certificate(
        &self,
        journal: &RotationJournal,
        key_id: Option<KeyCredentialId>,
    ) -> Result<(), LifecycleError> {
        let mut config = self.config()?;
        let app = active(&config)?;
        let switched = with_certificate(app, &journal.new, key_id);
        config.application = Some(switched);
        self.save_config(&config)
    }

    /// Removes the old credential with removeKey; on failure reports it (event 1015) and
    /// remembers it for `Remove-EntraApplicationKey`. Returns whether it is gone.
    async fn remove_old_key(&self, journal: &RotationJournal) -> Result<bool, LifecycleError> {
        let config = self.config()?;
        let app = active(&config)?;
        let Some(old_id) = journal.old.certificate_id.clone() else {
            self.report_stale(
                journal,
                None,
                "its CertificateId is unknown to this server; find it in the Microsoft Entra admin center",
            )?;
            return Ok(false);
        };
        let result = self.remove_key_as_app(app, &old_id).await;
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                self.report_stale(journal, Some(old_id), &e.to_string())?;
                Ok(false)
            }
        }
    }

    fn report_stale(
        &self,
        journal: &RotationJournal,
        certificate_id: Option<KeyCredentialId>,
        reason: &str,
    ) -> Result<(), LifecycleError> {
        let mut config = self.config()?;
        let app_id = active(&config)?.application_app_id.clone();
        let id_text = certificate_id
            .as_ref()
            .map_or_else(|| "<unknown>".to_owned(), |id| id.to_string());
        self.event(
            ids::OLD_CREDENTIAL_NOT_REMOVED,
            Level::Error,
            SOURCE_ADSYNC,
            format!(
                "The certificate was rotated, but the old certificate credential (CertificateId {id_text}, certificate {}) could not be removed from application {app_id}: {reason}. Remove it with: Remove-EntraApplicationKey -CertificateId {id_text}",
                journal.old.certificate_sha256_hash
            ),
        )?;
        if let Some(id) = certificate_id
            && !config
                .stale_credentials
                .iter()
                .any(|s| s.certificate_id == id)
        {
            config.stale_credentials.push(StaleCredential {
                certificate_id: id,
                certificate_sha256_hash: Some(journal.old.certificate_sha256_hash.clone()),
                since: self.now(),
                reason: reason.to_owned(),
            });
            self.save_config(&config)?;
        }
        Ok(())
    }

    pub(super) async fn remove_key_as_app(
        &self,
        app: &ApplicationIdentity,
        key_id: &KeyCredentialId,
    ) -> Result<(), LifecycleError> {
        let config = self.config()?;
        let object_id = app_object_id(app)?;
        let credential = self.credential(app)?;
        let graph = self.graph_as_app(&Self::tenant(&config)?, credential.clone());
        graph
            .remove_key_with_proof(
                &object_id,
                key_id,
                &credential.certificate,
                credential.signer.as_ref(),
                self.clock().as_ref(),
            )
            .await?;
        Ok(())
    }

    fn journal_certificate(
        &self,
        which: &JournalCertificate,
    ) -> Result<Certificate, LifecycleError> {
        self.store(which.store)
            .get(&which.certificate_sha256_hash)?
            .map(|e| e.certificate)
            .ok_or_else(|| {
                Precondition::CertificateLeftStore {
                    hash: which.certificate_sha256_hash.clone(),
                }
                .into()
            })
    }
}

fn outcome(journal: &RotationJournal, removed: bool, completed: bool) -> RotationOutcome {
    let new_id = match &journal.step {
        RotationStep::KeyAdded { key_id, .. } => key_id.clone(),
        _ => None,
    };
    RotationOutcome {
        old_certificate_sha256_hash: journal.old.certificate_sha256_hash.clone(),
        new_certificate_sha256_hash: journal.new.certificate_sha256_hash.clone(),
        new_certificate_id: new_id.or_else(|| journal.new.certificate_id.clone()),
        old_credential_removed: removed,
        completed,
    }
}

fn with_certificate(
    app: &ApplicationIdentity,
    which: &JournalCertificate,
    key_id: Option<KeyCredentialId>,
) -> ApplicationIdentity {
    let mut out = app.clone();
    out.certificate_sha256_hash = which.certificate_sha256_hash.clone();
    out.certificate_store = which.store;
    out.certificate_id = key_id;
    out
}

fn app_object_id(app: &ApplicationIdentity) -> Result<ObjectId, LifecycleError> {
    app.application_object_id
        .clone()
        .ok_or_else(|| Precondition::ObjectIdUnknown.into())
}

/// addKey refused: say why and what works instead.
fn cannot_add_key(e: LifecycleError) -> LifecycleError {
    let token_refused = e.aadsts_code().is_some();
    let proof_refused = matches!(
        e.graph_code(),
        Some("Authentication_MissingOrMalformed") | Some("Request_BadRequest")
    ) || matches!(&e, LifecycleError::Graph(g) if matches!(g.as_ref(), GraphError::Service(s) if s.status == 401));
    if token_refused || proof_refused {
        Precondition::AdministratorNeededToRotate {
            refusal: Box::new(e),
        }
        .into()
    } else {
        e
    }
}
