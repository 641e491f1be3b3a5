//! The certificate check of every scheduler run that is not suspended: warning 1011 when the
//! certificate expires in 150 days or less (rotation due) and error 1012 once it has expired,
//! both only while maintenance is enabled (the newer revision of the article: "at the scheduler
//! frequency if maintenance is enabled and the scheduler isn't suspended"); warning 1014 when a
//! certificate the administrator brought (BYOC) keeps its key outside a TPM.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::config::{ApplicationIdentity, ManagedBy};
use crate::events::{Level, SOURCE_ADSYNC, ids};
use crate::ids::Sha256Hash;

use super::error::LifecycleError;
use super::server::SyncServer;

/// Rotation is due when the certificate expires within this long.
pub const ROTATION_WARNING: Duration = Duration::days(150);

/// Which events a certificate check writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckEvents {
    /// 1011 (rotation due) and 1012 (expired).
    pub expiry: bool,
    /// 1014 (a BYOC key outside a TPM).
    pub not_in_tpm: bool,
}

impl CheckEvents {
    /// Only look.
    pub const NONE: CheckEvents = CheckEvents {
        expiry: false,
        not_in_tpm: false,
    };
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateStatus {
    pub certificate_sha256_hash: Sha256Hash,
    #[serde(with = "time::serde::rfc3339")]
    pub not_valid_after: OffsetDateTime,
    /// Whole days until expiry (negative once expired).
    pub days_left: i64,
    pub expired: bool,
    pub rotation_due: bool,
    pub hardware_backed: bool,
    pub certificate_managed_by: ManagedBy,
}

impl SyncServer {
    /// Checks the connector's certificate and writes the events `emit` asks for. `None` when
    /// the connector uses its service account.
    pub fn check_certificate(
        &self,
        emit: CheckEvents,
    ) -> Result<Option<CertificateStatus>, LifecycleError> {
        let config = self.config()?;
        let Some(app) = config.active_application() else {
            return Ok(None);
        };
        let status = self.certificate_status(app)?;
        self.emit_certificate_events(app, &status, emit)?;
        Ok(Some(status))
    }

    fn certificate_status(
        &self,
        app: &ApplicationIdentity,
    ) -> Result<CertificateStatus, LifecycleError> {
        let credential = self.credential(app)?;
        let info = credential.certificate.info()?;
        let now = self.now();
        let left = info.not_after - now;
        Ok(CertificateStatus {
            certificate_sha256_hash: app.certificate_sha256_hash.clone(),
            not_valid_after: info.not_after,
            days_left: left.whole_days(),
            expired: now >= info.not_after,
            rotation_due: left <= ROTATION_WARNING,
            hardware_backed: credential.signer.is_hardware_backed(),
            certificate_managed_by: app.certificate_managed_by,
        })
    }

    fn emit_certificate_events(
        &self,
        app: &ApplicationIdentity,
        status: &CertificateStatus,
        emit: CheckEvents,
    ) -> Result<(), LifecycleError> {
        let hash = &status.certificate_sha256_hash;
        let expiry = status
            .not_valid_after
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let how = match app.certificate_managed_by {
            ManagedBy::ConnectSync => {
                "Microsoft Entra Connect Sync rotates it automatically unless the scheduler is suspended or maintenance is disabled; Invoke-ADSyncApplicationCredentialRotation rotates it now."
            }
            ManagedBy::Customer => {
                "Create a new certificate and run Invoke-ADSyncApplicationCredentialRotation -CertificateSHA256Hash <hash>."
            }
        };
        if emit.expiry && status.expired {
            self.event(
                ids::CERTIFICATE_EXPIRED,
                Level::Error,
                SOURCE_ADSYNC,
                format!(
                    "The certificate {hash} of application {} expired on {expiry}. Authentication to Microsoft Entra ID fails until the certificate is rotated. {how}",
                    app.application_app_id
                ),
            )?;
        } else if emit.expiry && status.rotation_due {
            self.event(
                ids::CERTIFICATE_ROTATION_DUE,
                Level::Warning,
                SOURCE_ADSYNC,
                format!(
                    "The certificate {hash} of application {} expires on {expiry}, in {} days: certificate rotation is due (150 days or less before expiry). {how}",
                    app.application_app_id, status.days_left
                ),
            )?;
        }
        if emit.not_in_tpm
            && app.certificate_managed_by == ManagedBy::Customer
            && !status.hardware_backed
        {
            self.event(
                ids::CERTIFICATE_NOT_IN_TPM,
                Level::Warning,
                SOURCE_ADSYNC,
                format!(
                    "The private key of certificate {hash} is not protected by a TPM. Create the certificate in a TPM or HSM through a CNG provider for a hardware-based security boundary."
                ),
            )?;
        }
        Ok(())
    }
}
