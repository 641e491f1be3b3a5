//! The built-in directory roles the mock knows, by template id (the ids tokens carry in `wids`
//! and Graph's `roleDefinitionId`). Ids are Entra's real ones.

use uuid::{Uuid, uuid};

pub const GLOBAL_ADMINISTRATOR: Uuid = uuid!("62e90394-69f5-4237-9190-012177145e10");
pub const HYBRID_IDENTITY_ADMINISTRATOR: Uuid = uuid!("8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2");
pub const APPLICATION_ADMINISTRATOR: Uuid = uuid!("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3");
pub const CLOUD_APPLICATION_ADMINISTRATOR: Uuid = uuid!("158c047a-c907-4556-b7ef-446551a6b5f7");
pub const DIRECTORY_SYNCHRONIZATION_ACCOUNTS: Uuid = uuid!("d29b2b05-8046-44ba-8758-1e26182fcf32");

/// The `wids` value Entra puts in app-only tokens; it is not a directory role.
pub const APP_ONLY_WIDS: Uuid = uuid!("0997a1d0-0d1d-4acb-b408-d5ca73121e90");

/// (template id, display name) of every role the mock knows.
pub const BUILT_IN: &[(Uuid, &str)] = &[
    (GLOBAL_ADMINISTRATOR, "Global Administrator"),
    (
        HYBRID_IDENTITY_ADMINISTRATOR,
        "Hybrid Identity Administrator",
    ),
    (APPLICATION_ADMINISTRATOR, "Application Administrator"),
    (
        CLOUD_APPLICATION_ADMINISTRATOR,
        "Cloud Application Administrator",
    ),
    (
        DIRECTORY_SYNCHRONIZATION_ACCOUNTS,
        "Directory Synchronization Accounts",
    ),
];

pub fn display_name(template_id: Uuid) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(id, _)| *id == template_id)
        .map(|(_, n)| *n)
}
