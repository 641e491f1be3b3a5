//! The connector's certificates and where they come from: a managed one Connect Sync makes
//! for itself (a new key in the TPM when there is one and it can be used, else in the software
//! provider, with warning 1020 when a TPM failed; self-signed; in the sync account's
//! CURRENT_USER store), an administrator's (BYOC) found in LOCAL_MACHINE by its
//! SHA-256 hash and validated, and the retirement of one that is no longer used. Onboarding
//! and rotation both take their certificates from here.

use time::Duration;

use crate::cert::{Certificate, CertificateRequest, self_signed, validate_byoc};
use crate::config::{ConnectorConfig, ManagedBy, StoreKind};
use crate::events::{Level, SOURCE_ADSYNC, ids};
use crate::ids::Sha256Hash;
use crate::keys::{KeyProvider, KeyRef};

use super::error::{LifecycleError, Precondition};
use super::journal::JournalCertificate;
use super::server::SyncServer;

/// Validity of the certificates Connect Sync makes for itself (the documents do not say; a
/// year keeps rotation, due at 150 days left, well inside it).
pub const MANAGED_CERT_VALIDITY: Duration = Duration::days(365);
/// Backdating of new certificates, so a clock slightly behind the tenant's still accepts them.
pub const CERT_BACKDATE: Duration = Duration::minutes(10);

impl SyncServer {
    /// A new managed key and certificate in the sync account's CURRENT_USER store.
    pub(crate) async fn create_managed_certificate(&self) -> Result<Certificate, LifecycleError> {
        self.blocking(|server| server.create_managed_certificate_now())
            .await
    }

    /// The key goes to the TPM when the machine has one; when the TPM cannot be used (it does
    /// not answer, or refuses the key), to the software store, with warning 1020 saying why.
    fn create_managed_certificate_now(&self) -> Result<Certificate, LifecycleError> {
        let request =
            CertificateRequest::managed(self.now() - CERT_BACKDATE, MANAGED_CERT_VALIDITY);
        let made = |provider: &dyn KeyProvider| -> Result<_, LifecycleError> {
            let signer = provider.create_key()?;
            let cert = self_signed(signer.as_ref(), &request)?;
            Ok((cert, signer.key_ref()))
        };
        let tpm_made = self.providers().tpm_key_creator().map(made);
        let (cert, key) = match tpm_made {
            Some(Ok(made)) => made,
            Some(Err(e)) => {
                self.event(
                    ids::TPM_NOT_USABLE,
                    Level::Warning,
                    SOURCE_ADSYNC,
                    format!(
                        "The TPM could not be used ({e}); the key of the managed certificate was created in the software key storage provider instead, not exportable. Without the TPM only software protects the private key."
                    ),
                )?;
                made(self.providers().software())?
            }
            None => made(self.providers().software())?,
        };
        self.store(StoreKind::CurrentUser)
            .add(&cert, key, false, Vec::new())?;
        Ok(cert)
    }

    /// A BYOC certificate from LOCAL_MACHINE, validated and usable by the sync account.
    /// Returns it and whether its key is in a TPM.
    pub fn byoc_certificate(
        &self,
        hash: &Sha256Hash,
    ) -> Result<(Certificate, bool), LifecycleError> {
        let store = self.store(StoreKind::LocalMachine);
        let entry = store.get(hash)?.ok_or_else(|| {
            LifecycleError::from(Precondition::CertificateNotInStore { hash: hash.clone() })
        })?;
        let (_, signer) = store.open_signer(hash, &Self::sync_account(), self.providers())?;
        let check = validate_byoc(
            &entry.certificate,
            Some(signer.as_ref()),
            entry.key_exportable,
        )
        .map_err(|reason| LifecycleError::Byoc {
            hash: hash.clone(),
            reason,
        })?;
        Ok((entry.certificate, check.hardware_backed))
    }

    /// The managed certificate of a registration not linked yet, to register again with.
    pub(crate) fn reusable_pending_managed_certificate(
        &self,
        config: &ConnectorConfig,
    ) -> Result<Option<Certificate>, LifecycleError> {
        let Some(pending) = &config.pending_registration else {
            return Ok(None);
        };
        if pending.certificate_managed_by != ManagedBy::ConnectSync {
            return Ok(None);
        }
        Ok(self
            .store(StoreKind::CurrentUser)
            .get(&pending.certificate_sha256_hash)?
            .map(|e| e.certificate))
    }

    /// A retired certificate that Connect Sync made leaves the store and its software key is
    /// deleted; an administrator's stays where it is (they remove it themselves).
    pub(crate) fn retire_certificate(
        &self,
        which: &JournalCertificate,
    ) -> Result<(), LifecycleError> {
        if !which.managed {
            return Ok(());
        }
        if let Some(entry) = self
            .store(which.store)
            .remove(&which.certificate_sha256_hash)?
            && let KeyRef::Software { id } = &entry.key
        {
            self.providers().software().delete(id)?;
        }
        Ok(())
    }
}
