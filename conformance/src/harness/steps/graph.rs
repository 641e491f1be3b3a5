//! Steps about Microsoft Graph as an administrator drives it for "bring your own application":
//! reading the first-party service principals and their app roles, declaring the application's
//! `requiredResourceAccess`, granting app roles, adding certificates, and an application rolling
//! its own key with addKey. Everything goes over HTTP through `w.tenant()` (the in-process mock,
//! or a remote tenant with `ENTRA_HARNESS_TARGET`), with delegated tokens obtained by the
//! resource owner password grant through Microsoft Graph Command Line Tools.
//!
//! The service principals and app roles a step reads are remembered for the later steps of the
//! scenario (`world::GraphMemory`), as an administrator keeps them in variables between commands.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cucumber::{given, then, when};
use mock_graph::testing::{Alg, GenerateAsync as _, TestCertificate};
use serde_json::{Value, json};
use time::Duration;
use time::format_description::well_known::Rfc3339;

use crate::harness::world::{Answer, EntraWorld, ScenarioApp};

/// Microsoft Graph Command Line Tools: the public client administrators sign in through.
pub const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// The fixture users' password.
const PASSWORD: &str = "Passw0rd!";
/// The `aud` of addKey/removeKey proofs: Azure AD Graph.
const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// Microsoft Graph's appId.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// First-party resources by the names the documents use (global cloud), or an appId as is.
pub fn resource_app_id(name: &str) -> String {
    match name {
        "Microsoft Entra AD Synchronization Service" | "the synchronization service" => {
            "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016".into()
        }
        "Microsoft password reset service" | "the password reset service" => {
            "93625bc8-bfe2-437a-97e0-3d0060024faa".into()
        }
        "Microsoft Graph" => GRAPH_APP_ID.into(),
        other => other.into(),
    }
}

/// A resource by first-party name, by appId, or (an application of the scenario) by its name.
fn resource_of(w: &EntraWorld, name: &str) -> String {
    w.apps
        .get(name)
        .map_or_else(|| resource_app_id(name), |a| a.app_id.to_string())
}

/// Graph's base URL: the target's (`ENTRA_HARNESS_GRAPH` when a remote target names one).
fn graph_base(w: &EntraWorld) -> String {
    w.tenant().graph_url.clone()
}

/// A user principal name in this tenant (see `TenantTarget::user`).
fn upn(w: &EntraWorld, who: &str) -> String {
    w.tenant().user(who)
}

/// The scope of Graph tokens: Microsoft Graph by its appId, the same in every cloud (its
/// host, and so its URI, differs: `https://graph.microsoft.us` in the US Government cloud).
fn graph_scope() -> String {
    format!("{GRAPH_APP_ID}/.default")
}

/// The user's delegated Graph token (signed in once per scenario, then reused).
async fn user_token(w: &mut EntraWorld, who: &str) -> anyhow::Result<String> {
    let upn = upn(w, who);
    if let Some(token) = w.graph.tokens.get(&upn) {
        return Ok(token.clone());
    }
    let scope = graph_scope();
    let tenant = w.tenant();
    let resp = tenant
        .http
        .post(tenant.token_url(&tenant.tenant_id, false))
        .form(&[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", upn.as_str()),
            ("password", PASSWORD),
            ("scope", scope.as_str()),
        ])
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    let token = body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("{upn} could not sign in ({status}): {body}"))?;
    w.graph.tokens.insert(upn, token.clone());
    Ok(token)
}

/// An app-only Graph token of a scenario application, from its certificate.
async fn app_graph_token(w: &EntraWorld, name: &str) -> anyhow::Result<String> {
    let scope = graph_scope();
    let tenant = w.tenant();
    let app = w.app(name);
    let url = tenant.token_url(&tenant.tenant_id, false);
    let client_id = app.app_id.to_string();
    let assertion = app
        .certificate
        .assertion(&client_id, &url, tenant.now().await?, Alg::Ps256);
    let resp = tenant
        .http
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("scope", scope.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("{name} got no Graph token ({status}): {body}"))
}

/// Sends one Graph request; the answer is returned, not kept.
async fn send(
    w: &EntraWorld,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Answer> {
    let url = format!("{}/v1.0/{}", graph_base(w), path.trim_start_matches('/'));
    let mut req = w.tenant().http.request(method.parse()?, &url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(Answer { status, body })
}

/// Sends one Graph request and keeps the answer for the Then steps.
async fn call(
    w: &mut EntraWorld,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Answer> {
    let answer = send(w, token, method, path, body).await?;
    w.last = Some(answer.clone());
    Ok(answer)
}

/// The service principal object id of `app_id`: remembered, or read now with `token`.
async fn sp_id(w: &mut EntraWorld, token: &str, app_id: &str) -> anyhow::Result<String> {
    if let Some(id) = w.graph.service_principals.get(app_id) {
        return Ok(id.clone());
    }
    let a = send(
        w,
        Some(token),
        "GET",
        &format!("servicePrincipals(appId='{app_id}')?$select=id"),
        None,
    )
    .await?;
    let id = a.body["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no service principal of {app_id}: {}", a.body))?;
    w.graph
        .service_principals
        .insert(app_id.to_string(), id.clone());
    Ok(id)
}

/// The `appRoles` of `app_id`: remembered, or read now with `token`.
async fn app_roles(w: &mut EntraWorld, token: &str, app_id: &str) -> anyhow::Result<Vec<Value>> {
    if let Some(roles) = w.graph.app_roles.get(app_id) {
        return Ok(roles.clone());
    }
    let a = send(
        w,
        Some(token),
        "GET",
        &format!("servicePrincipals(appId='{app_id}')?$select=appRoles"),
        None,
    )
    .await?;
    let roles = a.body["appRoles"]
        .as_array()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no appRoles of {app_id}: {}", a.body))?;
    w.graph.app_roles.insert(app_id.to_string(), roles.clone());
    Ok(roles)
}

fn role_id(roles: &[Value], value: &str) -> Option<String> {
    roles
        .iter()
        .find(|r| r["value"] == value)
        .and_then(|r| r["id"].as_str())
        .map(str::to_string)
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

// ---- reading the resources

/// A Given states what the scenario starts from: Graph must have done it (2xx), or the
/// scenario fails there. The When forms keep the answer for `Then Graph answers ...`.
fn given_succeeded(w: &EntraWorld, what: &str) -> anyhow::Result<()> {
    let last = w.last();
    anyhow::ensure!(
        (200..300).contains(&last.status),
        "{what} (a Given) failed: Graph answered {}: {}",
        last.status,
        last.body
    );
    Ok(())
}

#[given(expr = "the administrator/user {string} reads the service principal of {string}")]
async fn has_read_sp(w: &mut EntraWorld, who: String, resource: String) -> anyhow::Result<()> {
    reads_sp(w, who, resource).await?;
    given_succeeded(w, "reading the service principal")
}

#[when(expr = "the administrator/user {string} reads the service principal of {string}")]
async fn reads_sp(w: &mut EntraWorld, who: String, resource: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = resource_app_id(&resource);
    let a = call(
        w,
        Some(&token),
        "GET",
        &format!("servicePrincipals(appId='{app_id}')?$select=id"),
        None,
    )
    .await?;
    if let Some(id) = a.body["id"].as_str() {
        w.graph.service_principals.insert(app_id, id.to_string());
    }
    Ok(())
}

/// One version of the Connect Sync documentation writes the address with a slash before the
/// key and typographic quotes (`/servicePrincipals/(appId=‘…’)`); copied commands must work.
#[when(
    expr = "the administrator/user {string} reads the service principal of {string} as the documentation writes it"
)]
async fn reads_sp_as_documented(
    w: &mut EntraWorld,
    who: String,
    resource: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = resource_app_id(&resource);
    call(
        w,
        Some(&token),
        "GET",
        &format!("servicePrincipals/(appId=\u{2018}{app_id}\u{2019})?$select=id"),
        None,
    )
    .await?;
    Ok(())
}

#[given(expr = "the administrator/user {string} reads the app roles of {string}")]
async fn has_read_roles(w: &mut EntraWorld, who: String, resource: String) -> anyhow::Result<()> {
    reads_roles(w, who, resource).await?;
    given_succeeded(w, "reading the app roles")
}

#[when(expr = "the administrator/user {string} reads the app roles of {string}")]
async fn reads_roles(w: &mut EntraWorld, who: String, resource: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = resource_of(w, &resource);
    let a = call(
        w,
        Some(&token),
        "GET",
        &format!("servicePrincipals(appId='{app_id}')?$select=appRoles"),
        None,
    )
    .await?;
    if let Some(roles) = a.body["appRoles"].as_array() {
        w.graph.app_roles.insert(app_id, roles.clone());
    }
    Ok(())
}

#[given(expr = "the administrator/user {string} has signed in to Graph")]
async fn signed_in(w: &mut EntraWorld, who: String) -> anyhow::Result<()> {
    user_token(w, &who).await.map(|_| ())
}

/// Reads a service principal with a bearer token that is wrong in one way.
#[when(
    regex = r#"^the service principal of "([^"]*)" is read (without a bearer token|with an empty bearer token|with a bearer token that is not a JWT|with a forged bearer token)$"#
)]
async fn reads_with_bad_token(
    w: &mut EntraWorld,
    resource: String,
    how: String,
) -> anyhow::Result<()> {
    let path = format!(
        "servicePrincipals(appId='{}')?$select=id",
        resource_app_id(&resource)
    );
    let token = match how.as_str() {
        "without a bearer token" => None,
        "with an empty bearer token" => Some(String::new()),
        "with a bearer token that is not a JWT" => Some("not-a-jwt".to_string()),
        _ => {
            // An administrator's real token with its claims changed: the signature no longer
            // matches (a token made up by someone without the tenant's signing key).
            let admin = format!("admin@{}", w.tenant().domain);
            let real = user_token(w, &admin).await?;
            let mut parts = real.split('.');
            let (header, payload) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            let signature = parts.next().unwrap_or_default();
            let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
            claims["scp"] = json!("Directory.ReadWrite.All AppRoleAssignment.ReadWrite.All");
            claims["exp"] = json!(claims["exp"].as_i64().unwrap_or_default() + 86_400);
            Some(format!(
                "{header}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(claims.to_string())
            ))
        }
    };
    match token {
        Some(t) if t.is_empty() => {
            let url = format!("{}/v1.0/{path}", graph_base(w));
            let resp = w
                .tenant()
                .http
                .get(&url)
                .header("authorization", "Bearer ")
                .send()
                .await?;
            let status = resp.status().as_u16();
            let body = resp.json().await.unwrap_or(Value::Null);
            w.last = Some(Answer { status, body });
        }
        t => {
            call(w, t.as_deref(), "GET", &path, None).await?;
        }
    }
    Ok(())
}

// ---- declaring and granting the permissions

#[given(
    expr = "the administrator/user {string} sets the required permissions of {string} to {string}"
)]
async fn has_set_required(
    w: &mut EntraWorld,
    who: String,
    app: String,
    roles: String,
) -> anyhow::Result<()> {
    sets_required(w, who, app, roles).await?;
    given_succeeded(w, "setting the required permissions")
}

#[when(
    expr = "the administrator/user {string} sets the required permissions of {string} to {string}"
)]
async fn sets_required(
    w: &mut EntraWorld,
    who: String,
    app: String,
    roles: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = w.app(&app).app_id.to_string();
    // Each role from the app roles read before (the documents' procedure): grouped by resource.
    let mut access: Vec<(String, Vec<Value>)> = Vec::new();
    for value in list(&roles) {
        let (resource, id) = w
            .graph
            .app_roles
            .iter()
            .find_map(|(resource, r)| role_id(r, &value).map(|id| (resource.clone(), id)))
            .ok_or_else(|| {
                anyhow::anyhow!("no app role {value} among the app roles read so far")
            })?;
        let entry = json!({"id": id, "type": "Role"});
        match access.iter_mut().find(|(r, _)| *r == resource) {
            Some((_, items)) => items.push(entry),
            None => access.push((resource, vec![entry])),
        }
    }
    let body = json!({
        "requiredResourceAccess": access
            .into_iter()
            .map(|(resource, items)| json!({"resourceAppId": resource, "resourceAccess": items}))
            .collect::<Vec<_>>()
    });
    call(
        w,
        Some(&token),
        "PATCH",
        &format!("applications(appId='{app_id}')"),
        Some(body),
    )
    .await?;
    Ok(())
}

async fn grant(
    w: &mut EntraWorld,
    who: &str,
    role: Option<&str>,
    resource: &str,
    app: &str,
) -> anyhow::Result<()> {
    let token = user_token(w, who).await?;
    let resource = resource_of(w, resource);
    let resource_id = sp_id(w, &token, &resource).await?;
    let role_id = match role {
        Some(value) => {
            let roles = app_roles(w, &token, &resource).await?;
            role_id(&roles, value)
                .ok_or_else(|| anyhow::anyhow!("{resource} offers no app role {value}"))?
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let target = w.app(app);
    let principal = target
        .service_principal_id
        .ok_or_else(|| anyhow::anyhow!("{app} has no service principal"))?
        .to_string();
    let app_id = target.app_id.to_string();
    let body = json!({"principalId": principal, "resourceId": resource_id, "appRoleId": role_id});
    call(
        w,
        Some(&token),
        "POST",
        &format!("servicePrincipals(appId='{app_id}')/appRoleAssignments"),
        Some(body),
    )
    .await?;
    Ok(())
}

#[given(expr = "the administrator/user {string} grants {string} of {string} to {string}")]
async fn has_granted(
    w: &mut EntraWorld,
    who: String,
    role: String,
    resource: String,
    app: String,
) -> anyhow::Result<()> {
    grant(w, &who, Some(&role), &resource, &app).await?;
    given_succeeded(w, "granting the app role")
}

#[when(expr = "the administrator/user {string} grants {string} of {string} to {string}")]
async fn grants(
    w: &mut EntraWorld,
    who: String,
    role: String,
    resource: String,
    app: String,
) -> anyhow::Result<()> {
    grant(w, &who, Some(&role), &resource, &app).await
}

#[when(
    expr = "the administrator/user {string} grants an app role that {string} does not define to {string}"
)]
async fn grants_unknown(
    w: &mut EntraWorld,
    who: String,
    resource: String,
    app: String,
) -> anyhow::Result<()> {
    grant(w, &who, None, &resource, &app).await
}

// ---- certificates

/// A new certificate valid from a day ago for 180 days (by the tenant's clock), and its
/// keyCredential as Graph takes it.
async fn new_certificate(w: &EntraWorld, name: &str) -> anyhow::Result<(TestCertificate, Value)> {
    let now = w.tenant().now().await?;
    let (start, end) = (now - Duration::days(1), now + Duration::days(179));
    let cert = TestCertificate::generate_async(start, end).await?;
    let credential = json!({
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": STANDARD.encode(&cert.der),
        "displayName": format!("CN={name}"),
        "startDateTime": start.format(&Rfc3339)?,
        "endDateTime": end.format(&Rfc3339)?,
    });
    Ok((cert, credential))
}

/// Remembers `cert` as another way to sign in as the application `app`.
fn remember_certificate(w: &mut EntraWorld, app: &str, name: String, cert: TestCertificate) {
    let a = w.app(app);
    let entry = ScenarioApp {
        app_id: a.app_id,
        object_id: a.object_id,
        service_principal_id: a.service_principal_id,
        certificate: cert,
    };
    w.apps.insert(name, entry);
}

/// Adds a certificate to the keyCredentials of the application `app` (`"applications"`) or of
/// its service principal (`"servicePrincipals"`) by PATCH, as `who`: PATCH replaces the whole
/// collection, so the current credentials are read and sent back with the new one. On success
/// `cert_name` names the application signing with the new certificate.
async fn add_certificate_by_patch(
    w: &mut EntraWorld,
    who: &str,
    cert_name: String,
    app: &str,
    collection: &str,
) -> anyhow::Result<()> {
    let token = user_token(w, who).await?;
    let app_id = w.app(app).app_id.to_string();
    let object = format!("{collection}(appId='{app_id}')");
    let current = send(
        w,
        Some(&token),
        "GET",
        &format!("{object}?$select=keyCredentials"),
        None,
    )
    .await?;
    let mut keys: Vec<Value> = current.body["keyCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (cert, credential) = new_certificate(w, &cert_name).await?;
    keys.push(credential);
    let a = call(
        w,
        Some(&token),
        "PATCH",
        &object,
        Some(json!({"keyCredentials": keys})),
    )
    .await?;
    if a.status == 204 {
        remember_certificate(w, app, cert_name, cert);
    }
    Ok(())
}

#[when(
    expr = "the administrator/user {string} adds a certificate {string} to the application {string}"
)]
async fn adds_certificate(
    w: &mut EntraWorld,
    who: String,
    cert_name: String,
    app: String,
) -> anyhow::Result<()> {
    add_certificate_by_patch(w, &who, cert_name, &app, "applications").await
}

#[when(
    expr = "the administrator/user {string} adds a certificate {string} to the service principal of {string}"
)]
async fn adds_certificate_to_sp(
    w: &mut EntraWorld,
    who: String,
    cert_name: String,
    app: String,
) -> anyhow::Result<()> {
    add_certificate_by_patch(w, &who, cert_name, &app, "servicePrincipals").await
}

#[given(
    expr = "the administrator/user {string} adds a certificate {string} to the service principal of {string}"
)]
async fn has_added_certificate_to_sp(
    w: &mut EntraWorld,
    who: String,
    cert_name: String,
    app: String,
) -> anyhow::Result<()> {
    add_certificate_by_patch(w, &who, cert_name, &app, "servicePrincipals").await?;
    given_succeeded(w, "adding the certificate to the service principal")
}

/// A certificate held on the service principal rolls itself: its holder's own app-only token,
/// `POST /servicePrincipals/{id}/addKey` with a proof signed by that certificate whose `iss` is
/// the service principal's object id (or, wrongly, the application's).
#[when(
    regex = r#"^"([^"]*)" adds a certificate "([^"]*)" to its service principal with addKey and (a valid proof|a proof naming the application's object id)$"#
)]
async fn add_key_to_sp(
    w: &mut EntraWorld,
    holder: String,
    cert_name: String,
    proof: String,
) -> anyhow::Result<()> {
    let token = app_graph_token(w, &holder).await?;
    let a = w.app(&holder);
    let sp = a
        .service_principal_id
        .ok_or_else(|| anyhow::anyhow!("{holder} has no service principal"))?;
    let iss = if proof == "a valid proof" {
        sp.to_string()
    } else {
        a.object_id.to_string()
    };
    let now = w.tenant().now().await?.unix_timestamp();
    let claims = json!({"aud": PROOF_AUDIENCE, "iss": iss, "nbf": now, "exp": now + 600});
    let jwt = a
        .certificate
        .sign(&a.certificate.header(Alg::Rs256), &claims, Alg::Rs256);
    let (cert, credential) = new_certificate(w, &cert_name).await?;
    let body = json!({"keyCredential": credential, "passwordCredential": null, "proof": jwt});
    let answer = call(
        w,
        Some(&token),
        "POST",
        &format!("servicePrincipals/{sp}/addKey"),
        Some(body),
    )
    .await?;
    if answer.status == 200 {
        remember_certificate(w, &holder, cert_name, cert);
    }
    Ok(())
}

/// The application rolls its own key: addKey with a proof of possession signed by its
/// current certificate (or wrong in one named way), authenticated by its own app-only token.
#[when(
    regex = r#"^the application "([^"]*)" adds a certificate "([^"]*)" to itself with addKey and (a valid proof|a proof signed by another key|a proof for Microsoft Graph|a proof naming its appId|a proof that lives 20 minutes|no proof)$"#
)]
async fn add_key(
    w: &mut EntraWorld,
    app: String,
    cert_name: String,
    proof: String,
) -> anyhow::Result<()> {
    let token = app_graph_token(w, &app).await?;
    let a = w.app(&app);
    let now = w.tenant().now().await?.unix_timestamp();
    let mut claims = json!({
        "aud": PROOF_AUDIENCE,
        "iss": a.object_id.to_string(),
        "nbf": now,
        "exp": now + 600,
    });
    let signed = |signer: &TestCertificate, claims: &Value| {
        // Signed by `signer`, naming the application's registered certificate.
        signer.sign(&a.certificate.header(Alg::Rs256), claims, Alg::Rs256)
    };
    let jwt = match proof.as_str() {
        "a proof signed by another key" => {
            let (other, _) = new_certificate(w, "another key").await?;
            Some(signed(&other, &claims))
        }
        "a proof for Microsoft Graph" => {
            claims["aud"] = json!(GRAPH_APP_ID);
            Some(signed(&a.certificate, &claims))
        }
        "a proof naming its appId" => {
            claims["iss"] = json!(a.app_id.to_string());
            Some(signed(&a.certificate, &claims))
        }
        "a proof that lives 20 minutes" => {
            claims["exp"] = json!(now + 1200);
            Some(signed(&a.certificate, &claims))
        }
        "no proof" => None,
        _ => Some(signed(&a.certificate, &claims)),
    };
    send_add_key(w, &token, &app, cert_name, jwt).await
}

async fn send_add_key(
    w: &mut EntraWorld,
    token: &str,
    app: &str,
    cert_name: String,
    proof: Option<String>,
) -> anyhow::Result<()> {
    let (cert, credential) = new_certificate(w, &cert_name).await?;
    let object_id = w.app(app).object_id.to_string();
    let body = json!({
        "keyCredential": credential,
        "passwordCredential": null,
        "proof": proof,
    });
    let a = call(
        w,
        Some(token),
        "POST",
        &format!("applications/{object_id}/addKey"),
        Some(body),
    )
    .await?;
    if a.status == 200 {
        remember_certificate(w, app, cert_name, cert);
    }
    Ok(())
}

// ---- delegated permissions and consent

/// A public client registered through Graph: `POST /applications` with
/// `isFallbackPublicClient`, then its service principal. It signs in with no credential; its
/// certificate is never registered.
#[given(expr = "the administrator {string} registers a public client application {string}")]
async fn registers_public_client(
    w: &mut EntraWorld,
    who: String,
    name: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app = call(
        w,
        Some(&token),
        "POST",
        "applications",
        Some(json!({"displayName": name, "isFallbackPublicClient": true})),
    )
    .await?;
    given_succeeded(w, "registering the application")?;
    let app_id = app.body["appId"].as_str().unwrap_or_default().to_string();
    let object_id = app.body["id"].as_str().unwrap_or_default().parse()?;
    let sp = call(
        w,
        Some(&token),
        "POST",
        "servicePrincipals",
        Some(json!({"appId": app_id})),
    )
    .await?;
    given_succeeded(w, "creating the service principal")?;
    let service_principal_id = Some(sp.body["id"].as_str().unwrap_or_default().parse()?);
    let now = w.tenant().now().await?;
    let certificate =
        TestCertificate::generate_async(now - Duration::days(1), now + Duration::days(30)).await?;
    w.apps.insert(
        name,
        ScenarioApp {
            app_id: app_id.parse()?,
            object_id,
            service_principal_id,
            certificate,
        },
    );
    Ok(())
}

/// `POST /applications` as `who`; on success the application is the scenario's `name` (with a
/// certificate of its own that Entra does not know yet, and no service principal).
#[when(expr = "the administrator {string} creates an application {string}")]
async fn creates_application(w: &mut EntraWorld, who: String, name: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let a = call(
        w,
        Some(&token),
        "POST",
        "applications",
        Some(json!({ "displayName": name })),
    )
    .await?;
    if a.status != 201 {
        return Ok(());
    }
    let app_id = a.body["appId"].as_str().unwrap_or_default().parse()?;
    let object_id = a.body["id"].as_str().unwrap_or_default().parse()?;
    let now = w.tenant().now().await?;
    let certificate =
        TestCertificate::generate_async(now - Duration::days(1), now + Duration::days(30)).await?;
    w.apps.insert(
        name,
        ScenarioApp {
            app_id,
            object_id,
            service_principal_id: None,
            certificate,
        },
    );
    Ok(())
}

/// `POST /oauth2PermissionGrants` for every user (`AllPrincipals`), as admin consent makes it.
async fn consent(
    w: &mut EntraWorld,
    who: &str,
    scope: &str,
    resource: &str,
    app: &str,
) -> anyhow::Result<()> {
    let token = user_token(w, who).await?;
    let resource = resource_of(w, resource);
    let resource_id = sp_id(w, &token, &resource).await?;
    let client = w
        .app(app)
        .service_principal_id
        .ok_or_else(|| anyhow::anyhow!("{app} has no service principal"))?;
    let body = json!({
        "clientId": client.to_string(),
        "consentType": "AllPrincipals",
        "resourceId": resource_id,
        "scope": scope,
    });
    let a = call(
        w,
        Some(&token),
        "POST",
        "oauth2PermissionGrants",
        Some(body),
    )
    .await?;
    if let Some(id) = a.body["id"].as_str() {
        w.graph.grant = Some(id.to_string());
    }
    Ok(())
}

#[given(
    expr = "the administrator/user {string} consents to {string} of {string} for {string} on behalf of every user"
)]
async fn has_consented(
    w: &mut EntraWorld,
    who: String,
    scope: String,
    resource: String,
    app: String,
) -> anyhow::Result<()> {
    consent(w, &who, &scope, &resource, &app).await?;
    given_succeeded(w, "granting the delegated permissions")
}

#[when(
    expr = "the administrator/user {string} consents to {string} of {string} for {string} on behalf of every user"
)]
async fn consents(
    w: &mut EntraWorld,
    who: String,
    scope: String,
    resource: String,
    app: String,
) -> anyhow::Result<()> {
    consent(w, &who, &scope, &resource, &app).await
}

#[when(expr = "the administrator {string} lists the permission grants of {string}")]
async fn lists_grants(w: &mut EntraWorld, who: String, app: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let client = w
        .app(&app)
        .service_principal_id
        .ok_or_else(|| anyhow::anyhow!("{app} has no service principal"))?;
    call(
        w,
        Some(&token),
        "GET",
        &format!("oauth2PermissionGrants?$filter=clientId eq '{client}'"),
        None,
    )
    .await?;
    Ok(())
}

fn grant_path(w: &EntraWorld) -> anyhow::Result<String> {
    let id = w
        .graph
        .grant
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no step created a permission grant"))?;
    Ok(format!("oauth2PermissionGrants/{id}"))
}

#[when(expr = "the administrator {string} reads the permission grant")]
async fn reads_grant(w: &mut EntraWorld, who: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let path = grant_path(w)?;
    call(w, Some(&token), "GET", &path, None).await?;
    Ok(())
}

#[when(expr = "the administrator {string} changes the scope of the permission grant to {string}")]
async fn changes_grant(w: &mut EntraWorld, who: String, scope: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let path = grant_path(w)?;
    call(
        w,
        Some(&token),
        "PATCH",
        &path,
        Some(json!({"scope": scope})),
    )
    .await?;
    Ok(())
}

#[when(expr = "the administrator {string} deletes the permission grant")]
async fn deletes_grant(w: &mut EntraWorld, who: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let path = grant_path(w)?;
    call(w, Some(&token), "DELETE", &path, None).await?;
    Ok(())
}

/// The grants listed (or the one grant read): exactly one, for every user, with this scope.
#[then(expr = "the answer is one permission grant for every user with the scope {string}")]
async fn one_grant(w: &mut EntraWorld, scope: String) -> anyhow::Result<()> {
    let body = &w.last().body;
    let grants: Vec<Value> = match body["value"].as_array() {
        Some(items) => items.clone(),
        None => vec![body.clone()],
    };
    anyhow::ensure!(grants.len() == 1, "{} grants: {body}", grants.len());
    let g = &grants[0];
    anyhow::ensure!(
        g["scope"] == scope.as_str()
            && g["consentType"] == "AllPrincipals"
            && g["principalId"].is_null()
            && g["id"].is_string(),
        "the grant is {g}"
    );
    Ok(())
}

#[when(expr = "the administrator {string} sets isFallbackPublicClient of {string} to {word}")]
async fn sets_fallback_public(
    w: &mut EntraWorld,
    who: String,
    app: String,
    value: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = w.app(&app).app_id.to_string();
    let flag: bool = value.parse()?;
    call(
        w,
        Some(&token),
        "PATCH",
        &format!("applications(appId='{app_id}')"),
        Some(json!({"isFallbackPublicClient": flag})),
    )
    .await?;
    Ok(())
}

/// A Graph read with the access token of the last token answer (kept for the next reads).
#[when(expr = "the last token is used to read {string} from Graph")]
async fn read_with_last_token(w: &mut EntraWorld, path: String) -> anyhow::Result<()> {
    if let Some(token) = w
        .last
        .as_ref()
        .and_then(|a| a.body["access_token"].as_str())
    {
        w.graph.held_token = Some(token.to_string());
    }
    let token = w
        .graph
        .held_token
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no token answer came before this step"))?;
    call(w, Some(&token), "GET", &path, None).await?;
    Ok(())
}

// ---- service principals made and removed

#[given(expr = "the administrator {string} deletes the service principal of {string}")]
async fn deletes_sp(w: &mut EntraWorld, who: String, resource: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = resource_of(w, &resource);
    call(
        w,
        Some(&token),
        "DELETE",
        &format!("servicePrincipals(appId='{app_id}')"),
        None,
    )
    .await?;
    w.graph.service_principals.remove(&app_id);
    w.graph.app_roles.remove(&app_id);
    given_succeeded(w, "deleting the service principal")
}

/// `POST /servicePrincipals {"appId": …}` for a resource by name or appId.
#[when(expr = "the administrator {string} creates the service principal of {string}")]
async fn creates_sp(w: &mut EntraWorld, who: String, resource: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = resource_of(w, &resource);
    let a = call(
        w,
        Some(&token),
        "POST",
        "servicePrincipals",
        Some(json!({"appId": app_id})),
    )
    .await?;
    if let Some(id) = a.body["id"].as_str() {
        w.graph.service_principals.insert(app_id, id.to_string());
    }
    Ok(())
}

#[then(expr = "the answer's {string} is {string}")]
async fn answer_property(w: &mut EntraWorld, name: String, value: String) -> anyhow::Result<()> {
    let body = &w.last().body;
    anyhow::ensure!(
        body[&name] == value.as_str(),
        "{name} is {}: {body}",
        body[&name]
    );
    Ok(())
}

#[then(expr = "Graph's error details name {string} on {string}")]
async fn error_details(w: &mut EntraWorld, code: String, target: String) -> anyhow::Result<()> {
    let error = &w.last().body["error"];
    let found = error["details"].as_array().is_some_and(|details| {
        details.iter().any(|d| {
            d["code"] == code.as_str() && d["target"] == target.as_str() && d["message"].is_string()
        })
    });
    anyhow::ensure!(found, "no detail {code} on {target}: {error}");
    Ok(())
}

// ---- an application's properties, as JSON

#[when(expr = "the administrator {string} sets {string} of the application {string} to {string}")]
async fn sets_property(
    w: &mut EntraWorld,
    who: String,
    property: String,
    app: String,
    json_text: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = w.app(&app).app_id.to_string();
    let value: Value = serde_json::from_str(&w.expand(&json_text))?;
    call(
        w,
        Some(&token),
        "PATCH",
        &format!("applications(appId='{app_id}')"),
        Some(json!({ property: value })),
    )
    .await?;
    Ok(())
}

#[given(expr = "the administrator {string} sets {string} of the application {string} to {string}")]
async fn has_set_property(
    w: &mut EntraWorld,
    who: String,
    property: String,
    app: String,
    json_text: String,
) -> anyhow::Result<()> {
    sets_property(w, who, property, app, json_text).await?;
    given_succeeded(w, "setting the application's property")
}

#[when(expr = "the administrator {string} reads {string} of the application {string}")]
async fn reads_property(
    w: &mut EntraWorld,
    who: String,
    property: String,
    app: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = w.app(&app).app_id.to_string();
    call(
        w,
        Some(&token),
        "GET",
        &format!("applications(appId='{app_id}')?$select={property}"),
        None,
    )
    .await?;
    Ok(())
}

/// The Graph path of "the service principal of NAME" (an application of the scenario, or a
/// first-party resource) or "the user UPN".
fn object_path(w: &EntraWorld, kind: &str, name: &str) -> String {
    match kind {
        "the service principal of" => {
            format!("servicePrincipals(appId='{}')", resource_of(w, name))
        }
        _ => format!("users/{}", w.tenant().user(name)),
    }
}

#[when(
    regex = r#"^the administrator "([^"]*)" sets "([^"]*)" of (the service principal of|the user) "([^"]*)" to '(.*)'$"#
)]
async fn sets_object_property(
    w: &mut EntraWorld,
    who: String,
    property: String,
    kind: String,
    name: String,
    json_text: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let value: Value = serde_json::from_str(&w.expand(&json_text))?;
    let path = object_path(w, &kind, &name);
    call(
        w,
        Some(&token),
        "PATCH",
        &path,
        Some(json!({ property: value })),
    )
    .await?;
    Ok(())
}

#[when(
    regex = r#"^the administrator "([^"]*)" reads "([^"]*)" of (the service principal of|the user) "([^"]*)"$"#
)]
async fn reads_object_property(
    w: &mut EntraWorld,
    who: String,
    property: String,
    kind: String,
    name: String,
) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let path = format!("{}?$select={property}", object_path(w, &kind, &name));
    call(w, Some(&token), "GET", &path, None).await?;
    Ok(())
}

#[then(expr = "the answer's {string} is the JSON {string}")]
async fn answer_json(w: &mut EntraWorld, name: String, json_text: String) -> anyhow::Result<()> {
    let expected: Value = serde_json::from_str(&w.expand(&json_text))?;
    let body = &w.last().body;
    anyhow::ensure!(body[&name] == expected, "{name} is {}: {body}", body[&name]);
    Ok(())
}

// ---- an application's own Graph token

#[given(expr = "the application {string} has signed in to Graph")]
async fn app_signed_in(w: &mut EntraWorld, app: String) -> anyhow::Result<()> {
    let token = app_graph_token(w, &app).await?;
    w.graph.app_tokens.insert(app, token);
    Ok(())
}

#[when(expr = "the application {string} reads {string} from Graph")]
async fn app_reads(w: &mut EntraWorld, app: String, path: String) -> anyhow::Result<()> {
    let token = match w.graph.app_tokens.get(&app) {
        Some(t) => t.clone(),
        None => app_graph_token(w, &app).await?,
    };
    call(w, Some(&token), "GET", &path, None).await?;
    Ok(())
}

// ---- users and service principals an administrator changes

/// Creates a user through Graph (`POST /users`) as `who`; `extra` goes into the password
/// profile (`forceChangePasswordNextSignIn`) or the user (`accountEnabled`).
async fn create_user(
    w: &mut EntraWorld,
    who: &str,
    name: &str,
    password: &str,
    enabled: bool,
    force_change: Option<bool>,
) -> anyhow::Result<()> {
    let token = user_token(w, who).await?;
    let mut profile = json!({"password": password});
    if let Some(force) = force_change {
        profile["forceChangePasswordNextSignIn"] = json!(force);
    }
    let body = json!({
        "accountEnabled": enabled,
        "displayName": name,
        "mailNickname": name,
        "userPrincipalName": upn(w, name),
        "passwordProfile": profile,
    });
    call(w, Some(&token), "POST", "users", Some(body)).await?;
    given_succeeded(w, "creating the user")
}

#[given(expr = "the administrator {string} creates the user {string} with the password {string}")]
async fn creates_user(
    w: &mut EntraWorld,
    who: String,
    name: String,
    password: String,
) -> anyhow::Result<()> {
    create_user(w, &who, &name, &password, true, None).await
}

#[given(
    expr = "the administrator {string} creates the user {string} with the password {string} and the account disabled"
)]
async fn creates_disabled_user(
    w: &mut EntraWorld,
    who: String,
    name: String,
    password: String,
) -> anyhow::Result<()> {
    create_user(w, &who, &name, &password, false, None).await
}

#[given(
    expr = "the administrator {string} creates the user {string} with the password {string} and a password change required at next sign-in"
)]
async fn creates_user_who_must_change(
    w: &mut EntraWorld,
    who: String,
    name: String,
    password: String,
) -> anyhow::Result<()> {
    create_user(w, &who, &name, &password, true, Some(true)).await
}

#[given(expr = "the administrator {string} disables the service principal of {string}")]
async fn disables_sp(w: &mut EntraWorld, who: String, app: String) -> anyhow::Result<()> {
    let token = user_token(w, &who).await?;
    let app_id = w.app(&app).app_id.to_string();
    call(
        w,
        Some(&token),
        "PATCH",
        &format!("servicePrincipals(appId='{app_id}')"),
        Some(json!({"accountEnabled": false})),
    )
    .await?;
    given_succeeded(w, "disabling the service principal")
}

// ---- what Graph answered

#[then(expr = "Graph answers {int}")]
async fn answers(w: &mut EntraWorld, status: u16) -> anyhow::Result<()> {
    let last = w.last();
    anyhow::ensure!(
        last.status == status,
        "Graph answered {}: {}",
        last.status,
        last.body
    );
    Ok(())
}

#[then(expr = "Graph answers {int} with error code {string}")]
async fn answers_error(w: &mut EntraWorld, status: u16, code: String) -> anyhow::Result<()> {
    let last = w.last();
    let error = &last.body["error"];
    anyhow::ensure!(
        last.status == status && error["code"] == code.as_str(),
        "expected {status} {code}, Graph answered {}: {}",
        last.status,
        last.body
    );
    anyhow::ensure!(
        error["message"].is_string(),
        "the error has no message: {}",
        last.body
    );
    let inner = &error["innerError"];
    for field in ["date", "request-id"] {
        anyhow::ensure!(
            inner[field].is_string(),
            "the error's innerError lacks {field}: {}",
            last.body
        );
    }
    Ok(())
}

#[then(expr = "Graph's error message is {string}")]
async fn error_message(w: &mut EntraWorld, text: String) -> anyhow::Result<()> {
    let message = w.last().body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(message == text, "the message is {message:?}");
    Ok(())
}

#[then(expr = "Graph's error message mentions {string}")]
async fn error_mentions(w: &mut EntraWorld, text: String) -> anyhow::Result<()> {
    let message = w.last().body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(
        message.contains(&text),
        "the message {message:?} does not mention {text:?}"
    );
    Ok(())
}

#[then(expr = "the answer has only the properties {string}")]
async fn only_properties(w: &mut EntraWorld, names: String) -> anyhow::Result<()> {
    let body = &w.last().body;
    let mut got: Vec<&str> = body
        .as_object()
        .map(|o| {
            o.keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with("@odata."))
                .collect()
        })
        .unwrap_or_default();
    got.sort_unstable();
    let mut expected = list(&names);
    expected.sort();
    anyhow::ensure!(got == expected, "the answer has {got:?}: {body}");
    Ok(())
}

#[then(expr = "the answer lists the app roles {string}")]
async fn lists_roles(w: &mut EntraWorld, values: String) -> anyhow::Result<()> {
    let body = &w.last().body;
    let roles = body["appRoles"].as_array().cloned().unwrap_or_default();
    for value in list(&values) {
        let role = roles
            .iter()
            .find(|r| r["value"] == value.as_str())
            .ok_or_else(|| anyhow::anyhow!("no app role {value}: {body}"))?;
        anyhow::ensure!(
            role["id"]
                .as_str()
                .is_some_and(|id| id.parse::<uuid::Uuid>().is_ok())
                && role["isEnabled"] == true
                && role["allowedMemberTypes"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|t| t == "Application")),
            "app role {value} is not an enabled application role: {role}"
        );
    }
    Ok(())
}

#[then(expr = "the application {string} requires {string} of {string}")]
async fn requires(
    w: &mut EntraWorld,
    app: String,
    roles: String,
    resource: String,
) -> anyhow::Result<()> {
    let admin = format!("admin@{}", w.tenant().domain);
    let token = user_token(w, &admin).await?;
    let app_id = w.app(&app).app_id.to_string();
    let resource = resource_app_id(&resource);
    let known = app_roles(w, &token, &resource).await?;
    let a = send(
        w,
        Some(&token),
        "GET",
        &format!("applications(appId='{app_id}')?$select=requiredResourceAccess"),
        None,
    )
    .await?;
    let entry = a.body["requiredResourceAccess"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["resourceAppId"] == resource.as_str())
        })
        .ok_or_else(|| anyhow::anyhow!("{app} requires nothing of {resource}: {}", a.body))?;
    let mut got: Vec<String> = entry["resourceAccess"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| i["type"] == "Role")
                .filter_map(|i| {
                    known
                        .iter()
                        .find(|r| r["id"] == i["id"])
                        .and_then(|r| r["value"].as_str())
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    got.sort();
    let mut expected = list(&roles);
    expected.sort();
    anyhow::ensure!(got == expected, "{app} requires {got:?} of {resource}");
    Ok(())
}

/// The keyCredentials of the application `app` as Graph gives them to `admin@<domain>`.
pub async fn key_credentials(w: &mut EntraWorld, app: &str) -> anyhow::Result<Vec<Value>> {
    let admin = format!("admin@{}", w.tenant().domain);
    let token = user_token(w, &admin).await?;
    let app_id = w.app(app).app_id.to_string();
    let a = send(
        w,
        Some(&token),
        "GET",
        &format!("applications(appId='{app_id}')?$select=keyCredentials"),
        None,
    )
    .await?;
    a.body["keyCredentials"]
        .as_array()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no keyCredentials: {}", a.body))
}

#[then(expr = "the application {string} has {int} certificate credential(s) in Graph")]
async fn credentials_in_graph(w: &mut EntraWorld, app: String, n: usize) -> anyhow::Result<()> {
    let count = key_credentials(w, &app)
        .await?
        .iter()
        .filter(|c| c["type"] == "AsymmetricX509Cert")
        .count();
    anyhow::ensure!(count == n, "{app} has {count} certificate credentials");
    Ok(())
}

#[then(expr = "the service principal of {string} has {int} certificate credential(s) in Graph")]
async fn sp_credentials_in_graph(w: &mut EntraWorld, app: String, n: usize) -> anyhow::Result<()> {
    let admin = format!("admin@{}", w.tenant().domain);
    let token = user_token(w, &admin).await?;
    let app_id = w.app(&app).app_id.to_string();
    let a = send(
        w,
        Some(&token),
        "GET",
        &format!("servicePrincipals(appId='{app_id}')?$select=keyCredentials"),
        None,
    )
    .await?;
    let count = a.body["keyCredentials"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter(|c| c["type"] == "AsymmetricX509Cert")
                .count()
        })
        .ok_or_else(|| anyhow::anyhow!("no keyCredentials: {}", a.body))?;
    anyhow::ensure!(
        count == n,
        "the service principal of {app} has {count} certificate credentials"
    );
    Ok(())
}
