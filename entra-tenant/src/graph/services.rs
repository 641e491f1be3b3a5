//! Models of the first-party APIs the sync server calls. Their real wire protocols are not
//! public: these are models, documented in `mock-graph/SERVICES.md`, that keep what matters
//! for authentication — which token each call needs (the resource, the app role or the
//! Directory Synchronization Accounts role) and what each call changes in the tenant. What they
//! remember is the directory's `ServiceState`.
//!
//! - The synchronization service (resource appId `6bf85cfa-...`): exports directory objects
//!   into the tenant, and registers the sync application for automatic onboarding (2.5.76.0+).
//! - The password-writeback service (the password reset service's resource): registers the
//!   client version, refreshes, and offboards the writeback client.

use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::auth::{Caller, is_sync_account};
use super::error::GraphError;
use super::keys;
use super::payload;
use crate::cloud::Cloud;
use crate::directory::{
    AppRoleAssignment, Application, CredentialOrigin, CredentialVia, PasswordProfile,
    ServicePrincipal, User, WritebackClient,
};
use crate::ids::{AppId, ObjectId, Thumbprint, opaque_id};
use crate::status::Status;
use crate::tenant::Tenant;

/// The Microsoft Entra AD Synchronization Service, in every cloud.
pub const SYNC_SERVICE_APP_ID: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";
pub const ADSYNC_ROLE: &str = "ADSynchronization.ReadWrite.All";
pub const WRITEBACK_REGISTER_ROLE: &str = "PasswordWriteback.RegisterClientVersion.All";
pub const WRITEBACK_REFRESH_ROLE: &str = "PasswordWriteback.RefreshClient.All";
pub const WRITEBACK_OFFBOARD_ROLE: &str = "PasswordWriteback.OffboardClient.All";

/// The Microsoft password reset service's appId: another one in the US Government cloud.
pub fn password_reset_app_id(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Usgov => "2e5ecfc8-ea79-48bd-8140-c19324acb278",
        _ => "93625bc8-bfe2-437a-97e0-3d0060024faa",
    }
}

/// A service call, already routed.
#[derive(Clone, Debug)]
pub enum ServiceRequest {
    Export(Value),
    SyncStatus,
    RegisterApplication(Value),
    WritebackRegister(Value),
    WritebackRefresh,
    WritebackOffboard,
    WritebackGet,
}

/// A service answer: status and JSON body (none for 204).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceReply {
    pub status: Status,
    pub body: Option<Value>,
}

impl ServiceReply {
    fn ok(body: Option<Value>) -> Self {
        ServiceReply {
            status: Status::Ok,
            body,
        }
    }
}

impl ServiceRequest {
    /// The appId of the resource a caller's token must be for.
    pub fn resource(&self, cloud: Cloud) -> &'static str {
        match self {
            ServiceRequest::Export(_)
            | ServiceRequest::SyncStatus
            | ServiceRequest::RegisterApplication(_) => SYNC_SERVICE_APP_ID,
            _ => password_reset_app_id(cloud),
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> Value {
    t.format(&time::format_description::well_known::Rfc3339)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// Applies a service call. Authorization: application tokens by their app role on the
/// service's resource; delegated tokens of a user holding the Directory Synchronization
/// Accounts role (the legacy `Sync_*` account) for every call.
pub fn execute(
    t: &mut Tenant,
    caller: &Caller,
    req: ServiceRequest,
    lag: Option<Duration>,
) -> Result<ServiceReply, GraphError> {
    let sync_account = is_sync_account(t, caller);
    let allowed = |role: &str| sync_account || caller.has_role(role);
    match req {
        ServiceRequest::Export(body) => {
            if !allowed(ADSYNC_ROLE) {
                return Err(GraphError::Denied);
            }
            t.write_with_lag(lag, |t| export(t, &body))
        }
        ServiceRequest::SyncStatus => {
            if !allowed(ADSYNC_ROLE) {
                return Err(GraphError::Denied);
            }
            let s = &t.directory.services;
            Ok(ServiceReply::ok(Some(json!({
                "onPremisesSyncEnabled": s.on_premises_sync_enabled,
                "lastExportDateTime": s.last_export.map(rfc3339).unwrap_or(Value::Null),
                "exportedObjects": s.exported_objects,
            }))))
        }
        ServiceRequest::RegisterApplication(body) => {
            // Only the sync account itself onboards its server automatically.
            if !sync_account {
                return Err(GraphError::Denied);
            }
            t.write_with_lag(lag, |t| register_application(t, &body))
        }
        ServiceRequest::WritebackRegister(body) => {
            if !allowed(WRITEBACK_REGISTER_ROLE) {
                return Err(GraphError::Denied);
            }
            let version = payload::object(&body)?
                .get("clientVersion")
                .and_then(Value::as_str)
                .filter(|v| valid_version(v))
                .ok_or(GraphError::InvalidClientVersion)?
                .to_string();
            let by = registered_by(caller);
            t.write_with_lag(lag, |t| {
                let client = WritebackClient {
                    client_version: version,
                    registered_by: by,
                    registered_date_time: t.now(),
                    last_refresh_date_time: None,
                };
                let body = serde_json::to_value(&client).ok();
                t.directory.services.password_writeback = Some(client);
                Ok(ServiceReply::ok(body))
            })
        }
        ServiceRequest::WritebackRefresh => {
            if !allowed(WRITEBACK_REFRESH_ROLE) {
                return Err(GraphError::Denied);
            }
            t.write_with_lag(lag, |t| {
                let now = t.now();
                let client = t
                    .directory
                    .services
                    .password_writeback
                    .as_mut()
                    .ok_or_else(not_registered)?;
                client.last_refresh_date_time = Some(now);
                Ok(ServiceReply::ok(serde_json::to_value(&*client).ok()))
            })
        }
        ServiceRequest::WritebackOffboard => {
            if !allowed(WRITEBACK_OFFBOARD_ROLE) {
                return Err(GraphError::Denied);
            }
            t.write_with_lag(lag, |t| {
                t.directory
                    .services
                    .password_writeback
                    .take()
                    .ok_or_else(not_registered)?;
                Ok(ServiceReply {
                    status: Status::NoContent,
                    body: None,
                })
            })
        }
        ServiceRequest::WritebackGet => {
            if ![
                WRITEBACK_REGISTER_ROLE,
                WRITEBACK_REFRESH_ROLE,
                WRITEBACK_OFFBOARD_ROLE,
            ]
            .iter()
            .any(|r| allowed(r))
            {
                return Err(GraphError::Denied);
            }
            let client = t
                .directory
                .services
                .password_writeback
                .as_ref()
                .ok_or_else(not_registered)?;
            Ok(ServiceReply::ok(serde_json::to_value(client).ok()))
        }
    }
}

fn not_registered() -> GraphError {
    GraphError::not_found("passwordWritebackClient")
}

fn registered_by(caller: &Caller) -> String {
    match caller {
        Caller::App { app_id, .. } => app_id.to_string(),
        Caller::User { id, .. } => id.to_string(),
    }
}

fn valid_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    (2..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// One exported object: users only, keyed by their source anchor.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportedObject {
    source_anchor: String,
    #[serde(default = "user_type")]
    object_type: String,
    user_principal_name: String,
    display_name: String,
    #[serde(default = "yes")]
    account_enabled: bool,
}

fn user_type() -> String {
    "user".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportBody {
    #[serde(default)]
    objects: Vec<ExportedObject>,
    /// Source anchors of objects deleted on premises.
    #[serde(default)]
    deletions: Vec<String>,
}

fn export(t: &mut Tenant, body: &Value) -> Result<ServiceReply, GraphError> {
    let batch: ExportBody =
        serde_json::from_value(body.clone()).map_err(|e| GraphError::InvalidExportBatch {
            detail: e.to_string(),
        })?;
    for o in &batch.objects {
        if o.object_type != "user" {
            return Err(GraphError::ExportsUsersOnly {
                object_type: o.object_type.clone(),
            });
        }
        let domain = o
            .user_principal_name
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default();
        if !t.has_domain(domain) {
            return Err(GraphError::ExportDomainNotVerified {
                upn: o.user_principal_name.clone(),
            });
        }
    }
    let now = t.now();
    for o in &batch.objects {
        let existing = t
            .directory
            .users
            .iter_mut()
            .find(|u| u.on_premises_immutable_id.as_deref() == Some(o.source_anchor.as_str()));
        match existing {
            Some(u) => {
                u.user_principal_name = o.user_principal_name.clone();
                u.display_name = o.display_name.clone();
                u.account_enabled = o.account_enabled;
            }
            None => {
                if t.directory.user_by_upn(&o.user_principal_name).is_some() {
                    return Err(GraphError::SameValue {
                        property: "userPrincipalName",
                    });
                }
                t.directory.users.push(User {
                    id: ObjectId::new_random(),
                    user_principal_name: o.user_principal_name.clone(),
                    display_name: o.display_name.clone(),
                    mail_nickname: o.user_principal_name.split('@').next().map(str::to_string),
                    account_enabled: o.account_enabled,
                    // Synchronized users sign in with their on-premises password; the model
                    // gives them one nobody knows.
                    password_profile: PasswordProfile {
                        password: opaque_id(),
                        force_change_password_next_sign_in: false,
                    },
                    created_date_time: Some(now),
                    on_premises_immutable_id: Some(o.source_anchor.clone()),
                    on_premises_sync_enabled: Some(true),
                    kept: serde_json::Map::new(),
                });
            }
        }
    }
    let d = &mut t.directory;
    let before = d.users.len();
    d.users.retain(|u| {
        !u.on_premises_immutable_id
            .as_ref()
            .is_some_and(|a| batch.deletions.contains(a))
    });
    let deleted = before - d.users.len();
    let s = &mut d.services;
    s.on_premises_sync_enabled = true;
    s.last_export = Some(now);
    // The count comes from the tenant's fixture or snapshot as much as from exports.
    s.exported_objects = s
        .exported_objects
        .saturating_add(u64::try_from(batch.objects.len()).unwrap_or(u64::MAX));
    Ok(ServiceReply::ok(Some(
        json!({"exported": batch.objects.len(), "deleted": deleted, "exportDateTime": rfc3339(now)}),
    )))
}

/// Automatic onboarding: registers (or finds) the sync application named `displayName`, adds
/// the server's certificate, and grants the sync and password-writeback roles.
fn register_application(t: &mut Tenant, body: &Value) -> Result<ServiceReply, GraphError> {
    let obj = payload::object(body)?;
    let name = obj
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or(GraphError::DisplayNameRequired)?
        .to_string();
    // The service adds the certificate on the sync server's behalf: as the application itself
    // (its service principal, known once it exists).
    let placeholder = CredentialOrigin {
        principal_id: None,
        via: CredentialVia::Create,
    };
    let mut credential = keys::add_key_credential(
        obj.get("keyCredential").unwrap_or(&Value::Null),
        &placeholder,
    )?;
    let sync_sp = t
        .directory
        .service_principal_by_app_id(SYNC_SERVICE_APP_ID.parse().unwrap_or(AppId(Uuid::nil())))
        .map(|s| s.id)
        .ok_or(GraphError::NoSyncServicePrincipal)?;
    let now = t.now();
    let existing = t
        .directory
        .applications
        .iter()
        .find(|a| a.display_name == name)
        .map(|a| (a.id, a.app_id));
    let (status, app_object, app_id) = match existing {
        Some((id, app_id)) => (Status::Ok, id, app_id),
        None => {
            let (id, app_id) = (ObjectId::new_random(), AppId::new_random());
            t.directory
                .applications
                .push(Application::new(id, app_id, &name, now));
            (Status::Created, id, app_id)
        }
    };
    let sp = match t.directory.service_principal_by_app_id(app_id) {
        Some(s) => s.id,
        None => {
            let id = ObjectId::new_random();
            let tenant = t.id.0;
            t.directory
                .service_principals
                .push(ServicePrincipal::for_application(id, app_id, &name, tenant));
            id
        }
    };
    credential.added_by = Some(CredentialOrigin::graph(sp, CredentialVia::Create));
    let thumbprint = credential.key.as_deref().map(Thumbprint::sha1_of);
    let mut key_id = credential.key_id;
    if let Some(app) = t.directory.application_mut(app_object) {
        // A retried onboarding with the same certificate must not register it twice.
        match app
            .key_credentials
            .iter()
            .find(|k| k.key.as_deref().map(Thumbprint::sha1_of) == thumbprint)
        {
            Some(k) => key_id = k.key_id,
            None => app.key_credentials.push(credential),
        }
    }
    let pwr = password_reset_app_id(t.cloud)
        .parse()
        .ok()
        .and_then(|a| t.directory.service_principal_by_app_id(a))
        .map(|s| s.id);
    let mut grants = vec![(sync_sp, ADSYNC_ROLE)];
    if let Some(p) = pwr {
        grants.extend([
            (p, WRITEBACK_REGISTER_ROLE),
            (p, WRITEBACK_REFRESH_ROLE),
            (p, WRITEBACK_OFFBOARD_ROLE),
        ]);
    }
    for (resource, value) in grants {
        let Some(res) = t.directory.service_principal(resource) else {
            continue;
        };
        let Some(role) = res
            .app_roles
            .iter()
            .find(|r| r.value == value)
            .map(|r| r.id)
        else {
            continue;
        };
        let res_name = res.display_name.clone();
        if t.directory
            .app_role_assignments
            .iter()
            .any(|a| a.principal_id == sp && a.resource_id == resource && a.app_role_id == role)
        {
            continue;
        }
        t.directory.app_role_assignments.push(AppRoleAssignment {
            id: opaque_id(),
            principal_id: sp,
            principal_type: "ServicePrincipal".into(),
            principal_display_name: Some(name.clone()),
            resource_id: resource,
            resource_display_name: Some(res_name),
            app_role_id: role,
            created_date_time: Some(now),
        });
    }
    Ok(ServiceReply {
        status,
        body: Some(json!({
            "appId": app_id.to_string(),
            "applicationId": app_object.to_string(),
            "servicePrincipalId": sp.to_string(),
            "displayName": name,
            "keyId": key_id.to_string(),
        })),
    })
}
