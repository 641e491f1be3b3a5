//! Replication lag: a write that a fault rule delays is accepted and answered as usual, but its
//! effect on the directory is held back until the tenant clock has moved `lag` past the write.
//! Until then readers (Graph, the token endpoint) see the directory as it was: a new key is not
//! yet accepted, a new account cannot sign in, a removed key still works.
//!
//! Any write is delayed the same way: the write runs, the difference it made to the directory
//! is recorded property by property (array properties element by element, so that two pending
//! writes to `keyCredentials` both land), the directory is put back, and the difference is
//! applied when due. `state::lock` settles due writes each time a tenant is locked.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::super::tenant::Tenant;

/// The writes of a tenant that are accepted but not visible yet.
#[derive(Clone, Debug, Default)]
pub struct Replication {
    pending: Vec<PendingWrite>,
}

#[derive(Clone, Debug)]
struct PendingWrite {
    due: OffsetDateTime,
    changes: Vec<Change>,
}

#[derive(Clone, Debug)]
enum Change {
    Insert {
        collection: String,
        object: Value,
    },
    Remove {
        collection: String,
        id: String,
    },
    Patch {
        collection: String,
        id: String,
        properties: Vec<PropertyChange>,
    },
}

#[derive(Clone, Debug)]
enum PropertyChange {
    Set(String, Value),
    Unset(String),
    /// An array property: elements that appeared and elements that went away.
    Elements {
        name: String,
        added: Vec<Value>,
        removed: Vec<Value>,
    },
}

/// The id of the singleton pseudo-collection that holds the service models' state.
const SINGLETON: &str = "-";

impl Replication {
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

fn to_values<T: Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

fn from_values<T: DeserializeOwned>(items: &[Value]) -> Option<Vec<T>> {
    items
        .iter()
        .map(|v| serde_json::from_value(v.clone()).ok())
        .collect()
}

impl Tenant {
    /// The directory as JSON collections of objects with an `id`.
    fn directory_values(&self) -> Vec<(&'static str, Vec<Value>)> {
        let services = serde_json::to_value(&self.services).ok().map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.insert("id".into(), Value::String(SINGLETON.into()));
            }
            v
        });
        vec![
            ("users", to_values(&self.users)),
            ("roleAssignments", to_values(&self.role_assignments)),
            ("applications", to_values(&self.applications)),
            ("servicePrincipals", to_values(&self.service_principals)),
            ("appRoleAssignments", to_values(&self.app_role_assignments)),
            (
                "oauth2PermissionGrants",
                to_values(&self.oauth2_permission_grants),
            ),
            ("services", services.into_iter().collect()),
        ]
    }

    /// Puts collections back; a collection that no longer deserializes is left as it is.
    fn restore_directory(&mut self, values: Vec<(&'static str, Vec<Value>)>) {
        for (name, items) in values {
            match name {
                "users" => set(&mut self.users, &items),
                "roleAssignments" => set(&mut self.role_assignments, &items),
                "applications" => set(&mut self.applications, &items),
                "servicePrincipals" => set(&mut self.service_principals, &items),
                "appRoleAssignments" => set(&mut self.app_role_assignments, &items),
                "oauth2PermissionGrants" => set(&mut self.oauth2_permission_grants, &items),
                "services" => {
                    if let Some(mut v) = items.into_iter().next() {
                        if let Some(o) = v.as_object_mut() {
                            o.remove("id");
                        }
                        if let Ok(s) = serde_json::from_value(v) {
                            self.services = s;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Runs the write `f`; with a lag, its effect is held back until the tenant clock reaches
    /// now + lag, while its answer is returned at once.
    pub fn write_with_lag<T, E>(
        &mut self,
        lag: Option<Duration>,
        f: impl FnOnce(&mut Tenant) -> Result<T, E>,
    ) -> Result<T, E> {
        let Some(lag) = lag.filter(|l| l.is_positive()) else {
            return f(self);
        };
        let before = self.directory_values();
        let outcome = f(self);
        let after = self.directory_values();
        let changes = diff(&before, &after);
        self.restore_directory(before);
        if outcome.is_ok() && !changes.is_empty() {
            // Rule lags are bounded (`faults::MAX_LAG_SECONDS`) so that this stays within the
            // calendar; a lag past its end would be one that never comes due.
            let due = self
                .now()
                .checked_add(lag)
                .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc());
            self.replication.pending.push(PendingWrite { due, changes });
        }
        outcome
    }

    /// Applies the held-back writes whose time has come, oldest first.
    pub fn settle_replication(&mut self) {
        if self.replication.pending.is_empty() {
            return;
        }
        let now = self.now();
        let (due, later): (Vec<_>, Vec<_>) = self
            .replication
            .pending
            .drain(..)
            .partition(|p| p.due <= now);
        self.replication.pending = later;
        if due.is_empty() {
            return;
        }
        let mut values = self.directory_values();
        for write in due {
            for change in write.changes {
                apply(&mut values, change);
            }
        }
        self.restore_directory(values);
    }
}

fn set<T: DeserializeOwned>(target: &mut Vec<T>, items: &[Value]) {
    match from_values(items) {
        Some(v) => *target = v,
        None => tracing::warn!("a replicated write no longer fits the directory; it is dropped"),
    }
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

fn diff(
    before: &[(&'static str, Vec<Value>)],
    after: &[(&'static str, Vec<Value>)],
) -> Vec<Change> {
    let mut out = Vec::new();
    for ((name, old), (_, new)) in before.iter().zip(after) {
        for o in old {
            let Some(id) = id_of(o) else { continue };
            match new.iter().find(|n| id_of(n).as_deref() == Some(&id)) {
                None => out.push(Change::Remove {
                    collection: name.to_string(),
                    id,
                }),
                Some(n) if n != o => {
                    let properties = diff_object(o.as_object(), n.as_object());
                    out.push(Change::Patch {
                        collection: name.to_string(),
                        id,
                        properties,
                    });
                }
                Some(_) => {}
            }
        }
        for n in new {
            let Some(id) = id_of(n) else { continue };
            if !old.iter().any(|o| id_of(o).as_deref() == Some(&id)) {
                out.push(Change::Insert {
                    collection: name.to_string(),
                    object: n.clone(),
                });
            }
        }
    }
    out
}

fn diff_object(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> Vec<PropertyChange> {
    let (Some(old), Some(new)) = (old, new) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, nv) in new {
        match (old.get(k), nv) {
            (Some(ov), _) if ov == nv => {}
            (Some(Value::Array(oa)), Value::Array(na)) => out.push(PropertyChange::Elements {
                name: k.clone(),
                added: na.iter().filter(|e| !oa.contains(e)).cloned().collect(),
                removed: oa.iter().filter(|e| !na.contains(e)).cloned().collect(),
            }),
            _ => out.push(PropertyChange::Set(k.clone(), nv.clone())),
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            out.push(PropertyChange::Unset(k.clone()));
        }
    }
    out
}

fn apply(values: &mut [(&'static str, Vec<Value>)], change: Change) {
    let (collection, id) = match &change {
        Change::Insert { collection, object } => {
            (collection.clone(), id_of(object).unwrap_or_default())
        }
        Change::Remove { collection, id } | Change::Patch { collection, id, .. } => {
            (collection.clone(), id.clone())
        }
    };
    let Some((_, items)) = values.iter_mut().find(|(n, _)| *n == collection) else {
        return;
    };
    let position = items.iter().position(|o| id_of(o).as_deref() == Some(&id));
    match (change, position) {
        (Change::Insert { object, .. }, Some(i)) => items[i] = object,
        (Change::Insert { object, .. }, None) => items.push(object),
        (Change::Remove { .. }, Some(i)) => {
            items.remove(i);
        }
        (Change::Patch { properties, .. }, Some(i)) => {
            let Some(o) = items[i].as_object_mut() else {
                return;
            };
            for p in properties {
                match p {
                    PropertyChange::Set(k, v) => {
                        o.insert(k, v);
                    }
                    PropertyChange::Unset(k) => {
                        o.remove(&k);
                    }
                    PropertyChange::Elements {
                        name,
                        added,
                        removed,
                    } => {
                        let entry = o.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(a) = entry {
                            a.retain(|e| !removed.contains(e));
                            for e in added {
                                if !a.contains(&e) {
                                    a.push(e);
                                }
                            }
                        }
                    }
                }
            }
        }
        // The object went away meanwhile: a late patch or removal has nothing to act on.
        (Change::Remove { .. } | Change::Patch { .. }, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;
    use crate::fixture::TenantFixture;

    #[test]
    fn a_lagged_write_lands_when_the_clock_has_moved() {
        let mut t = Tenant::from_fixture(TenantFixture::default_fixture()).unwrap();
        t.clock = VirtualClock::frozen(time::macros::datetime!(2026-01-01 0:00 UTC));
        let app = t
            .write_with_lag(Some(Duration::seconds(30)), |t| {
                Ok::<_, ()>(t.register_application("late"))
            })
            .unwrap();
        assert!(t.application_by_app_id(app.app_id).is_none());
        t.advance_clock(Duration::seconds(29));
        t.settle_replication();
        assert!(t.application_by_app_id(app.app_id).is_none());
        t.advance_clock(Duration::seconds(1));
        t.settle_replication();
        assert!(t.application_by_app_id(app.app_id).is_some());
        assert!(t.service_principal_by_app_id(app.app_id).is_some());
    }
}
