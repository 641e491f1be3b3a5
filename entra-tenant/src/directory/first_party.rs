//! Microsoft's own applications that this project knows, by cloud: their appIds, names, app
//! roles and delegated permissions. `POST /servicePrincipals {"appId": …}` for one of them
//! creates its service principal in a tenant that has none yet (the Connect Sync
//! documentation: the password reset service's service principal "might not exist"), as Entra
//! does for multitenant applications registered elsewhere
//! (https://learn.microsoft.com/entra/identity/enterprise-apps/create-service-principal-cross-tenant).
//!
//! Sources of the ids: Microsoft Graph's app role and scope ids from its permissions reference
//! (https://learn.microsoft.com/graph/permissions-reference); the synchronization service and
//! the password reset service (with its US Government appId) from
//! https://learn.microsoft.com/entra/identity/hybrid/connect/authenticate-application-id ;
//! Azure AD Graph's `Directory.Read.All` role from an AAD-Graph-era service principal printed in
//! the Azure documentation. That Microsoft Graph keeps its appId in every cloud is inferred
//! (only the password reset service is documented with a cloud-specific id).

use uuid::{Uuid, uuid};

use super::objects::{AppRole, PermissionScope, ServicePrincipal};
use crate::cloud::Cloud;
use crate::ids::{AppId, ObjectId};

/// The tenant that owns Microsoft's first-party applications (`appOwnerOrganizationId`).
pub const MICROSOFT_SERVICES_TENANT: Uuid = uuid!("f8cdef31-a31e-4b4a-93e4-5f571e91255a");

/// An app role: id, value, display name, description.
type Role = (Uuid, &'static str, &'static str, &'static str);
/// A delegated permission: id, value, admin consent display name.
type Scope = (Uuid, &'static str, &'static str);

/// One first-party application.
struct FirstParty {
    /// Its appId in `cloud`, or `None` when it has none there.
    app_id: fn(Cloud) -> Option<Uuid>,
    display_name: &'static str,
    /// Names a token request may use for it besides the appId, in `cloud`.
    names: fn(Cloud) -> Vec<String>,
    roles: &'static [Role],
    scopes: &'static [Scope],
    /// A public client users sign in through (no credential).
    public_client: bool,
}

const GRAPH_ID: Uuid = uuid!("00000003-0000-0000-c000-000000000000");
const AAD_GRAPH_ID: Uuid = uuid!("00000002-0000-0000-c000-000000000000");
const SYNC_ID: Uuid = uuid!("6bf85cfa-ac8a-4be5-b5de-425a0d0dc016");
const RESET_GLOBAL_ID: Uuid = uuid!("93625bc8-bfe2-437a-97e0-3d0060024faa");
const RESET_USGOV_ID: Uuid = uuid!("2e5ecfc8-ea79-48bd-8140-c19324acb278");
const GRAPH_CLI_ID: Uuid = uuid!("14d82eec-204b-4c2f-b7e8-296a70dab67e");
const AAD_CONNECT_ID: Uuid = uuid!("cb1056e2-e479-49de-ae31-7812af012ed8");

const GRAPH_ROLES: &[Role] = &[
    (
        uuid!("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"),
        "Application.ReadWrite.All",
        "Read and write all applications",
        "Allows the app to create, read, update and delete applications and service principals without a signed-in user.",
    ),
    (
        uuid!("18a4783c-866b-4cc7-a460-3d5e5662c884"),
        "Application.ReadWrite.OwnedBy",
        "Manage apps that this app creates or owns",
        "Allows the app to create other applications, and fully manage those applications (read, update, update application secrets and delete), without a signed-in user.",
    ),
    (
        uuid!("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"),
        "Application.Read.All",
        "Read all applications",
        "Allows the app to read all applications and service principals without a signed-in user.",
    ),
    (
        uuid!("06b708a9-e830-4db3-a914-8e69da51d44f"),
        "AppRoleAssignment.ReadWrite.All",
        "Manage app permission grants and app role assignments",
        "Allows the app to manage permission grants for application permissions to any API (including Microsoft Graph) and application assignments for any app, without a signed-in user.",
    ),
    (
        uuid!("19dbc75e-c2e2-444c-a770-ec69d8559fc7"),
        "Directory.ReadWrite.All",
        "Read and write directory data",
        "Allows the app to read and write data in your organization's directory, such as users, and groups, without a signed-in user.",
    ),
    (
        uuid!("7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
        "Directory.Read.All",
        "Read directory data",
        "Allows the app to read data in your organization's directory, such as users, groups and apps, without a signed-in user.",
    ),
    (
        uuid!("741f803b-c850-494e-b5df-cde7c675a1ca"),
        "User.ReadWrite.All",
        "Read and write all users' full profiles",
        "Allows the app to create, read, update and delete users without a signed-in user.",
    ),
    (
        uuid!("9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"),
        "RoleManagement.ReadWrite.Directory",
        "Read and write all directory RBAC settings",
        "Allows the app to read and manage the role-based access control (RBAC) settings for your company's directory, without a signed-in user.",
    ),
    (
        uuid!("df021288-bdef-4463-88db-98f22de89214"),
        "User.Read.All",
        "Read all users' full profiles",
        "Allows the app to read user profiles without a signed in user.",
    ),
    (
        uuid!("483bed4a-2ad3-4361-a73b-c83ccdbdc53c"),
        "RoleManagement.Read.Directory",
        "Read all directory RBAC settings",
        "Allows the app to read the role-based access control (RBAC) settings for your company's directory, without a signed-in user.",
    ),
    (
        uuid!("8e8e4742-1d95-4f68-9d56-6ee75648c72a"),
        "DelegatedPermissionGrant.ReadWrite.All",
        "Manage all delegated permission grants",
        "Allows the app to manage permission grants for delegated permissions exposed by any API (including Microsoft Graph), without a signed-in user.",
    ),
];

const GRAPH_SCOPES: &[Scope] = &[
    (
        uuid!("c79f8feb-a9db-4090-85f9-90d820caa0eb"),
        "Application.Read.All",
        "Read applications",
    ),
    (
        uuid!("bdfbf15f-ee85-4955-8675-146e8e5296b5"),
        "Application.ReadWrite.All",
        "Read and write all applications",
    ),
    (
        uuid!("84bccea3-f856-4a8a-967b-dbe0a3d53a64"),
        "AppRoleAssignment.ReadWrite.All",
        "Manage app permission grants and app role assignments",
    ),
    (
        uuid!("06da0dbc-49e2-44d2-8312-53f166ab848a"),
        "Directory.Read.All",
        "Read directory data",
    ),
    (
        uuid!("c5366453-9fb0-48a5-a156-24f0c49a4b84"),
        "Directory.ReadWrite.All",
        "Read and write directory data",
    ),
    (
        uuid!("0e263e50-5827-48a4-b97c-d940288653c7"),
        "Directory.AccessAsUser.All",
        "Access directory as the signed in user",
    ),
    (
        uuid!("e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
        "User.Read",
        "Sign in and read user profile",
    ),
    (
        uuid!("a154be20-db9c-4678-8ab7-66f6cc099a59"),
        "User.Read.All",
        "Read all users' full profiles",
    ),
    (
        uuid!("204e0828-b5ca-4ad8-b9f3-f32a958e7cc4"),
        "User.ReadWrite.All",
        "Read and write all users' full profiles",
    ),
    (
        uuid!("741c54c3-0c1e-44a1-818b-3f97ab4e8c83"),
        "RoleManagement.Read.Directory",
        "Read directory RBAC settings",
    ),
    (
        uuid!("d01b97e9-cbc0-49fe-810a-750afd5527a3"),
        "RoleManagement.ReadWrite.Directory",
        "Read and write directory RBAC settings",
    ),
    (
        uuid!("41ce6ca6-6826-4807-84f1-1c82854f7ee5"),
        "DelegatedPermissionGrant.ReadWrite.All",
        "Manage all delegated permission grants",
    ),
];

const SYNC_ROLES: &[Role] = &[(
    uuid!("0b41ed4d-5f52-442b-8952-ea7d90719860"),
    "ADSynchronization.ReadWrite.All",
    "Read and write AD synchronization data",
    "Allows the application to read and write directory synchronization data.",
)];

const RESET_ROLES: &[Role] = &[
    (
        uuid!("69201c67-737b-4a20-8f16-e0c8c64e0b0e"),
        "PasswordWriteback.OffboardClient.All",
        "Offboard password writeback clients",
        "Allows the application to offboard a password writeback client.",
    ),
    (
        uuid!("e006e431-a65b-4f3e-8808-77d29d4c5f1a"),
        "PasswordWriteback.RegisterClientVersion.All",
        "Register password writeback client versions",
        "Allows the application to register the version of a password writeback client.",
    ),
    (
        uuid!("fc7e8088-95b5-453e-8bef-b17ecfec5ba3"),
        "PasswordWriteback.RefreshClient.All",
        "Refresh password writeback clients",
        "Allows the application to refresh a password writeback client.",
    ),
];

const AAD_GRAPH_ROLES: &[Role] = &[(
    uuid!("5778995a-e1bf-45b8-affa-663a9f3f4d04"),
    "Directory.Read.All",
    "Read directory data",
    "Allows the app to read data in your organization's directory, such as users, groups and apps, without a signed-in user.",
)];

fn everywhere(id: Uuid) -> Option<Uuid> {
    Some(id)
}

fn no_names(_: Cloud) -> Vec<String> {
    Vec::new()
}

const CATALOGUE: &[FirstParty] = &[
    FirstParty {
        app_id: |_| everywhere(GRAPH_ID),
        display_name: "Microsoft Graph",
        names: |cloud| {
            let host = format!("https://{}", cloud.graph_host());
            vec![host.clone(), format!("{host}/")]
        },
        roles: GRAPH_ROLES,
        scopes: GRAPH_SCOPES,
        public_client: false,
    },
    FirstParty {
        app_id: |_| everywhere(AAD_GRAPH_ID),
        display_name: "Windows Azure Active Directory",
        names: |_| vec!["https://graph.windows.net".into()],
        roles: AAD_GRAPH_ROLES,
        scopes: &[],
        public_client: false,
    },
    FirstParty {
        app_id: |_| everywhere(SYNC_ID),
        display_name: "Microsoft Entra AD Synchronization Service",
        names: no_names,
        roles: SYNC_ROLES,
        scopes: &[],
        public_client: false,
    },
    FirstParty {
        app_id: |cloud| match cloud {
            Cloud::Usgov => Some(RESET_USGOV_ID),
            Cloud::Global | Cloud::China => Some(RESET_GLOBAL_ID),
        },
        display_name: "Microsoft password reset service",
        names: no_names,
        roles: RESET_ROLES,
        scopes: &[],
        public_client: false,
    },
    FirstParty {
        app_id: |_| everywhere(GRAPH_CLI_ID),
        display_name: "Microsoft Graph Command Line Tools",
        names: no_names,
        roles: &[],
        scopes: &[],
        public_client: true,
    },
    FirstParty {
        app_id: |_| everywhere(AAD_CONNECT_ID),
        display_name: "Microsoft Azure Active Directory Connect",
        names: no_names,
        roles: &[],
        scopes: &[],
        public_client: true,
    },
];

/// The service principal of the first-party application `app_id` in a tenant of `cloud`, as
/// Entra makes it on request (a fresh object id, Microsoft's tenant as owner); `None` when
/// the catalogue has no such application in that cloud.
pub fn service_principal(cloud: Cloud, app_id: AppId) -> Option<ServicePrincipal> {
    let entry = CATALOGUE
        .iter()
        .find(|e| (e.app_id)(cloud) == Some(app_id.0))?;
    let mut sp = ServicePrincipal::for_application(
        ObjectId::new_random(),
        app_id,
        entry.display_name,
        MICROSOFT_SERVICES_TENANT,
    );
    sp.service_principal_names
        .splice(0..0, (entry.names)(cloud));
    sp.app_roles = entry
        .roles
        .iter()
        .map(|(id, value, display_name, description)| AppRole {
            id: *id,
            allowed_member_types: vec!["Application".into()],
            description: Some((*description).into()),
            display_name: (*display_name).into(),
            is_enabled: true,
            origin: Some("Application".into()),
            value: (*value).into(),
        })
        .collect();
    sp.oauth2_permission_scopes = entry
        .scopes
        .iter()
        .map(|(id, value, display_name)| PermissionScope {
            id: *id,
            admin_consent_description: None,
            admin_consent_display_name: Some((*display_name).into()),
            is_enabled: true,
            scope_type: "Admin".into(),
            value: (*value).into(),
        })
        .collect();
    sp.is_public_client = entry.public_client;
    Some(sp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::TenantFixture;

    /// The fixtures' first-party service principals agree with the catalogue: every app role
    /// they offer is the catalogue's, with the same id and value (the catalogue may know more).
    #[test]
    fn the_fixtures_first_party_service_principals_are_the_catalogues() {
        for (name, text) in [
            ("default", crate::fixture::DEFAULT_FIXTURE_JSON),
            ("usgov", include_str!("../../../fixtures/usgov.json")),
        ] {
            let f = TenantFixture::from_json(text).unwrap();
            let cloud = f.tenant.cloud;
            for sp in &f.directory.service_principals {
                if sp.app_owner_organization_id != Some(MICROSOFT_SERVICES_TENANT) {
                    continue;
                }
                let known = service_principal(cloud, sp.app_id)
                    .unwrap_or_else(|| panic!("{name}: {} is not in the catalogue", sp.app_id));
                assert_eq!(known.display_name, sp.display_name, "{name}");
                assert_eq!(known.is_public_client, sp.is_public_client, "{name}");
                for role in &sp.app_roles {
                    assert!(
                        known
                            .app_roles
                            .iter()
                            .any(|r| r.id == role.id && r.value == role.value),
                        "{name}: {} of {} is not the catalogue's",
                        role.value,
                        sp.display_name
                    );
                }
            }
        }
    }

    #[test]
    fn the_password_reset_service_has_its_own_id_in_the_us_government_cloud() {
        let global: AppId = "93625bc8-bfe2-437a-97e0-3d0060024faa".parse().unwrap();
        let usgov: AppId = "2e5ecfc8-ea79-48bd-8140-c19324acb278".parse().unwrap();
        assert!(service_principal(Cloud::Global, global).is_some());
        assert!(service_principal(Cloud::Global, usgov).is_none());
        assert!(service_principal(Cloud::Usgov, usgov).is_some());
        assert!(service_principal(Cloud::Usgov, global).is_none());
        let graph = service_principal(Cloud::Usgov, GRAPH_ID.to_string().parse().unwrap()).unwrap();
        assert!(graph.is_named("https://graph.microsoft.us"));
    }
}
