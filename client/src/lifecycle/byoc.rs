//! What an administrator does outside Connect Sync with the certificates they bring
//! (BYOC/BYOA): create an RSA 2048 / SHA-256 key through a CNG provider (here the TPM or the
//! software provider), a certificate for it in the LOCAL_MACHINE store, non-exportable, and
//! grant the sync engine's account the right to sign with it; and, after a rotation, remove
//! the old certificate from LOCAL_MACHINE (the article's last rotation step; never the one
//! the connector, an unfinished rotation or an unlinked registration uses).

use serde::Serialize;
use time::Duration;

use crate::cert::{Certificate, CertificateRequest, self_signed};
use crate::config::StoreKind;
use crate::ids::{Sha256Hash, Thumbprint};
use crate::keys::KeyRef;

use super::certificates::CERT_BACKDATE;
use super::error::{LifecycleError, Precondition};
use super::server::SyncServer;

/// Which provider holds a new administrator's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProviderKind {
    Tpm,
    Software,
}

/// What `adsync new-certificate` makes.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub provider: KeyProviderKind,
    pub subject_cn: String,
    pub validity: Duration,
    /// Grant the sync engine's account signing rights (what the documents require).
    pub grant_sync_account: bool,
    /// Mark the key exportable (BYOC refuses such certificates; for demonstrating that).
    pub exportable: bool,
}

/// A certificate removed from LOCAL_MACHINE, and its key with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovedCertificate {
    pub store: String,
    #[serde(rename = "CertificateSHA256Hash")]
    pub certificate_sha256_hash: Sha256Hash,
    pub thumbprint: Thumbprint,
    pub subject: String,
}

impl SyncServer {
    /// `Remove-Item Cert:\LocalMachine\My\<thumbprint>` with the key: removes an
    /// administrator's certificate from LOCAL_MACHINE and deletes its key (a software key's
    /// file; a TPM key is its blobs, which go with the entry). A certificate still in use is
    /// refused, naming what uses it.
    pub fn remove_local_machine_certificate(
        &self,
        hash: &Sha256Hash,
    ) -> Result<RemovedCertificate, LifecycleError> {
        let store = self.store(StoreKind::LocalMachine);
        let entry = store
            .get(hash)?
            .ok_or_else(|| Precondition::CertificateNotInStore { hash: hash.clone() })?;
        let config = self.config()?;
        let journal = self.rotation_journal()?;
        let user = if config
            .active_application()
            .is_some_and(|a| &a.certificate_sha256_hash == hash)
        {
            Some("the connector authenticates with it")
        } else if journal.as_ref().is_some_and(|j| {
            &j.new.certificate_sha256_hash == hash || &j.old.certificate_sha256_hash == hash
        }) {
            Some("an unfinished rotation moves from or to it")
        } else if config
            .pending_registration
            .as_ref()
            .is_some_and(|p| &p.certificate_sha256_hash == hash)
        {
            Some("a registration not linked yet uses it")
        } else {
            None
        };
        if let Some(user) = user {
            return Err(Precondition::CertificateInUse {
                hash: hash.clone(),
                user: user.into(),
            }
            .into());
        }
        store.remove(hash)?;
        if let KeyRef::Software { id } = &entry.key {
            self.providers().software().delete(id)?;
        }
        Ok(RemovedCertificate {
            store: "LOCAL_MACHINE".into(),
            certificate_sha256_hash: hash.clone(),
            thumbprint: entry.certificate.thumbprint(),
            subject: entry.certificate.info()?.subject,
        })
    }

    /// Creates a key and a self-signed certificate in LOCAL_MACHINE.
    pub async fn new_local_machine_certificate(
        &self,
        request: &NewCertificate,
    ) -> Result<Certificate, LifecycleError> {
        let request = request.clone();
        self.blocking(move |server| server.new_local_machine_certificate_now(&request))
            .await
    }

    fn new_local_machine_certificate_now(
        &self,
        request: &NewCertificate,
    ) -> Result<Certificate, LifecycleError> {
        let signer = match request.provider {
            KeyProviderKind::Tpm => {
                let tpm = self.providers().tpm().ok_or(Precondition::NoTpm)?;
                crate::keys::KeyProvider::create_key(tpm)?
            }
            KeyProviderKind::Software => {
                crate::keys::KeyProvider::create_key(self.providers().software())?
            }
        };
        let not_before = self.now() - CERT_BACKDATE;
        let cert = self_signed(
            signer.as_ref(),
            &CertificateRequest {
                common_name: request.subject_cn.clone(),
                not_before,
                not_after: not_before + request.validity,
            },
        )?;
        let access = if request.grant_sync_account {
            vec![Self::sync_account()]
        } else {
            Vec::new()
        };
        self.store(StoreKind::LocalMachine).add(
            &cert,
            signer.key_ref(),
            request.exportable,
            access,
        )?;
        Ok(cert)
    }
}
