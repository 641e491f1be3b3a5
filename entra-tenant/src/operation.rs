//! The operations of the tenant's surface, one typed name each: what fault rules match
//! (`{"match": {"operation": "addKey"}}`) and what the request journal records. The wire name
//! of each is declared once, in the table below; serde reads and writes exactly those names and
//! refuses any other with a message that lists them. The HTTP layer's route tables say which
//! operation each route is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! operations {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// An operation of the tenant's surface (login endpoints, Graph, the service models).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($(#[$doc])* $variant,)*
        }

        impl Operation {
            /// Every operation, in the order the README lists them.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)*];

            /// The wire name (`applications.get`, `addKey`, ...).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Operation::$variant => $name,)*
                }
            }
        }
    };
}

operations! {
    // The login side.
    /// Both token endpoints (v1 and v2).
    Token = "token",
    /// Instance and OpenID discovery documents.
    Discovery = "discovery",
    /// The JWKS.
    Keys = "keys",
    UserRealm = "userrealm",
    // Microsoft Graph.
    ApplicationsCreate = "applications.create",
    ApplicationsGet = "applications.get",
    ApplicationsList = "applications.list",
    ApplicationsUpdate = "applications.update",
    ApplicationsDelete = "applications.delete",
    ServicePrincipalsCreate = "servicePrincipals.create",
    ServicePrincipalsGet = "servicePrincipals.get",
    ServicePrincipalsList = "servicePrincipals.list",
    ServicePrincipalsUpdate = "servicePrincipals.update",
    ServicePrincipalsDelete = "servicePrincipals.delete",
    UsersCreate = "users.create",
    UsersGet = "users.get",
    UsersList = "users.list",
    UsersUpdate = "users.update",
    UsersDelete = "users.delete",
    /// `addKey` on an application or a service principal.
    AddKey = "addKey",
    /// `removeKey` on an application or a service principal.
    RemoveKey = "removeKey",
    AppRoleAssignmentsCreate = "appRoleAssignments.create",
    AppRoleAssignmentsGet = "appRoleAssignments.get",
    AppRoleAssignmentsList = "appRoleAssignments.list",
    AppRoleAssignmentsDelete = "appRoleAssignments.delete",
    AppRoleAssignedToCreate = "appRoleAssignedTo.create",
    AppRoleAssignedToGet = "appRoleAssignedTo.get",
    AppRoleAssignedToList = "appRoleAssignedTo.list",
    AppRoleAssignedToDelete = "appRoleAssignedTo.delete",
    DirectoryRolesList = "directoryRoles.list",
    DirectoryRolesGet = "directoryRoles.get",
    DirectoryRoleMembersList = "directoryRoles.members.list",
    DirectoryRoleMembersAdd = "directoryRoles.members.add",
    DirectoryRoleMembersRemove = "directoryRoles.members.remove",
    RoleAssignmentsCreate = "roleAssignments.create",
    RoleAssignmentsGet = "roleAssignments.get",
    RoleAssignmentsList = "roleAssignments.list",
    RoleAssignmentsDelete = "roleAssignments.delete",
    /// The organization, as a list or by id.
    OrganizationGet = "organization.get",
    MeGet = "me.get",
    // The first-party service models (`mock-graph/SERVICES.md`).
    AdsyncExport = "adsync.export",
    AdsyncStatus = "adsync.status",
    AdsyncRegisterApplication = "adsync.registerApplication",
    PasswordWritebackRegisterClientVersion = "passwordWriteback.registerClientVersion",
    PasswordWritebackRefresh = "passwordWriteback.refresh",
    PasswordWritebackOffboard = "passwordWriteback.offboard",
    PasswordWritebackGet = "passwordWriteback.get",
}

/// A name that is no operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operation `{0}`; known operations: {known}", known = known_names())]
pub struct UnknownOperation(pub String);

fn known_names() -> String {
    Operation::ALL
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .iter()
            .copied()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownOperation(s.to_string()))
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Operation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(op.as_str().parse::<Operation>(), Ok(*op));
            let json = serde_json::to_string(op).unwrap();
            assert_eq!(json, format!("\"{op}\""));
            assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), *op);
            assert!(
                Operation::ALL[..i]
                    .iter()
                    .all(|o| o.as_str() != op.as_str()),
                "{op} twice"
            );
        }
        assert_eq!(Operation::ALL.len(), 47);
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_known_ones() {
        let err = serde_json::from_str::<Operation>("\"appKey\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown operation `appKey`"), "{err}");
        assert!(
            err.contains(
                "known operations: token, discovery, keys, userrealm, applications.create"
            ),
            "{err}"
        );
        assert!(err.contains("passwordWriteback.get"), "{err}");
    }
}
