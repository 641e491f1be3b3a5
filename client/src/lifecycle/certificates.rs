//! The connector's certificates and where they come from: a managed one Connect Sync makes
//! for itself (a new key in the preferred provider, TPM when there is one; self-signed; in the
//! sync account's CURRENT_USER store), an administrator's (BYOC) found in LOCAL_MACHINE by its
//! SHA-256 hash and validated, and the retirement of one that is no longer used. Onboarding
//! and rotation both take their certificates from here.

use time::Duration;

use crate::cert::{Certificate, CertificateRequest, self_signed, validate_byoc};
use crate::config::{ConnectorConfig, ManagedBy, StoreKind};
use crate::ids::Sha256Hash;
use crate::keys::KeyRef;

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

    fn create_managed_certificate_now(&self) -> Result<Certificate, LifecycleError> {
        let provider = self.providers().preferred();
        let signer = provider.create_key()?;
        let request =
            CertificateRequest::managed(self.now() - CERT_BACKDATE, MANAGED_CERT_VALIDITY);
        let cert = self_signed(signer.as_ref(), &request)?;
        self.store(StoreKind::CurrentUser)
            .add(&cert, signer.key_ref(), false, Vec::new())?;
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
