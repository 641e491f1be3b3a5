//! Credential rotation as a journaled sequence of steps, so a crash at any step leaves a state
//! the next run finishes:
//!
//! 1. `Created`: the new certificate exists (managed: new key and certificate in CURRENT_USER;
//!    BYOC/BYOA: the administrator's, in LOCAL_MACHINE). The journal names old and new.
//! 2. `KeyAdded`: the new certificate is on the application — `Adding` is written first, so
//!    that an add whose outcome a crash hid is never sent again — through `addKey` with a proof
//!    signed by the current key (the application rolls its own keys), or, with an
//!    administrator's sign-in (needed when the current certificate expired or was revoked, and
//!    always for BYOA, whose application is the administrator's), through the administrator's
//!    PATCH of keyCredentials that also drops the old credential if it has expired (one that
//!    still works stays until step 4, so the connector always has a working credential).
//! 3. `Switched`: a token was obtained with the new certificate and the configuration names it.
//!    Until that token works (replication lag), the connector keeps the old certificate and
//!    the next run retries.
//! 4. The old credential is removed with `removeKey` (proof signed by the new key); when that
//!    fails the rotation still succeeds, and error 1015 names the old `CertificateId` for
//!    `Remove-EntraApplicationKey`. A managed old certificate leaves the store; the journal
//!    goes.
//!
//! A resumed rotation never puts back a certificate an administrator removed (that would undo
//! a revocation), never adds one twice, and never waits for an expired one: when the new
//! certificate has expired, when an administrator's read of the application no longer finds it
//! after step 2, or when an add a crash interrupted cannot be confirmed (not accepted yet: it
//! may have failed, or still be replicating), it is given up (kept in the journal as
//! abandoned) and a fresh managed certificate takes its place; a
//! certificate the administrator brought (BYOC/BYOA) is not replaced by the client, the rotation
//! stops with a precondition naming it until the administrator names another one. Abandoned
//! certificates' credentials are removed in step 4 like the old one; one that cannot be found
//! (revoked, or still replicating) is reported with 1015 so that it is accounted for if it
//! appears later.
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
use crate::graph::{GraphError, KeyCredential};
use crate::ids::{KeyCredentialId, ObjectId, Sha256Hash};

use super::error::{LifecycleError, Precondition};
use super::journal::journal_file;
pub use super::journal::{JournalCertificate, RotationJournal, RotationPoint, RotationStep};
use super::registration::{credential_is, replace_certificate};
use super::server::{AdminCredentials, AdminSession, SyncServer, active, object_ref};

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

/// What became of a credential the rotation removes.
enum Removal {
    Removed,
    /// The application does not have it (as far as the caller can see).
    NotFound,
    Failed {
        certificate_id: Option<KeyCredentialId>,
        reason: String,
    },
}

/// Why an add a crash interrupted is given up rather than sent again.
const UNCONFIRMED: &str = "could not be confirmed on the application after an interrupted add (it may not have been added, or may still be replicating)";

/// AADSTS700027: no credential of the application matches the assertion's certificate.
const KEY_NOT_FOUND: u32 = 700027;

/// How a resumed rotation runs: the administrator's session, if any, and the certificate the
/// caller named, which takes the place of a BYOC certificate that can no longer be used.
#[derive(Clone, Copy)]
pub(crate) struct Resume<'a> {
    pub session: Option<&'a AdminSession>,
    pub replacement: Option<&'a Sha256Hash>,
}

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
    ///
    /// Everything that can be checked first is: the connector's application, the certificate
    /// named, the administrator's sign-in. A refused request leaves the server as it was.
    pub async fn rotate_credential_until(
        &self,
        new_certificate: Option<&Sha256Hash>,
        admin: Option<&AdminCredentials>,
        stop: Option<RotationPoint>,
    ) -> Result<RotationOutcome, LifecycleError> {
        let journal = self.rotation_journal()?;
        let config = self.config()?;
        let app = active(&config)?;
        if let Some(hash) = new_certificate {
            if hash == &app.certificate_sha256_hash {
                return Err(Precondition::AlreadyTheCertificate { hash: hash.clone() }.into());
            }
            self.byoc_certificate(hash)?;
        } else if journal.is_none() && app.certificate_managed_by == ManagedBy::Customer {
            return Err(Precondition::CertificateManagedByCustomer.into());
        }
        let session = match admin {
            Some(admin) => Some(self.admin_session(admin).await?),
            None => None,
        };
        let resume = Resume {
            session: session.as_ref(),
            replacement: new_certificate,
        };
        if let Some(journal) = journal {
            let outcome = self
                .advance_rotation_until(journal, resume, true, stop)
                .await?;
            let named_other =
                new_certificate.is_some_and(|h| h != &outcome.new_certificate_sha256_hash);
            if !outcome.completed {
                return match named_other {
                    true => Err(Precondition::RotationWaiting.into()),
                    false => Ok(outcome),
                };
            }
            // An administrator's rotation does not stop on a certificate that can no longer
            // be used (it expired, or was removed while the rotation was finishing): it goes
            // on to a new one.
            let unusable = match resume.session {
                Some(session) if !named_other => self.current_unusable(session).await?,
                _ => None,
            };
            if !named_other && unusable.is_none() {
                return Ok(outcome);
            }
            if let Some(reason) = unusable
                && outcome_is_customers(&self.config()?)
            {
                return Err(Precondition::RotationTargetUnusable {
                    hash: outcome.new_certificate_sha256_hash,
                    reason,
                }
                .into());
            }
        }
        let config = self.config()?;
        let app = active(&config)?;
        if resume.session.is_none() {
            // The application rolls its own keys with a proof signed by its current key: once
            // that has expired, only an administrator can add one. Said before anything is made.
            let info = self.credential(app)?.certificate.info()?;
            if info.not_after <= self.now() {
                return Err(Precondition::CertificateExpiredNeedsAdministrator {
                    hash: app.certificate_sha256_hash.clone(),
                    not_after: info.not_after,
                }
                .into());
            }
            // Nor can it once the certificate was revoked (its credential removed from the
            // application): the token addKey needs is refused. Asked before anything is made,
            // so that the refusal leaves the server as it was.
            let tenant = Self::tenant(&config)?;
            let client = self.token_client(&tenant);
            let resource = client.endpoints().graph_resource().to_owned();
            client
                .app_token(&self.credential(app)?, &resource)
                .await
                .map_err(|e| cannot_add_key(e.into()))?;
        }
        let new = match new_certificate {
            Some(hash) => byoc_side(hash),
            None => self.new_managed_side().await?,
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
            abandoned: Vec::new(),
            step: RotationStep::Created,
        };
        journal_file(self.state_dir()).save(&journal)?;
        checkpoint(stop, RotationPoint::Created)?;
        self.advance_rotation_until(journal, resume, false, stop)
            .await
    }

    /// Runs the remaining steps of `journal` without an administrator (the scheduler's
    /// maintenance). `resumed`: the journal comes from an earlier run, whose last step may have
    /// happened without being written down.
    pub(crate) async fn advance_rotation(
        &self,
        journal: RotationJournal,
        resumed: bool,
    ) -> Result<RotationOutcome, LifecycleError> {
        let resume = Resume {
            session: None,
            replacement: None,
        };
        self.advance_rotation_until(journal, resume, resumed, None)
            .await
    }

    async fn advance_rotation_until(
        &self,
        mut journal: RotationJournal,
        resume: Resume<'_>,
        resumed: bool,
        stop: Option<RotationPoint>,
    ) -> Result<RotationOutcome, LifecycleError> {
        let file = journal_file(self.state_dir());
        loop {
            if resumed && !matches!(journal.step, RotationStep::Switched { .. }) {
                self.give_up_unusable_new(&mut journal, resume).await?;
            }
            match journal.step.clone() {
                RotationStep::Created => {
                    journal.step = RotationStep::Adding;
                    file.save(&journal)?;
                    journal.step = match self.add_new_key(&journal, resume).await {
                        Ok(step) => step,
                        // Refused, or failed before a request went out: nothing was added, so
                        // the next run may send it (Adding would make it give the certificate
                        // up).
                        Err(e) if !add_may_have_happened(&e) => {
                            // A rotation this command started whose add was refused (the
                            // sign-in may not change the application) leaves the server as it
                            // found it: the new managed certificate goes, and the journal.
                            if !resumed && journal.abandoned.is_empty() && is_refusal(&e) {
                                file.remove()?;
                                self.retire_certificate(&journal.new)?;
                                return Err(e);
                            }
                            journal.step = RotationStep::Created;
                            file.save(&journal)?;
                            return Err(e);
                        }
                        Err(e) => return Err(e),
                    };
                    checkpoint(stop, RotationPoint::KeyAddedUnrecorded)?;
                    file.save(&journal)?;
                    checkpoint(stop, RotationPoint::KeyAdded)?;
                }
                RotationStep::Adding => match self.confirm_added(&journal, resume).await? {
                    Ok(step) => {
                        journal.step = step;
                        file.save(&journal)?;
                        checkpoint(stop, RotationPoint::KeyAdded)?;
                    }
                    Err(reason) => self.give_up(&mut journal, resume, reason).await?,
                },
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
                    let removed =
                        old_removed || self.remove_old_key(&journal, resume.session).await?;
                    self.remove_abandoned(&journal, resume.session).await?;
                    self.retire_certificate(&journal.old)?;
                    for abandoned in &journal.abandoned {
                        self.retire_certificate(abandoned)?;
                    }
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

    /// Why the connector's certificate can no longer be used, if it cannot: it has expired, or
    /// the administrator's read of the application does not find it.
    async fn current_unusable(
        &self,
        session: &AdminSession,
    ) -> Result<Option<String>, LifecycleError> {
        let config = self.config()?;
        let app = active(&config)?;
        let cert = self.credential(app)?.certificate;
        if cert.info()?.not_after <= self.now() {
            return Ok(Some("has expired".into()));
        }
        let current = session.graph.get_application(&object_ref(app)).await?;
        let there = current.key_credentials.iter().any(|k| {
            (k.key_id.is_some() && k.key_id == app.certificate_id) || credential_is(k, &cert)
        });
        Ok((!there).then(|| "is no longer on the application".into()))
    }

    /// A new managed key and certificate, as the new side of a rotation.
    async fn new_managed_side(&self) -> Result<JournalCertificate, LifecycleError> {
        let cert = self.create_managed_certificate().await?;
        Ok(JournalCertificate {
            certificate_sha256_hash: cert.sha256_hash(),
            store: StoreKind::CurrentUser,
            managed: true,
            certificate_id: None,
        })
    }

    /// Why the new certificate of a resumed rotation cannot be used any more, if it cannot:
    /// it has expired, or (as the administrator reads the application) it was added and is no
    /// longer there. Without an administrator the client cannot read the application, and a
    /// key not accepted yet is waited for (it may still be replicating).
    async fn new_certificate_unusable(
        &self,
        journal: &RotationJournal,
        session: Option<&AdminSession>,
    ) -> Result<Option<String>, LifecycleError> {
        let cert = self.journal_certificate(&journal.new)?;
        if cert.info()?.not_after <= self.now() {
            return Ok(Some("has expired".into()));
        }
        let (Some(session), RotationStep::KeyAdded { key_id, .. }) = (session, &journal.step)
        else {
            return Ok(None);
        };
        let config = self.config()?;
        let current = session
            .graph
            .get_application(&object_ref(active(&config)?))
            .await?;
        let there = current
            .key_credentials
            .iter()
            .any(|k| (key_id.is_some() && &k.key_id == key_id) || credential_is(k, &cert));
        Ok((!there).then(|| {
            "is no longer on the application (an administrator removed it, or its addition has not replicated yet)".into()
        }))
    }

    /// Gives up the new certificate of a resumed rotation when it cannot be used: a managed
    /// one is replaced by a fresh one; a BYOC one by the certificate the caller named, or the
    /// rotation stops naming it. The given-up certificate stays in the journal (abandoned), so
    /// its credential is removed at the end.
    async fn give_up_unusable_new(
        &self,
        journal: &mut RotationJournal,
        resume: Resume<'_>,
    ) -> Result<(), LifecycleError> {
        let Some(reason) = self
            .new_certificate_unusable(journal, resume.session)
            .await?
        else {
            return Ok(());
        };
        self.give_up(journal, resume, reason).await
    }

    /// Gives up the new certificate: a managed one for a fresh one, a BYOC one for the
    /// certificate the caller named (or the rotation stops naming it).
    async fn give_up(
        &self,
        journal: &mut RotationJournal,
        resume: Resume<'_>,
        reason: String,
    ) -> Result<(), LifecycleError> {
        let mut given_up = journal.new.clone();
        if let RotationStep::KeyAdded { key_id, .. } = &journal.step {
            given_up.certificate_id = key_id.clone();
        }
        let replacement = match resume.replacement {
            _ if given_up.managed => self.new_managed_side().await?,
            Some(hash) if hash != &given_up.certificate_sha256_hash => byoc_side(hash),
            _ => {
                return Err(Precondition::RotationTargetUnusable {
                    hash: given_up.certificate_sha256_hash,
                    reason,
                }
                .into());
            }
        };
        self.event(
            ids::ROTATION_FAILED,
            Level::Warning,
            SOURCE_ADSYNC,
            format!(
                "The certificate {} that the unfinished rotation was moving to {reason}; certificate {} takes its place.",
                given_up.certificate_sha256_hash, replacement.certificate_sha256_hash
            ),
        )?;
        journal.abandoned.push(given_up);
        journal.new = replacement;
        journal.step = RotationStep::Created;
        journal_file(self.state_dir()).save(journal)?;
        Ok(())
    }

    /// A resumed `Adding` step: whether the add a crash interrupted took effect. The
    /// administrator's read of the application finds the certificate, or a token with it is
    /// accepted: `Ok` with the step it reached. Otherwise (it is not there, or not yet: a
    /// lagging write can still add it) `Err` with the reason to give it up.
    async fn confirm_added(
        &self,
        journal: &RotationJournal,
        resume: Resume<'_>,
    ) -> Result<Result<RotationStep, String>, LifecycleError> {
        let added = |key_id| RotationStep::KeyAdded {
            key_id,
            old_removed: false,
        };
        if let Some(session) = resume.session {
            let config = self.config()?;
            let current = session
                .graph
                .get_application(&object_ref(active(&config)?))
                .await?;
            let found = self.credentials_of(&current.key_credentials, &journal.new);
            return Ok(match found.first() {
                Some(k) => Ok(added(k.key_id.clone())),
                None => Err(UNCONFIRMED.into()),
            });
        }
        match self.token_with(&journal.new).await {
            // The crash came after the add took effect: the key is there, its id is lost.
            Ok(()) => Ok(Ok(added(None))),
            Err(e) if e.aadsts_code() == Some(KEY_NOT_FOUND) => Ok(Err(UNCONFIRMED.into())),
            // No answer either way: the next run asks again.
            Err(e) => Err(e),
        }
    }

    /// Step 1 → 2: puts the new certificate on the application.
    async fn add_new_key(
        &self,
        journal: &RotationJournal,
        resume: Resume<'_>,
    ) -> Result<RotationStep, LifecycleError> {
        let config = self.config()?;
        let app = active(&config)?;
        let new_cert = self.journal_certificate(&journal.new)?;
        if let Some(session) = resume.session {
            let target = object_ref(app);
            let current = session.graph.get_application(&target).await?;
            let old = self.credentials_of(&current.key_credentials, &journal.old);
            // An old credential that still works stays until the connector has switched (step
            // 4 removes it), so that neither a lagging new key nor a crash before the switch
            // leaves the connector without a working credential. Expired ones go now, and so do
            // certificates this rotation gave up on.
            let now = self.now();
            let mut drop: Vec<KeyCredentialId> = old
                .iter()
                .filter(|k| k.end_date_time.is_some_and(|end| end <= now))
                .filter_map(|k| k.key_id.clone())
                .collect();
            let old_removed = drop.len() == old.len();
            for abandoned in &journal.abandoned {
                drop.extend(
                    self.credentials_of(&current.key_credentials, abandoned)
                        .iter()
                        .filter_map(|k| k.key_id.clone()),
                );
            }
            let key_id = replace_certificate(&session.graph, &target, &drop, &new_cert).await?;
            return Ok(RotationStep::KeyAdded {
                key_id,
                old_removed,
            });
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

    /// The credentials among `keys` that are `which`: by its CertificateId, or by its
    /// certificate when it is still in its store.
    fn credentials_of<'k>(
        &self,
        keys: &'k [KeyCredential],
        which: &JournalCertificate,
    ) -> Vec<&'k KeyCredential> {
        let cert = self.journal_certificate(which).ok();
        keys.iter()
            .filter(|k| {
                k.key_id.is_some()
                    && (k.key_id == which.certificate_id
                        || cert.as_ref().is_some_and(|c| credential_is(k, c)))
            })
            .collect()
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

    /// Removes the old credential; on failure reports it (event 1015) and remembers it for
    /// `Remove-EntraApplicationKey`. Returns whether it is gone. One the application no longer
    /// has (an administrator removed it) is gone.
    async fn remove_old_key(
        &self,
        journal: &RotationJournal,
        session: Option<&AdminSession>,
    ) -> Result<bool, LifecycleError> {
        match self.remove_credential(&journal.old, session).await? {
            Removal::Removed | Removal::NotFound => Ok(true),
            Removal::Failed {
                certificate_id,
                reason,
            } => {
                self.report_stale(&journal.old, certificate_id, &reason)?;
                Ok(false)
            }
        }
    }

    /// Removes the credentials of the certificates this rotation gave up on. Not finding one
    /// does not prove it is gone (a lagging write can still add it), so that is reported (1015)
    /// too, unless the certificate has expired.
    async fn remove_abandoned(
        &self,
        journal: &RotationJournal,
        session: Option<&AdminSession>,
    ) -> Result<(), LifecycleError> {
        for abandoned in &journal.abandoned {
            let (certificate_id, reason) = match self.remove_credential(abandoned, session).await? {
                Removal::Removed => continue,
                Removal::NotFound if self.expired(abandoned) => continue,
                Removal::NotFound => (
                    abandoned.certificate_id.clone(),
                    "it is not on the application: an administrator removed it, or its addition has not replicated yet and it may still appear".to_owned(),
                ),
                Removal::Failed { certificate_id, reason } => (certificate_id, reason),
            };
            self.report_stale(abandoned, certificate_id, &reason)?;
        }
        Ok(())
    }

    /// Whether `which` has expired (a certificate that left its store counts as not expired:
    /// nothing says it has).
    fn expired(&self, which: &JournalCertificate) -> bool {
        self.journal_certificate(which)
            .ok()
            .and_then(|c| c.info().ok())
            .is_some_and(|i| i.not_after <= self.now())
    }

    /// Removes `which`'s credential from the application: with the administrator's PATCH when
    /// there is a session (found by CertificateId or by certificate), else with removeKey as
    /// the application, by CertificateId, with a proof signed by its current certificate.
    async fn remove_credential(
        &self,
        which: &JournalCertificate,
        session: Option<&AdminSession>,
    ) -> Result<Removal, LifecycleError> {
        let config = self.config()?;
        let app = active(&config)?.clone();
        if let Some(session) = session {
            let target = object_ref(&app);
            let current = session.graph.get_application(&target).await?;
            let found: Vec<Option<KeyCredentialId>> = self
                .credentials_of(&current.key_credentials, which)
                .iter()
                .map(|k| k.key_id.clone())
                .collect();
            let Some(first) = found.first().cloned() else {
                return Ok(Removal::NotFound);
            };
            let keep: Vec<KeyCredential> = current
                .key_credentials
                .into_iter()
                .filter(|k| !found.contains(&k.key_id))
                .collect();
            return Ok(
                match session.graph.set_key_credentials(&target, &keep).await {
                    Ok(()) => Removal::Removed,
                    Err(e) => Removal::Failed {
                        certificate_id: first,
                        reason: e.to_string(),
                    },
                },
            );
        }
        let Some(key_id) = which.certificate_id.clone() else {
            return Ok(Removal::Failed {
                certificate_id: None,
                reason: "its CertificateId is unknown to this server; find it in the Microsoft Entra admin center".into(),
            });
        };
        Ok(match self.remove_key_as_app(&app, &key_id).await {
            Ok(()) => Removal::Removed,
            Err(e) if e.graph_status() == Some(404) => Removal::NotFound,
            Err(e) => Removal::Failed {
                certificate_id: Some(key_id),
                reason: e.to_string(),
            },
        })
    }

    fn report_stale(
        &self,
        which: &JournalCertificate,
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
                "The certificate was rotated, but the certificate credential (CertificateId {id_text}, certificate {}) could not be removed from application {app_id}: {reason}. Remove it with: Remove-EntraApplicationKey -CertificateId {id_text}",
                which.certificate_sha256_hash
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
                certificate_sha256_hash: Some(which.certificate_sha256_hash.clone()),
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

/// Whether the connector's certificate is the administrator's (BYOC/BYOA).
fn outcome_is_customers(config: &crate::config::ConnectorConfig) -> bool {
    config
        .active_application()
        .is_some_and(|a| a.certificate_managed_by == ManagedBy::Customer)
}

/// The administrator's certificate in LOCAL_MACHINE as the new side of a rotation.
fn byoc_side(hash: &Sha256Hash) -> JournalCertificate {
    JournalCertificate {
        certificate_sha256_hash: hash.clone(),
        store: StoreKind::LocalMachine,
        managed: false,
        certificate_id: None,
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

/// Whether `e` is the tenant's (or the client's own) refusal rather than a failure to reach
/// it: trying again later, as it is, would be refused again.
fn is_refusal(e: &LifecycleError) -> bool {
    match e {
        LifecycleError::Precondition(_) => true,
        LifecycleError::Graph(g) => matches!(
            g.as_ref(),
            GraphError::Service(s) if (400..500).contains(&s.status) && s.status != 429
        ),
        _ => false,
    }
}

/// Whether an add that failed with `e` may still have taken effect: no answer came, the answer
/// was a server error, or a success could not be read. A refusal, or a failure before the
/// request (no token, nothing to sign with), added nothing.
fn add_may_have_happened(e: &LifecycleError) -> bool {
    match e {
        LifecycleError::Transport(_) => true,
        LifecycleError::Graph(g) => match g.as_ref() {
            GraphError::Service(s) => s.status >= 500,
            GraphError::Unexpected { status, .. } => *status >= 500,
            GraphError::Decode { .. } | GraphError::Transport(_) => true,
            _ => false,
        },
        _ => false,
    }
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
