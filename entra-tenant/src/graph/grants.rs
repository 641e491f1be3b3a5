//! Delegated permission grants (`oauth2PermissionGrants`): which scopes a client may get on a
//! resource for users, listed as Graph lists them. Read-only here; fixtures hold the grants.

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::query::{Filterable, Object, to_object};
use crate::tenant::Tenant;

pub const GRANT_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.oAuth2PermissionGrant",
    eq: &["id", "clientId", "consentType", "principalId", "resourceId"],
    starts_with: &[],
};

/// Every grant of the tenant.
pub fn list_grants(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    Ok(t.directory
        .oauth2_permission_grants
        .iter()
        .map(to_object)
        .collect())
}
