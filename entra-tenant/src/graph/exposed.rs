//! What an application exposes as a resource, with Graph's rules for changing it: its app
//! roles (`appRoles`), its delegated permissions (`api.oauth2PermissionScopes`) and the names
//! tokens may ask for it by (`identifierUris`). Stored and honoured: the application's service
//! principal offers the same roles and scopes and answers to the same names.
//!
//! - A collection is replaced whole (omitting an entry deletes it); an *enabled* entry may not
//!   be changed or deleted, only disabled first (`CannotDeleteOrUpdateEnabledEntitlement`);
//!   two entries with one id or value are `DuplicateValue`.
//! - An app role needs at least one `allowedMemberTypes`.
//! - New identifier URIs use `api://` with the appId or tenant id as Entra requires, or HTTP(S)
//!   on a verified domain of the tenant or a subdomain (`HostNameNotOnVerifiedDomain`); values
//!   already there are not checked again (the breaking-changes note: "existing values are not
//!   re-validated").

use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::GraphError;
use super::payload;
use crate::directory::{AppRole, PermissionScope};
use crate::ids::AppId;
use crate::tenant::Tenant;

/// Checks a replacement of an entitlement collection: no two entries share an id or a value,
/// and every enabled entry of `old` is still there unchanged, or only disabled.
fn check_replacement<T: PartialEq + Clone>(
    old: &[T],
    new: &[T],
    target: &'static str,
    id: impl Fn(&T) -> Uuid,
    value: impl Fn(&T) -> &str,
    enabled: impl Fn(&T) -> bool,
    disabled: impl Fn(&T) -> T,
) -> Result<(), GraphError> {
    for (i, a) in new.iter().enumerate() {
        if new[..i]
            .iter()
            .any(|b| id(a) == id(b) || (!value(a).is_empty() && value(a) == value(b)))
        {
            return Err(GraphError::DuplicateValue { target });
        }
    }
    for o in old.iter().filter(|o| enabled(o)) {
        match new.iter().find(|n| id(n) == id(o)) {
            Some(n) if n == o || *n == disabled(o) => {}
            _ => return Err(GraphError::EnabledEntitlementChanged),
        }
    }
    Ok(())
}

/// A GUID member of an entry.
fn guid_member(o: &Map<String, Value>, name: &str, property: &str) -> Result<Uuid, GraphError> {
    o.get(name)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .ok_or_else(|| GraphError::invalid_because(property, format!("'{name}' must be a GUID.")))
}

/// The new `appRoles` of an application whose roles are `old`.
pub fn app_roles(v: &Value, old: &[AppRole]) -> Result<Vec<AppRole>, GraphError> {
    let invalid = || GraphError::invalid("appRoles");
    let items = v.as_array().ok_or_else(invalid)?;
    let mut roles = Vec::new();
    for item in items {
        let o = item.as_object().ok_or_else(invalid)?;
        let id = guid_member(o, "id", "appRoles")?;
        let member_types: Vec<String> = match o.get("allowedMemberTypes") {
            None | Some(Value::Null) => Vec::new(),
            Some(t) => serde_json::from_value(t.clone()).map_err(|_| invalid())?,
        };
        if member_types.is_empty() {
            return Err(GraphError::AppRoleWithoutMemberTypes { id });
        }
        let mut role: AppRole = serde_json::from_value(item.clone())
            .map_err(|e| GraphError::invalid_because("appRoles", e.to_string()))?;
        role.allowed_member_types = member_types;
        if role.origin.is_none() {
            role.origin = Some("Application".into());
        }
        roles.push(role);
    }
    check_replacement(
        old,
        &roles,
        "appRoles",
        |r| r.id,
        |r| &r.value,
        |r| r.is_enabled,
        |r| AppRole {
            is_enabled: false,
            ..r.clone()
        },
    )?;
    Ok(roles)
}

/// The delegated permissions an `api` value declares.
pub fn scopes_of(api: Option<&Value>) -> Vec<PermissionScope> {
    api.and_then(|a| a.get("oauth2PermissionScopes"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default()
}

/// The new `api` of an application whose `api` is `old`: an object, whose
/// `oauth2PermissionScopes` follow the entitlement rules. Members the PATCH does not name keep
/// their value (`api` is a complex property: Graph merges it).
pub fn api(v: &Value, old: Option<&Value>) -> Result<Value, GraphError> {
    let obj = v.as_object().ok_or_else(|| GraphError::invalid("api"))?;
    let mut merged = old.and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(scopes) = obj.get("oauth2PermissionScopes") {
        let items: Vec<PermissionScope> = serde_json::from_value(scopes.clone())
            .map_err(|e| GraphError::invalid_because("api", e.to_string()))?;
        check_replacement(
            &scopes_of(old),
            &items,
            "oauth2PermissionScopes",
            |s| s.id,
            |s| &s.value,
            |s| s.is_enabled,
            |s| PermissionScope {
                is_enabled: false,
                ..s.clone()
            },
        )?;
    }
    for (k, value) in obj {
        merged.insert(k.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}

/// The new `web`: an object, kept as sent (its members merged into the old ones).
pub fn web(v: &Value, old: Option<&Value>) -> Result<Value, GraphError> {
    if !v.is_object() {
        return Err(GraphError::invalid("web"));
    }
    Ok(payload::patched(v, old))
}

/// Whether `uri` names the application as Entra allows: `api://` with the appId (alone, after
/// the tenant id, or after any name) or the tenant id and a name, or HTTP(S) on a verified
/// domain of the tenant or one of its subdomains.
fn allowed_uri(t: &Tenant, app_id: AppId, uri: &str) -> bool {
    let app = app_id.to_string();
    let tenant = t.id.to_string();
    if let Some(rest) = uri.strip_prefix("api://") {
        let rest = rest.trim_end_matches('/');
        return match rest.split_once('/') {
            None => rest.eq_ignore_ascii_case(&app),
            Some((first, second)) => {
                first.eq_ignore_ascii_case(&tenant) && !second.is_empty()
                    || second.eq_ignore_ascii_case(&app)
            }
        };
    }
    let host = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .map(|authority| authority.split(':').next().unwrap_or_default());
    host.is_some_and(|h| {
        !h.is_empty()
            && t.verified_domains.iter().any(|d| {
                h.eq_ignore_ascii_case(d)
                    || h.to_ascii_lowercase()
                        .ends_with(&format!(".{}", d.to_ascii_lowercase()))
            })
    })
}

/// The new `identifierUris` of the application `app_id` whose URIs are `old`: the new ones must
/// name it as Entra allows, and no other application may use them.
pub fn identifier_uris(
    t: &Tenant,
    app_id: AppId,
    v: &Value,
    old: &[String],
) -> Result<Vec<String>, GraphError> {
    let uris: Vec<String> =
        serde_json::from_value(v.clone()).map_err(|_| GraphError::invalid("identifierUris"))?;
    for uri in uris.iter().filter(|u| !old.contains(u)) {
        if !allowed_uri(t, app_id, uri) {
            return Err(GraphError::HostNameNotOnVerifiedDomain { uri: uri.clone() });
        }
        let taken = t.directory.applications.iter().any(|a| {
            a.app_id != app_id
                && a.identifier_uris.iter().any(|u| {
                    u.trim_end_matches('/')
                        .eq_ignore_ascii_case(uri.trim_end_matches('/'))
                })
        });
        // Graph's refusal of a URI another application has, in AAD Graph's words
        // (https://github.com/Azure/go-autorest/issues/308); Microsoft Graph's own is not
        // captured in any source found.
        if taken {
            return Err(GraphError::SameValue {
                property: "identifierUris",
            });
        }
    }
    Ok(uris)
}

/// Makes the application's service principal offer what the application exposes: its roles
/// and scopes, and its identifier URIs as names. Assignments of roles that are gone go with
/// them.
pub fn publish(t: &mut Tenant, app_id: AppId) {
    let Some(app) = t.directory.application_by_app_id(app_id) else {
        return;
    };
    let roles = app.app_roles.clone();
    let scopes = scopes_of(app.api.as_ref());
    let names: Vec<String> = std::iter::once(app_id.to_string())
        .chain(app.identifier_uris.iter().cloned())
        .collect();
    let Some(sp) = t
        .directory
        .service_principals
        .iter_mut()
        .find(|s| s.app_id == app_id)
    else {
        return;
    };
    sp.app_roles = roles;
    sp.oauth2_permission_scopes = scopes;
    sp.service_principal_names = names;
    let sp_id = sp.id;
    let kept: Vec<Uuid> = sp.app_roles.iter().map(|r| r.id).collect();
    t.directory.app_role_assignments.retain(|a| {
        a.resource_id != sp_id || a.app_role_id.is_nil() || kept.contains(&a.app_role_id)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::TenantFixture;

    #[test]
    fn identifier_uris_that_entra_takes() {
        let t = Tenant::from_fixture(TenantFixture::default_fixture()).unwrap();
        let app = AppId::new_random();
        let ok = [
            format!("api://{app}"),
            format!("api://{}/{app}", t.id),
            format!("api://{}/reader", t.id),
            format!("api://anything/{app}"),
            "https://contoso.onmicrosoft.com/reader".to_string(),
            "https://api.contoso.onmicrosoft.com".to_string(),
            "https://CONTOSO.onmicrosoft.com:443/x".to_string(),
        ];
        for uri in ok {
            assert!(allowed_uri(&t, app, &uri), "{uri}");
        }
        let refused = [
            "api://reader".to_string(),
            format!("api://{}", t.id),
            "https://fabrikam.com/reader".to_string(),
            "https://notcontoso.onmicrosoft.com".to_string(),
            "urn:contoso:reader".to_string(),
        ];
        for uri in refused {
            assert!(!allowed_uri(&t, app, &uri), "{uri}");
        }
    }
}
