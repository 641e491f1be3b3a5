//! The organization: the tenant itself as Graph shows it (its verified domains, and whether
//! directory synchronization has run, from the service models' state).

use serde_json::{Map, Value, json};

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::query::{Object, QueryOptions, select};
use super::request::{Context, EntitySet, Outcome, Reply};
use crate::tenant::Tenant;

pub fn organization_view(t: &Tenant) -> Object {
    let domains: Vec<Value> = t
        .verified_domains
        .iter()
        .map(|d| {
            let initial = d.eq_ignore_ascii_case(&t.initial_domain);
            json!({"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": initial, "isInitial": initial, "name": d, "type": "Managed"})
        })
        .collect();
    let s = &t.directory.services;
    let mut o = Map::new();
    o.insert("id".into(), json!(t.id.to_string()));
    o.insert("deletedDateTime".into(), Value::Null);
    o.insert("displayName".into(), json!(t.display_name));
    o.insert("tenantType".into(), json!("AAD"));
    o.insert(
        "onPremisesSyncEnabled".into(),
        if s.on_premises_sync_enabled {
            json!(true)
        } else {
            Value::Null
        },
    );
    o.insert(
        "onPremisesLastSyncDateTime".into(),
        s.last_export
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    o.insert("verifiedDomains".into(), Value::Array(domains));
    o
}

/// The organization as a one-item list (`id` is `None`) or by its id.
pub fn organization(t: &Tenant, caller: &Caller, id: Option<&str>, q: &QueryOptions) -> Outcome {
    authorize(t, caller, Need::ReadDirectory)?;
    let view = select(organization_view(t), q, "microsoft.graph.organization", &[])?;
    let context = Context::selected(EntitySet::Organization, q);
    match id {
        None => Ok(Reply::Collection {
            context,
            items: vec![view],
            next_skip: None,
        }),
        Some(id) if id.eq_ignore_ascii_case(&t.id.to_string()) => Ok(Reply::entity(context, view)),
        Some(id) => Err(GraphError::not_found(id)),
    }
}
