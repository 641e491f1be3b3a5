//! One tenant: who it is (id, names, domains, cloud), its `Directory`, its clock and signing
//! key, and beside them the test's controls (`TestControls`: fault rules, journal, held-back
//! writes). Built from a fixture and written back as one (a snapshot). The test-facing changes
//! (`register_application`, `add_certificate`, `assign_app_role`, moving the clock) and the
//! two halves of replication lag (`write_with_lag`, `settle_replication`) are here; the state
//! module wraps each tenant in its own lock.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::clock::{ClockOutOfRange, EARLIEST, LATEST, VirtualClock};
use crate::cloud::Cloud;
use crate::controls::TestControls;
use crate::directory::{
    ASYMMETRIC_X509_CERT, AppRoleAssignment, Application, Directory, KeyCredential,
    ServicePrincipal, USAGE_VERIFY,
};
use crate::fixture::{FixtureError, TenantFixture, TenantInfo};
use crate::ids::{AppId, ObjectId, TenantId, Thumbprint, opaque_id};
use crate::signing::SigningKey;

#[derive(Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    pub initial_domain: String,
    pub verified_domains: Vec<String>,
    pub cloud: Cloud,
    pub clock: VirtualClock,
    pub signing_key: Arc<SigningKey>,
    /// Every directory object, and the service models' state (part of snapshots).
    pub directory: Directory,
    /// The test's fault rules, journal and held-back writes (not part of snapshots).
    pub controls: TestControls,
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
        f.directory
            .check_references()
            .map_err(FixtureError::Inconsistent)?;
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
            directory: f.directory,
            controls: TestControls::default(),
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
            directory: self.directory.clone(),
            signing_key: Some(self.signing_key.to_fixture()),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Whether the path segment `{tenant}` names this tenant (its id or a verified domain).
    pub fn is_named(&self, segment: &str) -> bool {
        segment.parse::<TenantId>().is_ok_and(|id| id == self.id) || self.has_domain(segment)
    }

    /// Whether `domain` is one of the tenant's verified domains.
    pub fn has_domain(&self, domain: &str) -> bool {
        self.verified_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The names a request path may use for this tenant: its id and verified domains.
    pub fn names(&self) -> Vec<String> {
        std::iter::once(self.id.to_string())
            .chain(self.verified_domains.iter().cloned())
            .collect()
    }

    /// Registers a single-tenant application and its service principal.
    pub fn register_application(&mut self, display_name: &str) -> RegisteredApplication {
        let registered = RegisteredApplication {
            app_id: AppId::new_random(),
            application_id: ObjectId::new_random(),
            service_principal_id: ObjectId::new_random(),
        };
        let now = self.now();
        self.directory.applications.push(Application::new(
            registered.application_id,
            registered.app_id,
            display_name,
            now,
        ));
        self.directory
            .service_principals
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
        self.directory
            .application_mut(app)?
            .key_credentials
            .push(credential);
        Some(key_id)
    }

    /// Assigns an app role of `resource` (by role value) to `principal`.
    pub fn assign_app_role(
        &mut self,
        principal: ObjectId,
        resource: AppId,
        role_value: &str,
    ) -> Option<String> {
        let d = &self.directory;
        let resource = d.service_principal_by_app_id(resource)?;
        let role = resource.app_roles.iter().find(|r| r.value == role_value)?;
        let assignment = AppRoleAssignment {
            id: opaque_id(),
            principal_id: principal,
            principal_type: "ServicePrincipal".into(),
            principal_display_name: d
                .service_principal(principal)
                .map(|s| s.display_name.clone()),
            resource_id: resource.id,
            resource_display_name: Some(resource.display_name.clone()),
            app_role_id: role.id,
            created_date_time: Some(self.now()),
        };
        let id = assignment.id.clone();
        self.directory.app_role_assignments.push(assignment);
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

    /// Runs the write `f`; with a lag, its effect on the directory is held back until the
    /// tenant clock reaches now + lag, while its answer is returned at once.
    pub fn write_with_lag<T, E>(
        &mut self,
        lag: Option<Duration>,
        f: impl FnOnce(&mut Tenant) -> Result<T, E>,
    ) -> Result<T, E> {
        let Some(lag) = lag.filter(|l| l.is_positive()) else {
            return f(self);
        };
        let before = self.directory.clone();
        let outcome = f(self);
        let after = std::mem::replace(&mut self.directory, before);
        if outcome.is_ok() {
            // Rule lags are bounded (`faults::MAX_LAG_SECONDS`) so that this stays within the
            // calendar; a lag past its end would be one that never comes due.
            let due = self
                .now()
                .checked_add(lag)
                .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc());
            self.controls
                .replication
                .hold_back(&self.directory, &after, due);
        }
        outcome
    }

    /// Applies the held-back writes whose time has come, oldest first.
    pub fn settle_replication(&mut self) {
        let now = self.now();
        self.controls.replication.settle(now, &mut self.directory);
    }
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
        let resource = t
            .directory
            .service_principal_by_app_id(sync)
            .unwrap()
            .clone();
        assert!(
            t.directory
                .granted_app_roles(app.service_principal_id, &resource)
                .is_empty()
        );
        t.assign_app_role(
            app.service_principal_id,
            sync,
            "ADSynchronization.ReadWrite.All",
        )
        .unwrap();
        assert_eq!(
            t.directory
                .granted_app_roles(app.service_principal_id, &resource),
            vec!["ADSynchronization.ReadWrite.All".to_string()]
        );
    }

    #[test]
    fn inconsistent_fixtures_are_refused_with_a_reason() {
        let mut f = TenantFixture::default_fixture();
        f.directory.role_assignments[0].principal_id = ObjectId::new_random();
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
