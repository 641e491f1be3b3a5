//! Replication lag: a write that a fault rule delays is accepted and answered as usual, but its
//! effect on the directory is held back until the tenant clock has moved `lag` past the write.
//! Until then readers (Graph, the token endpoint) see the directory as it was: a new key is not
//! yet accepted, a new account cannot sign in, a removed key still works.
//!
//! Any write is delayed the same way (`Tenant::write_with_lag`): the write runs, the difference
//! it made to the `Directory` is recorded here, the directory is put back, and the difference is
//! applied when due (`Tenant::settle_replication`, which `state::lock` calls each time a tenant
//! is locked). The difference is taken on the directory as serde writes it: each member of its
//! JSON object is a collection (an array of objects with an `id`: elements are inserted,
//! removed or patched) or a single object (patched). Objects are patched property by property,
//! array properties element by element, so that two pending writes to `keyCredentials` both
//! land. No collection is named here: the names come from the directory's own serialization
//! and go back to it.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::directory::Directory;

/// The writes of a tenant that are accepted but not visible yet.
#[derive(Clone, Debug, Default)]
pub struct Backlog {
    pending: Vec<PendingWrite>,
}

#[derive(Clone, Debug)]
struct PendingWrite {
    due: OffsetDateTime,
    changes: Vec<Change>,
}

/// One change to one member of the directory's JSON object.
#[derive(Clone, Debug)]
enum Change {
    Insert {
        member: String,
        object: Value,
    },
    Remove {
        member: String,
        id: String,
    },
    /// Changes to the element `id` of a collection, or (`id: None`) to a single-object member.
    Patch {
        member: String,
        id: Option<String>,
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

impl Backlog {
    /// How many writes are held back.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Holds back what a write changed (`before` → `after`) until `due`. A write that changed
    /// nothing holds nothing back.
    pub fn hold_back(&mut self, before: &Directory, after: &Directory, due: OffsetDateTime) {
        let changes = diff(&members(before), &members(after));
        if !changes.is_empty() {
            self.pending.push(PendingWrite { due, changes });
        }
    }

    /// Applies to `directory` the held-back writes due at `now`, oldest first.
    pub fn settle(&mut self, now: OffsetDateTime, directory: &mut Directory) {
        if self.pending.is_empty() {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| p.due <= now);
        self.pending = later;
        if due.is_empty() {
            return;
        }
        let mut values = members(directory);
        for write in due {
            for change in write.changes {
                apply(&mut values, change);
            }
        }
        restore(directory, values);
    }
}

/// The directory as its JSON object's members.
fn members(d: &Directory) -> Map<String, Value> {
    // A directory is structs, strings, numbers and string-keyed maps: JSON holds it all.
    match serde_json::to_value(d).expect("a directory is JSON") {
        Value::Object(m) => m,
        _ => unreachable!("a directory serializes as a JSON object"),
    }
}

/// Puts `values` back into `directory`. A member that no longer fits (no longer deserializes)
/// is left as it was, and its changes are dropped.
fn restore(directory: &mut Directory, values: Map<String, Value>) {
    if let Ok(d) = serde_json::from_value(Value::Object(values.clone())) {
        *directory = d;
        return;
    }
    for (member, value) in values {
        let mut candidate = members(directory);
        candidate.insert(member, value);
        match serde_json::from_value(Value::Object(candidate)) {
            Ok(d) => *directory = d,
            Err(_) => {
                tracing::warn!("a replicated write no longer fits the directory; it is dropped")
            }
        }
    }
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<Change> {
    let mut out = Vec::new();
    let names = before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)));
    for name in names {
        let (old, new) = (before.get(name), after.get(name));
        if old == new {
            continue;
        }
        match (old, new) {
            (Some(Value::Array(old)), Some(Value::Array(new))) => {
                diff_collection(name, old, new, &mut out)
            }
            // A single object; absent stands for its empty form.
            _ => {
                let properties = diff_object(
                    old.and_then(Value::as_object),
                    new.and_then(Value::as_object),
                );
                if !properties.is_empty() {
                    out.push(Change::Patch {
                        member: name.clone(),
                        id: None,
                        properties,
                    });
                }
            }
        }
    }
    out
}

fn diff_collection(member: &str, old: &[Value], new: &[Value], out: &mut Vec<Change>) {
    for o in old {
        let Some(id) = id_of(o) else { continue };
        match new.iter().find(|n| id_of(n).as_deref() == Some(&id)) {
            None => out.push(Change::Remove {
                member: member.to_string(),
                id,
            }),
            Some(n) if n != o => out.push(Change::Patch {
                member: member.to_string(),
                id: Some(id),
                properties: diff_object(o.as_object(), n.as_object()),
            }),
            Some(_) => {}
        }
    }
    for n in new {
        let Some(id) = id_of(n) else { continue };
        if !old.iter().any(|o| id_of(o).as_deref() == Some(&id)) {
            out.push(Change::Insert {
                member: member.to_string(),
                object: n.clone(),
            });
        }
    }
}

fn diff_object(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> Vec<PropertyChange> {
    let empty = Map::new();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
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

fn apply(values: &mut Map<String, Value>, change: Change) {
    match change {
        Change::Insert { member, object } => {
            let Some(items) = collection(values, &member) else {
                return;
            };
            let id = id_of(&object);
            match items.iter().position(|o| id_of(o) == id) {
                Some(i) => items[i] = object,
                None => items.push(object),
            }
        }
        Change::Remove { member, id } => {
            if let Some(items) = collection(values, &member) {
                items.retain(|o| id_of(o).as_deref() != Some(&id));
            }
        }
        Change::Patch {
            member,
            id: Some(id),
            properties,
        } => {
            let Some(items) = collection(values, &member) else {
                return;
            };
            // The object went away meanwhile: a late patch has nothing to act on.
            if let Some(o) = items
                .iter_mut()
                .find(|o| id_of(o).as_deref() == Some(&id))
                .and_then(Value::as_object_mut)
            {
                patch(o, properties);
            }
        }
        Change::Patch {
            member,
            id: None,
            properties,
        } => {
            let entry = values
                .entry(member)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(o) = entry.as_object_mut() {
                patch(o, properties);
            }
        }
    }
}

fn collection<'v>(values: &'v mut Map<String, Value>, member: &str) -> Option<&'v mut Vec<Value>> {
    values.get_mut(member).and_then(Value::as_array_mut)
}

fn patch(o: &mut Map<String, Value>, properties: Vec<PropertyChange>) {
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

#[cfg(test)]
mod tests {
    use crate::clock::VirtualClock;
    use crate::fixture::TenantFixture;
    use crate::tenant::Tenant;
    use time::Duration;

    fn frozen_tenant() -> Tenant {
        let mut t = Tenant::from_fixture(TenantFixture::default_fixture()).unwrap();
        t.clock = VirtualClock::frozen(time::macros::datetime!(2026-01-01 0:00 UTC));
        t
    }

    #[test]
    fn a_lagged_write_lands_when_the_clock_has_moved() {
        let mut t = frozen_tenant();
        let app = t
            .write_with_lag(Some(Duration::seconds(30)), |t| {
                Ok::<_, ()>(t.register_application("late"))
            })
            .unwrap();
        assert!(t.directory.application_by_app_id(app.app_id).is_none());
        t.advance_clock(Duration::seconds(29));
        t.settle_replication();
        assert!(t.directory.application_by_app_id(app.app_id).is_none());
        t.advance_clock(Duration::seconds(1));
        t.settle_replication();
        assert!(t.directory.application_by_app_id(app.app_id).is_some());
        assert!(
            t.directory
                .service_principal_by_app_id(app.app_id)
                .is_some()
        );
    }

    /// The service models' state is one object, not a collection; emptied by a lagged write,
    /// it empties when due, and what another write set meanwhile stays.
    #[test]
    fn a_single_object_member_is_patched_property_by_property() {
        let mut t = frozen_tenant();
        t.directory.services.exported_objects = 3;
        t.write_with_lag(Some(Duration::seconds(10)), |t| {
            t.directory.services.exported_objects = 0;
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(t.directory.services.exported_objects, 3);
        t.directory.services.on_premises_sync_enabled = true;
        t.advance_clock(Duration::seconds(10));
        t.settle_replication();
        assert_eq!(t.directory.services.exported_objects, 0);
        assert!(t.directory.services.on_premises_sync_enabled);
    }
}
