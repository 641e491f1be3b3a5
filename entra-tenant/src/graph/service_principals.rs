//! Service principals: Graph's view of them, lookup by object id or `(appId='...')`, and the
//! create / get / list / update / delete rules; creation also for Microsoft's first-party
//! applications the catalogue knows (`directory::first_party`). Removing one removes what refers to it (app role
//! assignments, permission grants, role assignments).

use serde_json::{Value, json};

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::exposed;
use super::keys;
use super::payload::{self, passed_over};
use super::query::{Filterable, Object, QueryOptions, select, to_object};
use super::request::{Collection, Context, EntitySet, Key, Outcome, Reply};
use crate::directory::{CredentialOrigin, CredentialVia, ServicePrincipal, first_party};
use crate::ids::{AppId, ObjectId};
use crate::tenant::Tenant;

pub const SERVICE_PRINCIPAL_TYPE: &str = "microsoft.graph.servicePrincipal";

pub const SERVICE_PRINCIPAL_FILTER: Filterable = Filterable {
    type_name: SERVICE_PRINCIPAL_TYPE,
    eq: &[
        "id",
        "appId",
        "displayName",
        "servicePrincipalType",
        "accountEnabled",
    ],
    starts_with: &["displayName"],
};

/// Properties of the Graph type that the mock does not model; `$select` returns them null.
pub const SERVICE_PRINCIPAL_EXTRA: &[&str] = &[
    "alternativeNames",
    "appDescription",
    "description",
    "homepage",
    "loginUrl",
    "logoutUrl",
    "notes",
    "replyUrls",
    "verifiedPublisher",
    "preferredSingleSignOnMode",
];

/// Writable properties Graph has that the mock keeps as sent without acting on them.
const SERVICE_PRINCIPAL_IGNORED: &[&str] = &[
    "appRoleAssignmentRequired",
    "description",
    "homepage",
    "loginUrl",
    "logoutUrl",
    "notes",
    "notificationEmailAddresses",
    "preferredSingleSignOnMode",
    "replyUrls",
    "tags",
];

pub fn service_principal_view(s: &ServicePrincipal, with_keys: bool) -> Object {
    let mut o = to_object(s);
    o.remove("isPublicClient");
    keys::hide_keys(&mut o, with_keys);
    keys::hide_secrets(&mut o);
    o.insert("appDisplayName".into(), json!(s.display_name));
    o.insert("deletedDateTime".into(), Value::Null);
    o.insert("tags".into(), json!([]));
    if let Some(Value::Object(kept)) = o.remove("kept") {
        o.extend(kept);
    }
    o
}

/// The service principal a key names, by object id or `(appId='...')`.
pub fn find_service_principal<'t>(
    t: &'t Tenant,
    key: &Key,
) -> Result<&'t ServicePrincipal, GraphError> {
    let d = &t.directory;
    key.find_by_id_or_app_id(
        SERVICE_PRINCIPAL_TYPE,
        |id| d.service_principal(id),
        |app_id| d.service_principal_by_app_id(app_id),
    )
}

fn unknown_property(name: &str) -> GraphError {
    GraphError::UnknownProperty {
        name: name.to_string(),
        type_name: SERVICE_PRINCIPAL_TYPE,
    }
}

/// Removes a service principal and every reference to it.
pub(super) fn remove_service_principal(t: &mut Tenant, sp: ObjectId) {
    let d = &mut t.directory;
    d.service_principals.retain(|s| s.id != sp);
    d.app_role_assignments
        .retain(|a| a.principal_id != sp && a.resource_id != sp);
    d.oauth2_permission_grants
        .retain(|g| g.client_id != sp && g.resource_id != sp);
    d.role_assignments.retain(|r| r.principal_id != sp);
}

pub fn get_service_principal(t: &Tenant, caller: &Caller, key: &Key, q: &QueryOptions) -> Outcome {
    authorize(t, caller, Need::ReadApplications)?;
    let s = find_service_principal(t, key)?;
    let view = service_principal_view(s, q.selects("keyCredentials"));
    Ok(Reply::entity(
        Context::selected(EntitySet::Collection(Collection::ServicePrincipals), q),
        select(view, q, SERVICE_PRINCIPAL_TYPE, SERVICE_PRINCIPAL_EXTRA)?,
    ))
}

pub fn list_service_principals(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    Ok(t.directory
        .service_principals
        .iter()
        .map(|s| service_principal_view(s, false))
        .collect())
}

/// `POST /servicePrincipals {"appId": …}`: the service principal of an application of this
/// tenant, or of a first-party application this project knows (`directory::first_party`) that
/// has none here yet; any other appId is Graph's 400 with `NoBackingApplicationObject`.
pub fn create_service_principal(t: &mut Tenant, caller: &Caller, body: &Value) -> Outcome {
    let obj = payload::object(body)?;
    for k in obj.keys() {
        if !(k == "appId" || k == "accountEnabled" || passed_over(k, SERVICE_PRINCIPAL_IGNORED)) {
            return Err(unknown_property(k));
        }
    }
    let app_id_text = obj
        .get("appId")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::invalid_on("appId", "ServicePrincipal"))?;
    let invalid = || GraphError::NoSuchApplication {
        app_id: app_id_text.to_string(),
    };
    let app_id = AppId(payload::guid(app_id_text).map_err(|_| invalid())?);
    let mut sp = match t.directory.application_by_app_id(app_id) {
        Some(app) => {
            authorize(t, caller, Need::WriteApplication(Some(app)))?;
            ServicePrincipal::for_application(
                ObjectId::new_random(),
                app_id,
                &app.display_name,
                t.id.0,
            )
        }
        None => {
            let sp = first_party::service_principal(t.cloud, app_id).ok_or_else(invalid)?;
            authorize(t, caller, Need::WriteServicePrincipal(None))?;
            // "When using this permission, the backing application of the service principal
            // being created must in the local tenant" (Graph's words, as captured).
            if caller.has_role("Application.ReadWrite.OwnedBy")
                && !caller.has_role("Application.ReadWrite.All")
                && !caller.has_role("Directory.ReadWrite.All")
            {
                return Err(GraphError::OwnedByForeignApplication);
            }
            sp
        }
    };
    if t.directory.service_principal_by_app_id(app_id).is_some() {
        return Err(GraphError::ServicePrincipalNameInUse {
            app_id: app_id.to_string(),
        });
    }
    sp.account_enabled = obj
        .get("accountEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    sp.kept = obj
        .iter()
        .filter(|(k, _)| SERVICE_PRINCIPAL_IGNORED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    t.directory.service_principals.push(sp);
    // The service principal of the tenant's own application offers what the application
    // exposes.
    exposed::publish(t, app_id);
    let view = t
        .directory
        .service_principal_by_app_id(app_id)
        .map(|s| service_principal_view(s, false))
        .unwrap_or_default();
    Ok(Reply::created(
        Context::whole(EntitySet::Collection(Collection::ServicePrincipals)),
        view,
    ))
}

pub fn update_service_principal(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    body: &Value,
) -> Outcome {
    let sp = find_service_principal(t, key)?;
    authorize(t, caller, Need::WriteServicePrincipal(Some(sp)))?;
    let (mut name, mut enabled, mut creds) = (None, None, None);
    let mut kept = serde_json::Map::new();
    for (k, v) in payload::object(body)? {
        match k.as_str() {
            "displayName" => name = Some(payload::string(v, k)?),
            "accountEnabled" => enabled = Some(v.as_bool().ok_or_else(|| GraphError::invalid(k))?),
            "keyCredentials" => {
                let origin = CredentialOrigin::graph(caller.object_id(), CredentialVia::Update);
                creds = Some(keys::replace_collection(v, &sp.key_credentials, &origin)?)
            }
            "passwordCredentials" => return Err(GraphError::PasswordCredentialsNotUpdatable),
            "id" | "appId" | "appOwnerOrganizationId" | "servicePrincipalType" => {
                return Err(GraphError::ReadOnlyProperty { name: k.clone() });
            }
            _ if k.starts_with('@') => {}
            _ if SERVICE_PRINCIPAL_IGNORED.contains(&k.as_str()) => {
                kept.insert(k.clone(), payload::patched(v, sp.kept.get(k.as_str())));
            }
            _ => return Err(unknown_property(k)),
        }
    }
    let id = sp.id;
    if let Some(s) = t.directory.service_principal_mut(id) {
        if let Some(n) = name {
            s.display_name = n;
        }
        if let Some(e) = enabled {
            s.account_enabled = e;
        }
        if let Some(c) = creds {
            s.key_credentials = c;
        }
        s.kept.extend(kept);
    }
    Ok(Reply::NoContent)
}

pub fn delete_service_principal(t: &mut Tenant, caller: &Caller, key: &Key) -> Outcome {
    let sp = find_service_principal(t, key)?;
    authorize(t, caller, Need::WriteServicePrincipal(Some(sp)))?;
    let id = sp.id;
    remove_service_principal(t, id);
    Ok(Reply::NoContent)
}
