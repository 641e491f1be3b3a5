//! Delegated permission grants (`oauth2PermissionGrants`): the consent that puts scopes in a
//! user's token (`scp`) for a client on a resource, for every user (`AllPrincipals`) or one
//! (`Principal`). Create, list, get, update (`scope` only) and delete, as
//! https://learn.microsoft.com/graph/api/resources/oauth2permissiongrant describes them; a
//! second grant for the same client, resource and principal is Graph's 409 "Permission entry
//! already exists." Scope words are not checked (Graph was seen taking any, even `null`).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::payload;
use super::query::{Filterable, Object, to_object};
use super::request::{Context, EntitySet, Key, Outcome, Reply};
use crate::directory::OAuth2PermissionGrant;
use crate::ids::{ObjectId, opaque_id};
use crate::tenant::Tenant;

pub const GRANT_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.oAuth2PermissionGrant",
    eq: &["id", "clientId", "consentType", "principalId", "resourceId"],
    starts_with: &[],
};

const RESOURCE: &str = "OAuth2PermissionGrant";
const ALL_PRINCIPALS: &str = "AllPrincipals";
const PRINCIPAL: &str = "Principal";

fn view(g: &OAuth2PermissionGrant) -> Object {
    to_object(g)
}

fn find<'t>(t: &'t Tenant, key: &Key) -> Result<&'t OAuth2PermissionGrant, GraphError> {
    let id = key.value();
    t.directory
        .oauth2_permission_grants
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| GraphError::not_found(id))
}

pub fn list_grants(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadPermissionGrants)?;
    Ok(t.directory
        .oauth2_permission_grants
        .iter()
        .map(view)
        .collect())
}

pub fn get_grant(t: &Tenant, caller: &Caller, key: &Key) -> Outcome {
    authorize(t, caller, Need::ReadPermissionGrants)?;
    Ok(Reply::entity(
        Context::whole(EntitySet::PermissionGrants),
        view(find(t, key)?),
    ))
}

/// A GUID property of the payload; `None` when absent or null.
fn guid(obj: &Map<String, Value>, name: &str) -> Result<Option<ObjectId>, GraphError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .map(|id| Some(ObjectId(id)))
            .ok_or_else(|| GraphError::invalid_on(name, RESOURCE)),
    }
}

/// The `scope` of a payload: a string, or null (no scope).
fn scope(v: Option<&Value>) -> Result<String, GraphError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(_) => Err(GraphError::invalid_on("scope", RESOURCE)),
    }
}

pub fn create_grant(t: &mut Tenant, caller: &Caller, body: &Value) -> Outcome {
    authorize(t, caller, Need::WritePermissionGrants)?;
    let obj = payload::object(body)?;
    let known = [
        "clientId",
        "consentType",
        "principalId",
        "resourceId",
        "scope",
    ];
    if let Some(k) = obj
        .keys()
        .find(|k| !(known.contains(&k.as_str()) || k.starts_with('@')))
    {
        return Err(GraphError::UnknownProperty {
            name: k.clone(),
            type_name: "microsoft.graph.oAuth2PermissionGrant",
        });
    }
    let required =
        |name: &str| guid(obj, name)?.ok_or_else(|| GraphError::invalid_on(name, RESOURCE));
    let client = required("clientId")?;
    let resource = required("resourceId")?;
    let consent_type = match obj.get("consentType").and_then(Value::as_str) {
        Some(c) if c == ALL_PRINCIPALS || c == PRINCIPAL => c.to_string(),
        _ => return Err(GraphError::invalid_on("consentType", RESOURCE)),
    };
    let principal = guid(obj, "principalId")?;
    // A grant for one user names the user; a grant for everyone names no one.
    if (consent_type == PRINCIPAL) != principal.is_some() {
        return Err(GraphError::invalid_on("principalId", RESOURCE));
    }
    let scope = scope(obj.get("scope"))?;
    let d = &t.directory;
    for sp in [client, resource] {
        if d.service_principal(sp).is_none() {
            return Err(GraphError::not_found(sp));
        }
    }
    if let Some(user) = principal
        && d.user(user).is_none()
    {
        return Err(GraphError::not_found(user));
    }
    if d.oauth2_permission_grants.iter().any(|g| {
        g.client_id == client
            && g.resource_id == resource
            && g.consent_type == consent_type
            && g.principal_id == principal
    }) {
        return Err(GraphError::PermissionEntryExists);
    }
    let grant = OAuth2PermissionGrant {
        id: opaque_id(),
        client_id: client,
        consent_type,
        principal_id: principal,
        resource_id: resource,
        scope,
    };
    let answer = view(&grant);
    t.directory.oauth2_permission_grants.push(grant);
    Ok(Reply::created(
        Context::whole(EntitySet::PermissionGrants),
        answer,
    ))
}

/// PATCH: `scope` is the property Graph's update takes; the others name the grant itself.
pub fn update_grant(t: &mut Tenant, caller: &Caller, key: &Key, body: &Value) -> Outcome {
    authorize(t, caller, Need::WritePermissionGrants)?;
    let id = find(t, key)?.id.clone();
    let mut new_scope = None;
    for (k, v) in payload::object(body)? {
        match k.as_str() {
            "scope" => new_scope = Some(scope(Some(v))?),
            "id" | "clientId" | "consentType" | "principalId" | "resourceId" => {
                return Err(GraphError::ReadOnlyProperty { name: k.clone() });
            }
            _ if k.starts_with('@') => {}
            _ => {
                return Err(GraphError::UnknownProperty {
                    name: k.clone(),
                    type_name: "microsoft.graph.oAuth2PermissionGrant",
                });
            }
        }
    }
    if let (Some(scope), Some(g)) = (
        new_scope,
        t.directory
            .oauth2_permission_grants
            .iter_mut()
            .find(|g| g.id == id),
    ) {
        g.scope = scope;
    }
    Ok(Reply::NoContent)
}

pub fn delete_grant(t: &mut Tenant, caller: &Caller, key: &Key) -> Outcome {
    authorize(t, caller, Need::WritePermissionGrants)?;
    let id = find(t, key)?.id.clone();
    t.directory.oauth2_permission_grants.retain(|g| g.id != id);
    Ok(Reply::NoContent)
}
