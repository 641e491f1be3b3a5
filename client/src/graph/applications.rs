//! Applications: read by object id or appId, listed with a filter, created, patched and
//! deleted; their `requiredResourceAccess`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::ids::{ClientId, ObjectId};

use super::client::{GraphClient, ObjectRef};
use super::error::GraphError;
use super::key_credentials::KeyCredential;

/// `requiredResourceAccess` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    pub resource_access: Vec<ResourceAccess>,
}

/// One permission in `requiredResourceAccess`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: String,
    /// `Role` (application permission) or `Scope`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The application properties the client reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: ObjectId,
    pub app_id: ClientId,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

impl GraphClient {
    pub async fn create_application(
        &self,
        body: &serde_json::Value,
    ) -> Result<Application, GraphError> {
        self.send_json(Method::POST, "applications", &[], Some(body))
            .await
    }

    pub async fn get_application(&self, app: &ObjectRef) -> Result<Application, GraphError> {
        self.send_json(Method::GET, &app.path("applications"), &[], None)
            .await
    }

    /// Lists applications, e.g. with `filter` = `appId eq '...'` or `displayName eq '...'`.
    pub async fn list_applications(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<Application>, GraphError> {
        self.list("applications", filter).await
    }

    /// PATCH: only the properties in `patch` change.
    pub async fn update_application(
        &self,
        app: &ObjectRef,
        patch: &serde_json::Value,
    ) -> Result<(), GraphError> {
        self.send_empty(Method::PATCH, &app.path("applications"), Some(patch))
            .await
    }

    pub async fn delete_application(&self, app: &ObjectRef) -> Result<(), GraphError> {
        self.send_empty(Method::DELETE, &app.path("applications"), None)
            .await
    }
}
