//! The one entry point of Graph's rules: `execute` applies a routed `GraphRequest` to a tenant
//! for an authenticated caller, sending it to the module whose job it is. Writes go through
//! `Tenant::write_with_lag`, so that a replication-lag fault can hold their effect back; lists
//! go through the OData query options.

use time::Duration;

use super::applications::{self as apps, APPLICATION_EXTRA, APPLICATION_FILTER};
use super::assignments::{self, ASSIGNMENT_FILTER};
use super::auth::Caller;
use super::error::GraphError;
use super::organization;
use super::proofs::{self, KeyOwner, Roll};
use super::query::{self, Filterable, Object, QueryOptions};
use super::request::{Collection, Context, EntitySet, GraphRequest, Outcome, Reply};
use super::roles::{self, MEMBER_FILTER, ROLE_ASSIGNMENT_FILTER, ROLE_FILTER};
use super::service_principals::{self as sps, SERVICE_PRINCIPAL_EXTRA, SERVICE_PRINCIPAL_FILTER};
use super::users::{self, USER_EXTRA, USER_FILTER};
use crate::tenant::Tenant;

/// A page of `all` by the query options, as an answer about `set`.
fn listing(
    all: Vec<Object>,
    set: EntitySet,
    q: &QueryOptions,
    f: &Filterable,
    known: &[&str],
) -> Outcome {
    let page = query::page(all, q, f, known)?;
    Ok(Reply::Collection {
        context: Context::selected(set, q),
        items: page.items,
        next_skip: page.next_skip,
    })
}

/// Which object's keys addKey/removeKey roll; users have none.
fn key_owner(c: Collection) -> Result<KeyOwner, GraphError> {
    match c {
        Collection::Applications => Ok(KeyOwner::Application),
        Collection::ServicePrincipals => Ok(KeyOwner::ServicePrincipal),
        Collection::Users => Err(GraphError::SegmentNotFound {
            segment: "addKey".into(),
        }),
    }
}

/// Applies `req` to `t` for `caller`. `lag` holds a write's effect back (replication lag).
pub fn execute(
    t: &mut Tenant,
    caller: &Caller,
    req: GraphRequest,
    lag: Option<Duration>,
) -> Outcome {
    use GraphRequest::*;
    match req {
        List(c, q) => {
            let (all, f, known) = match c {
                Collection::Applications => (
                    apps::list_applications(t, caller)?,
                    APPLICATION_FILTER,
                    APPLICATION_EXTRA,
                ),
                Collection::ServicePrincipals => (
                    sps::list_service_principals(t, caller)?,
                    SERVICE_PRINCIPAL_FILTER,
                    SERVICE_PRINCIPAL_EXTRA,
                ),
                Collection::Users => (users::list_users(t, caller)?, USER_FILTER, USER_EXTRA),
            };
            listing(all, EntitySet::Collection(c), &q, &f, known)
        }
        Get(Collection::Applications, k, q) => apps::get_application(t, caller, &k, &q),
        Get(Collection::ServicePrincipals, k, q) => sps::get_service_principal(t, caller, &k, &q),
        Get(Collection::Users, k, q) => users::get_user(t, caller, &k, &q),
        Create(c, body) => t.write_with_lag(lag, |t| match c {
            Collection::Applications => apps::create_application(t, caller, &body),
            Collection::ServicePrincipals => sps::create_service_principal(t, caller, &body),
            Collection::Users => users::create_user(t, caller, &body),
        }),
        Update(c, k, body) => t.write_with_lag(lag, |t| match c {
            Collection::Applications => apps::update_application(t, caller, &k, &body),
            Collection::ServicePrincipals => sps::update_service_principal(t, caller, &k, &body),
            Collection::Users => users::update_user(t, caller, &k, &body),
        }),
        Delete(c, k) => t.write_with_lag(lag, |t| match c {
            Collection::Applications => apps::delete_application(t, caller, &k),
            Collection::ServicePrincipals => sps::delete_service_principal(t, caller, &k),
            Collection::Users => users::delete_user(t, caller, &k),
        }),
        AddKey(c, k, body) => {
            let owner = key_owner(c)?;
            t.write_with_lag(lag, |t| {
                proofs::roll_key(t, caller, owner, &k, &body, Roll::Add)
            })
        }
        RemoveKey(c, k, body) => {
            let owner = key_owner(c)?;
            t.write_with_lag(lag, |t| {
                proofs::roll_key(t, caller, owner, &k, &body, Roll::Remove)
            })
        }
        ListAssignments(k, side, q) => {
            let (set, all) = assignments::list_assignments(t, caller, &k, side)?;
            listing(all, set, &q, &ASSIGNMENT_FILTER, &[])
        }
        GetAssignment(k, side, id) => assignments::get_assignment(t, caller, &k, side, &id),
        CreateAssignment(k, side, body) => t.write_with_lag(lag, |t| {
            assignments::create_assignment(t, caller, &k, side, &body)
        }),
        DeleteAssignment(k, side, id) => t.write_with_lag(lag, |t| {
            assignments::delete_assignment(t, caller, &k, side, &id)
        }),
        ListRoles(q) => listing(
            roles::list_roles(t, caller)?,
            EntitySet::DirectoryRoles,
            &q,
            &ROLE_FILTER,
            &[],
        ),
        GetRole(k, q) => roles::get_role(t, caller, &k, &q),
        ListRoleMembers(k, q) => listing(
            roles::list_role_members(t, caller, &k)?,
            EntitySet::DirectoryObjects,
            &q,
            &MEMBER_FILTER,
            USER_EXTRA,
        ),
        AddRoleMember(k, body) => {
            t.write_with_lag(lag, |t| roles::add_role_member(t, caller, &k, &body))
        }
        RemoveRoleMember(k, m) => {
            t.write_with_lag(lag, |t| roles::remove_role_member(t, caller, &k, &m))
        }
        ListRoleAssignments(q) => listing(
            roles::list_role_assignments(t, caller)?,
            EntitySet::RoleAssignments,
            &q,
            &ROLE_ASSIGNMENT_FILTER,
            &[],
        ),
        GetRoleAssignment(id) => roles::get_role_assignment(t, caller, &id),
        CreateRoleAssignment(body) => {
            t.write_with_lag(lag, |t| roles::create_role_assignment(t, caller, &body))
        }
        DeleteRoleAssignment(id) => {
            t.write_with_lag(lag, |t| roles::delete_role_assignment(t, caller, &id))
        }
        Organization(id, q) => organization::organization(t, caller, id.as_deref(), &q),
        Me(q) => users::me(t, caller, &q),
    }
}
