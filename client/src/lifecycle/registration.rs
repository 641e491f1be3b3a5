//! The application in Entra, as an administrator sets it up through Graph: the single-tenant
//! application `ConnectSyncProvisioning_<Server>_<id>` and its service principal, its
//! `requiredResourceAccess`, the app role assignments that grant them
//! (`ADSynchronization.ReadWrite.All`, and the three `PasswordWriteback.*` roles when
//! writeback is on and the password reset service exists), and its certificate credential.
//! Also the BYOA check: which of those permissions an administrator's application lacks.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use crate::cert::Certificate;
use crate::cloud::SYNC_SERVICE_APP_ID;
use crate::graph::{
    AppRole, Application, GraphClient, GraphError, KeyCredential, ObjectRef,
    RequiredResourceAccess, ResourceAccess, ServicePrincipal,
};
use crate::ids::{ClientId, KeyCredentialId};

use super::error::{LifecycleError, Precondition};
use super::services::{PASSWORD_RESET_APP_ID, PASSWORD_RESET_APP_ID_USGOV};

/// The sync service's role every sync application needs.
pub const ADSYNC_ROLE: &str = "ADSynchronization.ReadWrite.All";
/// The password-writeback roles, needed when writeback is on.
pub const WRITEBACK_ROLES: [&str; 3] = [
    "PasswordWriteback.OffboardClient.All",
    "PasswordWriteback.RegisterClientVersion.All",
    "PasswordWriteback.RefreshClient.All",
];

/// One permission the sync application needs: a role of a resource service principal.
#[derive(Debug, Clone)]
pub struct RequiredRole {
    pub resource: ServicePrincipal,
    pub role: AppRole,
}

impl RequiredRole {
    pub fn value(&self) -> &str {
        self.role.value.as_deref().unwrap_or(&self.role.id)
    }
}

/// Reads the roles the sync application needs from the resources' own `appRoles`, by value, as
/// the documentation's Graph procedure does (steps 3 and 5), rather than trusting printed ids.
pub async fn required_roles(
    graph: &GraphClient,
    password_writeback: bool,
) -> Result<Vec<RequiredRole>, LifecycleError> {
    let sync = graph
        .get_service_principal(&ObjectRef::AppId(ClientId::from(SYNC_SERVICE_APP_ID)))
        .await
        .map_err(|e| match e {
            GraphError::Service(s) if s.status == 404 => {
                LifecycleError::from(Precondition::SyncNotEnabled)
            }
            other => other.into(),
        })?;
    let mut out = vec![role_of(&sync, ADSYNC_ROLE)?];
    if password_writeback && let Some(reset) = password_reset_service(graph).await? {
        for value in WRITEBACK_ROLES {
            out.push(role_of(&reset, value)?);
        }
    }
    Ok(out)
}

/// The password reset service's principal, which "might not exist in the tenant".
async fn password_reset_service(
    graph: &GraphClient,
) -> Result<Option<ServicePrincipal>, LifecycleError> {
    for app_id in [PASSWORD_RESET_APP_ID, PASSWORD_RESET_APP_ID_USGOV] {
        match graph
            .get_service_principal(&ObjectRef::AppId(ClientId::from(app_id)))
            .await
        {
            Ok(sp) => return Ok(Some(sp)),
            Err(GraphError::Service(s)) if s.status == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

fn role_of(sp: &ServicePrincipal, value: &str) -> Result<RequiredRole, LifecycleError> {
    let role = sp
        .app_roles
        .iter()
        .find(|r| r.value.as_deref() == Some(value))
        .cloned()
        .ok_or_else(|| LifecycleError::Unexpected {
            what: format!("service principal {}", sp.app_id),
            reason: format!("it offers no app role {value}"),
        })?;
    Ok(RequiredRole {
        resource: sp.clone(),
        role,
    })
}

/// `requiredResourceAccess` listing `roles`, grouped by resource.
pub fn required_resource_access(roles: &[RequiredRole]) -> Vec<RequiredResourceAccess> {
    let mut out: Vec<RequiredResourceAccess> = Vec::new();
    for r in roles {
        let access = ResourceAccess {
            id: r.role.id.clone(),
            kind: "Role".into(),
        };
        match out
            .iter_mut()
            .find(|e| e.resource_app_id == r.resource.app_id.as_str())
        {
            Some(entry) => entry.resource_access.push(access),
            None => out.push(RequiredResourceAccess {
                resource_app_id: r.resource.app_id.as_str().to_owned(),
                resource_access: vec![access],
            }),
        }
    }
    out
}

/// Whether a keyCredential is `cert`: by its key when Graph returned it, else by
/// `customKeyIdentifier` (the thumbprint, as raw bytes or as hex text).
pub fn credential_is(credential: &KeyCredential, cert: &Certificate) -> bool {
    if let Some(key) = &credential.key
        && let Ok(der) = B64.decode(key)
    {
        return der == cert.der();
    }
    let Some(custom) = &credential.custom_key_identifier else {
        return false;
    };
    let sha1 = cert.sha1();
    let hex = cert.thumbprint();
    match B64.decode(custom) {
        Ok(bytes) => bytes == sha1 || bytes.eq_ignore_ascii_case(hex.as_str().as_bytes()),
        Err(_) => custom.eq_ignore_ascii_case(hex.as_str()),
    }
}

/// The application and service principal of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    pub application: Application,
    pub service_principal: ServicePrincipal,
    pub certificate_id: Option<KeyCredentialId>,
}

/// Creates (or finds, by display name) the sync application and its service principal,
/// declares and grants its permissions, and registers `cert` on it (PATCH of the whole
/// keyCredentials collection, keeping the keys already there).
pub async fn register_application(
    graph: &GraphClient,
    display_name: &str,
    cert: &Certificate,
    password_writeback: bool,
) -> Result<Registered, LifecycleError> {
    let roles = required_roles(graph, password_writeback).await?;
    let access = required_resource_access(&roles);
    let filter = format!("displayName eq '{}'", display_name.replace('\'', "''"));
    let application = match graph
        .list_applications(Some(&filter))
        .await?
        .into_iter()
        .next()
    {
        Some(app) => {
            graph
                .update_application(
                    &ObjectRef::Id(app.id.clone()),
                    &json!({ "requiredResourceAccess": access }),
                )
                .await?;
            app
        }
        None => {
            graph
                .create_application(&json!({
                    "displayName": display_name,
                    "signInAudience": "AzureADMyOrg",
                    "requiredResourceAccess": access,
                }))
                .await?
        }
    };
    let service_principal = ensure_service_principal(graph, &application.app_id).await?;
    let app = ObjectRef::Id(application.id.clone());
    let before = graph.get_application(&app).await?.key_credentials;
    let certificate_id = add_certificate(graph, &application, cert).await?;
    if let Err(e) = grant_roles(graph, &service_principal, &roles).await {
        // A sign-in that may register applications but not grant roles (an ordinary user)
        // gets this far: the certificate it added goes again, since the failed registration
        // deletes its key and nothing would ever remove the credential. The application
        // itself stays, for the next registration by name to reuse. Best effort: the grant's
        // refusal is what the administrator needs to see.
        if !before.iter().any(|k| credential_is(k, cert)) {
            let _ = graph.set_key_credentials(&app, &before).await;
        }
        return Err(e);
    }
    Ok(Registered {
        application,
        service_principal,
        certificate_id,
    })
}

async fn ensure_service_principal(
    graph: &GraphClient,
    app_id: &ClientId,
) -> Result<ServicePrincipal, LifecycleError> {
    match graph
        .get_service_principal(&ObjectRef::AppId(app_id.clone()))
        .await
    {
        Ok(sp) => Ok(sp),
        Err(GraphError::Service(s)) if s.status == 404 => {
            Ok(graph.create_service_principal(app_id).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Registers `cert` on the application unless it is there; returns its keyId.
pub async fn add_certificate(
    graph: &GraphClient,
    application: &Application,
    cert: &Certificate,
) -> Result<Option<KeyCredentialId>, LifecycleError> {
    let app = ObjectRef::Id(application.id.clone());
    let current = graph.get_application(&app).await?;
    if let Some(found) = current
        .key_credentials
        .iter()
        .find(|k| credential_is(k, cert))
    {
        return Ok(found.key_id.clone());
    }
    let mut keys: Vec<KeyCredential> = current.key_credentials.clone();
    keys.push(KeyCredential::for_certificate(cert)?);
    graph.set_key_credentials(&app, &keys).await?;
    find_key_id(graph, &app, cert).await
}

/// Replaces the application's credentials `old` by `cert` in one PATCH: the administrator's
/// way when addKey cannot be used (no valid certificate left).
pub async fn replace_certificate(
    graph: &GraphClient,
    app: &ObjectRef,
    old: &[KeyCredentialId],
    cert: &Certificate,
) -> Result<Option<KeyCredentialId>, LifecycleError> {
    let current = graph.get_application(app).await?;
    let mut keys: Vec<KeyCredential> = current
        .key_credentials
        .iter()
        .filter(|k| k.key_id.as_ref().is_none_or(|id| !old.contains(id)))
        .cloned()
        .collect();
    if !keys.iter().any(|k| credential_is(k, cert)) {
        keys.push(KeyCredential::for_certificate(cert)?);
    }
    graph.set_key_credentials(app, &keys).await?;
    find_key_id(graph, app, cert).await
}

async fn find_key_id(
    graph: &GraphClient,
    app: &ObjectRef,
    cert: &Certificate,
) -> Result<Option<KeyCredentialId>, LifecycleError> {
    let after = graph.get_application(app).await?;
    Ok(after
        .key_credentials
        .iter()
        .find(|k| credential_is(k, cert))
        .and_then(|k| k.key_id.clone()))
}

async fn grant_roles(
    graph: &GraphClient,
    sp: &ServicePrincipal,
    roles: &[RequiredRole],
) -> Result<(), LifecycleError> {
    let held = graph
        .list_app_role_assignments(&ObjectRef::Id(sp.id.clone()))
        .await?;
    for r in roles {
        let granted = held.iter().any(|a| {
            a.resource_id == r.resource.id && a.app_role_id.eq_ignore_ascii_case(&r.role.id)
        });
        if !granted {
            graph
                .assign_app_role(&sp.id, &r.resource.id, &r.role.id)
                .await?;
        }
    }
    Ok(())
}

/// What a BYOA application looks like from the tenant.
#[derive(Debug, Clone)]
pub struct ByoaCheck {
    pub application: Application,
    pub service_principal: ServicePrincipal,
    pub certificate_id: Option<KeyCredentialId>,
}

/// Checks an administrator's application: it exists, has a service principal, holds every
/// required permission (each missing one is named), and has `cert` registered.
pub async fn check_byoa(
    graph: &GraphClient,
    app_id: &ClientId,
    cert: &Certificate,
    password_writeback: bool,
) -> Result<ByoaCheck, LifecycleError> {
    let application = match graph
        .get_application(&ObjectRef::AppId(app_id.clone()))
        .await
    {
        Ok(app) => app,
        Err(GraphError::Service(s)) if s.status == 404 => {
            return Err(Precondition::ApplicationNotInTenant {
                app_id: app_id.clone(),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let service_principal = match graph
        .get_service_principal(&ObjectRef::AppId(app_id.clone()))
        .await
    {
        Ok(sp) => sp,
        Err(GraphError::Service(s)) if s.status == 404 => {
            return Err(Precondition::ServicePrincipalNotInTenant {
                app_id: app_id.clone(),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let roles = required_roles(graph, password_writeback).await?;
    let held = graph
        .list_app_role_assignments(&ObjectRef::Id(service_principal.id.clone()))
        .await?;
    let missing: Vec<String> = roles
        .iter()
        .filter(|r| {
            !held.iter().any(|a| {
                a.resource_id == r.resource.id && a.app_role_id.eq_ignore_ascii_case(&r.role.id)
            })
        })
        .map(|r| {
            format!(
                "{} ({})",
                r.value(),
                r.resource
                    .display_name
                    .as_deref()
                    .unwrap_or(r.resource.app_id.as_str())
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(LifecycleError::MissingPermissions {
            app_id: app_id.clone(),
            missing,
        });
    }
    let certificate_id = application
        .key_credentials
        .iter()
        .find(|k| credential_is(k, cert))
        .map(|k| k.key_id.clone())
        .ok_or_else(|| Precondition::CertificateNotOnApplication {
            hash: cert.sha256_hash(),
            app_id: app_id.clone(),
        })?;
    Ok(ByoaCheck {
        application,
        service_principal,
        certificate_id,
    })
}
