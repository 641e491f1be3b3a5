//! The rules of issue 14 ("Fidelity, round two") over HTTP, where a scenario would need the
//! mock's state directly: credentials held on a service principal, first-party service
//! principals on demand, application properties stored or refused, propagation delays. Each
//! test names the rule it pins; `docs/fidelity.md` points here.

mod graph_support;

use graph_support::*;
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
