//! App role assignments, seen from either side of a service principal: the roles it holds
//! (`appRoleAssignments`) and the grants of its own roles (`appRoleAssignedTo`). Create, get,
//! list and delete, with Graph's checks of the principal, the resource and the role.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::payload;
use super::query::{Filterable, Object, to_object};
use super::request::{AssignmentSide, Context, EntitySet, Key, Outcome, Reply};
use super::service_principals::find_service_principal;
use crate::directory::AppRoleAssignment;
use crate::ids::{ObjectId, opaque_id};
use crate::tenant::Tenant;

pub const ASSIGNMENT_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.appRoleAssignment",
    eq: &["id", "principalId", "resourceId", "appRoleId"],
    starts_with: &[],
};

const RESOURCE: &str = "AppRoleAssignment";

pub fn assignment_view(a: &AppRoleAssignment) -> Object {
    let mut o = to_object(a);
    o.insert("deletedDateTime".into(), Value::Null);
    o
}

/// Whether `a` is one of the assignments the URL's side of `sp` lists.
fn concerns(side: AssignmentSide, a: &AppRoleAssignment, sp: ObjectId) -> bool {
    match side {
        AssignmentSide::Assignments => a.principal_id == sp,
        AssignmentSide::AssignedTo => a.resource_id == sp,
    }
}

fn entity_set(service_principal: ObjectId, side: AssignmentSide) -> EntitySet {
    EntitySet::Assignments {
        service_principal,
        side,
    }
}

/// The assignments of one side of a service principal, and the set they belong to.
pub fn list_assignments(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
) -> Result<(EntitySet, Vec<Object>), GraphError> {
    authorize(t, caller, Need::ReadApplications)?;
    let sp = find_service_principal(t, key)?.id;
    let items = t
        .directory
        .app_role_assignments
        .iter()
        .filter(|a| concerns(side, a, sp))
        .map(assignment_view)
        .collect();
    Ok((entity_set(sp, side), items))
}

pub fn get_assignment(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
    id: &str,
) -> Outcome {
    authorize(t, caller, Need::ReadApplications)?;
    let sp = find_service_principal(t, key)?.id;
    let a = t
        .directory
        .app_role_assignments
        .iter()
        .find(|a| a.id == id && concerns(side, a, sp))
        .ok_or_else(|| GraphError::not_found(id))?;
    Ok(Reply::entity(
        Context::whole(entity_set(sp, side)),
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
            .ok_or_else(|| GraphError::invalid_on(name, RESOURCE)),
    }
}

fn required_guid(obj: &Map<String, Value>, name: &str) -> Result<ObjectId, GraphError> {
    let id = guid_field(obj, name)?.ok_or_else(|| GraphError::invalid_on(name, RESOURCE))?;
    Ok(ObjectId(id))
}

pub fn create_assignment(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
    body: &Value,
) -> Outcome {
    let sp = find_service_principal(t, key)?.id;
    authorize(t, caller, Need::AssignAppRoles)?;
    let obj = payload::object(body)?;
    let principal = required_guid(obj, "principalId")?;
    let resource_id = required_guid(obj, "resourceId")?;
    let role_id = guid_field(obj, "appRoleId")?.unwrap_or(Uuid::nil());
    let (url_side, property) = match side {
        AssignmentSide::Assignments => (principal, "principalId"),
        AssignmentSide::AssignedTo => (resource_id, "resourceId"),
    };
    if url_side != sp {
        return Err(GraphError::AssignmentUrlMismatch {
            property,
            service_principal: sp,
        });
    }
    let d = &t.directory;
    let resource = d
        .service_principal(resource_id)
        .ok_or_else(|| GraphError::not_found(resource_id))?;
    let (principal_type, principal_name) = if let Some(s) = d.service_principal(principal) {
        ("ServicePrincipal", s.display_name.clone())
    } else if let Some(u) = d.user(principal) {
        ("User", u.display_name.clone())
    } else {
        return Err(GraphError::not_found(principal));
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
            resource: resource_id,
        });
    }
    if d.app_role_assignments.iter().any(|a| {
        a.principal_id == principal && a.resource_id == resource_id && a.app_role_id == role_id
    }) {
        return Err(GraphError::AssignmentExists);
    }
    let assignment = AppRoleAssignment {
        id: opaque_id(),
        principal_id: principal,
        principal_type: principal_type.into(),
        principal_display_name: Some(principal_name),
        resource_id,
        resource_display_name: Some(resource.display_name.clone()),
        app_role_id: role_id,
        created_date_time: Some(t.now()),
    };
    let view = assignment_view(&assignment);
    t.directory.app_role_assignments.push(assignment);
    Ok(Reply::created(Context::whole(entity_set(sp, side)), view))
}

pub fn delete_assignment(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    side: AssignmentSide,
    id: &str,
) -> Outcome {
    let sp = find_service_principal(t, key)?.id;
    authorize(t, caller, Need::AssignAppRoles)?;
    let assignments = &mut t.directory.app_role_assignments;
    let before = assignments.len();
    assignments.retain(|a| !(a.id == id && concerns(side, a, sp)));
    if assignments.len() == before {
        return Err(GraphError::not_found(id));
    }
    Ok(Reply::NoContent)
}
