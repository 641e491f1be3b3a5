//! Who is calling and what they may do, as Entra decides it. Bearer tokens (taken from the
//! `Authorization` header by the HTTP layer) are verified with the tenant's own signing key
//! against the tenant clock and read into the claims the token endpoint issued
//! (`login::AccessTokenClaims`); delegated callers are judged by the user's directory roles
//! (read from the directory now, not from the token) and the token's scopes, application
//! callers by the app roles their token carries.

use serde_json::Value;
use time::Duration;
use uuid::Uuid;

use super::error::GraphError;
use crate::directory::{Application, ServicePrincipal};
use crate::ids::{AppId, ObjectId};
use crate::jose;
use crate::login::AccessTokenClaims;
use crate::roles::{
    APPLICATION_ADMINISTRATOR, CLOUD_APPLICATION_ADMINISTRATOR, DIRECTORY_SYNCHRONIZATION_ACCOUNTS,
    GLOBAL_ADMINISTRATOR, HYBRID_IDENTITY_ADMINISTRATOR,
};
use crate::tenant::Tenant;

/// Microsoft Graph's appId, also a valid `aud` of Graph tokens.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Clock skew allowed on bearer token `nbf`/`exp`, as Entra's resource providers allow.
pub const TOKEN_SKEW: Duration = Duration::minutes(5);

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Caller {
    /// A user, through a client application (delegated permissions).
    User {
        id: ObjectId,
        client: AppId,
        scopes: Vec<String>,
    },
    /// An application on its own (application permissions).
    App {
        sp: ObjectId,
        app_id: AppId,
        roles: Vec<String>,
    },
}

impl Caller {
    /// The caller's object id (user or service principal).
    pub fn object_id(&self) -> ObjectId {
        match self {
            Caller::User { id, .. } => *id,
            Caller::App { sp, .. } => *sp,
        }
    }

    pub fn has_role(&self, value: &str) -> bool {
        matches!(self, Caller::App { roles, .. } if roles.iter().any(|r| r == value))
    }
}

/// Whether `aud` names the resource whose appId is `resource`: by appId, by one of its service
/// principal names, or (for Graph) by the cloud's Graph host.
fn audience_ok(t: &Tenant, aud: &str, resource: &str) -> bool {
    let aud = aud.trim_end_matches('/');
    if aud.eq_ignore_ascii_case(resource) {
        return true;
    }
    if resource == GRAPH_APP_ID
        && (aud.eq_ignore_ascii_case("https://graph.microsoft.com")
            || aud.eq_ignore_ascii_case(&format!("https://{}", t.cloud.graph_host())))
    {
        return true;
    }
    t.directory
        .resource(aud)
        .is_some_and(|sp| sp.app_id.to_string().eq_ignore_ascii_case(resource))
}

/// Verifies a bearer token (`None` when the request carried none) for the resource with appId
/// `resource`: the tenant's key signed it, for that resource and this tenant, and it is current.
pub fn authenticate(t: &Tenant, token: Option<&str>, resource: &str) -> Result<Caller, GraphError> {
    let token = token.ok_or(GraphError::TokenMissing)?;
    let jws = jose::parse(token).map_err(|_| GraphError::TokenMalformed)?;
    let kid_ok = [jws.header.str("kid"), jws.header.str("x5t")]
        .iter()
        .flatten()
        .any(|k| *k == t.signing_key.kid());
    if jws.header.str("alg") != Some("RS256") || !kid_ok {
        return Err(GraphError::TokenSignature);
    }
    if !t
        .signing_key
        .verify(jws.signing_input.as_bytes(), &jws.signature)
    {
        return Err(GraphError::TokenSignature);
    }
    // Only this tenant's token endpoint holds the key: the claims are the ones it issued.
    let claims: AccessTokenClaims =
        serde_json::from_value(Value::Object(jws.claims.0.into_iter().collect()))
            .map_err(|_| GraphError::TokenMalformed)?;
    if !audience_ok(t, &claims.aud, resource) {
        return Err(GraphError::TokenAudience);
    }
    if claims.tid != t.id {
        return Err(GraphError::TokenTenant);
    }
    let now = t.now().unix_timestamp();
    let skew = TOKEN_SKEW.whole_seconds();
    if now >= claims.exp.saturating_add(skew) || now < claims.nbf.saturating_sub(skew) {
        return Err(GraphError::TokenLifetime);
    }
    match claims.scp {
        Some(scp) => {
            if t.directory.user(claims.oid).is_none() {
                return Err(GraphError::IdentityNotFound);
            }
            Ok(Caller::User {
                id: claims.oid,
                client: claims.appid,
                scopes: scp.split_whitespace().map(str::to_string).collect(),
            })
        }
        None => {
            let sp = t
                .directory
                .service_principal(claims.oid)
                .ok_or(GraphError::IdentityNotFound)?;
            Ok(Caller::App {
                sp: sp.id,
                app_id: sp.app_id,
                roles: claims.roles,
            })
        }
    }
}

/// What a request needs the caller to be allowed.
#[derive(Clone, Copy, Debug)]
pub enum Need<'a> {
    /// Read applications and service principals.
    ReadApplications,
    /// Read users, directory roles, role assignments and the organization.
    ReadDirectory,
    /// Create (`None`) or change an application registration.
    WriteApplication(Option<&'a Application>),
    /// Create (`None`) or change a service principal.
    WriteServicePrincipal(Option<&'a ServicePrincipal>),
    /// addKey/removeKey on an application: its own app may always roll its keys.
    RollApplicationKey(&'a Application),
    /// addKey/removeKey on a service principal: itself may always roll its keys.
    RollServicePrincipalKey(&'a ServicePrincipal),
    AssignAppRoles,
    WriteUsers,
    /// Assign or remove a directory role (by template id).
    AssignDirectoryRole(Uuid),
}

/// Roles that manage every application registration and enterprise application. The
/// Application Administrator is among them, which is why it can add a credential to the Connect
/// Sync application and act as it (the Connect Sync documentation warns about this).
const APP_MANAGERS: &[Uuid] = &[
    GLOBAL_ADMINISTRATOR,
    HYBRID_IDENTITY_ADMINISTRATOR,
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
];
/// Roles that may create and delete users and give the Directory Synchronization Accounts
/// role, as the Connect wizard does with the administrator's sign-in.
const SYNC_ACCOUNT_MANAGERS: &[Uuid] = &[GLOBAL_ADMINISTRATOR, HYBRID_IDENTITY_ADMINISTRATOR];

const READ_APP_ROLES: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_DIRECTORY_ROLES: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
];
const WRITE_APP_ROLES: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const WRITE_APP_SCOPES: &[&str] = &[
    "Application.ReadWrite.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];

/// Whether `caller` may do what `need` says in `t`; `Authorization_RequestDenied` if not.
pub fn authorize(t: &Tenant, caller: &Caller, need: Need<'_>) -> Result<(), GraphError> {
    if allowed(t, caller, need) {
        Ok(())
    } else {
        Err(GraphError::Denied)
    }
}

fn allowed(t: &Tenant, caller: &Caller, need: Need<'_>) -> bool {
    match caller {
        Caller::User { id, scopes, .. } => {
            let roles = t.directory.directory_roles_of(*id);
            let holds = |set: &[Uuid]| roles.iter().any(|r| set.contains(r));
            let scoped = |set: &[&str]| scopes.iter().any(|s| set.contains(&s.as_str()));
            match need {
                // Member users read the directory by default.
                Need::ReadApplications | Need::ReadDirectory => true,
                Need::WriteApplication(None) => scoped(WRITE_APP_SCOPES),
                Need::WriteApplication(Some(app)) | Need::RollApplicationKey(app) => {
                    scoped(WRITE_APP_SCOPES) && (holds(APP_MANAGERS) || app.owners.contains(id))
                }
                Need::WriteServicePrincipal(None) => {
                    scoped(WRITE_APP_SCOPES) && holds(APP_MANAGERS)
                }
                Need::WriteServicePrincipal(Some(sp)) | Need::RollServicePrincipalKey(sp) => {
                    scoped(WRITE_APP_SCOPES)
                        && (holds(APP_MANAGERS) || owns_service_principal(t, *id, sp))
                }
                Need::AssignAppRoles => {
                    scoped(&[
                        "AppRoleAssignment.ReadWrite.All",
                        "Directory.AccessAsUser.All",
                    ]) && holds(APP_MANAGERS)
                }
                Need::WriteUsers => {
                    scoped(&[
                        "User.ReadWrite.All",
                        "Directory.ReadWrite.All",
                        "Directory.AccessAsUser.All",
                    ]) && holds(SYNC_ACCOUNT_MANAGERS)
                }
                Need::AssignDirectoryRole(role) => {
                    let who = if role == DIRECTORY_SYNCHRONIZATION_ACCOUNTS {
                        SYNC_ACCOUNT_MANAGERS
                    } else {
                        &[GLOBAL_ADMINISTRATOR]
                    };
                    scoped(&[
                        "RoleManagement.ReadWrite.Directory",
                        "Directory.AccessAsUser.All",
                    ]) && holds(who)
                }
            }
        }
        Caller::App {
            sp: me,
            app_id,
            roles,
        } => {
            let has = |set: &[&str]| roles.iter().any(|r| set.contains(&r.as_str()));
            let owned_by = |owners: &[ObjectId]| {
                has(&["Application.ReadWrite.OwnedBy"]) && owners.contains(me)
            };
            match need {
                Need::ReadApplications => has(READ_APP_ROLES),
                Need::ReadDirectory => has(READ_DIRECTORY_ROLES),
                Need::WriteApplication(None) | Need::WriteServicePrincipal(None) => {
                    has(WRITE_APP_ROLES) || has(&["Application.ReadWrite.OwnedBy"])
                }
                Need::WriteApplication(Some(app)) => has(WRITE_APP_ROLES) || owned_by(&app.owners),
                Need::WriteServicePrincipal(Some(sp)) => {
                    has(WRITE_APP_ROLES)
                        || t.directory
                            .application_by_app_id(sp.app_id)
                            .is_some_and(|a| owned_by(&a.owners))
                }
                // "An application does not need any specific permission to roll its own keys."
                Need::RollApplicationKey(app) => {
                    app.app_id == *app_id || has(WRITE_APP_ROLES) || owned_by(&app.owners)
                }
                Need::RollServicePrincipalKey(sp) => {
                    sp.id == *me
                        || has(WRITE_APP_ROLES)
                        || t.directory
                            .application_by_app_id(sp.app_id)
                            .is_some_and(|a| owned_by(&a.owners))
                }
                Need::AssignAppRoles => has(&["AppRoleAssignment.ReadWrite.All"]),
                Need::WriteUsers => has(&["User.ReadWrite.All", "Directory.ReadWrite.All"]),
                Need::AssignDirectoryRole(_) => has(&["RoleManagement.ReadWrite.Directory"]),
            }
        }
    }
}

fn owns_service_principal(t: &Tenant, user: ObjectId, sp: &ServicePrincipal) -> bool {
    t.directory
        .application_by_app_id(sp.app_id)
        .is_some_and(|a| a.owners.contains(&user))
}

/// Whether a delegated caller holds the Directory Synchronization Accounts role.
pub fn is_sync_account(t: &Tenant, caller: &Caller) -> bool {
    matches!(caller, Caller::User { id, .. } if t.directory.directory_roles_of(*id).contains(&DIRECTORY_SYNCHRONIZATION_ACCOUNTS))
}
