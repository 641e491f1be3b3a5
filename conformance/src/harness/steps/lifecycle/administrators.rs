//! What administrators bring: their certificates in LOCAL_MACHINE (software or TPM keys) and
//! their own applications (BYOA) with the grants they give them.

use super::*;

async fn admin_certificate(
    w: &mut EntraWorld,
    name: String,
    provider: &str,
    days: i64,
    grant: bool,
) -> anyhow::Result<()> {
    let provider = match provider {
        "TPM" | "the TPM" => KeyProviderKind::Tpm,
        "software" => KeyProviderKind::Software,
        other => bail!("unknown key provider {other:?} (the TPM, software)"),
    };
    let srv = sync(w);
    let cert = srv
        .server
        .new_local_machine_certificate(&NewCertificate {
            provider,
            subject_cn: format!("{name}.contoso.com"),
            validity: Duration::days(days),
            grant_sync_account: grant,
            exportable: false,
        })
        .await?;
    srv.certs.insert(name, cert.sha256_hash());
    Ok(())
}

#[given(expr = "an administrator's certificate {string} in LOCAL_MACHINE with a software key")]
async fn admin_cert(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    admin_certificate(w, name, "software", 365, true).await
}

#[given(expr = "an administrator's certificate {string} in LOCAL_MACHINE with its key in the TPM")]
async fn admin_cert_tpm(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    admin_certificate(w, name, "TPM", 365, true).await
}

#[given(expr = "an administrator's certificate {string} in LOCAL_MACHINE valid for {int} days")]
async fn admin_cert_days(w: &mut EntraWorld, name: String, days: i64) -> anyhow::Result<()> {
    admin_certificate(w, name, "software", days, true).await
}

#[given(
    expr = "an administrator's certificate {string} in LOCAL_MACHINE that the sync account may not use"
)]
async fn admin_cert_no_grant(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    admin_certificate(w, name, "software", 365, false).await
}

#[given(expr = "the administrator registers an application {string} with certificate {string}")]
async fn admin_registers_app(w: &mut EntraWorld, app: String, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let entry = server(w)
        .store(adsync_client::config::StoreKind::LocalMachine)
        .get(&hash)?
        .ok_or_else(|| anyhow!("certificate {cert} is not in LOCAL_MACHINE"))?;
    let info = entry.certificate.info()?;
    let der = entry.certificate.der().to_vec();
    let registered = w
        .tenant()
        .register_application(&app, &der, info.not_before, info.not_after, true)
        .await?;
    let sp = registered
        .service_principal_id
        .ok_or_else(|| anyhow!("{app} got no service principal"))?;
    sync(w).apps.insert(
        app,
        (
            ClientId::from(registered.app_id.to_string()),
            ObjectId::from(registered.object_id.to_string()),
            ObjectId::from(sp.to_string()),
        ),
    );
    Ok(())
}

#[given(expr = "the administrator grants {string} on {string} to the application {string}")]
async fn admin_grants(
    w: &mut EntraWorld,
    role: String,
    resource: String,
    app: String,
) -> anyhow::Result<()> {
    let (_, _, sp) = app_ids(w, &app)?;
    let sp: mock_graph::core::ids::ObjectId = sp.as_str().parse()?;
    let resource = resource_app_id(&resource);
    w.tenant().grant_app_role(sp, &resource, &role).await
}
