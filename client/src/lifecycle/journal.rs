//! The rotation journal (`rotation.json` in the state directory): which certificate a rotation
//! goes from and to, the certificates it gave up on the way (a new certificate that expired or
//! was removed from the application before the rotation finished), and how far it got,
//! rewritten atomically after each step so that the next run resumes from the last step
//! written. Also the points between a rotation's side effects where a crash test stops it
//! ([`RotationPoint`]).

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{JsonFile, StoreKind};
use crate::ids::{KeyCredentialId, Sha256Hash};

/// One side of a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JournalCertificate {
    pub certificate_sha256_hash: Sha256Hash,
    pub store: StoreKind,
    /// Whether Connect Sync made it (and so deletes it when it is retired).
    pub managed: bool,
    #[serde(default)]
    pub certificate_id: Option<KeyCredentialId>,
}

/// How far a rotation got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Step")]
pub enum RotationStep {
    /// The new certificate exists; nothing was sent to the application yet.
    Created,
    /// The new certificate is being added (addKey, or the administrator's PATCH, was or is
    /// about to be sent): whether it took effect is not known. Written before the request, so
    /// a resumed rotation never adds a certificate a second time (a first copy still
    /// replicating would appear later and outlive the rotation).
    Adding,
    KeyAdded {
        #[serde(rename = "CertificateId")]
        key_id: Option<KeyCredentialId>,
        /// The administrator's PATCH already dropped the old credential.
        #[serde(rename = "OldRemoved")]
        old_removed: bool,
    },
    Switched {
        #[serde(rename = "OldRemoved")]
        old_removed: bool,
    },
}

/// The rotation journal (`rotation.json`), rewritten atomically at each step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationJournal {
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    pub old: JournalCertificate,
    pub new: JournalCertificate,
    /// New certificates given up before the switch (expired, or gone from the application):
    /// like the old one, their credentials are removed at the end (they may still be on the
    /// application, or appear there once a lagging write replicates).
    #[serde(default)]
    pub abandoned: Vec<JournalCertificate>,
    pub step: RotationStep,
}

/// A point between the side effects of a rotation where a crash test can stop it
/// (`SyncServer::rotate_credential_until`). Each point comes right after one effect: the
/// `...Unrecorded` points after the effect and before the journal records it (the crash a
/// journal must survive), the others after the journal was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationPoint {
    /// The new certificate exists and the journal says `Created`.
    Created,
    /// The new certificate is on the application; the journal still says `Adding`.
    KeyAddedUnrecorded,
    /// The journal says `KeyAdded`.
    KeyAdded,
    /// The configuration names the new certificate; the journal still says `KeyAdded`.
    SwitchedUnrecorded,
    /// The journal says `Switched`.
    Switched,
    /// The old credential was removed (or reported) and the old certificate retired; the
    /// journal is still there.
    RetiredUnrecorded,
}

/// The journal's file in a state directory.
pub(crate) fn journal_file(state_dir: &Path) -> JsonFile {
    JsonFile::new(state_dir.join("rotation.json"), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips_with_readable_steps() {
        let hash: Sha256Hash = "AB".repeat(32).parse().unwrap();
        let side = JournalCertificate {
            certificate_sha256_hash: hash,
            store: StoreKind::CurrentUser,
            managed: true,
            certificate_id: None,
        };
        let journal = RotationJournal {
            started: time::macros::datetime!(2026-01-01 0:00 UTC),
            old: side.clone(),
            new: side.clone(),
            abandoned: vec![side],
            step: RotationStep::KeyAdded {
                key_id: Some(KeyCredentialId::from("k1")),
                old_removed: false,
            },
        };
        let text = serde_json::to_string(&journal).unwrap();
        assert!(text.contains("\"Step\":\"KeyAdded\""), "{text}");
        assert_eq!(
            serde_json::from_str::<RotationJournal>(&text).unwrap(),
            journal
        );
    }
}
