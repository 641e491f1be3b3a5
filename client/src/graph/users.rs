//! Users, directory roles and their members, directory role assignments
//! (`/roleManagement/directory/roleAssignments`), and the organization they belong to.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ids::ObjectId;

use super::client::{GraphClient, segment};
use super::error::GraphError;

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: ObjectId,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
}

/// An activated directory role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRole {
    pub id: ObjectId,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role_template_id: Option<String>,
}

/// A verified domain of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    pub name: String,
    #[serde(default)]
    pub is_initial: bool,
    #[serde(default)]
    pub is_default: bool,
}

/// The tenant (`/organization`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub verified_domains: Vec<VerifiedDomain>,
}

impl Organization {
    /// The initial `*.onmicrosoft.com` domain (or the first verified one).
    pub fn initial_domain(&self) -> Option<&str> {
        self.verified_domains
            .iter()
            .find(|d| d.is_initial)
            .or_else(|| self.verified_domains.first())
            .map(|d| d.name.as_str())
    }
}

/// A directory role assignment (`/roleManagement/directory/roleAssignments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleAssignment {
    pub id: String,
    pub principal_id: ObjectId,
    pub role_definition_id: String,
    #[serde(default)]
    pub directory_scope_id: Option<String>,
}

/// Any directory object (role members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryObject {
    pub id: ObjectId,
    #[serde(default, rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default, rename = "userPrincipalName")]
    pub user_principal_name: Option<String>,
}

impl GraphClient {
    pub async fn create_user(&self, body: &serde_json::Value) -> Result<User, GraphError> {
        self.send_json(Method::POST, "users", &[], Some(body)).await
    }

    /// A user by object id or userPrincipalName.
    pub async fn get_user(&self, id_or_upn: &str) -> Result<User, GraphError> {
        self.send_json(
            Method::GET,
            &format!("users/{}", segment(id_or_upn)),
            &[],
            None,
        )
        .await
    }

    pub async fn list_users(&self, filter: Option<&str>) -> Result<Vec<User>, GraphError> {
        self.list("users", filter).await
    }

    pub async fn update_user(
        &self,
        id_or_upn: &str,
        patch: &serde_json::Value,
    ) -> Result<(), GraphError> {
        self.send_empty(
            Method::PATCH,
            &format!("users/{}", segment(id_or_upn)),
            Some(patch),
        )
        .await
    }

    pub async fn delete_user(&self, id_or_upn: &str) -> Result<(), GraphError> {
        self.send_empty(
            Method::DELETE,
            &format!("users/{}", segment(id_or_upn)),
            None,
        )
        .await
    }

    pub async fn list_directory_roles(&self) -> Result<Vec<DirectoryRole>, GraphError> {
        self.list("directoryRoles", None).await
    }

    pub async fn list_directory_role_members(
        &self,
        role_id: &ObjectId,
    ) -> Result<Vec<DirectoryObject>, GraphError> {
        self.list(
            &format!("directoryRoles/{}/members", segment(role_id.as_str())),
            None,
        )
        .await
    }

    /// Adds a member to a directory role (`POST .../members/$ref`).
    pub async fn add_directory_role_member(
        &self,
        role_id: &ObjectId,
        member_id: &ObjectId,
    ) -> Result<(), GraphError> {
        let body = json!({
            "@odata.id": self.endpoints.graph_url(&format!("directoryObjects/{}", segment(member_id.as_str())))
        });
        let path = format!("directoryRoles/{}/members/$ref", segment(role_id.as_str()));
        self.send_empty(Method::POST, &path, Some(&body)).await
    }

    pub async fn remove_directory_role_member(
        &self,
        role_id: &ObjectId,
        member_id: &ObjectId,
    ) -> Result<(), GraphError> {
        let path = format!(
            "directoryRoles/{}/members/{}/$ref",
            segment(role_id.as_str()),
            segment(member_id.as_str())
        );
        self.send_empty(Method::DELETE, &path, None).await
    }

    // ---- organization and role management

    /// The signed-in tenant.
    pub async fn get_organization(&self) -> Result<Organization, GraphError> {
        let orgs: Vec<Organization> = self.list("organization", None).await?;
        orgs.into_iter().next().ok_or(GraphError::NoOrganization)
    }

    /// Directory role assignments, e.g. filtered by `principalId eq '...'`.
    pub async fn list_role_assignments(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<UnifiedRoleAssignment>, GraphError> {
        self.list("roleManagement/directory/roleAssignments", filter)
            .await
    }

    /// Assigns the directory role `role_definition_id` (a template id) tenant-wide.
    pub async fn create_role_assignment(
        &self,
        principal_id: &ObjectId,
        role_definition_id: &str,
    ) -> Result<UnifiedRoleAssignment, GraphError> {
        let body = json!({
            "principalId": principal_id,
            "roleDefinitionId": role_definition_id,
            "directoryScopeId": "/",
        });
        self.send_json(
            Method::POST,
            "roleManagement/directory/roleAssignments",
            &[],
            Some(&body),
        )
        .await
    }

    pub async fn delete_role_assignment(&self, id: &str) -> Result<(), GraphError> {
        self.send_empty(
            Method::DELETE,
            &format!("roleManagement/directory/roleAssignments/{}", segment(id)),
            None,
        )
        .await
    }
}
