//! Application registrations: Graph's view of them, lookup by object id or `(appId='...')`,
//! and the create / get / list / update / delete rules. A write checks everything before it
//! changes the tenant, so a refused request leaves no trace.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::exposed;
use super::keys;
use super::payload;
use super::query::{Filterable, Object, QueryOptions, select, to_object};
use super::request::{Collection, Context, EntitySet, Key, Outcome, Reply};
use super::service_principals;
use crate::directory::{
    AppRole, Application, CredentialOrigin, CredentialVia, KeyCredential, RequiredResourceAccess,
};
use crate::ids::{AppId, ObjectId};
use crate::tenant::Tenant;

pub const APPLICATION_TYPE: &str = "microsoft.graph.application";

pub const APPLICATION_FILTER: Filterable = Filterable {
    type_name: APPLICATION_TYPE,
    eq: &["id", "appId", "displayName", "signInAudience"],
    starts_with: &["displayName"],
};

/// Properties of the Graph type that the mock does not model; `$select` returns them null
/// until a client sets a writable one (`kept_as_sent`).
pub const APPLICATION_EXTRA: &[&str] = &[
    "description",
    "info",
    "notes",
    "optionalClaims",
    "publicClient",
    "spa",
    "groupMembershipClaims",
    "verifiedPublisher",
    "certification",
    "uniqueName",
    "serviceManagementReference",
];

/// The unmodelled properties that Graph has read-only: a write that names one is refused.
const READ_ONLY_EXTRA: &[&str] = &["verifiedPublisher", "certification", "uniqueName"];

/// Writable properties Graph has that the mock keeps as sent without acting on them: the
/// unmodelled writable ones, `tags` and `parentalControlSettings`.
fn kept_as_sent(name: &str) -> bool {
    (APPLICATION_EXTRA.contains(&name) && !READ_ONLY_EXTRA.contains(&name))
        || ["tags", "parentalControlSettings"].contains(&name)
}

const AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

pub fn application_view(t: &Tenant, a: &Application, with_keys: bool) -> Object {
    let mut o = to_object(a);
    o.remove("owners");
    keys::hide_secrets(&mut o);
    keys::hide_keys(&mut o, with_keys);
    o.insert("deletedDateTime".into(), Value::Null);
    o.insert("publisherDomain".into(), json!(t.initial_domain));
    o.insert("tags".into(), json!([]));
    if let Some(Value::Object(kept)) = o.remove("kept") {
        o.extend(kept);
    }
    o
}

/// The application a key names, by object id or `(appId='...')`.
pub fn find_application<'t>(t: &'t Tenant, key: &Key) -> Result<&'t Application, GraphError> {
    let d = &t.directory;
    key.find_by_id_or_app_id(
        APPLICATION_TYPE,
        |id| d.application(id),
        |app_id| d.application_by_app_id(app_id),
    )
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
    app_roles: Option<Vec<AppRole>>,
    api: Option<Value>,
    web: Option<Value>,
    /// Writable properties the mock keeps without acting on them.
    kept: Map<String, Value>,
}

/// Validates `body` as a change to the application `app_id` (in the state `old`; a new one's
/// is empty).
fn application_change(
    t: &Tenant,
    app_id: AppId,
    body: &Value,
    old: &Application,
    origin: &CredentialOrigin,
) -> Result<ApplicationChange, GraphError> {
    let mut c = ApplicationChange::default();
    for (k, v) in payload::object(body)? {
        match k.as_str() {
            "displayName" => c.display_name = Some(payload::string(v, k)?),
            "signInAudience" => {
                let a = payload::string(v, k)?;
                if !AUDIENCES.contains(&a.as_str()) {
                    return Err(GraphError::invalid_because(k, format!("'{a}'.")));
                }
                c.sign_in_audience = Some(a);
            }
            "identifierUris" => {
                c.identifier_uris = Some(exposed::identifier_uris(
                    t,
                    app_id,
                    v,
                    &old.identifier_uris,
                )?)
            }
            "isFallbackPublicClient" => {
                c.is_fallback_public_client = Some(match v {
                    Value::Null => None,
                    Value::Bool(b) => Some(*b),
                    _ => return Err(GraphError::invalid(k)),
                })
            }
            "keyCredentials" => {
                c.key_credentials = Some(keys::replace_collection(v, &old.key_credentials, origin)?)
            }
            "requiredResourceAccess" => {
                c.required_resource_access = Some(required_resource_access(v)?)
            }
            "appRoles" => c.app_roles = Some(exposed::app_roles(v, &old.app_roles)?),
            "api" => c.api = Some(exposed::api(v, old.api.as_ref())?),
            "web" => c.web = Some(exposed::web(v, old.web.as_ref())?),
            _ if k.starts_with('@') => {}
            _ if kept_as_sent(k) => {
                c.kept
                    .insert(k.clone(), payload::patched(v, old.kept.get(k.as_str())));
            }
            "passwordCredentials" => return Err(GraphError::PasswordCredentialsNotUpdatable),
            "id" | "appId" | "createdDateTime" | "publisherDomain" => {
                return Err(GraphError::ReadOnlyProperty { name: k.clone() });
            }
            _ => {
                return Err(GraphError::UnknownProperty {
                    name: k.clone(),
                    type_name: APPLICATION_TYPE,
                });
            }
        }
    }
    Ok(c)
}

fn required_resource_access(v: &Value) -> Result<Vec<RequiredResourceAccess>, GraphError> {
    let items: Vec<RequiredResourceAccess> = serde_json::from_value(v.clone())
        .map_err(|e| GraphError::invalid_because("requiredResourceAccess", e.to_string()))?;
    if items.len() > 50 {
        return Err(GraphError::TooManyResources);
    }
    if items.iter().map(|r| r.resource_access.len()).sum::<usize>() > 400 {
        return Err(GraphError::TooManyPermissions);
    }
    for r in &items {
        if Uuid::parse_str(&r.resource_app_id).is_err() {
            return Err(GraphError::InvalidResourceAppId {
                value: r.resource_app_id.clone(),
            });
        }
        if let Some(a) = r
            .resource_access
            .iter()
            .find(|a| a.access_type != "Role" && a.access_type != "Scope")
        {
            return Err(GraphError::InvalidResourceAccessType {
                value: a.access_type.clone(),
            });
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
    if let Some(v) = c.app_roles {
        a.app_roles = v;
    }
    if let Some(v) = c.api {
        a.api = Some(v);
    }
    if let Some(v) = c.web {
        a.web = Some(v);
    }
    a.kept.extend(c.kept);
}

pub fn get_application(t: &Tenant, caller: &Caller, key: &Key, q: &QueryOptions) -> Outcome {
    authorize(t, caller, Need::ReadApplications)?;
    let a = find_application(t, key)?;
    let view = application_view(t, a, q.selects("keyCredentials"));
    Ok(Reply::entity(
        Context::selected(EntitySet::Collection(Collection::Applications), q),
        select(view, q, APPLICATION_TYPE, APPLICATION_EXTRA)?,
    ))
}

pub fn list_applications(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    Ok(t.directory
        .applications
        .iter()
        .map(|a| application_view(t, a, false))
        .collect())
}

pub fn create_application(t: &mut Tenant, caller: &Caller, body: &Value) -> Outcome {
    authorize(t, caller, Need::WriteApplication(None))?;
    // The display name comes from `change` below.
    let mut app = Application::new(ObjectId::new_random(), AppId::new_random(), "", t.now());
    let origin = CredentialOrigin::graph(caller.object_id(), CredentialVia::Create);
    let change = application_change(t, app.app_id, body, &app, &origin)?;
    if change
        .display_name
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(GraphError::invalid_on("displayName", "Application"));
    }
    // Entra makes the creating user or application an owner.
    app.owners = vec![caller.object_id()];
    apply_application_change(&mut app, change);
    let view = application_view(t, &app, false);
    t.directory.applications.push(app);
    Ok(Reply::created(
        Context::whole(EntitySet::Collection(Collection::Applications)),
        view,
    ))
}

pub fn update_application(t: &mut Tenant, caller: &Caller, key: &Key, body: &Value) -> Outcome {
    let app = find_application(t, key)?;
    authorize(t, caller, Need::WriteApplication(Some(app)))?;
    let origin = CredentialOrigin::graph(caller.object_id(), CredentialVia::Update);
    let change = application_change(t, app.app_id, body, app, &origin)?;
    let (id, app_id) = (app.id, app.app_id);
    if let Some(a) = t.directory.application_mut(id) {
        apply_application_change(a, change);
    }
    exposed::publish(t, app_id);
    Ok(Reply::NoContent)
}

pub fn delete_application(t: &mut Tenant, caller: &Caller, key: &Key) -> Outcome {
    let app = find_application(t, key)?;
    authorize(t, caller, Need::WriteApplication(Some(app)))?;
    let (id, app_id) = (app.id, app.app_id);
    t.directory.applications.retain(|a| a.id != id);
    // The service principal of a single-tenant application goes with it.
    if let Some(sp) = t
        .directory
        .service_principal_by_app_id(app_id)
        .map(|s| s.id)
    {
        service_principals::remove_service_principal(t, sp);
    }
    Ok(Reply::NoContent)
}
