//! Service principals (by object id or appId), the app roles they offer, and the app role
//! assignments that grant those roles to other principals.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ids::{ClientId, ObjectId};

use super::client::{GraphClient, ObjectRef, segment};
use super::error::GraphError;
use super::key_credentials::KeyCredential;

/// An app role a resource offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub allowed_member_types: Vec<String>,
    #[serde(default)]
    pub is_enabled: Option<bool>,
}

/// The service principal properties the client reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: ObjectId,
    pub app_id: ClientId,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// Credentials held on the service principal itself: they authenticate the application
    /// as well as the application's own, and do not show on the application.
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
}

/// An app role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: String,
    pub principal_id: ObjectId,
    pub resource_id: ObjectId,
    pub app_role_id: String,
    #[serde(default)]
    pub principal_type: Option<String>,
    #[serde(default)]
    pub resource_display_name: Option<String>,
}

impl GraphClient {
    pub async fn create_service_principal(
        &self,
        app_id: &ClientId,
    ) -> Result<ServicePrincipal, GraphError> {
        self.send_json(
            Method::POST,
            "servicePrincipals",
            &[],
            Some(&json!({ "appId": app_id })),
        )
        .await
    }

    pub async fn get_service_principal(
        &self,
        sp: &ObjectRef,
    ) -> Result<ServicePrincipal, GraphError> {
        self.send_json(Method::GET, &sp.path("servicePrincipals"), &[], None)
            .await
    }

    pub async fn list_service_principals(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<ServicePrincipal>, GraphError> {
        self.list("servicePrincipals", filter).await
    }

    pub async fn delete_service_principal(&self, sp: &ObjectRef) -> Result<(), GraphError> {
        self.send_empty(Method::DELETE, &sp.path("servicePrincipals"), None)
            .await
    }

    /// The app roles `principal` holds.
    pub async fn list_app_role_assignments(
        &self,
        principal: &ObjectRef,
    ) -> Result<Vec<AppRoleAssignment>, GraphError> {
        self.list(
            &format!("{}/appRoleAssignments", principal.path("servicePrincipals")),
            None,
        )
        .await
    }

    /// Grants `principal_id` the role `app_role_id` of the resource service principal.
    pub async fn assign_app_role(
        &self,
        principal_id: &ObjectId,
        resource_id: &ObjectId,
        app_role_id: &str,
    ) -> Result<AppRoleAssignment, GraphError> {
        let body = json!({ "principalId": principal_id, "resourceId": resource_id, "appRoleId": app_role_id });
        let path = format!(
            "servicePrincipals/{}/appRoleAssignments",
            segment(principal_id.as_str())
        );
        self.send_json(Method::POST, &path, &[], Some(&body)).await
    }

    pub async fn delete_app_role_assignment(
        &self,
        principal_id: &ObjectId,
        assignment_id: &str,
    ) -> Result<(), GraphError> {
        let path = format!(
            "servicePrincipals/{}/appRoleAssignments/{}",
            segment(principal_id.as_str()),
            segment(assignment_id)
        );
        self.send_empty(Method::DELETE, &path, None).await
    }
}
