//! Rotation (on demand, to a chosen certificate, automatic) and its cleanup, compared with the
//! state read before the step: the certificate in use, the tenant's credentials, LOCAL_MACHINE.

use super::*;

#[when("the sync server rotates its credential on demand")]
async fn rotate(w: &mut EntraWorld) -> anyhow::Result<()> {
    before_rotating(w, None).await?;
    let srv = sync(w);
    let r = srv.server.rotate_credential(None, None).await;
    if let Some(o) = srv.record(r) {
        srv.last_rotation = Some(o);
    }
    Ok(())
}

#[when(expr = "the sync server rotates its credential on demand with the administrator {string}")]
async fn rotate_admin(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    before_rotating(w, None).await?;
    let admin = admin(w, &by);
    let srv = sync(w);
    let r = srv.server.rotate_credential(None, Some(&admin)).await;
    if let Some(o) = srv.record(r) {
        srv.last_rotation = Some(o);
    }
    Ok(())
}

/// `Invoke-ADSyncApplicationCredentialRotation -CertificateSHA256Hash`, with an
/// administrator when `by` names one.
async fn rotate_to_certificate(
    w: &mut EntraWorld,
    cert: &str,
    by: Option<&str>,
) -> anyhow::Result<()> {
    let hash = cert_hash(w, cert)?;
    let admin = by.map(|by| admin(w, by));
    before_rotating(w, Some(hash.clone())).await?;
    let srv = sync(w);
    let r = srv
        .server
        .rotate_credential(Some(&hash), admin.as_ref())
        .await;
    if let Some(o) = srv.record(r) {
        srv.last_rotation = Some(o);
    }
    Ok(())
}

#[when(expr = "the sync server rotates its credential to certificate {string}")]
async fn rotate_to(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    rotate_to_certificate(w, &cert, None).await
}

#[when(
    expr = "the sync server rotates its credential to certificate {string} with the administrator {string}"
)]
async fn rotate_to_with_admin(w: &mut EntraWorld, cert: String, by: String) -> anyhow::Result<()> {
    rotate_to_certificate(w, &cert, Some(&by)).await
}

/// BYOA rotation as the newer revision gives it: `Add-EntraApplicationRegistration
/// -CertificateSHA256Hash` with the administrator's sign-in.
#[when(
    expr = "the administrator {string} runs Add-EntraApplicationRegistration with certificate {string}"
)]
async fn add_entra_with_certificate(
    w: &mut EntraWorld,
    by: String,
    cert: String,
) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let admin = admin(w, &by);
    before_rotating(w, Some(hash.clone())).await?;
    let srv = sync(w);
    let r = srv
        .server
        .add_entra_application_registration(&admin, Some(&hash), None)
        .await;
    match srv.record(r) {
        Some(EntraRegistration::Rotated(o)) => srv.last_rotation = Some(o),
        Some(other) => bail!("Add-EntraApplicationRegistration did not rotate: {other:?}"),
        None => {}
    }
    Ok(())
}

/// The article's last BYOC/BYOA rotation step: the old certificate leaves LOCAL_MACHINE.
#[when(expr = "the administrator removes the certificate {string} from LOCAL_MACHINE")]
async fn remove_local_certificate(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let srv = sync(w);
    let key = srv
        .server
        .store(StoreKind::LocalMachine)
        .get(&hash)?
        .map(|e| e.key);
    let r = srv.server.remove_local_machine_certificate(&hash);
    if srv.record(r).is_some()
        && let Some(key) = key
    {
        srv.removed_keys.insert(cert, key);
    }
    Ok(())
}

#[then(expr = "the certificate {string} is in LOCAL_MACHINE")]
async fn in_local_machine(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let entry = server(w).store(StoreKind::LocalMachine).get(&hash)?;
    ensure!(
        entry.is_some(),
        "certificate {cert} is not in LOCAL_MACHINE"
    );
    Ok(())
}

/// Gone from the store, and its key with it: a software key's file no longer opens.
#[then(expr = "the certificate {string} and its key are no longer in LOCAL_MACHINE")]
async fn not_in_local_machine(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let srv = server(w);
    ensure!(
        srv.store(StoreKind::LocalMachine).get(&hash)?.is_none(),
        "certificate {cert} is still in LOCAL_MACHINE"
    );
    let key = sync(w)
        .removed_keys
        .get(&cert)
        .cloned()
        .ok_or_else(|| anyhow!("no step removed certificate {cert}"))?;
    if let KeyRef::Software { id } = key {
        let opened = srv.providers().software().open(&id);
        ensure!(
            matches!(opened, Err(adsync_client::keys::KeyError::NotFound(_))),
            "the key of certificate {cert} still opens: {opened:?}"
        );
    }
    Ok(())
}

/// The administrator registers one more of their certificates on their application (BYOA), as
/// the article's prerequisites have them do.
#[given(expr = "the administrator adds certificate {string} to the application {string}")]
async fn admin_adds_certificate(
    w: &mut EntraWorld,
    cert: String,
    app: String,
) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let entry = server(w)
        .store(StoreKind::LocalMachine)
        .get(&hash)?
        .ok_or_else(|| anyhow!("certificate {cert} is not in LOCAL_MACHINE"))?;
    let info = entry.certificate.info()?;
    let (_, object_id, _) = app_ids(w, &app)?;
    let object_id: mock_graph::core::ids::ObjectId = object_id.as_str().parse()?;
    let der = entry.certificate.der().to_vec();
    w.tenant()
        .add_certificate(object_id, &der, info.not_before, info.not_after)
        .await?;
    Ok(())
}

#[then(expr = "the application {string} has only the certificate {string}")]
async fn app_has_only(w: &mut EntraWorld, app: String, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let (app_id, _, _) = app_ids(w, &app)?;
    let app_id: mock_graph::core::ids::AppId = app_id.as_str().parse()?;
    let keys = w
        .tenant()
        .directory()
        .await?
        .application_by_app_id(app_id)
        .cloned()
        .ok_or_else(|| anyhow!("the tenant has no application {app}"))?
        .key_credentials;
    let hashes: Vec<String> = keys
        .iter()
        .map(|k| k.key.as_deref().map(sha256_hex).unwrap_or_default())
        .collect();
    ensure!(
        hashes.len() == 1 && hashes[0].eq_ignore_ascii_case(hash.as_str()),
        "application {app} has the certificates {hashes:?}, not only {cert} ({hash})"
    );
    Ok(())
}

/// The rotation's own report is only cross-checked: the verdict comes from the configuration
/// read back, the certificate before the step, the certificate the scenario named, the store
/// and the tenant's keyCredentials.
#[then("the certificate was rotated")]
async fn was_rotated(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = sync(w);
    let before = srv
        .before_rotation
        .clone()
        .ok_or_else(|| anyhow!("no step before this one could rotate"))?;
    let target = srv.rotation_target.clone();
    let report = srv
        .last_rotation
        .clone()
        .ok_or_else(|| anyhow!("no rotation happened (last error: {:?})", srv.last_error()))?;
    let old = before
        .certificate
        .ok_or_else(|| anyhow!("the connector had no certificate before the step"))?;
    let config = srv.server.config()?;
    let app = config
        .application
        .ok_or_else(|| anyhow!("the connector has no application identity"))?;
    let current = app.certificate_sha256_hash.clone();
    ensure!(
        current != old,
        "the connector still uses the certificate it had before the step ({old}); the rotation reported {report:?}"
    );
    if let Some(target) = &target {
        ensure!(
            &current == target,
            "the connector uses {current}, not the certificate the scenario named ({target})"
        );
    }
    ensure!(
        srv.server.rotation_journal()?.is_none(),
        "a rotation is still under way"
    );
    let entry = srv
        .server
        .store(app.certificate_store)
        .get(&current)?
        .ok_or_else(|| anyhow!("the connector's certificate {current} is not in its store"))?;
    ensure!(
        sha256_hex(entry.certificate.der()).eq_ignore_ascii_case(current.as_str()),
        "the store's entry for {current} holds another certificate"
    );
    let tenant = tenant_app(w).await?;
    let key = tenant_key_for(&tenant, &current).ok_or_else(|| {
        anyhow!("the sync application in the tenant has no credential for the connector's certificate {current}")
    })?;
    let now = sync(w).clock.now();
    ensure!(
        key.start_date_time <= now && now < key.end_date_time,
        "the new credential is not valid now: {} to {}",
        key.start_date_time,
        key.end_date_time
    );
    // The (last) rotation's report must agree with what happened.
    ensure!(
        report.completed && report.new_certificate_sha256_hash == current,
        "the rotation reported {report:?}, but the connector uses {current}"
    );
    Ok(())
}

#[then("the certificate was not rotated")]
async fn not_rotated(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = sync(w);
    let before = srv
        .before_rotation
        .clone()
        .ok_or_else(|| anyhow!("no step before this one could rotate"))?;
    ensure!(
        srv.last_rotation.is_none(),
        "a rotation happened: {:?}",
        srv.last_rotation
    );
    ensure!(
        srv.server.rotation_journal()?.is_none(),
        "a rotation is under way"
    );
    let current = srv
        .server
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash);
    ensure!(
        current == before.certificate,
        "the connector's certificate changed from {:?} to {current:?}",
        before.certificate
    );
    let mut keys: Vec<String> = tenant_app(w)
        .await?
        .key_credentials
        .iter()
        .map(|k| k.key_id.to_string())
        .collect();
    let mut was = before.tenant_keys.clone();
    keys.sort();
    was.sort();
    ensure!(
        keys == was,
        "the sync application's credentials changed from {was:?} to {keys:?}"
    );
    Ok(())
}

#[then("the old certificate left the sync server")]
async fn old_left(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = sync(w);
    let old = srv
        .before_rotation
        .as_ref()
        .and_then(|b| b.certificate.clone())
        .ok_or_else(|| anyhow!("no certificate was recorded before a rotation"))?;
    let current = srv
        .server
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash);
    ensure!(
        current.as_ref() != Some(&old),
        "the old certificate {old} is still the connector's"
    );
    let store = srv
        .server
        .store(adsync_client::config::StoreKind::CurrentUser);
    ensure!(
        store.get(&old)?.is_none(),
        "the old certificate {old} is still in CURRENT_USER"
    );
    Ok(())
}

#[given(expr = "the tenant refuses the next {int} removeKey request(s)")]
async fn refuse_remove_key(w: &mut EntraWorld, count: u32) -> anyhow::Result<()> {
    add_fault(
        w,
        serde_json::json!({"match": {"operation": "removeKey"}, "status": 403, "error": "Authorization_RequestDenied", "count": count}),
    )
    .await
}

#[given(expr = "the tenant delays new directory role assignments by {int} minutes")]
async fn lag_role_assignments(w: &mut EntraWorld, minutes: u64) -> anyhow::Result<()> {
    add_fault(
        w,
        serde_json::json!({"match": {"operation": "roleAssignments.create"}, "lag_seconds": minutes * 60}),
    )
    .await
}

async fn add_fault(w: &mut EntraWorld, rule: serde_json::Value) -> anyhow::Result<()> {
    w.tenant().add_fault(rule).await
}

/// The CertificateId that the last event 1015 names.
fn stale_id(w: &EntraWorld) -> anyhow::Result<KeyCredentialId> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(adsync_client::events::ids::OLD_CREDENTIAL_NOT_REMOVED),
        ..Default::default()
    })?;
    let message = &events
        .last()
        .ok_or_else(|| anyhow!("no event 1015"))?
        .message;
    let id = message
        .split("CertificateId ")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ', ')']).next())
        .ok_or_else(|| anyhow!("event 1015 names no CertificateId: {message}"))?;
    Ok(KeyCredentialId::from(id))
}

#[then("event 1015 names the old credential's CertificateId")]
async fn names_old_id(w: &mut EntraWorld) -> anyhow::Result<()> {
    let id = stale_id(w)?;
    let old = sync(w)
        .before_rotation
        .as_ref()
        .and_then(|b| b.certificate.clone())
        .ok_or_else(|| anyhow!("no certificate was recorded before a rotation"))?;
    let app = tenant_app(w).await?;
    let key = app
        .key_credentials
        .iter()
        .find(|k| k.key_id.to_string() == id.as_str())
        .ok_or_else(|| anyhow!("the application has no credential {id}"))?;
    let der = key
        .key
        .as_deref()
        .ok_or_else(|| anyhow!("credential {id} has no certificate"))?;
    ensure!(
        sha256_hex(der).eq_ignore_ascii_case(old.as_str()),
        "credential {id} is not the old certificate {old}'s"
    );
    let config = server(w).config()?;
    ensure!(
        config.application.and_then(|a| a.certificate_id).as_ref() != Some(&id),
        "{id} is the current credential"
    );
    Ok(())
}

#[when("the administrator removes the application key that event 1015 names")]
async fn remove_named_key(w: &mut EntraWorld) -> anyhow::Result<()> {
    let id = stale_id(w)?;
    let srv = sync(w);
    let r = srv.server.remove_application_key(&id, None).await;
    srv.record(r);
    Ok(())
}
