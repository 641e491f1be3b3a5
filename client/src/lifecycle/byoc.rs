//! What an administrator does outside Connect Sync with the certificates they bring
//! (BYOC/BYOA): create an RSA 2048 / SHA-256 key through a CNG provider (here the TPM or the
//! software provider), a certificate for it in the LOCAL_MACHINE store, non-exportable, and
//! grant the sync engine's account the right to sign with it; import one their CA issued
//! (`Import-PfxCertificate`: the key into the TPM with TPM2_Import, or into the software
//! provider, non-exportable, checked against the article's requirements); and, after a
//! rotation, remove
//! the old certificate from LOCAL_MACHINE (the article's last rotation step; never the one
//! the connector, an unfinished rotation or an unlinked registration uses).

use std::sync::Arc;

use serde::Serialize;
use time::Duration;

use crate::cert::{Certificate, CertificateRequest, self_signed};
use crate::config::StoreKind;
use crate::ids::{AccountName, Sha256Hash, Thumbprint};
use crate::import::CertificateSource;
use crate::keys::{KeyRef, SignatureScheme, Signer};

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
        self.store(StoreKind::LocalMachine).add(
            &cert,
            signer.key_ref(),
            request.exportable,
            self.access(request.grant_sync_account),
        )?;
        Ok(cert)
    }

    /// Who may sign with a LOCAL_MACHINE key: the sync engine's account when granted.
    fn access(&self, grant_sync_account: bool) -> Vec<AccountName> {
        match grant_sync_account {
            true => vec![Self::sync_account()],
            false => Vec::new(),
        }
    }

    /// `Import-PfxCertificate -CertStoreLocation Cert:\LocalMachine\My` (without
    /// `-Exportable`), or the same from a PEM pair: the administrator's certificate goes into
    /// LOCAL_MACHINE and its key into the provider asked for (TPM2_Import into the TPM, or the
    /// software store), non-exportable, with the sync engine's account granted unless told
    /// otherwise. What the article's requirements refuse is refused, naming the problem;
    /// nothing is stored unless the provider then signs as the certificate says.
    pub async fn import_local_machine_certificate(
        &self,
        request: ImportCertificate,
    ) -> Result<LocalMachineCertificate, LifecycleError> {
        self.blocking(move |server| server.import_local_machine_certificate_now(&request))
            .await
    }

    fn import_local_machine_certificate_now(
        &self,
        request: &ImportCertificate,
    ) -> Result<LocalMachineCertificate, LifecycleError> {
        let imported = crate::import::read(&request.source)?;
        let hash = imported.certificate.sha256_hash();
        let store = self.store(StoreKind::LocalMachine);
        if store.get(&hash)?.is_some() {
            return Err(Precondition::CertificateAlreadyInStore { hash }.into());
        }
        let signer: Arc<dyn Signer> = match request.provider {
            KeyProviderKind::Tpm => {
                let tpm = self.providers().tpm().ok_or(Precondition::NoTpm)?;
                Arc::new(tpm.import(&imported.key)?)
            }
            KeyProviderKind::Software => {
                Arc::new(self.providers().software().import(&imported.key)?)
            }
        };
        // The provider signs as the certificate's public key says, or nothing is stored.
        let probe = crate::keys::sign_message(
            signer.as_ref(),
            hash.as_str().as_bytes(),
            SignatureScheme::RsaPssSha256,
        )?;
        imported.key.public_key().verify(
            SignatureScheme::RsaPssSha256,
            hash.as_str().as_bytes(),
            &probe,
        )?;
        store.add(
            &imported.certificate,
            signer.key_ref(),
            false,
            self.access(request.grant_sync_account),
        )?;
        LocalMachineCertificate::of(&imported.certificate, signer.is_hardware_backed())
    }
}

/// What `adsync import-certificate` is asked to import.
#[derive(Debug)]
pub struct ImportCertificate {
    pub source: CertificateSource,
    pub provider: KeyProviderKind,
    /// Grant the sync engine's account signing rights (what the article requires).
    pub grant_sync_account: bool,
}

/// A certificate in LOCAL_MACHINE as `new-certificate` and `import-certificate` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalMachineCertificate {
    pub store: String,
    pub subject: String,
    pub issued_by: String,
    pub thumbprint: Thumbprint,
    #[serde(rename = "CertificateSHA256Hash")]
    pub certificate_sha256_hash: Sha256Hash,
    #[serde(with = "time::serde::rfc3339")]
    pub not_valid_before: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_valid_after: time::OffsetDateTime,
    /// `TPM` or `Software`.
    pub key_storage: String,
}

impl LocalMachineCertificate {
    pub fn of(cert: &Certificate, hardware_backed: bool) -> Result<Self, LifecycleError> {
        let info = cert.info()?;
        Ok(Self {
            store: "LOCAL_MACHINE".into(),
            subject: info.subject,
            issued_by: info.issuer,
            thumbprint: cert.thumbprint(),
            certificate_sha256_hash: cert.sha256_hash(),
            not_valid_before: info.not_before,
            not_valid_after: info.not_after,
            key_storage: if hardware_backed { "TPM" } else { "Software" }.into(),
        })
    }
}
