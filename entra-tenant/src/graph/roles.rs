//! Directory roles and who holds them: the built-in roles as `directoryRoles` (the template id
//! is the object id too), their members (`members/$ref`), and unified role assignments
//! (`roleManagement/directory/roleAssignments`), tenant-wide only. Enough to give the legacy
//! `Sync_*` account the Directory Synchronization Accounts role, as the Connect wizard does.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::payload;
use super::query::{Filterable, Object, QueryOptions, select, to_object};
use super::request::{Context, EntitySet, Key, Outcome, Reply};
use super::service_principals::service_principal_view;
use super::users::user_view;
use crate::directory::RoleAssignment;
use crate::ids::{ObjectId, opaque_id};
use crate::roles;
use crate::tenant::Tenant;

const ROLE_TYPE: &str = "microsoft.graph.directoryRole";

pub const ROLE_FILTER: Filterable = Filterable {
    type_name: ROLE_TYPE,
    eq: &["id", "displayName", "roleTemplateId"],
    starts_with: &["displayName"],
};
pub const ROLE_ASSIGNMENT_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.unifiedRoleAssignment",
    eq: &["id", "principalId", "roleDefinitionId", "directoryScopeId"],
    starts_with: &[],
};
pub const MEMBER_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.directoryObject",
    eq: &["id", "displayName", "userPrincipalName"],
    starts_with: &["displayName"],
};

/// A built-in role as a directoryRole. The mock uses the template id as the object id too, so
/// `/directoryRoles/{templateId}` and `/directoryRoles(roleTemplateId='...')` both work.
fn role_view(id: Uuid, name: &str) -> Object {
    let mut o = Map::new();
    o.insert("id".into(), json!(id.to_string()));
    o.insert("deletedDateTime".into(), Value::Null);
    o.insert("description".into(), json!(name));
    o.insert("displayName".into(), json!(name));
    o.insert("roleTemplateId".into(), json!(id.to_string()));
    o
}

fn find_role(key: &Key) -> Result<(Uuid, &'static str), GraphError> {
    let text = match key {
        Key::Id(s) => s,
        Key::Alt { property, value } if property.eq_ignore_ascii_case("roleTemplateId") => value,
        Key::Alt { property, .. } => {
            return Err(GraphError::NotAnAlternateKey {
                property: property.clone(),
                type_name: ROLE_TYPE,
            });
        }
    };
    let id = payload::guid(text)?;
    roles::display_name(id)
        .map(|n| (id, n))
        .ok_or_else(|| GraphError::not_found(text))
}

pub fn list_roles(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    Ok(roles::BUILT_IN
        .iter()
        .map(|(id, n)| role_view(*id, n))
        .collect())
}

pub fn get_role(t: &Tenant, caller: &Caller, key: &Key, q: &QueryOptions) -> Outcome {
    authorize(t, caller, Need::ReadDirectory)?;
    let (id, name) = find_role(key)?;
    Ok(Reply::entity(
        Context::selected(EntitySet::DirectoryRoles, q),
        select(role_view(id, name), q, ROLE_TYPE, &[])?,
    ))
}

fn member_view(t: &Tenant, principal: ObjectId) -> Option<Object> {
    let (odata_type, view) = match t.directory.user(principal) {
        Some(u) => ("#microsoft.graph.user", user_view(u)),
        None => (
            "#microsoft.graph.servicePrincipal",
            service_principal_view(t.directory.service_principal(principal)?, false),
        ),
    };
    let mut o = Map::new();
    o.insert("@odata.type".into(), json!(odata_type));
    o.extend(view);
    Some(o)
}

pub fn list_role_members(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    let (role, _) = find_role(key)?;
    Ok(t.directory
        .role_assignments
        .iter()
        .filter(|r| r.role_definition_id == role && r.directory_scope_id == "/")
        .filter_map(|r| member_view(t, r.principal_id))
        .collect())
}

fn assign_role(
    t: &mut Tenant,
    caller: &Caller,
    principal: ObjectId,
    role: Uuid,
) -> Result<RoleAssignment, GraphError> {
    authorize(t, caller, Need::AssignDirectoryRole(role))?;
    let d = &mut t.directory;
    if d.user(principal).is_none() && d.service_principal(principal).is_none() {
        return Err(GraphError::not_found(principal));
    }
    if d.role_assignments.iter().any(|r| {
        r.principal_id == principal && r.role_definition_id == role && r.directory_scope_id == "/"
    }) {
        return Err(GraphError::ReferenceExists);
    }
    let assignment = RoleAssignment {
        id: opaque_id(),
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: "/".into(),
    };
    d.role_assignments.push(assignment.clone());
    Ok(assignment)
}

/// `POST /directoryRoles/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`.
pub fn add_role_member(t: &mut Tenant, caller: &Caller, key: &Key, body: &Value) -> Outcome {
    let (role, _) = find_role(key)?;
    let reference = payload::object(body)?
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or(GraphError::MemberReferenceMissing)?;
    let last = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let principal = Uuid::parse_str(last).map_err(|_| GraphError::invalid_id(last))?;
    assign_role(t, caller, ObjectId(principal), role)?;
    Ok(Reply::NoContent)
}

pub fn remove_role_member(t: &mut Tenant, caller: &Caller, key: &Key, member: &str) -> Outcome {
    let (role, _) = find_role(key)?;
    authorize(t, caller, Need::AssignDirectoryRole(role))?;
    let principal = ObjectId(payload::guid(member)?);
    let assignments = &mut t.directory.role_assignments;
    let before = assignments.len();
    assignments.retain(|r| !(r.principal_id == principal && r.role_definition_id == role));
    if before == assignments.len() {
        return Err(GraphError::not_found(member));
    }
    Ok(Reply::NoContent)
}

pub fn list_role_assignments(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    Ok(t.directory.role_assignments.iter().map(to_object).collect())
}

fn find_role_assignment<'t>(t: &'t Tenant, id: &str) -> Result<&'t RoleAssignment, GraphError> {
    t.directory
        .role_assignments
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| GraphError::not_found(id))
}

pub fn get_role_assignment(t: &Tenant, caller: &Caller, id: &str) -> Outcome {
    authorize(t, caller, Need::ReadDirectory)?;
    Ok(Reply::entity(
        Context::whole(EntitySet::RoleAssignments),
        to_object(find_role_assignment(t, id)?),
    ))
}

pub fn create_role_assignment(t: &mut Tenant, caller: &Caller, body: &Value) -> Outcome {
    let obj = payload::object(body)?;
    let guid = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .ok_or_else(|| GraphError::invalid_on(name, "UnifiedRoleAssignment"))
    };
    let principal = ObjectId(guid("principalId")?);
    let role = guid("roleDefinitionId")?;
    let scope = obj
        .get("directoryScopeId")
        .and_then(Value::as_str)
        .unwrap_or("/");
    if scope != "/" {
        return Err(GraphError::TenantWideScopeOnly);
    }
    if roles::display_name(role).is_none() {
        return Err(GraphError::UnknownRoleDefinition { role });
    }
    let assignment = assign_role(t, caller, principal, role).map_err(|e| match e {
        GraphError::ReferenceExists => GraphError::ConflictingObject,
        other => other,
    })?;
    Ok(Reply::created(
        Context::whole(EntitySet::RoleAssignments),
        to_object(&assignment),
    ))
}

pub fn delete_role_assignment(t: &mut Tenant, caller: &Caller, id: &str) -> Outcome {
    let role = find_role_assignment(t, id)?.role_definition_id;
    authorize(t, caller, Need::AssignDirectoryRole(role))?;
    t.directory.role_assignments.retain(|r| r.id != id);
    Ok(Reply::NoContent)
}
