//! The one error type of the lifecycle operations. Each variant keeps what the failing layer
//! returned (the server's raw answer stays inside the Graph and token errors), so the CLI can
//! print it and tests can match on it. [`Precondition`] names, one kind each, the states a
//! server can be in that an operation cannot start from (with the text the CLI prints, which
//! says what to do); [`LifecycleError::Stopped`] is a crash test's stop, not a failure.

use std::path::PathBuf;

use crate::cert::{ByocError, CertError};
use crate::config::{ConfigError, ProductVersion};
use crate::graph::GraphError;
use crate::http::TransportError;
use crate::ids::{ClientId, KeyCredentialId, Sha256Hash};
use crate::import::ImportError;
use crate::keys::KeyError;
use crate::store::StoreError;
use crate::token::TokenError;

use super::journal::RotationPoint;

/// Why a lifecycle operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// An administrator's certificate or key that cannot be imported; the reason names why.
    #[error("cannot import the certificate: {0}")]
    Import(#[from] ImportError),
    #[error("the certificate {hash} cannot be used: {reason}")]
    Byoc {
        hash: Sha256Hash,
        #[source]
        reason: ByocError,
    },
    #[error(transparent)]
    Token(Box<TokenError>),
    #[error(transparent)]
    Graph(Box<GraphError>),
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The server is not in the state the operation needs, or the operation was asked for
    /// something it cannot do ([`Precondition`] says which; its text, what to do).
    #[error(transparent)]
    Precondition(Precondition),
    /// A rotation stopped at the crash test's [`RotationPoint`], leaving the state directory
    /// as a crash there would (`SyncServer::rotate_credential_until`). Not a failure.
    #[error("the rotation was stopped at {at:?} (crash-test hook)")]
    Stopped { at: RotationPoint },
    /// BYOA: the application lacks permissions; every missing one is named.
    #[error(
        "the application {app_id} is missing required permissions: {}. Grant them (app role assignments on the application's service principal) and run again",
        missing.join(", ")
    )]
    MissingPermissions {
        app_id: ClientId,
        missing: Vec<String>,
    },
    /// A blocking job (key generation, TPM commands) did not finish: it panicked or the
    /// runtime is shutting down.
    #[error("a background key operation did not finish: {0}")]
    Background(String),
    /// An answer the client cannot use.
    #[error("unexpected answer from {what}: {reason}")]
    Unexpected { what: String, reason: String },
}

/// Why an operation cannot start from the server's state or from what it was asked, in the
/// domain's words. The texts are what the CLI prints and the feature files check.
#[derive(Debug, thiserror::Error)]
pub enum Precondition {
    // ---- installation and the administrator's sign-in
    /// `install` on a state directory that already holds a server.
    #[error("a sync server is already installed in {}", .state_dir.display())]
    AlreadyInstalled { state_dir: PathBuf },
    /// `upgrade` to the installed version or an older one.
    #[error(
        "version {installed} is installed; an in-place upgrade needs a later version ({given} is not)"
    )]
    NotAnUpgrade {
        installed: ProductVersion,
        given: ProductVersion,
    },
    /// The upgrade's checkbox without an administrator's sign-in.
    #[error(
        "--configure-application-authentication needs an administrator's sign-in (--admin-upn)"
    )]
    AdministratorNeededToConfigure,
    /// The server has no tenant in its configuration (not installed with a sign-in).
    #[error("the server knows no tenant yet; install it with an administrator's sign-in")]
    NoTenant,
    /// An administrator's sign-in name without a domain.
    #[error("'{name}' is not a user principal name (name@domain)")]
    NotAUserPrincipalName { name: String },

    // ---- the connector's identity
    /// The connector uses its service account; the operation needs an application.
    #[error(
        "the connector authenticates with its service account (ConnectorIdentityType is ServiceAccount); it has no application credential (onboard first)"
    )]
    NotOnboarded,
    /// The credential review needs an application to read.
    #[error("the connector uses its service account; there is no application to inspect")]
    NoApplicationToInspect,
    /// Onboarding a connector that already uses an application.
    #[error(
        "ConnectorIdentityType is already Application; onboarding needs ServiceAccount (rotate the credential instead)"
    )]
    AlreadyOnApplication,
    /// A version before application authentication.
    #[error(
        "version {version} cannot use application authentication; upgrade to {needed} or later"
    )]
    VersionTooOld {
        version: ProductVersion,
        needed: ProductVersion,
    },

    // ---- the legacy service account
    /// Removing the service account while the connector still signs in with it.
    #[error(
        "the connector still authenticates with the service account (ConnectorIdentityType is ServiceAccount); switch to application authentication before removing it"
    )]
    ServiceAccountInUse,
    /// No user whose name (before the `@`) is `name`.
    #[error("no user named '{name}@...' in the tenant")]
    NoSuchUser { name: String },
    /// The service account's password is not in the state directory.
    #[error(
        "the service account's password is not stored on this server; run add-aad-service-account"
    )]
    NoServiceAccountPassword,

    // ---- onboarding and the application in the tenant
    /// Linking an administrator's application (BYOA) without their sign-in.
    #[error(
        "linking your own application needs an administrator's sign-in (--admin-upn) to check its permissions"
    )]
    AdministratorNeededToLink,
    /// An application to link, but no certificate for it.
    #[error(
        "--application-app-id needs --certificate-sha256-hash (bring your own application brings its certificate too)"
    )]
    ApplicationWithoutCertificate,
    /// Linking before `add-entra-application-registration`.
    #[error(
        "no application is registered for this server yet; run add-entra-application-registration first"
    )]
    NotRegistered,
    /// Linking with another certificate than the registered one.
    #[error("the registered application uses certificate {registered}, not {given}")]
    RegisteredWithOtherCertificate {
        registered: Sha256Hash,
        given: Sha256Hash,
    },
    /// Linking a registration made with the administrator's certificate without naming it.
    #[error(
        "the registered application uses your certificate; pass --certificate-sha256-hash {registered}"
    )]
    CertificateHashNeeded { registered: Sha256Hash },
    /// The tenant has no service principal of the synchronization service.
    #[error(
        "the Microsoft Entra AD Synchronization Service has no service principal in this tenant (directory synchronization is not enabled)"
    )]
    SyncNotEnabled,
    /// BYOA: no application with this appId.
    #[error(
        "no application with application (client) id {app_id} in the tenant; register the application and create its service principal first"
    )]
    ApplicationNotInTenant { app_id: ClientId },
    /// BYOA: the application has no service principal.
    #[error(
        "no service principal with application (client) id {app_id} in the tenant; register the application and create its service principal first"
    )]
    ServicePrincipalNotInTenant { app_id: ClientId },
    /// BYOA: the administrator's certificate is not among the application's credentials.
    #[error(
        "the certificate {hash} is not registered on application {app_id}; add it to the application's keyCredentials first"
    )]
    CertificateNotOnApplication { hash: Sha256Hash, app_id: ClientId },

    // ---- certificates and keys
    /// `new-certificate --provider tpm` on a machine without a TPM.
    #[error("this machine has no TPM (--tpm); use --provider software")]
    NoTpm,
    /// Importing a certificate that LOCAL_MACHINE already holds.
    #[error("certificate {hash} is already in the LOCAL_MACHINE store")]
    CertificateAlreadyInStore { hash: Sha256Hash },
    /// BYOC: no certificate with this hash in LOCAL_MACHINE.
    #[error("no certificate with SHA-256 hash {hash} in the LOCAL_MACHINE store")]
    CertificateNotInStore { hash: Sha256Hash },
    /// Removing a LOCAL_MACHINE certificate that is still used.
    #[error("certificate {hash} cannot be removed from LOCAL_MACHINE: {user}")]
    CertificateInUse { hash: Sha256Hash, user: String },
    /// A certificate a rotation journal names has left its store.
    #[error("certificate {hash} is no longer in its store")]
    CertificateLeftStore { hash: Sha256Hash },

    // ---- rotation
    /// A rotation to a given certificate while an earlier one waits for its new key.
    #[error("an earlier rotation is still waiting for its new key to take effect; run again later")]
    RotationWaiting,
    /// A resumed rotation's new certificate, which the administrator brought, can no longer be
    /// used (it expired, or was removed from the application); the client does not choose
    /// another certificate for them.
    #[error(
        "the rotation's new certificate {hash} {reason}; rotate to another certificate: --certificate-sha256-hash <hash> --admin-upn <UPN>"
    )]
    RotationTargetUnusable { hash: Sha256Hash, reason: String },
    /// Rotating to the certificate the connector already uses.
    #[error("{hash} is already the connector's certificate; rotation needs a new one")]
    AlreadyTheCertificate { hash: Sha256Hash },
    /// Rotating a certificate the administrator brought (BYOC/BYOA) without a new one: the
    /// client does not make certificates it does not manage.
    #[error(
        "the certificate is yours (BYOC/BYOA): create a new one and pass --certificate-sha256-hash"
    )]
    CertificateManagedByCustomer,
    /// The application's object id, which addKey needs, is not in the configuration.
    #[error(
        "the application's object id is unknown to this server; rotate with an administrator's sign-in (--admin-upn)"
    )]
    ObjectIdUnknown,
    /// The connector's certificate has expired: the application can no longer add a key with
    /// it; an administrator can.
    #[error(
        "the connector's certificate {hash} expired on {}; the application cannot add a key with it. Rotate with an administrator's sign-in: --admin-upn <UPN>",
        .not_after.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    )]
    CertificateExpiredNeedsAdministrator {
        hash: Sha256Hash,
        not_after: time::OffsetDateTime,
    },
    /// The application cannot add a key with its current certificate (the token or the proof
    /// was refused: the certificate expired or was removed); an administrator can.
    #[error(
        "the application cannot add a key with its current certificate ({refusal}); the certificate has probably expired or been removed. Rotate with an administrator's sign-in: --admin-upn <UPN>"
    )]
    AdministratorNeededToRotate { refusal: Box<LifecycleError> },

    // ---- removing a stale credential
    /// `Remove-EntraApplicationKey` for the credential the connector uses.
    #[error("{certificate_id} is the credential the connector uses now; it cannot be removed")]
    CredentialInUse { certificate_id: KeyCredentialId },
    /// `Remove-EntraApplicationKey` for a credential the application does not have.
    #[error("application {app_id} has no credential {certificate_id}")]
    NoSuchCredential {
        app_id: ClientId,
        certificate_id: KeyCredentialId,
    },
}

impl From<Precondition> for LifecycleError {
    fn from(p: Precondition) -> Self {
        LifecycleError::Precondition(p)
    }
}

impl From<TokenError> for LifecycleError {
    fn from(e: TokenError) -> Self {
        LifecycleError::Token(Box::new(e))
    }
}

impl From<GraphError> for LifecycleError {
    fn from(e: GraphError) -> Self {
        LifecycleError::Graph(Box::new(e))
    }
}

impl LifecycleError {
    /// The precondition that failed, when that is why the operation did not run.
    pub fn precondition(&self) -> Option<&Precondition> {
        match self {
            LifecycleError::Precondition(p) => Some(p),
            _ => None,
        }
    }

    /// Where a crash test stopped the rotation, when it did.
    pub fn stopped_at(&self) -> Option<RotationPoint> {
        match self {
            LifecycleError::Stopped { at } => Some(*at),
            _ => None,
        }
    }

    /// The AADSTS code behind a token failure, also when it happened while getting a token
    /// for Graph.
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            LifecycleError::Token(e) => e.aadsts_code(),
            LifecycleError::Graph(g) => match g.as_ref() {
                GraphError::Token(t) => t.aadsts_code(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Graph's (or a service model's) error code, when it gave one.
    pub fn graph_code(&self) -> Option<&str> {
        match self {
            LifecycleError::Graph(g) => g.code(),
            _ => None,
        }
    }

    /// The HTTP status of a Graph or service refusal.
    pub fn graph_status(&self) -> Option<u16> {
        match self {
            LifecycleError::Graph(g) => match g.as_ref() {
                GraphError::Service(s) => Some(s.status),
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind prints the text the CLI printed and the feature files check, word for word.
    #[test]
    fn every_precondition_keeps_its_text() {
        let hash: Sha256Hash = "AB".repeat(32).parse().unwrap();
        let other: Sha256Hash = "CD".repeat(32).parse().unwrap();
        let app_id = ClientId::from("11111111-2222-3333-4444-555555555555");
        let key = KeyCredentialId::from("aaaaaaaa-0000-0000-0000-000000000001");
        let refusal = LifecycleError::Unexpected {
            what: "Graph".into(),
            reason: "refused".into(),
        };
        let cases: Vec<(Precondition, String)> = vec![
            (
                Precondition::AlreadyInstalled { state_dir: "/srv/adsync".into() },
                "a sync server is already installed in /srv/adsync".into(),
            ),
            (
                Precondition::NotAnUpgrade {
                    installed: "2.5.79.0".parse().unwrap(),
                    given: "2.5.79.0".parse().unwrap(),
                },
                "version 2.5.79.0 is installed; an in-place upgrade needs a later version (2.5.79.0 is not)".into(),
            ),
            (
                Precondition::AdministratorNeededToConfigure,
                "--configure-application-authentication needs an administrator's sign-in (--admin-upn)".into(),
            ),
            (
                Precondition::NoTenant,
                "the server knows no tenant yet; install it with an administrator's sign-in".into(),
            ),
            (
                Precondition::NotAUserPrincipalName { name: "admin".into() },
                "'admin' is not a user principal name (name@domain)".into(),
            ),
            (
                Precondition::NotOnboarded,
                "the connector authenticates with its service account (ConnectorIdentityType is ServiceAccount); it has no application credential (onboard first)".into(),
            ),
            (
                Precondition::NoApplicationToInspect,
                "the connector uses its service account; there is no application to inspect".into(),
            ),
            (
                Precondition::AlreadyOnApplication,
                "ConnectorIdentityType is already Application; onboarding needs ServiceAccount (rotate the credential instead)".into(),
            ),
            (
                Precondition::VersionTooOld {
                    version: "2.4.129.0".parse().unwrap(),
                    needed: ProductVersion::MANUAL_ONBOARDING,
                },
                "version 2.4.129.0 cannot use application authentication; upgrade to 2.5.3.0 or later".into(),
            ),
            (
                Precondition::ServiceAccountInUse,
                "the connector still authenticates with the service account (ConnectorIdentityType is ServiceAccount); switch to application authentication before removing it".into(),
            ),
            (
                Precondition::NoSuchUser { name: "Sync_X".into() },
                "no user named 'Sync_X@...' in the tenant".into(),
            ),
            (
                Precondition::NoServiceAccountPassword,
                "the service account's password is not stored on this server; run add-aad-service-account".into(),
            ),
            (
                Precondition::AdministratorNeededToLink,
                "linking your own application needs an administrator's sign-in (--admin-upn) to check its permissions".into(),
            ),
            (
                Precondition::ApplicationWithoutCertificate,
                "--application-app-id needs --certificate-sha256-hash (bring your own application brings its certificate too)".into(),
            ),
            (
                Precondition::NotRegistered,
                "no application is registered for this server yet; run add-entra-application-registration first".into(),
            ),
            (
                Precondition::RegisteredWithOtherCertificate {
                    registered: hash.clone(),
                    given: other.clone(),
                },
                format!("the registered application uses certificate {hash}, not {other}"),
            ),
            (
                Precondition::CertificateHashNeeded { registered: hash.clone() },
                format!("the registered application uses your certificate; pass --certificate-sha256-hash {hash}"),
            ),
            (
                Precondition::SyncNotEnabled,
                "the Microsoft Entra AD Synchronization Service has no service principal in this tenant (directory synchronization is not enabled)".into(),
            ),
            (
                Precondition::ApplicationNotInTenant { app_id: app_id.clone() },
                format!("no application with application (client) id {app_id} in the tenant; register the application and create its service principal first"),
            ),
            (
                Precondition::ServicePrincipalNotInTenant { app_id: app_id.clone() },
                format!("no service principal with application (client) id {app_id} in the tenant; register the application and create its service principal first"),
            ),
            (
                Precondition::CertificateNotOnApplication {
                    hash: hash.clone(),
                    app_id: app_id.clone(),
                },
                format!("the certificate {hash} is not registered on application {app_id}; add it to the application's keyCredentials first"),
            ),
            (
                Precondition::NoTpm,
                "this machine has no TPM (--tpm); use --provider software".into(),
            ),
            (
                Precondition::CertificateAlreadyInStore { hash: hash.clone() },
                format!("certificate {hash} is already in the LOCAL_MACHINE store"),
            ),
            (
                Precondition::CertificateNotInStore { hash: hash.clone() },
                format!("no certificate with SHA-256 hash {hash} in the LOCAL_MACHINE store"),
            ),
            (
                Precondition::CertificateInUse {
                    hash: hash.clone(),
                    user: "the connector authenticates with it".into(),
                },
                format!("certificate {hash} cannot be removed from LOCAL_MACHINE: the connector authenticates with it"),
            ),
            (
                Precondition::CertificateLeftStore { hash: hash.clone() },
                format!("certificate {hash} is no longer in its store"),
            ),
            (
                Precondition::RotationWaiting,
                "an earlier rotation is still waiting for its new key to take effect; run again later".into(),
            ),
            (
                Precondition::RotationTargetUnusable {
                    hash: hash.clone(),
                    reason: "has expired".into(),
                },
                format!("the rotation's new certificate {hash} has expired; rotate to another certificate: --certificate-sha256-hash <hash> --admin-upn <UPN>"),
            ),
            (
                Precondition::AlreadyTheCertificate { hash: hash.clone() },
                format!("{hash} is already the connector's certificate; rotation needs a new one"),
            ),
            (
                Precondition::CertificateManagedByCustomer,
                "the certificate is yours (BYOC/BYOA): create a new one and pass --certificate-sha256-hash".into(),
            ),
            (
                Precondition::ObjectIdUnknown,
                "the application's object id is unknown to this server; rotate with an administrator's sign-in (--admin-upn)".into(),
            ),
            (
                Precondition::CertificateExpiredNeedsAdministrator {
                    hash: hash.clone(),
                    not_after: time::macros::datetime!(2027-01-02 03:04:05 UTC),
                },
                format!("the connector's certificate {hash} expired on 2027-01-02T03:04:05Z; the application cannot add a key with it. Rotate with an administrator's sign-in: --admin-upn <UPN>"),
            ),
            (
                Precondition::AdministratorNeededToRotate {
                    refusal: Box::new(refusal),
                },
                "the application cannot add a key with its current certificate (unexpected answer from Graph: refused); the certificate has probably expired or been removed. Rotate with an administrator's sign-in: --admin-upn <UPN>".into(),
            ),
            (
                Precondition::CredentialInUse { certificate_id: key.clone() },
                format!("{key} is the credential the connector uses now; it cannot be removed"),
            ),
            (
                Precondition::NoSuchCredential {
                    app_id: app_id.clone(),
                    certificate_id: key.clone(),
                },
                format!("application {app_id} has no credential {key}"),
            ),
        ];
        for (kind, text) in cases {
            let error = LifecycleError::from(kind);
            assert_eq!(error.to_string(), text);
            assert!(error.precondition().is_some());
        }
    }

    #[test]
    fn a_crash_tests_stop_is_its_own_kind() {
        let stop = LifecycleError::Stopped {
            at: RotationPoint::SwitchedUnrecorded,
        };
        assert_eq!(stop.stopped_at(), Some(RotationPoint::SwitchedUnrecorded));
        assert!(stop.precondition().is_none());
        assert_eq!(
            stop.to_string(),
            "the rotation was stopped at SwitchedUnrecorded (crash-test hook)"
        );
    }
}
