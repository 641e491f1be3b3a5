//! The directory: one `Directory` value holding every collection of directory objects and what
//! the first-party service models remember, in the shape of the fixture format. Fixtures and
//! snapshots embed it, and replication diffs and restores it, all through serde: nothing lists
//! its collections by name but the struct itself. Also the queries the login and Graph rules
//! ask of it (`resource`, `granted_app_roles`, `directory_roles_of`, `delegated_scopes`).
//!
//! - `objects`: the directory objects, in Graph's shape.
//! - `services`: the service models' state.
//! - `references`: the check that every reference between objects resolves.
//! - `introspect`: the member names serde gives a struct.

mod introspect;
mod objects;
mod references;
mod services;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{AppId, ObjectId};

pub use objects::{
    ASYMMETRIC_X509_CERT, AppRole, AppRoleAssignment, Application, KeyCredential,
    OAuth2PermissionGrant, PasswordCredential, PasswordProfile, RequiredResourceAccess,
    ResourceAccess, RoleAssignment, ServicePrincipal, USAGE_VERIFY, User, base64_bytes,
};
pub use services::{ServiceState, WritebackClient};

/// Every object of a tenant's directory. The members are the fixture format's collections, in
/// its order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    #[serde(default)]
    pub applications: Vec<Application>,
    #[serde(default)]
    pub service_principals: Vec<ServicePrincipal>,
    #[serde(default)]
    pub app_role_assignments: Vec<AppRoleAssignment>,
    #[serde(default)]
    pub oauth2_permission_grants: Vec<OAuth2PermissionGrant>,
    /// What the first-party service models remember (sync status, password writeback).
    #[serde(default, skip_serializing_if = "ServiceState::is_empty")]
    pub services: ServiceState,
}

impl Directory {
    /// The names of the directory's members, as serde reads and writes them.
    pub fn members() -> &'static [&'static str] {
        introspect::struct_fields::<Directory>()
    }

    /// Checks that every reference between objects resolves and that ids and names are unique;
    /// the error says what is wrong in words a person can act on.
    pub fn check_references(&self) -> Result<(), String> {
        references::check(self)
    }

    pub fn application(&self, id: ObjectId) -> Option<&Application> {
        self.applications.iter().find(|a| a.id == id)
    }

    pub fn application_by_app_id(&self, app_id: AppId) -> Option<&Application> {
        self.applications.iter().find(|a| a.app_id == app_id)
    }

    pub fn application_mut(&mut self, id: ObjectId) -> Option<&mut Application> {
        self.applications.iter_mut().find(|a| a.id == id)
    }

    pub fn service_principal(&self, id: ObjectId) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.id == id)
    }

    pub fn service_principal_mut(&mut self, id: ObjectId) -> Option<&mut ServicePrincipal> {
        self.service_principals.iter_mut().find(|s| s.id == id)
    }

    pub fn service_principal_by_app_id(&self, app_id: AppId) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.app_id == app_id)
    }

    /// The resource service principal a token request names by appId or App ID URI.
    pub fn resource(&self, name: &str) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.is_named(name))
    }

    pub fn user(&self, id: ObjectId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn user_by_upn(&self, upn: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
    }

    /// Values of the enabled app roles of `resource` assigned to `principal`, for `roles`.
    pub fn granted_app_roles(
        &self,
        principal: ObjectId,
        resource: &ServicePrincipal,
    ) -> Vec<String> {
        let mut values: Vec<String> = self
            .app_role_assignments
            .iter()
            .filter(|a| a.principal_id == principal && a.resource_id == resource.id)
            .filter_map(|a| resource.app_role(a.app_role_id))
            .filter(|r| r.is_enabled)
            .map(|r| r.value.clone())
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// Directory role template ids held by `principal` tenant-wide, for `wids`.
    pub fn directory_roles_of(&self, principal: ObjectId) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .role_assignments
            .iter()
            .filter(|r| r.principal_id == principal && r.directory_scope_id == "/")
            .map(|r| r.role_definition_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The delegated scopes consented for `client` on `resource` for `user`, if any.
    pub fn delegated_scopes(
        &self,
        client: ObjectId,
        resource: ObjectId,
        user: ObjectId,
    ) -> Option<String> {
        let scopes: Vec<&str> = self
            .oauth2_permission_grants
            .iter()
            .filter(|g| g.client_id == client && g.resource_id == resource)
            .filter(|g| g.consent_type == "AllPrincipals" || g.principal_id == Some(user))
            .flat_map(|g| g.scope.split_whitespace())
            .collect();
        if scopes.is_empty() {
            return None;
        }
        let mut unique: Vec<&str> = Vec::new();
        for s in scopes {
            if !unique.contains(&s) {
                unique.push(s);
            }
        }
        Some(unique.join(" "))
    }
}
