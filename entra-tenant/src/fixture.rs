//! The fixture format: a whole tenant as JSON. A snapshot is a fixture, so what a test leaves
//! behind can be loaded again with `mock-graph serve --fixture` or `POST /_mock/tenants`.

use serde::{Deserialize, Serialize};

use super::clock::ClockFixture;
use super::directory::{
    AppRoleAssignment, Application, OAuth2PermissionGrant, RoleAssignment, ServicePrincipal, User,
};
use super::ids::TenantId;
use super::signing::SigningKeyFixture;

/// The embedded default fixture (`fixtures/default.json`).
pub const DEFAULT_FIXTURE_JSON: &str = include_str!("../../fixtures/default.json");

/// Which Microsoft cloud the tenant lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    #[default]
    Global,
    /// US Government ("Arlington").
    Usgov,
    China,
}

impl Cloud {
    /// `cloud_instance_name` of discovery documents.
    pub fn instance_name(self) -> &'static str {
        match self {
            Cloud::Global => "microsoftonline.com",
            Cloud::Usgov => "microsoftonline.us",
            Cloud::China => "partner.microsoftonline.cn",
        }
    }

    /// `msgraph_host` of discovery documents.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global => "graph.microsoft.com",
            Cloud::Usgov => "graph.microsoft.us",
            Cloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantInfo {
    pub id: TenantId,
    pub display_name: String,
    /// The `*.onmicrosoft.com` domain every tenant has.
    pub initial_domain: String,
    /// Other verified domains; the initial domain need not be repeated.
    #[serde(default)]
    pub verified_domains: Vec<String>,
    #[serde(default)]
    pub cloud: Cloud,
}

/// A whole tenant.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantFixture {
    pub tenant: TenantInfo,
    #[serde(default)]
    pub clock: ClockFixture,
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
    #[serde(
        default,
        skip_serializing_if = "super::graph::services::ServiceState::is_empty"
    )]
    pub services: super::graph::services::ServiceState,
    /// Absent in hand-written fixtures (a key is generated); present in snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKeyFixture>,
}

/// A fixture file that cannot be used, with what is wrong in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("the fixture is not valid JSON of the fixture format: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("the fixture is inconsistent: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    SigningKey(#[from] super::signing::SigningKeyError),
    #[error("`clock.now`: {0}")]
    Clock(super::clock::ClockOutOfRange),
}

impl TenantFixture {
    pub fn from_json(text: &str) -> Result<Self, FixtureError> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn default_fixture() -> Self {
        // The embedded fixture is checked by a unit test; it cannot fail at run time.
        Self::from_json(DEFAULT_FIXTURE_JSON).expect("embedded default fixture is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fixture_parses_and_round_trips() {
        let f = TenantFixture::from_json(DEFAULT_FIXTURE_JSON).unwrap();
        assert_eq!(
            f.tenant.id.to_string(),
            "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d"
        );
        assert_eq!(f.tenant.initial_domain, "contoso.onmicrosoft.com");
        let again = TenantFixture::from_json(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(f, again);
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = TenantFixture::from_json(r#"{"tenant": {"id": "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d", "displayName": "x", "initialDomain": "x.onmicrosoft.com"}, "usres": []}"#)
            .unwrap_err();
        assert!(err.to_string().contains("usres"), "{err}");
    }
}
