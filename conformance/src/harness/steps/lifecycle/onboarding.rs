//! Onboarding (managed, BYOC, BYOA) and what it leaves: the connector identity, the sync
//! application in the tenant, its permissions and credentials, the nine certificate properties.

use super::*;

// A Given states what the scenario starts from: when it cannot be done, the scenario fails
// there. The When forms keep the outcome for `Then the operation succeeded / failed saying`.

async fn onboard(
    w: &mut EntraWorld,
    by: &str,
    cert: Option<&str>,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = admin(w, by);
    let hash = cert.map(|c| cert_hash(w, c)).transpose()?;
    let r = server(w).onboard(&admin, hash.as_ref(), None).await;
    Ok(r.map(|_| ()))
}

#[when(expr = "the administrator {string} onboards the sync server")]
async fn onboards_managed(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, None).await?;
    sync(w).record(r);
    Ok(())
}

#[given(expr = "the administrator {string} onboards the sync server")]
async fn onboarded_managed(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, None).await?;
    sync(w).given("onboarding", r)
}

#[when(expr = "the administrator {string} onboards the sync server with certificate {string}")]
async fn onboards_byoc(w: &mut EntraWorld, by: String, cert: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, Some(&cert)).await?;
    sync(w).record(r);
    Ok(())
}

#[given(expr = "the administrator {string} onboards the sync server with certificate {string}")]
async fn onboarded_byoc(w: &mut EntraWorld, by: String, cert: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, Some(&cert)).await?;
    sync(w).given("onboarding with a certificate", r)
}

async fn link(
    w: &mut EntraWorld,
    by: &str,
    app: &str,
    cert: &str,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = admin(w, by);
    let hash = cert_hash(w, cert)?;
    let (app_id, _, _) = app_ids(w, app)?;
    let r = server(w)
        .add_adsync_application_registration(Some(&admin), Some(&hash), Some(&app_id))
        .await;
    Ok(r.map(|_| ()))
}

#[when(
    expr = "the administrator {string} links the application {string} with certificate {string}"
)]
async fn onboards_byoa(
    w: &mut EntraWorld,
    by: String,
    app: String,
    cert: String,
) -> anyhow::Result<()> {
    let r = link(w, &by, &app, &cert).await?;
    sync(w).record(r);
    Ok(())
}

#[given(
    expr = "the administrator {string} links the application {string} with certificate {string}"
)]
async fn linked_byoa(
    w: &mut EntraWorld,
    by: String,
    app: String,
    cert: String,
) -> anyhow::Result<()> {
    let r = link(w, &by, &app, &cert).await?;
    sync(w).given("linking the application", r)
}

#[then("the operation succeeded")]
async fn operation_succeeded(w: &mut EntraWorld) -> anyhow::Result<()> {
    match &sync(w).last_outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => bail!("the last operation failed: {e}"),
        None => bail!("no operation ran"),
    }
}

#[then(expr = "the operation failed saying {string}")]
async fn operation_failed(w: &mut EntraWorld, text: String) -> anyhow::Result<()> {
    match &sync(w).last_outcome {
        Some(Err(e)) if e.contains(&text) => Ok(()),
        Some(Err(e)) => bail!("the last operation failed with {e:?}, which does not say {text:?}"),
        Some(Ok(())) => bail!("the last operation succeeded"),
        None => bail!("no operation ran"),
    }
}

#[then(expr = "the connector identity type is {word}")]
async fn identity_type(w: &mut EntraWorld, expected: String) -> anyhow::Result<()> {
    let view = server(w).connector_credential()?;
    ensure!(
        view.connector_identity_type.to_string() == expected,
        "ConnectorIdentityType is {}",
        view.connector_identity_type
    );
    Ok(())
}

#[then(
    expr = "the connector credential shows the certificate managed by {string} with its key in {word}"
)]
async fn credential_details(
    w: &mut EntraWorld,
    managed_by: String,
    storage: String,
) -> anyhow::Result<()> {
    let view = server(w).connector_credential()?;
    let cert = view
        .certificate
        .ok_or_else(|| anyhow!("Get-ADSyncEntraConnectorCredential shows no certificate"))?;
    ensure!(
        cert.certificate_managed_by.to_string() == managed_by,
        "managed by {}",
        cert.certificate_managed_by
    );
    ensure!(cert.key_storage == storage, "key in {}", cert.key_storage);
    // What the view shows, against the configuration and the store read back.
    let srv = server(w);
    let app = srv
        .config()?
        .application
        .ok_or_else(|| anyhow!("the connector has no application"))?;
    ensure!(
        cert.certificate_sha256_hash == app.certificate_sha256_hash,
        "the view shows {}, the configuration names {}",
        cert.certificate_sha256_hash,
        app.certificate_sha256_hash
    );
    let entry = srv
        .store(app.certificate_store)
        .get(&app.certificate_sha256_hash)?
        .ok_or_else(|| anyhow!("the connector's certificate is not in its store"))?;
    let stored = match entry.key {
        adsync_client::keys::KeyRef::Tpm { .. } => "TPM",
        adsync_client::keys::KeyRef::Software { .. } => "Software",
    };
    ensure!(
        stored == storage,
        "the view says the key is in {}, the store holds a {stored} key",
        cert.key_storage
    );
    let sha1 = sha1_hex(entry.certificate.der());
    ensure!(
        cert.certificate_thumbprint
            .to_string()
            .eq_ignore_ascii_case(&sha1),
        "the view shows thumbprint {}, the certificate's is {sha1}",
        cert.certificate_thumbprint
    );
    let json = serde_json::to_value(&cert)?;
    for property in [
        "CertificateManagedBy",
        "AutomaticRotationEnabled",
        "CertificateThumbprint",
        "CertificateSHA256Hash",
        "SubjectName",
        "IssuedBy",
        "SerialNumber",
        "NotValidBefore",
        "NotValidAfter",
    ] {
        ensure!(
            json.get(property).is_some_and(|v| !v.is_null()),
            "no {property} in {json}"
        );
    }
    Ok(())
}

#[then("the tenant has the sync application named after the server")]
async fn app_named(w: &mut EntraWorld) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let config = server(w).config()?;
    ensure!(
        app.display_name == config.application_display_name(),
        "the application is named {}",
        app.display_name
    );
    ensure!(
        app.display_name
            .starts_with(&format!("ConnectSyncProvisioning_{}_", config.server_name))
    );
    ensure!(
        app.sign_in_audience == "AzureADMyOrg",
        "signInAudience {}",
        app.sign_in_audience
    );
    ensure!(
        !app.required_resource_access.is_empty(),
        "no requiredResourceAccess"
    );
    Ok(())
}

#[then(expr = "the sync application holds {string}")]
async fn app_holds(w: &mut EntraWorld, role: String) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let directory = w.tenant().directory().await?;
    let sp = directory
        .service_principal_by_app_id(app.app_id)
        .map(|s| s.id);
    let held = directory
        .service_principals
        .iter()
        .flat_map(|r| {
            sp.map(|sp| directory.granted_app_roles(sp, r))
                .unwrap_or_default()
        })
        .collect::<Vec<_>>();
    ensure!(held.contains(&role), "the sync application holds {held:?}");
    Ok(())
}

#[then(expr = "the sync application holds {string} on {string}")]
async fn app_holds_on(w: &mut EntraWorld, role: String, resource: String) -> anyhow::Result<()> {
    let of = of_resource(w, &resource).await?;
    let held = of.granted.ok_or_else(|| {
        anyhow!("the tenant has no service principal of {resource}, so nothing can be held on it")
    })?;
    ensure!(
        held.contains(&role),
        "the sync application holds {held:?} on {resource}"
    );
    Ok(())
}

/// Holding nothing on a resource the tenant does not have is true of any application: the step
/// also looks at what the sync application declares (`requiredResourceAccess`) and at every app
/// role assignment it has, so a grant or a declaration for that resource fails it either way.
#[then(expr = "the sync application holds nothing on {string}")]
async fn app_holds_nothing_on(w: &mut EntraWorld, resource: String) -> anyhow::Result<()> {
    let of = of_resource(w, &resource).await?;
    if let Some(held) = &of.granted {
        ensure!(
            held.is_empty(),
            "the sync application holds {held:?} on {resource}"
        );
    }
    ensure!(
        of.assignments == 0,
        "the sync application has {} app role assignment(s) on {resource}",
        of.assignments
    );
    ensure!(
        of.declared == 0,
        "the sync application's requiredResourceAccess declares {} role(s) of {resource}",
        of.declared
    );
    Ok(())
}

/// What the sync application has of one resource, read from the tenant.
struct OfResource {
    /// The enabled roles granted on the resource's service principal; `None` when the tenant
    /// has no service principal with that appId.
    granted: Option<Vec<String>>,
    /// App role assignments of the sync application's service principal to a service
    /// principal with that appId (whatever their role).
    assignments: usize,
    /// Roles of that appId in the application's `requiredResourceAccess`.
    declared: usize,
}

/// Reads what the sync application holds and declares of `resource` (an appId, or a name
/// `resource_app_id` knows).
async fn of_resource(w: &EntraWorld, resource: &str) -> anyhow::Result<OfResource> {
    let app = tenant_app(w).await?;
    let resource: mock_graph::core::ids::AppId = resource_app_id(resource).parse()?;
    let declared = app
        .required_resource_access
        .iter()
        .filter(|r| {
            r.resource_app_id
                .eq_ignore_ascii_case(&resource.to_string())
        })
        .map(|r| r.resource_access.len().max(1))
        .sum();
    let directory = w.tenant().directory().await?;
    let sp = directory
        .service_principal_by_app_id(app.app_id)
        .map(|s| s.id)
        .ok_or_else(|| anyhow!("the sync application has no service principal"))?;
    let target = directory.service_principal_by_app_id(resource);
    let assignments = directory
        .app_role_assignments
        .iter()
        .filter(|a| a.principal_id == sp)
        .filter(|a| {
            directory
                .service_principal(a.resource_id)
                .is_some_and(|r| r.app_id == resource)
        })
        .count();
    Ok(OfResource {
        granted: target.map(|r| directory.granted_app_roles(sp, r)),
        assignments,
        declared,
    })
}

#[then(expr = "the sync application has {int} certificate credential(s)")]
async fn app_credentials(w: &mut EntraWorld, n: usize) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    ensure!(
        app.key_credentials.len() == n,
        "the sync application has {} credentials",
        app.key_credentials.len()
    );
    // A count alone passes when the wrong credential stayed: one of them must be the
    // certificate the connector uses.
    let config = server(w).config()?;
    if n > 0
        && config.connector_identity_type == IdentityType::Application
        && let Some(current) = config.application.map(|a| a.certificate_sha256_hash)
    {
        ensure!(
            tenant_key_for(&app, &current).is_some(),
            "none of the sync application's credentials is the connector's certificate {current}"
        );
    }
    Ok(())
}
