//! The connector's configuration: which identity the sync server authenticates with (the
//! legacy service account or an application with a certificate), who manages the application
//! and the certificate, and the server's own identity (name, machine identifier, version,
//! password writeback). One JSON file, rewritten atomically, so a crash leaves the old or the
//! new configuration and never half of each.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::fsutil;
use crate::ids::{ClientId, KeyCredentialId, ObjectId, Sha256Hash, TenantId};
use crate::store::StoreLocation;

/// Implements `Serialize` as the type's `Display` text and `Deserialize` through its `FromStr`:
/// the configuration keeps versions and time spans as the strings the cmdlets show.
macro_rules! serde_as_string {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_string;

/// The local account the sync engine runs as; its CURRENT_USER store holds the managed
/// certificate and BYOC keys must grant it signing.
pub const SYNC_SERVICE_ACCOUNT: &str = "NT SERVICE\\ADSync";

/// `ConnectorIdentityType`, as `Get-ADSyncEntraConnectorCredential` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityType {
    /// The legacy `Sync_*` user with a password.
    ServiceAccount,
    /// An application with a certificate credential.
    Application,
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdentityType::ServiceAccount => "ServiceAccount",
            IdentityType::Application => "Application",
        })
    }
}

/// Who manages the application or the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManagedBy {
    /// Connect Sync creates, rotates and deletes it.
    ConnectSync,
    /// The administrator does (BYOC for certificates, BYOA for applications).
    Customer,
}

/// Who manages the certificate or the application, as the view shows it. "Certificate managed
/// by" takes the documentation's values: Microsoft Entra Connect Sync, or BYOC (the
/// administrator's certificate, which BYOA brings too). `ApplicationManagedBy` is not in the
/// documentation's table; its values follow the option names (Microsoft Entra Connect Sync, or
/// BYOA), the project's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ShownManager {
    #[serde(rename = "Microsoft Entra Connect Sync")]
    ConnectSync,
    #[serde(rename = "BYOC")]
    Byoc,
    #[serde(rename = "BYOA")]
    Byoa,
}

impl ShownManager {
    /// "Certificate managed by".
    pub fn of_certificate(m: ManagedBy) -> Self {
        match m {
            ManagedBy::ConnectSync => ShownManager::ConnectSync,
            ManagedBy::Customer => ShownManager::Byoc,
        }
    }

    /// `ApplicationManagedBy`.
    pub fn of_application(m: ManagedBy) -> Self {
        match m {
            ManagedBy::ConnectSync => ShownManager::ConnectSync,
            ManagedBy::Customer => ShownManager::Byoa,
        }
    }
}

impl fmt::Display for ShownManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShownManager::ConnectSync => "Microsoft Entra Connect Sync",
            ShownManager::Byoc => "BYOC",
            ShownManager::Byoa => "BYOA",
        })
    }
}

impl fmt::Display for ManagedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ManagedBy::ConnectSync => "ConnectSync",
            ManagedBy::Customer => "Customer",
        })
    }
}

/// The three documented options, derived from who manages what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialOption {
    /// Managed by Microsoft Entra Connect (the default).
    Managed,
    /// Bring your own certificate.
    Byoc,
    /// Bring your own application (and certificate).
    Byoa,
}

impl fmt::Display for CredentialOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialOption::Managed => "Managed",
            CredentialOption::Byoc => "BYOC",
            CredentialOption::Byoa => "BYOA",
        })
    }
}

/// Which certificate store a certificate lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreKind {
    /// The sync service account's personal store (managed certificates).
    CurrentUser,
    /// The machine store (BYOC/BYOA certificates).
    LocalMachine,
}

impl StoreKind {
    /// The store location on this server.
    pub fn location(self) -> StoreLocation {
        match self {
            StoreKind::CurrentUser => StoreLocation::CurrentUser(SYNC_SERVICE_ACCOUNT.into()),
            StoreKind::LocalMachine => StoreLocation::LocalMachine,
        }
    }
}

/// A product version such as `2.5.79.0`, compared numerically. Each of its four parts is 16
/// bits, as in a Windows version resource, so the version just below 2.5.3.0 is 2.5.2.65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductVersion(pub [u16; 4]);

impl ProductVersion {
    /// The first version with application authentication: the default for new installations
    /// (the managed option) and the least a server needs to onboard.
    pub const MANUAL_ONBOARDING: ProductVersion = ProductVersion([2, 5, 3, 0]);
    /// The first version that onboards by itself within six hours.
    pub const AUTOMATIC_ONBOARDING: ProductVersion = ProductVersion([2, 5, 76, 0]);
}

impl FromStr for ProductVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("invalid version '{s}' (expected e.g. 2.5.79.0, each part 0 to 65535)");
        let parts: Vec<&str> = s.trim().split('.').collect();
        if parts.is_empty() || parts.len() > 4 {
            return Err(bad());
        }
        let mut out = [0u16; 4];
        for (slot, part) in out.iter_mut().zip(&parts) {
            *slot = part.parse().map_err(|_| bad())?;
        }
        Ok(ProductVersion(out))
    }
}

impl fmt::Display for ProductVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

serde_as_string!(ProductVersion);

/// The legacy service account the connector signs in with (its password is kept apart, in
/// the owner-only secrets file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceAccount {
    pub user_principal_name: String,
    #[serde(default)]
    pub object_id: Option<ObjectId>,
}

/// An application identity with its certificate credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationIdentity {
    /// The application (client) id.
    pub application_app_id: ClientId,
    #[serde(default)]
    pub application_object_id: Option<ObjectId>,
    #[serde(default)]
    pub service_principal_id: Option<ObjectId>,
    #[serde(default)]
    pub display_name: Option<String>,
    pub application_managed_by: ManagedBy,
    pub certificate_managed_by: ManagedBy,
    pub certificate_sha256_hash: Sha256Hash,
    pub certificate_store: StoreKind,
    /// The `keyId` of the certificate's keyCredential on the application, when known.
    #[serde(default)]
    pub certificate_id: Option<KeyCredentialId>,
}

impl ApplicationIdentity {
    /// Managed, BYOC or BYOA.
    pub fn option(&self) -> CredentialOption {
        match (self.application_managed_by, self.certificate_managed_by) {
            (ManagedBy::Customer, _) => CredentialOption::Byoa,
            (ManagedBy::ConnectSync, ManagedBy::Customer) => CredentialOption::Byoc,
            (ManagedBy::ConnectSync, ManagedBy::ConnectSync) => CredentialOption::Managed,
        }
    }
}

/// An old credential the client could not remove from the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StaleCredential {
    pub certificate_id: KeyCredentialId,
    #[serde(default)]
    pub certificate_sha256_hash: Option<Sha256Hash>,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    pub reason: String,
}

/// The connector's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectorConfig {
    pub server_name: String,
    /// `SyncMachineIdentifier`: a GUID, whose first 12 characters name the server's accounts.
    pub sync_machine_identifier: String,
    pub product_version: ProductVersion,
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
    /// The tenant's initial `*.onmicrosoft.com` domain (where `Sync_*` accounts live).
    #[serde(default)]
    pub tenant_domain: Option<String>,
    #[serde(default)]
    pub password_writeback_enabled: bool,
    pub connector_identity_type: IdentityType,
    #[serde(default)]
    pub service_account: Option<ServiceAccount>,
    #[serde(default)]
    pub application: Option<ApplicationIdentity>,
    /// An application registered in Entra (`Add-EntraApplicationRegistration`) but not yet
    /// linked to the sync engine (`Add-ADSyncApplicationRegistration`).
    #[serde(default)]
    pub pending_registration: Option<ApplicationIdentity>,
    #[serde(default = "yes")]
    pub automatic_rotation_enabled: bool,
    /// When automatic onboarding may happen (chosen once, within six hours of first seeing
    /// an eligible server).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub automatic_onboarding_not_before: Option<OffsetDateTime>,
    #[serde(default)]
    pub stale_credentials: Vec<StaleCredential>,
}

fn yes() -> bool {
    true
}

impl ConnectorConfig {
    /// A freshly installed server: service account identity, nothing registered yet.
    pub fn new(server_name: &str, sync_machine_identifier: &str, version: ProductVersion) -> Self {
        Self {
            server_name: server_name.to_owned(),
            sync_machine_identifier: sync_machine_identifier.to_owned(),
            product_version: version,
            tenant_id: None,
            tenant_domain: None,
            password_writeback_enabled: false,
            connector_identity_type: IdentityType::ServiceAccount,
            service_account: None,
            application: None,
            pending_registration: None,
            automatic_rotation_enabled: true,
            automatic_onboarding_not_before: None,
            stale_credentials: Vec::new(),
        }
    }

    /// The first 12 characters of the machine identifier without dashes, as the account and
    /// application names use it (names the project chose: the documentation gives none).
    pub fn machine_suffix(&self) -> String {
        self.sync_machine_identifier
            .chars()
            .filter(|c| *c != '-')
            .take(12)
            .collect()
    }

    /// `ConnectSyncProvisioning_<Server>_<first 12 of the machine id>` (the project's choice).
    pub fn application_display_name(&self) -> String {
        format!(
            "ConnectSyncProvisioning_{}_{}",
            self.server_name,
            self.machine_suffix()
        )
    }

    /// `Sync_<Server>_<first 12 of the machine id>` (the part before `@`; the project's choice).
    pub fn service_account_name(&self) -> String {
        format!("Sync_{}_{}", self.server_name, self.machine_suffix())
    }

    /// The application in use, when the connector uses one.
    pub fn active_application(&self) -> Option<&ApplicationIdentity> {
        match self.connector_identity_type {
            IdentityType::Application => self.application.as_ref(),
            IdentityType::ServiceAccount => None,
        }
    }
}

/// Why configuration could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("this sync server is not installed (no {0}); run `adsync install` first")]
    NotInstalled(PathBuf),
}

/// Reads and writes one JSON document atomically.
#[derive(Debug, Clone)]
pub struct JsonFile {
    path: PathBuf,
    mode: u32,
}

impl JsonFile {
    /// A document at `path` written with permission bits `mode`.
    pub fn new(path: PathBuf, mode: u32) -> Self {
        Self { path, mode }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The document, or `None` when the file does not exist.
    pub fn load<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, ConfigError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| ConfigError::Corrupt {
                        path: self.path.clone(),
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Replaces the document atomically.
    pub fn save<T: Serialize>(&self, value: &T) -> Result<(), ConfigError> {
        let io = |source| ConfigError::Io {
            path: self.path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(value).map_err(|e| ConfigError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        if let Some(dir) = self.path.parent() {
            fsutil::create_private_dir(dir).map_err(io)?;
        }
        fsutil::write_atomic(&self.path, &json, self.mode).map_err(io)
    }

    /// Deletes the document (no error when it is already gone).
    pub fn remove(&self) -> Result<(), ConfigError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ConfigError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// The connector configuration file of a state directory.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    file: JsonFile,
}

impl ConfigStore {
    pub fn open(state_dir: &Path) -> Self {
        Self {
            file: JsonFile::new(state_dir.join("connector.json"), 0o600),
        }
    }

    /// The configuration, or `None` before installation.
    pub fn load(&self) -> Result<Option<ConnectorConfig>, ConfigError> {
        self.file.load()
    }

    /// The configuration of an installed server.
    pub fn require(&self) -> Result<ConnectorConfig, ConfigError> {
        self.load()?
            .ok_or_else(|| ConfigError::NotInstalled(self.file.path().to_owned()))
    }

    pub fn save(&self, config: &ConnectorConfig) -> Result<(), ConfigError> {
        self.file.save(config)
    }
}

/// The legacy account's password, kept in an owner-only file apart from the configuration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountSecret {
    pub user_principal_name: String,
    pub password: String,
}

impl fmt::Debug for ServiceAccountSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountSecret")
            .field("user_principal_name", &self.user_principal_name)
            .finish_non_exhaustive()
    }
}

/// Where the service account's password is kept.
pub fn secret_file(state_dir: &Path) -> JsonFile {
    JsonFile::new(
        state_dir.join("secrets").join("service_account.json"),
        0o600,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically_and_round_trip() {
        let v: ProductVersion = "2.5.79.0".parse().unwrap();
        assert!(v >= ProductVersion::AUTOMATIC_ONBOARDING);
        assert!("2.5.10.0".parse::<ProductVersion>().unwrap() > "2.5.3.0".parse().unwrap());
        assert!("2.4.129.0".parse::<ProductVersion>().unwrap() < ProductVersion::MANUAL_ONBOARDING);
        assert_eq!(v.to_string(), "2.5.79.0");
        assert!("2.x".parse::<ProductVersion>().is_err());
        assert!(
            "2.5.2.65535".parse::<ProductVersion>().unwrap() < ProductVersion::MANUAL_ONBOARDING
        );
        assert!("2.5.3.65536".parse::<ProductVersion>().is_err());
    }

    #[test]
    fn names_follow_the_chosen_patterns_and_config_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ConnectorConfig::new(
            "AZCONNECT",
            "09e60dfc-16b6-4c1a-9d0e-000000000000",
            "2.5.79.0".parse().unwrap(),
        );
        assert_eq!(
            config.application_display_name(),
            "ConnectSyncProvisioning_AZCONNECT_09e60dfc16b6"
        );
        assert_eq!(config.service_account_name(), "Sync_AZCONNECT_09e60dfc16b6");
        let store = ConfigStore::open(dir.path());
        assert!(store.load().unwrap().is_none());
        assert!(matches!(store.require(), Err(ConfigError::NotInstalled(_))));
        config.password_writeback_enabled = true;
        store.save(&config).unwrap();
        assert_eq!(store.require().unwrap(), config);
        let text = std::fs::read_to_string(dir.path().join("connector.json")).unwrap();
        assert!(text.contains("\"ConnectorIdentityType\": \"ServiceAccount\""));
    }
}
