//! Certificate stores on disk, modelled on Windows' `Cert:\CurrentUser\My` (one per service
//! account) and `Cert:\LocalMachine\My`. Each entry keeps the certificate, a reference to its
//! private key (never the key itself), whether that key is exportable, and the access list of
//! accounts allowed to sign with it. A store is one JSON file, rewritten atomically.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::cert::Certificate;
use crate::fsutil;
use crate::ids::{AccountName, Sha256Hash, Thumbprint};
use crate::keys::{KeyError, KeyProviders, KeyRef, Signer};

/// Which store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The personal store of one account: the managed certificate lives in the sync service
    /// account's. The owner may always use its keys.
    CurrentUser(AccountName),
    /// The machine store: BYOC certificates; only accounts on a key's access list may sign.
    LocalMachine,
}

/// Errors of the certificate stores.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("certificate store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("certificate store {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("no certificate with SHA-256 hash {0} in the store")]
    NotFound(Sha256Hash),
    #[error("account '{account}' is not allowed to use the private key of certificate {hash}")]
    AccessDenied {
        account: AccountName,
        hash: Sha256Hash,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// One certificate in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    pub certificate: Certificate,
    pub key: KeyRef,
    /// Whether the private key was marked exportable when it was imported (BYOC refuses it).
    pub key_exportable: bool,
    /// Accounts, besides a CURRENT_USER store's owner, allowed to sign with the key.
    pub access: Vec<AccountName>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    certificates: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    sha256: Sha256Hash,
    thumbprint: Thumbprint,
    der: String,
    key: KeyRef,
    #[serde(default)]
    key_exportable: bool,
    #[serde(default)]
    access: Vec<AccountName>,
}

/// A certificate store file.
#[derive(Debug, Clone)]
pub struct CertStore {
    location: StoreLocation,
    path: PathBuf,
    // Serialises read-modify-write cycles of clones in this process.
    lock: Arc<Mutex<()>>,
}

impl CertStore {
    /// The store at `location` under the client's state directory.
    pub fn open(state_dir: &Path, location: StoreLocation) -> Self {
        let base = state_dir.join("certstores");
        let path = match &location {
            StoreLocation::CurrentUser(account) => base
                .join("current_user")
                .join(utf8_percent_encode(account.as_str(), NON_ALPHANUMERIC).to_string())
                .join("my.json"),
            StoreLocation::LocalMachine => base.join("local_machine").join("my.json"),
        };
        Self {
            location,
            path,
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// Which store this is.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Adds (or replaces, by hash) a certificate with its key reference and access list.
    pub fn add(
        &self,
        certificate: &Certificate,
        key: KeyRef,
        key_exportable: bool,
        access: Vec<AccountName>,
    ) -> Result<StoredCertificate, StoreError> {
        let entry = Entry {
            sha256: certificate.sha256_hash(),
            thumbprint: certificate.thumbprint(),
            der: B64.encode(certificate.der()),
            key,
            key_exportable,
            access,
        };
        self.modify(|file| {
            file.certificates.retain(|e| e.sha256 != entry.sha256);
            file.certificates.push(entry.clone());
            Ok(())
        })?;
        self.to_stored(&entry)
    }

    /// Finds a certificate by its SHA-256 hash.
    pub fn get(&self, hash: &Sha256Hash) -> Result<Option<StoredCertificate>, StoreError> {
        let _guard = self.guard();
        let file = self.read()?;
        file.certificates
            .iter()
            .find(|e| &e.sha256 == hash)
            .map(|e| self.to_stored(e))
            .transpose()
    }

    /// Every certificate in the store.
    pub fn list(&self) -> Result<Vec<StoredCertificate>, StoreError> {
        let _guard = self.guard();
        let file = self.read()?;
        file.certificates
            .iter()
            .map(|e| self.to_stored(e))
            .collect()
    }

    /// Removes a certificate; returns what was removed (so the caller can delete its key).
    pub fn remove(&self, hash: &Sha256Hash) -> Result<Option<StoredCertificate>, StoreError> {
        let mut removed = None;
        self.modify(|file| {
            if let Some(pos) = file.certificates.iter().position(|e| &e.sha256 == hash) {
                removed = Some(file.certificates.remove(pos));
            }
            Ok(())
        })?;
        removed.map(|e| self.to_stored(&e)).transpose()
    }

    /// Allows `account` to sign with the key of certificate `hash`.
    pub fn grant(&self, hash: &Sha256Hash, account: &AccountName) -> Result<(), StoreError> {
        self.modify(|file| {
            let entry = file
                .certificates
                .iter_mut()
                .find(|e| &e.sha256 == hash)
                .ok_or_else(|| StoreError::NotFound(hash.clone()))?;
            if !entry.access.contains(account) {
                entry.access.push(account.clone());
            }
            Ok(())
        })
    }

    /// Whether `account` may sign with `entry`'s key in this store.
    pub fn may_sign(&self, entry: &StoredCertificate, account: &AccountName) -> bool {
        matches!(&self.location, StoreLocation::CurrentUser(owner) if owner == account)
            || entry.access.contains(account)
    }

    /// The certificate `hash` and its key opened for signing as `account`.
    pub fn open_signer(
        &self,
        hash: &Sha256Hash,
        account: &AccountName,
        providers: &KeyProviders,
    ) -> Result<(StoredCertificate, Arc<dyn Signer>), StoreError> {
        let entry = self
            .get(hash)?
            .ok_or_else(|| StoreError::NotFound(hash.clone()))?;
        if !self.may_sign(&entry, account) {
            return Err(StoreError::AccessDenied {
                account: account.clone(),
                hash: hash.clone(),
            });
        }
        let signer = providers.open(&entry.key)?;
        Ok((entry, signer))
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn modify(
        &self,
        change: impl FnOnce(&mut StoreFile) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _guard = self.guard();
        let mut file = self.read()?;
        change(&mut file)?;
        file.version = 1;
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        // An empty store is no file, as before anything was added: a certificate made and
        // retired by a command that then failed leaves the state as it found it.
        if file.certificates.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
                _ => Ok(()),
            };
        }
        let json = serde_json::to_vec_pretty(&file).map_err(|e| self.corrupt(e.to_string()))?;
        if let Some(dir) = self.path.parent() {
            fsutil::create_private_dir(dir).map_err(io)?;
        }
        fsutil::write_atomic(&self.path, &json, 0o600).map_err(io)
    }

    fn read(&self) -> Result<StoreFile, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreFile::default()),
            Err(source) => Err(StoreError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn to_stored(&self, entry: &Entry) -> Result<StoredCertificate, StoreError> {
        let der = B64
            .decode(&entry.der)
            .map_err(|e| self.corrupt(e.to_string()))?;
        let certificate = Certificate::from_der(der).map_err(|e| self.corrupt(e.to_string()))?;
        if certificate.sha256_hash() != entry.sha256 {
            return Err(self.corrupt(format!("entry {} does not hash to its name", entry.sha256)));
        }
        Ok(StoredCertificate {
            certificate,
            key: entry.key.clone(),
            key_exportable: entry.key_exportable,
            access: entry.access.clone(),
        })
    }

    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{CertificateRequest, self_signed};
    use crate::keys::{KeyProvider, SoftwareKeyStore};
    use time::macros::datetime;

    fn setup() -> (tempfile::TempDir, KeyProviders, Certificate, KeyRef) {
        let dir = tempfile::tempdir().unwrap();
        let software = SoftwareKeyStore::new(dir.path().join("keys"));
        let key = software.create_key().unwrap();
        let cert = self_signed(
            key.as_ref(),
            &CertificateRequest::managed(datetime!(2026-01-01 0:00 UTC), time::Duration::days(30)),
        )
        .unwrap();
        let key_ref = key.key_ref();
        (dir, KeyProviders::new(None, software), cert, key_ref)
    }

    #[test]
    fn current_user_owner_signs_and_others_need_a_grant() {
        let (dir, providers, cert, key) = setup();
        let adsync = AccountName::from("NT SERVICE\\ADSync");
        let admin = AccountName::from("CONTOSO\\admin");
        let store = CertStore::open(dir.path(), StoreLocation::CurrentUser(adsync.clone()));
        store.add(&cert, key, false, vec![]).unwrap();
        let hash = cert.sha256_hash();
        let (entry, signer) = store.open_signer(&hash, &adsync, &providers).unwrap();
        assert_eq!(entry.certificate, cert);
        assert!(cert.matches_key(signer.as_ref()).unwrap());
        assert!(matches!(
            store.open_signer(&hash, &admin, &providers),
            Err(StoreError::AccessDenied { .. })
        ));
        // Another account's CURRENT_USER store is another file.
        let other = CertStore::open(dir.path(), StoreLocation::CurrentUser(admin));
        assert!(other.get(&hash).unwrap().is_none());
    }

    #[test]
    fn local_machine_needs_the_sync_account_granted_and_survives_reopen() {
        let (dir, providers, cert, key) = setup();
        let adsync = AccountName::from("NT SERVICE\\ADSync");
        let store = CertStore::open(dir.path(), StoreLocation::LocalMachine);
        store.add(&cert, key, false, vec![]).unwrap();
        let hash = cert.sha256_hash();
        assert!(matches!(
            store.open_signer(&hash, &adsync, &providers),
            Err(StoreError::AccessDenied { .. })
        ));
        store.grant(&hash, &adsync).unwrap();
        let reopened = CertStore::open(dir.path(), StoreLocation::LocalMachine);
        assert!(reopened.open_signer(&hash, &adsync, &providers).is_ok());
        assert_eq!(reopened.list().unwrap().len(), 1);
        assert!(reopened.remove(&hash).unwrap().is_some());
        assert!(matches!(
            reopened.open_signer(&hash, &adsync, &providers),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn corrupt_store_is_reported_not_ignored() {
        let (dir, _, cert, _) = setup();
        let store = CertStore::open(dir.path(), StoreLocation::LocalMachine);
        let path = dir.path().join("certstores/local_machine/my.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            store.get(&cert.sha256_hash()),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
