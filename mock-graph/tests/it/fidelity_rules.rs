//! The rules of issue 14 ("Fidelity, round two") over HTTP, where a scenario would need the
//! mock's state directly: credentials held on a service principal, first-party service
//! principals on demand. Each test names the rule it pins; `docs/fidelity.md` points here.

use crate::support::*;
use mock_graph::core::directory::PasswordCredential;
use serde_json::{Value, json};
use time::Duration;

/// Client credentials with a secret: the answer's status and body.
async fn secret_token(env: &Env, app_id: &str, secret: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        ("scope", "https://graph.microsoft.com/.default"),
        ("client_secret", secret),
    ];
    let resp = env
        .http
        .post(env.server.token_url_v2())
        .form(&form)
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("token json"))
}

mod service_principal_credentials {
    use super::*;

    /// A secret held on the service principal authenticates the application (appidacr 1), as
    /// a certificate there does; Graph shows neither its text nor takes it by PATCH.
    #[tokio::test]
    async fn a_secret_on_the_service_principal_authenticates_the_application() {
        let env = Env::start().await;
        let cert = TestCert::new("CN=sp secret");
        let app = env.register_app("SP secret", &cert);
        let app_id = app.app_id.to_string();
        let (status, body) = secret_token(&env, &app_id, "held-on-the-sp").await;
        assert_eq!(
            (status, &body["error_codes"]),
            (401, &json!([7000215])),
            "{body}"
        );
        env.server.with_tenant(|t| {
            let now = t.now();
            let sp = t
                .directory
                .service_principal_mut(app.service_principal_id)
                .expect("registered");
            sp.password_credentials.push(PasswordCredential {
                key_id: uuid::Uuid::new_v4(),
                display_name: Some("on the service principal".into()),
                hint: Some("hel".into()),
                start_date_time: now - Duration::days(1),
                end_date_time: now + Duration::days(30),
                secret_text: "held-on-the-sp".into(),
            });
        });
        let (status, body) = secret_token(&env, &app_id, "held-on-the-sp").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["appidacr"],
            "1"
        );

        let admin = env.user_token("admin").await;
        let sp = env
            .call(
                "GET",
                &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
                Some(&admin),
                None,
            )
            .await;
        let secrets = sp.assert_status(200)["passwordCredentials"].clone();
        assert_eq!(secrets[0]["secretText"], Value::Null, "{secrets}");
        assert_eq!(secrets[0]["hint"], "hel", "{secrets}");
        let patch = env
            .call(
                "PATCH",
                &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
                Some(&admin),
                Some(json!({"passwordCredentials": []})),
            )
            .await;
        patch.assert_error(400, "Request_BadRequest");
        assert!(
            patch.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("addPassword"),
            "{}",
            patch.body
        );
    }
}

mod first_party_service_principals {
    use super::*;

    const AAD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";

    /// An application with Application.ReadWrite.OwnedBy may create service principals of its
    /// own applications only: a first-party one is Graph's 403 with its own words; with
    /// Application.ReadWrite.All it is made, with the catalogue's roles.
    #[tokio::test]
    async fn an_owned_by_application_cannot_make_a_first_party_service_principal() {
        let env = Env::start().await;
        let cert = TestCert::new("CN=owned by");
        let owned_by = env.register_app("OwnedBy", &cert);
        env.grant_graph_roles(
            owned_by.service_principal_id,
            &["Application.ReadWrite.OwnedBy"],
        );
        let token = env
            .app_token(&owned_by.app_id.to_string(), &cert, GRAPH)
            .await;
        let refused = env
            .call(
                "POST",
                "/v1.0/servicePrincipals",
                Some(&token),
                Some(json!({"appId": AAD_GRAPH})),
            )
            .await;
        refused.assert_error(403, "Authorization_RequestDenied");
        assert_eq!(
            refused.body["error"]["message"],
            "When using this permission, the backing application of the service principal being created must in the local tenant"
        );

        let cert = TestCert::new("CN=all");
        let writer = env.register_app("Writer", &cert);
        env.grant_graph_roles(writer.service_principal_id, &["Application.ReadWrite.All"]);
        let token = env
            .app_token(&writer.app_id.to_string(), &cert, GRAPH)
            .await;
        let made = env
            .call(
                "POST",
                "/v1.0/servicePrincipals",
                Some(&token),
                Some(json!({"appId": AAD_GRAPH})),
            )
            .await;
        let sp = made.assert_status(201);
        assert_eq!(sp["appId"], AAD_GRAPH);
        assert_eq!(
            sp["appOwnerOrganizationId"],
            "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
        );
        assert_eq!(sp["servicePrincipalType"], "Application");
        assert_eq!(sp["appRoles"][0]["value"], "Directory.Read.All", "{sp}");
        assert_eq!(
            sp["appRoles"][0]["id"], "5778995a-e1bf-45b8-affa-663a9f3f4d04",
            "{sp}"
        );
    }

    /// Microsoft Graph made on demand offers its delegated permissions (`oauth2PermissionScopes`)
    /// and answers to its cloud's App ID URI. (The caller's token, issued before Graph's
    /// service principal went, still carries its roles: claims are fixed at issue.)
    #[tokio::test]
    async fn microsoft_graph_made_on_demand_offers_its_scopes() {
        let env = Env::start().await;
        let cert = TestCert::new("CN=writer");
        let writer = env.register_app("Writer", &cert);
        env.grant_graph_roles(writer.service_principal_id, &["Application.ReadWrite.All"]);
        let token = env
            .app_token(&writer.app_id.to_string(), &cert, GRAPH)
            .await;
        let path = format!("/v1.0/servicePrincipals(appId='{GRAPH}')");
        env.call("DELETE", &path, Some(&token), None)
            .await
            .assert_status(204);
        let made = env
            .call(
                "POST",
                "/v1.0/servicePrincipals",
                Some(&token),
                Some(json!({"appId": GRAPH})),
            )
            .await;
        let body = made.assert_status(201);
        let scopes = body["oauth2PermissionScopes"].as_array().expect("scopes");
        assert!(
            scopes
                .iter()
                .any(|s| s["value"] == "User.Read"
                    && s["id"] == "e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
            "{body}"
        );
        assert!(
            body["servicePrincipalNames"]
                .as_array()
                .is_some_and(|n| n.iter().any(|n| n == "https://graph.microsoft.com")),
            "{body}"
        );
        // A token for Graph by its App ID URI finds the new service principal.
        let answer = env
            .app_token_answer(
                &writer.app_id.to_string(),
                &cert,
                "https://graph.microsoft.com",
            )
            .await;
        assert!(answer["access_token"].is_string(), "{answer}");
    }
}
