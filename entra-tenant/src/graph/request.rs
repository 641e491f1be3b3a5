//! A Graph request as the rules see it (already routed, no HTTP left) and its answer: how a URL
//! addresses an object (`Key`), the collections, the request itself, and the `Reply` with a
//! typed description of its `@odata.context` (`Context`) that the HTTP layer renders. The
//! operation modules import these; the dispatcher that applies a request is `dispatch`.

use serde_json::Value;

use super::error::GraphError;
use super::payload;
use super::query::{Object, QueryOptions};
use crate::ids::{AppId, ObjectId};
use crate::status::Status;

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

    /// The object the key names where objects are found by object id (`/{id}`) or by appId
    /// (`(appId='...')`), as applications and service principals are; any other alternate key
    /// is no key of `type_name`.
    pub fn find_by_id_or_app_id<'t, T>(
        &self,
        type_name: &'static str,
        by_id: impl FnOnce(ObjectId) -> Option<&'t T>,
        by_app_id: impl FnOnce(AppId) -> Option<&'t T>,
    ) -> Result<&'t T, GraphError> {
        let found = match self {
            Key::Id(id) => by_id(ObjectId(payload::guid(id)?)),
            Key::Alt { property, value } if property.eq_ignore_ascii_case("appId") => {
                by_app_id(AppId(payload::guid(value)?))
            }
            Key::Alt { property, .. } => {
                return Err(GraphError::NotAnAlternateKey {
                    property: property.clone(),
                    type_name,
                });
            }
        };
        found.ok_or_else(|| GraphError::not_found(self.value()))
    }
}

/// The directory collections with create/get/list/update/delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    Applications,
    ServicePrincipals,
    Users,
}

/// Which side of an app role assignment the URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignmentSide {
    /// `/servicePrincipals/{client}/appRoleAssignments`: the principal's grants.
    Assignments,
    /// `/servicePrincipals/{resource}/appRoleAssignedTo`: grants of the resource's roles.
    AssignedTo,
}

#[derive(Clone, Debug)]
pub enum GraphRequest {
    List(Collection, QueryOptions),
    Get(Collection, Key, QueryOptions),
    Create(Collection, Value),
    Update(Collection, Key, Value),
    Delete(Collection, Key),
    /// addKey on an application or a service principal.
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
    /// The organization: the list (`None`) or one by id.
    Organization(Option<String>, QueryOptions),
    Me(QueryOptions),
}

/// The entity set an answer comes from (what `@odata.context` names after `$metadata#`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntitySet {
    Collection(Collection),
    /// A service principal's app role assignments, from one side.
    Assignments {
        service_principal: ObjectId,
        side: AssignmentSide,
    },
    DirectoryRoles,
    /// A directory role's members.
    DirectoryObjects,
    RoleAssignments,
    Organization,
}

/// What an answer's `@odata.context` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Context {
    /// A collection of `set`, or (for an entity) one of its members, with the `$select`ed
    /// properties.
    Set {
        set: EntitySet,
        select: Option<Vec<String>>,
    },
    /// A key credential that is no member of an entity set (addKey's answer).
    KeyCredential,
}

impl Context {
    /// `set` with the properties `q` selects.
    pub fn selected(set: EntitySet, q: &QueryOptions) -> Self {
        Context::Set {
            set,
            select: q.select.clone(),
        }
    }

    /// `set` with every property.
    pub fn whole(set: EntitySet) -> Self {
        Context::Set { set, select: None }
    }
}

/// What an operation comes to: its answer, or the row of the rule table that refuses it.
pub type Outcome = Result<Reply, GraphError>;

/// A successful answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Entity {
        status: Status,
        context: Context,
        object: Object,
    },
    Collection {
        context: Context,
        items: Vec<Object>,
        next_skip: Option<usize>,
    },
    NoContent,
}

impl Reply {
    /// 200 with one object.
    pub fn entity(context: Context, object: Object) -> Self {
        Reply::Entity {
            status: Status::Ok,
            context,
            object,
        }
    }

    /// 201 with the object made.
    pub fn created(context: Context, object: Object) -> Self {
        Reply::Entity {
            status: Status::Created,
            context,
            object,
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Reply::Entity { status, .. } => *status,
            Reply::Collection { .. } => Status::Ok,
            Reply::NoContent => Status::NoContent,
        }
    }
}
