//! What an administrator does outside Connect Sync to bring a certificate (BYOC/BYOA): create
//! an RSA 2048 / SHA-256 key through a CNG provider (here the TPM or the software provider),
//! a certificate for it in the LOCAL_MACHINE store, non-exportable, and grant the sync
//! engine's account the right to sign with it.

use time::Duration;

use crate::cert::{Certificate, CertificateRequest, self_signed};
use crate::config::StoreKind;

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

impl SyncServer {
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
