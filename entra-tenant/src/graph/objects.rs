//! Applications, service principals and app role assignments: Graph's views of them, and the
//! create / update / delete / addKey / removeKey rules. Each write checks everything before it
//! changes the tenant, so a refused request leaves no trace.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::super::directory::{
    AppRoleAssignment, Application, KeyCredential, RequiredResourceAccess, ServicePrincipal,
};
use super::super::ids::{AppId, ObjectId};
use super::super::tenant::Tenant;
use super::GraphError;
use super::auth::{Caller, Need, authorize};
use super::keys;
use super::query::{Filterable, Object, QueryOptions, select};
use super::request::{Key, Reply};

pub const APPLICATION_TYPE: &str = "microsoft.graph.application";
pub const SERVICE_PRINCIPAL_TYPE: &str = "microsoft.graph.servicePrincipal";

pub const APPLICATION_FILTER: Filterable = Filterable {
    type_name: APPLICATION_TYPE,
    eq: &["id", "appId", "displayName", "signInAudience"],
    starts_with: &["displayName"],
};
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
pub const ASSIGNMENT_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.appRoleAssignment",
    eq: &["id", "principalId", "resourceId", "appRoleId"],
    starts_with: &[],
};

/// Properties of the Graph types that the mock does not model; `$select` returns them null.
pub const APPLICATION_EXTRA: &[&str] = &[
    "api",
    "appRoles",
    "description",
    "info",
    "notes",
    "optionalClaims",
    "publicClient",
    "spa",
    "web",
    "groupMembershipClaims",
    "verifiedPublisher",
    "certification",
    "uniqueName",
    "serviceManagementReference",
];
pub const SERVICE_PRINCIPAL_EXTRA: &[&str] = &[
    "alternativeNames",
    "appDescription",
    "description",
    "homepage",
    "loginUrl",
    "logoutUrl",
    "notes",
    "oauth2PermissionScopes",
    "passwordCredentials",
    "replyUrls",
    "verifiedPublisher",
    "preferredSingleSignOnMode",
];

/// Writable properties Graph has but the mock ignores (kept out of the "unknown property" error).
const APPLICATION_IGNORED: &[&str] = &[
    "api",
    "appRoles",
    "description",
    "info",
    "notes",
    "optionalClaims",
    "publicClient",
    "spa",
    "web",
    "tags",
    "groupMembershipClaims",
    "parentalControlSettings",
    "serviceManagementReference",
];
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

pub(super) fn to_object<T: serde::Serialize>(v: &T) -> Object {
    match serde_json::to_value(v) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

/// A key credential as Graph shows it: `key` only when asked for on a single object.
pub fn key_credential_view(k: &KeyCredential, with_key: bool) -> Object {
    let mut o = to_object(k);
    if !with_key {
        o.insert("key".into(), Value::Null);
    }
    o
}

fn hide_keys(o: &mut Object, with_keys: bool) {
    if with_keys {
        return;
    }
    if let Some(Value::Array(items)) = o.get_mut("keyCredentials") {
        for item in items {
            if let Some(k) = item.as_object_mut() {
                k.insert("key".into(), Value::Null);
            }
        }
    }
}

pub fn application_view(t: &Tenant, a: &Application, with_keys: bool) -> Object {
    let mut o = to_object(a);
    o.remove("owners");
    // secretText is fixture-only: Graph shows it once, when addPassword creates it.
    if let Some(Value::Array(items)) = o.get_mut("passwordCredentials") {
        for item in items {
            if let Some(p) = item.as_object_mut() {
                p.insert("secretText".into(), Value::Null);
            }
        }
    }
    hide_keys(&mut o, with_keys);
    o.insert("deletedDateTime".into(), Value::Null);
    o.insert("publisherDomain".into(), json!(t.initial_domain));
    o.insert("tags".into(), json!([]));
    o
}

pub fn service_principal_view(s: &ServicePrincipal, with_keys: bool) -> Object {
    let mut o = to_object(s);
    o.remove("isPublicClient");
    hide_keys(&mut o, with_keys);
    o.insert("appDisplayName".into(), json!(s.display_name));
    o.insert("deletedDateTime".into(), Value::Null);
    o.insert("tags".into(), json!([]));
    o
}

pub fn assignment_view(a: &AppRoleAssignment) -> Object {
    let mut o = to_object(a);
    o.insert("deletedDateTime".into(), Value::Null);
    o
}

fn parse_guid(text: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(text.trim()).map_err(|_| GraphError::InvalidObjectId(text.to_string()))
}

/// The application a key names, by object id or `(appId='...')`.
pub fn find_application<'t>(t: &'t Tenant, key: &Key) -> Result<&'t Application, GraphError> {
    let not_found = || GraphError::NotFound(key.value().to_string());
    match key {
        Key::Id(id) => {
            let id = ObjectId(parse_guid(id)?);
            t.applications
                .iter()
                .find(|a| a.id == id)
                .ok_or_else(not_found)
        }
        Key::Alt { property, value } if property.eq_ignore_ascii_case("appId") => {
            let app_id = AppId(parse_guid(value)?);
            t.application_by_app_id(app_id).ok_or_else(not_found)
        }
        Key::Alt { property, .. } => Err(unknown_key(property, APPLICATION_TYPE)),
    }
}

pub fn find_service_principal<'t>(
    t: &'t Tenant,
    key: &Key,
) -> Result<&'t ServicePrincipal, GraphError> {
    let not_found = || GraphError::NotFound(key.value().to_string());
    match key {
        Key::Id(id) => {
            let id = ObjectId(parse_guid(id)?);
            t.service_principal(id).ok_or_else(not_found)
        }
        Key::Alt { property, value } if property.eq_ignore_ascii_case("appId") => {
            let app_id = AppId(parse_guid(value)?);
            t.service_principal_by_app_id(app_id).ok_or_else(not_found)
        }
        Key::Alt { property, .. } => Err(unknown_key(property, SERVICE_PRINCIPAL_TYPE)),
    }
}

pub(super) fn unknown_key(property: &str, type_name: &str) -> GraphError {
    GraphError::OData(format!(
        "The property '{property}' is not an alternate key of type '{type_name}'."
    ))
}

pub(super) fn body_object(body: &Value) -> Result<&Map<String, Value>, GraphError> {
    body.as_object().ok_or_else(|| {
        GraphError::OData(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.".into(),
        )
    })
}

pub(super) fn unknown_property(name: &str, type_name: &str) -> GraphError {
    GraphError::OData(format!(
        "Property '{name}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type."
    ))
}

pub(super) fn read_only(name: &str) -> GraphError {
    GraphError::BadRequest(format!("Property '{name}' is read-only and cannot be set."))
}

fn string_prop(v: &Value, name: &str) -> Result<String, GraphError> {
    v.as_str().map(str::to_string).ok_or_else(|| {
        GraphError::BadRequest(format!("Invalid value specified for property '{name}'."))
    })
}

/// A validated change to an application (PATCH, or the body of POST).
#[derive(Default)]
struct ApplicationChange {
    display_name: Option<String>,
    sign_in_audience: Option<String>,
    identifier_uris: Option<Vec<String>>,
    is_fallback_public_client: Option<Option<bool>>,
    key_credentials: Option<Vec<KeyCredential>>,
    required_resource_access: Option<Vec<RequiredResourceAccess>>,
}

const AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

fn application_change(
    body: &Value,
    existing_keys: &[KeyCredential],
) -> Result<ApplicationChange, GraphError> {
    let mut c = ApplicationChange::default();
    for (k, v) in body_object(body)? {
        match k.as_str() {
            "displayName" => c.display_name = Some(string_prop(v, k)?),
            "signInAudience" => {
                let a = string_prop(v, k)?;
                if !AUDIENCES.contains(&a.as_str()) {
                    return Err(GraphError::BadRequest(format!(
                        "Invalid value specified for property 'signInAudience': '{a}'."
                    )));
                }
                c.sign_in_audience = Some(a);
            }
            "identifierUris" => {
                c.identifier_uris = Some(serde_json::from_value(v.clone()).map_err(|_| {
                    GraphError::BadRequest(
                        "Invalid value specified for property 'identifierUris'.".into(),
                    )
                })?)
            }
            "isFallbackPublicClient" => {
                c.is_fallback_public_client = Some(match v {
                    Value::Null => None,
                    Value::Bool(b) => Some(*b),
                    _ => {
                        return Err(GraphError::BadRequest(
                            "Invalid value specified for property 'isFallbackPublicClient'.".into(),
                        ));
                    }
                })
            }
            "keyCredentials" => {
                c.key_credentials = Some(keys::replace_collection(v, existing_keys)?)
            }
            "requiredResourceAccess" => {
                c.required_resource_access = Some(required_resource_access(v)?)
            }
            "passwordCredentials" => {
                return Err(GraphError::BadRequest(
                    "Updates to the passwordCredentials property are not supported; use addPassword and removePassword.".into(),
                ));
            }
            "id" | "appId" | "createdDateTime" | "publisherDomain" => return Err(read_only(k)),
            _ if k.starts_with('@') || APPLICATION_IGNORED.contains(&k.as_str()) => {}
            _ => return Err(unknown_property(k, APPLICATION_TYPE)),
        }
    }
    Ok(c)
}

fn required_resource_access(v: &Value) -> Result<Vec<RequiredResourceAccess>, GraphError> {
    let bad = |m: &str| GraphError::BadRequest(m.to_string());
    let items: Vec<RequiredResourceAccess> = serde_json::from_value(v.clone()).map_err(|e| {
        bad(&format!(
            "Invalid value specified for property 'requiredResourceAccess': {e}"
        ))
    })?;
    if items.len() > 50 {
        return Err(bad(
            "The requiredResourceAccess collection may name at most 50 resources.",
        ));
    }
    if items.iter().map(|r| r.resource_access.len()).sum::<usize>() > 400 {
        return Err(bad(
            "The requiredResourceAccess collection may name at most 400 permissions.",
        ));
    }
    for r in &items {
        if Uuid::parse_str(&r.resource_app_id).is_err() {
            return Err(bad(&format!(
                "Invalid resourceAppId '{}' in requiredResourceAccess.",
                r.resource_app_id
            )));
        }
        if let Some(a) = r
            .resource_access
            .iter()
            .find(|a| a.access_type != "Role" && a.access_type != "Scope")
        {
            return Err(bad(&format!(
                "Invalid resourceAccess type '{}': acceptable values are Role and Scope.",
                a.access_type
            )));
        }
    }
    Ok(items)
}

fn apply_application_change(a: &mut Application, c: ApplicationChange) {
    if let Some(v) = c.display_name {
        a.display_name = v;
    }
    if let Some(v) = c.sign_in_audience {
        a.sign_in_audience = v;
    }
    if let Some(v) = c.identifier_uris {
        a.identifier_uris = v;
    }
    if let Some(v) = c.is_fallback_public_client {
        a.is_fallback_public_client = v;
    }
    if let Some(v) = c.key_credentials {
        a.key_credentials = v;
    }
    if let Some(v) = c.required_resource_access {
        a.required_resource_access = v;
    }
}

pub fn get_application(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    q: &QueryOptions,
) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    let a = find_application(t, key)?;
    let view = application_view(t, a, q.selects("keyCredentials"));
    Ok(Reply::entity(
        format!("applications{}/$entity", q.context_suffix()),
        select(view, q, APPLICATION_TYPE, APPLICATION_EXTRA)?,
    ))
}

pub fn list_applications(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    Ok(t.applications
        .iter()
        .map(|a| application_view(t, a, false))
        .collect())
}

pub fn create_application(
    t: &mut Tenant,
    caller: &Caller,
    body: &Value,
) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::WriteApplication(None))?;
    let change = application_change(body, &[])?;
    if change
        .display_name
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(GraphError::BadRequest(
            "Invalid value specified for property 'displayName' of resource 'Application'.".into(),
        ));
    }
    // The display name comes from `change` below.
    let mut app = Application::new(ObjectId::new_random(), AppId::new_random(), "", t.now());
    // Entra makes the creating user or application an owner.
    app.owners = vec![caller.object_id()];
    apply_application_change(&mut app, change);
    let view = application_view(t, &app, false);
    t.applications.push(app);
    Ok(Reply::created("applications/$entity".into(), view))
}

pub fn update_application(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    body: &Value,
) -> Result<Reply, GraphError> {
    let app = find_application(t, key)?;
    authorize(t, caller, Need::WriteApplication(Some(app)))?;
    let change = application_change(body, &app.key_credentials)?;
    let id = app.id;
    if let Some(a) = t.application_mut(id) {
        apply_application_change(a, change);
    }
    Ok(Reply::NoContent)
}

pub fn delete_application(t: &mut Tenant, caller: &Caller, key: &Key) -> Result<Reply, GraphError> {
    let app = find_application(t, key)?;
    authorize(t, caller, Need::WriteApplication(Some(app)))?;
    let (id, app_id) = (app.id, app.app_id);
    t.applications.retain(|a| a.id != id);
    // The service principal of a single-tenant application goes with it.
    if let Some(sp) = t.service_principal_by_app_id(app_id).map(|s| s.id) {
        remove_service_principal(t, sp);
    }
    Ok(Reply::NoContent)
}

fn remove_service_principal(t: &mut Tenant, sp: ObjectId) {
    t.service_principals.retain(|s| s.id != sp);
    t.app_role_assignments
        .retain(|a| a.principal_id != sp && a.resource_id != sp);
    t.oauth2_permission_grants
        .retain(|g| g.client_id != sp && g.resource_id != sp);
    t.role_assignments.retain(|r| r.principal_id != sp);
}

pub fn get_service_principal(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    q: &QueryOptions,
) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    let s = find_service_principal(t, key)?;
    let view = service_principal_view(s, q.selects("keyCredentials"));
    Ok(Reply::entity(
        format!("servicePrincipals{}/$entity", q.context_suffix()),
        select(view, q, SERVICE_PRINCIPAL_TYPE, SERVICE_PRINCIPAL_EXTRA)?,
    ))
}

pub fn list_service_principals(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    Ok(t.service_principals
        .iter()
        .map(|s| service_principal_view(s, false))
        .collect())
}

pub fn create_service_principal(
    t: &mut Tenant,
    caller: &Caller,
    body: &Value,
) -> Result<Reply, GraphError> {
    let obj = body_object(body)?;
    for k in obj.keys() {
        if !(k == "appId"
            || k.starts_with('@')
            || SERVICE_PRINCIPAL_IGNORED.contains(&k.as_str())
            || k == "accountEnabled")
        {
            return Err(unknown_property(k, SERVICE_PRINCIPAL_TYPE));
        }
    }
    let app_id_text = obj.get("appId").and_then(Value::as_str).ok_or_else(|| {
        GraphError::BadRequest(
            "Invalid value specified for property 'appId' of resource 'ServicePrincipal'.".into(),
        )
    })?;
    let invalid = || {
        GraphError::BadRequest(format!(
            "The appId '{app_id_text}' of the service principal does not reference a valid application object."
        ))
    };
    let app_id = AppId(Uuid::parse_str(app_id_text.trim()).map_err(|_| invalid())?);
    let app = t.application_by_app_id(app_id).ok_or_else(invalid)?;
    authorize(t, caller, Need::WriteApplication(Some(app)))?;
    if t.service_principal_by_app_id(app_id).is_some() {
        return Err(GraphError::Duplicate(format!(
            "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
        )));
    }
    let mut sp = ServicePrincipal::for_application(
        ObjectId::new_random(),
        app_id,
        &app.display_name,
        t.id.0,
    );
    sp.account_enabled = obj
        .get("accountEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let view = service_principal_view(&sp, false);
    t.service_principals.push(sp);
    Ok(Reply::created("servicePrincipals/$entity".into(), view))
}

pub fn update_service_principal(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    body: &Value,
) -> Result<Reply, GraphError> {
    let sp = find_service_principal(t, key)?;
    authorize(t, caller, Need::WriteServicePrincipal(Some(sp)))?;
    let (mut name, mut enabled, mut creds) = (None, None, None);
    for (k, v) in body_object(body)? {
        match k.as_str() {
            "displayName" => name = Some(string_prop(v, k)?),
            "accountEnabled" => {
                enabled = Some(v.as_bool().ok_or_else(|| {
                    GraphError::BadRequest(
                        "Invalid value specified for property 'accountEnabled'.".into(),
                    )
                })?)
            }
            "keyCredentials" => creds = Some(keys::replace_collection(v, &sp.key_credentials)?),
            "id" | "appId" | "appOwnerOrganizationId" | "servicePrincipalType" => {
                return Err(read_only(k));
            }
            _ if k.starts_with('@') || SERVICE_PRINCIPAL_IGNORED.contains(&k.as_str()) => {}
            _ => return Err(unknown_property(k, SERVICE_PRINCIPAL_TYPE)),
        }
    }
    let id = sp.id;
    if let Some(s) = t.service_principals.iter_mut().find(|s| s.id == id) {
        if let Some(n) = name {
            s.display_name = n;
        }
        if let Some(e) = enabled {
            s.account_enabled = e;
        }
        if let Some(c) = creds {
            s.key_credentials = c;
        }
    }
    Ok(Reply::NoContent)
}

pub fn delete_service_principal(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
) -> Result<Reply, GraphError> {
    let sp = find_service_principal(t, key)?;
    authorize(t, caller, Need::WriteServicePrincipal(Some(sp)))?;
    let id = sp.id;
    remove_service_principal(t, id);
    Ok(Reply::NoContent)
}

/// Which object an addKey/removeKey acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOwner {
    Application,
    ServicePrincipal,
}

/// The object's id and credentials, after checking the caller may roll its keys.
fn key_owner(
    t: &Tenant,
    caller: &Caller,
    owner: KeyOwner,
    key: &Key,
) -> Result<(ObjectId, Vec<KeyCredential>), GraphError> {
    match owner {
        KeyOwner::Application => {
            let a = find_application(t, key)?;
            authorize(t, caller, Need::RollApplicationKey(a))?;
            Ok((a.id, a.key_credentials.clone()))
        }
        KeyOwner::ServicePrincipal => {
            let s = find_service_principal(t, key)?;
            authorize(t, caller, Need::RollServicePrincipalKey(s))?;
            Ok((s.id, s.key_credentials.clone()))
        }
    }
}

fn credentials_mut(
    t: &mut Tenant,
    owner: KeyOwner,
    id: ObjectId,
) -> Option<&mut Vec<KeyCredential>> {
    match owner {
        KeyOwner::Application => t.application_mut(id).map(|a| &mut a.key_credentials),
        KeyOwner::ServicePrincipal => t
            .service_principals
            .iter_mut()
            .find(|s| s.id == id)
            .map(|s| &mut s.key_credentials),
    }
}

/// The object `addKey`/`removeKey` act on and its credentials, once the body's proof of
/// possession is verified against that object's current certificates.
struct ProvenOwner<'b> {
    id: ObjectId,
    credentials: Vec<KeyCredential>,
    body: &'b Map<String, Value>,
}

fn proven_owner<'b>(
    t: &Tenant,
    caller: &Caller,
    owner: KeyOwner,
    key: &Key,
    body: &'b Value,
) -> Result<ProvenOwner<'b>, GraphError> {
    let (id, creds) = key_owner(t, caller, owner, key)?;
    let obj = body_object(body)?;
    keys::verify_proof(
        t.now(),
        id,
        &creds,
        obj.get("proof").and_then(Value::as_str),
    )?;
    Ok(ProvenOwner {
        id,
        credentials: creds,
        body: obj,
    })
}

/// `addKey`: a new certificate, authorized by a proof signed with a current one.
pub fn add_key(
    t: &mut Tenant,
    caller: &Caller,
    owner: KeyOwner,
    key: &Key,
    body: &Value,
) -> Result<Reply, GraphError> {
    let ProvenOwner { id, body: obj, .. } = proven_owner(t, caller, owner, key, body)?;
    if obj.get("passwordCredential").is_some_and(|p| !p.is_null()) {
        return Err(GraphError::BadRequest(
            "The mock supports addKey with certificates only (passwordCredential must be null)."
                .into(),
        ));
    }
    let credential = keys::add_key_credential(obj.get("keyCredential").unwrap_or(&Value::Null))?;
    let view = key_credential_view(&credential, false);
    if let Some(list) = credentials_mut(t, owner, id) {
        list.push(credential);
    }
    Ok(Reply::Entity {
        status: 200,
        context: "microsoft.graph.keyCredential".into(),
        object: view,
    })
}

/// `removeKey`: removes a credential by `keyId`, authorized by a proof.
pub fn remove_key(
    t: &mut Tenant,
    caller: &Caller,
    owner: KeyOwner,
    key: &Key,
    body: &Value,
) -> Result<Reply, GraphError> {
    let ProvenOwner {
        id,
        credentials: creds,
        body: obj,
    } = proven_owner(t, caller, owner, key, body)?;
    let key_id_text = obj
        .get("keyId")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::BadRequest("The property 'keyId' is required.".into()))?;
    let key_id = Uuid::parse_str(key_id_text.trim()).map_err(|_| {
        GraphError::BadRequest(format!(
            "Invalid value specified for property 'keyId': '{key_id_text}'."
        ))
    })?;
    if !creds.iter().any(|k| k.key_id == key_id) {
        return Err(GraphError::NotFound(key_id.to_string()));
    }
    if let Some(list) = credentials_mut(t, owner, id) {
        list.retain(|k| k.key_id != key_id);
    }
    Ok(Reply::NoContent)
}

/// Which side of an app role assignment the URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignmentSide {
    /// `/servicePrincipals/{client}/appRoleAssignments`: the principal's grants.
    Assignments,
    /// `/servicePrincipals/{resource}/appRoleAssignedTo`: grants of the resource's roles.
    AssignedTo,
}

impl AssignmentSide {
    pub fn segment(self) -> &'static str {
        match self {
            AssignmentSide::Assignments => "appRoleAssignments",
            AssignmentSide::AssignedTo => "appRoleAssignedTo",
        }
    }

    fn concerns(self, a: &AppRoleAssignment, sp: ObjectId) -> bool {
        match self {
            AssignmentSide::Assignments => a.principal_id == sp,
            AssignmentSide::AssignedTo => a.resource_id == sp,
        }
    }
}

pub fn list_assignments(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
) -> Result<(String, Vec<Object>), GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    let sp = find_service_principal(t, key)?.id;
    let items = t
        .app_role_assignments
        .iter()
        .filter(|a| side.concerns(a, sp))
        .map(assignment_view)
        .collect();
    Ok((
        format!("servicePrincipals('{sp}')/{}", side.segment()),
        items,
    ))
}

pub fn get_assignment(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
    id: &str,
) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    let sp = find_service_principal(t, key)?.id;
    let a = t
        .app_role_assignments
        .iter()
        .find(|a| a.id == id && side.concerns(a, sp))
        .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
    Ok(Reply::entity(
        format!("servicePrincipals('{sp}')/{}/$entity", side.segment()),
        assignment_view(a),
    ))
}

fn guid_field(obj: &Map<String, Value>, name: &str) -> Result<Option<Uuid>, GraphError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .map(Some)
            .ok_or_else(|| {
                GraphError::BadRequest(format!(
                    "Invalid value specified for property '{name}' of resource 'AppRoleAssignment'."
                ))
            }),
    }
}

pub fn create_assignment(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
    body: &Value,
) -> Result<Reply, GraphError> {
    let sp = find_service_principal(t, key)?.id;
    authorize(t, caller, Need::AssignAppRoles)?;
    let obj = body_object(body)?;
    let required = |name: &str| {
        GraphError::BadRequest(format!(
            "Invalid value specified for property '{name}' of resource 'AppRoleAssignment'."
        ))
    };
    let principal =
        ObjectId(guid_field(obj, "principalId")?.ok_or_else(|| required("principalId"))?);
    let resource_id =
        ObjectId(guid_field(obj, "resourceId")?.ok_or_else(|| required("resourceId"))?);
    let role_id = guid_field(obj, "appRoleId")?.unwrap_or(Uuid::nil());
    let url_side = match side {
        AssignmentSide::Assignments => principal,
        AssignmentSide::AssignedTo => resource_id,
    };
    if url_side != sp {
        return Err(GraphError::BadRequest(format!(
            "The {} in the request body does not match the service principal '{sp}' of the request URL.",
            if side == AssignmentSide::Assignments {
                "principalId"
            } else {
                "resourceId"
            }
        )));
    }
    let resource = t
        .service_principal(resource_id)
        .ok_or_else(|| GraphError::NotFound(resource_id.to_string()))?;
    let (principal_type, principal_name) = if let Some(s) = t.service_principal(principal) {
        ("ServicePrincipal", s.display_name.clone())
    } else if let Some(u) = t.users.iter().find(|u| u.id == principal) {
        ("User", u.display_name.clone())
    } else {
        return Err(GraphError::NotFound(principal.to_string()));
    };
    let member_type = if principal_type == "User" {
        "User"
    } else {
        "Application"
    };
    let role_ok = match resource.app_role(role_id) {
        Some(r) => r.is_enabled && r.allowed_member_types.iter().any(|m| m == member_type),
        // The default access role exists only on resources that define no roles.
        None => role_id.is_nil() && resource.app_roles.is_empty(),
    };
    if !role_ok {
        return Err(GraphError::AppRoleNotFound {
            resource: resource_id.to_string(),
        });
    }
    if t.app_role_assignments.iter().any(|a| {
        a.principal_id == principal && a.resource_id == resource_id && a.app_role_id == role_id
    }) {
        return Err(GraphError::AssignmentExists);
    }
    let assignment = AppRoleAssignment {
        id: super::opaque_id(),
        principal_id: principal,
        principal_type: principal_type.into(),
        principal_display_name: Some(principal_name),
        resource_id,
        resource_display_name: Some(resource.display_name.clone()),
        app_role_id: role_id,
        created_date_time: Some(t.now()),
    };
    let view = assignment_view(&assignment);
    t.app_role_assignments.push(assignment);
    Ok(Reply::created(
        format!("servicePrincipals('{sp}')/{}/$entity", side.segment()),
        view,
    ))
}

pub fn delete_assignment(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
    id: &str,
) -> Result<Reply, GraphError> {
    let sp = find_service_principal(t, key)?.id;
    authorize(t, caller, Need::AssignAppRoles)?;
    let before = t.app_role_assignments.len();
    t.app_role_assignments
        .retain(|a| !(a.id == id && side.concerns(a, sp)));
    if t.app_role_assignments.len() == before {
        return Err(GraphError::NotFound(id.to_string()));
    }
    Ok(Reply::NoContent)
}
