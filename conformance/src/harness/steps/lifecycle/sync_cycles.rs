//! Sync cycles, judged by what the tenant took (its journal of exports), not by the client's report.

use super::*;

#[when("a sync cycle runs")]
#[given("a sync cycle runs")]
async fn sync_cycle(w: &mut EntraWorld) -> anyhow::Result<()> {
    let before = snapshot(w).await?;
    let cycle = server(w).start_sync_cycle(PolicyType::Delta).await?;
    let effects = effects_since(w, &before).await?;
    let srv = sync(w);
    srv.last_cycle = Some(cycle);
    srv.cycle_requests = effects.requests;
    Ok(())
}

fn last_cycle(w: &mut EntraWorld) -> anyhow::Result<SyncCycleResult> {
    sync(w)
        .last_cycle
        .clone()
        .ok_or_else(|| anyhow!("no sync cycle ran"))
}

/// The exports the tenant's synchronization service answered during the last sync cycle.
fn exports(w: &mut EntraWorld) -> Vec<JournalEntry> {
    sync(w)
        .cycle_requests
        .iter()
        .filter(|r| r.operation == Some(Operation::AdsyncExport))
        .cloned()
        .collect()
}

/// The client id the tenant must see on the connector's requests: the application's appId, or
/// the public client the service account signs in through.
fn connector_client_id(w: &EntraWorld) -> anyhow::Result<String> {
    let config = server(w).config()?;
    Ok(match config.connector_identity_type {
        IdentityType::Application => config
            .application
            .ok_or_else(|| anyhow!("the connector uses its application but has none"))?
            .application_app_id
            .to_string(),
        IdentityType::ServiceAccount => {
            adsync_client::lifecycle::server::CONNECT_CLIENT_ID.to_string()
        }
    })
}

#[then("the sync cycle succeeded")]
async fn cycle_succeeded(w: &mut EntraWorld) -> anyhow::Result<()> {
    let c = last_cycle(w)?;
    ensure!(c.succeeded, "the sync cycle failed: {:?}", c.error);
    // The tenant's synchronization service must have taken the export, from the connector's
    // identity.
    let client = connector_client_id(w)?;
    let exports = exports(w);
    ensure!(
        exports.iter().any(|r| {
            r.status.is_some_and(|s| (200..300).contains(&s))
                && r.client_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&client))
        }),
        "the tenant took no export from {client} during the cycle: {exports:?}"
    );
    Ok(())
}

#[then("the sync cycle failed with Access Denied")]
async fn cycle_denied(w: &mut EntraWorld) -> anyhow::Result<()> {
    let c = last_cycle(w)?;
    ensure!(!c.succeeded && c.access_denied, "the sync cycle: {c:?}");
    let exports = exports(w);
    ensure!(
        exports.last().is_some_and(|r| r.status == Some(403)),
        "the tenant did not refuse the cycle's export with 403: {exports:?}"
    );
    ensure!(
        !exports
            .iter()
            .any(|r| r.status.is_some_and(|s| (200..300).contains(&s))),
        "the tenant took an export during the cycle: {exports:?}"
    );
    Ok(())
}

#[then(expr = "the sync cycle failed saying {string}")]
async fn cycle_failed(w: &mut EntraWorld, text: String) -> anyhow::Result<()> {
    let c = last_cycle(w)?;
    ensure!(!c.succeeded, "the sync cycle succeeded");
    let error = c.error.unwrap_or_default();
    ensure!(
        error.contains(&text),
        "the sync cycle failed with {error:?}"
    );
    let exports = exports(w);
    ensure!(
        !exports
            .iter()
            .any(|r| r.status.is_some_and(|s| (200..300).contains(&s))),
        "the tenant took an export during the cycle: {exports:?}"
    );
    Ok(())
}
