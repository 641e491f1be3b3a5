//! The mock's shared state: every tenant it serves, each behind its own lock. `MockState` is a
//! cheap cloneable handle; a request locks one tenant, applies itself, and lets go (no `.await`
//! happens under a tenant lock, hence std's mutex).

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use entra_tenant::controls::TestControls;
use entra_tenant::fixture::{FixtureError, TenantFixture};
use entra_tenant::ids::TenantId;
use entra_tenant::tenant::Tenant;

/// One tenant, shared between requests.
pub type TenantHandle = Arc<Mutex<Tenant>>;

#[derive(Clone, Default)]
pub struct MockState {
    inner: Arc<RwLock<Vec<Entry>>>,
}

struct Entry {
    id: TenantId,
    /// The tenant id and verified domains, kept outside the tenant lock for routing.
    names: Vec<String>,
    tenant: TenantHandle,
}

/// A tenant could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddTenantError {
    #[error("a tenant named {0} already exists")]
    Duplicate(String),
    #[error(transparent)]
    Fixture(#[from] FixtureError),
}

/// A tenant's snapshot could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceTenantError {
    #[error("no tenant {0}")]
    NotFound(TenantId),
    #[error("the snapshot is of tenant {found}, not of tenant {expected}")]
    OtherTenant { expected: TenantId, found: TenantId },
    #[error("another tenant already has the name {0}")]
    Duplicate(String),
    #[error(transparent)]
    Fixture(#[from] FixtureError),
}

/// Locks a tenant. A panic while a tenant was locked leaves a consistent value behind (every
/// change is applied in one go), so a poisoned lock is still usable. Writes held back by
/// replication lag whose time has come are applied first, so every reader sees them.
pub fn lock(tenant: &TenantHandle) -> MutexGuard<'_, Tenant> {
    let mut guard = tenant.lock().unwrap_or_else(|p| p.into_inner());
    guard.settle_replication();
    guard
}

impl MockState {
    pub fn new() -> Self {
        Self::default()
    }

    /// A state holding the tenants of `fixtures`.
    pub fn from_fixtures(fixtures: Vec<TenantFixture>) -> Result<Self, AddTenantError> {
        let state = Self::new();
        for f in fixtures {
            state.add_fixture(f)?;
        }
        Ok(state)
    }

    pub fn add_fixture(&self, fixture: TenantFixture) -> Result<TenantId, AddTenantError> {
        self.add_tenant(Tenant::from_fixture(fixture)?)
    }

    pub fn add_tenant(&self, tenant: Tenant) -> Result<TenantId, AddTenantError> {
        let names = tenant.names();
        let mut entries = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for e in entries.iter() {
            if let Some(clash) = names
                .iter()
                .find(|n| e.names.iter().any(|m| m.eq_ignore_ascii_case(n)))
            {
                return Err(AddTenantError::Duplicate(clash.clone()));
            }
        }
        let id = tenant.id;
        entries.push(Entry {
            id,
            names,
            tenant: Arc::new(Mutex::new(tenant)),
        });
        Ok(id)
    }

    /// The tenant a path segment names (its id or one of its verified domains).
    pub fn find(&self, segment: &str) -> Option<TenantHandle> {
        let entries = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let wanted = segment.trim();
        entries
            .iter()
            .find(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(wanted)))
            .map(|e| e.tenant.clone())
    }

    pub fn tenant(&self, id: TenantId) -> Option<TenantHandle> {
        let entries = self.inner.read().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.tenant.clone())
    }

    /// Every tenant, in the order they were added.
    pub fn tenants(&self) -> Vec<TenantHandle> {
        let entries = self.inner.read().unwrap_or_else(|p| p.into_inner());
        entries.iter().map(|e| e.tenant.clone()).collect()
    }

    /// Replaces the state of tenant `id` with a snapshot of it (`PUT .../snapshot`). Fault rules
    /// and the journal stay: they belong to the test, not to the tenant.
    pub fn replace_tenant(
        &self,
        id: TenantId,
        fixture: TenantFixture,
    ) -> Result<(), ReplaceTenantError> {
        if fixture.tenant.id != id {
            return Err(ReplaceTenantError::OtherTenant {
                expected: id,
                found: fixture.tenant.id,
            });
        }
        let mut replacement = Tenant::from_fixture(fixture)?;
        let names = replacement.names();
        let mut entries = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for e in entries.iter().filter(|e| e.id != id) {
            if let Some(clash) = names
                .iter()
                .find(|n| e.names.iter().any(|m| m.eq_ignore_ascii_case(n)))
            {
                return Err(ReplaceTenantError::Duplicate(clash.clone()));
            }
        }
        let entry = entries
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or(ReplaceTenantError::NotFound(id))?;
        let mut guard = lock(&entry.tenant);
        replacement.controls = TestControls::carried_over(&mut guard.controls);
        *guard = replacement;
        entry.names = names;
        Ok(())
    }

    /// Adds a tenant with the default fixture's content under a fresh tenant id and a fresh
    /// `*.onmicrosoft.com` domain (users' UPNs follow), as `POST /_mock/tenants` with `{}` does.
    pub fn add_default_copy(&self) -> Result<(TenantId, String), AddTenantError> {
        let fixture = fresh_default_fixture();
        let domain = fixture.tenant.initial_domain.clone();
        let id = self.add_fixture(fixture)?;
        Ok((id, domain))
    }

    /// Runs `f` on the tenant `id` under its lock.
    pub fn with_tenant<R>(&self, id: TenantId, f: impl FnOnce(&mut Tenant) -> R) -> Option<R> {
        let handle = self.tenant(id)?;
        let mut guard = lock(&handle);
        Some(f(&mut guard))
    }
}

/// The default fixture under a fresh tenant id and domain (`contoso-<8 hex>.onmicrosoft.com`).
pub fn fresh_default_fixture() -> TenantFixture {
    let mut f = TenantFixture::default_fixture();
    let old_domain = f.tenant.initial_domain.clone();
    let id = TenantId::new_random();
    let domain = format!(
        "contoso-{}.onmicrosoft.com",
        &id.0.simple().to_string()[..8]
    );
    f.tenant.id = id;
    f.tenant.initial_domain = domain.clone();
    f.tenant
        .verified_domains
        .retain(|d| !d.eq_ignore_ascii_case(&old_domain));
    let suffix = format!("@{old_domain}");
    for u in &mut f.directory.users {
        if u.user_principal_name
            .to_ascii_lowercase()
            .ends_with(&suffix)
        {
            let local = &u.user_principal_name[..u.user_principal_name.len() - suffix.len()];
            u.user_principal_name = format!("{local}@{domain}");
        }
    }
    f
}
