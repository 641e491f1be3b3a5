//! Users (with their password profile) and `/me`: enough to create and remove the legacy
//! `Sync_*` account as the Connect wizard does, with Graph's checks of the user principal name
//! and Entra's default password policy.

use serde_json::{Value, json};

use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::payload::{self, passed_over};
use super::query::{Filterable, Object, QueryOptions, select, to_object};
use super::request::{Collection, Context, EntitySet, Key, Outcome, Reply};
use crate::directory::{PasswordProfile, User};
use crate::ids::ObjectId;
use crate::tenant::Tenant;

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
/// Properties of the Graph type that the mock does not model; `$select` returns them null.
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

/// Writable properties Graph has but the mock ignores (kept out of the "unknown property" error).
const USER_IGNORED: &[&str] = &[
    "givenName",
    "surname",
    "jobTitle",
    "usageLocation",
    "passwordPolicies",
    "mail",
    "userType",
];

const RESOURCE: &str = "User";

pub fn user_view(u: &User) -> Object {
    let mut o = to_object(u);
    // Graph never returns the password.
    o.remove("passwordProfile");
    o.insert("mail".into(), Value::Null);
    o.insert("userType".into(), json!("Member"));
    if let Some(Value::Object(kept)) = o.remove("kept") {
        o.extend(kept);
    }
    o
}

/// The user a key names: by object id, by user principal name (as the id or
/// `(userPrincipalName='...')`).
pub fn find_user<'t>(t: &'t Tenant, key: &Key) -> Result<&'t User, GraphError> {
    let text = match key {
        Key::Id(s) => s.as_str(),
        Key::Alt { property, value } if property.eq_ignore_ascii_case("userPrincipalName") => {
            value.as_str()
        }
        Key::Alt { property, .. } => {
            return Err(GraphError::NotAnAlternateKey {
                property: property.clone(),
                type_name: USER_TYPE,
            });
        }
    };
    let found = match payload::guid(text) {
        Ok(id) => t.directory.user(ObjectId(id)),
        Err(_) if text.contains('@') => t.directory.user_by_upn(text),
        Err(e) => return Err(e),
    };
    found.ok_or_else(|| GraphError::not_found(text))
}

fn unknown_property(name: &str) -> GraphError {
    GraphError::UnknownProperty {
        name: name.to_string(),
        type_name: USER_TYPE,
    }
}

pub fn get_user(t: &Tenant, caller: &Caller, key: &Key, q: &QueryOptions) -> Outcome {
    authorize(t, caller, Need::ReadUsers)?;
    user_reply(find_user(t, key)?, q)
}

fn user_reply(u: &User, q: &QueryOptions) -> Outcome {
    Ok(Reply::entity(
        Context::selected(EntitySet::Collection(Collection::Users), q),
        select(user_view(u), q, USER_TYPE, USER_EXTRA)?,
    ))
}

pub fn list_users(t: &Tenant, caller: &Caller) -> Result<Vec<Object>, GraphError> {
    authorize(t, caller, Need::ReadUsers)?;
    Ok(t.directory.users.iter().map(user_view).collect())
}

pub fn me(t: &Tenant, caller: &Caller, q: &QueryOptions) -> Outcome {
    match caller {
        Caller::User { id, .. } => {
            authorize(t, caller, Need::ReadMe)?;
            let me = t
                .directory
                .user(*id)
                .ok_or_else(|| GraphError::not_found(id))?;
            user_reply(me, q)
        }
        Caller::App { .. } => Err(GraphError::MeNeedsUser),
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
        return Err(GraphError::invalid_on("userPrincipalName", RESOURCE));
    };
    if !t.has_domain(domain) {
        return Err(GraphError::UnverifiedDomain);
    }
    if t.directory
        .users
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
    let invalid = || GraphError::invalid_on("passwordProfile", RESOURCE);
    let o = v.as_object().ok_or_else(invalid)?;
    let password = o
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    if !password_is_complex(password) {
        return Err(GraphError::PasswordComplexity);
    }
    // "If not set, default is false." (Graph's passwordProfile resource, beta), and the
    // Azure PowerShell model says the same; a user who must change it cannot use the password
    // grant (AADSTS50055).
    let force_change = match o.get("forceChangePasswordNextSignIn") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid()),
    };
    Ok(PasswordProfile {
        password: password.to_string(),
        force_change_password_next_sign_in: force_change,
    })
}

pub fn create_user(t: &mut Tenant, caller: &Caller, body: &Value) -> Outcome {
    authorize(t, caller, Need::WriteUsers)?;
    let obj = payload::object(body)?;
    let known = [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
        "onPremisesImmutableId",
    ];
    if let Some(k) = obj
        .keys()
        .find(|k| !(known.contains(&k.as_str()) || passed_over(k, USER_IGNORED)))
    {
        return Err(unknown_property(k));
    }
    let required = |name: &str| {
        obj.get(name)
            .filter(|v| !v.is_null())
            .ok_or_else(|| GraphError::invalid_on(name, RESOURCE))
    };
    let str_of = |name: &str| -> Result<String, GraphError> {
        required(name)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| GraphError::invalid_on(name, RESOURCE))
    };
    let account_enabled = required("accountEnabled")?
        .as_bool()
        .ok_or_else(|| GraphError::invalid_on("accountEnabled", RESOURCE))?;
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
        kept: obj
            .iter()
            .filter(|(k, _)| USER_IGNORED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    let view = user_view(&user);
    t.directory.users.push(user);
    Ok(Reply::created(
        Context::whole(EntitySet::Collection(Collection::Users)),
        view,
    ))
}

pub fn update_user(t: &mut Tenant, caller: &Caller, key: &Key, body: &Value) -> Outcome {
    let user = find_user(t, key)?;
    authorize(t, caller, Need::WriteUsers)?;
    let id = user.id;
    let mut updated = user.clone();
    for (k, v) in payload::object(body)? {
        let invalid = || GraphError::invalid_on(k, RESOURCE);
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
            "id" | "createdDateTime" => {
                return Err(GraphError::ReadOnlyProperty { name: k.clone() });
            }
            _ if k.starts_with('@') => {}
            _ if USER_IGNORED.contains(&k.as_str()) => {
                let old = updated.kept.get(k.as_str()).cloned();
                updated
                    .kept
                    .insert(k.clone(), payload::patched(v, old.as_ref()));
            }
            _ => return Err(unknown_property(k)),
        }
    }
    if let Some(u) = t.directory.users.iter_mut().find(|u| u.id == id) {
        *u = updated;
    }
    Ok(Reply::NoContent)
}

pub fn delete_user(t: &mut Tenant, caller: &Caller, key: &Key) -> Outcome {
    let id = find_user(t, key)?.id;
    authorize(t, caller, Need::WriteUsers)?;
    let d = &mut t.directory;
    d.users.retain(|u| u.id != id);
    d.role_assignments.retain(|r| r.principal_id != id);
    d.app_role_assignments.retain(|a| a.principal_id != id);
    d.oauth2_permission_grants
        .retain(|g| g.principal_id != Some(id));
    for a in &mut d.applications {
        a.owners.retain(|o| *o != id);
    }
    Ok(Reply::NoContent)
}
