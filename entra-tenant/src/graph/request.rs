//! A Graph request as the core sees it (already routed, no HTTP left), its answer, and the one
//! dispatcher that applies it to a tenant. Writes go through `Tenant::write_with_lag` so that a
//! replication-lag fault can hold their effect back.

use serde_json::Value;
use time::Duration;

use super::super::tenant::Tenant;
use super::GraphError;
use super::auth::Caller;
use super::objects::{self, AssignmentSide, KeyOwner};
use super::query::{self, Filterable, Object, QueryOptions};
use super::users;

/// How a URL addresses one object: `/{id}` or `(property='value')`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Id(String),
    Alt { property: String, value: String },
}

impl Key {
    pub fn value(&self) -> &str {
        match self {
            Key::Id(v) | Key::Alt { value: v, .. } => v,
        }
    }
}

/// The directory collections with create/get/list/update/delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    Applications,
    ServicePrincipals,
    Users,
}

impl Collection {
    pub fn name(self) -> &'static str {
        match self {
            Collection::Applications => "applications",
            Collection::ServicePrincipals => "servicePrincipals",
            Collection::Users => "users",
        }
    }

    fn key_owner(self) -> Option<KeyOwner> {
        match self {
            Collection::Applications => Some(KeyOwner::Application),
            Collection::ServicePrincipals => Some(KeyOwner::ServicePrincipal),
            Collection::Users => None,
        }
    }
}

#[derive(Clone, Debug)]
pub enum GraphRequest {
    List(Collection, QueryOptions),
    Get(Collection, Key, QueryOptions),
    Create(Collection, Value),
    Update(Collection, Key, Value),
    Delete(Collection, Key),
    AddKey(Collection, Key, Value),
    RemoveKey(Collection, Key, Value),
    ListAssignments(Key, AssignmentSide, QueryOptions),
    GetAssignment(Key, AssignmentSide, String),
    CreateAssignment(Key, AssignmentSide, Value),
    DeleteAssignment(Key, AssignmentSide, String),
    ListRoles(QueryOptions),
    GetRole(Key, QueryOptions),
    ListRoleMembers(Key, QueryOptions),
    AddRoleMember(Key, Value),
    RemoveRoleMember(Key, String),
    ListRoleAssignments(QueryOptions),
    GetRoleAssignment(String),
    CreateRoleAssignment(Value),
    DeleteRoleAssignment(String),
    Organization(Option<String>, QueryOptions),
    Me(QueryOptions),
}

/// A successful answer. `context` is what follows `$metadata#` in `@odata.context`.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Entity {
        status: u16,
        context: String,
        object: Object,
    },
    Collection {
        context: String,
        items: Vec<Object>,
        next_skip: Option<usize>,
    },
    NoContent,
}

impl Reply {
    pub fn entity(context: String, object: Object) -> Self {
        Reply::Entity {
            status: 200,
            context,
            object,
        }
    }

    pub fn created(context: String, object: Object) -> Self {
        Reply::Entity {
            status: 201,
            context,
            object,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Reply::Entity { status, .. } => *status,
            Reply::Collection { .. } => 200,
            Reply::NoContent => 204,
        }
    }
}

fn verb(c: Collection, v: &str) -> &'static str {
    // Static names keep the operation table in one place (core::faults::OPERATIONS).
    let name = format!("{}.{v}", c.name());
    super::super::faults::OPERATIONS
        .iter()
        .find(|o| **o == name)
        .copied()
        .unwrap_or("unknown")
}

impl GraphRequest {
    /// The operation name of fault rules and the journal.
    pub fn operation(&self) -> &'static str {
        use GraphRequest::*;
        match self {
            List(c, _) => verb(*c, "list"),
            Get(c, ..) => verb(*c, "get"),
            Create(c, _) => verb(*c, "create"),
            Update(c, ..) => verb(*c, "update"),
            Delete(c, _) => verb(*c, "delete"),
            AddKey(..) => "addKey",
            RemoveKey(..) => "removeKey",
            ListAssignments(_, s, _)
            | GetAssignment(_, s, _)
            | CreateAssignment(_, s, _)
            | DeleteAssignment(_, s, _) => {
                let v = match self {
                    ListAssignments(..) => "list",
                    GetAssignment(..) => "get",
                    CreateAssignment(..) => "create",
                    _ => "delete",
                };
                let name = format!("{}.{v}", s.segment());
                super::super::faults::OPERATIONS
                    .iter()
                    .find(|o| **o == name)
                    .copied()
                    .unwrap_or("unknown")
            }
            ListRoles(_) => "directoryRoles.list",
            GetRole(..) => "directoryRoles.get",
            ListRoleMembers(..) => "directoryRoles.members.list",
            AddRoleMember(..) => "directoryRoles.members.add",
            RemoveRoleMember(..) => "directoryRoles.members.remove",
            ListRoleAssignments(_) => "roleAssignments.list",
            GetRoleAssignment(_) => "roleAssignments.get",
            CreateRoleAssignment(_) => "roleAssignments.create",
            DeleteRoleAssignment(_) => "roleAssignments.delete",
            Organization(..) => "organization.get",
            Me(_) => "me.get",
        }
    }
}

fn listing(
    all: Vec<Object>,
    context: String,
    q: &QueryOptions,
    f: &Filterable,
    known: &[&str],
) -> Result<Reply, GraphError> {
    let page = query::page(all, q, f, known)?;
    Ok(Reply::Collection {
        context: format!("{context}{}", q.context_suffix()),
        items: page.items,
        next_skip: page.next_skip,
    })
}

fn not_allowed_for_users() -> GraphError {
    GraphError::OData("Resource not found for the segment 'addKey'.".into())
}

/// Applies `req` to `t` for `caller`. `lag` holds a write's effect back (replication lag).
pub fn execute(
    t: &mut Tenant,
    caller: &Caller,
    req: GraphRequest,
    lag: Option<Duration>,
) -> Result<Reply, GraphError> {
    use GraphRequest::*;
    match req {
        List(c, q) => {
            let (all, f, known) = match c {
                Collection::Applications => (
                    objects::list_applications(t, caller)?,
                    objects::APPLICATION_FILTER,
                    objects::APPLICATION_EXTRA,
                ),
                Collection::ServicePrincipals => (
                    objects::list_service_principals(t, caller)?,
                    objects::SERVICE_PRINCIPAL_FILTER,
                    objects::SERVICE_PRINCIPAL_EXTRA,
                ),
                Collection::Users => (
                    users::list_users(t, caller)?,
                    users::USER_FILTER,
                    users::USER_EXTRA,
                ),
            };
            listing(all, c.name().to_string(), &q, &f, known)
        }
        Get(Collection::Applications, k, q) => objects::get_application(t, caller, &k, &q),
        Get(Collection::ServicePrincipals, k, q) => {
            objects::get_service_principal(t, caller, &k, &q)
        }
        Get(Collection::Users, k, q) => users::get_user(t, caller, &k, &q),
        Create(c, body) => t.write_with_lag(lag, |t| match c {
            Collection::Applications => objects::create_application(t, caller, &body),
            Collection::ServicePrincipals => objects::create_service_principal(t, caller, &body),
            Collection::Users => users::create_user(t, caller, &body),
        }),
        Update(c, k, body) => t.write_with_lag(lag, |t| match c {
            Collection::Applications => objects::update_application(t, caller, &k, &body),
            Collection::ServicePrincipals => {
                objects::update_service_principal(t, caller, &k, &body)
            }
            Collection::Users => users::update_user(t, caller, &k, &body),
        }),
        Delete(c, k) => t.write_with_lag(lag, |t| match c {
            Collection::Applications => objects::delete_application(t, caller, &k),
            Collection::ServicePrincipals => objects::delete_service_principal(t, caller, &k),
            Collection::Users => users::delete_user(t, caller, &k),
        }),
        AddKey(c, k, body) => {
            let owner = c.key_owner().ok_or_else(not_allowed_for_users)?;
            t.write_with_lag(lag, |t| objects::add_key(t, caller, owner, &k, &body))
        }
        RemoveKey(c, k, body) => {
            let owner = c.key_owner().ok_or_else(not_allowed_for_users)?;
            t.write_with_lag(lag, |t| objects::remove_key(t, caller, owner, &k, &body))
        }
        ListAssignments(k, side, q) => {
            let (context, all) = objects::list_assignments(t, caller, &k, side)?;
            listing(all, context, &q, &objects::ASSIGNMENT_FILTER, &[])
        }
        GetAssignment(k, side, id) => objects::get_assignment(t, caller, &k, side, &id),
        CreateAssignment(k, side, body) => t.write_with_lag(lag, |t| {
            objects::create_assignment(t, caller, &k, side, &body)
        }),
        DeleteAssignment(k, side, id) => t.write_with_lag(lag, |t| {
            objects::delete_assignment(t, caller, &k, side, &id)
        }),
        ListRoles(q) => listing(
            users::list_roles(t, caller)?,
            "directoryRoles".into(),
            &q,
            &users::ROLE_FILTER,
            &[],
        ),
        GetRole(k, q) => users::get_role(t, caller, &k, &q),
        ListRoleMembers(k, q) => listing(
            users::list_role_members(t, caller, &k)?,
            "directoryObjects".into(),
            &q,
            &users::MEMBER_FILTER,
            users::USER_EXTRA,
        ),
        AddRoleMember(k, body) => {
            t.write_with_lag(lag, |t| users::add_role_member(t, caller, &k, &body))
        }
        RemoveRoleMember(k, m) => {
            t.write_with_lag(lag, |t| users::remove_role_member(t, caller, &k, &m))
        }
        ListRoleAssignments(q) => listing(
            users::list_role_assignments(t, caller)?,
            "roleManagement/directory/roleAssignments".into(),
            &q,
            &users::ROLE_ASSIGNMENT_FILTER,
            &[],
        ),
        GetRoleAssignment(id) => users::get_role_assignment(t, caller, &id),
        CreateRoleAssignment(body) => {
            t.write_with_lag(lag, |t| users::create_role_assignment(t, caller, &body))
        }
        DeleteRoleAssignment(id) => {
            t.write_with_lag(lag, |t| users::delete_role_assignment(t, caller, &id))
        }
        Organization(id, q) => users::organization(t, caller, id.as_deref(), &q),
        Me(q) => users::me(t, caller, &q),
    }
}
