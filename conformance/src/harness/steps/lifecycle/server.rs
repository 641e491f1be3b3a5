//! The sync server itself: made with or without a TPM, in a cloud; installed and upgraded
//! as the article describes, and the version rules of each.

use super::*;

#[given(expr = "a sync server {string} with a TPM")]
async fn server_with_tpm(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    new_server(w, name, true).await
}

#[given(expr = "a sync server {string} without a TPM")]
async fn server_without_tpm(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    new_server(w, name, false).await
}

#[given(expr = "a sync server {string} without a TPM in the {word} cloud")]
async fn server_in_cloud(w: &mut EntraWorld, name: String, cloud: String) -> anyhow::Result<()> {
    let cloud: Cloud = cloud.parse().map_err(|e: String| anyhow!(e))?;
    new_server_in(w, name, false, Some(cloud)).await
}

/// What the scenario's server is installed with.
fn install_options(
    w: &mut EntraWorld,
    version: &str,
    writeback: bool,
) -> anyhow::Result<InstallOptions> {
    Ok(InstallOptions {
        server_name: sync(w).name.clone(),
        sync_machine_identifier: None,
        version: version.parse::<ProductVersion>().map_err(|e| anyhow!(e))?,
        password_writeback: writeback,
    })
}

async fn install(
    w: &mut EntraWorld,
    version: &str,
    by: &str,
    writeback: bool,
    account: Option<&str>,
) -> anyhow::Result<()> {
    let admin = admin(w, by);
    let options = install_options(w, version, writeback)?;
    let srv = sync(w);
    srv.server.install(&options, &admin).await?;
    if let Some(name) = account {
        srv.server.add_service_account(&admin, Some(name)).await?;
    }
    Ok(())
}

#[given(expr = "the sync server is installed at version {string} by {string}")]
async fn installed(w: &mut EntraWorld, version: String, by: String) -> anyhow::Result<()> {
    install(w, &version, &by, false, None).await
}

#[when(expr = "the sync server is installed at version {string} by {string}")]
async fn installs(w: &mut EntraWorld, version: String, by: String) -> anyhow::Result<()> {
    let admin = admin(w, &by);
    let options = install_options(w, &version, false)?;
    let srv = sync(w);
    let r = srv.server.install(&options, &admin).await;
    srv.record(r);
    Ok(())
}

#[then("the sync server is not installed")]
async fn not_installed(w: &mut EntraWorld) -> anyhow::Result<()> {
    let config = server(w).config_store().load()?;
    ensure!(config.is_none(), "the sync server is installed: {config:?}");
    Ok(())
}

#[given(
    expr = "the sync server is installed at version {string} with password writeback by {string}"
)]
async fn installed_with_writeback(
    w: &mut EntraWorld,
    version: String,
    by: String,
) -> anyhow::Result<()> {
    install(w, &version, &by, true, None).await
}

#[given(
    expr = "the sync server is installed at version {string} by {string} with the custom service account {string}"
)]
async fn installed_custom_account(
    w: &mut EntraWorld,
    version: String,
    by: String,
    account: String,
) -> anyhow::Result<()> {
    install(w, &version, &by, false, Some(&account)).await
}

async fn upgrade(
    w: &mut EntraWorld,
    version: &str,
    by: Option<&str>,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = by.map(|by| admin(w, by));
    let options = UpgradeOptions {
        version: version.parse::<ProductVersion>().map_err(|e| anyhow!(e))?,
        configure_application_authentication: admin.is_some(),
    };
    let srv = sync(w);
    let r = srv.server.upgrade(&options, admin.as_ref()).await;
    Ok(r.map(|report| srv.last_upgrade = Some(report)))
}

#[given(expr = "the sync server is upgraded to version {string}")]
async fn upgraded(w: &mut EntraWorld, version: String) -> anyhow::Result<()> {
    let r = upgrade(w, &version, None).await?;
    sync(w).given("the upgrade", r)
}

#[when(expr = "the sync server is upgraded to version {string}")]
async fn upgrades(w: &mut EntraWorld, version: String) -> anyhow::Result<()> {
    let r = upgrade(w, &version, None).await?;
    sync(w).record(r);
    Ok(())
}

#[when(
    expr = "the sync server is upgraded to version {string} with application-based authentication configured by {string}"
)]
async fn upgrades_configuring(
    w: &mut EntraWorld,
    version: String,
    by: String,
) -> anyhow::Result<()> {
    let r = upgrade(w, &version, Some(&by)).await?;
    sync(w).record(r);
    Ok(())
}

/// What the last upgrade recommended.
fn recommendation(w: &mut EntraWorld) -> anyhow::Result<Option<String>> {
    let report = sync(w)
        .last_upgrade
        .clone()
        .ok_or_else(|| anyhow!("no upgrade reported"))?;
    Ok(report.recommendation)
}

#[then("the upgrade recommended configuring application-based authentication")]
async fn upgrade_recommended(w: &mut EntraWorld) -> anyhow::Result<()> {
    let text = recommendation(w)?.unwrap_or_default();
    ensure!(
        text.contains("configure application-based authentication"),
        "the upgrade recommended {text:?}"
    );
    Ok(())
}

#[then("the upgrade recommended nothing")]
async fn upgrade_recommended_nothing(w: &mut EntraWorld) -> anyhow::Result<()> {
    let text = recommendation(w)?;
    ensure!(text.is_none(), "the upgrade recommended {text:?}");
    Ok(())
}

#[then(expr = "the sync server's version is {string}")]
async fn version_is(w: &mut EntraWorld, version: String) -> anyhow::Result<()> {
    let config = server(w).config()?;
    ensure!(
        config.product_version.to_string() == version,
        "the configuration says version {}",
        config.product_version
    );
    Ok(())
}

#[then(
    expr = "the client's {string} cloud profile signs in at {string} and gets tokens for Graph at {string}"
)]
async fn cloud_profile(
    _w: &mut EntraWorld,
    cloud: String,
    login: String,
    graph: String,
) -> anyhow::Result<()> {
    // What `adsync --cloud <cloud>` parses and uses.
    let cloud: Cloud = cloud.parse().map_err(|e: String| anyhow!(e))?;
    let e = Endpoints::for_cloud(cloud);
    let trim = |u: &str| u.trim_end_matches('/').to_owned();
    ensure!(
        trim(e.authority().as_str()) == login,
        "the login service is {}",
        e.authority()
    );
    ensure!(trim(e.graph().as_str()) == graph, "Graph is {}", e.graph());
    ensure!(
        e.graph_resource() == graph,
        "Graph tokens are for {}",
        e.graph_resource()
    );
    let tenant = adsync_client::ids::TenantId::from("contoso.onmicrosoft.com");
    ensure!(
        e.token_url_v2(&tenant) == format!("{login}/contoso.onmicrosoft.com/oauth2/v2.0/token"),
        "the token endpoint is {}",
        e.token_url_v2(&tenant)
    );
    Ok(())
}
