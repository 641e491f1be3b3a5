//! What a test of your own looks like with the mock in-process (`mock_graph::testing`): start a
//! tenant on a free port over HTTPS, register an application with a certificate, get a token
//! with your own HTTP client, make the next token request answer 429 with a fault rule, and read
//! the request journal. `cargo run -p mock-graph --example own_test` runs it.

use anyhow::{Context, ensure};
use mock_graph::testing::{Alg, TestCertificate, TestServer};
use serde_json::{Value, json};
use time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The default fixture's tenant, on 127.0.0.1:0, with a CA made for this run.
    let server = TestServer::start().await?;
    let now = server.with_tenant(|t| t.now());

    // An application with a certificate, arranged in-process (Graph would do as well).
    let cert = TestCertificate::generate(now - Duration::days(1), now + Duration::days(365))?;
    let app = server.with_tenant(|t| {
        let app = t.register_application("My service");
        t.add_certificate(
            app.application_id,
            &cert.der,
            now - Duration::days(1),
            now + Duration::days(365),
        );
        app
    });

    // Your own client, trusting the mock's CA.
    let ca = server.ca_pem_text().context("the test server runs TLS")?;
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes())?])
        .build()?;
    let token_url = server.token_url_v2();
    let client_id = app.app_id.to_string();
    let token_request = || {
        let assertion = cert.assertion(&client_id, &token_url, now, Alg::Rs256);
        let form = [
            ("grant_type", "client_credentials".to_string()),
            ("client_id", client_id.clone()),
            ("scope", "https://graph.microsoft.com/.default".to_string()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", assertion),
        ];
        http.post(&token_url).form(&form).send()
    };
    let token: Value = token_request().await?.error_for_status()?.json().await?;
    ensure!(token["access_token"].is_string(), "no token: {token}");

    // A fault rule through the control plane: the next token request is throttled.
    let control = format!("{}/_mock/tenants/{}", server.url, server.tenant_id);
    http.post(format!("{control}/faults"))
        .json(
            &json!({"match": {"operation": "token"}, "status": 429, "retry_after": 3, "count": 1}),
        )
        .send()
        .await?
        .error_for_status()?;
    let throttled = token_request().await?;
    ensure!(
        throttled.status() == 429,
        "expected 429, got {}",
        throttled.status()
    );

    // The journal: what the tenant answered, oldest first.
    let journal: Value = http
        .get(format!("{control}/requests"))
        .send()
        .await?
        .json()
        .await?;
    for e in journal["value"].as_array().context("journal entries")? {
        println!(
            "{} {} {} -> {} {}",
            e["method"].as_str().unwrap_or_default(),
            e["operation"].as_str().unwrap_or("-"),
            e["client_id"].as_str().unwrap_or("-"),
            e["status"],
            e["error_code"].as_str().unwrap_or(""),
        );
    }
    Ok(())
}
