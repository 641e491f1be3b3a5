//! One tenant: its directory objects, clock and signing key, with the queries the login and
//! Graph rules need. Plain data; the state module wraps each tenant in its own lock.

use std::collections::HashSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::clock::{ClockOutOfRange, EARLIEST, LATEST, VirtualClock};
use super::directory::{
    ASYMMETRIC_X509_CERT, AppRoleAssignment, Application, KeyCredential, OAuth2PermissionGrant,
    RoleAssignment, ServicePrincipal, USAGE_VERIFY, User,
};
use super::fixture::{Cloud, FixtureError, TenantFixture, TenantInfo};
use super::ids::{AppId, ObjectId, TenantId, Thumbprint};
use super::signing::SigningKey;

#[derive(Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    pub initial_domain: String,
    pub verified_domains: Vec<String>,
    pub cloud: Cloud,
    pub clock: VirtualClock,
    pub signing_key: Arc<SigningKey>,
    pub users: Vec<User>,
    pub role_assignments: Vec<RoleAssignment>,
    pub applications: Vec<Application>,
    pub service_principals: Vec<ServicePrincipal>,
    pub app_role_assignments: Vec<AppRoleAssignment>,
    pub oauth2_permission_grants: Vec<OAuth2PermissionGrant>,
    /// State of the first-party service models (part of snapshots).
    pub services: super::graph::services::ServiceState,
    /// Test control: fault rules, the request journal and held-back (lagged) writes. Not part
    /// of snapshots: they describe the test, not the tenant.
    pub faults: super::faults::FaultRules,
    pub journal: super::journal::Journal,
    pub replication: super::graph::replication::Replication,
}

/// What a newly registered application got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisteredApplication {
    pub app_id: AppId,
    pub application_id: ObjectId,
    pub service_principal_id: ObjectId,
}

impl Tenant {
    /// Builds a tenant from a fixture, checking that every reference in it resolves.
    pub fn from_fixture(f: TenantFixture) -> Result<Self, FixtureError> {
        check_consistency(&f)?;
        let signing_key = match &f.signing_key {
            Some(k) => SigningKey::from_fixture(k)?,
            None => SigningKey::generate()?,
        };
        let mut verified_domains = f.tenant.verified_domains.clone();
        if !verified_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&f.tenant.initial_domain))
        {
            verified_domains.insert(0, f.tenant.initial_domain.clone());
        }
        Ok(Tenant {
            id: f.tenant.id,
            display_name: f.tenant.display_name,
            initial_domain: f.tenant.initial_domain,
            verified_domains,
            cloud: f.tenant.cloud,
            clock: VirtualClock::from_fixture(&f.clock).map_err(FixtureError::Clock)?,
            signing_key: Arc::new(signing_key),
            users: f.users,
            role_assignments: f.role_assignments,
            applications: f.applications,
            service_principals: f.service_principals,
            app_role_assignments: f.app_role_assignments,
            oauth2_permission_grants: f.oauth2_permission_grants,
            services: f.services,
            faults: Default::default(),
            journal: Default::default(),
            replication: Default::default(),
        })
    }

    /// The tenant's whole state as a fixture (a snapshot).
    pub fn to_fixture(&self) -> TenantFixture {
        TenantFixture {
            tenant: TenantInfo {
                id: self.id,
                display_name: self.display_name.clone(),
                initial_domain: self.initial_domain.clone(),
                verified_domains: self
                    .verified_domains
                    .iter()
                    .filter(|d| !d.eq_ignore_ascii_case(&self.initial_domain))
                    .cloned()
                    .collect(),
                cloud: self.cloud,
            },
            clock: self.clock.to_fixture(),
            users: self.users.clone(),
            role_assignments: self.role_assignments.clone(),
            applications: self.applications.clone(),
            service_principals: self.service_principals.clone(),
            app_role_assignments: self.app_role_assignments.clone(),
            oauth2_permission_grants: self.oauth2_permission_grants.clone(),
            services: self.services.clone(),
            signing_key: Some(self.signing_key.to_fixture()),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Whether the path segment `{tenant}` names this tenant (its id or a verified domain).
    pub fn is_named(&self, segment: &str) -> bool {
        segment.parse::<TenantId>().is_ok_and(|id| id == self.id)
            || self
                .verified_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(segment))
    }

    /// The names a request path may use for this tenant: its id and verified domains.
    pub fn names(&self) -> Vec<String> {
        std::iter::once(self.id.to_string())
            .chain(self.verified_domains.iter().cloned())
            .collect()
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

    pub fn service_principal_by_app_id(&self, app_id: AppId) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.app_id == app_id)
    }

    /// The resource service principal a token request names by appId or App ID URI.
    pub fn resource(&self, name: &str) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.is_named(name))
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

    /// Directory role template ids held by `principal`, for `wids`.
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

    /// Registers a single-tenant application and its service principal.
    pub fn register_application(&mut self, display_name: &str) -> RegisteredApplication {
        let registered = RegisteredApplication {
            app_id: AppId::new_random(),
            application_id: ObjectId::new_random(),
            service_principal_id: ObjectId::new_random(),
        };
        let now = self.now();
        self.applications.push(Application::new(
            registered.application_id,
            registered.app_id,
            display_name,
            now,
        ));
        self.service_principals
            .push(ServicePrincipal::for_application(
                registered.service_principal_id,
                registered.app_id,
                display_name,
                self.id.0,
            ));
        registered
    }

    /// Adds a certificate credential to an application, as Graph's PATCH of keyCredentials does
    /// with `customKeyIdentifier` left to its default (the SHA-1 thumbprint).
    pub fn add_certificate(
        &mut self,
        app: ObjectId,
        certificate_der: &[u8],
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Option<Uuid> {
        let key_id = Uuid::new_v4();
        let credential = KeyCredential {
            key_id,
            custom_key_identifier: Some(Thumbprint::sha1_of(certificate_der).as_bytes().to_vec()),
            display_name: None,
            start_date_time: start,
            end_date_time: end,
            key_type: ASYMMETRIC_X509_CERT.into(),
            usage: USAGE_VERIFY.into(),
            key: Some(certificate_der.to_vec()),
        };
        self.application_mut(app)?.key_credentials.push(credential);
        Some(key_id)
    }

    /// Assigns an app role of `resource` (by role value) to `principal`.
    pub fn assign_app_role(
        &mut self,
        principal: ObjectId,
        resource: AppId,
        role_value: &str,
    ) -> Option<String> {
        let resource = self.service_principal_by_app_id(resource)?;
        let role = resource.app_roles.iter().find(|r| r.value == role_value)?;
        let principal_name = self
            .service_principal(principal)
            .map(|s| s.display_name.clone());
        let assignment = AppRoleAssignment {
            id: opaque_assignment_id(),
            principal_id: principal,
            principal_type: "ServicePrincipal".into(),
            principal_display_name: principal_name,
            resource_id: resource.id,
            resource_display_name: Some(resource.display_name.clone()),
            app_role_id: role.id,
            created_date_time: Some(self.now()),
        };
        let id = assignment.id.clone();
        self.app_role_assignments.push(assignment);
        Some(id)
    }

    /// Moves the tenant's clock, stopping at the end of its range (`clock::EARLIEST`,
    /// `clock::LATEST`): the callers are tests that move it by fixed amounts. Requests from
    /// outside go through `try_advance_clock` and are refused instead.
    pub fn advance_clock(&mut self, by: Duration) {
        if self.try_advance_clock(by).is_err() {
            let end = if by.is_negative() { EARLIEST } else { LATEST };
            // The end itself is in range.
            let _ = self.clock.set(end);
        }
    }

    /// Moves the tenant's clock, or leaves it and says why when that would leave its range.
    pub fn try_advance_clock(&mut self, by: Duration) -> Result<(), ClockOutOfRange> {
        self.clock.advance(by)
    }

    /// Sets the tenant's clock, or leaves it and says why when `to` is out of its range.
    pub fn set_clock(&mut self, to: OffsetDateTime) -> Result<(), ClockOutOfRange> {
        self.clock.set(to)
    }
}

/// appRoleAssignment ids are opaque base64url strings in Graph, not GUIDs.
fn opaque_assignment_id() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn check_consistency(f: &TenantFixture) -> Result<(), FixtureError> {
    let bad = |m: String| Err(FixtureError::Inconsistent(m));
    let mut ids = HashSet::new();
    let object_ids = f
        .users
        .iter()
        .map(|u| u.id)
        .chain(f.applications.iter().map(|a| a.id))
        .chain(f.service_principals.iter().map(|s| s.id));
    for id in object_ids {
        if !ids.insert(id) {
            return bad(format!("object id {id} is used twice"));
        }
    }
    let mut app_ids = HashSet::new();
    for a in &f.applications {
        if !app_ids.insert(a.app_id) {
            return bad(format!("appId {} belongs to two applications", a.app_id));
        }
    }
    let mut sp_app_ids = HashSet::new();
    for s in &f.service_principals {
        if !sp_app_ids.insert(s.app_id) {
            return bad(format!("appId {} has two service principals", s.app_id));
        }
    }
    let mut upns = HashSet::new();
    for u in &f.users {
        if !upns.insert(u.user_principal_name.to_ascii_lowercase()) {
            return bad(format!(
                "userPrincipalName {} is used twice",
                u.user_principal_name
            ));
        }
    }
    for a in &f.app_role_assignments {
        let Some(resource) = f.service_principals.iter().find(|s| s.id == a.resource_id) else {
            return bad(format!(
                "appRoleAssignment {} names unknown resource {}",
                a.id, a.resource_id
            ));
        };
        if !ids.contains(&a.principal_id) {
            return bad(format!(
                "appRoleAssignment {} names unknown principal {}",
                a.id, a.principal_id
            ));
        }
        if resource.app_role(a.app_role_id).is_none() {
            return bad(format!(
                "appRoleAssignment {} names app role {} that {} does not define",
                a.id, a.app_role_id, resource.display_name
            ));
        }
    }
    for g in &f.oauth2_permission_grants {
        for sp in [g.client_id, g.resource_id] {
            if !f.service_principals.iter().any(|s| s.id == sp) {
                return bad(format!(
                    "oauth2PermissionGrant {} names unknown service principal {sp}",
                    g.id
                ));
            }
        }
    }
    for r in &f.role_assignments {
        if !ids.contains(&r.principal_id) {
            return bad(format!(
                "roleAssignment {} names unknown principal {}",
                r.id, r.principal_id
            ));
        }
        if super::roles::display_name(r.role_definition_id).is_none() {
            return bad(format!(
                "roleAssignment {} names unknown role {}",
                r.id, r.role_definition_id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_tenant() -> Tenant {
        Tenant::from_fixture(TenantFixture::default_fixture()).unwrap()
    }

    #[test]
    fn named_by_id_and_domain() {
        let t = default_tenant();
        assert!(t.is_named("b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d"));
        assert!(t.is_named("CONTOSO.onmicrosoft.com"));
        assert!(!t.is_named("fabrikam.onmicrosoft.com"));
    }

    #[test]
    fn roles_claim_follows_assignments() {
        let mut t = default_tenant();
        let app = t.register_application("sync");
        let sync: AppId = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016".parse().unwrap();
        let resource = t.service_principal_by_app_id(sync).unwrap().clone();
        assert!(
            t.granted_app_roles(app.service_principal_id, &resource)
                .is_empty()
        );
        t.assign_app_role(
            app.service_principal_id,
            sync,
            "ADSynchronization.ReadWrite.All",
        )
        .unwrap();
        assert_eq!(
            t.granted_app_roles(app.service_principal_id, &resource),
            vec!["ADSynchronization.ReadWrite.All".to_string()]
        );
    }

    #[test]
    fn inconsistent_fixtures_are_refused_with_a_reason() {
        let mut f = TenantFixture::default_fixture();
        f.role_assignments[0].principal_id = ObjectId::new_random();
        let err = Tenant::from_fixture(f).unwrap_err().to_string();
        assert!(err.contains("names unknown principal"), "{err}");
    }

    #[test]
    fn snapshot_round_trips() {
        let mut t = default_tenant();
        t.clock = VirtualClock::frozen(time::macros::datetime!(2026-11-25 10:00 UTC));
        let snap = t.to_fixture();
        let again = Tenant::from_fixture(snap.clone()).unwrap();
        assert_eq!(again.to_fixture(), snap);
        assert_eq!(again.signing_key.kid(), t.signing_key.kid());
    }
}
