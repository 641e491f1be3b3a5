//! Revocation and credential hygiene: an administrator removes or adds credentials in the
//! tenant, and the sync server's review classifies them.

use super::*;

#[when("an administrator removes the sync server's certificate credential in the tenant")]
#[given("an administrator removes the sync server's certificate credential in the tenant")]
async fn revoke(w: &mut EntraWorld) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let removed = w.tenant().remove_certificates(app.id).await?;
    ensure!(
        removed > 0,
        "the sync application had no certificate credential to remove"
    );
    Ok(())
}

#[given(
    expr = "an Application Administrator adds a certificate of their own to the sync application"
)]
async fn foreign_credential(w: &mut EntraWorld) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let now = sync(w).clock.now();
    let cert =
        mock_graph::testing::TestCertificate::generate_async(now, now + Duration::days(90)).await?;
    let key_id = w
        .tenant()
        .add_certificate(app.id, &cert.der, now, now + Duration::days(90))
        .await?;
    sync(w).foreign_keys.push(key_id.to_string());
    Ok(())
}

/// The same, on the sync application's service principal (where the application's own view
/// does not show it).
#[given(
    expr = "an Application Administrator adds a certificate of their own to the sync application's service principal"
)]
async fn foreign_sp_credential(w: &mut EntraWorld) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let now = sync(w).clock.now();
    let end = now + Duration::days(90);
    let cert = mock_graph::testing::TestCertificate::generate_async(now, end).await?;
    let key_id = uuid::Uuid::new_v4();
    let credential = mock_graph::core::directory::KeyCredential {
        key_id,
        custom_key_identifier: None,
        display_name: Some("CN=appadmin".into()),
        start_date_time: now,
        end_date_time: end,
        key_type: "AsymmetricX509Cert".into(),
        usage: "Verify".into(),
        key: Some(cert.der.clone()),
        added_by: None,
    };
    w.tenant()
        .add_service_principal_credential(app.app_id, credential)
        .await?;
    sync(w).foreign_keys.push(key_id.to_string());
    Ok(())
}

/// The key ids of the sync application's credentials in the tenant: on the application and on
/// its service principal.
async fn tenant_key_ids(w: &EntraWorld) -> anyhow::Result<Vec<String>> {
    let app = tenant_app(w).await?;
    let directory = w.tenant().directory().await?;
    let on_sp: Vec<String> = directory
        .service_principal_by_app_id(app.app_id)
        .map(|s| {
            s.key_credentials
                .iter()
                .map(|k| k.key_id.to_string())
                .collect()
        })
        .unwrap_or_default();
    Ok(app
        .key_credentials
        .iter()
        .map(|k| k.key_id.to_string())
        .chain(on_sp)
        .collect())
}

#[when(expr = "the administrator {string} reviews the sync application's credentials")]
async fn review_keys(w: &mut EntraWorld, by: String) {
    let admin = admin(w, &by);
    let srv = sync(w);
    let r = srv.server.application_keys(&admin).await;
    srv.last_review = srv.record(r);
}

/// The review against the tenant: every credential listed once, the ones the scenario added as
/// an Application Administrator (and only those) `Foreign`, the connector's own `Current`.
#[then("the review classifies only the Application Administrator's credential as foreign")]
async fn review_classifies(w: &mut EntraWorld) -> anyhow::Result<()> {
    let review = sync(w)
        .last_review
        .clone()
        .ok_or_else(|| anyhow!("no review listed the credentials"))?;
    let mut foreign_added = sync(w).foreign_keys.clone();
    ensure!(
        !foreign_added.is_empty(),
        "no step added a foreign credential"
    );
    let app = tenant_app(w).await?;
    let mut in_tenant = tenant_key_ids(w).await?;
    let mut listed: Vec<String> = review
        .iter()
        .map(|k| {
            k.certificate_id
                .as_ref()
                .map_or_else(String::new, |id| id.to_string())
        })
        .collect();
    in_tenant.sort();
    listed.sort();
    ensure!(
        listed == in_tenant,
        "the review lists {listed:?}, the tenant has {in_tenant:?}"
    );
    let mut foreign: Vec<String> = review
        .iter()
        .filter(|k| k.status == "Foreign")
        .filter_map(|k| k.certificate_id.as_ref().map(|id| id.to_string()))
        .collect();
    foreign.sort();
    foreign_added.sort();
    ensure!(
        foreign == foreign_added,
        "the review calls {foreign:?} foreign; the Application Administrator added {foreign_added:?}: {review:?}"
    );
    let current = server(w)
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash)
        .ok_or_else(|| anyhow!("the connector has no application"))?;
    let own = tenant_key_for(&app, &current)
        .ok_or_else(|| anyhow!("the tenant has no credential for the connector's certificate"))?
        .key_id
        .to_string();
    let status = review
        .iter()
        .find(|k| k.certificate_id.as_ref().map(|id| id.to_string()) == Some(own.clone()))
        .map(|k| k.status.clone());
    ensure!(
        status.as_deref() == Some("Current"),
        "the connector's own credential {own} is listed as {status:?}"
    );
    Ok(())
}

#[then(
    "event 1016 names the CertificateId of the Application Administrator's credential and no other"
)]
async fn event_names_foreign(w: &mut EntraWorld) -> anyhow::Result<()> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(adsync_client::events::ids::FOREIGN_CREDENTIALS),
        ..Default::default()
    })?;
    let message = events
        .last()
        .map(|e| e.message.to_ascii_lowercase())
        .ok_or_else(|| anyhow!("no event 1016"))?;
    let foreign = sync(w).foreign_keys.clone();
    for id in &foreign {
        ensure!(
            message.contains(&id.to_ascii_lowercase()),
            "event 1016 does not name {id}: {message}"
        );
    }
    for id in tenant_key_ids(w).await? {
        ensure!(
            foreign.contains(&id) || !message.contains(&id.to_ascii_lowercase()),
            "event 1016 names {id}, which the Application Administrator did not add: {message}"
        );
    }
    Ok(())
}
