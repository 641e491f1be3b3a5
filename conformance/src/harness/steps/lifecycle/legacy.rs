//! The legacy service account and rollback to it, checked in the tenant's directory.

use super::*;

async fn remove_legacy_account(
    w: &mut EntraWorld,
    by: &str,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = admin(w, by);
    let srv = server(w);
    let config = srv.config()?;
    let name = config
        .service_account
        .as_ref()
        .and_then(|a| a.user_principal_name.split('@').next().map(str::to_owned))
        .ok_or_else(|| anyhow!("the sync server has no service account"))?;
    Ok(srv.remove_service_account(&admin, &name).await.map(|_| ()))
}

#[when(expr = "the administrator {string} removes the legacy service account")]
async fn remove_legacy(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = remove_legacy_account(w, &by).await?;
    sync(w).record(r);
    Ok(())
}

#[given(expr = "the administrator {string} removes the legacy service account")]
async fn removed_legacy(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = remove_legacy_account(w, &by).await?;
    sync(w).given("removing the legacy service account", r)
}

#[when(expr = "the administrator {string} rolls the sync server back to a service account")]
async fn rollback(w: &mut EntraWorld, by: String) {
    let admin = admin(w, &by);
    let srv = sync(w);
    let r = srv.server.add_service_account(&admin, None).await;
    srv.record(r);
}

async fn sync_account_users(
    w: &EntraWorld,
    prefix: &str,
) -> anyhow::Result<Vec<(mock_graph::core::ids::ObjectId, String)>> {
    let prefix = prefix.to_ascii_lowercase();
    Ok(w.tenant()
        .directory()
        .await?
        .users
        .iter()
        .filter(|u| {
            u.user_principal_name
                .to_ascii_lowercase()
                .starts_with(&prefix)
        })
        .map(|u| (u.id, u.user_principal_name.clone()))
        .collect())
}

#[then(expr = "the tenant has a user {string} with the Directory Synchronization Accounts role")]
async fn user_with_role(w: &mut EntraWorld, prefix: String) -> anyhow::Result<()> {
    let users = sync_account_users(w, &prefix).await?;
    let [(id, _)] = users.as_slice() else {
        bail!("expected one user {prefix}* in the tenant, found {users:?}");
    };
    let id = *id;
    let has = w
        .tenant()
        .directory()
        .await?
        .directory_roles_of(id)
        .contains(&mock_graph::core::roles::DIRECTORY_SYNCHRONIZATION_ACCOUNTS);
    ensure!(
        has,
        "{prefix} lacks the Directory Synchronization Accounts role"
    );
    Ok(())
}

#[then(expr = "the tenant has no user {string}")]
async fn no_user(w: &mut EntraWorld, prefix: String) -> anyhow::Result<()> {
    let users = sync_account_users(w, &prefix).await?;
    ensure!(users.is_empty(), "the tenant still has {users:?}");
    Ok(())
}

#[then(expr = "the tenant has a user {string} without any directory role")]
async fn user_without_role(w: &mut EntraWorld, prefix: String) -> anyhow::Result<()> {
    let users = sync_account_users(w, &prefix).await?;
    let [(id, _)] = users.as_slice() else {
        bail!("expected one user {prefix}* in the tenant, found {users:?}");
    };
    let id = *id;
    let roles = w.tenant().directory().await?.directory_roles_of(id);
    ensure!(roles.is_empty(), "{prefix} holds {roles:?}");
    Ok(())
}

/// What the configuration records, named as "Certificate managed by" shows it.
#[then(expr = "the sync server's certificate is managed by {string}")]
async fn managed_by(w: &mut EntraWorld, expected: String) -> anyhow::Result<()> {
    let config = server(w).config()?;
    let app = config
        .application
        .ok_or_else(|| anyhow!("no application"))?;
    let recorded = ShownManager::of_certificate(app.certificate_managed_by).to_string();
    ensure!(
        recorded == expected,
        "the configuration records the certificate as managed by {recorded}"
    );
    Ok(())
}

#[then("the connector still uses its service account")]
async fn still_service_account(w: &mut EntraWorld) -> anyhow::Result<()> {
    let config = server(w).config()?;
    ensure!(config.connector_identity_type == IdentityType::ServiceAccount);
    Ok(())
}
