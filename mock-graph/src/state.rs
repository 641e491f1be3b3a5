//! The mock's shared state: every tenant it serves, each behind its own lock. `MockState` is a
//! cheap cloneable handle; a request locks one tenant, applies itself, and lets go (no `.await`
//! happens under a tenant lock, hence std's mutex).

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::core::fixture::{FixtureError, TenantFixture};
use crate::core::ids::TenantId;
use crate::core::tenant::Tenant;

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

/// Locks a tenant. A panic while a tenant was locked leaves a consistent value behind (every
/// change is applied in one go), so a poisoned lock is still usable.
pub fn lock(tenant: &TenantHandle) -> MutexGuard<'_, Tenant> {
    tenant.lock().unwrap_or_else(|p| p.into_inner())
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
            if let Some(clash) = names.iter().find(|n| e.names.iter().any(|m| m.eq_ignore_ascii_case(n))) {
                return Err(AddTenantError::Duplicate(clash.clone()));
            }
        }
        let id = tenant.id;
        entries.push(Entry { id, names, tenant: Arc::new(Mutex::new(tenant)) });
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
        entries.iter().find(|e| e.id == id).map(|e| e.tenant.clone())
    }

    /// Every tenant, in the order they were added.
    pub fn tenants(&self) -> Vec<TenantHandle> {
        let entries = self.inner.read().unwrap_or_else(|p| p.into_inner());
        entries.iter().map(|e| e.tenant.clone()).collect()
    }

    /// Runs `f` on the tenant `id` under its lock.
    pub fn with_tenant<R>(&self, id: TenantId, f: impl FnOnce(&mut Tenant) -> R) -> Option<R> {
        let handle = self.tenant(id)?;
        let mut guard = lock(&handle);
        Some(f(&mut guard))
    }
}
