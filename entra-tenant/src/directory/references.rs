//! The consistency check a directory must pass when it is loaded from a fixture or a snapshot:
//! object ids, appIds and user principal names are unique, and every assignment, grant and
//! role assignment names objects (and roles) that exist.

use std::collections::HashSet;

use super::Directory;
use crate::roles;

/// What is wrong with `d`, if anything.
pub(super) fn check(d: &Directory) -> Result<(), String> {
    let mut ids = HashSet::new();
    let object_ids = d
        .users
        .iter()
        .map(|u| u.id)
        .chain(d.applications.iter().map(|a| a.id))
        .chain(d.service_principals.iter().map(|s| s.id));
    for id in object_ids {
        if !ids.insert(id) {
            return Err(format!("object id {id} is used twice"));
        }
    }
    let mut app_ids = HashSet::new();
    for a in &d.applications {
        if !app_ids.insert(a.app_id) {
            return Err(format!("appId {} belongs to two applications", a.app_id));
        }
    }
    let mut sp_app_ids = HashSet::new();
    for s in &d.service_principals {
        if !sp_app_ids.insert(s.app_id) {
            return Err(format!("appId {} has two service principals", s.app_id));
        }
    }
    let mut upns = HashSet::new();
    for u in &d.users {
        if !upns.insert(u.user_principal_name.to_ascii_lowercase()) {
            return Err(format!(
                "userPrincipalName {} is used twice",
                u.user_principal_name
            ));
        }
    }
    for a in &d.app_role_assignments {
        let Some(resource) = d.service_principal(a.resource_id) else {
            return Err(format!(
                "appRoleAssignment {} names unknown resource {}",
                a.id, a.resource_id
            ));
        };
        if !ids.contains(&a.principal_id) {
            return Err(format!(
                "appRoleAssignment {} names unknown principal {}",
                a.id, a.principal_id
            ));
        }
        if resource.app_role(a.app_role_id).is_none() {
            return Err(format!(
                "appRoleAssignment {} names app role {} that {} does not define",
                a.id, a.app_role_id, resource.display_name
            ));
        }
    }
    for g in &d.oauth2_permission_grants {
        for sp in [g.client_id, g.resource_id] {
            if d.service_principal(sp).is_none() {
                return Err(format!(
                    "oauth2PermissionGrant {} names unknown service principal {sp}",
                    g.id
                ));
            }
        }
    }
    for r in &d.role_assignments {
        if !ids.contains(&r.principal_id) {
            return Err(format!(
                "roleAssignment {} names unknown principal {}",
                r.id, r.principal_id
            ));
        }
        if roles::display_name(r.role_definition_id).is_none() {
            return Err(format!(
                "roleAssignment {} names unknown role {}",
                r.id, r.role_definition_id
            ));
        }
    }
    Ok(())
}
