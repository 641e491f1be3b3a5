//! Users (with their password profile), directory roles and their members, unified role
//! assignments, and the organization: enough to create and remove the legacy `Sync_*` account
//! with the Directory Synchronization Accounts role, as the Connect wizard does.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::super::directory::{PasswordProfile, RoleAssignment, User};
use super::super::ids::ObjectId;
use super::super::roles;
use super::super::tenant::Tenant;
use super::GraphError;
use super::auth::{Caller, Need, authorize};
use super::objects::{
    body_object, read_only, service_principal_view, to_object, unknown_key, unknown_property,
};
use super::query::{Filterable, Object, QueryOptions, select};
use super::request::{Key, Reply};

pub const USER_TYPE: &str = "microsoft.graph.user";
pub const USER_FILTER: Filterable = Filterable {
    type_name: USER_TYPE,
    eq: &[
        "id",
        "userPrincipalName",
        "displayName",
        "mailNickname",
        "accountEnabled",
        "onPremisesImmutableId",
    ],
    starts_with: &["displayName", "userPrincipalName"],
};
pub const USER_EXTRA: &[&str] = &[
    "passwordProfile",
    "mail",
    "givenName",
    "surname",
    "jobTitle",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "businessPhones",
    "userType",
    "onPremisesSyncEnabled",
    "onPremisesImmutableId",
];
pub const ROLE_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.directoryRole",
    eq: &["id", "displayName", "roleTemplateId"],
    starts_with: &["displayName"],
};
pub const ROLE_ASSIGNMENT_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.unifiedRoleAssignment",
    eq: &["id", "principalId", "roleDefinitionId", "directoryScopeId"],
    starts_with: &[],
};
pub const MEMBER_FILTER: Filterable = Filterable {
    type_name: "microsoft.graph.directoryObject",
    eq: &["id", "displayName", "userPrincipalName"],
    starts_with: &["displayName"],
};

pub fn user_view(u: &User) -> Object {
    let mut o = to_object(u);
    // Graph never returns the password.
    o.remove("passwordProfile");
    o.insert("mail".into(), Value::Null);
    o.insert("userType".into(), json!("Member"));
    o
}

pub fn find_user<'t>(t: &'t Tenant, key: &Key) -> Result<&'t User, GraphError> {
    let text = match key {
        Key::Id(s) => s.as_str(),
        Key::Alt { property, value } if property.eq_ignore_ascii_case("userPrincipalName") => {
            value.as_str()
        }
        Key::Alt { property, .. } => return Err(unknown_key(property, USER_TYPE)),
    };
    let found = match Uuid::parse_str(text.trim()) {
        Ok(id) => t.users.iter().find(|u| u.id == ObjectId(id)),
        Err(_) if text.contains('@') => t.user_by_upn(text),
        Err(_) => return Err(GraphError::InvalidObjectId(text.to_string())),
    };
    found.ok_or_else(|| GraphError::NotFound(text.to_string()))
}

pub fn get_user(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    q: &QueryOptions,
) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    let u = find_user(t, key)?;
    Ok(Reply::entity(
        format!("users{}/$entity", q.context_suffix()),
        select(user_view(u), q, USER_TYPE, USER_EXTRA)?,
    ))
}

pub fn list_users(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    Ok(t.users.iter().map(user_view).collect())
}

pub fn me(t: &Tenant, caller: &Caller, q: &QueryOptions) -> Result<Reply, GraphError> {
    match caller {
        Caller::User { id, .. } => get_user(t, caller, &Key::Id(id.to_string()), q),
        Caller::App { .. } => Err(GraphError::BadRequest(
            "/me request is only valid with delegated authentication flow.".into(),
        )),
    }
}

/// Entra's default password policy: 8 to 256 characters, three of the four character classes.
pub fn password_is_complex(p: &str) -> bool {
    let classes = [
        p.chars().any(|c| c.is_lowercase()),
        p.chars().any(|c| c.is_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_alphanumeric()),
    ];
    (8..=256).contains(&p.chars().count()) && classes.iter().filter(|c| **c).count() >= 3
}

fn check_upn(t: &Tenant, upn: &str, except: Option<ObjectId>) -> Result<(), GraphError> {
    let domain = upn
        .rsplit_once('@')
        .filter(|(l, d)| !l.is_empty() && !d.is_empty());
    let Some((_, domain)) = domain else {
        return Err(GraphError::BadRequest(
            "Invalid value specified for property 'userPrincipalName' of resource 'User'.".into(),
        ));
    };
    if !t
        .verified_domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
    {
        return Err(GraphError::BadRequest(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.".into(),
        ));
    }
    if t.users
        .iter()
        .any(|u| Some(u.id) != except && u.user_principal_name.eq_ignore_ascii_case(upn))
    {
        return Err(GraphError::SameValue {
            property: "userPrincipalName",
        });
    }
    Ok(())
}

fn password_profile(v: &Value) -> Result<PasswordProfile, GraphError> {
    let invalid = || {
        GraphError::BadRequest(
            "Invalid value specified for property 'passwordProfile' of resource 'User'.".into(),
        )
    };
    let o = v.as_object().ok_or_else(invalid)?;
    let password = o
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    if !password_is_complex(password) {
        return Err(GraphError::PasswordComplexity);
    }
    Ok(PasswordProfile {
        password: password.to_string(),
        force_change_password_next_sign_in: o
            .get("forceChangePasswordNextSignIn")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

const USER_IGNORED: &[&str] = &[
    "givenName",
    "surname",
    "jobTitle",
    "usageLocation",
    "passwordPolicies",
    "mail",
    "userType",
];

pub fn create_user(t: &mut Tenant, caller: &Caller, body: &Value) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::WriteUsers)?;
    let obj = body_object(body)?;
    for k in obj.keys() {
        let known = [
            "accountEnabled",
            "displayName",
            "mailNickname",
            "userPrincipalName",
            "passwordProfile",
            "onPremisesImmutableId",
        ];
        if !(known.contains(&k.as_str())
            || k.starts_with('@')
            || USER_IGNORED.contains(&k.as_str()))
        {
            return Err(unknown_property(k, USER_TYPE));
        }
    }
    let required = |name: &str| {
        obj.get(name).filter(|v| !v.is_null()).ok_or_else(|| {
            GraphError::BadRequest(format!(
                "Invalid value specified for property '{name}' of resource 'User'."
            ))
        })
    };
    let str_of = |name: &str| -> Result<String, GraphError> {
        required(name)?.as_str().map(str::to_string).ok_or_else(|| {
            GraphError::BadRequest(format!(
                "Invalid value specified for property '{name}' of resource 'User'."
            ))
        })
    };
    let account_enabled = required("accountEnabled")?.as_bool().ok_or_else(|| {
        GraphError::BadRequest(
            "Invalid value specified for property 'accountEnabled' of resource 'User'.".into(),
        )
    })?;
    let display_name = str_of("displayName")?;
    let mail_nickname = str_of("mailNickname")?;
    let upn = str_of("userPrincipalName")?;
    let profile = password_profile(required("passwordProfile")?)?;
    check_upn(t, &upn, None)?;
    let user = User {
        id: ObjectId::new_random(),
        user_principal_name: upn,
        display_name,
        mail_nickname: Some(mail_nickname),
        account_enabled,
        password_profile: profile,
        created_date_time: Some(t.now()),
        on_premises_immutable_id: obj
            .get("onPremisesImmutableId")
            .and_then(Value::as_str)
            .map(str::to_string),
        on_premises_sync_enabled: None,
    };
    let view = user_view(&user);
    t.users.push(user);
    Ok(Reply::created("users/$entity".into(), view))
}

pub fn update_user(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    body: &Value,
) -> Result<Reply, GraphError> {
    let user = find_user(t, key)?;
    authorize(t, caller, Need::WriteUsers)?;
    let id = user.id;
    let mut updated = user.clone();
    for (k, v) in body_object(body)? {
        let invalid = || {
            GraphError::BadRequest(format!(
                "Invalid value specified for property '{k}' of resource 'User'."
            ))
        };
        match k.as_str() {
            "accountEnabled" => updated.account_enabled = v.as_bool().ok_or_else(invalid)?,
            "displayName" => updated.display_name = v.as_str().ok_or_else(invalid)?.to_string(),
            "mailNickname" => {
                updated.mail_nickname = Some(v.as_str().ok_or_else(invalid)?.to_string())
            }
            "userPrincipalName" => {
                let upn = v.as_str().ok_or_else(invalid)?;
                check_upn(t, upn, Some(id))?;
                updated.user_principal_name = upn.to_string();
            }
            "passwordProfile" => updated.password_profile = password_profile(v)?,
            "onPremisesImmutableId" => {
                updated.on_premises_immutable_id = v.as_str().map(str::to_string)
            }
            "id" | "createdDateTime" => return Err(read_only(k)),
            _ if k.starts_with('@') || USER_IGNORED.contains(&k.as_str()) => {}
            _ => return Err(unknown_property(k, USER_TYPE)),
        }
    }
    if let Some(u) = t.users.iter_mut().find(|u| u.id == id) {
        *u = updated;
    }
    Ok(Reply::NoContent)
}

pub fn delete_user(t: &mut Tenant, caller: &Caller, key: &Key) -> Result<Reply, GraphError> {
    let id = find_user(t, key)?.id;
    authorize(t, caller, Need::WriteUsers)?;
    t.users.retain(|u| u.id != id);
    t.role_assignments.retain(|r| r.principal_id != id);
    t.app_role_assignments.retain(|a| a.principal_id != id);
    for a in &mut t.applications {
        a.owners.retain(|o| *o != id);
    }
    Ok(Reply::NoContent)
}

/// A built-in role as a directoryRole. The mock uses the template id as the object id too, so
/// `/directoryRoles/{templateId}` and `/directoryRoles(roleTemplateId='...')` both work.
fn role_view(id: Uuid, name: &str) -> Object {
    let mut o = Map::new();
    o.insert("id".into(), json!(id.to_string()));
    o.insert("deletedDateTime".into(), Value::Null);
    o.insert("description".into(), json!(name));
    o.insert("displayName".into(), json!(name));
    o.insert("roleTemplateId".into(), json!(id.to_string()));
    o
}

fn find_role(key: &Key) -> Result<(Uuid, &'static str), GraphError> {
    let text = match key {
        Key::Id(s) => s,
        Key::Alt { property, value } if property.eq_ignore_ascii_case("roleTemplateId") => value,
        Key::Alt { property, .. } => {
            return Err(unknown_key(property, "microsoft.graph.directoryRole"));
        }
    };
    let id = Uuid::parse_str(text.trim()).map_err(|_| GraphError::InvalidObjectId(text.clone()))?;
    roles::display_name(id)
        .map(|n| (id, n))
        .ok_or_else(|| GraphError::NotFound(text.clone()))
}

pub fn list_roles(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    Ok(roles::BUILT_IN
        .iter()
        .map(|(id, n)| role_view(*id, n))
        .collect())
}

pub fn get_role(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
    q: &QueryOptions,
) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    let (id, name) = find_role(key)?;
    Ok(Reply::entity(
        format!("directoryRoles{}/$entity", q.context_suffix()),
        select(role_view(id, name), q, "microsoft.graph.directoryRole", &[])?,
    ))
}

fn member_view(t: &Tenant, principal: ObjectId) -> Option<Object> {
    if let Some(u) = t.users.iter().find(|u| u.id == principal) {
        let mut o = Map::new();
        o.insert("@odata.type".into(), json!("#microsoft.graph.user"));
        o.extend(user_view(u));
        return Some(o);
    }
    t.service_principal(principal).map(|s| {
        let mut o = Map::new();
        o.insert(
            "@odata.type".into(),
            json!("#microsoft.graph.servicePrincipal"),
        );
        o.extend(service_principal_view(s, false));
        o
    })
}

pub fn list_role_members(
    t: &Tenant,
    caller: &Caller,
    key: &Key,
) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    let (role, _) = find_role(key)?;
    Ok(t.role_assignments
        .iter()
        .filter(|r| r.role_definition_id == role && r.directory_scope_id == "/")
        .filter_map(|r| member_view(t, r.principal_id))
        .collect())
}

fn principal_exists(t: &Tenant, id: ObjectId) -> bool {
    t.users.iter().any(|u| u.id == id) || t.service_principal(id).is_some()
}

fn assign_role(
    t: &mut Tenant,
    caller: &Caller,
    principal: ObjectId,
    role: Uuid,
) -> Result<RoleAssignment, GraphError> {
    authorize(t, caller, Need::AssignDirectoryRole(role))?;
    if !principal_exists(t, principal) {
        return Err(GraphError::NotFound(principal.to_string()));
    }
    if t.role_assignments.iter().any(|r| {
        r.principal_id == principal && r.role_definition_id == role && r.directory_scope_id == "/"
    }) {
        return Err(GraphError::ReferenceExists);
    }
    let assignment = RoleAssignment {
        id: super::opaque_id(),
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: "/".into(),
    };
    t.role_assignments.push(assignment.clone());
    Ok(assignment)
}

/// `POST /directoryRoles/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`.
pub fn add_role_member(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    body: &Value,
) -> Result<Reply, GraphError> {
    let (role, _) = find_role(key)?;
    let reference = body_object(body)?
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GraphError::BadRequest("The request body must name the member in '@odata.id'.".into())
        })?;
    let last = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let principal =
        Uuid::parse_str(last).map_err(|_| GraphError::InvalidObjectId(last.to_string()))?;
    assign_role(t, caller, ObjectId(principal), role)?;
    Ok(Reply::NoContent)
}

pub fn remove_role_member(
    t: &mut Tenant,
    caller: &Caller,
    key: &Key,
    member: &str,
) -> Result<Reply, GraphError> {
    let (role, _) = find_role(key)?;
    authorize(t, caller, Need::AssignDirectoryRole(role))?;
    let principal = ObjectId(
        Uuid::parse_str(member.trim())
            .map_err(|_| GraphError::InvalidObjectId(member.to_string()))?,
    );
    let before = t.role_assignments.len();
    t.role_assignments
        .retain(|r| !(r.principal_id == principal && r.role_definition_id == role));
    if before == t.role_assignments.len() {
        return Err(GraphError::NotFound(member.to_string()));
    }
    Ok(Reply::NoContent)
}

fn role_assignment_view(r: &RoleAssignment) -> Object {
    to_object(r)
}

pub fn list_role_assignments(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    Ok(t.role_assignments
        .iter()
        .map(role_assignment_view)
        .collect())
}

pub fn get_role_assignment(t: &Tenant, caller: &Caller, id: &str) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    let r = t
        .role_assignments
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
    Ok(Reply::entity(
        "roleManagement/directory/roleAssignments/$entity".into(),
        role_assignment_view(r),
    ))
}

pub fn create_role_assignment(
    t: &mut Tenant,
    caller: &Caller,
    body: &Value,
) -> Result<Reply, GraphError> {
    let obj = body_object(body)?;
    let guid = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .ok_or_else(|| GraphError::BadRequest(format!("Invalid value specified for property '{name}' of resource 'UnifiedRoleAssignment'.")))
    };
    let principal = ObjectId(guid("principalId")?);
    let role = guid("roleDefinitionId")?;
    let scope = obj
        .get("directoryScopeId")
        .and_then(Value::as_str)
        .unwrap_or("/");
    if scope != "/" {
        return Err(GraphError::BadRequest(
            "The mock supports the tenant-wide directory scope '/' only.".into(),
        ));
    }
    if roles::display_name(role).is_none() {
        return Err(GraphError::BadRequest(format!(
            "The role definition '{role}' does not exist."
        )));
    }
    let assignment = assign_role(t, caller, principal, role).map_err(|e| match e {
        GraphError::ReferenceExists => GraphError::BadRequest(
            "A conflicting object with one or more of the specified property values is present in the directory.".into(),
        ),
        other => other,
    })?;
    Ok(Reply::created(
        "roleManagement/directory/roleAssignments/$entity".into(),
        role_assignment_view(&assignment),
    ))
}

pub fn delete_role_assignment(
    t: &mut Tenant,
    caller: &Caller,
    id: &str,
) -> Result<Reply, GraphError> {
    let r = t
        .role_assignments
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
    authorize(t, caller, Need::AssignDirectoryRole(r.role_definition_id))?;
    t.role_assignments.retain(|r| r.id != id);
    Ok(Reply::NoContent)
}

pub fn organization_view(t: &Tenant) -> Object {
    let domains: Vec<Value> = t
        .verified_domains
        .iter()
        .map(|d| {
            let initial = d.eq_ignore_ascii_case(&t.initial_domain);
            json!({"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": initial, "isInitial": initial, "name": d, "type": "Managed"})
        })
        .collect();
    let s = &t.services;
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

pub fn organization(
    t: &Tenant,
    caller: &Caller,
    id: Option<&str>,
    q: &QueryOptions,
) -> Result<Reply, GraphError> {
    authorize(t, caller, Need::ReadDirectory)?;
    let view = select(organization_view(t), q, "microsoft.graph.organization", &[])?;
    match id {
        None => Ok(Reply::Collection {
            context: format!("organization{}", q.context_suffix()),
            items: vec![view],
            next_skip: None,
        }),
        Some(id) if id.eq_ignore_ascii_case(&t.id.to_string()) => Ok(Reply::entity(
            format!("organization{}/$entity", q.context_suffix()),
            view,
        )),
        Some(id) => Err(GraphError::NotFound(id.to_string())),
    }
}
